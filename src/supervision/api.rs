//! JSON endpoints of supervision: one documented path per step.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::*;
use super::store;
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{ErrorBody, Result};
use crate::state::AppState;
use crate::web::openapi::VersionInput;
use crate::web::{parse_id, with_next, AppJson, AppQuery};
use axum::response::Response;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub state: Option<String>,
    pub station_id: Option<String>,
    /// Orders: only overdue ones (R18.3).
    pub overdue: Option<bool>,
    /// Where the page starts: `X-Next-Cursor` (or the `Link: rel="next"`
    /// target) of the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// One page of a keyset list without filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Where the page starts: `X-Next-Cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// The cursor and the limit of a page (422 on a bad one).
pub fn page_of(
    cursor: &Option<String>,
    limit: Option<i64>,
) -> Result<(Option<crate::web::Cursor>, i64)> {
    Ok((
        crate::web::Cursor::parse(cursor.as_deref())?,
        crate::web::list_limit(limit)?,
    ))
}

impl ListQuery {
    pub fn station(&self) -> Result<Option<uuid::Uuid>> {
        match self
            .station_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Ok(None),
            Some(s) => Ok(Some(crate::web::parse_filter_id("station_id", s)?)),
        }
    }
    pub fn state(&self) -> Option<&str> {
        self.state
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    /// The filters a next page keeps.
    pub fn kept(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("state", self.state.clone()),
            ("station_id", self.station_id.clone()),
            (
                "overdue",
                self.overdue.filter(|o| *o).map(|_| "true".into()),
            ),
        ]
    }
    fn kept_with_limit(&self) -> Vec<(&'static str, Option<String>)> {
        let mut k = self.kept();
        k.push(("limit", self.limit.map(|l| l.to_string())));
        k
    }
}

/// Inspections the caller's organization made (or, completed, of its
/// stations), latest planned first, one keyset page at a time (`Link:
/// rel="next"` and `X-Next-Cursor` announce the next).
#[utoipa::path(get, path = "/api/v1/inspections", tag = "supervision", params(ListQuery),
    responses((status = 200, body = [Inspection],
        headers(("Link" = String, description = "The next page, RFC 8288 rel=\"next\""),
                ("X-Next-Cursor" = String, description = "The cursor of the next page"))),
        (status = 422, body = ErrorBody)))]
pub async fn inspections_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<Response> {
    let station = q.station()?;
    let (after, limit) = page_of(&q.cursor, q.limit)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (l, next) =
        store::inspections(&mut tx, &ctx, q.state(), station, after.as_ref(), limit).await?;
    tx.commit().await?;
    Ok(with_next(
        l,
        next,
        "/api/v1/inspections",
        &q.kept_with_limit(),
    ))
}

/// Plan an inspection by hand (R17.1: only a station in the caller's
/// jurisdiction, or the department's own station).
#[utoipa::path(post, path = "/api/v1/inspections", tag = "supervision", request_body = PlanInput,
    responses((status = 201, body = Inspection), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn inspection_plan(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<PlanInput>,
) -> Result<(StatusCode, AppJson<Inspection>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let i = store::plan(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(i)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InspectableQuery {
    /// Part of a station's name or code (typeahead).
    pub q: Option<String>,
    /// At most this many, 1 to 200 (default 20).
    pub limit: Option<i64>,
}

/// Stations the caller may inspect (R17.1) whose name or code contains `q`:
/// the pickers' typeahead (issue 14), at most `limit`.
#[utoipa::path(get, path = "/api/v1/inspections/inspectable-stations", tag = "supervision",
    params(InspectableQuery),
    responses((status = 200, body = [Object]), (status = 422, body = ErrorBody)))]
pub async fn inspectable_stations(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<InspectableQuery>,
) -> Result<AppJson<Vec<serde_json::Value>>> {
    let limit = crate::web::list_limit(Some(q.limit.unwrap_or(20)))?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (l, _) = store::inspectable(&mut tx, &ctx, q.q.as_deref(), &[], limit as usize).await?;
    tx.commit().await?;
    Ok(AppJson(
        l.into_iter()
            .map(|(id, name, code)| serde_json::json!({"id": id, "name": name, "code": code}))
            .collect(),
    ))
}

/// One inspection.
#[utoipa::path(get, path = "/api/v1/inspections/{id}", tag = "supervision", params(("id" = Uuid, Path)),
    responses((status = 200, body = Inspection), (status = 404, body = ErrorBody)))]
pub async fn inspection_get(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Inspection>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let i = store::inspection_get(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    Ok(AppJson(i))
}

/// Inspector: record the five areas' findings (R17.2), the dates and the
/// station's cooperation, refusal or obstruction (R17.4).
#[utoipa::path(put, path = "/api/v1/inspections/{id}/record", tag = "supervision", params(("id" = Uuid, Path)),
    request_body = RecordInput,
    responses((status = 200, body = Inspection), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn inspection_record(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<RecordInput>,
) -> Result<AppJson<Inspection>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let i = store::record(&mut tx, &ctx, id, &input).await?;
    tx.commit().await?;
    Ok(AppJson(i))
}

macro_rules! inspection_step {
    ($name:ident, $path:literal, $step:literal, $input:ty, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "supervision", params(("id" = uuid::Uuid, Path)),
            request_body = $input,
            responses((status = 200, body = Inspection), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
        pub async fn $name(
            State(app): State<AppState>,
            ctx: Ctx,
            Path(id): Path<String>,
            AppJson(input): AppJson<$input>,
        ) -> Result<AppJson<Inspection>> {
            let id = parse_id(&id)?;
            let mut tx = tenant_tx(&app.db, &ctx).await?;
            let i = store::inspection_step(&mut tx, &ctx, id, $step, &input.into()).await?;
            tx.commit().await?;
            Ok(AppJson(i))
        }
    };
}

inspection_step!(
    inspection_approve,
    "/api/v1/inspections/{id}/approve",
    "approve",
    VersionInput,
    "Approver (not the recorder): confirm the record; the inspection is completed."
);
inspection_step!(
    inspection_return,
    "/api/v1/inspections/{id}/return",
    "return",
    InspectionReturnInput,
    "Approver: send the record back to the inspectors with `reasons`."
);
inspection_step!(
    inspection_cancel,
    "/api/v1/inspections/{id}/cancel",
    "cancel",
    VersionInput,
    "Reviewer or approver: cancel a planned inspection."
);
inspection_step!(inspection_publish, "/api/v1/inspections/{id}/publish", "publish", VersionInput,
    "Publish a completed random inspection's overall result (双随机、一公开), without internal notes.");

/// R17.3: draw stations and inspectors from the pools with a seed (or one
/// the system picks); the draw is recorded and one inspection planned per station.
#[utoipa::path(post, path = "/api/v1/inspection-draws", tag = "supervision", request_body = DrawInput,
    responses((status = 201, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn draw_create(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<DrawInput>,
) -> Result<(StatusCode, AppJson<serde_json::Value>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (d, planned) = store::random_draw(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        AppJson(serde_json::json!({"draw": d, "inspections": planned})),
    ))
}

/// R17.3: re-run a recorded draw from its pools and seed; `same` says
/// whether it gives the recorded result.
#[utoipa::path(get, path = "/api/v1/inspection-draws/{id}/rerun", tag = "supervision", params(("id" = Uuid, Path)),
    responses((status = 200, body = Rerun), (status = 404, body = ErrorBody)))]
pub async fn draw_rerun(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Rerun>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let r = store::rerun(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AppJson(r))
}

/// R18.1: issue a rectification order for nonconforming areas of a
/// completed inspection (one per finding or one listing several), with a
/// deadline in working or calendar days computed on the official calendar.
#[utoipa::path(post, path = "/api/v1/inspections/{id}/rectification-orders", tag = "supervision",
    params(("id" = Uuid, Path)), request_body = OrderInput,
    responses((status = 201, body = Order), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn order_issue(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<OrderInput>,
) -> Result<(StatusCode, AppJson<Order>)> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let o = store::order_issue(&mut tx, &ctx, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(o)))
}

/// Rectification orders the caller sees (issuer, station, competent
/// department), earliest deadline first, one keyset page at a time;
/// `overdue=true` for those past their deadline (R18.3).
#[utoipa::path(get, path = "/api/v1/rectification-orders", tag = "supervision", params(ListQuery),
    responses((status = 200, body = [Order],
        headers(("Link" = String, description = "The next page, RFC 8288 rel=\"next\""),
                ("X-Next-Cursor" = String, description = "The cursor of the next page"))),
        (status = 422, body = ErrorBody)))]
pub async fn orders_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<Response> {
    let f = store::OrderFilter {
        state: q.state(),
        station: q.station()?,
        overdue_only: q.overdue.unwrap_or(false),
        ..Default::default()
    };
    let (after, limit) = page_of(&q.cursor, q.limit)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (l, next) = store::orders(&mut tx, &ctx, &f, after.as_ref(), limit).await?;
    tx.commit().await?;
    Ok(with_next(
        l,
        next,
        "/api/v1/rectification-orders",
        &q.kept_with_limit(),
    ))
}

/// One order.
#[utoipa::path(get, path = "/api/v1/rectification-orders/{id}", tag = "supervision", params(("id" = Uuid, Path)),
    responses((status = 200, body = Order), (status = 404, body = ErrorBody)))]
pub async fn order_get(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Order>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let o = store::order_get(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    Ok(AppJson(o))
}

macro_rules! order_step {
    ($name:ident, $path:literal, $step:literal, $input:ty, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "supervision", params(("id" = uuid::Uuid, Path)),
            request_body = $input,
            responses((status = 200, body = Order), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
        pub async fn $name(
            State(app): State<AppState>,
            ctx: Ctx,
            Path(id): Path<String>,
            AppJson(input): AppJson<$input>,
        ) -> Result<AppJson<Order>> {
            let id = parse_id(&id)?;
            let mut tx = tenant_tx(&app.db, &ctx).await?;
            let o = store::order_step(&mut tx, &ctx, id, $step, &input.into()).await?;
            tx.commit().await?;
            Ok(AppJson(o))
        }
    };
}

order_step!(order_report, "/api/v1/rectification-orders/{id}/report", "report", OrderReportInput,
    "Station: the rectification report (`report`); evidence files go to the order's documents (R18.3).");
order_step!(
    order_accept,
    "/api/v1/rectification-orders/{id}/accept",
    "accept",
    VersionInput,
    "Issuer's reviewer or inspector: accept the report and propose to close (four eyes)."
);
order_step!(
    order_close,
    "/api/v1/rectification-orders/{id}/close",
    "close", VersionInput,
    "Issuer's approver (not the one who proposed): close the order; the department is told (R18.2)."
);
order_step!(
    order_reject,
    "/api/v1/rectification-orders/{id}/reject",
    "reject",
    OrderRejectInput,
    "Issuer: reject the report with `reasons`; the order stays open (R18.3)."
);
order_step!(
    order_extend,
    "/api/v1/rectification-orders/{id}/extend",
    "extend",
    OrderExtendInput,
    "Issuer: extend the deadline once (`new_due_on`, `reasons`) (R18.3)."
);

/// Violation cases of the caller's regulator (decided ones also to the
/// station and department), newest first, one keyset page at a time.
#[utoipa::path(get, path = "/api/v1/violation-cases", tag = "supervision", params(PageQuery),
    responses((status = 200, body = [Case],
        headers(("Link" = String, description = "The next page, RFC 8288 rel=\"next\""),
                ("X-Next-Cursor" = String, description = "The cursor of the next page"))),
        (status = 422, body = ErrorBody)))]
pub async fn cases_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<PageQuery>,
) -> Result<Response> {
    let (after, limit) = page_of(&q.cursor, q.limit)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (l, next) = store::cases(&mut tx, &ctx, after.as_ref(), limit).await?;
    tx.commit().await?;
    Ok(with_next(
        l,
        next,
        "/api/v1/violation-cases",
        &[("limit", q.limit.map(|l| l.to_string()))],
    ))
}

/// R19.1: open a case: station, Art 16 items (`1`–`7`), facts, linked inspections, evidence.
#[utoipa::path(post, path = "/api/v1/violation-cases", tag = "supervision", request_body = CaseInput,
    responses((status = 201, body = Case), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn case_create(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<CaseInput>,
) -> Result<(StatusCode, AppJson<Case>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let c = store::case_create(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(c)))
}

/// One case.
#[utoipa::path(get, path = "/api/v1/violation-cases/{id}", tag = "supervision", params(("id" = Uuid, Path)),
    responses((status = 200, body = Case), (status = 404, body = ErrorBody)))]
pub async fn case_get(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Case>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let c = store::case_get(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    Ok(AppJson(c))
}

macro_rules! case_step {
    ($name:ident, $path:literal, $step:literal, $input:ty, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "supervision", params(("id" = uuid::Uuid, Path)),
            request_body = $input,
            responses((status = 200, body = Case), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
        pub async fn $name(
            State(app): State<AppState>,
            ctx: Ctx,
            Path(id): Path<String>,
            AppJson(input): AppJson<$input>,
        ) -> Result<AppJson<Case>> {
            let id = parse_id(&id)?;
            let mut tx = tenant_tx(&app.db, &ctx).await?;
            let c = store::case_step(&mut tx, &ctx, id, $step, &input.into()).await?;
            tx.commit().await?;
            Ok(AppJson(c))
        }
    };
}

case_step!(case_propose, "/api/v1/violation-cases/{id}/propose", "propose", CaseProposeInput,
    "Reviewer or inspector: propose the decision under 《法定计量检定机构监督管理办法》: `warning`, `order_to_correct`, `fine` (`fine_amount`), `revocation` or `other` (`notes`).");
case_step!(case_decide, "/api/v1/violation-cases/{id}/decide", "decide", VersionInput,
    "Approver (not the proposer): decide as proposed; a revocation ends the authorization at once (R19.1).");
case_step!(
    case_withdraw,
    "/api/v1/violation-cases/{id}/withdraw",
    "withdraw",
    VersionInput,
    "Reviewer or approver: withdraw an undecided case."
);

/// R19.2: referrals of the caller's regulator; approvers only (404 to everyone else).
/// Latest first, one keyset page at a time.
#[utoipa::path(get, path = "/api/v1/referrals", tag = "supervision", params(PageQuery),
    responses((status = 200, body = [Referral],
        headers(("Link" = String, description = "The next page, RFC 8288 rel=\"next\""),
                ("X-Next-Cursor" = String, description = "The cursor of the next page"))),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn referrals_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<PageQuery>,
) -> Result<Response> {
    let (after, limit) = page_of(&q.cursor, q.limit)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (l, next) = store::referrals(&mut tx, &ctx, after.as_ref(), limit).await?;
    tx.commit().await?;
    Ok(with_next(
        l,
        next,
        "/api/v1/referrals",
        &[("limit", q.limit.map(|l| l.to_string()))],
    ))
}

/// R19.2: record a referral of misconduct clues (recipient, date, reference).
#[utoipa::path(post, path = "/api/v1/referrals", tag = "supervision", request_body = ReferralInput,
    responses((status = 201, body = Referral), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn referral_create(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<ReferralInput>,
) -> Result<(StatusCode, AppJson<Referral>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let r = store::referral_create(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(r)))
}

/// 双随机、一公开: completed random inspections and their overall results (no sign-in).
#[utoipa::path(get, path = "/api/v1/public/inspections", tag = "public",
    responses((status = 200, body = [PublicInspection])))]
pub async fn public_inspections(
    State(app): State<AppState>,
) -> Result<AppJson<Vec<PublicInspection>>> {
    Ok(AppJson(store::public_inspections(&app.db).await?))
}

/// Stores an evidence file for an inspection (the inspecting organization,
/// while it is not completed) or a rectification order (the station, while
/// open), sniffed and size-limited like every document.
pub async fn upload_evidence(
    app: &AppState,
    ctx: &Ctx,
    owner_type: &str,
    id: uuid::Uuid,
    multipart: axum::extract::Multipart,
) -> Result<crate::standards::documents::DocumentInfo> {
    let (filename, bytes) =
        crate::standards::documents::read_file(multipart, app.config.max_upload_bytes).await?;
    let content_type = crate::standards::documents::sniff(&filename, &bytes)?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let station = if owner_type == "violation_case" {
        let c = store::case_get(&mut tx, ctx, id).await?;
        if c.regulator_id != ctx.org_id || !matches!(c.state.as_str(), "draft" | "proposed") {
            return Err(crate::error::AppError::forbidden(
                "只有立案机关在作出决定前可以上传证据",
                "Only the regulator uploads evidence, before the decision",
            ));
        }
        c.station_id
    } else if owner_type == "inspection" {
        let i = store::inspection_get(&mut tx, ctx, id).await?;
        if i.org_id != ctx.org_id || !matches!(i.state.as_str(), "planned" | "recorded") {
            return Err(crate::error::AppError::forbidden(
                "只有检查单位在检查记录确认前可以上传证据",
                "Only the inspecting organization uploads evidence, before the record is confirmed",
            ));
        }
        i.station_id
    } else {
        let o = store::order_get(&mut tx, ctx, id).await?;
        if o.station_id != ctx.org_id || o.state != "open" {
            return Err(crate::error::AppError::forbidden(
                "只有被检查的计量站在整改期间可以上传整改证据",
                "Only the station uploads evidence, while the order is open",
            ));
        }
        o.station_id
    };
    let info = crate::standards::documents::insert_document(
        &mut tx,
        ctx,
        station,
        owner_type,
        id,
        None,
        &filename,
        content_type,
        &bytes,
    )
    .await?;
    tx.commit().await?;
    Ok(info)
}

/// Attach an evidence file (PDF, PNG, JPEG) to a violation case (R19.1).
#[utoipa::path(post, path = "/api/v1/violation-cases/{id}/documents", tag = "supervision", params(("id" = Uuid, Path)),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = crate::standards::documents::DocumentInfo), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn case_document(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    crate::web::AppMultipart(multipart): crate::web::AppMultipart,
) -> Result<(
    StatusCode,
    AppJson<crate::standards::documents::DocumentInfo>,
)> {
    let id = parse_id(&id)?;
    let d = upload_evidence(&app, &ctx, "violation_case", id, multipart).await?;
    Ok((StatusCode::CREATED, AppJson(d)))
}

/// Attach an evidence file (PDF, PNG, JPEG) to an inspection's findings (R17.2).
#[utoipa::path(post, path = "/api/v1/inspections/{id}/documents", tag = "supervision", params(("id" = Uuid, Path)),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = crate::standards::documents::DocumentInfo), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn inspection_document(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    crate::web::AppMultipart(multipart): crate::web::AppMultipart,
) -> Result<(
    StatusCode,
    AppJson<crate::standards::documents::DocumentInfo>,
)> {
    let id = parse_id(&id)?;
    let d = upload_evidence(&app, &ctx, "inspection", id, multipart).await?;
    Ok((StatusCode::CREATED, AppJson(d)))
}

/// Attach rectification evidence (PDF, PNG, JPEG) to an open order (R18.3).
#[utoipa::path(post, path = "/api/v1/rectification-orders/{id}/documents", tag = "supervision", params(("id" = Uuid, Path)),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = crate::standards::documents::DocumentInfo), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn order_document(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    crate::web::AppMultipart(multipart): crate::web::AppMultipart,
) -> Result<(
    StatusCode,
    AppJson<crate::standards::documents::DocumentInfo>,
)> {
    let id = parse_id(&id)?;
    let d = upload_evidence(&app, &ctx, "rectification_order", id, multipart).await?;
    Ok((StatusCode::CREATED, AppJson(d)))
}
