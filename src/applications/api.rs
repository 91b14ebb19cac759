//! JSON endpoints of the application workflow: a client can run it
//! without the browser.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::*;
use super::store::{self, Step};
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, Result};
use crate::state::AppState;
use crate::web::openapi::VersionInput;
use crate::web::{expected_version, parse_id, AppJson, AppQuery};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationQuery {
    /// A state, e.g. `submitted`.
    pub state: Option<String>,
    /// Where the page starts: `X-Next-Cursor` (or the `Link: rel="next"`
    /// target) of the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// The caller's applications: the department's drafts and filings, the
/// station's, or those addressed to the regulator (with the review clock),
/// most recently changed first, one keyset page at a time: a next page is
/// announced by `Link: <…>; rel="next"` and `X-Next-Cursor`. Each item's
/// `documents` and `proposed_cooperators` are empty here; GET the
/// application for them.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(ApplicationQuery),
    responses((status = 200, body = [Application],
        headers(("Link" = String, description = "The next page, RFC 8288 rel=\"next\""),
                ("X-Next-Cursor" = String, description = "The cursor of the next page"))),
        (status = 422, body = ErrorBody)))]
pub async fn applications_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<ApplicationQuery>,
) -> Result<axum::response::Response> {
    let state =
        match q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(ApplicationState::parse(s).ok_or_else(|| {
                AppError::field("state", "invalid", "状态取值无效", "Unknown state")
            })?),
        };
    let limit = crate::web::list_limit(q.limit)?;
    let after = crate::web::Cursor::parse(q.cursor.as_deref())?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (list, next) = store::list(&mut tx, &ctx, state, after.as_ref(), limit).await?;
    tx.commit().await?;
    Ok(crate::web::with_next(
        list,
        next,
        "/api/v1/applications",
        &[
            ("state", q.state.clone()),
            ("limit", q.limit.map(|l| l.to_string())),
        ],
    ))
}

/// Draft an application for one of the department's stations (R6.1).
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", request_body = ApplicationInput,
    responses((status = 201, body = Application), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn application_create(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<ApplicationInput>,
) -> Result<(StatusCode, AppJson<Application>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let a = store::create(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(a)))
}

/// One application with its Art 7 report (R7.1–R7.4), receiving regulator
/// (R6.2), clock (R6.4) and proposed cooperating stations (R8.1, R8.2).
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = Uuid, Path)),
    responses((status = 200, body = Application), (status = 404, body = ErrorBody)))]
pub async fn application_get(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Application>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let a = store::get(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    Ok(AppJson(a))
}

/// Edit a draft (or while a correction is requested); the check reruns.
#[utoipa::path(put, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = Uuid, Path)),
    request_body = ApplicationInput,
    responses((status = 200, body = Application), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn application_update(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    AppJson(mut input): AppJson<ApplicationInput>,
) -> Result<AppJson<Application>> {
    let id = parse_id(&id)?;
    input.version = Some(expected_version(input.version, &headers)?);
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let a = store::update(&mut tx, &ctx, id, &input).await?;
    tx.commit().await?;
    Ok(AppJson(a))
}

async fn run_step(
    app: &AppState,
    ctx: &Ctx,
    id: &str,
    step: Step,
    input: &StepInput,
) -> Result<AppJson<Application>> {
    let id = parse_id(id)?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let a = store::step(&mut tx, ctx, id, step, input).await?;
    tx.commit().await?;
    Ok(AppJson(a))
}

macro_rules! step_endpoint {
    ($name:ident, $path:literal, $step:expr, $input:ty, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "applications",
                    params(("id" = uuid::Uuid, Path)), request_body = $input,
                    responses((status = 200, body = Application), (status = 403, body = ErrorBody),
                      (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
        pub async fn $name(
            State(app): State<AppState>,
            ctx: Ctx,
            Path(id): Path<String>,
            AppJson(input): AppJson<$input>,
        ) -> Result<AppJson<Application>> {
            run_step(&app, &ctx, &id, $step, &input.into()).await
        }
    };
}

step_endpoint!(application_submit, "/api/v1/applications/{id}/submit", Step::Submit, ApplicationSubmitInput,
    "Department: submit the draft; unmet Art 7 conditions must be resolved or listed in `to_be_provided` (R7). Fixes the receiving regulator (R6.2).");
step_endpoint!(
    application_withdraw,
    "/api/v1/applications/{id}/withdraw",
    Step::Withdraw,
    VersionInput,
    "Department: withdraw a draft, a submitted application or one awaiting correction."
);
step_endpoint!(application_correction, "/api/v1/applications/{id}/correction", Step::Correction, ApplicationCorrectionInput,
    "Receiving regulator's reviewer: the one correction notice listing every missing or defective item (`items`); the clock pauses (R6.4).");
step_endpoint!(
    application_resubmit,
    "/api/v1/applications/{id}/resubmit",
    Step::Resubmit,
    VersionInput,
    "Department: resubmit after correction; the clock resumes (R6.4)."
);
step_endpoint!(
    application_accept,
    "/api/v1/applications/{id}/accept",
    Step::Accept,
    VersionInput,
    "Receiving regulator's reviewer: accept the application (R6.4)."
);
step_endpoint!(application_assessment, "/api/v1/applications/{id}/assessment", Step::Assessment, ApplicationAssessmentInput,
    "Reviewer: schedule the assessment (`date`, `team`, optional `cooperating_station_ids`; default as proposed, R8.1/R8.2).");
step_endpoint!(application_assessment_outcome, "/api/v1/applications/{id}/assessment-outcome", Step::Outcome, ApplicationOutcomeInput,
    "Reviewer: record the assessment outcome `pass`, `pass_after_correction` (findings, deadline) or `fail` (R8.3).");
step_endpoint!(application_propose, "/api/v1/applications/{id}/propose", Step::Propose, ApplicationProposeInput,
    "Reviewer: propose `grant` (only after a pass, or a pass after correction with `correction_evidence`) or `refuse` with `reasons`.");
step_endpoint!(application_return, "/api/v1/applications/{id}/return", Step::Return, ApplicationReturnInput,
    "Receiving regulator's approver: send the proposal back to the reviewer with `reasons`; the application returns to assessed.");
step_endpoint!(application_confirm, "/api/v1/applications/{id}/confirm", Step::Confirm, ApplicationConfirmInput,
    "Receiving regulator's approver (not the proposer): decide as proposed; a grant issues the certificate (R8.4) and notifies (R8.5).");

/// Attach a technical document (R6.3): multipart fields `doc_type` (e.g.
/// `application_form`, `business_licence`, `item_list`, `signer_list`,
/// `parent_consent`) and `file` (PDF, PNG, JPEG).
#[utoipa::path(post, path = "/api/v1/applications/{id}/documents", tag = "applications", params(("id" = Uuid, Path)),
    request_body(content_type = "multipart/form-data", description = "`doc_type` then `file`"),
    responses((status = 201, body = crate::standards::documents::DocumentInfo), (status = 422, body = ErrorBody)))]
pub async fn application_document(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    crate::web::AppMultipart(multipart): crate::web::AppMultipart,
) -> Result<(
    StatusCode,
    AppJson<crate::standards::documents::DocumentInfo>,
)> {
    let id = parse_id(&id)?;
    let info = upload_document(&app, &ctx, id, multipart).await?;
    Ok((StatusCode::CREATED, AppJson(info)))
}

/// Reads `doc_type` then `file`, sniffs the file and stores it for the
/// application (the applying department, while drafting or correcting).
pub async fn upload_document(
    app: &AppState,
    ctx: &Ctx,
    id: uuid::Uuid,
    mut multipart: Multipart,
) -> Result<crate::standards::documents::DocumentInfo> {
    let doc_type = match multipart.next_field().await {
        Ok(Some(f)) if f.name() == Some("doc_type") => f.text().await.unwrap_or_default(),
        _ => String::new(),
    };
    if !store::DOC_TYPES.iter().any(|(n, _)| *n == doc_type) {
        return Err(AppError::field(
            "doc_type",
            "invalid",
            "请选择材料类型（doc_type 须在 file 之前）",
            "Choose the document type (doc_type before file)",
        ));
    }
    let (filename, bytes) =
        crate::standards::documents::read_file(multipart, app.config.max_upload_bytes).await?;
    let content_type = crate::standards::documents::sniff(&filename, &bytes)?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let a = store::get(&mut tx, ctx, id).await?;
    if a.department_id != ctx.org_id
        || !matches!(
            a.state,
            ApplicationState::Draft | ApplicationState::CorrectionRequested
        )
    {
        return Err(AppError::forbidden(
            "只有申请的主管部门在草稿或补正阶段可以上传材料",
            "Only the applying department may upload, while drafting or correcting",
        ));
    }
    let info = crate::standards::documents::insert_document(
        &mut tx,
        ctx,
        a.station_id,
        "application",
        id,
        Some(&doc_type),
        &filename,
        content_type,
        &bytes,
    )
    .await?;
    tx.commit().await?;
    Ok(info)
}
