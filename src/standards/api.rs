//! JSON endpoints: standards, traceability, change requests, staff.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::model::*;
use super::store::{self, ChangeFilter, StandardFilter, Step};
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, FieldError, Result};
use crate::state::AppState;
use crate::web::{expected_version, parse_id, AppJson, AppQuery, Paging};

/// Query of the standards list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StandardQuery {
    pub station_id: Option<String>,
    /// `in_service`, `sealed`, `stopped`, `replaced`, `cancelled`.
    pub status: Option<String>,
    /// `primary`, `social_public`, `professional`.
    pub kind: Option<String>,
    /// Search in names and certificate numbers.
    pub q: Option<String>,
    /// `true`: only standards with a warning (R12.3, R16.4).
    pub warnings: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Validates a standards query.
pub fn parse_standard_query(q: &StandardQuery) -> Result<(StandardFilter, Paging)> {
    let mut errors = Vec::new();
    let nonempty = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let station_id = nonempty(&q.station_id).and_then(|s| {
        Uuid::parse_str(&s)
            .map_err(|_| {
                errors.push(FieldError::new(
                    "station_id",
                    "invalid",
                    "计量站取值无效",
                    "Unknown station",
                ))
            })
            .ok()
    });
    let status = nonempty(&q.status).and_then(|s| {
        let p = StandardStatus::parse(&s);
        if p.is_none() {
            errors.push(FieldError::new(
                "status",
                "invalid",
                "状态取值无效",
                "Unknown status",
            ));
        }
        p
    });
    let kind = nonempty(&q.kind).and_then(|s| {
        let p = StandardKind::parse(&s);
        if p.is_none() {
            errors.push(FieldError::new(
                "kind",
                "invalid",
                "类别取值无效",
                "Unknown kind",
            ));
        }
        p
    });
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok((
        StandardFilter {
            station_id,
            status,
            kind,
            q: nonempty(&q.q),
            warnings_only: matches!(q.warnings.as_deref(), Some("true" | "1" | "on")),
            scope: None,
        },
        Paging::new(q.page, q.per_page),
    ))
}

/// A page of standards.
#[derive(Serialize, ToSchema)]
pub struct StandardPage {
    pub items: Vec<Standard>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// A standard with its traceability records and change requests.
#[derive(Serialize, ToSchema)]
pub struct StandardDetail {
    pub standard: Standard,
    pub traceability: Vec<TraceabilityRecord>,
    pub change_requests: Vec<ChangeRequest>,
    pub documents: Vec<super::documents::DocumentInfo>,
}

/// Measurement standards of the stations the caller may see, with warnings.
#[utoipa::path(get, path = "/api/v1/standards", tag = "standards", params(StandardQuery),
    responses((status = 200, body = StandardPage), (status = 422, body = ErrorBody)))]
pub async fn standards_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<StandardQuery>,
) -> Result<AppJson<StandardPage>> {
    let (filter, paging) = parse_standard_query(&q)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (items, total) = store::standards_list(&mut tx, &ctx, &filter, paging).await?;
    tx.commit().await?;
    Ok(AppJson(StandardPage {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}

/// Register a standard of the caller's station (R9.1, R12.1).
#[utoipa::path(post, path = "/api/v1/standards", tag = "standards", request_body = StandardInput,
    responses((status = 201, body = Standard), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn standard_create(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<StandardInput>,
) -> Result<(StatusCode, AppJson<Standard>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let s = store::standard_create(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(s)))
}

/// One standard with its traceability, documents and change requests.
#[utoipa::path(get, path = "/api/v1/standards/{id}", tag = "standards",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = StandardDetail), (status = 404, body = ErrorBody)))]
pub async fn standard_get(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<StandardDetail>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let detail = standard_detail(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    Ok(AppJson(detail))
}

/// Loads a standard's detail (shared with the page).
pub async fn standard_detail(
    tx: &mut sqlx::PgConnection,
    ctx: &Ctx,
    id: Uuid,
) -> Result<StandardDetail> {
    let standard = store::standard_get(tx, ctx, id).await?;
    let traceability = store::traceability_list(tx, id).await?;
    let (change_requests, _, _) = store::changes_list(
        tx,
        ctx,
        &ChangeFilter {
            standard_id: Some(id),
            ..ChangeFilter::default()
        },
        Paging::new(Some(1), Some(100)),
    )
    .await?;
    let documents = super::documents::list(tx, "standard", id).await?;
    Ok(StandardDetail {
        standard,
        traceability,
        change_requests,
        documents,
    })
}

/// Update the name or certificate of a standard. Kind, range, accuracy,
/// equipment, specification, responsible person, location, environment and
/// status change only by change request (R12.4, R16.1, R16.2); a different
/// `station_id` is a transfer, refused and recorded (R16.3).
#[utoipa::path(put, path = "/api/v1/standards/{id}", tag = "standards",
    params(("id" = Uuid, Path)), request_body = StandardInput,
    responses((status = 200, body = Standard), (status = 403, body = ErrorBody),
      (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn standard_update(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    AppJson(input): AppJson<StandardInput>,
) -> Result<AppJson<Standard>> {
    let id = parse_id(&id)?;
    if input.station_id.is_some_and(|s| s != ctx.org_id) {
        return Err(refuse_transfer(&app, &ctx, id, "transfer").await);
    }
    let version = expected_version(input.version, &headers)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let s = store::standard_update(&mut tx, &ctx, id, version, &input).await?;
    tx.commit().await?;
    Ok(AppJson(s))
}

async fn refuse_transfer(app: &AppState, ctx: &Ctx, id: Uuid, what: &str) -> AppError {
    let result = async {
        let mut tx = tenant_tx(&app.db, ctx).await?;
        let refusal = store::refuse_transfer(&mut tx, ctx, id, what).await?;
        // The refusal is recorded even though nothing else happens.
        tx.commit().await?;
        Ok::<_, AppError>(refusal)
    }
    .await;
    match result {
        Ok(refusal) | Err(refusal) => refusal,
    }
}

/// Transfer a standard to another station: not offered (R16.3). Always
/// refused; the attempt is recorded in the audit log.
#[utoipa::path(post, path = "/api/v1/standards/{id}/transfer", tag = "standards",
    params(("id" = Uuid, Path)),
    responses((status = 403, description = "Refused (R16.3)", body = ErrorBody)))]
pub async fn standard_transfer(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = parse_id(&id)?;
    Err(refuse_transfer(&app, &ctx, id, "transfer").await)
}

/// Lend a standard: not offered (R16.3); refused and recorded.
#[utoipa::path(post, path = "/api/v1/standards/{id}/loan", tag = "standards",
    params(("id" = Uuid, Path)),
    responses((status = 403, description = "Refused (R16.3)", body = ErrorBody)))]
pub async fn standard_loan(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = parse_id(&id)?;
    Err(refuse_transfer(&app, &ctx, id, "loan").await)
}

/// Lease a standard: not offered (R16.3); refused and recorded.
#[utoipa::path(post, path = "/api/v1/standards/{id}/lease", tag = "standards",
    params(("id" = Uuid, Path)),
    responses((status = 403, description = "Refused (R16.3)", body = ErrorBody)))]
pub async fn standard_lease(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = parse_id(&id)?;
    Err(refuse_transfer(&app, &ctx, id, "lease").await)
}

/// Record a calibration of the standard (R16.4).
#[utoipa::path(post, path = "/api/v1/standards/{id}/traceability", tag = "standards",
    params(("id" = Uuid, Path)), request_body = TraceabilityInput,
    responses((status = 201, body = TraceabilityRecord), (status = 422, body = ErrorBody)))]
pub async fn traceability_create(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<TraceabilityInput>,
) -> Result<(StatusCode, AppJson<TraceabilityRecord>)> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let r = store::traceability_add(&mut tx, &ctx, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(r)))
}

/// Draft a change request for a standard (R12.4, R16.1, R16.2).
#[utoipa::path(post, path = "/api/v1/standards/{id}/change-requests", tag = "change requests",
    params(("id" = Uuid, Path)), request_body = ChangeRequestInput,
    responses((status = 201, body = ChangeRequest), (status = 422, body = ErrorBody)))]
pub async fn change_request_create(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<ChangeRequestInput>,
) -> Result<(StatusCode, AppJson<ChangeRequest>)> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let r = store::change_create(&mut tx, &ctx, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(r)))
}

/// Query of the change request queue.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeQuery {
    /// `draft`, `submitted`, `proposed`, `approved`, `refused`, `withdrawn`.
    pub state: Option<String>,
    pub kind: Option<String>,
    pub station_id: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Validates a queue query.
pub fn parse_change_query(q: &ChangeQuery) -> Result<(ChangeFilter, Paging)> {
    let mut errors = Vec::new();
    let nonempty = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let state = nonempty(&q.state).and_then(|s| {
        let p = ChangeState::parse(&s);
        if p.is_none() {
            errors.push(FieldError::new(
                "state",
                "invalid",
                "状态取值无效",
                "Unknown state",
            ));
        }
        p
    });
    let kind = nonempty(&q.kind).and_then(|s| {
        let p = ChangeKind::parse(&s);
        if p.is_none() {
            errors.push(FieldError::new(
                "kind",
                "invalid",
                "变更类别取值无效",
                "Unknown kind of change",
            ));
        }
        p
    });
    let station_id = nonempty(&q.station_id).and_then(|s| {
        Uuid::parse_str(&s)
            .map_err(|_| {
                errors.push(FieldError::new(
                    "station_id",
                    "invalid",
                    "计量站取值无效",
                    "Unknown station",
                ))
            })
            .ok()
    });
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok((
        ChangeFilter {
            state,
            kind,
            station_id,
            standard_id: None,
        },
        Paging::new(q.page, q.per_page),
    ))
}

/// A page of change requests with counts by state.
#[derive(Serialize, ToSchema)]
pub struct ChangePage {
    pub items: Vec<ChangeRequest>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    /// state → count, over the same filters except state.
    pub counts: std::collections::BTreeMap<String, i64>,
}

/// The caller's change request queue: the station's own requests; for the
/// issuing regulator, those submitted to it.
#[utoipa::path(get, path = "/api/v1/change-requests", tag = "change requests", params(ChangeQuery),
    responses((status = 200, body = ChangePage)))]
pub async fn change_requests_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<ChangeQuery>,
) -> Result<AppJson<ChangePage>> {
    let (filter, paging) = parse_change_query(&q)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (items, total, counts) = store::changes_list(&mut tx, &ctx, &filter, paging).await?;
    tx.commit().await?;
    Ok(AppJson(ChangePage {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
        counts: counts.into_iter().collect(),
    }))
}

/// One change request with its field-by-field changes.
#[utoipa::path(get, path = "/api/v1/change-requests/{id}", tag = "change requests",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ChangeRequest), (status = 404, body = ErrorBody)))]
pub async fn change_request_get(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<ChangeRequest>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let r = store::change_get(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    Ok(AppJson(r))
}

async fn step(
    app: &AppState,
    ctx: &Ctx,
    id: &str,
    step: Step,
    input: &ChangeStep,
) -> Result<AppJson<ChangeRequest>> {
    let id = parse_id(id)?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let r = store::change_step(&mut tx, ctx, id, step, input).await?;
    tx.commit().await?;
    Ok(AppJson(r))
}

/// Station: submit a draft to the issuing regulator.
#[utoipa::path(post, path = "/api/v1/change-requests/{id}/submit", tag = "change requests",
    params(("id" = Uuid, Path)), request_body = ChangeStep,
    responses((status = 200, body = ChangeRequest), (status = 409, body = ErrorBody)))]
pub async fn change_request_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<ChangeStep>,
) -> Result<AppJson<ChangeRequest>> {
    step(&app, &ctx, &id, Step::Submit, &input).await
}

/// Station: withdraw a draft or submitted request.
#[utoipa::path(post, path = "/api/v1/change-requests/{id}/withdraw", tag = "change requests",
    params(("id" = Uuid, Path)), request_body = ChangeStep,
    responses((status = 200, body = ChangeRequest), (status = 409, body = ErrorBody)))]
pub async fn change_request_withdraw(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<ChangeStep>,
) -> Result<AppJson<ChangeRequest>> {
    step(&app, &ctx, &id, Step::Withdraw, &input).await
}

/// Issuing regulator's reviewer: propose `approve` or `refuse` (with reasons).
#[utoipa::path(post, path = "/api/v1/change-requests/{id}/propose", tag = "change requests",
    params(("id" = Uuid, Path)), request_body = ChangeStep,
    responses((status = 200, body = ChangeRequest), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn change_request_propose(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<ChangeStep>,
) -> Result<AppJson<ChangeRequest>> {
    step(&app, &ctx, &id, Step::Propose, &input).await
}

/// Issuing regulator's approver (not the proposer): confirm the proposal.
/// An approval changes the standard in the same transaction.
#[utoipa::path(post, path = "/api/v1/change-requests/{id}/confirm", tag = "change requests",
    params(("id" = Uuid, Path)), request_body = ChangeStep,
    responses((status = 200, body = ChangeRequest), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn change_request_confirm(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<ChangeStep>,
) -> Result<AppJson<ChangeRequest>> {
    step(&app, &ctx, &id, Step::Confirm, &input).await
}

/// Issuing regulator's approver: send the proposal back to the reviewer.
#[utoipa::path(post, path = "/api/v1/change-requests/{id}/send-back", tag = "change requests",
    params(("id" = Uuid, Path)), request_body = ChangeStep,
    responses((status = 200, body = ChangeRequest), (status = 409, body = ErrorBody)))]
pub async fn change_request_send_back(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<ChangeStep>,
) -> Result<AppJson<ChangeRequest>> {
    step(&app, &ctx, &id, Step::SendBack, &input).await
}

/// Query of the staff list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaffQuery {
    pub station_id: Option<Uuid>,
    /// Where the page starts: `X-Next-Cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// Staff and their qualifications (R16.6), of the stations the caller may
/// see, in pinyin order of names, one keyset page at a time (a next page is
/// announced by `Link: <…>; rel="next"` and `X-Next-Cursor`).
#[utoipa::path(get, path = "/api/v1/staff", tag = "qualifications", params(StaffQuery),
    responses((status = 200, body = [StaffMember],
        headers(("Link" = String, description = "The next page, RFC 8288 rel=\"next\""),
                ("X-Next-Cursor" = String, description = "The cursor of the next page"))),
        (status = 422, body = ErrorBody)))]
pub async fn staff_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<StaffQuery>,
) -> Result<axum::response::Response> {
    let limit = crate::web::list_limit(q.limit)?;
    let after = crate::web::Cursor::parse(q.cursor.as_deref())?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (list, next) =
        store::staff_list(&mut tx, &ctx, q.station_id, after.as_ref(), limit).await?;
    tx.commit().await?;
    Ok(crate::web::with_next(
        list,
        next,
        "/api/v1/staff",
        &[
            ("station_id", q.station_id.map(|s| s.to_string())),
            ("limit", q.limit.map(|l| l.to_string())),
        ],
    ))
}

/// Add a person to the caller's station.
#[utoipa::path(post, path = "/api/v1/staff", tag = "qualifications", request_body = StaffInput,
    responses((status = 201, body = StaffMember), (status = 422, body = ErrorBody)))]
pub async fn staff_create(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<StaffInput>,
) -> Result<(StatusCode, AppJson<StaffMember>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let m = store::staff_create(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(m)))
}

/// Add a qualification (registered metrologist, verifier certificate) to a person.
#[utoipa::path(post, path = "/api/v1/staff/{id}/qualifications", tag = "qualifications",
    params(("id" = Uuid, Path)), request_body = QualificationInput,
    responses((status = 201, body = Qualification), (status = 422, body = ErrorBody)))]
pub async fn qualification_create(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<QualificationInput>,
) -> Result<(StatusCode, AppJson<Qualification>)> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let q = store::qualification_add(&mut tx, &ctx, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(q)))
}
