//! The Art 7 conditions of an application (R7.1–R7.4), checked all at once:
//! the report lists every failure, never just the first.
//!
//! Facts arrive as plain data. Codes the rules validate themselves (credit
//! codes, specification codes) arrive as the text the applicant typed;
//! ranges arrive already parsed ([`Range`]), since the form parses them.

use chrono::NaiveDate;
use serde::Serialize;

use super::credit_code::{CreditCode, CreditCodeError};
use super::measure::Range;
use super::scope::{qualification_valid, Qualification};
use super::spec_code::{SpecCode, SpecCodeError};
use super::standards::{certificate_status, ReassessmentPolicy};
use super::{Lang, Message};

/// Kinds of uploaded document an application carries (R6.3, R7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// 申请书 (JJF 1069 format).
    ApplicationForm,
    /// 营业执照.
    BusinessLicence,
    /// 法人证书或设立文件 (satisfies the business-licence requirement).
    FoundingDocument,
    /// 授权项目表.
    ItemList,
    /// 签字人员名单.
    SignerList,
    /// 上级法人单位同意书 (R7.1, parent-entity route).
    ParentConsent,
    /// 计量标准考核证书.
    StandardCertificate,
    /// 人员资格证明.
    QualificationRecord,
    /// 质量管理体系文件.
    ManagementRules,
    /// 场所与环境条件说明.
    PremisesDescription,
}

impl DocumentType {
    /// The document type's name.
    pub fn name(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::Zh, Self::ApplicationForm) => "申请书",
            (Lang::Zh, Self::BusinessLicence) => "营业执照或设立文件",
            (Lang::Zh, Self::FoundingDocument) => "设立文件",
            (Lang::Zh, Self::ItemList) => "授权项目表",
            (Lang::Zh, Self::SignerList) => "签字人员名单",
            (Lang::Zh, Self::ParentConsent) => "上级法人单位同意书",
            (Lang::Zh, Self::StandardCertificate) => "计量标准考核证书",
            (Lang::Zh, Self::QualificationRecord) => "人员资格证明",
            (Lang::Zh, Self::ManagementRules) => "管理制度文件",
            (Lang::Zh, Self::PremisesDescription) => "场所与环境条件说明",
            (Lang::En, Self::ApplicationForm) => "application form",
            (Lang::En, Self::BusinessLicence) => "business licence or founding document",
            (Lang::En, Self::FoundingDocument) => "founding document",
            (Lang::En, Self::ItemList) => "item list",
            (Lang::En, Self::SignerList) => "signer list",
            (Lang::En, Self::ParentConsent) => "parent entity's consent",
            (Lang::En, Self::StandardCertificate) => "standard assessment certificate",
            (Lang::En, Self::QualificationRecord) => "qualification record",
            (Lang::En, Self::ManagementRules) => "management rules",
            (Lang::En, Self::PremisesDescription) => "premises and environment description",
        }
    }

    /// Whether a document of this type meets a requirement for `required`
    /// (a founding document meets the business-licence requirement).
    pub fn satisfies(self, required: DocumentType) -> bool {
        self == required
            || (self == DocumentType::FoundingDocument && required == DocumentType::BusinessLicence)
    }
}

/// R7.1: how legal personality is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "route", rename_all = "snake_case")]
pub enum LegalPersonality {
    /// The applicant is itself a legal person.
    OwnCode {
        /// Its credit code as typed.
        credit_code: String,
    },
    /// The station answers through a parent legal entity, whose consent
    /// ([`DocumentType::ParentConsent`]) must be among the documents.
    ParentEntity {
        /// The parent's credit code as typed.
        parent_credit_code: String,
    },
}

/// A requested item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestedItem {
    /// Instrument or quantity name.
    pub name: String,
    /// Requested range.
    pub range: Range,
    /// Governing specification as typed; `None` if not given.
    pub spec_code: Option<String>,
}

/// A measurement standard offered in support of the application.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfferedStandard {
    /// Name or number.
    pub name: String,
    /// Its range.
    pub range: Range,
    /// First valid day of its assessment certificate.
    pub certificate_valid_from: NaiveDate,
    /// Last valid day of its assessment certificate.
    pub certificate_valid_until: NaiveDate,
}

/// A staff member with qualifications.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffMember {
    /// Name.
    pub name: String,
    /// Qualifications held.
    pub qualifications: Vec<Qualification>,
}

/// The facts of an application.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplicationFacts {
    /// R7.1.
    pub legal: LegalPersonality,
    /// Requested items.
    pub items: Vec<RequestedItem>,
    /// Standards offered.
    pub standards: Vec<OfferedStandard>,
    /// Staff.
    pub staff: Vec<StaffMember>,
    /// Types of the documents uploaded.
    pub documents: Vec<DocumentType>,
}

/// Policy for R7.3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionsPolicy {
    /// Qualified staff needed per item (default 2).
    pub min_staff_per_item: usize,
    /// Document types required (default: application form, business
    /// licence or founding document, item list, signer list).
    pub required_documents: Vec<DocumentType>,
}

impl Default for ConditionsPolicy {
    fn default() -> Self {
        Self {
            min_staff_per_item: 2,
            required_documents: vec![
                DocumentType::ApplicationForm,
                DocumentType::BusinessLicence,
                DocumentType::ItemList,
                DocumentType::SignerList,
            ],
        }
    }
}

/// One unmet condition. Items are named by 1-based index and name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ConditionProblem {
    /// R7.1: the applicant's credit code is invalid.
    InvalidCreditCode {
        /// What is wrong.
        error: CreditCodeError,
    },
    /// R7.1: the parent entity's credit code is invalid.
    InvalidParentCreditCode {
        /// What is wrong.
        error: CreditCodeError,
    },
    /// R7.1: the parent entity's consent is missing.
    MissingParentConsent,
    /// R7.2: no standard's range covers the item.
    NoCoveringStandard {
        /// 1-based item index.
        index: usize,
        /// Item name.
        item: String,
    },
    /// R7.2: standards cover the item but none has a valid certificate.
    CoveringStandardsNotValid {
        /// 1-based item index.
        index: usize,
        /// Item name.
        item: String,
        /// The covering standards.
        standards: Vec<String>,
    },
    /// R7.3: a required document type is missing.
    MissingDocument {
        /// The type.
        document: DocumentType,
    },
    /// R7.3: too few staff qualified for the item on the application date.
    TooFewQualifiedStaff {
        /// 1-based item index.
        index: usize,
        /// Item name.
        item: String,
        /// Qualified staff found.
        found: usize,
        /// Required by policy.
        required: usize,
    },
    /// R7.4: the item names no specification.
    MissingSpecCode {
        /// 1-based item index.
        index: usize,
        /// Item name.
        item: String,
    },
    /// R7.4: the item's specification code is malformed.
    InvalidSpecCode {
        /// 1-based item index.
        index: usize,
        /// Item name.
        item: String,
        /// What is wrong.
        error: SpecCodeError,
    },
}

impl ConditionProblem {
    /// The condition's key: its code, and for an item the item's index, for
    /// a document its type (`no_covering_standard:2`,
    /// `missing_document:premises_description`), so that a verification or
    /// an override answers for exactly one condition (see [`super::settlement`]).
    pub fn key(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or_default();
        let code = v["code"].as_str().unwrap_or_default().to_owned();
        if let Some(i) = v["index"].as_u64() {
            format!("{code}:{i}")
        } else if let Some(d) = v["document"].as_str() {
            format!("{code}:{d}")
        } else {
            code
        }
    }

    /// The rule the problem breaks.
    pub fn rule_id(&self) -> &'static str {
        match self {
            Self::InvalidCreditCode { .. }
            | Self::InvalidParentCreditCode { .. }
            | Self::MissingParentConsent => "R7.1",
            Self::NoCoveringStandard { .. } | Self::CoveringStandardsNotValid { .. } => "R7.2",
            Self::MissingDocument { .. } | Self::TooFewQualifiedStaff { .. } => "R7.3",
            Self::MissingSpecCode { .. } | Self::InvalidSpecCode { .. } => "R7.4",
        }
    }
}

impl Message for ConditionProblem {
    fn message(&self, lang: Lang) -> String {
        use ConditionProblem as P;
        let zh = lang == Lang::Zh;
        match self {
            P::InvalidCreditCode { error } if zh => format!("统一社会信用代码无效：{}", error.message_zh()),
            P::InvalidCreditCode { error } => format!("invalid unified social credit code: {error}"),
            P::InvalidParentCreditCode { error } if zh => {
                format!("上级法人单位统一社会信用代码无效：{}", error.message_zh())
            }
            P::InvalidParentCreditCode { error } => {
                format!("invalid credit code of the parent legal entity: {error}")
            }
            P::MissingParentConsent if zh => "缺少上级法人单位同意书".into(),
            P::MissingParentConsent => "the parent legal entity's consent is missing".into(),
            P::NoCoveringStandard { index, item } if zh => {
                format!("第{index}项“{item}”没有测量范围覆盖该项目的计量标准")
            }
            P::NoCoveringStandard { index, item } => {
                format!("item {index} {item:?}: no measurement standard covers its range")
            }
            P::CoveringStandardsNotValid {
                index,
                item,
                standards,
            } if zh => format!(
                "第{index}项“{item}”：覆盖其范围的计量标准（{}）在申请日考核证书均不在有效期内",
                standards.join("、")
            ),
            P::CoveringStandardsNotValid {
                index,
                item,
                standards,
            } => format!(
                "item {index} {item:?}: no covering standard ({}) has a certificate valid on the application date",
                standards.join(", ")
            ),
            P::MissingDocument { document } if zh => format!("缺少材料：{}", document.name(lang)),
            P::MissingDocument { document } => format!("missing document: {}", document.name(lang)),
            P::TooFewQualifiedStaff {
                index,
                item,
                found,
                required,
            } if zh => format!("第{index}项“{item}”持有效资格的人员 {found} 名，至少需要 {required} 名"),
            P::TooFewQualifiedStaff {
                index,
                item,
                found,
                required,
            } => format!("item {index} {item:?}: {found} qualified staff, at least {required} required"),
            P::MissingSpecCode { index, item } if zh => format!("第{index}项“{item}”未注明依据的技术规范"),
            P::MissingSpecCode { index, item } => {
                format!("item {index} {item:?} names no technical specification")
            }
            P::InvalidSpecCode { index, item, error } if zh => {
                format!("第{index}项“{item}”技术规范编号无效：{}", error.message_zh())
            }
            P::InvalidSpecCode { index, item, error } => {
                format!("item {index} {item:?}: invalid specification code: {error}")
            }
        }
    }
}

/// Every unmet Art 7 condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionsReport {
    /// The problems, in rule order (R7.1, R7.2, R7.3, R7.4).
    pub problems: Vec<ConditionProblem>,
}

impl ConditionsReport {
    /// Whether every condition is met.
    pub fn is_satisfied(&self) -> bool {
        self.problems.is_empty()
    }
}

/// R7.1–R7.4: checks an application on `today` (the application date) and
/// reports every unmet condition.
///
/// - R7.1: a valid own credit code, or a valid parent code plus the
///   parent's consent document.
/// - R7.2: each item is covered in range by a standard whose certificate is
///   valid on `today` (a certificate in its re-assessment window is valid).
///   Standards of another kind of quantity simply do not cover.
/// - R7.3: the required document types are present and each item has at
///   least `policy.min_staff_per_item` staff with a qualification for it
///   valid on `today`.
/// - R7.4: each item names a well-formed specification code.
pub fn check_application(
    facts: &ApplicationFacts,
    today: NaiveDate,
    policy: &ConditionsPolicy,
) -> ConditionsReport {
    let mut problems = Vec::new();

    // R7.1
    match &facts.legal {
        LegalPersonality::OwnCode { credit_code } => {
            if let Err(error) = CreditCode::parse(credit_code) {
                problems.push(ConditionProblem::InvalidCreditCode { error });
            }
        }
        LegalPersonality::ParentEntity { parent_credit_code } => {
            if let Err(error) = CreditCode::parse(parent_credit_code) {
                problems.push(ConditionProblem::InvalidParentCreditCode { error });
            }
            if !facts.documents.contains(&DocumentType::ParentConsent) {
                problems.push(ConditionProblem::MissingParentConsent);
            }
        }
    }

    // R7.2
    for (i, item) in facts.items.iter().enumerate() {
        let covering: Vec<&OfferedStandard> = facts
            .standards
            .iter()
            .filter(|s| s.range.covers(&item.range).unwrap_or(false))
            .collect();
        let any_valid = covering.iter().any(|s| {
            certificate_status(
                s.certificate_valid_from,
                s.certificate_valid_until,
                today,
                &ReassessmentPolicy::default(),
            )
            .is_valid()
        });
        if covering.is_empty() {
            problems.push(ConditionProblem::NoCoveringStandard {
                index: i + 1,
                item: item.name.clone(),
            });
        } else if !any_valid {
            problems.push(ConditionProblem::CoveringStandardsNotValid {
                index: i + 1,
                item: item.name.clone(),
                standards: covering.iter().map(|s| s.name.clone()).collect(),
            });
        }
    }

    // R7.3
    for required in &policy.required_documents {
        if !facts.documents.iter().any(|d| d.satisfies(*required)) {
            problems.push(ConditionProblem::MissingDocument {
                document: *required,
            });
        }
    }
    for (i, item) in facts.items.iter().enumerate() {
        let found = facts
            .staff
            .iter()
            .filter(|s| qualification_valid(&s.qualifications, &item.name, today).is_ok())
            .count();
        if found < policy.min_staff_per_item {
            problems.push(ConditionProblem::TooFewQualifiedStaff {
                index: i + 1,
                item: item.name.clone(),
                found,
                required: policy.min_staff_per_item,
            });
        }
    }

    // R7.4
    for (i, item) in facts.items.iter().enumerate() {
        match item.spec_code.as_deref().map(str::trim) {
            None | Some("") => problems.push(ConditionProblem::MissingSpecCode {
                index: i + 1,
                item: item.name.clone(),
            }),
            Some(text) => {
                if let Err(error) = SpecCode::parse(text) {
                    problems.push(ConditionProblem::InvalidSpecCode {
                        index: i + 1,
                        item: item.name.clone(),
                        error,
                    });
                }
            }
        }
    }

    ConditionsReport { problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn qualified(name: &str) -> StaffMember {
        StaffMember {
            name: name.into(),
            qualifications: vec![Qualification {
                item: "压力表".into(),
                valid_from: d("2023-01-01"),
                valid_until: d("2027-12-31"),
            }],
        }
    }

    fn facts() -> ApplicationFacts {
        ApplicationFacts {
            legal: LegalPersonality::OwnCode {
                credit_code: "91350100M000100Y43".into(),
            },
            items: vec![RequestedItem {
                name: "压力表".into(),
                range: Range::parse("(0~60) MPa").unwrap(),
                spec_code: Some("JJG 52-2013".into()),
            }],
            standards: vec![OfferedStandard {
                name: "活塞式压力计".into(),
                range: Range::parse("(0~100) MPa").unwrap(),
                certificate_valid_from: d("2022-01-01"),
                certificate_valid_until: d("2026-12-31"),
            }],
            staff: vec![qualified("张三"), qualified("李四")],
            documents: vec![
                DocumentType::ApplicationForm,
                DocumentType::FoundingDocument,
                DocumentType::ItemList,
                DocumentType::SignerList,
            ],
        }
    }

    fn check(f: &ApplicationFacts) -> Vec<ConditionProblem> {
        check_application(f, d("2025-03-01"), &ConditionsPolicy::default()).problems
    }

    #[test]
    fn complete_application_meets_every_condition() {
        // R7.1, R7.2, R7.3, R7.4
        assert_eq!(check(&facts()), vec![]);
    }

    #[test]
    fn invalid_own_credit_code_fails_r7_1_with_the_expected_check_character() {
        // R7.1
        let mut f = facts();
        f.legal = LegalPersonality::OwnCode {
            credit_code: "91350100M000100Y44".into(),
        };
        let problems = check(&f);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].rule_id(), "R7.1");
        assert_eq!(
            problems[0].message_zh(),
            "统一社会信用代码无效：第18位校验码为“4”，应为“3”"
        );
    }

    #[test]
    fn parent_entity_route_needs_a_valid_parent_code_and_consent() {
        // R7.1
        let mut f = facts();
        f.legal = LegalPersonality::ParentEntity {
            parent_credit_code: "91350100M000100Y43".into(),
        };
        assert_eq!(check(&f), vec![ConditionProblem::MissingParentConsent]);
        f.documents.push(DocumentType::ParentConsent);
        assert_eq!(check(&f), vec![]);
    }

    #[test]
    fn item_without_a_covering_standard_fails_r7_2() {
        // R7.2: a standard in kPa that stops short of the item in MPa.
        let mut f = facts();
        f.standards[0].range = Range::parse("0~600 kPa").unwrap();
        assert_eq!(
            check(&f),
            vec![ConditionProblem::NoCoveringStandard {
                index: 1,
                item: "压力表".into()
            }]
        );
    }

    #[test]
    fn covering_standard_with_an_expired_certificate_fails_r7_2() {
        // R7.2
        let mut f = facts();
        f.standards[0].certificate_valid_until = d("2025-02-28");
        let problems = check(&f);
        assert!(matches!(
            &problems[..],
            [ConditionProblem::CoveringStandardsNotValid { index: 1, .. }]
        ));
        assert!(problems[0].message_en().contains("活塞式压力计"));
    }

    #[test]
    fn missing_documents_and_too_few_staff_fail_r7_3() {
        // R7.3
        let mut f = facts();
        f.documents.retain(|d| *d != DocumentType::FoundingDocument);
        f.staff.pop();
        assert_eq!(
            check(&f),
            vec![
                ConditionProblem::MissingDocument {
                    document: DocumentType::BusinessLicence
                },
                ConditionProblem::TooFewQualifiedStaff {
                    index: 1,
                    item: "压力表".into(),
                    found: 1,
                    required: 2
                },
            ]
        );
    }

    #[test]
    fn missing_or_malformed_spec_code_fails_r7_4() {
        // R7.4
        let mut f = facts();
        f.items.push(RequestedItem {
            name: "压力表".into(),
            range: Range::parse("(0~1) MPa").unwrap(),
            spec_code: Some("JJG 52".into()),
        });
        f.items[0].spec_code = None;
        let problems = check(&f);
        assert_eq!(
            problems
                .iter()
                .map(ConditionProblem::rule_id)
                .collect::<Vec<_>>(),
            vec!["R7.4", "R7.4"]
        );
        assert_eq!(
            problems[1].message_zh(),
            "第2项“压力表”技术规范编号无效：技术规范编号缺少年号（如 -2013）"
        );
    }

    #[test]
    fn every_failure_is_reported_at_once() {
        // R7.1, R7.2, R7.3, R7.4 together, not first-fail.
        let mut f = facts();
        f.legal = LegalPersonality::OwnCode {
            credit_code: "123".into(),
        };
        f.standards.clear();
        f.staff.clear();
        f.documents.clear();
        f.items[0].spec_code = Some("??".into());
        let rules: Vec<&str> = check(&f).iter().map(ConditionProblem::rule_id).collect();
        assert_eq!(
            rules,
            vec!["R7.1", "R7.2", "R7.3", "R7.3", "R7.3", "R7.3", "R7.3", "R7.4"]
        );
    }
}
