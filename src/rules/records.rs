//! The whole-chain check of a work record 证书/报告记录 (R13.1, R16.4,
//! R16.6, R16.7): which authorization version was in force on the work
//! date, and every reason the record lies outside it, its standards or its
//! people. A record is evidence, so the verdict never refuses it: it says
//! whether the record is flagged, and why.

use chrono::NaiveDate;
use serde::Serialize;

use super::divisions::Divisions;
use super::scope::{
    chain_problems, check_scope, AuthorizationFacts, AuthorizationStatus, ScopeProblem, TaskType,
    WorkRecordFacts,
};
use super::{Lang, Message};

/// Kinds of work record (JJF 1069, 《计量检定印、证管理办法》).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// 检定证书: the instrument passed verification.
    VerificationCertificate,
    /// 检定结果通知书: the instrument failed verification.
    VerificationNotice,
    /// 校准证书.
    CalibrationCertificate,
    /// 测试报告.
    TestReport,
    /// 型式评价报告.
    TypeEvaluationReport,
}

impl RecordKind {
    /// Every kind, in display order.
    pub const ALL: [RecordKind; 5] = [
        Self::VerificationCertificate,
        Self::VerificationNotice,
        Self::CalibrationCertificate,
        Self::TestReport,
        Self::TypeEvaluationReport,
    ];

    /// The machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::VerificationCertificate => "verification_certificate",
            Self::VerificationNotice => "verification_notice",
            Self::CalibrationCertificate => "calibration_certificate",
            Self::TestReport => "test_report",
            Self::TypeEvaluationReport => "type_evaluation_report",
        }
    }

    /// Reads a code or a Chinese name.
    pub fn parse(input: &str) -> Option<Self> {
        let t = input.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.code() == t || k.name(Lang::Zh) == t)
    }

    /// The kind's name.
    pub fn name(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::Zh, Self::VerificationCertificate) => "检定证书",
            (Lang::Zh, Self::VerificationNotice) => "检定结果通知书",
            (Lang::Zh, Self::CalibrationCertificate) => "校准证书",
            (Lang::Zh, Self::TestReport) => "测试报告",
            (Lang::Zh, Self::TypeEvaluationReport) => "型式评价报告",
            (Lang::En, Self::VerificationCertificate) => "verification certificate",
            (Lang::En, Self::VerificationNotice) => "verification result notice",
            (Lang::En, Self::CalibrationCertificate) => "calibration certificate",
            (Lang::En, Self::TestReport) => "test report",
            (Lang::En, Self::TypeEvaluationReport) => "type evaluation report",
        }
    }

    /// The task type the work was done under (R13.1).
    pub fn task_type(self) -> TaskType {
        match self {
            Self::VerificationCertificate | Self::VerificationNotice => TaskType::Verification,
            Self::CalibrationCertificate => TaskType::Calibration,
            Self::TestReport => TaskType::Testing,
            Self::TypeEvaluationReport => TaskType::TypeEvaluation,
        }
    }
}

/// One revision of one of the station's authorizations (R13.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthorizationVersion<Id> {
    /// The authorization.
    pub id: Id,
    /// Its revision number.
    pub revision: i32,
    /// The day this revision took effect.
    pub effective_on: NaiveDate,
    /// The day the authorization ended (termination, revocation), if it did.
    pub ended_on: Option<NaiveDate>,
    /// Validity, status, items and region of this revision.
    pub facts: AuthorizationFacts,
}

/// R13.2: of each authorization, the revision in force on `date`: the
/// latest one that took effect on or before it. An authorization none of
/// whose revisions had taken effect yet is left out.
pub fn in_force_on<Id: PartialEq>(
    versions: &[AuthorizationVersion<Id>],
    date: NaiveDate,
) -> Vec<&AuthorizationVersion<Id>> {
    let mut out: Vec<&AuthorizationVersion<Id>> = Vec::new();
    for v in versions.iter().filter(|v| v.effective_on <= date) {
        match out.iter_mut().find(|o| o.id == v.id) {
            Some(o) if (o.effective_on, o.revision) < (v.effective_on, v.revision) => *o = v,
            Some(_) => {}
            None => out.push(v),
        }
    }
    out
}

/// The verdict on one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordVerdict<Id> {
    /// The authorization and revision the record was checked against: the
    /// one that covers it, or the closest when none does; `None` when the
    /// station held none on the work date.
    pub authorization: Option<(Id, i32)>,
    /// Every problem, in rule order (R13.1, then R16.4, then R16.6).
    pub problems: Vec<ScopeProblem>,
}

impl<Id> RecordVerdict<Id> {
    /// R16.7: a record with any problem is a possible Art 16(7) violation.
    pub fn flagged(&self) -> bool {
        !self.problems.is_empty()
    }

    /// The problems' machine-readable codes, each once, in order.
    pub fn codes(&self) -> Vec<&'static str> {
        let mut codes: Vec<&'static str> = Vec::new();
        for p in &self.problems {
            let c = problem_code(p);
            if !codes.contains(&c) {
                codes.push(c);
            }
        }
        codes
    }

    /// Each problem as "rule: message" in `lang`.
    pub fn reasons(&self, lang: Lang) -> Vec<String> {
        self.problems
            .iter()
            .map(|p| format!("{}：{}", p.rule_id(), p.message(lang)))
            .collect()
    }
}

/// The machine-readable code of a problem (its serialized `code` tag).
pub fn problem_code(p: &ScopeProblem) -> &'static str {
    use ScopeProblem as P;
    match p {
        P::AuthorizationNotActive { .. } => "authorization_not_active",
        P::BeforeValidity { .. } => "before_validity",
        P::AfterValidity { .. } => "after_validity",
        P::ItemNotAuthorized { .. } => "item_not_authorized",
        P::RangeNotCovered { .. } => "range_not_covered",
        P::RangeNotComparable { .. } => "range_not_comparable",
        P::TaskTypeNotAuthorized { .. } => "task_type_not_authorized",
        P::CustomerOutsideRegion { .. } => "customer_outside_region",
        P::NoAuthorization { .. } => "no_authorization",
        P::StandardNotInService { .. } => "standard_not_in_service",
        P::StandardCertificateInvalid { .. } => "standard_certificate_invalid",
        P::NoTraceability { .. } => "no_traceability",
        P::TraceabilityOverdue { .. } => "traceability_overdue",
        P::NoQualification { .. } => "no_qualification",
        P::QualificationExpired { .. } => "qualification_expired",
        P::QualificationNotYetValid { .. } => "qualification_not_yet_valid",
        P::CheckerIsPerformer => "checker_is_performer",
    }
}

/// Every problem code with its rule and its name, for filters and queues.
pub const PROBLEM_CODES: [(&str, &str, &str, &str); 17] = [
    (
        "no_authorization",
        "R13.1",
        "无有效授权",
        "no authorization in force",
    ),
    (
        "authorization_not_active",
        "R13.1",
        "授权不在有效状态",
        "authorization not active",
    ),
    (
        "before_validity",
        "R13.1",
        "早于授权有效期",
        "before the authorization's validity",
    ),
    (
        "after_validity",
        "R13.1",
        "晚于授权有效期",
        "after the authorization's validity",
    ),
    (
        "item_not_authorized",
        "R13.1",
        "项目未授权",
        "item not authorized",
    ),
    (
        "range_not_covered",
        "R13.1",
        "超出授权范围",
        "range not covered",
    ),
    (
        "range_not_comparable",
        "R13.1",
        "范围无法比较",
        "range not comparable",
    ),
    (
        "task_type_not_authorized",
        "R13.1",
        "任务类型未授权",
        "task type not authorized",
    ),
    (
        "customer_outside_region",
        "R13.1",
        "客户不在授权区域",
        "customer outside the region",
    ),
    (
        "standard_not_in_service",
        "R16.4",
        "计量标准不在用",
        "standard not in service",
    ),
    (
        "standard_certificate_invalid",
        "R16.4",
        "标准考核证书无效",
        "standard's certificate not valid",
    ),
    (
        "no_traceability",
        "R16.4",
        "标准无溯源记录",
        "standard never calibrated",
    ),
    (
        "traceability_overdue",
        "R16.4",
        "标准溯源过期",
        "standard's traceability overdue",
    ),
    (
        "no_qualification",
        "R16.6",
        "人员无资格",
        "performer not qualified",
    ),
    (
        "qualification_expired",
        "R16.6",
        "人员资格过期",
        "qualification expired",
    ),
    (
        "qualification_not_yet_valid",
        "R16.6",
        "人员资格未生效",
        "qualification not yet valid",
    ),
    (
        "checker_is_performer",
        "R16.6",
        "核验员与检定员相同",
        "checker is the performer",
    ),
];

/// The facts of a revision as they stood on `date`: a terminated or revoked
/// authorization was active until its end day (R15.2).
fn facts_on(
    v: &AuthorizationFacts,
    ended_on: Option<NaiveDate>,
    date: NaiveDate,
) -> AuthorizationFacts {
    let mut facts = v.clone();
    let ended = matches!(
        facts.status,
        AuthorizationStatus::Terminated | AuthorizationStatus::Revoked
    );
    if ended && ended_on.is_none_or(|end| date < end) {
        facts.status = AuthorizationStatus::Active;
    }
    facts
}

/// R16.7: the whole-chain verdict on `record` given every revision of the
/// station's authorizations. Each authorization's revision in force on the
/// work date is tried (R13.1, R13.2); the one with no scope problem wins,
/// else the one with the fewest. The standards (R16.4) and people (R16.6)
/// are checked once.
pub fn check_work_record<Id: Clone + PartialEq>(
    versions: &[AuthorizationVersion<Id>],
    record: &WorkRecordFacts,
    divisions: &Divisions,
) -> RecordVerdict<Id> {
    let candidates = in_force_on(versions, record.date);
    let mut best: Option<(&AuthorizationVersion<Id>, Vec<ScopeProblem>)> = None;
    for v in candidates {
        let facts = facts_on(&v.facts, v.ended_on, record.date);
        let problems = check_scope(&facts, record, divisions).problems;
        let better = match &best {
            None => true,
            Some((b, bp)) => {
                problems.len() < bp.len()
                    || (problems.len() == bp.len() && v.facts.valid_until > b.facts.valid_until)
            }
        };
        if better {
            best = Some((v, problems));
        }
    }
    let (authorization, mut problems) = match best {
        Some((v, problems)) => (Some((v.id.clone(), v.revision)), problems),
        None => (
            None,
            vec![ScopeProblem::NoAuthorization { date: record.date }],
        ),
    };
    problems.extend(chain_problems(record));
    RecordVerdict {
        authorization,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::measure::Range;
    use crate::rules::scope::{AuthorizedItem, Qualification, StandardUse};
    use crate::rules::DivisionCode;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn table() -> Divisions {
        Divisions::from_csv(include_str!("../../reference/cn_divisions.csv")).unwrap()
    }

    fn item(name: &str, range: &str) -> AuthorizedItem {
        AuthorizedItem {
            name: name.into(),
            spec_code: None,
            range: Range::parse(range).unwrap(),
            task_types: vec![TaskType::Verification],
        }
    }

    fn facts(items: Vec<AuthorizedItem>) -> AuthorizationFacts {
        AuthorizationFacts {
            valid_from: d("2025-01-01"),
            valid_until: d("2029-12-31"),
            status: AuthorizationStatus::Active,
            items,
            region: vec![DivisionCode::parse("440000").unwrap()],
        }
    }

    /// Revision 1 (grant, 2025-01-01) authorizes 压力表 and 电能表; revision
    /// 2 (adjustment, 2026-03-01) removes 电能表.
    fn versions() -> Vec<AuthorizationVersion<&'static str>> {
        vec![
            AuthorizationVersion {
                id: "A",
                revision: 1,
                effective_on: d("2025-01-01"),
                ended_on: None,
                facts: facts(vec![
                    item("压力表", "(0~60) MPa"),
                    item("电能表", "(0~100) A"),
                ]),
            },
            AuthorizationVersion {
                id: "A",
                revision: 2,
                effective_on: d("2026-03-01"),
                ended_on: None,
                facts: facts(vec![item("压力表", "(0~60) MPa")]),
            },
        ]
    }

    fn record(item: &str, range: &str, date: &str) -> WorkRecordFacts {
        WorkRecordFacts {
            date: d(date),
            item: item.into(),
            range: Range::parse(range).unwrap(),
            task_type: TaskType::Verification,
            customer_division: DivisionCode::parse("440305").unwrap(),
            performer: "p1".into(),
            checker: "p2".into(),
            performer_qualifications: vec![
                Qualification {
                    item: "压力表".into(),
                    valid_from: d("2024-01-01"),
                    valid_until: d("2028-12-31"),
                },
                Qualification {
                    item: "电能表".into(),
                    valid_from: d("2024-01-01"),
                    valid_until: d("2028-12-31"),
                },
            ],
            standards_used: vec![StandardUse {
                name: "活塞式压力计标准装置".into(),
                in_service: true,
                certificate_valid_from: d("2024-01-01"),
                certificate_valid_until: d("2028-12-31"),
                traceability_due: Some(d("2027-06-30")),
            }],
        }
    }

    #[test]
    fn a_removed_item_still_covers_work_before_the_adjustment_r13_1() {
        // R13.1, R13.2: the version in force on the work date decides.
        let before = check_work_record(
            &versions(),
            &record("电能表", "(0~10) A", "2026-02-28"),
            &table(),
        );
        assert_eq!(before.problems, vec![]);
        assert_eq!(before.authorization, Some(("A", 1)));
        let after = check_work_record(
            &versions(),
            &record("电能表", "(0~10) A", "2026-03-01"),
            &table(),
        );
        assert_eq!(after.authorization, Some(("A", 2)));
        assert_eq!(after.codes(), vec!["item_not_authorized"]);
        assert!(after.flagged());
    }

    #[test]
    fn no_authorization_before_the_first_revision_r13_1_r16_7() {
        let v = check_work_record(
            &versions(),
            &record("压力表", "(0~1) MPa", "2024-12-31"),
            &table(),
        );
        assert_eq!(v.authorization, None);
        assert_eq!(v.codes(), vec!["no_authorization"]);
        assert!(v.flagged());
        assert!(v.reasons(Lang::Zh)[0].starts_with("R13.1："));
        assert!(v.reasons(Lang::En)[0].contains("no authorization in force on 2024-12-31"));
    }

    #[test]
    fn each_standard_problem_alone_r16_4() {
        type Change = fn(&mut StandardUse);
        let cases: [(Change, &str); 4] = [
            (|s| s.in_service = false, "standard_not_in_service"),
            (
                |s| s.certificate_valid_until = d("2026-01-01"),
                "standard_certificate_invalid",
            ),
            (|s| s.traceability_due = None, "no_traceability"),
            (
                |s| s.traceability_due = Some(d("2026-05-31")),
                "traceability_overdue",
            ),
        ];
        for (change, code) in cases {
            let mut r = record("压力表", "(0~1) MPa", "2026-06-01");
            change(&mut r.standards_used[0]);
            let v = check_work_record(&versions(), &r, &table());
            assert_eq!(v.codes(), vec![code]);
            assert!(v.problems.iter().all(|p| p.rule_id() == "R16.4"));
        }
    }

    #[test]
    fn people_problems_alone_r16_6() {
        let mut r = record("压力表", "(0~1) MPa", "2026-06-01");
        r.checker = r.performer.clone();
        assert_eq!(
            check_work_record(&versions(), &r, &table()).codes(),
            vec!["checker_is_performer"]
        );
        let mut r = record("压力表", "(0~1) MPa", "2029-06-01");
        r.standards_used.clear();
        let v = check_work_record(&versions(), &r, &table());
        assert_eq!(v.codes(), vec!["qualification_expired"]);
        assert_eq!(v.problems[0].rule_id(), "R16.6");
    }

    #[test]
    fn every_reason_at_once_r16_7() {
        // Outside the range and region, an overdue standard, no
        // qualification and the same person checking: all reported together.
        let mut r = record("压力表", "(0~100) MPa", "2027-07-01");
        r.customer_division = DivisionCode::parse("110101").unwrap();
        r.performer_qualifications.clear();
        r.checker = r.performer.clone();
        let v = check_work_record(&versions(), &r, &table());
        assert_eq!(
            v.codes(),
            vec![
                "range_not_covered",
                "customer_outside_region",
                "traceability_overdue",
                "no_qualification",
                "checker_is_performer"
            ]
        );
        let rules: Vec<&str> = v.problems.iter().map(ScopeProblem::rule_id).collect();
        assert_eq!(rules, vec!["R13.1", "R13.1", "R16.4", "R16.6", "R16.6"]);
    }

    #[test]
    fn a_terminated_authorization_covers_work_before_its_end_r13_1() {
        let mut v = versions();
        v.push(AuthorizationVersion {
            id: "A",
            revision: 3,
            effective_on: d("2026-09-01"),
            ended_on: Some(d("2026-10-01")),
            facts: AuthorizationFacts {
                status: AuthorizationStatus::Terminated,
                ..facts(vec![item("压力表", "(0~60) MPa")])
            },
        });
        let ok = check_work_record(&v, &record("压力表", "(0~1) MPa", "2026-09-30"), &table());
        assert!(!ok.flagged(), "{:?}", ok.problems);
        let late = check_work_record(&v, &record("压力表", "(0~1) MPa", "2026-10-01"), &table());
        assert_eq!(late.codes(), vec!["authorization_not_active"]);
    }

    #[test]
    fn every_problem_has_a_listed_code() {
        let listed: Vec<&str> = PROBLEM_CODES.iter().map(|c| c.0).collect();
        let v = check_work_record(
            &versions(),
            &record("x", "(0~1) MPa", "2020-01-01"),
            &table(),
        );
        for c in v.codes() {
            assert!(listed.contains(&c), "{c}");
        }
        for (code, rule, _, _) in PROBLEM_CODES {
            assert!(rule.starts_with('R'), "{code}");
        }
    }

    #[test]
    fn kinds_read_codes_and_chinese_names() {
        for k in RecordKind::ALL {
            assert_eq!(RecordKind::parse(k.code()), Some(k));
            assert_eq!(RecordKind::parse(k.name(Lang::Zh)), Some(k));
        }
        assert_eq!(RecordKind::parse("证书"), None);
        assert_eq!(
            RecordKind::VerificationNotice.task_type(),
            TaskType::Verification
        );
    }
}
