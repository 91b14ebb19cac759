//! Comparisons over JSON (R9.2).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::*;
use super::store;
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, Result};
use crate::state::AppState;
use crate::web::{list_limit, parse_id, with_next, AppJson, AppQuery, Cursor};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComparisonQuery {
    /// open, closed, draft_a, final, cancelled.
    pub state: Option<String>,
    /// Where the page starts: `X-Next-Cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

impl ComparisonQuery {
    pub fn state(&self) -> Result<Option<&str>> {
        match self
            .state
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Ok(None),
            Some(s) if STATES.contains(&s) => Ok(Some(s)),
            Some(_) => Err(AppError::field(
                "state",
                "invalid",
                "阶段应为 open、closed、draft_a、final 或 cancelled",
                "state is one of open, closed, draft_a, final, cancelled",
            )),
        }
    }
}

/// The comparisons the caller organizes, takes part in, or (final reports)
/// authorized a participant of; newest first, one keyset page at a time.
#[utoipa::path(get, path = "/api/v1/comparisons", tag = "comparisons", params(ComparisonQuery),
    responses((status = 200, body = [ComparisonRow],
        headers(("Link" = String, description = "The next page, RFC 8288 rel=\"next\""),
                ("X-Next-Cursor" = String, description = "The cursor of the next page"))),
        (status = 422, body = ErrorBody)))]
pub async fn comparisons_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<ComparisonQuery>,
) -> Result<Response> {
    let state = q.state()?;
    let cursor = Cursor::parse(q.cursor.as_deref())?;
    let limit = list_limit(q.limit)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let rows = store::list(&mut tx, state, cursor.map(|c| c.id), limit + 1).await?;
    tx.commit().await?;
    let (rows, next) = crate::web::keyset_page(rows, limit, |r| Cursor::new("", r.id));
    Ok(with_next(
        rows,
        next,
        "/api/v1/comparisons",
        &[
            ("state", q.state.clone()),
            ("limit", q.limit.map(|l| l.to_string())),
        ],
    ))
}

/// Open a comparison: item and measurand, the pilot laboratory, the
/// transfer standard, the circulation, the deadline and the participants
/// (each holding a matching authorized item; see `/api/v1/comparison-candidates`).
#[utoipa::path(post, path = "/api/v1/comparisons", tag = "comparisons", request_body = ComparisonInput,
    responses((status = 201, body = Comparison), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn comparison_create(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<ComparisonInput>,
) -> Result<(StatusCode, AppJson<Comparison>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let id = store::create(&mut tx, &ctx, &input).await?;
    let c = store::get(&mut tx, id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(c)))
}

/// One comparison: participants, and the values the caller may see (R9.2:
/// sealed until the organizer closes submission).
#[utoipa::path(get, path = "/api/v1/comparisons/{id}", tag = "comparisons", params(("id" = Uuid, Path)),
    responses((status = 200, body = Comparison), (status = 404, body = ErrorBody)))]
pub async fn comparison_get(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Comparison>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let c = store::get(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AppJson(c))
}

/// A step on a comparison (R9.2). `submit` (participant: `value`,
/// `uncertainty`, `coverage_factor`, `notes`), `change` (the same with a
/// `reason`, after submitting), `decide` (organizer: `station_id`,
/// `accept`, `reason`, the participant's `version`), `close` (organizer:
/// ends submission and unseals the values to it), `reference` (organizer:
/// `method` assigned with `reference_value` and `reference_uncertainty`,
/// or participants with `reference_stations`; computes En and issues
/// Draft A), `final` (organizer: publishes the final report), `cancel`,
/// `corrective` (an unsatisfactory participant: `corrective_action`),
/// `follow_up` (its authorizing regulator: `station_id`, `follow_up`
/// inspection with `planned_on`, or noted).
#[utoipa::path(post, path = "/api/v1/comparisons/{id}/{step}", tag = "comparisons",
    params(("id" = Uuid, Path), ("step" = String, Path, description = "submit, change, decide, close, reference, final, cancel, corrective, follow_up")),
    request_body = StepInput,
    responses((status = 200, body = Comparison), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn comparison_step(
    State(app): State<AppState>,
    ctx: Ctx,
    Path((id, step)): Path<(String, String)>,
    AppJson(input): AppJson<StepInput>,
) -> Result<AppJson<Comparison>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    store::step(&mut tx, &ctx, id, &step, &input).await?;
    let c = store::get(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AppJson(c))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidateQuery {
    /// Part of the authorized item's name (required).
    pub item: Option<String>,
    /// The stations' field, exactly (optional).
    pub field: Option<String>,
    /// At most this many (1 to 500, default 100).
    pub limit: Option<i64>,
}

/// Stations proposed as participants: they hold an active authorized item
/// whose name contains `item` (the public directory, R8.5), by code.
#[utoipa::path(get, path = "/api/v1/comparison-candidates", tag = "comparisons", params(CandidateQuery),
    responses((status = 200, body = [Candidate]), (status = 422, body = ErrorBody)))]
pub async fn candidates(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<CandidateQuery>,
) -> Result<AppJson<Vec<Candidate>>> {
    let item = q.item.as_deref().unwrap_or("").trim();
    if item.is_empty() || item.chars().count() > 200 {
        return Err(AppError::field(
            "item",
            "required",
            "请填写授权项目名称（1–200 字）",
            "Give part of the authorized item's name (1–200 characters)",
        ));
    }
    let field = q.field.as_deref().unwrap_or("");
    if field.chars().count() > 100 {
        return Err(AppError::field(
            "field",
            "length",
            "不得超过 100 字",
            "At most 100 characters",
        ));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::field(
            "limit",
            "range",
            "limit 应在 1–500 之间",
            "limit is from 1 to 500",
        ));
    }
    // Authorized stations and their items are public (R8.5): read as the
    // owner, outside the caller's row policies.
    let _ = ctx;
    let mut conn = app.db.acquire().await?;
    Ok(AppJson(
        store::candidates(&mut conn, item, field, limit).await?,
    ))
}

/// Attach the plan 比对方案 (organizer) or a result's report (a
/// participant, after submitting, while open): PDF, PNG or JPEG.
#[utoipa::path(post, path = "/api/v1/comparisons/{id}/documents", tag = "comparisons", params(("id" = Uuid, Path)),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = crate::standards::documents::DocumentInfo), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn comparison_document(
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

/// The report's chart: values and error bars against the reference (SVG),
/// from Draft A on.
#[utoipa::path(get, path = "/api/v1/comparisons/{id}/chart.svg", tag = "comparisons", params(("id" = Uuid, Path)),
    responses((status = 200, description = "image/svg+xml"), (status = 404, body = ErrorBody)))]
pub async fn comparison_chart(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let c = store::get(&mut tx, id).await?;
    tx.commit().await?;
    let svg = chart_of(&c, ctx.lang.is_en()).ok_or(AppError::NotFound)?;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
        svg,
    )
        .into_response())
}

/// The chart of a comparison whose reference the caller sees.
pub fn chart_of(c: &Comparison, en: bool) -> Option<String> {
    let (x, u) = (c.reference_value?, c.reference_uncertainty?);
    let points: Vec<super::chart::Point<'_>> = c
        .participants
        .iter()
        .filter_map(|p| {
            p.result.as_ref().map(|r| super::chart::Point {
                label: &p.lab_code,
                value: r.value,
                uncertainty: r.uncertainty,
                satisfactory: p.satisfactory,
            })
        })
        .collect();
    let title = format!(
        "{} · {}",
        c.title,
        if en {
            "values and expanded uncertainties against the reference value"
        } else {
            "各参比实验室测量结果及扩展不确定度与参考值"
        }
    );
    Some(super::chart::svg(&title, &c.unit, x, u, &points))
}
