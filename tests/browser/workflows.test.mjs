// The main workflows clicked through the pages as each role would, in
// Debian's chromium (node --test, run by tests/browser/run.sh before
// ui.test.mjs): establishing a station, a head appointment, a termination,
// and supervision from an inspection to a closed order. Every step asserts
// the state it leads to and the success message; no JSON shortcut is taken
// except to read ids.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const BASE = process.env.BASE ?? "http://127.0.0.1:8080";
let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
});
after(async () => { await browser?.close(); });

async function session(user) {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: "zh-CN" });
  const page = await ctx.newPage();
  page.on("dialog", (d) => d.accept());
  page.on("response", (r) => { if (r.status() >= 500) throw new Error(`${r.status()} on ${r.url()}`); });
  await page.goto(`${BASE}/login`);
  await page.fill("#username", user);
  await page.fill("#password", "demo-pass-2025");
  await Promise.all([page.waitForURL(`${BASE}/`), page.click("button[type=submit].primary")]);
  return page;
}

/** Clicks a submit button and waits for the page it leads to. */
async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

const badge = (page) => page.locator("h1 .badge").first().innerText();
const done = (page) => page.locator("main > .alert-ok").first().innerText();
const today = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);

test("a termination: drafted by the station, filed by the department, refused with reasons by two regulators' people", async () => {
  const st = await session("station.staff");
  await st.goto(`${BASE}/requests/new/termination`);
  await st.fill("#f-end", await st.getAttribute("#f-end", "min"));
  await st.fill("#f-reason", "检定业务划转，申请终止授权。");
  await submit(st, "form.form button[type=submit].primary");
  assert.match(st.url(), /\/requests\/[0-9a-f-]{36}/);
  const url = st.url().split("?")[0];
  assert.equal(await badge(st), "草稿");
  const dept = await session("dept.officer");
  await dept.goto(url);
  await dept.check("form[action$='/submit'] input[name=confirmed]");
  await submit(dept, "form[action$='/submit'] button");
  assert.equal(await badge(dept), "已提交待审查");
  assert.equal(await done(dept), "已提交");
  const rev = await session("gd.reviewer");
  await rev.goto(url);
  await rev.check("form[action$='/propose'] input[name=decision][value=refuse]");
  await rev.fill("form[action$='/propose'] textarea[name=reasons]", "终止日期前的业务安排未说明");
  await submit(rev, "form[action$='/propose'] button");
  assert.equal(await badge(rev), "已提出意见待审批");
  const appr = await session("gd.approver");
  await appr.goto(url);
  await appr.check("form[action$='/confirm'] input[name=confirmed]");
  await submit(appr, "form[action$='/confirm'] button");
  assert.equal(await badge(appr), "不予批准");
  assert.match(await appr.locator(".next-step").innerText(), /已办结/);
  for (const p of [st, dept, rev, appr]) await p.context().close();
});

test("a head appointment: consented, recorded, acknowledged; the new head shows on the station page", async () => {
  const dept = await session("dept.officer");
  await dept.goto(`${BASE}/requests/new/head`);
  await dept.check("input[name=action][value=appoint]");
  await dept.fill("#f-person", "浏览器测试站长");
  await dept.fill("#f-reason", "原站长退休");
  await submit(dept, "form.form button[type=submit].primary");
  const url = dept.url().split("?")[0];
  assert.match(url, /\/requests\/[0-9a-f-]{36}$/);
  await dept.check("form[action$='/submit'] input[name=confirmed]");
  await submit(dept, "form[action$='/submit'] button");
  const rev = await session("gd.reviewer");
  await rev.goto(url);
  await rev.check("form[action$='/propose'] input[name=decision][value=approve]");
  await submit(rev, "form[action$='/propose'] button");
  const appr = await session("gd.approver");
  await appr.goto(url);
  await appr.check("form[action$='/confirm'] input[name=confirmed]");
  await submit(appr, "form[action$='/confirm'] button");
  assert.equal(await badge(appr), "已同意");
  await dept.goto(url);
  await dept.fill("#rc-d", today());
  await submit(dept, "form[action$='/record'] button");
  assert.equal(await badge(dept), "已任命待备案");
  await rev.goto(url);
  await rev.check("form[action$='/acknowledge'] input[name=confirmed]");
  await submit(rev, "form[action$='/acknowledge'] button");
  assert.equal(await badge(rev), "已备案");
  assert.equal(await done(rev), "已确认备案");
  await rev.click("dl a[href^='/stations/']");
  await rev.waitForLoadState();
  assert.match(await rev.locator("main").innerText(), /浏览器测试站长/);
  for (const p of [dept, rev, appr]) await p.context().close();
});

test("supervision: an inspection planned, recorded, confirmed; its order reported, accepted and closed", async () => {
  const rev = await session("gd.reviewer");
  await rev.goto(`${BASE}/inspections`);
  await rev.check("input[name=mode][value=hand]");
  await rev.check("input[name=station_id][aria-label*='广东省电力工业电能计量站']");
  await rev.check("input[name=inspectors] >> nth=0");
  await rev.fill("#p-date", today());
  await submit(rev, "form[action='/inspections'] button[type=submit].primary");
  if (!/\/inspections\/[0-9a-f-]{36}/.test(rev.url())) {
    await rev.click("table.grid tbody tr >> nth=0 >> a");
    await rev.waitForLoadState();
  }
  const url = rev.url().split("?")[0];
  assert.equal(await badge(rev), "已安排");
  for (const a of ["compliance", "technical_specifications", "standards_management", "conduct"]) {
    await rev.check(`input[name=finding_${a}][value=conforming]`);
  }
  await rev.check("input[name=finding_fees][value=nonconforming]");
  await rev.fill("#n-fees", "超标准收费");
  await rev.check("input[name=cooperation][value=cooperated]");
  await rev.fill("#r-from", today());
  await submit(rev, "form[action$='/record'] button[type=submit]");
  assert.equal(await badge(rev), "已记录待确认");
  const appr = await session("gd.approver");
  await appr.goto(url);
  await appr.check("form[action$='/approve'] input[name=confirmed]");
  await submit(appr, "form[action$='/approve'] button");
  assert.equal(await badge(appr), "已完成");
  await rev.goto(url);
  await rev.fill("#o-d", "退还多收费用");
  await submit(rev, "form[action$='/orders'] button");
  assert.equal(await done(rev), "整改通知已下达");
  const order = await rev.locator("#orders-h ~ ul a").first().getAttribute("href");
  const station = await session("station.staff");
  await station.goto(`${BASE}${order}`);
  await station.fill("#rp", "已退还多收费用并公示");
  await submit(station, "form[action$='/report'] button");
  assert.equal(await done(station), "整改报告已提交");
  await rev.goto(`${BASE}${order}`);
  await submit(rev, "form[action$='/accept'] button");
  await appr.goto(`${BASE}${order}`);
  await appr.check("form[action$='/close'] input[name=confirmed]");
  await submit(appr, "form[action$='/close'] button");
  assert.equal(await done(appr), "整改通知已关闭");
  assert.match(await appr.locator(".next-step").innerText(), /已关闭/);
  for (const p of [rev, appr, station]) await p.context().close();
});

test("establishing a station: drafted, submitted with conditions declared, accepted, assessed, granted under its official name", async () => {
  const dept = await session("cnpc.officer");
  await dept.goto(`${BASE}/applications/new`);
  const station = await dept.locator("#f-station option").evaluateAll((os) =>
    os.map((o) => [o.value, o.textContent]).find(([, t]) => t.includes("深圳市燃气计量站"))?.[0]);
  assert.ok(station, "the station is offered");
  await dept.selectOption("#f-station", station);
  await dept.fill("#f-region", "440304");
  await dept.fill("input[name=item_name] >> nth=0", "膜式燃气表");
  await dept.fill("input[name=item_range] >> nth=0", "（0.016～6）m³/h");
  await dept.fill("input[name=item_accuracy] >> nth=0", "1.5级");
  await dept.fill("input[name=item_spec] >> nth=0", "JJG 577-2012");
  await dept.check("input[name=item_task][value='0:verification']");
  await submit(dept, "form.form button[type=submit].primary");
  const url = dept.url().split("?")[0];
  assert.match(url, /\/applications\/[0-9a-f-]{36}$/);
  for (const box of await dept.locator("form[action$='/submit'] input[name=to_be_provided]").all()) await box.check();
  await submit(dept, "form[action$='/submit'] button");
  assert.equal(await done(dept), "已提交");
  const rev = await session("gd.reviewer");
  await rev.goto(url);
  await rev.check("form[action$='/accept'] input[name=confirmed]");
  await submit(rev, "form[action$='/accept'] button");
  await rev.fill("#as-date", today());
  await rev.fill("#as-team", "陈晓（组长）");
  await submit(rev, "form[action$='/assessment'] button");
  await rev.check("input[name=outcome][value=pass]");
  // The assessment verified one unmet condition on site (requirements §4).
  await rev.fill("form[action$='/assessment-outcome'] textarea[name=settle_text] >> nth=0", "现场核查：已核实，见考核记录");
  await submit(rev, "form[action$='/assessment-outcome'] button");
  await rev.check("form[action$='/propose'] input[name=decision][value=grant]");
  await rev.fill("#p-r", "符合第七条规定的条件");
  await submit(rev, "form[action$='/propose'] button");
  const appr = await session("gd.approver");
  await appr.goto(url);
  assert.equal(await appr.inputValue("#c-name"), "深圳市燃气计量站", "the official name is proposed without （筹建）");
  assert.match(await appr.locator("#conditions").innerText(), /考核核实/);
  // Conditions still open block the grant until the approver gives a reason for each.
  await appr.check("form[action$='/confirm'] input[name=confirmed]");
  await submit(appr, "form[action$='/confirm'] button");
  assert.ok(await appr.locator("form[action$='/confirm'] .field-error").count() > 0, "each open condition says why");
  for (const t of await appr.locator("form[action$='/confirm'] textarea[name=settle_text]").all()) {
    await t.fill("登记信息待更新，考核组已核实可满足");
  }
  await appr.check("form[action$='/confirm'] input[name=confirmed]");
  await submit(appr, "form[action$='/confirm'] button");
  assert.equal(await appr.locator("main .alert-ok:has-text('证书编号')").count(), 1);
  assert.match(await appr.locator("#conditions").innerText(), /审批人认可/);
  await appr.click("a[href^='/verify/']");
  await appr.waitForLoadState();
  assert.match(await appr.locator("main").innerText(), /深圳市燃气计量站/);
  assert.doesNotMatch(await appr.locator("main h1").innerText(), /筹建/);
  for (const p of [dept, rev, appr]) await p.context().close();
});

test("an adjustment adding an item: drafted by the station, filed, assessed with a verified condition, approved with the rest overridden", async () => {
  const st = await session("station.staff");
  await st.goto(`${BASE}/requests/new/adjustment`);
  await st.fill("input[name=new_name] >> nth=0", "冷水水表");
  await st.fill("input[name=new_range] >> nth=0", "（0.01～16）m³/h");
  await st.fill("input[name=new_accuracy] >> nth=0", "2级");
  await st.fill("input[name=new_spec] >> nth=0", "JJG 162-2019");
  await st.check("input[name=new_task][value='0:verification']");
  await st.fill("#f-reason", "新增冷水水表检定项目。");
  await submit(st, "form.form button[type=submit].primary");
  assert.match(st.url(), /\/requests\/[0-9a-f-]{36}/);
  const url = st.url().split("?")[0];
  assert.equal(await badge(st), "草稿");
  const dept = await session("dept.officer");
  await dept.goto(url);
  await dept.check("form[action$='/submit'] input[name=confirmed]");
  await submit(dept, "form[action$='/submit'] button");
  const rev = await session("gd.reviewer");
  await rev.goto(url);
  await rev.click("details:has(form[action$='/assessment']) > summary");
  await rev.fill("#as-date", today());
  await rev.fill("#as-team", "李工（组长）");
  await rev.check("form[action$='/assessment'] input[name=outcome][value=pass]");
  await rev.fill("form[action$='/assessment'] textarea[name=settle_text] >> nth=0", "现场核查：水表检定装置已建成");
  await submit(rev, "form[action$='/assessment'] button");
  assert.match(await rev.locator("#conditions").innerText(), /考核核实/);
  await rev.check("form[action$='/propose'] input[name=decision][value=approve]");
  await submit(rev, "form[action$='/propose'] button");
  assert.equal(await badge(rev), "已提出意见待审批");
  const appr = await session("gd.approver");
  await appr.goto(url);
  for (const t of await appr.locator("form[action$='/confirm'] textarea[name=settle_text]").all()) {
    await t.fill("人员资格证书换发中，限期补充");
  }
  await appr.check("form[action$='/confirm'] input[name=confirmed]");
  await submit(appr, "form[action$='/confirm'] button");
  assert.equal(await badge(appr), "已批准");
  assert.match(await appr.locator("#conditions").innerText(), /审批人认可/);
  for (const p of [st, dept, rev, appr]) await p.context().close();
});

test("a risk report (R10.1): filed by the station, confirmed by its regulator, a warning published, acknowledged by the department", async () => {
  const st = await session("station.staff");
  await st.goto(`${BASE}/risks`);
  await st.locator("details.panel summary").click();
  await st.fill("#title", "电能表轻载误差偏大");
  await st.selectOption("#severity", "high");
  await st.fill("#description", "某批次三相电能表在 5% 负载下误差超出最大允许误差。");
  await submit(st, "form[action='/risks'] button.primary");
  assert.match(st.url(), /\/risks\/[0-9a-f-]{36}/);
  const url = st.url().split("?")[0];
  assert.equal(await badge(st), "高");
  const rev = await session("gd.reviewer");
  await rev.goto(url);
  await submit(rev, "form[action$='/confirm'] button");
  assert.equal(await done(rev), "风险已确认");
  await submit(rev, "a[href^='/warnings/new?risk_report_id=']");
  assert.equal(await rev.inputValue("#title"), "电能表轻载误差偏大");
  await rev.fill("#body", "请核查同批次电能表并暂停使用。");
  await rev.fill("#valid_until", "2099-12-31");
  await rev.fill("#region", "440000");
  await submit(rev, "button[name=preview]");
  assert.match(await rev.locator("[role=status]").innerText(), /将发送给/);
  await submit(rev, "form[action='/warnings'] button.primary");
  assert.equal(await done(rev), "预警已发布");
  const warning = rev.url().split("?")[0];
  const dept = await session("dept.officer");
  await dept.goto(`${BASE}/tasks`);
  assert.ok(await dept.locator(`a[href='${warning.slice(BASE.length)}']`).count() > 0, "on the department's task list");
  await dept.goto(warning);
  await submit(dept, "form[action$='/acknowledge'] button");
  assert.equal(await done(dept), "已确认收到预警");
  await rev.goto(`${warning}?ack=done`);
  assert.match(await rev.locator("table.grid tbody").innerText(), /国家电网有限公司/);
});
