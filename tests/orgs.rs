//! The platform operator's registry of organizations and stations, and user
//! management (requirements.md §2, R3.1, R7.1).

mod common;

use common::{assert_error, TestApp};
use serde_json::json;

#[tokio::test]
async fn the_operator_registers_a_branch_station_and_its_visibility_follows_r3_2() {
    let app = TestApp::spawn().await;
    let op = app.login("operator").await;
    let head = app.station_id("NS-OGF").await;
    let dept = app.org_id("中国石油天然气集团有限公司").await;
    let samr = app.org_id("国家市场监督管理总局").await;
    let res = op
        .post_json(
            "/api/v1/organizations",
            &json!({"kind": "station", "name": "国家石油天然气大流量计量站广州分站", "station": {
                "code": "ns-ogf-gz", "tier": "national_branch", "head_station_id": head,
                "department_id": dept, "authorizing_regulator_id": samr, "location_division": "440106",
                "legal_person": false, "parent_entity_name": "中国石油广东销售分公司",
                "parent_entity_credit_code": "91440000190354669C"}}),
        )
        .await;
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    let c = app.login("head.staff").await;
    assert!(
        c.station_codes().await.contains("NS-OGF-GZ"),
        "the head station sees its new branch"
    );
    let gd = app.login("gd.reviewer").await;
    assert!(
        gd.station_codes().await.contains("NS-OGF-GZ"),
        "广东 supervises what is located in 广东"
    );
    let js = app.login("station2.staff").await;
    assert!(!js.station_codes().await.contains("NS-OGF-GZ"));
}

#[tokio::test]
async fn a_branch_without_a_head_station_or_a_local_station_with_one_is_refused_r3_1() {
    let app = TestApp::spawn().await;
    let op = app.login("operator").await;
    let head = app.station_id("NS-OGF").await;
    let dept = app.org_id("国家电网有限公司").await;
    let base = |tier: &str, head: Option<uuid::Uuid>| {
        json!({"kind": "station", "name": format!("测试站 {tier}"), "station": {
            "code": format!("T-{tier}").to_uppercase().replace('_', "-"), "tier": tier, "head_station_id": head,
            "department_id": dept, "location_division": "440106", "legal_person": true,
            "credit_code": "91440300MA5G12343E"}})
    };
    let res = op
        .post_json("/api/v1/organizations", &base("national_branch", None))
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(
        body["error"]["fields"][0]["field"],
        "station.head_station_id"
    );
    assert!(body["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("R3.1"));
    let res = op
        .post_json("/api/v1/organizations", &base("local", Some(head)))
        .await;
    assert_error(res, 422, "validation").await;
    // A branch's head must be a national head station, not a local one.
    let local = app.station_id("GD-EP-01").await;
    let res = op
        .post_json(
            "/api/v1/organizations",
            &base("national_branch", Some(local)),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["code"], "not_head_station");
}

#[tokio::test]
async fn a_national_station_must_be_authorized_by_samr() {
    let app = TestApp::spawn().await;
    let op = app.login("operator").await;
    let dept = app.org_id("中国石油天然气集团有限公司").await;
    let gd = app.org_id("广东省市场监督管理局").await;
    let res = op
        .post_json(
            "/api/v1/organizations",
            &json!({"kind": "station", "name": "国家某总站", "station": {"code": "NS-X", "tier": "national_head",
              "department_id": dept, "authorizing_regulator_id": gd, "location_division": "440106",
              "legal_person": true, "credit_code": "91440300MA5G12343E"}}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(
        body["error"]["fields"][0]["code"],
        "national_station_regulator"
    );
}

#[tokio::test]
async fn a_duplicate_name_or_station_code_is_a_field_error_not_a_500() {
    let app = TestApp::spawn().await;
    let op = app.login("operator").await;
    let res = op
        .post_json(
            "/api/v1/organizations",
            &json!({"kind": "department", "name": "国家电网有限公司"}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["field"], "name");
    assert_eq!(body["error"]["fields"][0]["code"], "duplicate");
}

#[tokio::test]
async fn an_org_admin_creates_a_user_who_can_sign_in_with_roles_of_that_kind_only() {
    let app = TestApp::spawn().await;
    let admin = app.login("station.staff").await;
    let res = admin
        .post_json(
            "/api/v1/users",
            &json!({"username": "gd.new", "display_name": "新同事", "roles": ["reviewer"], "password": "Strong-pass-2025"}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["code"], "role_not_allowed");
    let res = admin
        .post_json(
            "/api/v1/users",
            &json!({"username": "gd.new", "display_name": "新同事", "roles": ["staff"], "password": "short"}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["code"], "weak_password");
    let res = admin
        .post_json(
            "/api/v1/users",
            &json!({"username": "GD.New", "display_name": "新同事", "roles": ["staff"], "password": "Strong-pass-2025"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let new = app.client();
    let res = new
        .post_json(
            "/api/v1/session",
            &json!({"username": "gd.new", "password": "Strong-pass-2025"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let (_, me) = new.json("/api/v1/me").await;
    assert_eq!(me["organization"]["name"], "广东省电力工业电能计量站");
    assert_eq!(me["roles"], json!(["staff"]));
}

#[tokio::test]
async fn an_admin_cannot_lock_themselves_out() {
    let app = TestApp::spawn().await;
    let admin = app.login("station.staff").await;
    let (_, me) = admin.json("/api/v1/me").await;
    let res = admin
        .put_json(
            &format!("/api/v1/users/{}", me["user_id"].as_str().unwrap()),
            &json!({"roles": ["staff"], "version": 1}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["code"], "self_lockout");
}

#[tokio::test]
async fn the_home_page_shows_the_organization_its_users_and_station_counts() {
    let app = TestApp::spawn().await;
    let c = app.login("gd.reviewer").await;
    let html = c.get("/").await.text().await.unwrap();
    assert!(html.contains("广东省市场监督管理局"));
    assert!(
        html.contains("gd.approver"),
        "lists the organization's users"
    );
    assert!(html.contains("可见计量站"));
    let c = app.login("operator").await;
    let html = c.get("/").await.text().await.unwrap();
    assert!(html.contains("平台组织"));
}

#[tokio::test]
async fn the_station_list_searches_filters_sorts_and_paginates() {
    let app = TestApp::spawn().await;
    let c = app.login("samr.reviewer").await;
    let (_, body) = c.json("/api/v1/stations?q=%E5%88%86%E7%AB%99").await; // 分站
    assert_eq!(body["total"], 2);
    let (_, body) = c.json("/api/v1/stations?region=440000").await;
    assert_eq!(body["total"], 3, "广东: GD-EP-01, GZ-TH-GAS, SZ-GAS-01");
    let (_, body) = c.json("/api/v1/stations?status=unauthorized").await;
    assert_eq!(body["items"][0]["code"], "SZ-GAS-01");
    let (_, body) = c
        .json("/api/v1/stations?sort=code&dir=desc&per_page=2&page=2")
        .await;
    let codes: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["NS-OGF-CD", "NS-OGF"]);
    assert_eq!(body["total"], 7);
    let html = c
        .get("/stations?tier=national_branch")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("NS-OGF-CD") && !html.contains("GD-EP-01"));
    let html = c
        .get("/stations?q=nothing-matches")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("没有符合条件的计量站"),
        "an empty state says what to do"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.client().json("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/session",
        "/api/v1/me",
        "/api/v1/stations",
        "/api/v1/stations/{id}",
        "/api/v1/organizations",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    assert_eq!(app.client().get("/api/docs/").await.status(), 200);
    assert_eq!(app.client().get("/healthz").await.status(), 200);
}
