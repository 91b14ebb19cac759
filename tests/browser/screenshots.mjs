// Screenshots of the main pages, for a person to look at.
// Usage: BASE=http://127.0.0.1:8080 OUT=/tmp/shots node screenshots.mjs
// Uses Debian's chromium (/usr/bin/chromium); never downloads a browser.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const BASE = process.env.BASE ?? "http://127.0.0.1:8080";
const OUT = process.env.OUT ?? "/tmp/jiliang-shots";
mkdirSync(OUT, { recursive: true });

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});

async function session(user, lang = "zh") {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: "zh-CN" });
  if (lang === "en") await ctx.addCookies([{ name: "lang", value: "en", url: BASE }]);
  const page = await ctx.newPage();
  if (user) {
    await page.goto(`${BASE}/login`);
    await page.fill("#username", user);
    await page.fill("#password", "demo-pass-2025");
    await page.click("button[type=submit].primary");
    await page.waitForURL(`${BASE}/`);
  }
  return page;
}

async function shot(page, path, name) {
  await page.goto(`${BASE}${path}`);
  await page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
  console.log(`${OUT}/${name}.png`);
}

const anon = await session(null);
await shot(anon, "/login", "login");
await anon.fill("#username", "station.staff");
await anon.fill("#password", "wrong");
await anon.click("button[type=submit].primary");
await anon.screenshot({ path: `${OUT}/login-error.png`, fullPage: true });

const samr = await session("samr.reviewer");
await shot(samr, "/", "home-samr");
await shot(samr, "/stations", "stations-samr");
await shot(samr, "/stations?tier=national_branch&sort=code", "stations-filtered");

const op = await session("operator");
await shot(op, "/", "home-operator");
await shot(op, "/admin/organizations", "orgs");
await shot(op, "/admin/organizations/new", "org-new");
await op.selectOption("#f-kind", "station");
await op.fill("#f-name", "测试站");
await op.click("form.form button[type=submit]");
await op.screenshot({ path: `${OUT}/org-new-errors.png`, fullPage: true });
await shot(op, "/admin/users", "users");
await shot(op, "/api/docs/", "api-docs");

const st = await session("station.staff", "en");
await shot(st, "/", "home-station-en");
const id = await st.evaluate(async () => (await (await fetch("/api/v1/stations")).json()).items[0].id);
await shot(st, `/stations/${id}`, "station-detail-en");
await shot(st, "/stations/00000000-0000-0000-0000-000000000000", "not-found-en");

// Registries (issue 4): the standards list, a change request at the
// approver's decision step, staff qualifications.
const gdst = await session("station.staff");
await shot(gdst, "/", "home-station");
await shot(gdst, "/standards", "standards-station");
await shot(gdst, "/staff", "staff");
const std = await gdst.evaluate(async () => (await (await fetch("/api/v1/standards")).json()).items[0]);
await shot(gdst, `/standards/${std.id}`, "standard-detail");
await shot(gdst, `/standards/${std.id}/change`, "change-form");
const post = (page, url, body) => page.evaluate(async ([url, body]) => {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return r.json();
}, [url, body]);
let req = await post(gdst, `/api/v1/standards/${std.id}/change-requests`, {
  change_kind: "equipment", reason: "原主标准器计量性能下降，更换为新购置的同型号设备（附验收报告）。",
  changes: { main_equipment: "三相电能表检定装置（2026 年新购）", range_text: "（0～120）A", accuracy_text: "0.01级" },
});
req = await post(gdst, `/api/v1/change-requests/${req.id}/submit`, { version: req.version });
const rev = await session("gd.reviewer");
req = await post(rev, `/api/v1/change-requests/${req.id}/propose`, { version: req.version, decision: "approve", note: "资料齐全，同意更换。" });
await shot(rev, "/change-requests", "changes-queue");
const appr = await session("gd.approver");
await shot(appr, `/change-requests/${req.id}`, "change-decision");
await shot(rev, "/standards", "standards-regulator");

// Establishment (issue 5): the drafting form, the regulator's queue, the
// decision page, the certificate and the public pages.
const cnpc = await session("cnpc.officer");
await cnpc.goto(`${BASE}/applications/new`);
await cnpc.fill("#f-region", "440304");
await cnpc.fill("input[name=item_name] >> nth=0", "膜式燃气表");
await cnpc.fill("input[name=item_range] >> nth=0", "（0.016～6）m³/h");
await cnpc.fill("input[name=item_accuracy] >> nth=0", "1.5级");
await cnpc.fill("input[name=item_spec] >> nth=0", "JJG577-2012");
await cnpc.check("input[name=item_task][value='0:verification']");
await cnpc.fill("input[name=item_name] >> nth=1", "燃气表");
await cnpc.fill("input[name=item_range] >> nth=1", "很多");
await cnpc.screenshot({ path: `${OUT}/application-form.png`, fullPage: true });
await cnpc.click("form.form button[type=submit].primary");
await cnpc.waitForLoadState();
await cnpc.screenshot({ path: `${OUT}/application-form-errors.png`, fullPage: true });
await cnpc.fill("input[name=item_name] >> nth=1", "");
await cnpc.fill("input[name=item_range] >> nth=1", "");
await cnpc.click("form.form button[type=submit].primary");
await cnpc.waitForURL(/applications\/[0-9a-f-]{36}$/);
const appId = cnpc.url().split("/").pop();
await cnpc.screenshot({ path: `${OUT}/application-draft.png`, fullPage: true });
let appl = await cnpc.evaluate(async (id) => (await (await fetch(`/api/v1/applications/${id}`)).json()), appId);
appl = await post(cnpc, `/api/v1/applications/${appId}/submit`, { version: appl.version, to_be_provided: appl.problems.map((p) => p.code) });
await shot(rev, "/applications", "applications-queue");
appl = await post(rev, `/api/v1/applications/${appId}/accept`, { version: appl.version });
appl = await post(rev, `/api/v1/applications/${appId}/assessment`, { version: appl.version, date: "2026-12-10", team: "陈晓（组长）、王明" });
appl = await post(rev, `/api/v1/applications/${appId}/assessment-outcome`, { version: appl.version, outcome: "pass" });
appl = await post(rev, `/api/v1/applications/${appId}/propose`, { version: appl.version, decision: "grant", reasons: "符合《专业计量站管理办法》第七条规定的条件" });
await shot(appr, `/applications/${appId}`, "application-decision");
appl = await post(appr, `/api/v1/applications/${appId}/confirm`, { version: appl.version });
await shot(appr, `/authorizations/${appl.authorization_id}/certificate`, "certificate");
const pub = await session(null);
await shot(pub, "/directory", "directory");

// Establishment (issue 5): an application for a brand-new station.
await shot(cnpc, "/applications/new", "application-new-station-form");
await cnpc.selectOption("#f-station", "new");
await cnpc.fill("#ns-name", "杭州市天然气计量站");
await cnpc.fill("#ns-code", "hz gas");
await cnpc.click("form.form button[type=submit].primary");
await cnpc.waitForLoadState();
await cnpc.screenshot({ path: `${OUT}/application-new-station-errors.png`, fullPage: true });
await shot(rev, `/applications/${appId}`, "application-clocks");

// Lifecycle (issue 6): the termination form (too early, then right), the
// queue, and the version diff after an approved adjustment.
await shot(gdst, "/requests/new/termination", "termination-form");
await gdst.fill("#f-end", "2027-01-01");
await gdst.fill("#f-reason", "本站检定业务划转至省计量院，申请终止授权。");
await gdst.click("form.form button[type=submit].primary");
await gdst.waitForLoadState();
await gdst.screenshot({ path: `${OUT}/termination-form-errors.png`, fullPage: true });
const dept = await session("dept.officer");
const gdStation = await gdst.evaluate(async () => (await (await fetch("/api/v1/me")).json()).organization.id);
let adj = await post(dept, "/api/v1/adjustments", { station_id: gdStation, reason: "电流互感器检定业务移交；电能表范围调整；区域收窄为广州、深圳", region: ["440100", "440300"],
  changes: [{ op: "change", seq: 1, item: { name: "电能表", range_text: "（0～50）A", accuracy_text: "0.5级", task_types: ["verification", "calibration"], specification: "JJG 596-2012" } }, { op: "remove", seq: 2 }] });
adj = await post(dept, `/api/v1/lifecycle-requests/${adj.id}/submit`, { version: adj.version });
await shot(rev, "/requests", "requests-queue");
adj = await post(rev, `/api/v1/lifecycle-requests/${adj.id}/propose`, { version: adj.version, decision: "approve" });
await shot(appr, `/requests/${adj.id}`, "adjustment-decision");
adj = await post(appr, `/api/v1/lifecycle-requests/${adj.id}/confirm`, { version: adj.version });
await shot(appr, `/authorizations/${adj.authorization_id}/versions`, "versions-diff");

// Supervision (issue 7): the inspection record form (empty, then refused
// with errors), and the regulator's overdue orders.
await shot(rev, "/inspections", "inspections");
const me = await rev.evaluate(async () => (await (await fetch("/api/v1/me")).json()).user_id);
let insp = await post(rev, "/api/v1/inspections", { station_id: gdStation, planned_on: "2026-11-20", inspectors: [me] });
await shot(rev, `/inspections/${insp.id}`, "inspection-record-form");
await rev.check("input[name=finding_fees][value=nonconforming]");
await rev.check("input[name=cooperation][value=obstructed]");
await rev.fill("#r-from", "2026-11-20");
await rev.click("form.form button[type=submit].primary");
await rev.waitForLoadState();
await rev.screenshot({ path: `${OUT}/inspection-record-errors.png`, fullPage: true });
const put = (page, url, body) => page.evaluate(async ([url, body]) => {
  const r = await fetch(url, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return r.json();
}, [url, body]);
insp = await put(rev, `/api/v1/inspections/${insp.id}/record`, { version: insp.version, inspected_from: "2026-11-20", inspected_to: "2026-11-21",
  areas: { compliance: { finding: "conforming" }, technical_specifications: { finding: "nonconforming", notes: "使用作废版本的检定规程 JJG 596-1999" },
    standards_management: { finding: "conforming" }, fees: { finding: "nonconforming", notes: "超标准收取检定费" }, conduct: { finding: "conforming" } },
  cooperation: "cooperated", summary: "发现两项问题，责令限期整改。" });
insp = await post(appr, `/api/v1/inspections/${insp.id}/approve`, { version: insp.version });
await post(rev, `/api/v1/inspections/${insp.id}/rectification-orders`, { areas: ["fees"], description: "按规定标准收费并退还多收费用", period_unit: "working_days", period_days: 10, issued_on: "2025-09-26" });
await post(rev, `/api/v1/inspections/${insp.id}/rectification-orders`, { areas: ["technical_specifications"], description: "更换现行有效的检定规程并重新培训", period_unit: "calendar_days", period_days: 30 });
await shot(rev, `/inspections/${insp.id}`, "inspection-completed");
await shot(rev, "/rectification-orders", "orders");
await shot(rev, "/rectification-orders?overdue=true", "orders-overdue");
await shot(rev, "/", "home-regulator");

// Work records (issue 15): the station's list, the form with its verdict
// before saving, a flagged record with its QR code, the regulator's queue,
// the public check.
const recs = await session("station.staff");
await shot(recs, "/records", "records-station");
await recs.goto(`${BASE}/records/new`);
await recs.fill("#f-number", "粤电计检字2026-000999");
await recs.fill("#f-instrument_name", "单相电能表");
await recs.fill("#f-customer_name", "北京某单位");
await recs.fill("#f-customer_division", "110101");
await recs.fill("#f-item_name", "电能表");
await recs.fill("#f-range_text", "(0~10) A");
await recs.check("input[name=standards] >> nth=0");
await recs.selectOption("#f-performer", { label: "刘芳（高级工程师）" });
await recs.selectOption("#f-checker", { label: "王丽（助理工程师）" });
await recs.selectOption("#f-approver", { label: "刘芳（高级工程师）" });
await recs.fill("#f-valid_until", "2027-12-31");
await recs.click("button[value=check]");
await recs.screenshot({ path: `${OUT}/record-form-verdict.png`, fullPage: true });
console.log(`${OUT}/record-form-verdict.png`);
const flagged = await recs.evaluate(async () => (await (await fetch("/api/v1/work-records?flagged=true")).json())[0]);
await shot(recs, `/records/${flagged.record_id}`, "record-flagged");
const gdrev = await session("gd.reviewer");
await shot(gdrev, "/records/flagged", "records-flagged-regulator");
const recpub = await session(null);
await shot(recpub, `/records/verify?station=GD-EP-01&number=${encodeURIComponent(flagged.number)}`, "record-public");

await browser.close();
