// Browser tests (node --test), run by .ci/run against a fresh demo server
// (BASE). Debian's chromium through playwright-core (never a downloaded
// browser) and axe-core from npm:
// - every page reached, per role: 0 serious or critical axe violations;
// - at 390 px wide no page is wider than the window (nothing scrolls sideways);
// - a refused decision keeps the choice and the text typed;
// - a GET on a POST-only address explains itself; the language switch
//   returns to the same page, query included.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const BASE = process.env.BASE ?? "http://127.0.0.1:8080";
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
});
after(async () => { await browser?.close(); });

async function session(user, width = 1366) {
  // bypassCSP: only so that the axe script can be injected into the pages.
  const ctx = await browser.newContext({ viewport: { width, height: 860 }, locale: "zh-CN", bypassCSP: true });
  const page = await ctx.newPage();
  if (user) {
    await page.goto(`${BASE}/login`);
    await page.fill("#username", user);
    await page.fill("#password", "demo-pass-2025");
    await Promise.all([page.waitForURL(`${BASE}/`), page.click("button[type=submit].primary")]);
  }
  return page;
}

/** JSON through the page's session (same cookies, same origin). */
async function api(page, method, path, body) {
  const res = await page.request.fetch(`${BASE}${path}`, {
    method,
    headers: { "Content-Type": "application/json", Origin: BASE },
    data: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status(), body: text ? JSON.parse(text) : null };
}

// The pages each role reaches from its navigation and lists.
const PAGES = {
  null: ["/login", "/directory", "/inspection-results"],
  operator: ["/", "/tasks", "/profile", "/admin/reminders", "/admin/organizations", "/admin/organizations/new", "/admin/users", "/admin/calendar",
    "/admin/calendar/2026", "/admin/calendar/load?year=2027", "/stations"],
  "samr.reviewer": ["/", "/tasks", "/stations", "/applications", "/requests", "/inspections", "/rectification-orders", "/cases", "/standards",
    "/comparisons", "/comparisons/new", "/comparisons/new?item=%E6%B5%81%E9%87%8F%E8%AE%A1", "/risks", "/warnings", "/warnings/new"],
  "gd.reviewer": ["/", "/tasks", "/tasks?scope=org", "/profile", "/stations", "/applications", "/requests", "/inspections", "/rectification-orders", "/cases",
    "/standards", "/change-requests", "/staff", "/records/flagged", "/records/stats", "/records/samples",
    "/records?station=GD-EP-01", "/risks", "/warnings", "/warnings/new", "/comparisons"],
  "dept.officer": ["/", "/tasks", "/stations", "/applications", "/requests", "/requests/new/termination", "/requests/new/adjustment",
    "/requests/new/head", "/inspections", "/rectification-orders", "/warnings"],
  "station.staff": ["/", "/tasks", "/stations", "/requests", "/rectification-orders", "/standards", "/standards/new", "/staff",
    "/change-requests", "/records", "/records/new", "/records/import", "/records/stats", "/records/samples",
    "/comparisons", "/risks", "/warnings"],
};

async function detailLinks(page, list, n = 2) {
  await page.goto(`${BASE}${list}`);
  const hrefs = await page.$$eval("table.grid tbody a[href^='/']", (as) => as.map((a) => a.getAttribute("href")));
  return [...new Set(hrefs)].filter((h) => !h.startsWith("/api/")).slice(0, n);
}

async function pagesOf(user, page) {
  const pages = [...PAGES[user ?? "null"]];
  if (user === "gd.reviewer" || user === "dept.officer") {
    for (const list of ["/stations", "/requests", "/inspections", "/rectification-orders", "/applications"]) {
      pages.push(...(await detailLinks(page, list)));
    }
  }
  return pages;
}

for (const user of Object.keys(PAGES)) {
  const who = user === "null" ? null : user;
  test(`axe: no serious or critical violation on the pages of ${user}`, async () => {
    const page = await session(who);
    const problems = [];
    for (const path of await pagesOf(who, page)) {
      const res = await page.goto(`${BASE}${path}`);
      assert.ok(res.status() < 500, `${path}: ${res.status()}`);
      await page.addScriptTag({ content: AXE });
      const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
      for (const v of result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")) {
        problems.push(`${path}: ${v.id} (${v.impact}) ${v.nodes.slice(0, 2).map((n) => n.target.join(" ")).join(", ")}`);
      }
    }
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test(`390 px: no page of ${user} is wider than the window`, async () => {
    const page = await session(who, 390);
    const wide = [];
    for (const path of await pagesOf(who, page)) {
      await page.goto(`${BASE}${path}`);
      const w = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, win: window.innerWidth }));
      if (w.doc > w.win) wide.push(`${path}: ${w.doc} px`);
    }
    assert.deepEqual(wide, []);
    await page.context().close();
  });
}

test("a refused decision comes back with the choice and the text typed, nothing preselected", async () => {
  // A head appointment (several may be open at once, unlike a termination).
  const dept = await session("dept.officer");
  const stations = await api(dept, "GET", "/api/v1/stations?q=GD-EP-01");
  const list = stations.body.items ?? stations.body;
  const station = list.find((s) => s.code === "GD-EP-01");
  const draft = await api(dept, "POST", "/api/v1/head-appointments",
    { station_id: station.id, action: "appoint", person_name: "浏览器测试", reason: "浏览器测试：站长任命" });
  assert.equal(draft.status, 201, JSON.stringify(draft.body));
  const filed = await api(dept, "POST", `/api/v1/lifecycle-requests/${draft.body.id}/submit`, { version: draft.body.version });
  assert.equal(filed.status, 200, JSON.stringify(filed.body));
  const rev = await session("gd.reviewer");
  await rev.goto(`${BASE}/requests/${draft.body.id}`);
  const form = "form[action$='/propose']";
  assert.equal(await rev.locator(`${form} input[name=decision]:checked`).count(), 0, "no outcome preselected");
  await rev.check(`${form} input[name=decision][value=refuse]`);
  await Promise.all([rev.waitForLoadState(), rev.click(`${form} button[type=submit]`)]);
  await rev.waitForLoadState();
  assert.ok(await rev.locator(`${form} input[name=decision][value=refuse]`).isChecked(), "the refusal stays chosen");
  assert.ok((await rev.locator(".alert-error").first().innerText()).length > 0, "and the page says why");
  await rev.fill(`${form} textarea[name=reasons]`, "材料不全");
  await Promise.all([rev.waitForLoadState(), rev.click(`${form} button[type=submit]`)]);
  await rev.waitForLoadState();
  assert.match(await rev.locator("h1").innerText(), /./);
  for (const p of [dept, rev]) await p.context().close();
});

test("a GET on a POST-only address explains itself and links back", async () => {
  const page = await session("gd.reviewer");
  const res = await page.goto(`${BASE}/requests/00000000-0000-0000-0000-000000000000/confirm`);
  assert.equal(res.status(), 405);
  assert.match(await page.locator("main").innerText(), /只接受表单提交/);
  assert.equal(await page.locator("main a[href='/requests/00000000-0000-0000-0000-000000000000']").count(), 1);
  await page.context().close();
});

test("the language switch returns to the same page, query included", async () => {
  const page = await session("gd.reviewer");
  await page.goto(`${BASE}/stations?tier=local&sort=code`);
  await Promise.all([page.waitForLoadState(), page.click("form[action='/lang'] button")]);
  await page.waitForLoadState();
  assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, "/stations?tier=local&sort=code");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  await page.context().close();
});

test("the records dashboard draws its chart beside the table of the same numbers", async () => {
  const page = await session("station.staff");
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${BASE}/records/stats`);
  await page.waitForSelector("#records-chart canvas");
  const months = await page.$$eval("table.numbers tbody tr", (rows) => rows.length);
  assert.equal(months, 12, "a row for every month of the span");
  const chart = JSON.parse(await page.getAttribute("#records-chart", "data-chart"));
  assert.equal(chart.months.length, 12);
  const total = await page.$eval("table.numbers tfoot td:nth-last-child(3)", (td) => Number(td.textContent));
  const charted = chart.kinds.reduce((n, k) => n + k.data.reduce((a, b) => a + b, 0), 0);
  assert.equal(charted, total, "the chart shows the table's numbers");
  assert.deepEqual(errors, []);
  await page.context().close();
});
