//! Bad input never produces a 500 or a partial write: each gets a 4xx in
//! our JSON error format with a clear message (README "contract").

mod common;

use common::{assert_error, TestApp};
use serde_json::json;

async fn org_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from organization")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_json_is_a_400_in_our_format() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let res = c
        .http
        .post(app.url("/api/v1/organizations"))
        .header("content-type", "application/json")
        .body("{\"kind\": \"department\", ")
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "malformed_json").await;
}

#[tokio::test]
async fn unknown_fields_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let res = c
        .post_json(
            "/api/v1/organizations",
            &json!({"kind": "department", "name": "x", "colour": "red"}),
        )
        .await;
    let body = assert_error(res, 400, "invalid_json").await;
    assert!(body["error"]["message_en"]
        .as_str()
        .unwrap()
        .contains("colour"));
    let res = app
        .client()
        .post_json(
            "/api/v1/session",
            &json!({"username": "a", "password": "b", "otp": 1}),
        )
        .await;
    assert_error(res, 400, "invalid_json").await;
}

#[tokio::test]
async fn a_wrong_type_is_a_400_and_a_missing_content_type_a_415() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let res = c
        .post_json(
            "/api/v1/organizations",
            &json!({"kind": "department", "name": 7}),
        )
        .await;
    assert_error(res, 400, "invalid_json").await;
    let res = c
        .http
        .post(app.url("/api/v1/organizations"))
        .body("kind=department")
        .send()
        .await
        .unwrap();
    assert_error(res, 415, "unsupported_media_type").await;
    let res = c
        .http
        .post(app.url("/api/v1/organizations"))
        .header("content-type", "text/plain")
        .body("{\"kind\": \"department\", \"name\": \"x\"}")
        .send()
        .await
        .unwrap();
    assert_error(res, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn uploads_that_are_not_multipart_answer_in_our_format() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let (_, list) = c.json("/api/v1/standards?per_page=1").await;
    let id = list["items"][0]["id"].as_str().expect("a seeded standard");
    let upload = format!("/api/v1/standards/{id}/documents");
    // JSON where a file upload is expected.
    let res = c.post_json(&upload, &json!({"file": "x"})).await;
    assert_error(res, 415, "unsupported_media_type").await;
    // Multipart without a boundary.
    let res = c
        .http
        .post(app.url(&upload))
        .header("content-type", "multipart/form-data")
        .body("--x\r\n")
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "bad_multipart").await;
    // A body that is not the multipart it says it is.
    let res = c
        .http
        .post(app.url(&upload))
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("this is not multipart at all")
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "bad_multipart").await;
}

#[tokio::test]
async fn an_oversize_upload_is_a_413_beside_the_file_field() {
    let app = TestApp::spawn_with(|c| c.max_upload_bytes = 1024).await;
    let c = app.login("station.staff").await;
    let (_, list) = c.json("/api/v1/standards?per_page=1").await;
    let id = list["items"][0]["id"].as_str().expect("a seeded standard");
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.resize(4096, b' ');
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pdf).file_name("big.pdf"),
    );
    let res = c
        .http
        .post(app.url(&format!("/api/v1/standards/{id}/documents")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body = assert_error(res, 413, "payload_too_large").await;
    assert_eq!(body["error"]["fields"][0]["field"], "file", "{body}");
}

/// The request body's property names, following `$ref`, `allOf`, `oneOf`, `anyOf`.
fn body_properties(doc: &serde_json::Value, schema: &serde_json::Value) -> Vec<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return body_properties(doc, &doc["components"]["schemas"][name]);
    }
    let mut names: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for key in ["allOf", "oneOf", "anyOf"] {
        for s in schema[key].as_array().into_iter().flatten() {
            names.extend(body_properties(doc, s));
        }
    }
    names
}

#[tokio::test]
async fn each_step_documents_its_own_input_and_every_operation_its_errors() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.client().json("/api/openapi.json").await;
    assert_eq!(status, 200);
    let body = |path: &str| {
        let schema =
            &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert!(!schema.is_null(), "{path} documents its body");
        body_properties(&doc, schema)
    };
    // Exactly the fields each step reads, besides `version`.
    for (path, fields) in [
        ("/api/v1/rectification-orders/{id}/report", &["report"][..]),
        (
            "/api/v1/rectification-orders/{id}/extend",
            &["new_due_on", "reasons"],
        ),
        ("/api/v1/rectification-orders/{id}/reject", &["reasons"]),
        ("/api/v1/rectification-orders/{id}/accept", &[]),
        ("/api/v1/rectification-orders/{id}/close", &[]),
        ("/api/v1/inspections/{id}/approve", &[]),
        ("/api/v1/inspections/{id}/return", &["reasons"]),
        (
            "/api/v1/violation-cases/{id}/propose",
            &["decision", "fine_amount", "notes"],
        ),
        ("/api/v1/violation-cases/{id}/decide", &[]),
        (
            "/api/v1/lifecycle-requests/{id}/propose",
            &[
                "decision",
                "reasons",
                "result",
                "fail_action",
                "rectification_deadline",
                "findings",
            ],
        ),
        (
            "/api/v1/lifecycle-requests/{id}/assessment",
            &["date", "team", "outcome", "findings", "verified"],
        ),
        ("/api/v1/lifecycle-requests/{id}/confirm", &["overrides"]),
        (
            "/api/v1/applications/{id}/confirm",
            &["official_name", "overrides"],
        ),
        ("/api/v1/lifecycle-requests/{id}/record", &["effective_on"]),
        ("/api/v1/lifecycle-requests/{id}/acknowledge", &[]),
        ("/api/v1/applications/{id}/submit", &["to_be_provided"]),
        ("/api/v1/applications/{id}/correction", &["items"]),
        (
            "/api/v1/applications/{id}/assessment",
            &["date", "team", "cooperating_station_ids"],
        ),
        ("/api/v1/applications/{id}/accept", &[]),
    ] {
        let mut props = body(path);
        props.sort();
        let mut want: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        want.push("version".into());
        want.sort();
        assert_eq!(props, want, "{path}");
        let schema =
            &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"];
        let name = schema["$ref"]
            .as_str()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default();
        assert_eq!(
            doc["components"]["schemas"][name]["additionalProperties"], false,
            "{path}: other fields are refused"
        );
    }
    // The API browser has a way back to the platform.
    assert!(doc["info"]["description"]
        .as_str()
        .unwrap()
        .starts_with("[← 返回平台 / Back to the platform](/)"));
    // A field of another step is refused, not ignored.
    let c = app.login("station.staff").await;
    let (_, orders) = c.json("/api/v1/rectification-orders").await;
    let any = orders[0]["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::nil().to_string());
    let res = c
        .post_json(
            &format!("/api/v1/rectification-orders/{any}/report"),
            &json!({"version": 1, "report": "已整改", "new_due_on": "2030-01-01"}),
        )
        .await;
    assert_eq!(
        res.status(),
        400,
        "an extension date sent with a report is refused"
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains("new_due_on"),
        "the answer names the field: {text}"
    );
    // The standard error answers, in our envelope.
    let op = &doc["paths"]["/api/v1/rectification-orders/{id}/report"]["post"];
    for status in ["400", "401", "403", "404", "413", "415", "422", "503"] {
        let schema = &op["responses"][status]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(schema, "#/components/schemas/ErrorBody", "{status}");
    }
    let sign_in = &doc["paths"]["/api/v1/session"]["post"]["responses"];
    assert!(sign_in.get("429").is_some() && sign_in.get("415").is_some());
}

#[tokio::test]
async fn an_oversize_body_is_a_413() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let huge = "x".repeat(300 * 1024);
    let res = c
        .post_json(
            "/api/v1/organizations",
            &json!({"kind": "department", "name": huge}),
        )
        .await;
    assert_error(res, 413, "payload_too_large").await;
}

#[tokio::test]
async fn invalid_division_codes_are_field_errors_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let before = org_count(&app).await;
    for (code, want) in [
        ("999999", "invalid_division"),
        ("44010", "invalid_division"),
        ("440000", "division_level"),
    ] {
        let res = c
            .post_json(
                "/api/v1/organizations",
                &json!({"kind": "regulator", "name": format!("某市监局 {code}"), "regulator_level": "municipal", "division_code": code}),
            )
            .await;
        let body = assert_error(res, 422, "validation").await;
        assert_eq!(body["error"]["fields"][0]["field"], "division_code");
        assert_eq!(body["error"]["fields"][0]["code"], want, "{code}");
    }
    assert_eq!(org_count(&app).await, before);
}

#[tokio::test]
async fn an_invalid_credit_code_names_the_wrong_part_r7_1() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let res = c
        .post_json(
            "/api/v1/organizations",
            &json!({"kind": "department", "name": "某集团", "credit_code": "91110000100017002B"}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    let f = &body["error"]["fields"][0];
    assert_eq!(f["field"], "credit_code");
    assert_eq!(f["code"], "invalid_credit_code");
    assert!(f["message"].as_str().unwrap().contains("校验码"), "{f}");
}

#[tokio::test]
async fn a_station_with_every_field_wrong_reports_all_of_them_at_once() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let res = c
        .post_json(
            "/api/v1/organizations",
            &json!({"kind": "station", "name": "某站", "station": {
                "code": "bad code", "tier": "national_branch", "location_division": "123456",
                "legal_person": true, "credit_code": "123"}}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in [
        "station.code",
        "station.department_id",
        "station.head_station_id",
        "station.location_division",
        "station.credit_code",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
}

#[tokio::test]
async fn bad_ids_and_bad_query_parameters_are_4xx_not_500() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    assert_error(c.get("/api/v1/stations/not-a-uuid").await, 404, "not_found").await;
    assert_error(
        c.get("/api/v1/stations?page=abc").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        c.get("/api/v1/stations?tier=galactic").await,
        422,
        "validation",
    )
    .await;
    assert_error(c.get("/api/v1/stations?region=12").await, 422, "validation").await;
    assert_error(
        c.get("/api/v1/stations?sort=password").await,
        422,
        "validation",
    )
    .await;
    assert_error(c.get("/api/v1/nothing-here").await, 404, "not_found").await;
    assert_eq!(
        c.get("/stations?tier=galactic").await.status(),
        200,
        "the page shows the error above the table"
    );
}

#[tokio::test]
async fn an_update_without_a_version_is_refused_and_a_stale_one_is_a_409() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let res = c
        .post_json(
            "/api/v1/organizations",
            &json!({"kind": "department", "name": "版本测试集团"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let org: serde_json::Value = res.json().await.unwrap();
    let path = format!("/api/v1/organizations/{}", org["id"].as_str().unwrap());
    let res = c.put_json(&path, &json!({"name": "版本测试集团 2"})).await;
    assert_error(res, 422, "validation").await;
    let res = c
        .put_json(&path, &json!({"name": "版本测试集团 2", "version": 1}))
        .await;
    assert_eq!(res.status(), 200);
    // Someone else's edit landed first: version 1 is stale now.
    let res = c
        .put_json(&path, &json!({"name": "版本测试集团 3", "version": 1}))
        .await;
    assert_error(res, 409, "stale_version").await;
    // If-Match works too.
    let res = c
        .http
        .put(app.url(&path))
        .header("if-match", "\"2\"")
        .json(&json!({"name": "版本测试集团 3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let name: String =
        sqlx::query_scalar("select name from organization where organization_id = $1::uuid")
            .bind(org["id"].as_str().unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(name, "版本测试集团 3");
}

#[tokio::test]
async fn a_form_with_errors_is_shown_again_with_the_input_and_messages_beside_fields() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let res = c
        .post_form(
            "/admin/organizations",
            &[
                ("kind", "regulator"),
                ("name", "某某市场监督管理局"),
                ("regulator_level", "county"),
                ("division_code", "440100"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("value=\"某某市场监督管理局\""),
        "the name is kept"
    );
    assert!(html.contains("value=\"440100\""), "the code is kept");
    assert!(html.contains("class=\"field-error\""));
    assert!(
        html.contains("县级行政区划"),
        "the message says what is wrong"
    );
}

#[tokio::test]
async fn a_huge_page_number_is_clamped_not_a_500() {
    let app = TestApp::spawn().await;
    let c = app.login("samr.reviewer").await;
    let (status, body) = c.json("/api/v1/stations?page=9223372036854775807").await;
    assert_eq!(status, 200);
    assert_eq!(body["items"].as_array().unwrap().len(), 0);
    assert_eq!(
        c.get("/stations?page=9223372036854775807").await.status(),
        200
    );
}

#[tokio::test]
async fn a_next_with_control_characters_cannot_leave_the_site() {
    let app = TestApp::spawn().await;
    let c = app.client();
    for next in ["/\t/evil.example", "/\u{1}", "/a\\b"] {
        let res = c
            .post_form(
                "/login",
                &[
                    ("username", "station.staff"),
                    ("password", common::PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/", "{next:?}");
    }
}

#[tokio::test]
async fn a_partial_update_keeps_what_it_does_not_mention() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let id = app.org_id("国家电网有限公司").await;
    let res = c
        .put_json(
            &format!("/api/v1/organizations/{id}"),
            &json!({"name": "国家电网有限公司（改）", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let org: serde_json::Value = res.json().await.unwrap();
    assert_eq!(org["credit_code"], "9111000071093123XX");
    assert_eq!(org["division_code"], "110000");
    let st = app.station_id("GD-EP-01").await;
    let res = c
        .put_json(
            &format!("/api/v1/organizations/{st}"),
            &json!({"address": "广州市天河区", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let org: serde_json::Value = res.json().await.unwrap();
    assert_eq!(org["station"]["status"], "authorized", "the status is kept");
}

#[tokio::test]
async fn a_head_station_with_branches_keeps_its_tier_r3_1() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let head = app.station_id("NS-OGF").await;
    let res = c
        .put_json(
            &format!("/api/v1/organizations/{head}"),
            &json!({"station": {"tier": "local"}, "version": 1}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["code"], "head_keeps_tier");
}
