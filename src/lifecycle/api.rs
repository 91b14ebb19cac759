//! JSON endpoints of the lifecycle requests: one documented path per kind
//! to file and one per step, so a client can run every request without the
//! browser.

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::*;
use super::store::{self, DueReexamination, Filter, Head};
use super::versions::{self, Diff, Version};
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, Result};
use crate::state::AppState;
use crate::web::openapi::VersionInput;
use crate::web::{expected_version, parse_id, AppJson, AppQuery};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// `head`, `adjustment`, `reexamination` or `termination`.
    pub kind: Option<String>,
    /// A state, e.g. `submitted`.
    pub state: Option<String>,
    pub station_id: Option<String>,
    /// `true`: only what waits for the caller's organization.
    pub mine: Option<bool>,
    /// `true`: only overdue requests.
    pub overdue: Option<bool>,
    /// Where the page starts: `X-Next-Cursor` (or the `Link: rel="next"`
    /// target) of the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

impl RequestQuery {
    /// The filters a next page keeps.
    pub fn kept(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("kind", self.kind.clone()),
            ("state", self.state.clone()),
            ("station_id", self.station_id.clone()),
            ("mine", self.mine.filter(|m| *m).map(|_| "true".into())),
            (
                "overdue",
                self.overdue.filter(|o| *o).map(|_| "true".into()),
            ),
        ]
    }
}

impl RequestQuery {
    pub fn filter(&self) -> Result<Filter> {
        let blank = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(Filter {
            kind: match blank(&self.kind) {
                None => None,
                Some(k) => Some(Kind::parse(&k).ok_or_else(|| {
                    AppError::field("kind", "invalid", "申请类别取值无效", "Unknown kind")
                })?),
            },
            state: match blank(&self.state) {
                None => None,
                Some(s) => Some(State::parse(&s).ok_or_else(|| {
                    AppError::field("state", "invalid", "状态取值无效", "Unknown state")
                })?),
            },
            station_id: match blank(&self.station_id) {
                None => None,
                Some(s) => Some(crate::web::parse_filter_id("station_id", &s)?),
            },
            mine: self.mine.unwrap_or(false),
            overdue_only: self.overdue.unwrap_or(false),
        })
    }
}

/// The caller's lifecycle requests (its station's, its department's, or
/// those filed with it as authorizing regulator), most recently changed
/// first, with due dates and overdue flags, one keyset page at a time: a
/// next page is announced by `Link: <…>; rel="next"` and `X-Next-Cursor`.
/// Each item's `problems` is empty here; GET the request for them.
#[utoipa::path(get, path = "/api/v1/lifecycle-requests", tag = "lifecycle", params(RequestQuery),
    responses((status = 200, body = [Request],
        headers(("Link" = String, description = "The next page, RFC 8288 rel=\"next\""),
                ("X-Next-Cursor" = String, description = "The cursor of the next page"))),
        (status = 422, body = ErrorBody)))]
pub async fn requests_list(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<RequestQuery>,
) -> Result<axum::response::Response> {
    let f = q.filter()?;
    let limit = crate::web::list_limit(q.limit)?;
    let after = crate::web::Cursor::parse(q.cursor.as_deref())?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (list, next) = store::list(&mut tx, &ctx, &f, after.as_ref(), limit).await?;
    tx.commit().await?;
    let mut kept = q.kept();
    kept.push(("limit", q.limit.map(|l| l.to_string())));
    Ok(crate::web::with_next(
        list,
        next,
        "/api/v1/lifecycle-requests",
        &kept,
    ))
}

/// Queue counts per kind: open, waiting for the caller, overdue.
#[utoipa::path(get, path = "/api/v1/lifecycle-requests/counts", tag = "lifecycle",
    responses((status = 200, body = [QueueCount])))]
pub async fn requests_counts(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
) -> Result<AppJson<Vec<QueueCount>>> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let c = store::queue_counts(&mut tx, &ctx).await?;
    tx.commit().await?;
    Ok(AppJson(c))
}

/// One request.
#[utoipa::path(get, path = "/api/v1/lifecycle-requests/{id}", tag = "lifecycle", params(("id" = Uuid, Path)),
    responses((status = 200, body = Request), (status = 404, body = ErrorBody)))]
pub async fn request_get(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Request>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let r = store::get(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    Ok(AppJson(r))
}

/// Edit a draft (the station or its department); send the version read.
#[utoipa::path(put, path = "/api/v1/lifecycle-requests/{id}", tag = "lifecycle", params(("id" = Uuid, Path)),
    request_body = RequestInput,
    responses((status = 200, body = Request), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn request_update(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    AppJson(mut input): AppJson<RequestInput>,
) -> Result<AppJson<Request>> {
    let id = parse_id(&id)?;
    input.version = Some(expected_version(input.version, &headers)?);
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let r = store::update(&mut tx, &ctx, id, &input).await?;
    tx.commit().await?;
    Ok(AppJson(r))
}

async fn create(
    app: &AppState,
    ctx: &Ctx,
    kind: Kind,
    input: &RequestInput,
) -> Result<(StatusCode, AppJson<Request>)> {
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let r = store::create(&mut tx, ctx, kind, input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(r)))
}

macro_rules! create_endpoint {
    ($name:ident, $path:literal, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "lifecycle", request_body = RequestInput,
                    responses((status = 201, body = Request), (status = 403, body = ErrorBody),
                              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
        pub async fn $name(
            AxState(app): AxState<AppState>,
            ctx: Ctx,
            AppJson(input): AppJson<RequestInput>,
        ) -> Result<(StatusCode, AppJson<Request>)> {
            create(&app, &ctx, $kind, &input).await
        }
    };
}

create_endpoint!(head_appointment_create, "/api/v1/head-appointments", Kind::Head,
    "Department officer: draft a head appointment or removal (`station_id`, `action` appoint/remove, `person_name`, `reason`) (R11.1).");
create_endpoint!(adjustment_create, "/api/v1/adjustments", Kind::Adjustment,
    "Station or department: draft an adjustment (`changes` add/remove/change items, `region`, `dissolve`, `reason`) (R13.2).");
create_endpoint!(termination_create, "/api/v1/terminations", Kind::Termination,
    "Station or department: draft a termination with `end_date` ≥ today + 6 months (R15.1; refused at once with the earliest date).");
create_endpoint!(reexamination_create, "/api/v1/reexaminations", Kind::Reexamination,
    "Authorizing regulator's reviewer: schedule a re-examination (`authorization_id`, `scheduled_on`, `team`, `reason`); both sides are reminded (R14.1).");

/// R14.1: authorizations expiring within the window (6 months), with the
/// scheduled re-examination if any.
#[utoipa::path(get, path = "/api/v1/reexaminations/due", tag = "lifecycle",
    responses((status = 200, body = [DueReexamination])))]
pub async fn reexaminations_due(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
) -> Result<AppJson<Vec<DueReexamination>>> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let d = store::due_reexaminations(&mut tx, &ctx).await?;
    tx.commit().await?;
    Ok(AppJson(d))
}

async fn run_step(
    app: &AppState,
    ctx: &Ctx,
    id: &str,
    step: Step,
    input: &StepInput,
) -> Result<AppJson<Request>> {
    let id = parse_id(id)?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let r = store::step(&mut tx, &app.db, ctx, id, step, input).await?;
    tx.commit().await?;
    Ok(AppJson(r))
}

macro_rules! step_endpoint {
    ($name:ident, $path:literal, $step:expr, $input:ty, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "lifecycle",
                    params(("id" = uuid::Uuid, Path)), request_body = $input,
                    responses((status = 200, body = Request), (status = 403, body = ErrorBody),
                      (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
        pub async fn $name(
            AxState(app): AxState<AppState>,
            ctx: Ctx,
            Path(id): Path<String>,
            AppJson(input): AppJson<$input>,
        ) -> Result<AppJson<Request>> {
            run_step(&app, &ctx, &id, $step, &input.into()).await
        }
    };
}

step_endpoint!(request_submit, "/api/v1/lifecycle-requests/{id}/submit", Step::Submit, VersionInput,
    "Department officer: file the draft with the authorizing regulator (a termination's end date is checked again against the filing date, R15.1).");
step_endpoint!(request_withdraw, "/api/v1/lifecycle-requests/{id}/withdraw", Step::Withdraw, VersionInput,
    "Department officer: withdraw a draft or a filed request not yet proposed (regulator's reviewer for a scheduled re-examination).");
step_endpoint!(request_assessment, "/api/v1/lifecycle-requests/{id}/assessment", Step::Assessment, RequestAssessmentInput,
    "Reviewer: record the assessment of an adjustment (`date`, `team`, `outcome` pass/fail, `findings`); adding an item needs a pass (R13.2, R8.3).");
step_endpoint!(request_propose, "/api/v1/lifecycle-requests/{id}/propose", Step::Propose, RequestProposeInput,
    "Reviewer: propose `decision` approve/refuse (`reasons`); for a re-examination the `result` pass/fail with `fail_action` rectify (deadline)/end (R14.2).");
step_endpoint!(
    request_return,
    "/api/v1/lifecycle-requests/{id}/return",
    Step::Return,
    RequestReturnInput,
    "Approver: send the proposal back to the reviewer with `reasons`."
);
step_endpoint!(request_confirm, "/api/v1/lifecycle-requests/{id}/confirm", Step::Confirm, RequestConfirmInput,
    "Approver (not the proposer): decide as proposed. Approving an adjustment or renewal makes a new authorization version; a termination is scheduled for its end date (R15.2). A second confirm is told the request was already decided.");
step_endpoint!(
    request_record,
    "/api/v1/lifecycle-requests/{id}/record",
    Step::Record,
    RequestRecordInput,
    "Department officer: record the consented appointment with its `effective_on` date (R11.1)."
);
step_endpoint!(
    request_acknowledge,
    "/api/v1/lifecycle-requests/{id}/acknowledge",
    Step::Acknowledge,
    VersionInput,
    "Regulator: acknowledge the filing (备案); the station's head changes now (R11.1)."
);

/// Every version of an authorization, oldest first (R13.2).
#[utoipa::path(get, path = "/api/v1/authorizations/{id}/versions", tag = "lifecycle", params(("id" = Uuid, Path)),
    responses((status = 200, body = [Version]), (status = 404, body = ErrorBody)))]
pub async fn versions_list(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Vec<Version>>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let v = versions::list(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AppJson(v))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The earlier revision (default: the one before `to`).
    pub from: Option<i32>,
    /// The later revision (default: the latest).
    pub to: Option<i32>,
}

/// Two versions of an authorization compared item by item (R13.2).
#[utoipa::path(get, path = "/api/v1/authorizations/{id}/diff", tag = "lifecycle",
    params(("id" = Uuid, Path), DiffQuery),
    responses((status = 200, body = Diff), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn versions_diff(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<DiffQuery>,
) -> Result<AppJson<Diff>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let all = versions::list(&mut tx, id).await?;
    let latest = all.last().map(|v| v.revision).unwrap_or(1);
    let to = q.to.unwrap_or(latest);
    let from = q.from.unwrap_or(to.saturating_sub(1).max(1));
    let d = versions::compare(&mut tx, id, from, to).await?;
    tx.commit().await?;
    Ok(AppJson(d))
}

/// A station's heads over time (R11.1).
#[utoipa::path(get, path = "/api/v1/stations/{id}/heads", tag = "lifecycle", params(("id" = Uuid, Path)),
    responses((status = 200, body = [Head]), (status = 404, body = ErrorBody)))]
pub async fn station_heads(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Vec<Head>>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let seen: Option<uuid::Uuid> =
        sqlx::query_scalar("select station_id from station where station_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if seen.is_none() {
        return Err(AppError::NotFound);
    }
    let h = store::heads(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AppJson(h))
}
