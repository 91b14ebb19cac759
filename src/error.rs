//! One error type for the whole application, its mapping to HTTP status
//! codes, and its JSON renderer (`{"error": {"code", "message", "fields"}}`).
//! Pages render the same errors through `web::PageError`.
//!
//! Database and internal errors are logged once, here, and never sent to the
//! client (architecture.md §6.3). Unique and check violations are mapped to
//! field messages by constraint name (§6.2).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// A result whose error is [`AppError`].
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// A message about one input field, in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The input field (JSON key or form name).
    pub field: String,
    /// Machine-readable code, e.g. `required`, `invalid_division`.
    pub code: String,
    /// Chinese message.
    pub message: String,
    /// English message.
    pub message_en: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        FieldError {
            field: field.to_owned(),
            code: code.to_owned(),
            message: zh.into(),
            message_en: en.into(),
        }
    }

    /// The usual "required" message.
    pub fn required(field: &str) -> Self {
        FieldError::new(field, "required", "此项必填", "This field is required")
    }
}

/// Every error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not signed in")]
    Unauthenticated,
    #[error("forbidden: {en}")]
    Forbidden { zh: String, en: String },
    #[error("not found")]
    NotFound,
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("bad request ({code}): {en}")]
    BadRequest {
        code: &'static str,
        zh: String,
        en: String,
    },
    #[error("conflict ({code}): {en}")]
    Conflict {
        code: &'static str,
        zh: String,
        en: String,
    },
    #[error("payload too large")]
    PayloadTooLarge,
    /// An upload over its limit, said beside the file field (413).
    #[error("upload too large")]
    UploadTooLarge(FieldError),
    /// The body is not of the type the endpoint reads (415).
    #[error("unsupported media type: {en}")]
    UnsupportedMediaType { zh: String, en: String },
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("throttled for {retry_after_secs} s")]
    Throttled { retry_after_secs: i64 },
    /// Busy or the database unreachable: try again shortly (503).
    #[error("service unavailable, retry after {retry_after_secs} s")]
    Unavailable { retry_after_secs: i64 },
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

/// The JSON error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong, machine-readable and in both languages.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub message_en: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl AppError {
    pub fn forbidden(zh: impl Into<String>, en: impl Into<String>) -> Self {
        AppError::Forbidden {
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn bad_request(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// A stale edit: the record changed since the client read it.
    pub fn stale() -> Self {
        AppError::Conflict {
            code: "stale_version",
            zh: "该记录已被他人修改，请刷新后重试（您的输入已保留）".into(),
            en:
                "This record was changed by someone else; reload and try again (your input is kept)"
                    .into(),
        }
    }

    /// One field's error as a validation failure.
    pub fn field(field: &str, code: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, code, zh, en)])
    }

    pub fn unsupported_media_type(zh: impl Into<String>, en: impl Into<String>) -> Self {
        AppError::UnsupportedMediaType {
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge | AppError::UploadTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            AppError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Code and messages shown to the user; internal details never leave here.
    pub fn detail(&self) -> ErrorDetail {
        let (code, zh, en): (&str, String, String) = match self {
            AppError::Unauthenticated => (
                "unauthenticated",
                "请先登录".into(),
                "Please sign in first".into(),
            ),
            AppError::InvalidCredentials => (
                "invalid_credentials",
                "用户名或密码错误".into(),
                "Wrong username or password".into(),
            ),
            AppError::Forbidden { zh, en } => ("forbidden", zh.clone(), en.clone()),
            AppError::NotFound => (
                "not_found",
                "未找到该记录，或您无权查看".into(),
                "Not found, or not visible to you".into(),
            ),
            AppError::Validation(_) => (
                "validation",
                "输入有误，请按提示修改".into(),
                "Some input is invalid; see the messages by each field".into(),
            ),
            AppError::BadRequest { code, zh, en } => (code, zh.clone(), en.clone()),
            AppError::Conflict { code, zh, en } => (code, zh.clone(), en.clone()),
            AppError::PayloadTooLarge | AppError::UploadTooLarge(_) => (
                "payload_too_large",
                "请求内容过大".into(),
                "The request body is too large".into(),
            ),
            AppError::UnsupportedMediaType { zh, en } => {
                ("unsupported_media_type", zh.clone(), en.clone())
            }
            AppError::Throttled { retry_after_secs } => {
                let (zh, en) = if *retry_after_secs < 30 {
                    (
                        format!("{retry_after_secs} 秒"),
                        format!("{retry_after_secs} second(s)"),
                    )
                } else {
                    let minutes = (retry_after_secs + 59) / 60;
                    (format!("{minutes} 分钟"), format!("{minutes} minute(s)"))
                };
                (
                    "throttled",
                    format!("登录尝试过于频繁，请 {zh}后再试"),
                    format!("Too many sign-in attempts; try again in {en}"),
                )
            }
            AppError::Unavailable { retry_after_secs } => (
                "unavailable",
                format!("服务暂时繁忙或数据库暂不可用，请 {retry_after_secs} 秒后重试"),
                format!(
                    "The service is busy or its database unreachable; try again in {retry_after_secs} s"
                ),
            ),
            AppError::Database(_) | AppError::Internal(_) => (
                "internal",
                "服务器内部错误，请稍后重试；如仍出现请联系管理员".into(),
                "Internal server error; try again later or contact the administrator".into(),
            ),
        };
        let fields = match self {
            AppError::Validation(f) => f.clone(),
            AppError::UploadTooLarge(f) => vec![f.clone()],
            _ => Vec::new(),
        };
        ErrorDetail {
            code: code.to_owned(),
            message: zh,
            message_en: en,
            fields,
        }
    }

    /// The field messages alone, joined, in `lang` (for a message above a list).
    pub fn fields_text(fields: &[FieldError], lang: crate::i18n::Lang) -> String {
        fields
            .iter()
            .map(|f| {
                if lang.is_en() {
                    f.message_en.as_str()
                } else {
                    f.message.as_str()
                }
            })
            .collect::<Vec<_>>()
            .join("；")
    }

    /// The message and every field message, in `lang` (for a page that shows
    /// a refused action above the record).
    pub fn summary(&self, lang: crate::i18n::Lang) -> String {
        let d = self.detail();
        let mut msg = if lang.is_en() {
            d.message_en
        } else {
            d.message
        };
        if !d.fields.is_empty() {
            msg.push('；');
            msg.push_str(&Self::fields_text(&d.fields, lang));
        }
        msg
    }

    /// Logs server-side failures once; called by both renderers.
    pub fn log(&self) {
        if let AppError::Unavailable { .. } = self {
            tracing::warn!(error = %self, "request refused: busy or database unreachable");
        } else if self.status_code().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(db) = e.as_database_error() {
            if let Some(c) = db.constraint() {
                if let Some(mapped) = constraint_error(c) {
                    return mapped;
                }
            }
            // A policy refusal (row-level security) or a trigger saying no.
            if db.code().as_deref() == Some("42501") {
                return AppError::NotFound;
            }
        }
        if matches!(e, sqlx::Error::RowNotFound) {
            return AppError::NotFound;
        }
        if db_unreachable(&e) {
            return AppError::Unavailable {
                retry_after_secs: 2,
            };
        }
        AppError::Database(e)
    }
}

/// Whether `e` says the database cannot be reached right now (pool
/// exhausted or closed, connection lost or refused, server shutting down
/// or starting): a 503 to retry, not a 500.
pub fn db_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            // 08: connection exception; 57P01–57P03: shutdown, crash, starting up.
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// The declared limit (characters) of every free-text column, by table and
/// column. The schema backs each with a check constraint named
/// `<table>_<column>_length` (migration `…_trust.sql`; a test compares the
/// two), and handlers check the same limit beside the field first.
pub const TEXT_LIMITS: &[(&str, &str, usize)] = &[
    ("app_user", "email", 254),
    ("application", "returned_reasons", 2000),
    ("calendar_version", "source_title", 200),
    ("calendar_version", "source_number", 100),
    ("calendar_version", "source_url", 500),
    ("calendar_version", "note", 1000),
    ("calendar_version_day", "name_en", 50),
    ("calendar_version_day", "name_zh", 50),
    ("app_user", "display_name", 100),
    ("organization", "name", 200),
    ("organization", "name_en", 200),
    ("organization", "address", 500),
    ("organization", "contact_phone", 50),
    ("organization", "credit_code", 32),
    ("organization", "division_code", 12),
    ("station", "field", 100),
    ("station", "credit_code", 32),
    ("station", "parent_entity_name", 200),
    ("station", "parent_entity_credit_code", 32),
    ("station", "location_division", 12),
    ("measurement_standard", "name", 200),
    ("measurement_standard", "range_text", 500),
    ("measurement_standard", "accuracy_text", 500),
    ("measurement_standard", "main_equipment", 500),
    ("measurement_standard", "specification", 500),
    ("measurement_standard", "responsible_person", 500),
    ("measurement_standard", "location", 500),
    ("measurement_standard", "environment", 500),
    ("measurement_standard", "cert_number", 100),
    ("traceability_record", "provider", 200),
    ("traceability_record", "certificate_number", 100),
    ("staff_member", "name", 100),
    ("staff_member", "title", 100),
    ("qualification", "certificate_number", 100),
    ("qualification", "items", 200),
    ("document", "filename", 200),
    ("document", "doc_type", 64),
    ("standard_change_request", "reason", 2000),
    ("standard_change_request", "proposal_note", 2000),
    ("standard_change_request", "decision_note", 2000),
    ("authorization_item", "name", 200),
    ("authorization_item", "range_text", 500),
    ("authorization_item", "accuracy_text", 500),
    ("authorization_item", "specification", 500),
    ("application", "assessment_findings", 5000),
    ("application", "assessment_team", 1000),
    ("application", "correction_evidence", 5000),
    ("application", "proposal_reasons", 2000),
    ("application", "regulator_reason", 2000),
    ("notification", "subject", 500),
    ("notification", "body", 5000),
    ("notification", "link", 500),
    ("lifecycle_request", "reason", 2000),
    ("lifecycle_request", "proposal_reasons", 2000),
    ("lifecycle_request", "returned_reasons", 2000),
    ("station_head", "person_name", 100),
    ("inspection", "summary", 5000),
    ("inspection", "cooperation_notes", 2000),
    ("rectification_order", "description", 2000),
    ("rectification_order", "report", 5000),
    ("rectification_order", "extension_reason", 2000),
    ("rectification_order", "rejection_reasons", 2000),
    ("violation_case", "description", 5000),
    ("violation_case", "evidence", 5000),
    ("violation_case", "decision_notes", 2000),
    ("referral", "recipient", 200),
    ("referral", "reference", 100),
    ("referral", "summary", 2000),
    ("station_authorization", "certificate_number", 100),
    ("authorization_version", "certificate_number", 100),
    ("condition_settlement", "message", 1000),
    ("condition_settlement", "message_en", 1000),
    ("condition_settlement", "statement", 2000),
    ("condition_settlement", "decided_by_name", 100),
    ("work_record", "number", 64),
    ("work_record", "instrument_name", 200),
    ("work_record", "instrument_model", 200),
    ("work_record", "instrument_serial", 100),
    ("work_record", "manufacturer", 200),
    ("work_record", "customer_name", 200),
    ("work_record", "item_name", 200),
    ("work_record", "range_text", 200),
    ("work_record", "specification", 100),
    ("work_record", "conclusion", 50),
    ("work_record", "override_reason", 1000),
    ("work_record", "void_reason", 1000),
    ("standard_state", "name", 200),
    ("standard_state", "cert_number", 100),
    ("record_sample_check", "notes", 2000),
    ("task_digest", "email_error", 500),
    ("task_reminder", "task_key", 200),
    ("comparison", "title", 200),
    ("comparison", "field", 100),
    ("comparison", "item", 200),
    ("comparison", "measurand", 200),
    ("comparison", "unit", 32),
    ("comparison", "transfer_standard", 500),
    ("comparison", "schedule_notes", 2000),
    ("comparison", "reference_note", 2000),
    ("comparison_participant", "change_reason", 2000),
    ("comparison_participant", "corrective_action", 2000),
    ("comparison_result", "notes", 2000),
    ("comparison_result", "decision_note", 2000),
    ("risk_report", "field", 100),
    ("risk_report", "title", 200),
    ("risk_report", "description", 5000),
    ("risk_report", "affected", 2000),
    ("risk_report", "decision_reason", 2000),
    ("warning", "title", 200),
    ("warning", "body", 5000),
    ("warning_recipient", "acknowledged_by_name", 100),
];

/// The declared limit of a text column (see [`TEXT_LIMITS`]).
pub fn text_limit(table: &str, column: &str) -> usize {
    TEXT_LIMITS
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(_, _, n)| *n)
        .unwrap_or(500)
}

/// Tables whose names prefix their constraints (longest first, so that
/// `station_authorization_…` is not read as `station` + `authorization_…`).
const TABLES: &[&str] = &[
    "comparison_participant",
    "comparison_result",
    "warning_recipient",
    "risk_report",
    "comparison",
    "warning",
    "standard_change_request",
    "record_sample_check",
    "condition_settlement",
    "station_authorization",
    "authorization_version",
    "measurement_standard",
    "rectification_order",
    "traceability_record",
    "authorization_item",
    "lifecycle_request",
    "inspection_draw",
    "violation_case",
    "station_access",
    "standard_state",
    "record_sample",
    "qualification",
    "organization",
    "notification",
    "staff_member",
    "station_head",
    "calendar_version_day",
    "calendar_version",
    "application",
    "audit_event",
    "work_record",
    "inspection",
    "app_user",
    "division",
    "document",
    "referral",
    "station",
];

/// `<table>_<column>_<suffix>` split into table and column.
fn table_column<'a>(constraint: &'a str, suffix: &str) -> Option<(&'static str, &'a str)> {
    let rest = constraint.strip_suffix(suffix)?;
    TABLES.iter().find_map(|t| {
        rest.strip_prefix(t)
            .and_then(|r| r.strip_prefix('_'))
            .filter(|c| !c.is_empty())
            .map(|c| (*t, c))
    })
}

/// Constraints on values the app itself chooses (states, kinds, codes from
/// a fixed list). Reaching one means a request named a value outside the
/// list: a field error on that field.
const VALUE_LISTS: &[(&str, &str)] = &[
    ("app_user_roles_known", "roles"),
    ("application_assessment_outcome", "outcome"),
    ("application_proposal", "decision"),
    ("application_state", "state"),
    ("condition_settlement_subject_type", "subject_type"),
    ("notification_code_format", "code"),
    ("notification_for_role", "for_role"),
    ("condition_settlement_how", "how"),
    ("condition_settlement_condition_key_format", "conditions"),
    ("condition_settlement_rule_format", "conditions"),
    ("authorization_item_task_types", "task_types"),
    ("authorization_version_reason", "reason"),
    ("calendar_version_day_kind", "kind"),
    ("calendar_version_loaded_via", "loaded_via"),
    ("division_code_format", "code"),
    ("division_level", "level"),
    ("document_owner_type", "owner_type"),
    ("inspection_cooperation", "cooperation"),
    ("inspection_org_kind", "org_kind"),
    ("inspection_state", "state"),
    ("inspection_draw_seed", "seed"),
    ("lifecycle_request_kind", "kind"),
    ("lifecycle_request_proposal", "decision"),
    ("lifecycle_request_state", "state"),
    ("measurement_standard_kind", "kind"),
    ("measurement_standard_status", "status"),
    ("organization_kind", "kind"),
    ("organization_regulator_level", "regulator_level"),
    ("qualification_kind", "kind"),
    ("rectification_order_state", "state"),
    ("rectification_order_unit", "period_unit"),
    ("standard_change_kind", "change_kind"),
    ("standard_change_proposal", "decision"),
    ("standard_change_state", "state"),
    ("station_status", "status"),
    ("station_tier", "station.tier"),
    ("station_access_relation", "relation"),
    ("station_authorization_status", "status"),
    ("station_authorization_region_nonempty", "region"),
    ("station_authorization_token_length", "verify_token"),
    ("violation_case_decision", "decision"),
    ("violation_case_items", "art16_items"),
    ("violation_case_state", "state"),
    ("record_sample_finding", "finding"),
    ("verification_lookup_subject", "subject"),
    ("work_record_kind", "kind"),
    ("work_record_source", "source"),
    ("work_record_state", "state"),
    ("work_record_standards", "standards"),
    ("work_record_flag", "flagged"),
    ("work_record_flag_count_code_format", "code"),
    ("record_sample_pool_digest_format", "pool_digest"),
    ("reminder_policy_escalate", "escalate_after_working_days"),
    ("reminder_policy_leads", "lead_days"),
    ("reminder_policy_one", "id"),
    ("task_digest_email_error_length", "email_error"),
    ("task_reminder_key_length", "task_key"),
    ("task_reminder_stage", "stage"),
    ("user_preference_lang", "lang"),
    ("comparison_state", "state"),
    ("comparison_reference_method", "method"),
    ("comparison_participant_lab_code_format", "lab_code"),
    ("comparison_participant_follow_up", "follow_up"),
    ("comparison_result_status", "status"),
    ("risk_report_severity", "severity"),
    ("risk_report_state", "state"),
    ("warning_severity", "severity"),
];

/// Maps a named constraint (check, unique, exclusion, a unique index, or
/// a trigger raising with a constraint name) to a message by the field it
/// concerns. Every constraint of the schema has a mapping: a test reads the
/// catalog and fails on one without.
pub fn constraint_error(constraint: &str) -> Option<AppError> {
    let open = |zh: &str, en: &str| {
        Some(AppError::Conflict {
            code: "already_open",
            zh: zh.into(),
            en: en.into(),
        })
    };
    let conflict = |code: &'static str, zh: &str, en: &str| {
        Some(AppError::Conflict {
            code,
            zh: zh.into(),
            en: en.into(),
        })
    };
    match constraint {
        "lifecycle_request_one_termination" => {
            return open(
                "该授权已有一份未办结的终止申请（含草稿）；请在原申请上办理或先撤回",
                "This authorization already has an open termination request (or draft); continue it or withdraw it first",
            )
        }
        "station_head_current" => {
            return open(
                "站长已在另一操作中变更，请刷新后重试",
                "The head changed in another action; reload and try again",
            )
        }
        "rectification_order_four_eyes"
        | "violation_case_four_eyes"
        | "inspection_four_eyes"
        | "application_four_eyes"
        | "lifecycle_request_four_eyes"
        | "standard_change_four_eyes" => {
            return Some(AppError::forbidden(
                "须由提出人以外的另一人审批（双人复核）",
                "Four eyes: someone other than the proposer must decide",
            ))
        }
        "lifecycle_request_one_reexamination" => {
            return open(
                "该授权已安排复查考核，尚未办结",
                "A re-examination of this authorization is already scheduled and open",
            )
        }
        "audit_event_chain_seq_key"
        | "station_authorization_token_key"
        | "condition_settlement_once"
        | "notification_once" => {
            return conflict(
                "concurrent_change",
                "另一操作同时进行，请重试",
                "Another action ran at the same time; try again",
            )
        }
        "standard_state_key" => {
            return conflict(
                "concurrent_change",
                "另一操作同时进行，请重试",
                "Another action ran at the same time; try again",
            )
        }
        // R16.5: the parent's name, or a partition's (a partitioned
        // table's unique violation names the partition's index).
        c if c == "work_record_number_key"
            || (c.starts_with("work_record_p") && c.ends_with("_station_id_number_key")) =>
        {
            return conflict(
                "number_conflict",
                "本站已有这个编号的证书/报告（R16.5 编号唯一）",
                "The station already has a certificate or report with this number (R16.5)",
            )
        }
        "comparison_result_current_key" => {
            return conflict(
                "already_submitted",
                "本站已提交结果；如需更改，请提出更改申请并说明理由",
                "This station has submitted; to change the value, request a change with a reason",
            )
        }
        "comparison_result_pending_key" => {
            return conflict(
                "change_pending",
                "已有一份更改申请待组织方决定",
                "A change request already awaits the organizer",
            )
        }
        "comparison_participant_lab_code_key" | "comparison_participant_pkey" => {
            return conflict(
                "duplicate_participant",
                "同一计量站只能参加一次",
                "A station takes part once",
            )
        }
        "warning_risk_report_key" => {
            return conflict(
                "already_published",
                "已依据该风险报告发布过预警",
                "A warning was already published from this risk report",
            )
        }
        "warning_recipient_pkey" => {
            return conflict(
                "concurrent_change",
                "另一操作同时进行，请重试",
                "Another action ran at the same time; try again",
            )
        }
        "station_authorization_number_key" | "authorization_item_seq_key" => {
            return conflict(
                "already_issued",
                "该证书编号或项目编号已被使用（可能是重复提交），请刷新后查看",
                "This certificate or item number is already taken (perhaps a repeated submission); reload to see it",
            )
        }
        "organization_station_row" => {
            return Some(AppError::bad_request(
                "station_row_required",
                "计量站组织须同时登记其计量站信息",
                "A station organization needs its station record",
            ))
        }
        _ => {}
    }
    if let Some((table, column)) = table_column(constraint, "_length") {
        let max = text_limit(table, column);
        return Some(AppError::field(
            column,
            "length",
            format!("不得超过 {max} 字"),
            format!("At most {max} characters"),
        ));
    }
    if let Some((_, column)) = table_column(constraint, "_date_range") {
        return Some(AppError::field(
            column,
            "date_range",
            "日期超出合理范围（2000–2100 年）",
            "The date is out of range (years 2000–2100)",
        ));
    }
    if let Some((_, field)) = VALUE_LISTS.iter().find(|(c, _)| *c == constraint) {
        return Some(AppError::field(
            field,
            "invalid",
            "取值不在允许的范围内",
            "This value is not one of the allowed ones",
        ));
    }
    let (field, code, zh, en) = match constraint {
        "comparison_reference_uncertainty_positive" => (
            "reference_uncertainty",
            "positive",
            "参考值的扩展不确定度不能为负",
            "U_ref is not negative",
        ),
        "comparison_reference_set" => (
            "reference_value",
            "required",
            "出具报告前须确定参考值及其不确定度",
            "The report needs the reference value and its uncertainty",
        ),
        "comparison_participant_circulation" => (
            "participants",
            "circulation",
            "传递标准的送出日期不能早于接收日期",
            "The transfer standard leaves a participant after it arrives",
        ),
        "comparison_result_uncertainty_positive" => (
            "uncertainty",
            "positive",
            "扩展不确定度 U 应大于零",
            "The expanded uncertainty U is above zero",
        ),
        "comparison_result_coverage_factor_range" => (
            "coverage_factor",
            "range",
            "包含因子 k 应在 0 到 10 之间",
            "The coverage factor k is between 0 and 10",
        ),
        "risk_report_dismissed_reason" => (
            "reason",
            "required",
            "不予采纳须说明理由",
            "Say why the report is dismissed",
        ),
        "warning_validity" => (
            "valid_until",
            "before_start",
            "有效期截止日期不能早于开始日期",
            "The warning ends on or after it starts",
        ),
        "calendar_version_year_range" => ("year", "year", "年份应在 2000–2100 之间", "The year is between 2000 and 2100"),
        "calendar_version_version_positive" | "calendar_version_year_version_key" | "calendar_version_id_year_key" => (
            "year",
            "concurrent",
            "该年的日历刚被另一导入改变，请重新预览",
            "Another import just changed this year; preview again",
        ),
        "calendar_version_day_in_year" => ("csv", "outside_year", "日期不在该年内", "A date is not in its year"),
        "calendar_version_day_workday_weekend" => (
            "csv",
            "workday_on_weekday",
            "调休上班日只能是星期六或星期日",
            "A make-up workday is a Saturday or a Sunday",
        ),
        "organization_name_key" => (
            "name",
            "duplicate",
            "已存在同名组织",
            "An organization with this name already exists",
        ),
        "organization_name_length" => ("name", "length", "名称长度应为 1–200 个字符", "Name must be 1–200 characters"),
        "app_user_display_name_length" => ("display_name", "length", "姓名长度应为 1–100 个字符", "Name must be 1–100 characters"),
        "measurement_standard_name_length" => ("name", "length", "名称长度应为 1–200 个字符", "Name must be 1–200 characters"),
        "staff_member_name_length" => ("name", "length", "姓名长度应为 1–100 个字符", "Name must be 1–100 characters"),
        "traceability_provider_length" => ("provider", "length", "溯源机构长度应为 1–200 个字符", "Provider must be 1–200 characters"),
        "station_head_person" => ("person_name", "length", "姓名长度应为 1–100 个字符", "Name must be 1–100 characters"),
        "standard_change_reason" => ("reason", "length", "理由长度应为 1–2000 个字符", "Reason must be 1–2000 characters"),
        "referral_recipient" => ("recipient", "length", "接收机关长度应为 1–200 个字符", "Recipient must be 1–200 characters"),
        "referral_reference" => ("reference", "length", "文号长度应为 1–100 个字符", "Reference must be 1–100 characters"),
        "qualification_items_length" => (
            "items",
            "length",
            "覆盖项目至多 100 项，每项不超过 200 字",
            "At most 100 items of at most 200 characters each",
        ),
        "app_user_username_key" => ("username", "duplicate", "该用户名已被使用", "This username is taken"),
        "app_user_username_format" => (
            "username",
            "format",
            "用户名须为 3–64 位小写字母、数字、点、下划线或连字符",
            "Username: 3–64 lowercase letters, digits, dots, underscores or hyphens",
        ),
        "station_code_key" => ("station.code", "duplicate", "该计量站编号已被使用", "This station code is taken"),
        "station_code_format" => (
            "station.code",
            "format",
            "计量站编号须为 2–32 位大写字母、数字或连字符",
            "Station code: 2–32 uppercase letters, digits or hyphens",
        ),
        "station_head_rule" => (
            "station.head_station_id",
            "head_rule",
            "国家专业计量站分站须有且仅有一个总站；总站和地方站不设总站（R3.1）",
            "A national branch station has exactly one head station; others have none (R3.1)",
        ),
        "station_legal_identity" => (
            "station.credit_code",
            "legal_identity",
            "法人单位须填写统一社会信用代码；非法人单位须填写所属法人单位名称及其代码",
            "A legal person needs its credit code; otherwise give the parent entity's name and code",
        ),
        "station_head_keeps_tier" => (
            "station.tier",
            "head_keeps_tier",
            "该总站下设分站，不能改变其层级（R3.1）",
            "This head station has branches; its tier cannot change (R3.1)",
        ),
        "organization_regulator_fields" => (
            "regulator_level",
            "regulator_fields",
            "市场监管部门须有层级；总局以外须有辖区行政区划代码",
            "A regulator needs a level, and a jurisdiction division code unless national",
        ),
        "measurement_standard_cert_key" => (
            "cert_number",
            "duplicate",
            "本站已登记过该证书编号的计量标准",
            "This station already registered a standard with this certificate number",
        ),
        "measurement_standard_cert_dates" => (
            "cert_expires_on",
            "before_issue",
            "有效期至须晚于发证日期",
            "The expiry date must be after the issue date",
        ),
        "comparison_stage_order" => (
            "state",
            "stage_order",
            "比对阶段只能按“接收结果 → 截止 → 征求意见稿 → 正式报告”向前推进",
            "A comparison moves forward only: open, closed, Draft A, final",
        ),
        "comparison_participant_protected" => (
            "participants",
            "protected",
            "该字段只能由比对中负责它的一方填写（R9.2）",
            "Only the party responsible for this field of a participant writes it (R9.2)",
        ),
        "measurement_standard_protected" => (
            "cert_number",
            "change_request_required",
            "该字段只能通过经发证机关批准的变更申请修改（R12.4）",
            "This field changes only through a change request approved by the issuer (R12.4)",
        ),
        "qualification_protected" => (
            "certificate_number",
            "not_editable",
            "资质证书及其有效期不能修改；请登记新的资质（R16.6）",
            "A qualification's certificate and validity are not edited; record a new one (R16.6)",
        ),
        "qualification_dates" => (
            "expires_on",
            "before_issue",
            "有效期至须晚于发证日期",
            "The expiry date must be after the issue date",
        ),
        "traceability_record_dates" => (
            "due_on",
            "before_calibration",
            "下次溯源日期须晚于校准日期",
            "The next due date must be after the calibration date",
        ),
        "station_authorization_dates" => (
            "valid_until",
            "before_start",
            "有效期至须晚于起始日期",
            "The end of validity must be after its start",
        ),
        "rectification_order_areas" => ("areas", "required", "请选择本通知涵盖的不符合项", "Choose the nonconformities this order covers"),
        "rectification_order_days" => ("period_days", "range", "整改期限应为 1–365 天", "The period is 1–365 days"),
        "rectification_order_extension" => (
            "new_due_on",
            "not_later",
            "延期后的期限须晚于原期限（R18.3）",
            "The extended deadline must be later than the current one (R18.3)",
        ),
        "inspection_draw_inspectors" => ("inspectors_per_station", "range", "每站检查人员数应为 1–10", "Inspectors per station: 1–10"),
        "inspection_draw_station_count" => ("station_count", "range", "抽取数量应为 1–500", "Stations to draw: 1–500"),
        "violation_case_fine" => ("fine_amount", "range", "罚款金额须大于 0", "The fine must be more than 0"),
        "work_record_number_format" => (
            "number",
            "invalid",
            "编号为 1–64 个字符，不含控制字符，首尾无空格",
            "The number is 1–64 characters, no control characters, no surrounding spaces",
        ),
        "work_record_credit_code" => ("customer_credit_code", "invalid", "统一社会信用代码应为 18 位", "A credit code has 18 characters"),
        "work_record_division" => ("customer_division", "invalid_division", "应为六位行政区划代码", "Use a six-digit division code"),
        "work_record_dates" => (
            "issue_date",
            "before_work",
            "发证日期不能早于工作日期，有效期应晚于工作日期",
            "The issue date cannot precede the work date, and the validity must end after it",
        ),
        "work_record_override" => ("override_reason", "required", "出具理由须与批准人一同记录", "The override needs its approver"),
        "work_record_void" => ("reason", "required", "作废须有理由", "A void needs a reason"),
        "record_sample_period" => ("to", "before_from", "截止日期不能早于起始日期", "The end precedes the start"),
        "violation_case_fine_amount" => (
            "fine_amount",
            "fine_amount",
            "罚款决定须写明金额，其他决定不填金额",
            "A fine needs its amount; other decisions have none",
        ),
        _ => return None,
    };
    Some(AppError::field(field, code, zh, en))
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status_code();
        let retry = match &self {
            AppError::Throttled { retry_after_secs }
            | AppError::Unavailable { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let mut response = (
            status,
            axum::Json(ErrorBody {
                error: self.detail(),
            }),
        )
            .into_response();
        if let Some(secs) = retry {
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}
