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
    let cnpc = app.login("cnpc.officer").await;
    let sz = app.station_id("SZ-GAS-01").await;
    let a: Value = cnpc
        .post_json(
            "/api/v1/applications",
            &json!({"station_id": sz, "region": ["440304"], "items": [{"name": "膜式燃气表",
              "range_text": "（0.016～6）m³/h", "accuracy_text": "1.5级",
              "task_types": ["verification"], "specification": "JJG577-2012"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let aid = a["id"].as_str().unwrap().to_owned();
    let codes: Vec<Value> = a["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].clone())
        .collect();
    let a = okj(cnpc
        .post_json(
            &format!("/api/v1/applications/{aid}/submit"),
            &json!({"version": a["version"], "to_be_provided": codes}),
        )
        .await)
    .await;
    let reviewer = app.login("gd.reviewer").await;
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
