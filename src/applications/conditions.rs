//! Article 7 conditions still unmet when a decision is taken, settled one
//! by one: the same rule for establishment (R7.2, R7.3 at the grant) and
//! for adjustments (R13.2 at the approval). The pure rule is
//! [`crate::rules::settlement`]; this file records what the assessors
//! verified and what the deciding approver overrode (requirements §4: a
//! named approver, a reason, an audit event), shows each condition's
//! standing, and links the settlements to the authorization the decision
//! granted or changed, so its certificate record keeps them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::Problem;
use crate::audit::{self, Event};
use crate::auth::Ctx;
use crate::error::{AppError, FieldError, Result};
use crate::rules::settlement::{self, Standing};
use crate::rules::{Lang as RLang, Message};

/// The record a settlement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Application,
    Request,
}

impl Subject {
    fn as_str(self) -> &'static str {
        match self {
            Self::Application => "application",
            Self::Request => "lifecycle_request",
        }
    }
}

/// How a condition was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// By the assessment, with the assessors' evidence (reviewer).
    Verified,
    /// By the deciding approver, with a reason.
    Overridden,
}

impl How {
    fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Overridden => "overridden",
        }
    }
}

/// One condition at the decision, as the pages and the JSON show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConditionAtDecision {
    /// The condition's key (`no_covering_standard:2`): the field name to
    /// verify or override it with.
    pub key: String,
    pub rule: String,
    pub message: String,
    pub message_en: String,
    /// `met` (met in the registries by now), `verified` (by the
    /// assessment), `overridden` (by the approver) or `open` (blocks a
    /// positive decision).
    pub state: String,
    /// The assessors' evidence or the approver's reason.
    pub statement: Option<String>,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl ConditionAtDecision {
    pub fn is_open(&self) -> bool {
        self.state == "open"
    }
    /// When it was settled, in Beijing time (empty when not settled).
    pub fn decided_at_text(&self) -> String {
        self.decided_at
            .map(crate::web::shanghai)
            .unwrap_or_default()
    }
    /// The state in the page's language.
    pub fn state_label(&self, en: bool) -> &'static str {
        match (self.state.as_str(), en) {
            ("met", false) => "已在登记信息中满足",
            ("met", true) => "met in the registries",
            ("verified", false) => "考核核实",
            ("verified", true) => "verified by the assessment",
            ("overridden", false) => "审批人认可",
            ("overridden", true) => "overridden by the approver",
            (_, false) => "未满足",
            (_, true) => "unmet",
        }
    }
}

#[derive(sqlx::FromRow)]
struct Recorded {
    condition_key: String,
    rule: String,
    message: String,
    message_en: String,
    how: String,
    statement: String,
    decided_by_name: String,
    decided_at: DateTime<Utc>,
}

async fn recorded(conn: &mut PgConnection, subject: Subject, id: Uuid) -> Result<Vec<Recorded>> {
    Ok(sqlx::query_as(
        "select condition_key, rule, message, message_en, how, statement, decided_by_name, decided_at
           from condition_settlement where subject_type = $1 and subject_id = $2
          order by decided_at, condition_key",
    )
    .bind(subject.as_str())
    .bind(id)
    .fetch_all(conn)
    .await?)
}

/// Every condition of the record with its standing: those unmet now, and
/// those settled or declared (`earlier`, codes or keys) that are met now.
pub async fn standings(
    conn: &mut PgConnection,
    subject: Subject,
    id: Uuid,
    unmet_now: &[Problem],
    earlier: &[String],
) -> Result<Vec<ConditionAtDecision>> {
    let rows = recorded(conn, subject, id).await?;
    Ok(standings_of(&rows, unmet_now, earlier))
}

fn standings_of(
    rows: &[Recorded],
    unmet_now: &[Problem],
    earlier: &[String],
) -> Vec<ConditionAtDecision> {
    let texts = |how: &str| -> BTreeMap<String, String> {
        rows.iter()
            .filter(|r| r.how == how)
            .map(|r| (r.condition_key.clone(), r.statement.clone()))
            .collect()
    };
    let keys_now: Vec<String> = unmet_now.iter().map(|p| p.key.clone()).collect();
    let verified = texts("verified");
    let overridden = texts("overridden");
    // Declared 待补 earlier (a code stands for every key of that code) and
    // met by now, with nothing recorded for it.
    let mut before: Vec<String> = Vec::new();
    for e in earlier {
        let settled = rows
            .iter()
            .any(|r| r.condition_key == *e || r.condition_key.split(':').next() == Some(e));
        let unmet = keys_now
            .iter()
            .any(|k| k == e || k.split(':').next() == Some(e));
        if !settled && !unmet && !before.contains(e) {
            before.push(e.clone());
        }
    }
    let mut all = settlement::settle(&before, &keys_now, &verified, &overridden);
    // Settled along the way and no longer unmet (met since, or the record
    // is decided): kept as settled, the record of what was decided.
    for r in rows {
        if keys_now.contains(&r.condition_key) || all.iter().any(|(k, _)| *k == r.condition_key) {
            continue;
        }
        let k = r.condition_key.clone();
        let standing = match (verified.get(&k), overridden.get(&k)) {
            (Some(e), _) => Standing::Verified {
                evidence: e.clone(),
            },
            (None, Some(reason)) => Standing::Overridden {
                reason: reason.clone(),
            },
            (None, None) => Standing::Met,
        };
        all.push((k, standing));
    }
    all.into_iter()
        .map(|(key, standing)| {
            let problem = unmet_now.iter().find(|p| p.key == key);
            let row = rows.iter().rev().find(|r| {
                r.condition_key == key
                    && match &standing {
                        Standing::Verified { .. } => r.how == "verified",
                        Standing::Overridden { .. } => r.how == "overridden",
                        _ => true,
                    }
            });
            let (message, message_en, rule) = match (problem, row) {
                (Some(p), _) => (p.message.clone(), p.message_en.clone(), p.rule.clone()),
                (None, Some(r)) => (r.message.clone(), r.message_en.clone(), r.rule.clone()),
                (None, None) => (key.clone(), key.clone(), String::new()),
            };
            let (state, statement) = match standing {
                Standing::Met => ("met", None),
                Standing::Verified { evidence } => ("verified", Some(evidence)),
                Standing::Overridden { reason } => ("overridden", Some(reason)),
                Standing::Open => ("open", None),
            };
            let settled = state == "verified" || state == "overridden";
            ConditionAtDecision {
                key,
                rule,
                message,
                message_en,
                state: state.to_owned(),
                statement,
                decided_by_name: row.filter(|_| settled).map(|r| r.decided_by_name.clone()),
                decided_at: row.filter(|_| settled).map(|r| r.decided_at),
            }
        })
        .collect()
}

/// The record whose conditions are settled: what it is, its id, and the
/// station and regulator the settlement rows belong to.
#[derive(Debug, Clone, Copy)]
pub struct On {
    pub subject: Subject,
    pub id: Uuid,
    pub station_id: Uuid,
    pub regulator_id: Uuid,
}

/// As [`record`], with its field errors added to `errors` (the step goes
/// on collecting every message at once; nothing is written when any).
pub async fn record_into(
    errors: &mut Vec<FieldError>,
    conn: &mut PgConnection,
    ctx: &Ctx,
    on: On,
    how: How,
    unmet_now: &[Problem],
    given: &BTreeMap<String, String>,
) -> Result<()> {
    match record(conn, ctx, on, how, unmet_now, given).await {
        Err(AppError::Validation(f)) => {
            errors.extend(f);
            Ok(())
        }
        other => other,
    }
}

/// Records what the caller states for unmet conditions (`given`: key →
/// evidence or reason; blank entries are ignored), in the caller's
/// transaction, each with an audit event. A key that is not unmet now, or
/// an oversize text, is a field error `conditions.<key>` and nothing is
/// written.
pub async fn record(
    conn: &mut PgConnection,
    ctx: &Ctx,
    on: On,
    how: How,
    unmet_now: &[Problem],
    given: &BTreeMap<String, String>,
) -> Result<()> {
    let On {
        subject,
        id,
        station_id,
        regulator_id,
    } = on;
    let keys_now: Vec<String> = unmet_now.iter().map(|p| p.key.clone()).collect();
    let errors: Vec<FieldError> = settlement::check_texts(&keys_now, given)
        .into_iter()
        .map(|e| {
            let key = match &e {
                settlement::SettlementError::NotUnmet { key }
                | settlement::SettlementError::TooLong { key } => key.clone(),
            };
            let code = serde_json::to_value(&e)
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_owned))
                .unwrap_or_default();
            FieldError::new(
                &format!("conditions.{key}"),
                &code,
                e.message(RLang::Zh),
                e.message(RLang::En),
            )
        })
        .collect();
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    for p in unmet_now {
        let Some(text) = given
            .get(&p.key)
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
        else {
            continue;
        };
        let settlement_id = Uuid::now_v7();
        let done = sqlx::query(
            "insert into condition_settlement (settlement_id, subject_type, subject_id, station_id,
               regulator_id, condition_key, rule, message, message_en, how, statement, decided_by,
               decided_by_name)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             on conflict (subject_type, subject_id, condition_key, how) do nothing",
        )
        .bind(settlement_id)
        .bind(subject.as_str())
        .bind(id)
        .bind(station_id)
        .bind(regulator_id)
        .bind(&p.key)
        .bind(&p.rule)
        .bind(&p.message)
        .bind(&p.message_en)
        .bind(how.as_str())
        .bind(text)
        .bind(ctx.user_id)
        .bind(&ctx.display_name)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 1 {
            audit::record(
                conn,
                ctx,
                Event::new(
                    &format!("condition.{}", how.as_str()),
                    "condition_settlement",
                    settlement_id,
                )
                .after(&serde_json::json!({
                    "subject_type": subject.as_str(), "subject_id": id,
                    "condition": p.key, "rule": p.rule, "statement": text,
                })),
            )
            .await?;
        }
    }
    Ok(())
}

/// The field errors for conditions that still block a positive decision,
/// each saying the three ways forward.
pub fn open_errors(standings: &[ConditionAtDecision]) -> Vec<FieldError> {
    standings
        .iter()
        .filter(|c| c.is_open())
        .map(|c| {
            FieldError::new(
                &format!("conditions.{}", c.key),
                "condition_open",
                format!(
                    "条件未满足（{}）：{}。须在登记信息中满足、由考核核实并记录证据，或由审批人说明理由予以认可",
                    c.rule, c.message
                ),
                format!(
                    "Condition unmet ({}): {}. Meet it in the registries, have the assessment verify it with evidence, or give the approver's reason to override it",
                    c.rule, c.message_en
                ),
            )
        })
        .collect()
}

/// Links the record's settlements to the authorization its decision
/// granted or changed (definer function, the deciding approver only).
pub async fn link(
    conn: &mut PgConnection,
    subject: Subject,
    id: Uuid,
    authorization_id: Uuid,
) -> Result<()> {
    sqlx::query("select link_condition_settlements($1, $2, $3)")
        .bind(subject.as_str())
        .bind(id)
        .bind(authorization_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The settlements the certificate record keeps: every condition verified
/// or overridden at the decisions that granted or changed it.
pub async fn of_authorization(
    conn: &mut PgConnection,
    authorization_id: Uuid,
) -> Result<Vec<ConditionAtDecision>> {
    let rows: Vec<Recorded> = sqlx::query_as(
        "select condition_key, rule, message, message_en, how, statement, decided_by_name, decided_at
           from condition_settlement where authorization_id = $1 order by decided_at, condition_key",
    )
    .bind(authorization_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ConditionAtDecision {
            key: r.condition_key,
            rule: r.rule,
            message: r.message,
            message_en: r.message_en,
            state: r.how,
            statement: Some(r.statement),
            decided_by_name: Some(r.decided_by_name),
            decided_at: Some(r.decided_at),
        })
        .collect())
}
