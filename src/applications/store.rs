//! SQL and the workflow of applications (Art 6–8). Every step checks role,
//! state and the version read, runs in the caller's transaction and leaves
//! one audit event; the grant issues the certificate in the same transaction.

use chrono::{Datelike, Months, NaiveDate};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::conditions::{self, How, Subject};
use super::model::*;
use crate::audit::{self, Event};
use crate::auth::{Ctx, OrgKind, Role};
use crate::db::reference::divisions;
use crate::error::{AppError, FieldError, Result};
use crate::i18n::Lang;
use crate::rules::calendar::{provisional_note, review_clock, Calendar, Pause};
use crate::rules::conditions::{
    check_application, ApplicationFacts, ConditionsPolicy, DocumentType, LegalPersonality,
    OfferedStandard, RequestedItem, StaffMember as RuleStaff,
};
use crate::rules::cooperation::{cooperating_stations, CooperationItem, NationalStation};
use crate::rules::jurisdiction::{
    receiving_regulator, JurisdictionPolicy, RegulatorLevel, RegulatorRef, StationTier,
};
use crate::rules::measure::{Accuracy, Range};
use crate::rules::scope::Qualification as RuleQualification;
use crate::rules::spec_code::SpecCode;
use crate::rules::{DivisionCode, Lang as RLang, Message};
use crate::web::{random_token, today};

/// Working days a regulator has to accept or send the correction notice (R6.4 policy).
pub const ACCEPTANCE_DAYS: u32 = 5;
/// Working days from acceptance to the assessment's outcome (policy).
pub const ASSESSMENT_DAYS: u32 = 30;
/// Working days from the assessment's outcome (or the end of a
/// pass-after-correction deadline) to the decision (policy).
pub const DECISION_DAYS: u32 = 10;
/// Validity of an authorization (R8.4 policy), in years.
pub const VALIDITY_YEARS: u32 = 5;

/// Document types an application carries (R6.3), by their API names.
pub const DOC_TYPES: &[(&str, DocumentType)] = &[
    ("application_form", DocumentType::ApplicationForm),
    ("business_licence", DocumentType::BusinessLicence),
    ("founding_document", DocumentType::FoundingDocument),
    ("item_list", DocumentType::ItemList),
    ("signer_list", DocumentType::SignerList),
    ("parent_consent", DocumentType::ParentConsent),
    ("standard_certificate", DocumentType::StandardCertificate),
    ("qualification_record", DocumentType::QualificationRecord),
    ("management_rules", DocumentType::ManagementRules),
    ("premises_description", DocumentType::PremisesDescription),
];

#[derive(sqlx::FromRow)]
struct Row {
    application_id: Uuid,
    station_id: Uuid,
    station_name: String,
    station_tier: String,
    head_station_id: Option<Uuid>,
    legal_person: bool,
    credit_code: Option<String>,
    parent_entity_credit_code: Option<String>,
    department_id: Uuid,
    department_name: String,
    regulator_id: Option<Uuid>,
    regulator_name: Option<String>,
    regulator_reason: Option<String>,
    state: String,
    region: Vec<String>,
    items: serde_json::Value,
    standard_ids: Vec<Uuid>,
    staff_ids: Vec<Uuid>,
    to_be_provided: Vec<String>,
    submitted_on: Option<NaiveDate>,
    correction_items: Option<Vec<String>>,
    correction_on: Option<NaiveDate>,
    resubmitted_on: Option<NaiveDate>,
    accepted_on: Option<NaiveDate>,
    assessment_on: Option<NaiveDate>,
    assessment_team: Option<String>,
    cooperating_station_ids: Vec<Uuid>,
    assessment_outcome: Option<String>,
    assessment_findings: Option<String>,
    correction_deadline: Option<NaiveDate>,
    correction_evidence: Option<String>,
    proposal: Option<String>,
    proposal_reasons: Option<String>,
    proposed_by: Option<Uuid>,
    returned_reasons: Option<String>,
    decided_by: Option<Uuid>,
    authorization_id: Option<Uuid>,
    assessed_on: Option<NaiveDate>,
    proposed_on: Option<NaiveDate>,
    decided_at: Option<chrono::DateTime<chrono::Utc>>,
    updated_at: chrono::DateTime<chrono::Utc>,
    version: i32,
}

const SELECT: &str =
    "select a.*, so.name as station_name, s.tier as station_tier, s.head_station_id,
       s.legal_person, s.credit_code, s.parent_entity_credit_code, d.name as department_name,
       r.name as regulator_name
  from application a
  join station s on s.station_id = a.station_id
  join organization so on so.organization_id = a.station_id
  join organization d on d.organization_id = a.department_id
  left join organization r on r.organization_id = a.regulator_id";

fn tier(s: &str) -> StationTier {
    match s {
        "national_head" => StationTier::NationalHead,
        "national_branch" => StationTier::NationalBranch,
        _ => StationTier::Local,
    }
}

fn level(s: &str) -> RegulatorLevel {
    match s {
        "national" => RegulatorLevel::National,
        "provincial" => RegulatorLevel::Provincial,
        "municipal" => RegulatorLevel::Municipal,
        _ => RegulatorLevel::County,
    }
}

/// Validates items: parsable range and accuracy, known task types, a
/// well-formed specification code (R7.4), normalized.
pub(crate) fn check_items(items: &[ItemInput], errors: &mut Vec<FieldError>) -> Vec<ItemInput> {
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let f = |k: &str| format!("items[{i}].{k}");
        let mut item = it.clone();
        item.name = it.name.trim().to_owned();
        if item.name.is_empty() {
            errors.push(FieldError::required(&f("name")));
        }
        if let Err(e) = Range::parse(&it.range_text) {
            errors.push(FieldError::new(
                &f("range_text"),
                "invalid_range",
                e.message_zh(),
                e.message_en(),
            ));
        }
        if let Err(e) = Accuracy::parse(&it.accuracy_text) {
            errors.push(FieldError::new(
                &f("accuracy_text"),
                "invalid_accuracy",
                e.message_zh(),
                e.message_en(),
            ));
        }
        match SpecCode::parse(&it.specification) {
            Ok(c) => item.specification = c.to_string(),
            Err(e) => errors.push(FieldError::new(
                &f("specification"),
                "invalid_specification",
                e.message_zh(),
                e.message_en(),
            )),
        }
        let known = ["verification", "type_evaluation", "calibration", "testing"];
        if it.task_types.is_empty() || it.task_types.iter().any(|t| !known.contains(&t.as_str())) {
            errors.push(FieldError::new(
                &f("task_types"),
                "invalid_task_types",
                "任务类型应为检定、型式评价、校准或测试中的一项或多项",
                "Task types: one or more of verification, type_evaluation, calibration, testing",
            ));
        }
        out.push(item);
    }
    out
}

pub(crate) async fn check_region(
    conn: &mut PgConnection,
    region: &[String],
    errors: &mut Vec<FieldError>,
) -> Result<Vec<String>> {
    let codes: Vec<String> = region
        .iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    let known: Vec<String> = sqlx::query_scalar("select code from division where code = any($1)")
        .bind(&codes)
        .fetch_all(conn)
        .await?;
    for c in &codes {
        if !known.contains(c) {
            errors.push(FieldError::new(
                "region",
                "invalid_division",
                format!("行政区划代码“{c}”不存在（GB/T 2260）"),
                format!("Division code “{c}” does not exist (GB/T 2260)"),
            ));
        }
    }
    Ok(codes)
}

/// R6.2: the receiving regulator for a tier and region, with the reason.
pub(crate) async fn receiving(
    conn: &mut PgConnection,
    tier_text: &str,
    region: &[String],
) -> Result<std::result::Result<(Uuid, String, String), (String, String)>> {
    let regs = regulators(conn).await?;
    Ok(receiving_from(&regs, tier_text, region))
}

/// Active regulators (level, division): the input of R6.2, read once per page.
type Regulators = Vec<RegulatorRef<Uuid>>;

async fn regulators(conn: &mut PgConnection) -> Result<Regulators> {
    let rows: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "select organization_id, regulator_level, division_code from organization where kind = 'regulator' and active",
    )
    .fetch_all(conn)
    .await?;
    // Parsed once per page, not once per listed application.
    Ok(rows
        .into_iter()
        .map(|(id, l, d)| RegulatorRef {
            id,
            level: level(&l),
            division: d.as_deref().and_then(|d| DivisionCode::parse(d).ok()),
        })
        .collect())
}

/// R6.2 over loaded regulators.
fn receiving_from(
    regs: &Regulators,
    tier_text: &str,
    region: &[String],
) -> std::result::Result<(Uuid, String, String), (String, String)> {
    let codes: Vec<DivisionCode> = region
        .iter()
        .filter_map(|c| DivisionCode::parse(c).ok())
        .collect();
    let join = |reasons: Vec<String>| reasons.join("；");
    match receiving_regulator(
        tier(tier_text),
        &codes,
        regs,
        divisions(),
        &JurisdictionPolicy::default(),
    ) {
        Ok(r) => Ok((
            r.regulator.id,
            join(r.reasons.iter().map(|x| x.message_zh()).collect()),
            join(r.reasons.iter().map(|x| x.message_en()).collect()),
        )),
        Err(reasons) => Err((
            join(reasons.iter().map(|x| x.message_zh()).collect()),
            join(reasons.iter().map(|x| x.message_en()).collect()),
        )),
    }
}

/// R7.1–R7.4 over the application's facts on `today`.
async fn problems(conn: &mut PgConnection, row: &Row, items: &[ItemInput]) -> Result<Vec<Problem>> {
    let docs: Vec<String> = sqlx::query_scalar(
        "select distinct doc_type from document where owner_type = 'application' and owner_id = $1 and doc_type is not null",
    )
    .bind(row.application_id)
    .fetch_all(&mut *conn)
    .await?;
    let data = Art7Data::load(conn, &[row.station_id]).await?;
    Ok(problems_from(row, items, &docs, &data))
}

/// R7.1–R7.4 of one application over loaded facts (`docs`: its document types).
fn problems_from(row: &Row, items: &[ItemInput], docs: &[String], data: &Art7Data) -> Vec<Problem> {
    let legal = if row.legal_person {
        LegalPersonality::OwnCode {
            credit_code: row.credit_code.clone().unwrap_or_default(),
        }
    } else {
        LegalPersonality::ParentEntity {
            parent_credit_code: row.parent_entity_credit_code.clone().unwrap_or_default(),
        }
    };
    let documents = docs
        .iter()
        .filter_map(|d| DOC_TYPES.iter().find(|(n, _)| n == d).map(|(_, t)| *t))
        .collect();
    data.report(Art7Input {
        station_id: row.station_id,
        legal,
        items,
        standard_ids: Some(&row.standard_ids),
        staff_ids: Some(&row.staff_ids),
        documents,
        declared: &row.to_be_provided,
    })
}

/// The standards and qualified staff of a set of stations: what R7.2 and
/// R7.3 look at, read in one query per kind for a whole page.
pub struct Art7Data {
    /// (station, standard, name, range, certificate from, until): in service only.
    standards: Vec<(Uuid, Uuid, String, String, NaiveDate, NaiveDate)>,
    /// (station, staff member, name, items, from, until): active staff's qualifications.
    quals: Vec<(Uuid, Uuid, String, Vec<String>, NaiveDate, NaiveDate)>,
}

impl Art7Data {
    pub async fn load(conn: &mut PgConnection, stations: &[Uuid]) -> Result<Art7Data> {
        let standards = sqlx::query_as(
            "select station_id, standard_id, name, range_text, cert_issued_on, cert_expires_on
               from measurement_standard where station_id = any($1) and status = 'in_service'",
        )
        .bind(stations)
        .fetch_all(&mut *conn)
        .await?;
        let quals = sqlx::query_as(
            "select p.station_id, p.staff_member_id, p.name, q.items, q.issued_on, q.expires_on
               from staff_member p join qualification q using (staff_member_id)
              where p.station_id = any($1) and q.station_id = any($1) and p.active",
        )
        .bind(stations)
        .fetch_all(&mut *conn)
        .await?;
        Ok(Art7Data { standards, quals })
    }

    /// R7.1–R7.4 on `today`: every unmet condition, in plain language.
    pub fn report(&self, input: Art7Input<'_>) -> Vec<Problem> {
        let Art7Input {
            station_id,
            legal,
            items,
            standard_ids,
            staff_ids,
            documents,
            declared,
        } = input;
        let requested = items
            .iter()
            .filter_map(|i| {
                Some(RequestedItem {
                    name: i.name.clone(),
                    range: Range::parse(&i.range_text).ok()?,
                    spec_code: Some(i.specification.clone()),
                })
            })
            .collect();
        let standards = self
            .standards
            .iter()
            .filter(|s| s.0 == station_id && standard_ids.is_none_or(|ids| ids.contains(&s.1)))
            .filter_map(|(_, _, name, range, from, until)| {
                Some(OfferedStandard {
                    name: name.clone(),
                    range: Range::parse(range).ok()?,
                    certificate_valid_from: *from,
                    certificate_valid_until: *until,
                })
            })
            .collect();
        let mut staff: Vec<(Uuid, RuleStaff)> = Vec::new();
        for (_, id, name, items, from, until) in self
            .quals
            .iter()
            .filter(|q| q.0 == station_id && staff_ids.is_none_or(|ids| ids.contains(&q.1)))
        {
            let at = match staff.iter().position(|s| s.0 == *id) {
                Some(at) => at,
                None => {
                    staff.push((
                        *id,
                        RuleStaff {
                            name: name.clone(),
                            qualifications: Vec::new(),
                        },
                    ));
                    staff.len() - 1
                }
            };
            for item in items {
                staff[at].1.qualifications.push(RuleQualification {
                    item: item.clone(),
                    valid_from: *from,
                    valid_until: *until,
                });
            }
        }
        let facts = ApplicationFacts {
            legal,
            items: requested,
            standards,
            staff: staff.into_iter().map(|s| s.1).collect(),
            documents,
        };
        let report = check_application(&facts, today(), &ConditionsPolicy::default());
        report
            .problems
            .iter()
            .map(|p| {
                let code = serde_json::to_value(p)
                    .ok()
                    .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
                    .unwrap_or_default();
                Problem {
                    declared: declared.contains(&code),
                    key: p.key(),
                    code,
                    rule: p.rule_id().to_owned(),
                    message: p.message(RLang::Zh),
                    message_en: p.message(RLang::En),
                }
            })
            .collect()
    }
}

/// What the Art 7 check looks at; `None` ids mean every in-service standard
/// or active staff member of the station (as for an adjustment, R13.2).
pub struct Art7Input<'a> {
    pub station_id: Uuid,
    pub legal: LegalPersonality,
    pub items: &'a [ItemInput],
    pub standard_ids: Option<&'a [Uuid]>,
    pub staff_ids: Option<&'a [Uuid]>,
    pub documents: Vec<DocumentType>,
    pub declared: &'a [String],
}

/// R7.1–R7.4 on `today`: every unmet condition, in plain language.
pub async fn art7_problems(conn: &mut PgConnection, input: Art7Input<'_>) -> Result<Vec<Problem>> {
    let data = Art7Data::load(conn, &[input.station_id]).await?;
    Ok(data.report(input))
}

/// National stations' authorized items (public facts), read in the
/// caller's transaction through a definer function: a second pool
/// connection per request deadlocked the pool under load (issue 14).
async fn national_items(
    conn: &mut PgConnection,
) -> Result<Vec<(Uuid, String, Vec<CooperationItem>)>> {
    let rows: Vec<(Uuid, String, String, String, String)> =
        sqlx::query_as("select * from national_cooperation_items()")
            .fetch_all(conn)
            .await?;
    let mut out: Vec<(Uuid, String, Vec<CooperationItem>)> = Vec::new();
    for (id, station, name, range, spec) in rows {
        let item = CooperationItem {
            name,
            spec_code: SpecCode::parse(&spec).ok(),
            range: Range::parse(&range).ok(),
        };
        match out.iter_mut().find(|x| x.0 == id) {
            Some(e) => e.2.push(item),
            None => out.push((id, station, vec![item])),
        }
    }
    Ok(out)
}

async fn cooperators(
    conn: &mut PgConnection,
    row: &Row,
    items: &[ItemInput],
) -> Result<Vec<Cooperator>> {
    let national = national_items(conn).await?;
    let requested: Vec<CooperationItem> = items
        .iter()
        .map(|i| CooperationItem {
            name: i.name.clone(),
            spec_code: SpecCode::parse(&i.specification).ok(),
            range: Range::parse(&i.range_text).ok(),
        })
        .collect();
    let stations: Vec<NationalStation<Uuid>> = national
        .iter()
        .filter(|n| n.0 != row.station_id)
        .map(|n| NationalStation {
            id: n.0,
            items: n.2.clone(),
        })
        .collect();
    let head = if row.station_tier == "national_branch" {
        row.head_station_id
    } else {
        None
    };
    Ok(cooperating_stations(&requested, &stations, head.as_ref())
        .into_iter()
        .map(|c| Cooperator {
            name: national
                .iter()
                .find(|n| n.0 == c.station)
                .map(|n| n.1.clone())
                .unwrap_or_default(),
            station_id: c.station,
            reasons: c.reasons.iter().map(|r| r.message_zh()).collect(),
        })
        .collect())
}

/// One step's clock from `start` (working days, `limit`), stopped at `end`
/// when the step is over. Past the loaded years the clock is provisional
/// 暂定 (R6.4, R18.1); a date the calendar cannot answer even so (before its
/// first year) is said so.
#[allow(clippy::too_many_arguments)]
fn step_clock(
    cal: &Calendar,
    step: &str,
    label: (&str, &str),
    (start, limit): (NaiveDate, u32),
    pauses: &[Pause],
    end: Option<NaiveDate>,
    closed: bool,
    today: NaiveDate,
) -> Clock {
    let as_of = end.unwrap_or(today);
    let done = end.is_some() || closed;
    match cal.or_provisional(|c| review_clock(c, start, limit, pauses, as_of)) {
        Ok((c, provisional)) => {
            // Only a date still ahead can change when the year is loaded.
            let provisional = provisional && !done;
            let note_year = c.due.unwrap_or(as_of).year().max(as_of.year());
            Clock {
                step: step.into(),
                label: label.0.into(),
                label_en: label.1.into(),
                done,
                limit: c.limit,
                used: c.used,
                left: c.left,
                paused: c.paused && !done,
                overdue: c.overdue && !done,
                due: c.due,
                due_provisional: provisional,
                due_note: provisional.then(|| provisional_note(note_year, RLang::Zh)),
                due_note_en: provisional.then(|| provisional_note(note_year, RLang::En)),
                message: if done {
                    format!("{}已完成", label.0)
                } else if provisional {
                    format!("{}（暂定）", c.state.message_zh())
                } else {
                    c.state.message_zh()
                },
                message_en: if done {
                    format!("{} finished", label.1)
                } else if provisional {
                    format!("{} (provisional)", c.state.message_en())
                } else {
                    c.state.message_en()
                },
            }
        }
        // A date the calendar cannot answer: count what can be counted
        // (the days used) and say so instead of guessing the rest.
        Err(e) => {
            let used = review_clock(cal, start, 0, pauses, as_of)
                .map(|c| c.used)
                .ok();
            Clock {
                step: step.into(),
                label: label.0.into(),
                label_en: label.1.into(),
                done,
                limit,
                used: used.unwrap_or(0),
                left: limit.saturating_sub(used.unwrap_or(0)),
                // Still true whatever the calendar covers.
                paused: !done && pauses.iter().any(|p| p.resubmitted.is_none()),
                overdue: false,
                due: None,
                due_provisional: false,
                due_note: None,
                due_note_en: None,
                message: if done && used.is_some() {
                    format!("{}已完成", label.0)
                } else {
                    e.message_zh()
                },
                message_en: if done && used.is_some() {
                    format!("{} finished", label.1)
                } else {
                    e.message_en()
                },
            }
        }
    }
}

/// The dates a step's clock starts and stops on.
#[derive(Debug, Clone, Default)]
pub struct StepDates {
    pub closed: bool,
    pub submitted_on: Option<NaiveDate>,
    pub correction_on: Option<NaiveDate>,
    pub resubmitted_on: Option<NaiveDate>,
    pub accepted_on: Option<NaiveDate>,
    pub assessed_on: Option<NaiveDate>,
    pub pass_after_correction_deadline: Option<NaiveDate>,
    pub decided_on: Option<NaiveDate>,
}

fn dates_of(row: &Row) -> StepDates {
    step_dates(
        &row.state,
        [
            row.submitted_on,
            row.correction_on,
            row.resubmitted_on,
            row.accepted_on,
            row.assessed_on,
            row.correction_deadline,
        ],
        row.assessment_outcome.as_deref(),
        row.decided_at,
    )
}

/// The step dates from the columns: submitted, correction notice,
/// resubmitted, accepted, assessed, correction deadline.
fn step_dates(
    state: &str,
    [submitted_on, correction_on, resubmitted_on, accepted_on, assessed_on, correction_deadline]: [Option<NaiveDate>; 6],
    outcome: Option<&str>,
    decided_at: Option<chrono::DateTime<chrono::Utc>>,
) -> StepDates {
    StepDates {
        closed: matches!(state, "withdrawn" | "granted" | "refused"),
        submitted_on,
        correction_on,
        resubmitted_on,
        accepted_on,
        assessed_on,
        pass_after_correction_deadline: correction_deadline
            .filter(|_| outcome == Some("pass_after_correction")),
        decided_on: decided_at.map(crate::web::china_date),
    }
}

/// The due date of an open application's current step (R6.4; the task
/// list, issue 16), from its columns: submitted, correction notice,
/// resubmitted, accepted, assessed, correction deadline.
pub fn current_due(
    cal: &Calendar,
    state: &str,
    dates: [Option<NaiveDate>; 6],
    outcome: Option<&str>,
    today: NaiveDate,
) -> Option<NaiveDate> {
    let d = step_dates(state, dates, outcome, None);
    clocks(cal, &d, today).last().and_then(|c| c.due)
}

/// Every step's clock so far, as of `today` (R6.4 for acceptance; the
/// policy limits [`ASSESSMENT_DAYS`] and [`DECISION_DAYS`] after it). A
/// withdrawn or decided application has no running clock.
pub fn clocks(cal: &Calendar, d: &StepDates, today: NaiveDate) -> Vec<Clock> {
    let mut out = Vec::new();
    let Some(submitted) = d.submitted_on else {
        return out;
    };
    let pauses: Vec<Pause> = d
        .correction_on
        .map(|notice| Pause {
            notice,
            resubmitted: d.resubmitted_on,
        })
        .into_iter()
        .collect();
    out.push(step_clock(
        cal,
        "acceptance",
        ("受理", "Acceptance"),
        (submitted, ACCEPTANCE_DAYS),
        &pauses,
        d.accepted_on,
        d.closed,
        today,
    ));
    if let Some(accepted) = d.accepted_on {
        out.push(step_clock(
            cal,
            "assessment",
            ("考核", "Assessment"),
            (accepted, ASSESSMENT_DAYS),
            &[],
            d.assessed_on,
            d.closed,
            today,
        ));
    }
    if let Some(assessed) = d.assessed_on {
        // After a pass-after-correction, the station has until its deadline;
        // the decision clock starts then.
        let start = match d.pass_after_correction_deadline {
            Some(deadline) if deadline > assessed => deadline,
            _ => assessed,
        };
        out.push(step_clock(
            cal,
            "decision",
            ("审批决定", "Decision"),
            (start, DECISION_DAYS),
            &[],
            d.decided_on,
            d.closed,
            today,
        ));
    }
    out
}

async fn load_row(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<Row> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "{SELECT} where a.application_id = $1 and (a.department_id = $2 or a.station_id = $2
            or (a.regulator_id = $2 and a.state <> 'draft')
            or (a.state = 'assessment' and $2 = any(a.cooperating_station_ids)))"
    ))
    .bind(id)
    .bind(ctx.org_id)
    .fetch_optional(conn)
    .await?;
    row.ok_or(AppError::NotFound)
}

/// One visible application with its Art 7 report, receiving regulator,
/// clock and proposed cooperators.
pub async fn get(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<Application> {
    let row = load_row(conn, ctx, id).await?;
    let cal = crate::calendar::store::current(conn).await?;
    let declared = row.to_be_provided.clone();
    let mut a = view(conn, &cal, row).await?;
    if !matches!(
        a.state,
        ApplicationState::Draft | ApplicationState::Withdrawn
    ) {
        a.conditions =
            conditions::standings(conn, Subject::Application, id, &a.problems, &declared).await?;
    }
    Ok(a)
}

/// An application as shown; `cal` is the current calendar, loaded once by
/// the caller (a list shows many applications with one calendar).
async fn view(conn: &mut PgConnection, cal: &Calendar, row: Row) -> Result<Application> {
    let items: Vec<ItemInput> = serde_json::from_value(row.items.clone()).unwrap_or_default();
    let problems = problems(conn, &row, &items).await?;
    let (receiving_zh, receiving_en) = match &row.regulator_reason {
        Some(r) => (Some(r.clone()), Some(r.clone())),
        None if row.region.is_empty() => (None, None),
        None => match receiving(conn, &row.station_tier, &row.region).await? {
            Ok((_, zh, en)) => (Some(zh), Some(en)),
            Err((zh, en)) => (Some(zh), Some(en)),
        },
    };
    let proposed_cooperators = cooperators(conn, &row, &items).await?;
    let documents =
        crate::standards::documents::list(conn, "application", row.application_id).await?;
    Ok(assemble(
        cal,
        row,
        items,
        problems,
        (receiving_zh, receiving_en),
        proposed_cooperators,
        documents,
    ))
}

/// An application as shown, from its row and what was read for it.
fn assemble(
    cal: &Calendar,
    row: Row,
    items: Vec<ItemInput>,
    problems: Vec<Problem>,
    (receiving_zh, receiving_en): (Option<String>, Option<String>),
    proposed_cooperators: Vec<Cooperator>,
    documents: Vec<crate::standards::documents::DocumentInfo>,
) -> Application {
    let clocks = clocks(cal, &dates_of(&row), today());
    Application {
        id: row.application_id,
        station_id: row.station_id,
        station_name: row.station_name.clone(),
        station_tier: row.station_tier.clone(),
        department_id: row.department_id,
        department_name: row.department_name.clone(),
        regulator_id: row.regulator_id,
        regulator_name: row.regulator_name.clone(),
        state: ApplicationState::parse(&row.state).unwrap_or(ApplicationState::Draft),
        clocks: clocks.clone(),
        clock: clocks.last().cloned(),
        assessed_on: row.assessed_on,
        proposed_on: row.proposed_on,
        region: row.region,
        items,
        standard_ids: row.standard_ids,
        staff_ids: row.staff_ids,
        to_be_provided: row.to_be_provided,
        submitted_on: row.submitted_on,
        correction_items: row.correction_items,
        correction_on: row.correction_on,
        resubmitted_on: row.resubmitted_on,
        accepted_on: row.accepted_on,
        assessment_on: row.assessment_on,
        assessment_team: row.assessment_team,
        cooperating_station_ids: row.cooperating_station_ids,
        assessment_outcome: row.assessment_outcome,
        assessment_findings: row.assessment_findings,
        correction_deadline: row.correction_deadline,
        correction_evidence: row.correction_evidence,
        proposal: row.proposal,
        proposal_reasons: row.proposal_reasons,
        proposed_by: row.proposed_by,
        returned_reasons: row.returned_reasons,
        decided_by: row.decided_by,
        authorization_id: row.authorization_id,
        version: row.version,
        receiving: receiving_zh,
        receiving_en,
        problems,
        conditions: Vec::new(),
        proposed_cooperators,
        documents,
    }
}

/// Applications the caller may see (the department's, the station's, or
/// those addressed to the regulator), most recently changed first: one
/// keyset page of `limit` after `after`, with the cursor of the next.
///
/// Issue 14: a page runs a fixed number of queries whatever its length —
/// the rows, their document types, the stations' standards and staff, the
/// regulators (R6.2) — and computes R7.1–R7.4 in Rust. Documents and
/// proposed cooperators are left out of the list; GET one application for
/// them.
pub async fn list(
    conn: &mut PgConnection,
    ctx: &Ctx,
    state: Option<ApplicationState>,
    after: Option<&crate::web::Cursor>,
    limit: i64,
) -> Result<(Vec<Application>, Option<crate::web::Cursor>)> {
    let (at, id) = match after {
        Some(c) => (Some(c.time()?), Some(c.id)),
        None => (None, None),
    };
    // The page's ids first, from the application table alone (narrow rows
    // sorted), then the page's rows with their names: joining the names to
    // every visible application before the limit cost SAMR a scan of every
    // station and 288 wide rows for 50 (issue 14, docs/scale.md).
    static LIST: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "with page as materialized (
               select a.application_id, a.updated_at from application a
                where (a.department_id = $1 or a.station_id = $1
                       or (a.regulator_id = $1 and a.state <> 'draft')
                       or (a.state = 'assessment' and $1 = any(a.cooperating_station_ids)))
                  and ($2::text is null or a.state = $2)
                  and ($3::timestamptz is null or (a.updated_at, a.application_id) < ($3, $4))
                  -- The rows the joins below keep (their row policies): a
                  -- row dropped after the limit would shorten the page and
                  -- end the cursor (a cooperating station sees an
                  -- application but not the applicant's station row).
                  and exists (select 1 from station s where s.station_id = a.station_id)
                  and exists (select 1 from organization so where so.organization_id = a.station_id)
                  and exists (select 1 from organization d where d.organization_id = a.department_id)
                order by a.updated_at desc, a.application_id desc limit $5)
             {} order by a.updated_at desc, a.application_id desc",
            SELECT.replacen(
                "from application a",
                "from page p join application a on a.application_id = p.application_id",
                1
            )
        )
    });
    let rows: Vec<Row> = sqlx::query_as(LIST.as_str())
        .bind(ctx.org_id)
        .bind(state.map(|s| s.as_str()))
        .bind(at)
        .bind(id)
        .bind(limit + 1)
        .fetch_all(&mut *conn)
        .await?;
    let (rows, next) = crate::web::keyset_page(rows, limit, |r| {
        crate::web::Cursor::new(crate::web::time_key(r.updated_at), r.application_id)
    });
    let ids: Vec<Uuid> = rows.iter().map(|r| r.application_id).collect();
    let mut stations: Vec<Uuid> = rows.iter().map(|r| r.station_id).collect();
    stations.sort();
    stations.dedup();
    let docs: Vec<(Uuid, String)> = sqlx::query_as(
        "select distinct owner_id, doc_type from document
          where owner_type = 'application' and owner_id = any($1) and doc_type is not null",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let data = Art7Data::load(conn, &stations).await?;
    let regs = regulators(conn).await?;
    let cal = crate::calendar::store::current(conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let items: Vec<ItemInput> = serde_json::from_value(row.items.clone()).unwrap_or_default();
        let own: Vec<String> = docs
            .iter()
            .filter(|d| d.0 == row.application_id)
            .map(|d| d.1.clone())
            .collect();
        let problems = problems_from(&row, &items, &own, &data);
        let receiving = match &row.regulator_reason {
            Some(r) => (Some(r.clone()), Some(r.clone())),
            None if row.region.is_empty() => (None, None),
            None => match receiving_from(&regs, &row.station_tier, &row.region) {
                Ok((_, zh, en)) | Err((zh, en)) => (Some(zh), Some(en)),
            },
        };
        out.push(assemble(
            &cal,
            row,
            items,
            problems,
            receiving,
            Vec::new(),
            Vec::new(),
        ));
    }
    Ok((out, next))
}

/// R6.1: registers the new station an application is for: of the caller's
/// department, unauthorized, without an authorizing regulator (the grant
/// sets it). Field errors are named `new_station.*`.
async fn register_station(
    conn: &mut PgConnection,
    ctx: &Ctx,
    ns: &NewStationInput,
) -> Result<Uuid> {
    use crate::orgs::model::{OrganizationInput, StationInput};
    if !ctx.has(Role::Officer) {
        return Err(AppError::forbidden(
            "登记新计量站须由主管部门的经办人办理",
            "Registering a new station needs a department officer",
        ));
    }
    let input = OrganizationInput {
        kind: Some(OrgKind::Station),
        name: ns.name.clone(),
        name_en: ns.name_en.clone(),
        address: ns.address.clone(),
        contact_phone: ns.contact_phone.clone(),
        station: Some(StationInput {
            code: ns.code.clone(),
            tier: ns.tier,
            head_station_id: ns.head_station_id,
            department_id: Some(ctx.org_id),
            location_division: ns.location_division.clone(),
            field: ns.field.clone(),
            legal_person: ns.legal_person,
            credit_code: ns.credit_code.clone(),
            parent_entity_name: ns.parent_entity_name.clone(),
            parent_entity_credit_code: ns.parent_entity_credit_code.clone(),
            ..Default::default()
        }),
        ..Default::default()
    };
    match crate::orgs::store::org_create(conn, ctx, &input).await {
        Ok(org) => Ok(org.id),
        Err(AppError::Validation(errs)) => Err(AppError::Validation(
            errs.into_iter()
                .map(|mut e| {
                    let f = e
                        .field
                        .strip_prefix("station.")
                        .unwrap_or(&e.field)
                        .to_owned();
                    e.field = format!("new_station.{f}");
                    e
                })
                .collect(),
        )),
        Err(e) => Err(e),
    }
}

/// R6.4: after the calendar changed from `old` to `new`, the clocks of
/// open applications that were provisional on `old`: each with its due date
/// before and after; a changed one is notified to the station and the
/// regulator. Runs as system work inside the import's transaction.
pub async fn recompute_provisional(
    conn: &mut PgConnection,
    old: &Calendar,
    new: &Calendar,
    today: NaiveDate,
) -> Result<Vec<crate::calendar::model::RecomputedDeadline>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} where a.state not in ('draft', 'granted', 'refused', 'withdrawn') order by a.application_id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for row in &rows {
        let dates = dates_of(row);
        let before = clocks(old, &dates, today);
        let after = clocks(new, &dates, today);
        for (b, a) in before.iter().zip(after.iter()) {
            if !b.due_provisional {
                continue;
            }
            let changed = b.due != a.due;
            let link = format!("/applications/{}", row.application_id);
            if changed {
                let show =
                    |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "—".into());
                crate::notifications::send(
                    conn,
                    &[Some(row.station_id), row.regulator_id]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>(),
                    &crate::notifications::Note::new("application.due_recomputed", link.as_str())
                        .p("station", &row.station_name)
                        .p2("step", &b.label, b.label_en.to_lowercase())
                        .p("before", show(b.due))
                        .p("after", show(a.due)),
                )
                .await?;
            }
            out.push(crate::calendar::model::RecomputedDeadline {
                kind: "application".into(),
                id: row.application_id,
                label: format!("授权申请：{}（{}）", row.station_name, b.label),
                link,
                step: Some(b.step.clone()),
                before: b.due,
                after: a.due,
                still_provisional: a.due_provisional,
                changed,
            });
        }
    }
    Ok(out)
}

/// How many applications wait for the caller's organization and roles: a
/// department's drafts and correction requests; a regulator reviewer's
/// submitted, accepted, assessed ones; an approver's proposals.
pub async fn awaiting_count(conn: &mut PgConnection, ctx: &Ctx) -> Result<i64> {
    let mut states: Vec<&str> = Vec::new();
    let column = match ctx.org_kind {
        OrgKind::Department => {
            states.extend(["draft", "correction_requested"]);
            "department_id"
        }
        OrgKind::Regulator => {
            if ctx.has(Role::Reviewer) {
                states.extend(["submitted", "accepted", "assessment", "assessed"]);
            }
            if ctx.has(Role::Approver) {
                states.push("proposed");
            }
            "regulator_id"
        }
        _ => return Ok(0),
    };
    Ok(sqlx::query_scalar(&format!(
        "select count(*) from application where {column} = $1 and state = any($2)"
    ))
    .bind(ctx.org_id)
    .bind(&states)
    .fetch_one(&mut *conn)
    .await?)
}

/// How many of the caller's applications are past their current step's
/// clock, without building each application's page (home page counts).
pub async fn overdue_count(conn: &mut PgConnection, ctx: &Ctx) -> Result<i64> {
    // Open applications only, and only the columns the clocks read.
    #[derive(sqlx::FromRow)]
    struct Dates {
        state: String,
        submitted_on: Option<NaiveDate>,
        correction_on: Option<NaiveDate>,
        resubmitted_on: Option<NaiveDate>,
        accepted_on: Option<NaiveDate>,
        assessed_on: Option<NaiveDate>,
        correction_deadline: Option<NaiveDate>,
        assessment_outcome: Option<String>,
        decided_at: Option<chrono::DateTime<chrono::Utc>>,
    }
    let rows: Vec<Dates> = sqlx::query_as(
        "select a.state, a.submitted_on, a.correction_on, a.resubmitted_on, a.accepted_on,
                a.assessed_on, a.correction_deadline, a.assessment_outcome, a.decided_at
           from application a
          where (a.department_id = $1 or a.station_id = $1
            or (a.regulator_id = $1 and a.state <> 'draft')
            or (a.state = 'assessment' and $1 = any(a.cooperating_station_ids)))
           and a.state not in ('draft', 'granted', 'refused', 'withdrawn')",
    )
    .bind(ctx.org_id)
    .fetch_all(&mut *conn)
    .await?;
    let today = today();
    let cal = crate::calendar::store::current(conn).await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            let d = step_dates(
                &r.state,
                [
                    r.submitted_on,
                    r.correction_on,
                    r.resubmitted_on,
                    r.accepted_on,
                    r.assessed_on,
                    r.correction_deadline,
                ],
                r.assessment_outcome.as_deref(),
                r.decided_at,
            );
            clocks(&cal, &d, today).last().is_some_and(|c| c.overdue)
        })
        .count() as i64)
}

/// Drafts an application for one of the department's unauthorized stations,
/// or for a new station registered with it (R6.1).
pub async fn create(
    conn: &mut PgConnection,
    ctx: &Ctx,
    input: &ApplicationInput,
) -> Result<Application> {
    if ctx.org_kind != OrgKind::Department {
        return Err(AppError::forbidden(
            "建站申请由主管部门提出（R6.1）",
            "An application to establish a station is filed by its competent department (R6.1)",
        ));
    }
    let mut errors = Vec::new();
    let mut station = input.station_id;
    match (station, &input.new_station) {
        (Some(_), Some(_)) => errors.push(FieldError::new(
            "station_id",
            "station_or_new",
            "请选择本部门已有的计量站，或登记新计量站，二者选一",
            "Choose one of your stations or register a new one, not both",
        )),
        (None, Some(ns)) => {
            // A refused insert (a duplicate code, say) aborts the transaction;
            // the savepoint keeps it usable for the other checks.
            sqlx::query("savepoint new_station")
                .execute(&mut *conn)
                .await?;
            match register_station(conn, ctx, ns).await {
                Ok(id) => {
                    sqlx::query("release savepoint new_station")
                        .execute(&mut *conn)
                        .await?;
                    station = Some(id)
                }
                Err(e) => {
                    sqlx::query("rollback to savepoint new_station")
                        .execute(&mut *conn)
                        .await?;
                    match e {
                        AppError::Validation(errs) => errors.extend(errs),
                        e => return Err(e),
                    }
                }
            }
        }
        (None, None) => errors.push(FieldError::new(
            "station_id",
            "required",
            "请选择计量站，或登记新计量站",
            "Choose a station or register a new one",
        )),
        (Some(s), None) => {
            let st: Option<(Uuid, String)> =
                sqlx::query_as("select department_id, status from station where station_id = $1")
                    .bind(s)
                    .fetch_optional(&mut *conn)
                    .await?;
            match st {
                Some((dept, _)) if dept != ctx.org_id => errors.push(FieldError::new(
                    "station_id",
                    "not_own_station",
                    "只能为本部门所属的计量站申请",
                    "Only for a station of your department",
                )),
                Some((_, status)) if status == "authorized" => errors.push(FieldError::new(
                    "station_id",
                    "already_authorized",
                    "该计量站已获授权；请走授权调整或复查程序",
                    "This station is already authorized; use an adjustment or re-examination",
                )),
                None => errors.push(FieldError::new(
                    "station_id",
                    "not_own_station",
                    "只能为本部门所属的计量站申请",
                    "Only for a station of your department",
                )),
                _ => {}
            }
        }
    }
    let items = check_items(input.items.as_deref().unwrap_or(&[]), &mut errors);
    let region = check_region(conn, input.region.as_deref().unwrap_or(&[]), &mut errors).await?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into application (application_id, station_id, department_id, region, items, standard_ids, staff_ids, drafted_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(station)
    .bind(ctx.org_id)
    .bind(&region)
    .bind(serde_json::to_value(&items).map_err(anyhow::Error::from)?)
    .bind(input.standard_ids.clone().unwrap_or_default())
    .bind(input.staff_ids.clone().unwrap_or_default())
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    let app = get(conn, ctx, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new("application.draft", "application", id).after(&json!({"station_id": station})),
    )
    .await?;
    Ok(app)
}

/// Edits a draft (or an application awaiting correction). Every save runs the
/// Art 7 check; invalid items or region are refused with field messages.
pub async fn update(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    input: &ApplicationInput,
) -> Result<Application> {
    let row = load_row(conn, ctx, id).await?;
    if row.department_id != ctx.org_id {
        return Err(AppError::forbidden(
            "只有提出申请的主管部门可以修改",
            "Only the applying department may edit",
        ));
    }
    if !matches!(row.state.as_str(), "draft" | "correction_requested") {
        return Err(AppError::Conflict {
            code: "illegal_transition",
            zh: "申请已提交，只有在草稿或待补正时可以修改".into(),
            en: "The application can be edited only as a draft or while a correction is requested"
                .into(),
        });
    }
    let version = crate::web::need_version(input.version)?;
    let mut errors = Vec::new();
    if input.new_station.is_some() {
        errors.push(FieldError::new(
            "new_station",
            "create_only",
            "新计量站只能在创建申请时登记",
            "A new station is registered only when the application is created",
        ));
    }
    let items = match &input.items {
        Some(i) => check_items(i, &mut errors),
        None => serde_json::from_value(row.items.clone()).unwrap_or_default(),
    };
    let region = match &input.region {
        Some(r) => check_region(conn, r, &mut errors).await?,
        None => row.region.clone(),
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let done = sqlx::query(
        "update application set items = $3, region = $4, standard_ids = $5, staff_ids = $6,
           version = version + 1, updated_at = now() where application_id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(serde_json::to_value(&items).map_err(anyhow::Error::from)?)
    .bind(&region)
    .bind(
        input
            .standard_ids
            .clone()
            .unwrap_or(row.standard_ids.clone()),
    )
    .bind(input.staff_ids.clone().unwrap_or(row.staff_ids.clone()))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::stale());
    }
    let app = get(conn, ctx, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new("application.update", "application", id)
            .after(&json!({"items": app.items, "region": app.region})),
    )
    .await?;
    Ok(app)
}

/// The workflow's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Submit,
    Withdraw,
    Correction,
    Resubmit,
    Accept,
    Assessment,
    Outcome,
    Propose,
    Confirm,
    /// Approver: send the proposal back to the reviewer with reasons.
    Return,
}

impl Step {
    pub fn parse(s: &str) -> Option<Step> {
        Some(match s {
            "submit" => Step::Submit,
            "withdraw" => Step::Withdraw,
            "correction" => Step::Correction,
            "resubmit" => Step::Resubmit,
            "accept" => Step::Accept,
            "assessment" => Step::Assessment,
            "outcome" | "assessment-outcome" => Step::Outcome,
            "propose" => Step::Propose,
            "confirm" => Step::Confirm,
            "return" => Step::Return,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Submit => "submit",
            Step::Withdraw => "withdraw",
            Step::Correction => "correction",
            Step::Resubmit => "resubmit",
            Step::Accept => "accept",
            Step::Assessment => "assessment",
            Step::Outcome => "outcome",
            Step::Propose => "propose",
            Step::Confirm => "confirm",
            Step::Return => "return",
        }
    }
}

/// Trimmed; empty is none.
use crate::orgs::model::clean as text;

/// Moves an application one step (R6.1–R8.5).
pub async fn step(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    step: Step,
    input: &StepInput,
) -> Result<Application> {
    let row = load_row(conn, ctx, id).await?;
    let before = ApplicationState::parse(&row.state).unwrap_or(ApplicationState::Draft);
    let version = crate::web::need_version(input.version)?;
    let is_dept = ctx.org_id == row.department_id && ctx.org_kind == OrgKind::Department;
    let is_reg = Some(ctx.org_id) == row.regulator_id && ctx.org_kind == OrgKind::Regulator;
    let role_ok = match step {
        Step::Submit | Step::Withdraw | Step::Resubmit => is_dept,
        Step::Correction | Step::Accept | Step::Assessment | Step::Outcome | Step::Propose => {
            is_reg && ctx.has(Role::Reviewer)
        }
        Step::Confirm | Step::Return => is_reg && ctx.has(Role::Approver),
    };
    if !role_ok {
        return Err(AppError::forbidden(
            match step {
                Step::Submit | Step::Withdraw | Step::Resubmit => {
                    "只有提出申请的主管部门可以办理此步骤"
                }
                Step::Confirm | Step::Return => "只有受理机关的审批人可以审批",
                _ => "只有受理机关的审查员可以办理此步骤",
            },
            match step {
                Step::Submit | Step::Withdraw | Step::Resubmit => {
                    "Only the applying department may do this"
                }
                Step::Confirm | Step::Return => {
                    "Only an approver of the receiving regulator may decide"
                }
                _ => "Only a reviewer of the receiving regulator may do this",
            },
        ));
    }
    let from: &[ApplicationState] = match step {
        Step::Submit => &[ApplicationState::Draft],
        Step::Withdraw => &[
            ApplicationState::Draft,
            ApplicationState::Submitted,
            ApplicationState::CorrectionRequested,
        ],
        Step::Correction | Step::Accept => &[ApplicationState::Submitted],
        Step::Resubmit => &[ApplicationState::CorrectionRequested],
        Step::Assessment => &[ApplicationState::Accepted],
        Step::Outcome => &[ApplicationState::Assessment],
        Step::Propose => &[ApplicationState::Assessed],
        Step::Confirm | Step::Return => &[ApplicationState::Proposed],
    };
    if !from.contains(&before) {
        return Err(AppError::Conflict {
            code: "illegal_transition",
            zh: format!("申请当前为“{}”，不能办理此步骤（可能已被他人办理，请刷新）", before.label(Lang::Zh)),
            en: format!("The application is {}; this step is not possible now (someone may have acted first; reload)", before.label(Lang::En).to_lowercase()),
        });
    }
    if row.version != version {
        return Err(AppError::stale());
    }
    let today = today();
    let mut errors = Vec::new();
    crate::web::check_date("date", input.date, &mut errors);
    crate::web::check_date(
        "correction_deadline",
        input.correction_deadline,
        &mut errors,
    );
    let to;
    // Values bound below, by name.
    let mut regulator: Option<Uuid> = row.regulator_id;
    let mut reason_text: Option<String> = row.regulator_reason.clone();
    let mut declared: Vec<String> = row.to_be_provided.clone();
    let mut list_items: Option<Vec<String>> = None;
    let mut note: Option<String> = None;
    let mut cooperating = row.cooperating_station_ids.clone();
    match step {
        Step::Submit => {
            let fresh = load_row(conn, ctx, id).await?;
            let cal = crate::calendar::store::current(conn).await?;
            let app = view(conn, &cal, fresh).await?;
            let unmet: Vec<&Problem> = app
                .problems
                .iter()
                .filter(|p| !input.to_be_provided.contains(&p.code))
                .collect();
            // Each unmet condition says how to go on: meet it in the
            // registries, or declare it as to be provided 待补 at submission.
            for p in &unmet {
                errors.push(FieldError::new(
                    "conditions",
                    &p.code,
                    format!(
                        "{}（如暂不具备，请在提交前勾选“声明待补”该项）",
                        p.message
                    ),
                    format!(
                        "{} (if not yet met, tick “Declare to be provided” for it before submitting)",
                        p.message_en
                    ),
                ));
            }
            if app.items.is_empty() || app.region.is_empty() {
                errors.push(FieldError::new(
                    "items",
                    "incomplete",
                    "请先填写申请项目和区域",
                    "Fill in the items and the region first",
                ));
            }
            match receiving(conn, &row.station_tier, &row.region).await? {
                Ok((rid, zh, _)) => {
                    regulator = Some(rid);
                    reason_text = Some(zh);
                }
                Err((zh, en)) => {
                    errors.push(FieldError::new("region", "no_receiving_regulator", zh, en))
                }
            }
            declared = input
                .to_be_provided
                .iter()
                .filter(|c| app.problems.iter().any(|p| &p.code == *c))
                .cloned()
                .collect();
            to = ApplicationState::Submitted;
        }
        Step::Withdraw => to = ApplicationState::Withdrawn,
        Step::Correction => {
            // R6.4: one notice, listing every missing or defective item.
            if row.correction_on.is_some() {
                return Err(AppError::Conflict {
                    code: "correction_already_sent",
                    zh: "补正通知已发出过一次；依一次性告知要求，不能再次发出（R6.4）".into(),
                    en: "The correction notice was already sent once; it cannot be sent again (R6.4)".into(),
                });
            }
            let items: Vec<String> = input
                .items
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            if items.is_empty() {
                errors.push(FieldError::new(
                    "items",
                    "required",
                    "请一次性列出全部需补正的材料或缺陷",
                    "List every missing or defective item at once",
                ));
            }
            list_items = Some(items);
            to = ApplicationState::CorrectionRequested;
        }
        Step::Resubmit => {
            to = ApplicationState::Submitted;
        }
        Step::Accept => {
            to = ApplicationState::Accepted;
        }
        Step::Assessment => {
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
            cooperating = match &input.cooperating_station_ids {
                Some(ids) => ids.clone(),
                None => {
                    let fresh = load_row(conn, ctx, id).await?;
                    let cal = crate::calendar::store::current(conn).await?;
                    view(conn, &cal, fresh)
                        .await?
                        .proposed_cooperators
                        .iter()
                        .map(|c| c.station_id)
                        .collect()
                }
            };
            // R8.1: a branch station's head station always takes part.
            if row.station_tier == "national_branch" {
                if let Some(h) = row.head_station_id {
                    if !cooperating.contains(&h) {
                        cooperating.push(h);
                    }
                }
            }
            to = ApplicationState::Assessment;
        }
        Step::Outcome => {
            // The outcome follows the assessment: not before its scheduled date.
            if let Some(on) = row.assessment_on.filter(|on| *on > today) {
                errors.push(FieldError::new(
                    "outcome",
                    "before_assessment",
                    format!("考核安排在 {on}，考核结论须在考核之后记录；如考核日期有变，请先重新安排考核"),
                    format!("The assessment is scheduled for {on}; record its outcome after it (reschedule first if the date changed)"),
                ));
            }
            let outcome = input.outcome.as_deref().unwrap_or("");
            if input.verified.values().any(|t| !t.trim().is_empty()) {
                // Conditions the assessment verified, each with its evidence.
                let fresh = load_row(conn, ctx, id).await?;
                let cal = crate::calendar::store::current(conn).await?;
                let app = view(conn, &cal, fresh).await?;
                conditions::record_into(
                    &mut errors,
                    conn,
                    ctx,
                    settled_on(&row, ctx),
                    How::Verified,
                    &app.problems,
                    &input.verified,
                )
                .await?;
            }
            match outcome {
                "pass" => {}
                "pass_after_correction" => {
                    if text(&input.findings).is_none() {
                        errors.push(FieldError::new(
                            "findings",
                            "required",
                            "请填写需整改的问题",
                            "Give the findings to correct",
                        ));
                    }
                    if input.correction_deadline.is_none() {
                        errors.push(FieldError::new(
                            "correction_deadline",
                            "required",
                            "请给出整改期限",
                            "Give the correction deadline",
                        ));
                    }
                }
                "fail" => {
                    if text(&input.findings).is_none() {
                        errors.push(FieldError::new(
                            "findings",
                            "required",
                            "请填写不通过的理由",
                            "Give the reasons for failing",
                        ));
                    }
                }
                _ => errors.push(FieldError::new(
                    "outcome",
                    "invalid",
                    "考核结论应为通过、整改后通过或不通过（R8.3）",
                    "Outcome: pass, pass_after_correction or fail (R8.3)",
                )),
            }
            to = ApplicationState::Assessed;
        }
        Step::Propose => {
            let decision = input.decision.as_deref().unwrap_or("");
            let evidence = text(&input.correction_evidence).or(row.correction_evidence.clone());
            match decision {
                "grant" => match row.assessment_outcome.as_deref() {
                    // R8.3: only a pass leads to certification; after correction, once the evidence is in.
                    Some("pass") => {}
                    Some("pass_after_correction") if evidence.is_some() => {}
                    Some("pass_after_correction") => errors.push(FieldError::new(
                        "correction_evidence",
                        "required",
                        "整改后通过的，须先提交整改证据（R8.3）",
                        "Passing after correction needs the evidence of correction first (R8.3)",
                    )),
                    _ => errors.push(FieldError::new(
                        "decision",
                        "not_passed",
                        "考核未通过，不能授权（R8.3）",
                        "The assessment did not pass; no grant (R8.3)",
                    )),
                },
                "refuse" => {
                    if text(&input.reasons).is_none() {
                        errors.push(FieldError::new(
                            "reasons",
                            "required",
                            "不予授权须说明理由",
                            "Give the reasons for refusal",
                        ));
                    }
                }
                _ => errors.push(FieldError::new(
                    "decision",
                    "invalid",
                    "请选择授权或不予授权",
                    "Choose grant or refuse",
                )),
            }
            note = evidence;
            to = ApplicationState::Proposed;
        }
        Step::Confirm => {
            if row.proposed_by == Some(ctx.user_id) {
                return Err(AppError::forbidden(
                    "审查意见须由另一人审批（双人复核）",
                    "Four eyes: the approver must be someone other than the proposer",
                ));
            }
            to = if row.proposal.as_deref() == Some("grant") {
                ApplicationState::Granted
            } else {
                ApplicationState::Refused
            };
            if to == ApplicationState::Granted {
                // One rule for unmet Art 7 conditions (R7.2, R7.3, requirements
                // §4): met by now, verified by the assessment, or overridden
                // here by the deciding approver with a reason.
                let fresh = load_row(conn, ctx, id).await?;
                let cal = crate::calendar::store::current(conn).await?;
                let app = view(conn, &cal, fresh).await?;
                let before = errors.len();
                conditions::record_into(
                    &mut errors,
                    conn,
                    ctx,
                    settled_on(&row, ctx),
                    How::Overridden,
                    &app.problems,
                    &input.overrides,
                )
                .await?;
                if errors.len() == before {
                    let now = conditions::standings(
                        conn,
                        Subject::Application,
                        id,
                        &app.problems,
                        &row.to_be_provided,
                    )
                    .await?;
                    errors.extend(conditions::open_errors(&now));
                }
            } else if input.overrides.values().any(|t| !t.trim().is_empty()) {
                errors.push(FieldError::new(
                    "overrides",
                    "not_a_grant",
                    "不予授权时无需认可未满足的条件",
                    "A refusal overrides no condition",
                ));
            }
            if let Some(name) = text(&input.official_name) {
                if to != ApplicationState::Granted {
                    errors.push(FieldError::new(
                        "official_name",
                        "not_a_grant",
                        "只有予以授权时才能确定计量站正式名称",
                        "Only a grant sets the station's official name",
                    ));
                } else if name.chars().count() > 200 {
                    errors.push(FieldError::new(
                        "official_name",
                        "length",
                        "名称长度应为 1–200 个字符",
                        "Name must be 1–200 characters",
                    ));
                }
            }
        }
        Step::Return => {
            if text(&input.reasons).is_none() {
                errors.push(FieldError::new(
                    "reasons",
                    "required",
                    "退回须说明理由",
                    "Give the reasons for sending it back",
                ));
            }
            crate::web::check_lengths(&[("reasons", input.reasons.as_deref(), 2000)], &mut errors);
            to = ApplicationState::Assessed;
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let done = sqlx::query(
        "update application set state = $3, regulator_id = $4, regulator_reason = $5, to_be_provided = $6,
           submitted_on = case when $7 = 'submit' then $8 else submitted_on end,
           correction_on = case when $7 = 'correction' then $8 else correction_on end,
           correction_items = coalesce($9, correction_items),
           resubmitted_on = case when $7 = 'resubmit' then $8 else resubmitted_on end,
           accepted_on = case when $7 = 'accept' then $8 else accepted_on end,
           assessed_on = case when $7 = 'outcome' then $8 else assessed_on end,
           proposed_on = case when $7 = 'propose' then $8 when $7 = 'return' then null else proposed_on end,
           assessment_on = case when $7 = 'assessment' then $10 else assessment_on end,
           assessment_team = case when $7 = 'assessment' then $11 else assessment_team end,
           cooperating_station_ids = $12,
           assessment_outcome = case when $7 = 'outcome' then $13 else assessment_outcome end,
           assessment_findings = case when $7 = 'outcome' then $14 else assessment_findings end,
           correction_deadline = case when $7 = 'outcome' then $15 else correction_deadline end,
           correction_evidence = case when $7 = 'propose' then $16 else correction_evidence end,
           proposal = case when $7 = 'propose' then $17 when $7 = 'return' then null else proposal end,
           proposal_reasons = case when $7 = 'propose' then $18 when $7 = 'return' then null else proposal_reasons end,
           proposed_by = case when $7 = 'propose' then $19 when $7 = 'return' then null else proposed_by end,
           returned_reasons = case when $7 = 'return' then $18 when $7 = 'propose' then null else returned_reasons end,
           decided_by = case when $7 = 'confirm' then $19 else decided_by end,
           decided_at = case when $7 = 'confirm' then now() else decided_at end,
           version = version + 1, updated_at = now()
         where application_id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(to.as_str())
    .bind(regulator)
    .bind(&reason_text)
    .bind(&declared)
    .bind(step.as_str())
    .bind(today)
    .bind(&list_items)
    .bind(input.date)
    .bind(text(&input.team))
    .bind(&cooperating)
    .bind(input.outcome.as_deref())
    .bind(text(&input.findings))
    .bind(input.correction_deadline)
    .bind(&note)
    .bind(input.decision.as_deref())
    .bind(text(&input.reasons))
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::stale());
    }
    if step == Step::Confirm {
        if to == ApplicationState::Granted {
            if let Some(name) = text(&input.official_name).filter(|n| *n != row.station_name) {
                sqlx::query("select grant_station_name($1, $2)")
                    .bind(id)
                    .bind(&name)
                    .execute(&mut *conn)
                    .await?;
                audit::record(
                    conn,
                    ctx,
                    Event::new("station.official_name", "organization", row.station_id)
                        .before(&json!({"name": row.station_name}))
                        .after(&json!({"name": name, "application_id": id})),
                )
                .await?;
            }
        }
        notify_decision(conn, ctx, &row, to).await?;
        if to == ApplicationState::Granted {
            let authorization = grant(conn, ctx, &row).await?;
            conditions::link(conn, Subject::Application, id, authorization).await?;
        }
    }
    let after = get(conn, ctx, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new(&format!("application.{}", step.as_str()), "application", id)
            .before(&json!({"state": before.as_str(), "version": version}))
            .after(&json!({"state": after.state, "regulator_id": after.regulator_id, "authorization_id": after.authorization_id})),
    )
    .await?;
    Ok(after)
}

/// R8.4: issues the certificate: a number from the regulator's sequence for
/// the year, five years of validity, the items and the region; the station
/// becomes authorized (its visibility rows follow by trigger).
async fn grant(conn: &mut PgConnection, ctx: &Ctx, row: &Row) -> Result<Uuid> {
    use crate::rules::numbering::{certificate_prefix, NumberPattern, DEFAULT_PATTERN};
    let today = today();
    let year = chrono::Datelike::year(&today);
    let (lvl, div): (String, Option<String>) = sqlx::query_as(
        "select regulator_level, division_code from organization where organization_id = $1",
    )
    .bind(ctx.org_id)
    .fetch_one(&mut *conn)
    .await?;
    let code = div.as_deref().and_then(|d| DivisionCode::parse(d).ok());
    let prefix = certificate_prefix(level(&lvl), code.as_ref()).unwrap_or("国");
    let seq: i32 = sqlx::query_scalar("select next_certificate_seq($1, $2)")
        .bind(prefix)
        .bind(year)
        .fetch_one(&mut *conn)
        .await?;
    let pattern = NumberPattern::parse(DEFAULT_PATTERN)
        .map_err(|e| anyhow::anyhow!("numbering pattern: {e}"))?;
    let number = pattern.render(prefix, year, seq as u32);
    let until = today
        .checked_add_months(Months::new(12 * VALIDITY_YEARS))
        .and_then(|d| d.pred_opt())
        .unwrap_or(today);
    let auth = Uuid::now_v7();
    sqlx::query(
        "insert into station_authorization (authorization_id, station_id, regulator_id, certificate_number,
           verify_token, valid_from, valid_until, region) values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(auth)
    .bind(row.station_id)
    .bind(ctx.org_id)
    .bind(&number)
    .bind(random_token())
    .bind(today)
    .bind(until)
    .bind(&row.region)
    .execute(&mut *conn)
    .await?;
    let items: Vec<ItemInput> = serde_json::from_value(row.items.clone()).unwrap_or_default();
    for (n, it) in items.iter().enumerate() {
        sqlx::query(
            "insert into authorization_item (authorization_item_id, authorization_id, station_id, seq, name,
               range_text, accuracy_text, task_types, specification) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(Uuid::now_v7())
        .bind(auth)
        .bind(row.station_id)
        .bind(n as i32 + 1)
        .bind(&it.name)
        .bind(&it.range_text)
        .bind(&it.accuracy_text)
        .bind(&it.task_types)
        .bind(&it.specification)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("update application set authorization_id = $2 where application_id = $1")
        .bind(row.application_id)
        .bind(auth)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "update station set status = 'authorized', authorizing_regulator_id = $2, version = version + 1, updated_at = now()
          where station_id = $1",
    )
    .bind(row.station_id)
    .bind(ctx.org_id)
    .execute(&mut *conn)
    .await?;
    // R13.2: revision 1 is kept for later comparison.
    sqlx::query("select snapshot_authorization($1, 'grant', $2, $3)")
        .bind(auth)
        .bind(row.application_id)
        .bind(today)
        .execute(&mut *conn)
        .await?;
    Ok(auth)
}

/// The application as the record its conditions are settled on.
fn settled_on(row: &Row, ctx: &Ctx) -> conditions::On {
    conditions::On {
        subject: Subject::Application,
        id: row.application_id,
        station_id: row.station_id,
        regulator_id: row.regulator_id.unwrap_or(ctx.org_id),
    }
}

/// R8.5: the decision is served to the department and the station.
async fn notify_decision(
    conn: &mut PgConnection,
    ctx: &Ctx,
    row: &Row,
    to: ApplicationState,
) -> Result<()> {
    let (verdict, verdict_en) = match to {
        ApplicationState::Granted => ("已批准", "granted"),
        _ => ("不予批准", "refused"),
    };
    crate::notifications::send(
        conn,
        &[row.department_id, row.station_id],
        &crate::notifications::Note::new(
            "application.decided",
            format!("/applications/{}", row.application_id),
        )
        .p("station", &row.station_name)
        .p("regulator", &ctx.org_name)
        .p2("verdict", verdict, verdict_en)
        .p("reasons", row.proposal_reasons.clone().unwrap_or_default()),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_acceptance_clock_is_overdue_the_day_after_its_due_date_r6_4() {
        let dates = StepDates {
            submitted_on: Some(d("2025-09-01")),
            ..Default::default()
        };
        let on_due = clocks(crate::db::reference::calendar(), &dates, d("2025-09-08"));
        assert_eq!(on_due.len(), 1);
        assert_eq!(on_due[0].due, Some(d("2025-09-08")));
        assert!(!on_due[0].overdue);
        let after = clocks(crate::db::reference::calendar(), &dates, d("2025-09-09"));
        assert!(after[0].overdue);
        assert!(!after[0].done);
    }

    #[test]
    fn assessment_and_decision_clocks_count_working_days_after_acceptance() {
        let dates = StepDates {
            submitted_on: Some(d("2025-09-22")),
            accepted_on: Some(d("2025-09-26")),
            ..Default::default()
        };
        // National Day week: 10 working days from Fri 2025-09-26 end on 2025-10-16.
        let c = clocks(crate::db::reference::calendar(), &dates, d("2025-10-16"));
        assert_eq!(c.len(), 2);
        assert!(
            c[0].done && !c[0].overdue,
            "acceptance stopped when accepted"
        );
        assert_eq!(c[0].used, 4);
        assert_eq!(c[1].step, "assessment");
        assert_eq!((c[1].used, c[1].left), (10, ASSESSMENT_DAYS - 10));
        assert!(!c[1].overdue);
    }

    #[test]
    fn the_decision_clock_starts_at_a_pass_after_correction_deadline() {
        let dates = StepDates {
            submitted_on: Some(d("2025-08-20")),
            accepted_on: Some(d("2025-08-22")),
            assessed_on: Some(d("2025-09-01")),
            pass_after_correction_deadline: Some(d("2025-09-26")),
            ..Default::default()
        };
        let c = clocks(crate::db::reference::calendar(), &dates, d("2025-10-16"));
        let decision = c.last().unwrap();
        assert_eq!(decision.step, "decision");
        assert_eq!(decision.due, Some(d("2025-10-16")));
        assert!(!decision.overdue);
        assert!(
            clocks(crate::db::reference::calendar(), &dates, d("2025-10-17"))
                .last()
                .unwrap()
                .overdue
        );
        // A decided (or withdrawn) application has no running, overdue clock.
        let closed = StepDates {
            closed: true,
            ..dates
        };
        assert!(
            clocks(crate::db::reference::calendar(), &closed, d("2025-12-01"))
                .iter()
                .all(|c| c.done && !c.overdue)
        );
    }
}
