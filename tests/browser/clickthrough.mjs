// Click-through of the lifecycle and supervision forms as users would,
// against a running server; prints each step and fails loudly.
import { chromium } from "playwright-core";
const BASE = process.env.BASE ?? "http://127.0.0.1:8080";
const OUT = process.env.OUT ?? "/tmp/click";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
async function session(user) {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 860 } });
  const page = await ctx.newPage();
  page.on("response", (r) => { if (r.status() >= 500) console.log("!! 5xx", r.status(), r.url()); });
  await page.goto(`${BASE}/login`);
  await page.fill("#username", user);
  await page.fill("#password", "demo-pass-2025");
  await page.click("button[type=submit].primary");
  await page.waitForURL(`${BASE}/`);
  return page;
}
const say = (m) => console.log("--", m);
const submit = async (page, sel) => { await Promise.all([page.waitForLoadState(), page.click(sel)]); await page.waitForLoadState(); };

// Termination: station drafts, department files, reviewer proposes, approver confirms.
const st = await session("station.staff");
await st.goto(`${BASE}/requests/new/termination`);
await st.fill("#f-reason", "检定业务划转，申请终止授权。");
await submit(st, "form.form button[type=submit].primary");
say(`termination draft -> ${st.url()}`);
const termUrl = st.url();
const dept = await session("dept.officer");
await dept.goto(termUrl);
await dept.check("form[action$='/submit'] input[name=confirmed]");
await submit(dept, "form[action$='/submit'] button");
say(`filed: ${await dept.locator("h1 .badge").innerText()}`);
const rev = await session("gd.reviewer");
await rev.goto(termUrl);
await rev.check("form[action$='/propose'] input[name=decision][value=approve]");
await submit(rev, "form[action$='/propose'] button");
say(`proposed: ${await rev.locator("h1 .badge").innerText()}`);
const appr = await session("gd.approver");
await appr.goto(termUrl);
await submit(appr, "form[action$='/confirm'] button");
say(`confirm without the box: ${await appr.locator(".alert-error").first().innerText().catch(() => "no message")}`);
await appr.check("form[action$='/confirm'] input[name=confirmed]");
await submit(appr, "form[action$='/confirm'] button");
say(`confirmed: ${await appr.locator("h1 .badge").innerText()}`);

// Adjustment through the form: change item 1, remove item 2.
await dept.goto(`${BASE}/requests/new/adjustment`);
await dept.selectOption("select[name=ex_op] >> nth=0", "change");
await dept.fill("input[name=ex_range] >> nth=0", "（0～50）A");
await dept.selectOption("select[name=ex_op] >> nth=1", "remove");
await dept.fill("#f-reason", "电流互感器业务移交");
await submit(dept, "form.form button[type=submit].primary");
say(`adjustment -> ${dept.url()} ${await dept.locator("h1 .badge").innerText().catch(() => "?")}`);
await dept.screenshot({ path: `${OUT}/adjustment.png`, fullPage: true });
const adjUrl = dept.url();
if (/\/requests\/[0-9a-f-]{36}$/.test(adjUrl)) {
  await dept.goto(`${adjUrl}/edit`);
  say(`edit form keeps the change: ${await dept.inputValue("input[name=ex_range] >> nth=0")} / ${await dept.inputValue("select[name=ex_op] >> nth=1")}`);
}

// Head appointment form.
await dept.goto(`${BASE}/requests/new/head`);
await dept.fill("#f-person", "");
await dept.fill("#f-reason", "原站长退休");
await submit(dept, "form.form button[type=submit].primary");
say(`head without a person: ${await dept.locator(".field-error").first().innerText().catch(() => "no message")}`);

// Inspection by draw, record by form, confirm, order, report, accept, close.
await rev.goto(`${BASE}/inspections`);
await rev.check("input[name=station_ids] >> nth=0");
await rev.check("input[name=inspectors] >> nth=0");
await rev.fill("#p-k", "1");
await rev.fill("#p-seed", "42");
await submit(rev, "form.form button[type=submit].primary");
say(`draw -> ${rev.url()} ${await rev.locator(".alert").first().innerText().catch(() => "")}`);
await rev.screenshot({ path: `${OUT}/draw.png`, fullPage: true });
await rev.goto(`${BASE}/inspections`);
await rev.click("table.grid tbody tr >> nth=0 >> a");
await rev.waitForLoadState();
const inspUrl = rev.url();
for (const a of ["compliance", "technical_specifications", "standards_management", "conduct"]) await rev.check(`input[name=finding_${a}][value=conforming]`);
await rev.check("input[name=finding_fees][value=nonconforming]");
await rev.fill("#n-fees", "超标准收费");
await rev.check("input[name=cooperation][value=cooperated]");
await rev.fill("#r-from", "2026-11-25");
await submit(rev, "form[action$='/record'] button[type=submit]");
say(`recorded: ${await rev.locator("h1 .badge").innerText()}`);
await appr.goto(inspUrl);
await appr.check("form[action$='/approve'] input[name=confirmed]");
await submit(appr, "form[action$='/approve'] button");
say(`confirmed: ${await appr.locator("h1 .badge").innerText()}`);
await rev.goto(inspUrl);
await rev.fill("#o-d", "退还多收费用");
await submit(rev, "form[action$='/orders'] button");
const orderHref = await rev.locator("#orders-h ~ ul a").first().getAttribute("href").catch(() => null);
say(`order: ${orderHref}`);
if (orderHref) {
  await st.goto(`${BASE}${orderHref}`);
  await submit(st, "form[action$='/report'] button");
  say(`empty report: ${await st.locator(".alert-error").first().innerText().catch(() => "no message")}`);
  await st.fill("#rp", "已退费并公示");
  await submit(st, "form[action$='/report'] button");
  say(`reported: ${await st.locator("h1 .badge").first().innerText()}`);
  await rev.goto(`${BASE}${orderHref}`);
  await submit(rev, "form[action$='/accept'] button");
  say(`accepted: ${await rev.locator("h1 .badge").first().innerText()}`);
  await appr.goto(`${BASE}${orderHref}`);
  await appr.check("form[action$='/close'] input[name=confirmed]");
  await submit(appr, "form[action$='/close'] button");
  say(`closed: ${await appr.locator("h1 .badge").first().innerText()}`);
  await appr.screenshot({ path: `${OUT}/order-closed.png`, fullPage: true });
}

// A case and a referral through the forms.
await rev.goto(`${BASE}/cases`);
await rev.check("input[name=art16_items][value='7']");
await rev.fill("#c-d", "超区域检定");
await submit(rev, "form[action='/cases'] button");
say(`case -> ${rev.url()}`);
await appr.goto(`${BASE}/cases`);
await appr.fill("#r-to", "纪检监察组");
await appr.fill("#r-on", "2026-11-20");
await appr.fill("#r-ref", "移〔2026〕9号");
await appr.fill("#r-sum", "线索");
await submit(appr, "form[action='/cases'] input[name=kind][value=referral] ~ button, form:has(input[value=referral]) button");
say(`referrals listed: ${await appr.locator("#ref-h .count").innerText()}`);
await browser.close();
