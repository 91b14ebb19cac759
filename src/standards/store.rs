//! SQL for standards, traceability, change requests, staff and
//! qualifications. Every function runs in the caller's tenant transaction;
//! who may do what is checked here and again by row-level security.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::model::*;
use crate::audit::{self, Event};
use crate::auth::{Ctx, OrgKind, Role};
use crate::error::{text_limit, AppError, FieldError, Result};
use crate::web::{today, Paging};

/// The caller's own station, or a refusal: only a station keeps its registry (R9.1).
pub fn own_station(ctx: &Ctx) -> Result<Uuid> {
    if ctx.org_kind == OrgKind::Station {
        Ok(ctx.org_id)
    } else {
        Err(AppError::forbidden(
            "只有计量站本身维护其计量标准和人员资质登记（R9.1）",
            "Only the station itself keeps its registry of standards and qualifications (R9.1)",
        ))
    }
}

const STANDARD_SELECT: &str =
    "select m.standard_id, m.station_id, so.name as station_name, m.kind, m.name,
       m.range_text, m.accuracy_text, m.main_equipment, m.specification, m.responsible_person,
       m.location, m.environment, m.status, m.cert_number, m.cert_issuer_id,
       io.name as cert_issuer_name, m.cert_issued_on, m.cert_expires_on, m.version,
       (select t.due_on from traceability_record t where t.standard_id = m.standard_id
         order by t.calibrated_on desc, t.created_at desc limit 1) as traceability_due_on
  from measurement_standard m
  join organization so on so.organization_id = m.station_id
  left join organization io on io.organization_id = m.cert_issuer_id";

#[derive(sqlx::FromRow)]
pub(super) struct StandardRow {
    standard_id: Uuid,
    station_id: Uuid,
    station_name: String,
    kind: String,
    name: String,
    range_text: String,
    accuracy_text: String,
    main_equipment: String,
    specification: String,
    responsible_person: String,
    location: String,
    environment: String,
    status: String,
    cert_number: String,
    cert_issuer_id: Uuid,
    cert_issuer_name: Option<String>,
    cert_issued_on: NaiveDate,
    cert_expires_on: NaiveDate,
    version: i32,
    traceability_due_on: Option<NaiveDate>,
}

impl StandardRow {
    pub(super) fn into_model(self, today: NaiveDate) -> Standard {
        let status = StandardStatus::parse(&self.status).unwrap_or(StandardStatus::InService);
        Standard {
            warnings: standard_warnings(
                status,
                self.cert_issued_on,
                self.cert_expires_on,
                self.traceability_due_on,
                today,
            ),
            id: self.standard_id,
            station_id: self.station_id,
            station_name: self.station_name,
            kind: StandardKind::parse(&self.kind).unwrap_or(StandardKind::Professional),
            name: self.name,
            range_text: self.range_text,
            accuracy_text: self.accuracy_text,
            main_equipment: self.main_equipment,
            specification: self.specification,
            responsible_person: self.responsible_person,
            location: self.location,
            environment: self.environment,
            status,
            cert_number: self.cert_number,
            cert_issuer_id: self.cert_issuer_id,
            cert_issuer_name: self.cert_issuer_name.unwrap_or_default(),
            cert_issued_on: self.cert_issued_on,
            cert_expires_on: self.cert_expires_on,
            traceability_due_on: self.traceability_due_on,
            version: self.version,
        }
    }
}

/// Filters of the standards list.
#[derive(Debug, Clone, Default)]
pub struct StandardFilter {
    pub station_id: Option<Uuid>,
    pub status: Option<StandardStatus>,
    pub kind: Option<StandardKind>,
    pub q: Option<String>,
    /// Only standards with a warning.
    pub warnings_only: bool,
    /// The stations a station caller sees ([`station_scope`]), as an
    /// explicit filter the planner can read.
    pub scope: Option<Vec<Uuid>>,
}

/// A station's visible stations (itself and any branches it heads): a
/// handful, read before the list so the planner knows them and uses the
/// per-station indexes instead of walking every station's rows in name
/// order (issue 14). `None` for other callers.
pub async fn station_scope(conn: &mut PgConnection, ctx: &Ctx) -> Result<Option<Vec<Uuid>>> {
    if ctx.org_kind != crate::auth::OrgKind::Station {
        return Ok(None);
    }
    Ok(Some(
        sqlx::query_scalar("select distinct station_id from station_access where org_id = $1")
            .bind(ctx.org_id)
            .fetch_all(conn)
            .await?,
    ))
}

fn push_visible(qb: &mut QueryBuilder<Postgres>, ctx: &Ctx) {
    // The national regulator sees every station (migration 18): no hash of
    // its station ids to build.
    qb.push(" and ((select app_sees_all_stations()) or m.station_id in (select a.station_id from station_access a where a.org_id = ")
        .push_bind(ctx.org_id)
        .push("))");
}

/// Every visible standard matching `f`, in list order, handed to `sink`
/// one at a time as the database sends them (exports: memory stays flat
/// however many rows there are).
pub async fn standards_each(
    conn: &mut PgConnection,
    ctx: &Ctx,
    f: &StandardFilter,
    mut sink: impl FnMut(Standard) -> Result<()>,
) -> Result<()> {
    use futures_util::TryStreamExt;
    let mut qb = standards_query(ctx, f);
    let today = today();
    let mut rows = qb.build_query_as::<StandardRow>().fetch(&mut *conn);
    while let Some(r) = rows.try_next().await? {
        let s = r.into_model(today);
        if !f.warnings_only || !s.warnings.is_empty() {
            sink(s)?;
        }
    }
    Ok(())
}

/// Standards of the stations the caller may see (R3.2 for head stations).
/// Warnings are computed on today's date; `warnings_only` filters after.
pub async fn standards_list(
    conn: &mut PgConnection,
    ctx: &Ctx,
    f: &StandardFilter,
    paging: Paging,
) -> Result<(Vec<Standard>, i64)> {
    let today = today();
    crate::db::custom_plans(&mut *conn).await?;
    let scoped;
    let f = if f.station_id.is_none() && f.scope.is_none() {
        scoped = StandardFilter {
            scope: station_scope(&mut *conn, ctx).await?,
            ..f.clone()
        };
        &scoped
    } else {
        f
    };
    if !f.warnings_only {
        // Issue 14: the page and the count in SQL; the sort is a top-N of
        // the visible rows, not a sort of all of them.
        // The count reads the standards alone: every filter is on `m`, and
        // the station's and issuer's names change no count.
        let mut count = QueryBuilder::new("select count(*) from measurement_standard m where true");
        push_filters(&mut count, ctx, f);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
        let mut qb = standards_query(ctx, f);
        qb.push(" limit ")
            .push_bind(paging.per_page)
            .push(" offset ")
            .push_bind(paging.offset());
        let rows: Vec<StandardRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
        return Ok((
            rows.into_iter().map(|r| r.into_model(today)).collect(),
            total,
        ));
    }
    let mut qb = standards_query(ctx, f);
    let rows: Vec<StandardRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
    let all: Vec<Standard> = rows
        .into_iter()
        .map(|r| r.into_model(today))
        .filter(|s| !f.warnings_only || !s.warnings.is_empty())
        .collect();
    let total = all.len() as i64;
    let page = all
        .into_iter()
        .skip(paging.offset() as usize)
        .take(paging.per_page as usize)
        .collect();
    Ok((page, total))
}

/// The list query: visible standards matching `f`, in list order.
pub(super) fn standards_query<'a>(ctx: &Ctx, f: &StandardFilter) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::new(format!("{STANDARD_SELECT} where true"));
    push_filters(&mut qb, ctx, f);
    qb.push(" order by so.name collate zh_pinyin, m.name collate zh_pinyin, m.standard_id");
    qb
}

/// The list's conditions: visible, then `f`'s filters.
fn push_filters(qb: &mut QueryBuilder<'_, Postgres>, ctx: &Ctx, f: &StandardFilter) {
    push_visible(qb, ctx);
    if let Some(s) = f.station_id {
        qb.push(" and m.station_id = ").push_bind(s);
    }
    if let Some(ids) = &f.scope {
        qb.push(" and m.station_id = any(")
            .push_bind(ids.clone())
            .push(")");
    }
    if let Some(s) = f.status {
        qb.push(" and m.status = ").push_bind(s.as_str());
    }
    if let Some(k) = f.kind {
        qb.push(" and m.kind = ").push_bind(k.as_str());
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let like = crate::web::like_pattern(q);
        qb.push(" and (m.name ilike ")
            .push_bind(like.clone())
            .push(" or m.cert_number ilike ")
            .push_bind(like)
            .push(")");
    }
}

/// One visible standard, or `NotFound`.
pub async fn standard_get(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<Standard> {
    let mut qb = QueryBuilder::new(format!("{STANDARD_SELECT} where m.standard_id = "));
    qb.push_bind(id);
    push_visible(&mut qb, ctx);
    let row: Option<StandardRow> = qb.build_query_as().fetch_optional(conn).await?;
    row.map(|r| r.into_model(today())).ok_or(AppError::NotFound)
}

async fn check_issuer(conn: &mut PgConnection, id: Uuid) -> Result<bool> {
    let kind: Option<String> =
        sqlx::query_scalar("select kind from organization where organization_id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(kind.as_deref() == Some("regulator"))
}

/// Inserts validated standards of the caller's station (one or many: the
/// import uses this with thousands); returns their ids.
pub async fn standards_insert(
    conn: &mut PgConnection,
    station: Uuid,
    items: &[ValidStandard],
) -> Result<Vec<Uuid>> {
    let ids: Vec<Uuid> = items.iter().map(|_| Uuid::now_v7()).collect();
    macro_rules! col {
        ($f:ident) => {
            items.iter().map(|s| s.$f.clone()).collect::<Vec<_>>()
        };
    }
    let kinds: Vec<&str> = items.iter().map(|s| s.kind.as_str()).collect();
    sqlx::query(
        "insert into measurement_standard (standard_id, station_id, kind, name, range_text, accuracy_text,
           main_equipment, specification, responsible_person, location, environment, cert_number,
           cert_issuer_id, cert_issued_on, cert_expires_on)
         select u.id, $1, u.kind, u.name, u.range_text, u.accuracy_text, u.main_equipment, u.specification,
                u.responsible_person, u.location, u.environment, u.cert_number, u.issuer, u.issued, u.expires
           from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                       $9::text[], $10::text[], $11::text[], $12::text[], $13::uuid[], $14::date[], $15::date[])
             as u(id, kind, name, range_text, accuracy_text, main_equipment, specification,
                  responsible_person, location, environment, cert_number, issuer, issued, expires)",
    )
    .bind(station)
    .bind(&ids)
    .bind(&kinds)
    .bind(col!(name))
    .bind(col!(range_text))
    .bind(col!(accuracy_text))
    .bind(col!(main_equipment))
    .bind(col!(specification))
    .bind(col!(responsible_person))
    .bind(col!(location))
    .bind(col!(environment))
    .bind(col!(cert_number))
    .bind(col!(cert_issuer_id))
    .bind(col!(cert_issued_on))
    .bind(col!(cert_expires_on))
    .execute(conn)
    .await?;
    Ok(ids)
}

/// Registers a standard of the caller's station, audited.
pub async fn standard_create(
    conn: &mut PgConnection,
    ctx: &Ctx,
    input: &StandardInput,
) -> Result<Standard> {
    let station = own_station(ctx)?;
    let valid = validate_new(input).map_err(AppError::Validation)?;
    if !check_issuer(conn, valid.cert_issuer_id).await? {
        return Err(AppError::field(
            "cert_issuer_id",
            "not_regulator",
            "发证机关须为市场监督管理部门",
            "The issuer must be a market regulator",
        ));
    }
    let id = standards_insert(conn, station, std::slice::from_ref(&valid)).await?[0];
    let created = standard_get(conn, ctx, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new("standard.create", "measurement_standard", id).after(&created),
    )
    .await?;
    Ok(created)
}

/// R16.3: a standard belongs to one station; transfer, loan and lease are
/// not operations. Records the attempt (the caller commits it) and returns
/// the refusal to send.
pub async fn refuse_transfer(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    what: &str,
) -> Result<AppError> {
    standard_get(conn, ctx, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new("standard.transfer_refused", "measurement_standard", id)
            .after(&json!({ "attempted": what, "rule": "R16.3" })),
    )
    .await?;
    Ok(AppError::Forbidden {
        zh: "计量标准归属于一个计量站，不得出租、出借或转让；本系统不提供此操作（R16.3）。此次尝试已记录。".into(),
        en: "A measurement standard belongs to one station and may not be leased, lent or transferred; the system offers no such operation (R16.3). The attempt was recorded.".into(),
    })
}

/// Updates the directly editable fields (name, certificate). A change of a
/// protected field is refused with the rule that governs it (R12.4, R16.1, R16.2).
pub async fn standard_update(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i32,
    input: &StandardInput,
) -> Result<Standard> {
    let before = standard_get(conn, ctx, id).await?;
    if before.station_id != ctx.org_id {
        return Err(AppError::forbidden(
            "只有计量站本身维护其计量标准登记（R9.1）",
            "Only the station itself keeps its registry (R9.1)",
        ));
    }
    let mut errors = Vec::new();
    // R12.1, R12.4: the certificate is the issuer's act; its number, issuer
    // and dates change only through an approved change request.
    let issuer = input.cert_issuer_id.map(|u| u.to_string());
    let issued = input.cert_issued_on.map(|d| d.to_string());
    let expires = input.cert_expires_on.map(|d| d.to_string());
    let given: [(&str, &Option<String>); 13] = [
        ("kind", &input.kind),
        ("range_text", &input.range_text),
        ("accuracy_text", &input.accuracy_text),
        ("main_equipment", &input.main_equipment),
        ("specification", &input.specification),
        ("responsible_person", &input.responsible_person),
        ("location", &input.location),
        ("environment", &input.environment),
        ("status", &input.status),
        ("cert_number", &input.cert_number),
        ("cert_issuer_id", &issuer),
        ("cert_issued_on", &issued),
        ("cert_expires_on", &expires),
    ];
    for (field, value) in given {
        if let Some(v) = value {
            let now = before.field(field).unwrap_or_default();
            let normalized = check_field(field, v).unwrap_or_else(|_| v.trim().to_owned());
            if normalized != now {
                let rule = match (field, before.kind) {
                    ("status", _) => "R16.2",
                    ("location" | "main_equipment", StandardKind::Primary) => "R16.1",
                    (f, _) if f.starts_with("cert_") => "R12.1、R12.4",
                    _ => "R12.4",
                };
                errors.push(FieldError::new(
                    field,
                    "change_request_required",
                    format!(
                        "“{}”只能通过经发证机关批准的变更申请修改（{rule}）",
                        field_label(field, crate::i18n::Lang::Zh)
                    ),
                    format!(
                        "“{}” changes only through a change request approved by the issuer ({})",
                        field_label(field, crate::i18n::Lang::En),
                        rule.replace('、', ", ")
                    ),
                ));
            }
        }
    }
    let name = match input.name.as_deref().map(str::trim) {
        Some("") => {
            errors.push(FieldError::required("name"));
            before.name.clone()
        }
        Some(n) => n.to_owned(),
        None => before.name.clone(),
    };
    crate::web::check_lengths(
        &[(
            "name",
            Some(&name),
            text_limit("measurement_standard", "name"),
        )],
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let done = sqlx::query(
        "update measurement_standard set name = $3, version = version + 1, updated_at = now()
         where standard_id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&name)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::stale());
    }
    let after = standard_get(conn, ctx, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new("standard.update", "measurement_standard", id)
            .before(&before)
            .after(&after),
    )
    .await?;
    Ok(after)
}

/// Traceability records of a standard, newest first.
pub async fn traceability_list(
    conn: &mut PgConnection,
    standard: Uuid,
) -> Result<Vec<TraceabilityRecord>> {
    Ok(sqlx::query_as(
        "select traceability_record_id as id, standard_id, calibrated_on, provider, certificate_number, due_on
           from traceability_record where standard_id = $1 order by calibrated_on desc, created_at desc",
    )
    .bind(standard)
    .fetch_all(conn)
    .await?)
}

/// Records a calibration of the caller's standard (R16.4), audited.
pub async fn traceability_add(
    conn: &mut PgConnection,
    ctx: &Ctx,
    standard: Uuid,
    input: &TraceabilityInput,
) -> Result<TraceabilityRecord> {
    let s = standard_get(conn, ctx, standard).await?;
    if s.station_id != own_station(ctx)? {
        return Err(AppError::NotFound);
    }
    let mut errors = Vec::new();
    let provider = input
        .provider
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if provider.is_none() {
        errors.push(FieldError::required("provider"));
    }
    let number = input
        .certificate_number
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if number.is_none() {
        errors.push(FieldError::required("certificate_number"));
    }
    if input.calibrated_on.is_none() {
        errors.push(FieldError::required("calibrated_on"));
    }
    if input.due_on.is_none() {
        errors.push(FieldError::required("due_on"));
    }
    crate::web::check_date("calibrated_on", input.calibrated_on, &mut errors);
    crate::web::check_date("due_on", input.due_on, &mut errors);
    crate::web::check_lengths(
        &[
            (
                "provider",
                provider,
                text_limit("traceability_record", "provider"),
            ),
            (
                "certificate_number",
                number,
                text_limit("traceability_record", "certificate_number"),
            ),
        ],
        &mut errors,
    );
    if let (Some(c), Some(d)) = (input.calibrated_on, input.due_on) {
        if d <= c {
            errors.push(FieldError::new(
                "due_on",
                "before_calibration",
                "下次溯源日期须晚于本次校准日期",
                "The due date must be after the calibration date",
            ));
        }
        if c > today() {
            errors.push(FieldError::new(
                "calibrated_on",
                "future",
                "校准日期不能晚于今天",
                "The calibration date cannot be in the future",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into traceability_record (traceability_record_id, standard_id, station_id, calibrated_on,
           provider, certificate_number, due_on, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(standard)
    .bind(s.station_id)
    .bind(input.calibrated_on)
    .bind(provider)
    .bind(number)
    .bind(input.due_on)
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    let rec = TraceabilityRecord {
        id,
        standard_id: standard,
        calibrated_on: input.calibrated_on.unwrap_or_default(),
        provider: provider.unwrap_or_default().to_owned(),
        certificate_number: number.unwrap_or_default().to_owned(),
        due_on: input.due_on.unwrap_or_default(),
    };
    audit::record(
        conn,
        ctx,
        Event::new("traceability.create", "traceability_record", id).after(&rec),
    )
    .await?;
    Ok(rec)
}

// ------------------------------------------------------------ change requests

const CHANGE_SELECT: &str =
    "select r.change_request_id, r.station_id, so.name as station_name, r.standard_id,
       m.name as standard_name, r.change_kind, r.reason, r.changes, r.decider_org_id,
       d.name as decider_name, r.state, r.proposal, r.proposal_note, r.decision_note, r.drafted_by,
       r.proposed_by, r.decided_by, r.created_at, r.submitted_at, r.decided_at, r.version
  from standard_change_request r
  join organization so on so.organization_id = r.station_id
  join measurement_standard m on m.standard_id = r.standard_id
  left join organization d on d.organization_id = r.decider_org_id";

#[derive(sqlx::FromRow)]
struct ChangeRow {
    change_request_id: Uuid,
    station_id: Uuid,
    station_name: String,
    standard_id: Uuid,
    standard_name: String,
    change_kind: String,
    reason: String,
    changes: serde_json::Value,
    decider_org_id: Uuid,
    decider_name: Option<String>,
    state: String,
    proposal: Option<String>,
    proposal_note: Option<String>,
    decision_note: Option<String>,
    drafted_by: Uuid,
    proposed_by: Option<Uuid>,
    decided_by: Option<Uuid>,
    created_at: chrono::DateTime<chrono::Utc>,
    submitted_at: Option<chrono::DateTime<chrono::Utc>>,
    decided_at: Option<chrono::DateTime<chrono::Utc>>,
    version: i32,
}

impl ChangeRow {
    fn into_model(self) -> ChangeRequest {
        let map: BTreeMap<String, FieldChange> =
            serde_json::from_value(self.changes).unwrap_or_default();
        let mut changes: Vec<(String, FieldChange)> = map.into_iter().collect();
        changes.sort_by_key(|(f, _)| PROTECTED_FIELDS.iter().position(|(p, _, _)| p == f));
        ChangeRequest {
            id: self.change_request_id,
            station_id: self.station_id,
            station_name: self.station_name,
            standard_id: self.standard_id,
            standard_name: self.standard_name,
            change_kind: ChangeKind::parse(&self.change_kind).unwrap_or(ChangeKind::Equipment),
            reason: self.reason,
            changes,
            decider_org_id: self.decider_org_id,
            decider_name: self.decider_name.unwrap_or_default(),
            state: ChangeState::parse(&self.state).unwrap_or(ChangeState::Draft),
            proposal: self.proposal,
            proposal_note: self.proposal_note,
            decision_note: self.decision_note,
            drafted_by: self.drafted_by,
            proposed_by: self.proposed_by,
            decided_by: self.decided_by,
            created_at: self.created_at,
            submitted_at: self.submitted_at,
            decided_at: self.decided_at,
            version: self.version,
        }
    }
}

/// Filters of the change request queue.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    pub state: Option<ChangeState>,
    pub kind: Option<ChangeKind>,
    pub station_id: Option<Uuid>,
    pub standard_id: Option<Uuid>,
}

fn push_change_visible(qb: &mut QueryBuilder<Postgres>, ctx: &Ctx) {
    // The station and those who see it; the deciding regulator. A deciding
    // regulator does not see drafts.
    qb.push(" and (exists (select 1 from station_access a where a.station_id = r.station_id and a.org_id = ")
        .push_bind(ctx.org_id)
        .push(" and (a.relation = 'self' or r.state <> 'draft')) or (r.decider_org_id = ")
        .push_bind(ctx.org_id)
        .push(" and r.state <> 'draft'))");
}

fn push_change_filter(qb: &mut QueryBuilder<Postgres>, f: &ChangeFilter) {
    if let Some(s) = f.state {
        qb.push(" and r.state = ").push_bind(s.as_str());
    }
    if let Some(k) = f.kind {
        qb.push(" and r.change_kind = ").push_bind(k.as_str());
    }
    if let Some(s) = f.station_id {
        qb.push(" and r.station_id = ").push_bind(s);
    }
    if let Some(s) = f.standard_id {
        qb.push(" and r.standard_id = ").push_bind(s);
    }
}

/// The caller's queue of change requests, one page, and counts by state.
pub async fn changes_list(
    conn: &mut PgConnection,
    ctx: &Ctx,
    f: &ChangeFilter,
    paging: Paging,
) -> Result<(Vec<ChangeRequest>, i64, Vec<(String, i64)>)> {
    let mut qb = QueryBuilder::new(format!("{CHANGE_SELECT} where true"));
    push_change_visible(&mut qb, ctx);
    push_change_filter(&mut qb, f);
    qb.push(" order by r.updated_at desc limit ")
        .push_bind(paging.per_page)
        .push(" offset ")
        .push_bind(paging.offset());
    let rows: Vec<ChangeRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
    let mut count =
        QueryBuilder::new("select r.state, count(*) from standard_change_request r where true");
    push_change_visible(&mut count, ctx);
    push_change_filter(
        &mut count,
        &ChangeFilter {
            state: None,
            ..f.clone()
        },
    );
    count.push(" group by r.state");
    let counts: Vec<(String, i64)> = count.build_query_as().fetch_all(&mut *conn).await?;
    let total = counts
        .iter()
        .filter(|(s, _)| f.state.is_none_or(|want| want.as_str() == s))
        .map(|(_, n)| n)
        .sum();
    Ok((
        rows.into_iter().map(ChangeRow::into_model).collect(),
        total,
        counts,
    ))
}

/// One visible change request, or `NotFound`.
pub async fn change_get(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<ChangeRequest> {
    let mut qb = QueryBuilder::new(format!("{CHANGE_SELECT} where r.change_request_id = "));
    qb.push_bind(id);
    push_change_visible(&mut qb, ctx);
    let row: Option<ChangeRow> = qb.build_query_as().fetch_optional(conn).await?;
    row.map(ChangeRow::into_model).ok_or(AppError::NotFound)
}

/// Drafts a change request for the caller's standard (R12.4), audited. The
/// deciding regulator is the certificate's issuer.
pub async fn change_create(
    conn: &mut PgConnection,
    ctx: &Ctx,
    standard: Uuid,
    input: &ChangeRequestInput,
) -> Result<ChangeRequest> {
    let s = standard_get(conn, ctx, standard).await?;
    if s.station_id != own_station(ctx)? {
        return Err(AppError::NotFound);
    }
    let (kind, reason, changes) = validate_change(&s, input).map_err(AppError::Validation)?;
    let map: BTreeMap<&str, &FieldChange> = changes.iter().map(|(f, c)| (f.as_str(), c)).collect();
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into standard_change_request (change_request_id, station_id, standard_id, change_kind,
           reason, changes, decider_org_id, drafted_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(s.station_id)
    .bind(standard)
    .bind(kind.as_str())
    .bind(&reason)
    .bind(serde_json::to_value(&map).map_err(anyhow::Error::from)?)
    .bind(s.cert_issuer_id)
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    let created = change_get(conn, ctx, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new("change_request.draft", "standard_change_request", id).after(&created),
    )
    .await?;
    Ok(created)
}

/// The steps of the change request state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Submit,
    Withdraw,
    Propose,
    Confirm,
    SendBack,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Submit => "submit",
            Step::Withdraw => "withdraw",
            Step::Propose => "propose",
            Step::Confirm => "confirm",
            Step::SendBack => "send_back",
        }
    }
}

fn illegal(state: ChangeState, step: Step) -> AppError {
    AppError::Conflict {
        code: "illegal_transition",
        zh: format!(
            "该申请当前为“{}”，不能执行此操作（可能已被他人处理，请刷新）",
            state.label(crate::i18n::Lang::Zh)
        ),
        en: format!(
            "The request is {}; “{}” is not possible now (someone may have acted first; reload)",
            state.label(crate::i18n::Lang::En).to_lowercase(),
            step.as_str()
        ),
    }
}

/// Moves a change request one step, checking role, state and version; an
/// approval applies the change to the standard in the same transaction.
pub async fn change_step(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    step: Step,
    input: &ChangeStep,
) -> Result<ChangeRequest> {
    let before = change_get(conn, ctx, id).await?;
    let version = crate::web::need_version(input.version)?;
    let is_station = ctx.org_id == before.station_id;
    let is_decider = ctx.org_id == before.decider_org_id && ctx.org_kind == OrgKind::Regulator;
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let (from, to): (&[ChangeState], ChangeState) = match step {
        Step::Submit if is_station => (&[ChangeState::Draft], ChangeState::Submitted),
        Step::Withdraw if is_station => (
            &[ChangeState::Draft, ChangeState::Submitted],
            ChangeState::Withdrawn,
        ),
        Step::Propose if is_decider && ctx.has(Role::Reviewer) => {
            (&[ChangeState::Submitted], ChangeState::Proposed)
        }
        Step::Confirm | Step::SendBack if is_decider && ctx.has(Role::Approver) => {
            (&[ChangeState::Proposed], ChangeState::Approved)
        }
        _ => {
            return Err(AppError::forbidden(
                match step {
                    Step::Submit | Step::Withdraw => "只有申请的计量站可以提交或撤回",
                    Step::Propose => "只有发证机关的审查员可以提出审查意见",
                    Step::Confirm | Step::SendBack => "只有发证机关的审批人可以审批",
                },
                match step {
                    Step::Submit | Step::Withdraw => {
                        "Only the requesting station may submit or withdraw"
                    }
                    Step::Propose => "Only a reviewer of the issuing regulator may propose",
                    Step::Confirm | Step::SendBack => {
                        "Only an approver of the issuing regulator may decide"
                    }
                },
            ))
        }
    };
    if !from.contains(&before.state) || before.version != version {
        return Err(
            if before.version != version && from.contains(&before.state) {
                AppError::stale()
            } else {
                illegal(before.state, step)
            },
        );
    }
    let mut to = to;
    let mut proposal = before.proposal.clone();
    match step {
        Step::Propose => {
            let decision = input.decision.as_deref().unwrap_or("");
            if decision != "approve" && decision != "refuse" {
                return Err(AppError::field(
                    "decision",
                    "invalid",
                    "请选择“同意”或“不同意”",
                    "Choose approve or refuse",
                ));
            }
            if decision == "refuse" && note.is_none() {
                return Err(AppError::field(
                    "note",
                    "required",
                    "不同意时须说明理由",
                    "Give the reasons for refusal",
                ));
            }
            proposal = Some(decision.to_owned());
        }
        Step::Confirm => {
            // Four eyes: the approver confirms someone else's proposal.
            if before.proposed_by == Some(ctx.user_id) {
                return Err(AppError::forbidden(
                    "审查意见须由另一人审批（双人复核）",
                    "Four eyes: the approver must be someone other than the proposer",
                ));
            }
            if proposal.as_deref() == Some("refuse") {
                to = ChangeState::Refused;
            }
        }
        Step::SendBack => {
            to = ChangeState::Submitted;
            if note.is_none() {
                return Err(AppError::field(
                    "note",
                    "required",
                    "退回时须说明理由",
                    "Say why it goes back",
                ));
            }
            proposal = None;
        }
        _ => {}
    }
    let done = sqlx::query(
        "update standard_change_request set state = $3, proposal = $4,
           submitted_at = case when $3 = 'submitted' and submitted_at is null then now() else submitted_at end,
           proposed_by = case when $5 = 'propose' then $6 when $5 = 'send_back' then null else proposed_by end,
           proposed_at = case when $5 = 'propose' then now() when $5 = 'send_back' then null else proposed_at end,
           proposal_note = case when $5 = 'propose' then $7 else proposal_note end,
           decided_by = case when $5 = 'confirm' then $6 else decided_by end,
           decided_at = case when $5 = 'confirm' then now() else decided_at end,
           decision_note = case when $5 in ('confirm', 'send_back') then $7 else decision_note end,
           version = version + 1, updated_at = now()
         where change_request_id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(to.as_str())
    .bind(&proposal)
    .bind(step.as_str())
    .bind(ctx.user_id)
    .bind(&note)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::stale());
    }
    if to == ChangeState::Approved {
        apply_change(conn, &before).await?;
    }
    let after = change_get(conn, ctx, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new(
            match (step, to) {
                (Step::Confirm, ChangeState::Approved) => "change_request.approve",
                (Step::Confirm, _) => "change_request.refuse",
                (Step::Submit, _) => "change_request.submit",
                (Step::Withdraw, _) => "change_request.withdraw",
                (Step::Propose, _) => "change_request.propose",
                (Step::SendBack, _) => "change_request.send_back",
            },
            "standard_change_request",
            id,
        )
        .before(&json!({ "state": before.state, "version": before.version }))
        .after(&json!({ "state": after.state, "proposal": after.proposal, "note": note })),
    )
    .await?;
    Ok(after)
}

/// The cast a protected field's text value needs in SQL.
fn column_cast(field: &str) -> &'static str {
    match field {
        "cert_issued_on" | "cert_expires_on" => "::date",
        "cert_issuer_id" => "::uuid",
        _ => "",
    }
}

/// Applies an approved request: each field must still hold its "before"
/// value, else the standard changed meanwhile and nothing is applied.
async fn apply_change(conn: &mut PgConnection, req: &ChangeRequest) -> Result<()> {
    sqlx::query("select set_config('app.applying_change', $1, true)")
        .bind(req.id.to_string())
        .execute(&mut *conn)
        .await?;
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("update measurement_standard set ");
    for (field, change) in &req.changes {
        // Field names come from PROTECTED_FIELDS (validated at drafting).
        if !PROTECTED_FIELDS.iter().any(|(f, _, _)| f == field) {
            return Err(
                anyhow::anyhow!("unknown field {field} in change request {}", req.id).into(),
            );
        }
        qb.push(format!("{field} = "))
            .push_bind(change.after.clone())
            .push(column_cast(field))
            .push(", ");
    }
    qb.push("version = version + 1, updated_at = now() where standard_id = ")
        .push_bind(req.standard_id);
    for (field, change) in &req.changes {
        qb.push(format!(" and {field} = "))
            .push_bind(change.before.clone())
            .push(column_cast(field));
    }
    let done = qb.build().execute(&mut *conn).await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict {
            code: "standard_changed",
            zh: "自申请起草以来该计量标准已发生变化，无法按原申请变更；请不予批准并重新起草".into(),
            en: "The standard changed since the request was drafted; refuse it and draft a new one"
                .into(),
        });
    }
    sqlx::query("select set_config('app.applying_change', '', true)")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ------------------------------------------------------------ staff

/// Staff of the stations the caller may see (or of one station).
pub async fn staff_list(
    conn: &mut PgConnection,
    ctx: &Ctx,
    station: Option<Uuid>,
    after: Option<&crate::web::Cursor>,
    limit: i64,
) -> Result<(Vec<StaffMember>, Option<crate::web::Cursor>)> {
    // Issue 14: one keyset page in pinyin order of names (index
    // staff_member_list_idx), qualifications in one query for the page.
    crate::db::custom_plans(&mut *conn).await?;
    let scope = match station {
        Some(_) => None,
        None => station_scope(&mut *conn, ctx).await?,
    };
    let rows: Vec<(Uuid, Uuid, String, String, bool, i32)> = sqlx::query_as(
        "select p.staff_member_id, p.station_id, p.name, p.title, p.active, p.version from staff_member p
          where ((select app_sees_all_stations())
                 or p.station_id in (select a.station_id from station_access a where a.org_id = $1))
            and ($2::uuid is null or p.station_id = $2)
            and ($3::text is null or (p.name collate zh_pinyin, p.staff_member_id) > ($3 collate zh_pinyin, $4))
            and ($6::uuid[] is null or p.station_id = any($6))
          order by p.name collate zh_pinyin, p.staff_member_id limit $5",
    )
    .bind(ctx.org_id)
    .bind(station)
    .bind(after.map(|c| c.key.clone()))
    .bind(after.map(|c| c.id))
    .bind(limit + 1)
    .bind(scope)
    .fetch_all(&mut *conn)
    .await?;
    let (rows, next) = crate::web::keyset_page(rows, limit, |r| crate::web::Cursor::new(&r.2, r.0));
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    type QualRow = (
        Uuid,
        Uuid,
        String,
        String,
        Vec<String>,
        NaiveDate,
        NaiveDate,
    );
    let quals: Vec<QualRow> = sqlx::query_as(
        "select qualification_id, staff_member_id, kind, certificate_number, items, issued_on, expires_on
           from qualification where staff_member_id = any($1) order by expires_on desc",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let today = today();
    let list = rows
        .into_iter()
        .map(
            |(id, station_id, name, title, active, version)| StaffMember {
                id,
                station_id,
                name,
                title,
                active,
                version,
                qualifications: quals
                    .iter()
                    .filter(|q| q.1 == id)
                    .map(|q| Qualification {
                        id: q.0,
                        kind: QualificationKind::parse(&q.2)
                            .unwrap_or(QualificationKind::VerifierCertificate),
                        certificate_number: q.3.clone(),
                        items: q.4.clone(),
                        issued_on: q.5,
                        expires_on: q.6,
                        warning: qualification_warning(q.6, today),
                    })
                    .collect(),
            },
        )
        .collect();
    Ok((list, next))
}

/// Adds a person to the caller's station, audited.
pub async fn staff_create(
    conn: &mut PgConnection,
    ctx: &Ctx,
    input: &StaffInput,
) -> Result<StaffMember> {
    let station = own_station(ctx)?;
    let name = input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let Some(name) = name else {
        return Err(AppError::Validation(vec![FieldError::required("name")]));
    };
    if name.chars().count() > 100 {
        return Err(AppError::field(
            "name",
            "length",
            "姓名不得超过 100 个字符",
            "At most 100 characters",
        ));
    }
    let title = input.title.as_deref().unwrap_or("").trim().to_owned();
    let mut errors = Vec::new();
    crate::web::check_lengths(
        &[("title", Some(&title), text_limit("staff_member", "title"))],
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = Uuid::now_v7();
    sqlx::query("insert into staff_member (staff_member_id, station_id, name, title) values ($1, $2, $3, $4)")
        .bind(id)
        .bind(station)
        .bind(name)
        .bind(&title)
        .execute(&mut *conn)
        .await?;
    let member = StaffMember {
        id,
        station_id: station,
        name: name.to_owned(),
        title,
        active: true,
        qualifications: Vec::new(),
        version: 1,
    };
    audit::record(
        conn,
        ctx,
        Event::new("staff.create", "staff_member", id).after(&member),
    )
    .await?;
    Ok(member)
}

/// Adds a qualification to a person of the caller's station, audited.
pub async fn qualification_add(
    conn: &mut PgConnection,
    ctx: &Ctx,
    person: Uuid,
    input: &QualificationInput,
) -> Result<Qualification> {
    let station = own_station(ctx)?;
    let owner: Option<Uuid> =
        sqlx::query_scalar("select station_id from staff_member where staff_member_id = $1")
            .bind(person)
            .fetch_optional(&mut *conn)
            .await?;
    if owner != Some(station) {
        return Err(AppError::NotFound);
    }
    let mut errors = Vec::new();
    if input.kind.is_none() {
        errors.push(FieldError::required("kind"));
    }
    let number = input
        .certificate_number
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if number.is_none() {
        errors.push(FieldError::required("certificate_number"));
    }
    let items: Vec<String> = input
        .items
        .iter()
        .map(|i| i.trim().to_owned())
        .filter(|i| !i.is_empty())
        .collect();
    if items.is_empty() {
        errors.push(FieldError::new(
            "items",
            "required",
            "请填写资格覆盖的项目",
            "List the items the qualification covers",
        ));
    }
    crate::web::check_lengths(
        &[(
            "certificate_number",
            number,
            text_limit("qualification", "certificate_number"),
        )],
        &mut errors,
    );
    let item_limit = text_limit("qualification", "items");
    if items.len() > 100 || items.iter().any(|i| i.chars().count() > item_limit) {
        errors.push(FieldError::new(
            "items",
            "length",
            format!("覆盖项目至多 100 项，每项不超过 {item_limit} 字"),
            format!("At most 100 items of at most {item_limit} characters each"),
        ));
    }
    crate::web::check_date("issued_on", input.issued_on, &mut errors);
    crate::web::check_date("expires_on", input.expires_on, &mut errors);
    match (input.issued_on, input.expires_on) {
        (Some(i), Some(e)) if e <= i => errors.push(FieldError::new(
            "expires_on",
            "before_issue",
            "有效期至须晚于发证日期",
            "The expiry date must be after the issue date",
        )),
        (None, _) => errors.push(FieldError::required("issued_on")),
        (_, None) => errors.push(FieldError::required("expires_on")),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = Uuid::now_v7();
    let kind = input.kind.unwrap_or(QualificationKind::VerifierCertificate);
    sqlx::query(
        "insert into qualification (qualification_id, staff_member_id, station_id, kind, certificate_number,
           items, issued_on, expires_on) values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(person)
    .bind(station)
    .bind(kind.as_str())
    .bind(number)
    .bind(&items)
    .bind(input.issued_on)
    .bind(input.expires_on)
    .execute(&mut *conn)
    .await?;
    let q = Qualification {
        id,
        kind,
        certificate_number: number.unwrap_or_default().to_owned(),
        items,
        issued_on: input.issued_on.unwrap_or_default(),
        expires_on: input.expires_on.unwrap_or_default(),
        warning: qualification_warning(input.expires_on.unwrap_or_default(), today()),
    };
    audit::record(
        conn,
        ctx,
        Event::new("qualification.create", "qualification", id).after(&q),
    )
    .await?;
    Ok(q)
}
