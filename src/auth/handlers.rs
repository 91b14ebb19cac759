//! Sign-in and sign-out, as a page (`/login`, `/logout`) and as JSON
//! (`/api/v1/session`, `/api/v1/me`), plus the language switch.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::backend::{Credentials, LOGIN_AT_KEY};
use super::{throttle, AuthSession, Ctx, OrgKind, Role, SessionUser};
use crate::audit::{self, Event};
use crate::error::{AppError, ErrorBody, FieldError, Result};
use crate::i18n::{Lang, LANG_COOKIE};
use crate::state::AppState;
use crate::web::{safe_next, AppJson, Layout};

/// Signs in: throttling, password check (same time for unknown users),
/// session id rotation, sign-in time for the absolute lifetime, audit.
pub async fn sign_in(
    app: &AppState,
    auth: &mut AuthSession,
    username: &str,
    password: &str,
    addr: &str,
) -> Result<SessionUser> {
    let mut missing = Vec::new();
    if username.trim().is_empty() {
        missing.push(FieldError::required("username"));
    }
    if password.is_empty() {
        missing.push(FieldError::required("password"));
    }
    if !missing.is_empty() {
        return Err(AppError::Validation(missing));
    }
    // Reserved before the password is evaluated, atomically: parallel
    // guesses beyond the limit are refused, never tried.
    let attempt = throttle::reserve(&app.db, &app.config, username, addr).await?;
    let creds = Credentials {
        username: username.to_owned(),
        password: password.to_owned(),
    };
    let user = match auth.authenticate(creds).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            attempt.failed(&app.db, &app.config).await?;
            return Err(AppError::InvalidCredentials);
        }
        Err(e) => {
            attempt.abandoned(&app.db).await?;
            return Err(match e {
                axum_login::Error::Backend(e) => e,
                axum_login::Error::Session(e) => anyhow::anyhow!("session: {e}").into(),
            });
        }
    };
    attempt.succeeded(&app.db).await?;
    auth.login(&user)
        .await
        .map_err(|e| anyhow::anyhow!("session login: {e}"))?;
    // A new session id at every sign-in (no fixation), also when a session
    // was already signed in: login() alone cycles only anonymous sessions.
    auth.session
        .cycle_id()
        .await
        .map_err(|e| anyhow::anyhow!("session cycle: {e}"))?;
    auth.session
        .insert(LOGIN_AT_KEY, chrono::Utc::now().timestamp())
        .await
        .map_err(|e| anyhow::anyhow!("session insert: {e}"))?;
    let mut conn = app.db.acquire().await?;
    audit::insert(
        &mut conn,
        Some(user.org_id),
        Some(user.user_id),
        Event::new("session.sign_in", "user", user.user_id)
            .after(&serde_json::json!({ "client_addr": addr })),
    )
    .await?;
    Ok(user)
}

async fn sign_out(app: &AppState, auth: &mut AuthSession) -> Result<()> {
    if let Some(user) = auth
        .logout()
        .await
        .map_err(|e| anyhow::anyhow!("session logout: {e}"))?
    {
        let mut conn = app.db.acquire().await?;
        audit::insert(
            &mut conn,
            Some(user.org_id),
            Some(user.user_id),
            Event::new("session.sign_out", "user", user.user_id),
        )
        .await?;
    }
    Ok(())
}

// ------------------------------------------------------------------ pages

#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    layout: Layout,
    next: String,
    username: String,
    error: Option<String>,
    field_errors: Vec<FieldError>,
}

impl LoginPage {
    fn field_error(&self, field: &str) -> Option<String> {
        self.field_errors
            .iter()
            .find(|f| f.field == field)
            .map(|f| {
                if self.layout.is_en() {
                    f.message_en.clone()
                } else {
                    f.message.clone()
                }
            })
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(lang: Lang, Query(q): Query<NextQuery>) -> impl IntoResponse {
    let next = safe_next(q.next.as_deref().unwrap_or("/"));
    LoginPage {
        layout: Layout::anon(
            lang,
            lang.t("login-title"),
            &format!("/login?next={}", crate::web::url_encode(&next)),
        ),
        next,
        username: String::new(),
        error: None,
        field_errors: Vec::new(),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn login_submit(
    State(app): State<AppState>,
    lang: Lang,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    mut auth: AuthSession,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref().unwrap_or("/"));
    match sign_in(
        &app,
        &mut auth,
        &form.username,
        &form.password,
        &addr.ip().to_string(),
    )
    .await
    {
        Ok(user) => {
            let mut res = Redirect::to(&next).into_response();
            // Issue 16: the language the user chose in /profile follows
            // them to any browser they sign in on.
            if let Some(chosen) = preferred_lang(&app, user.user_id).await {
                if chosen != if lang.is_en() { "en" } else { "zh" } {
                    let cookie =
                        format!("{LANG_COOKIE}={chosen}; Path=/; Max-Age=31536000; SameSite=Lax");
                    if let Ok(v) = HeaderValue::from_str(&cookie) {
                        res.headers_mut().append(header::SET_COOKIE, v);
                    }
                }
            }
            res
        }
        Err(e) => {
            e.log();
            let status = e.status_code();
            let detail = e.detail();
            let page = LoginPage {
                layout: Layout::anon(lang, lang.t("login-title"), "/login"),
                next,
                username: form.username,
                error: Some(if lang.is_en() {
                    detail.message_en
                } else {
                    detail.message
                }),
                field_errors: detail.fields,
            };
            (status, page).into_response()
        }
    }
}

/// The language a user saved in their preferences, if any (read under
/// that user's own row policy; any failure: none, the page keeps its own).
async fn preferred_lang(app: &AppState, user_id: Uuid) -> Option<String> {
    let mut tx = app.db.begin().await.ok()?;
    sqlx::query("select set_config('app.user_id', $1, true)")
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await
        .ok()?;
    let lang: Option<String> =
        sqlx::query_scalar("select lang from user_preference where user_id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .ok()?;
    tx.commit().await.ok()?;
    lang.filter(|l| l == "zh" || l == "en")
}

pub async fn logout_submit(State(app): State<AppState>, mut auth: AuthSession) -> Response {
    match sign_out(&app, &mut auth).await {
        Ok(()) => Redirect::to("/login").into_response(),
        Err(e) => crate::web::PageError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct LangForm {
    lang: String,
    next: Option<String>,
}

/// Switches the language and returns to the page (a cookie, kept a year).
pub async fn lang_submit(Form(form): Form<LangForm>) -> Response {
    let value = if form.lang == "en" { "en" } else { "zh" };
    let next = safe_next(form.next.as_deref().unwrap_or("/"));
    let mut res = Redirect::to(&next).into_response();
    let cookie = format!("{LANG_COOKIE}={value}; Path=/; Max-Age=31536000; SameSite=Lax");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

// ------------------------------------------------------------------ JSON

/// Sign-in request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    pub username: String,
    pub password: String,
}

/// The signed-in user.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub organization: MeOrganization,
    pub roles: Vec<Role>,
}

/// The signed-in user's organization.
#[derive(Serialize, ToSchema)]
pub struct MeOrganization {
    pub id: Uuid,
    pub name: String,
    pub kind: OrgKind,
}

impl From<Ctx> for Me {
    fn from(c: Ctx) -> Self {
        Me {
            user_id: c.user_id,
            username: c.username,
            display_name: c.display_name,
            organization: MeOrganization {
                id: c.org_id,
                name: c.org_name,
                kind: c.org_kind,
            },
            roles: c.roles,
        }
    }
}

/// Sign in; sets the session cookie (rotated at every sign-in).
#[utoipa::path(post, path = "/api/v1/session", tag = "session",
    request_body = SessionRequest,
    responses(
        (status = 200, description = "Signed in", body = Me),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 429, description = "Too many attempts", body = ErrorBody),
    ))]
pub async fn session_create(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    mut auth: AuthSession,
    AppJson(req): AppJson<SessionRequest>,
) -> Result<AppJson<Me>> {
    let user = sign_in(
        &app,
        &mut auth,
        &req.username,
        &req.password,
        &addr.ip().to_string(),
    )
    .await?;
    Ok(AppJson(user.into_ctx(Lang::Zh).into()))
}

/// Sign out; the session ends on the server.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "Signed out")))]
pub async fn session_delete(
    State(app): State<AppState>,
    mut auth: AuthSession,
) -> Result<StatusCode> {
    sign_out(&app, &mut auth).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user, their organization and roles.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses(
        (status = 200, description = "The signed-in user", body = Me),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn me(ctx: Ctx) -> AppJson<Me> {
    AppJson(ctx.into())
}
