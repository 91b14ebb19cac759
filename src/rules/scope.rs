//! Whether a piece of work lies inside the authorization (R13.1), whether
//! the standards used were traceable (R16.4) and the performer qualified
//! (R16.6), combined into the whole-chain check of a work record (R16.7).
//!
//! Dates are inclusive: an authorization, a qualification or a standard's
//! traceability is good through its last day and lapses the day after.
//! Item names are compared after [`super::normalize_name`] ([`same_name`]).

use chrono::NaiveDate;
use serde::Serialize;

use super::divisions::Divisions;
use super::measure::{MeasureError, Range};
use super::spec_code::SpecCode;
use super::standards::{traceability_status, TraceabilityStatus};
use super::{same_name, DivisionCode, Lang, Message};

/// Task types 任务类型 an item may be authorized for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskType {
    /// 检定.
    Verification,
    /// 型式评价.
    TypeEvaluation,
    /// 校准.
    Calibration,
    /// 测试.
    Testing,
}

impl TaskType {
    /// The task type's name.
    pub fn name(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::Zh, Self::Verification) => "检定",
            (Lang::Zh, Self::TypeEvaluation) => "型式评价",
            (Lang::Zh, Self::Calibration) => "校准",
            (Lang::Zh, Self::Testing) => "测试",
            (Lang::En, Self::Verification) => "verification",
            (Lang::En, Self::TypeEvaluation) => "type evaluation",
            (Lang::En, Self::Calibration) => "calibration",
            (Lang::En, Self::Testing) => "testing",
        }
    }

    /// R16.6: whether the performer must hold a qualification for the item.
    pub fn requires_qualification(self) -> bool {
        matches!(self, Self::Verification | Self::TypeEvaluation)
    }
}

/// Status of an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizationStatus {
    /// In force (subject to its validity dates).
    Active,
    /// Suspended pending rectification.
    Suspended,
    /// Ended by termination (Art 15).
    Terminated,
    /// Revoked.
    Revoked,
}

/// One authorized item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthorizedItem {
    /// Instrument or quantity name.
    pub name: String,
    /// Governing specification.
    pub spec_code: Option<SpecCode>,
    /// Authorized range.
    pub range: Range,
    /// Authorized task types.
    pub task_types: Vec<TaskType>,
}

/// The facts of an authorization the scope rules need.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthorizationFacts {
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: NaiveDate,
    /// Status.
    pub status: AuthorizationStatus,
    /// Authorized items.
    pub items: Vec<AuthorizedItem>,
    /// Authorized region (division codes; a code covers its descendants).
    pub region: Vec<DivisionCode>,
}

/// A person's qualification 资格 for an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Qualification {
    /// The item it covers (compared by normalized name).
    pub item: String,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day (inclusive).
    pub valid_until: NaiveDate,
}

/// A standard used for a piece of work, as it stood on the work date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StandardUse {
    /// Name or number of the standard.
    pub name: String,
    /// Whether it is in service (R16.2: not sealed, stopped, replaced or
    /// cancelled).
    pub in_service: bool,
    /// First valid day of its assessment certificate.
    pub certificate_valid_from: NaiveDate,
    /// Last valid day of its assessment certificate.
    pub certificate_valid_until: NaiveDate,
    /// The due date of the calibration in force on the work date (the
    /// latest one made on or before it); `None` when there was none.
    pub traceability_due: Option<NaiveDate>,
}

/// The facts of a work record (certificate or report).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkRecordFacts {
    /// Work date.
    pub date: NaiveDate,
    /// Instrument or quantity name.
    pub item: String,
    /// Range of the work.
    pub range: Range,
    /// Task type.
    pub task_type: TaskType,
    /// The customer's division.
    pub customer_division: DivisionCode,
    /// Who performed the work (a person's id).
    pub performer: String,
    /// Who checked it (核验员; a person's id).
    pub checker: String,
    /// The performer's qualifications.
    pub performer_qualifications: Vec<Qualification>,
    /// Standards used.
    pub standards_used: Vec<StandardUse>,
}

/// Why a piece of work is outside its authorization or otherwise flagged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ScopeProblem {
    /// R13.1: the authorization is not active.
    AuthorizationNotActive {
        /// Its status.
        status: AuthorizationStatus,
    },
    /// R13.1: work before the authorization's first valid day.
    BeforeValidity {
        /// Work date.
        date: NaiveDate,
        /// First valid day.
        valid_from: NaiveDate,
    },
    /// R13.1: work after the authorization's last valid day.
    AfterValidity {
        /// Work date.
        date: NaiveDate,
        /// Last valid day.
        valid_until: NaiveDate,
    },
    /// R13.1: no authorized item of that name.
    ItemNotAuthorized {
        /// The item.
        item: String,
    },
    /// R13.1: the item is authorized, but no authorized range covers the work.
    RangeNotCovered {
        /// The item.
        item: String,
        /// The work's range.
        range: String,
        /// The authorized ranges of that item.
        authorized: Vec<String>,
    },
    /// R13.1: ranges cannot be compared (different kinds of quantity).
    RangeNotComparable {
        /// The item.
        item: String,
        /// Why.
        error: MeasureError,
    },
    /// R13.1: the item is not authorized for that task type.
    TaskTypeNotAuthorized {
        /// The item.
        item: String,
        /// The task type.
        task_type: TaskType,
    },
    /// R13.1: the customer lies outside the authorized region.
    CustomerOutsideRegion {
        /// The customer's division.
        customer_division: DivisionCode,
    },
    /// R13.1: the station held no authorization in force on the work date.
    NoAuthorization {
        /// The work date.
        date: NaiveDate,
    },
    /// R16.4: a standard used was not in service.
    StandardNotInService {
        /// The standard.
        standard: String,
    },
    /// R16.4: a standard's assessment certificate was not valid on the work date.
    StandardCertificateInvalid {
        /// The standard.
        standard: String,
        /// First valid day of the certificate.
        valid_from: NaiveDate,
        /// Last valid day of the certificate.
        valid_until: NaiveDate,
        /// The work date.
        date: NaiveDate,
    },
    /// R16.4: a standard had no calibration on or before the work date.
    NoTraceability {
        /// The standard.
        standard: String,
        /// The work date.
        date: NaiveDate,
    },
    /// R16.4: a standard used was past its traceability due date.
    TraceabilityOverdue {
        /// The standard.
        standard: String,
        /// Its due date.
        due: NaiveDate,
        /// The work date.
        date: NaiveDate,
    },
    /// R16.6: the performer holds no qualification for the item.
    NoQualification {
        /// The item.
        item: String,
    },
    /// R16.6: the performer's qualification had expired on the work date.
    QualificationExpired {
        /// The item.
        item: String,
        /// Its last valid day.
        valid_until: NaiveDate,
        /// The work date.
        date: NaiveDate,
    },
    /// R16.6: the performer's qualification was not yet valid.
    QualificationNotYetValid {
        /// The item.
        item: String,
        /// Its first valid day.
        valid_from: NaiveDate,
        /// The work date.
        date: NaiveDate,
    },
    /// R16.6: the checker 核验员 is the performer.
    CheckerIsPerformer,
}

impl ScopeProblem {
    /// The rule the problem breaks.
    pub fn rule_id(&self) -> &'static str {
        match self {
            Self::TraceabilityOverdue { .. }
            | Self::StandardNotInService { .. }
            | Self::StandardCertificateInvalid { .. }
            | Self::NoTraceability { .. } => "R16.4",
            Self::NoQualification { .. }
            | Self::QualificationExpired { .. }
            | Self::QualificationNotYetValid { .. }
            | Self::CheckerIsPerformer => "R16.6",
            _ => "R13.1",
        }
    }
}

impl Message for ScopeProblem {
    fn message(&self, lang: Lang) -> String {
        use ScopeProblem as P;
        let zh = lang == Lang::Zh;
        match self {
            P::AuthorizationNotActive { status } if zh => format!("计量授权不在有效状态（{status:?}）"),
            P::AuthorizationNotActive { status } => format!("the authorization is not active ({status:?})"),
            P::BeforeValidity { date, valid_from } if zh => {
                format!("工作日期 {date} 早于授权有效期起始日 {valid_from}")
            }
            P::BeforeValidity { date, valid_from } => {
                format!("work on {date} precedes the authorization's start {valid_from}")
            }
            P::AfterValidity { date, valid_until } if zh => {
                format!("工作日期 {date} 晚于授权有效期截止日 {valid_until}")
            }
            P::AfterValidity { date, valid_until } => {
                format!("work on {date} is after the authorization expired on {valid_until}")
            }
            P::ItemNotAuthorized { item } if zh => format!("“{item}”不是授权项目"),
            P::ItemNotAuthorized { item } => format!("{item:?} is not an authorized item"),
            P::RangeNotCovered {
                item,
                range,
                authorized,
            } if zh => format!(
                "“{item}”的测量范围 {range} 超出授权范围 {}",
                authorized.join("、")
            ),
            P::RangeNotCovered {
                item,
                range,
                authorized,
            } => format!(
                "range {range} of {item:?} exceeds the authorized {}",
                authorized.join(", ")
            ),
            P::RangeNotComparable { item, error } if zh => {
                format!("“{item}”的测量范围无法与授权范围比较：{}", error.message_zh())
            }
            P::RangeNotComparable { item, error } => {
                format!("the range of {item:?} cannot be compared with the authorized one: {error}")
            }
            P::TaskTypeNotAuthorized { item, task_type } if zh => {
                format!("“{item}”未授权开展{}", task_type.name(lang))
            }
            P::TaskTypeNotAuthorized { item, task_type } => {
                format!("{item:?} is not authorized for {}", task_type.name(lang))
            }
            P::CustomerOutsideRegion { customer_division } if zh => {
                format!("客户所在地 {customer_division} 不在授权区域内")
            }
            P::CustomerOutsideRegion { customer_division } => {
                format!("the customer's division {customer_division} is outside the authorized region")
            }
            P::NoAuthorization { date } if zh => format!("工作日期 {date} 本站无有效的计量授权"),
            P::NoAuthorization { date } => format!("the station held no authorization in force on {date}"),
            P::StandardNotInService { standard } if zh => format!("计量标准“{standard}”不在使用状态"),
            P::StandardNotInService { standard } => format!("standard {standard:?} is not in service"),
            P::StandardCertificateInvalid {
                standard,
                valid_from,
                valid_until,
                date,
            } if zh => format!(
                "计量标准“{standard}”的考核证书有效期为 {valid_from} 至 {valid_until}，工作日期 {date} 不在其内"
            ),
            P::StandardCertificateInvalid {
                standard,
                valid_from,
                valid_until,
                date,
            } => format!(
                "the assessment certificate of standard {standard:?} was valid {valid_from} to {valid_until}, not on {date}"
            ),
            P::NoTraceability { standard, date } if zh => {
                format!("计量标准“{standard}”在 {date} 之前没有溯源记录")
            }
            P::NoTraceability { standard, date } => {
                format!("standard {standard:?} had no calibration on or before {date}")
            }
            P::CheckerIsPerformer if zh => "核验员与检定/校准人员为同一人".to_string(),
            P::CheckerIsPerformer => "the checker is the person who performed the work".to_string(),
            P::TraceabilityOverdue {
                standard,
                due,
                date,
            } if zh => format!("计量标准“{standard}”量值溯源已于 {due} 到期，{date} 仍在使用"),
            P::TraceabilityOverdue {
                standard,
                due,
                date,
            } => format!("standard {standard:?} was used on {date} though its traceability was due {due}"),
            P::NoQualification { item } if zh => format!("操作人员不具备“{item}”的资格"),
            P::NoQualification { item } => format!("the performer holds no qualification for {item:?}"),
            P::QualificationExpired {
                item,
                valid_until,
                date,
            } if zh => format!("操作人员“{item}”资格已于 {valid_until} 到期，工作日期为 {date}"),
            P::QualificationExpired {
                item,
                valid_until,
                date,
            } => format!("the performer's qualification for {item:?} expired after {valid_until}; work on {date}"),
            P::QualificationNotYetValid {
                item,
                valid_from,
                date,
            } if zh => format!("操作人员“{item}”资格自 {valid_from} 起有效，工作日期为 {date}"),
            P::QualificationNotYetValid {
                item,
                valid_from,
                date,
            } => format!("the performer's qualification for {item:?} starts {valid_from}; work on {date}"),
        }
    }
}

/// Every problem found with a work record; empty when it is in bounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScopeReport {
    /// The problems, in rule order.
    pub problems: Vec<ScopeProblem>,
}

impl ScopeReport {
    /// Whether no problem was found.
    pub fn is_clear(&self) -> bool {
        self.problems.is_empty()
    }

    /// R16.7: whether the record is outside the authorized period, scope or
    /// region (an R13.1 problem), a possible Art 16(7) violation.
    pub fn possible_art16_7_violation(&self) -> bool {
        self.problems.iter().any(|p| p.rule_id() == "R13.1")
    }
}

/// R13.1: whether work (item, range, task type, customer division, date)
/// is inside `authorization`. Returns every problem, not the first.
///
/// Items are matched by normalized name; the work must be covered in range
/// by an item of that name and, among the items that cover its range (or
/// all of that name if none does), one must carry the task type.
pub fn check_scope(
    authorization: &AuthorizationFacts,
    record: &WorkRecordFacts,
    divisions: &Divisions,
) -> ScopeReport {
    let mut problems = Vec::new();
    if authorization.status != AuthorizationStatus::Active {
        problems.push(ScopeProblem::AuthorizationNotActive {
            status: authorization.status,
        });
    }
    if record.date < authorization.valid_from {
        problems.push(ScopeProblem::BeforeValidity {
            date: record.date,
            valid_from: authorization.valid_from,
        });
    }
    if record.date > authorization.valid_until {
        problems.push(ScopeProblem::AfterValidity {
            date: record.date,
            valid_until: authorization.valid_until,
        });
    }
    let named: Vec<&AuthorizedItem> = authorization
        .items
        .iter()
        .filter(|i| same_name(&i.name, &record.item))
        .collect();
    if named.is_empty() {
        problems.push(ScopeProblem::ItemNotAuthorized {
            item: record.item.clone(),
        });
    } else {
        let mut covering = Vec::new();
        let mut comparison_error = None;
        for item in &named {
            match item.range.covers(&record.range) {
                Ok(true) => covering.push(*item),
                Ok(false) => {}
                Err(error) => comparison_error = Some(error),
            }
        }
        if covering.is_empty() {
            problems.push(match comparison_error {
                Some(error) => ScopeProblem::RangeNotComparable {
                    item: record.item.clone(),
                    error,
                },
                None => ScopeProblem::RangeNotCovered {
                    item: record.item.clone(),
                    range: record.range.to_string(),
                    authorized: named.iter().map(|i| i.range.to_string()).collect(),
                },
            });
        }
        let pool = if covering.is_empty() {
            &named
        } else {
            &covering
        };
        if !pool
            .iter()
            .any(|i| i.task_types.contains(&record.task_type))
        {
            problems.push(ScopeProblem::TaskTypeNotAuthorized {
                item: record.item.clone(),
                task_type: record.task_type,
            });
        }
    }
    if !authorization
        .region
        .iter()
        .any(|r| divisions.contains(r, &record.customer_division))
    {
        problems.push(ScopeProblem::CustomerOutsideRegion {
            customer_division: record.customer_division,
        });
    }
    ScopeReport { problems }
}

/// R16.4: the problem, if `standard` was past its traceability due date on
/// `date` (the due date itself is fine) or had no calibration by then.
pub fn traceability_overdue(standard: &StandardUse, date: NaiveDate) -> Option<ScopeProblem> {
    let Some(due) = standard.traceability_due else {
        return Some(ScopeProblem::NoTraceability {
            standard: standard.name.clone(),
            date,
        });
    };
    match traceability_status(due, date) {
        TraceabilityStatus::Current { .. } => None,
        TraceabilityStatus::Overdue { due, .. } => Some(ScopeProblem::TraceabilityOverdue {
            standard: standard.name.clone(),
            due,
            date,
        }),
    }
}

/// R16.4: every problem of one standard used on `date`: not in service, its
/// assessment certificate not valid that day (both ends inclusive), its
/// traceability missing or overdue.
pub fn standard_problems(standard: &StandardUse, date: NaiveDate) -> Vec<ScopeProblem> {
    let mut problems = Vec::new();
    if !standard.in_service {
        problems.push(ScopeProblem::StandardNotInService {
            standard: standard.name.clone(),
        });
    }
    if date < standard.certificate_valid_from || date > standard.certificate_valid_until {
        problems.push(ScopeProblem::StandardCertificateInvalid {
            standard: standard.name.clone(),
            valid_from: standard.certificate_valid_from,
            valid_until: standard.certificate_valid_until,
            date,
        });
    }
    problems.extend(traceability_overdue(standard, date));
    problems
}

/// R16.4 and R16.6: the problems of a record that do not depend on the
/// authorization: each standard used, the performer's qualification (for
/// verification and type evaluation) and a checker other than the performer.
pub fn chain_problems(record: &WorkRecordFacts) -> Vec<ScopeProblem> {
    let mut problems: Vec<ScopeProblem> = record
        .standards_used
        .iter()
        .flat_map(|s| standard_problems(s, record.date))
        .collect();
    if record.task_type.requires_qualification() {
        if let Err(problem) =
            qualification_valid(&record.performer_qualifications, &record.item, record.date)
        {
            problems.push(problem);
        }
    }
    if record.checker == record.performer {
        problems.push(ScopeProblem::CheckerIsPerformer);
    }
    problems
}

/// R16.6: the qualification that makes the performer fit for `item` on
/// `date`, or why there is none. A qualification is valid from its first
/// through its last day inclusive, so one that expired before the work
/// date fails. When several match by name, a valid one wins; otherwise the
/// problem of the most recent one is reported.
pub fn qualification_valid<'a>(
    qualifications: &'a [Qualification],
    item: &str,
    date: NaiveDate,
) -> Result<&'a Qualification, ScopeProblem> {
    let matching: Vec<&Qualification> = qualifications
        .iter()
        .filter(|q| same_name(&q.item, item))
        .collect();
    if let Some(valid) = matching
        .iter()
        .find(|q| q.valid_from <= date && date <= q.valid_until)
    {
        return Ok(valid);
    }
    match matching.iter().max_by_key(|q| q.valid_until) {
        None => Err(ScopeProblem::NoQualification {
            item: item.to_string(),
        }),
        Some(q) if q.valid_from > date => Err(ScopeProblem::QualificationNotYetValid {
            item: item.to_string(),
            valid_from: q.valid_from,
            date,
        }),
        Some(q) => Err(ScopeProblem::QualificationExpired {
            item: item.to_string(),
            valid_until: q.valid_until,
            date,
        }),
    }
}

/// R16.7: every reason a work record is out of bounds: scope (R13.1),
/// each standard used on the work date (R16.4) and the people (R16.6).
pub fn whole_chain_check(
    authorization: &AuthorizationFacts,
    record: &WorkRecordFacts,
    divisions: &Divisions,
) -> ScopeReport {
    let mut report = check_scope(authorization, record, divisions);
    report.problems.extend(chain_problems(record));
    report
}

/// R13.1, for the public verification page: was `item` (by name) inside the
/// authorization on `date`? The authorization must have been in force that
/// day: within its validity, and before `ended_on` if it was terminated or
/// revoked. A suspension applies from today on, so it counts only when
/// `date` is today or later.
pub fn item_authorized_on(
    authorization: &AuthorizationFacts,
    ended_on: Option<NaiveDate>,
    item: &str,
    date: NaiveDate,
    today: NaiveDate,
) -> super::Verdict<ScopeProblem> {
    let mut problems = Vec::new();
    let ended = ended_on.is_some_and(|end| date >= end);
    let suspended = authorization.status == AuthorizationStatus::Suspended && date >= today;
    if ended || suspended {
        problems.push(ScopeProblem::AuthorizationNotActive {
            status: authorization.status,
        });
    }
    if date < authorization.valid_from {
        problems.push(ScopeProblem::BeforeValidity {
            date,
            valid_from: authorization.valid_from,
        });
    }
    if date > authorization.valid_until {
        problems.push(ScopeProblem::AfterValidity {
            date,
            valid_until: authorization.valid_until,
        });
    }
    if !authorization.items.iter().any(|i| same_name(&i.name, item)) {
        problems.push(ScopeProblem::ItemNotAuthorized {
            item: item.to_owned(),
        });
    }
    if problems.is_empty() {
        super::Verdict::Allowed {
            reasons: Vec::new(),
        }
    } else {
        super::Verdict::Refused { reasons: problems }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn code(text: &str) -> DivisionCode {
        DivisionCode::parse(text).unwrap()
    }

    fn table() -> Divisions {
        Divisions::from_csv(include_str!("../../reference/cn_divisions.csv")).unwrap()
    }

    fn authorization() -> AuthorizationFacts {
        AuthorizationFacts {
            valid_from: d("2025-01-01"),
            valid_until: d("2029-12-31"),
            status: AuthorizationStatus::Active,
            items: vec![AuthorizedItem {
                name: "压力表".into(),
                spec_code: SpecCode::parse("JJG 52-2013").ok(),
                range: Range::parse("(0~60) MPa").unwrap(),
                task_types: vec![TaskType::Verification, TaskType::Calibration],
            }],
            region: vec![code("440000")],
        }
    }

    fn record() -> WorkRecordFacts {
        WorkRecordFacts {
            date: d("2025-06-10"),
            item: "压力表".into(),
            range: Range::parse("0~1600 kPa").unwrap(),
            task_type: TaskType::Verification,
            customer_division: code("440305"),
            performer: "p1".into(),
            checker: "p2".into(),
            performer_qualifications: vec![Qualification {
                item: "压力表".into(),
                valid_from: d("2022-01-01"),
                valid_until: d("2026-12-31"),
            }],
            standards_used: vec![StandardUse {
                name: "活塞式压力计".into(),
                in_service: true,
                certificate_valid_from: d("2023-01-01"),
                certificate_valid_until: d("2027-12-31"),
                traceability_due: Some(d("2025-12-31")),
            }],
        }
    }

    #[test]
    fn work_inside_item_range_task_region_and_dates_is_clear() {
        // R13.1, R16.7
        let report = whole_chain_check(&authorization(), &record(), &table());
        assert_eq!(report.problems, vec![]);
        assert!(report.is_clear());
    }

    #[test]
    fn each_kind_of_scope_breach_is_reported() {
        // R13.1: (change to the record, expected problem code)
        type Change = fn(&mut WorkRecordFacts);
        let cases: Vec<(Change, &str)> = vec![
            (|r| r.date = d("2030-01-01"), "AfterValidity"),
            (|r| r.date = d("2024-12-31"), "BeforeValidity"),
            (|r| r.item = "电能表".into(), "ItemNotAuthorized"),
            (
                |r| r.range = Range::parse("0~100 MPa").unwrap(),
                "RangeNotCovered",
            ),
            (
                |r| r.range = Range::parse("0~100 ℃").unwrap(),
                "RangeNotComparable",
            ),
            (
                |r| r.task_type = TaskType::TypeEvaluation,
                "TaskTypeNotAuthorized",
            ),
            (
                |r| r.customer_division = code("110101"),
                "CustomerOutsideRegion",
            ),
        ];
        for (change, expected) in cases {
            let mut r = record();
            change(&mut r);
            let report = check_scope(&authorization(), &r, &table());
            let codes: Vec<String> = report.problems.iter().map(|p| format!("{p:?}")).collect();
            assert_eq!(codes.len(), 1, "{expected}: {codes:?}");
            assert!(codes[0].starts_with(expected), "{expected}: {codes:?}");
            assert!(report.possible_art16_7_violation());
        }
    }

    #[test]
    fn suspended_authorization_is_not_in_scope() {
        // R13.1
        let mut auth = authorization();
        auth.status = AuthorizationStatus::Suspended;
        let report = check_scope(&auth, &record(), &table());
        assert_eq!(
            report.problems,
            vec![ScopeProblem::AuthorizationNotActive {
                status: AuthorizationStatus::Suspended
            }]
        );
    }

    #[test]
    fn all_breaches_of_one_record_are_reported_together() {
        // R16.7: out of period, out of region, the standard's certificate
        // expired and its traceability overdue, expired qualification, the
        // performer checked their own work.
        let mut r = record();
        r.date = d("2030-02-01");
        r.customer_division = code("110101");
        r.checker = r.performer.clone();
        let report = whole_chain_check(&authorization(), &r, &table());
        let rules: Vec<&str> = report.problems.iter().map(ScopeProblem::rule_id).collect();
        assert_eq!(
            rules,
            vec!["R13.1", "R13.1", "R16.4", "R16.4", "R16.6", "R16.6"]
        );
        assert!(report.possible_art16_7_violation());
    }

    #[test]
    fn expired_qualification_on_the_work_date_is_a_failure() {
        // R16.6: valid through 2026-12-31; work on 2027-01-01.
        let quals = record().performer_qualifications;
        assert!(qualification_valid(&quals, "压力表", d("2026-12-31")).is_ok());
        let problem = qualification_valid(&quals, "压力表", d("2027-01-01")).unwrap_err();
        assert_eq!(
            problem,
            ScopeProblem::QualificationExpired {
                item: "压力表".into(),
                valid_until: d("2026-12-31"),
                date: d("2027-01-01")
            }
        );
        assert_eq!(
            problem.message_zh(),
            "操作人员“压力表”资格已于 2026-12-31 到期，工作日期为 2027-01-01"
        );
    }

    #[test]
    fn missing_or_future_qualification_is_a_failure() {
        // R16.6
        let quals = record().performer_qualifications;
        assert!(matches!(
            qualification_valid(&quals, "电能表", d("2025-01-01")),
            Err(ScopeProblem::NoQualification { .. })
        ));
        assert!(matches!(
            qualification_valid(&quals, "压力表", d("2021-12-31")),
            Err(ScopeProblem::QualificationNotYetValid { .. })
        ));
    }

    #[test]
    fn calibration_does_not_require_a_qualification() {
        // R16.6 applies to verification and type evaluation only.
        let mut r = record();
        r.task_type = TaskType::Calibration;
        r.performer_qualifications.clear();
        assert!(whole_chain_check(&authorization(), &r, &table()).is_clear());
    }

    #[test]
    fn standard_used_after_its_traceability_due_date_is_flagged() {
        // R16.4
        let standard = &record().standards_used[0];
        assert_eq!(traceability_overdue(standard, d("2025-12-31")), None);
        let problem = traceability_overdue(standard, d("2026-01-01")).unwrap();
        assert_eq!(problem.rule_id(), "R16.4");
        assert!(problem.message_en().contains("was due 2025-12-31"));
    }

    #[test]
    fn an_item_is_authorized_on_a_date_inside_validity_and_not_after_termination_r13_1() {
        let a = authorization();
        let name = a.items[0].name.clone();
        let inside = a.valid_from;
        let today = a.valid_from;
        assert!(item_authorized_on(&a, None, &name, inside, today).is_allowed());
        let v = item_authorized_on(&a, Some(inside), &name, inside, today);
        assert!(!v.is_allowed(), "ended that day");
        let before = a.valid_from.pred_opt().unwrap();
        assert!(matches!(
            item_authorized_on(&a, None, &name, before, today).reasons()[0],
            ScopeProblem::BeforeValidity { .. }
        ));
        assert!(matches!(
            item_authorized_on(&a, None, "不存在的项目", inside, today).reasons()[0],
            ScopeProblem::ItemNotAuthorized { .. }
        ));
    }
}
