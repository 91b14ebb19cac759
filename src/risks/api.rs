//! Risk reports, warnings and acknowledgements over JSON (R10.1).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::store::{self, *};
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, Result};
use crate::state::AppState;
use crate::web::{list_limit, parse_id, with_next, AppJson, AppQuery, Cursor};

fn one_of(
    field: &str,
    v: &Option<String>,
    allowed: &[&'static str],
) -> Result<Option<&'static str>> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => allowed
            .iter()
            .find(|a| **a == s)
            .copied()
            .map(Some)
            .ok_or_else(|| {
                AppError::field(
                    field,
                    "invalid",
                    format!("{field} 应为 {}", allowed.join("、")),
                    format!("{field} is one of {}", allowed.join(", ")),
                )
            }),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// received, assessing, dismissed, confirmed.
    pub state: Option<String>,
    /// low, medium, high, critical.
    pub severity: Option<String>,
    /// Where the page starts: `X-Next-Cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

impl ReportQuery {
    pub fn filters(&self) -> Result<(Option<&'static str>, Option<&'static str>)> {
        Ok((
            one_of("state", &self.state, &REPORT_STATES)?,
            one_of("severity", &self.severity, &SEVERITIES)?,
        ))
    }
}

/// Risk reports: a station's own, a regulator's to triage; newest first.
#[utoipa::path(get, path = "/api/v1/risk-reports", tag = "risks", params(ReportQuery),
    responses((status = 200, body = [RiskReport],
        headers(("Link" = String, description = "The next page, RFC 8288 rel=\"next\""),
                ("X-Next-Cursor" = String, description = "The cursor of the next page"))),
        (status = 422, body = ErrorBody)))]
pub async fn reports_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<ReportQuery>,
) -> Result<Response> {
    let (state, severity) = q.filters()?;
    let cursor = Cursor::parse(q.cursor.as_deref())?;
    let limit = list_limit(q.limit)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let rows = store::reports(&mut tx, state, severity, cursor.map(|c| c.id), limit + 1).await?;
    tx.commit().await?;
    let (rows, next) = crate::web::keyset_page(rows, limit, |r| Cursor::new("", r.id));
    Ok(with_next(
        rows,
        next,
        "/api/v1/risk-reports",
        &[
            ("state", q.state.clone()),
            ("severity", q.severity.clone()),
            ("limit", q.limit.map(|l| l.to_string())),
        ],
    ))
}

/// A station files a risk report to its authorizing regulator (R10.1).
#[utoipa::path(post, path = "/api/v1/risk-reports", tag = "risks", request_body = RiskReportInput,
    responses((status = 201, body = RiskReport), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn report_create(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<RiskReportInput>,
) -> Result<(StatusCode, AppJson<RiskReport>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let id = store::report_create(&mut tx, &ctx, &input).await?;
    let r = store::report_get(&mut tx, id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(r)))
}

/// One risk report (its station and its regulator only).
#[utoipa::path(get, path = "/api/v1/risk-reports/{id}", tag = "risks", params(("id" = Uuid, Path)),
    responses((status = 200, body = RiskReport), (status = 404, body = ErrorBody)))]
pub async fn report_get(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<RiskReport>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let r = store::report_get(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AppJson(r))
}

/// Triage by the authorizing regulator: `assess` (received → under
/// assessment), `dismiss` (with `reason`), `confirm`. Takes the `version` read.
#[utoipa::path(post, path = "/api/v1/risk-reports/{id}/{step}", tag = "risks",
    params(("id" = Uuid, Path), ("step" = String, Path, description = "assess, dismiss, confirm")),
    request_body = TriageInput,
    responses((status = 200, body = RiskReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn report_step(
    State(app): State<AppState>,
    ctx: Ctx,
    Path((id, step)): Path<(String, String)>,
    AppJson(input): AppJson<TriageInput>,
) -> Result<AppJson<RiskReport>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    store::report_step(&mut tx, &ctx, id, &step, &input).await?;
    let r = store::report_get(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AppJson(r))
}

/// Attach evidence (PDF, PNG, JPEG) to a risk report: its station, while triaged.
#[utoipa::path(post, path = "/api/v1/risk-reports/{id}/documents", tag = "risks", params(("id" = Uuid, Path)),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = crate::standards::documents::DocumentInfo), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn report_document(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    crate::web::AppMultipart(multipart): crate::web::AppMultipart,
) -> Result<(
    StatusCode,
    AppJson<crate::standards::documents::DocumentInfo>,
)> {
    let id = parse_id(&id)?;
    let (filename, bytes) =
        crate::standards::documents::read_file(multipart, app.config.max_upload_bytes).await?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let d = store::upload(&mut tx, &ctx, id, &filename, &bytes).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(d)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WarningQuery {
    /// true: only those the caller's organization has not acknowledged.
    pub pending: Option<bool>,
    /// Where the page starts: `X-Next-Cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// Warnings the caller issued or received, newest first.
#[utoipa::path(get, path = "/api/v1/warnings", tag = "risks", params(WarningQuery),
    responses((status = 200, body = [Warning],
        headers(("Link" = String, description = "The next page, RFC 8288 rel=\"next\""),
                ("X-Next-Cursor" = String, description = "The cursor of the next page"))),
        (status = 422, body = ErrorBody)))]
pub async fn warnings_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<WarningQuery>,
) -> Result<Response> {
    let cursor = Cursor::parse(q.cursor.as_deref())?;
    let limit = list_limit(q.limit)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let rows = store::warnings(
        &mut tx,
        &ctx,
        q.pending.unwrap_or(false),
        cursor.map(|c| c.id),
        limit + 1,
    )
    .await?;
    tx.commit().await?;
    let (rows, next) = crate::web::keyset_page(rows, limit, |r| Cursor::new("", r.id));
    Ok(with_next(
        rows,
        next,
        "/api/v1/warnings",
        &[
            ("pending", q.pending.map(|p| p.to_string())),
            ("limit", q.limit.map(|l| l.to_string())),
        ],
    ))
}

/// Publish a warning 预警 (a regulator's reviewer or approver, R10.1):
/// text, severity, validity, and the audience: stations and/or their
/// competent departments among the stations it supervises, by field and region.
#[utoipa::path(post, path = "/api/v1/warnings", tag = "risks", request_body = WarningInput,
    responses((status = 201, body = Warning), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn warning_publish(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<WarningInput>,
) -> Result<(StatusCode, AppJson<Warning>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let id = store::warning_publish(&mut tx, &ctx, &input).await?;
    let w = store::warning_get(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(w)))
}

/// One warning (its issuer and its recipients).
#[utoipa::path(get, path = "/api/v1/warnings/{id}", tag = "risks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Warning), (status = 404, body = ErrorBody)))]
pub async fn warning_get(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Warning>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let w = store::warning_get(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    Ok(AppJson(w))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecipientQuery {
    /// true: acknowledged only; false: not yet.
    pub acknowledged: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Who received a warning and who acknowledged (its issuer only).
#[utoipa::path(get, path = "/api/v1/warnings/{id}/recipients", tag = "risks", params(("id" = Uuid, Path), RecipientQuery),
    responses((status = 200, body = [Recipient]), (status = 404, body = ErrorBody)))]
pub async fn warning_recipients(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<RecipientQuery>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    let cursor = Cursor::parse(q.cursor.as_deref())?;
    let limit = list_limit(q.limit)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let w = store::warning_get(&mut tx, &ctx, id).await?;
    if w.regulator_id != ctx.org_id {
        return Err(AppError::NotFound);
    }
    let rows =
        store::recipients(&mut tx, id, q.acknowledged, cursor.map(|c| c.id), limit + 1).await?;
    tx.commit().await?;
    let (rows, next) = crate::web::keyset_page(rows, limit, |r| Cursor::new("", r.org_id));
    Ok(with_next(
        rows,
        next,
        &format!("/api/v1/warnings/{id}/recipients"),
        &[
            ("acknowledged", q.acknowledged.map(|a| a.to_string())),
            ("limit", q.limit.map(|l| l.to_string())),
        ],
    ))
}

/// A recipient acknowledges the warning (once; a second time is 409).
#[utoipa::path(post, path = "/api/v1/warnings/{id}/acknowledge", tag = "risks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Warning), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn warning_acknowledge(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Warning>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    store::acknowledge(&mut tx, &ctx, id).await?;
    let w = store::warning_get(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    Ok(AppJson(w))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AudienceQuery {
    pub stations: Option<bool>,
    pub departments: Option<bool>,
    pub field: Option<String>,
    pub region: Option<String>,
}

/// How many organizations an audience reaches.
#[derive(Debug, Serialize, ToSchema)]
pub struct AudienceCount {
    pub stations: i64,
    pub departments: i64,
}

/// Preview a warning's audience before publishing (a regulator).
#[utoipa::path(get, path = "/api/v1/warning-audience", tag = "risks", params(AudienceQuery),
    responses((status = 200, body = AudienceCount), (status = 422, body = ErrorBody)))]
pub async fn warning_audience(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<AudienceQuery>,
) -> Result<AppJson<AudienceCount>> {
    if q.field.as_deref().is_some_and(|f| f.chars().count() > 100) {
        return Err(AppError::field(
            "field",
            "length",
            "不得超过 100 字",
            "At most 100 characters",
        ));
    }
    if q.region.as_deref().is_some_and(|f| f.chars().count() > 12) {
        return Err(AppError::field(
            "region",
            "unknown",
            "行政区划代码为 6 位数字",
            "A division code is 6 digits",
        ));
    }
    let a = Audience {
        stations: q.stations.unwrap_or(false),
        departments: q.departments.unwrap_or(false),
        field: q.field,
        region: q.region,
    };
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (stations, departments) = store::audience_count(&mut tx, &ctx, &a).await?;
    tx.commit().await?;
    Ok(AppJson(AudienceCount {
        stations,
        departments,
    }))
}
