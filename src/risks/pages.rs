//! Risk report and warning pages (R10.1): a station files a report and
//! follows it; its regulator triages and may publish a warning to chosen
//! stations and departments; recipients acknowledge; the regulator sees who did.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use super::store::{self, *};
use crate::auth::{Ctx, OrgKind, Role};
use crate::db::tenant_tx;
use crate::error::{AppError, FieldError, Result};
use crate::state::AppState;
use crate::web::{list_limit, page_links, parse_id, AppQuery, Cursor, Layout, PageError};

#[derive(Template, WebTemplate)]
#[template(path = "risks/list.html")]
pub struct ReportsPage {
    layout: Layout,
    rows: Vec<RiskReport>,
    state: String,
    severity: String,
    can_file: bool,
    error: Option<String>,
    next: Option<String>,
    first: String,
    later: bool,
}

impl ReportsPage {
    fn sev(&self, s: &str) -> &'static str {
        severity_label(s, self.layout.is_en())
    }
    fn st(&self, s: &str) -> &'static str {
        state_label(s, self.layout.is_en())
    }
    fn severities(&self) -> &'static [&'static str] {
        &SEVERITIES
    }
    fn states(&self) -> &'static [&'static str] {
        &REPORT_STATES
    }
}

async fn reports_page(
    app: &AppState,
    ctx: &Ctx,
    q: &super::api::ReportQuery,
    error: Option<String>,
) -> Result<ReportsPage> {
    let (state, severity) = q.filters()?;
    let cursor = Cursor::parse(q.cursor.as_deref())?;
    let limit = list_limit(q.limit)?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let rows = store::reports(
        &mut tx,
        state,
        severity,
        cursor.as_ref().map(|c| c.id),
        limit + 1,
    )
    .await?;
    tx.commit().await?;
    let (rows, next) = crate::web::keyset_page(rows, limit, |r| Cursor::new("", r.id));
    let (next, first) = page_links(
        "/risks",
        &[
            ("state", state.map(str::to_owned)),
            ("severity", severity.map(str::to_owned)),
        ],
        next.as_ref(),
    );
    Ok(ReportsPage {
        layout: Layout::new(ctx, ctx.lang.pick("风险报告", "Risk reports"), "/risks"),
        rows,
        state: state.unwrap_or("").into(),
        severity: severity.unwrap_or("").into(),
        can_file: ctx.org_kind == OrgKind::Station
            && (ctx.has(Role::Staff) || ctx.has(Role::Admin)),
        error,
        next,
        first,
        later: cursor.is_some(),
    })
}

/// `/risks`.
pub async fn reports_show(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<super::api::ReportQuery>,
) -> std::result::Result<ReportsPage, PageError> {
    let lang = ctx.lang;
    reports_page(&app, &ctx, &q, None)
        .await
        .map_err(|e| PageError::new(e, lang))
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub affected: String,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Files a report and opens it.
pub async fn report_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(f): Form<ReportForm>,
) -> Response {
    let lang = ctx.lang;
    let mut created = None;
    let result = async {
        let input = RiskReportInput {
            field: opt(&f.field),
            severity: opt(&f.severity),
            title: opt(&f.title),
            description: opt(&f.description),
            affected: opt(&f.affected),
        };
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let id = store::report_create(&mut tx, &ctx, &input).await?;
        tx.commit().await?;
        created = Some(id);
        Ok::<_, AppError>(())
    }
    .await;
    let back = created.map_or_else(
        || "/risks".to_owned(),
        |id| format!("/risks/{id}?done=submit"),
    );
    let q = super::api::ReportQuery::default();
    crate::web::step_response(lang, result, &back, |msg| {
        reports_page(&app, &ctx, &q, Some(msg))
    })
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/show.html")]
pub struct ReportPage {
    layout: Layout,
    r: RiskReport,
    is_station: bool,
    can_triage: bool,
    error: Option<String>,
}

impl ReportPage {
    fn sev(&self, s: &str) -> &'static str {
        severity_label(s, self.layout.is_en())
    }
    fn st(&self, s: &str) -> &'static str {
        state_label(s, self.layout.is_en())
    }
    fn action(&self, step: &str) -> String {
        format!("/risks/{}/{step}", self.r.id)
    }
}

async fn report_page(
    app: &AppState,
    ctx: &Ctx,
    id: Uuid,
    error: Option<String>,
) -> Result<ReportPage> {
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let r = store::report_get(&mut tx, id).await?;
    tx.commit().await?;
    Ok(ReportPage {
        layout: Layout::new(ctx, r.title.clone(), "/risks"),
        is_station: r.station_id == ctx.org_id,
        can_triage: r.regulator_id == ctx.org_id
            && (ctx.has(Role::Reviewer) || ctx.has(Role::Approver)),
        r,
        error,
    })
}

/// `/risks/{id}`.
pub async fn report_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<ReportPage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(|e| PageError::new(e, lang))?;
    report_page(&app, &ctx, id, None)
        .await
        .map_err(|e| PageError::new(e, lang))
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct TriageForm {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub reason: String,
    pub confirmed: Option<String>,
}

/// A triage step from the report's page.
pub async fn report_step_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path((id, step)): Path<(String, String)>,
    Form(f): Form<TriageForm>,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let result = async {
        if step == "dismiss" && f.confirmed.is_none() {
            return Err(AppError::field(
                "confirmed",
                "confirm",
                "此操作不可撤销，请勾选确认",
                "This cannot be undone: tick the confirmation box",
            ));
        }
        let input = TriageInput {
            version: f.version.trim().parse().ok(),
            reason: opt(&f.reason),
        };
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::report_step(&mut tx, &ctx, id, &step, &input).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    crate::web::step_response(
        lang,
        result,
        &format!("/risks/{id}?done=risk_{step}"),
        |msg| report_page(&app, &ctx, id, Some(msg)),
    )
    .await
}

/// Evidence from the report's page.
pub async fn document_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    crate::web::AppMultipart(multipart): crate::web::AppMultipart,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let result = async {
        let (filename, bytes) =
            crate::standards::documents::read_file(multipart, app.config.max_upload_bytes).await?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::upload(&mut tx, &ctx, id, &filename, &bytes).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    crate::web::step_response(lang, result, &format!("/risks/{id}?done=upload"), |msg| {
        report_page(&app, &ctx, id, Some(msg))
    })
    .await
}

// ------------------------------------------------------------------ warnings

#[derive(Template, WebTemplate)]
#[template(path = "risks/warnings.html")]
pub struct WarningsPage {
    layout: Layout,
    rows: Vec<Warning>,
    pending: bool,
    can_publish: bool,
    next: Option<String>,
    first: String,
    later: bool,
    today: NaiveDate,
}

impl WarningsPage {
    fn sev(&self, s: &str) -> &'static str {
        severity_label(s, self.layout.is_en())
    }
}

/// `/warnings`.
pub async fn warnings_show(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<super::api::WarningQuery>,
) -> std::result::Result<WarningsPage, PageError> {
    let lang = ctx.lang;
    async {
        let cursor = Cursor::parse(q.cursor.as_deref())?;
        let limit = list_limit(q.limit)?;
        let pending = q.pending.unwrap_or(false);
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let rows = store::warnings(
            &mut tx,
            &ctx,
            pending,
            cursor.as_ref().map(|c| c.id),
            limit + 1,
        )
        .await?;
        tx.commit().await?;
        let (rows, next) = crate::web::keyset_page(rows, limit, |r| Cursor::new("", r.id));
        let (next, first) = page_links(
            "/warnings",
            &[("pending", pending.then(|| "true".to_owned()))],
            next.as_ref(),
        );
        Ok::<_, AppError>(WarningsPage {
            layout: Layout::new(&ctx, lang.pick("预警", "Warnings"), "/warnings"),
            rows,
            pending,
            can_publish: ctx.org_kind == OrgKind::Regulator
                && (ctx.has(Role::Reviewer) || ctx.has(Role::Approver)),
            next,
            first,
            later: cursor.is_some(),
            today: crate::web::today(),
        })
    }
    .await
    .map_err(|e| PageError::new(e, lang))
}

/// The publishing form as typed (also the preview's query).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct WarningForm {
    #[serde(default)]
    pub risk_report_id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub valid_from: String,
    #[serde(default)]
    pub valid_until: String,
    #[serde(default)]
    pub stations: Option<String>,
    #[serde(default)]
    pub departments: Option<String>,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub preview: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/warning_new.html")]
pub struct WarningNewPage {
    layout: Layout,
    f: WarningForm,
    report: Option<RiskReport>,
    preview: Option<(i64, i64)>,
    errors: Vec<FieldError>,
    error: Option<String>,
}

impl WarningNewPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| self.layout.pick(&e.message, &e.message_en).to_owned())
    }
    fn sev(&self, s: &str) -> &'static str {
        severity_label(s, self.layout.is_en())
    }
    fn severities(&self) -> &'static [&'static str] {
        &SEVERITIES
    }
}

impl WarningForm {
    fn audience(&self) -> Audience {
        Audience {
            stations: self.stations.is_some(),
            departments: self.departments.is_some(),
            field: opt(&self.field),
            region: opt(&self.region),
        }
    }
    fn input(&self) -> Result<WarningInput> {
        let mut errors = Vec::new();
        let valid_from = crate::web::form_date(&mut errors, "valid_from", &self.valid_from);
        let valid_until = crate::web::form_date(&mut errors, "valid_until", &self.valid_until);
        let risk_report_id = match self.risk_report_id.trim() {
            "" => None,
            s => Some(Uuid::parse_str(s).map_err(|_| AppError::NotFound)?),
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(WarningInput {
            risk_report_id,
            title: opt(&self.title),
            body: opt(&self.body),
            severity: opt(&self.severity),
            valid_from,
            valid_until,
            audience: self.audience(),
        })
    }
}

async fn warning_new_page(
    app: &AppState,
    ctx: &Ctx,
    f: WarningForm,
    errors: Vec<FieldError>,
) -> Result<WarningNewPage> {
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let report = match Uuid::parse_str(f.risk_report_id.trim()) {
        Ok(id) => Some(store::report_get(&mut tx, id).await?),
        Err(_) => None,
    };
    let mut errors = errors;
    let a = f.audience();
    let preview = if f.preview.is_some() && (a.stations || a.departments) {
        match store::audience_count(&mut tx, ctx, &a).await {
            Ok(n) => Some(n),
            Err(AppError::Validation(e)) => {
                errors.extend(e);
                None
            }
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    tx.commit().await?;
    let error = (!errors.is_empty()).then(|| AppError::fields_text(&errors, ctx.lang));
    Ok(WarningNewPage {
        layout: Layout::new(
            ctx,
            ctx.lang.pick("发布预警", "Publish a warning"),
            "/warnings",
        ),
        f,
        report,
        preview,
        errors,
        error,
    })
}

/// `/warnings/new` (`?risk_report_id=` from a confirmed report; `preview`
/// counts the audience).
pub async fn warning_new_show(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(mut f): AppQuery<WarningForm>,
) -> std::result::Result<WarningNewPage, PageError> {
    let lang = ctx.lang;
    async {
        if ctx.org_kind != OrgKind::Regulator {
            return Err(AppError::forbidden(
                "预警由市场监管部门发布",
                "Regulators publish warnings",
            ));
        }
        if f.preview.is_none() && f.title.is_empty() {
            // A fresh form: from the report, and both kinds of recipient.
            f.stations = Some("on".into());
            f.departments = Some("on".into());
            f.valid_from = crate::web::today().to_string();
        }
        let mut page = warning_new_page(&app, &ctx, f, Vec::new()).await?;
        if page.f.title.is_empty() {
            if let Some(r) = &page.report {
                page.f.title = r.title.clone();
                page.f.severity = r.severity.clone();
                page.f.field = r.field.clone();
            }
        }
        Ok(page)
    }
    .await
    .map_err(|e| PageError::new(e, lang))
}

/// Publishes the warning and opens it.
pub async fn warning_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(f): Form<WarningForm>,
) -> Response {
    let lang = ctx.lang;
    let result = async {
        let input = f.input()?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let id = store::warning_publish(&mut tx, &ctx, &input).await?;
        tx.commit().await?;
        Ok::<_, AppError>(id)
    }
    .await;
    match result {
        Ok(id) => {
            axum::response::Redirect::to(&format!("/warnings/{id}?done=warning")).into_response()
        }
        Err(AppError::Validation(errors)) => match warning_new_page(&app, &ctx, f, errors).await {
            Ok(p) => (axum::http::StatusCode::UNPROCESSABLE_ENTITY, p).into_response(),
            Err(e) => PageError::new(e, lang).into_response(),
        },
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/warning.html")]
pub struct WarningPage {
    layout: Layout,
    w: Warning,
    is_issuer: bool,
    recipients: Vec<Recipient>,
    ack: String,
    error: Option<String>,
    next: Option<String>,
    first: String,
    later: bool,
}

impl WarningPage {
    fn sev(&self, s: &str) -> &'static str {
        severity_label(s, self.layout.is_en())
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct WarningShowQuery {
    /// pending, done (the issuer's recipient filter).
    pub ack: Option<String>,
    pub cursor: Option<String>,
}

async fn warning_page(
    app: &AppState,
    ctx: &Ctx,
    id: Uuid,
    q: &WarningShowQuery,
    error: Option<String>,
) -> Result<WarningPage> {
    let cursor = Cursor::parse(q.cursor.as_deref())?;
    let ack = match q.ack.as_deref() {
        Some("pending") => Some(false),
        Some("done") => Some(true),
        _ => None,
    };
    let limit = 100;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let w = store::warning_get(&mut tx, ctx, id).await?;
    let is_issuer = w.regulator_id == ctx.org_id;
    let recipients = if is_issuer {
        store::recipients(&mut tx, id, ack, cursor.as_ref().map(|c| c.id), limit + 1).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let (recipients, next) =
        crate::web::keyset_page(recipients, limit, |r| Cursor::new("", r.org_id));
    let (next, first) = page_links(
        &format!("/warnings/{id}"),
        &[("ack", q.ack.clone())],
        next.as_ref(),
    );
    Ok(WarningPage {
        layout: Layout::new(ctx, w.title.clone(), "/warnings"),
        w,
        is_issuer,
        recipients,
        ack: q.ack.clone().unwrap_or_default(),
        error,
        next,
        first,
        later: cursor.is_some(),
    })
}

/// `/warnings/{id}`.
pub async fn warning_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<WarningShowQuery>,
) -> std::result::Result<WarningPage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(|e| PageError::new(e, lang))?;
    warning_page(&app, &ctx, id, &q, None)
        .await
        .map_err(|e| PageError::new(e, lang))
}

/// A recipient acknowledges.
pub async fn acknowledge_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::acknowledge(&mut tx, &ctx, id).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    let q = WarningShowQuery::default();
    crate::web::step_response(lang, result, &format!("/warnings/{id}?done=ack"), |msg| {
        warning_page(&app, &ctx, id, &q, Some(msg))
    })
    .await
}
