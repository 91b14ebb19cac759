//! The axum-login backend: users and their organizations, loaded with the
//! owner pool (sign-in happens before there is a tenant to scope by).

use axum_login::{AuthUser, AuthnBackend, UserId};
use sqlx::PgPool;
use uuid::Uuid;

use super::{password, Ctx, OrgKind, Role};
use crate::error::AppError;
use crate::i18n::Lang;

/// Session key holding the sign-in time (seconds since the epoch), for the
/// absolute session lifetime.
pub const LOGIN_AT_KEY: &str = "login_at";

/// Session key holding the last time activity extended the idle expiry.
pub const SEEN_AT_KEY: &str = "seen_at";

/// The auth session extractor for this backend.
pub type AuthSession = axum_login::AuthSession<Backend>;

/// The user kept in the session: everything a [`Ctx`] needs.
#[derive(Clone)]
pub struct SessionUser {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub org_id: Uuid,
    pub org_kind: OrgKind,
    pub org_name: String,
    pub roles: Vec<Role>,
    stamp: Vec<u8>,
}

impl std::fmt::Debug for SessionUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionUser")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

impl SessionUser {
    pub fn into_ctx(self, lang: Lang) -> Ctx {
        Ctx {
            user_id: self.user_id,
            username: self.username,
            display_name: self.display_name,
            org_id: self.org_id,
            org_kind: self.org_kind,
            org_name: self.org_name,
            roles: self.roles,
            lang,
        }
    }
}

impl AuthUser for SessionUser {
    type Id = Uuid;

    fn id(&self) -> Uuid {
        self.user_id
    }

    /// The security stamp: bumping it ends every session of the user.
    fn session_auth_hash(&self) -> &[u8] {
        &self.stamp
    }
}

/// Username and password as typed.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Users in PostgreSQL.
#[derive(Clone)]
pub struct Backend {
    pool: PgPool,
}

impl Backend {
    pub fn new(pool: PgPool) -> Self {
        Backend { pool }
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    user_id: Uuid,
    username: String,
    display_name: String,
    organization_id: Uuid,
    kind: String,
    name: String,
    roles: Vec<String>,
    security_stamp: Uuid,
    password_hash: String,
}

impl UserRow {
    fn into_user(self) -> SessionUser {
        SessionUser {
            user_id: self.user_id,
            username: self.username,
            display_name: self.display_name,
            org_id: self.organization_id,
            org_kind: OrgKind::parse(&self.kind).unwrap_or(OrgKind::Station),
            org_name: self.name,
            roles: self.roles.iter().filter_map(|r| Role::parse(r)).collect(),
            stamp: self.security_stamp.as_bytes().to_vec(),
        }
    }
}

const USER_SELECT: &str = "select u.user_id, u.username, u.display_name, u.organization_id,
        o.kind, o.name, u.roles, u.security_stamp, u.password_hash
   from app_user u join organization o using (organization_id)
  where u.active and o.active";

impl AuthnBackend for Backend {
    type User = SessionUser;
    type Credentials = Credentials;
    type Error = AppError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<SessionUser>, AppError> {
        let row: Option<UserRow> = sqlx::query_as(&format!("{USER_SELECT} and u.username = $1"))
            .bind(creds.username.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        let stored = row.as_ref().map(|r| r.password_hash.clone());
        // Verified even for an unknown user, against a dummy hash: same time.
        let ok = password::verify(stored, creds.password).await?;
        Ok(if ok {
            row.map(UserRow::into_user)
        } else {
            None
        })
    }

    async fn get_user(&self, user_id: &UserId<Self>) -> Result<Option<SessionUser>, AppError> {
        let row: Option<UserRow> = sqlx::query_as(&format!("{USER_SELECT} and u.user_id = $1"))
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(UserRow::into_user))
    }
}
