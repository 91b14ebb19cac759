//! Test harness: a PostgreSQL server per test process (the project's own
//! embedded cluster in a temporary directory, or the server of
//! `DATABASE_URL` when set), a migrated and demo-seeded template database
//! created once, and a fresh database cloned from it for every test.
#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use jiliang::config::Config;
use jiliang::db::embedded::{EmbeddedPg, DATABASE};
use jiliang::startup::Application;
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;
use uuid::Uuid;

pub const PASSWORD: &str = "demo-pass-2025";

struct Server {
    /// Builds a URL for a database of the test server.
    base: PgConnectOptions,
    template: String,
    _embedded: Mutex<Option<EmbeddedPg>>,
}

static SERVER: OnceCell<Server> = OnceCell::const_new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn template_name() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for m in sqlx::migrate!("./migrations").iter() {
        h.update(m.version.to_le_bytes());
        h.update(&*m.checksum);
    }
    h.update(jiliang::db::reference::DIVISIONS_CSV.len().to_le_bytes());
    h.update(jiliang::db::reference::CALENDAR_CSV.len().to_le_bytes());
    h.update(format!("{:?}", jiliang::seed::ACCOUNTS).as_bytes());
    h.update(jiliang::seed::SEED_VERSION.to_le_bytes());
    // Demo registry dates are relative to the day the template was built.
    h.update(jiliang::web::today().to_string().as_bytes());
    format!("jiliang_tmpl_{}", &hex::encode(h.finalize())[..16])
}

async fn server() -> &'static Server {
    SERVER
        .get_or_init(|| async {
            let (base, embedded) = match std::env::var("DATABASE_URL") {
                Ok(url) if !url.is_empty() => {
                    let opts: PgConnectOptions = url.parse().expect("DATABASE_URL parses");
                    (opts, None)
                }
                _ => {
                    // Remove clusters of test processes that are gone.
                    let tmp = std::env::temp_dir();
                    for e in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
                        let name = e.file_name().to_string_lossy().to_string();
                        if let Some(pid) = name.strip_prefix("jiliang-test-") {
                            if pid.parse::<u32>().is_ok_and(|p| !pid_alive(p)) {
                                let _ = std::fs::remove_dir_all(e.path());
                            }
                        }
                    }
                    let dir = tmp.join(format!("jiliang-test-{}", std::process::id()));
                    let pg = EmbeddedPg::start(&dir)
                        .await
                        .expect("embedded PostgreSQL starts");
                    let opts: PgConnectOptions = pg.url(DATABASE).parse().unwrap();
                    (opts, Some(pg))
                }
            };
            let template = template_name();
            let mut admin = PgConnection::connect_with(&base.clone().database("postgres"))
                .await
                .expect("connect to the test server");
            // Several test processes may race to build the template.
            sqlx::query("select pg_advisory_lock(7243002)")
                .execute(&mut admin)
                .await
                .unwrap();
            // Drop databases left by test processes that are gone.
            let stale: Vec<String> =
                sqlx::query_scalar("select datname from pg_database where datname like 'jt\\_%'")
                    .fetch_all(&mut admin)
                    .await
                    .unwrap();
            for db in stale {
                let pid = db.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
                if pid.is_some_and(|p| !pid_alive(p)) {
                    let _ = sqlx::query(&format!("drop database if exists \"{db}\" with (force)"))
                        .execute(&mut admin)
                        .await;
                }
            }
            let exists: bool =
                sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                    .bind(&template)
                    .fetch_one(&mut admin)
                    .await
                    .unwrap();
            if !exists {
                let building = format!("{template}_building");
                sqlx::query(&format!("drop database if exists \"{building}\""))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                sqlx::query(&format!("create database \"{building}\""))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                {
                    let pool = PgPool::connect_with(base.clone().database(&building))
                        .await
                        .unwrap();
                    jiliang::db::migrate(&pool).await.expect("migrations apply");
                    jiliang::seed::seed_demo(&pool, true)
                        .await
                        .expect("demo seed");
                    tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
                        .migrate()
                        .await
                        .unwrap();
                    pool.close().await;
                }
                sqlx::query(&format!(
                    "alter database \"{building}\" rename to \"{template}\""
                ))
                .execute(&mut admin)
                .await
                .unwrap();
            }
            sqlx::query("select pg_advisory_unlock(7243002)")
                .execute(&mut admin)
                .await
                .unwrap();
            admin.close().await.ok();
            Server {
                base,
                template,
                _embedded: Mutex::new(embedded),
            }
        })
        .await
}

/// A fresh database cloned from the template; returns its URL options.
pub async fn fresh_database() -> PgConnectOptions {
    let server = server().await;
    let name = format!(
        "jt_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        &Uuid::new_v4().simple().to_string()[..8]
    );
    let mut admin = PgConnection::connect_with(&server.base.clone().database("postgres"))
        .await
        .unwrap();
    sqlx::query(&format!(
        "create database \"{name}\" template \"{}\"",
        server.template
    ))
    .execute(&mut admin)
    .await
    .expect("clone the template database");
    admin.close().await.ok();
    server.base.clone().database(&name)
}

/// A running application on its own database.
pub struct TestApp {
    pub base: String,
    /// The owner's pool (bypasses row-level security: for setup and checks).
    pub pool: PgPool,
    pub options: PgConnectOptions,
    /// The server's shared state (e.g. to flush the lookup log).
    pub state: jiliang::state::AppState,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with a configuration adjusted by `tweak`.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let options = fresh_database().await;
        let pool = PgPool::connect_with(options.clone()).await.unwrap();
        let mut config = Config::for_database(String::from("postgres://unused"));
        tweak(&mut config);
        let app = Application::build_with_pool(config, pool.clone(), None)
            .await
            .expect("the application builds");
        let port = app.port();
        let state = app.state().clone();
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            pool,
            options,
            state,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client with its own cookie jar, not signed in.
    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: self.base.clone(),
        }
    }

    /// A client signed in as a demo account.
    pub async fn login(&self, username: &str) -> Client {
        self.login_with(username, PASSWORD).await
    }

    /// A client signed in with the given password.
    pub async fn login_with(&self, username: &str, password: &str) -> Client {
        let c = self.client();
        let res = c
            .post_json(
                "/api/v1/session",
                &serde_json::json!({ "username": username, "password": password }),
            )
            .await;
        assert_eq!(res.status(), 200, "{username} signs in");
        c
    }

    /// The id of an organization by name.
    pub async fn org_id(&self, name: &str) -> Uuid {
        sqlx::query_scalar("select organization_id from organization where name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|_| panic!("organization {name}"))
    }

    /// The id of a station by code.
    pub async fn station_id(&self, code: &str) -> Uuid {
        sqlx::query_scalar("select station_id from station where code = $1")
            .bind(code)
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|_| panic!("station {code}"))
    }

    /// The organization (id, kind) of a user.
    pub async fn org_of(&self, username: &str) -> (Uuid, String) {
        sqlx::query_as(
            "select o.organization_id, o.kind from app_user u join organization o using (organization_id)
              where u.username = $1",
        )
        .bind(username)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    /// Runs `sql` under the app role with the organization of `username`
    /// set, as a request would; returns the first column of every row.
    pub async fn as_app_role(&self, username: Option<&str>, sql: &str) -> Vec<String> {
        self.as_app_role_result(username, sql).await.unwrap()
    }

    /// As [`Self::as_app_role`], with the database's refusal as `Err` (for
    /// the attack tests: a policy or a definer function saying no).
    pub async fn as_app_role_result(
        &self,
        username: Option<&str>,
        sql: &str,
    ) -> Result<Vec<String>, String> {
        let mut tx = self.pool.begin().await.unwrap();
        sqlx::query("set local role jiliang_app")
            .execute(&mut *tx)
            .await
            .unwrap();
        if let Some(u) = username {
            let (org, kind) = self.org_of(u).await;
            let (user, roles): (Uuid, Vec<String>) =
                sqlx::query_as("select user_id, roles from app_user where username = $1")
                    .bind(u)
                    .fetch_one(&self.pool)
                    .await
                    .unwrap();
            sqlx::query(
                "select set_config('app.org_id', $1, true), set_config('app.org_kind', $2, true),
                        set_config('app.user_id', $3, true), set_config('app.roles', $4, true)",
            )
            .bind(org.to_string())
            .bind(kind)
            .bind(user.to_string())
            .bind(roles.join(","))
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        let rows = sqlx::query_scalar::<_, String>(sql)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| e.to_string());
        tx.rollback().await.unwrap();
        rows
    }

    /// Audit events recorded so far.
    pub async fn audit_count(&self) -> i64 {
        sqlx::query_scalar("select count(*) from audit_event")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

/// A cookie-keeping HTTP client bound to one app (clones share the session).
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

impl Client {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{}", self.base, path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .put(format!("{}{}", self.base, path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{}", self.base, path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn json(&self, path: &str) -> (u16, Value) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Codes of the stations `GET /api/v1/stations` lists.
    pub async fn station_codes(&self) -> HashSet<String> {
        let (status, body) = self.json("/api/v1/stations?per_page=100").await;
        assert_eq!(status, 200, "station list: {body}");
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["code"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Asserts an error response in our JSON format with `status` and `code`.
pub async fn assert_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status);
    let body: Value = res.json().await.expect("an error body in JSON");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert!(body["error"]["message_en"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    body
}

pub fn set(items: &[&str]) -> HashSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ------------------------------------------------ shared workflow helpers

/// The body of a 201 answer (the status asserted).
pub async fn created(res: reqwest::Response) -> Value {
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v
}

/// The body of a 200 answer (the status asserted).
pub async fn okj(res: reqwest::Response) -> Value {
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    v
}

/// A user's id by username.
pub async fn user_id(app: &TestApp, name: &str) -> Uuid {
    sqlx::query_scalar("select user_id from app_user where username = $1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// An inspection record with the five areas, fees as given.
pub fn record(version: &Value, fees: &str) -> Value {
    let mut areas = json!({
        "compliance": {"finding": "conforming"},
        "technical_specifications": {"finding": "conforming"},
        "standards_management": {"finding": "not_inspected"},
        "fees": {"finding": fees, "notes": "超标准收取检定费"},
        "conduct": {"finding": "conforming"}});
    if fees == "conforming" {
        areas["fees"] = json!({"finding": "conforming"});
    }
    json!({"version": version, "inspected_from": "2026-11-20", "inspected_to": "2026-11-21",
           "areas": areas, "cooperation": "cooperated", "summary": "现场检查"})
}

/// A completed inspection of `station` by 广东 with the fees area as given.
pub async fn completed_inspection(app: &TestApp, station: &str, fees: &str) -> Value {
    let reviewer = app.login("gd.reviewer").await;
    let approver = app.login("gd.approver").await;
    let st = app.station_id(station).await;
    let i = created(
        reviewer
            .post_json(
                "/api/v1/inspections",
                &json!({"station_id": st, "planned_on": "2026-11-20",
                        "inspectors": [user_id(app, "gd.reviewer").await]}),
            )
            .await,
    )
    .await;
    let id = i["id"].as_str().unwrap().to_owned();
    let i = okj(reviewer
        .put_json(
            &format!("/api/v1/inspections/{id}/record"),
            &record(&i["version"], fees),
        )
        .await)
    .await;
    okj(approver
        .post_json(
            &format!("/api/v1/inspections/{id}/approve"),
            &json!({"version": i["version"]}),
        )
        .await)
    .await
}

/// An application of 中国石油 (cnpc.officer) for 深圳市燃气计量站 with one gas
/// meter item, submitted with every unmet condition declared 待补; returns
/// its id.
pub async fn submitted_application(app: &TestApp) -> String {
    let dept = app.login("cnpc.officer").await;
    let station = app.station_id("SZ-GAS-01").await;
    let a = created(
        dept.post_json(
            "/api/v1/applications",
            &json!({"station_id": station, "region": ["440304"], "items": [{"name": "膜式燃气表",
              "range_text": "（0.016～6）m³/h", "accuracy_text": "1.5级",
              "task_types": ["verification"], "specification": "JJG577-2012"}]}),
        )
        .await,
    )
    .await;
    let id = a["id"].as_str().unwrap().to_owned();
    let codes: Vec<Value> = a["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].clone())
        .collect();
    okj(dept
        .post_json(
            &format!("/api/v1/applications/{id}/submit"),
            &json!({"version": a["version"], "to_be_provided": codes}),
        )
        .await)
    .await;
    id
}

/// A reason for each condition still open on a record (its `conditions`),
/// as an approver who overrides them all would give (requirements §4);
/// for tests about something else than the conditions.
pub fn override_all_open(record: &Value) -> Value {
    let mut m = serde_json::Map::new();
    if record["proposal"] == "refuse" {
        return Value::Object(m);
    }
    for c in record["conditions"].as_array().into_iter().flatten() {
        if c["state"] == "open" {
            if let Some(k) = c["key"].as_str() {
                m.insert(k.to_owned(), Value::String(format!("测试：认可 {k}")));
            }
        }
    }
    Value::Object(m)
}

/// A new user of `org` made by the operator, signed in.
pub async fn new_user(app: &TestApp, org: &str, name: &str, roles: &[&str]) -> Client {
    let op = app.login("operator").await;
    let org = app.org_id(org).await;
    created(
        op.post_json(
            "/api/v1/users",
            &json!({"organization_id": org, "username": name, "display_name": name,
                    "roles": roles, "password": "Trust-pass-2025"}),
        )
        .await,
    )
    .await;
    app.login_with(name, "Trust-pass-2025").await
}
