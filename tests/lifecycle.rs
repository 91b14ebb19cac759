//! Station lifecycle (Art 11, 13, 14, 15): every request kind through
//! approve, refuse and withdraw; the authorization before and after; the
//! termination job; concurrent approvals; who sees and does what.

mod common;

use chrono::{Duration, Months, NaiveDate};
use common::{assert_error, Client, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

fn today() -> NaiveDate {
    jiliang::web::today()
}

async fn step(c: &Client, id: &str, name: &str, body: Value) -> reqwest::Response {
    c.post_json(&format!("/api/v1/lifecycle-requests/{id}/{name}"), &body)
        .await
}

/// Runs a step with the current version; asserts 200.
async fn ok(c: &Client, id: &str, name: &str, mut body: Value) -> Value {
    let (_, current) = c.json(&format!("/api/v1/lifecycle-requests/{id}")).await;
    body["version"] = current["version"].clone();
    if name == "confirm" && body.get("overrides").is_none() {
        // Tests of other things: the approver overrides what is still open.
        body["overrides"] = common::override_all_open(&current);
    }
    let res = step(c, id, name, body).await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{name}: {v}");
    v
}

async fn create(c: &Client, path: &str, body: Value) -> Value {
    let res = c.post_json(path, &body).await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{path}: {v}");
    v
}

/// The active authorization of a station: (id, status, valid_until, revision, token).
async fn authorization(app: &TestApp, code: &str) -> (Uuid, String, NaiveDate, i32, String) {
    sqlx::query_as(
        "select a.authorization_id, a.status, a.valid_until, a.revision, a.verify_token
           from station_authorization a join station s using (station_id) where s.code = $1
          order by a.issued_at limit 1",
    )
    .bind(code)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn items(app: &TestApp, auth: Uuid) -> Vec<(i32, String)> {
    sqlx::query_as(
        "select seq, range_text from authorization_item where authorization_id = $1 order by seq",
    )
    .bind(auth)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn station_status(app: &TestApp, code: &str) -> String {
    sqlx::query_scalar("select status from station where code = $1")
        .bind(code)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A second approver of 广东, for four eyes and concurrency.
async fn second_approver(app: &TestApp) -> Client {
    let op = app.login("operator").await;
    let gd = app.org_id("广东省市场监督管理局").await;
    let res = op
        .post_json(
            "/api/v1/users",
            &json!({"organization_id": gd, "username": "gd.approver2", "display_name": "审批二",
                    "roles": ["approver"], "password": "Second-approver-2025"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    app.login_with("gd.approver2", "Second-approver-2025").await
}

#[tokio::test]
async fn termination_six_months_minus_a_day_is_refused_with_the_earliest_date_r15_1() {
    let app = TestApp::spawn().await;
    let staff = app.login("station.staff").await;
    let station = app.station_id("GD-EP-01").await;
    let earliest = jiliang::rules::termination::earliest_end_date(today());
    let res = staff
        .post_json(
            "/api/v1/terminations",
            &json!({"station_id": station, "end_date": earliest - Duration::days(1), "reason": "业务调整"}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    let field = &body["error"]["fields"][0];
    assert_eq!(field["field"], "end_date");
    assert_eq!(field["code"], "too_early");
    assert!(
        field["message"]
            .as_str()
            .unwrap()
            .contains(&earliest.to_string()),
        "the earliest allowed date is in the message: {field}"
    );
    assert!(field["message_en"]
        .as_str()
        .unwrap()
        .contains(&earliest.to_string()));
    let n: i64 = sqlx::query_scalar("select count(*) from lifecycle_request")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing written");
    // On the earliest date itself it is accepted.
    let r = create(
        &staff,
        "/api/v1/terminations",
        json!({"station_id": station, "end_date": earliest, "reason": "业务调整"}),
    )
    .await;
    assert_eq!(r["state"], "draft");
    assert_eq!(r["earliest_end_date"], earliest.to_string());
}

#[tokio::test]
async fn an_approved_termination_ends_the_authorization_on_its_end_date_and_not_before_r15_2() {
    let app = TestApp::spawn().await;
    let staff = app.login("station.staff").await;
    let dept = app.login("dept.officer").await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let station = app.station_id("GD-EP-01").await;
    let end = jiliang::rules::termination::earliest_end_date(today());
    let (auth, _, _, rev_before, token) = authorization(&app, "GD-EP-01").await;
    // The station drafts; only the department files it.
    let r = create(
        &staff,
        "/api/v1/terminations",
        json!({"station_id": station, "end_date": end, "reason": "业务划转，不再开展检定"}),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let res = step(&staff, &id, "submit", json!({"version": r["version"]})).await;
    assert_error(res, 403, "forbidden").await;
    // The regulator does not see a draft.
    assert_eq!(
        reviewer
            .get(&format!("/api/v1/lifecycle-requests/{id}"))
            .await
            .status(),
        404
    );
    let r = ok(&dept, &id, "submit", json!({})).await;
    assert_eq!(r["state"], "submitted");
    assert_eq!(r["filed_on"], today().to_string());
    // An illegal transition is refused with a clear message.
    let res = step(&dept, &id, "record", json!({"version": r["version"]})).await;
    assert_error(res, 409, "illegal_transition").await;
    let r = ok(&reviewer, &id, "propose", json!({"decision": "approve"})).await;
    assert_eq!(r["state"], "proposed");
    // Four eyes: the proposer cannot confirm.
    let res = step(&reviewer, &id, "confirm", json!({"version": r["version"]})).await;
    assert_error(res, 403, "forbidden").await;
    // R15.2: until the end date nothing changes.
    let r = ok(&approver, &id, "confirm", json!({})).await;
    assert_eq!(r["state"], "approved");
    assert_eq!(r["effective_on"], end.to_string());
    let (_, status, _, _, _) = authorization(&app, "GD-EP-01").await;
    assert_eq!(status, "active");
    assert_eq!(station_status(&app, "GD-EP-01").await, "authorized");
    // An adjustment still open when the end comes becomes moot.
    let moot = create(
        &dept,
        "/api/v1/adjustments",
        json!({"station_id": station, "reason": "区域", "region": ["440300"]}),
    )
    .await;
    // The day before the end date the job leaves it alone.
    let report = jiliang::lifecycle::job::run(&app.pool, end - Duration::days(1))
        .await
        .unwrap();
    assert!(report.terminated.is_empty());
    let (_, status, _, _, _) = authorization(&app, "GD-EP-01").await;
    assert_eq!(status, "active", "not the day before");
    // On the end date it ends the authorization, once.
    let report = jiliang::lifecycle::job::run(&app.pool, end).await.unwrap();
    assert_eq!(report.terminated.len(), 1);
    let (_, status, _, rev_after, _) = authorization(&app, "GD-EP-01").await;
    assert_eq!(status, "terminated");
    assert_eq!(rev_after, rev_before + 1, "a new version records the end");
    let ended: NaiveDate = sqlx::query_scalar(
        "select ended_on from station_authorization where authorization_id = $1",
    )
    .bind(auth)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(ended, end);
    assert_eq!(station_status(&app, "GD-EP-01").await, "terminated");
    let (_, r) = dept.json(&format!("/api/v1/lifecycle-requests/{id}")).await;
    assert_eq!(r["state"], "completed");
    let (_, m) = dept
        .json(&format!(
            "/api/v1/lifecycle-requests/{}",
            moot["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        m["state"], "withdrawn",
        "open requests on an ended authorization are withdrawn"
    );
    // Running it twice changes nothing the second time (also after downtime).
    let events = app.audit_count().await;
    let report = jiliang::lifecycle::job::run(&app.pool, end + Duration::days(3))
        .await
        .unwrap();
    assert!(report.terminated.is_empty());
    assert_eq!(app.audit_count().await, events);
    let (_, _, _, rev_again, _) = authorization(&app, "GD-EP-01").await;
    assert_eq!(rev_again, rev_after);
    // The public verification page shows it terminated.
    let page = app
        .client()
        .get(&format!("/verify/{token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("已终止"), "public page shows terminated");
    let report = jiliang::audit::verify(&app.pool).await.unwrap();
    assert!(report.breaks.is_empty());
}

#[tokio::test]
async fn a_termination_can_be_withdrawn_or_refused_and_then_nothing_changes() {
    let app = TestApp::spawn().await;
    let dept = app.login("dept.officer").await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let station = app.station_id("GD-EP-01").await;
    let end = jiliang::rules::termination::earliest_end_date(today()) + Duration::days(30);
    let body = json!({"station_id": station, "end_date": end, "reason": "拟撤销"});
    // Withdraw.
    let r = create(&dept, "/api/v1/terminations", body.clone()).await;
    let id = r["id"].as_str().unwrap().to_owned();
    ok(&dept, &id, "submit", json!({})).await;
    let r = ok(&dept, &id, "withdraw", json!({})).await;
    assert_eq!(r["state"], "withdrawn");
    // Refuse: reasons required.
    let r = create(&dept, "/api/v1/terminations", body).await;
    let id = r["id"].as_str().unwrap().to_owned();
    let r = ok(&dept, &id, "submit", json!({})).await;
    let res = step(
        &reviewer,
        &id,
        "propose",
        json!({"version": r["version"], "decision": "refuse"}),
    )
    .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["field"], "reasons");
    ok(
        &reviewer,
        &id,
        "propose",
        json!({"decision": "refuse", "reasons": "辖区内无替代机构，暂不同意"}),
    )
    .await;
    let r = ok(&approver, &id, "confirm", json!({})).await;
    assert_eq!(r["state"], "refused");
    let report = jiliang::lifecycle::job::run(&app.pool, end).await.unwrap();
    assert!(report.terminated.is_empty());
    let (_, status, _, _, _) = authorization(&app, "GD-EP-01").await;
    assert_eq!(status, "active");
    // The department was served the refusal (inbox).
    let (_, inbox) = dept.json("/api/v1/notifications").await;
    assert!(inbox[0]["subject"].as_str().unwrap().contains("未予批准"));
}

#[tokio::test]
async fn an_approved_adjustment_makes_a_new_version_that_compares_item_by_item_r13_2() {
    let app = TestApp::spawn().await;
    let staff = app.login("station.staff").await;
    let dept = app.login("dept.officer").await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let station = app.station_id("GD-EP-01").await;
    let (auth, _, _, rev, _) = authorization(&app, "GD-EP-01").await;
    assert_eq!(rev, 1);
    let before = items(&app, auth).await;
    assert_eq!(before.len(), 2);
    // Bad input: unknown item, bad range, bad region; every message at once.
    let res = staff
        .post_json(
            "/api/v1/adjustments",
            &json!({"station_id": station, "reason": "x",
                    "changes": [{"op": "remove", "seq": 99}, {"op": "change", "seq": 1, "item": {
                        "name": "电能表", "range_text": "abc", "accuracy_text": "0.5级",
                        "task_types": ["verification"], "specification": "JJG 596-2012"}}],
                    "region": ["999999"]}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    let fields: Vec<&str> = e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"changes[0].seq"), "{fields:?}");
    assert!(fields.contains(&"changes[1].item.range_text"), "{fields:?}");
    assert!(fields.contains(&"region"), "{fields:?}");
    // Narrow item 1, remove item 2, add 广西 to the region.
    let r = create(
        &staff,
        "/api/v1/adjustments",
        json!({"station_id": station, "reason": "电流互感器检定业务移交，电能表范围调整",
               "changes": [
                   {"op": "change", "seq": 1, "item": {"name": "电能表", "range_text": "（0～50）A",
                     "accuracy_text": "0.5级", "task_types": ["verification"], "specification": "JJG596-2012"}},
                   {"op": "remove", "seq": 2}],
               "region": ["440100", "440300"]}),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    ok(&dept, &id, "submit", json!({})).await;
    // The approver sends it back once; the reviewer proposes again.
    ok(&reviewer, &id, "propose", json!({"decision": "approve"})).await;
    let r = ok(&approver, &id, "return", json!({"reasons": "请核对区域"})).await;
    assert_eq!(r["state"], "submitted");
    assert_eq!(r["returned_reasons"], "请核对区域");
    ok(&reviewer, &id, "propose", json!({"decision": "approve"})).await;
    // Until approved nothing changes.
    assert_eq!(items(&app, auth).await, before);
    let r = ok(&approver, &id, "confirm", json!({})).await;
    assert_eq!(r["state"], "approved");
    assert_eq!(r["new_revision"], 2);
    let after = items(&app, auth).await;
    assert_eq!(after, vec![(1, "（0～50）A".to_owned())]);
    let region: Vec<String> =
        sqlx::query_scalar("select region from station_authorization where authorization_id = $1")
            .bind(auth)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(region, ["440100", "440300"]);
    // Every version stays readable; the diff goes item by item.
    let (code, versions) = staff
        .json(&format!("/api/v1/authorizations/{auth}/versions"))
        .await;
    assert_eq!(code, 200);
    assert_eq!(versions.as_array().unwrap().len(), 2);
    assert_eq!(versions[0]["items"].as_array().unwrap().len(), 2);
    assert_eq!(versions[1]["reason"], "adjustment");
    let (_, d) = reviewer
        .json(&format!("/api/v1/authorizations/{auth}/diff?from=1&to=2"))
        .await;
    assert_eq!(d["items"][0]["change"], "changed");
    assert_eq!(d["items"][0]["fields"], json!(["range_text"]));
    assert_eq!(d["items"][1]["change"], "removed");
    assert_eq!(d["region_added"], json!(["440100", "440300"]));
    assert_eq!(d["region_removed"], json!(["440000"]));
    let (code, _) = staff
        .json(&format!("/api/v1/authorizations/{auth}/diff?from=1&to=7"))
        .await;
    assert_eq!(code, 422);
    let page = reviewer
        .get(&format!("/authorizations/{auth}/versions"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<del>（0～100）A</del>") && page.contains("<ins>（0～50）A</ins>"));
    assert!(
        page.contains("有效") && !page.contains("已撤销"),
        "an active version reads as valid"
    );
    assert!(page.contains("440300 深圳市"), "regions carry their names");
    // Another station never sees them.
    let (code, _) = app
        .login("station2.staff")
        .await
        .json(&format!("/api/v1/authorizations/{auth}/versions"))
        .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn adding_an_item_needs_a_passed_assessment_and_a_refusal_changes_nothing() {
    let app = TestApp::spawn().await;
    let dept = app.login("dept.officer").await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let station = app.station_id("GD-EP-01").await;
    let (auth, _, _, _, _) = authorization(&app, "GD-EP-01").await;
    let before = items(&app, auth).await;
    let r = create(
        &dept,
        "/api/v1/adjustments",
        json!({"station_id": station, "reason": "新增电压互感器检定",
               "changes": [{"op": "add", "item": {"name": "电压互感器", "range_text": "（0～500）kV",
                 "accuracy_text": "0.2级", "task_types": ["verification"], "specification": "JJG 314-2010"}}]}),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let r = ok(&dept, &id, "submit", json!({})).await;
    // R13.2: the same Art 7 checks as an application run on the added item.
    assert!(
        !r["problems"].as_array().unwrap().is_empty(),
        "no standard covers 电压互感器 yet: {}",
        r["problems"]
    );
    let res = step(
        &reviewer,
        &id,
        "propose",
        json!({"version": r["version"], "decision": "approve"}),
    )
    .await;
    let e = assert_error(res, 422, "validation").await;
    let codes: Vec<&str> = e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"assessment_required"), "{codes:?}");
    let r = ok(
        &reviewer,
        &id,
        "assessment",
        json!({"date": today(), "team": "李明", "outcome": "fail", "findings": "无相应计量标准"}),
    )
    .await;
    assert_eq!(r["assessment"]["outcome"], "fail");
    let res = step(
        &reviewer,
        &id,
        "propose",
        json!({"version": r["version"], "decision": "approve"}),
    )
    .await;
    assert_error(res, 422, "validation").await;
    ok(
        &reviewer,
        &id,
        "propose",
        json!({"decision": "refuse", "reasons": "考核不通过"}),
    )
    .await;
    let r = ok(&approver, &id, "confirm", json!({})).await;
    assert_eq!(r["state"], "refused");
    assert_eq!(r["new_revision"], Value::Null);
    assert_eq!(items(&app, auth).await, before);
    // Withdraw a draft.
    let r = create(
        &dept,
        "/api/v1/adjustments",
        json!({"station_id": station, "reason": "区域", "region": ["440300"]}),
    )
    .await;
    let r = ok(&dept, r["id"].as_str().unwrap(), "withdraw", json!({})).await;
    assert_eq!(r["state"], "withdrawn");
}

#[tokio::test]
async fn the_head_changes_only_when_the_regulator_acknowledges_the_filing_r11_1() {
    let app = TestApp::spawn().await;
    let dept = app.login("dept.officer").await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let station = app.station_id("GD-EP-01").await;
    // R11.1: the department proposes; stations do not propose heads.
    let res = app
        .login("station.staff")
        .await
        .post_json(
            "/api/v1/head-appointments",
            &json!({"station_id": station, "person_name": "王五", "reason": "x"}),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
    let heads = |c: Client| async move {
        let (_, h) = c.json(&format!("/api/v1/stations/{}/heads", station)).await;
        h
    };
    let r = create(
        &dept,
        "/api/v1/head-appointments",
        json!({"station_id": station, "action": "appoint", "person_name": "张伟", "reason": "原站长退休"}),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    ok(&dept, &id, "submit", json!({})).await;
    ok(&reviewer, &id, "propose", json!({"decision": "approve"})).await;
    let r = ok(&approver, &id, "confirm", json!({})).await;
    assert_eq!(r["state"], "approved");
    assert_eq!(
        heads(dept.clone()).await,
        json!([]),
        "consent alone changes nothing"
    );
    let res = step(&dept, &id, "record", json!({"version": r["version"]})).await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["field"], "effective_on");
    let on = today();
    let r = ok(&dept, &id, "record", json!({"effective_on": on})).await;
    assert_eq!(r["state"], "recorded");
    assert_eq!(
        heads(dept.clone()).await,
        json!([]),
        "recording alone changes nothing"
    );
    let r = ok(&reviewer, &id, "acknowledge", json!({})).await;
    assert_eq!(r["state"], "filed");
    // R11.1: the head changed at the acknowledgement, from the recorded date.
    let h = heads(dept.clone()).await;
    assert_eq!(h[0]["person_name"], "张伟");
    assert_eq!(h[0]["appointed_on"], on.to_string());
    assert_eq!(h[0]["removed_on"], Value::Null);
    // Removing someone who is not the head is refused.
    let res = dept
        .post_json(
            "/api/v1/head-appointments",
            &json!({"station_id": station, "action": "remove", "person_name": "李四", "reason": "x"}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["code"], "not_current_head");
    // A refused removal leaves the head in place.
    let r = create(
        &dept,
        "/api/v1/head-appointments",
        json!({"station_id": station, "action": "remove", "reason": "调任"}),
    )
    .await;
    assert_eq!(r["payload"]["person_name"], "张伟");
    let id = r["id"].as_str().unwrap().to_owned();
    ok(&dept, &id, "submit", json!({})).await;
    ok(
        &reviewer,
        &id,
        "propose",
        json!({"decision": "refuse", "reasons": "未说明继任安排"}),
    )
    .await;
    let r = ok(&approver, &id, "confirm", json!({})).await;
    assert_eq!(r["state"], "refused");
    assert_eq!(heads(dept.clone()).await[0]["removed_on"], Value::Null);
    // Withdrawn.
    let r = create(
        &dept,
        "/api/v1/head-appointments",
        json!({"station_id": station, "action": "appoint", "person_name": "赵六", "reason": "x"}),
    )
    .await;
    let r = ok(&dept, r["id"].as_str().unwrap(), "withdraw", json!({})).await;
    assert_eq!(r["state"], "withdrawn");
    // The station page shows the history of heads.
    let page = dept
        .get(&format!("/stations/{station}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("张伟"), "station page lists the heads");
}

#[tokio::test]
async fn a_passed_re_examination_renews_from_the_decision_date_with_the_same_token_r14_2() {
    let app = TestApp::spawn().await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let dept = app.login("dept.officer").await;
    let (auth, _, _, rev, token) = authorization(&app, "GD-EP-01").await;
    // R14.1: expiring within six months, it is proposed.
    let soon = today().checked_add_months(Months::new(3)).unwrap();
    sqlx::query("update station_authorization set valid_until = $2 where authorization_id = $1")
        .bind(auth)
        .bind(soon)
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, due) = reviewer.json("/api/v1/reexaminations/due").await;
    let due_row = due
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["authorization_id"] == auth.to_string())
        .expect("proposed for re-examination");
    assert_eq!(due_row["request_id"], Value::Null);
    let (_, due_for_dept) = dept.json("/api/v1/reexaminations/due").await;
    assert!(
        !due_for_dept.as_array().unwrap().is_empty(),
        "both sides see it"
    );
    // Only the authorizing regulator's reviewer schedules it.
    let res = dept
        .post_json(
            "/api/v1/reexaminations",
            &json!({"authorization_id": auth, "scheduled_on": today(), "team": "x", "reason": "到期复查"}),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
    let r = create(
        &reviewer,
        "/api/v1/reexaminations",
        json!({"authorization_id": auth, "scheduled_on": today() + Duration::days(14),
               "team": "陈晓（组长）", "reason": "授权有效期届满前复查"}),
    )
    .await;
    assert_eq!(r["state"], "submitted");
    let id = r["id"].as_str().unwrap().to_owned();
    // Both sides are reminded.
    let (_, inbox) = dept.json("/api/v1/notifications").await;
    assert!(inbox[0]["subject"]
        .as_str()
        .unwrap()
        .contains("复查考核已安排"));
    // A second one for the same authorization is refused.
    let res = reviewer
        .post_json(
            "/api/v1/reexaminations",
            &json!({"authorization_id": auth, "scheduled_on": today(), "team": "x", "reason": "y"}),
        )
        .await;
    assert_error(res, 409, "already_open").await;
    let res = step(
        &reviewer,
        &id,
        "propose",
        json!({"version": r["version"], "result": "fail", "fail_action": "rectify"}),
    )
    .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"].as_array().unwrap().len(), 2, "{e}");
    // The approver may refuse the proposed result and send it back.
    ok(&reviewer, &id, "propose", json!({"result": "pass"})).await;
    let r = ok(&approver, &id, "return", json!({"reasons": "请附复查记录"})).await;
    assert_eq!(r["state"], "submitted");
    let (_, unchanged, _, _, _) = authorization(&app, "GD-EP-01").await;
    assert_eq!(unchanged, "active");
    // R14.2: pass renews the validity from the decision date.
    ok(&reviewer, &id, "propose", json!({"result": "pass"})).await;
    let r = ok(&approver, &id, "confirm", json!({})).await;
    assert_eq!(r["state"], "approved");
    let (_, status, until, rev_after, token_after) = authorization(&app, "GD-EP-01").await;
    assert_eq!(status, "active");
    assert_eq!(
        until,
        today()
            .checked_add_months(Months::new(60))
            .unwrap()
            .pred_opt()
            .unwrap(),
        "renewed from the decision date"
    );
    assert_eq!(rev_after, rev + 1);
    assert_eq!(token_after, token, "the same token keeps working");
    let page = app
        .client()
        .get(&format!("/verify/{token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&until.to_string()), "shows the new validity");
    let (_, versions) = reviewer
        .json(&format!("/api/v1/authorizations/{auth}/versions"))
        .await;
    assert_eq!(versions[1]["reason"], "renewal");
}

#[tokio::test]
async fn a_failed_re_examination_ends_the_authorization_or_sets_a_rectification_deadline() {
    let app = TestApp::spawn().await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let dept = app.login("dept.officer").await;
    let (auth, _, until, _, token) = authorization(&app, "GD-EP-01").await;
    let schedule = json!({"authorization_id": auth, "scheduled_on": today(), "team": "陈晓", "reason": "复查"});
    // Withdrawn by the regulator.
    let r = create(&reviewer, "/api/v1/reexaminations", schedule.clone()).await;
    let r = ok(&reviewer, r["id"].as_str().unwrap(), "withdraw", json!({})).await;
    assert_eq!(r["state"], "withdrawn");
    // R14.2: fail with a rectification deadline: the authorization stands; both sides told.
    let r = create(&reviewer, "/api/v1/reexaminations", schedule.clone()).await;
    let id = r["id"].as_str().unwrap().to_owned();
    ok(
        &reviewer,
        &id,
        "propose",
        json!({"result": "fail", "fail_action": "rectify",
        "rectification_deadline": today() + Duration::days(30), "findings": "标准器溯源过期"}),
    )
    .await;
    ok(&approver, &id, "confirm", json!({})).await;
    let (_, status, until_after, _, _) = authorization(&app, "GD-EP-01").await;
    assert_eq!((status.as_str(), until_after), ("active", until));
    let (_, inbox) = dept.json("/api/v1/notifications").await;
    assert!(inbox
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["subject"].as_str().unwrap().contains("限期整改")));
    // Fail and end it.
    let r = create(&reviewer, "/api/v1/reexaminations", schedule).await;
    let id = r["id"].as_str().unwrap().to_owned();
    ok(
        &reviewer,
        &id,
        "propose",
        json!({"result": "fail", "fail_action": "end", "findings": "严重不符合"}),
    )
    .await;
    ok(&approver, &id, "confirm", json!({})).await;
    let (_, status, _, _, _) = authorization(&app, "GD-EP-01").await;
    assert_eq!(status, "terminated");
    assert_eq!(
        station_status(&app, "GD-EP-01").await,
        "terminated",
        "the station ends with its only authorization"
    );
    let page = app
        .client()
        .get(&format!("/verify/{token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("已终止"));
}

#[tokio::test]
async fn two_concurrent_approvals_one_wins_the_other_is_told_it_was_decided() {
    let app = TestApp::spawn().await;
    let dept = app.login("dept.officer").await;
    let reviewer = app.login("gd.reviewer").await;
    let a1 = app.login("gd.approver").await;
    let a2 = second_approver(&app).await;
    let station = app.station_id("GD-EP-01").await;
    let r = create(
        &dept,
        "/api/v1/adjustments",
        json!({"station_id": station, "reason": "区域扩大", "region": ["440100", "440300"]}),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    ok(&dept, &id, "submit", json!({})).await;
    let r = ok(&reviewer, &id, "propose", json!({"decision": "approve"})).await;
    let body = json!({"version": r["version"]});
    let (x, y) = tokio::join!(
        step(&a1, &id, "confirm", body.clone()),
        step(&a2, &id, "confirm", body.clone())
    );
    let mut statuses = vec![x.status().as_u16(), y.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let loser = if x.status() == 409 { x } else { y };
    let e: Value = loser.json().await.unwrap();
    assert!(
        matches!(
            e["error"]["code"].as_str(),
            Some("already_decided") | Some("stale")
        ),
        "{e}"
    );
    // A later confirm is told plainly.
    let res = step(&a2, &id, "confirm", body).await;
    let e = assert_error(res, 409, "already_decided").await;
    assert!(e["error"]["message"].as_str().unwrap().contains("已处理"));
    // Exactly one new version.
    let (auth, _, _, rev, _) = authorization(&app, "GD-EP-01").await;
    assert_eq!(rev, 2);
    let n: i64 = sqlx::query_scalar(
        "select count(*) from authorization_version where authorization_id = $1",
    )
    .bind(auth)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(n, 2);
}

/// Who sees and who does what, for all four kinds.
#[tokio::test]
async fn the_matrix_covers_every_request_kind_for_every_role() {
    let app = TestApp::spawn().await;
    let dept = app.login("dept.officer").await;
    let reviewer = app.login("gd.reviewer").await;
    let station = app.station_id("GD-EP-01").await;
    let (auth, _, _, _, _) = authorization(&app, "GD-EP-01").await;
    let end = jiliang::rules::termination::earliest_end_date(today());
    let mut filed = Vec::new();
    for (path, body) in [
        (
            "/api/v1/head-appointments",
            json!({"station_id": station, "person_name": "张伟", "reason": "任命"}),
        ),
        (
            "/api/v1/adjustments",
            json!({"station_id": station, "reason": "区域", "region": ["440100", "440300"]}),
        ),
        (
            "/api/v1/terminations",
            json!({"station_id": station, "end_date": end, "reason": "终止"}),
        ),
    ] {
        let r = create(&dept, path, body).await;
        let id = r["id"].as_str().unwrap().to_owned();
        ok(&dept, &id, "submit", json!({})).await;
        filed.push(id);
    }
    let r = create(
        &reviewer,
        "/api/v1/reexaminations",
        json!({"authorization_id": auth, "scheduled_on": today(), "team": "陈晓", "reason": "复查"}),
    )
    .await;
    filed.push(r["id"].as_str().unwrap().to_owned());
    // A draft, seen by its station and department only.
    let draft = create(
        &app.login("station.staff").await,
        "/api/v1/adjustments",
        json!({"station_id": station, "reason": "草稿", "region": ["440300"]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // (account, sees filed, sees draft, may propose)
    let matrix = [
        ("operator", false, false, false),
        ("samr.reviewer", false, false, false),
        ("samr.approver", false, false, false),
        ("gd.approver", true, false, false),
        ("dept.officer", true, true, false),
        ("cnpc.officer", false, false, false),
        ("station.staff", true, true, false),
        ("station2.staff", false, false, false),
        ("head.staff", false, false, false),
        // Last: proposing moves the requests on.
        ("gd.reviewer", true, false, true),
    ];
    for (user, sees, sees_draft, proposes) in matrix {
        let c = app.login(user).await;
        for id in &filed {
            let (code, r) = c.json(&format!("/api/v1/lifecycle-requests/{id}")).await;
            assert_eq!(code == 200, sees, "{user} reads {id}: {code}");
            let res = step(&c, id, "propose", json!({"version": r["version"].as_i64().unwrap_or(1), "decision": "approve", "result": "pass"})).await;
            let code = res.status().as_u16();
            if proposes {
                assert_eq!(code, 200, "{user} proposes {id}");
            } else {
                assert!(
                    matches!(code, 403 | 404),
                    "{user} may not propose {id}: {code}"
                );
            }
        }
        let (code, _) = c.json(&format!("/api/v1/lifecycle-requests/{draft}")).await;
        assert_eq!(code == 200, sees_draft, "{user} reads the draft: {code}");
        let (_, list) = c.json("/api/v1/lifecycle-requests").await;
        let n = list.as_array().map(|l| l.len()).unwrap_or(0);
        let expected = if sees { filed.len() } else { 0 } + usize::from(sees_draft);
        assert_eq!(n, expected, "{user} lists {n}");
        // The same under the app role, straight from the table.
        let rows = app
            .as_app_role(Some(user), "select request_id::text from lifecycle_request")
            .await;
        assert_eq!(rows.len(), expected, "{user} rows");
        // Nobody but the station and its department drafts for GD-EP-01.
        let res = c
            .post_json(
                "/api/v1/terminations",
                &json!({"station_id": station, "end_date": end + Duration::days(2), "reason": "x"}),
            )
            .await;
        let may_draft = matches!(user, "dept.officer" | "station.staff");
        if !may_draft {
            assert!(
                matches!(res.status().as_u16(), 403 | 404),
                "{user} may not draft: {}",
                res.status()
            );
        }
    }
    // No tenant at all sees nothing.
    assert!(app
        .as_app_role(None, "select request_id::text from lifecycle_request")
        .await
        .is_empty());
}

#[tokio::test]
async fn the_lifecycle_pages_render_with_queue_counts_and_forms() {
    let app = TestApp::spawn().await;
    let staff = app.login("station.staff").await;
    let dept = app.login("dept.officer").await;
    let station = app.station_id("GD-EP-01").await;
    let page = staff
        .get("/requests/new/termination")
        .await
        .text()
        .await
        .unwrap();
    let earliest = jiliang::rules::termination::earliest_end_date(today());
    assert!(
        page.contains(&earliest.to_string()),
        "the form names the earliest date"
    );
    // A too-early date: the form comes back with the message and the input kept.
    let early = (earliest - Duration::days(1)).to_string();
    let res = staff
        .post_form(
            "/requests/new/termination",
            &[
                ("station_id", &station.to_string()),
                ("end_date", &early),
                ("reason", "业务调整说明"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("业务调整说明") && page.contains(&early));
    assert!(page.contains(&format!("终止日期不得早于 {earliest}")));
    let res = staff
        .post_form(
            "/requests/new/termination",
            &[
                ("station_id", &station.to_string()),
                ("end_date", &earliest.to_string()),
                ("reason", "业务调整"),
            ],
        )
        .await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    let list = dept.get("/requests").await.text().await.unwrap();
    assert!(list.contains("终止授权"));
    let form = staff
        .get("/requests/new/adjustment")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("（0～100）A"),
        "the adjustment form lists the items"
    );
    assert_eq!(dept.get("/requests/new/head").await.status(), 200);
    assert_eq!(dept.get("/requests/new/nonsense").await.status(), 404);
}

#[tokio::test]
async fn an_adjusted_region_stays_within_the_authorizing_regulators_jurisdiction_r13_2() {
    let app = TestApp::spawn().await;
    let dept = app.login("dept.officer").await;
    let station = app.station_id("GD-EP-01").await;
    // R13.2 with R6.2: 广东 cannot extend a local station into 广西.
    let res = dept
        .post_json(
            "/api/v1/adjustments",
            &json!({"station_id": station, "reason": "扩大区域", "region": ["440000", "450000"]}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["field"], "region");
    assert!(matches!(
        e["error"]["fields"][0]["code"].as_str(),
        Some("other_regulator" | "no_receiving_regulator")
    ));
    // 广州 alone would be 广州市's to authorize (R6.2), not 广东's.
    let res = dept
        .post_json(
            "/api/v1/adjustments",
            &json!({"station_id": station, "reason": "收窄区域", "region": ["440100"]}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["code"], "other_regulator");
}

#[tokio::test]
async fn a_station_cannot_edit_its_departments_head_appointment_draft_r11_1() {
    let app = TestApp::spawn().await;
    let dept = app.login("dept.officer").await;
    let staff = app.login("station.staff").await;
    let station = app.station_id("GD-EP-01").await;
    let r = create(
        &dept,
        "/api/v1/head-appointments",
        json!({"station_id": station, "person_name": "张伟", "reason": "任命"}),
    )
    .await;
    let res = staff
        .put_json(
            &format!("/api/v1/lifecycle-requests/{}", r["id"].as_str().unwrap()),
            &json!({"version": r["version"], "person_name": "王五", "reason": "改"}),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
    let (_, again) = dept
        .json(&format!(
            "/api/v1/lifecycle-requests/{}",
            r["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(again["payload"]["person_name"], "张伟");
    // Under the app role, the station cannot approve a request either.
    let rows = app
        .as_app_role(
            Some("station.staff"),
            "select request_id::text from lifecycle_request where state = 'approved'",
        )
        .await;
    assert!(rows.is_empty());
}

#[tokio::test]
async fn a_request_on_an_authorization_that_ended_meanwhile_is_not_approved() {
    let app = TestApp::spawn().await;
    let dept = app.login("dept.officer").await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let station = app.station_id("GD-EP-01").await;
    let (auth, _, _, _, _) = authorization(&app, "GD-EP-01").await;
    let r = create(
        &dept,
        "/api/v1/adjustments",
        json!({"station_id": station, "reason": "区域", "region": ["440100", "440300"]}),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    ok(&dept, &id, "submit", json!({})).await;
    ok(&reviewer, &id, "propose", json!({"decision": "approve"})).await;
    // Meanwhile the authorization is revoked.
    sqlx::query("update station_authorization set status = 'revoked', ended_on = current_date where authorization_id = $1")
        .bind(auth)
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, r) = dept.json(&format!("/api/v1/lifecycle-requests/{id}")).await;
    let res = step(&approver, &id, "confirm", json!({"version": r["version"]})).await;
    assert_error(res, 409, "no_longer_applies").await;
    let (status,): (String,) =
        sqlx::query_as("select status from station_authorization where authorization_id = $1")
            .bind(auth)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "revoked", "a revoked authorization stays revoked");
}

#[tokio::test]
async fn queue_counts_show_what_waits_for_whom_and_what_is_overdue() {
    let app = TestApp::spawn().await;
    let dept = app.login("dept.officer").await;
    let reviewer = app.login("gd.reviewer").await;
    let station = app.station_id("GD-EP-01").await;
    let end = jiliang::rules::termination::earliest_end_date(today());
    let r = create(
        &dept,
        "/api/v1/terminations",
        json!({"station_id": station, "end_date": end, "reason": "终止"}),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let count = |v: &Value, kind: &str, key: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind)
            .unwrap()[key]
            .as_i64()
            .unwrap()
    };
    let (_, c) = dept.json("/api/v1/lifecycle-requests/counts").await;
    assert_eq!(
        count(&c, "termination", "awaiting_me"),
        1,
        "a draft waits for the department"
    );
    ok(&dept, &id, "submit", json!({})).await;
    let (_, c) = reviewer.json("/api/v1/lifecycle-requests/counts").await;
    assert_eq!(count(&c, "termination", "awaiting_me"), 1);
    assert_eq!(count(&c, "termination", "overdue"), 0);
    // Filed long ago: past the 20 working days.
    sqlx::query("update lifecycle_request set filed_on = '2025-09-01' where request_id = $1::uuid")
        .bind(&id)
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, c) = reviewer.json("/api/v1/lifecycle-requests/counts").await;
    assert_eq!(count(&c, "termination", "overdue"), 1);
    assert_eq!(count(&c, "termination", "open"), 1);
}

/// The one rule for unmet Art 7 conditions serves adjustments too (R13.2,
/// requirements §4): an added item whose conditions are unmet can be
/// proposed; at the approval each is verified by the assessment or
/// overridden by the approver with a reason, else the approval is refused;
/// the authorization's certificate record keeps them.
#[tokio::test]
async fn an_added_item_with_unmet_conditions_is_approved_only_when_each_is_settled_r13_2() {
    let app = TestApp::spawn().await;
    let staff = app.login("station.staff").await;
    let dept = app.login("dept.officer").await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let station = app.station_id("GD-EP-01").await;
    let (auth, _, _, _, _) = authorization(&app, "GD-EP-01").await;
    let r = create(
        &staff,
        "/api/v1/adjustments",
        json!({"station_id": station, "reason": "新增水表检定",
               "changes": [{"op": "add", "item": {"name": "冷水水表", "range_text": "（0.01～16）m³/h",
                 "accuracy_text": "2级", "task_types": ["verification"], "specification": "JJG162-2019"}}]}),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let keys: Vec<String> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        keys.contains(&"no_covering_standard:1".to_owned()),
        "{keys:?}"
    );
    ok(&dept, &id, "submit", json!({})).await;
    ok(
        &reviewer,
        &id,
        "assessment",
        json!({"date": jiliang::web::today(), "team": "李工（组长）", "outcome": "pass",
               "verified": {"no_covering_standard:1": "现场核查：水表检定装置已建成并经考核"}}),
    )
    .await;
    // Unmet conditions no longer stop the proposal.
    let r = ok(&reviewer, &id, "propose", json!({"decision": "approve"})).await;
    assert_eq!(r["state"], "proposed");
    let (_, r) = approver
        .json(&format!("/api/v1/lifecycle-requests/{id}"))
        .await;
    let open: Vec<&str> = r["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "open")
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert!(
        !open.is_empty() && !open.contains(&"no_covering_standard:1"),
        "{open:?}"
    );
    let res = step(
        &approver,
        &id,
        "confirm",
        json!({"version": r["version"], "overrides": {}}),
    )
    .await;
    let body = assert_error(res, 422, "validation").await;
    assert!(body["error"]["fields"][0]["field"]
        .as_str()
        .unwrap()
        .starts_with("conditions."));
    let overrides = common::override_all_open(&r);
    let r = ok(&approver, &id, "confirm", json!({"overrides": overrides})).await;
    assert_eq!(r["state"], "approved");
    let (_, kept) = approver
        .json(&format!("/api/v1/authorizations/{auth}/conditions"))
        .await;
    let kept = kept.as_array().unwrap();
    assert!(kept.iter().any(|c| c["state"] == "verified"));
    assert_eq!(
        kept.iter().filter(|c| c["state"] == "overridden").count(),
        open.len()
    );
}
