//! Trust (issue 11): documents readable exactly when their owner is,
//! protected certificates, "only once" rules under 50 parallel identical
//! requests, every constraint mapped to a field, NUL characters, text and
//! date limits, atomic sign-in throttling, headers.

mod common;

use std::collections::HashMap;

use common::{
    assert_error, completed_inspection, created, new_user, okj, user_id, Client, TestApp,
};
use serde_json::{json, Value};
use uuid::Uuid;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// Stores a document for an owner directly (the read path is under test).
async fn document(app: &TestApp, station: Uuid, owner_type: &str, owner: &str) -> String {
    let doc = Uuid::now_v7();
    sqlx::query(
        "insert into document (document_id, station_id, owner_type, owner_id, filename, content_type,
           size_bytes, sha256, content)
         values ($1, $2, $3, $4, 'f.pdf', 'application/pdf', $5, 'x', $6)",
    )
    .bind(doc)
    .bind(station)
    .bind(owner_type)
    .bind(Uuid::parse_str(owner).unwrap())
    .bind(PDF.len() as i64)
    .bind(PDF)
    .execute(&app.pool)
    .await
    .unwrap();
    doc.to_string()
}

async fn status(c: &Client, path: &str) -> u16 {
    c.get(path).await.status().as_u16()
}

#[tokio::test]
async fn a_document_is_readable_exactly_when_its_owning_record_is() {
    let app = TestApp::spawn().await;
    let gd = app.station_id("GD-EP-01").await;
    let staff = app.login("station.staff").await;
    let reviewer = app.login("gd.reviewer").await;
    // Owners of every kind, each with the path that reads the owner.
    let (_, body) = staff.json("/api/v1/standards?per_page=1").await;
    let standard = id(&body["items"][0]);
    let tr = created(
        staff
            .post_json(
                &format!("/api/v1/standards/{standard}/traceability"),
                &json!({"calibrated_on": "2026-01-10", "provider": "中国计量科学研究院",
                        "certificate_number": "TR-1", "due_on": "2027-01-09"}),
            )
            .await,
    )
    .await;
    let (_, people) = staff.json("/api/v1/staff").await;
    let person = id(&people[0]);
    let q = created(
        staff
            .post_json(
                &format!("/api/v1/staff/{person}/qualifications"),
                &json!({"kind": "verifier_certificate", "certificate_number": "Q-1",
                        "items": ["电能表"], "issued_on": "2025-01-01", "expires_on": "2030-01-01"}),
            )
            .await,
    )
    .await;
    let cr = created(
        staff
            .post_json(
                &format!("/api/v1/standards/{standard}/change-requests"),
                &json!({"change_kind": "personnel", "reason": "调岗",
                        "changes": {"responsible_person": "王丽"}}),
            )
            .await,
    )
    .await;
    let dept = app.login("cnpc.officer").await;
    let draft = created(
        dept.post_json(
            "/api/v1/applications",
            &json!({"new_station": {"name": "核查新站", "code": "CHK-NEW-1", "tier": "local",
                      "location_division": "440305", "legal_person": true,
                      "credit_code": "91330100799655058B", "field": "燃气"},
                    "items": [{"name": "燃气表", "range_text": "(0~100)m³/h", "accuracy_text": "1.5级",
                               "task_types": ["verification"], "specification": "JJG 577-2012"}],
                    "region": ["440305"]}),
        )
        .await,
    )
    .await;
    let new_station = Uuid::parse_str(draft["station_id"].as_str().unwrap()).unwrap();
    let planned = created(
        reviewer
            .post_json(
                "/api/v1/inspections",
                &json!({"station_id": gd, "planned_on": "2026-11-20",
                        "inspectors": [user_id(&app, "gd.reviewer").await]}),
            )
            .await,
    )
    .await;
    let done = completed_inspection(&app, "GD-EP-01", "nonconforming").await;
    let order = created(
        reviewer
            .post_json(
                &format!("/api/v1/inspections/{}/rectification-orders", id(&done)),
                &json!({"areas": ["fees"], "description": "退费", "period_unit": "calendar_days",
                        "period_days": 10}),
            )
            .await,
    )
    .await;
    let case = created(
        reviewer
            .post_json(
                "/api/v1/violation-cases",
                &json!({"station_id": gd, "art16_items": ["5"], "description": "出具不实证书"}),
            )
            .await,
    )
    .await;
    let owners: Vec<(&str, Uuid, String, String)> = vec![
        (
            "standard",
            gd,
            standard.clone(),
            format!("/api/v1/standards/{standard}"),
        ),
        (
            "traceability_record",
            gd,
            id(&tr),
            format!("/api/v1/standards/{standard}"),
        ),
        (
            "qualification",
            gd,
            id(&q),
            format!("/api/v1/staff?station_id={gd}"),
        ),
        (
            "change_request",
            gd,
            id(&cr),
            format!("/api/v1/change-requests/{}", id(&cr)),
        ),
        (
            "application",
            new_station,
            id(&draft),
            format!("/api/v1/applications/{}", id(&draft)),
        ),
        (
            "inspection",
            gd,
            id(&planned),
            format!("/api/v1/inspections/{}", id(&planned)),
        ),
        (
            "inspection",
            gd,
            id(&done),
            format!("/api/v1/inspections/{}", id(&done)),
        ),
        (
            "rectification_order",
            gd,
            id(&order),
            format!("/api/v1/rectification-orders/{}", id(&order)),
        ),
        (
            "violation_case",
            gd,
            id(&case),
            format!("/api/v1/violation-cases/{}", id(&case)),
        ),
    ];
    let mut docs = Vec::new();
    for (kind, station, owner, path) in &owners {
        docs.push((
            *kind,
            document(&app, *station, kind, owner).await,
            path.clone(),
        ));
    }
    // Every demo account, plus a county regulator and another province's.
    let mut clients: Vec<(String, Client)> = Vec::new();
    for (name, ..) in jiliang::seed::ACCOUNTS {
        clients.push((name.to_string(), app.login(name).await));
    }
    clients.push((
        "county".into(),
        new_user(
            &app,
            "广州市天河区市场监督管理局",
            "th.reviewer",
            &["reviewer", "inspector"],
        )
        .await,
    ));
    clients.push((
        "city".into(),
        new_user(
            &app,
            "广州市市场监督管理局",
            "gz.reviewer",
            &["reviewer", "inspector"],
        )
        .await,
    ));
    clients.push((
        "jiangsu".into(),
        new_user(
            &app,
            "江苏省市场监督管理局",
            "js.reviewer",
            &["reviewer", "inspector"],
        )
        .await,
    ));
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (who, c) in &clients {
        for (kind, doc, owner_path) in &docs {
            let owner = if *kind == "qualification" {
                // Readable with its person in the staff list.
                let (s, body) = c.json(owner_path).await;
                if s == 200 && body.to_string().contains(&id(&q)) {
                    200
                } else {
                    404
                }
            } else {
                status(c, owner_path).await
            };
            let file = status(c, &format!("/api/v1/documents/{doc}")).await;
            assert!(
                (owner == 200) == (file == 200) && matches!(file, 200 | 404),
                "{who}: the {kind} answers {owner} ({owner_path}) but its document {file}"
            );
            if file == 200 {
                *seen.entry(kind).or_default() += 1;
            }
        }
    }
    // Not vacuous: somebody reads each kind, and not everybody.
    for (kind, ..) in &owners {
        let n = seen.get(kind).copied().unwrap_or(0);
        assert!(
            n >= 1 && n < clients.len(),
            "{kind}: read by {n} of {}",
            clients.len()
        );
    }
}

#[tokio::test]
async fn a_station_cannot_rewrite_its_assessment_certificate_r12_4() {
    let app = TestApp::spawn().await;
    let staff = app.login("station.staff").await;
    let (_, body) = staff.json("/api/v1/standards?per_page=1").await;
    let s = body["items"][0].clone();
    let sid = id(&s);
    let res = staff
        .put_json(
            &format!("/api/v1/standards/{sid}"),
            &json!({"version": s["version"], "cert_number": "FAKE-1", "cert_expires_on": "2099-12-31"}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    let fields: Vec<&str> = e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"cert_number") && fields.contains(&"cert_expires_on"),
        "{e}"
    );
    assert!(e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["code"] == "change_request_required"));
    // The database refuses the same edit under the app role (second line).
    let station = app.station_id("GD-EP-01").await;
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query(
        "select set_config('role', 'jiliang_app', true), set_config('app.org_id', $1, true),
                set_config('app.org_kind', 'station', true)",
    )
    .bind(station.to_string())
    .execute(&mut *tx)
    .await
    .unwrap();
    let err = sqlx::query(
        "update measurement_standard set cert_expires_on = '2099-12-31' where standard_id = $1::uuid",
    )
    .bind(&sid)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(
        err.as_database_error().and_then(|d| d.constraint())
            == Some("measurement_standard_protected"),
        "{err}"
    );
    tx.rollback().await.unwrap();
    let (_, now) = staff.json(&format!("/api/v1/standards/{sid}")).await;
    assert_eq!(now["standard"]["cert_expires_on"], s["cert_expires_on"]);
    assert_eq!(now["standard"]["cert_number"], s["cert_number"]);
    // The name stays the station's to edit.
    let res = staff
        .put_json(
            &format!("/api/v1/standards/{sid}"),
            &json!({"version": s["version"], "name": "更名后的标准装置"}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // A qualification is never edited in place, not even by the owner.
    let err = sqlx::query("update qualification set expires_on = '2099-12-31'")
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("R16.6"), "{err}");
}

#[tokio::test]
async fn a_certificate_change_approved_by_the_issuer_renews_the_certificate_r12_1() {
    let app = TestApp::spawn().await;
    let staff = app.login("station.staff").await;
    let (_, body) = staff.json("/api/v1/standards?per_page=1").await;
    let s = body["items"][0].clone();
    let sid = id(&s);
    let r = created(
        staff
            .post_json(
                &format!("/api/v1/standards/{sid}/change-requests"),
                &json!({"change_kind": "certificate", "reason": "复查换证",
                        "changes": {"cert_number": "[2026]粤量标证字第777号",
                                    "cert_issued_on": "2026-11-01", "cert_expires_on": "2030-10-31"}}),
            )
            .await,
    )
    .await;
    let rid = id(&r);
    let r = okj(staff
        .post_json(
            &format!("/api/v1/change-requests/{rid}/submit"),
            &json!({"version": r["version"]}),
        )
        .await)
    .await;
    let r = okj(app
        .login("gd.reviewer")
        .await
        .post_json(
            &format!("/api/v1/change-requests/{rid}/propose"),
            &json!({"version": r["version"], "decision": "approve", "note": "核对证书原件"}),
        )
        .await)
    .await;
    okj(app
        .login("gd.approver")
        .await
        .post_json(
            &format!("/api/v1/change-requests/{rid}/confirm"),
            &json!({"version": r["version"]}),
        )
        .await)
    .await;
    let (_, now) = staff.json(&format!("/api/v1/standards/{sid}")).await;
    assert_eq!(now["standard"]["cert_number"], "[2026]粤量标证字第777号");
    assert_eq!(now["standard"]["cert_expires_on"], "2030-10-31");
}

/// Fires `n` identical requests at once; returns the status codes.
async fn fire(c: &Client, n: usize, path: &str, body: Value) -> Vec<u16> {
    let futures = (0..n).map(|_| {
        let c = c.clone();
        let body = body.clone();
        let path = path.to_owned();
        async move { c.post_json(&path, &body).await.status().as_u16() }
    });
    futures_util::future::join_all(futures).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

fn one_effect(codes: &[u16], what: &str) {
    let ok = codes.iter().filter(|c| **c < 300).count();
    assert_eq!(ok, 1, "{what}: {codes:?}");
    assert!(
        codes.iter().all(|c| *c < 300 || (400..500).contains(c)),
        "{what}: only 4xx for the rest: {codes:?}"
    );
}

#[tokio::test]
async fn fifty_parallel_identical_requests_have_exactly_one_effect() {
    let app = TestApp::spawn().await;
    // One order per area of an inspection (R18.1).
    let done = completed_inspection(&app, "GD-EP-01", "nonconforming").await;
    let iid = id(&done);
    let reviewer = app.login("gd.reviewer").await;
    let notes_before = count(&app, "select count(*) from notification").await;
    let codes = fire(
        &reviewer,
        50,
        &format!("/api/v1/inspections/{iid}/rectification-orders"),
        json!({"areas": ["fees"], "description": "退费", "period_unit": "calendar_days", "period_days": 10}),
    )
    .await;
    one_effect(&codes, "rectification orders");
    let sql = format!("select count(*) from rectification_order where inspection_id = '{iid}'");
    assert_eq!(count(&app, &sql).await, 1);
    let sql = "select count(*) from audit_event where action = 'rectification_order.issue'";
    assert_eq!(count(&app, sql).await, 1);
    assert_eq!(
        count(&app, "select count(*) from notification").await - notes_before,
        2,
        "the station and its department, once each"
    );
    // One certificate number per station's registry.
    let staff = app.login("station.staff").await;
    let issuer = app.org_id("广东省市场监督管理局").await;
    let codes = fire(
        &staff,
        50,
        "/api/v1/standards",
        json!({"kind": "social_public", "name": "并发登记的标准", "range_text": "(0~100)A",
               "accuracy_text": "0.05级", "cert_number": "[2026]粤社量标证字第4242号",
               "cert_issuer_id": issuer, "cert_issued_on": "2026-06-01"}),
    )
    .await;
    one_effect(&codes, "standards");
    let sql = "select count(*) from measurement_standard where cert_number = '[2026]粤社量标证字第4242号'";
    assert_eq!(count(&app, sql).await, 1);
    assert_eq!(
        count(
            &app,
            "select count(*) from audit_event where action = 'standard.create'"
        )
        .await,
        1
    );
    // One username, one organization name.
    let op = app.login("operator").await;
    let org = app.org_id("广东省市场监督管理局").await;
    let codes = fire(
        &op,
        50,
        "/api/v1/users",
        json!({"organization_id": org, "username": "twin.user", "display_name": "Twin",
               "roles": ["reviewer"], "password": "Twin-pass-2025"}),
    )
    .await;
    one_effect(&codes, "users");
    assert_eq!(
        count(
            &app,
            "select count(*) from app_user where username = 'twin.user'"
        )
        .await,
        1
    );
    let dept = app.org_id("国家电网有限公司").await;
    let codes = fire(
        &op,
        50,
        "/api/v1/organizations",
        json!({"kind": "department", "name": "并发创建的主管部门", "credit_code": "91110000710925462X"}),
    )
    .await;
    let _ = dept;
    one_effect(&codes, "organizations");
    assert_eq!(
        count(
            &app,
            "select count(*) from organization where name = '并发创建的主管部门'"
        )
        .await,
        1
    );
    // One open termination per authorization (R15.1).
    let station = app.station_id("GD-EP-01").await;
    let end = jiliang::rules::termination::earliest_end_date(jiliang::web::today());
    let codes = fire(
        &staff,
        50,
        "/api/v1/terminations",
        json!({"station_id": station, "end_date": end, "reason": "业务划转"}),
    )
    .await;
    one_effect(&codes, "terminations");
    let sql = format!(
        "select count(*) from lifecycle_request where kind = 'termination' and station_id = '{station}'"
    );
    assert_eq!(count(&app, &sql).await, 1);
}

#[tokio::test]
async fn fifty_parallel_identical_decisions_decide_once() {
    let app = TestApp::spawn().await;
    let staff = app.login("station.staff").await;
    let (_, body) = staff.json("/api/v1/standards?per_page=1").await;
    let sid = id(&body["items"][0]);
    let r = created(
        staff
            .post_json(
                &format!("/api/v1/standards/{sid}/change-requests"),
                &json!({"change_kind": "personnel", "reason": "调岗",
                        "changes": {"responsible_person": "王丽"}}),
            )
            .await,
    )
    .await;
    let rid = id(&r);
    let codes = fire(
        &staff,
        50,
        &format!("/api/v1/change-requests/{rid}/submit"),
        json!({"version": r["version"]}),
    )
    .await;
    one_effect(&codes, "submit");
    let (_, r) = staff.json(&format!("/api/v1/change-requests/{rid}")).await;
    let reviewer = app.login("gd.reviewer").await;
    let r = okj(reviewer
        .post_json(
            &format!("/api/v1/change-requests/{rid}/propose"),
            &json!({"version": r["version"], "decision": "approve", "note": "ok"}),
        )
        .await)
    .await;
    let approver = app.login("gd.approver").await;
    let codes = fire(
        &approver,
        50,
        &format!("/api/v1/change-requests/{rid}/confirm"),
        json!({"version": r["version"]}),
    )
    .await;
    one_effect(&codes, "confirm");
    let sql = "select count(*) from audit_event where action = 'change_request.approve'";
    assert_eq!(count(&app, sql).await, 1);
}

#[tokio::test]
async fn every_constraint_of_the_schema_maps_to_a_field_message() {
    let app = TestApp::spawn().await;
    let names: Vec<String> = sqlx::query_scalar(
        "select conname::text from pg_constraint
          where connamespace = 'public'::regnamespace and contype in ('c', 'u', 'x')
         union
         select c.relname::text from pg_index i join pg_class c on c.oid = i.indexrelid
          where i.indisunique and not i.indisprimary and c.relnamespace = 'public'::regnamespace
            and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
            and c.relname not like 'tower_sessions%'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(
        names.len() > 100,
        "the catalog lists the schema's constraints"
    );
    let unmapped: Vec<&String> = names
        .iter()
        .filter(|n| jiliang::error::constraint_error(n).is_none())
        .collect();
    assert!(
        unmapped.is_empty(),
        "constraints without a message: {unmapped:?}"
    );
    // Named by triggers rather than the catalog.
    for n in [
        "measurement_standard_protected",
        "qualification_protected",
        "comparison_participant_protected",
        "comparison_stage_order",
        "organization_station_row",
    ] {
        assert!(jiliang::error::constraint_error(n).is_some(), "{n}");
    }
}

#[tokio::test]
async fn every_text_column_has_one_declared_limit_backed_by_the_schema() {
    let app = TestApp::spawn().await;
    let with_tables: Vec<(String, String, String)> = sqlx::query_as(
        "select conrelid::regclass::text, conname::text, pg_get_constraintdef(oid) from pg_constraint
          where connamespace = 'public'::regnamespace and contype = 'c'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let defs: Vec<(String, String)> = with_tables
        .iter()
        .map(|(_, n, d)| (n.clone(), d.clone()))
        .collect();
    for (table, column, max) in jiliang::error::TEXT_LIMITS {
        let found = with_tables.iter().any(|(t, _, def)| {
            t == table && def.contains(column) && def.contains(&max.to_string())
        });
        assert!(
            found,
            "{table}.{column}: no check constraint with the limit {max}"
        );
    }
    // Every free-text column a person writes has a declared limit.
    let columns: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns
          where table_schema = 'public' and data_type = 'text'
            and table_name not in ('division', 'calendar_day', 'app_meta', 'audit_chain',
              'audit_event', 'login_throttle', 'station_access', 'certificate_sequence',
              'verification_lookup', 'tower_sessions', '_sqlx_migrations')
            and not exists (select 1 from pg_class pc where pc.relname = table_name and pc.relispartition)",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let enumerated: Vec<String> = defs
        .iter()
        .filter(|(_, d)| d.contains("ANY (ARRAY[") || d.contains(" ~ "))
        .map(|(n, _)| n.clone())
        .collect();
    let mut missing = Vec::new();
    for (table, column) in columns {
        let declared = jiliang::error::TEXT_LIMITS
            .iter()
            .any(|(t, c, _)| *t == table && *c == column);
        let listed = enumerated
            .iter()
            .any(|n| n.starts_with(&table[..table.len().min(10)]))
            && defs.iter().any(|(n, d)| {
                n.starts_with(&table[..table.len().min(10)])
                    && d.contains(&format!("({column} "))
                    && (d.contains("ANY (ARRAY[") || d.contains(" ~ "))
            });
        let internal = matches!(
            column.as_str(),
            "password_hash"
                | "sha256"
                | "content_type"
                | "verify_token"
                | "owner_type"
                | "seed"
                | "algorithm"
                | "state"
                | "kind"
                | "status"
        );
        if !(declared || listed || internal) {
            missing.push(format!("{table}.{column}"));
        }
    }
    assert!(missing.is_empty(), "no declared limit: {missing:?}");
}

#[tokio::test]
async fn a_nul_character_anywhere_is_a_field_error_never_a_500() {
    let app = TestApp::spawn().await;
    let anon = app.client();
    let res = anon
        .post_json(
            "/api/v1/session",
            &json!({"username": "a\u{0}b", "password": "x"}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["field"], "username");
    assert_eq!(e["error"]["fields"][0]["code"], "nul_character");
    let res = anon
        .post_form("/login", &[("username", "a\u{0}b"), ("password", "x")])
        .await;
    assert_eq!(res.status(), 422);
    for path in [
        "/verify/%00",
        "/directory?q=%00",
        "/api/v1/public/directory?q=%00",
    ] {
        let s = status(&anon, path).await;
        assert!((400..500).contains(&s), "{path}: {s}");
    }
    let staff = app.login("station.staff").await;
    let res = staff
        .post_json("/api/v1/staff", &json!({"name": "a\u{0}b", "title": "T"}))
        .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(e["error"]["fields"][0]["field"], "name");
    let res = staff
        .post_json(
            "/api/v1/staff",
            &json!({"name": "张三", "qualifications": [{"items": ["x\u{0}"]}]}),
        )
        .await;
    let e = assert_error(res, 422, "validation").await;
    assert_eq!(
        e["error"]["fields"][0]["field"],
        "qualifications[0].items[0]"
    );
    let s = status(&staff, "/api/v1/standards?q=%00").await;
    assert_eq!(s, 422);
    // Nothing was written.
    assert_eq!(
        count(
            &app,
            "select count(*) from staff_member where name like 'a%b'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn oversize_text_and_odd_dates_are_refused_beside_their_fields() {
    let app = TestApp::spawn().await;
    let big = "长".repeat(100_000 / 3);
    let staff = app.login("station.staff").await;
    let issuer = app.org_id("广东省市场监督管理局").await;
    let standard = |cert: &str, issued: &str| {
        json!({"kind": "social_public", "name": "超长核查", "range_text": "(0~100)A",
               "accuracy_text": "0.05级", "cert_number": cert, "cert_issuer_id": issuer,
               "cert_issued_on": issued})
    };
    let field_of = |e: &Value| {
        e["error"]["fields"][0]["field"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let res = staff
        .post_json("/api/v1/standards", &standard(&big, "2026-01-01"))
        .await;
    assert_eq!(
        field_of(&assert_error(res, 422, "validation").await),
        "cert_number"
    );
    for date in ["0001-01-01", "9999-12-31"] {
        let res = staff
            .post_json("/api/v1/standards", &standard("D-1", date))
            .await;
        let e = assert_error(res, 422, "validation").await;
        assert_eq!(e["error"]["fields"][0]["code"], "date_range", "{date}: {e}");
    }
    let (_, body) = staff.json("/api/v1/standards?per_page=1").await;
    let sid = id(&body["items"][0]);
    let trace = |number: &str, on: &str| {
        json!({"calibrated_on": on, "provider": "中国计量科学研究院",
               "certificate_number": number, "due_on": "2027-01-09"})
    };
    let path = format!("/api/v1/standards/{sid}/traceability");
    let res = staff.post_json(&path, &trace(&big, "2026-01-10")).await;
    assert_eq!(
        field_of(&assert_error(res, 422, "validation").await),
        "certificate_number"
    );
    let res = staff.post_json(&path, &trace("T-1", "0001-01-01")).await;
    assert_eq!(
        field_of(&assert_error(res, 422, "validation").await),
        "calibrated_on"
    );
    let res = staff
        .post_json("/api/v1/staff", &json!({"name": "张三", "title": big}))
        .await;
    assert_eq!(
        field_of(&assert_error(res, 422, "validation").await),
        "title"
    );
    let (_, people) = staff.json("/api/v1/staff").await;
    let person = id(&people[0]);
    let qpath = format!("/api/v1/staff/{person}/qualifications");
    let qual = |number: &str, items: Vec<String>, issued: &str| {
        json!({"kind": "verifier_certificate", "certificate_number": number, "items": items,
               "issued_on": issued, "expires_on": "2030-01-01"})
    };
    let res = staff
        .post_json(&qpath, &qual(&big, vec!["电能表".into()], "2025-01-01"))
        .await;
    assert_eq!(
        field_of(&assert_error(res, 422, "validation").await),
        "certificate_number"
    );
    let res = staff
        .post_json(&qpath, &qual("Q-9", vec![big.clone()], "2025-01-01"))
        .await;
    assert_eq!(
        field_of(&assert_error(res, 422, "validation").await),
        "items"
    );
    let res = staff
        .post_json(&qpath, &qual("Q-9", vec!["电能表".into()], "0001-01-01"))
        .await;
    assert_eq!(
        field_of(&assert_error(res, 422, "validation").await),
        "issued_on"
    );
    // The operator's registry.
    let op = app.login("operator").await;
    let org = app.org_id("广东省市场监督管理局").await;
    let res = op
        .post_json(
            "/api/v1/users",
            &json!({"organization_id": org, "username": "long.mail", "display_name": "L",
                    "roles": ["reviewer"], "password": "Long-pass-2025",
                    "email": format!("{}@example.cn", "a".repeat(100_000))}),
        )
        .await;
    assert_eq!(
        field_of(&assert_error(res, 422, "validation").await),
        "email"
    );
    for field in ["name_en", "address", "contact_phone"] {
        let mut body = json!({"kind": "department", "name": format!("超长字段核查{field}"),
                              "credit_code": "91110000710925462X"});
        body[field] = json!(big);
        let res = op.post_json("/api/v1/organizations", &body).await;
        assert_eq!(field_of(&assert_error(res, 422, "validation").await), field);
    }
    // Nothing of it was written.
    assert_eq!(
        count(
            &app,
            "select count(*) from organization where name like '超长字段核查%'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn parallel_wrong_passwords_are_evaluated_at_most_up_to_the_limit() {
    let app = TestApp::spawn().await;
    let futures = (0..30).map(|_| {
        let c = app.client();
        async move {
            c.post_json(
                "/api/v1/session",
                &json!({"username": "head.staff", "password": "wrong-guess"}),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let codes = futures_util::future::join_all(futures).await;
    let evaluated = codes.iter().filter(|c| **c == 401).count();
    assert!((1..=5).contains(&evaluated), "{codes:?}");
    assert!(codes.iter().all(|c| matches!(c, 401 | 429)), "{codes:?}");
    // Locked for this address, with the wait in the answer…
    let res = app
        .client()
        .post_json(
            "/api/v1/session",
            &json!({"username": "head.staff", "password": common::PASSWORD}),
        )
        .await;
    assert!(res.headers().contains_key("retry-after"));
    let e = assert_error(res, 429, "throttled").await;
    assert!(e["error"]["message"].as_str().unwrap().contains("后再试"));
    // …but not for the account's owner at another address.
    let config = jiliang::config::Config::for_database(String::new());
    let attempt = jiliang::auth::throttle::reserve(&app.pool, &config, "head.staff", "10.9.8.7")
        .await
        .expect("another address may still try");
    attempt.succeeded(&app.pool).await.unwrap();
}

#[tokio::test]
async fn signed_in_answers_are_not_cached_and_carry_a_permissions_policy() {
    let app = TestApp::spawn().await;
    let staff = app.login("station.staff").await;
    for path in ["/api/v1/me", "/", "/api/v1/stations"] {
        let res = staff.get(path).await;
        let h = res.headers();
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert!(h["permissions-policy"]
            .to_str()
            .unwrap()
            .contains("camera=()"));
    }
    let res = staff.get("/static/app.css").await;
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
}

#[tokio::test]
async fn parallel_sign_ins_beyond_the_hashing_slots_wait_or_get_503_never_500() {
    let app = TestApp::spawn().await;
    let futures = (0..40).map(|i| {
        let c = app.client();
        let user = jiliang::seed::ACCOUNTS[i % jiliang::seed::ACCOUNTS.len()].0;
        async move {
            c.post_json(
                "/api/v1/session",
                &json!({"username": user, "password": common::PASSWORD}),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let codes = futures_util::future::join_all(futures).await;
    assert!(codes.contains(&200), "{codes:?}");
    assert!(
        codes.iter().all(|c| matches!(c, 200 | 429 | 503)),
        "{codes:?}"
    );
}
