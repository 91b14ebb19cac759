//! The holiday calendar as operated data (R6.4, R18.1): a year loaded by the
//! operator, validated and previewed; provisional 暂定 deadlines past the
//! loaded years, recomputed (with notice and audit) when the year is loaded;
//! imports serialized. The 2027 year used here is a made-up fixture
//! (`tests/fixtures/TEST-DATA-calendar-2027-not-official.csv`), not the
//! State Council's arrangement.

mod common;

use common::{assert_error, completed_inspection, created, okj, TestApp};
use serde_json::{json, Value};

const FIXTURE: &str = include_str!("fixtures/TEST-DATA-calendar-2027-not-official.csv");

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

fn field_codes(e: &Value) -> Vec<(String, String)> {
    e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_year_is_validated_before_it_is_loaded_r18_1() {
    let app = TestApp::spawn().await;
    let op = app.login("operator").await;
    // A make-up workday on a Monday (2027-01-11).
    let e = assert_error(
        op.post_json(
            "/api/v1/calendar/preview",
            &json!({"year": 2027,
                    "holidays": [{"name_zh": "元旦", "from": "2027-01-01", "to": "2027-01-03"}],
                    "workdays": [{"name_zh": "春节", "date": "2027-01-11"}]}),
        )
        .await,
        422,
        "validation",
    )
    .await;
    let f = field_codes(&e);
    assert!(
        f.iter()
            .any(|(k, m)| k == "workdays[0].date" && m.contains("星期一")),
        "{f:?}"
    );
    // A date of another year, and a date twice (two periods overlapping).
    let e = assert_error(
        op.post_json(
            "/api/v1/calendar/preview",
            &json!({"year": 2027,
                    "holidays": [{"name_zh": "元旦", "from": "2026-12-31", "to": "2027-01-02"},
                                 {"name_zh": "元旦", "from": "2027-01-02", "to": "2027-01-03"}]}),
        )
        .await,
        422,
        "validation",
    )
    .await;
    let f = field_codes(&e);
    assert!(
        f.iter()
            .any(|(k, m)| k == "periods[0].from" && m.contains("不在 2027 年内")),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|(k, m)| k == "periods[1].from" && m.contains("重复")),
        "{f:?}"
    );
    // A reversed period.
    let e = assert_error(
        op.post_json(
            "/api/v1/calendar/preview",
            &json!({"year": 2027, "holidays": [{"name_zh": "元旦", "from": "2027-01-03", "to": "2027-01-01"}]}),
        )
        .await,
        422,
        "validation",
    )
    .await;
    assert_eq!(e["error"]["fields"][0]["field"], "periods[0].to");
    // A CSV names the line; a year that would leave a gap is refused.
    let e = assert_error(
        op.post_json(
            "/api/v1/calendar/preview",
            &json!({"csv": "date,kind,holiday_en,holiday_zh\n2027-01-01,holiday,a,b\n2027-02-30,holiday,a,b\n"}),
        )
        .await,
        422,
        "validation",
    )
    .await;
    assert!(e["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("第 3 行"));
    let e = assert_error(
        op.post_json(
            "/api/v1/calendar/preview",
            &json!({"csv": "date,kind,holiday_en,holiday_zh\n2031-01-01,holiday,a,b\n"}),
        )
        .await,
        422,
        "validation",
    )
    .await;
    assert!(e["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("须先导入 2027 年"));
    // A holiday outside the official list needs no English name (the
    // Chinese one stands in).
    let p = okj(op
        .post_json(
            "/api/v1/calendar/preview",
            &json!({"year": 2027, "holidays": [{"name_zh": "测试假日", "from": "2027-01-01", "to": "2027-01-01"}]}),
        )
        .await)
    .await;
    assert_eq!(p["years"][0]["changes"][0]["after"]["name_en"], "测试假日");
    // The preview of the fixture: a new year, nothing saved.
    let p = okj(op
        .post_json("/api/v1/calendar/preview", &json!({"csv": FIXTURE}))
        .await)
    .await;
    assert_eq!(p["imported"], false);
    assert_eq!(p["years"][0]["year"], 2027);
    assert_eq!(p["years"][0]["change"], "new");
    assert_eq!(p["years"][0]["holidays"], 9);
    assert_eq!(p["years"][0]["workdays"], 1);
    assert_eq!(p["years"][0]["changes"].as_array().unwrap().len(), 10);
    assert_eq!(
        count(
            &app,
            "select count(*) from calendar_version where year = 2027"
        )
        .await,
        0
    );
    // Only the operator loads; everyone signed in reads.
    let reviewer = app.login("gd.reviewer").await;
    let res = reviewer
        .post_json("/api/v1/calendar/preview", &json!({"csv": FIXTURE}))
        .await;
    assert_eq!(res.status(), 403);
    let (s, o) = reviewer.json("/api/v1/calendar").await;
    assert_eq!(s, 200);
    assert_eq!(o["years"][0]["year"], 2027);
    assert_eq!(o["years"][0]["status"], "not_published");
    assert_eq!(o["years"][1]["status"], "loaded");
    // The request role cannot write the calendar (the database says so too).
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("set local role jiliang_app")
        .execute(&mut *tx)
        .await
        .unwrap();
    let denied = sqlx::query(
        "insert into calendar_version (calendar_version_id, year, version, loaded_via)
         values (gen_random_uuid(), 2027, 1, 'api')",
    )
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(denied.to_string().contains("permission denied"), "{denied}");
}

#[tokio::test]
async fn loading_a_year_recomputes_every_provisional_deadline_with_notice_and_audit_r6_4_r18_1() {
    let app = TestApp::spawn().await;
    // R18.1: an order issued 2026-11-30 with 30 working days runs 7 days
    // into 2027: provisional (Jan 1 off) 2027-01-12.
    let i = completed_inspection(&app, "GD-EP-01", "nonconforming").await;
    let reviewer = app.login("gd.reviewer").await;
    let order = created(
        reviewer
            .post_json(
                &format!("/api/v1/inspections/{}/rectification-orders", i["id"].as_str().unwrap()),
                &json!({"areas": ["fees"], "description": "退还多收费用", "period_unit": "working_days",
                        "period_days": 30, "issued_on": "2026-11-30"}),
            )
            .await,
    )
    .await;
    assert_eq!(order["due_on"], "2027-01-12");
    assert_eq!(order["due_provisional"], true);
    assert!(order["due_note"].as_str().unwrap().contains("暂定"));
    let order_id = order["id"].as_str().unwrap().to_owned();

    // R6.4: an application whose acceptance clock starts 2026-12-28 (5
    // working days): provisional 2027-01-05.
    let dept = app.login("cnpc.officer").await;
    let app_id = common::submitted_application(&app).await;
    sqlx::query(
        "update application set submitted_on = '2026-12-28' where application_id = $1::uuid",
    )
    .bind(&app_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let (_, a) = dept.json(&format!("/api/v1/applications/{app_id}")).await;
    assert_eq!(a["clocks"][0]["due"], "2027-01-05", "{}", a["clocks"]);
    assert_eq!(a["clocks"][0]["due_provisional"], true);

    // R18.1: a termination filed 2026-12-20, decided within 20 working days:
    // provisional 2027-01-18.
    let staff = app.login("station.staff").await;
    let gd = app.station_id("GD-EP-01").await;
    let earliest = jiliang::rules::termination::earliest_end_date(jiliang::web::today());
    let r = created(
        staff
            .post_json(
                "/api/v1/terminations",
                &json!({"station_id": gd, "end_date": earliest, "reason": "业务调整"}),
            )
            .await,
    )
    .await;
    let req_id = r["id"].as_str().unwrap().to_owned();
    sqlx::query(
        "update lifecycle_request set state = 'submitted', filed_on = '2026-12-20' where request_id = $1::uuid",
    )
    .bind(&req_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let (_, r) = staff
        .json(&format!("/api/v1/lifecycle-requests/{req_id}"))
        .await;
    assert_eq!(r["due"], "2027-01-18", "{r}");
    assert_eq!(r["due_provisional"], true);

    // The order list shows the badge and the note.
    let page = reviewer
        .get("/rectification-orders")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("badge-provisional"));
    assert!(page.contains("尚未导入"));

    // The operator loads the (made-up) 2027 year: Jan 1–4 off.
    let op = app.login("operator").await;
    let notes_before = count(&app, "select count(*) from notification").await;
    let report = okj(op
        .post_json(
            "/api/v1/calendar/import",
            &json!({"csv": FIXTURE, "expected": {"2027": 0},
                    "source": {"title": "测试数据：2027 年节假日安排（非官方）", "number": "TEST-1",
                               "date": "2026-11-01", "url": "https://example.invalid/test"}}),
        )
        .await)
    .await;
    assert_eq!(report["imported"], true);
    assert_eq!(report["years"][0]["new_version"], 1);
    let rec = report["recomputed"].as_array().unwrap();
    let find = |kind: &str, id: &str| {
        rec.iter()
            .find(|x| x["kind"] == kind && x["id"] == id)
            .unwrap_or_else(|| panic!("{kind} {id} in {rec:?}"))
            .clone()
    };
    let o = find("rectification_order", &order_id);
    assert_eq!(
        (
            o["before"].as_str(),
            o["after"].as_str(),
            o["changed"].as_bool()
        ),
        (Some("2027-01-12"), Some("2027-01-13"), Some(true))
    );
    let c = find("application", &app_id);
    assert_eq!(
        (c["before"].as_str(), c["after"].as_str()),
        (Some("2027-01-05"), Some("2027-01-06"))
    );
    let q = find("lifecycle_request", &req_id);
    assert_eq!(
        (q["before"].as_str(), q["after"].as_str()),
        (Some("2027-01-18"), Some("2027-01-19"))
    );
    // Stored and shown as final now.
    let (_, o) = reviewer
        .json(&format!("/api/v1/rectification-orders/{order_id}"))
        .await;
    assert_eq!(o["due_on"], "2027-01-13");
    assert_eq!(o["due_provisional"], false);
    let (_, a) = dept.json(&format!("/api/v1/applications/{app_id}")).await;
    assert_eq!(a["clocks"][0]["due"], "2027-01-06");
    assert_eq!(a["clocks"][0]["due_provisional"], false);
    let (_, r) = staff
        .json(&format!("/api/v1/lifecycle-requests/{req_id}"))
        .await;
    assert_eq!(r["due"], "2027-01-19");
    assert_eq!(r["due_provisional"], false);
    // Each party of each changed deadline is notified: order (station,
    // department, issuer), application (station, regulator), request
    // (station, department, regulator).
    let notes = count(&app, "select count(*) from notification").await - notes_before;
    assert_eq!(notes, 8);
    let to_station: i64 = sqlx::query_scalar(
        "select count(*) from notification where org_id = $1 and link = $2 and body like '%2027-01-13%'",
    )
    .bind(gd)
    .bind(format!("/rectification-orders/{order_id}"))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(to_station, 1);
    // Audited: the import with its report, and the order's new date.
    assert_eq!(
        count(
            &app,
            "select count(*) from audit_event where action = 'calendar.import'"
        )
        .await,
        1
    );
    let audited: Option<Value> = sqlx::query_scalar(
        "select after from audit_event where action = 'rectification_order.due_recomputed' and entity_id = $1",
    )
    .bind(&order_id)
    .fetch_optional(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited.unwrap()["due_on"], "2027-01-13");
    // The year page shows the grid and the source; the overview who loaded it.
    let page = op.get("/admin/calendar/2027").await.text().await.unwrap();
    assert!(page.contains("测试数据：2027 年节假日安排（非官方）"));
    assert!(page.contains("cal-month"));
    let (_, ov) = op.json("/api/v1/calendar").await;
    assert_eq!(ov["years"][0]["year"], 2028);
    assert_eq!(ov["years"][1]["current"]["loaded_by_name"], "平台运营员");

    // A confirmation of a stale preview is refused; a correction is a new
    // version and the first stays readable.
    let corrected = FIXTURE.replace("2027-01-04,holiday", "2027-01-05,holiday");
    let res = op
        .post_json(
            "/api/v1/calendar/import",
            &json!({"csv": corrected, "expected": {"2027": 0}, "source": {"title": "更正"}}),
        )
        .await;
    assert_error(res, 409, "stale_version").await;
    let report = okj(op
        .post_json(
            "/api/v1/calendar/import",
            &json!({"csv": corrected, "expected": {"2027": 1}, "source": {"title": "更正"}}),
        )
        .await)
    .await;
    assert_eq!(report["years"][0]["change"], "changed");
    assert_eq!(report["years"][0]["new_version"], 2);
    assert!(
        report["recomputed"].as_array().unwrap().is_empty(),
        "nothing is provisional any more"
    );
    let (_, v1) = op.json("/api/v1/calendar/2027?version=1").await;
    assert_eq!(v1["days"][3]["date"], "2027-01-04");
    let (_, cur) = op.json("/api/v1/calendar/2027").await;
    assert_eq!(cur["version"]["version"], 2);
    assert_eq!(cur["versions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn two_imports_at_once_give_one_version_each_never_a_mix() {
    let app = TestApp::spawn().await;
    let op = app.login("operator").await;
    // Ten identical imports: one version, the others find nothing to change.
    let body = json!({"csv": FIXTURE, "source": {"title": "测试数据（非官方）"}});
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let op = op.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            op.post_json("/api/v1/calendar/import", &body)
                .await
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(
        count(
            &app,
            "select count(*) from calendar_version where year = 2027"
        )
        .await,
        1
    );
    // Two different files at once: two versions, each exactly its file.
    let other = FIXTURE.replace("2027-02-20,workday", "2027-02-21,workday");
    let a = {
        let op = op.clone();
        let other = other.clone();
        tokio::spawn(async move {
            op.post_json(
                "/api/v1/calendar/import",
                &json!({"csv": other, "source": {"title": "B"}}),
            )
            .await
            .status()
            .as_u16()
        })
    };
    let b = {
        let op = op.clone();
        let third = FIXTURE.replace("2027-02-12,holiday", "2027-02-13,holiday");
        tokio::spawn(async move {
            op.post_json(
                "/api/v1/calendar/import",
                &json!({"csv": third, "source": {"title": "C"}}),
            )
            .await
            .status()
            .as_u16()
        })
    };
    assert_eq!((a.await.unwrap(), b.await.unwrap()), (200, 200));
    let versions: Vec<(i32, i64, i64, i64)> = sqlx::query_as(
        "select v.version, count(*),
                count(*) filter (where d.day = '2027-02-21' or d.day = '2027-02-13'),
                count(*) filter (where d.day = '2027-02-20' or d.day = '2027-02-12')
           from calendar_version v join calendar_version_day d using (calendar_version_id)
          where v.year = 2027 group by v.version order by v.version",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(versions.len(), 3, "{versions:?}");
    assert_eq!(versions[0], (1, 10, 0, 2));
    for v in &versions[1..] {
        // Each later version is one whole file: one date moved, 10 days.
        assert_eq!((v.1, v.2, v.3), (10, 1, 1), "{versions:?}");
    }
}

#[tokio::test]
async fn export_then_import_changes_nothing_and_the_server_uses_a_change_at_once() {
    let app = TestApp::spawn().await;
    let op = app.login("operator").await;
    let res = op.get("/api/v1/calendar/export").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(text.starts_with("date,kind,holiday_en,holiday_zh\n"));
    assert!(text.contains("\n2026-10-01,holiday,National Day,国庆节\n"));
    assert!(!text.contains("\n2027-"));
    let report = okj(op
        .post_json("/api/v1/calendar/import", &json!({"csv": text}))
        .await)
    .await;
    assert!(report["years"]
        .as_array()
        .unwrap()
        .iter()
        .all(|y| y["change"] == "unchanged"));
    assert_eq!(
        count(
            &app,
            "select count(*) from calendar_version where version > 1"
        )
        .await,
        0
    );
    // Another process loads 2027 straight into the database: this server's
    // next answer uses it, without a restart.
    let i = completed_inspection(&app, "GD-EP-01", "nonconforming").await;
    let reviewer = app.login("gd.reviewer").await;
    let path = format!(
        "/api/v1/inspections/{}/rectification-orders",
        i["id"].as_str().unwrap()
    );
    let o = created(
        reviewer
            .post_json(
                &path,
                &json!({"areas": ["fees"], "description": "a", "period_unit": "working_days",
                        "period_days": 30, "issued_on": "2026-11-30"}),
            )
            .await,
    )
    .await;
    assert_eq!(
        (o["due_on"].as_str(), o["due_provisional"].as_bool()),
        (Some("2027-01-12"), Some(true))
    );
    let entered = jiliang::calendar::store::parse_csv(FIXTURE).unwrap();
    jiliang::calendar::store::import(
        &app.pool,
        jiliang::calendar::store::Actor {
            ctx: None,
            via: jiliang::calendar::store::Via::Cli,
        },
        &entered,
        None,
        &jiliang::calendar::model::CalendarSource {
            title: Some("测试数据（非官方）".into()),
            ..Default::default()
        },
        None,
        jiliang::web::today(),
    )
    .await
    .unwrap();
    let i2 = completed_inspection(&app, "GD-EP-01", "nonconforming").await;
    let o = created(
        reviewer
            .post_json(
                &format!(
                    "/api/v1/inspections/{}/rectification-orders",
                    i2["id"].as_str().unwrap()
                ),
                &json!({"areas": ["fees"], "description": "b", "period_unit": "working_days",
                        "period_days": 30, "issued_on": "2026-11-30"}),
            )
            .await,
    )
    .await;
    assert_eq!(
        (o["due_on"].as_str(), o["due_provisional"].as_bool()),
        (Some("2027-01-13"), Some(false))
    );
}

#[tokio::test]
async fn the_order_form_today_with_30_working_days_gives_a_provisional_date_and_keeps_refused_input(
) {
    let app = TestApp::spawn().await;
    let i = completed_inspection(&app, "GD-EP-01", "nonconforming").await;
    let id = i["id"].as_str().unwrap();
    let reviewer = app.login("gd.reviewer").await;
    // Refused (no requirements, period out of range): everything typed is back.
    let res = reviewer
        .post_form(
            &format!("/inspections/{id}/orders"),
            &[
                ("areas", "fees"),
                ("description", ""),
                ("period_days", "400"),
                ("period_unit", "calendar_days"),
                ("issued_on", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("value=\"400\""), "the period typed is kept");
    assert!(
        page.contains("<option value=\"calendar_days\" selected>"),
        "the unit chosen is kept"
    );
    assert!(
        page.contains("请写明整改要求"),
        "the message is beside the field"
    );
    let res = reviewer
        .post_form(
            &format!("/inspections/{id}/orders"),
            &[
                ("areas", "fees"),
                ("description", "整改要求：退还多收费用"),
                ("period_days", "x"),
                ("period_unit", "working_days"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("整改要求：退还多收费用"));
    // Today, 30 working days: past the loaded years, so provisional.
    let res = reviewer
        .post_form(
            &format!("/inspections/{id}/orders"),
            &[
                ("areas", "fees"),
                ("description", "退还多收费用"),
                ("period_days", "30"),
                ("period_unit", "working_days"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, orders) = reviewer.json("/api/v1/rectification-orders").await;
    let o = orders
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["inspection_id"] == id)
        .cloned()
        .unwrap();
    assert_eq!(o["due_provisional"], true, "{o}");
    let list = reviewer
        .get("/rectification-orders")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("badge-provisional"));
    let detail = reviewer
        .get(&format!(
            "/rectification-orders/{}",
            o["id"].as_str().unwrap()
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(detail.contains("provisional-note"));
    // Regulators and the operator are warned that next year is not loaded.
    let home = reviewer.get("/").await.text().await.unwrap();
    assert!(
        home.contains("节假日安排尚未导入"),
        "regulator's home warns"
    );
    let op = app.login("operator").await;
    let home = op.get("/").await.text().await.unwrap();
    assert!(home.contains("节假日安排尚未导入"), "operator's home warns");
    let staff = app.login("station.staff").await;
    let home = staff.get("/").await.text().await.unwrap();
    assert!(
        !home.contains("节假日安排尚未导入"),
        "a station's home does not"
    );
}

#[tokio::test]
async fn the_operator_loads_a_year_through_the_pages_form_preview_confirm() {
    let app = TestApp::spawn().await;
    let op = app.login("operator").await;
    let page = op.get("/admin/calendar").await.text().await.unwrap();
    assert!(page.contains("未发布"));
    let form = op
        .get("/admin/calendar/load?year=2027")
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("name=\"period_from\""));
    let fields = [
        ("mode", "form"),
        ("year", "2027"),
        ("source_title", "测试数据：2027 年（非官方）"),
        ("period_name", "元旦"),
        ("period_from", "2027-01-01"),
        ("period_to", "2027-01-03"),
        ("workday_name", "春节"),
        ("workday_date", "2027-01-11"),
    ];
    // A Monday make-up day: the form comes back with everything typed.
    let res = op.post_form("/admin/calendar/preview", &fields).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("value=\"2027-01-11\""));
    assert!(page.contains("测试数据：2027 年（非官方）"));
    assert!(page.contains("星期一"));
    let mut fields = fields.to_vec();
    fields[7] = ("workday_date", "2027-01-09");
    let res = op.post_form("/admin/calendar/preview", &fields).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("新导入"));
    assert!(page.contains("name=\"expected\" value=\"2027:0\""));
    assert_eq!(
        count(
            &app,
            "select count(*) from calendar_version where year = 2027"
        )
        .await,
        0
    );
    // Without the confirmation box nothing is loaded.
    fields.push(("expected", "2027:0"));
    let res = op.post_form("/admin/calendar/import", &fields).await;
    assert_eq!(res.status(), 422);
    fields.push(("confirmed", "yes"));
    let res = op.post_form("/admin/calendar/import", &fields).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("已导入"));
    let (_, y) = op.json("/api/v1/calendar/2027").await;
    let days: Vec<(&str, &str)> = y["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["date"].as_str().unwrap(), d["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        days,
        vec![
            ("2027-01-01", "holiday"),
            ("2027-01-02", "holiday"),
            ("2027-01-03", "holiday"),
            ("2027-01-09", "workday")
        ]
    );
    assert_eq!(y["days"][0]["name_en"], "New Year's Day");
    assert_eq!(y["version"]["loaded_via"], "page");
}
