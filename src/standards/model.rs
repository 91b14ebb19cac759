//! Measurement standards (R12.1), traceability (R16.4), change requests
//! (R12.4, R16.1, R16.2): types, parsing of inputs, the change state machine.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::FieldError;
use crate::i18n::Lang;
use crate::rules::measure::{Accuracy, Range};
use crate::rules::spec_code::SpecCode;
use crate::rules::standards::{
    certificate_status, traceability_status, CertificateStatus, ReassessmentPolicy,
};
use crate::rules::Message;

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            pub fn label(self, lang: Lang) -> &'static str {
                match self { $($name::$variant => lang.pick($zh, $en)),+ }
            }
        }
    };
}

text_enum! {
    /// R12.1: the kind of a measurement standard.
    StandardKind {
        Primary => "primary", "计量基准", "Primary standard";
        SocialPublic => "social_public", "社会公用计量标准", "Social public standard";
        Professional => "professional", "本专业项目的计量标准", "Professional standard";
    }
}

text_enum! {
    /// R16.2: a standard's status; changes only through an approved request.
    StandardStatus {
        InService => "in_service", "在用", "In service";
        Sealed => "sealed", "封存", "Sealed";
        Stopped => "stopped", "停用", "Stopped";
        Replaced => "replaced", "更换", "Replaced";
        Cancelled => "cancelled", "注销", "Cancelled";
    }
}

text_enum! {
    /// R12.4's four kinds of change (JJF 1033), plus a change of status (R16.2).
    ChangeKind {
        Equipment => "equipment", "计量标准器或主要配套设备的更换", "The standard or its main equipment";
        Specification => "specification", "依据的技术规范更换", "The specification used";
        Personnel => "personnel", "负责人或人员变更", "Responsible person or staff";
        Environment => "environment", "环境条件或存放地点变更", "Environment or location";
        Status => "status", "状态变更（封存、停用、更换、注销、恢复）", "Status (seal, stop, replace, cancel, resume)";
        Certificate => "certificate", "计量标准考核证书变更（复查换证、更正）", "The assessment certificate (renewal, correction)";
    }
}

text_enum! {
    /// States of a change request.
    ChangeState {
        Draft => "draft", "草稿", "Draft";
        Submitted => "submitted", "已提交待审查", "Submitted";
        Proposed => "proposed", "已提出意见待审批", "Proposed, awaiting approver";
        Approved => "approved", "已批准", "Approved";
        Refused => "refused", "不予批准", "Refused";
        Withdrawn => "withdrawn", "已撤回", "Withdrawn";
    }
}

text_enum! {
    /// Kinds of staff qualification (R16.6).
    QualificationKind {
        RegisteredMetrologist1 => "registered_metrologist_1", "一级注册计量师", "Registered metrologist, level 1";
        RegisteredMetrologist2 => "registered_metrologist_2", "二级注册计量师", "Registered metrologist, level 2";
        VerifierCertificate => "verifier_certificate", "计量检定员证", "Verifier certificate";
    }
}

impl StandardStatus {
    pub fn badge(self) -> &'static str {
        match self {
            StandardStatus::InService => "badge-ok",
            StandardStatus::Sealed | StandardStatus::Stopped => "badge-warn",
            StandardStatus::Replaced | StandardStatus::Cancelled => "badge-muted",
        }
    }
}

impl ChangeState {
    pub fn badge(self) -> &'static str {
        match self {
            ChangeState::Draft | ChangeState::Withdrawn => "badge-muted",
            ChangeState::Submitted | ChangeState::Proposed => "badge-warn",
            ChangeState::Approved => "badge-ok",
            ChangeState::Refused => "badge-bad",
        }
    }

    /// Whether the request is finished.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ChangeState::Approved | ChangeState::Refused | ChangeState::Withdrawn
        )
    }
}

impl ChangeKind {
    /// The fields a change of this kind may touch (R12.4; R16.1 for a
    /// primary standard's equipment and location; R16.2 for status).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            ChangeKind::Equipment => &["main_equipment", "range_text", "accuracy_text", "kind"],
            ChangeKind::Specification => &["specification"],
            ChangeKind::Personnel => &["responsible_person"],
            ChangeKind::Environment => &["location", "environment"],
            ChangeKind::Status => &["status"],
            // R12.1: the certificate is the issuer's act, changed by the issuer.
            ChangeKind::Certificate => &["cert_number", "cert_issued_on", "cert_expires_on"],
        }
    }
}

/// Fields of a standard that change only through an approved change
/// request (R12.4, R16.1, R16.2), with their labels.
pub const PROTECTED_FIELDS: &[(&str, &str, &str)] = &[
    ("kind", "类别", "Kind"),
    ("range_text", "测量范围", "Measurement range"),
    (
        "accuracy_text",
        "准确度等级/最大允许误差/不确定度",
        "Accuracy / MPE / uncertainty",
    ),
    ("main_equipment", "主要配套设备", "Main equipment"),
    ("specification", "依据的技术规范", "Specification"),
    ("responsible_person", "负责人", "Responsible person"),
    ("location", "存放地点", "Location"),
    ("environment", "环境条件", "Environment"),
    ("status", "状态", "Status"),
    ("cert_number", "考核证书编号", "Certificate number"),
    ("cert_issuer_id", "发证机关", "Certificate issuer"),
    ("cert_issued_on", "发证日期", "Certificate issued on"),
    ("cert_expires_on", "证书有效期至", "Certificate valid until"),
];

/// The label of a protected field.
pub fn field_label(field: &str, lang: Lang) -> String {
    PROTECTED_FIELDS
        .iter()
        .find(|(f, _, _)| *f == field)
        .map(|(_, zh, en)| lang.pick(zh, en).to_owned())
        .unwrap_or_else(|| field.to_owned())
}

/// A warning shown wherever the data shows (R12.3, R16.4, R16.6).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Warning {
    /// `certificate_expired`, `reassessment_due`, `traceability_overdue`,
    /// `no_traceability`, `qualification_expired`.
    pub code: String,
    /// `bad` (red) or `warn` (amber).
    pub severity: String,
    pub message: String,
    pub message_en: String,
}

impl Warning {
    fn new(code: &str, severity: &str, m: &impl Message) -> Self {
        Warning {
            code: code.into(),
            severity: severity.into(),
            message: m.message_zh(),
            message_en: m.message_en(),
        }
    }

    fn plain(code: &str, severity: &str, zh: String, en: String) -> Self {
        Warning {
            code: code.into(),
            severity: severity.into(),
            message: zh,
            message_en: en,
        }
    }

    pub fn text(&self, lang: Lang) -> &str {
        if lang.is_en() {
            &self.message_en
        } else {
            &self.message
        }
    }

    pub fn badge(&self) -> &'static str {
        if self.severity == "bad" {
            "badge-bad"
        } else {
            "badge-warn"
        }
    }
}

/// R12.3 and R16.4 warnings of a standard on `today`. Retired standards
/// (replaced, cancelled) warn of nothing.
pub fn standard_warnings(
    status: StandardStatus,
    issued: NaiveDate,
    expires: NaiveDate,
    traceability_due: Option<NaiveDate>,
    today: NaiveDate,
) -> Vec<Warning> {
    if matches!(status, StandardStatus::Replaced | StandardStatus::Cancelled) {
        return Vec::new();
    }
    let mut w = Vec::new();
    let cert = certificate_status(issued, expires, today, &ReassessmentPolicy::default());
    match cert {
        CertificateStatus::Expired { .. } => {
            w.push(Warning::new("certificate_expired", "bad", &cert))
        }
        CertificateStatus::ReassessmentDue { .. } => {
            w.push(Warning::new("reassessment_due", "warn", &cert))
        }
        _ => {}
    }
    match traceability_due {
        Some(due) => {
            let t = traceability_status(due, today);
            if t.is_overdue() {
                w.push(Warning::new("traceability_overdue", "bad", &t));
            }
        }
        None => w.push(Warning::plain(
            "no_traceability",
            "warn",
            "尚无量值溯源记录（R16.4）".into(),
            "No traceability record yet (R16.4)".into(),
        )),
    }
    w
}

/// R16.6: a qualification expired on `today` (valid through its expiry day).
pub fn qualification_warning(expires: NaiveDate, today: NaiveDate) -> Option<Warning> {
    (today > expires).then(|| {
        Warning::plain(
            "qualification_expired",
            "bad",
            format!("资格证书已于 {expires} 到期（R16.6）"),
            format!("Qualification expired on {expires} (R16.6)"),
        )
    })
}

/// A standard as the API returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Standard {
    pub id: Uuid,
    pub station_id: Uuid,
    pub station_name: String,
    pub kind: StandardKind,
    pub name: String,
    /// As written, e.g. `（0～10）MPa`.
    pub range_text: String,
    pub accuracy_text: String,
    pub main_equipment: String,
    pub specification: String,
    pub responsible_person: String,
    pub location: String,
    pub environment: String,
    pub status: StandardStatus,
    pub cert_number: String,
    pub cert_issuer_id: Uuid,
    pub cert_issuer_name: String,
    pub cert_issued_on: NaiveDate,
    pub cert_expires_on: NaiveDate,
    /// Due date of the latest traceability record.
    pub traceability_due_on: Option<NaiveDate>,
    pub warnings: Vec<Warning>,
    pub version: i32,
}

impl Standard {
    /// The value of a protected field, as a string.
    pub fn field(&self, name: &str) -> Option<String> {
        Some(match name {
            "kind" => self.kind.as_str().to_owned(),
            "range_text" => self.range_text.clone(),
            "accuracy_text" => self.accuracy_text.clone(),
            "main_equipment" => self.main_equipment.clone(),
            "specification" => self.specification.clone(),
            "responsible_person" => self.responsible_person.clone(),
            "location" => self.location.clone(),
            "environment" => self.environment.clone(),
            "status" => self.status.as_str().to_owned(),
            "cert_number" => self.cert_number.clone(),
            "cert_issuer_id" => self.cert_issuer_id.to_string(),
            "cert_issued_on" => self.cert_issued_on.to_string(),
            "cert_expires_on" => self.cert_expires_on.to_string(),
            _ => return None,
        })
    }
}

/// A new standard, or the directly editable fields of one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StandardInput {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub range_text: Option<String>,
    pub accuracy_text: Option<String>,
    pub main_equipment: Option<String>,
    pub specification: Option<String>,
    pub responsible_person: Option<String>,
    pub location: Option<String>,
    pub environment: Option<String>,
    /// Status is not set here after creation (R16.2); a new standard is in service.
    pub status: Option<String>,
    pub cert_number: Option<String>,
    pub cert_issuer_id: Option<Uuid>,
    pub cert_issued_on: Option<NaiveDate>,
    /// Default: issue date + 4 years (R12.1 policy).
    pub cert_expires_on: Option<NaiveDate>,
    /// A different station here is a transfer, which the system does not offer (R16.3).
    pub station_id: Option<Uuid>,
    pub version: Option<i32>,
}

/// Validated values of a new standard.
#[derive(Debug, Clone)]
pub struct ValidStandard {
    pub kind: StandardKind,
    pub name: String,
    pub range_text: String,
    pub accuracy_text: String,
    pub main_equipment: String,
    pub specification: String,
    pub responsible_person: String,
    pub location: String,
    pub environment: String,
    pub cert_number: String,
    pub cert_issuer_id: Uuid,
    pub cert_issued_on: NaiveDate,
    pub cert_expires_on: NaiveDate,
}

/// Default validity of a standard assessment certificate (R12.1 policy).
pub const CERT_VALIDITY_YEARS: u32 = 4;

fn trimmed(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Checks one protected value by field; returns it normalized or an error.
pub fn check_field(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim().to_owned();
    match field {
        "kind" => StandardKind::parse(&v)
            .map(|k| k.as_str().to_owned())
            .ok_or_else(|| FieldError::new(field, "invalid", "类别取值无效", "Unknown kind")),
        "status" => StandardStatus::parse(&v)
            .map(|k| k.as_str().to_owned())
            .ok_or_else(|| FieldError::new(field, "invalid", "状态取值无效", "Unknown status")),
        "range_text" => match Range::parse(&v) {
            Ok(_) => Ok(v),
            Err(e) => Err(FieldError::new(
                field,
                "invalid_range",
                e.message_zh(),
                e.message_en(),
            )),
        },
        "accuracy_text" => match Accuracy::parse(&v) {
            Ok(_) => Ok(v),
            Err(e) => Err(FieldError::new(
                field,
                "invalid_accuracy",
                e.message_zh(),
                e.message_en(),
            )),
        },
        "cert_issued_on" | "cert_expires_on" => {
            let bad = || {
                FieldError::new(
                    field,
                    "date_range",
                    "请填写 2000–2100 年间的日期（YYYY-MM-DD）",
                    "Give a date in 2000–2100 (YYYY-MM-DD)",
                )
            };
            let d = NaiveDate::parse_from_str(&v, "%Y-%m-%d").map_err(|_| bad())?;
            let mut errors = Vec::new();
            crate::web::check_date(field, Some(d), &mut errors);
            match errors.pop() {
                Some(e) => Err(e),
                None => Ok(d.to_string()),
            }
        }
        "cert_number" if v.is_empty() => Err(FieldError::required(field)),
        "cert_number" if v.chars().count() > 100 => Err(FieldError::new(
            field,
            "length",
            "不得超过 100 个字符",
            "At most 100 characters",
        )),
        "specification" if !v.is_empty() => match SpecCode::parse(&v) {
            // R7.4: kept in its canonical form.
            Ok(code) => Ok(code.to_string()),
            Err(e) => Err(FieldError::new(
                field,
                "invalid_specification",
                e.message_zh(),
                e.message_en(),
            )),
        },
        _ if v.chars().count() > 500 => Err(FieldError::new(
            field,
            "length",
            "不得超过 500 个字符",
            "At most 500 characters",
        )),
        _ => Ok(v),
    }
}

/// Validates a new standard; every problem at once. `row_prefix` names the
/// field for import reports.
pub fn validate_new(input: &StandardInput) -> Result<ValidStandard, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut req = |field: &str, v: &Option<String>| -> String {
        match trimmed(v) {
            Some(s) => match check_field(field, &s) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(e);
                    String::new()
                }
            },
            None => {
                errors.push(FieldError::required(field));
                String::new()
            }
        }
    };
    let kind = req("kind", &input.kind);
    let name = req("name", &input.name);
    let range_text = req("range_text", &input.range_text);
    let accuracy_text = req("accuracy_text", &input.accuracy_text);
    let cert_number = req("cert_number", &input.cert_number);
    let mut opt = |field: &str, v: &Option<String>| -> String {
        match check_field(field, v.as_deref().unwrap_or("")) {
            Ok(s) => s,
            Err(e) => {
                errors.push(e);
                String::new()
            }
        }
    };
    let main_equipment = opt("main_equipment", &input.main_equipment);
    let specification = opt("specification", &input.specification);
    let responsible_person = opt("responsible_person", &input.responsible_person);
    let location = opt("location", &input.location);
    let environment = opt("environment", &input.environment);
    if let Some(s) = trimmed(&input.status) {
        if s != "in_service" {
            errors.push(FieldError::new(
                "status",
                "status_on_create",
                "新登记的计量标准为“在用”状态；其后的状态变更须经变更申请（R16.2）",
                "A new standard is in service; later status changes need a change request (R16.2)",
            ));
        }
    }
    if input.cert_issuer_id.is_none() {
        errors.push(FieldError::required("cert_issuer_id"));
    }
    let issued = input.cert_issued_on;
    if issued.is_none() {
        errors.push(FieldError::required("cert_issued_on"));
    }
    crate::web::check_date("cert_issued_on", issued, &mut errors);
    crate::web::check_date("cert_expires_on", input.cert_expires_on, &mut errors);
    let expires = input.cert_expires_on.or_else(|| {
        issued.and_then(|d| d.checked_add_months(chrono::Months::new(12 * CERT_VALIDITY_YEARS)))
    });
    if let (Some(i), Some(e)) = (issued, expires) {
        if e <= i {
            errors.push(FieldError::new(
                "cert_expires_on",
                "before_issue",
                "有效期至须晚于发证日期",
                "The expiry date must be after the issue date",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidStandard {
        kind: StandardKind::parse(&kind).unwrap_or(StandardKind::Professional),
        name,
        range_text,
        accuracy_text,
        main_equipment,
        specification,
        responsible_person,
        location,
        environment,
        cert_number,
        cert_issuer_id: input.cert_issuer_id.unwrap_or_default(),
        cert_issued_on: issued.unwrap_or_default(),
        cert_expires_on: expires.unwrap_or_default(),
    })
}

/// A traceability record (R16.4).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct TraceabilityRecord {
    pub id: Uuid,
    pub standard_id: Uuid,
    pub calibrated_on: NaiveDate,
    pub provider: String,
    pub certificate_number: String,
    pub due_on: NaiveDate,
}

/// A new traceability record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceabilityInput {
    pub calibrated_on: Option<NaiveDate>,
    pub provider: Option<String>,
    pub certificate_number: Option<String>,
    pub due_on: Option<NaiveDate>,
}

/// One field's change: before → after.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FieldChange {
    pub before: String,
    pub after: String,
}

/// A change request as the API returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeRequest {
    pub id: Uuid,
    pub station_id: Uuid,
    pub station_name: String,
    pub standard_id: Uuid,
    pub standard_name: String,
    pub change_kind: ChangeKind,
    pub reason: String,
    /// Field → before/after, in the order of [`PROTECTED_FIELDS`].
    pub changes: Vec<(String, FieldChange)>,
    pub decider_org_id: Uuid,
    pub decider_name: String,
    pub state: ChangeState,
    pub proposal: Option<String>,
    pub proposal_note: Option<String>,
    pub decision_note: Option<String>,
    pub drafted_by: Uuid,
    pub proposed_by: Option<Uuid>,
    pub decided_by: Option<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub submitted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    pub version: i32,
}

/// Draft a change request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequestInput {
    pub change_kind: Option<ChangeKind>,
    pub reason: Option<String>,
    /// Field → new value; only the fields of the kind (see `ChangeKind`).
    #[serde(default)]
    pub changes: std::collections::BTreeMap<String, String>,
}

/// A step of the change request workflow; `version` is the one read.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeStep {
    pub version: Option<i32>,
    /// For `propose`: `approve` or `refuse`.
    pub decision: Option<String>,
    pub note: Option<String>,
}

/// A validated draft: its kind, reason and field changes.
pub type ValidChange = (ChangeKind, String, Vec<(String, FieldChange)>);

/// Validates a draft against the standard: allowed fields, valid values, a
/// real change, a reason. Returns the field changes.
pub fn validate_change(
    standard: &Standard,
    input: &ChangeRequestInput,
) -> Result<ValidChange, Vec<FieldError>> {
    let mut errors = Vec::new();
    let reason = trimmed(&input.reason);
    if reason.is_none() {
        errors.push(FieldError::required("reason"));
    }
    let Some(kind) = input.change_kind else {
        errors.push(FieldError::required("change_kind"));
        return Err(errors);
    };
    let mut changes = Vec::new();
    for (field, value) in &input.changes {
        if !kind.fields().contains(&field.as_str()) {
            errors.push(FieldError::new(
                &format!("changes.{field}"),
                "field_not_in_kind",
                format!("“{}”不属于此类变更（R12.4）", field_label(field, Lang::Zh)),
                format!(
                    "“{}” is not part of this kind of change (R12.4)",
                    field_label(field, Lang::En)
                ),
            ));
            continue;
        }
        match check_field(field, value) {
            Ok(after) => {
                let before = standard.field(field).unwrap_or_default();
                if before != after {
                    changes.push((field.clone(), FieldChange { before, after }));
                }
            }
            Err(mut e) => {
                e.field = format!("changes.{field}");
                errors.push(e);
            }
        }
    }
    if errors.is_empty() && changes.is_empty() {
        errors.push(FieldError::new(
            "changes",
            "no_change",
            "变更后的值与现值相同，没有可申请的变更",
            "The new values equal the current ones: nothing to change",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    changes.sort_by_key(|(f, _)| PROTECTED_FIELDS.iter().position(|(p, _, _)| p == f));
    Ok((kind, reason.unwrap_or_default(), changes))
}

/// A staff member with qualifications (R16.6).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffMember {
    pub id: Uuid,
    pub station_id: Uuid,
    pub name: String,
    pub title: String,
    pub active: bool,
    pub qualifications: Vec<Qualification>,
    pub version: i32,
}

/// A qualification of a staff member.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Qualification {
    pub id: Uuid,
    pub kind: QualificationKind,
    pub certificate_number: String,
    pub items: Vec<String>,
    pub issued_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub warning: Option<Warning>,
}

/// A new staff member.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffInput {
    pub name: Option<String>,
    pub title: Option<String>,
}

/// A new qualification.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualificationInput {
    pub kind: Option<QualificationKind>,
    pub certificate_number: Option<String>,
    #[serde(default)]
    pub items: Vec<String>,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_certificate_within_six_months_of_expiry_warns_and_an_expired_one_is_red_r12_3() {
        let w = standard_warnings(
            StandardStatus::InService,
            d("2022-01-01"),
            d("2026-01-01"),
            Some(d("2027-01-01")),
            d("2025-08-01"),
        );
        assert_eq!(
            w.iter().map(|w| w.code.as_str()).collect::<Vec<_>>(),
            vec!["reassessment_due"]
        );
        let w = standard_warnings(
            StandardStatus::InService,
            d("2022-01-01"),
            d("2026-01-01"),
            Some(d("2027-01-01")),
            d("2026-01-02"),
        );
        assert_eq!(w[0].code, "certificate_expired");
        assert_eq!(w[0].severity, "bad");
    }

    #[test]
    fn traceability_past_its_due_date_is_flagged_r16_4() {
        let w = standard_warnings(
            StandardStatus::InService,
            d("2024-01-01"),
            d("2028-01-01"),
            Some(d("2025-03-01")),
            d("2025-03-02"),
        );
        assert_eq!(w[0].code, "traceability_overdue");
        let w = standard_warnings(
            StandardStatus::InService,
            d("2024-01-01"),
            d("2028-01-01"),
            Some(d("2025-03-01")),
            d("2025-03-01"),
        );
        assert!(w.is_empty(), "due today is not overdue");
    }

    #[test]
    fn a_cancelled_standard_warns_of_nothing() {
        let w = standard_warnings(
            StandardStatus::Cancelled,
            d("2010-01-01"),
            d("2014-01-01"),
            None,
            d("2025-01-01"),
        );
        assert!(w.is_empty());
    }

    #[test]
    fn an_expired_qualification_on_the_date_is_a_warning_r16_6() {
        assert!(qualification_warning(d("2025-06-30"), d("2025-06-30")).is_none());
        assert!(qualification_warning(d("2025-06-30"), d("2025-07-01")).is_some());
    }

    #[test]
    fn each_change_kind_touches_only_its_fields_r12_4() {
        let all: Vec<&str> = ChangeKind::ALL
            .iter()
            .flat_map(|k| k.fields().iter().copied())
            .collect();
        for (f, _, _) in PROTECTED_FIELDS {
            // The issuer decides certificate changes; it is not itself one.
            let expected = usize::from(*f != "cert_issuer_id");
            assert_eq!(
                all.iter().filter(|x| *x == f).count(),
                expected,
                "{f} belongs to exactly one kind"
            );
        }
    }

    #[test]
    fn a_new_standard_defaults_to_four_years_of_validity_and_refuses_a_bad_range() {
        let input = StandardInput {
            kind: Some("professional".into()),
            name: Some("压力标准装置".into()),
            range_text: Some("（0～10）MPa".into()),
            accuracy_text: Some("0.05级".into()),
            cert_number: Some("[2024]粤量标证字第001号".into()),
            cert_issuer_id: Some(Uuid::nil()),
            cert_issued_on: Some(d("2024-02-29")),
            ..StandardInput::default()
        };
        let v = validate_new(&input).unwrap();
        assert_eq!(v.cert_expires_on, d("2028-02-29"));
        let bad = StandardInput {
            range_text: Some("ten MPa".into()),
            ..input
        };
        let errs = validate_new(&bad).unwrap_err();
        assert_eq!(errs[0].field, "range_text");
    }
}
