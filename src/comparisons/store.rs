//! Comparisons in the database (R9.2): opened by a head station or a
//! regulator, values sealed by row policies until the organizer closes
//! submission, En computed by the pure rule and stored with the report.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::*;
use crate::audit::{self, Event};
use crate::auth::{Ctx, OrgKind, Role};
use crate::error::{AppError, FieldError, Result};
use crate::rules::comparison::en_number;
use crate::rules::Message;

/// At most this many participants in one comparison.
pub const MAX_PARTICIPANTS: usize = 200;

/// Who may organize (Art 3, 9): a national head station's staff, SAMR's
/// or a provincial regulator's reviewers and approvers.
pub async fn may_organize(conn: &mut PgConnection, ctx: &Ctx) -> Result<bool> {
    Ok(match ctx.org_kind {
        OrgKind::Station if ctx.has(Role::Staff) || ctx.has(Role::Admin) => {
            let tier: Option<String> =
                sqlx::query_scalar("select tier from station where station_id = $1")
                    .bind(ctx.org_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            tier.as_deref() == Some("national_head")
        }
        OrgKind::Regulator if ctx.has(Role::Reviewer) || ctx.has(Role::Approver) => {
            let level: Option<String> = sqlx::query_scalar(
                "select regulator_level from organization where organization_id = $1",
            )
            .bind(ctx.org_id)
            .fetch_optional(&mut *conn)
            .await?;
            matches!(level.as_deref(), Some("national" | "provincial"))
        }
        _ => false,
    })
}

/// Stations holding an active authorized item whose name contains `item`
/// (the public directory, R8.5), optionally of one field; by code, capped.
pub async fn candidates(
    conn: &mut PgConnection,
    item: &str,
    field: &str,
    limit: i64,
) -> Result<Vec<Candidate>> {
    let item = item.trim();
    if item.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(
        "select distinct on (s.code) s.station_id, s.code, o.name, s.field, i.name as item, i.range_text
           from authorization_item i
           join station_authorization a on a.authorization_id = i.authorization_id and a.status = 'active'
           join station s on s.station_id = i.station_id
           join organization o on o.organization_id = s.station_id
          where i.name ilike $1 and ($2 = '' or s.field = $2)
          order by s.code, i.name limit $3",
    )
    .bind(crate::web::like_pattern(item))
    .bind(field.trim())
    .bind(limit.clamp(1, 500))
    .fetch_all(&mut *conn)
    .await?)
}

fn required(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Opens a comparison with its participants (R9.2).
pub async fn create(conn: &mut PgConnection, ctx: &Ctx, input: &ComparisonInput) -> Result<Uuid> {
    if !may_organize(conn, ctx).await? {
        return Err(AppError::forbidden(
            "只有国家专业计量站总站、市场监管总局或省级市场监管部门可以组织计量比对",
            "Only a national head station, SAMR or a provincial regulator organizes comparisons",
        ));
    }
    let mut errors = Vec::new();
    for (field, value) in [
        ("title", &input.title),
        ("item", &input.item),
        ("measurand", &input.measurand),
        ("unit", &input.unit),
        ("transfer_standard", &input.transfer_standard),
    ] {
        if required(value).is_none() {
            errors.push(FieldError::required(field));
        }
    }
    crate::web::check_lengths(
        &[
            ("title", input.title.as_deref(), 200),
            ("field", input.field.as_deref(), 100),
            ("item", input.item.as_deref(), 200),
            ("measurand", input.measurand.as_deref(), 200),
            ("unit", input.unit.as_deref(), 32),
            ("transfer_standard", input.transfer_standard.as_deref(), 500),
            ("schedule_notes", input.schedule_notes.as_deref(), 2000),
        ],
        &mut errors,
    );
    let today = crate::web::today();
    match input.results_due_on {
        None => errors.push(FieldError::required("results_due_on")),
        Some(d) if d < today => errors.push(FieldError::new(
            "results_due_on",
            "past",
            "结果提交截止日期不能早于今天",
            "The deadline for results cannot be in the past",
        )),
        d => crate::web::check_date("results_due_on", d, &mut errors),
    }
    if input.pilot_station_id.is_none() {
        errors.push(FieldError::new(
            "pilot_station_id",
            "required",
            "请选择主导实验室",
            "Choose the pilot laboratory",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if input.participants.len() < 2 {
        errors.push(FieldError::new(
            "participants",
            "too_few",
            "比对至少需要两个参比实验室",
            "A comparison needs at least two participants",
        ));
    } else if input.participants.len() > MAX_PARTICIPANTS {
        errors.push(FieldError::new(
            "participants",
            "too_many",
            format!("参比实验室至多 {MAX_PARTICIPANTS} 个"),
            format!("At most {MAX_PARTICIPANTS} participants"),
        ));
    }
    for p in &input.participants {
        if !seen.insert(p.station_id) {
            errors.push(FieldError::new(
                "participants",
                "duplicate",
                "同一计量站只能参加一次",
                "A station takes part once",
            ));
            break;
        }
        crate::web::check_date("participants", p.receive_on, &mut errors);
        crate::web::check_date("participants", p.return_on, &mut errors);
        if let (Some(a), Some(b)) = (p.receive_on, p.return_on) {
            if b < a {
                errors.push(FieldError::new(
                    "participants",
                    "circulation",
                    "传递标准的送出日期不能早于接收日期",
                    "The transfer standard leaves a participant after it arrives",
                ));
                break;
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    // Each participant holds an active authorized item matching the item
    // (R9.2 "among stations of its field"); the pilot is a station.
    let item = required(&input.item).unwrap_or_default();
    let ids: Vec<Uuid> = input.participants.iter().map(|p| p.station_id).collect();
    let matching: Vec<Uuid> = sqlx::query_scalar("select comparison_matching_stations($1, $2)")
        .bind(&ids)
        .bind(crate::web::like_pattern(item))
        .fetch_all(&mut *conn)
        .await?;
    let missing = ids.iter().filter(|i| !matching.contains(i)).count();
    if missing > 0 {
        return Err(AppError::field(
            "participants",
            "no_matching_item",
            format!("{missing} 个所选计量站没有与“{item}”相符的有效授权项目"),
            format!("{missing} chosen station(s) hold no active authorized item matching “{item}”"),
        ));
    }
    let pilot = input.pilot_station_id.unwrap_or_default();
    if !ids.contains(&pilot) {
        return Err(AppError::field(
            "pilot_station_id",
            "not_participant",
            "主导实验室应为参比实验室之一",
            "The pilot laboratory is one of the participants",
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into comparison (comparison_id, organizer_id, title, field, item, measurand, unit,
            pilot_station_id, transfer_standard, schedule_notes, results_due_on, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id)
    .bind(ctx.org_id)
    .bind(required(&input.title))
    .bind(input.field.as_deref().unwrap_or("").trim())
    .bind(item)
    .bind(required(&input.measurand))
    .bind(required(&input.unit))
    .bind(pilot)
    .bind(required(&input.transfer_standard))
    .bind(input.schedule_notes.as_deref().unwrap_or("").trim())
    .bind(input.results_due_on)
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    for (n, p) in input.participants.iter().enumerate() {
        sqlx::query(
            "insert into comparison_participant (comparison_id, station_id, lab_code, receive_on, return_on)
             values ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(p.station_id)
        .bind(format!("P{:02}", n + 1))
        .bind(p.receive_on)
        .bind(p.return_on)
        .execute(&mut *conn)
        .await?;
    }
    let organizer = crate::orgs::store::org_name(&mut *conn, ctx.org_id).await?;
    let note = crate::notifications::Note::new("comparison.opened", format!("/comparisons/{id}"))
        .p("title", required(&input.title).unwrap_or_default())
        .p("organizer", organizer)
        .p("item", item)
        .p(
            "due",
            input
                .results_due_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
        );
    crate::notifications::send(conn, &ids, &note).await?;
    audit::record(
        conn,
        ctx,
        Event::new("comparison.open", "comparison", id).after(&serde_json::json!({
            "title": input.title, "item": item, "participants": ids, "pilot": pilot,
            "results_due_on": input.results_due_on,
        })),
    )
    .await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct HeadRow {
    comparison_id: Uuid,
    organizer_id: Uuid,
    organizer_name: String,
    title: String,
    field: String,
    item: String,
    measurand: String,
    unit: String,
    pilot_station_id: Uuid,
    pilot_name: String,
    transfer_standard: String,
    schedule_notes: String,
    results_due_on: NaiveDate,
    state: String,
    reference_value: Option<f64>,
    reference_uncertainty: Option<f64>,
    reference_method: Option<String>,
    reference_note: String,
    closed_at: Option<DateTime<Utc>>,
    draft_a_at: Option<DateTime<Utc>>,
    final_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    version: i32,
    my_role: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PartRow {
    station_id: Uuid,
    code: String,
    name: String,
    lab_code: String,
    receive_on: Option<NaiveDate>,
    return_on: Option<NaiveDate>,
    submitted_at: Option<DateTime<Utc>>,
    change_reason: Option<String>,
    in_reference: bool,
    en: Option<f64>,
    satisfactory: Option<bool>,
    corrective_action: Option<String>,
    follow_up: Option<String>,
    follow_up_inspection_id: Option<Uuid>,
    version: i32,
}

#[derive(sqlx::FromRow)]
struct ResRow {
    result_id: Uuid,
    station_id: Uuid,
    value: f64,
    uncertainty: f64,
    coverage_factor: f64,
    notes: String,
    status: String,
    created_at: DateTime<Utc>,
}

/// One comparison as the caller may see it (404 otherwise). Values come
/// through the sealing policy: what the caller may not see is absent.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Comparison> {
    let h: HeadRow = sqlx::query_as(
        "select c.comparison_id, c.organizer_id,
                coalesce((select name from comparison_party(c.comparison_id, c.organizer_id)), '') as organizer_name,
                c.title, c.field, c.item, c.measurand, c.unit, c.pilot_station_id,
                coalesce((select name from comparison_party(c.comparison_id, c.pilot_station_id)), '') as pilot_name,
                c.transfer_standard,
                c.schedule_notes, c.results_due_on, c.state, c.reference_value, c.reference_uncertainty,
                c.reference_method, c.reference_note, c.closed_at, c.draft_a_at, c.final_at, c.created_at,
                c.version, comparison_role(c.comparison_id) as my_role
           from comparison c
          where c.comparison_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    let parts: Vec<PartRow> = sqlx::query_as(
        "select p.station_id, coalesce(n.code, '') as code, coalesce(n.name, '') as name, p.lab_code,
                p.receive_on, p.return_on, p.submitted_at, p.change_reason, p.in_reference, p.en,
                p.satisfactory, p.corrective_action, p.follow_up, p.follow_up_inspection_id, p.version
           from comparison_participant p
           left join lateral comparison_party(p.comparison_id, p.station_id) n on true
          where p.comparison_id = $1 order by p.lab_code",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let results: Vec<ResRow> = sqlx::query_as(
        "select result_id, station_id, value, uncertainty, coverage_factor, notes, status, created_at
           from comparison_result where comparison_id = $1 and status in ('current', 'pending')",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let result_ids: Vec<Uuid> = results.iter().map(|r| r.result_id).collect();
    #[derive(sqlx::FromRow)]
    struct OwnedDoc {
        owner_id: Uuid,
        #[sqlx(flatten)]
        doc: crate::standards::documents::DocumentInfo,
    }
    let docs: Vec<OwnedDoc> = sqlx::query_as(
        "select owner_id, document_id as id, filename, content_type, size_bytes, sha256, created_at, doc_type
           from document
          where (owner_type = 'comparison_result' and owner_id = any($1))
             or (owner_type = 'comparison' and owner_id = $2)
          order by created_at",
    )
    .bind(&result_ids)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let docs_of = |owner: Uuid| -> Vec<crate::standards::documents::DocumentInfo> {
        docs.iter()
            .filter(|d| d.owner_id == owner)
            .map(|d| d.doc.clone())
            .collect()
    };
    let value_of = |r: &ResRow| ResultValue {
        id: r.result_id,
        value: r.value,
        uncertainty: r.uncertainty,
        coverage_factor: r.coverage_factor,
        notes: r.notes.clone(),
        status: r.status.clone(),
        created_at: r.created_at,
        documents: docs_of(r.result_id),
    };
    let participants = parts
        .into_iter()
        .map(|p| Participant {
            result: results
                .iter()
                .find(|r| r.station_id == p.station_id && r.status == "current")
                .map(value_of),
            pending: results
                .iter()
                .find(|r| r.station_id == p.station_id && r.status == "pending")
                .map(value_of),
            station_id: p.station_id,
            station_code: p.code,
            station_name: p.name,
            lab_code: p.lab_code,
            receive_on: p.receive_on,
            return_on: p.return_on,
            submitted: p.submitted_at.is_some(),
            submitted_at: p.submitted_at,
            change_reason: p.change_reason,
            in_reference: p.in_reference,
            en: p.en,
            satisfactory: p.satisfactory,
            corrective_action: p.corrective_action,
            follow_up: p.follow_up,
            follow_up_inspection_id: p.follow_up_inspection_id,
            version: p.version,
        })
        .collect();
    // The reference value is the organizer's until Draft A.
    let shown = h.my_role.as_deref() == Some("organizer")
        || matches!(h.state.as_str(), "draft_a" | "final");
    Ok(Comparison {
        id: h.comparison_id,
        organizer_id: h.organizer_id,
        organizer_name: h.organizer_name,
        title: h.title,
        field: h.field,
        item: h.item,
        measurand: h.measurand,
        unit: h.unit,
        pilot_station_id: h.pilot_station_id,
        pilot_name: h.pilot_name,
        transfer_standard: h.transfer_standard,
        schedule_notes: h.schedule_notes,
        results_due_on: h.results_due_on,
        state: h.state,
        reference_value: h.reference_value.filter(|_| shown),
        reference_uncertainty: h.reference_uncertainty.filter(|_| shown),
        reference_method: h.reference_method.filter(|_| shown),
        reference_note: if shown {
            h.reference_note
        } else {
            String::new()
        },
        closed_at: h.closed_at,
        draft_a_at: h.draft_a_at,
        final_at: h.final_at,
        created_at: h.created_at,
        version: h.version,
        my_role: h.my_role.unwrap_or_default(),
        participants,
        documents: docs_of(id),
    })
}

/// The comparisons the caller may see, newest first (keyset on the id).
pub async fn list(
    conn: &mut PgConnection,
    state: Option<&str>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ComparisonRow>> {
    Ok(sqlx::query_as(
        "select c.comparison_id as id, c.title, c.item,
                coalesce((select name from comparison_party(c.comparison_id, c.organizer_id)), '') as organizer_name,
                c.state, c.results_due_on,
                (select count(*) from comparison_participant p where p.comparison_id = c.comparison_id) as participants,
                (select count(*) from comparison_participant p where p.comparison_id = c.comparison_id
                   and p.submitted_at is not null) as submitted
           from comparison c
          where ($1::text is null or c.state = $1) and ($2::uuid is null or c.comparison_id < $2)
          order by c.comparison_id desc limit $3",
    )
    .bind(state)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

fn conflict(code: &'static str, zh: &str, en: &str) -> AppError {
    AppError::Conflict {
        code,
        zh: zh.into(),
        en: en.into(),
    }
}

/// A value, its U and k as typed: finite, U > 0, 0 < k ≤ 10 (R9.2).
fn check_value(input: &StepInput, errors: &mut Vec<FieldError>) -> Option<(f64, f64, f64)> {
    let x = match input.value {
        Some(v) if v.is_finite() => Some(v),
        Some(_) => {
            errors.push(FieldError::new(
                "value",
                "not_finite",
                "测量结果应为有限数值",
                "The value is a finite number",
            ));
            None
        }
        None => {
            errors.push(FieldError::required("value"));
            None
        }
    };
    let u = match input.uncertainty {
        Some(v) if v.is_finite() && v > 0.0 => Some(v),
        Some(_) => {
            errors.push(FieldError::new(
                "uncertainty",
                "positive",
                "扩展不确定度 U 应为大于零的数值",
                "The expanded uncertainty U is a number above zero",
            ));
            None
        }
        None => {
            errors.push(FieldError::required("uncertainty"));
            None
        }
    };
    let k = match input.coverage_factor.unwrap_or(2.0) {
        k if k.is_finite() && k > 0.0 && k <= 10.0 => Some(k),
        _ => {
            errors.push(FieldError::new(
                "coverage_factor",
                "range",
                "包含因子 k 应在 0 到 10 之间（通常为 2）",
                "The coverage factor k is between 0 and 10 (usually 2)",
            ));
            None
        }
    };
    crate::web::check_lengths(&[("notes", input.notes.as_deref(), 2000)], errors);
    match (x, u, k) {
        (Some(x), Some(u), Some(k)) if errors.is_empty() => Some((x, u, k)),
        _ => None,
    }
}

/// The organizer's steps: its staff or admin (a head station), its
/// reviewers or approvers (a regulator), as for opening one.
fn organizer_only(ctx: &Ctx, c: &Comparison) -> Result<()> {
    let role_ok = match ctx.org_kind {
        OrgKind::Station => ctx.has(Role::Staff) || ctx.has(Role::Admin),
        _ => ctx.has(Role::Reviewer) || ctx.has(Role::Approver),
    };
    if c.my_role != "organizer" || !role_ok {
        return Err(AppError::forbidden(
            "只有比对组织方的工作人员（审查员、审批人）可以办理此步骤",
            "Only the organizer's staff (reviewers, approvers) take this step",
        ));
    }
    Ok(())
}

/// R9.2 takes expanded uncertainties at k = 2: a value given at another
/// coverage factor is brought to it (U·2/k).
fn u_at_k2(r: &ResultValue) -> f64 {
    r.uncertainty * 2.0 / r.coverage_factor
}

fn check_version(expected: Option<i32>, actual: i32) -> Result<()> {
    let v = crate::web::need_version(expected)?;
    if v != actual {
        return Err(AppError::stale());
    }
    Ok(())
}

/// The steps: submit, change, decide, close, reference, final, cancel,
/// corrective, follow_up. Each in the caller's transaction, audited.
pub async fn step(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    step: &str,
    input: &StepInput,
) -> Result<()> {
    // One step at a time on a comparison, whoever takes it (a submission
    // racing the closing, a decision racing Draft A): a transaction lock
    // on its id, which every party may take.
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1::text, 17))")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let c = get(conn, id).await?;
    let own = c.participants.iter().find(|p| p.station_id == ctx.org_id);
    let station_actor = ctx.has(Role::Staff) || ctx.has(Role::Admin);
    match step {
        "submit" | "change" => {
            let Some(p) = own else {
                return Err(AppError::forbidden(
                    "只有参比实验室可以提交比对结果",
                    "Only a participant submits results",
                ));
            };
            if !station_actor {
                return Err(AppError::forbidden(
                    "须由本站工作人员提交",
                    "A staff member of the station submits",
                ));
            }
            if c.state != "open" {
                return Err(conflict(
                    "not_open",
                    "比对已截止提交，不能再提交或更改结果",
                    "Submission is closed: results can no longer be submitted or changed",
                ));
            }
            let mut errors = Vec::new();
            let v = check_value(input, &mut errors);
            let reason = input
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty());
            if step == "change" {
                crate::web::check_lengths(
                    &[("reason", input.reason.as_deref(), 2000)],
                    &mut errors,
                );
                if reason.is_none() {
                    errors.push(FieldError::new(
                        "reason",
                        "required",
                        "更改已提交的结果须说明理由",
                        "Say why the submitted result changes",
                    ));
                }
            }
            if !errors.is_empty() {
                return Err(AppError::Validation(errors));
            }
            let (x, u, k) = v.unwrap_or_default();
            let status = if step == "submit" {
                "current"
            } else {
                "pending"
            };
            if step == "submit" && p.submitted {
                return Err(conflict(
                    "already_submitted",
                    "本站已提交结果；如需更改，请提出更改申请并说明理由",
                    "This station has submitted; to change the value, request a change with a reason",
                ));
            }
            if step == "change" && !p.submitted {
                return Err(conflict(
                    "not_submitted",
                    "尚未提交结果，请直接提交",
                    "Nothing is submitted yet: submit the result",
                ));
            }
            let rid = Uuid::now_v7();
            // One current result, one pending change: unique indexes, so
            // 50 identical submissions store one (the rest: 409).
            sqlx::query(
                "insert into comparison_result (result_id, comparison_id, station_id, value, uncertainty,
                    coverage_factor, notes, status, created_by)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(rid)
            .bind(id)
            .bind(ctx.org_id)
            .bind(x)
            .bind(u)
            .bind(k)
            .bind(input.notes.as_deref().unwrap_or("").trim())
            .bind(status)
            .bind(ctx.user_id)
            .execute(&mut *conn)
            .await?;
            // The participant row says that a value came (or a change
            // was asked for, with its reason), never the value.
            sqlx::query(
                "update comparison_participant
                    set submitted_at = case when $3 then now() else submitted_at end,
                        change_reason = case when $3 then change_reason else $4 end,
                        change_requested_at = case when $3 then change_requested_at else now() end,
                        version = version + 1
                  where comparison_id = $1 and station_id = $2",
            )
            .bind(id)
            .bind(ctx.org_id)
            .bind(step == "submit")
            .bind(reason)
            .execute(&mut *conn)
            .await?;
            // The audit keeps the fact, not the sealed value.
            audit::record(
                conn,
                ctx,
                Event::new(
                    if step == "submit" {
                        "comparison.submit"
                    } else {
                        "comparison.change_request"
                    },
                    "comparison_result",
                    rid,
                )
                .after(&serde_json::json!({"comparison": id, "reason": reason})),
            )
            .await?;
        }
        "decide" => {
            organizer_only(ctx, &c)?;
            let Some(station) = input.station_id else {
                return Err(AppError::Validation(vec![FieldError::required(
                    "station_id",
                )]));
            };
            let Some(accept) = input.accept else {
                return Err(AppError::field(
                    "accept",
                    "required",
                    "请选择同意或不同意更改",
                    "Choose to accept or refuse the change",
                ));
            };
            let p = c
                .participants
                .iter()
                .find(|p| p.station_id == station)
                .ok_or(AppError::NotFound)?;
            check_version(input.version, p.version)?;
            let mut errors = Vec::new();
            crate::web::check_lengths(&[("reason", input.reason.as_deref(), 2000)], &mut errors);
            if !errors.is_empty() {
                return Err(AppError::Validation(errors));
            }
            if !matches!(c.state.as_str(), "open" | "closed") {
                return Err(conflict(
                    "not_open",
                    "报告已起草，不能再更改结果",
                    "The report is drafted: results no longer change",
                ));
            }
            let note: String = input.reason.as_deref().unwrap_or("").trim().to_owned();
            let decided: bool =
                sqlx::query_scalar("select comparison_decide_change($1, $2, $3, $4, $5)")
                    .bind(id)
                    .bind(station)
                    .bind(accept)
                    .bind(ctx.user_id)
                    .bind(&note)
                    .fetch_one(&mut *conn)
                    .await?;
            if !decided {
                return Err(conflict(
                    "no_pending_change",
                    "该参比实验室没有待决定的更改申请",
                    "This participant has no change to decide",
                ));
            }
            audit::record(
                conn,
                ctx,
                Event::new("comparison.change_decide", "comparison", id).after(
                    &serde_json::json!({"station": station, "accept": accept, "note": note}),
                ),
            )
            .await?;
        }
        "close" | "cancel" => {
            organizer_only(ctx, &c)?;
            check_version(input.version, c.version)?;
            let from: &[&str] = if step == "close" {
                &["open"]
            } else {
                &["open", "closed"]
            };
            if !from.contains(&c.state.as_str()) {
                return Err(conflict(
                    "wrong_state",
                    "比对当前阶段不能办理此步骤",
                    "The comparison is not at a stage for this step",
                ));
            }
            if step == "close" && !c.participants.iter().any(|p| p.submitted) {
                return Err(conflict(
                    "no_results",
                    "尚无参比实验室提交结果，不能截止",
                    "No participant has submitted: nothing to close",
                ));
            }
            let (state, at) = if step == "close" {
                ("closed", "closed_at = now(),")
            } else {
                ("cancelled", "")
            };
            let n = sqlx::query(&format!(
                "update comparison set state = $3, {at} updated_at = now(), version = version + 1
                  where comparison_id = $1 and version = $2"
            ))
            .bind(id)
            .bind(c.version)
            .bind(state)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(AppError::stale());
            }
            audit::record(
                conn,
                ctx,
                Event::new(
                    if step == "close" {
                        "comparison.close"
                    } else {
                        "comparison.cancel"
                    },
                    "comparison",
                    id,
                )
                .before(&serde_json::json!({"state": c.state}))
                .after(&serde_json::json!({"state": state, "reason": input.reason})),
            )
            .await?;
        }
        "reference" | "final" => {
            organizer_only(ctx, &c)?;
            check_version(input.version, c.version)?;
            let ok = if step == "reference" {
                matches!(c.state.as_str(), "closed" | "draft_a")
            } else {
                c.state == "draft_a"
            };
            if !ok {
                return Err(conflict(
                    "wrong_state",
                    if step == "reference" {
                        "截止提交后才能确定参考值"
                    } else {
                        "发出报告征求意见稿（Draft A）后才能发布正式报告"
                    },
                    if step == "reference" {
                        "The reference value is set after submission closes"
                    } else {
                        "The final report follows Draft A"
                    },
                ));
            }
            if c.participants.iter().any(|p| p.change_reason.is_some()) {
                return Err(conflict(
                    "change_pending",
                    "尚有参比实验室的更改申请未决定，请先决定后再出具报告",
                    "A participant's change request is undecided: decide it first",
                ));
            }
            let (xref, uref, method, chosen) = if step == "reference" {
                reference_of(&c, input)?
            } else {
                (
                    c.reference_value.unwrap_or_default(),
                    c.reference_uncertainty.unwrap_or_default(),
                    c.reference_method.clone().unwrap_or_default(),
                    c.participants
                        .iter()
                        .filter(|p| p.in_reference)
                        .map(|p| p.station_id)
                        .collect(),
                )
            };
            // R9.2: En of each submitted result by the pure rule, stored
            // with the report (the participants' and regulators' view).
            for p in &c.participants {
                let (en, ok) = match &p.result {
                    Some(r) => {
                        let v = en_number(r.value, u_at_k2(r), xref, uref).map_err(|e| {
                            AppError::field(
                                "reference_uncertainty",
                                "en_undefined",
                                e.message(crate::rules::Lang::Zh),
                                e.message(crate::rules::Lang::En),
                            )
                        })?;
                        (Some(v.en()), Some(v.is_satisfactory()))
                    }
                    None => (None, None),
                };
                sqlx::query(
                    "update comparison_participant set en = $3, satisfactory = $4, in_reference = $5,
                        version = version + 1
                      where comparison_id = $1 and station_id = $2",
                )
                .bind(id)
                .bind(p.station_id)
                .bind(en)
                .bind(ok)
                .bind(chosen.contains(&p.station_id))
                .execute(&mut *conn)
                .await?;
            }
            let note = input.notes.as_deref().map(str::trim);
            let n = sqlx::query(
                "update comparison set reference_value = $3, reference_uncertainty = $4, reference_method = $5,
                    reference_note = coalesce($6, reference_note),
                    state = $7,
                    draft_a_at = case when $7 = 'draft_a' then now() else draft_a_at end,
                    final_at = case when $7 = 'final' then now() else final_at end,
                    updated_at = now(), version = version + 1
                  where comparison_id = $1 and version = $2",
            )
            .bind(id)
            .bind(c.version)
            .bind(xref)
            .bind(uref)
            .bind(&method)
            .bind(note)
            .bind(if step == "reference" { "draft_a" } else { "final" })
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(AppError::stale());
            }
            // Draft A to the participants; the final report to them and
            // their authorizing regulators.
            let mut to: Vec<Uuid> = c.participants.iter().map(|p| p.station_id).collect();
            if step == "final" {
                let regulators: Vec<Uuid> = sqlx::query_scalar("select comparison_regulators($1)")
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await?;
                to.extend(regulators);
            }
            let note = crate::notifications::Note::new(
                if step == "reference" {
                    "comparison.draft_a"
                } else {
                    "comparison.final"
                },
                format!("/comparisons/{id}"),
            )
            .p("title", &c.title)
            .p("version", c.version + 1);
            crate::notifications::send(conn, &to, &note).await?;
            audit::record(
                conn,
                ctx,
                Event::new(
                    if step == "reference" {
                        "comparison.draft_a"
                    } else {
                        "comparison.final"
                    },
                    "comparison",
                    id,
                )
                .after(&serde_json::json!({
                    "reference_value": xref, "reference_uncertainty": uref, "method": method,
                    "reference_stations": chosen,
                })),
            )
            .await?;
        }
        "corrective" => {
            let Some(p) = own else {
                return Err(AppError::NotFound);
            };
            if !station_actor {
                return Err(AppError::forbidden(
                    "须由本站工作人员填写",
                    "A staff member of the station writes it",
                ));
            }
            check_version(input.version, p.version)?;
            if !(c.state == "final" && p.satisfactory == Some(false)) {
                return Err(conflict(
                    "not_unsatisfactory",
                    "只有正式报告中结果不满意的参比实验室需说明原因和整改措施",
                    "Only an unsatisfactory result in the final report calls for corrective action",
                ));
            }
            let text = input
                .corrective_action
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty());
            let mut errors = Vec::new();
            crate::web::check_lengths(
                &[(
                    "corrective_action",
                    input.corrective_action.as_deref(),
                    2000,
                )],
                &mut errors,
            );
            if text.is_none() {
                errors.push(FieldError::new(
                    "corrective_action",
                    "required",
                    "请说明原因分析和纠正措施",
                    "Describe the causes found and the corrective action",
                ));
            }
            if !errors.is_empty() {
                return Err(AppError::Validation(errors));
            }
            participant_update(
                conn,
                id,
                p.station_id,
                p.version,
                "corrective_action = $4",
                text,
            )
            .await?;
            audit::record(
                conn,
                ctx,
                Event::new("comparison.corrective_action", "comparison", id)
                    .after(&serde_json::json!({"station": p.station_id, "text": text})),
            )
            .await?;
        }
        "follow_up" => {
            // R9.2 → R17: the participant's authorizing regulator follows up
            // an unsatisfactory result: an inspection, or noted.
            if c.my_role != "regulator"
                && !(c.my_role == "organizer" && ctx.org_kind == OrgKind::Regulator)
            {
                return Err(AppError::forbidden(
                    "只有参比实验室的授权机关可以跟进不满意结果",
                    "Only the participant's authorizing regulator follows up",
                ));
            }
            if !(ctx.has(Role::Reviewer) || ctx.has(Role::Approver) || ctx.has(Role::Inspector)) {
                return Err(AppError::forbidden(
                    "须由审查员或审批人办理",
                    "A reviewer or approver follows up",
                ));
            }
            let Some(station) = input.station_id else {
                return Err(AppError::Validation(vec![FieldError::required(
                    "station_id",
                )]));
            };
            let p = c
                .participants
                .iter()
                .find(|p| p.station_id == station)
                .ok_or(AppError::NotFound)?;
            check_version(input.version, p.version)?;
            let authorizer: Option<Uuid> = sqlx::query_scalar(
                "select authorizing_regulator_id from station where station_id = $1",
            )
            .bind(station)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
            if authorizer != Some(ctx.org_id) {
                return Err(AppError::forbidden(
                    "只有该计量站的授权机关可以跟进",
                    "Only the station's authorizing regulator follows up",
                ));
            }
            if !(c.state == "final" && p.satisfactory == Some(false)) || p.follow_up.is_some() {
                return Err(conflict(
                    "nothing_to_follow",
                    "该结果无需跟进或已跟进",
                    "This result needs no follow-up or has one",
                ));
            }
            let how = input.follow_up.as_deref().unwrap_or("");
            let inspection = match how {
                "inspection" => {
                    let plan = crate::supervision::model::PlanInput {
                        station_id: Some(station),
                        planned_on: input.planned_on,
                        inspectors: vec![ctx.user_id],
                    };
                    Some(crate::supervision::store::plan(conn, ctx, &plan).await?.id)
                }
                "noted" => None,
                _ => {
                    return Err(AppError::field(
                        "follow_up",
                        "required",
                        "请选择跟进方式：安排检查或记录已知悉",
                        "Choose how to follow up: plan an inspection, or note it",
                    ))
                }
            };
            let n = sqlx::query(
                "update comparison_participant set follow_up = $4, follow_up_inspection_id = $5,
                    version = version + 1
                  where comparison_id = $1 and station_id = $2 and version = $3",
            )
            .bind(id)
            .bind(station)
            .bind(p.version)
            .bind(how)
            .bind(inspection)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(AppError::stale());
            }
            audit::record(
                conn,
                ctx,
                Event::new("comparison.follow_up", "comparison", id).after(
                    &serde_json::json!({"station": station, "how": how, "inspection": inspection}),
                ),
            )
            .await?;
        }
        _ => return Err(AppError::NotFound),
    }
    Ok(())
}

async fn participant_update(
    conn: &mut PgConnection,
    id: Uuid,
    station: Uuid,
    version: i32,
    set: &str,
    value: Option<&str>,
) -> Result<()> {
    let n = sqlx::query(&format!(
        "update comparison_participant set {set}, version = version + 1
          where comparison_id = $1 and station_id = $2 and version = $3"
    ))
    .bind(id)
    .bind(station)
    .bind(version)
    .bind(value)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::stale());
    }
    Ok(())
}

/// The reference value X_ref and U_ref: assigned, or the arithmetic mean
/// of chosen participants' values with U_ref = sqrt(ΣU²)/n (uncorrelated
/// results, documented in the report).
fn reference_of(c: &Comparison, input: &StepInput) -> Result<(f64, f64, String, Vec<Uuid>)> {
    let mut errors = Vec::new();
    crate::web::check_lengths(&[("notes", input.notes.as_deref(), 2000)], &mut errors);
    let method = input.method.as_deref().unwrap_or("");
    let out = match method {
        "assigned" => {
            let x = input.reference_value.filter(|v| v.is_finite());
            let u = input
                .reference_uncertainty
                .filter(|v| v.is_finite() && *v >= 0.0);
            if x.is_none() {
                errors.push(FieldError::new(
                    "reference_value",
                    "required",
                    "请填写参考值 X_ref（有限数值）",
                    "Give the reference value X_ref (a finite number)",
                ));
            }
            if u.is_none() {
                errors.push(FieldError::new(
                    "reference_uncertainty",
                    "required",
                    "请填写参考值的扩展不确定度 U_ref（不小于零）",
                    "Give U_ref, the reference value's expanded uncertainty (zero or more)",
                ));
            }
            (
                x.unwrap_or_default(),
                u.unwrap_or_default(),
                "assigned".to_owned(),
                Vec::new(),
            )
        }
        "participants" => {
            let chosen: Vec<&ResultValue> = c
                .participants
                .iter()
                .filter(|p| input.reference_stations.contains(&p.station_id))
                .filter_map(|p| p.result.as_ref())
                .collect();
            if chosen.len() < 2 || chosen.len() != input.reference_stations.len() {
                errors.push(FieldError::new(
                    "reference_stations",
                    "too_few",
                    "请选择至少两个已提交结果的参比实验室计算参考值",
                    "Choose at least two participants with results to derive the reference",
                ));
                (0.0, 0.0, "participants".to_owned(), Vec::new())
            } else {
                let n = chosen.len() as f64;
                let x = chosen.iter().map(|r| r.value).sum::<f64>() / n;
                let u = chosen
                    .iter()
                    .map(|r| u_at_k2(r).powi(2))
                    .sum::<f64>()
                    .sqrt()
                    / n;
                (
                    x,
                    u,
                    "participants".to_owned(),
                    input.reference_stations.clone(),
                )
            }
        }
        _ => {
            errors.push(FieldError::new(
                "method",
                "required",
                "请选择参考值的确定方式",
                "Choose how the reference value is set",
            ));
            (0.0, 0.0, String::new(), Vec::new())
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(out)
}

/// Stores the plan (organizer) or a result's report (its station) as a
/// document of the comparison, sniffed like every upload.
pub async fn upload(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    filename: &str,
    bytes: &[u8],
) -> Result<crate::standards::documents::DocumentInfo> {
    let content_type = crate::standards::documents::sniff(filename, bytes)?;
    let c = get(conn, id).await?;
    let (station, owner_type, owner) = if c.my_role == "organizer" {
        organizer_only(ctx, &c)?;
        if matches!(c.state.as_str(), "final" | "cancelled") {
            return Err(conflict(
                "closed",
                "正式报告发布后不能再添加文件",
                "No documents after the final report",
            ));
        }
        (c.pilot_station_id, "comparison", id)
    } else {
        let p = c
            .participants
            .iter()
            .find(|p| p.station_id == ctx.org_id)
            .ok_or_else(|| {
                AppError::forbidden(
                    "只有组织方或参比实验室可以上传文件",
                    "Only the organizer or a participant uploads",
                )
            })?;
        if c.state != "open" {
            return Err(conflict(
                "not_open",
                "比对已截止提交",
                "Submission is closed",
            ));
        }
        let r = p.pending.as_ref().or(p.result.as_ref()).ok_or_else(|| {
            conflict(
                "not_submitted",
                "请先提交结果，再上传结果报告",
                "Submit the result before its report",
            )
        })?;
        (ctx.org_id, "comparison_result", r.id)
    };
    crate::standards::documents::insert_document(
        conn,
        ctx,
        station,
        owner_type,
        owner,
        None,
        filename,
        content_type,
        bytes,
    )
    .await
}
