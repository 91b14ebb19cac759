//! My work (issue 16): each deadline on the right user's list with its due
//! date, gone when done (R6.4, R16.4, R18.1); reminders at lead times in one
//! digest per user per day, also under two concurrent runs, by e-mail into
//! the file transport; escalation after N working days on the calendar
//! (R18.1, R18.2); another organization never sees an item; preferences and
//! the policy with stale edits refused.

mod common;

use chrono::{Datelike, Days, NaiveDate};
use common::{assert_error, completed_inspection, created, okj, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

fn today() -> NaiveDate {
    jiliang::web::today()
}

async fn tasks(c: &common::Client, query: &str) -> Vec<Value> {
    let v = okj(c.get(&format!("/api/v1/tasks{query}")).await).await;
    v["tasks"].as_array().unwrap().clone()
}

/// The task of `key` (kind:record), whatever its due date (the key's last part).
fn with_key<'a>(list: &'a [Value], key: &str) -> Option<&'a Value> {
    list.iter().find(|t| {
        t["key"]
            .as_str()
            .is_some_and(|k| k.starts_with(&format!("{key}:")))
    })
}

/// Signed in as a reviewer of the regulator an application was filed with.
async fn application_reviewer(app: &TestApp, application_id: &str) -> common::Client {
    let reviewer: String = sqlx::query_scalar(
        "select u.username from application a join app_user u on u.organization_id = a.regulator_id
          where a.application_id = $1::uuid and 'reviewer' = any (u.roles) order by u.username limit 1",
    )
    .bind(application_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    app.login(&reviewer).await
}

/// The first in-service standard of a station, its traceability due set to
/// `due` (R16.4).
async fn standard_due(app: &TestApp, station: &str, due: NaiveDate) -> Uuid {
    let id: Uuid = sqlx::query_scalar(
        "select m.standard_id from measurement_standard m join station s using (station_id)
          where s.code = $1 and m.status = 'in_service' order by m.name limit 1",
    )
    .bind(station)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("update traceability_record set due_on = $2 where standard_id = $1")
        .bind(id)
        .bind(due)
        .execute(&app.pool)
        .await
        .unwrap();
    id
}

/// A rectification order of GD-EP-01 issued by 广东, open.
async fn open_order(app: &TestApp) -> (String, Value) {
    let i = completed_inspection(app, "GD-EP-01", "nonconforming").await;
    let reviewer = app.login("gd.reviewer").await;
    let order = created(
        reviewer
            .post_json(
                &format!(
                    "/api/v1/inspections/{}/rectification-orders",
                    i["id"].as_str().unwrap()
                ),
                &json!({"areas": ["fees"], "description": "退还多收费用", "period_unit": "calendar_days",
                        "period_days": 30, "issued_on": today().to_string()}),
            )
            .await,
    )
    .await;
    (order["id"].as_str().unwrap().to_owned(), order)
}

#[tokio::test]
async fn each_deadline_is_on_the_right_list_with_its_due_date_and_leaves_when_done_r18_1_r16_4() {
    let app = TestApp::spawn().await;
    // R18.1: an open order waits for the station, due on its date.
    let (order_id, order) = open_order(&app).await;
    let station = app.login("station.staff").await;
    let key = format!("order_report:{order_id}");
    let list = tasks(&station, "").await;
    let t = with_key(&list, &key).expect("the station reports");
    assert_eq!(t["due_on"], order["due_on"]);
    assert_eq!(t["days_left"], 30);
    assert_eq!(t["mine"], true);
    assert_eq!(t["link"], format!("/rectification-orders/{order_id}"));
    assert_eq!(t["rule"], "R18.1");
    // Not the regulator's yet; the other station's staff never sees it.
    let gd = app.login("gd.reviewer").await;
    assert!(with_key(&tasks(&gd, "?scope=org").await, &key).is_none());
    let other = app.login("station2.staff").await;
    assert!(with_key(&tasks(&other, "?scope=org").await, &key).is_none());
    // Reported: gone from the station, the regulator's reviewer accepts.
    let o = okj(station
        .get(&format!("/api/v1/rectification-orders/{order_id}"))
        .await)
    .await;
    okj(station
        .post_json(
            &format!("/api/v1/rectification-orders/{order_id}/report"),
            &json!({"version": o["version"], "report": "已退还多收费用并公示收费标准"}),
        )
        .await)
    .await;
    assert!(with_key(&tasks(&station, "?scope=org").await, &key).is_none());
    let accept = format!("order_accept:{order_id}");
    let list = tasks(&gd, "").await;
    assert_eq!(with_key(&list, &accept).expect("gd accepts")["mine"], true);
    let approver = app.login("gd.approver").await;
    let theirs = tasks(&approver, "?scope=org").await;
    assert_eq!(
        with_key(&theirs, &accept).unwrap()["mine"],
        false,
        "a reviewer's step"
    );
    assert!(
        with_key(&tasks(&approver, "").await, &accept).is_none(),
        "not in the approver's own list"
    );

    // R16.4: a standard whose traceability falls due in 20 days.
    let due = today().checked_add_days(Days::new(20)).unwrap();
    let sid = standard_due(&app, "GD-EP-01", due).await;
    let list = tasks(&station, "?kind=standard_traceability").await;
    let t = with_key(&list, &format!("standard_traceability:{sid}")).expect("listed");
    assert_eq!(t["due_on"], due.to_string());
    assert!(list.iter().all(|t| t["kind"] == "standard_traceability"));

    // R6.4: an application submitted to its regulator: the acceptance step
    // on a reviewer's list, due on the clock's date.
    let app_id = common::submitted_application(&app).await;
    let r = application_reviewer(&app, &app_id).await;
    let list = tasks(&r, "").await;
    let t = with_key(&list, &format!("application_accept:{app_id}")).expect("the reviewer accepts");
    let (_, a) = r.json(&format!("/api/v1/applications/{app_id}")).await;
    assert_eq!(t["due_on"], a["clocks"][0]["due"], "the clock's due date");
    // The department that filed it sees none of the regulator's steps.
    let dept = app.login("cnpc.officer").await;
    assert!(with_key(
        &tasks(&dept, "?scope=org").await,
        &format!("application_accept:{app_id}")
    )
    .is_none());

    // Bad filters are named.
    assert_error(
        station.get("/api/v1/tasks?scope=all&kind=x&limit=0").await,
        422,
        "validation",
    )
    .await;
    // The page.
    let page = station.get("/tasks").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("计量标准送检溯源"), "{html}");
}

#[tokio::test]
async fn an_overdue_order_escalates_after_n_working_days_to_the_department_r18_1_r18_2() {
    let app = TestApp::spawn().await;
    let (order_id, _) = open_order(&app).await;
    let key = format!("order_report:{order_id}");
    let dept_user: String = sqlx::query_scalar(
        "select u.username from app_user u join station s on s.department_id = u.organization_id
          where s.code = 'GD-EP-01' and 'officer' = any (u.roles) order by u.username limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let dept = app.login(&dept_user).await;
    // Overdue by one day: the department does not see it yet.
    let set_due = |d: NaiveDate| {
        let pool = app.pool.clone();
        let id = order_id.clone();
        async move {
            sqlx::query("update rectification_order set due_on = $2, extended_due_on = null where order_id = $1::uuid")
                .bind(id)
                .bind(d)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    set_due(today().checked_sub_days(Days::new(1)).unwrap()).await;
    let station = app.login("station.staff").await;
    let t = tasks(&station, "").await;
    let t = with_key(&t, &key).unwrap().clone();
    assert_eq!(t["urgency"], "overdue");
    assert_eq!(t["escalated"], false);
    assert!(with_key(&tasks(&dept, "?scope=org").await, &key).is_none());
    // Overdue by a month (more than 5 working days on any calendar): the
    // competent department sees it, escalated (R18.2).
    set_due(today().checked_sub_days(Days::new(30)).unwrap()).await;
    let list = tasks(&dept, "").await;
    let t = with_key(&list, &key).expect("escalated to the department");
    assert_eq!(t["escalated"], true);
    assert_eq!(t["mine"], true);
    // Another department never does.
    let cnpc = app.login("cnpc.officer").await;
    assert!(with_key(&tasks(&cnpc, "?scope=org").await, &key).is_none());
}

#[tokio::test]
async fn lead_times_make_one_digest_per_user_per_day_even_under_two_runs_and_it_is_e_mailed() {
    let app = TestApp::spawn().await;
    let dir = std::env::temp_dir().join(format!("jiliang-mail-{}", Uuid::new_v4()));
    let mail = jiliang::tasks::mail::Mail::to_dir(&dir, "平台 <noreply@example.com>").unwrap();
    sqlx::query(
        "update app_user set email = 'liufang@example.com' where username = 'station.staff'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let day = today();
    // R16.4: traceability due in 7 days (the 7-day lead time).
    let sid = standard_due(
        &app,
        "GD-EP-01",
        day.checked_add_days(Days::new(7)).unwrap(),
    )
    .await;
    let key = format!("standard_traceability:{sid}");
    // Two runs at once: one digest per user per day (the key, not a check).
    let (a, b) = tokio::join!(
        jiliang::tasks::digest::run(&app.pool, &mail, day),
        jiliang::tasks::digest::run(&app.pool, &mail, day)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let user = common::user_id(&app, "station.staff").await;
    let digests: Vec<(NaiveDate, Value)> =
        sqlx::query_as("select day, items from task_digest where user_id = $1")
            .bind(user)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(digests.len(), 1, "one digest: {a:?} {b:?}");
    let items = digests[0].1.as_array().unwrap();
    let item = items
        .iter()
        .find(|i| i["key"].as_str().unwrap().starts_with(&format!("{key}:")))
        .expect("the standard is in it");
    assert_eq!(item["stage"], "7");
    let keys: std::collections::HashSet<&str> =
        items.iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), items.len(), "each task once");
    // Every digest of the day went out once by e-mail (the file transport).
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|m| m.contains("liufang@example.com"))
        .collect();
    assert_eq!(files.len(), 1, "one e-mail to station.staff");
    assert!(files[0].contains("Subject:"));
    assert_eq!(
        a.emailed + b.emailed,
        1,
        "only station.staff has an address"
    );
    // The same day again: nothing new. The next day: nothing crossed.
    let again = jiliang::tasks::digest::run(&app.pool, &mail, day)
        .await
        .unwrap();
    assert_eq!(again.digests, 0);
    let next = day.checked_add_days(Days::new(1)).unwrap();
    jiliang::tasks::digest::run(&app.pool, &mail, next)
        .await
        .unwrap();
    let count: i64 =
        sqlx::query_scalar("select count(*) from task_digest where user_id = $1 and day = $2")
            .bind(user)
            .bind(next)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(count, 0, "a user with nothing new gets nothing");
    // Once overdue, one more reminder, in a digest of that day.
    let late = day.checked_add_days(Days::new(8)).unwrap();
    let r = jiliang::tasks::digest::run(&app.pool, &mail, late)
        .await
        .unwrap();
    assert!(r.digests >= 1);
    let items: Value =
        sqlx::query_scalar("select items from task_digest where user_id = $1 and day = $2")
            .bind(user)
            .bind(late)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(items.as_array().unwrap().iter().any(|i| i["key"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{key}:"))
        && i["stage"] == "overdue"));
    // The user reads them; nobody else can.
    let c = app.login("station.staff").await;
    let mine = okj(c.get("/api/v1/tasks/digests").await).await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
    let other = app.login("station2.staff").await;
    assert!(okj(other.get("/api/v1/tasks/digests").await)
        .await
        .as_array()
        .unwrap()
        .is_empty());
    let page = c.get(&format!("/tasks/digests/{day}")).await;
    assert_eq!(page.status(), 200);
    // Turned off: the next digest is not e-mailed.
    let p = okj(c.get("/api/v1/profile/preferences").await).await;
    okj(c
        .put_json(
            "/api/v1/profile/preferences",
            &json!({"lang": "en", "email_opt_out": true, "version": p["version"]}),
        )
        .await)
    .await;
    standard_due(
        &app,
        "GD-EP-01",
        late.checked_add_days(Days::new(30)).unwrap(),
    )
    .await;
    let mails = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .filter(|m| m.contains("liufang@example.com"))
            .count()
    };
    let before = mails(&dir);
    assert_eq!(before, 2, "the day's and the overdue one's");
    let r = jiliang::tasks::digest::run(
        &app.pool,
        &mail,
        late.checked_add_days(Days::new(1)).unwrap(),
    )
    .await
    .unwrap();
    assert!(r.digests >= 1, "{r:?}");
    assert_eq!(mails(&dir), before, "no e-mail to a user who turned it off");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn preferences_and_the_policy_refuse_stale_and_bad_edits() {
    let app = TestApp::spawn().await;
    let c = app.login("gd.reviewer").await;
    let p = okj(c.get("/api/v1/profile/preferences").await).await;
    assert_eq!(
        (p["lang"].as_str(), p["version"].as_i64()),
        (Some("zh"), Some(0))
    );
    let saved = okj(c
        .put_json(
            "/api/v1/profile/preferences",
            &json!({"lang": "en", "email_opt_out": true, "version": 0}),
        )
        .await)
    .await;
    assert_eq!(saved["version"], 1);
    assert_error(
        c.put_json(
            "/api/v1/profile/preferences",
            &json!({"lang": "zh", "email_opt_out": false, "version": 0}),
        )
        .await,
        409,
        "stale",
    )
    .await;
    assert_error(
        c.put_json(
            "/api/v1/profile/preferences",
            &json!({"lang": "fr", "email_opt_out": false, "version": 1}),
        )
        .await,
        422,
        "validation",
    )
    .await;
    // Another user's preferences are their own.
    let other = app.login("gd.approver").await;
    let p = okj(other.get("/api/v1/profile/preferences").await).await;
    assert_eq!(p["version"], 0);
    // The page keeps a refused choice.
    let res = c
        .post_form("/profile", &[("lang", "zh"), ("version", "0")])
        .await;
    assert_eq!(res.status(), 409);
    let res = c
        .post_form(
            "/profile",
            &[("lang", "zh"), ("email", "on"), ("version", "1")],
        )
        .await;
    assert_eq!(res.status(), 303);

    // The policy: the operator only, a stale version refused.
    let body = json!({"lead_days": [30, 7], "escalate_after_working_days": 3, "version": 1});
    assert_error(
        c.put_json("/api/v1/admin/reminder-policy", &body).await,
        403,
        "forbidden",
    )
    .await;
    let op = app.login("operator").await;
    let saved = okj(op.put_json("/api/v1/admin/reminder-policy", &body).await).await;
    assert_eq!(saved["lead_days"], json!([30, 7]));
    assert_error(
        op.put_json("/api/v1/admin/reminder-policy", &body).await,
        409,
        "stale",
    )
    .await;
    let bad = json!({"lead_days": [0, 400], "escalate_after_working_days": 99, "version": 2});
    let e = assert_error(
        op.put_json("/api/v1/admin/reminder-policy", &bad).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(e["error"]["fields"].as_array().unwrap().len(), 2, "{e}");
    assert_eq!(op.get("/admin/reminders").await.status(), 200);
    let res = op
        .post_form(
            "/admin/reminders",
            &[
                ("lead_days", "60 x"),
                ("escalate_after_working_days", "5"),
                ("version", "2"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text().await.unwrap().contains("value=\"60 x\""),
        "the input is kept"
    );
}

#[tokio::test]
async fn inspections_qualifications_reexaminations_and_the_calendar_reach_their_users_r14_1_r16_6_r17_2(
) {
    let app = TestApp::spawn().await;
    let gd = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let station = app.login("station.staff").await;
    // R17.2: a planned inspection assigned to gd.reviewer: theirs, due on
    // the planned date; the approver's organization list shows it, not as
    // the approver's own; gone once recorded, then the approver approves.
    let st = app.station_id("GD-EP-01").await;
    let planned = today().checked_add_days(Days::new(10)).unwrap();
    let i = created(
        gd.post_json(
            "/api/v1/inspections",
            &json!({"station_id": st, "planned_on": planned.to_string(),
                    "inspectors": [common::user_id(&app, "gd.reviewer").await]}),
        )
        .await,
    )
    .await;
    let id = i["id"].as_str().unwrap().to_owned();
    let key = format!("inspection_record:{id}");
    let list = tasks(&gd, "").await;
    let t = with_key(&list, &key).expect("the inspector records");
    assert_eq!(
        (t["due_on"].as_str(), t["mine"].as_bool()),
        (Some(planned.to_string().as_str()), Some(true))
    );
    assert_eq!(
        with_key(&tasks(&approver, "?scope=org").await, &key).unwrap()["mine"],
        false
    );
    assert!(
        with_key(&tasks(&station, "?scope=org").await, &key).is_none(),
        "not the station's"
    );
    okj(gd
        .put_json(
            &format!("/api/v1/inspections/{id}/record"),
            &common::record(&i["version"], "conforming"),
        )
        .await)
    .await;
    assert!(with_key(&tasks(&gd, "?scope=org").await, &key).is_none());
    assert!(with_key(
        &tasks(&approver, "").await,
        &format!("inspection_approve:{id}")
    )
    .is_some());

    // R16.6: a qualification (test data) expiring in 40 days, on the
    // station's list.
    let (person_id, person): (Uuid, String) = sqlx::query_as(
        "select p.staff_member_id, p.name from staff_member p join station s using (station_id)
          where s.code = 'GD-EP-01' order by p.name limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let expires = today().checked_add_days(Days::new(40)).unwrap();
    let qid = Uuid::new_v4();
    sqlx::query(
        "insert into qualification (qualification_id, staff_member_id, station_id, kind, certificate_number,
           items, issued_on, expires_on)
         values ($1, $2, $3, 'verifier_certificate', '测试资格-0001', '{测试项目}', $4, $5)",
    )
    .bind(qid)
    .bind(person_id)
    .bind(st)
    .bind(today().checked_sub_days(Days::new(300)).unwrap())
    .bind(expires)
    .execute(&app.pool)
    .await
    .unwrap();
    let list = tasks(&station, "?kind=qualification_expiry").await;
    let t = with_key(&list, &format!("qualification_expiry:{qid}")).expect("listed");
    assert_eq!(t["due_on"], expires.to_string());
    assert!(t["subject"].as_str().unwrap().contains(&person));

    // R14.1: an authorization expiring within six months reminds both sides.
    let auth: Uuid = sqlx::query_scalar(
        "select a.authorization_id from station_authorization a join station s using (station_id)
          where s.code = 'GD-EP-01' and a.status = 'active' limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let until = today().checked_add_days(Days::new(120)).unwrap();
    sqlx::query("update station_authorization set valid_until = $2 where authorization_id = $1")
        .bind(auth)
        .bind(until)
        .execute(&app.pool)
        .await
        .unwrap();
    let key = format!("reexamination:{auth}");
    for c in [&station, &gd] {
        let list = tasks(c, "").await;
        let t = with_key(&list, &key).expect("both sides");
        assert_eq!(t["due_on"], until.to_string());
    }
    let other = app.login("station2.staff").await;
    assert!(with_key(&tasks(&other, "?scope=org").await, &key).is_none());

    // R18.1: the operator loads next year's holiday calendar from 1 October
    // (the 2027 arrangement is not known here, so it is not loaded).
    let op = app.login("operator").await;
    let list = tasks(&op, "").await;
    if today() >= NaiveDate::from_ymd_opt(2026, 10, 1).unwrap() && today().year_ce().1 == 2026 {
        let t = list
            .iter()
            .find(|t| t["kind"] == "calendar_load")
            .expect("the operator's");
        assert_eq!(t["due_on"], "2026-12-31");
    }
    assert!(tasks(&gd, "?scope=org")
        .await
        .iter()
        .all(|t| t["kind"] != "calendar_load"));
}

#[tokio::test]
async fn the_language_saved_in_the_profile_follows_the_user_to_a_new_browser() {
    let app = TestApp::spawn().await;
    let c = app.login("gd.reviewer").await;
    okj(c
        .put_json(
            "/api/v1/profile/preferences",
            &json!({"lang": "en", "email_opt_out": false, "version": 0}),
        )
        .await)
    .await;
    // A fresh browser signs in through the form: the page language is set.
    let fresh = app.client();
    let res = fresh
        .post_form(
            "/login",
            &[
                ("username", "gd.reviewer"),
                ("password", "demo-pass-2025"),
                ("next", "/tasks"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("lang=en")),
        "{cookies:?}"
    );
    // Another user's choice is not applied to gd.approver.
    let other = app.client();
    let res = other
        .post_form(
            "/login",
            &[("username", "gd.approver"), ("password", "demo-pass-2025")],
        )
        .await;
    assert!(!res
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("lang=")));
}

/// R12.4: a standard's change request waits for the issuer's reviewer,
/// then (proposed) for an approver, and leaves both lists when decided;
/// the station and another regulator never have it.
#[tokio::test]
async fn a_standards_change_request_goes_from_reviewer_to_approver_and_leaves_when_decided_r12_4() {
    let app = TestApp::spawn().await;
    let station = app.login("station.staff").await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let other = app.login("samr.reviewer").await;
    let std: Uuid = sqlx::query_scalar(
        "select m.standard_id from measurement_standard m join station s using (station_id)
          where s.code = 'GD-EP-01' and m.status = 'in_service' order by m.name limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let req = created(
        station
            .post_json(
                &format!("/api/v1/standards/{std}/change-requests"),
                &json!({"change_kind": "specification", "reason": "规程换版",
                        "changes": {"specification": "JJG 596-2012"}}),
            )
            .await,
    )
    .await;
    let rid = req["id"].as_str().unwrap().to_owned();
    let key = format!("change_propose:{rid}");
    let req = okj(station
        .post_json(
            &format!("/api/v1/change-requests/{rid}/submit"),
            &json!({"version": req["version"]}),
        )
        .await)
    .await;
    let list = tasks(&reviewer, "").await;
    let t = with_key(&list, &key).expect("the reviewer proposes");
    assert_eq!(t["link"], format!("/change-requests/{rid}"));
    assert_eq!(t["mine"], true);
    assert!(with_key(&tasks(&approver, "").await, &key).is_none());
    assert!(with_key(&tasks(&approver, "?scope=org").await, &key).is_some());
    for c in [&station, &other] {
        assert!(with_key(&tasks(c, "?scope=org").await, &key).is_none());
    }
    let req = okj(reviewer
        .post_json(
            &format!("/api/v1/change-requests/{rid}/propose"),
            &json!({"version": req["version"], "decision": "approve", "note": "核查无误"}),
        )
        .await)
    .await;
    let decide = format!("change_decide:{rid}");
    assert!(with_key(&tasks(&reviewer, "").await, &key).is_none());
    assert!(with_key(&tasks(&approver, "").await, &decide).is_some());
    okj(approver
        .post_json(
            &format!("/api/v1/change-requests/{rid}/confirm"),
            &json!({"version": req["version"]}),
        )
        .await)
    .await;
    for c in [&reviewer, &approver] {
        let list = tasks(c, "?scope=org").await;
        assert!(with_key(&list, &key).is_none() && with_key(&list, &decide).is_none());
    }
}

/// R15.1, R15.2: a termination request waits for the reviewer (by the
/// request's own due date), then for an approver; once approved, the
/// station and its department see it take effect on the end date, and
/// nothing is left once the job has ended the authorization.
#[tokio::test]
async fn a_termination_request_is_proposed_decided_and_then_takes_effect_on_both_lists_r15_2() {
    let app = TestApp::spawn().await;
    let staff = app.login("station.staff").await;
    let dept = app.login("dept.officer").await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let station = app.station_id("GD-EP-01").await;
    let end = jiliang::rules::termination::earliest_end_date(today());
    let r = created(
        staff
            .post_json(
                "/api/v1/terminations",
                &json!({"station_id": station, "end_date": end, "reason": "业务划转"}),
            )
            .await,
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let step = |c: &common::Client, name: &'static str, body: Value| {
        let (c, id) = (c.clone(), id.clone());
        async move {
            let (_, cur) = c.json(&format!("/api/v1/lifecycle-requests/{id}")).await;
            let mut body = body;
            body["version"] = cur["version"].clone();
            if name == "confirm" {
                body["overrides"] = common::override_all_open(&cur);
            }
            okj(c
                .post_json(&format!("/api/v1/lifecycle-requests/{id}/{name}"), &body)
                .await)
            .await
        }
    };
    // A draft is nobody's task at the regulator.
    assert!(with_key(
        &tasks(&reviewer, "?scope=org").await,
        &format!("request_propose:{id}")
    )
    .is_none());
    let r = step(&dept, "submit", json!({})).await;
    let list = tasks(&reviewer, "").await;
    let t = with_key(&list, &format!("request_propose:{id}")).expect("the reviewer proposes");
    assert_eq!(t["due_on"], r["due"], "the request's own due date");
    assert_eq!(t["link"], format!("/requests/{id}"));
    step(&reviewer, "propose", json!({"decision": "approve"})).await;
    assert!(with_key(
        &tasks(&reviewer, "").await,
        &format!("request_propose:{id}")
    )
    .is_none());
    assert!(with_key(&tasks(&approver, "").await, &format!("request_decide:{id}")).is_some());
    let r = step(&approver, "confirm", json!({})).await;
    assert_eq!(r["state"], "approved");
    assert!(with_key(
        &tasks(&approver, "?scope=org").await,
        &format!("request_decide:{id}")
    )
    .is_none());
    let key = format!("termination_effective:{id}");
    for c in [&staff, &dept] {
        let list = tasks(c, "").await;
        let t = with_key(&list, &key).expect("the termination takes effect");
        assert_eq!(t["due_on"], end.to_string());
    }
    assert!(with_key(&tasks(&reviewer, "?scope=org").await, &key).is_none());
    jiliang::lifecycle::job::run(&app.pool, end).await.unwrap();
    for c in [&staff, &dept] {
        assert!(with_key(&tasks(c, "?scope=org").await, &key).is_none());
    }
}

/// The list pages by a key cursor: walking `next` gives every task once,
/// in order; a cursor that is not a key is refused beside its field.
#[tokio::test]
async fn the_task_list_pages_by_key_and_every_task_comes_once() {
    let app = TestApp::spawn().await;
    let gd = app.login("station.staff").await;
    let whole = okj(gd.get("/api/v1/tasks?scope=org&limit=500").await).await;
    let all: Vec<String> = whole["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        all.len() >= 3,
        "the demo gives the station several tasks: {all:?}"
    );
    assert!(whole["next"].is_null());
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            None => "/api/v1/tasks?scope=org&limit=2".to_owned(),
            Some(a) => format!(
                "/api/v1/tasks?scope=org&limit=2&after={}",
                jiliang::web::url_encode(a)
            ),
        };
        let page = okj(gd.get(&path).await).await;
        assert_eq!(page["total"].as_u64().unwrap() as usize, all.len());
        for t in page["tasks"].as_array().unwrap() {
            seen.push(t["key"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, all);
    assert_error(
        gd.get("/api/v1/tasks?after=nonsense").await,
        422,
        "validation",
    )
    .await;
    // The page shows the next page's link.
    let html = gd
        .get("/tasks?scope=org&limit=2")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("rel=\"next\""));
}

/// The clocks the list computes from the dates its one statement returns
/// agree with the workflows': a correction notice moves an application to
/// its department with no due date (R6.4, the clock paused); a scheduled
/// re-examination is due on its date and ends the authorization's
/// reminder (R14.1); a standard's re-assessment is due six months before
/// its certificate expires, and one further out is not listed (R12.3).
#[tokio::test]
async fn clocks_from_the_single_statement_match_the_workflows_r6_4_r12_3_r14_1() {
    let app = TestApp::spawn().await;

    // R6.4: correction requested: the department's task, undated; the
    // regulator's acceptance leaves; resubmitted, it comes back.
    let app_id = common::submitted_application(&app).await;
    let r = application_reviewer(&app, &app_id).await;
    let (_, a) = r.json(&format!("/api/v1/applications/{app_id}")).await;
    okj(r
        .post_json(
            &format!("/api/v1/applications/{app_id}/correction"),
            &json!({"version": a["version"], "items": ["缺少授权项目表（测试）"]}),
        )
        .await)
    .await;
    let dept = app.login("cnpc.officer").await;
    let list = tasks(&dept, "").await;
    let t =
        with_key(&list, &format!("application_correct:{app_id}")).expect("the department corrects");
    assert_eq!(
        (t["due_on"].clone(), t["mine"].clone()),
        (Value::Null, json!(true))
    );
    let station_name: String = sqlx::query_scalar(
        "select o.name from application a join organization o on o.organization_id = a.station_id
          where a.application_id = $1::uuid",
    )
    .bind(&app_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        t["subject"],
        station_name.as_str(),
        "named by the one lookup"
    );
    let accept = format!("application_accept:{app_id}");
    assert!(with_key(&tasks(&r, "?scope=org").await, &accept).is_none());
    let (_, a) = dept.json(&format!("/api/v1/applications/{app_id}")).await;
    okj(dept
        .post_json(
            &format!("/api/v1/applications/{app_id}/resubmit"),
            &json!({"version": a["version"]}),
        )
        .await)
    .await;
    let list = tasks(&r, "").await;
    let t = with_key(&list, &accept).expect("back with the regulator");
    let (_, a) = r.json(&format!("/api/v1/applications/{app_id}")).await;
    let clock = a["clocks"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(t["due_on"], clock["due"], "the running clock's due date");
    assert!(with_key(
        &tasks(&dept, "?scope=org").await,
        &format!("application_correct:{app_id}")
    )
    .is_none());

    // R14.1: a re-examination scheduled in 14 days is the reviewer's to
    // propose by that date; the authorization's reminder leaves.
    let gd = app.login("gd.reviewer").await;
    let auth: Uuid = sqlx::query_scalar(
        "select a.authorization_id from station_authorization a join station s using (station_id)
          where s.code = 'GD-EP-01' and a.status = 'active' limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("update station_authorization set valid_until = $2 where authorization_id = $1")
        .bind(auth)
        .bind(today().checked_add_days(Days::new(90)).unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    let reminder = format!("reexamination:{auth}");
    assert!(with_key(&tasks(&gd, "").await, &reminder).is_some());
    let scheduled = today().checked_add_days(Days::new(14)).unwrap();
    let req = created(
        gd.post_json(
            "/api/v1/reexaminations",
            &json!({"authorization_id": auth, "scheduled_on": scheduled,
                    "team": "测试复查组", "reason": "授权有效期届满前复查（测试）"}),
        )
        .await,
    )
    .await;
    let list = tasks(&gd, "").await;
    let t = with_key(
        &list,
        &format!("request_propose:{}", req["id"].as_str().unwrap()),
    )
    .expect("the reviewer proposes");
    assert_eq!(t["due_on"], scheduled.to_string());
    assert!(t["subject"].as_str().unwrap().ends_with(" · 复查"), "{t}");
    assert!(with_key(&list, &reminder).is_none(), "under way");

    // R12.3: a certificate expiring in 200 days: apply six months before;
    // one expiring in three years is past the horizon.
    // (Test data: two standards registered as an approved registration
    // would leave them; a certificate changes only by a change request.)
    let st = app.station_id("GD-EP-01").await;
    let issuer = app.org_id("广东省市场监督管理局").await;
    let soon = today().checked_add_days(Days::new(200)).unwrap();
    let later = today().checked_add_days(Days::new(3 * 365)).unwrap();
    let mut standards = Vec::new();
    for (n, expires) in [(1, soon), (2, later)] {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into measurement_standard (standard_id, station_id, kind, name, range_text, accuracy_text,
               cert_number, cert_issuer_id, cert_issued_on, cert_expires_on)
             values ($1, $2, 'professional', '测试标准装置' || $3, '(1~100) m³/h', '0.2级', '测试-' || $3, $4,
                     $5, $6)",
        )
        .bind(id)
        .bind(st)
        .bind(n.to_string())
        .bind(issuer)
        .bind(today().checked_sub_days(Days::new(30)).unwrap())
        .bind(expires)
        .execute(&app.pool)
        .await
        .unwrap();
        standards.push(id);
    }
    let station = app.login("station.staff").await;
    let list = tasks(&station, "?kind=standard_reassessment").await;
    let t = with_key(&list, &format!("standard_reassessment:{}", standards[0])).expect("listed");
    assert_eq!(
        t["due_on"],
        jiliang::rules::calendar::sub_months(soon, 6).to_string()
    );
    assert!(
        t["subject"].as_str().unwrap().contains(&soon.to_string()),
        "{t}"
    );
    assert!(with_key(&list, &format!("standard_reassessment:{}", standards[1])).is_none());
    // Another station never sees it.
    let other = app.login("station2.staff").await;
    assert!(with_key(
        &tasks(&other, "?scope=org").await,
        &format!("standard_reassessment:{}", standards[0])
    )
    .is_none());
}
