//! Who is asking: organizations' kinds, roles, the signed-in user's
//! [`Ctx`], capability extractors, passwords, sessions and sign-in.

pub mod backend;
pub mod handlers;
pub mod password;
pub mod throttle;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppError;
use crate::i18n::Lang;
use crate::state::AppState;
pub use backend::{AuthSession, Backend, SessionUser};

/// The kind of an organization (requirements.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Platform,
    Regulator,
    Department,
    Station,
}

impl OrgKind {
    pub const ALL: [OrgKind; 4] = [
        OrgKind::Platform,
        OrgKind::Regulator,
        OrgKind::Department,
        OrgKind::Station,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Platform => "platform",
            OrgKind::Regulator => "regulator",
            OrgKind::Department => "department",
            OrgKind::Station => "station",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The roles users of this kind of organization may hold.
    pub fn roles(self) -> &'static [Role] {
        match self {
            OrgKind::Platform => &[Role::Operator, Role::Admin],
            OrgKind::Regulator => &[Role::Admin, Role::Reviewer, Role::Approver, Role::Inspector],
            OrgKind::Department => &[Role::Admin, Role::Officer],
            OrgKind::Station => &[Role::Admin, Role::Staff, Role::Head],
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            OrgKind::Platform => "平台运营",
            OrgKind::Regulator => "市场监督管理部门",
            OrgKind::Department => "主管部门",
            OrgKind::Station => "专业计量站",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            OrgKind::Platform => "Platform",
            OrgKind::Regulator => "Market regulator",
            OrgKind::Department => "Competent department",
            OrgKind::Station => "Metrology station",
        }
    }
}

/// A role a user holds within their organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operator,
    Admin,
    Reviewer,
    Approver,
    Inspector,
    Officer,
    Staff,
    Head,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Operator,
        Role::Admin,
        Role::Reviewer,
        Role::Approver,
        Role::Inspector,
        Role::Officer,
        Role::Staff,
        Role::Head,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
            Role::Approver => "approver",
            Role::Inspector => "inspector",
            Role::Officer => "officer",
            Role::Staff => "staff",
            Role::Head => "head",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Operator => "平台运营员",
            Role::Admin => "管理员",
            Role::Reviewer => "审查员",
            Role::Approver => "审批人",
            Role::Inspector => "检查员",
            Role::Officer => "经办人",
            Role::Staff => "工作人员",
            Role::Head => "站长",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Role::Operator => "Operator",
            Role::Admin => "Administrator",
            Role::Reviewer => "Reviewer",
            Role::Approver => "Approver",
            Role::Inspector => "Inspector",
            Role::Officer => "Officer",
            Role::Staff => "Staff",
            Role::Head => "Station head",
        }
    }
}

/// The signed-in user's request context. Every query on tenant data runs in
/// `db::tenant_tx(pool, &ctx)`.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub org_id: Uuid,
    pub org_kind: OrgKind,
    pub org_name: String,
    pub roles: Vec<Role>,
    pub lang: Lang,
}

impl Ctx {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_operator(&self) -> bool {
        self.org_kind == OrgKind::Platform && self.has(Role::Operator)
    }

    /// May manage users of `org_id`: the operator for any, an org admin for
    /// their own organization.
    pub fn may_manage_users_of(&self, org_id: Uuid) -> bool {
        self.is_operator() || (self.has(Role::Admin) && self.org_id == org_id)
    }
}

/// Why a request without the right identity was refused; renders as JSON
/// under `/api/`, as a redirect to the sign-in page or an error page elsewhere.
#[derive(Debug)]
pub struct CtxRejection {
    api: bool,
    path: String,
    error: AppError,
}

impl IntoResponse for CtxRejection {
    fn into_response(self) -> Response {
        if self.api {
            return self.error.into_response();
        }
        match self.error {
            AppError::Unauthenticated => {
                let next = crate::web::safe_next(&self.path);
                Redirect::to(&format!("/login?next={}", crate::web::url_encode(&next)))
                    .into_response()
            }
            other => crate::web::PageError::new(other, Lang::Zh).into_response(),
        }
    }
}

impl<S> FromRequestParts<S> for Ctx
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = CtxRejection;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let reject = |parts: &Parts, error| CtxRejection {
            api: parts.uri.path().starts_with("/api/"),
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            error,
        };
        let app = AppState::from_ref(state);
        let lang = Lang::from_parts(parts);
        let mut auth = match AuthSession::from_request_parts(parts, state).await {
            Ok(a) => a,
            Err(_) => return Err(reject(parts, AppError::Unauthenticated)),
        };
        let Some(user) = auth.user.clone() else {
            return Err(reject(parts, AppError::Unauthenticated));
        };
        // Absolute lifetime, on top of tower-sessions' idle expiry.
        let login_at: Option<i64> = auth.session.get(backend::LOGIN_AT_KEY).await.ok().flatten();
        let limit = app.config.session_absolute_hours * 3600;
        let too_old = login_at.is_none_or(|t| chrono::Utc::now().timestamp() - t > limit);
        if too_old {
            let _ = auth.logout().await;
            return Err(reject(parts, AppError::Unauthenticated));
        }
        // Activity extends the idle expiry: touching the session makes
        // tower-sessions save it with a new expiry (at most once a minute).
        let now = chrono::Utc::now().timestamp();
        let seen: Option<i64> = auth.session.get(backend::SEEN_AT_KEY).await.ok().flatten();
        if seen.is_none_or(|t| now - t >= 60) {
            let _ = auth.session.insert(backend::SEEN_AT_KEY, now).await;
        }
        Ok(user.into_ctx(lang))
    }
}

/// A signed-in platform operator.
pub struct Operator(pub Ctx);

impl<S> FromRequestParts<S> for Operator
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = CtxRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        if ctx.is_operator() {
            Ok(Operator(ctx))
        } else {
            Err(CtxRejection {
                api: parts.uri.path().starts_with("/api/"),
                path: String::new(),
                error: AppError::forbidden(
                    "仅平台运营员可执行此操作",
                    "Only a platform operator may do this",
                ),
            })
        }
    }
}

/// A signed-in user who administers users: a platform operator or an
/// organization admin (for their own organization only; checked per record).
pub struct UserAdmin(pub Ctx);

impl<S> FromRequestParts<S> for UserAdmin
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = CtxRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        if ctx.is_operator() || ctx.has(Role::Admin) {
            Ok(UserAdmin(ctx))
        } else {
            Err(CtxRejection {
                api: parts.uri.path().starts_with("/api/"),
                path: String::new(),
                error: AppError::forbidden(
                    "仅本组织管理员或平台运营员可管理用户",
                    "Only an organization admin or the platform operator may manage users",
                ),
            })
        }
    }
}
