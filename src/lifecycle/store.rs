//! SQL and the workflow of lifecycle requests (R11.1, R13.2, R14.1–R14.2,
//! R15.1–R15.2). Every step checks the actor, the state machine
//! ([`next`]) and the version read; runs in the caller's transaction with
//! its effects; and leaves one audit event.

use chrono::{Months, NaiveDate};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::model::*;
use crate::applications::conditions::{self, How, Subject};
use crate::applications::model::ItemInput;
use crate::applications::store::{art7_problems, check_items, check_region, Art7Input};
use crate::audit::{self, Event};
use crate::auth::{Ctx, OrgKind, Role};
use crate::error::{AppError, FieldError, Result};
use crate::i18n::Lang;
use crate::notifications::Note;
use crate::rules::calendar::Calendar;
use crate::rules::conditions::{DocumentType, LegalPersonality};
use crate::rules::termination::{check_requested_end, earliest_end_date};
use crate::rules::{Message, Verdict};
use crate::web::today;

/// Working days the authorizing regulator has to decide a filed request (policy).
pub const DECISION_DAYS: u32 = 20;
/// R14.1: months before expiry a re-examination is proposed (policy).
pub const REEXAMINATION_WINDOW_MONTHS: u32 = 6;
/// R14.2: validity of a renewed authorization, in years (as R8.4).
pub const RENEWAL_YEARS: u32 = 5;

#[derive(sqlx::FromRow)]
struct Row {
    request_id: Uuid,
    kind: String,
    station_id: Uuid,
    station_name: String,
    department_id: Uuid,
    department_name: String,
    regulator_id: Uuid,
    regulator_name: String,
    authorization_id: Option<Uuid>,
    certificate_number: Option<String>,
    state: String,
    payload: Value,
    reason: String,
    filed_on: Option<NaiveDate>,
    effective_on: Option<NaiveDate>,
    assessment: Option<Value>,
    proposal: Option<String>,
    proposal_reasons: Option<String>,
    proposal_data: Option<Value>,
    proposed_by: Option<Uuid>,
    proposed_on: Option<NaiveDate>,
    returned_reasons: Option<String>,
    decided_by: Option<Uuid>,
    decided_at: Option<chrono::DateTime<chrono::Utc>>,
    new_revision: Option<i32>,
    version: i32,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    legal_person: bool,
    credit_code: Option<String>,
    parent_entity_credit_code: Option<String>,
}

const SELECT: &str = "select r.*, so.name as station_name, d.name as department_name,
       g.name as regulator_name, a.certificate_number, s.legal_person, s.credit_code,
       s.parent_entity_credit_code
  from lifecycle_request r
  join station s on s.station_id = r.station_id
  join organization so on so.organization_id = r.station_id
  join organization d on d.organization_id = r.department_id
  join organization g on g.organization_id = r.regulator_id
  left join station_authorization a on a.authorization_id = r.authorization_id";

/// Who may see a request: its station, its department, and the authorizing
/// regulator once it is filed (the same as the row policy, stated for the
/// owner-free reads here too).
const VISIBLE: &str =
    "(r.station_id = $1 or r.department_id = $1 or (r.regulator_id = $1 and r.state <> 'draft'))";

fn kind_of(row: &Row) -> Kind {
    Kind::parse(&row.kind).unwrap_or(Kind::Adjustment)
}

fn state_of(row: &Row) -> State {
    State::parse(&row.state).unwrap_or(State::Draft)
}

/// Trimmed; empty is none.
use crate::orgs::model::clean as text;

async fn load_row(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<Row> {
    let row: Option<Row> =
        sqlx::query_as(&format!("{SELECT} where r.request_id = $2 and {VISIBLE}"))
            .bind(ctx.org_id)
            .bind(id)
            .fetch_optional(conn)
            .await?;
    row.ok_or(AppError::NotFound)
}

/// The date the current step is due: a filed request within
/// [`DECISION_DAYS`] working days of filing; a scheduled re-examination on
/// its date. Past the loaded calendar years the date is provisional 暂定
/// (`true`, R18.1); `None` when nothing is due (or the calendar cannot
/// answer even provisionally).
fn due_of(cal: &Calendar, row: &Row) -> Option<(NaiveDate, bool)> {
    let kind = kind_of(row);
    match state_of(row) {
        State::Submitted | State::Proposed if kind == Kind::Reexamination => row
            .payload
            .get("scheduled_on")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .map(|d| (d, false)),
        State::Submitted | State::Proposed => {
            let filed = row.filed_on?;
            cal.or_provisional(|c| c.add_working_days(filed, DECISION_DAYS))
                .ok()
        }
        _ => None,
    }
}

/// The due date of a submitted or proposed request of `kind` (see
/// [`due_of`]), from its filing date and a re-examination's scheduled date
/// (the payload's `scheduled_on`): the task list (issue 16).
pub fn due_date_of(
    cal: &Calendar,
    kind: &str,
    filed_on: Option<NaiveDate>,
    scheduled_on: Option<NaiveDate>,
) -> Option<NaiveDate> {
    if Kind::parse(kind) == Some(Kind::Reexamination) {
        scheduled_on
    } else {
        let filed = filed_on?;
        cal.or_provisional(|c| c.add_working_days(filed, DECISION_DAYS))
            .ok()
            .map(|(d, _)| d)
    }
}

/// R18.1: after the calendar changed from `old` to `new`, the open
/// requests whose due date was provisional on `old`, with the date before
/// and after; a changed one is notified to its parties. Runs as system work
/// inside the import's transaction.
pub async fn recompute_provisional(
    conn: &mut PgConnection,
    old: &Calendar,
    new: &Calendar,
) -> Result<Vec<crate::calendar::model::RecomputedDeadline>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} where r.state in ('submitted', 'proposed') order by r.request_id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for row in &rows {
        let Some((before, true)) = due_of(old, row) else {
            continue;
        };
        let after = due_of(new, row);
        let changed = after.map(|a| a.0) != Some(before);
        let link = format!("/requests/{}", row.request_id);
        let kind = kind_of(row);
        if changed {
            let shown = after.map(|a| a.0.to_string()).unwrap_or_else(|| "—".into());
            crate::notifications::send(
                conn,
                &[row.station_id, row.department_id, row.regulator_id],
                &crate::notifications::Note::new("request.due_recomputed", link.as_str())
                    .p("station", &row.station_name)
                    .p2(
                        "kind",
                        kind.label(crate::i18n::Lang::Zh),
                        kind.label(crate::i18n::Lang::En).to_lowercase(),
                    )
                    .p("before", before)
                    .p("after", &shown),
            )
            .await?;
        }
        out.push(crate::calendar::model::RecomputedDeadline {
            kind: "lifecycle_request".into(),
            id: row.request_id,
            label: format!(
                "{}：{}",
                kind.label(crate::i18n::Lang::Zh),
                row.station_name
            ),
            link,
            step: None,
            before: Some(before),
            after: after.map(|a| a.0),
            still_provisional: after.is_some_and(|a| a.1),
            changed,
        });
    }
    Ok(out)
}

/// A request as shown; `cal` is the current calendar, loaded once by the
/// caller (a list shows many requests with one calendar).
async fn view(conn: &mut PgConnection, cal: &Calendar, row: Row) -> Result<Request> {
    let problems = if kind_of(&row) == Kind::Adjustment && state_of(&row).is_open() {
        adjustment_problems(conn, &row).await?
    } else {
        Vec::new()
    };
    Ok(view_of(cal, row, problems))
}

/// A request as shown, with the Art 7 problems its caller found (none in
/// a list).
fn view_of(
    cal: &Calendar,
    row: Row,
    problems: Vec<crate::applications::model::Problem>,
) -> Request {
    let kind = kind_of(&row);
    let state = state_of(&row);
    let due_at = due_of(cal, &row);
    let due = due_at.map(|d| d.0);
    let due_provisional = due_at.is_some_and(|d| d.1);
    let earliest =
        (kind == Kind::Termination).then(|| earliest_end_date(row.filed_on.unwrap_or_else(today)));
    Request {
        id: row.request_id,
        kind,
        station_id: row.station_id,
        station_name: row.station_name,
        department_id: row.department_id,
        department_name: row.department_name,
        regulator_id: row.regulator_id,
        regulator_name: row.regulator_name,
        authorization_id: row.authorization_id,
        certificate_number: row.certificate_number,
        state,
        payload: row.payload,
        reason: row.reason,
        filed_on: row.filed_on,
        effective_on: row.effective_on,
        earliest_end_date: earliest,
        assessment: row.assessment,
        proposal: row.proposal,
        proposal_reasons: row.proposal_reasons,
        proposal_data: row.proposal_data,
        proposed_by: row.proposed_by,
        proposed_on: row.proposed_on,
        returned_reasons: row.returned_reasons,
        decided_by: row.decided_by,
        decided_at: row.decided_at,
        new_revision: row.new_revision,
        version: row.version,
        created_at: row.created_at,
        overdue: due.is_some_and(|d| today() > d),
        due_provisional,
        due_note: due_provisional.then(|| {
            crate::rules::calendar::provisional_note(
                cal.loaded_last_year() + 1,
                crate::rules::Lang::Zh,
            )
        }),
        due_note_en: due_provisional.then(|| {
            crate::rules::calendar::provisional_note(
                cal.loaded_last_year() + 1,
                crate::rules::Lang::En,
            )
        }),
        due,
        problems,
        conditions: Vec::new(),
    }
}

/// The request as the record its conditions are settled on.
fn settled_on(row: &Row) -> conditions::On {
    conditions::On {
        subject: Subject::Request,
        id: row.request_id,
        station_id: row.station_id,
        regulator_id: row.regulator_id,
    }
}

/// R13.2: an added or changed item passes the same Art 7 checks as an
/// application, against the station's whole registry (documents are on
/// file from the establishment).
async fn adjustment_problems(
    conn: &mut PgConnection,
    row: &Row,
) -> Result<Vec<crate::applications::model::Problem>> {
    let changes: Vec<ItemChange> = row
        .payload
        .get("changes")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    let items: Vec<ItemInput> = changes
        .into_iter()
        .filter(|c| c.op == "add" || c.op == "change")
        .filter_map(|c| c.item)
        .collect();
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let legal = if row.legal_person {
        LegalPersonality::OwnCode {
            credit_code: row.credit_code.clone().unwrap_or_default(),
        }
    } else {
        LegalPersonality::ParentEntity {
            parent_credit_code: row.parent_entity_credit_code.clone().unwrap_or_default(),
        }
    };
    let all_documents = vec![
        DocumentType::ApplicationForm,
        DocumentType::BusinessLicence,
        DocumentType::FoundingDocument,
        DocumentType::ItemList,
        DocumentType::SignerList,
        DocumentType::ParentConsent,
        DocumentType::StandardCertificate,
        DocumentType::QualificationRecord,
        DocumentType::ManagementRules,
        DocumentType::PremisesDescription,
    ];
    art7_problems(
        conn,
        Art7Input {
            station_id: row.station_id,
            legal,
            items: &items,
            standard_ids: None,
            staff_ids: None,
            documents: all_documents,
            declared: &[],
        },
    )
    .await
}

/// One visible request.
pub async fn get(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<Request> {
    let row = load_row(conn, ctx, id).await?;
    let cal = crate::calendar::store::current(conn).await?;
    let mut r = view(conn, &cal, row).await?;
    if r.kind == Kind::Adjustment && r.state != State::Draft {
        r.conditions = conditions::standings(conn, Subject::Request, id, &r.problems, &[]).await?;
    }
    Ok(r)
}

/// What a queue is filtered by.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<Kind>,
    pub state: Option<State>,
    pub station_id: Option<Uuid>,
    /// Only what waits for the caller.
    pub mine: bool,
    pub overdue_only: bool,
}

/// The states in which a request waits for the caller's organization.
fn awaiting_clause(ctx: &Ctx) -> &'static str {
    match ctx.org_kind {
        OrgKind::Department => "r.department_id = $1 and r.state in ('draft', 'approved') and (r.kind = 'head' or r.state = 'draft')",
        OrgKind::Regulator => "r.regulator_id = $1 and r.state in ('submitted', 'proposed', 'recorded')",
        OrgKind::Station => "r.station_id = $1 and r.state = 'draft'",
        OrgKind::Platform => "false",
    }
}

/// Whether a request is past its due date `$T` today, in SQL: a filed one
/// filed before `$F` (see [`overdue_filed_before`]), a scheduled
/// re-examination whose date has passed. The same answer as [`due_of`]
/// compared with today, for a list filter and counts over every row.
const OVERDUE: &str = "(r.state in ('submitted', 'proposed') and case
    when r.kind = 'reexamination' then
      case when r.payload->>'scheduled_on' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
           then (r.payload->>'scheduled_on')::date < $T end
    else r.filed_on < $F end)";

/// The earliest filing date whose decision deadline ([`DECISION_DAYS`]
/// working days, provisional past the loaded years) has not passed by
/// `today`: a request filed before it is overdue. Deadlines grow with the
/// filing date, so one date splits every filed request.
fn overdue_filed_before(cal: &Calendar, today: NaiveDate) -> NaiveDate {
    let mut first = today;
    // At most DECISION_DAYS working days back, plus weekends and holidays.
    for _ in 0..400 {
        let Some(prev) = first.pred_opt() else { break };
        match cal.or_provisional(|c| c.add_working_days(prev, DECISION_DAYS)) {
            Ok((due, _)) if due >= today => first = prev,
            _ => break,
        }
    }
    first
}

fn overdue_sql(today_at: usize, filed_at: usize) -> String {
    OVERDUE
        .replace("$T", &format!("${today_at}"))
        .replace("$F", &format!("${filed_at}"))
}

/// Requests the caller may see, filtered, most recently changed first, one
/// keyset page of `limit` after `after` (issue 14). A list item carries no
/// Art 7 problems (the request's page has them): a page runs a fixed number
/// of queries whatever its length.
pub async fn list(
    conn: &mut PgConnection,
    ctx: &Ctx,
    f: &Filter,
    after: Option<&crate::web::Cursor>,
    limit: i64,
) -> Result<(Vec<Request>, Option<crate::web::Cursor>)> {
    let mine = if f.mine {
        format!("and ({})", awaiting_clause(ctx))
    } else {
        String::new()
    };
    let overdue = if f.overdue_only {
        format!("and {}", overdue_sql(8, 9))
    } else {
        String::new()
    };
    let after_at = after.map(|c| c.time()).transpose()?;
    let cal = crate::calendar::store::current(conn).await?;
    let today = today();
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} where {VISIBLE} and ($2::text is null or r.kind = $2) and ($3::text is null or r.state = $3)
           and ($4::uuid is null or r.station_id = $4) {mine} {overdue}
           and ($5::timestamptz is null or (r.updated_at, r.request_id) < ($5, $6))
         order by r.updated_at desc, r.request_id desc limit $7"
    ))
    .bind(ctx.org_id)
    .bind(f.kind.map(Kind::as_str))
    .bind(f.state.map(State::as_str))
    .bind(f.station_id)
    .bind(after_at)
    .bind(after.map(|c| c.id).unwrap_or_default())
    .bind(limit + 1)
    .bind(today)
    .bind(overdue_filed_before(&cal, today))
    .fetch_all(&mut *conn)
    .await?;
    let (rows, next) = crate::web::keyset_page(rows, limit, |r| {
        crate::web::Cursor::new(crate::web::time_key(r.updated_at), r.request_id)
    });
    let out = rows
        .into_iter()
        .map(|r| view_of(&cal, r, Vec::new()))
        .collect();
    Ok((out, next))
}

/// Counts per kind: open, waiting for the caller, overdue, in one grouped
/// query (no row leaves the database).
pub async fn queue_counts(conn: &mut PgConnection, ctx: &Ctx) -> Result<Vec<QueueCount>> {
    let cal = crate::calendar::store::current(conn).await?;
    let today = today();
    let awaiting = awaiting_clause(ctx);
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(&format!(
        "select r.kind,
                count(*) filter (where r.state in ('draft', 'submitted', 'proposed', 'recorded') or ({awaiting})),
                count(*) filter (where {awaiting}),
                count(*) filter (where {})
           from lifecycle_request r where {VISIBLE} group by r.kind",
        overdue_sql(2, 3)
    ))
    .bind(ctx.org_id)
    .bind(today)
    .bind(overdue_filed_before(&cal, today))
    .fetch_all(&mut *conn)
    .await?;
    Ok(Kind::ALL
        .iter()
        .map(|k| {
            let (open, awaiting_me, overdue) = rows
                .iter()
                .find(|r| r.0 == k.as_str())
                .map(|r| (r.1, r.2, r.3))
                .unwrap_or((0, 0, 0));
            QueueCount {
                kind: k.as_str().into(),
                // Open: not yet done, including what waits for the caller
                // (a consented head appointment to record).
                open,
                awaiting_me,
                overdue,
            }
        })
        .collect())
}

struct StationFacts {
    department_id: Uuid,
    regulator_id: Option<Uuid>,
    authorization_id: Option<Uuid>,
}

async fn station_facts(conn: &mut PgConnection, station_id: Uuid) -> Result<Option<StationFacts>> {
    let row: Option<(Uuid, Option<Uuid>, Option<Uuid>)> = sqlx::query_as(
        "select s.department_id, s.authorizing_regulator_id,
                (select a.authorization_id from station_authorization a
                  where a.station_id = s.station_id and a.status in ('active', 'suspended')
                  order by a.valid_until desc limit 1)
           from station s where s.station_id = $1",
    )
    .bind(station_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(d, r, a)| StationFacts {
        department_id: d,
        regulator_id: r,
        authorization_id: a,
    }))
}

/// Current items of an authorization, by seq.
pub async fn current_items(conn: &mut PgConnection, auth: Uuid) -> Result<Vec<(i32, ItemInput)>> {
    let rows: Vec<(i32, String, String, String, Vec<String>, String)> = sqlx::query_as(
        "select seq, name, range_text, accuracy_text, task_types, specification from authorization_item
          where authorization_id = $1 order by seq",
    )
    .bind(auth)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(seq, name, range_text, accuracy_text, task_types, specification)| {
                (
                    seq,
                    ItemInput {
                        name,
                        range_text,
                        accuracy_text,
                        task_types,
                        specification,
                    },
                )
            },
        )
        .collect())
}

fn too_early(filing: NaiveDate, end: NaiveDate) -> Option<FieldError> {
    // R15.1: refused at once, with the earliest allowed date.
    match check_requested_end(filing, end) {
        Verdict::Allowed { .. } => None,
        Verdict::Refused { reasons } => {
            let r = &reasons[0];
            Some(FieldError::new(
                "end_date",
                "too_early",
                format!("{}（R15.1）", r.message(crate::rules::Lang::Zh)),
                format!("{} (R15.1)", r.message(crate::rules::Lang::En)),
            ))
        }
    }
}

/// Validates the kind-specific contents; returns the payload, the reason
/// and the effective date (termination: the end date).
async fn validate(
    conn: &mut PgConnection,
    kind: Kind,
    input: &RequestInput,
    station_id: Uuid,
    authorization_id: Option<Uuid>,
    filing: NaiveDate,
    errors: &mut Vec<FieldError>,
) -> Result<(Value, String, Option<NaiveDate>)> {
    let reason = text(&input.reason);
    if reason.is_none() {
        errors.push(FieldError::new(
            "reason",
            "required",
            "请写明申请事由",
            "Give the reason",
        ));
    }
    let reason = reason.unwrap_or_default();
    crate::web::check_date("end_date", input.end_date, errors);
    crate::web::check_lengths(
        &[
            ("team", input.team.as_deref(), 200),
            ("merged_into", input.merged_into.as_deref(), 200),
        ],
        errors,
    );
    crate::web::check_date("scheduled_on", input.scheduled_on, errors);
    if reason.chars().count() > 2000 {
        errors.push(FieldError::new(
            "reason",
            "length",
            "事由不得超过 2000 字",
            "The reason may not exceed 2,000 characters",
        ));
    }
    let mut effective = None;
    let payload = match kind {
        Kind::Head => {
            let action = input.action.as_deref().unwrap_or("appoint");
            if !matches!(action, "appoint" | "remove") {
                errors.push(FieldError::new(
                    "action",
                    "invalid",
                    "请选择任命或免职",
                    "Choose appoint or remove",
                ));
            }
            let current: Option<String> = sqlx::query_scalar(
                "select person_name from station_head where station_id = $1 and removed_on is null",
            )
            .bind(station_id)
            .fetch_optional(&mut *conn)
            .await?;
            let person = text(&input.person_name).or_else(|| {
                if action == "remove" {
                    current.clone()
                } else {
                    None
                }
            });
            match &person {
                None => errors.push(FieldError::new(
                    "person_name",
                    "required",
                    "请填写拟任命（或免职）人员姓名",
                    "Name the person appointed (or removed)",
                )),
                Some(p) if p.chars().count() > 100 => errors.push(FieldError::new(
                    "person_name",
                    "length",
                    "姓名不得超过 100 字",
                    "The name may not exceed 100 characters",
                )),
                Some(p) if action == "remove" && current.as_deref() != Some(p.as_str()) => errors
                    .push(FieldError::new(
                        "person_name",
                        "not_current_head",
                        match &current {
                            Some(c) => format!("现任站长为“{c}”；只能免去现任站长"),
                            None => "该站目前没有备案的站长，无可免职".into(),
                        },
                        match &current {
                            Some(c) => format!(
                                "The current head is “{c}”; only the current head can be removed"
                            ),
                            None => "The station has no head on file to remove".into(),
                        },
                    )),
                _ => {}
            }
            json!({"action": action, "person_name": person})
        }
        Kind::Adjustment => {
            let changes = input.changes.clone().unwrap_or_default();
            let dissolve = input.dissolve.unwrap_or(false);
            let region = match &input.region {
                Some(r) if !r.is_empty() => Some(check_region(conn, r, errors).await?),
                _ => None,
            };
            // R13.2 with R6.2: the new region must still be the authorizing
            // regulator's to grant (a provincial regulator cannot extend a
            // local station into another province).
            if let Some(codes) = region.as_ref().filter(|_| errors.is_empty()) {
                let (tier, regulator): (String, Option<Uuid>) = sqlx::query_as(
                    "select tier, authorizing_regulator_id from station where station_id = $1",
                )
                .bind(station_id)
                .fetch_one(&mut *conn)
                .await?;
                match crate::applications::store::receiving(conn, &tier, codes).await? {
                    Ok((rid, _, _)) if Some(rid) == regulator => {}
                    Ok((_, zh, en)) => errors.push(FieldError::new(
                        "region",
                        "other_regulator",
                        format!("调整后的区域应由其他部门授权：{zh}（R6.2）"),
                        format!("The new region belongs to another regulator: {en} (R6.2)"),
                    )),
                    Err((zh, en)) => {
                        errors.push(FieldError::new("region", "no_receiving_regulator", zh, en))
                    }
                }
            }
            if changes.is_empty() && region.is_none() && !dissolve {
                errors.push(FieldError::new(
                    "changes",
                    "required",
                    "请至少提出一项调整：增减或变更项目、变更区域，或撤并",
                    "Ask for at least one change: items, region, or merger/dissolution",
                ));
            }
            let existing = match authorization_id {
                Some(a) => current_items(conn, a).await?,
                None => Vec::new(),
            };
            let mut normalized = Vec::new();
            for (i, c) in changes.iter().enumerate() {
                let field = |k: &str| format!("changes[{i}].{k}");
                let mut c = c.clone();
                if !matches!(c.op.as_str(), "add" | "remove" | "change") {
                    errors.push(FieldError::new(
                        &field("op"),
                        "invalid",
                        "调整方式应为增加、取消或变更",
                        "op: add, remove or change",
                    ));
                }
                if c.op != "add" {
                    match c.seq {
                        Some(s) if existing.iter().any(|(seq, _)| *seq == s) => {}
                        _ => errors.push(FieldError::new(
                            &field("seq"),
                            "unknown_item",
                            "请选择现有授权项目",
                            "Choose an authorized item",
                        )),
                    }
                } else {
                    c.seq = None;
                }
                if c.op == "remove" {
                    c.item = None;
                } else {
                    match &c.item {
                        None => errors.push(FieldError::new(
                            &field("item"),
                            "required",
                            "请填写项目内容",
                            "Give the item",
                        )),
                        Some(item) => {
                            let mut item_errors = Vec::new();
                            let cleaned = check_items(std::slice::from_ref(item), &mut item_errors);
                            for mut e in item_errors {
                                e.field = e.field.replacen("items[0]", &field("item"), 1);
                                errors.push(e);
                            }
                            c.item = cleaned.into_iter().next();
                        }
                    }
                }
                normalized.push(c);
            }
            let removed = normalized.iter().filter(|c| c.op == "remove").count();
            let added = normalized.iter().filter(|c| c.op == "add").count();
            if !dissolve && !existing.is_empty() && removed >= existing.len() && added == 0 {
                errors.push(FieldError::new(
                    "changes",
                    "no_items_left",
                    "调整后须至少保留一个授权项目；如需全部取消，请申请撤并或终止",
                    "At least one item must remain; to end them all, ask for merger/dissolution or termination",
                ));
            }
            json!({"changes": normalized, "region": region, "dissolve": dissolve,
                   "merged_into": text(&input.merged_into)})
        }
        Kind::Termination => {
            match input.end_date {
                None => errors.push(FieldError::new(
                    "end_date",
                    "required",
                    format!(
                        "请填写终止日期（不早于 {}，R15.1）",
                        earliest_end_date(filing)
                    ),
                    format!(
                        "Give the end date (not before {}, R15.1)",
                        earliest_end_date(filing)
                    ),
                )),
                Some(end) => {
                    if let Some(e) = too_early(filing, end) {
                        errors.push(e);
                    }
                    effective = Some(end);
                }
            }
            json!({})
        }
        Kind::Reexamination => {
            match input.scheduled_on {
                None => errors.push(FieldError::required("scheduled_on")),
                Some(d) if d < filing => errors.push(FieldError::new(
                    "scheduled_on",
                    "past",
                    "复查日期不得早于今天",
                    "The re-examination cannot be scheduled in the past",
                )),
                _ => {}
            }
            let team = text(&input.team);
            if team.is_none() {
                errors.push(FieldError::new(
                    "team",
                    "required",
                    "请填写复查考核组成员",
                    "Name the re-examination team",
                ));
            }
            json!({"scheduled_on": input.scheduled_on, "team": team})
        }
    };
    Ok((payload, reason, effective))
}

/// Drafts a request (a re-examination is scheduled by the regulator).
pub async fn create(
    conn: &mut PgConnection,
    ctx: &Ctx,
    kind: Kind,
    input: &RequestInput,
) -> Result<Request> {
    let mut errors = Vec::new();
    let today = today();
    // Which station and authorization.
    let (station_id, facts) = if kind == Kind::Reexamination {
        let Some(auth) = input.authorization_id else {
            return Err(AppError::field(
                "authorization_id",
                "required",
                "请选择要复查的授权",
                "Choose the authorization to re-examine",
            ));
        };
        let found: Option<(Uuid, Uuid, String)> = sqlx::query_as(
            "select station_id, regulator_id, status from station_authorization where authorization_id = $1",
        )
        .bind(auth)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((station, regulator, status)) = found else {
            return Err(AppError::NotFound);
        };
        if ctx.org_id != regulator || !ctx.has(Role::Reviewer) {
            return Err(AppError::forbidden(
                "复查考核由授权部门的审查员安排（R14.1）",
                "A re-examination is scheduled by a reviewer of the authorizing regulator (R14.1)",
            ));
        }
        if status != "active" {
            return Err(AppError::Conflict {
                code: "not_active",
                zh: "该授权已不在有效状态，不能安排复查".into(),
                en: "This authorization is not active; no re-examination".into(),
            });
        }
        let mut f = station_facts(conn, station)
            .await?
            .ok_or(AppError::NotFound)?;
        f.authorization_id = Some(auth);
        (station, f)
    } else {
        let Some(station) = input.station_id else {
            return Err(AppError::field(
                "station_id",
                "required",
                "请选择计量站",
                "Choose the station",
            ));
        };
        let f = station_facts(conn, station)
            .await?
            .ok_or(AppError::NotFound)?;
        let may = match ctx.org_kind {
            OrgKind::Department => ctx.org_id == f.department_id && ctx.has(Role::Officer),
            // Station staff draft adjustments and terminations; the department files them.
            OrgKind::Station => ctx.org_id == station && kind != Kind::Head,
            _ => false,
        };
        if !may {
            return Err(AppError::forbidden(
                match kind {
                    Kind::Head => "站长任免由主管部门提出（R11.1）",
                    _ => "由计量站起草、主管部门提出（R13.2、R15.1）",
                },
                match kind {
                    Kind::Head => "Head appointments are proposed by the competent department (R11.1)",
                    _ => "Drafted by the station and filed by its competent department (R13.2, R15.1)",
                },
            ));
        }
        (station, f)
    };
    let Some(regulator_id) = facts.regulator_id else {
        return Err(AppError::Conflict {
            code: "not_authorized",
            zh: "该计量站尚未获得授权；请走建站授权申请".into(),
            en: "This station is not authorized yet; apply to establish it".into(),
        });
    };
    if kind != Kind::Head && facts.authorization_id.is_none() {
        return Err(AppError::Conflict {
            code: "not_authorized",
            zh: "该计量站没有有效的授权".into(),
            en: "This station has no active authorization".into(),
        });
    }
    let (payload, reason, effective) = validate(
        conn,
        kind,
        input,
        station_id,
        facts.authorization_id,
        today,
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = Uuid::now_v7();
    // A re-examination starts scheduled (filed) by the regulator.
    let (state, filed) = if kind == Kind::Reexamination {
        (State::Submitted, Some(today))
    } else {
        (State::Draft, None)
    };
    sqlx::query(
        "insert into lifecycle_request (request_id, kind, station_id, department_id, regulator_id,
           authorization_id, state, payload, reason, filed_on, effective_on, drafted_by, drafted_by_org)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id)
    .bind(kind.as_str())
    .bind(station_id)
    .bind(facts.department_id)
    .bind(regulator_id)
    .bind(facts.authorization_id)
    .bind(state.as_str())
    .bind(&payload)
    .bind(&reason)
    .bind(filed)
    .bind(effective)
    .bind(ctx.user_id)
    .bind(ctx.org_id)
    .execute(&mut *conn)
    .await?;
    if kind == Kind::Reexamination {
        // R14.1: both sides are reminded.
        let r = load_row(conn, ctx, id).await?;
        notify(
            conn,
            &[r.department_id, r.station_id],
            Note::new("reexamination.scheduled", "")
                .p("station", &r.station_name)
                .p("regulator", &r.regulator_name)
                .p("number", r.certificate_number.clone().unwrap_or_default())
                .p(
                    "date",
                    input
                        .scheduled_on
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                ),
            id,
        )
        .await?;
    }
    let req = get(conn, ctx, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new(&format!("{}.draft", kind.as_str()), "lifecycle_request", id).after(&json!({
            "state": req.state, "payload": req.payload, "reason": req.reason, "effective_on": req.effective_on
        })),
    )
    .await?;
    Ok(req)
}

/// Edits a draft (station or department).
pub async fn update(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    input: &RequestInput,
) -> Result<Request> {
    let row = load_row(conn, ctx, id).await?;
    let kind = kind_of(&row);
    if state_of(&row) != State::Draft {
        return Err(AppError::Conflict {
            code: "illegal_transition",
            zh: "只有草稿可以修改".into(),
            en: "Only a draft can be edited".into(),
        });
    }
    let may = match ctx.org_kind {
        OrgKind::Department => ctx.org_id == row.department_id && ctx.has(Role::Officer),
        // R11.1: a head appointment is the department's; the station edits only its own drafts.
        OrgKind::Station => ctx.org_id == row.station_id && kind != Kind::Head,
        _ => false,
    };
    if !may {
        return Err(AppError::forbidden(
            "只有计量站（站长任免除外）或其主管部门经办人可以修改草稿",
            "Only the station (not for a head appointment) or its department's officer may edit the draft",
        ));
    }
    let version = crate::web::need_version(input.version)?;
    let mut errors = Vec::new();
    let (payload, reason, effective) = validate(
        conn,
        kind,
        input,
        row.station_id,
        row.authorization_id,
        today(),
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let done = sqlx::query(
        "update lifecycle_request set payload = $3, reason = $4, effective_on = $5,
           version = version + 1, updated_at = now()
         where request_id = $1 and version = $2 and state = 'draft'",
    )
    .bind(id)
    .bind(version)
    .bind(&payload)
    .bind(&reason)
    .bind(effective)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::stale());
    }
    let req = get(conn, ctx, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new(&format!("{}.update", kind.as_str()), "lifecycle_request", id)
            .before(&json!({"payload": row.payload, "reason": row.reason, "effective_on": row.effective_on}))
            .after(&json!({"payload": req.payload, "reason": req.reason, "effective_on": req.effective_on})),
    )
    .await?;
    Ok(req)
}

fn actor_ok(ctx: &Ctx, row: &Row, actor: Actor, step: Step) -> bool {
    let reg = ctx.org_kind == OrgKind::Regulator && ctx.org_id == row.regulator_id;
    match actor {
        Actor::Department => {
            ctx.org_kind == OrgKind::Department
                && ctx.org_id == row.department_id
                && ctx.has(Role::Officer)
        }
        // Acknowledging a filing is either regulator role's work.
        Actor::Reviewer if step == Step::Acknowledge => {
            reg && (ctx.has(Role::Reviewer) || ctx.has(Role::Approver))
        }
        Actor::Reviewer => reg && ctx.has(Role::Reviewer),
        Actor::Approver => reg && ctx.has(Role::Approver),
    }
}

fn already_decided(state: State, kind: Kind) -> AppError {
    AppError::Conflict {
        code: "already_decided",
        zh: format!(
            "该申请已处理（当前为“{}”），不能重复审批",
            state.label(kind, Lang::Zh)
        ),
        en: format!(
            "This request was already decided (now {}); it cannot be decided again",
            state.label(kind, Lang::En).to_lowercase()
        ),
    }
}

/// Moves a request one step; a confirmed approval takes effect in the same
/// transaction (R11.1, R13.2, R14.2, R15.2).
pub async fn step(
    conn: &mut PgConnection,
    pool: &PgPool,
    ctx: &Ctx,
    id: Uuid,
    step: Step,
    input: &StepInput,
) -> Result<Request> {
    let _ = pool;
    let row = load_row(conn, ctx, id).await?;
    let kind = kind_of(&row);
    let from = state_of(&row);
    let Some((actor, mut to)) = next(kind, step, from) else {
        if step == Step::Confirm
            && matches!(
                from,
                State::Approved
                    | State::Refused
                    | State::Completed
                    | State::Recorded
                    | State::Filed
            )
        {
            return Err(already_decided(from, kind));
        }
        return Err(AppError::Conflict {
            code: "illegal_transition",
            zh: format!(
                "{}当前为“{}”，不能办理此步骤（可能已被他人办理，请刷新）",
                kind.label(Lang::Zh),
                from.label(kind, Lang::Zh)
            ),
            en: format!(
                "The {} is {}; this step is not possible now (someone may have acted first; reload)",
                kind.label(Lang::En).to_lowercase(),
                from.label(kind, Lang::En).to_lowercase()
            ),
        });
    };
    if !actor_ok(ctx, &row, actor, step) {
        return Err(AppError::forbidden(
            match actor {
                Actor::Department => "只有该站的主管部门经办人可以办理此步骤",
                Actor::Reviewer => "只有授权部门的审查员可以办理此步骤",
                Actor::Approver => "只有授权部门的审批人可以审批",
            },
            match actor {
                Actor::Department => {
                    "Only an officer of the station's competent department may do this"
                }
                Actor::Reviewer => "Only a reviewer of the authorizing regulator may do this",
                Actor::Approver => "Only an approver of the authorizing regulator may decide",
            },
        ));
    }
    let version = crate::web::need_version(input.version)?;
    if version != row.version {
        return Err(AppError::stale());
    }
    let today = today();
    let mut errors = Vec::new();
    crate::web::check_date("date", input.date, &mut errors);
    crate::web::check_date("effective_on", input.effective_on, &mut errors);
    crate::web::check_lengths(
        &[
            ("reasons", input.reasons.as_deref(), 2000),
            ("findings", input.findings.as_deref(), 2000),
            ("team", input.team.as_deref(), 200),
        ],
        &mut errors,
    );
    crate::web::check_date(
        "rectification_deadline",
        input.rectification_deadline,
        &mut errors,
    );
    let mut filed_on = row.filed_on;
    let mut effective_on = row.effective_on;
    let mut assessment = row.assessment.clone();
    let mut proposal = row.proposal.clone();
    let mut proposal_reasons = row.proposal_reasons.clone();
    let mut proposal_data = row.proposal_data.clone();
    let mut proposed_by = row.proposed_by;
    let mut proposed_on = row.proposed_on;
    let mut returned = row.returned_reasons.clone();
    let mut decided_by = row.decided_by;
    let mut decided = false;
    match step {
        Step::Submit => {
            filed_on = Some(today);
            if kind == Kind::Termination {
                // R15.1: judged on the filing date.
                match row.effective_on {
                    Some(end) => {
                        if let Some(e) = too_early(today, end) {
                            errors.push(e);
                        }
                    }
                    None => errors.push(FieldError::required("end_date")),
                }
            }
        }
        Step::Withdraw => {}
        Step::Assessment => {
            let outcome = input.outcome.as_deref().unwrap_or("");
            if !matches!(outcome, "pass" | "fail") {
                errors.push(FieldError::new(
                    "outcome",
                    "invalid",
                    "考核结论应为通过或不通过",
                    "Outcome: pass or fail",
                ));
            }
            if input.date.is_none() {
                errors.push(FieldError::required("date"));
            }
            if text(&input.team).is_none() {
                errors.push(FieldError::new(
                    "team",
                    "required",
                    "请填写考核组成员",
                    "Name the assessment team",
                ));
            }
            assessment = Some(json!({"date": input.date, "team": text(&input.team),
                                     "outcome": outcome, "findings": text(&input.findings)}));
            if kind == Kind::Adjustment && input.verified.values().any(|t| !t.trim().is_empty()) {
                // Conditions of added or changed items the assessment verified.
                let problems = adjustment_problems(conn, &row).await?;
                conditions::record_into(
                    &mut errors,
                    conn,
                    ctx,
                    settled_on(&row),
                    How::Verified,
                    &problems,
                    &input.verified,
                )
                .await?;
            }
        }
        Step::Propose => {
            let reasons = text(&input.reasons);
            if kind == Kind::Reexamination {
                // R14.2: pass renews; fail leads to rectification or ends it.
                let result = input.result.as_deref().unwrap_or("");
                match result {
                    "pass" => proposal = Some("approve".into()),
                    "fail" => {
                        proposal = Some("approve".into());
                        match input.fail_action.as_deref() {
                            Some("rectify") => match input.rectification_deadline {
                                Some(d) if d > today => {}
                                Some(_) => errors.push(FieldError::new(
                                    "rectification_deadline",
                                    "past",
                                    "整改期限须晚于今天",
                                    "The rectification deadline must be after today",
                                )),
                                None => errors.push(FieldError::new(
                                    "rectification_deadline",
                                    "required",
                                    "请给出整改期限（R14.2）",
                                    "Give the rectification deadline (R14.2)",
                                )),
                            },
                            Some("end") => {}
                            _ => errors.push(FieldError::new(
                                "fail_action",
                                "invalid",
                                "复查不通过时，请选择限期整改或终止授权（R14.2）",
                                "After a failed re-examination choose rectify or end (R14.2)",
                            )),
                        }
                        if text(&input.findings).is_none() {
                            errors.push(FieldError::new(
                                "findings",
                                "required",
                                "请填写复查发现的问题",
                                "Give the findings",
                            ));
                        }
                    }
                    _ => errors.push(FieldError::new(
                        "result",
                        "invalid",
                        "复查结论应为通过或不通过（R14.2）",
                        "Result: pass or fail (R14.2)",
                    )),
                }
                proposal_data = Some(json!({
                    "result": result, "fail_action": input.fail_action,
                    "rectification_deadline": input.rectification_deadline,
                    "findings": text(&input.findings)}));
            } else {
                match input.decision.as_deref() {
                    Some("approve") => {
                        if kind == Kind::Adjustment {
                            let adds = row
                                .payload
                                .get("changes")
                                .and_then(|c| c.as_array())
                                .is_some_and(|c| c.iter().any(|c| c["op"] == "add"));
                            let outcome = assessment
                                .as_ref()
                                .and_then(|a| a.get("outcome"))
                                .and_then(|o| o.as_str());
                            if adds && outcome != Some("pass") {
                                errors.push(FieldError::new(
                                    "decision",
                                    "assessment_required",
                                    "增加授权项目须经考核合格后方可批准（R13.2、R8.3）",
                                    "Adding an item needs a passed assessment before approval (R13.2, R8.3)",
                                ));
                            }
                            if outcome == Some("fail") {
                                errors.push(FieldError::new(
                                    "decision",
                                    "assessment_failed",
                                    "考核未通过，不能批准（R8.3）",
                                    "The assessment failed; no approval (R8.3)",
                                ));
                            }
                            // Unmet Art 7 conditions do not stop the proposal:
                            // at the approval each is met, verified or
                            // overridden (see the confirm step).
                        }
                        proposal = Some("approve".into());
                    }
                    Some("refuse") => {
                        if reasons.is_none() {
                            errors.push(FieldError::new(
                                "reasons",
                                "required",
                                "不予批准须说明理由",
                                "Give the reasons for refusal",
                            ));
                        }
                        proposal = Some("refuse".into());
                    }
                    _ => errors.push(FieldError::new(
                        "decision",
                        "invalid",
                        "请选择批准或不予批准",
                        "Choose approve or refuse",
                    )),
                }
            }
            proposal_reasons = reasons;
            proposed_by = Some(ctx.user_id);
            proposed_on = Some(today);
        }
        Step::Return => {
            let reasons = text(&input.reasons);
            if reasons.is_none() {
                errors.push(FieldError::new(
                    "reasons",
                    "required",
                    "退回须说明理由",
                    "Give the reasons for sending it back",
                ));
            }
            returned = reasons;
            proposal = None;
            proposal_data = None;
            proposed_by = None;
            proposed_on = None;
        }
        Step::Confirm => {
            if row.proposed_by == Some(ctx.user_id) {
                return Err(AppError::forbidden(
                    "审查意见须由另一人审批（双人复核）",
                    "Four eyes: the approver must be someone other than the proposer",
                ));
            }
            decided_by = Some(ctx.user_id);
            decided = true;
            if row.proposal.as_deref() == Some("refuse") {
                to = State::Refused;
            } else {
                still_applies(conn, &row, kind).await?;
                if kind == Kind::Adjustment {
                    // One rule for unmet Art 7 conditions (R13.2, requirements §4).
                    let problems = adjustment_problems(conn, &row).await?;
                    let before = errors.len();
                    conditions::record_into(
                        &mut errors,
                        conn,
                        ctx,
                        settled_on(&row),
                        How::Overridden,
                        &problems,
                        &input.overrides,
                    )
                    .await?;
                    if errors.len() == before {
                        let now = conditions::standings(conn, Subject::Request, id, &problems, &[])
                            .await?;
                        errors.extend(conditions::open_errors(&now));
                    }
                }
            }
        }
        Step::Record => match input.effective_on {
            None => errors.push(FieldError::new(
                "effective_on",
                "required",
                "请填写任命生效日期",
                "Give the effective date of the appointment",
            )),
            Some(d) => effective_on = Some(d),
        },
        Step::Acknowledge => still_applies(conn, &row, kind).await?,
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let done = sqlx::query(
        "update lifecycle_request set state = $4, filed_on = $5, effective_on = $6, assessment = $7,
           proposal = $8, proposal_reasons = $9, proposal_data = $10, proposed_by = $11, proposed_on = $12,
           returned_reasons = $13, decided_by = $14,
           decided_at = case when $15 then now() else decided_at end,
           version = version + 1, updated_at = now()
         where request_id = $1 and version = $2 and state = $3",
    )
    .bind(id)
    .bind(version)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(filed_on)
    .bind(effective_on)
    .bind(&assessment)
    .bind(&proposal)
    .bind(&proposal_reasons)
    .bind(&proposal_data)
    .bind(proposed_by)
    .bind(proposed_on)
    .bind(&returned)
    .bind(decided_by)
    .bind(decided)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        // Someone acted in between: say what happened.
        let now: Option<String> =
            sqlx::query_scalar("select state from lifecycle_request where request_id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
        let now = now.as_deref().and_then(State::parse).unwrap_or(from);
        if step == Step::Confirm && now != from {
            return Err(already_decided(now, kind));
        }
        return Err(AppError::stale());
    }
    // Effects, in the same transaction.
    let mut revision = None;
    match (step, to) {
        (Step::Submit, _) => {
            notify(
                conn,
                &[row.regulator_id],
                // The regulator's reviewers act on it, not its approvers.
                Note::new("request.submitted", "")
                    .p("station", &row.station_name)
                    .p("department", &row.department_name)
                    .p2(
                        "kind",
                        kind.label(Lang::Zh),
                        kind.label(Lang::En).to_lowercase(),
                    )
                    .p("version", version + 1)
                    .for_role(crate::auth::Role::Reviewer),
                id,
            )
            .await?;
        }
        (Step::Confirm, State::Approved) => {
            revision = approve(conn, ctx, &row, kind, today).await?;
            if let Some(authorization) = row.authorization_id {
                conditions::link(conn, Subject::Request, id, authorization).await?;
            }
        }
        (Step::Acknowledge, State::Filed) => {
            change_head(conn, &row, effective_on.unwrap_or(today)).await?;
        }
        _ => {}
    }
    if let Some(rev) = revision {
        sqlx::query("update lifecycle_request set new_revision = $2 where request_id = $1")
            .bind(id)
            .bind(rev)
            .execute(&mut *conn)
            .await?;
    }
    if step == Step::Confirm {
        let (verdict, verdict_en) = if to == State::Refused {
            ("未予批准", "refused")
        } else {
            ("已批准", "approved")
        };
        notify(
            conn,
            &[row.department_id, row.station_id],
            Note::new("request.decided", "")
                .p("station", &row.station_name)
                .p("regulator", &row.regulator_name)
                .p2(
                    "kind",
                    kind.label(Lang::Zh),
                    kind.label(Lang::En).to_lowercase(),
                )
                .p2("verdict", verdict, verdict_en),
            id,
        )
        .await?;
    }
    let after = get(conn, ctx, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new(
            &format!("{}.{}", kind.as_str(), step.as_str()),
            "lifecycle_request",
            id,
        )
        .before(&json!({"state": from.as_str(), "version": version}))
        .after(&json!({"state": after.state, "proposal": after.proposal,
                       "proposal_data": after.proposal_data, "new_revision": after.new_revision,
                       "effective_on": after.effective_on})),
    )
    .await?;
    Ok(after)
}

/// Increments the authorization's revision and keeps the snapshot (R13.2).
async fn new_revision(
    conn: &mut PgConnection,
    auth: Uuid,
    reason: &str,
    request: Uuid,
    effective: NaiveDate,
) -> Result<i32> {
    sqlx::query(
        "update station_authorization set revision = revision + 1, version = version + 1, updated_at = now()
          where authorization_id = $1",
    )
    .bind(auth)
    .execute(&mut *conn)
    .await?;
    let rev: i32 = sqlx::query_scalar("select snapshot_authorization($1, $2, $3, $4)")
        .bind(auth)
        .bind(reason)
        .bind(request)
        .bind(effective)
        .fetch_one(&mut *conn)
        .await?;
    Ok(rev)
}

/// Ends an authorization (status terminated, ended on `on`); the station is
/// terminated when no other authorization of it remains in force.
pub(crate) async fn end_authorization(
    conn: &mut PgConnection,
    auth: Uuid,
    status: &str,
    on: NaiveDate,
) -> Result<()> {
    // Only what is still in force ends (a revoked one stays revoked).
    sqlx::query(
        "update station_authorization set status = $2, ended_on = $3
          where authorization_id = $1 and status in ('active', 'suspended')",
    )
    .bind(auth)
    .bind(status)
    .bind(on)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "select close_station_if_nothing_in_force(station_id) from station_authorization
          where authorization_id = $1",
    )
    .bind(auth)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// At the decision, the authorization must still be in force and the
/// request must still fit it (items, head): another decision may have come
/// in between. Locks the authorization row for the rest of the transaction.
async fn still_applies(conn: &mut PgConnection, row: &Row, kind: Kind) -> Result<()> {
    let stale = |zh: String, en: String| AppError::Conflict {
        code: "no_longer_applies",
        zh,
        en,
    };
    if let Some(auth) = row.authorization_id {
        let status: Option<String> = sqlx::query_scalar(
            "select status from station_authorization where authorization_id = $1 for update",
        )
        .bind(auth)
        .fetch_optional(&mut *conn)
        .await?;
        if !matches!(status.as_deref(), Some("active" | "suspended")) && kind != Kind::Head {
            return Err(stale(
                "该授权已不在有效状态（已终止或撤销），申请不能再批准".into(),
                "The authorization is no longer in force (ended or revoked); the request cannot be approved".into(),
            ));
        }
        if kind == Kind::Adjustment {
            let changes: Vec<ItemChange> =
                serde_json::from_value(row.payload["changes"].clone()).unwrap_or_default();
            let existing = current_items(conn, auth).await?;
            for c in changes.iter().filter(|c| c.op != "add") {
                if !existing.iter().any(|(seq, _)| Some(*seq) == c.seq) {
                    return Err(stale(
                        format!("第 {} 项授权项目已不存在（可能已被另一调整取消）", c.seq.unwrap_or(0)),
                        format!("Authorized item {} no longer exists (another adjustment may have removed it)", c.seq.unwrap_or(0)),
                    ));
                }
            }
            let removed = changes.iter().filter(|c| c.op == "remove").count();
            let added = changes.iter().filter(|c| c.op == "add").count();
            if row.payload["dissolve"] != json!(true) && removed >= existing.len() && added == 0 {
                return Err(stale(
                    "批准后将不剩任何授权项目；如需全部取消，请申请撤并或终止".into(),
                    "No item would remain; ask for merger/dissolution or termination instead"
                        .into(),
                ));
            }
        }
    }
    if kind == Kind::Head && row.payload["action"] == "remove" {
        let current: Option<String> = sqlx::query_scalar(
            "select person_name from station_head where station_id = $1 and removed_on is null",
        )
        .bind(row.station_id)
        .fetch_optional(&mut *conn)
        .await?;
        if current.as_deref() != row.payload["person_name"].as_str() {
            return Err(stale(
                "拟免职人员已不是现任站长".into(),
                "The person to remove is no longer the head".into(),
            ));
        }
    }
    Ok(())
}

/// What an approval does, by kind. Returns the new revision, if any.
async fn approve(
    conn: &mut PgConnection,
    ctx: &Ctx,
    row: &Row,
    kind: Kind,
    today: NaiveDate,
) -> Result<Option<i32>> {
    let Some(auth) = row.authorization_id else {
        return Ok(None);
    };
    match kind {
        // R11.1: consent; the head changes only when the filing is acknowledged.
        Kind::Head => Ok(None),
        // R15.2: nothing changes until the end date; the daily job ends it.
        Kind::Termination => Ok(None),
        Kind::Adjustment => {
            if row.payload["dissolve"] == json!(true) {
                end_authorization(conn, auth, "terminated", today).await?;
                return Ok(Some(
                    new_revision(conn, auth, "adjustment", row.request_id, today).await?,
                ));
            }
            let changes: Vec<ItemChange> =
                serde_json::from_value(row.payload["changes"].clone()).unwrap_or_default();
            for c in &changes {
                match (c.op.as_str(), c.seq, &c.item) {
                    ("remove", Some(seq), _) => {
                        sqlx::query(
                            "delete from authorization_item where authorization_id = $1 and seq = $2",
                        )
                        .bind(auth)
                        .bind(seq)
                        .execute(&mut *conn)
                        .await?;
                    }
                    ("change", Some(seq), Some(item)) => {
                        sqlx::query(
                            "update authorization_item set name = $3, range_text = $4, accuracy_text = $5,
                               task_types = $6, specification = $7
                             where authorization_id = $1 and seq = $2",
                        )
                        .bind(auth)
                        .bind(seq)
                        .bind(&item.name)
                        .bind(&item.range_text)
                        .bind(&item.accuracy_text)
                        .bind(&item.task_types)
                        .bind(&item.specification)
                        .execute(&mut *conn)
                        .await?;
                    }
                    ("add", _, Some(item)) => {
                        // A new item takes the next number: numbers are never reused.
                        sqlx::query(
                            "insert into authorization_item (authorization_item_id, authorization_id, station_id, seq,
                               name, range_text, accuracy_text, task_types, specification)
                             select $1, $2, $3,
                                    greatest(coalesce((select max(seq) from authorization_item where authorization_id = $2), 0),
                                             coalesce((select max((e->>'seq')::int) from authorization_version v,
                                                        jsonb_array_elements(v.items) e where v.authorization_id = $2), 0)) + 1,
                                    $4, $5, $6, $7, $8",
                        )
                        .bind(Uuid::now_v7())
                        .bind(auth)
                        .bind(row.station_id)
                        .bind(&item.name)
                        .bind(&item.range_text)
                        .bind(&item.accuracy_text)
                        .bind(&item.task_types)
                        .bind(&item.specification)
                        .execute(&mut *conn)
                        .await?;
                    }
                    _ => {}
                }
            }
            if let Some(region) = row.payload["region"].as_array() {
                let region: Vec<String> = region
                    .iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect();
                if !region.is_empty() {
                    sqlx::query(
                        "update station_authorization set region = $2 where authorization_id = $1",
                    )
                    .bind(auth)
                    .bind(&region)
                    .execute(&mut *conn)
                    .await?;
                }
            }
            Ok(Some(
                new_revision(conn, auth, "adjustment", row.request_id, today).await?,
            ))
        }
        Kind::Reexamination => {
            let data = row.proposal_data.clone().unwrap_or_default();
            match (data["result"].as_str(), data["fail_action"].as_str()) {
                // R14.2: pass renews the validity from the decision date.
                (Some("pass"), _) => {
                    let until = today
                        .checked_add_months(Months::new(12 * RENEWAL_YEARS))
                        .and_then(|d| d.pred_opt())
                        .unwrap_or(today);
                    sqlx::query(
                        "update station_authorization set valid_until = $2 where authorization_id = $1",
                    )
                    .bind(auth)
                    .bind(until)
                    .execute(&mut *conn)
                    .await?;
                    Ok(Some(
                        new_revision(conn, auth, "renewal", row.request_id, today).await?,
                    ))
                }
                (Some("fail"), Some("end")) => {
                    end_authorization(conn, auth, "terminated", today).await?;
                    Ok(Some(
                        new_revision(conn, auth, "termination", row.request_id, today).await?,
                    ))
                }
                // Fail with a rectification deadline: the authorization stands;
                // a rectification order tracks the deadline (R14.2, R18.3) and
                // both sides are told.
                _ => {
                    let deadline: NaiveDate = data["rectification_deadline"]
                        .as_str()
                        .and_then(|d| d.parse().ok())
                        .unwrap_or(today);
                    let days = (deadline - today).num_days().clamp(1, 365) as i32;
                    sqlx::query(
                        "insert into rectification_order (order_id, station_id, department_id, issuer_id, areas,
                           description, period_unit, period_days, issued_on, due_on, created_by)
                         values ($1, $2, $3, $4, array['reexamination'], $5, 'calendar_days', $6, $7, $8, $9)",
                    )
                    .bind(Uuid::now_v7())
                    .bind(row.station_id)
                    .bind(row.department_id)
                    .bind(row.regulator_id)
                    .bind(data["findings"].as_str().unwrap_or("复查考核不通过"))
                    .bind(days)
                    .bind(today)
                    .bind(today + chrono::Days::new(days as u64))
                    .bind(ctx.user_id)
                    .execute(&mut *conn)
                    .await?;
                    notify(
                        conn,
                        &[row.department_id, row.station_id],
                        Note::new("reexamination.failed", "")
                            .p("station", &row.station_name)
                            .p("findings", data["findings"].as_str().unwrap_or(""))
                            .p(
                                "deadline",
                                data["rectification_deadline"].as_str().unwrap_or(""),
                            ),
                        row.request_id,
                    )
                    .await?;
                    Ok(None)
                }
            }
        }
    }
}

/// R11.1: the head changes when the regulator acknowledges the filing.
async fn change_head(conn: &mut PgConnection, row: &Row, on: NaiveDate) -> Result<()> {
    let action = row.payload["action"].as_str().unwrap_or("appoint");
    let person = row.payload["person_name"].as_str().unwrap_or("").to_owned();
    sqlx::query(
        "update station_head set removed_on = $2, removal_request_id = $3
          where station_id = $1 and removed_on is null",
    )
    .bind(row.station_id)
    .bind(on)
    .bind(row.request_id)
    .execute(&mut *conn)
    .await?;
    if action == "appoint" {
        sqlx::query(
            "insert into station_head (station_head_id, station_id, person_name, appointed_on, request_id)
             values ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(row.station_id)
        .bind(&person)
        .bind(on)
        .bind(row.request_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn notify(conn: &mut PgConnection, orgs: &[Uuid], note: Note, request: Uuid) -> Result<()> {
    crate::notifications::send(conn, orgs, &note.at(format!("/requests/{request}"))).await
}

/// R14.1: an authorization of the caller's (as authorizing regulator) or of
/// its stations, expiring within the window, with or without a scheduled
/// re-examination.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct DueReexamination {
    pub authorization_id: Uuid,
    pub station_id: Uuid,
    pub station_name: String,
    pub certificate_number: String,
    pub valid_until: NaiveDate,
    /// The open re-examination, if one is scheduled.
    pub request_id: Option<Uuid>,
}

/// R14.1: authorizations expiring within [`REEXAMINATION_WINDOW_MONTHS`] the
/// caller sees (regulator: those it granted; station and department: their own).
pub async fn due_reexaminations(
    conn: &mut PgConnection,
    ctx: &Ctx,
) -> Result<Vec<DueReexamination>> {
    let today = today();
    let horizon = today
        .checked_add_months(Months::new(REEXAMINATION_WINDOW_MONTHS))
        .unwrap_or(today);
    let rows: Vec<DueReexamination> = sqlx::query_as(
        "select a.authorization_id, a.station_id, o.name as station_name, a.certificate_number, a.valid_until,
                (select r.request_id from lifecycle_request r where r.authorization_id = a.authorization_id
                   and r.kind = 'reexamination' and r.state in ('submitted', 'proposed') limit 1) as request_id
           from station_authorization a
           join station s on s.station_id = a.station_id
           join organization o on o.organization_id = a.station_id
          where a.status = 'active' and a.valid_until <= $2
            and (a.regulator_id = $1 or a.station_id = $1 or s.department_id = $1)
          order by a.valid_until",
    )
    .bind(ctx.org_id)
    .bind(horizon)
    .fetch_all(conn)
    .await?;
    // The rules module decides the window (R14.1); the SQL above only narrows.
    Ok(rows
        .into_iter()
        .filter(|r| {
            !matches!(
                crate::rules::deadlines::reexamination_due(
                    r.valid_until,
                    today,
                    REEXAMINATION_WINDOW_MONTHS
                ),
                crate::rules::deadlines::ReexaminationStatus::NotYet { .. }
            )
        })
        .collect())
}

/// A station's heads, newest first (R11.1).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Head {
    pub person_name: String,
    pub appointed_on: NaiveDate,
    pub removed_on: Option<NaiveDate>,
    pub request_id: Option<Uuid>,
}

pub async fn heads(conn: &mut PgConnection, station: Uuid) -> Result<Vec<Head>> {
    Ok(sqlx::query_as(
        "select person_name, appointed_on, removed_on, request_id from station_head
          where station_id = $1 order by appointed_on desc, created_at desc",
    )
    .bind(station)
    .fetch_all(conn)
    .await?)
}
