//! What the whole-chain check of a station's records needs, read once per
//! station (its authorization versions, standards with their calibrations,
//! staff with their qualifications), and the check of one parsed record
//! against it: names resolved to ids, the standards' state as of the work
//! date, the verdict of [`rules::records::check_work_record`].
//!
//! [`rules::records::check_work_record`]: crate::rules::records::check_work_record

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{Parsed, Reason};
use crate::error::{FieldError, Result};
use crate::rules::measure::Range;
use crate::rules::records::{check_work_record, problem_code, AuthorizationVersion};
use crate::rules::scope::{
    AuthorizationFacts, AuthorizationStatus, AuthorizedItem, Qualification, StandardUse, TaskType,
    WorkRecordFacts,
};
use crate::rules::{normalize_name, DivisionCode, Lang, Message};

/// A standard of the station with its calibrations, oldest first.
#[derive(Debug, Clone)]
pub struct StandardFacts {
    pub id: Uuid,
    pub name: String,
    pub status: String,
    pub cert_number: String,
    pub cert_issued_on: NaiveDate,
    pub cert_expires_on: NaiveDate,
    /// (calibrated on, due on), by calibration date.
    pub calibrations: Vec<(NaiveDate, NaiveDate)>,
}

/// The key of a standard's state as of a work date (table `standard_state`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateKey {
    pub standard_id: Uuid,
    pub name: String,
    pub status: String,
    pub cert_number: String,
    pub cert_issued_on: NaiveDate,
    pub cert_expires_on: NaiveDate,
    pub traceability_due: Option<NaiveDate>,
}

/// A person of the station.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
    pub qualifications: Vec<Qualification>,
}

/// Everything the check of one station's records reads.
#[derive(Debug, Clone)]
pub struct Chain {
    pub station_id: Uuid,
    pub versions: Vec<AuthorizationVersion<Uuid>>,
    pub standards: Vec<StandardFacts>,
    pub people: Vec<Person>,
    /// People by normalized name, standards by certificate number (built
    /// once: every record names them).
    by_name: HashMap<String, Vec<usize>>,
    by_cert: HashMap<String, usize>,
}

impl Chain {
    fn empty(station_id: Uuid) -> Chain {
        Chain {
            station_id,
            versions: Vec::new(),
            standards: Vec::new(),
            people: Vec::new(),
            by_name: HashMap::new(),
            by_cert: HashMap::new(),
        }
    }

    fn index(&mut self) {
        self.by_name.clear();
        for (i, p) in self.people.iter().enumerate() {
            self.by_name
                .entry(normalize_name(&p.name))
                .or_default()
                .push(i);
        }
        self.by_cert = self
            .standards
            .iter()
            .enumerate()
            .map(|(i, s)| (s.cert_number.clone(), i))
            .collect();
    }
}

/// A record ready to write: its parsed fields, resolved ids and verdict.
#[derive(Debug, Clone)]
pub struct Checked {
    pub parsed: Parsed,
    pub standard_states: Vec<StateKey>,
    pub performer_id: Uuid,
    pub checker_id: Uuid,
    pub approver_id: Uuid,
    pub authorization: Option<(Uuid, i32)>,
    pub flag_codes: Vec<String>,
    pub reasons: Vec<Reason>,
    /// SHA-256 of the content, for idempotent batches.
    pub content_hash: Vec<u8>,
}

impl Checked {
    pub fn flagged(&self) -> bool {
        !self.flag_codes.is_empty()
    }
}

fn task_type(code: &str) -> Option<TaskType> {
    match code {
        "verification" => Some(TaskType::Verification),
        "type_evaluation" => Some(TaskType::TypeEvaluation),
        "calibration" => Some(TaskType::Calibration),
        "testing" => Some(TaskType::Testing),
        _ => None,
    }
}

fn status(code: &str) -> AuthorizationStatus {
    match code {
        "suspended" => AuthorizationStatus::Suspended,
        "terminated" => AuthorizationStatus::Terminated,
        "revoked" => AuthorizationStatus::Revoked,
        _ => AuthorizationStatus::Active,
    }
}

/// Reads the chain of `station_id` (as the caller: row policies apply).
pub async fn load(conn: &mut PgConnection, station_id: Uuid) -> Result<Chain> {
    let mut all = load_many(conn, &[station_id]).await?;
    Ok(all
        .remove(&station_id)
        .unwrap_or_else(|| Chain::empty(station_id)))
}

/// Reads the chains of `stations` in five statements (the migration
/// command reads every station's at once).
pub async fn load_many(conn: &mut PgConnection, stations: &[Uuid]) -> Result<HashMap<Uuid, Chain>> {
    let mut chains: HashMap<Uuid, Chain> =
        stations.iter().map(|s| (*s, Chain::empty(*s))).collect();
    type VersionRow = (
        Uuid,
        Uuid,
        i32,
        NaiveDate,
        String,
        NaiveDate,
        NaiveDate,
        Option<NaiveDate>,
        Vec<String>,
        Value,
    );
    let rows: Vec<VersionRow> = sqlx::query_as(
        "select station_id, authorization_id, revision, effective_on, status, valid_from, valid_until, ended_on,
                region, items
           from authorization_version where station_id = any ($1) order by authorization_id, revision",
    )
    .bind(stations)
    .fetch_all(&mut *conn)
    .await?;
    for (station_id, id, revision, effective_on, st, from, until, ended_on, region, items) in rows {
        let items = items
            .as_array()
            .map(|a| a.iter().filter_map(authorized_item).collect())
            .unwrap_or_default();
        let version = AuthorizationVersion {
            id,
            revision,
            effective_on,
            ended_on,
            facts: AuthorizationFacts {
                valid_from: from,
                valid_until: until,
                status: status(&st),
                items,
                region: region
                    .iter()
                    .filter_map(|r| DivisionCode::parse(r).ok())
                    .collect(),
            },
        };
        if let Some(c) = chains.get_mut(&station_id) {
            c.versions.push(version);
        }
    }
    let standards: Vec<(Uuid, Uuid, String, String, String, NaiveDate, NaiveDate)> = sqlx::query_as(
        "select station_id, standard_id, name, status, cert_number, cert_issued_on, cert_expires_on
           from measurement_standard where station_id = any ($1)",
    )
    .bind(stations)
    .fetch_all(&mut *conn)
    .await?;
    let calibrations: Vec<(Uuid, NaiveDate, NaiveDate)> = sqlx::query_as(
        "select standard_id, calibrated_on, due_on from traceability_record
          where station_id = any ($1) order by calibrated_on",
    )
    .bind(stations)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_standard: HashMap<Uuid, Vec<(NaiveDate, NaiveDate)>> = HashMap::new();
    for (id, on, due) in calibrations {
        by_standard.entry(id).or_default().push((on, due));
    }
    for (station_id, id, name, status, cert_number, issued, expires) in standards {
        if let Some(c) = chains.get_mut(&station_id) {
            c.standards.push(StandardFacts {
                id,
                name,
                status,
                cert_number,
                cert_issued_on: issued,
                cert_expires_on: expires,
                calibrations: by_standard.remove(&id).unwrap_or_default(),
            });
        }
    }
    let staff: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
        "select station_id, staff_member_id, name from staff_member where station_id = any ($1)",
    )
    .bind(stations)
    .fetch_all(&mut *conn)
    .await?;
    let quals: Vec<(Uuid, Uuid, Vec<String>, NaiveDate, NaiveDate)> = sqlx::query_as(
        "select station_id, staff_member_id, items, issued_on, expires_on from qualification
          where station_id = any ($1)",
    )
    .bind(stations)
    .fetch_all(&mut *conn)
    .await?;
    for (station_id, id, name) in staff {
        if let Some(c) = chains.get_mut(&station_id) {
            c.people.push(Person {
                id,
                name,
                qualifications: Vec::new(),
            });
        }
    }
    for (station_id, id, items, from, until) in quals {
        let person = chains
            .get_mut(&station_id)
            .and_then(|c| c.people.iter_mut().find(|p| p.id == id));
        if let Some(p) = person {
            p.qualifications
                .extend(items.into_iter().map(|item| Qualification {
                    item,
                    valid_from: from,
                    valid_until: until,
                }));
        }
    }
    for c in chains.values_mut() {
        c.index();
    }
    Ok(chains)
}

/// An authorized item of a version's JSON snapshot; `None` for one whose
/// range does not parse (validated when granted, so never in practice).
fn authorized_item(i: &Value) -> Option<AuthorizedItem> {
    let range = Range::parse(i.get("range_text")?.as_str()?).ok()?;
    Some(AuthorizedItem {
        name: i.get("name")?.as_str()?.to_owned(),
        spec_code: None,
        range,
        task_types: i
            .get("task_types")?
            .as_array()?
            .iter()
            .filter_map(|t| task_type(t.as_str()?))
            .collect(),
    })
}

impl Chain {
    fn person(&self, field: &str, who: &str, errors: &mut Vec<FieldError>) -> Option<&Person> {
        if let Ok(id) = Uuid::parse_str(who) {
            if let Some(p) = self.people.iter().find(|p| p.id == id) {
                return Some(p);
            }
        }
        let named: Vec<&Person> = self
            .by_name
            .get(&normalize_name(who))
            .map(|ix| ix.iter().map(|i| &self.people[*i]).collect())
            .unwrap_or_default();
        match named.as_slice() {
            [one] => Some(one),
            [] => {
                errors.push(FieldError::new(
                    field,
                    "unknown_staff",
                    format!("本站人员名册中没有“{who}”"),
                    format!("{who:?} is not in the station's staff register"),
                ));
                None
            }
            _ => {
                errors.push(FieldError::new(
                    field,
                    "ambiguous_staff",
                    format!("本站有多名“{who}”，请用人员编号"),
                    format!("Several staff are named {who:?}; use the staff id"),
                ));
                None
            }
        }
    }

    fn standard(
        &self,
        field: &str,
        s: &str,
        errors: &mut Vec<FieldError>,
    ) -> Option<&StandardFacts> {
        let by_id = Uuid::parse_str(s)
            .ok()
            .and_then(|id| self.standards.iter().find(|x| x.id == id));
        let found = by_id.or_else(|| self.by_cert.get(s).map(|i| &self.standards[*i]));
        if found.is_none() {
            // R16.3: only the station's own standards; another's is unknown here.
            errors.push(FieldError::new(
                field,
                "unknown_standard",
                format!("本站计量标准中没有“{s}”（按编号或考核证书号）"),
                format!("{s:?} is none of the station's standards (by id or certificate number)"),
            ));
        }
        found
    }

    /// Resolves and checks one record; field errors for what does not
    /// resolve (named `{prefix}{field}`), else the record with its verdict.
    pub fn check(&self, p: Parsed, prefix: &str) -> std::result::Result<Checked, Vec<FieldError>> {
        let mut errors = Vec::new();
        let f = |name: &str| format!("{prefix}{name}");
        let performer = self
            .person(&f("performer"), &p.performer, &mut errors)
            .cloned();
        let checker = self
            .person(&f("checker"), &p.checker, &mut errors)
            .map(|x| x.id);
        let approver = self
            .person(&f("approver"), &p.approver, &mut errors)
            .map(|x| x.id);
        let mut uses = Vec::new();
        let mut states = Vec::new();
        for s in &p.standards {
            if let Some(st) = self.standard(&f("standards"), s, &mut errors) {
                if states.iter().any(|k: &StateKey| k.standard_id == st.id) {
                    continue;
                }
                let due = st
                    .calibrations
                    .iter()
                    .rev()
                    .find(|(on, _)| *on <= p.work_date)
                    .map(|(_, due)| *due);
                uses.push(StandardUse {
                    name: st.name.clone(),
                    in_service: st.status == "in_service",
                    certificate_valid_from: st.cert_issued_on,
                    certificate_valid_until: st.cert_expires_on,
                    traceability_due: due,
                });
                states.push(StateKey {
                    standard_id: st.id,
                    name: st.name.clone(),
                    status: st.status.clone(),
                    cert_number: st.cert_number.clone(),
                    cert_issued_on: st.cert_issued_on,
                    cert_expires_on: st.cert_expires_on,
                    traceability_due: due,
                });
            }
        }
        let (Some(performer), Some(checker_id), Some(approver_id)) = (performer, checker, approver)
        else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let facts = WorkRecordFacts {
            date: p.work_date,
            item: p.item_name.clone(),
            range: p.range,
            task_type: p.kind.task_type(),
            customer_division: p.customer_division,
            performer: performer.id.to_string(),
            checker: checker_id.to_string(),
            performer_qualifications: performer.qualifications.clone(),
            standards_used: uses,
        };
        let verdict = check_work_record(&self.versions, &facts, crate::db::reference::divisions());
        let flag_codes: Vec<String> = verdict.codes().into_iter().map(str::to_owned).collect();
        let reasons = verdict
            .problems
            .iter()
            .map(|pr| Reason {
                code: problem_code(pr).to_owned(),
                rule: pr.rule_id().to_owned(),
                zh: pr.message(Lang::Zh),
                en: pr.message(Lang::En),
            })
            .collect();
        let content_hash = content_hash(&p, &states, performer.id, checker_id, approver_id);
        Ok(Checked {
            parsed: p,
            standard_states: states,
            performer_id: performer.id,
            checker_id,
            approver_id,
            authorization: verdict.authorization,
            flag_codes,
            reasons,
            content_hash,
        })
    }
}

/// SHA-256 over the record's content as written (not the verdict, which
/// depends on when it was checked): a resent record hashes the same.
fn content_hash(
    p: &Parsed,
    states: &[StateKey],
    performer: Uuid,
    checker: Uuid,
    approver: Uuid,
) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut put = |s: &str| {
        h.update((s.len() as u32).to_le_bytes());
        h.update(s.as_bytes());
    };
    put(&p.number);
    put(p.kind.code());
    put(&p.instrument_name);
    put(&p.instrument_model);
    put(&p.instrument_serial);
    put(&p.manufacturer);
    put(&p.customer_name);
    put(p.customer_credit_code.as_deref().unwrap_or(""));
    put(p.customer_division.as_str());
    put(&p.item_name);
    put(&p.range_text);
    put(&p.specification);
    for s in states {
        put(&s.standard_id.to_string());
    }
    put(&performer.to_string());
    put(&checker.to_string());
    put(&approver.to_string());
    put(&p.work_date.to_string());
    put(&p.issue_date.to_string());
    put(&p.conclusion);
    put(&p.valid_until.map(|d| d.to_string()).unwrap_or_default());
    put(p.reissue_of.as_deref().unwrap_or(""));
    h.finalize().to_vec()
}
