//! Work records (issue 15): the whole-chain check on save (R13.1, R16.4,
//! R16.6, R16.7), the version of the authorization in force on the work
//! date, idempotent LIMS batches, void and re-issue, the public lookup
//! (R16.5), the regulators' queue, isolation, the migration command.

mod common;

use chrono::{Days, NaiveDate};
use common::{assert_error, created, okj, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

fn today() -> NaiveDate {
    jiliang::web::today()
}

fn days_ago(n: u64) -> String {
    today().checked_sub_days(Days::new(n)).unwrap().to_string()
}

/// A record of GD-EP-01 inside its whole chain: 电能表 within (0～100)A,
/// verification, a customer in 广东, the in-service 0.02 standard
/// (calibrated six months ago), performed by 刘芳 (qualified for 电能表)
/// and checked by 王丽.
fn clean(number: &str) -> Value {
    let d = today();
    json!({
        "number": number,
        "kind": "verification_certificate",
        "instrument_name": "单相电能表",
        "instrument_model": "DDS102",
        "instrument_serial": format!("SN-{number}"),
        "manufacturer": "某电表厂",
        "customer_name": "深圳某供电所",
        "customer_division": "440305",
        "item_name": "电能表",
        "range_text": "(0~10) A",
        "specification": "JJG 596-2012",
        "standards": ["[2023]粤社量标证字第0101号"],
        "performer": "刘芳",
        "checker": "王丽",
        "approver": "刘芳",
        "work_date": d.to_string(),
        "issue_date": d.to_string(),
        "conclusion": "合格",
        "valid_until": d.checked_add_days(Days::new(365)).unwrap().to_string(),
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

async fn codes_of(app: &TestApp, c: &common::Client, body: &Value) -> Vec<String> {
    let res = c.post_json("/api/v1/work-records/check", body).await;
    let v = okj(res).await;
    let _ = app;
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_clean_record_is_saved_unflagged_with_its_standards_as_they_stood_r16_5() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let before = app.audit_count().await;
    let item = created(
        c.post_json("/api/v1/work-records", &clean("JD-2026-0001"))
            .await,
    )
    .await;
    assert_eq!(item["outcome"], "created");
    assert_eq!(item["flagged"], false, "{item}");
    let id = item["record_id"].as_str().unwrap();
    let r = okj(c.get(&format!("/api/v1/work-records/{id}")).await).await;
    assert_eq!(r["state"], "valid");
    assert_eq!(r["performer"], "刘芳");
    assert_eq!(r["checker"], "王丽");
    assert_eq!(
        r["standards"][0]["cert_number"],
        "[2023]粤社量标证字第0101号"
    );
    assert!(r["standards"][0]["traceability_due"].is_string());
    assert!(r["authorization_id"].is_string());
    assert_eq!(r["authorization_revision"], 1);
    assert!(app.audit_count().await > before, "an audit event");
    // The station's list and the monthly counts kept at insert.
    let list = okj(c.get("/api/v1/work-records?q=JD-2026").await).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["number"], "JD-2026-0001");
    // Every bad filter at once, the limit's too; never a 500.
    let e = assert_error(
        c.get("/api/v1/work-records?from=x&limit=0&cursor=zz").await,
        422,
        "validation",
    )
    .await;
    let fields: Vec<&str> = e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["from", "cursor", "limit"]);
    // The kept monthly counts agree with the rows (the demo's six and this one).
    let stats = okj(c.get("/api/v1/work-records/stats").await).await;
    let total: i64 = stats
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["total"].as_i64().unwrap())
        .sum();
    let rows: i64 = sqlx::query_scalar("select count(*) from work_record")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(total, rows);
    assert_eq!(rows, 7);
}

#[tokio::test]
async fn each_reason_is_flagged_alone_and_all_together_r13_1_r16_4_r16_6_r16_7() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    assert_eq!(
        codes_of(&app, &c, &clean("X-1")).await,
        Vec::<String>::new()
    );
    let cases: Vec<(Value, &[&str])> = vec![
        // R13.1: the customer is in 北京, outside the authorized 广东.
        (
            with(clean("X-2"), "customer_division", json!("110101")),
            &["customer_outside_region"],
        ),
        // R13.1: beyond the authorized (0～100)A.
        (
            with(clean("X-3"), "range_text", json!("(0~500) A")),
            &["range_not_covered"],
        ),
        // R13.1: 电能表 is authorized for verification only.
        (
            with(
                with(clean("X-4"), "kind", json!("calibration_certificate")),
                "valid_until",
                Value::Null,
            ),
            &["task_type_not_authorized"],
        ),
        // R13.1: not an authorized item, and (R16.6) 刘芳 is not qualified for it.
        (
            with(clean("X-5"), "item_name", json!("压力表")),
            &["item_not_authorized", "no_qualification"],
        ),
        // R16.4: the transformer test set's calibration was due a month ago.
        (
            with(
                clean("X-6"),
                "standards",
                json!(["[2022]粤量标证字第0207号"]),
            ),
            &["traceability_overdue"],
        ),
        // R16.6: 陈晓明 holds no qualification for 电能表.
        (
            with(clean("X-7"), "performer", json!("陈晓明")),
            &["no_qualification"],
        ),
        // R16.6: the performer checked their own work.
        (
            with(clean("X-8"), "checker", json!("刘芳")),
            &["checker_is_performer"],
        ),
        // Work in 2000: no authorization (R13.1), the standard's certificate
        // not yet issued and never calibrated by then (R16.4), the
        // performer's qualification not yet valid (R16.6).
        (
            with(
                with(clean("X-9"), "work_date", json!("2000-01-03")),
                "issue_date",
                json!("2000-01-04"),
            ),
            &[
                "no_authorization",
                "standard_certificate_invalid",
                "no_traceability",
                "qualification_not_yet_valid",
            ],
        ),
    ];
    for (body, expected) in cases {
        let got = codes_of(&app, &c, &body).await;
        assert_eq!(got, expected.to_vec(), "{}", body["number"]);
    }
    // All at once: every reason reported together, with its rule.
    let mut all = clean("X-10");
    all["customer_division"] = json!("110101");
    all["standards"] = json!(["[2022]粤量标证字第0207号"]);
    all["performer"] = json!("陈晓明");
    all["checker"] = json!("陈晓明");
    let v = okj(c.post_json("/api/v1/work-records/check", &all).await).await;
    assert_eq!(v["flagged"], true);
    let rules: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, vec!["R13.1", "R16.4", "R16.6", "R16.6"]);
    assert!(v["reasons"][0]["zh"]
        .as_str()
        .unwrap()
        .contains("不在授权区域"));
    assert!(v["reasons"][0]["en"]
        .as_str()
        .unwrap()
        .contains("outside the authorized region"));
}

#[tokio::test]
async fn a_flagged_record_needs_the_approvers_reason_and_is_saved_flagged_r16_7() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let body = with(clean("F-1"), "customer_division", json!("110101"));
    let e = assert_error(
        c.post_json("/api/v1/work-records", &body).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(e["error"]["fields"][0]["field"], "override_reason");
    assert!(e["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("第十六条"));
    let count: i64 = sqlx::query_scalar("select count(*) from work_record where number = 'F-1'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing saved without the reason");
    let gd = app.login("gd.reviewer").await;
    let open = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == "customer_outside_region")
            .map_or(0, |r| r["open"].as_i64().unwrap())
    };
    let before = open(&okj(gd.get("/api/v1/work-records/flagged/reasons").await).await);
    let item = created(
        c.post_json(
            "/api/v1/work-records",
            &with(
                body,
                "override_reason",
                json!("客户设备临时借往北京现场，已报告授权机关"),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(item["flagged"], true);
    let id = item["record_id"].as_str().unwrap();
    let r = okj(c.get(&format!("/api/v1/work-records/{id}")).await).await;
    assert_eq!(r["override_by"], "广东电能站 刘芳");
    assert!(r["override_reason"].as_str().unwrap().contains("北京"));
    let overrides: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'work_record.override' and entity_id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(overrides, 1);
    // The regulator's queue shows it under its reason; counts kept at insert.
    let reasons = okj(gd.get("/api/v1/work-records/flagged/reasons").await).await;
    assert_eq!(open(&reasons), before + 1);
    let queue = okj(gd
        .get("/api/v1/work-records/flagged?reason=customer_outside_region")
        .await)
    .await;
    assert_eq!(queue[0]["number"], "F-1");
    // Another province's regulator does not see it.
    let cnpc = app.login("cnpc.officer").await;
    let queue = okj(cnpc.get("/api/v1/work-records/flagged").await).await;
    assert!(queue.as_array().unwrap().is_empty());
    // A void takes it out of the open count (kept by the void trigger).
    let res = c
        .post_json(
            &format!("/api/v1/work-records/{id}/void"),
            &json!({"reason": "错开", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let reasons = okj(gd.get("/api/v1/work-records/flagged/reasons").await).await;
    assert_eq!(open(&reasons), before);
    let res = c
        .post_json(
            &format!("/api/v1/work-records/{id}/void"),
            &json!({"reason": "错开", "version": 2}),
        )
        .await;
    assert_eq!(res.status(), 409);
}

#[tokio::test]
async fn the_authorization_version_in_force_on_the_work_date_decides_r13_1() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let station = app.station_id("GD-EP-01").await;
    // An adjustment effective 10 days ago removed 电能表 (R13.2): a new
    // revision without it.
    sqlx::query(
        "insert into authorization_version (authorization_id, revision, station_id, reason, effective_on, status,
           certificate_number, valid_from, valid_until, ended_on, region, items)
         select authorization_id, revision + 1, station_id, 'adjustment', current_date - 10, status,
                certificate_number, valid_from, valid_until, ended_on, region,
                (select jsonb_agg(i) from jsonb_array_elements(items) i where i->>'name' <> '电能表')
           from authorization_version where station_id = $1 and revision = 1",
    )
    .bind(station)
    .execute(&app.pool)
    .await
    .unwrap();
    let earlier = with(
        with(clean("V-1"), "work_date", json!(days_ago(20))),
        "issue_date",
        json!(days_ago(20)),
    );
    assert_eq!(
        codes_of(&app, &c, &earlier).await,
        Vec::<String>::new(),
        "revision 1 covered it then"
    );
    let item = created(c.post_json("/api/v1/work-records", &earlier).await).await;
    let r = okj(c
        .get(&format!(
            "/api/v1/work-records/{}",
            item["record_id"].as_str().unwrap()
        ))
        .await)
    .await;
    assert_eq!(r["authorization_revision"], 1);
    assert_eq!(
        codes_of(&app, &c, &clean("V-2")).await,
        vec!["item_not_authorized"]
    );
}

#[tokio::test]
async fn a_batch_is_idempotent_and_a_changed_number_conflicts_r16_5() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let batch = json!({"records": [clean("B-1"), clean("B-2"), with(clean("B-3"), "checker", json!("刘芳"))]});
    let first = okj(c.post_json("/api/v1/work-records/batch", &batch).await).await;
    assert_eq!(first["created"], 3);
    assert_eq!(first["flagged"], 1);
    let again = okj(c.post_json("/api/v1/work-records/batch", &batch).await).await;
    assert_eq!(again["created"], 0);
    assert_eq!(again["unchanged"], 3);
    assert_eq!(
        again["records"][0]["record_id"],
        first["records"][0]["record_id"]
    );
    // The same number with other content: 409, nothing of the batch written.
    let changed =
        json!({"records": [clean("B-4"), with(clean("B-2"), "conclusion", json!("0.5级"))]});
    assert_error(
        c.post_json("/api/v1/work-records/batch", &changed).await,
        409,
        "number_conflict",
    )
    .await;
    // Twice in one batch with other content: a field error naming the row.
    let twice = json!({"records": [clean("B-5"), with(clean("B-5"), "conclusion", json!("1级"))]});
    let e = assert_error(
        c.post_json("/api/v1/work-records/batch", &twice).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(e["error"]["fields"][0]["field"], "records[1].number");
    // Bad rows: every error at once, named by index; nothing written.
    let bad = json!({"records": [clean("B-6"), with(with(clean("B-7"), "work_date", json!("2026-02-30")), "performer", json!("无名氏"))]});
    let e = assert_error(
        c.post_json("/api/v1/work-records/batch", &bad).await,
        422,
        "validation",
    )
    .await;
    let fields: Vec<&str> = e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"records[1].work_date"), "{fields:?}");
    let empty = json!({"records": []});
    assert_error(
        c.post_json("/api/v1/work-records/batch", &empty).await,
        422,
        "validation",
    )
    .await;
    let count: i64 = sqlx::query_scalar("select count(*) from work_record where number like 'B-%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 3);
    let (month, rows): (i64, i64) = sqlx::query_as(
        "select (select sum(total)::bigint from work_record_month), (select count(*) from work_record)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(month, rows, "the counts agree with the rows");
}

#[tokio::test]
async fn fifty_parallel_identical_batches_create_each_record_once_r16_5() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let batch =
        json!({"records": (0..20).map(|i| clean(&format!("P-{i:03}"))).collect::<Vec<_>>()});
    let mut handles = Vec::new();
    for _ in 0..50 {
        let c = c.clone();
        let batch = batch.clone();
        handles.push(tokio::spawn(async move {
            let res = c.post_json("/api/v1/work-records/batch", &batch).await;
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let mut created_total = 0;
    for h in handles {
        let (status, body) = h.await.unwrap();
        assert!(status == 200 || status == 503, "{status} {body}");
        if status == 200 {
            created_total += body["created"].as_i64().unwrap();
        }
    }
    assert_eq!(
        created_total, 20,
        "each record created by exactly one batch"
    );
    let count: i64 = sqlx::query_scalar("select count(*) from work_record where number like 'P-%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 20);
}

#[tokio::test]
async fn a_void_keeps_the_record_and_a_reissue_names_it_r16_5() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let item = created(c.post_json("/api/v1/work-records", &clean("VO-1")).await).await;
    let id = item["record_id"].as_str().unwrap().to_owned();
    // Re-issuing a record that is not voided is refused.
    let early = with(clean("VO-2"), "reissue_of", json!("VO-1"));
    let e = assert_error(
        c.post_json("/api/v1/work-records", &early).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(e["error"]["fields"][0]["code"], "not_voided");
    let void = |v: i64| json!({"reason": "客户名称写错", "version": v});
    assert_error(
        c.post_json(&format!("/api/v1/work-records/{id}/void"), &void(7))
            .await,
        409,
        "stale",
    )
    .await;
    let res = c
        .post_json(&format!("/api/v1/work-records/{id}/void"), &void(1))
        .await;
    assert_eq!(res.status(), 204);
    assert_error(
        c.post_json(&format!("/api/v1/work-records/{id}/void"), &void(2))
            .await,
        409,
        "already_voided",
    )
    .await;
    let blank = json!({"reason": " ", "version": 2});
    assert_error(
        c.post_json(&format!("/api/v1/work-records/{id}/void"), &blank)
            .await,
        422,
        "validation",
    )
    .await;
    let r = okj(c.get(&format!("/api/v1/work-records/{id}")).await).await;
    assert_eq!(r["state"], "voided");
    assert_eq!(r["void_reason"], "客户名称写错");
    let again = created(c.post_json("/api/v1/work-records", &early).await).await;
    let r2 = okj(c
        .get(&format!(
            "/api/v1/work-records/{}",
            again["record_id"].as_str().unwrap()
        ))
        .await)
    .await;
    assert_eq!(r2["reissue_of"], id);
    // The record's content cannot change, even at the database (evidence).
    let tamper = app
        .as_app_role_result(
            Some("station.staff"),
            &format!("update work_record set conclusion = '不合格' where record_id = '{id}' returning number"),
        )
        .await;
    assert!(tamper.is_err(), "{tamper:?}");
    let unvoid = app
        .as_app_role_result(
            Some("station.staff"),
            &format!("update work_record set state = 'valid', void_reason = null, voided_at = null where record_id = '{id}' returning number"),
        )
        .await;
    assert!(unvoid.is_err(), "{unvoid:?}");
    let delete = app
        .as_app_role_result(
            Some("station.staff"),
            &format!("delete from work_record where record_id = '{id}' returning number"),
        )
        .await;
    assert!(delete.is_err(), "{delete:?}");
}

#[tokio::test]
async fn the_public_lookup_finds_voided_missing_and_other_stations_numbers_r16_5() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    created(c.post_json("/api/v1/work-records", &clean("PUB-1")).await).await;
    let v = created(c.post_json("/api/v1/work-records", &clean("PUB-2")).await).await;
    let id = v["record_id"].as_str().unwrap();
    let res = c
        .post_json(
            &format!("/api/v1/work-records/{id}/void"),
            &json!({"reason": "重开", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let public = app.client();
    let found = okj(public
        .get("/api/v1/public/records?station=GD-EP-01&number=PUB-1")
        .await)
    .await;
    assert_eq!(found["voided"], false);
    assert_eq!(found["kind"], "verification_certificate");
    assert_eq!(found["instrument_serial"], "SN-PUB-1");
    for hidden in ["customer_name", "customer_division", "customer_credit_code"] {
        assert!(found.get(hidden).is_none(), "{hidden} is not public");
    }
    let voided = okj(public
        .get("/api/v1/public/records?station=gd-ep-01&number=PUB-2")
        .await)
    .await;
    assert_eq!(voided["voided"], true);
    // By the station's authorization certificate number.
    let cert: String = sqlx::query_scalar(
        "select certificate_number from station_authorization a join station s using (station_id) where s.code = 'GD-EP-01'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let by_cert = public
        .get(&format!(
            "/api/v1/public/records?station={}&number=PUB-1",
            urlencode(&cert)
        ))
        .await;
    assert_eq!(by_cert.status(), 200);
    assert_error(
        public
            .get("/api/v1/public/records?station=GD-EP-01&number=NOPE")
            .await,
        404,
        "not_found",
    )
    .await;
    // Another station's code with this station's number: not found.
    assert_error(
        public
            .get("/api/v1/public/records?station=JS-EP-01&number=PUB-1")
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        public.get("/api/v1/public/records?station=GD-EP-01").await,
        422,
        "validation",
    )
    .await;
    let page = public
        .get("/records/verify?station=GD-EP-01&number=PUB-1")
        .await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("查有此证书"), "{html}");
    assert!(
        !html.contains("深圳某供电所"),
        "no customer on the public page"
    );
    let missing = public
        .get("/records/verify?station=GD-EP-01&number=NOPE")
        .await
        .text()
        .await
        .unwrap();
    assert!(missing.contains("查无此证书"));
    app.state.lookups.flush().await;
    let logged: i64 =
        sqlx::query_scalar("select count(*) from verification_lookup where subject = 'record'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    // Five JSON lookups and two pages answered; the malformed one was not asked.
    assert_eq!(logged, 7, "every answered record lookup is logged");
}

fn urlencode(s: &str) -> String {
    jiliang::web::url_encode(s)
}

#[tokio::test]
async fn records_are_seen_by_exactly_those_who_see_the_station_isolation() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let item = created(c.post_json("/api/v1/work-records", &clean("ISO-1")).await).await;
    let id = item["record_id"].as_str().unwrap();
    let station = app.station_id("GD-EP-01").await;
    // (user, may read)
    for (user, sees) in [
        ("station.staff", true),
        ("gd.reviewer", true),
        ("samr.reviewer", true),
        ("dept.officer", true),
        ("station2.staff", false),
        ("cnpc.officer", false),
        ("head.staff", false),
    ] {
        let u = app.login(user).await;
        let (status, _) = u.json(&format!("/api/v1/work-records/{id}")).await;
        assert_eq!(status == 200, sees, "{user} reads the record: {status}");
        let (status, body) = u
            .json(&format!("/api/v1/work-records?station_id={station}"))
            .await;
        assert_eq!(status, 200, "{user}");
        assert_eq!(
            !body.as_array().unwrap().is_empty(),
            sees,
            "{user} lists it"
        );
        let rows = app
            .as_app_role(Some(user), "select number from work_record")
            .await;
        assert_eq!(!rows.is_empty(), sees, "{user} at the database");
    }
    // Only a station's staff write, and only their own station's records.
    let gd = app.login("gd.reviewer").await;
    assert_error(
        gd.post_json("/api/v1/work-records", &clean("ISO-2")).await,
        403,
        "forbidden",
    )
    .await;
    let other = app.login("station2.staff").await;
    let void = json!({"reason": "x", "version": 1});
    assert_error(
        other
            .post_json(&format!("/api/v1/work-records/{id}/void"), &void)
            .await,
        404,
        "not_found",
    )
    .await;
    // Another station's standard is unknown to this one (R16.3).
    let foreign = with(
        clean("ISO-3"),
        "standards",
        json!(["[2021]国量基证字第001号"]),
    );
    let e = assert_error(
        c.post_json("/api/v1/work-records", &foreign).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(e["error"]["fields"][0]["code"], "unknown_standard");
    let forged = app
        .as_app_role_result(
            Some("station2.staff"),
            &format!(
                "insert into work_record (record_id, station_id, number, kind, instrument_name, customer_name,
                   customer_division, item_name, range_text, standard_states, performer_id, checker_id, approver_id,
                   work_date, issue_date, conclusion, flagged, content_hash, source)
                 values (gen_random_uuid(), '{station}', 'FORGED', 'test_report', 'x', 'x', '440305', 'x', 'x', '{{1}}',
                   gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), current_date, current_date, 'x', false, '\\x00', 'api')
                 returning number"
            ),
        )
        .await;
    assert!(
        forged.is_err(),
        "another station cannot write GD's records: {forged:?}"
    );
}

#[tokio::test]
async fn the_pages_list_record_check_and_void() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let page = c.get("/records").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("登记证书/报告"));
    let form = c.get("/records/new").await.text().await.unwrap();
    assert!(
        form.contains("[2023]粤社量标证字第0101号"),
        "the standards picker"
    );
    assert!(form.contains("王丽"), "the staff picker");
    let sid: String = sqlx::query_scalar("select standard_id::text from measurement_standard where cert_number = '[2023]粤社量标证字第0101号'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let people: Vec<(String, String)> =
        sqlx::query_as("select name, staff_member_id::text from staff_member")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let person = |n: &str| people.iter().find(|p| p.0 == n).unwrap().1.clone();
    let (liu, wang) = (person("刘芳"), person("王丽"));
    let d = today().to_string();
    let mut fields = vec![
        ("number", "PG-1"),
        ("kind", "verification_certificate"),
        ("instrument_name", "电能表"),
        ("customer_name", "北京某单位"),
        ("customer_division", "110101"),
        ("item_name", "电能表"),
        ("range_text", "(0~10) A"),
        ("standards", sid.as_str()),
        ("performer", liu.as_str()),
        ("checker", wang.as_str()),
        ("approver", liu.as_str()),
        ("work_date", d.as_str()),
        ("issue_date", d.as_str()),
        ("conclusion", "合格"),
        ("valid_until", "2099-01-01"),
        ("intent", "check"),
    ];
    let check = c.post_form("/records", &fields).await.text().await.unwrap();
    assert!(
        check.contains("可能违反第十六条第（七）项"),
        "the verdict before saving"
    );
    assert!(check.contains("北京某单位"), "the input is kept");
    fields.retain(|f| f.0 != "intent");
    let refused = c.post_form("/records", &fields).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("批准人"));
    fields.push(("override_reason", "经授权机关同意的临时现场检定"));
    let saved = c.post_form("/records", &fields).await;
    assert_eq!(saved.status(), 303);
    let to = saved.headers()["location"].to_str().unwrap().to_owned();
    let detail = c.get(&to).await.text().await.unwrap();
    assert!(detail.contains("<svg"), "the QR code");
    assert!(detail.contains("经授权机关同意"));
    let id = to.trim_start_matches("/records/");
    let unconfirmed = c
        .post_form(
            &format!("/records/{id}/void"),
            &[("reason", "错"), ("version", "1")],
        )
        .await;
    assert_eq!(unconfirmed.status(), 422);
    let voided = c
        .post_form(
            &format!("/records/{id}/void"),
            &[("reason", "错"), ("version", "1"), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(voided.status(), 303);
    let gd = app.login("gd.reviewer").await;
    let queue = gd.get("/records/flagged").await;
    assert_eq!(queue.status(), 200);
    let list = gd
        .get("/records?station=GD-EP-01")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("PG-1"));
    let unknown = gd.get("/records?station=NOPE").await.text().await.unwrap();
    assert!(unknown.contains("NOPE"));
}

#[tokio::test]
async fn the_migration_command_streams_a_file_all_or_nothing() {
    let app = TestApp::spawn().await;
    let d = today().to_string();
    let until = today()
        .checked_add_days(Days::new(365))
        .unwrap()
        .to_string();
    let header = "证书编号,证书类别,器具名称,出厂编号,委托方,使用地区代码,授权项目,测量范围,计量标准,检定员,核验员,批准人,检定日期,发证日期,结论,有效期至\n";
    let row = |n: &str, checker: &str| {
        format!("{n},检定证书,电能表,SN-{n},某单位,440305,电能表,(0~10) A,[2023]粤社量标证字第0101号,刘芳,{checker},刘芳,{d},{d},合格,{until}\n")
    };
    let file = format!(
        "{header}{}{}{}",
        row("M-1", "王丽"),
        row("M-2", "王丽"),
        row("M-3", "刘芳")
    );
    let r = jiliang::records::import::import(
        &app.pool,
        Some("GD-EP-01"),
        std::io::Cursor::new(file.clone().into_bytes()),
        2,
        |_, _| {},
    )
    .await
    .unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.rows, r.created, r.flagged), (3, 3, 1));
    let again = jiliang::records::import::import(
        &app.pool,
        Some("GD-EP-01"),
        std::io::Cursor::new(file.clone().into_bytes()),
        2,
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(
        (again.created, again.unchanged),
        (0, 3),
        "a second run changes nothing"
    );
    let bad = format!("{header}{}{}", row("M-4", "王丽"), row("M-5", "无此人"));
    let r = jiliang::records::import::import(
        &app.pool,
        Some("GD-EP-01"),
        std::io::Cursor::new(bad.clone().into_bytes()),
        100,
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(r.errors[0].line, 3, "the refused row's line");
    assert_eq!(r.errors[0].field, "checker");
    let count: i64 =
        sqlx::query_scalar("select count(*) from work_record where source = 'migration'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(count, 3, "nothing of the refused file written");
    let unknown = jiliang::records::import::import(
        &app.pool,
        Some("NOPE"),
        std::io::Cursor::new(file.into_bytes()),
        2,
        |_, _| {},
    )
    .await;
    assert!(unknown.is_err());
    let _ = Uuid::nil();
}

#[tokio::test]
async fn a_regulator_samples_records_reproducibly_and_records_findings_r16_5_r17_3() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let batch =
        json!({"records": (0..30).map(|i| clean(&format!("S-{i:03}"))).collect::<Vec<_>>()});
    okj(c.post_json("/api/v1/work-records/batch", &batch).await).await;
    let station = app.station_id("GD-EP-01").await;
    let gd = app.login("gd.reviewer").await;
    // Today's: the thirty just sent (the demo's records are older).
    let body = json!({"station_id": station, "from": today().to_string(), "to": today().to_string(), "size": 5, "seed": 20261206});
    let s = created(gd.post_json("/api/v1/work-records/samples", &body).await).await;
    assert_eq!(s["pool_size"], 30);
    assert_eq!(s["records"].as_array().unwrap().len(), 5);
    assert_eq!(s["algorithm"], "chacha20-v1");
    // The same seed over the same pool draws the same records (R17.3).
    let again = created(gd.post_json("/api/v1/work-records/samples", &body).await).await;
    assert_eq!(again["records"], s["records"]);
    assert_eq!(again["pool_digest"], s["pool_digest"]);
    let sid = s["sample_id"].as_str().unwrap();
    let rec = s["records"][0]["record_id"].as_str().unwrap();
    let path = format!("/api/v1/work-records/samples/{sid}/checks");
    let bad = json!({"record_id": rec, "finding": "nonconforming"});
    assert_error(gd.post_json(&path, &bad).await, 422, "validation").await;
    let ok = json!({"record_id": rec, "finding": "nonconforming", "notes": "原始记录缺少环境温度"});
    let checked = created(gd.post_json(&path, &ok).await).await;
    assert_eq!(checked["records"][0]["finding"], "nonconforming");
    assert_error(gd.post_json(&path, &ok).await, 409, "already_checked").await;
    let outsider = json!({"record_id": Uuid::new_v4(), "finding": "conforming"});
    assert_error(gd.post_json(&path, &outsider).await, 422, "validation").await;
    // A station does not sample; a regulator that does not see it cannot.
    assert_error(
        c.post_json("/api/v1/work-records/samples", &body).await,
        403,
        "forbidden",
    )
    .await;
    // SAMR sees the station and the sample but did not draw it.
    let other = app.login("samr.reviewer").await;
    assert_error(other.post_json(&path, &ok).await, 403, "forbidden").await;
}

#[tokio::test]
async fn a_violation_case_links_records_as_evidence_r19_1() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let item = created(
        c.post_json(
            "/api/v1/work-records",
            &with(
                with(clean("EV-1"), "customer_division", json!("110101")),
                "override_reason",
                json!("临时现场"),
            ),
        )
        .await,
    )
    .await;
    let rid = item["record_id"].as_str().unwrap();
    let station = app.station_id("GD-EP-01").await;
    let gd = app.login("gd.reviewer").await;
    let case = created(
        gd.post_json(
            "/api/v1/violation-cases",
            &json!({"station_id": station, "art16_items": ["7"], "description": "超出授权区域开展检定并出具证书"}),
        )
        .await,
    )
    .await;
    let cid = case["id"].as_str().unwrap();
    let path = format!("/api/v1/violation-cases/{cid}/records");
    let linked = created(gd.post_json(&path, &json!({"record_id": rid})).await).await;
    assert_eq!(linked[0]["number"], "EV-1");
    assert_error(
        gd.post_json(&path, &json!({"record_id": rid})).await,
        409,
        "already_linked",
    )
    .await;
    let other = json!({"record_id": Uuid::new_v4()});
    assert_error(gd.post_json(&path, &other).await, 422, "validation").await;
    let listed = okj(gd.get(&path).await).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // Another regulator cannot add evidence to gd's case.
    let samr = app.login("samr.approver").await;
    let res = samr.post_json(&path, &json!({"record_id": rid})).await;
    assert!(
        res.status() == 403 || res.status() == 404,
        "{}",
        res.status()
    );
}

async fn upload(
    c: &common::Client,
    path: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned());
    c.http
        .post(format!("{}{}", c.base, path))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

async fn record_count(app: &TestApp, source: &str) -> i64 {
    sqlx::query_scalar("select count(*) from work_record where source = $1")
        .bind(source)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A file in the template's Chinese headings: `rows` of (number, checker).
fn template_file(rows: &[(&str, &str)]) -> String {
    let d = today();
    let until = d.checked_add_days(Days::new(365)).unwrap();
    let mut s = String::from("\u{feff}计量站代码,证书编号,证书类别,器具名称,型号规格,出厂编号,制造单位,委托方,委托方信用代码,使用地区代码,授权项目,测量范围,依据规程,计量标准,检定员,核验员,批准人,检定日期,发证日期,结论,有效期至,替代证书编号\n");
    for (n, checker) in rows {
        s.push_str(&format!(
            ",{n},检定证书,单相电能表,DDS102,SN-{n},某电表厂,深圳某供电所,,440305,电能表,(0~10) A,JJG 596-2012,[2023]粤社量标证字第0101号,刘芳,{checker},刘芳,{d},{d},合格,{until},\n"
        ));
    }
    s
}

#[tokio::test]
async fn a_station_imports_a_file_all_or_nothing_and_its_export_imports_again_r16_5_r16_6() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    // The template downloads, with the headings the import reads.
    let t = c.get("/api/v1/work-records/template.csv").await;
    assert_eq!(t.status(), 200);
    assert!(t.text().await.unwrap().contains("证书编号"));
    assert_eq!(
        c.get("/api/v1/work-records/template.xlsx").await.status(),
        200
    );

    // Three rows; the third's checker is its performer (R16.6): saved and
    // flagged, not refused (R16.7).
    let file = template_file(&[("IM-1", "王丽"), ("IM-2", "王丽"), ("IM-3", "刘芳")]);
    let before = app.audit_count().await;
    let r = okj(upload(
        &c,
        "/api/v1/work-records/import",
        "records.csv",
        file.clone().into_bytes(),
    )
    .await)
    .await;
    assert_eq!(
        (
            r["rows"].as_u64(),
            r["created"].as_u64(),
            r["flagged"].as_u64()
        ),
        (Some(3), Some(3), Some(1)),
        "{r}"
    );
    assert!(
        app.audit_count().await > before,
        "the import leaves an audit event"
    );
    assert_eq!(record_count(&app, "import").await, 3);
    // The same file again creates nothing twice (R16.5).
    let again = okj(upload(
        &c,
        "/api/v1/work-records/import",
        "records.csv",
        file.into_bytes(),
    )
    .await)
    .await;
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(3))
    );

    // One unreadable row and one unknown person: nothing of the file is
    // written and each is named by its line.
    let mut bad = template_file(&[("IM-4", "王丽"), ("IM-5", "无此人")]);
    bad.push_str("only,three,columns\n");
    let res = upload(
        &c,
        "/api/v1/work-records/import",
        "bad.csv",
        bad.into_bytes(),
    )
    .await;
    assert_eq!(res.status(), 422);
    let r: Value = res.json().await.unwrap();
    let lines: Vec<(u64, String)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(lines.contains(&(3, "checker".into())), "{lines:?}");
    assert!(lines.contains(&(4, "file".into())), "{lines:?}");
    assert_eq!(
        record_count(&app, "import").await,
        3,
        "nothing of a refused file"
    );

    // A row of another station's code is refused, not filed under ours.
    let other = template_file(&[("IM-6", "王丽")]).replace("\n,IM-6", "\nGD-EP-02,IM-6");
    let res = upload(
        &c,
        "/api/v1/work-records/import",
        "other.csv",
        other.into_bytes(),
    )
    .await;
    assert_eq!(res.status(), 422);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["errors"][0]["field"], "station_code", "{r}");
    // Not a spreadsheet; an empty file.
    let res = upload(
        &c,
        "/api/v1/work-records/import",
        "x.txt",
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(res.status(), 422);
    let res = upload(&c, "/api/v1/work-records/import", "x.csv", Vec::new()).await;
    assert_eq!(res.status(), 422);

    // The export (filtered) holds the records and imports again unchanged,
    // as CSV and as XLSX.
    let csv = c.get("/api/v1/work-records/export.csv?q=IM-").await;
    assert_eq!(csv.status(), 200);
    let csv = csv.bytes().await.unwrap().to_vec();
    let text = String::from_utf8(csv.clone()).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.contains("IM-3") && text.contains("被标记"));
    let back = okj(upload(&c, "/api/v1/work-records/import", "export.csv", csv).await).await;
    assert_eq!(
        (back["created"].as_u64(), back["unchanged"].as_u64()),
        (Some(0), Some(3)),
        "{back}"
    );
    let xlsx = c.get("/api/v1/work-records/export.xlsx?q=IM-").await;
    assert_eq!(xlsx.status(), 200);
    let xlsx = xlsx.bytes().await.unwrap().to_vec();
    let back = okj(upload(&c, "/api/v1/work-records/import", "export.xlsx", xlsx).await).await;
    assert_eq!(
        (back["created"].as_u64(), back["unchanged"].as_u64()),
        (Some(0), Some(3)),
        "{back}"
    );

    // A regulator exports a station it sees; not one it does not; it
    // does not import.
    let station = app.station_id("GD-EP-01").await;
    let gd = app.login("gd.reviewer").await;
    let res = gd
        .get(&format!(
            "/api/v1/work-records/export.csv?station_id={station}&q=IM-"
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap().lines().count(), 4);
    let cnpc = app.login("cnpc.officer").await;
    let res = cnpc
        .get(&format!(
            "/api/v1/work-records/export.csv?station_id={station}"
        ))
        .await;
    assert_eq!(res.status(), 404);
    let res = upload(
        &gd,
        "/api/v1/work-records/import",
        "records.csv",
        template_file(&[("IM-9", "王丽")]).into_bytes(),
    )
    .await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn the_import_export_stats_samples_and_case_pages_work_in_the_browser() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let page = c.get("/records/import").await;
    assert_eq!(page.status(), 200);
    let res = upload(
        &c,
        "/records/import",
        "records.csv",
        template_file(&[("PG-1", "王丽"), ("PG-2", "刘芳")]).into_bytes(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("新登记") && html.contains("被标记"), "{html}");
    let res = upload(
        &c,
        "/records/import",
        "bad.csv",
        b"\xef\xbb\xbf\xe8\xaf\x81,x\n1,2\n".to_vec(),
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("未导入任何数据"));
    // The list links the export with its filters.
    let list = c.get("/records?q=PG-").await.text().await.unwrap();
    assert!(
        list.contains("/api/v1/work-records/export.csv?station_id="),
        "{list}"
    );

    // The dashboard: the station's own, a regulator's over every station
    // it sees and over one, and a refused span kept on the page.
    let stats = c.get("/records/stats").await;
    assert_eq!(stats.status(), 200);
    let html = stats.text().await.unwrap();
    assert!(
        html.contains("records-chart") && html.contains("echarts"),
        "{html}"
    );
    let gd = app.login("gd.reviewer").await;
    assert_eq!(gd.get("/records/stats?months=24").await.status(), 200);
    let one = gd
        .get("/records/stats?station=GD-EP-01")
        .await
        .text()
        .await
        .unwrap();
    assert!(one.contains("<table class=\"grid numbers\">"));
    let bad = gd
        .get("/records/stats?months=7")
        .await
        .text()
        .await
        .unwrap();
    assert!(bad.contains("月数应为"), "{bad}");
    let js = c.get("/static/vendor/echarts/echarts.common.min.js").await;
    assert_eq!(js.status(), 200);

    // Samples: drawn from the page, every bad field named at once with the
    // input kept; a finding recorded once.
    let res = gd
        .post_form(
            "/records/samples",
            &[
                ("station", "GD-EP-01"),
                ("from", "2026-13-01"),
                ("to", ""),
                ("size", "0"),
                ("seed", "x"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("日期格式应为")
            && html.contains("种子应为")
            && html.contains("value=\"GD-EP-01\""),
        "{html}"
    );
    let d = today().to_string();
    let res = gd
        .post_form(
            "/records/samples",
            &[
                ("station", "GD-EP-01"),
                ("from", &d),
                ("to", &d),
                ("size", "2"),
                ("seed", "7"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "to the sample's page");
    let url = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(url.starts_with("/records/samples/"), "{url}");
    let sid = url.trim_start_matches("/records/samples/").to_owned();
    let html = gd.get(&url).await.text().await.unwrap();
    assert!(
        html.contains("chacha20-v1") && html.contains("<code>7</code>"),
        "{html}"
    );
    let s = okj(gd.get(&format!("/api/v1/work-records/samples/{sid}")).await).await;
    let rec = s["records"][0]["record_id"].as_str().unwrap().to_owned();
    let res = gd
        .post_form(
            &format!("/records/samples/{sid}/checks"),
            &[
                ("record_id", &rec),
                ("finding", "nonconforming"),
                ("notes", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = gd
        .post_form(
            &format!("/records/samples/{sid}/checks"),
            &[
                ("record_id", &rec),
                ("finding", "conforming"),
                ("notes", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let s = okj(gd.get(&format!("/api/v1/work-records/samples/{sid}")).await).await;
    assert_eq!(s["records"][0]["finding"], "conforming");
    let res = gd
        .post_form(
            &format!("/records/samples/{sid}/checks"),
            &[
                ("record_id", &rec),
                ("finding", "conforming"),
                ("notes", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 409, "once");
    let list = gd.get("/records/samples").await.text().await.unwrap();
    assert!(list.contains(&sid), "the list links the sample");
    // The station sees its samples but draws none.
    let html = c.get("/records/samples").await.text().await.unwrap();
    assert!(html.contains(&sid) && !html.contains("action=\"/records/samples\""));

    // A case links a record by its number, once.
    let station = app.station_id("GD-EP-01").await;
    let case = created(
        gd.post_json(
            "/api/v1/violation-cases",
            &json!({"station_id": station, "art16_items": ["7"], "description": "核验员与检定员为同一人"}),
        )
        .await,
    )
    .await;
    let cid = case["id"].as_str().unwrap();
    let res = gd
        .post_form(&format!("/cases/{cid}/records"), &[("number", "PG-2")])
        .await;
    assert_eq!(res.status(), 303);
    let html = gd.get(&format!("/cases/{cid}")).await.text().await.unwrap();
    assert!(html.contains(">PG-2</a>"), "{html}");
    let res = gd
        .post_form(&format!("/cases/{cid}/records"), &[("number", "PG-2")])
        .await;
    assert_eq!(res.status(), 409);
    let res = gd
        .post_form(&format!("/cases/{cid}/records"), &[("number", "NOPE-1")])
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text().await.unwrap().contains("value=\"NOPE-1\""),
        "the number is kept"
    );
}

/// The numbers of a queue walked page by page at `limit`.
async fn walk_queue(c: &common::Client, query: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let res = c
            .get(&format!(
                "/api/v1/work-records/flagged?limit={limit}{query}{cursor}"
            ))
            .await;
        let next = res
            .headers()
            .get("x-next-cursor")
            .map(|v| v.to_str().unwrap().to_owned());
        let page = okj(res).await;
        out.extend(page.as_array().unwrap().iter().map(|r| {
            format!(
                "{}/{}",
                r["station_code"].as_str().unwrap(),
                r["number"].as_str().unwrap()
            )
        }));
        match next {
            Some(n) => cursor = format!("&cursor={n}"),
            None => return out,
        }
    }
}

#[tokio::test]
async fn a_provinces_queue_merges_its_stations_newest_first_once_each_r16_7_r17_1() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    // Twelve flagged records (a customer outside the authorized region) on
    // twelve work dates.
    let batch = json!({"records": (0..12u64).map(|i| {
        with(with(clean(&format!("Q-{i:02}")), "customer_division", json!("110101")),
             "work_date", json!(days_ago(i)))
    }).collect::<Vec<_>>()});
    okj(c.post_json("/api/v1/work-records/batch", &batch).await).await;
    let gd = app.login("gd.reviewer").await;
    let (gd_org, _) = app.org_of("gd.reviewer").await;
    // What gd sees, as the owner counts it: every flagged valid record of
    // a station gd authorizes or supervises (R17.1), once.
    let expected: Vec<String> = sqlx::query_scalar(
        "select s.code || '/' || r.number from work_record r join station s using (station_id)
          where r.flagged and r.state = 'valid'
            and r.station_id in (select station_id from station_access where org_id = $1)
          order by r.work_date desc, r.record_id desc",
    )
    .bind(gd_org)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(expected.len() >= 12, "{expected:?}");
    // Walked 5 at a time, 1 at a time and in one page: the same rows in the
    // same order, none twice (gd both authorizes and supervises GD-EP-01).
    assert_eq!(walk_queue(&gd, "", 200).await, expected);
    assert_eq!(walk_queue(&gd, "", 5).await, expected);
    assert_eq!(walk_queue(&gd, "", 1).await, expected);
    // The national index with the row policy on its entries (the plan for
    // a caller that sees many stations): the same rows.
    jiliang::records::store::QUEUE_PER_STATION_MAX.store(0, std::sync::atomic::Ordering::Relaxed);
    let national_plan = walk_queue(&gd, "", 5).await;
    jiliang::records::store::QUEUE_PER_STATION_MAX.store(64, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(national_plan, expected);
    // By reason and by station, the same rule.
    let by_reason = walk_queue(&gd, "&reason=customer_outside_region", 4).await;
    assert!(by_reason.len() >= 12 && by_reason.iter().all(|n| expected.contains(n)));
    let station = app.station_id("GD-EP-01").await;
    let one = walk_queue(&gd, &format!("&station_id={station}"), 3).await;
    assert!(one.iter().all(|n| n.starts_with("GD-EP-01/")));
    assert_eq!(
        one,
        expected
            .iter()
            .filter(|n| n.starts_with("GD-EP-01/"))
            .cloned()
            .collect::<Vec<_>>()
    );
    // SAMR (the national index) sees them too, in the same order.
    let samr = app.login("samr.reviewer").await;
    let all = walk_queue(&samr, "", 7).await;
    let seen: Vec<String> = all.into_iter().filter(|n| expected.contains(n)).collect();
    assert_eq!(seen, expected);
    // A department that does not run the station sees none of them.
    let cnpc = app.login("cnpc.officer").await;
    assert!(walk_queue(&cnpc, "", 5)
        .await
        .iter()
        .all(|n| !expected.contains(n)));
}

#[tokio::test]
async fn an_xlsx_claiming_a_cell_at_the_sheets_end_is_refused_not_allocated() {
    // A few bytes with a value in A1 and in XFD1048576: filling the sheet's
    // rectangle would take hundreds of GB (calamine #693). Read cell by
    // cell, it is refused with a message.
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "证书编号").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    assert!(bytes.len() < 20_000);
    let res = upload(
        &c,
        "/api/v1/work-records/import",
        "bomb.xlsx",
        bytes.clone(),
    )
    .await;
    assert_eq!(res.status(), 422);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["errors"][0]["field"], "file", "{r}");
    // The standards import reads XLSX the same way.
    let res = upload(&c, "/api/v1/standards/import", "bomb.xlsx", bytes).await;
    assert_eq!(res.status(), 422);
    // The server still answers.
    assert_eq!(c.get("/api/v1/work-records").await.status(), 200);
}
