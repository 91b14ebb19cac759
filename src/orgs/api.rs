//! JSON endpoints: organizations (platform operator), users (operator, or
//! an organization's admin for their own users), divisions (reference).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::model::*;
use super::store::{self, OrgFilter};
use crate::auth::{Ctx, Operator, OrgKind, UserAdmin};
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, Result};
use crate::state::AppState;
use crate::web::{expected_version, parse_id, AppJson, AppQuery, Paging};

/// Query of the organization list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgQuery {
    /// `platform`, `regulator`, `department` or `station`.
    pub kind: Option<String>,
    /// Search in names and station codes.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A page of organizations.
#[derive(Serialize, ToSchema)]
pub struct OrganizationPage {
    pub items: Vec<Organization>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Parses the kind filter; an unknown kind is a field error.
pub fn parse_kind(raw: Option<&str>) -> Result<Option<OrgKind>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(k) => OrgKind::parse(k).map(Some).ok_or_else(|| {
            AppError::field(
                "kind",
                "invalid",
                "组织类型取值无效",
                "Unknown organization kind",
            )
        }),
    }
}

/// All organizations (platform operator only).
#[utoipa::path(get, path = "/api/v1/organizations", tag = "organizations",
    params(OrgQuery),
    responses(
        (status = 200, description = "One page of organizations", body = OrganizationPage),
        (status = 403, description = "Not the platform operator", body = ErrorBody),
    ))]
pub async fn organizations_list(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    AppQuery(q): AppQuery<OrgQuery>,
) -> Result<AppJson<OrganizationPage>> {
    let filter = OrgFilter {
        kind: parse_kind(q.kind.as_deref())?,
        q: q.q,
    };
    let paging = Paging::new(q.page, q.per_page);
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (items, total) = store::org_list(&mut tx, &filter, paging).await?;
    tx.commit().await?;
    Ok(AppJson(OrganizationPage {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}

/// Create an organization: a regulator (level, jurisdiction), a competent
/// department, a station (tier, head station, department, regulator,
/// location, legal identity) or a platform organization.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "organizations",
    request_body = OrganizationInput,
    responses(
        (status = 201, description = "Created", body = Organization),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 403, description = "Not the platform operator, or a cross-origin request", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn organization_create(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    AppJson(input): AppJson<OrganizationInput>,
) -> Result<(StatusCode, AppJson<Organization>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let org = store::org_create(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(org)))
}

/// One organization (platform operator only).
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "organizations",
    params(("id" = Uuid, Path, description = "Organization id")),
    responses(
        (status = 200, description = "The organization", body = Organization),
        (status = 404, description = "No such organization", body = ErrorBody),
    ))]
pub async fn organization_get(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    Path(id): Path<String>,
) -> Result<AppJson<Organization>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let org = store::org_get(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AppJson(org))
}

/// Update an organization; send the version read (`version` or `If-Match`).
#[utoipa::path(put, path = "/api/v1/organizations/{id}", tag = "organizations",
    params(("id" = Uuid, Path, description = "Organization id")),
    request_body = OrganizationInput,
    responses(
        (status = 200, description = "Updated", body = Organization),
        (status = 409, description = "Changed by someone else since read", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn organization_update(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    AppJson(input): AppJson<OrganizationInput>,
) -> Result<AppJson<Organization>> {
    let id = parse_id(&id)?;
    let version = expected_version(input.version, &headers)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let org = store::org_update(&mut tx, &ctx, id, version, &input, store::Omitted::Keep).await?;
    tx.commit().await?;
    Ok(AppJson(org))
}

/// Query of the user list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Only users of this organization (the operator may pick any; an
    /// organization admin always gets their own).
    pub organization_id: Option<Uuid>,
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A page of users.
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<User>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Users the caller administers.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    params(UserQuery),
    responses(
        (status = 200, description = "One page of users", body = UserPage),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    ))]
pub async fn users_list(
    State(app): State<AppState>,
    UserAdmin(ctx): UserAdmin,
    AppQuery(q): AppQuery<UserQuery>,
) -> Result<AppJson<UserPage>> {
    let org = if ctx.is_operator() {
        q.organization_id
    } else {
        Some(ctx.org_id)
    };
    let paging = Paging::new(q.page, q.per_page);
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (items, total) = store::user_list(&mut tx, org, q.q.as_deref(), paging).await?;
    tx.commit().await?;
    Ok(AppJson(UserPage {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}

/// Create a user with roles allowed for the organization's kind.
#[utoipa::path(post, path = "/api/v1/users", tag = "users",
    request_body = UserInput,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn user_create(
    State(app): State<AppState>,
    UserAdmin(ctx): UserAdmin,
    AppJson(input): AppJson<UserInput>,
) -> Result<(StatusCode, AppJson<User>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let user = store::user_create(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(user)))
}

/// One user the caller administers.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 404, description = "No such user, or not yours to manage", body = ErrorBody),
    ))]
pub async fn user_get(
    State(app): State<AppState>,
    UserAdmin(ctx): UserAdmin,
    Path(id): Path<String>,
) -> Result<AppJson<User>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let user = store::user_get(&mut tx, id).await?;
    tx.commit().await?;
    if !ctx.may_manage_users_of(user.organization_id) {
        return Err(AppError::NotFound);
    }
    Ok(AppJson(user))
}

/// Update a user; a new password, deactivation or new roles end their sessions.
#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = UserInput,
    responses(
        (status = 200, description = "Updated", body = User),
        (status = 409, description = "Changed by someone else since read", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn user_update(
    State(app): State<AppState>,
    UserAdmin(ctx): UserAdmin,
    Path(id): Path<String>,
    headers: HeaderMap,
    AppJson(input): AppJson<UserInput>,
) -> Result<AppJson<User>> {
    let id = parse_id(&id)?;
    let version = expected_version(input.version, &headers)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let user = store::user_update(&mut tx, &ctx, id, version, &input).await?;
    tx.commit().await?;
    Ok(AppJson(user))
}

/// A GB/T 2260 division.
#[derive(Serialize, ToSchema, sqlx::FromRow)]
pub struct Division {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
}

/// Query of the division list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DivisionQuery {
    /// Children of this code; provinces when absent.
    pub parent: Option<String>,
}

/// Administrative divisions (GB/T 2260), for province → city → county pickers.
#[utoipa::path(get, path = "/api/v1/divisions", tag = "reference",
    params(DivisionQuery),
    responses((status = 200, description = "Divisions", body = [Division])))]
pub async fn divisions_list(
    State(app): State<AppState>,
    _ctx: Ctx,
    AppQuery(q): AppQuery<DivisionQuery>,
) -> Result<AppJson<Vec<Division>>> {
    let parent = q.parent.filter(|p| !p.trim().is_empty());
    let rows: Vec<Division> = sqlx::query_as(
        "select code, name, level, parent_code from division
          where ($1::text is null and parent_code is null) or parent_code = $1 order by code",
    )
    .bind(parent)
    .fetch_all(&app.db)
    .await?;
    Ok(AppJson(rows))
}
