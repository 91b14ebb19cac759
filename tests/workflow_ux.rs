//! Workflows as a newcomer meets them in the pages: a refused decision
//! keeps every choice and text and nothing comes preselected, irreversible
//! steps are confirmed, a GET on a POST-only address explains itself, the
//! language switch returns to the same page, an assessment outcome waits
//! for the assessment (R8.3).

mod common;

use common::{assert_error, created, okj, TestApp};
use serde_json::{json, Value};

/// A termination of GD-EP-01 filed by its department, waiting for the
/// regulator's reviewer.
async fn filed_termination(app: &TestApp) -> String {
    let staff = app.login("station.staff").await;
    let station = app.station_id("GD-EP-01").await;
    let end = jiliang::rules::termination::earliest_end_date(jiliang::web::today());
    let r = created(
        staff
            .post_json(
                "/api/v1/terminations",
                &json!({"station_id": station, "end_date": end, "reason": "业务调整"}),
            )
            .await,
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let dept = app.login("dept.officer").await;
    okj(dept
        .post_json(
            &format!("/api/v1/lifecycle-requests/{id}/submit"),
            &json!({"version": r["version"]}),
        )
        .await)
    .await;
    id
}

#[tokio::test]
async fn a_refused_decision_keeps_the_choice_and_the_text_and_nothing_is_preselected() {
    let app = TestApp::spawn().await;
    let id = filed_termination(&app).await;
    let reviewer = app.login("gd.reviewer").await;
    let page = reviewer
        .get(&format!("/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("value=\"approve\" checked") && !page.contains("value=\"refuse\" checked"),
        "no outcome preselected"
    );
    let (_, r) = reviewer
        .json(&format!("/api/v1/lifecycle-requests/{id}"))
        .await;
    let version = r["version"].to_string();
    // 不予批准 without a reason: refused, and the refusal stays chosen.
    let res = reviewer
        .post_form(
            &format!("/requests/{id}/propose"),
            &[
                ("version", version.as_str()),
                ("decision", "refuse"),
                ("reasons", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("value=\"refuse\" checked"),
        "the choice is kept"
    );
    assert!(!page.contains("value=\"approve\" checked"));
    // The message stands beside the reasons field, not only on top.
    let at = page.find("name=\"reasons\"").expect("the reasons field");
    let after = &page[at..];
    let field_end = after.find("</div>").unwrap();
    assert!(
        after[..field_end].contains("class=\"field-error\""),
        "the reasons field carries its message: {}",
        &after[..field_end]
    );
    // No choice at all is refused too, never taken as an approval.
    let res = reviewer
        .post_form(
            &format!("/requests/{id}/propose"),
            &[
                ("version", version.as_str()),
                ("reasons", "材料齐全，同意终止"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("材料齐全，同意终止"), "the text is kept");
    let (_, r) = reviewer
        .json(&format!("/api/v1/lifecycle-requests/{id}"))
        .await;
    assert_eq!(r["state"], "submitted", "nothing was proposed");
}

#[tokio::test]
async fn irreversible_steps_in_the_pages_need_the_confirmation_box() {
    let app = TestApp::spawn().await;
    // 以主管部门名义提出 (filing a request as the department).
    let staff = app.login("station.staff").await;
    let station = app.station_id("GD-EP-01").await;
    let end = jiliang::rules::termination::earliest_end_date(jiliang::web::today());
    let r = created(
        staff
            .post_json(
                "/api/v1/terminations",
                &json!({"station_id": station, "end_date": end, "reason": "业务调整"}),
            )
            .await,
    )
    .await;
    let id = r["id"].as_str().unwrap();
    let dept = app.login("dept.officer").await;
    let version = r["version"].to_string();
    let res = dept
        .post_form(
            &format!("/requests/{id}/submit"),
            &[("version", version.as_str())],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("请勾选确认"));
    let res = dept
        .post_form(
            &format!("/requests/{id}/submit"),
            &[("version", version.as_str()), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(res.status(), 303);
    // 受理 (accepting an application).
    let aid = common::submitted_application(&app).await;
    let reviewer = app.login("gd.reviewer").await;
    let (_, a) = reviewer.json(&format!("/api/v1/applications/{aid}")).await;
    let v = a["version"].to_string();
    let res = reviewer
        .post_form(
            &format!("/applications/{aid}/accept"),
            &[("version", v.as_str())],
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = reviewer
        .post_form(
            &format!("/applications/{aid}/accept"),
            &[("version", v.as_str()), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(res.status(), 303);
    // The assessment form, refused, keeps the team typed.
    let res = reviewer
        .post_form(
            &format!("/applications/{aid}/assessment"),
            &[("version", "0"), ("date", ""), ("team", "王明、李华")],
        )
        .await;
    assert!(res.status().is_client_error());
    let page = res.text().await.unwrap();
    assert!(page.contains("value=\"王明、李华\""));
    // R8.3: the outcome waits for the assessment's date.
    let (_, a) = reviewer.json(&format!("/api/v1/applications/{aid}")).await;
    let later = jiliang::web::today() + chrono::Duration::days(7);
    let a = okj(reviewer
        .post_json(
            &format!("/api/v1/applications/{aid}/assessment"),
            &json!({"version": a["version"], "date": later, "team": "陈晓"}),
        )
        .await)
    .await;
    let res = reviewer
        .post_json(
            &format!("/api/v1/applications/{aid}/assessment-outcome"),
            &json!({"version": a["version"], "outcome": "pass"}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["code"], "before_assessment");
}

#[tokio::test]
async fn a_get_on_a_post_only_address_explains_and_links_back() {
    let app = TestApp::spawn().await;
    let id = filed_termination(&app).await;
    let reviewer = app.login("gd.reviewer").await;
    let res = reviewer.get(&format!("/requests/{id}/propose")).await;
    assert_eq!(res.status(), 405);
    let page = res.text().await.unwrap();
    assert!(page.contains("只接受表单提交"));
    assert!(page.contains(&format!("href=\"/requests/{id}\"")));
    // The JSON API keeps a bare 405.
    let res = reviewer.get("/api/v1/session").await;
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn the_language_switch_returns_to_the_same_page_with_its_query() {
    let app = TestApp::spawn().await;
    let reviewer = app.login("gd.reviewer").await;
    let page = reviewer
        .get("/stations?tier=local&sort=code")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("name=\"next\" value=\"/stations?tier=local&#38;sort=code\""),
        "the switch returns to the page asked: {}",
        &page[page.find("name=\"next\"").unwrap_or(0)..][..120]
    );
    let res = reviewer
        .post_form(
            "/lang",
            &[("lang", "en"), ("next", "/stations?tier=local&sort=code")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/stations?tier=local&sort=code");
}

#[tokio::test]
async fn a_draw_with_fewer_inspectors_than_asked_per_station_says_so_r17_3() {
    let app = TestApp::spawn().await;
    let reviewer = app.login("gd.reviewer").await;
    let gd_ep = app.station_id("GD-EP-01").await;
    let me = common::user_id(&app, "gd.reviewer").await;
    let body = json!({"station_ids": [gd_ep], "inspector_ids": [me], "station_count": 1,
                      "inspectors_per_station": 2, "seed": "7", "planned_on": "2026-11-20"});
    let e = assert_error(
        reviewer.post_json("/api/v1/inspection-draws", &body).await,
        422,
        "validation",
    )
    .await;
    let f = &e["error"]["fields"][0];
    assert_eq!(f["code"], "pool_too_small");
    assert!(f["message"].as_str().unwrap().contains("只有 1 人"));
    // A draw that fits: its page links to the inspection it planned.
    let mut body = body;
    body["inspectors_per_station"] = json!(1);
    let d = created(reviewer.post_json("/api/v1/inspection-draws", &body).await).await;
    let draw = d["id"]
        .as_str()
        .or(d["draw"]["id"].as_str())
        .unwrap()
        .to_owned();
    let planned: uuid::Uuid =
        sqlx::query_scalar("select inspection_id from inspection where draw_id = $1::uuid")
            .bind(&draw)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let page = reviewer
        .get(&format!("/inspection-draws/{draw}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("href=\"/inspections/{planned}\"")),
        "the draw links to the inspection it planned"
    );
}

#[tokio::test]
async fn a_step_done_in_the_pages_says_so_and_names_the_next_step() {
    let app = TestApp::spawn().await;
    let id = filed_termination(&app).await;
    let reviewer = app.login("gd.reviewer").await;
    let page = reviewer
        .get(&format!("/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("下一步：授权部门审查员审查并提出意见"));
    let (_, r) = reviewer
        .json(&format!("/api/v1/lifecycle-requests/{id}"))
        .await;
    let version = r["version"].to_string();
    let res = reviewer
        .post_form(
            &format!("/requests/{id}/propose"),
            &[("version", version.as_str()), ("decision", "approve")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let loc = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(loc, format!("/requests/{id}?done=propose"));
    let page = reviewer.get(&loc).await.text().await.unwrap();
    assert!(page.contains("审查意见已提出，待审批人审批"));
    assert!(page.contains("下一步：提出意见者以外的另一位审批人审批"));
}

#[tokio::test]
async fn an_item_edited_while_its_row_says_keep_is_a_change_not_dropped_r13_2() {
    let app = TestApp::spawn().await;
    let dept = app.login("dept.officer").await;
    let station = app.station_id("GD-EP-01").await.to_string();
    let items: Vec<(i32, String, String, String, Vec<String>, String)> = sqlx::query_as(
        "select i.seq, i.name, i.range_text, i.accuracy_text, i.task_types, i.specification
           from authorization_item i join station_authorization a on a.authorization_id = i.authorization_id
           join station s on s.station_id = a.station_id
          where s.code = 'GD-EP-01' and a.status = 'active' order by i.seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(!items.is_empty());
    let mut form: Vec<(String, String)> = vec![
        ("version".into(), "0".into()),
        ("station_id".into(), station.clone()),
        ("reason".into(), "扩大测量范围".into()),
    ];
    for (i, (seq, name, range, acc, tasks, spec)) in items.iter().enumerate() {
        form.push(("ex_seq".into(), seq.to_string()));
        form.push(("ex_op".into(), "keep".into()));
        form.push(("ex_name".into(), name.clone()));
        // The first row is edited but its select still says 不变.
        let range = if i == 0 {
            "（0～999）A".to_owned()
        } else {
            range.clone()
        };
        form.push(("ex_range".into(), range));
        form.push(("ex_accuracy".into(), acc.clone()));
        form.push(("ex_spec".into(), spec.clone()));
        for t in tasks {
            form.push(("ex_task".into(), format!("{seq}:{t}")));
        }
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = dept.post_form("/requests/new/adjustment", &pairs).await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let loc = res.headers()["location"].to_str().unwrap().to_owned();
    let id = loc.trim_start_matches("/requests/").to_owned();
    let changes: Value = sqlx::query_scalar(
        "select payload->'changes' from lifecycle_request where request_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let changes = changes.as_array().unwrap();
    assert_eq!(changes.len(), 1, "only the edited row: {changes:?}");
    assert_eq!(changes[0]["op"], "change");
    assert_eq!(changes[0]["seq"], items[0].0);
}

#[tokio::test]
async fn opening_a_notification_marks_it_read_and_goes_to_its_record() {
    let app = TestApp::spawn().await;
    let id = filed_termination(&app).await;
    let (gd, _) = app.org_of("gd.reviewer").await;
    let (nid, link): (uuid::Uuid, Option<String>) = sqlx::query_as(
        "select notification_id, link from notification where org_id = $1 and read_at is null
          order by created_at desc limit 1",
    )
    .bind(gd)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(link.as_deref(), Some(format!("/requests/{id}").as_str()));
    let reviewer = app.login("gd.reviewer").await;
    let home = reviewer.get("/").await.text().await.unwrap();
    assert!(home.contains(&format!("href=\"/notifications/{nid}\"")));
    let res = reviewer.get(&format!("/notifications/{nid}")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/requests/{id}").as_str()
    );
    let read: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select read_at from notification where notification_id = $1")
            .bind(nid)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(read.is_some());
    // Another organization's notification is not found.
    let staff = app.login("station.staff").await;
    assert_eq!(
        staff.get(&format!("/notifications/{nid}")).await.status(),
        404
    );
}

#[tokio::test]
async fn only_the_approver_of_a_grant_renames_its_station_through_the_database() {
    let app = TestApp::spawn().await;
    let station = app.station_id("SZ-GAS-01").await;
    // No grant exists for this station: nobody can rename it this way.
    let any_app = "00000000-0000-0000-0000-000000000000";
    for user in [
        "gd.reviewer",
        "gd.approver",
        "dept.officer",
        "station.staff",
    ] {
        let r = app
            .as_app_role_result(
                Some(user),
                &format!("select grant_station_name('{any_app}', 'x')::text"),
            )
            .await;
        assert!(r.is_err(), "{user} renamed a station without a grant");
    }
    // Nor by writing the organization row directly.
    let e = app
        .as_app_role_result(
            Some("gd.approver"),
            &format!(
                "with u as (update organization set name = 'x' where organization_id = '{station}' returning name) select name from u"
            ),
        )
        .await
        .err();
    let name: String =
        sqlx::query_scalar("select name from organization where organization_id = $1")
            .bind(station)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        e.is_some() || name != "x",
        "the row policy keeps the name: {e:?}"
    );
    assert_ne!(name, "x");
}

/// Notifications are a code with parameters rendered in the reader's
/// language, reach an organization once per event, and a note for one role
/// (a request waiting for review) is not shown to the approver.
#[tokio::test]
async fn notifications_render_per_reader_once_per_event_and_only_for_their_role() {
    let app = TestApp::spawn().await;
    let id = filed_termination(&app).await;
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let link = format!("/requests/{id}");
    let inbox = |v: &Value| -> Vec<Value> {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|n| n["link"] == link)
            .cloned()
            .collect()
    };
    let (_, r) = reviewer.json("/api/v1/notifications").await;
    let r = inbox(&r);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0]["subject"].as_str().unwrap().contains("待审查"));
    let (_, a) = approver.json("/api/v1/notifications").await;
    assert!(
        inbox(&a).is_empty(),
        "the approver is not told it waits for review"
    );
    let home = approver.get("/").await.text().await.unwrap();
    assert!(!home.contains("终止待审查"));
    // The same reader in English.
    let res = reviewer
        .post_form("/lang", &[("lang", "en"), ("next", "/")])
        .await;
    assert_eq!(res.status(), 303);
    let (_, r) = reviewer.json("/api/v1/notifications").await;
    let r = inbox(&r);
    assert_eq!(
        r[0]["subject"].as_str().unwrap(),
        "termination request to review: 广东省电力工业电能计量站",
        "rendered in the reader's language"
    );
    // The same event sent again reaches the organization once.
    let regulator = app.org_id("广东省市场监督管理局").await;
    let note = jiliang::notifications::Note::new(
        "reexamination.reminder",
        "/authorizations/x/certificate",
    )
    .p("number", "（粤）法计（2026）001号")
    .p("until", "2027-03-31");
    let mut conn = app.pool.acquire().await.unwrap();
    for _ in 0..3 {
        jiliang::notifications::send(&mut conn, &[regulator, regulator], &note)
            .await
            .unwrap();
    }
    let n: i64 = sqlx::query_scalar(
        "select count(*) from notification where org_id = $1 and code = 'reexamination.reminder'",
    )
    .bind(regulator)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(n, 1, "one per organization and event");
    // 20 parallel sends of one new event on separate connections: one row.
    let note = note.clone().p("until", "2027-06-30");
    let sends = (0..20).map(|_| {
        let pool = app.pool.clone();
        let note = note.clone();
        async move {
            let mut c = pool.acquire().await.unwrap();
            jiliang::notifications::send(&mut c, &[regulator], &note).await
        }
    });
    for r in futures_util::future::join_all(sends).await {
        r.unwrap();
    }
    let n: i64 = sqlx::query_scalar(
        "select count(*) from notification where org_id = $1 and code = 'reexamination.reminder'",
    )
    .bind(regulator)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(n, 2, "the new event once, however many sent it at once");
}
