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
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The database does not answer (no connection in time, pool closed, I/O): 503.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
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
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
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
            AppError::Unavailable(_) => (
                "unavailable",
                "服务暂时不可用（数据库无响应），请稍后重试".into(),
                "The service is unavailable for now (the database does not answer); try again later".into(),
            ),
            AppError::Throttled { retry_after_secs } => {
                let minutes = (retry_after_secs + 59) / 60;
                (
                    "throttled",
                    format!("登录尝试过于频繁，请 {minutes} 分钟后再试"),
                    format!("Too many sign-in attempts; try again in {minutes} minute(s)"),
                )
            }
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
        if self.status_code().is_server_error() {
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
        if matches!(
            e,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
        ) {
            return AppError::Unavailable(e);
        }
        AppError::Database(e)
    }
}

/// Maps a named constraint to a message by the field it concerns.
fn constraint_error(constraint: &str) -> Option<AppError> {
    let open = |zh: &str, en: &str| {
        Some(AppError::Conflict {
            code: "already_open",
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
        "rectification_order_four_eyes" | "violation_case_four_eyes" | "inspection_four_eyes" => {
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
        _ => {}
    }
    let (field, code, zh, en) = match constraint {
        "organization_name_key" => (
            "name",
            "duplicate",
            "已存在同名组织",
            "An organization with this name already exists",
        ),
        "organization_name_length" => ("name", "length", "名称长度应为 1–200 个字符", "Name must be 1–200 characters"),
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
        _ => return None,
    };
    Some(AppError::field(field, code, zh, en))
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status_code();
        let retry = match &self {
            AppError::Throttled { retry_after_secs } => Some(*retry_after_secs),
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
