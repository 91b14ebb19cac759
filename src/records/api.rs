//! JSON endpoints of work records: one record (the form's twin, with the
//! controlled override), LIMS batches, lists, the flagged queue, void,
//! monthly figures, and the public lookup (R16.5).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::chain::{self, Checked};
use super::model::{self, RecordInput, RecordRow, WorkRecord};
use super::store::{self, BatchOutcome, RecordFilter, Source, WriteOptions};
use crate::audit::{self, Event};
use crate::auth::{Ctx, OrgKind, Role};
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, FieldError, Result};
use crate::rules::records::RecordKind;
use crate::state::AppState;
use crate::web::{
    list_limit, parse_filter_id, parse_id, today, with_next, AppJson, AppQuery, Cursor,
};

/// Most records in one LIMS batch.
pub const BATCH_MAX: usize = 10_000;

/// Only a station's staff write its records.
pub fn require_station_writer(ctx: &Ctx) -> Result<()> {
    if ctx.org_kind == OrgKind::Station && (ctx.has(Role::Staff) || ctx.has(Role::Admin)) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "只有计量站人员可以登记本站的证书/报告记录",
            "Only a station's staff record its certificates and reports",
        ))
    }
}

/// Parses and checks `inputs` against the caller's station; every field
/// error at once (up to 200), named `records[i].field` when `batch`.
pub async fn check_all(
    conn: &mut sqlx::PgConnection,
    ctx: &Ctx,
    inputs: &[RecordInput],
    batch: bool,
) -> Result<(chain::Chain, Vec<Checked>)> {
    let chain = chain::load(conn, ctx.org_id).await?;
    let today = today();
    let mut errors: Vec<FieldError> = Vec::new();
    let mut checked = Vec::with_capacity(inputs.len());
    let prefix = |i: usize| {
        if batch {
            format!("records[{i}].")
        } else {
            String::new()
        }
    };
    for (i, input) in inputs.iter().enumerate() {
        let p = prefix(i);
        match model::parse(input, &p, today).and_then(|parsed| chain.check(parsed, &p)) {
            Ok(c) => checked.push((i, c)),
            Err(e) => errors.extend(e),
        }
        if errors.len() >= 200 {
            break;
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let checked = store::dedupe(checked, prefix)?;
    Ok((chain, checked))
}

/// One record with the controlled override of the form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OneRecord {
    #[serde(flatten)]
    pub record: RecordInput,
    /// Required when the record is flagged: the approver's reason to issue
    /// it anyway (R16.7). Given by a station user with the approver or
    /// admin role; recorded with their name and an audit event.
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// Records one certificate (the form's path): a flagged record is saved
/// only with the approver's override reason; without it, 422 on
/// `override_reason` with every reason.
pub async fn create_one(
    conn: &mut sqlx::PgConnection,
    ctx: &Ctx,
    input: &RecordInput,
    override_reason: Option<&str>,
) -> Result<store::BatchItem> {
    require_station_writer(ctx)?;
    let (chain, checked) = check_all(conn, ctx, std::slice::from_ref(input), false).await?;
    let reason = override_reason.map(str::trim).filter(|r| !r.is_empty());
    let record = &checked[0];
    if record.flagged() {
        let Some(reason) = reason else {
            let zh: Vec<&str> = record.reasons.iter().map(|r| r.zh.as_str()).collect();
            let en: Vec<&str> = record.reasons.iter().map(|r| r.en.as_str()).collect();
            return Err(AppError::field(
                "override_reason",
                "flagged",
                format!(
                    "该记录可能违反第十六条第（七）项：{}。如确需出具，由批准人填写理由",
                    zh.join("；")
                ),
                format!(
                    "This record may breach Art 16(7): {}. To issue it anyway, the approver gives a reason",
                    en.join("; ")
                ),
            ));
        };
        if !(ctx.has(Role::Approver) || ctx.has(Role::Admin)) {
            return Err(AppError::field(
                "override_reason",
                "not_approver",
                "只有本站批准人（审批或管理员角色）可以说明理由后出具被标记的记录",
                "Only the station's approver (approver or admin role) may issue a flagged record with a reason",
            ));
        }
        if reason.chars().count() > 1000 {
            return Err(AppError::field(
                "override_reason",
                "too_long",
                "理由不能超过 1000 字",
                "At most 1000 characters",
            ));
        }
    }
    let over = if record.flagged() {
        reason.map(|r| (r, ctx.user_id))
    } else {
        None
    };
    let opts = WriteOptions {
        source: Source::Form,
        user_id: Some(ctx.user_id),
        override_by: over,
        copy: false,
    };
    let mut cache = Default::default();
    let outcome = store::write_batch(conn, &chain, &checked, &opts, &mut cache).await?;
    let item = outcome.records[0].clone();
    if item.outcome == "created" {
        audit::record(
            conn,
            ctx,
            Event::new("work_record.create", "work_record", item.record_id).after(
                &serde_json::json!({
                    "number": item.number, "flagged": item.flagged, "flag_codes": item.flag_codes,
                }),
            ),
        )
        .await?;
        if let Some((reason, _)) = over {
            audit::record(
                conn,
                ctx,
                Event::new("work_record.override", "work_record", item.record_id)
                    .after(&serde_json::json!({"reason": reason, "flag_codes": item.flag_codes})),
            )
            .await?;
        }
    }
    Ok(item)
}

/// Record one certificate or report of the caller's station (R16.5); the
/// whole-chain verdict comes back with it (R13.1, R16.4, R16.6, R16.7).
#[utoipa::path(post, path = "/api/v1/work-records", tag = "work-records", request_body = OneRecord,
    responses((status = 201, body = store::BatchItem), (status = 200, body = store::BatchItem),
      (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_create(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<OneRecord>,
) -> Result<(StatusCode, AppJson<store::BatchItem>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let item = create_one(
        &mut tx,
        &ctx,
        &input.record,
        input.override_reason.as_deref(),
    )
    .await?;
    tx.commit().await?;
    let status = if item.outcome == "created" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, AppJson(item)))
}

/// The verdict a record would get, without saving it (the form's preview).
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub flagged: bool,
    pub authorization_id: Option<Uuid>,
    pub authorization_revision: Option<i32>,
    pub reasons: Vec<model::Reason>,
}

/// Check a record against the whole chain without saving it.
#[utoipa::path(post, path = "/api/v1/work-records/check", tag = "work-records", request_body = RecordInput,
    responses((status = 200, body = Preview), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_check(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<RecordInput>,
) -> Result<AppJson<Preview>> {
    require_station_writer(&ctx)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (_, checked) = check_all(&mut tx, &ctx, std::slice::from_ref(&input), false).await?;
    tx.commit().await?;
    let c = &checked[0];
    Ok(AppJson(Preview {
        flagged: c.flagged(),
        authorization_id: c.authorization.map(|a| a.0),
        authorization_revision: c.authorization.map(|a| a.1),
        reasons: c.reasons.clone(),
    }))
}

/// A LIMS batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// 1 to 10,000 records.
    pub records: Vec<RecordInput>,
}

/// Send up to 10,000 records from a LIMS. All or nothing: any field error
/// refuses the batch (422, each error named `records[i].field`); a number
/// the station already has with the same content is `unchanged`, with other
/// content a 409 (R16.5). Resending a batch creates nothing twice. Records
/// outside the chain are saved and flagged (R16.7).
#[utoipa::path(post, path = "/api/v1/work-records/batch", tag = "work-records", request_body = Batch,
    responses((status = 200, body = BatchOutcome), (status = 403, body = ErrorBody),
      (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn records_batch(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(batch): AppJson<Batch>,
) -> Result<AppJson<BatchOutcome>> {
    require_station_writer(&ctx)?;
    if batch.records.is_empty() || batch.records.len() > BATCH_MAX {
        return Err(AppError::field(
            "records",
            "count",
            format!("每批 1 到 {BATCH_MAX} 条记录"),
            format!("A batch holds 1 to {BATCH_MAX} records"),
        ));
    }
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (chain, checked) = check_all(&mut tx, &ctx, &batch.records, true).await?;
    let opts = WriteOptions {
        source: Source::Api,
        user_id: Some(ctx.user_id),
        override_by: None,
        copy: false,
    };
    let mut cache = Default::default();
    let outcome = store::write_batch(&mut tx, &chain, &checked, &opts, &mut cache).await?;
    if outcome.created > 0 {
        audit::record(
            &mut tx,
            &ctx,
            Event::new("work_record.batch", "station", ctx.org_id).after(&serde_json::json!({
                "source": "api", "created": outcome.created, "unchanged": outcome.unchanged,
                "flagged": outcome.flagged,
                "first": outcome.records.first().map(|r| &r.number),
                "last": outcome.records.last().map(|r| &r.number),
            })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(AppJson(outcome))
}

/// Filters of the record list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordQuery {
    /// The station (a station's own users may leave it out).
    pub station_id: Option<String>,
    /// Work date from (YYYY-MM-DD).
    pub from: Option<String>,
    /// Work date to (YYYY-MM-DD).
    pub to: Option<String>,
    pub kind: Option<String>,
    /// Authorized item, exactly.
    pub item: Option<String>,
    pub conclusion: Option<String>,
    /// `true` or `false`.
    pub flagged: Option<String>,
    /// Number prefix, exact instrument serial or part of the customer's name.
    pub q: Option<String>,
    /// A flag code (see `rules::records::PROBLEM_CODES`).
    pub reason: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn date_field(
    field: &str,
    s: &Option<String>,
    errors: &mut Vec<FieldError>,
) -> Option<chrono::NaiveDate> {
    let t = opt(s)?;
    match chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "invalid_date",
                "日期格式应为 YYYY-MM-DD",
                "Use YYYY-MM-DD",
            ));
            None
        }
    }
}

/// Validates the list's filters.
pub fn parse_query(ctx: &Ctx, q: &RecordQuery) -> Result<(RecordFilter, Option<Cursor>, i64)> {
    let mut errors = Vec::new();
    let station_id = match opt(&q.station_id) {
        Some(s) => Some(parse_filter_id("station_id", &s)?),
        None if ctx.org_kind == OrgKind::Station => Some(ctx.org_id),
        None => None,
    };
    let from = date_field("from", &q.from, &mut errors);
    let to = date_field("to", &q.to, &mut errors);
    let kind = opt(&q.kind).and_then(|k| match RecordKind::parse(&k) {
        Some(k) => Some(k.code().to_owned()),
        None => {
            errors.push(FieldError::new(
                "kind",
                "invalid",
                "证书类别取值无效",
                "Unknown kind",
            ));
            None
        }
    });
    let flagged = match opt(&q.flagged).as_deref() {
        None => None,
        Some("true" | "1" | "on") => Some(true),
        Some("false" | "0") => Some(false),
        Some(_) => {
            errors.push(FieldError::new(
                "flagged",
                "invalid",
                "应为 true 或 false",
                "Use true or false",
            ));
            None
        }
    };
    let reason = opt(&q.reason);
    if let Some(r) = &reason {
        if !crate::rules::records::PROBLEM_CODES
            .iter()
            .any(|c| c.0 == r)
        {
            errors.push(FieldError::new(
                "reason",
                "invalid",
                "原因取值无效",
                "Unknown reason",
            ));
        }
    }
    let q_text = opt(&q.q);
    if q_text.as_ref().is_some_and(|t| t.chars().count() > 100) {
        errors.push(FieldError::new(
            "q",
            "too_long",
            "搜索词不能超过 100 个字符",
            "At most 100 characters",
        ));
    }
    // Every field's error at once: the cursor's and the limit's too.
    let mut keep = |e: AppError| match e {
        AppError::Validation(f) => errors.extend(f),
        other => errors.push(FieldError::new(
            "query",
            "invalid",
            other.to_string(),
            other.to_string(),
        )),
    };
    let cursor = Cursor::parse(q.cursor.as_deref())
        .map_err(&mut keep)
        .ok()
        .flatten();
    let limit = list_limit(q.limit)
        .map_err(&mut keep)
        .unwrap_or(crate::web::LIST_LIMIT);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok((
        RecordFilter {
            station_id,
            from,
            to,
            kind,
            item: opt(&q.item),
            conclusion: opt(&q.conclusion),
            flagged,
            q: q_text,
            reason,
        },
        cursor,
        limit,
    ))
}

fn query_pairs(q: &RecordQuery) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("station_id", q.station_id.clone()),
        ("from", q.from.clone()),
        ("to", q.to.clone()),
        ("kind", q.kind.clone()),
        ("item", q.item.clone()),
        ("conclusion", q.conclusion.clone()),
        ("flagged", q.flagged.clone()),
        ("q", q.q.clone()),
        ("reason", q.reason.clone()),
        ("limit", q.limit.map(|l| l.to_string())),
    ]
}

/// One station's records, newest work first (keyset: `cursor`, `limit`;
/// the next page in `Link` and `X-Next-Cursor`).
#[utoipa::path(get, path = "/api/v1/work-records", tag = "work-records", params(RecordQuery),
    responses((status = 200, body = Vec<RecordRow>), (status = 422, body = ErrorBody)))]
pub async fn records_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<RecordQuery>,
) -> Result<Response> {
    let (filter, cursor, limit) = parse_query(&ctx, &q)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (rows, next) = store::list(&mut tx, &filter, cursor.as_ref(), limit).await?;
    tx.commit().await?;
    Ok(with_next(
        rows,
        next,
        "/api/v1/work-records",
        &query_pairs(&q),
    ))
}

/// The flagged queue (R16.7): flagged, valid records of the stations the
/// caller sees (authorizer, supervisors, department, R17.1), newest first.
#[utoipa::path(get, path = "/api/v1/work-records/flagged", tag = "work-records", params(RecordQuery),
    responses((status = 200, body = Vec<RecordRow>), (status = 422, body = ErrorBody)))]
pub async fn records_flagged(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<RecordQuery>,
) -> Result<Response> {
    let (filter, cursor, limit) = parse_query(&ctx, &q)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (rows, next) = store::queue(
        &mut tx,
        filter.station_id,
        filter.reason.as_deref(),
        cursor.as_ref(),
        limit,
    )
    .await?;
    tx.commit().await?;
    Ok(with_next(
        rows,
        next,
        "/api/v1/work-records/flagged",
        &query_pairs(&q),
    ))
}

/// Open flagged records per reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonCount {
    pub code: String,
    pub rule: String,
    pub name: String,
    pub name_en: String,
    pub open: i64,
}

/// The queue's headings: open flagged records per reason over the stations
/// the caller sees.
#[utoipa::path(get, path = "/api/v1/work-records/flagged/reasons", tag = "work-records",
    responses((status = 200, body = Vec<ReasonCount>)))]
pub async fn flagged_reasons(
    State(app): State<AppState>,
    ctx: Ctx,
) -> Result<AppJson<Vec<ReasonCount>>> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let counts = store::queue_counts(&mut tx).await?;
    tx.commit().await?;
    Ok(AppJson(reason_counts(counts)))
}

/// Names the codes of `counts`.
pub fn reason_counts(counts: Vec<(String, i64)>) -> Vec<ReasonCount> {
    counts
        .into_iter()
        .map(|(code, open)| {
            let known = crate::rules::records::PROBLEM_CODES
                .iter()
                .find(|c| c.0 == code);
            ReasonCount {
                rule: known.map(|c| c.1).unwrap_or("").to_owned(),
                name: known.map(|c| c.2).unwrap_or(&code).to_owned(),
                name_en: known.map(|c| c.3).unwrap_or(&code).to_owned(),
                code,
                open,
            }
        })
        .collect()
}

/// One record with its standards as they stood and its verdict.
#[utoipa::path(get, path = "/api/v1/work-records/{id}", tag = "work-records",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WorkRecord), (status = 404, body = ErrorBody)))]
pub async fn record_get(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<WorkRecord>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let r = store::get(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AppJson(r))
}

/// Voiding a record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInput {
    /// Why (required).
    pub reason: String,
    /// The version read (a stale void is refused).
    pub version: i32,
}

/// Void 作废 a record of the caller's station: it stays, marked voided,
/// with the reason; a re-issue names it in `reissue_of`.
pub async fn void_one(
    conn: &mut sqlx::PgConnection,
    ctx: &Ctx,
    id: Uuid,
    input: &VoidInput,
) -> Result<()> {
    require_station_writer(ctx)?;
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(AppError::field(
            "reason",
            "required",
            "请填写作废理由（不超过 1000 字）",
            "Give the reason for voiding (at most 1000 characters)",
        ));
    }
    store::void(conn, id, input.version, reason, ctx.user_id).await?;
    audit::record(
        conn,
        ctx,
        Event::new("work_record.void", "work_record", id)
            .after(&serde_json::json!({"reason": reason})),
    )
    .await
}

/// Void a record (R16.5: the number stays taken; the public lookup says voided).
#[utoipa::path(post, path = "/api/v1/work-records/{id}/void", tag = "work-records",
    params(("id" = Uuid, Path)), request_body = VoidInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
      (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_void(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<VoidInput>,
) -> Result<StatusCode> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    void_one(&mut tx, &ctx, id, &input).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records per month and kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthCount {
    /// First day of the month.
    pub month: chrono::NaiveDate,
    pub kind: String,
    pub total: i64,
    pub flagged: i64,
}

/// Query of the monthly figures.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    pub station_id: Option<String>,
    /// Months back from this one, 1 to 60 (default 12).
    pub months: Option<u32>,
}

/// Records per month and kind with the flagged among them, over the
/// stations the caller sees or one of them.
#[utoipa::path(get, path = "/api/v1/work-records/stats", tag = "work-records", params(StatsQuery),
    responses((status = 200, body = Vec<MonthCount>), (status = 422, body = ErrorBody)))]
pub async fn records_stats(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<StatsQuery>,
) -> Result<AppJson<Vec<MonthCount>>> {
    let station_id = match opt(&q.station_id) {
        Some(s) => Some(parse_filter_id("station_id", &s)?),
        None => None,
    };
    let months = q.months.unwrap_or(12);
    if !(1..=60).contains(&months) {
        return Err(AppError::field(
            "months",
            "out_of_range",
            "月数应在 1 到 60 之间",
            "months must be 1 to 60",
        ));
    }
    let since = since_months(today(), months);
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let rows = store::monthly(&mut tx, station_id, since).await?;
    tx.commit().await?;
    Ok(AppJson(
        rows.into_iter()
            .map(|(month, kind, total, flagged)| MonthCount {
                month,
                kind,
                total,
                flagged,
            })
            .collect(),
    ))
}

/// The first day of the month `months - 1` before `today`'s.
pub fn since_months(today: chrono::NaiveDate, months: u32) -> chrono::NaiveDate {
    use chrono::Datelike;
    let first = today.with_day(1).unwrap_or(today);
    first
        .checked_sub_months(chrono::Months::new(months.saturating_sub(1)))
        .unwrap_or(first)
}

/// The public lookup's query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicQuery {
    /// Station code, or the number of its authorization certificate.
    pub station: Option<String>,
    /// Certificate or report number.
    pub number: Option<String>,
}

/// Validates a public query: both present, of plausible length.
pub fn public_params(q: &PublicQuery) -> Result<(String, String)> {
    let mut errors = Vec::new();
    let station = opt(&q.station).unwrap_or_default();
    let number = opt(&q.number).unwrap_or_default();
    if station.is_empty() || station.chars().count() > 100 {
        errors.push(FieldError::new(
            "station",
            "required",
            "请填写计量站代码或授权证书编号",
            "Give the station's code or its authorization certificate number",
        ));
    }
    if number.is_empty() || number.chars().count() > 64 {
        errors.push(FieldError::new(
            "number",
            "required",
            "请填写证书/报告编号（不超过 64 个字符）",
            "Give the certificate or report number (at most 64 characters)",
        ));
    }
    if errors.is_empty() {
        Ok((station, number))
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Logs the lookup and enforces the limit shared with `/verify`.
pub async fn public_find(
    app: &AppState,
    station: &str,
    number: &str,
    addr: &str,
) -> Result<Option<store::PublicRecord>> {
    if !app.lookups.has_room() {
        return Err(AppError::Unavailable {
            retry_after_secs: 5,
        });
    }
    if !app.lookups.allow(addr) {
        return Err(AppError::bad_request(
            "rate_limited",
            "查询过于频繁，请一分钟后再试",
            "Too many lookups; try again in a minute",
        ));
    }
    let found = store::public_lookup(&app.public_db, station, number).await?;
    app.lookups
        .record_lookup(&format!("{station}/{number}"), found.is_some(), addr);
    Ok(found)
}

/// Whether a certificate or report exists (R16.5): kind, issue date,
/// instrument, conclusion, validity, voided. Nothing about the customer.
/// No sign-in; logged and rate-limited like `/verify`.
#[utoipa::path(get, path = "/api/v1/public/records", tag = "public", params(PublicQuery),
    responses((status = 200, body = store::PublicRecord), (status = 404, body = ErrorBody),
      (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn public_record(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    AppQuery(q): AppQuery<PublicQuery>,
) -> Response {
    let res = match public_params(&q) {
        Err(e) => e.into_response(),
        Ok((station, number)) => {
            match public_find(&app, &station, &number, &addr.ip().to_string()).await {
                Ok(Some(r)) => AppJson(r).into_response(),
                Ok(None) => AppError::NotFound.into_response(),
                Err(e @ AppError::BadRequest { .. }) => {
                    let mut r = e.into_response();
                    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                    r
                }
                Err(e) => e.into_response(),
            }
        }
    };
    let mut res = res;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A regulator's sample of a station's records for audit (R16.5, R17.3).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleInput {
    pub station_id: Uuid,
    /// Work dates from (YYYY-MM-DD).
    pub from: chrono::NaiveDate,
    /// Work dates to (YYYY-MM-DD).
    pub to: chrono::NaiveDate,
    /// How many records, 1 to 200.
    pub size: usize,
    /// The seed; a random one is drawn and recorded when absent.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// A sample: the recorded draw and each record with its finding.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sample {
    pub sample_id: Uuid,
    pub station_id: Uuid,
    /// The regulator that drew it.
    pub regulator_id: Uuid,
    pub station_code: String,
    pub station_name: String,
    pub regulator_name: String,
    pub drawn_at: chrono::DateTime<chrono::Utc>,
    pub period_from: chrono::NaiveDate,
    pub period_to: chrono::NaiveDate,
    /// Decimal, as drawn (re-run the draw with it).
    pub seed: String,
    /// `chacha20-v1` over the pool sorted by record id.
    pub algorithm: String,
    pub pool_size: i32,
    /// SHA-256 of the pool's record ids in order.
    pub pool_digest: String,
    pub records: Vec<SampledRecord>,
}

/// One sampled record and its check.
#[derive(Debug, Serialize, ToSchema)]
pub struct SampledRecord {
    pub record_id: Uuid,
    pub number: String,
    pub work_date: chrono::NaiveDate,
    pub item_name: String,
    pub flagged: bool,
    /// `conforming` or `nonconforming`, once checked.
    pub finding: Option<String>,
    pub notes: Option<String>,
}

/// Draw a reproducible random sample of a station's valid records with a
/// work date in the period (R16.5, R17.3). The pool is every such record
/// created before the draw, sorted by id; the seed, the pool's size and
/// digest and the result are recorded. Regulators who see the station.
#[utoipa::path(post, path = "/api/v1/work-records/samples", tag = "work-records", request_body = SampleInput,
    responses((status = 201, body = Sample), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
      (status = 422, body = ErrorBody)))]
pub async fn sample_create(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(input): AppJson<SampleInput>,
) -> Result<(StatusCode, AppJson<Sample>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let sample = draw(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(sample)))
}

/// The longest period a sample's pool may span (its ids are held in
/// memory while drawing).
pub const SAMPLE_MAX_DAYS: i64 = 366;

/// Draws and records a sample in the caller's transaction (R17.3).
pub async fn draw(tx: &mut sqlx::PgConnection, ctx: &Ctx, input: &SampleInput) -> Result<Sample> {
    if ctx.org_kind != OrgKind::Regulator {
        return Err(AppError::forbidden(
            "只有监管部门可以抽查证书/报告记录",
            "Only regulators sample records",
        ));
    }
    let mut errors = Vec::new();
    if input.to < input.from {
        errors.push(FieldError::new(
            "to",
            "before_from",
            "截止日期不能早于起始日期",
            "The end precedes the start",
        ));
    } else if (input.to - input.from).num_days() >= SAMPLE_MAX_DAYS {
        errors.push(FieldError::new(
            "to",
            "too_long",
            format!("抽查期间至多 {SAMPLE_MAX_DAYS} 天"),
            format!("A sample's period is at most {SAMPLE_MAX_DAYS} days"),
        ));
    }
    if !(1..=200).contains(&input.size) {
        errors.push(FieldError::new(
            "size",
            "out_of_range",
            "抽查数量应在 1 到 200 之间",
            "size must be 1 to 200",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let seed = input.seed.unwrap_or_else(|| {
        use rand_core::{OsRng, TryRngCore};
        let mut b = [0u8; 8];
        OsRng.try_fill_bytes(&mut b).ok();
        u64::from_le_bytes(b)
    });
    let visible: Option<Uuid> =
        sqlx::query_scalar("select station_id from station where station_id = $1")
            .bind(input.station_id)
            .fetch_optional(&mut *tx)
            .await?;
    if visible.is_none() {
        return Err(AppError::NotFound);
    }
    let pool: Vec<Uuid> = sqlx::query_scalar(
        "select record_id from work_record where station_id = $1 and state = 'valid'
            and work_date between $2 and $3 order by record_id",
    )
    .bind(input.station_id)
    .bind(input.from)
    .bind(input.to)
    .fetch_all(&mut *tx)
    .await?;
    let digest = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for id in &pool {
            h.update(id.as_bytes());
        }
        hex::encode(h.finalize())
    };
    let chosen = crate::rules::draw::sample(&pool, seed, input.size);
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into record_sample (sample_id, station_id, regulator_id, period_from, period_to, seed, pool_size,
           pool_digest, record_ids, drawn_by) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(input.station_id)
    .bind(ctx.org_id)
    .bind(input.from)
    .bind(input.to)
    .bind(seed.to_string())
    .bind(pool.len() as i32)
    .bind(&digest)
    .bind(&chosen)
    .bind(ctx.user_id)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        ctx,
        Event::new("work_record.sample", "record_sample", id).after(&serde_json::json!({
            "station_id": input.station_id, "seed": seed.to_string(), "pool_size": pool.len(),
            "pool_digest": digest, "records": chosen,
        })),
    )
    .await?;
    sample_load(&mut *tx, id).await
}

/// Reads a sample with its records and findings.
pub async fn sample_load(conn: &mut sqlx::PgConnection, id: Uuid) -> Result<Sample> {
    type Row = (
        Uuid,
        Uuid,
        Uuid,
        chrono::NaiveDate,
        chrono::NaiveDate,
        String,
        i32,
        String,
        Vec<Uuid>,
        String,
        String,
        String,
        chrono::DateTime<chrono::Utc>,
    );
    let row: Option<Row> = sqlx::query_as(
        "select x.sample_id, x.station_id, x.regulator_id, x.period_from, x.period_to, x.seed, x.pool_size,
                x.pool_digest, x.record_ids, s.code, so.name, ro.name, x.drawn_at
           from record_sample x
           join station s on s.station_id = x.station_id
           join organization so on so.organization_id = x.station_id
           join organization ro on ro.organization_id = x.regulator_id
          where x.sample_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((
        sample_id,
        station_id,
        regulator_id,
        period_from,
        period_to,
        seed,
        pool_size,
        pool_digest,
        ids,
        station_code,
        station_name,
        regulator_name,
        drawn_at,
    )) = row
    else {
        return Err(AppError::NotFound);
    };
    type Rec = (
        Uuid,
        String,
        chrono::NaiveDate,
        String,
        bool,
        Option<String>,
        Option<String>,
    );
    let recs: Vec<Rec> = sqlx::query_as(
        "select r.record_id, r.number, r.work_date, r.item_name, r.flagged, c.finding, c.notes
           from unnest($2::uuid[]) with ordinality as x (id, n)
           join work_record r on r.station_id = $1 and r.record_id = x.id
           left join record_sample_check c on c.sample_id = $3 and c.record_id = r.record_id
          order by x.n",
    )
    .bind(station_id)
    .bind(&ids)
    .bind(sample_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Sample {
        sample_id,
        station_id,
        regulator_id,
        station_code,
        station_name,
        regulator_name,
        drawn_at,
        period_from,
        period_to,
        seed,
        algorithm: crate::rules::draw::DRAW_ALGORITHM_VERSION.to_owned(),
        pool_size,
        pool_digest,
        records: recs
            .into_iter()
            .map(|r| SampledRecord {
                record_id: r.0,
                number: r.1,
                work_date: r.2,
                item_name: r.3,
                flagged: r.4,
                finding: r.5,
                notes: r.6,
            })
            .collect(),
    })
}

/// One sample with its records and findings.
#[utoipa::path(get, path = "/api/v1/work-records/samples/{id}", tag = "work-records",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Sample), (status = 404, body = ErrorBody)))]
pub async fn sample_get(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Sample>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let s = sample_load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AppJson(s))
}

/// The finding on one sampled record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInput {
    pub record_id: Uuid,
    /// `conforming` or `nonconforming`.
    pub finding: String,
    #[serde(default)]
    pub notes: String,
}

/// Mark a sampled record checked with a finding (once; by the regulator
/// that drew the sample).
#[utoipa::path(post, path = "/api/v1/work-records/samples/{id}/checks", tag = "work-records",
    params(("id" = Uuid, Path)), request_body = CheckInput,
    responses((status = 201, body = Sample), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
      (status = 422, body = ErrorBody)))]
pub async fn sample_check(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<CheckInput>,
) -> Result<(StatusCode, AppJson<Sample>)> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let sample = check_finding(&mut tx, &ctx, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(sample)))
}

/// Records the finding on one sampled record in the caller's transaction:
/// once (the key), by the regulator that drew the sample (its policy).
pub async fn check_finding(
    tx: &mut sqlx::PgConnection,
    ctx: &Ctx,
    id: Uuid,
    input: &CheckInput,
) -> Result<Sample> {
    let mut errors = Vec::new();
    if !matches!(input.finding.as_str(), "conforming" | "nonconforming") {
        errors.push(FieldError::new(
            "finding",
            "invalid",
            "结论应为 conforming（符合）或 nonconforming（不符合）",
            "finding must be conforming or nonconforming",
        ));
    }
    if input.notes.chars().count() > 2000 {
        errors.push(FieldError::new(
            "notes",
            "too_long",
            "不能超过 2000 字",
            "At most 2000 characters",
        ));
    } else if input.finding == "nonconforming" && input.notes.trim().is_empty() {
        errors.push(FieldError::new(
            "notes",
            "required",
            "不符合时须说明情况",
            "Say what does not conform",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let sample = sample_load(&mut *tx, id).await?;
    if sample.regulator_id != ctx.org_id {
        return Err(AppError::forbidden(
            "只有抽查的监管部门可以记录核查结论",
            "Only the regulator that drew the sample records findings",
        ));
    }
    if !sample
        .records
        .iter()
        .any(|r| r.record_id == input.record_id)
    {
        return Err(AppError::field(
            "record_id",
            "not_sampled",
            "该记录不在本次抽查中",
            "The record is not in this sample",
        ));
    }
    let done = sqlx::query(
        "insert into record_sample_check (sample_id, record_id, station_id, finding, notes, checked_by)
         values ($1, $2, $3, $4, $5, $6) on conflict do nothing",
    )
    .bind(id)
    .bind(input.record_id)
    .bind(sample.station_id)
    .bind(&input.finding)
    .bind(input.notes.trim())
    .bind(ctx.user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(AppError::Conflict {
            code: "already_checked",
            zh: "该记录已有核查结论".into(),
            en: "The record already has a finding".into(),
        });
    }
    audit::record(
        &mut *tx,
        ctx,
        Event::new("work_record.sample_check", "record_sample", id).after(&serde_json::json!({
            "record_id": input.record_id, "finding": input.finding,
        })),
    )
    .await?;
    sample_load(&mut *tx, id).await
}

/// A record to link to a violation case as evidence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseRecordInput {
    pub record_id: Uuid,
}

/// The records linked to a violation case (R19.1), in the order linked.
#[utoipa::path(get, path = "/api/v1/violation-cases/{id}/records", tag = "work-records",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<RecordRow>), (status = 404, body = ErrorBody)))]
pub async fn case_records(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<Vec<RecordRow>>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let rows = store::case_records(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AppJson(rows))
}

/// Link a record of the case's station to the case as evidence (R19.1):
/// by the regulator that opened the case; once per record.
#[utoipa::path(post, path = "/api/v1/violation-cases/{id}/records", tag = "work-records",
    params(("id" = Uuid, Path)), request_body = CaseRecordInput,
    responses((status = 201, body = Vec<RecordRow>), (status = 403, body = ErrorBody),
      (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn case_record_link(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppJson(input): AppJson<CaseRecordInput>,
) -> Result<(StatusCode, AppJson<Vec<RecordRow>>)> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let rows = link_case_record(&mut tx, &ctx, id, input.record_id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(rows)))
}

/// Links a record of the case's station to the case in the caller's
/// transaction (R19.1): by the regulator that opened it, once per record.
pub async fn link_case_record(
    tx: &mut sqlx::PgConnection,
    ctx: &Ctx,
    id: Uuid,
    record_id: Uuid,
) -> Result<Vec<RecordRow>> {
    let case: Option<(Uuid, Uuid)> =
        sqlx::query_as("select station_id, regulator_id from violation_case where case_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((station, regulator)) = case else {
        return Err(AppError::NotFound);
    };
    if regulator != ctx.org_id {
        return Err(AppError::forbidden(
            "只有立案的监管部门可以关联证据",
            "Only the regulator that opened the case links evidence",
        ));
    }
    let record: Option<Uuid> = sqlx::query_scalar(
        "select station_id from work_record where record_id = $1 and station_id = $2",
    )
    .bind(record_id)
    .bind(station)
    .fetch_optional(&mut *tx)
    .await?;
    if record.is_none() {
        return Err(AppError::field(
            "record_id",
            "not_of_station",
            "该记录不属于本案的计量站",
            "The record is not one of the case's station's",
        ));
    }
    let done = sqlx::query(
        "insert into violation_case_record (case_id, record_id, station_id, linked_by)
         values ($1, $2, $3, $4) on conflict do nothing",
    )
    .bind(id)
    .bind(record_id)
    .bind(station)
    .bind(ctx.user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(AppError::Conflict {
            code: "already_linked",
            zh: "该记录已是本案证据".into(),
            en: "The record is already evidence in this case".into(),
        });
    }
    audit::record(
        &mut *tx,
        ctx,
        Event::new("violation_case.link_record", "violation_case", id)
            .after(&serde_json::json!({"record_id": record_id})),
    )
    .await?;
    store::case_records(&mut *tx, id).await
}
