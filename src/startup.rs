//! Building the application: database (embedded or `DATABASE_URL`),
//! migrations, demo seed, sessions, the router and its layers, a bound
//! listener (tests bind port 0), graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_login::AuthManagerLayerBuilder;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{ExpiredDeletion, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{handlers as auth_handlers, Backend};
use crate::config::Config;
use crate::db::{self, embedded::EmbeddedPg};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::{self, openapi::ApiDoc, PageError};

/// A built application: a bound listener and everything it serves.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    embedded: Option<EmbeddedPg>,
    session_cleanup: tokio::task::JoinHandle<()>,
}

impl Application {
    /// Opens the database (starting the embedded cluster when `DATABASE_URL`
    /// is unset), migrates, seeds demo data in demo mode, binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let (url, embedded) = match &config.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let pg = EmbeddedPg::start(&config.data_dir).await?;
                tracing::info!(cluster = %pg.cluster_dir().display(), "embedded PostgreSQL started");
                (pg.url(db::embedded::DATABASE), Some(pg))
            }
        };
        let pool = db::connect(&url, config.db_max_connections).await?;
        db::migrate(&pool).await?;
        if config.demo_mode() && crate::seed::seed_demo(&pool, true).await? {
            tracing::info!(
                "demo tenants seeded (password {})",
                crate::seed::DEMO_PASSWORD
            );
        }
        // R15.2, R14.1: the daily job, hourly (tests call it directly instead).
        crate::lifecycle::job::spawn(pool.clone());
        // Issue 16: the daily digests, hourly (one per user per day).
        if config.digests {
            crate::tasks::digest::spawn(
                pool.clone(),
                crate::tasks::mail::Mail::from_config(&config)?,
            );
        }
        crate::audit::anchor::spawn(pool.clone(), &config)?;
        Self::build_with_pool(config, pool, embedded).await
    }

    /// Binds the listener over an already migrated pool (tests use this).
    pub async fn build_with_pool(
        config: Config,
        pool: PgPool,
        embedded: Option<EmbeddedPg>,
    ) -> anyhow::Result<Application> {
        let store = PostgresStore::new(pool.clone());
        store
            .migrate()
            .await
            .context("creating the session table")?;
        let session_cleanup = tokio::spawn({
            let store = store.clone();
            async move {
                // Keeps going while the database is away (it returns on error).
                loop {
                    if let Err(e) = store
                        .clone()
                        .continuously_delete_expired(tokio::time::Duration::from_secs(300))
                        .await
                    {
                        tracing::warn!(error = %e, "expired-session cleanup failed; retrying in a minute");
                    }
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
            }
        });
        let public_options = match &config.public_database_url {
            Some(url) => url
                .parse()
                .context("JILIANG_PUBLIC_DATABASE_URL is not a valid URL")?,
            None => (*pool.connect_options()).clone(),
        };
        let state = AppState::new(crate::state::Shared {
            lookups: crate::authorizations::lookups::LookupLog::start(
                pool.clone(),
                config.lookups_per_minute,
            ),
            public_db: db::connect_public(public_options, config.public_db_connections),
            verify_cache: Default::default(),
            mail: crate::tasks::mail::Mail::from_config(&config)?,
            db: pool,
            config: std::sync::Arc::new(config),
        });
        let router = router(state.clone(), store);
        let listener = TcpListener::bind(state.config.addr)
            .await
            .with_context(|| format!("binding {}", state.config.addr))?;
        Ok(Application {
            listener,
            router,
            state,
            embedded,
            session_cleanup,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The shared state (pool and configuration).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains requests and stops the
    /// embedded cluster.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            router,
            state,
            mut embedded,
            session_cleanup,
        } = self;
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
        session_cleanup.abort();
        state.lookups.flush().await;
        state.public_db.close().await;
        state.db.close().await;
        if let Some(pg) = embedded.as_mut() {
            pg.stop();
            tracing::info!("embedded PostgreSQL stopped");
        }
        Ok(())
    }
}

/// Makes glibc's allocator give memory back: large blocks are always
/// mapped and unmapped on free instead of raising the dynamic threshold and
/// staying in one of up to 8 × cores per-thread arenas, and the arenas are
/// few. The server's own allocations go to mimalloc (the global allocator
/// in `main.rs`: glibc's arena locks cost 2.6 futex calls per public lookup
/// under load, issue 14); this still tunes what C code allocates through
/// glibc, and the tests, which run on glibc. Without it, 100 parallel
/// sign-ins left the server at 370 MB resident (benches/memory.sh).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called at start-up.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

fn api_router(upload_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            auth_handlers::session_create,
            auth_handlers::session_delete
        ))
        .routes(routes!(auth_handlers::me))
        .merge(crate::orgs::api())
        .merge(crate::stations::api())
        .merge(crate::standards::api(upload_limit))
        .merge(crate::authorizations::api())
        .merge(crate::applications::api(upload_limit))
        .merge(crate::lifecycle::api())
        .merge(crate::supervision::api(upload_limit))
        .merge(crate::calendar::api())
        .merge(crate::records::api())
        .merge(crate::tasks::api())
        .merge(crate::comparisons::api(upload_limit))
        .merge(crate::risks::api(upload_limit))
}

/// The OpenAPI document as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_router(10 * 1024 * 1024).split_for_parts().1;
    web::openapi::add_standard_errors(&mut doc);
    doc
}

/// All routes and layers.
pub fn router(state: AppState, store: PostgresStore) -> Router {
    let config = state.config.clone();
    let secure = config.secure();
    let session_layer = SessionManagerLayer::new(store)
        .with_name(config.session_cookie_name())
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            config.session_idle_minutes,
        )));
    let auth_layer =
        AuthManagerLayerBuilder::new(Backend::new(state.db.clone()), session_layer).build();

    let (api, mut openapi) = api_router(config.max_upload_bytes).split_for_parts();
    web::openapi::add_standard_errors(&mut openapi);
    let csrf = CsrfLayer::new().with_rejection_response(|_e| {
        AppError::forbidden(
            "跨站请求已被拒绝：请从本站页面提交",
            "Cross-origin request refused: submit from this site's pages",
        )
        .into_response()
    });

    Router::new()
        .merge(crate::stations::pages())
        .merge(crate::orgs::pages())
        .merge(crate::standards::pages(config.max_upload_bytes))
        .merge(crate::authorizations::pages())
        .merge(crate::applications::pages(config.max_upload_bytes))
        .merge(crate::lifecycle::pages())
        .merge(crate::supervision::pages(config.max_upload_bytes))
        .merge(crate::calendar::pages())
        .merge(crate::records::pages())
        .merge(crate::tasks::pages())
        .merge(crate::comparisons::pages(config.max_upload_bytes))
        .merge(crate::risks::pages(config.max_upload_bytes))
        .route(
            "/login",
            get(auth_handlers::login_page).post(auth_handlers::login_submit),
        )
        .route("/logout", post(auth_handlers::logout_submit))
        .route("/lang", post(auth_handlers::lang_submit))
        .merge(api)
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi))
        .route("/healthz", get(healthz))
        .route("/static/{*file}", get(static_file))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(auth_layer)
        .layer(axum::middleware::from_fn_with_state(
            config.max_body_bytes,
            web::input_guard,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(config.max_body_bytes))
        .layer(csrf)
        .layer(axum::middleware::from_fn(web::run_to_completion))
        // The certificate lookup behind the QR code: only the layers below
        // and the input guard (issue 14; `authorizations::lookup_pages`).
        .merge(
            // Another method gets axum's bare 405 with `Allow: GET,HEAD`
            // (the page-wide one explains a POST-only form address).
            crate::authorizations::lookup_pages().layer(axum::middleware::from_fn_with_state(
                    config.max_body_bytes,
                    web::input_guard,
                )),
        )
        .layer(CatchPanicLayer::custom(|_| {
            AppError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        // Outermost: every response, also refusals, panics and timeouts.
        .layer(axum::middleware::from_fn_with_state(
            secure,
            web::security_headers,
        ))
        .with_state(state)
}

/// 200 when the database answers; 503 within two seconds when it does not.
async fn healthz(State(app): State<AppState>) -> Response {
    let probe = sqlx::query_scalar::<_, i32>("select 1").fetch_one(&app.db);
    match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(_)) => (StatusCode::OK, "ok").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database does not answer");
            unavailable()
        }
        Err(_) => {
            tracing::warn!("health check: database did not answer within 2 s");
            unavailable()
        }
    }
}

fn unavailable() -> Response {
    let mut res = (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    res
}

/// A page URL asked with the wrong method (typically a reload of a POST-only
/// step): a page that explains; the JSON API keeps the bare 405.
async fn method_not_allowed(lang: Lang, req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        StatusCode::METHOD_NOT_ALLOWED.into_response()
    } else {
        crate::web::method_not_allowed_page(lang, req.uri().path())
    }
}

async fn not_found(lang: Lang, req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        AppError::NotFound.into_response()
    } else {
        PageError::new(AppError::NotFound, lang).into_response()
    }
}

/// Static assets, compiled into the binary.
async fn static_file(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, mime): (&'static str, &'static str) = match file.as_str() {
        "app.css" => (include_str!("../static/app.css"), "text/css; charset=utf-8"),
        "app.js" => (
            include_str!("../static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        "records-chart.js" => (
            include_str!("../static/records-chart.js"),
            "text/javascript; charset=utf-8",
        ),
        // Vendored, pinned in static/VENDORED.md.
        "vendor/echarts/echarts.common.min.js" => (
            include_str!("../static/vendor/echarts/echarts.common.min.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return AppError::NotFound.into_response(),
    };
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}
