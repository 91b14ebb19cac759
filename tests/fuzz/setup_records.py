#!/usr/bin/env python3
"""Creates one record of each workflow on a fresh demo server, through the
API as the demo accounts would, so the fuzz run's deep pass has real ids
to work on (the demo data holds stations, standards and staff, but no
applications, requests, inspections, orders or cases).

    setup_records.py BASE

Exits non-zero, naming the step, when any call fails: a fuzz run that
silently lost its records would only test the 404 again.
"""
import http.cookiejar
import json
import sys
import urllib.error
import urllib.request
from datetime import date, timedelta

BASE = sys.argv[1]
PASSWORD = "demo-pass-2025"


class Client:
    def __init__(self, user):
        self.user = user
        self.op = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.call("POST", "/api/v1/session", {"username": user, "password": PASSWORD})

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(BASE + path, data=data, method=method, headers={
            "Content-Type": "application/json", "Origin": BASE, "Accept": "application/json"})
        try:
            with self.op.open(req, timeout=60) as r:
                raw = r.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            sys.exit(f"setup: {self.user} {method} {path} answered {e.code}: {e.read()[:500]!r}")

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body):
        return self.call("POST", path, body)


def station_id(c, code):
    page = c.get(f"/api/v1/stations?q={code}")
    rows = page["items"] if isinstance(page, dict) else page
    for s in rows:
        if s.get("code") == code:
            return s["id"]
    sys.exit(f"setup: station {code} not found")


today = date.today().isoformat()

# An application for 深圳市燃气计量站, submitted to 广东 with conditions declared 待补.
cnpc = Client("cnpc.officer")
sz = station_id(cnpc, "SZ-GAS-01")
a = cnpc.post("/api/v1/applications", {
    "station_id": sz, "region": ["440304"],
    "items": [{"name": "膜式燃气表", "range_text": "（0.016～6）m³/h", "accuracy_text": "1.5级",
               "task_types": ["verification"], "specification": "JJG577-2012"}]})
cnpc.post(f"/api/v1/applications/{a['id']}/submit", {
    "version": a["version"], "to_be_provided": [p["code"] for p in a["problems"]]})

# An adjustment of 广东省电力计量站 adding an item, filed by its department.
staff = Client("station.staff")
ep = station_id(staff, "GD-EP-01")
r = staff.post("/api/v1/adjustments", {
    "station_id": ep, "reason": "新增冷水水表检定",
    "changes": [{"op": "add", "item": {"name": "冷水水表", "range_text": "（0.01～16）m³/h",
                 "accuracy_text": "2级", "task_types": ["verification"], "specification": "JJG162-2019"}}]})
dept = Client("dept.officer")
dept.post(f"/api/v1/lifecycle-requests/{r['id']}/submit", {"version": r["version"]})

# An inspection recorded with a nonconforming area, approved, and its order.
rev = Client("gd.reviewer")
me = rev.get("/api/v1/me")
i = rev.post("/api/v1/inspections", {"station_id": ep, "planned_on": today, "inspectors": [me["user_id"]]})
areas = {k: {"finding": "conforming"} for k in
         ("compliance", "technical_specifications", "standards_management", "conduct")}
areas["fees"] = {"finding": "nonconforming", "notes": "超标准收取检定费"}
i = rev.call("PUT", f"/api/v1/inspections/{i['id']}/record", {
    "version": i["version"], "inspected_from": today, "inspected_to": today,
    "areas": areas, "cooperation": "cooperated", "summary": "现场检查"})
Client("gd.approver").post(f"/api/v1/inspections/{i['id']}/approve", {"version": i["version"]})
rev.post(f"/api/v1/inspections/{i['id']}/rectification-orders", {
    "areas": ["fees"], "description": "退还多收费用并公示收费标准",
    "period_unit": "working_days", "period_days": 10})
# A second inspection, left planned.
rev.post("/api/v1/inspections", {"station_id": ep, "planned_on": (date.today() + timedelta(days=7)).isoformat(),
                                 "inspectors": [me["user_id"]]})
# A violation case.
rev.post("/api/v1/violation-cases", {"station_id": ep, "art16_items": ["7"],
                                     "description": "超标准收费（检查发现）", "inspection_ids": [i["id"]]})
print("setup: an application, an adjustment, two inspections, an order and a case")
