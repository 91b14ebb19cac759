//! Measurement standards and staff qualifications (R9.1, R12.1–R12.4,
//! R16.1–R16.4, R16.6): registries whose protected state changes only by an
//! approved change request, decided with four eyes by the issuer.

mod common;

use common::{assert_error, TestApp};
use serde_json::{json, Value};

async fn gd_standard(app: &TestApp, name_like: &str) -> (String, Value) {
    let c = app.login("station.staff").await;
    let (_, body) = c.json("/api/v1/standards?per_page=100").await;
    let s = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str().unwrap().contains(name_like))
        .unwrap_or_else(|| panic!("a demo standard like {name_like}"))
        .clone();
    (s["id"].as_str().unwrap().to_owned(), s)
}

async fn standard_json(app: &TestApp, user: &str, id: &str) -> Value {
    let (status, body) = app
        .login(user)
        .await
        .json(&format!("/api/v1/standards/{id}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["standard"].clone()
}

/// Drafts, submits, proposes and confirms; returns the final request.
async fn walk(app: &TestApp, id: &str, kind: &str, changes: Value, decision: &str) -> Value {
    let st = app.login("station.staff").await;
    let res = st
        .post_json(
            &format!("/api/v1/standards/{id}/change-requests"),
            &json!({"change_kind": kind, "reason": "设备更新 / equipment renewed", "changes": changes}),
        )
        .await;
    assert_eq!(res.status(), 201, "{kind}: {}", res.text().await.unwrap());
    let req: Value = res.json().await.unwrap();
    let rid = req["id"].as_str().unwrap().to_owned();
    let res = st
        .post_json(
            &format!("/api/v1/change-requests/{rid}/submit"),
            &json!({"version": req["version"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let req: Value = res.json().await.unwrap();
    let reviewer = app.login("gd.reviewer").await;
    let res = reviewer
        .post_json(
            &format!("/api/v1/change-requests/{rid}/propose"),
            &json!({"version": req["version"], "decision": decision, "note": "核查无误 / checked"}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let req: Value = res.json().await.unwrap();
    // Still unchanged while only proposed.
    let approver = app.login("gd.approver").await;
    let res = approver
        .post_json(
            &format!("/api/v1/change-requests/{rid}/confirm"),
            &json!({"version": req["version"]}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

#[tokio::test]
async fn each_change_request_kind_changes_the_standard_only_when_approved_r12_4() {
    let app = TestApp::spawn().await;
    let (id, _) = gd_standard(&app, "活塞式压力计").await;
    let cases = [
        (
            "equipment",
            json!({"main_equipment": "新型活塞式压力计", "range_text": "（0.1～100）MPa"}),
        ),
        ("specification", json!({"specification": "JJG52-2013"})),
        ("personnel", json!({"responsible_person": "王丽"})),
        (
            "environment",
            json!({"location": "新压力实验室", "environment": "温度（20±1）℃"}),
        ),
        ("status", json!({"status": "sealed"})),
    ];
    for (kind, changes) in cases {
        let before = standard_json(&app, "station.staff", &id).await;
        let st = app.login("station.staff").await;
        let res = st
            .post_json(
                &format!("/api/v1/standards/{id}/change-requests"),
                &json!({"change_kind": kind, "reason": "测试", "changes": changes}),
            )
            .await;
        assert_eq!(res.status(), 201, "{kind}");
        let req: Value = res.json().await.unwrap();
        assert_eq!(
            standard_json(&app, "station.staff", &id).await,
            before,
            "{kind}: a draft changes nothing"
        );
        let rid = req["id"].as_str().unwrap();
        // Withdraw this one and walk a fresh one through to approval.
        let res = st
            .post_json(
                &format!("/api/v1/change-requests/{rid}/withdraw"),
                &json!({"version": req["version"]}),
            )
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            standard_json(&app, "station.staff", &id).await,
            before,
            "{kind}: withdrawn changes nothing"
        );
        let done = walk(&app, &id, kind, changes.clone(), "approve").await;
        assert_eq!(done["state"], "approved", "{kind}");
        let after = standard_json(&app, "station.staff", &id).await;
        for (field, value) in changes.as_object().unwrap() {
            let want = if field == "specification" {
                json!("JJG 52-2013")
            } else {
                value.clone()
            };
            assert_eq!(after[field], want, "{kind}: {field} changed on approval");
        }
        assert_eq!(
            after["version"].as_i64().unwrap(),
            before["version"].as_i64().unwrap() + 1
        );
    }
}

#[tokio::test]
async fn a_refused_request_leaves_the_standard_unchanged() {
    let app = TestApp::spawn().await;
    let (id, _) = gd_standard(&app, "电能表检定装置").await;
    let before = standard_json(&app, "station.staff", &id).await;
    let done = walk(
        &app,
        &id,
        "status",
        json!({"status": "cancelled"}),
        "refuse",
    )
    .await;
    assert_eq!(done["state"], "refused");
    assert_eq!(standard_json(&app, "station.staff", &id).await, before);
}

#[tokio::test]
async fn a_stale_decision_is_refused_when_someone_else_decided_first() {
    let app = TestApp::spawn().await;
    let (id, _) = gd_standard(&app, "电能表检定装置").await;
    let st = app.login("station.staff").await;
    let req: Value = st
        .post_json(&format!("/api/v1/standards/{id}/change-requests"), &json!({"change_kind": "personnel", "reason": "调岗", "changes": {"responsible_person": "王丽"}}))
        .await
        .json()
        .await
        .unwrap();
    let rid = req["id"].as_str().unwrap();
    let req: Value = st
        .post_json(
            &format!("/api/v1/change-requests/{rid}/submit"),
            &json!({"version": req["version"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let reviewer = app.login("gd.reviewer").await;
    let req: Value = reviewer
        .post_json(
            &format!("/api/v1/change-requests/{rid}/propose"),
            &json!({"version": req["version"], "decision": "approve"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let version = req["version"].clone();
    // A second approver of 广东.
    let op = app.login("operator").await;
    let gd = app.org_id("广东省市场监督管理局").await;
    let res = op
        .post_json("/api/v1/users", &json!({"organization_id": gd, "username": "gd.approver2", "display_name": "第二审批人", "roles": ["approver"], "password": "Second-approver-1"}))
        .await;
    assert_eq!(res.status(), 201);
    let a1 = app.login("gd.approver").await;
    let a2 = app.client();
    a2.post_json(
        "/api/v1/session",
        &json!({"username": "gd.approver2", "password": "Second-approver-1"}),
    )
    .await;
    let first = a1
        .post_json(
            &format!("/api/v1/change-requests/{rid}/confirm"),
            &json!({"version": version}),
        )
        .await;
    assert_eq!(first.status(), 200);
    let second = a2
        .post_json(
            &format!("/api/v1/change-requests/{rid}/confirm"),
            &json!({"version": version}),
        )
        .await;
    let body = assert_error(second, 409, "illegal_transition").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("已批准"),
        "{body}"
    );
}

#[tokio::test]
async fn the_proposer_cannot_confirm_their_own_proposal() {
    let app = TestApp::spawn().await;
    let (id, _) = gd_standard(&app, "电能表检定装置").await;
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
    let st = app.login("station.staff").await;
    let req: Value = st
        .post_json(
            &format!("/api/v1/standards/{id}/change-requests"),
            &json!({"change_kind": "status", "reason": "封存", "changes": {"status": "sealed"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let rid = req["id"].as_str().unwrap();
    let req: Value = st
        .post_json(
            &format!("/api/v1/change-requests/{rid}/submit"),
            &json!({"version": req["version"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let req: Value = both
        .post_json(
            &format!("/api/v1/change-requests/{rid}/propose"),
            &json!({"version": req["version"], "decision": "approve"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let res = both
        .post_json(
            &format!("/api/v1/change-requests/{rid}/confirm"),
            &json!({"version": req["version"]}),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
    assert_eq!(
        standard_json(&app, "station.staff", &id).await["status"],
        "in_service"
    );
}

#[tokio::test]
async fn protected_fields_cannot_be_edited_directly_r16_1_r16_2() {
    let app = TestApp::spawn().await;
    let (id, s) = gd_standard(&app, "电能表检定装置").await;
    let st = app.login("station.staff").await;
    let res = st
        .put_json(
            &format!("/api/v1/standards/{id}"),
            &json!({"status": "cancelled", "version": s["version"]}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(
        body["error"]["fields"][0]["code"],
        "change_request_required"
    );
    assert!(body["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("R16.2"));
    let res = st
        .put_json(
            &format!("/api/v1/standards/{id}"),
            &json!({"range_text": "（0～200）A", "version": s["version"]}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert!(body["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("R12.4"));
    // The name is the station's to edit; a stale version is refused.
    let res = st
        .put_json(
            &format!("/api/v1/standards/{id}"),
            &json!({"name": "0.02级三相电能表检定装置", "version": s["version"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = st
        .put_json(
            &format!("/api/v1/standards/{id}"),
            &json!({"name": "又改", "version": s["version"]}),
        )
        .await;
    assert_error(res, 409, "stale_version").await;
}

#[tokio::test]
async fn the_database_refuses_a_protected_change_without_an_approved_request_r16_2() {
    let app = TestApp::spawn().await;
    let (id, _) = gd_standard(&app, "电能表检定装置").await;
    let (org, _) = app.org_of("station.staff").await;
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("select set_config('role', 'jiliang_app', true), set_config('app.org_id', $1, true), set_config('app.org_kind', 'station', true)")
        .bind(org.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let err = sqlx::query(
        "update measurement_standard set status = 'cancelled' where standard_id = $1::uuid",
    )
    .bind(&id)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("R12.4/R16.1/R16.2"), "{err}");
}

#[tokio::test]
async fn transfer_loan_and_lease_are_refused_and_recorded_r16_3() {
    let app = TestApp::spawn().await;
    let (id, s) = gd_standard(&app, "电能表检定装置").await;
    let st = app.login("station.staff").await;
    for op in ["transfer", "loan", "lease"] {
        let res = st
            .post_json(&format!("/api/v1/standards/{id}/{op}"), &json!({}))
            .await;
        let body = assert_error(res, 403, "forbidden").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("R16.3"));
    }
    let other = app.station_id("JS-EP-01").await;
    let res = st
        .put_json(
            &format!("/api/v1/standards/{id}"),
            &json!({"station_id": other, "version": s["version"]}),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
    let n: i64 = sqlx::query_scalar("select count(*) from audit_event where action = 'standard.transfer_refused' and entity_id = $1")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 4, "every attempt is in the audit log");
    let owner: uuid::Uuid = sqlx::query_scalar(
        "select station_id from measurement_standard where standard_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(owner, app.station_id("GD-EP-01").await);
}

#[tokio::test]
async fn the_registry_warns_of_reassessment_traceability_and_qualifications_r12_3_r16_4_r16_6() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let (_, body) = c.json("/api/v1/standards?warnings=true").await;
    let codes: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["code"].as_str().unwrap().to_owned())
        })
        .collect();
    assert!(codes.contains(&"reassessment_due".to_owned()), "{codes:?}");
    assert!(
        codes.contains(&"traceability_overdue".to_owned()),
        "{codes:?}"
    );
    let (_, staff) = c.json("/api/v1/staff").await;
    let expired = staff
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["qualifications"].as_array().unwrap().clone())
        .filter(|q| q["warning"]["code"] == "qualification_expired")
        .count();
    assert_eq!(expired, 1);
    let html = c.get("/standards").await.text().await.unwrap();
    assert!(html.contains("badge-bad"), "overdue shows red");
    let html = c.get("/staff").await.text().await.unwrap();
    assert!(html.contains("资格证书已于"));
}

#[tokio::test]
async fn a_new_traceability_record_clears_the_overdue_warning() {
    let app = TestApp::spawn().await;
    let (id, s) = gd_standard(&app, "互感器").await;
    assert!(s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["code"] == "traceability_overdue"));
    let st = app.login("station.staff").await;
    let today = jiliang::web::today();
    let res = st
        .post_json(
            &format!("/api/v1/standards/{id}/traceability"),
            &json!({"calibrated_on": today, "provider": "广东省计量科学研究院", "certificate_number": "GDJL-2026-001", "due_on": today + chrono::Days::new(365)}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let after = standard_json(&app, "station.staff", &id).await;
    assert!(!after["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["code"] == "traceability_overdue"));
    let res = st
        .post_json(
            &format!("/api/v1/standards/{id}/traceability"),
            &json!({"calibrated_on": today, "provider": "", "due_on": today}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert!(body["error"]["fields"].as_array().unwrap().len() >= 3);
}

// ------------------------------------------------------------------ matrix

/// Who sees the 广东 power station's registry (R3.2, requirements.md §2).
#[tokio::test]
async fn registry_visibility_follows_station_visibility_for_every_role() {
    let app = TestApp::spawn().await;
    let (id, _) = gd_standard(&app, "电能表检定装置").await;
    let cases = [
        ("station.staff", 200),
        ("dept.officer", 200),
        ("gd.reviewer", 200),
        ("samr.reviewer", 200),
        ("station2.staff", 404),
        ("head.staff", 404),
        ("operator", 404),
    ];
    for (user, want) in cases {
        let c = app.login(user).await;
        let res = c.get(&format!("/api/v1/standards/{id}")).await;
        assert_eq!(res.status().as_u16(), want, "{user} reads the standard");
        let (_, list) = c.json("/api/v1/standards?per_page=100").await;
        let listed = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == id.as_str());
        assert_eq!(listed, want == 200, "{user} lists it");
        let (_, staff) = c.json("/api/v1/staff").await;
        let sees_staff = staff
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "刘芳");
        assert_eq!(sees_staff, want == 200, "{user} sees the qualifications");
        let rows = app
            .as_app_role(
                Some(user),
                &format!(
                    "select standard_id::text from measurement_standard where standard_id = '{id}'"
                ),
            )
            .await;
        assert_eq!(
            rows.len(),
            usize::from(want == 200),
            "{user}: rows under the app role"
        );
        let rows = app.as_app_role(Some(user), "select traceability_record_id::text from traceability_record t join station s using (station_id) where s.code = 'GD-EP-01'").await;
        assert_eq!(rows.is_empty(), want != 200, "{user}: traceability rows");
    }
    // The head station reads its own registry; 广东 reads it too because the
    // head station is authorized to work in 广东 (supervision, R17.1).
    let head = app.login("head.staff").await;
    let (_, list) = head.json("/api/v1/standards").await;
    assert_eq!(list["total"], 1);
    let gd = app.login("gd.reviewer").await;
    let (_, list) = gd.json("/api/v1/standards?per_page=100").await;
    assert!(list["items"].as_array().unwrap().iter().all(|s| {
        s["station_name"] == "广东省电力工业电能计量站"
            || s["station_name"] == "国家石油天然气大流量计量站"
    }));
}

#[tokio::test]
async fn only_the_station_itself_writes_its_registry() {
    let app = TestApp::spawn().await;
    let (id, s) = gd_standard(&app, "电能表检定装置").await;
    let gd = app.org_id("广东省市场监督管理局").await;
    let new = json!({"kind": "professional", "name": "新标准", "range_text": "0~10 MPa", "accuracy_text": "0.1级",
        "cert_number": "X-1", "cert_issuer_id": gd, "cert_issued_on": "2025-01-01"});
    for user in ["gd.reviewer", "dept.officer", "operator", "samr.approver"] {
        let c = app.login(user).await;
        assert_error(
            c.post_json("/api/v1/standards", &new).await,
            403,
            "forbidden",
        )
        .await;
        assert_eq!(
            c.put_json(
                &format!("/api/v1/standards/{id}"),
                &json!({"name": "x", "version": s["version"]})
            )
            .await
            .status(),
            if user == "operator" { 404 } else { 403 },
            "{user} (the operator does not even see it)"
        );
        assert_eq!(
            c.post_json(
                &format!("/api/v1/standards/{id}/change-requests"),
                &json!({"change_kind": "status", "reason": "x", "changes": {"status": "sealed"}})
            )
            .await
            .status(),
            if user == "operator" { 404 } else { 403 },
            "{user} (the operator does not even see it)"
        );
        assert_error(
            c.post_json("/api/v1/staff", &json!({"name": "某人"})).await,
            403,
            "forbidden",
        )
        .await;
    }
    // Another station: not even visible.
    let other = app.login("station2.staff").await;
    assert_error(
        other
            .put_json(
                &format!("/api/v1/standards/{id}"),
                &json!({"name": "x", "version": s["version"]}),
            )
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        other.post_json(&format!("/api/v1/standards/{id}/traceability"), &json!({"calibrated_on": "2025-01-01", "provider": "x", "certificate_number": "x", "due_on": "2026-01-01"})).await,
        404,
        "not_found",
    )
    .await;
    let st = app.login("station.staff").await;
    let res = st.post_json("/api/v1/standards", &new).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(
        created["cert_expires_on"], "2029-01-01",
        "default validity: four years (R12.1)"
    );
}

#[tokio::test]
async fn change_requests_are_seen_by_the_station_and_by_the_issuer_once_submitted() {
    let app = TestApp::spawn().await;
    let (id, _) = gd_standard(&app, "电能表检定装置").await;
    let st = app.login("station.staff").await;
    let req: Value = st
        .post_json(
            &format!("/api/v1/standards/{id}/change-requests"),
            &json!({"change_kind": "status", "reason": "封存", "changes": {"status": "sealed"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let rid = req["id"].as_str().unwrap();
    let path = format!("/api/v1/change-requests/{rid}");
    let gd = app.login("gd.reviewer").await;
    assert_eq!(
        gd.get(&path).await.status(),
        404,
        "the issuer does not see drafts"
    );
    let other = app.login("station2.staff").await;
    assert_eq!(other.get(&path).await.status(), 404);
    st.post_json(
        &format!("{path}/submit"),
        &json!({"version": req["version"]}),
    )
    .await;
    assert_eq!(
        gd.get(&path).await.status(),
        200,
        "the issuer sees it once submitted"
    );
    assert_eq!(
        other.get(&path).await.status(),
        404,
        "another station never does"
    );
    let (_, queue) = gd.json("/api/v1/change-requests?state=submitted").await;
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["counts"]["submitted"], 1);
    // Wrong roles are refused at each step.
    let v = gd.json(&path).await.1["version"].clone();
    assert_error(
        st.post_json(
            &format!("{path}/propose"),
            &json!({"version": v, "decision": "approve"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let approver = app.login("gd.approver").await;
    assert_error(
        approver
            .post_json(
                &format!("{path}/propose"),
                &json!({"version": v, "decision": "approve"}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        gd.post_json(&format!("{path}/confirm"), &json!({"version": v}))
            .await,
        403,
        "forbidden",
    )
    .await;
    let samr = app.login("samr.reviewer").await;
    assert_error(
        samr.post_json(
            &format!("{path}/propose"),
            &json!({"version": v, "decision": "approve"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // An illegal transition is refused by state.
    assert_error(
        st.post_json(&format!("{path}/submit"), &json!({"version": v}))
            .await,
        409,
        "illegal_transition",
    )
    .await;
}

#[tokio::test]
async fn a_change_request_outside_its_kind_or_changing_nothing_is_refused() {
    let app = TestApp::spawn().await;
    let (id, s) = gd_standard(&app, "电能表检定装置").await;
    let st = app.login("station.staff").await;
    let res = st
        .post_json(
            &format!("/api/v1/standards/{id}/change-requests"),
            &json!({"change_kind": "personnel", "reason": "x", "changes": {"status": "sealed"}}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["code"], "field_not_in_kind");
    let res = st
        .post_json(&format!("/api/v1/standards/{id}/change-requests"), &json!({"change_kind": "personnel", "reason": "x", "changes": {"responsible_person": s["responsible_person"]}}))
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["code"], "no_change");
    let res = st
        .post_json(
            &format!("/api/v1/standards/{id}/change-requests"),
            &json!({"change_kind": "equipment", "reason": "", "changes": {"range_text": "lots"}}),
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
        fields.contains(&"reason") && fields.contains(&"changes.range_text"),
        "{fields:?}"
    );
}

// ------------------------------------------------------------------ import

fn csv_file(rows: &[String]) -> Vec<u8> {
    let header = "类别,名称,测量范围,准确度等级/最大允许误差/不确定度,主要配套设备,依据的技术规范,负责人,存放地点,环境条件,计量标准考核证书编号,发证机关,发证日期,有效期至";
    let mut s = String::from("\u{feff}");
    s.push_str(header);
    s.push('\n');
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

fn row(i: usize, range: &str) -> String {
    format!("本专业项目的计量标准,压力标准装置 {i},{range},0.05级,活塞式压力计,JJG 59-2022,刘芳,压力实验室,,[2025]粤量标证字第{i:05}号,广东省市场监督管理局,2025-01-15,")
}

async fn upload(
    app: &TestApp,
    user: &str,
    path: &str,
    filename: &str,
    bytes: Vec<u8>,
    mime: &str,
) -> reqwest::Response {
    let c = app.login(user).await;
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(filename.to_owned())
        .mime_str(mime)
        .unwrap();
    c.http
        .post(app.url(path))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

async fn standard_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from measurement_standard")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_import_with_one_bad_row_imports_nothing_and_names_the_line() {
    let app = TestApp::spawn().await;
    let before = standard_count(&app).await;
    let rows = vec![row(1, "(0~10) MPa"), row(2, "很大"), row(3, "(0~60) MPa")];
    let res = upload(
        &app,
        "station.staff",
        "/api/v1/standards/import",
        "registry.csv",
        csv_file(&rows),
        "text/csv",
    )
    .await;
    assert_eq!(res.status(), 422);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["imported"], 0);
    assert_eq!(report["problems"][0]["line"], 3);
    assert_eq!(report["problems"][0]["field"], "range_text");
    assert_eq!(standard_count(&app).await, before);
}

#[tokio::test]
async fn ten_thousand_standards_import_in_one_transaction() {
    let app = TestApp::spawn().await;
    let before = standard_count(&app).await;
    let audits = app.audit_count().await;
    let rows: Vec<String> = (1..=10_000).map(|i| row(i, "（0～10）MPa")).collect();
    let res = upload(
        &app,
        "station.staff",
        "/api/v1/standards/import",
        "registry.csv",
        csv_file(&rows),
        "text/csv",
    )
    .await;
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["imported"], 10_000);
    assert_eq!(standard_count(&app).await, before + 10_000);
    assert_eq!(
        app.audit_count().await,
        audits + 2,
        "one import event (and the sign-in)"
    );
    // The same file again: every number is now a duplicate; nothing is added.
    let res = upload(
        &app,
        "station.staff",
        "/api/v1/standards/import",
        "registry.csv",
        csv_file(&rows[..3]),
        "text/csv",
    )
    .await;
    assert_eq!(res.status(), 422);
    assert_eq!(standard_count(&app).await, before + 10_000);
}

#[tokio::test]
async fn the_xlsx_template_imports_and_the_registry_exports_to_csv_and_xlsx() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let tpl = c.get("/api/v1/standards/template.xlsx").await;
    assert_eq!(tpl.status(), 200);
    let bytes = tpl.bytes().await.unwrap().to_vec();
    let res = upload(
        &app,
        "station.staff",
        "/api/v1/standards/import",
        "模板.xlsx",
        bytes,
        "application/octet-stream",
    )
    .await;
    assert_eq!(res.status(), 200, "the template's example row imports");
    let csv = c.get("/api/v1/standards/export.csv").await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'), "a BOM for Excel");
    assert!(text.contains("0.05级活塞式压力计标准装置"));
    let xlsx = c.get("/api/v1/standards/export.xlsx").await;
    assert_eq!(xlsx.status(), 200);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
}

// ------------------------------------------------------------------ uploads

#[tokio::test]
async fn an_upload_whose_content_is_not_what_its_name_says_is_refused() {
    let app = TestApp::spawn().await;
    let (id, _) = gd_standard(&app, "电能表检定装置").await;
    let path = format!("/api/v1/standards/{id}/documents");
    let png = vec![
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R',
    ];
    let res = upload(
        &app,
        "station.staff",
        &path,
        "certificate.pdf",
        png,
        "application/pdf",
    )
    .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["code"], "content_mismatch");
    let res = upload(
        &app,
        "station.staff",
        &path,
        "macro.exe",
        b"MZ\x90\x00".to_vec(),
        "application/pdf",
    )
    .await;
    assert_error(res, 422, "validation").await;
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
    let res = upload(
        &app,
        "station.staff",
        &path,
        "考核证书.pdf",
        pdf.clone(),
        "application/pdf",
    )
    .await;
    assert_eq!(res.status(), 201);
    let doc: Value = res.json().await.unwrap();
    use sha2::Digest;
    assert_eq!(doc["sha256"], hex::encode(sha2::Sha256::digest(&pdf)));
    let c = app.login("gd.reviewer").await;
    let dl = c
        .get(&format!(
            "/api/v1/documents/{}",
            doc["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(dl.status(), 200);
    assert_eq!(dl.bytes().await.unwrap().to_vec(), pdf);
    let other = app.login("station2.staff").await;
    assert_eq!(
        other
            .get(&format!(
                "/api/v1/documents/{}",
                doc["id"].as_str().unwrap()
            ))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_with_a_clear_message() {
    let app = TestApp::spawn_with(|c| c.max_upload_bytes = 1024).await;
    let (id, _) = gd_standard(&app, "电能表检定装置").await;
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.resize(4096, b' ');
    let res = upload(
        &app,
        "station.staff",
        &format!("/api/v1/standards/{id}/documents"),
        "big.pdf",
        pdf,
        "application/pdf",
    )
    .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let body: Value = res.json().await.unwrap();
    let msg = body["error"]["fields"][0]["message"]
        .as_str()
        .or(body["error"]["message"].as_str())
        .unwrap()
        .to_owned();
    assert!(msg.contains("上限") || msg.contains("过大"), "{msg}");
    let n: i64 = sqlx::query_scalar("select count(*) from document")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn the_pages_of_the_registry_render_for_station_and_regulator() {
    let app = TestApp::spawn().await;
    let (id, _) = gd_standard(&app, "电能表检定装置").await;
    let st = app.login("station.staff").await;
    for path in [
        "/standards",
        "/standards/new",
        "/standards/import",
        "/staff",
        "/change-requests",
        &format!("/standards/{id}"),
        &format!("/standards/{id}/change"),
    ] {
        assert_eq!(st.get(path).await.status(), 200, "{path}");
    }
    let res = st
        .post_form(
            &format!("/standards/{id}/change"),
            &[
                ("change_kind", "status"),
                ("status", "sealed"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 422, "a missing reason re-renders the form");
    let html = res.text().await.unwrap();
    assert!(html.contains("field-error"));
    let res = st
        .post_form(
            &format!("/standards/{id}/change"),
            &[
                ("change_kind", "status"),
                ("status", "sealed"),
                ("reason", "年度封存"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let loc = res.headers()["location"].to_str().unwrap().to_owned();
    let html = st.get(&loc).await.text().await.unwrap();
    assert!(
        html.contains("<del>在用</del>") && html.contains("<ins>封存</ins>"),
        "before → after"
    );
    let gd = app.login("gd.reviewer").await;
    assert_eq!(gd.get("/standards").await.status(), 200);
    assert_eq!(gd.get("/change-requests").await.status(), 200);
}

#[tokio::test]
async fn a_head_station_reads_its_branches_registry_but_cannot_write_it_r3_2() {
    let app = TestApp::spawn().await;
    let branch = app.station_id("NS-OGF-CD").await;
    let samr = app.org_id("国家市场监督管理总局").await;
    let id = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into measurement_standard (standard_id, station_id, kind, name, range_text, accuracy_text,
           cert_number, cert_issuer_id, cert_issued_on, cert_expires_on)
         values ($1, $2, 'professional', '成都分站流量标准装置', '(1~100) m³/h', '0.2级', 'CD-1', $3, '2024-01-01', '2028-01-01')",
    )
    .bind(id)
    .bind(branch)
    .bind(samr)
    .execute(&app.pool)
    .await
    .unwrap();
    let head = app.login("head.staff").await;
    let (status, body) = head.json(&format!("/api/v1/standards/{id}")).await;
    assert_eq!(status, 200, "{body}");
    let res = head
        .put_json(
            &format!("/api/v1/standards/{id}"),
            &json!({"name": "改名", "version": 1}),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
    let gd = app.login("gd.reviewer").await;
    assert_eq!(
        gd.get(&format!("/api/v1/standards/{id}")).await.status(),
        404
    );
}

#[tokio::test]
async fn the_station_home_page_lists_its_warnings_and_the_regulator_sees_waiting_requests() {
    let app = TestApp::spawn().await;
    let st = app.login("station.staff").await;
    let html = st.get("/").await.text().await.unwrap();
    assert!(html.contains("需要处理的提示"));
    assert!(
        html.contains("量值溯源已于"),
        "traceability overdue (R16.4)"
    );
    assert!(
        html.contains("资格证书已于"),
        "qualification expired (R16.6)"
    );
    let gd = app.login("gd.reviewer").await;
    let html = gd.get("/").await.text().await.unwrap();
    assert!(html.contains("计量标准变更申请"));
}

#[tokio::test]
async fn staff_and_qualifications_are_added_from_the_page_with_errors_beside_fields() {
    let app = TestApp::spawn().await;
    let st = app.login("station.staff").await;
    let res = st
        .post_form("/staff", &[("name", ""), ("title", "工程师")])
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text().await.unwrap().contains("value=\"工程师\""),
        "input kept"
    );
    let res = st
        .post_form("/staff", &[("name", "赵六"), ("title", "工程师")])
        .await;
    assert_eq!(res.status(), 303);
    let (_, staff) = st.json("/api/v1/staff").await;
    let person = staff
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "赵六")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = st
        .post_form(
            "/staff",
            &[
                ("staff_member_id", &person),
                ("kind", "verifier_certificate"),
                ("certificate_number", "粤检字 2025-1"),
                ("items", "压力表、活塞式压力计"),
                ("issued_on", "2025-01-01"),
                ("expires_on", "2030-01-01"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, staff) = st.json("/api/v1/staff").await;
    let p = staff
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "赵六")
        .unwrap()
        .clone();
    assert_eq!(
        p["qualifications"][0]["items"],
        json!(["压力表", "活塞式压力计"])
    );
}
