//! HTML pages of the registries: standards list and detail, registration,
//! import, change requests (draft, queue, decision page), staff.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use uuid::Uuid;

use super::api::{
    parse_change_query, parse_standard_query, ChangeQuery, StandardDetail, StandardQuery,
};
use super::model::*;
use super::store::{self, Step};
use crate::auth::{Ctx, OrgKind, Role};
use crate::db::tenant_tx;
use crate::error::{AppError, Result};
use crate::i18n::Lang;
use crate::orgs::pages::Errors;
use crate::state::AppState;
use crate::web::{parse_id, url_encode, AppQuery, Layout, PageError};

fn page_err(lang: Lang) -> impl Fn(AppError) -> PageError {
    move |e| PageError::new(e, lang)
}

/// A standard as a list row, localized.
pub struct StandardRow {
    pub id: String,
    pub station: String,
    pub name: String,
    pub kind: String,
    pub range: String,
    pub accuracy: String,
    pub status: String,
    pub status_badge: &'static str,
    pub cert_number: String,
    pub expires: String,
    pub trace_due: String,
    pub warnings: Vec<(String, &'static str)>,
}

fn row(lang: Lang, s: &Standard) -> StandardRow {
    StandardRow {
        id: s.id.to_string(),
        station: s.station_name.clone(),
        name: s.name.clone(),
        kind: s.kind.label(lang).into(),
        range: s.range_text.clone(),
        accuracy: s.accuracy_text.clone(),
        status: s.status.label(lang).into(),
        status_badge: s.status.badge(),
        cert_number: s.cert_number.clone(),
        expires: s.cert_expires_on.to_string(),
        trace_due: s
            .traceability_due_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "—".into()),
        warnings: s
            .warnings
            .iter()
            .map(|w| (w.text(lang).to_owned(), w.badge()))
            .collect(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "standards/list.html")]
pub struct StandardListPage {
    layout: Layout,
    rows: Vec<StandardRow>,
    total: i64,
    page: i64,
    pages: i64,
    q: String,
    status: String,
    warnings_only: bool,
    statuses: Vec<(String, String)>,
    is_station: bool,
    show_station: bool,
    export_query: String,
    error: Option<String>,
}

impl StandardListPage {
    pub fn page_href(&self, page: i64) -> String {
        format!("/standards?{}&page={page}", self.export_query)
    }
}

/// The registry of standards, with warnings (R12.3, R16.4).
pub async fn standards_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<StandardQuery>,
) -> std::result::Result<StandardListPage, PageError> {
    let lang = ctx.lang;
    let mut page = StandardListPage {
        layout: Layout::new(
            &ctx,
            lang.pick("计量标准", "Measurement standards"),
            "/standards",
        ),
        rows: Vec::new(),
        total: 0,
        page: 1,
        pages: 1,
        q: q.q.clone().unwrap_or_default(),
        status: q.status.clone().unwrap_or_default(),
        warnings_only: matches!(q.warnings.as_deref(), Some("true" | "1" | "on")),
        statuses: StandardStatus::ALL
            .iter()
            .map(|s| (s.as_str().into(), s.label(lang).into()))
            .collect(),
        is_station: ctx.org_kind == OrgKind::Station,
        show_station: ctx.org_kind != OrgKind::Station,
        export_query: String::new(),
        error: None,
    };
    page.export_query = format!(
        "q={}&status={}{}",
        url_encode(&page.q),
        url_encode(&page.status),
        if page.warnings_only {
            "&warnings=true"
        } else {
            ""
        }
    );
    let (filter, paging) = match parse_standard_query(&q) {
        Ok(x) => x,
        Err(AppError::Validation(f)) => {
            page.error = Some(AppError::fields_text(&f, lang));
            return Ok(page);
        }
        Err(e) => return Err(PageError::new(e, lang)),
    };
    let r = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let r = store::standards_list(&mut tx, &ctx, &filter, paging).await?;
        tx.commit().await?;
        Ok::<_, AppError>(r)
    }
    .await;
    let (items, total) = r.map_err(page_err(lang))?;
    page.show_station = page.show_station || ctx.has(Role::Head);
    page.rows = items.iter().map(|s| row(lang, s)).collect();
    page.total = total;
    page.page = paging.page;
    page.pages = paging.pages(total);
    Ok(page)
}

/// The fields of the registration form, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct StandardForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub range_text: String,
    #[serde(default)]
    pub accuracy_text: String,
    #[serde(default)]
    pub main_equipment: String,
    #[serde(default)]
    pub specification: String,
    #[serde(default)]
    pub responsible_person: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub cert_number: String,
    #[serde(default)]
    pub cert_issuer_id: String,
    #[serde(default)]
    pub cert_issued_on: String,
    #[serde(default)]
    pub cert_expires_on: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "standards/form.html")]
pub struct StandardFormPage {
    layout: Layout,
    f: StandardForm,
    errors: Errors,
    kinds: Vec<(String, String)>,
    regulators: Vec<crate::orgs::store::OrgRef>,
}

async fn form_page(
    app: &AppState,
    ctx: &Ctx,
    f: StandardForm,
    errors: Errors,
) -> Result<StandardFormPage> {
    store::own_station(ctx)?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let regulators = crate::orgs::store::org_refs(&mut tx, OrgKind::Regulator).await?;
    tx.commit().await?;
    Ok(StandardFormPage {
        layout: Layout::new(
            ctx,
            ctx.lang.pick("登记计量标准", "Register a standard"),
            "/standards",
        ),
        f,
        errors,
        kinds: StandardKind::ALL
            .iter()
            .map(|k| (k.as_str().into(), k.label(ctx.lang).into()))
            .collect(),
        regulators,
    })
}

pub async fn standard_new(
    State(app): State<AppState>,
    ctx: Ctx,
) -> std::result::Result<StandardFormPage, PageError> {
    let f = StandardForm {
        kind: "professional".into(),
        ..StandardForm::default()
    };
    form_page(&app, &ctx, f, Errors::none(ctx.lang))
        .await
        .map_err(page_err(ctx.lang))
}

use crate::web::form_date as date_field;

pub async fn standard_create(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(f): Form<StandardForm>,
) -> Response {
    let lang = ctx.lang;
    let result = async {
        let mut errs = Vec::new();
        let issued = date_field(&mut errs, "cert_issued_on", &f.cert_issued_on);
        let expires = date_field(&mut errs, "cert_expires_on", &f.cert_expires_on);
        let issuer = Uuid::parse_str(f.cert_issuer_id.trim()).ok();
        if !errs.is_empty() {
            return Err(AppError::Validation(errs));
        }
        let s = |v: &str| Some(v.to_owned());
        let input = StandardInput {
            kind: s(&f.kind),
            name: s(&f.name),
            range_text: s(&f.range_text),
            accuracy_text: s(&f.accuracy_text),
            main_equipment: s(&f.main_equipment),
            specification: s(&f.specification),
            responsible_person: s(&f.responsible_person),
            location: s(&f.location),
            environment: s(&f.environment),
            cert_number: s(&f.cert_number),
            cert_issuer_id: issuer,
            cert_issued_on: issued,
            cert_expires_on: expires,
            ..StandardInput::default()
        };
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let created = store::standard_create(&mut tx, &ctx, &input).await?;
        tx.commit().await?;
        Ok(created)
    }
    .await;
    match result {
        Ok(s) => Redirect::to(&format!("/standards/{}", s.id)).into_response(),
        Err(e) => Errors::rerender(lang, e, |errors| form_page(&app, &ctx, f, errors)).await,
    }
}

/// The traceability form's fields, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct TraceForm {
    #[serde(default)]
    pub calibrated_on: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub certificate_number: String,
    #[serde(default)]
    pub due_on: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "standards/detail.html")]
pub struct StandardDetailPage {
    layout: Layout,
    d: StandardDetail,
    r: StandardRow,
    is_owner: bool,
    fields: Vec<(String, String)>,
    changes: Vec<ChangeRow>,
    t: TraceForm,
    errors: Errors,
}

/// A standard: its fields, warnings, traceability, documents, change requests.
pub async fn standard_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<StandardDetailPage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(page_err(lang))?;
    detail_page(&app, &ctx, id, TraceForm::default(), Errors::none(lang))
        .await
        .map_err(page_err(lang))
}

/// Records a calibration from the detail page (R16.4).
pub async fn traceability_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(t): Form<TraceForm>,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let result = async {
        let mut errs = Vec::new();
        let input = TraceabilityInput {
            calibrated_on: date_field(&mut errs, "calibrated_on", &t.calibrated_on),
            provider: Some(t.provider.clone()),
            certificate_number: Some(t.certificate_number.clone()),
            due_on: date_field(&mut errs, "due_on", &t.due_on),
        };
        if !errs.is_empty() {
            return Err(AppError::Validation(errs));
        }
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::traceability_add(&mut tx, &ctx, id, &input).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/standards/{id}#traceability")).into_response(),
        Err(e) => detail_error(&app, &ctx, id, t, e).await,
    }
}

/// Attaches a document from the detail page (type sniffed, size limited).
pub async fn document_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let result = async {
        let (filename, bytes) =
            super::documents::read_file(multipart, app.config.max_upload_bytes).await?;
        super::documents::store_document(&app, &ctx, "standard", id, &filename, &bytes).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&format!("/standards/{id}#documents")).into_response(),
        Err(e) => detail_error(&app, &ctx, id, TraceForm::default(), e).await,
    }
}

async fn detail_error(app: &AppState, ctx: &Ctx, id: Uuid, t: TraceForm, e: AppError) -> Response {
    Errors::rerender(ctx.lang, e, |errors| detail_page(app, ctx, id, t, errors)).await
}

async fn detail_page(
    app: &AppState,
    ctx: &Ctx,
    id: Uuid,
    t: TraceForm,
    errors: Errors,
) -> Result<StandardDetailPage> {
    let lang = ctx.lang;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let d = super::api::standard_detail(&mut tx, ctx, id).await?;
    tx.commit().await?;
    let s = &d.standard;
    let fields = PROTECTED_FIELDS
        .iter()
        .map(|(f, zh, en)| {
            let v = match *f {
                "kind" => s.kind.label(lang).to_owned(),
                "status" => s.status.label(lang).to_owned(),
                _ => s.field(f).unwrap_or_default(),
            };
            (
                lang.pick(zh, en).to_owned(),
                if v.is_empty() { "—".into() } else { v },
            )
        })
        .collect();
    Ok(StandardDetailPage {
        layout: Layout::new(ctx, s.name.clone(), "/standards"),
        r: row(lang, s),
        is_owner: ctx.org_id == s.station_id,
        fields,
        changes: d
            .change_requests
            .iter()
            .map(|c| change_row(lang, c))
            .collect(),
        d,
        t,
        errors,
    })
}

/// The draft form for a change request.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    pub change_kind: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub range_text: String,
    #[serde(default)]
    pub accuracy_text: String,
    #[serde(default)]
    pub main_equipment: String,
    #[serde(default)]
    pub specification: String,
    #[serde(default)]
    pub responsible_person: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub cert_number: String,
    #[serde(default)]
    pub cert_issued_on: String,
    #[serde(default)]
    pub cert_expires_on: String,
}

impl ChangeForm {
    fn from_standard(s: &Standard) -> Self {
        ChangeForm {
            change_kind: "equipment".into(),
            reason: String::new(),
            kind: s.kind.as_str().into(),
            range_text: s.range_text.clone(),
            accuracy_text: s.accuracy_text.clone(),
            main_equipment: s.main_equipment.clone(),
            specification: s.specification.clone(),
            responsible_person: s.responsible_person.clone(),
            location: s.location.clone(),
            environment: s.environment.clone(),
            status: s.status.as_str().into(),
            cert_number: s.cert_number.clone(),
            cert_issued_on: s.cert_issued_on.to_string(),
            cert_expires_on: s.cert_expires_on.to_string(),
        }
    }

    fn value(&self, field: &str) -> &str {
        match field {
            "kind" => &self.kind,
            "range_text" => &self.range_text,
            "accuracy_text" => &self.accuracy_text,
            "main_equipment" => &self.main_equipment,
            "specification" => &self.specification,
            "responsible_person" => &self.responsible_person,
            "location" => &self.location,
            "environment" => &self.environment,
            "status" => &self.status,
            "cert_number" => &self.cert_number,
            "cert_issued_on" => &self.cert_issued_on,
            "cert_expires_on" => &self.cert_expires_on,
            _ => "",
        }
    }
}

/// One fieldset of the change form: a kind and its fields (label, name, value).
pub struct KindSection {
    pub kind: String,
    pub label: String,
    pub fields: Vec<(String, String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "standards/change_form.html")]
pub struct ChangeFormPage {
    layout: Layout,
    standard: Standard,
    f: ChangeForm,
    errors: Errors,
    sections: Vec<KindSection>,
    kinds: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
}

async fn change_form_page(
    app: &AppState,
    ctx: &Ctx,
    id: Uuid,
    f: Option<ChangeForm>,
    errors: Errors,
) -> Result<ChangeFormPage> {
    let lang = ctx.lang;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let standard = store::standard_get(&mut tx, ctx, id).await?;
    tx.commit().await?;
    if standard.station_id != store::own_station(ctx)? {
        return Err(AppError::NotFound);
    }
    let f = f.unwrap_or_else(|| ChangeForm::from_standard(&standard));
    let sections = ChangeKind::ALL
        .iter()
        .map(|k| KindSection {
            kind: k.as_str().into(),
            label: k.label(lang).into(),
            fields: k
                .fields()
                .iter()
                .map(|fld| {
                    (
                        field_label(fld, lang),
                        fld.to_string(),
                        f.value(fld).to_owned(),
                    )
                })
                .collect(),
        })
        .collect();
    Ok(ChangeFormPage {
        layout: Layout::new(ctx, lang.pick("申请变更", "Request a change"), "/standards"),
        standard,
        f,
        errors,
        sections,
        kinds: StandardKind::ALL
            .iter()
            .map(|k| (k.as_str().into(), k.label(lang).into()))
            .collect(),
        statuses: StandardStatus::ALL
            .iter()
            .map(|k| (k.as_str().into(), k.label(lang).into()))
            .collect(),
    })
}

pub async fn change_new(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<ChangeFormPage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(page_err(lang))?;
    change_form_page(&app, &ctx, id, None, Errors::none(lang))
        .await
        .map_err(page_err(lang))
}

pub async fn change_create(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<ChangeForm>,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let result = async {
        let kind = ChangeKind::parse(&f.change_kind);
        let mut changes = std::collections::BTreeMap::new();
        if let Some(k) = kind {
            for fld in k.fields() {
                changes.insert(fld.to_string(), f.value(fld).to_owned());
            }
        }
        let input = ChangeRequestInput {
            change_kind: kind,
            reason: Some(f.reason.clone()),
            changes,
        };
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let r = store::change_create(&mut tx, &ctx, id, &input).await?;
        tx.commit().await?;
        Ok::<_, AppError>(r)
    }
    .await;
    match result {
        Ok(r) => Redirect::to(&format!("/change-requests/{}", r.id)).into_response(),
        Err(e) => {
            Errors::rerender(lang, e, |errors| {
                change_form_page(&app, &ctx, id, Some(f), errors)
            })
            .await
        }
    }
}

/// A change request as a queue row.
pub struct ChangeRow {
    pub id: String,
    pub station: String,
    pub standard: String,
    pub kind: String,
    pub state: String,
    pub badge: &'static str,
    pub fields: String,
    pub updated: String,
}

fn change_row(lang: Lang, c: &ChangeRequest) -> ChangeRow {
    ChangeRow {
        id: c.id.to_string(),
        station: c.station_name.clone(),
        standard: c.standard_name.clone(),
        kind: c.change_kind.label(lang).into(),
        state: c.state.label(lang).into(),
        badge: c.state.badge(),
        fields: c
            .changes
            .iter()
            .map(|(f, _)| field_label(f, lang))
            .collect::<Vec<_>>()
            .join(lang.pick("、", ", ")),
        updated: crate::web::shanghai(c.submitted_at.unwrap_or(c.created_at)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "standards/changes.html")]
pub struct ChangeListPage {
    layout: Layout,
    rows: Vec<ChangeRow>,
    total: i64,
    state: String,
    kind: String,
    tabs: Vec<(String, String, i64)>,
    kinds: Vec<(String, String)>,
    error: Option<String>,
}

/// The queue: the station's own requests, or those submitted to the regulator.
pub async fn changes_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<ChangeQuery>,
) -> std::result::Result<ChangeListPage, PageError> {
    let lang = ctx.lang;
    let mut page = ChangeListPage {
        layout: Layout::new(
            &ctx,
            lang.pick("计量标准变更申请", "Standard change requests"),
            "/change-requests",
        ),
        rows: Vec::new(),
        total: 0,
        state: q.state.clone().unwrap_or_default(),
        kind: q.kind.clone().unwrap_or_default(),
        tabs: Vec::new(),
        kinds: ChangeKind::ALL
            .iter()
            .map(|k| (k.as_str().into(), k.label(lang).into()))
            .collect(),
        error: None,
    };
    let (filter, paging) = match parse_change_query(&q) {
        Ok(x) => x,
        Err(AppError::Validation(f)) => {
            page.error = Some(AppError::fields_text(&f, lang));
            return Ok(page);
        }
        Err(e) => return Err(PageError::new(e, lang)),
    };
    let r = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let r = store::changes_list(&mut tx, &ctx, &filter, paging).await?;
        tx.commit().await?;
        Ok::<_, AppError>(r)
    }
    .await;
    let (items, total, counts) = r.map_err(page_err(lang))?;
    let all: i64 = counts.iter().map(|c| c.1).sum();
    page.tabs
        .push((String::new(), lang.pick("全部", "All").into(), all));
    for s in ChangeState::ALL {
        let n = counts
            .iter()
            .find(|c| c.0 == s.as_str())
            .map(|c| c.1)
            .unwrap_or(0);
        page.tabs.push((s.as_str().into(), s.label(lang).into(), n));
    }
    page.rows = items.iter().map(|c| change_row(lang, c)).collect();
    page.total = total;
    Ok(page)
}

/// A field's change as the decision page shows it.
pub struct DiffRow {
    pub label: String,
    pub before: String,
    pub after: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "standards/change_detail.html")]
pub struct ChangeDetailPage {
    layout: Layout,
    c: ChangeRequest,
    r: ChangeRow,
    diff: Vec<DiffRow>,
    proposal: String,
    can_submit: bool,
    can_withdraw: bool,
    can_propose: bool,
    can_confirm: bool,
    own_proposal: bool,
    error: Option<String>,
}

fn display_value(field: &str, v: &str, lang: Lang) -> String {
    match field {
        "kind" => StandardKind::parse(v)
            .map(|k| k.label(lang).to_owned())
            .unwrap_or_else(|| v.into()),
        "status" => StandardStatus::parse(v)
            .map(|k| k.label(lang).to_owned())
            .unwrap_or_else(|| v.into()),
        _ if v.is_empty() => "—".into(),
        _ => v.into(),
    }
}

async fn change_page(
    app: &AppState,
    ctx: &Ctx,
    id: Uuid,
    error: Option<String>,
) -> Result<ChangeDetailPage> {
    let lang = ctx.lang;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let c = store::change_get(&mut tx, ctx, id).await?;
    tx.commit().await?;
    let is_station = ctx.org_id == c.station_id;
    let is_decider = ctx.org_id == c.decider_org_id;
    Ok(ChangeDetailPage {
        layout: Layout::new(
            ctx,
            lang.pick("变更申请", "Change request"),
            "/change-requests",
        ),
        r: change_row(lang, &c),
        diff: c
            .changes
            .iter()
            .map(|(f, ch)| DiffRow {
                label: field_label(f, lang),
                before: display_value(f, &ch.before, lang),
                after: display_value(f, &ch.after, lang),
            })
            .collect(),
        proposal: match c.proposal.as_deref() {
            Some("approve") => lang.pick("同意变更", "Approve").into(),
            Some("refuse") => lang.pick("不同意变更", "Refuse").into(),
            _ => String::new(),
        },
        can_submit: is_station && c.state == ChangeState::Draft,
        can_withdraw: is_station && matches!(c.state, ChangeState::Draft | ChangeState::Submitted),
        can_propose: is_decider && ctx.has(Role::Reviewer) && c.state == ChangeState::Submitted,
        can_confirm: is_decider && ctx.has(Role::Approver) && c.state == ChangeState::Proposed,
        own_proposal: c.proposed_by == Some(ctx.user_id),
        error,
        c,
    })
}

/// The decision page: the change field by field (before → after) and the
/// actions the caller may take now.
pub async fn change_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<ChangeDetailPage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(page_err(lang))?;
    change_page(&app, &ctx, id, None)
        .await
        .map_err(page_err(lang))
}

#[derive(Debug, Deserialize)]
pub struct StepForm {
    version: Option<i32>,
    decision: Option<String>,
    note: Option<String>,
    /// The confirmation checkbox of irreversible decisions.
    confirmed: Option<String>,
}

pub async fn change_step_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path((id, step)): Path<(String, String)>,
    Form(f): Form<StepForm>,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let step = match step.as_str() {
        "submit" => Step::Submit,
        "withdraw" => Step::Withdraw,
        "propose" => Step::Propose,
        "confirm" => Step::Confirm,
        "send-back" => Step::SendBack,
        _ => return PageError::new(AppError::NotFound, lang).into_response(),
    };
    let result = async {
        if matches!(step, Step::Confirm | Step::Withdraw) && f.confirmed.is_none() {
            return Err(AppError::field(
                "confirmed",
                "confirm",
                "此操作不可撤销，请勾选确认后再提交",
                "This cannot be undone: tick the confirmation box first",
            ));
        }
        let input = ChangeStep {
            version: f.version,
            decision: f.decision.clone(),
            note: f.note.clone(),
        };
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let r = store::change_step(&mut tx, &ctx, id, step, &input).await?;
        tx.commit().await?;
        Ok(r)
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&format!("/change-requests/{id}")).into_response(),
        Err(e) if e.status_code().is_client_error() && !matches!(e, AppError::NotFound) => {
            let msg = e.summary(lang);
            match change_page(&app, &ctx, id, Some(msg)).await {
                Ok(p) => (e.status_code(), p).into_response(),
                Err(e) => PageError::new(e, lang).into_response(),
            }
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "standards/import.html")]
pub struct ImportPage {
    layout: Layout,
    report: Option<super::import::ImportReport>,
    error: Option<String>,
}

pub async fn import_page(ctx: Ctx) -> std::result::Result<ImportPage, PageError> {
    store::own_station(&ctx).map_err(page_err(ctx.lang))?;
    Ok(ImportPage {
        layout: Layout::new(
            &ctx,
            ctx.lang.pick("批量导入计量标准", "Import standards"),
            "/standards",
        ),
        report: None,
        error: None,
    })
}

pub async fn import_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    multipart: Multipart,
) -> Response {
    let lang = ctx.lang;
    let result = async {
        store::own_station(&ctx)?;
        let (filename, bytes) =
            super::documents::read_file(multipart, app.config.max_upload_bytes).await?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let report = super::import::import(&mut tx, &ctx, &filename, &bytes).await?;
        if report.problems.is_empty() {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok::<_, AppError>(report)
    }
    .await;
    let layout = Layout::new(
        &ctx,
        lang.pick("批量导入计量标准", "Import standards"),
        "/standards",
    );
    match result {
        Ok(report) => {
            let status = if report.problems.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (
                status,
                ImportPage {
                    layout,
                    report: Some(report),
                    error: None,
                },
            )
                .into_response()
        }
        Err(e) if e.status_code().is_client_error() => {
            let d = e.detail();
            let msg = d
                .fields
                .first()
                .map(|f| {
                    if lang.is_en() {
                        f.message_en.clone()
                    } else {
                        f.message.clone()
                    }
                })
                .unwrap_or(if lang.is_en() {
                    d.message_en
                } else {
                    d.message
                });
            (
                e.status_code(),
                ImportPage {
                    layout,
                    report: None,
                    error: Some(msg),
                },
            )
                .into_response()
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "standards/staff.html")]
pub struct StaffPage {
    layout: Layout,
    staff: Vec<StaffMember>,
    /// Keyset paging (issue 14): the next page, and whether this is a later one.
    next: Option<String>,
    later: bool,
    first: String,
    expired: usize,
    is_station: bool,
    kinds: Vec<(String, String)>,
    errors: Errors,
    f: QualForm,
}

/// The staff page's two forms (a person; a qualification), as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct QualForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub staff_member_id: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub certificate_number: String,
    #[serde(default)]
    pub items: String,
    #[serde(default)]
    pub issued_on: String,
    #[serde(default)]
    pub expires_on: String,
}

/// People and their qualifications, with expired ones in red (R16.6).
#[derive(Debug, Default, Deserialize)]
pub struct StaffListQuery {
    pub cursor: Option<String>,
}

pub async fn staff_page(
    State(app): State<AppState>,
    ctx: Ctx,
    crate::web::AppQuery(q): crate::web::AppQuery<StaffListQuery>,
) -> std::result::Result<StaffPage, PageError> {
    let lang = ctx.lang;
    let f = QualForm {
        kind: "verifier_certificate".into(),
        ..QualForm::default()
    };
    let after = crate::web::Cursor::parse(q.cursor.as_deref()).map_err(page_err(lang))?;
    staff_view(&app, &ctx, f, after, Errors::none(lang))
        .await
        .map_err(page_err(lang))
}

/// Adds a person (no `staff_member_id`) or a qualification of one.
pub async fn staff_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(f): Form<QualForm>,
) -> Response {
    let lang = ctx.lang;
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        if f.staff_member_id.trim().is_empty() {
            let input = StaffInput {
                name: Some(f.name.clone()),
                title: Some(f.title.clone()),
            };
            store::staff_create(&mut tx, &ctx, &input).await?;
        } else {
            let person =
                Uuid::parse_str(f.staff_member_id.trim()).map_err(|_| AppError::NotFound)?;
            let mut errs = Vec::new();
            let input = QualificationInput {
                kind: QualificationKind::parse(&f.kind),
                certificate_number: Some(f.certificate_number.clone()),
                items: f
                    .items
                    .split([',', '，', '、', ';', '；'])
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
                issued_on: date_field(&mut errs, "issued_on", &f.issued_on),
                expires_on: date_field(&mut errs, "expires_on", &f.expires_on),
            };
            if !errs.is_empty() {
                return Err(AppError::Validation(errs));
            }
            store::qualification_add(&mut tx, &ctx, person, &input).await?;
        }
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/staff").into_response(),
        Err(e) => Errors::rerender(lang, e, |errors| staff_view(&app, &ctx, f, None, errors)).await,
    }
}

async fn staff_view(
    app: &AppState,
    ctx: &Ctx,
    f: QualForm,
    after: Option<crate::web::Cursor>,
    errors: Errors,
) -> Result<StaffPage> {
    let lang = ctx.lang;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    // A station sees all its people (the form picks among them); others
    // page through the stations they see.
    let limit = if ctx.org_kind == OrgKind::Station {
        10_000
    } else {
        crate::web::LIST_LIMIT_MAX
    };
    let (staff, next) = store::staff_list(&mut tx, ctx, None, after.as_ref(), limit).await?;
    tx.commit().await?;
    let expired = staff
        .iter()
        .flat_map(|s| &s.qualifications)
        .filter(|q| q.warning.is_some())
        .count();
    Ok(StaffPage {
        layout: Layout::new(ctx, lang.pick("人员资质", "Staff qualifications"), "/staff"),
        staff,
        next: next.map(|c| format!("/staff?cursor={}", c.encode())),
        later: after.is_some(),
        first: "/staff".into(),
        expired,
        is_station: ctx.org_kind == OrgKind::Station,
        kinds: QualificationKind::ALL
            .iter()
            .map(|k| (k.as_str().into(), k.label(lang).into()))
            .collect(),
        errors,
        f,
    })
}
