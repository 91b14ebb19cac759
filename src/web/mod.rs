//! Web plumbing shared by every feature: the page layout context, the page
//! error renderer, the JSON extractor that answers in our error format,
//! security headers, static files.

pub mod bounds;
pub mod download;
pub mod openapi;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::auth::{Ctx, OrgKind, Role};
use crate::error::AppError;
use crate::i18n::Lang;

/// One entry of the left navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub active: bool,
}

/// The signed-in user as the top bar shows them.
#[derive(Debug, Clone)]
pub struct UserBar {
    pub display_name: String,
    pub username: String,
    pub org_name: String,
    pub org_kind: String,
    pub roles: String,
}

/// What every page's layout needs; each page struct embeds one as `layout`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub lang: Lang,
    pub title: String,
    pub user: Option<UserBar>,
    pub nav: Vec<NavItem>,
    /// The current path and query, for the language switch to return to.
    pub here: String,
    /// The HTML form this request posted, when the page re-renders it after
    /// a refusal: every choice and text comes back ([`Layout::kept`]).
    pub posted: Option<Posted>,
    /// A step just done (the `done` query a step's redirect carries): the
    /// page says so.
    pub done: Option<String>,
    /// The refused form's field errors (see [`Layout::field_error`]).
    pub field_errors: Vec<crate::error::FieldError>,
}

/// The message a page shows after the step `code` was done.
pub fn done_message(code: &str, lang: Lang) -> String {
    let (zh, en) = match code {
        "submit" => ("已提交", "Submitted"),
        "resubmit" => ("已重新提交", "Resubmitted"),
        "withdraw" => ("已撤回", "Withdrawn"),
        "correction" => ("补正通知已发出", "The correction notice was sent"),
        "accept" => (
            "已受理，考核期限开始计算",
            "Accepted; the assessment clock runs",
        ),
        "assessment" => ("已记录考核安排", "The assessment is recorded"),
        "outcome" => ("已记录考核结论", "The outcome is recorded"),
        "propose" => (
            "审查意见已提出，待审批人审批",
            "Proposed; an approver decides next",
        ),
        "confirm" | "decide" => ("已作出决定", "Decided"),
        "return" => ("已退回", "Sent back"),
        "record" => ("已记录", "Recorded"),
        "acknowledge" => ("已确认备案", "The filing is acknowledged"),
        "approve" => ("已确认", "Confirmed"),
        "publish" => ("已公示", "Published"),
        "orders" => ("整改通知已下达", "The rectification order was issued"),
        "report" => ("整改报告已提交", "The report was submitted"),
        "reject" => ("已不予通过", "Rejected"),
        "close" => ("整改通知已关闭", "The order is closed"),
        "extend" => ("整改期限已延长", "The deadline was extended"),
        "cancel" => ("已取消", "Cancelled"),
        "saved" => ("已保存", "Saved"),
        "cmp_submit" => (
            "比对结果已提交（在组织方截止提交前对他方保密）",
            "The result is submitted (sealed until the organizer closes submission)",
        ),
        "cmp_change" => (
            "更改申请已提交，待组织方决定",
            "The change is requested; the organizer decides",
        ),
        "cmp_decide" => ("已决定更改申请", "The change is decided"),
        "cmp_close" => (
            "已截止提交，结果已对组织方解封",
            "Submission is closed; the values are unsealed to the organizer",
        ),
        "cmp_reference" => (
            "参考值已确定，报告征求意见稿（Draft A）已发给参比实验室",
            "The reference is set and Draft A went to the participants",
        ),
        "cmp_final" => ("正式报告已发布", "The final report is published"),
        "cmp_cancel" => ("比对已取消", "The comparison is cancelled"),
        "cmp_corrective" => (
            "已提交原因分析和纠正措施",
            "The corrective action is recorded",
        ),
        "cmp_follow_up" => ("已记录跟进", "The follow-up is recorded"),
        "upload" => ("文件已上传", "The file is uploaded"),
        "risk_assess" => ("已开始评估", "Assessment started"),
        "risk_dismiss" => ("已不予采纳并说明理由", "Dismissed with reasons"),
        "risk_confirm" => ("风险已确认", "The risk is confirmed"),
        "warning" => ("预警已发布", "The warning is published"),
        "ack" => ("已确认收到预警", "The warning is acknowledged"),
        _ => ("已办理", "Done"),
    };
    lang.pick(zh, en).to_owned()
}

fn done_of(here: &str) -> Option<String> {
    let query = here.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "done")
        .map(|(_, v)| v.into_owned())
}

/// A posted HTML form: the path it was posted to and its fields as typed.
#[derive(Debug, Clone, Default)]
pub struct Posted {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

/// What the layout needs to know of the request being answered, set by
/// [`input_guard`] for the whole of the request.
#[derive(Debug, Clone, Default)]
pub struct Current {
    /// Path and query of a page GET (the language switch returns there).
    pub here: Option<String>,
    pub posted: Option<Posted>,
    /// The field errors of a refused step form, shown beside their fields
    /// ([`Layout::field_error`]); set by [`step_response`].
    pub field_errors: Vec<crate::error::FieldError>,
}

tokio::task_local! {
    static CURRENT: Current;
}

fn current() -> Current {
    CURRENT.try_with(|c| c.clone()).unwrap_or_default()
}

/// Fields never echoed back into a page.
fn secret_field(name: &str) -> bool {
    name.contains("password") || name == "version"
}

impl Layout {
    /// The layout of a signed-in page; `active` is the nav entry's href.
    pub fn new(ctx: &Ctx, title: impl Into<String>, active: &str) -> Layout {
        let lang = ctx.lang;
        let current = current();
        let mut nav = vec![
            ("/", "nav-home"),
            ("/tasks", "nav-tasks"),
            ("/stations", "nav-stations"),
        ];
        if matches!(ctx.org_kind, OrgKind::Regulator | OrgKind::Department) {
            nav.push(("/applications", "nav-applications"));
        }
        if ctx.org_kind != OrgKind::Platform {
            nav.push(("/requests", "nav-requests"));
        }
        if matches!(ctx.org_kind, OrgKind::Regulator | OrgKind::Department) {
            nav.push(("/inspections", "nav-inspections"));
        }
        if ctx.org_kind != OrgKind::Platform {
            nav.push(("/rectification-orders", "nav-orders"));
        }
        if ctx.org_kind == OrgKind::Regulator {
            nav.push(("/cases", "nav-cases"));
        }
        if ctx.org_kind == OrgKind::Station {
            nav.push(("/records", "nav-records"));
        } else if ctx.org_kind != OrgKind::Platform {
            nav.push(("/records/flagged", "nav-records-flagged"));
        }
        if ctx.org_kind != OrgKind::Platform {
            nav.push(("/records/stats", "nav-records-stats"));
        }
        if matches!(ctx.org_kind, OrgKind::Regulator | OrgKind::Station) {
            nav.push(("/comparisons", "nav-comparisons"));
            nav.push(("/risks", "nav-risks"));
        }
        if ctx.org_kind != OrgKind::Platform {
            nav.push(("/warnings", "nav-warnings"));
        }
        if ctx.org_kind != OrgKind::Platform {
            nav.push(("/standards", "nav-standards"));
            nav.push(("/change-requests", "nav-change-requests"));
            nav.push(("/staff", "nav-staff"));
        }
        if ctx.is_operator() {
            nav.push(("/admin/organizations", "nav-organizations"));
            nav.push(("/admin/users", "nav-users"));
            nav.push(("/admin/calendar", "nav-calendar"));
            nav.push(("/admin/reminders", "nav-reminders"));
        } else if ctx.has(Role::Admin) {
            nav.push(("/admin/users", "nav-org-users"));
        }
        let roles = ctx
            .roles
            .iter()
            .map(|r| lang.pick(r.label_zh(), r.label_en()))
            .collect::<Vec<_>>()
            .join(lang.pick("、", ", "));
        Layout {
            lang,
            title: title.into(),
            user: Some(UserBar {
                display_name: ctx.display_name.clone(),
                username: ctx.username.clone(),
                org_name: ctx.org_name.clone(),
                org_kind: lang
                    .pick(ctx.org_kind.label_zh(), ctx.org_kind.label_en())
                    .to_owned(),
                roles,
            }),
            nav: {
                // The entry whose href is the longest prefix of `active`
                // (a path segment's): `/records/stats` is not `/records`.
                let covers = |href: &str| {
                    href == active
                        || (href != "/"
                            && active.starts_with(href)
                            && active[href.len()..].starts_with(['/', '?']))
                };
                let best = nav
                    .iter()
                    .map(|(href, _)| *href)
                    .filter(|h| covers(h))
                    .max_by_key(|h| h.len());
                nav.into_iter()
                    .map(|(href, key)| NavItem {
                        href,
                        label: lang.t(key),
                        active: Some(href) == best,
                    })
                    .collect()
            },
            done: current
                .here
                .as_deref()
                .and_then(done_of)
                .map(|c| done_message(&c, lang)),
            here: current.here.unwrap_or_else(|| active.to_owned()),
            posted: current.posted,
            field_errors: current.field_errors,
        }
    }

    /// The layout of a page for anonymous visitors.
    pub fn anon(lang: Lang, title: impl Into<String>, here: &str) -> Layout {
        let current = current();
        Layout {
            lang,
            title: title.into(),
            user: None,
            nav: Vec::new(),
            here: current.here.unwrap_or_else(|| here.to_owned()),
            posted: current.posted,
            done: None,
            field_errors: current.field_errors,
        }
    }

    fn posted_to(&self, action: &str) -> Option<&Posted> {
        self.posted.as_ref().filter(|p| p.action == action)
    }

    /// Whether this page re-renders the form posted to `action`.
    pub fn was_posted(&self, action: &str) -> bool {
        self.posted_to(action).is_some()
    }

    /// The text typed into `name` of the form posted to `action` (empty
    /// when this page does not re-render that form).
    pub fn kept(&self, action: &str, name: &str) -> String {
        self.kept_or(action, name, "")
    }

    /// As [`Layout::kept`], with `default` when the form was not posted.
    pub fn kept_or(&self, action: &str, name: &str, default: &str) -> String {
        match self.posted_to(action) {
            Some(p) => p
                .fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            None => default.to_owned(),
        }
    }

    /// The message of a refused step form's error on `field`, in the page's
    /// language, to show beside that field.
    pub fn field_error(&self, field: &str) -> Option<String> {
        self.field_errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| {
                if self.lang.is_en() {
                    e.message_en.clone()
                } else {
                    e.message.clone()
                }
            })
    }

    /// The message of the error on `field` of the form posted to `action`
    /// (a page may hold several forms with a field of that name).
    pub fn err(&self, action: &str, field: &str) -> Option<String> {
        self.posted_to(action)?;
        self.field_error(field)
    }

    /// The `n`-th value of a repeated field `name` (0-based) in the form
    /// posted to `action`: rows of one form that share a name.
    pub fn kept_nth(&self, action: &str, name: &str, n: &usize) -> String {
        self.posted_to(action)
            .and_then(|p| {
                p.fields
                    .iter()
                    .filter(|(k, _)| k == name)
                    .nth(*n)
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_default()
    }

    /// Whether `value` was chosen for `name` (radio, checkbox, select) in the
    /// form posted to `action`. Nothing is chosen on a fresh form: a
    /// decision never comes preselected.
    pub fn chose(&self, action: &str, name: &str, value: &str) -> bool {
        self.posted_to(action)
            .is_some_and(|p| p.fields.iter().any(|(k, v)| k == name && v == value))
    }

    /// The text for `key` in the page's language.
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    pub fn is_en(&self) -> bool {
        self.lang.is_en()
    }

    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(zh, en)
    }

    pub fn current_lang(&self) -> Lang {
        self.lang
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }
}

/// An org kind's label in the page language (used by several templates).
pub fn kind_label(lang: Lang, kind: OrgKind) -> &'static str {
    lang.pick(kind.label_zh(), kind.label_en())
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
    /// Where to go back to, besides the home page.
    back: Option<String>,
}

/// A GET (a reload, a bookmark) on an address that only takes a submitted
/// form: a page that says so and links back to the record, not the
/// browser's blank 405.
pub fn method_not_allowed_page(lang: Lang, path: &str) -> Response {
    let back = path
        .rsplit_once('/')
        .map(|(head, _)| head.to_owned())
        .filter(|h| !h.is_empty() && h.starts_with('/') && !h.starts_with("//"));
    let page = ErrorPage {
        layout: Layout::anon(lang, lang.pick("405 该地址只接受表单提交", "405 This address takes a submitted form"), "/"),
        status: 405,
        message: lang
            .pick(
                "该地址只接受表单提交，不能直接打开或刷新。如果是提交失败后刷新了页面，请返回记录页重新填写并提交。",
                "This address only takes a submitted form; it cannot be opened or reloaded. If you reloaded after a failed submission, go back to the record and submit again.",
            )
            .to_owned(),
        back,
    };
    let mut res = (StatusCode::METHOD_NOT_ALLOWED, page).into_response();
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    res
}

/// An error rendered as a page (the JSON renderer is `AppError`'s own).
#[derive(Debug)]
pub struct PageError {
    pub error: AppError,
    pub lang: Lang,
}

impl PageError {
    pub fn new(error: AppError, lang: Lang) -> Self {
        PageError { error, lang }
    }
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        PageError {
            error,
            lang: Lang::Zh,
        }
    }
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        AppError::from(e).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.error.log();
        let status = self.error.status_code();
        let detail = self.error.detail();
        // A page reached with bad query parameters (a stale cursor, a limit
        // out of range) says which and why, not only that input was wrong.
        let message = match &self.error {
            AppError::Validation(fields) if !fields.is_empty() => {
                AppError::fields_text(fields, self.lang)
            }
            _ if self.lang.is_en() => detail.message_en,
            _ => detail.message,
        };
        let title = format!("{} {}", status.as_u16(), message);
        let page = ErrorPage {
            layout: Layout::anon(self.lang, title, "/"),
            status: status.as_u16(),
            message,
            back: None,
        };
        (status, page).into_response()
    }
}

/// `Json<T>` whose rejections answer in our JSON error format: malformed
/// JSON, unknown fields, wrong types, missing content type, oversize bodies.
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(AppJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge;
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => AppError::unsupported_media_type(
            "请求须为 JSON（Content-Type: application/json）",
            "The request must be JSON (Content-Type: application/json)",
        ),
        JsonRejection::JsonSyntaxError(e) => AppError::bad_request(
            "malformed_json",
            format!("JSON 格式错误：{}", e.body_text()),
            format!("Malformed JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => AppError::bad_request(
            "invalid_json",
            format!("JSON 内容不符合要求：{}", e.body_text()),
            format!(
                "The JSON does not fit the expected shape: {}",
                e.body_text()
            ),
        ),
        other => AppError::bad_request(
            "bad_body",
            format!("无法读取请求内容：{}", other.body_text()),
            format!("Could not read the request body: {}", other.body_text()),
        ),
    }
}

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `Multipart` whose rejection (not `multipart/form-data`, or no boundary)
/// answers in our error format: 415 for another content type, 400 for a
/// multipart type without a usable boundary.
pub struct AppMultipart(pub axum::extract::Multipart);

impl<S> FromRequest<S> for AppMultipart
where
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        match axum::extract::Multipart::from_request(req, state).await {
            Ok(m) => Ok(AppMultipart(m)),
            Err(_) if !multipart_type => Err(AppError::unsupported_media_type(
                "请求须为文件上传（Content-Type: multipart/form-data）",
                "The request must be a file upload (Content-Type: multipart/form-data)",
            )),
            Err(e) => Err(AppError::bad_request(
                "bad_multipart",
                format!("上传内容无法读取：{}", e.body_text()),
                format!("Unreadable upload: {}", e.body_text()),
            )),
        }
    }
}

/// `Query<T>` whose rejections answer in our error format.
pub struct AppQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(AppQuery(v)),
            Err(e) => Err(AppError::bad_request(
                "invalid_query",
                format!("查询参数有误：{}", e.body_text()),
                format!("Invalid query parameters: {}", e.body_text()),
            )),
        }
    }
}

/// A record id from the path; anything but a UUID is simply not found.
pub fn parse_id(raw: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

/// A record id given as a filter (query parameter): anything but a UUID is
/// refused beside the parameter (a filter by an unknown id just finds nothing).
pub fn parse_filter_id(field: &str, raw: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(raw)
        .map_err(|_| AppError::field(field, "invalid_id", "编号格式无效", "Not a valid id (UUID)"))
}

/// The conditions a form settles: `settle_key` and `settle_text` fields in
/// the same order (one pair per condition row), blank texts left out.
pub fn settled(keys: &[String], texts: &[String]) -> std::collections::BTreeMap<String, String> {
    keys.iter()
        .zip(texts)
        .filter(|(_, t)| !t.trim().is_empty())
        .map(|(k, t)| (k.trim().to_owned(), t.trim().to_owned()))
        .collect()
}

/// The version a client read: the body's `version`, or an `If-Match`
/// header (`"3"` or `W/"3"`). Required for every update (stale edits are refused).
pub fn expected_version(
    body: Option<i32>,
    headers: &axum::http::HeaderMap,
) -> Result<i32, AppError> {
    if let Some(v) = body {
        return Ok(v);
    }
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            AppError::field(
                "version",
                "version_required",
                "请提供所读取记录的版本号（version 字段或 If-Match 头），以免覆盖他人的修改",
                "Send the version you read (a `version` field or an If-Match header) so that no one else's change is overwritten",
            )
        })
}

/// The version read, required by every step and edit (stale edits are
/// refused, never overwritten).
pub fn need_version(v: Option<i32>) -> Result<i32, AppError> {
    v.ok_or_else(|| {
        AppError::field(
            "version",
            "version_required",
            "请提供所读取记录的版本号，以免覆盖他人的修改",
            "Send the version you read, so that no one else's change is overwritten",
        )
    })
}

/// An unguessable token: 160 random bits from the operating system, hex.
pub fn random_token() -> String {
    use rand_core::{OsRng, TryRngCore};
    let mut buf = [0u8; 20];
    OsRng
        .try_fill_bytes(&mut buf)
        .expect("the operating system's random source failed");
    hex::encode(buf)
}

/// Today in China (UTC+8): the date every deadline and validity is judged on.
pub fn today() -> chrono::NaiveDate {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    chrono::Utc::now().with_timezone(&offset).date_naive()
}

/// The words the workflows store in English, as shown: task types,
/// outcomes, decisions. Unknown words are shown as they are.
pub fn term(word: &str, en: bool) -> String {
    let (zh, e) = match word {
        "verification" => ("检定", "Verification"),
        "type_evaluation" => ("型式评价", "Type evaluation"),
        "calibration" => ("校准", "Calibration"),
        "testing" => ("测试", "Testing"),
        "pass" => ("通过", "Pass"),
        "pass_after_correction" => ("整改后通过", "Pass after correction"),
        "fail" => ("不通过", "Fail"),
        "grant" => ("予以授权", "Grant"),
        "refuse" => ("不予批准", "Refuse"),
        "approve" => ("批准", "Approve"),
        "rectify" => ("限期整改", "Rectify by a deadline"),
        "end" => ("终止授权", "End the authorization"),
        _ => return word.to_owned(),
    };
    (if en { e } else { zh }).to_owned()
}

/// Words joined with the list separator of the language.
pub fn terms(words: &[String], en: bool) -> String {
    words
        .iter()
        .map(|w| term(w, en))
        .collect::<Vec<_>>()
        .join(if en { ", " } else { "、" })
}

/// The answer to a workflow step submitted from a page: back to `back` when
/// it went through; a refusal the user can act on (validation, conflict,
/// forbidden) re-renders the page built by `page` with the message and the
/// refusal's status; anything else is the error page.
pub async fn step_response<P, F, Fut>(
    lang: Lang,
    result: Result<(), AppError>,
    back: &str,
    page: F,
) -> axum::response::Response
where
    P: axum::response::IntoResponse,
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<P, AppError>>,
{
    use axum::response::IntoResponse;
    match result {
        Ok(()) => axum::response::Redirect::to(back).into_response(),
        Err(e) if e.status_code().is_client_error() && !matches!(e, AppError::NotFound) => {
            let status = e.status_code();
            // The page re-renders with each field's message beside its field.
            let mut cur = current();
            if let AppError::Validation(fields) = &e {
                cur.field_errors = fields.clone();
            }
            match CURRENT.scope(cur, page(e.summary(lang))).await {
                Ok(p) => (status, p).into_response(),
                Err(e) => PageError::new(e, lang).into_response(),
            }
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

/// A date a person could mean here: years 2000–2100. Anything else (a
/// typo such as 0202 or 20255) is refused beside its field instead of
/// failing in the database.
pub fn check_date(
    field: &str,
    date: Option<chrono::NaiveDate>,
    errors: &mut Vec<crate::error::FieldError>,
) {
    use chrono::Datelike;
    if let Some(d) = date {
        if !(2000..=2100).contains(&d.year()) {
            errors.push(crate::error::FieldError::new(
                field,
                "date_range",
                format!("日期 {d} 超出合理范围（2000–2100 年）"),
                format!("The date {d} is out of range (years 2000–2100)"),
            ));
        }
    }
}

/// A form's text field: trimmed, `None` when empty.
pub fn form_text(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// A form's date field (YYYY-MM-DD): `None` when empty; a field error
/// beside it when it is not a date.
pub fn form_date(
    errors: &mut Vec<crate::error::FieldError>,
    field: &str,
    s: &str,
) -> Option<chrono::NaiveDate> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    match chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(crate::error::FieldError::new(
                field,
                "invalid_date",
                "日期格式应为 YYYY-MM-DD",
                "Use YYYY-MM-DD",
            ));
            None
        }
    }
}

/// Free-text fields within their limits (characters), each refused beside
/// its field: (field, value, limit).
pub fn check_lengths(
    fields: &[(&str, Option<&str>, usize)],
    errors: &mut Vec<crate::error::FieldError>,
) {
    for (field, value, max) in fields {
        if value.is_some_and(|v| v.chars().count() > *max) {
            errors.push(crate::error::FieldError::new(
                field,
                "length",
                format!("不得超过 {max} 字"),
                format!("At most {max} characters"),
            ));
        }
    }
}

/// A GB/T 2260 code with its name, e.g. `440000 广东省` (the code alone if unknown).
pub fn division_label(code: &str) -> String {
    match crate::rules::DivisionCode::parse(code) {
        Ok(c) => match crate::db::reference::divisions().get(&c) {
            Some(d) => format!("{code} {}", d.name),
            None => code.to_owned(),
        },
        Err(_) => code.to_owned(),
    }
}

/// The date in China (UTC+8) of an instant.
pub fn china_date(t: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    t.with_timezone(&offset).date_naive()
}

/// A timestamp as people in China read it: `YYYY-MM-DD HH:MM` in UTC+8.
pub fn shanghai(t: chrono::DateTime<chrono::Utc>) -> String {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    t.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Only a relative path of this site may be a `next` target (no open redirects).
pub fn safe_next(next: &str) -> String {
    // Printable ASCII only (a tab or control character can turn "/\t/x"
    // into "//x" in a browser), no backslash, one leading slash.
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && !next.starts_with("/login");
    if ok {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

/// Percent-encodes a query value.
pub fn url_encode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// Security headers on every response: CSP without inline script, nosniff,
/// frame-ancestors none, Referrer-Policy, and HSTS when secure.
pub async fn security_headers(
    axum::extract::State(secure): axum::extract::State<bool>,
    req: Request,
    next: Next,
) -> Response {
    let docs = req.uri().path().starts_with("/api/docs");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // The API browser's bundled page needs inline style and script.
    let csp = if docs {
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
         script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    } else {
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    };
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Nothing but the static assets is cached: signed-in pages and JSON
    // hold tenant data (a shared or back-button cache must not keep them),
    // and public answers must show a revocation at once.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(
        "permissions-policy",
        HeaderValue::from_static(
            "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(),              microphone=(), payment=(), usb=(), interest-cohort=()",
        ),
    );
    if secure {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

/// Where a NUL character sits in a JSON value (`items[0].name`), if anywhere.
fn nul_in_json(v: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::String(s) if s.contains('\0') => Some(path_or_body(path)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_in_json(x, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                Some(path_or_body(path))
            } else {
                nul_in_json(x, &here)
            }
        }),
        _ => None,
    }
}

fn path_or_body(path: &str) -> String {
    if path.is_empty() {
        "body".to_owned()
    } else {
        path.replace('\0', "")
    }
}

/// The first name whose name or value holds a NUL in URL-encoded pairs.
fn nul_in_pairs(raw: &[u8]) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw).ok()?;
    pairs
        .into_iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| {
            let k = k.replace('\0', "");
            if k.is_empty() {
                "query".to_owned()
            } else {
                k
            }
        })
}

/// The public verification of a certificate (page or JSON).
fn is_public_lookup(path: &str) -> bool {
    path.starts_with("/verify/")
        || path.starts_with("/api/v1/public/verify/")
        || path == "/api/v1/public/records"
        || path == "/records/verify"
}

/// The refusal of a NUL character: a field error, as JSON or as a page.
fn nul_refusal(field: &str, api: bool, lang: Lang) -> Response {
    let e = AppError::field(
        field,
        "nul_character",
        "输入中含有不允许的控制字符（NUL），请删除后重试",
        "The input holds a NUL control character, which is not allowed; remove it and try again",
    );
    if api {
        e.into_response()
    } else {
        PageError::new(e, lang).into_response()
    }
}

/// Issue 14: a request's work is never cancelled halfway. When a client
/// goes away (or the timeout layer gives up), hyper drops the response
/// future; a transaction dropped inside sqlx's `begin` can leave its
/// connection "idle in transaction" holding locks (sqlx #4393). The handler
/// therefore runs in its own task, which finishes (commit or rollback)
/// whatever happens to the client; a panic is passed on to the panic layer.
///
/// The public certificate lookups are the exception: they run single
/// statements on the read-only pool (`db::connect_public`) and never begin
/// a transaction, so dropping them halfway leaves nothing open, and a task
/// of their own cost more than the rest of their work (under load every
/// spawn woke the other worker thread: 2.6 futex calls per lookup).
pub async fn run_to_completion(req: Request, next: Next) -> Response {
    if is_public_lookup(req.uri().path()) && req.method() == axum::http::Method::GET {
        return next.run(req).await;
    }
    match tokio::spawn(next.run(req)).await {
        Ok(res) => res,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => AppError::Internal(anyhow::anyhow!("request task was cancelled")).into_response(),
    }
}

/// Where a LIMS sends batches of work records (`records::api`).
pub const RECORD_BATCH_PATH: &str = "/api/v1/work-records/batch";
/// The largest batch body: 10,000 records of about a kilobyte each.
pub const RECORD_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Refuses, in one place for every route (JSON, forms, query strings,
/// paths; sign-in and the public pages too), text with a NUL character,
/// which PostgreSQL cannot store: a field error naming where it was,
/// never a 500. JSON and form bodies are read here within `limit` bytes
/// (the same limit the extractors apply) and handed on unchanged.
pub async fn input_guard(
    axum::extract::State(limit): axum::extract::State<usize>,
    req: Request,
    next: Next,
) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let (parts, body) = req.into_parts();
    let lang = Lang::from_parts(&parts);
    let path = parts.uri.path();
    let mut current = Current {
        here: (parts.method == axum::http::Method::GET && !api)
            .then(|| parts.uri.path_and_query().map(|p| p.as_str().to_owned()))
            .flatten(),
        posted: None,
        field_errors: Vec::new(),
    };
    if percent_decodes_to_nul(path.as_bytes()) {
        // No record is named with a NUL: not found, as any unknown path.
        return if api {
            AppError::NotFound.into_response()
        } else {
            PageError::new(AppError::NotFound, lang).into_response()
        };
    }
    if let Some(q) = parts.uri.query() {
        if percent_decodes_to_nul(q.as_bytes()) {
            return nul_refusal(
                &nul_in_pairs(q.as_bytes()).unwrap_or("query".into()),
                api,
                lang,
            );
        }
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let json = content_type.starts_with("application/json") || content_type.contains("+json");
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    // A LIMS batch of up to 10,000 work records is read within its own
    // limit and, like an upload, a few at a time.
    let batch = json && api && path == RECORD_BATCH_PATH;
    let limit = if batch { RECORD_BATCH_BYTES } else { limit };
    let _slot = if batch {
        match bounds::Work::Upload.slot().await {
            Ok(s) => Some(s),
            Err(e) => return e.into_response(),
        }
    } else {
        None
    };
    if content_type.starts_with("multipart/") {
        // An upload holds up to the upload limit in memory while it is
        // read and stored: a few at a time (web::bounds).
        let slot = match bounds::Work::Upload.slot().await {
            Ok(s) => s,
            Err(e) => {
                return if api {
                    e.into_response()
                } else {
                    PageError::new(e, lang).into_response()
                }
            }
        };
        let res = CURRENT
            .scope(current, next.run(Request::from_parts(parts, body)))
            .await;
        drop(slot);
        return res;
    }
    if !json && !form {
        return CURRENT
            .scope(current, next.run(Request::from_parts(parts, body)))
            .await;
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            let e = AppError::PayloadTooLarge;
            return if api {
                e.into_response()
            } else {
                PageError::new(e, lang).into_response()
            };
        }
    };
    let field = if json {
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) => nul_in_json(&v, ""),
            // Malformed JSON: the extractor says what is wrong with it.
            Err(_) => None,
        }
    } else if percent_decodes_to_nul(&bytes) {
        Some(nul_in_pairs(&bytes).unwrap_or("body".into()))
    } else {
        None
    };
    if let Some(field) = field {
        return nul_refusal(&field, api, lang);
    }
    if form && !api {
        current.posted = Some(Posted {
            action: parts.uri.path().to_owned(),
            fields: form_urlencoded::parse(&bytes)
                .filter(|(k, _)| !secret_field(k))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        });
    }
    CURRENT
        .scope(
            current,
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes))),
        )
        .await
}

/// Whether URL-encoded bytes hold a NUL, raw or as `%00`.
fn percent_decodes_to_nul(raw: &[u8]) -> bool {
    raw.contains(&0)
        || raw
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

/// Pagination of a list: page (1-based) and page size, clamped.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl Paging {
    pub fn new(page: Option<i64>, per_page: Option<i64>) -> Paging {
        Paging {
            page: page.unwrap_or(1).clamp(1, 1_000_000),
            per_page: per_page.unwrap_or(20).clamp(1, 100),
        }
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    pub fn pages(&self, total: i64) -> i64 {
        ((total + self.per_page - 1) / self.per_page).max(1)
    }
}

/// An ILIKE pattern matching text that contains `q` literally (a percent
/// sign, an underscore or a backslash in `q` matches itself).
pub fn like_pattern(q: &str) -> String {
    format!(
        "%{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// Rows on one page of a keyset list, unless `limit` asks otherwise.
pub const LIST_LIMIT: i64 = 50;
/// The largest `limit` a list accepts (architecture.md §9).
pub const LIST_LIMIT_MAX: i64 = 200;

/// `limit` of a keyset list: 1 to [`LIST_LIMIT_MAX`], [`LIST_LIMIT`] when
/// absent; anything else is a field error, not a silent clamp.
pub fn list_limit(limit: Option<i64>) -> crate::Result<i64> {
    match limit {
        None => Ok(LIST_LIMIT),
        Some(n) if (1..=LIST_LIMIT_MAX).contains(&n) => Ok(n),
        Some(_) => Err(AppError::field(
            "limit",
            "out_of_range",
            format!("每页条数应在 1 到 {LIST_LIMIT_MAX} 之间"),
            format!("limit must be between 1 and {LIST_LIMIT_MAX}"),
        )),
    }
}

/// Where a keyset list goes on: the sort key and id of the last row shown,
/// opaque to clients (hex of `key|id`). The next page holds the rows after
/// it in the list's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub key: String,
    pub id: uuid::Uuid,
}

impl Cursor {
    pub fn new(key: impl ToString, id: uuid::Uuid) -> Cursor {
        Cursor {
            key: key.to_string(),
            id,
        }
    }

    pub fn encode(&self) -> String {
        hex::encode(format!("{}|{}", self.key, self.id))
    }

    /// The `cursor` query parameter; an empty one is the first page.
    pub fn parse(text: Option<&str>) -> crate::Result<Option<Cursor>> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let bad = || {
            AppError::field(
                "cursor",
                "invalid",
                "翻页位置无效：请从列表第一页重新开始",
                "Invalid cursor: start again from the list's first page",
            )
        };
        let raw = hex::decode(text).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let (key, id) = raw.rsplit_once('|').ok_or_else(bad)?;
        let id = uuid::Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(Some(Cursor::new(key, id)))
    }

    /// The key read as a timestamp (lists ordered by a time).
    pub fn time(&self) -> crate::Result<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::parse_from_rfc3339(&self.key)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| {
                AppError::field(
                    "cursor",
                    "invalid",
                    "翻页位置无效：请从列表第一页重新开始",
                    "Invalid cursor: start again from the list's first page",
                )
            })
    }

    /// The key read as a date (lists ordered by a day).
    pub fn date(&self) -> crate::Result<chrono::NaiveDate> {
        chrono::NaiveDate::parse_from_str(&self.key, "%Y-%m-%d").map_err(|_| {
            AppError::field(
                "cursor",
                "invalid",
                "翻页位置无效：请从列表第一页重新开始",
                "Invalid cursor: start again from the list's first page",
            )
        })
    }
}

/// A timestamp as a cursor key, to the microsecond (PostgreSQL's precision).
pub fn time_key(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Keeps the first `limit` of `rows` (fetched with `limit + 1`) and says
/// where the next page starts, if there is one.
pub fn keyset_page<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<Cursor>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next = if more {
        rows.last().map(cursor_of)
    } else {
        None
    };
    (rows, next)
}

/// A page's links of a keyset list: the next page's address (the filters
/// kept, the cursor added) when there is one, and the first page's.
pub fn page_links(
    path: &str,
    query: &[(&str, Option<String>)],
    next: Option<&Cursor>,
) -> (Option<String>, String) {
    page_links_as(path, query, "cursor", next)
}

/// [`page_links`] for a second list on one page, paged by `param`.
pub fn page_links_as(
    path: &str,
    query: &[(&str, Option<String>)],
    param: &str,
    next: Option<&Cursor>,
) -> (Option<String>, String) {
    let link = |cursor: Option<&Cursor>| {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in query {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                pairs.append_pair(k, v);
            }
        }
        if let Some(c) = cursor {
            pairs.append_pair(param, &c.encode());
        }
        let q = pairs.finish();
        if q.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{q}")
        }
    };
    (next.map(|c| link(Some(c))), link(None))
}

/// The JSON list's answer with RFC 8288 `Link: <…>; rel="next"` and
/// `X-Next-Cursor` when there is a next page; the body stays the array.
pub fn with_next<T: serde::Serialize>(
    body: Vec<T>,
    next: Option<Cursor>,
    path: &str,
    query: &[(&str, Option<String>)],
) -> Response {
    let mut res = AppJson(body).into_response();
    if let Some(c) = next {
        let token = c.encode();
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in query {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                pairs.append_pair(k, v);
            }
        }
        pairs.append_pair("cursor", &token);
        let link = format!("<{path}?{}>; rel=\"next\"", pairs.finish());
        if let Ok(v) = HeaderValue::from_str(&link) {
            res.headers_mut().insert(header::LINK, v);
        }
        if let Ok(v) = HeaderValue::from_str(&token) {
            res.headers_mut().insert("x-next-cursor", v);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_a_field_error() {
        let c = Cursor::new("2026-12-02T10:00:00.123456Z", uuid::Uuid::nil());
        let back = Cursor::parse(Some(&c.encode())).unwrap().unwrap();
        assert_eq!(back, c);
        assert!(back.time().is_ok());
        assert!(back.date().is_err());
        assert_eq!(Cursor::parse(Some("")).unwrap(), None);
        for bad in [
            "zz",
            "00",
            &hex::encode("no-separator"),
            &hex::encode("k|not-a-uuid"),
        ] {
            match Cursor::parse(Some(bad)) {
                Err(AppError::Validation(e)) => assert_eq!(e[0].field, "cursor"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert_eq!(list_limit(None).unwrap(), LIST_LIMIT);
        assert!(list_limit(Some(0)).is_err());
        assert!(list_limit(Some(LIST_LIMIT_MAX + 1)).is_err());
        let (rows, next) = keyset_page(vec![1, 2, 3], 2, |n| Cursor::new(n, uuid::Uuid::nil()));
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(next.unwrap().key, "2");
        let (_, next) = keyset_page(vec![1, 2], 2, |n| Cursor::new(n, uuid::Uuid::nil()));
        assert!(next.is_none());
    }

    #[test]
    fn next_targets_outside_the_site_fall_back_to_home() {
        assert_eq!(safe_next("/stations?page=2"), "/stations?page=2");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("/login"), "/");
        assert_eq!(safe_next("/\t/evil.example"), "/");
        assert_eq!(safe_next("/\u{1}"), "/");
        assert_eq!(safe_next("/a\\b"), "/");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(url_encode("/a b?c=d&e"), "%2Fa+b%3Fc%3Dd%26e");
    }
}
