//! Tenant isolation (requirements.md §2, architecture.md §3 and §6.10):
//! the authorization matrix over org kind × role × relation to the record ×
//! action, asserting HTTP status and the rows visible at the database under
//! the app role; and the catalog: every tenant table has row-level security
//! enabled and forced, the app role owns nothing and bypasses nothing.

mod common;

use common::{assert_error, set, TestApp};
use serde_json::json;

/// Stations each demo account's organization may see (R3.2, Art 17 supervision).
fn expected_stations(user: &str) -> Vec<&'static str> {
    let all = vec![
        "NS-OGF",
        "NS-OGF-CD",
        "NS-OGF-NJ",
        "GD-EP-01",
        "JS-EP-01",
        "GZ-TH-GAS",
        "SZ-GAS-01",
    ];
    match user {
        "operator" => all,
        // SAMR: authorizer of national stations, supervisor of the whole country.
        "samr.reviewer" | "samr.approver" => all,
        // 广东: authorizer of GD-EP-01; supervisor of everything located in
        // 广东, and of the head station, whose authorized region includes 广东.
        "gd.reviewer" | "gd.approver" => vec!["GD-EP-01", "GZ-TH-GAS", "SZ-GAS-01", "NS-OGF"],
        // 国家电网: its own two stations.
        "dept.officer" => vec!["GD-EP-01", "JS-EP-01"],
        // 中国石油: its five.
        "cnpc.officer" => vec!["NS-OGF", "NS-OGF-CD", "NS-OGF-NJ", "GZ-TH-GAS", "SZ-GAS-01"],
        "station.staff" => vec!["GD-EP-01"],
        "station2.staff" => vec!["JS-EP-01"],
        // R3.2: a head station reads its branches.
        "head.staff" => vec!["NS-OGF", "NS-OGF-CD", "NS-OGF-NJ"],
        other => panic!("no expectation for {other}"),
    }
}

const USERS: [&str; 10] = [
    "operator",
    "samr.reviewer",
    "samr.approver",
    "gd.reviewer",
    "gd.approver",
    "dept.officer",
    "cnpc.officer",
    "station.staff",
    "station2.staff",
    "head.staff",
];

#[tokio::test]
async fn station_list_shows_each_organization_exactly_the_stations_it_may_see() {
    let app = TestApp::spawn().await;
    for user in USERS {
        let c = app.login(user).await;
        assert_eq!(
            c.station_codes().await,
            set(&expected_stations(user)),
            "list as {user}"
        );
    }
}

#[tokio::test]
async fn database_rows_under_the_app_role_match_what_each_organization_may_see() {
    let app = TestApp::spawn().await;
    for user in USERS {
        let rows = app
            .as_app_role(Some(user), "select code from station")
            .await;
        let got: std::collections::HashSet<String> = rows.into_iter().collect();
        assert_eq!(got, set(&expected_stations(user)), "rows visible to {user}");
    }
}

#[tokio::test]
async fn reading_a_station_answers_200_when_visible_and_404_otherwise_over_json_and_pages() {
    let app = TestApp::spawn().await;
    let codes = [
        "NS-OGF",
        "NS-OGF-CD",
        "GD-EP-01",
        "JS-EP-01",
        "GZ-TH-GAS",
        "SZ-GAS-01",
    ];
    let mut ids = Vec::new();
    for code in codes {
        ids.push((code, app.station_id(code).await));
    }
    for user in USERS {
        let c = app.login(user).await;
        let visible = expected_stations(user);
        for (code, id) in &ids {
            let want = if visible.contains(code) { 200 } else { 404 };
            let res = c.get(&format!("/api/v1/stations/{id}")).await;
            assert_eq!(res.status().as_u16(), want, "{user} reads {code} over JSON");
            if want == 404 {
                assert_error(res, 404, "not_found").await;
            }
            let page = c.get(&format!("/stations/{id}")).await;
            assert_eq!(
                page.status().as_u16(),
                want,
                "{user} opens the page of {code}"
            );
        }
    }
}

#[tokio::test]
async fn only_the_platform_operator_creates_and_updates_organizations() {
    let app = TestApp::spawn().await;
    let gd_power = app.station_id("GD-EP-01").await;
    for user in USERS {
        let c = app.login(user).await;
        let create = c
            .post_json(
                "/api/v1/organizations",
                &json!({"kind": "department", "name": format!("测试主管部门 {user}")}),
            )
            .await;
        let read = c.get(&format!("/api/v1/organizations/{gd_power}")).await;
        let update = c
            .put_json(
                &format!("/api/v1/organizations/{gd_power}"),
                &json!({"name": "改名", "version": 1}),
            )
            .await;
        if user == "operator" {
            assert_eq!(create.status(), 201, "operator creates");
            assert_eq!(read.status(), 200, "operator reads");
            assert_eq!(
                update.status(),
                200,
                "operator updates (omitted fields are kept)"
            );
        } else {
            assert_error(create, 403, "forbidden").await;
            assert_error(read, 403, "forbidden").await;
            assert_error(update, 403, "forbidden").await;
        }
    }
    let created: i64 =
        sqlx::query_scalar("select count(*) from organization where name like '测试主管部门%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(created, 1, "only the operator's organization exists");
}

#[tokio::test]
async fn an_org_admin_lists_and_edits_only_users_of_their_own_organization() {
    let app = TestApp::spawn().await;
    let c = app.login("station.staff").await;
    let (status, body) = c.json("/api/v1/users").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["station.staff"]);
    // Another organization's user answers 404, even asked for by id.
    let other: uuid::Uuid =
        sqlx::query_scalar("select user_id from app_user where username = 'station2.staff'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_error(
        c.get(&format!("/api/v1/users/{other}")).await,
        404,
        "not_found",
    )
    .await;
    let res = c
        .put_json(
            &format!("/api/v1/users/{other}"),
            &json!({"display_name": "x", "version": 1}),
        )
        .await;
    assert_error(res, 404, "not_found").await;
    // Creating a user in another organization is refused and writes nothing.
    let js = app.station_id("JS-EP-01").await;
    let res = c
        .post_json(
            "/api/v1/users",
            &json!({"organization_id": js, "username": "intruder", "display_name": "x",
                    "roles": ["staff"], "password": "Intruder-2025"}),
        )
        .await;
    assert_error(res, 422, "validation").await;
    let n: i64 = sqlx::query_scalar("select count(*) from app_user where username = 'intruder'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Under the app role the station sees only its own users.
    let rows = app
        .as_app_role(Some("station.staff"), "select username from app_user")
        .await;
    assert_eq!(rows, vec!["station.staff".to_owned()]);
}

#[tokio::test]
async fn users_without_an_admin_role_cannot_manage_users() {
    let app = TestApp::spawn().await;
    let c = app.login("samr.reviewer").await;
    assert_error(c.get("/api/v1/users").await, 403, "forbidden").await;
    let res = c
        .post_json(
            "/api/v1/users",
            &json!({"username": "x.y", "display_name": "x", "roles": ["reviewer"], "password": "Password-2025"}),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
}

#[tokio::test]
async fn every_tenant_table_has_row_level_security_enabled_and_forced() {
    let app = TestApp::spawn().await;
    // Tenant tables: those holding organization, user or station data.
    let tables: Vec<(String, bool, bool)> = sqlx::query_as(
        "select c.relname::text, c.relrowsecurity, c.relforcerowsecurity
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind = 'r'
            and exists (select 1 from information_schema.columns col
                         where col.table_schema = 'public' and col.table_name = c.relname
                           and col.column_name in ('organization_id', 'org_id', 'station_id', 'user_id'))
          order by 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t.0.as_str()).collect();
    for must in [
        "organization",
        "app_user",
        "station",
        "station_access",
        "audit_event",
    ] {
        assert!(names.contains(&must), "{must} is a tenant table: {names:?}");
    }
    for (table, enabled, forced) in &tables {
        assert!(enabled, "{table}: row level security enabled");
        assert!(forced, "{table}: row level security forced");
    }
}

#[tokio::test]
async fn the_app_role_is_not_owner_superuser_or_bypassrls() {
    let app = TestApp::spawn().await;
    let (superuser, bypass, login): (bool, bool, bool) = sqlx::query_as(
        "select rolsuper, rolbypassrls, rolcanlogin from pg_roles where rolname = 'jiliang_app'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!superuser && !bypass && !login);
    let owned: i64 = sqlx::query_scalar(
        "select count(*) from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname = 'jiliang_app'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(owned, 0, "the app role owns no relation");
}

#[tokio::test]
async fn policies_fail_closed_when_no_organization_is_set() {
    let app = TestApp::spawn().await;
    for table in [
        "organization",
        "app_user",
        "station",
        "station_access",
        "audit_event",
    ] {
        let rows = app
            .as_app_role(None, &format!("select count(*)::text from {table}"))
            .await;
        assert_eq!(rows, vec!["0".to_owned()], "{table} without app.org_id");
    }
}

#[tokio::test]
async fn the_app_role_cannot_change_or_delete_audit_events() {
    let app = TestApp::spawn().await;
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("set local role jiliang_app")
        .execute(&mut *tx)
        .await
        .unwrap();
    let err = sqlx::query("delete from audit_event")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[tokio::test]
async fn a_platform_admin_who_is_not_operator_cannot_grant_themselves_operator() {
    let app = TestApp::spawn().await;
    let op = app.login("operator").await;
    let platform = app.org_id("专业计量站管理平台运营中心").await;
    let res = op
        .post_json(
            "/api/v1/users",
            &json!({"organization_id": platform, "username": "padmin", "display_name": "平台管理员",
                    "roles": ["admin"], "password": "Platform-admin-1"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let me: serde_json::Value = res.json().await.unwrap();
    let c = app.client();
    c.post_json(
        "/api/v1/session",
        &json!({"username": "padmin", "password": "Platform-admin-1"}),
    )
    .await;
    let res = c
        .put_json(
            &format!("/api/v1/users/{}", me["id"].as_str().unwrap()),
            &json!({"roles": ["admin", "operator"], "version": 1}),
        )
        .await;
    let body = assert_error(res, 422, "validation").await;
    assert_eq!(body["error"]["fields"][0]["code"], "operator_only");
    // Nor may they touch the operator's account.
    let operator: uuid::Uuid =
        sqlx::query_scalar("select user_id from app_user where username = 'operator'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let res = c
        .put_json(
            &format!("/api/v1/users/{operator}"),
            &json!({"password": "Taken-over-2025", "version": 1}),
        )
        .await;
    assert_error(res, 422, "validation").await;
    assert_error(
        c.post_json(
            "/api/v1/organizations",
            &json!({"kind": "department", "name": "x"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // Under the app role a platform admin sees only its own organization's users.
    let rows = app
        .as_app_role(Some("padmin"), "select username from app_user order by 1")
        .await;
    assert_eq!(rows, vec!["operator".to_owned(), "padmin".to_owned()]);
}

/// Establishment rows of the matrix (Art 6–8): who reads a submitted
/// application of 中国石油 for 深圳市燃气计量站 addressed to 广东, and a
/// certificate of the 广东 power station, over HTTP and under the app role.
#[tokio::test]
async fn applications_and_certificates_are_read_only_by_their_parties() {
    let app = TestApp::spawn().await;
    let dept = app.login("cnpc.officer").await;
    let station = app.station_id("SZ-GAS-01").await;
    let a: serde_json::Value = dept
        .post_json(
            "/api/v1/applications",
            &json!({"station_id": station, "region": ["440304"], "items": [{"name": "膜式燃气表",
                "range_text": "（0.016～6）m³/h", "accuracy_text": "1.5级", "task_types": ["verification"],
                "specification": "JJG 577-2012"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = a["id"].as_str().unwrap().to_owned();
    // A draft: only the department (and the station itself).
    let draft_readers = ["cnpc.officer"];
    for user in USERS.iter().chain(["cnpc.officer"].iter()) {
        let c = app.login(user).await;
        let want = if draft_readers.contains(user) {
            200
        } else {
            404
        };
        assert_eq!(
            c.get(&format!("/api/v1/applications/{id}"))
                .await
                .status()
                .as_u16(),
            want,
            "{user} reads the draft"
        );
    }
    let codes: Vec<serde_json::Value> = a["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].clone())
        .collect();
    let res = dept
        .post_json(
            &format!("/api/v1/applications/{id}/submit"),
            &json!({"version": a["version"], "to_be_provided": codes}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // Submitted: the department and the receiving regulator (广东), nobody else.
    for user in USERS.iter().chain(["cnpc.officer"].iter()) {
        let c = app.login(user).await;
        let want = if ["cnpc.officer", "gd.reviewer", "gd.approver"].contains(user) {
            200
        } else {
            404
        };
        assert_eq!(
            c.get(&format!("/api/v1/applications/{id}"))
                .await
                .status()
                .as_u16(),
            want,
            "{user} reads the submitted application"
        );
        let rows = app
            .as_app_role(
                Some(user),
                &format!(
                    "select application_id::text from application where application_id = '{id}'"
                ),
            )
            .await;
        assert_eq!(
            rows.len(),
            usize::from(want == 200),
            "{user}: rows under the app role"
        );
        // Nobody but the receiving regulator's reviewer can act on it.
        let accept = c
            .post_json(
                &format!("/api/v1/applications/{id}/accept"),
                &json!({"version": 2}),
            )
            .await;
        if *user != "gd.reviewer" {
            assert!(
                accept.status() == 403 || accept.status() == 404,
                "{user} cannot accept: {}",
                accept.status()
            );
        }
    }
    // Certificates: whoever sees the station; nobody else.
    let auth: uuid::Uuid = sqlx::query_scalar(
        "select a.authorization_id from station_authorization a join station s using (station_id) where s.code = 'GD-EP-01'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    for user in USERS {
        let c = app.login(user).await;
        let sees = expected_stations(user).contains(&"GD-EP-01") && user != "operator";
        let want = if sees { 200 } else { 404 };
        assert_eq!(
            c.get(&format!("/authorizations/{auth}/certificate"))
                .await
                .status()
                .as_u16(),
            want,
            "{user} opens the certificate"
        );
    }
}

/// Comparisons (R9.2), risk reports and warnings (R10.1) in the matrix:
/// over HTTP and at the database under the app role, each user sees
/// exactly the records of their organization's part.
#[tokio::test]
async fn comparisons_risk_reports_and_warnings_are_seen_by_their_parties_only() {
    let app = TestApp::spawn().await;
    let samr = app.org_id("国家市场监督管理总局").await;
    let gd = app.org_id("广东省市场监督管理局").await;
    let head = app.station_id("NS-OGF").await;
    let cd = app.station_id("NS-OGF-CD").await;
    let gd_station = app.station_id("GD-EP-01").await;
    let dept = app.org_id("国家电网有限公司").await;
    let (comparison, report, warning) = (
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
    );
    sqlx::query(
        "insert into comparison (comparison_id, organizer_id, title, item, measurand, unit,
            pilot_station_id, transfer_standard, results_due_on)
         values ($1, $2, 'c', '流量计', 'q', 'm³/h', $3, 'ts', '2099-01-01')",
    )
    .bind(comparison)
    .bind(samr)
    .bind(head)
    .execute(&app.pool)
    .await
    .unwrap();
    for (n, s) in [head, cd].iter().enumerate() {
        sqlx::query(
            "insert into comparison_participant (comparison_id, station_id, lab_code) values ($1, $2, $3)",
        )
        .bind(comparison)
        .bind(s)
        .bind(format!("P0{}", n + 1))
        .execute(&app.pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "insert into risk_report (risk_report_id, station_id, regulator_id, severity, title, description)
         values ($1, $2, $3, 'high', 'r', 'd')",
    )
    .bind(report)
    .bind(gd_station)
    .bind(gd)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into warning (warning_id, regulator_id, title, body, severity, valid_from, valid_until)
         values ($1, $2, 'w', 'b', 'high', '2026-01-01', '2099-01-01')",
    )
    .bind(warning)
    .bind(gd)
    .execute(&app.pool)
    .await
    .unwrap();
    for org in [gd_station, dept] {
        sqlx::query("insert into warning_recipient (warning_id, org_id) values ($1, $2)")
            .bind(warning)
            .bind(org)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    let sees = |user: &str| -> (bool, bool, bool) {
        match user {
            // The organizer and a participant; not the other regulators.
            "samr.reviewer" | "samr.approver" => (true, false, false),
            "head.staff" => (true, false, false),
            // The report's regulator, and the warning's issuer.
            "gd.reviewer" | "gd.approver" => (false, true, true),
            // The reporting station, a recipient.
            "station.staff" => (false, true, true),
            // A recipient department.
            "dept.officer" => (false, false, true),
            _ => (false, false, false),
        }
    };
    for user in USERS {
        let c = app.login(user).await;
        let (cmp, rep, warn) = sees(user);
        for (path, table, key, want) in [
            (
                format!("/api/v1/comparisons/{comparison}"),
                "comparison",
                "comparison_id",
                cmp,
            ),
            (
                format!("/api/v1/risk-reports/{report}"),
                "risk_report",
                "risk_report_id",
                rep,
            ),
            (
                format!("/api/v1/warnings/{warning}"),
                "warning",
                "warning_id",
                warn,
            ),
        ] {
            let status = c.get(&path).await.status().as_u16();
            assert_eq!(status, if want { 200 } else { 404 }, "{user} GET {path}");
            let rows = app
                .as_app_role(Some(user), &format!("select {key}::text from {table}"))
                .await;
            assert_eq!(rows.len(), usize::from(want), "{user}: rows of {table}");
        }
    }
}
