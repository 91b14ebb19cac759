//! National scale (issue 14): the generator at a small size, keyset pages
//! with their cursors, pickers that search, and requests whose clients
//! leave halfway.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{assert_error, TestApp};
use serde_json::Value;

#[tokio::test]
async fn seed_scale_generates_fifty_stations_through_the_real_triggers() {
    let app = TestApp::spawn().await;
    let before: i64 = sqlx::query_scalar("select count(*) from station")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // Outside demo mode it refuses: every account has the demo password.
    assert!(jiliang::seed_scale::seed_scale(&app.pool, false, 50)
        .await
        .is_err());
    let report = jiliang::seed_scale::seed_scale(&app.pool, true, 50)
        .await
        .expect("seed-scale runs");
    let count = |what: &str| {
        report
            .counts
            .iter()
            .find(|(k, _)| *k == what)
            .map(|(_, n)| *n)
            .unwrap_or_default()
    };
    assert_eq!(count("stations"), before + 50);
    for what in [
        "authorizations",
        "authorized items",
        "standards",
        "qualifications",
        "applications",
        "lifecycle requests",
        "inspections",
        "notifications",
    ] {
        assert!(count(what) > 0, "{what}: {report}");
    }
    // A second run on the same database refuses instead of doubling.
    assert!(jiliang::seed_scale::seed_scale(&app.pool, true, 50)
        .await
        .is_err());
    // R3.1 held for every generated branch (the trigger checked it), and
    // R6.2: a local station is authorized by its province's regulator.
    let wrong: i64 = sqlx::query_scalar(
        "select count(*) from station s join division d on d.code = s.location_division
           join organization r on r.organization_id = s.authorizing_regulator_id
          where s.code like 'SC-%' and s.tier = 'local'
            and (r.regulator_level <> 'provincial' or r.division_code <> d.province_code)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(wrong, 0, "R6.2: local stations by their province");
    // The visibility triggers ran: SAMR sees every station, a generated
    // station account sees itself.
    let samr = app.login("samr.reviewer").await;
    let (_, body) = samr.json("/api/v1/stations?per_page=1").await;
    assert_eq!(body["total"].as_i64(), Some(before + 50), "{body}");
    let st = app.login("st-sc-00007").await;
    let (_, body) = st.json("/api/v1/stations").await;
    assert_eq!(body["total"].as_i64(), Some(1), "{body}");
    // Generated data renders on the pages that list it.
    for path in [
        "/",
        "/applications",
        "/requests",
        "/standards",
        "/staff",
        "/inspections",
        "/cases",
    ] {
        let res = samr.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
    }
}

/// Every page of a keyset list, following `X-Next-Cursor`: the ids in order.
async fn walk(c: &common::Client, path: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..100 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &next {
            Some(cur) => format!("{path}{sep}cursor={cur}"),
            None => path.to_owned(),
        };
        let res = c.get(&url).await;
        assert_eq!(res.status(), 200, "{url}");
        next = res
            .headers()
            .get("x-next-cursor")
            .map(|v| v.to_str().unwrap().to_owned());
        if next.is_some() {
            let link = res.headers().get("link").expect("Link with the cursor");
            assert!(link.to_str().unwrap().contains("rel=\"next\""));
        }
        let page: Vec<Value> = res.json().await.unwrap();
        ids.extend(page.iter().map(|a| a["id"].as_str().unwrap().to_owned()));
        if next.is_none() {
            return ids;
        }
    }
    panic!("{path}: more than 100 pages");
}

#[tokio::test]
async fn keyset_pages_cover_each_row_once_and_refuse_bad_cursors() {
    let app = TestApp::spawn().await;
    jiliang::seed_scale::seed_scale(&app.pool, true, 60)
        .await
        .expect("seed-scale runs");
    let samr = app.login("samr.reviewer").await;
    let dept = app.login("dept-0001").await;
    // The regulators with the most inspections, orders and cases.
    let busiest = |table: &'static str, column: &'static str| {
        let pool = app.pool.clone();
        async move {
            let user: String = sqlx::query_scalar(&format!(
                "select (select min(u.username) from app_user u where u.organization_id = t.{column})
                   from {table} t group by t.{column} order by count(*) desc limit 1"
            ))
            .fetch_one(&pool)
            .await
            .unwrap();
            user
        }
    };
    let inspector = app.login(&busiest("inspection", "org_id").await).await;
    let issuer = app
        .login(&busiest("rectification_order", "issuer_id").await)
        .await;
    let reviewer = app
        .login(&busiest("lifecycle_request", "regulator_id").await)
        .await;
    let prosecutor = app
        .login(&busiest("violation_case", "regulator_id").await)
        .await;
    for (c, path, small) in [
        (
            &dept,
            "/api/v1/applications",
            "/api/v1/applications?limit=3",
        ),
        (&samr, "/api/v1/staff", "/api/v1/staff?limit=37"),
        (
            &samr,
            "/api/v1/lifecycle-requests",
            "/api/v1/lifecycle-requests?limit=3",
        ),
        (
            &inspector,
            "/api/v1/inspections",
            "/api/v1/inspections?limit=3",
        ),
        (
            &issuer,
            "/api/v1/rectification-orders",
            "/api/v1/rectification-orders?limit=1",
        ),
        (
            &prosecutor,
            "/api/v1/violation-cases",
            "/api/v1/violation-cases?limit=1",
        ),
    ] {
        let all = walk(c, &format!("{path}?limit=200")).await;
        let paged = walk(c, small).await;
        let limit: usize = small.rsplit('=').next().unwrap().parse().unwrap();
        // At 60 stations a regulator has an order or a case or two; the
        // others span several small pages.
        let enough = if path.contains("violation") || path.contains("orders") {
            0
        } else {
            limit
        };
        assert!(all.len() > enough, "{path}: more rows than one small page");
        assert_eq!(
            paged, all,
            "{path}: small pages give the same rows in order"
        );
        assert_eq!(
            paged.iter().collect::<HashSet<_>>().len(),
            paged.len(),
            "{path}: no row twice"
        );
    }
    // Two filed requests of the busiest regulator filed long ago, one just
    // now: the filter must split them as each row's own clock does.
    sqlx::query(
        "update lifecycle_request set state = 'submitted', filed_on = current_date - (90 * n)::int
           from (select request_id, row_number() over (order by request_id) - 1 as n
                   from lifecycle_request
                  where kind <> 'reexamination' and state <> 'draft'
                    and regulator_id = (select regulator_id from lifecycle_request
                                         group by regulator_id order by count(*) desc limit 1)
                  order by request_id limit 3) x
          where lifecycle_request.request_id = x.request_id",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // The overdue filters run in SQL and agree with each row's own flag
    // (R18.3 for orders; the decision clock for requests).
    for (c, path) in [
        (&issuer, "/api/v1/rectification-orders"),
        (&reviewer, "/api/v1/lifecycle-requests"),
    ] {
        let (_, body) = c.json(&format!("{path}?limit=200")).await;
        let rows = body.as_array().unwrap();
        assert!(rows.len() < 200, "{path}: one page holds them all");
        let flagged: HashSet<String> = rows
            .iter()
            .filter(|r| r["overdue"] == true)
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        let filtered: HashSet<String> = walk(c, &format!("{path}?overdue=true&limit=2"))
            .await
            .into_iter()
            .collect();
        assert_eq!(
            filtered, flagged,
            "{path}: overdue=true is exactly the overdue rows"
        );
        if path.contains("lifecycle") {
            assert!(!flagged.is_empty(), "the generator files overdue requests");
        }
    }
    // Bad input is a field error naming the parameter, never a 500.
    for bad in ["zz", "00", "6b7c"] {
        assert_error(
            samr.get(&format!("/api/v1/applications?cursor={bad}"))
                .await,
            422,
            "validation",
        )
        .await;
    }
    // A page with a bad cursor says so, in the page (not a bare 422).
    for page in [
        "/inspections",
        "/requests",
        "/rectification-orders",
        "/cases",
    ] {
        let res = samr.get(&format!("{page}?cursor=zz")).await;
        assert_eq!(res.status(), 422, "{page}");
        let html = res.text().await.unwrap();
        assert!(html.contains("翻页位置无效"), "{page}: {html}");
    }
    for bad in ["0", "201", "-1"] {
        assert_error(
            samr.get(&format!("/api/v1/staff?limit={bad}")).await,
            422,
            "validation",
        )
        .await;
    }
    // A cursor gives no one more than they may see: a station walking the
    // list with the department's cursor sees only its own applications.
    let res = dept.get("/api/v1/applications?limit=1").await;
    let cursor = res.headers()["x-next-cursor"].to_str().unwrap().to_owned();
    let st = app.login("st-sc-00007").await;
    let (status, body) = st
        .json(&format!("/api/v1/applications?cursor={cursor}"))
        .await;
    assert_eq!(status, 200);
    let station: String =
        sqlx::query_scalar("select station_id::text from station where code = 'SC-00007'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    for a in body.as_array().unwrap() {
        assert_eq!(a["station_id"].as_str(), Some(station.as_str()));
    }
    // The picker searches: a code finds its station, and the answer is capped.
    let gd = app.login("gd.reviewer").await;
    let (_, found) = gd
        .json("/api/v1/inspections/inspectable-stations?limit=5")
        .await;
    assert!(found.as_array().unwrap().len() <= 5, "{found}");
    let code = found[0]["code"].as_str().unwrap().to_owned();
    let (_, one) = gd
        .json(&format!(
            "/api/v1/inspections/inspectable-stations?q={code}"
        ))
        .await;
    assert!(one
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["code"].as_str().unwrap().contains(&code)));
    assert!(!one.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn clients_leaving_mid_request_leave_no_session_idle_in_transaction() {
    let app = TestApp::spawn().await;
    let samr = app.login("samr.reviewer").await;
    // Clients that hang up after 1–6 ms, on pages that open a transaction
    // and run several statements.
    for i in 0..60u64 {
        let path = ["/applications", "/standards", "/inspections", "/"][i as usize % 4];
        let _ = samr
            .http
            .get(app.url(path))
            .timeout(Duration::from_millis(1 + i % 6))
            .send()
            .await;
    }
    // Each request's work runs to its end (commit or rollback) by itself.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stuck: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()
            and state like 'idle in transaction%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stuck, 0, "no session left idle in a transaction");
    // And the pool still serves.
    assert_eq!(samr.get("/applications").await.status(), 200);
}

/// The national regulator's policies skip the hash of its station ids
/// (migration 18): what it sees is exactly what its visibility rows say,
/// every station; a province still sees only its own; the marker follows
/// the organization and the app role cannot write it (R17.1).
#[tokio::test]
async fn the_national_regulator_sees_what_its_visibility_rows_say() {
    let app = TestApp::spawn().await;
    jiliang::seed_scale::seed_scale(&app.pool, true, 40)
        .await
        .expect("seed-scale runs");
    for (user, table) in [
        ("samr.reviewer", "station"),
        ("samr.reviewer", "measurement_standard"),
        ("samr.reviewer", "qualification"),
        ("gd.reviewer", "station"),
        ("gd.reviewer", "measurement_standard"),
    ] {
        let seen = app
            .as_app_role(Some(user), &format!("select count(*)::text from {table}"))
            .await;
        let rows = app
            .as_app_role(
                Some(user),
                &format!(
                    "select count(*)::text from {table} t where t.station_id in
                       (select a.station_id from station_access a where a.org_id = app_org_id())"
                ),
            )
            .await;
        assert_eq!(
            seen, rows,
            "{user} {table}: the policy is the visibility rows"
        );
    }
    let all: i64 = sqlx::query_scalar("select count(*) from station")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let samr = app
        .as_app_role(Some("samr.reviewer"), "select count(*)::text from station")
        .await;
    assert_eq!(samr, vec![all.to_string()]);
    let gd = app
        .as_app_role(Some("gd.reviewer"), "select count(*)::text from station")
        .await;
    assert!(gd[0].parse::<i64>().unwrap() < all, "a province sees part");
    // The marker: SAMR only, kept by the trigger, read-only for the app.
    let marked: Vec<String> = sqlx::query_scalar(
        "select o.name from national_viewer v join organization o on o.organization_id = v.org_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(marked.len(), 1, "{marked:?}");
    assert!(app
        .as_app_role_result(
            Some("gd.reviewer"),
            "insert into national_viewer (org_id) select app_org_id() returning org_id::text",
        )
        .await
        .is_err());
    let gd_org = app.org_id("广东省市场监督管理局").await;
    sqlx::query("update organization set regulator_level = 'national', division_code = null where organization_id = $1")
        .bind(gd_org)
        .execute(&app.pool)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from national_viewer where org_id = $1")
        .bind(gd_org)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1, "the marker follows the organization's level");
}

/// Pages name divisions from a table cached in the process instead of
/// calling `division_path` per row (issue 14): the two agree on every code.
#[tokio::test]
async fn cached_division_names_equal_the_database_function_for_every_code() {
    let options = common::fresh_database().await;
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("select code, division_path(code) from division order by code")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(rows.len() > 3_000, "the division table is loaded");
    let differ: Vec<_> = rows
        .iter()
        .filter(|(code, sql)| jiliang::db::reference::division_path(code) != sql.as_deref())
        .take(5)
        .collect();
    assert!(
        differ.is_empty(),
        "cached names differ from division_path: {differ:?}"
    );
    assert_eq!(jiliang::db::reference::division_path("000000"), None);
}
