//! The work record's input (form, file, LIMS batch) and output, and the
//! validation every path shares. Validation refuses malformed input (a
//! missing field, an unknown staff member, an unparseable range); the rules
//! never refuse: a well-formed record outside the chain is saved, flagged.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::FieldError;
use crate::rules::measure::Range;
use crate::rules::records::RecordKind;
use crate::rules::{DivisionCode, Lang};

/// A work record as a station sends it (form, CSV/XLSX row, LIMS batch).
/// People are named by staff id or by name; standards by id or by their
/// assessment certificate number (R16.3: only the station's own).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    /// Certificate or report number, unique per station (R16.5).
    pub number: String,
    /// `verification_certificate`, `verification_notice`,
    /// `calibration_certificate`, `test_report`, `type_evaluation_report`
    /// (or the Chinese name).
    pub kind: String,
    pub instrument_name: String,
    #[serde(default)]
    pub instrument_model: String,
    #[serde(default)]
    pub instrument_serial: String,
    #[serde(default)]
    pub manufacturer: String,
    /// 委托方.
    pub customer_name: String,
    /// Unified social credit code of the customer, optional.
    #[serde(default)]
    pub customer_credit_code: Option<String>,
    /// GB/T 2260 code of where the instrument is used.
    pub customer_division: String,
    /// The authorized item the work falls under (R13.1).
    pub item_name: String,
    /// The range or points used, e.g. `(0~10) MPa`.
    pub range_text: String,
    /// JJG/JJF code.
    #[serde(default)]
    pub specification: String,
    /// Standards used: ids or certificate numbers (R16.3, R16.4).
    pub standards: Vec<String>,
    /// 检定员/校准员: staff id or name.
    pub performer: String,
    /// 核验员: staff id or name.
    pub checker: String,
    /// 批准人: staff id or name.
    pub approver: String,
    /// YYYY-MM-DD.
    pub work_date: String,
    /// YYYY-MM-DD.
    pub issue_date: String,
    /// 合格, 不合格 or a class.
    pub conclusion: String,
    /// YYYY-MM-DD; verification certificates only.
    #[serde(default)]
    pub valid_until: Option<String>,
    /// The number of the voided record this one re-issues.
    #[serde(default)]
    pub reissue_of: Option<String>,
}

/// A record's fields once read: typed, trimmed; people and standards still
/// as written (resolved against the station's registries by `chain`).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub number: String,
    pub kind: RecordKind,
    pub instrument_name: String,
    pub instrument_model: String,
    pub instrument_serial: String,
    pub manufacturer: String,
    pub customer_name: String,
    pub customer_credit_code: Option<String>,
    pub customer_division: DivisionCode,
    pub item_name: String,
    pub range: Range,
    pub range_text: String,
    pub specification: String,
    pub standards: Vec<String>,
    pub performer: String,
    pub checker: String,
    pub approver: String,
    pub work_date: NaiveDate,
    pub issue_date: NaiveDate,
    pub conclusion: String,
    pub valid_until: Option<NaiveDate>,
    pub reissue_of: Option<String>,
}

fn date(prefix: &str, name: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let field = || format!("{prefix}{name}");
    let t = text.trim();
    if t.is_empty() {
        errors.push(FieldError::required(&field()));
        return None;
    }
    match parse_ymd(t) {
        Some(d) if (1949..=2200).contains(&chrono::Datelike::year(&d)) => Some(d),
        _ => {
            errors.push(FieldError::new(
                &field(),
                "invalid_date",
                "日期格式应为 YYYY-MM-DD",
                "Use YYYY-MM-DD",
            ));
            None
        }
    }
}

/// YYYY-MM-DD, read without chrono's format parser (the import reads
/// millions of dates); anything else is `None`.
fn parse_ymd(t: &str) -> Option<NaiveDate> {
    let b = t.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

fn text(
    prefix: &str,
    name: &str,
    value: &str,
    max: usize,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> String {
    let field = || format!("{prefix}{name}");
    let t = value.trim();
    if required && t.is_empty() {
        errors.push(FieldError::required(&field()));
    } else if t.chars().count() > max {
        errors.push(FieldError::new(
            &field(),
            "too_long",
            format!("不能超过 {max} 个字符"),
            format!("At most {max} characters"),
        ));
    } else if t.chars().any(char::is_control) {
        errors.push(FieldError::new(
            &field(),
            "invalid",
            "不能含控制字符",
            "Must not contain control characters",
        ));
    }
    t.to_owned()
}

/// Reads `input`; field errors are named `{prefix}{field}` (a batch passes
/// `records[3].`). `today` bounds the dates: work cannot be in the future.
pub fn parse(
    input: &RecordInput,
    prefix: &str,
    today: NaiveDate,
) -> Result<Parsed, Vec<FieldError>> {
    let mut errors = Vec::new();
    let f = |name: &str| format!("{prefix}{name}");
    let number = text(prefix, "number", &input.number, 64, true, &mut errors);
    let kind = RecordKind::parse(&input.kind);
    if kind.is_none() {
        errors.push(FieldError::new(
            &f("kind"),
            "invalid",
            "证书类别应为：检定证书、检定结果通知书、校准证书、测试报告、型式评价报告",
            "kind must be verification_certificate, verification_notice, calibration_certificate, test_report or type_evaluation_report",
        ));
    }
    let instrument_name = text(
        prefix,
        "instrument_name",
        &input.instrument_name,
        200,
        true,
        &mut errors,
    );
    let instrument_model = text(
        prefix,
        "instrument_model",
        &input.instrument_model,
        200,
        false,
        &mut errors,
    );
    let instrument_serial = text(
        prefix,
        "instrument_serial",
        &input.instrument_serial,
        100,
        false,
        &mut errors,
    );
    let manufacturer = text(
        prefix,
        "manufacturer",
        &input.manufacturer,
        200,
        false,
        &mut errors,
    );
    let customer_name = text(
        prefix,
        "customer_name",
        &input.customer_name,
        200,
        true,
        &mut errors,
    );
    let customer_credit_code = match input.customer_credit_code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => match crate::rules::credit_code::CreditCode::parse(c) {
            Ok(code) => Some(code.to_string()),
            Err(e) => {
                use crate::rules::Message;
                errors.push(FieldError::new(
                    &f("customer_credit_code"),
                    "invalid",
                    e.message(Lang::Zh),
                    e.message(Lang::En),
                ));
                None
            }
        },
    };
    let customer_division = match DivisionCode::parse(&input.customer_division) {
        Ok(code) if crate::db::reference::divisions().get(&code).is_some() => Some(code),
        _ => {
            errors.push(FieldError::new(
                &f("customer_division"),
                "invalid_division",
                "客户所在地应为 GB/T 2260 行政区划代码",
                "Use a GB/T 2260 division code",
            ));
            None
        }
    };
    let item_name = text(
        prefix,
        "item_name",
        &input.item_name,
        200,
        true,
        &mut errors,
    );
    let range_text = text(
        prefix,
        "range_text",
        &input.range_text,
        200,
        true,
        &mut errors,
    );
    let range = if range_text.is_empty() {
        None
    } else {
        match Range::parse(&range_text) {
            Ok(r) => Some(r),
            Err(e) => {
                use crate::rules::Message;
                errors.push(FieldError::new(
                    &f("range_text"),
                    "invalid_range",
                    format!("测量范围无法识别：{}", e.message(Lang::Zh)),
                    format!("Range not understood: {}", e.message(Lang::En)),
                ));
                None
            }
        }
    };
    let specification = text(
        prefix,
        "specification",
        &input.specification,
        100,
        false,
        &mut errors,
    );
    let standards: Vec<String> = input
        .standards
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if standards.is_empty() {
        errors.push(FieldError::new(
            &f("standards"),
            "required",
            "至少选择一项本站的计量标准",
            "Name at least one of the station's standards",
        ));
    } else if standards.len() > 20 {
        errors.push(FieldError::new(
            &f("standards"),
            "too_many",
            "最多 20 项计量标准",
            "At most 20 standards",
        ));
    }
    let performer = text(
        prefix,
        "performer",
        &input.performer,
        100,
        true,
        &mut errors,
    );
    let checker = text(prefix, "checker", &input.checker, 100, true, &mut errors);
    let approver = text(prefix, "approver", &input.approver, 100, true, &mut errors);
    let work_date = date(prefix, "work_date", &input.work_date, &mut errors);
    let issue_date = date(prefix, "issue_date", &input.issue_date, &mut errors);
    if let Some(w) = work_date {
        if w > today {
            errors.push(FieldError::new(
                &f("work_date"),
                "in_future",
                "工作日期不能晚于今天",
                "The work date cannot be in the future",
            ));
        }
        if issue_date.is_some_and(|i| i < w) {
            errors.push(FieldError::new(
                &f("issue_date"),
                "before_work",
                "发证日期不能早于工作日期",
                "The issue date cannot precede the work date",
            ));
        }
    }
    let conclusion = text(
        prefix,
        "conclusion",
        &input.conclusion,
        50,
        true,
        &mut errors,
    );
    let valid_until = match input.valid_until.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => date(prefix, "valid_until", t, &mut errors),
    };
    match kind {
        Some(RecordKind::VerificationCertificate) => {
            if conclusion == "不合格" {
                errors.push(FieldError::new(
                    &f("conclusion"),
                    "failed_on_certificate",
                    "检定不合格应出具检定结果通知书",
                    "A failed verification is issued as a verification result notice",
                ));
            }
            if valid_until.is_none()
                && input
                    .valid_until
                    .as_deref()
                    .is_none_or(|t| t.trim().is_empty())
            {
                errors.push(FieldError::new(
                    &f("valid_until"),
                    "required",
                    "检定证书须注明有效期至",
                    "A verification certificate states its validity",
                ));
            }
        }
        Some(RecordKind::VerificationNotice)
            if conclusion != "不合格" && !conclusion.is_empty() =>
        {
            errors.push(FieldError::new(
                &f("conclusion"),
                "notice_is_failed",
                "检定结果通知书的结论为“不合格”",
                "A verification result notice concludes 不合格 (failed)",
            ));
        }
        Some(_) if valid_until.is_some() => errors.push(FieldError::new(
            &f("valid_until"),
            "not_applicable",
            "只有检定证书注明有效期",
            "Only a verification certificate states a validity",
        )),
        _ => {}
    }
    if let (Some(v), Some(w)) = (valid_until, work_date) {
        if v <= w {
            errors.push(FieldError::new(
                &f("valid_until"),
                "before_work",
                "有效期应晚于工作日期",
                "The validity must end after the work date",
            ));
        }
    }
    let reissue_of = input
        .reissue_of
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    if !errors.is_empty() {
        return Err(errors);
    }
    match (kind, customer_division, range, work_date, issue_date) {
        (Some(kind), Some(customer_division), Some(range), Some(work_date), Some(issue_date)) => {
            Ok(Parsed {
                number,
                kind,
                instrument_name,
                instrument_model,
                instrument_serial,
                manufacturer,
                customer_name,
                customer_credit_code,
                customer_division,
                item_name,
                range,
                range_text,
                specification,
                standards,
                performer,
                checker,
                approver,
                work_date,
                issue_date,
                conclusion,
                valid_until,
                reissue_of,
            })
        }
        _ => Err(vec![FieldError::new(
            &format!("{prefix}number"),
            "invalid",
            "记录无效",
            "Invalid record",
        )]),
    }
}

/// One reason a record is flagged, as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    /// Machine-readable code, e.g. `traceability_overdue`.
    pub code: String,
    /// The rule, e.g. `R16.4`.
    pub rule: String,
    pub zh: String,
    pub en: String,
}

/// A work record as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkRecord {
    pub record_id: Uuid,
    pub station_id: Uuid,
    pub station_code: String,
    pub station_name: String,
    pub number: String,
    pub kind: String,
    pub instrument_name: String,
    pub instrument_model: String,
    pub instrument_serial: String,
    pub manufacturer: String,
    pub customer_name: String,
    pub customer_credit_code: Option<String>,
    pub customer_division: String,
    pub item_name: String,
    pub range_text: String,
    pub specification: String,
    /// The standards as they stood (R16.4).
    pub standards: Vec<StandardSnapshot>,
    pub performer: String,
    pub checker: String,
    pub approver: String,
    pub work_date: NaiveDate,
    pub issue_date: NaiveDate,
    pub conclusion: String,
    pub valid_until: Option<NaiveDate>,
    pub authorization_id: Option<Uuid>,
    pub authorization_revision: Option<i32>,
    /// R16.7.
    pub flagged: bool,
    pub reasons: Vec<Reason>,
    pub override_reason: Option<String>,
    pub override_by: Option<String>,
    pub reissue_of: Option<Uuid>,
    /// `valid` or `voided`.
    pub state: String,
    pub void_reason: Option<String>,
    pub voided_at: Option<chrono::DateTime<chrono::Utc>>,
    pub source: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub version: i32,
}

/// A standard used, as of the work date.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StandardSnapshot {
    pub standard_id: Uuid,
    pub name: String,
    pub status: String,
    pub cert_number: String,
    pub cert_issued_on: NaiveDate,
    pub cert_expires_on: NaiveDate,
    pub traceability_due: Option<NaiveDate>,
}

/// A row of a record list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordRow {
    pub record_id: Uuid,
    pub station_id: Uuid,
    pub station_code: String,
    pub station_name: String,
    pub number: String,
    pub kind: String,
    pub instrument_name: String,
    pub instrument_serial: String,
    pub customer_name: String,
    pub item_name: String,
    pub work_date: NaiveDate,
    pub issue_date: NaiveDate,
    pub conclusion: String,
    pub flagged: bool,
    pub flag_codes: Vec<String>,
    pub state: String,
}

/// The kind's display name from its code.
pub fn kind_name(code: &str, lang: Lang) -> String {
    RecordKind::parse(code)
        .map(|k| k.name(lang).to_owned())
        .unwrap_or_else(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> RecordInput {
        RecordInput {
            number: "JD-2026-0001".into(),
            kind: "检定证书".into(),
            instrument_name: "电能表".into(),
            customer_name: "某供电公司".into(),
            customer_division: "440305".into(),
            item_name: "电能表".into(),
            range_text: "(0~10) A".into(),
            standards: vec!["S1".into()],
            performer: "张三".into(),
            checker: "李四".into(),
            approver: "王五".into(),
            work_date: "2026-06-01".into(),
            issue_date: "2026-06-02".into(),
            conclusion: "合格".into(),
            valid_until: Some("2027-05-31".into()),
            ..RecordInput::default()
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()
    }

    #[test]
    fn a_complete_record_reads() {
        let p = parse(&input(), "", today()).unwrap();
        assert_eq!(p.kind, RecordKind::VerificationCertificate);
        assert_eq!(p.customer_division.as_str(), "440305");
    }

    #[test]
    fn every_bad_field_is_named_with_its_prefix() {
        let mut i = input();
        i.number = " ".into();
        i.kind = "证书".into();
        i.customer_division = "999999".into();
        i.range_text = "lots".into();
        i.work_date = "2027-01-01".into();
        i.issue_date = "2026-13-01".into();
        i.standards.clear();
        let errors = parse(&i, "records[2].", today()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "records[2].number",
            "records[2].kind",
            "records[2].customer_division",
            "records[2].range_text",
            "records[2].work_date",
            "records[2].issue_date",
            "records[2].standards",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }

    #[test]
    fn conclusions_match_the_kind() {
        let mut i = input();
        i.conclusion = "不合格".into();
        assert!(parse(&i, "", today()).is_err());
        i.kind = "verification_notice".into();
        i.valid_until = None;
        assert!(parse(&i, "", today()).is_ok());
        i.kind = "calibration_certificate".into();
        i.conclusion = "合格".into();
        i.valid_until = Some("2027-01-01".into());
        let e = parse(&i, "", today()).unwrap_err();
        assert_eq!(e[0].code, "not_applicable");
    }
}
