//! Supervision (Art 17–19): inspections from draw to approval, orders and
//! their deadlines on the official calendar, violation cases with
//! revocation, referrals seen only by approvers, and the matrix.

mod common;

use common::{assert_error, completed_inspection, created, okj, record, user_id, Client, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

/// A user of a regulator, made by the operator.
async fn user(app: &TestApp, org: &str, name: &str, roles: &[&str]) -> (Client, Uuid) {
    let op = app.login("operator").await;
    let org = app.org_id(org).await;
    let u = created(
        op.post_json(
            "/api/v1/users",
            &json!({"organization_id": org, "username": name, "display_name": name,
                    "roles": roles, "password": "Inspector-pass-2025"}),
        )
        .await,
    )
    .await;
    let id = Uuid::parse_str(u["id"].as_str().unwrap()).unwrap();
    (app.login_with(name, "Inspector-pass-2025").await, id)
}

async fn staff_status(app: &TestApp, user: &str, inspection: &str) -> u16 {
    app.login(user)
        .await
        .get(&format!("/api/v1/inspections/{inspection}"))
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_inspection_goes_from_a_reproducible_draw_to_approval_r17() {
    let app = TestApp::spawn().await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let (second, second_id) = user(
        &app,
        "广东省市场监督管理局",
        "gd.inspector2",
        &["inspector", "approver"],
    )
    .await;
    let gd_ep = app.station_id("GD-EP-01").await;
    let th_gas = app.station_id("GZ-TH-GAS").await;
    let js_ep = app.station_id("JS-EP-01").await;
    // R17.1: only stations in the jurisdiction are offered.
    let (_, offered) = reviewer
        .json("/api/v1/inspections/inspectable-stations")
        .await;
    let offered: Vec<&str> = offered
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert!(
        offered.contains(&"GD-EP-01") && offered.contains(&"GZ-TH-GAS"),
        "{offered:?}"
    );
    assert!(!offered.contains(&"JS-EP-01"), "{offered:?}");
    let me = user_id(&app, "gd.reviewer").await;
    let body = json!({"station_ids": [gd_ep, th_gas, js_ep], "inspector_ids": [me, second_id],
                      "station_count": 1, "inspectors_per_station": 2, "seed": "20261127", "planned_on": "2026-11-20"});
    let res = reviewer.post_json("/api/v1/inspection-draws", &body).await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["code"], "not_inspectable");
    // R17.3: the draw is recorded with its seed and algorithm and can be re-run.
    let mut body = body;
    body["station_ids"] = json!([gd_ep, th_gas]);
    let d = created(reviewer.post_json("/api/v1/inspection-draws", &body).await).await;
    assert_eq!(d["draw"]["algorithm"], "chacha20-v1");
    assert_eq!(d["draw"]["seed"], "20261127");
    assert_eq!(d["inspections"].as_array().unwrap().len(), 1);
    let draw_id = d["draw"]["id"].as_str().unwrap();
    let r = okj(reviewer
        .get(&format!("/api/v1/inspection-draws/{draw_id}/rerun"))
        .await)
    .await;
    assert_eq!(r["same"], true);
    let again = created(reviewer.post_json("/api/v1/inspection-draws", &body).await).await;
    assert_eq!(
        again["draw"]["result"], d["draw"]["result"],
        "same seed and pools, same draw"
    );
    let page = reviewer
        .get(&format!("/inspection-draws/{draw_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("20261127") && page.contains("结果与记录一致"));
    // A system-picked seed is recorded too.
    let mut no_seed = body.clone();
    no_seed["seed"] = Value::Null;
    let d2 = created(
        reviewer
            .post_json("/api/v1/inspection-draws", &no_seed)
            .await,
    )
    .await;
    assert!(d2["draw"]["seed"].as_str().unwrap().parse::<u64>().is_ok());
    // R17.2: every area gets a finding; a nonconformity needs notes; R17.4 refusal needs a description.
    let i = &d["inspections"][0];
    let id = i["id"].as_str().unwrap().to_owned();
    let res = second
        .put_json(
            &format!("/api/v1/inspections/{id}/record"),
            &json!({"version": i["version"], "inspected_from": "2026-11-20",
                    "areas": {"fees": {"finding": "nonconforming"}}, "cooperation": "obstructed"}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    let fields: Vec<&str> = e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in [
        "areas.compliance",
        "areas.technical_specifications",
        "areas.standards_management",
        "areas.conduct",
        "areas.fees",
        "cooperation_notes",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let mut rec = record(&i["version"], "nonconforming");
    rec["cooperation"] = json!("obstructed");
    rec["cooperation_notes"] = json!("站长拒绝提供收费台账，拖延两小时");
    let i = okj(second
        .put_json(&format!("/api/v1/inspections/{id}/record"), &rec)
        .await)
    .await;
    assert_eq!(i["state"], "recorded");
    assert_eq!(i["cooperation"], "obstructed");
    // Four eyes: the recorder cannot approve, even as an approver.
    let res = second
        .post_json(
            &format!("/api/v1/inspections/{id}/approve"),
            &json!({"version": i["version"]}),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
    // A reviewer is no approver.
    let res = reviewer
        .post_json(
            &format!("/api/v1/inspections/{id}/approve"),
            &json!({"version": i["version"]}),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
    let i = okj(approver
        .post_json(
            &format!("/api/v1/inspections/{id}/approve"),
            &json!({"version": i["version"]}),
        )
        .await)
    .await;
    assert_eq!(i["state"], "completed");
    // The station sees its completed inspection; another station does not.
    let station = i["station_id"].as_str().unwrap();
    if station == gd_ep.to_string() {
        assert_eq!(staff_status(&app, "station.staff", &id).await, 200);
    }
    assert_eq!(staff_status(&app, "station2.staff", &id).await, 404);
    // 双随机、一公开: published without internal notes.
    okj(reviewer
        .post_json(
            &format!("/api/v1/inspections/{id}/publish"),
            &json!({"version": i["version"]}),
        )
        .await)
    .await;
    let public = app
        .client()
        .get("/inspection-results")
        .await
        .text()
        .await
        .unwrap();
    assert!(public.contains("发现问题，已责令整改") || public.contains("未发现问题"));
    assert!(
        !public.contains("超标准收取检定费") && !public.contains("拖延两小时"),
        "no internal notes"
    );
    let (_, pj) = app.client().json("/api/v1/public/inspections").await;
    assert_eq!(pj.as_array().unwrap().len(), 1);
    let report = jiliang::audit::verify(&app.pool).await.unwrap();
    assert!(report.breaks.is_empty());
}

#[tokio::test]
async fn a_ten_working_day_order_issued_before_national_day_is_due_on_the_official_date_r18_1() {
    let app = TestApp::spawn().await;
    let reviewer = app.login("gd.reviewer").await;
    let dept = app.login("dept.officer").await;
    let i = completed_inspection(&app, "GD-EP-01", "nonconforming").await;
    let id = i["id"].as_str().unwrap();
    let path = format!("/api/v1/inspections/{id}/rectification-orders");
    // Only nonconforming areas.
    let res = reviewer.post_json(&path, &json!({"areas": ["compliance"], "description": "x", "period_unit": "working_days", "period_days": 10})).await;
    assert_error(res, 422, "validation").await;
    // Friday 2025-09-26 + 10 working days over National Day = 2025-10-16.
    let o = created(
        reviewer
            .post_json(
                &path,
                &json!({"areas": ["fees"], "description": "按规定标准收费并退还多收费用",
        "period_unit": "working_days", "period_days": 10, "issued_on": "2025-09-26"}),
            )
            .await,
    )
    .await;
    assert_eq!(o["due_on"], "2025-10-16");
    // R18.3: past its deadline it is overdue, in every list.
    assert_eq!(o["overdue"], true);
    let (_, overdue) = reviewer
        .json("/api/v1/rectification-orders?overdue=true")
        .await;
    assert_eq!(overdue.as_array().unwrap().len(), 1);
    let page = reviewer
        .get("/rectification-orders?overdue=true")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("class=\"overdue\"") && page.contains("已超期"));
    let station = dept
        .get(&format!("/stations/{}", app.station_id("GD-EP-01").await))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        station.contains("已超期"),
        "the station page shows the overdue order"
    );
    let home = reviewer.get("/").await.text().await.unwrap();
    assert!(
        home.contains("整改通知已超期"),
        "the regulator's home page shows it"
    );
    // The same area is not ordered twice.
    let res = reviewer.post_json(&path, &json!({"areas": ["fees"], "description": "x", "period_unit": "calendar_days", "period_days": 5})).await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["code"], "already_ordered");
    // R18.2: the competent department is told, and reads its station's order.
    let (_, inbox) = dept.json("/api/v1/notifications").await;
    assert!(inbox[0]["subject"].as_str().unwrap().contains("整改通知"));
    let oid = o["id"].as_str().unwrap();
    assert_eq!(
        dept.get(&format!("/api/v1/rectification-orders/{oid}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.login("cnpc.officer")
            .await
            .get(&format!("/api/v1/rectification-orders/{oid}"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn an_order_is_reported_rejected_extended_once_and_accepted_r18_3() {
    let app = TestApp::spawn().await;
    let reviewer = app.login("gd.reviewer").await;
    let staff = app.login("station.staff").await;
    let dept = app.login("dept.officer").await;
    let i = completed_inspection(&app, "GD-EP-01", "nonconforming").await;
    let id = i["id"].as_str().unwrap();
    let today = jiliang::web::today();
    let o = created(reviewer.post_json(&format!("/api/v1/inspections/{id}/rectification-orders"),
        &json!({"areas": ["fees"], "description": "退还多收费用", "period_unit": "calendar_days", "period_days": 30})).await).await;
    assert_eq!(o["due_on"], (today + chrono::Days::new(30)).to_string());
    assert_eq!(o["overdue"], false, "not before its deadline");
    let oid = o["id"].as_str().unwrap().to_owned();
    let p = |s: &str| format!("/api/v1/rectification-orders/{oid}/{s}");
    // The issuer cannot report; the station can.
    let res = reviewer
        .post_json(
            &p("report"),
            &json!({"version": o["version"], "report": "x"}),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
    let res = staff
        .post_json(&p("report"), &json!({"version": o["version"]}))
        .await;
    assert_error(res, 422, "validation").await;
    let o = okj(staff
        .post_json(
            &p("report"),
            &json!({"version": o["version"], "report": "已退还并公示收费标准"}),
        )
        .await)
    .await;
    assert_eq!(o["state"], "reported");
    // Rejected with reasons: stays open; the department hears of it (R18.2).
    let res = reviewer
        .post_json(&p("reject"), &json!({"version": o["version"]}))
        .await;
    assert_error(res, 422, "validation").await;
    let o = okj(reviewer
        .post_json(
            &p("reject"),
            &json!({"version": o["version"], "reasons": "未附退费凭证"}),
        )
        .await)
    .await;
    assert_eq!(o["state"], "open");
    let (_, inbox) = dept.json("/api/v1/notifications").await;
    assert!(inbox[0]["subject"].as_str().unwrap().contains("整改未通过"));
    // One extension, to a later date.
    let res = reviewer
        .post_json(
            &p("extend"),
            &json!({"version": o["version"], "new_due_on": today.to_string(), "reasons": "x"}),
        )
        .await;
    assert_error(res, 422, "validation").await;
    let later = today + chrono::Days::new(45);
    let o = okj(reviewer
        .post_json(
            &p("extend"),
            &json!({"version": o["version"], "new_due_on": later, "reasons": "退费需走财务流程"}),
        )
        .await)
    .await;
    assert_eq!(o["effective_due"], later.to_string());
    let res = reviewer.post_json(&p("extend"), &json!({"version": o["version"], "new_due_on": later + chrono::Days::new(1), "reasons": "再延"})).await;
    assert_error(res, 409, "already_extended").await;
    // A stale version is refused.
    let res = staff
        .post_json(&p("report"), &json!({"version": 1, "report": "x"}))
        .await;
    assert_eq!(res.status(), 409);
    let o = okj(staff
        .post_json(
            &p("report"),
            &json!({"version": o["version"], "report": "已退还，附凭证"}),
        )
        .await)
    .await;
    let o = okj(reviewer
        .post_json(&p("accept"), &json!({"version": o["version"]}))
        .await)
    .await;
    assert_eq!(o["state"], "closing", "a reviewer proposes to close");
    // Four eyes: the reviewer cannot close; an approver does.
    let res = reviewer
        .post_json(&p("close"), &json!({"version": o["version"]}))
        .await;
    assert_error(res, 403, "forbidden").await;
    let o = okj(app
        .login("gd.approver")
        .await
        .post_json(&p("close"), &json!({"version": o["version"]}))
        .await)
    .await;
    assert_eq!(o["state"], "closed");
    assert_eq!(o["overdue"], false);
    let (_, inbox) = dept.json("/api/v1/notifications").await;
    assert!(inbox[0]["subject"].as_str().unwrap().contains("整改已通过"));
}

#[tokio::test]
async fn a_revocation_ends_the_authorization_at_once_and_the_public_page_shows_it_r19_1() {
    let app = TestApp::spawn().await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let staff = app.login("station.staff").await;
    let st = app.station_id("GD-EP-01").await;
    let res = reviewer
        .post_json(
            "/api/v1/violation-cases",
            &json!({"station_id": st, "art16_items": ["9"], "description": ""}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"].as_array().unwrap().len(), 2);
    let c = created(reviewer.post_json("/api/v1/violation-cases",
        &json!({"station_id": st, "art16_items": ["7", "5"], "description": "超出授权区域开展检定并出具证书",
                "evidence": "检定证书 12 份（复印件）"})).await).await;
    assert_eq!(c["art16_items"], json!(["5", "7"]));
    let cid = c["id"].as_str().unwrap().to_owned();
    // The station does not see an undecided case.
    assert_eq!(
        staff
            .get(&format!("/api/v1/violation-cases/{cid}"))
            .await
            .status(),
        404
    );
    let res = reviewer
        .post_json(
            &format!("/api/v1/violation-cases/{cid}/propose"),
            &json!({"version": c["version"], "decision": "fine", "fine_amount": "-5"}),
        )
        .await;
    assert_error(res, 422, "validation").await;
    let c = okj(reviewer
        .post_json(
            &format!("/api/v1/violation-cases/{cid}/propose"),
            &json!({"version": c["version"], "decision": "revocation", "notes": "情节严重"}),
        )
        .await)
    .await;
    let res = reviewer
        .post_json(
            &format!("/api/v1/violation-cases/{cid}/decide"),
            &json!({"version": c["version"]}),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
    // R19.1: the decision (revocation) is taken by an approver and ends the authorization.
    let c = okj(approver
        .post_json(
            &format!("/api/v1/violation-cases/{cid}/decide"),
            &json!({"version": c["version"]}),
        )
        .await)
    .await;
    assert_eq!(c["state"], "decided");
    let (status, token): (String, String) = sqlx::query_as(
        "select a.status, a.verify_token from station_authorization a where a.station_id = $1",
    )
    .bind(st)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(status, "revoked");
    let page = app
        .client()
        .get(&format!("/verify/{token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("已撤销"),
        "the public page shows the revocation"
    );
    // Now the station sees the decision; a second decision is refused.
    assert_eq!(
        staff
            .get(&format!("/api/v1/violation-cases/{cid}"))
            .await
            .status(),
        200
    );
    let res = approver
        .post_json(
            &format!("/api/v1/violation-cases/{cid}/decide"),
            &json!({"version": c["version"]}),
        )
        .await;
    assert_error(res, 409, "already_decided").await;
    // A fine records its amount.
    let c = created(reviewer.post_json("/api/v1/violation-cases",
        &json!({"station_id": app.station_id("GZ-TH-GAS").await, "art16_items": ["4"], "description": "无证人员出具检定证书"})).await).await;
    let c = okj(reviewer
        .post_json(
            &format!(
                "/api/v1/violation-cases/{}/propose",
                c["id"].as_str().unwrap()
            ),
            &json!({"version": c["version"], "decision": "fine", "fine_amount": "20000.50"}),
        )
        .await)
    .await;
    assert_eq!(c["fine_amount"], "20000.50");
}

#[tokio::test]
async fn a_referral_is_seen_only_by_the_referring_regulators_approvers_r19_2() {
    let app = TestApp::spawn().await;
    let approver = app.login("gd.approver").await;
    let reviewer = app.login("gd.reviewer").await;
    let res = reviewer.post_json("/api/v1/referrals", &json!({"recipient": "x", "referred_on": "2026-11-01", "reference": "y", "summary": "z"})).await;
    assert_error(res, 403, "forbidden").await;
    let res = approver
        .post_json("/api/v1/referrals", &json!({"recipient": ""}))
        .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"].as_array().unwrap().len(), 4);
    let r = created(approver.post_json("/api/v1/referrals",
        &json!({"station_id": app.station_id("GD-EP-01").await, "recipient": "广东省纪委监委驻省市场监管局纪检监察组",
                "referred_on": "2026-11-20", "reference": "粤市监移〔2026〕3号", "summary": "站长涉嫌收受好处费"})).await).await;
    assert_eq!(r["reference"], "粤市监移〔2026〕3号");
    // R19.2: recipient, date and reference recorded; only this regulator's approvers see it.
    let (_, mine) = approver.json("/api/v1/referrals").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    for user in [
        "operator",
        "samr.reviewer",
        "gd.reviewer",
        "dept.officer",
        "cnpc.officer",
        "station.staff",
        "station2.staff",
        "head.staff",
    ] {
        let c = app.login(user).await;
        assert_eq!(c.get("/api/v1/referrals").await.status(), 404, "{user}");
        let rows = app
            .as_app_role(Some(user), "select referral_id::text from referral")
            .await;
        assert!(rows.is_empty(), "{user} reads no referral row");
    }
    let (_, other) = app
        .login("samr.approver")
        .await
        .json("/api/v1/referrals")
        .await;
    assert!(
        other.as_array().unwrap().is_empty(),
        "another regulator's approver sees none"
    );
    assert_eq!(
        app.as_app_role(
            Some("gd.approver"),
            "select referral_id::text from referral"
        )
        .await
        .len(),
        1
    );
    let page = app
        .login("gd.reviewer")
        .await
        .get("/cases")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("粤市监移"),
        "the reviewer's page does not list it"
    );
}

/// Who sees and does what, for inspections, orders, cases and referrals.
#[tokio::test]
async fn the_matrix_covers_inspections_orders_cases_and_referrals() {
    let app = TestApp::spawn().await;
    let (county, county_id) = user(
        &app,
        "广州市天河区市场监督管理局",
        "th.inspector",
        &["inspector", "reviewer"],
    )
    .await;
    // R17.1: a county regulator may inspect a station in its county, not one outside.
    let res = county
        .post_json(
            "/api/v1/inspections",
            &json!({"station_id": app.station_id("JS-EP-01").await,
        "planned_on": "2026-11-30", "inspectors": [county_id]}),
        )
        .await;
    // Outside its jurisdiction the station is not even visible: 404, no
    // existence oracle (requirements §2), and nothing is planned.
    assert_error(res, 404, "not_found").await;
    let planned: i64 = sqlx::query_scalar("select count(*) from inspection")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(planned, 0);
    created(
        county
            .post_json(
                "/api/v1/inspections",
                &json!({"station_id": app.station_id("GZ-TH-GAS").await,
        "planned_on": "2026-11-30", "inspectors": [county_id]}),
            )
            .await,
    )
    .await;
    // A department inspects its own station under its own rules, not another's.
    let dept = app.login("dept.officer").await;
    let dept_id = user_id(&app, "dept.officer").await;
    let own = created(
        dept.post_json(
            "/api/v1/inspections",
            &json!({"station_id": app.station_id("GD-EP-01").await,
        "planned_on": "2026-11-30", "inspectors": [dept_id]}),
        )
        .await,
    )
    .await;
    assert_eq!(own["org_kind"], "department");
    let res = dept
        .post_json(
            "/api/v1/inspections",
            &json!({"station_id": app.station_id("GZ-TH-GAS").await,
        "planned_on": "2026-11-30", "inspectors": [dept_id]}),
        )
        .await;
    assert_error(res, 404, "not_found").await;
    // A completed 广东 inspection of GD-EP-01 with an order, a decided case and a referral.
    let i = completed_inspection(&app, "GD-EP-01", "nonconforming").await;
    let iid = i["id"].as_str().unwrap().to_owned();
    let reviewer = app.login("gd.reviewer").await;
    let o = created(reviewer.post_json(&format!("/api/v1/inspections/{iid}/rectification-orders"),
        &json!({"areas": ["fees"], "description": "整改", "period_unit": "working_days", "period_days": 5})).await).await;
    let oid = o["id"].as_str().unwrap().to_owned();
    let c = created(reviewer.post_json("/api/v1/violation-cases",
        &json!({"station_id": app.station_id("GD-EP-01").await, "art16_items": ["6"], "description": "违反规程"})).await).await;
    let cid = c["id"].as_str().unwrap().to_owned();
    created(app.login("gd.approver").await.post_json("/api/v1/referrals",
        &json!({"recipient": "纪检监察组", "referred_on": "2026-11-20", "reference": "移〔2026〕1号", "summary": "线索"})).await).await;
    // (user, sees the inspection, sees the order, sees the undecided case, sees referrals)
    let matrix = [
        ("operator", false, false, false, false),
        ("samr.reviewer", false, false, false, false),
        ("samr.approver", false, false, false, false),
        ("gd.reviewer", true, true, true, false),
        ("gd.approver", true, true, true, true),
        ("dept.officer", true, true, false, false),
        ("cnpc.officer", false, false, false, false),
        ("station.staff", true, true, false, false),
        ("station2.staff", false, false, false, false),
        ("head.staff", false, false, false, false),
    ];
    for (u, insp, order, case, refs) in matrix {
        let c = app.login(u).await;
        let code = |r: reqwest::Response| r.status().as_u16();
        assert_eq!(
            code(c.get(&format!("/api/v1/inspections/{iid}")).await) == 200,
            insp,
            "{u} inspection"
        );
        assert_eq!(
            code(c.get(&format!("/api/v1/rectification-orders/{oid}")).await) == 200,
            order,
            "{u} order"
        );
        assert_eq!(
            code(c.get(&format!("/api/v1/violation-cases/{cid}")).await) == 200,
            case,
            "{u} case"
        );
        let (rc, rl) = c.json("/api/v1/referrals").await;
        let listed = rc == 200 && rl.as_array().is_some_and(|l| !l.is_empty());
        assert_eq!(listed, refs, "{u} referrals");
        // Rows under the app role agree.
        let rows = app
            .as_app_role(
                Some(u),
                &format!("select order_id::text from rectification_order where order_id = '{oid}'"),
            )
            .await;
        assert_eq!(!rows.is_empty(), order, "{u} order rows");
        let rows = app
            .as_app_role(
                Some(u),
                &format!("select case_id::text from violation_case where case_id = '{cid}'"),
            )
            .await;
        assert_eq!(!rows.is_empty(), case, "{u} case rows");
        let rows = app
            .as_app_role(Some(u), "select referral_id::text from referral")
            .await;
        assert_eq!(!rows.is_empty(), refs, "{u} referral rows");
        // Only the issuer acts on the order; only the station reports.
        let res = c
            .post_json(
                &format!("/api/v1/rectification-orders/{oid}/accept"),
                &json!({"version": 1}),
            )
            .await;
        assert!(
            matches!(code(res), 403 | 404 | 409),
            "{u} may not accept an open order"
        );
        if u != "station.staff" {
            let res = c
                .post_json(
                    &format!("/api/v1/rectification-orders/{oid}/report"),
                    &json!({"version": 1, "report": "x"}),
                )
                .await;
            assert!(matches!(code(res), 403 | 404), "{u} may not report");
        }
    }
    // The county regulator sees none of 广东's records.
    assert_eq!(
        county
            .get(&format!("/api/v1/inspections/{iid}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        county
            .get(&format!("/api/v1/rectification-orders/{oid}"))
            .await
            .status(),
        404
    );
    assert!(app
        .as_app_role(None, "select order_id::text from rectification_order")
        .await
        .is_empty());
}

#[tokio::test]
async fn the_supervision_pages_render_and_keep_input_on_errors() {
    let app = TestApp::spawn().await;
    let reviewer = app.login("gd.reviewer").await;
    let page = reviewer.get("/inspections").await.text().await.unwrap();
    assert!(page.contains("随机抽取") && page.contains("广东省电力工业电能计量站"));
    let i = created(
        reviewer
            .post_json(
                "/api/v1/inspections",
                &json!({"station_id": app.station_id("GD-EP-01").await,
        "planned_on": "2026-11-20", "inspectors": [user_id(&app, "gd.reviewer").await]}),
            )
            .await,
    )
    .await;
    let id = i["id"].as_str().unwrap();
    let form = reviewer
        .get(&format!("/inspections/{id}"))
        .await
        .text()
        .await
        .unwrap();
    for a in [
        "遵守本办法的情况",
        "执行计量技术规范的情况",
        "执行收费规定的情况",
        "工作人员职业道德和业务能力",
    ] {
        assert!(form.contains(a), "{a}");
    }
    let v = i["version"].to_string();
    let res = reviewer
        .post_form(
            &format!("/inspections/{id}/record"),
            &[
                ("version", v.as_str()),
                ("inspected_from", "2026-11-20"),
                ("finding_fees", "nonconforming"),
                ("notes_conduct", "保留的说明"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("保留的说明"), "input kept");
    assert!(page.contains("不符合项须写明具体问题"));
    assert_eq!(reviewer.get("/rectification-orders").await.status(), 200);
    assert_eq!(reviewer.get("/cases").await.status(), 200);
    assert_eq!(app.client().get("/inspection-results").await.status(), 200);
}

#[tokio::test]
async fn a_head_station_reads_its_branchs_completed_inspection_and_orders_r3_2() {
    let app = TestApp::spawn().await;
    let reviewer = app.login("samr.reviewer").await;
    let approver = app.login("samr.approver").await;
    let branch = app.station_id("NS-OGF-NJ").await;
    let i = created(
        reviewer
            .post_json(
                "/api/v1/inspections",
                &json!({"station_id": branch, "planned_on": "2026-11-20",
                        "inspectors": [user_id(&app, "samr.reviewer").await]}),
            )
            .await,
    )
    .await;
    let id = i["id"].as_str().unwrap().to_owned();
    let head = app.login("head.staff").await;
    assert_eq!(
        head.get(&format!("/api/v1/inspections/{id}"))
            .await
            .status(),
        404,
        "not while in progress"
    );
    let i = okj(reviewer
        .put_json(
            &format!("/api/v1/inspections/{id}/record"),
            &record(&i["version"], "nonconforming"),
        )
        .await)
    .await;
    okj(approver
        .post_json(
            &format!("/api/v1/inspections/{id}/approve"),
            &json!({"version": i["version"]}),
        )
        .await)
    .await;
    let o = created(
        reviewer
            .post_json(
                &format!("/api/v1/inspections/{id}/rectification-orders"),
                &json!({"areas": ["fees"], "description": "整改", "period_unit": "calendar_days", "period_days": 20}),
            )
            .await,
    )
    .await;
    assert_eq!(
        head.get(&format!("/api/v1/inspections/{id}"))
            .await
            .status(),
        200
    );
    let oid = o["id"].as_str().unwrap();
    assert_eq!(
        head.get(&format!("/api/v1/rectification-orders/{oid}"))
            .await
            .status(),
        200
    );
    // Guidance, never editing: the head station cannot report for the branch.
    let res = head
        .post_json(
            &format!("/api/v1/rectification-orders/{oid}/report"),
            &json!({"version": o["version"], "report": "x"}),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
    assert_eq!(
        app.login("station2.staff")
            .await
            .get(&format!("/api/v1/rectification-orders/{oid}"))
            .await
            .status(),
        404
    );
}

/// Uploads a small PDF as `user` to `path`.
async fn upload_pdf(app: &TestApp, user: &str, path: &str) -> reqwest::Response {
    let c = app.login(user).await;
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
    let part = reqwest::multipart::Part::bytes(pdf)
        .file_name("evidence.pdf")
        .mime_str("application/pdf")
        .unwrap();
    c.http
        .post(app.url(path))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn evidence_files_belong_to_the_inspection_the_order_and_the_case() {
    let app = TestApp::spawn().await;
    let reviewer = app.login("gd.reviewer").await;
    let st = app.station_id("GD-EP-01").await;
    // Inspection evidence: the inspecting organization's, while recording.
    let i = created(
        reviewer
            .post_json(
                "/api/v1/inspections",
                &json!({"station_id": st, "planned_on": "2026-11-20",
                        "inspectors": [user_id(&app, "gd.reviewer").await]}),
            )
            .await,
    )
    .await;
    let iid = i["id"].as_str().unwrap().to_owned();
    let doc = created(
        upload_pdf(
            &app,
            "gd.reviewer",
            &format!("/api/v1/inspections/{iid}/documents"),
        )
        .await,
    )
    .await;
    let did = doc["id"].as_str().unwrap().to_owned();
    assert_eq!(
        reviewer
            .get(&format!("/api/v1/documents/{did}"))
            .await
            .status(),
        200
    );
    // Not the station's to read, nor to add to.
    let staff = app.login("station.staff").await;
    assert_eq!(
        staff
            .get(&format!("/api/v1/documents/{did}"))
            .await
            .status(),
        404
    );
    let res = upload_pdf(
        &app,
        "station.staff",
        &format!("/api/v1/inspections/{iid}/documents"),
    )
    .await;
    assert!(matches!(res.status().as_u16(), 403 | 404));
    // Case evidence: the regulator's only.
    let c = created(
        reviewer
            .post_json(
                "/api/v1/violation-cases",
                &json!({"station_id": st, "art16_items": ["5"], "description": "出具不实证书"}),
            )
            .await,
    )
    .await;
    let cdoc = created(
        upload_pdf(
            &app,
            "gd.reviewer",
            &format!(
                "/api/v1/violation-cases/{}/documents",
                c["id"].as_str().unwrap()
            ),
        )
        .await,
    )
    .await;
    let cdid = cdoc["id"].as_str().unwrap();
    assert_eq!(
        reviewer
            .get(&format!("/api/v1/documents/{cdid}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        staff
            .get(&format!("/api/v1/documents/{cdid}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.login("dept.officer")
            .await
            .get(&format!("/api/v1/documents/{cdid}"))
            .await
            .status(),
        404
    );
    // Order evidence: the station's, read by the issuer and the department.
    let done = completed_inspection(&app, "GD-EP-01", "nonconforming").await;
    let o = created(
        reviewer
            .post_json(
                &format!("/api/v1/inspections/{}/rectification-orders", done["id"].as_str().unwrap()),
                &json!({"areas": ["fees"], "description": "退费", "period_unit": "calendar_days", "period_days": 10}),
            )
            .await,
    )
    .await;
    let oid = o["id"].as_str().unwrap();
    let res = upload_pdf(
        &app,
        "gd.reviewer",
        &format!("/api/v1/rectification-orders/{oid}/documents"),
    )
    .await;
    assert_eq!(
        res.status(),
        403,
        "the issuer does not upload the station's evidence"
    );
    let odoc = created(
        upload_pdf(
            &app,
            "station.staff",
            &format!("/api/v1/rectification-orders/{oid}/documents"),
        )
        .await,
    )
    .await;
    let odid = odoc["id"].as_str().unwrap();
    assert_eq!(
        reviewer
            .get(&format!("/api/v1/documents/{odid}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.login("dept.officer")
            .await
            .get(&format!("/api/v1/documents/{odid}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.login("station2.staff")
            .await
            .get(&format!("/api/v1/documents/{odid}"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn over_long_texts_and_odd_dates_are_refused_beside_their_fields() {
    let app = TestApp::spawn().await;
    let reviewer = app.login("gd.reviewer").await;
    let st = app.station_id("GD-EP-01").await;
    let res = reviewer
        .post_json(
            "/api/v1/violation-cases",
            &json!({"station_id": st, "art16_items": ["1"], "description": "长".repeat(5001)}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["code"], "length");
    let res = reviewer
        .post_json(
            "/api/v1/inspections",
            &json!({"station_id": st, "planned_on": "1900-01-01",
                    "inspectors": [user_id(&app, "gd.reviewer").await]}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["code"], "date_range");
    let res = app
        .login("gd.approver")
        .await
        .post_json(
            "/api/v1/referrals",
            &json!({"recipient": "纪".repeat(201), "referred_on": "2026-11-20", "reference": "x", "summary": "y"}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["field"], "recipient");
}
