//! Establishing a station (Art 6–8): the workflow from draft to certificate,
//! for a local station and for a national branch station.

mod common;

use common::{assert_error, TestApp};
use serde_json::{json, Value};

/// The officer of 中国石油, whose station 深圳市燃气计量站 is not authorized yet.
async fn cnpc_officer(app: &TestApp) -> common::Client {
    app.login("cnpc.officer").await
}

async fn step(c: &common::Client, id: &str, step: &str, body: Value) -> reqwest::Response {
    c.post_json(&format!("/api/v1/applications/{id}/{step}"), &body)
        .await
}

async fn ok(c: &common::Client, id: &str, name: &str, mut body: Value) -> Value {
    let (_, current) = c.json(&format!("/api/v1/applications/{id}")).await;
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

fn gas_item() -> Value {
    json!({"name": "膜式燃气表", "range_text": "（0.016～6）m³/h", "accuracy_text": "1.5级",
           "task_types": ["verification"], "specification": "JJG577-2012"})
}

#[tokio::test]
async fn a_local_station_goes_from_draft_to_certificate_with_one_correction_r6_r8() {
    let app = TestApp::spawn().await;
    let dept = cnpc_officer(&app).await;
    let station = app.station_id("SZ-GAS-01").await;
    // R6.1: the department drafts it.
    let res = dept
        .post_json(
            "/api/v1/applications",
            &json!({"station_id": station, "region": ["440304"], "items": [gas_item()]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let a: Value = res.json().await.unwrap();
    let id = a["id"].as_str().unwrap().to_owned();
    assert_eq!(
        a["items"][0]["specification"], "JJG 577-2012",
        "R7.4: normalized"
    );
    // R6.2: no 福田区 or 深圳市 regulator exists, so 广东 receives it, and says why.
    assert!(
        a["receiving"]
            .as_str()
            .unwrap()
            .contains("广东省市场监督管理局")
            || a["receiving"].as_str().unwrap().contains("省"),
        "{}",
        a["receiving"]
    );
    // R7: every unmet condition at once (no standards, staff or documents yet).
    let rules: Vec<&str> = a["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"R7.2") && rules.contains(&"R7.3"),
        "{rules:?}"
    );
    let res = step(&dept, &id, "submit", json!({"version": a["version"]})).await;
    let body = assert_error(res, 422, "validation").await;
    assert!(
        body["error"]["fields"].as_array().unwrap().len() >= 2,
        "lists every unmet condition"
    );
    // Submit declaring what is to be provided.
    let codes: Vec<Value> = a["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].clone())
        .collect();
    let a = ok(&dept, &id, "submit", json!({"to_be_provided": codes})).await;
    assert_eq!(a["state"], "submitted");
    assert_eq!(a["regulator_name"], "广东省市场监督管理局");
    assert_eq!(a["clock"]["limit"], 5);
    // Others never see it; the regulator does now.
    let other = app.login("station2.staff").await;
    assert_eq!(
        other
            .get(&format!("/api/v1/applications/{id}"))
            .await
            .status(),
        404
    );
    let reviewer = app.login("gd.reviewer").await;
    // R6.4: one correction notice listing everything; the clock pauses.
    let a = ok(
        &reviewer,
        &id,
        "correction",
        json!({"items": ["营业执照复印件不清晰", "缺少授权项目表"]}),
    )
    .await;
    assert_eq!(a["state"], "correction_requested");
    assert_eq!(a["clock"]["paused"], true);
    let a = ok(&dept, &id, "resubmit", json!({})).await;
    assert_eq!(a["state"], "submitted");
    let res = step(
        &reviewer,
        &id,
        "correction",
        json!({"version": a["version"], "items": ["再补一项"]}),
    )
    .await;
    assert_error(res, 409, "correction_already_sent").await;
    let a = ok(&reviewer, &id, "accept", json!({})).await;
    assert_eq!(a["state"], "accepted");
    // R8.2/R8.3: the assessment, passed after correction.
    let a = ok(
        &reviewer,
        &id,
        "assessment",
        json!({"date": jiliang::web::today(), "team": "陈晓（组长）、王明"}),
    )
    .await;
    assert_eq!(a["state"], "assessment");
    let res = step(
        &reviewer,
        &id,
        "assessment-outcome",
        json!({"version": a["version"], "outcome": "pass_after_correction"}),
    )
    .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(
        body["error"]["fields"].as_array().unwrap().len(),
        2,
        "findings and deadline"
    );
    let a = ok(&reviewer, &id, "assessment-outcome", json!({"outcome": "pass_after_correction", "findings": "环境温度记录不全", "correction_deadline": "2026-12-31"})).await;
    assert_eq!(a["state"], "assessed");
    let res = step(
        &reviewer,
        &id,
        "propose",
        json!({"version": a["version"], "decision": "grant"}),
    )
    .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(
        body["error"]["fields"][0]["field"], "correction_evidence",
        "R8.3: evidence first"
    );
    let a = ok(&reviewer, &id, "propose", json!({"decision": "grant", "correction_evidence": "已补全环境记录（附件）", "reasons": "符合条件"})).await;
    assert_eq!(a["state"], "proposed");
    // Four eyes: the reviewer cannot decide; the approver does.
    let res = step(&reviewer, &id, "confirm", json!({"version": a["version"]})).await;
    assert_error(res, 403, "forbidden").await;
    let approver = app.login("gd.approver").await;
    // The confirm page proposes the official name without "（筹建）".
    let page = approver
        .get(&format!("/applications/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"official_name\" maxlength=\"200\" value=\"深圳市燃气计量站\""));
    let a = ok(
        &approver,
        &id,
        "confirm",
        json!({"official_name": "深圳市燃气计量站"}),
    )
    .await;
    assert_eq!(a["state"], "granted");
    let name: String = sqlx::query_scalar(
        "select o.name from organization o join station s on s.station_id = o.organization_id where s.code = 'SZ-GAS-01'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(name, "深圳市燃气计量站", "the grant set the official name");
    // Only the approver of that grant may rename through it.
    let res = reviewer
        .post_json(
            "/api/v1/applications/00000000-0000-0000-0000-000000000000/confirm",
            &json!({"version": 1, "official_name": "x"}),
        )
        .await;
    assert!(res.status().is_client_error());
    // R8.4: the certificate, and the station is authorized by 广东.
    let (number, token, valid_from, valid_until): (String, String, chrono::NaiveDate, chrono::NaiveDate) = sqlx::query_as(
        "select certificate_number, verify_token, valid_from, valid_until from station_authorization where authorization_id = $1::uuid",
    )
    .bind(a["authorization_id"].as_str().unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let year = chrono::Datelike::year(&jiliang::web::today());
    // 广东's numbers for the year run on from the demo certificates (天河区's is 00001).
    let seeded: i32 = sqlx::query_scalar(
        "select count(*)::int from station_authorization where certificate_number like $1",
    )
    .bind(format!("(粤)法计({year})%"))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(number, format!("(粤)法计({year}){:05}号", seeded));
    assert_eq!(
        valid_until,
        valid_from
            .checked_add_months(chrono::Months::new(60))
            .unwrap()
            .pred_opt()
            .unwrap()
    );
    let (status, regulator): (String, uuid::Uuid) = sqlx::query_as(
        "select status, authorizing_regulator_id from station where code = 'SZ-GAS-01'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(status, "authorized");
    assert_eq!(regulator, app.org_id("广东省市场监督管理局").await);
    assert_eq!(
        app.client().get(&format!("/verify/{token}")).await.status(),
        200
    );
    let (_, dir) = app
        .client()
        .json("/api/v1/public/directory?q=SZ-GAS-01")
        .await;
    assert_eq!(dir["total"], 1, "R8.5: published in the directory");
    // R8.5: served to the department and the station.
    let n: i64 = sqlx::query_scalar("select count(*) from notification where link = $1")
        .bind(format!("/applications/{id}"))
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let (_, inbox) = dept.json("/api/v1/notifications").await;
    assert!(
        inbox[0]["subject"].as_str().unwrap().contains("已批准"),
        "{inbox}"
    );
    let home = dept.get("/").await.text().await.unwrap();
    assert!(
        home.contains("计量授权申请已批准"),
        "the decision is in the department's inbox"
    );
    let nid = inbox[0]["id"].as_str().unwrap();
    assert_eq!(
        dept.post_json(&format!("/api/v1/notifications/{nid}/read"), &json!({}))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.login("station2.staff")
            .await
            .post_json(&format!("/api/v1/notifications/{nid}/read"), &json!({}))
            .await
            .status(),
        404
    );
    let report = jiliang::audit::verify(&app.pool).await.unwrap();
    assert!(report.breaks.is_empty());
}

#[tokio::test]
async fn a_national_branch_goes_to_samr_with_its_head_station_cooperating_r8_1() {
    let app = TestApp::spawn().await;
    let op = app.login("operator").await;
    let head = app.station_id("NS-OGF").await;
    let cnpc = app.org_id("中国石油天然气集团有限公司").await;
    let res = op
        .post_json(
            "/api/v1/organizations",
            &json!({"kind": "station", "name": "国家石油天然气大流量计量站武汉分站", "station": {
                "code": "NS-OGF-WH", "tier": "national_branch", "head_station_id": head, "department_id": cnpc,
                "location_division": "420106", "legal_person": false, "parent_entity_name": "中国石油湖北销售分公司",
                "parent_entity_credit_code": "91440000190354669C"}}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let dept = cnpc_officer(&app).await;
    let branch = app.station_id("NS-OGF-WH").await;
    let a: Value = dept
        .post_json(
            "/api/v1/applications",
            &json!({"station_id": branch, "region": ["420000"], "items": [{"name": "气体流量计", "range_text": "（10～5000）m³/h",
                "accuracy_text": "0.5级", "task_types": ["verification"], "specification": "JJG 1030-2007"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = a["id"].as_str().unwrap().to_owned();
    let proposed: Vec<&str> = a["proposed_cooperators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        proposed,
        vec!["国家石油天然气大流量计量站", "国家石油天然气大流量计量站成都分站"],
        "its head station first (R8.1), then a national station holding the same specification (R8.2)"
    );
    let codes: Vec<Value> = a["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].clone())
        .collect();
    let a = ok(&dept, &id, "submit", json!({"to_be_provided": codes})).await;
    assert_eq!(
        a["regulator_name"], "国家市场监督管理总局",
        "R6.2: national stations go to SAMR"
    );
    let samr = app.login("samr.reviewer").await;
    ok(&samr, &id, "accept", json!({})).await;
    let headc = app.login("head.staff").await;
    assert_eq!(
        headc
            .get(&format!("/api/v1/applications/{id}"))
            .await
            .status(),
        404,
        "not before the assessment"
    );
    ok(
        &samr,
        &id,
        "assessment",
        json!({"date": jiliang::web::today(), "team": "总局考核组"}),
    )
    .await;
    assert_eq!(
        headc
            .get(&format!("/api/v1/applications/{id}"))
            .await
            .status(),
        200,
        "the cooperating head station reads it during the assessment"
    );
    // ...and finds it in its list (the list's page of ids keeps only rows
    // whose names its row policies let it join).
    let (status, list) = headc.json("/api/v1/applications?limit=200").await;
    assert_eq!(status, 200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id.as_str()),
        "the cooperating head station lists it: {list}"
    );
    let rows = app
        .as_app_role(
            Some("head.staff"),
            &format!("select application_id::text from application where application_id = '{id}'"),
        )
        .await;
    assert_eq!(rows.len(), 1);
    let stranger = app.login("station.staff").await;
    assert_eq!(
        stranger
            .get(&format!("/api/v1/applications/{id}"))
            .await
            .status(),
        404,
        "another station never"
    );
    ok(&samr, &id, "assessment-outcome", json!({"outcome": "pass"})).await;
    assert_eq!(
        headc
            .get(&format!("/api/v1/applications/{id}"))
            .await
            .status(),
        404,
        "and not after it"
    );
    ok(&samr, &id, "propose", json!({"decision": "grant"})).await;
    let approver = app.login("samr.approver").await;
    let a = ok(&approver, &id, "confirm", json!({})).await;
    assert_eq!(a["state"], "granted");
    let number: String = sqlx::query_scalar(
        "select certificate_number from station_authorization where station_id = $1",
    )
    .bind(branch)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(number.starts_with("(国)法计("), "{number}");
}

#[tokio::test]
async fn the_proposer_cannot_confirm_and_a_refusal_issues_nothing() {
    let app = TestApp::spawn().await;
    let dept = cnpc_officer(&app).await;
    let station = app.station_id("SZ-GAS-01").await;
    let a: Value = dept
        .post_json(
            "/api/v1/applications",
            &json!({"station_id": station, "region": ["440304"], "items": [gas_item()]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = a["id"].as_str().unwrap().to_owned();
    let codes: Vec<Value> = a["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].clone())
        .collect();
    ok(&dept, &id, "submit", json!({"to_be_provided": codes})).await;
    let op = app.login("operator").await;
    let gd = app.org_id("广东省市场监督管理局").await;
    op.post_json("/api/v1/users", &json!({"organization_id": gd, "username": "gd.both", "display_name": "兼任", "roles": ["reviewer", "approver"], "password": "Both-roles-2025"}))
        .await;
    let both = app.client();
    both.post_json(
        "/api/v1/session",
        &json!({"username": "gd.both", "password": "Both-roles-2025"}),
    )
    .await;
    ok(&both, &id, "accept", json!({})).await;
    ok(
        &both,
        &id,
        "assessment",
        json!({"date": jiliang::web::today(), "team": "考核组"}),
    )
    .await;
    ok(
        &both,
        &id,
        "assessment-outcome",
        json!({"outcome": "fail", "findings": "标准装置不满足要求"}),
    )
    .await;
    let res = step(
        &both,
        &id,
        "propose",
        json!({"version": 6, "decision": "grant"}),
    )
    .await;
    assert!(
        res.status().is_client_error(),
        "a failed assessment cannot be granted (R8.3)"
    );
    let a = ok(
        &both,
        &id,
        "propose",
        json!({"decision": "refuse", "reasons": "考核不通过"}),
    )
    .await;
    let res = step(&both, &id, "confirm", json!({"version": a["version"]})).await;
    assert_error(res, 403, "forbidden").await;
    let a = ok(&app.login("gd.approver").await, &id, "confirm", json!({})).await;
    assert_eq!(a["state"], "refused");
    let n: i64 =
        sqlx::query_scalar("select count(*) from station_authorization where station_id = $1")
            .bind(station)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn only_a_department_files_and_only_for_its_own_unauthorized_station_r6_1() {
    let app = TestApp::spawn().await;
    let station = app.station_id("SZ-GAS-01").await;
    let st = app.login("station.staff").await;
    let res = st
        .post_json("/api/v1/applications", &json!({"station_id": station}))
        .await;
    assert_error(res, 403, "forbidden").await;
    let sgcc = app.login("dept.officer").await;
    let res = sgcc
        .post_json("/api/v1/applications", &json!({"station_id": station}))
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["code"], "not_own_station");
    let own = app.station_id("GD-EP-01").await;
    let res = sgcc
        .post_json("/api/v1/applications", &json!({"station_id": own}))
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["code"], "already_authorized");
    let dept = cnpc_officer(&app).await;
    let res = dept
        .post_json("/api/v1/applications", &json!({"station_id": station, "region": ["999999"], "items": [{"name": "x", "range_text": "lots", "accuracy_text": "good", "task_types": ["juggling"], "specification": "ABC"}]}))
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert!(
        body["error"]["fields"].as_array().unwrap().len() >= 5,
        "{body}"
    );
}

#[tokio::test]
async fn a_region_spanning_two_provinces_cannot_be_submitted_as_a_local_station_r6_2() {
    let app = TestApp::spawn().await;
    let dept = cnpc_officer(&app).await;
    let station = app.station_id("SZ-GAS-01").await;
    let a: Value = dept
        .post_json(
            "/api/v1/applications",
            &json!({"station_id": station, "region": ["440304", "320102"], "items": [gas_item()]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<Value> = a["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].clone())
        .collect();
    let res = step(
        &dept,
        a["id"].as_str().unwrap(),
        "submit",
        json!({"version": a["version"], "to_be_provided": codes}),
    )
    .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["code"], "no_receiving_regulator");
}

#[tokio::test]
async fn the_application_pages_render_for_department_and_regulator() {
    let app = TestApp::spawn().await;
    let dept = cnpc_officer(&app).await;
    let station = app.station_id("SZ-GAS-01").await;
    let a: Value = dept
        .post_json(
            "/api/v1/applications",
            &json!({"station_id": station, "region": ["440304"], "items": [gas_item()]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = a["id"].as_str().unwrap();
    assert_eq!(dept.get("/applications").await.status(), 200);
    let html = dept
        .get(&format!("/applications/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("第七条条件核查") && html.contains("R7.2"));
    let codes: Vec<Value> = a["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].clone())
        .collect();
    ok(&dept, id, "submit", json!({"to_be_provided": codes})).await;
    let gd = app.login("gd.reviewer").await;
    let html = gd.get("/applications").await.text().await.unwrap();
    assert!(html.contains("深圳市燃气计量站"));
    let res = gd
        .post_form(
            &format!("/applications/{id}/correction"),
            &[("version", "3"), ("items", "")],
        )
        .await;
    assert_eq!(
        res.status(),
        409,
        "a stale version is refused on the page too"
    );
}

#[tokio::test]
async fn uploaded_documents_by_type_satisfy_the_document_conditions_r6_3() {
    // R6.3: the application carries technical documents by type; R7.3 counts them.
    let app = TestApp::spawn().await;
    let dept = cnpc_officer(&app).await;
    let station = app.station_id("SZ-GAS-01").await;
    let a: Value = dept
        .post_json(
            "/api/v1/applications",
            &json!({"station_id": station, "region": ["440304"], "items": [gas_item()]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = a["id"].as_str().unwrap().to_owned();
    let missing = |a: &Value| {
        a["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["code"] == "missing_document")
            .count()
    };
    let before = missing(&a);
    assert!(
        before >= 4,
        "application form, licence, item list, signer list: {a}"
    );
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
    for (doc_type, ok_status) in [
        ("application_form", 201),
        ("business_licence", 201),
        ("no_such_type", 422),
    ] {
        let form = reqwest::multipart::Form::new()
            .text("doc_type", doc_type.to_owned())
            .part(
                "file",
                reqwest::multipart::Part::bytes(pdf.clone())
                    .file_name("材料.pdf")
                    .mime_str("application/pdf")
                    .unwrap(),
            );
        let res = dept
            .http
            .post(app.url(&format!("/api/v1/applications/{id}/documents")))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), ok_status, "{doc_type}");
    }
    let (_, a) = dept.json(&format!("/api/v1/applications/{id}")).await;
    assert_eq!(missing(&a), before - 2, "two document requirements met");
    assert_eq!(a["documents"].as_array().unwrap().len(), 2);
    // The receiving regulator reads them once submitted; another department never.
    let other = app.login("dept.officer").await;
    let doc = a["documents"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        other
            .get(&format!("/api/v1/documents/{doc}"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn the_drafting_form_keeps_input_and_shows_errors_beside_the_item() {
    let app = TestApp::spawn().await;
    let dept = cnpc_officer(&app).await;
    let station = app.station_id("SZ-GAS-01").await.to_string();
    assert_eq!(dept.get("/applications/new").await.status(), 200);
    let form = [
        ("version", "0"),
        ("station_id", station.as_str()),
        ("region", "440304"),
        ("item_name", "膜式燃气表"),
        ("item_range", "很多"),
        ("item_accuracy", "1.5级"),
        ("item_spec", "JJG 577-2012"),
        ("item_task", "0:verification"),
    ];
    let res = dept.post_form("/applications", &form).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("value=\"很多\""), "input kept");
    assert!(html.contains("field-error"));
    let mut good = form;
    good[4] = ("item_range", "（0.016～6）m³/h");
    let res = dept.post_form("/applications", &good).await;
    assert_eq!(res.status(), 303);
    let loc = res.headers()["location"].to_str().unwrap().to_owned();
    let html = dept.get(&loc).await.text().await.unwrap();
    assert!(html.contains("膜式燃气表") && html.contains("R7.3"));
    // The operator or a station cannot open the drafting form.
    assert_eq!(
        app.login("station.staff")
            .await
            .get("/applications/new")
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn a_department_applies_for_a_new_station_it_registers_with_the_draft_r6_1() {
    let app = TestApp::spawn().await;
    let dept = cnpc_officer(&app).await;
    let stations_before: i64 = sqlx::query_scalar("select count(*) from station")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // Bad station details and a bad item: every message at once, nothing written.
    let res = dept
        .post_json(
            "/api/v1/applications",
            &json!({"new_station": {"name": "", "code": "hz gas", "location_division": "999999",
                     "legal_person": true, "credit_code": "91440300MA5G12343X"},
                    "region": ["330106"], "items": [gas_item()]}),
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
        "new_station.name",
        "new_station.code",
        "new_station.location_division",
        "new_station.credit_code",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let stations_after: i64 = sqlx::query_scalar("select count(*) from station")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stations_before, stations_after, "no partial write");
    // Both an existing station and a new one: refused.
    let existing = app.station_id("SZ-GAS-01").await;
    let res = dept
        .post_json(
            "/api/v1/applications",
            &json!({"station_id": existing, "new_station": {"name": "x"}, "region": ["330106"]}),
        )
        .await;
    assert_error(res, 422, "validation").await;
    // A valid new station: registered unauthorized, of this department, with the draft.
    let res = dept
        .post_json(
            "/api/v1/applications",
            &json!({"new_station": {"name": "杭州市天然气计量站", "code": "hz-gas-01", "tier": "local",
                     "location_division": "330106", "legal_person": true,
                     "credit_code": "91440300MA5G12343E", "field": "燃气"},
                    "region": ["330106"], "items": [gas_item()]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let a: Value = res.json().await.unwrap();
    assert_eq!(a["station_name"], "杭州市天然气计量站");
    let (status, dept_id, regulator): (String, uuid::Uuid, Option<uuid::Uuid>) = sqlx::query_as(
        "select status, department_id, authorizing_regulator_id from station where code = 'HZ-GAS-01'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(status, "unauthorized");
    assert_eq!(dept_id, app.org_of("cnpc.officer").await.0);
    assert_eq!(regulator, None);
    // The department sees its new station; another department does not.
    let (code, _) = dept
        .json(&format!(
            "/api/v1/stations/{}",
            a["station_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(code, 200);
    let (code, _) = app
        .login("dept.officer")
        .await
        .json(&format!(
            "/api/v1/stations/{}",
            a["station_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(code, 404);
    // The same code again: a clear field message, not a server error.
    let res = dept
        .post_json(
            "/api/v1/applications",
            &json!({"new_station": {"name": "杭州市天然气计量站二站", "code": "HZ-GAS-01", "tier": "local",
                     "location_division": "330106", "legal_person": true,
                     "credit_code": "91440300MA5G12343E"},
                    "region": ["330106"], "items": [gas_item()]}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["field"], "new_station.code");
    // A new station is registered only at creation.
    let res = dept
        .put_json(
            &format!("/api/v1/applications/{}", a["id"].as_str().unwrap()),
            &json!({"version": a["version"], "new_station": {"name": "y"}}),
        )
        .await;
    assert_error(res, 422, "validation").await;
    // The organization and the draft are both audited.
    let kinds: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where entity_id in ($1, $2) order by occurred_at",
    )
    .bind(a["station_id"].as_str().unwrap())
    .bind(a["id"].as_str().unwrap())
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(kinds, ["organization.create", "application.draft"]);
}

#[tokio::test]
async fn every_step_after_acceptance_shows_its_clock() {
    let app = TestApp::spawn().await;
    let dept = cnpc_officer(&app).await;
    let station = app.station_id("SZ-GAS-01").await;
    let res = dept
        .post_json(
            "/api/v1/applications",
            &json!({"station_id": station, "region": ["440304"], "items": [gas_item()]}),
        )
        .await;
    let a: Value = res.json().await.unwrap();
    let id = a["id"].as_str().unwrap().to_owned();
    assert!(
        a["clocks"].as_array().unwrap().is_empty(),
        "a draft runs no clock"
    );
    let codes: Vec<Value> = a["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].clone())
        .collect();
    ok(&dept, &id, "submit", json!({"to_be_provided": codes})).await;
    let reviewer = app.login("gd.reviewer").await;
    let a = ok(&reviewer, &id, "accept", json!({})).await;
    let steps: Vec<&str> = a["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["acceptance", "assessment"]);
    assert_eq!(a["clocks"][0]["done"], true);
    assert_eq!(a["clock"]["step"], "assessment");
    ok(
        &reviewer,
        &id,
        "assessment",
        json!({"date": jiliang::web::today(), "team": "陈晓"}),
    )
    .await;
    let a = ok(
        &reviewer,
        &id,
        "assessment-outcome",
        json!({"outcome": "pass"}),
    )
    .await;
    assert_eq!(a["clock"]["step"], "decision");
    assert_eq!(a["clocks"][1]["done"], true);
    // The list shows the current step's clock.
    let list = reviewer.get("/applications").await.text().await.unwrap();
    assert!(list.contains("审批决定"), "the list names the current step");
}

#[tokio::test]
async fn an_application_past_its_clock_is_counted_on_the_regulators_home_page() {
    let app = TestApp::spawn().await;
    let dept = cnpc_officer(&app).await;
    let station = app.station_id("SZ-GAS-01").await;
    let a: Value = dept
        .post_json(
            "/api/v1/applications",
            &json!({"station_id": station, "region": ["440304"], "items": [gas_item()]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = a["id"].as_str().unwrap().to_owned();
    let codes: Vec<Value> = a["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].clone())
        .collect();
    ok(&dept, &id, "submit", json!({"to_be_provided": codes})).await;
    let reviewer = app.login("gd.reviewer").await;
    let home = reviewer.get("/").await.text().await.unwrap();
    assert!(home.contains("无超期"), "a fresh submission is not overdue");
    // R6.4: submitted long ago and never accepted.
    sqlx::query(
        "update application set submitted_on = '2025-09-01' where application_id = $1::uuid",
    )
    .bind(&id)
    .execute(&app.pool)
    .await
    .unwrap();
    let home = reviewer.get("/").await.text().await.unwrap();
    assert!(home.contains("超期 1"), "the home page counts it");
}

#[tokio::test]
async fn the_approver_can_send_a_proposal_back_to_the_reviewer_with_reasons() {
    let app = TestApp::spawn().await;
    let id = common::submitted_application(&app).await;
    let reviewer = app.login("gd.reviewer").await;
    ok(&reviewer, &id, "accept", json!({})).await;
    ok(
        &reviewer,
        &id,
        "assessment",
        json!({"date": jiliang::web::today(), "team": "考核组"}),
    )
    .await;
    ok(
        &reviewer,
        &id,
        "assessment-outcome",
        json!({"outcome": "fail", "findings": "标准装置不满足要求"}),
    )
    .await;
    ok(
        &reviewer,
        &id,
        "propose",
        json!({"decision": "refuse", "reasons": "考核不通过"}),
    )
    .await;
    let approver = app.login("gd.approver").await;
    // Reasons are required; only an approver sends back.
    let (_, cur) = approver.json(&format!("/api/v1/applications/{id}")).await;
    let res = step(&approver, &id, "return", json!({"version": cur["version"]})).await;
    assert_error(res, 422, "validation").await;
    let res = step(
        &reviewer,
        &id,
        "return",
        json!({"version": cur["version"], "reasons": "x"}),
    )
    .await;
    assert_error(res, 403, "forbidden").await;
    let a = ok(
        &approver,
        &id,
        "return",
        json!({"reasons": "请补充考核组对标准装置的具体意见"}),
    )
    .await;
    assert_eq!(a["state"], "assessed");
    assert_eq!(a["proposal"], Value::Null);
    assert_eq!(a["returned_reasons"], "请补充考核组对标准装置的具体意见");
    let n: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'application.return' and entity_id = $1",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(n, 1, "audited");
    // The reviewer proposes again; the page shows why it came back.
    let page = reviewer
        .get(&format!("/applications/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("审批人已退回审查意见：请补充考核组对标准装置的具体意见"));
    let a = ok(
        &reviewer,
        &id,
        "propose",
        json!({"decision": "refuse", "reasons": "考核不通过：标准装置准确度不足"}),
    )
    .await;
    assert_eq!(a["state"], "proposed");
    assert_eq!(a["returned_reasons"], Value::Null);
}

/// One rule for unmet Art 7 conditions (R7.2, R7.3, requirements §4): at
/// the grant each condition declared 待补 and still unmet is verified by
/// the assessment with evidence, or overridden by the deciding approver
/// with a reason; an open one blocks the grant. The certificate record
/// keeps them, each with an audit event; a reason for a condition that is
/// not unmet is refused; and the page lists each with its state.
#[tokio::test]
async fn unmet_conditions_at_the_grant_are_verified_overridden_or_block_it_r7_2_r7_3() {
    let app = TestApp::spawn().await;
    let id = common::submitted_application(&app).await;
    let reviewer = app.login("gd.reviewer").await;
    ok(&reviewer, &id, "accept", json!({})).await;
    ok(
        &reviewer,
        &id,
        "assessment",
        json!({"date": jiliang::web::today(), "team": "陈晓（组长）、王明"}),
    )
    .await;
    let (_, a) = reviewer.json(&format!("/api/v1/applications/{id}")).await;
    let keys: Vec<String> = a["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        keys.contains(&"no_covering_standard:1".to_owned()),
        "{keys:?}"
    );
    assert!(keys.contains(&"too_few_qualified_staff:1".to_owned()));
    // A verification must name a condition that is unmet.
    let res = step(
        &reviewer,
        &id,
        "assessment-outcome",
        json!({"version": a["version"], "outcome": "pass",
               "verified": {"no_covering_standard:9": "不存在的项目"}}),
    )
    .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(
        body["error"]["fields"][0]["field"],
        "conditions.no_covering_standard:9"
    );
    // The assessment verified R7.2 for item 1 on site.
    let a = ok(
        &reviewer,
        &id,
        "assessment-outcome",
        json!({"outcome": "pass", "verified": {"no_covering_standard:1": "现场核查：燃气表检定装置已建成，证书 GD-2026-118"}}),
    )
    .await;
    assert_eq!(a["state"], "assessed");
    ok(&reviewer, &id, "propose", json!({"decision": "grant"})).await;
    let approver = app.login("gd.approver").await;
    let (_, a) = approver.json(&format!("/api/v1/applications/{id}")).await;
    let state = |a: &Value, k: &str| {
        a["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == k)
            .map(|c| c["state"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        state(&a, "no_covering_standard:1").as_deref(),
        Some("verified")
    );
    assert_eq!(
        state(&a, "too_few_qualified_staff:1").as_deref(),
        Some("open")
    );
    // The decision page lists each condition with its state and asks for
    // a reason for each open one.
    let page = approver
        .get(&format!("/applications/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("决定时的条件") && page.contains("考核核实") && page.contains("未满足"));
    assert!(page.contains("value=\"too_few_qualified_staff:1\""));
    // Nothing overridden: the grant is refused, naming every open condition.
    let res = step(
        &approver,
        &id,
        "confirm",
        json!({"version": a["version"], "overrides": {}}),
    )
    .await;
    let body = assert_error(res, 422, "validation").await;
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"conditions.too_few_qualified_staff:1"),
        "{fields:?}"
    );
    assert!(
        !fields.contains(&"conditions.no_covering_standard:1"),
        "verified is not open"
    );
    let before: i64 = sqlx::query_scalar("select count(*) from condition_settlement")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(before, 1, "the refused decision wrote nothing");
    // Refused on the page: the typed reason comes back beside its field.
    let v = a["version"].to_string();
    let res = approver
        .post_form(
            &format!("/applications/{id}/confirm"),
            &[
                ("version", v.as_str()),
                ("confirmed", "yes"),
                ("settle_key", "too_few_qualified_staff:1"),
                ("settle_text", "第二名检定员的证书在换发中"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("第二名检定员的证书在换发中"),
        "the reason is kept"
    );
    assert!(
        page.contains("class=\"field-error\""),
        "messages beside the fields"
    );
    // Every open condition overridden with a reason: granted.
    let overrides = common::override_all_open(&a);
    let a = ok(&approver, &id, "confirm", json!({"overrides": overrides})).await;
    assert_eq!(a["state"], "granted");
    let auth = a["authorization_id"].as_str().unwrap().to_owned();
    let (status, kept) = approver
        .json(&format!("/api/v1/authorizations/{auth}/conditions"))
        .await;
    assert_eq!(status, 200);
    let kept = kept.as_array().unwrap();
    assert!(kept
        .iter()
        .any(|c| c["key"] == "no_covering_standard:1" && c["state"] == "verified"));
    let over: Vec<&Value> = kept.iter().filter(|c| c["state"] == "overridden").collect();
    assert_eq!(over.len(), overrides.as_object().unwrap().len());
    assert!(over
        .iter()
        .all(|c| c["decided_by_name"].is_string() && c["statement"].is_string()));
    let events: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action in ('condition.verified', 'condition.overridden')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        events as usize,
        kept.len(),
        "one audit event per settlement"
    );
    // Another station does not see this certificate record.
    let other = app.login("station.staff").await;
    assert_eq!(
        other
            .get(&format!("/api/v1/authorizations/{auth}/conditions"))
            .await
            .status(),
        404
    );
    // The certificate page shows them (not printed).
    let page = approver
        .get(&format!("/authorizations/{auth}/certificate"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("审批人认可") && page.contains("no-print"));
    // The rows cannot be changed, not even by the approver.
    let err = app
        .as_app_role_result(
            Some("gd.approver"),
            "update condition_settlement set statement = 'x'",
        )
        .await;
    assert!(
        err.is_err_and(|e| e.contains("permission denied")),
        "append-only"
    );
}
