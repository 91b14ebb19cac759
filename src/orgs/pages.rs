//! HTML pages: organizations (platform operator) and users (operator, or an
//! organization's admin for their own users). Forms keep the input and show
//! each error beside its field.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use uuid::Uuid;

use super::model::*;
use super::store::{self, OrgFilter, OrgRef};
use crate::auth::{Ctx, Operator, OrgKind, Role, UserAdmin};
use crate::db::tenant_tx;
use crate::error::{AppError, FieldError, Result};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::{kind_label, parse_id, url_encode, AppQuery, Layout, PageError, Paging};

/// Error messages of a form, looked up by field in the page's language.
pub struct Errors {
    lang: Lang,
    fields: Vec<FieldError>,
    /// A message for the whole form (stale edit, …).
    pub top: Option<String>,
}

impl Errors {
    pub fn none(lang: Lang) -> Self {
        Errors {
            lang,
            fields: Vec::new(),
            top: None,
        }
    }

    fn from_error(lang: Lang, e: AppError) -> std::result::Result<Self, AppError> {
        match e {
            AppError::Validation(fields) => Ok(Errors {
                lang,
                top: Some(lang.t("form-has-errors")),
                fields,
            }),
            // An oversize file is said beside the file field, like a validation error.
            AppError::UploadTooLarge(field) => Ok(Errors {
                lang,
                top: Some(lang.t("form-has-errors")),
                fields: vec![field],
            }),
            e @ AppError::Conflict { .. } => {
                let d = e.detail();
                Ok(Errors {
                    lang,
                    fields: Vec::new(),
                    top: Some(if lang.is_en() {
                        d.message_en
                    } else {
                        d.message
                    }),
                })
            }
            other => Err(other),
        }
    }

    /// Messages of fields other than those a form shows beside an input
    /// (matched by prefix), so that no message is lost.
    pub fn others(&self, placed: &[&str]) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| !placed.iter().any(|p| f.field.starts_with(p)))
            .map(|f| {
                if self.lang.is_en() {
                    f.message_en.clone()
                } else {
                    f.message.clone()
                }
            })
            .collect()
    }

    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<String> {
        let msgs: Vec<String> = self
            .fields
            .iter()
            .filter(|f| f.field == field)
            .map(|f| {
                if self.lang.is_en() {
                    f.message_en.clone()
                } else {
                    f.message.clone()
                }
            })
            .collect();
        (!msgs.is_empty()).then(|| msgs.join("；"))
    }

    /// Answers a refused save: validation and conflict errors re-render the
    /// form (422) with the messages beside the fields and the input kept;
    /// anything else is an error page.
    pub async fn rerender<P, F>(
        lang: Lang,
        e: AppError,
        render: impl FnOnce(Errors) -> F,
    ) -> Response
    where
        P: IntoResponse,
        F: std::future::Future<Output = Result<P>>,
    {
        match Self::from_error(lang, e) {
            Ok(errors) => match render(errors).await {
                Ok(page) => (StatusCode::UNPROCESSABLE_ENTITY, page).into_response(),
                Err(e) => PageError::new(e, lang).into_response(),
            },
            Err(e) => PageError::new(e, lang).into_response(),
        }
    }

    pub fn any(&self) -> bool {
        self.top.is_some() || !self.fields.is_empty()
    }
}

// ------------------------------------------------------------ organizations

#[derive(Deserialize)]
pub struct OrgListQuery {
    kind: Option<String>,
    q: Option<String>,
    page: Option<i64>,
}

pub struct OrgListRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub detail: String,
    pub active: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "orgs/list.html")]
pub struct OrgListPage {
    layout: Layout,
    rows: Vec<OrgListRow>,
    total: i64,
    page: i64,
    pages: i64,
    kind: String,
    q: String,
    kinds: Vec<(String, String)>,
}

impl OrgListPage {
    pub fn page_href(&self, page: i64) -> String {
        format!(
            "/admin/organizations?kind={}&q={}&page={page}",
            url_encode(&self.kind),
            url_encode(&self.q)
        )
    }
}

fn org_detail(lang: Lang, o: &Organization) -> String {
    match (&o.regulator_level, &o.station) {
        (Some(l), _) => format!(
            "{}{}",
            lang.pick(l.label_zh(), l.label_en()),
            o.division_name
                .as_ref()
                .map(|d| format!(" · {d}"))
                .unwrap_or_default()
        ),
        (_, Some(s)) => format!(
            "{} · {} · {}",
            s.code,
            lang.pick(s.tier.label_zh(), s.tier.label_en()),
            lang.pick(s.status.label_zh(), s.status.label_en())
        ),
        _ => o.division_name.clone().unwrap_or_default(),
    }
}

fn kinds(lang: Lang) -> Vec<(String, String)> {
    OrgKind::ALL
        .into_iter()
        .map(|k| (k.as_str().to_owned(), kind_label(lang, k).to_owned()))
        .collect()
}

/// The organization list (platform operator).
pub async fn orgs_list(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    AppQuery(q): AppQuery<OrgListQuery>,
) -> std::result::Result<OrgListPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let kind = super::api::parse_kind(q.kind.as_deref()).unwrap_or(None);
        let paging = Paging::new(q.page, Some(25));
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let (items, total) = store::org_list(
            &mut tx,
            &OrgFilter {
                kind,
                q: q.q.clone(),
            },
            paging,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>(OrgListPage {
            layout: Layout::new(&ctx, lang.t("orgs-title"), "/admin/organizations"),
            rows: items
                .iter()
                .map(|o| OrgListRow {
                    id: o.id.to_string(),
                    name: o.name.clone(),
                    kind: kind_label(lang, o.kind).to_owned(),
                    detail: org_detail(lang, o),
                    active: o.active,
                })
                .collect(),
            total,
            page: paging.page,
            pages: paging.pages(total),
            kind: kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
            q: q.q.unwrap_or_default(),
            kinds: kinds(lang),
        })
    }
    .await;
    r.map_err(|e| PageError::new(e, lang))
}

/// The organization form's fields, as typed (kept on error).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct OrgForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default)]
    pub regulator_level: String,
    #[serde(default)]
    pub division_code: String,
    #[serde(default)]
    pub credit_code: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub active: Option<String>,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub station_code: String,
    #[serde(default)]
    pub station_tier: String,
    #[serde(default)]
    pub head_station_id: String,
    #[serde(default)]
    pub department_id: String,
    #[serde(default)]
    pub authorizing_regulator_id: String,
    #[serde(default)]
    pub location_division: String,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub legal_person: String,
    #[serde(default)]
    pub station_credit_code: String,
    #[serde(default)]
    pub parent_entity_name: String,
    #[serde(default)]
    pub parent_entity_credit_code: String,
    #[serde(default)]
    pub station_status: String,
}

use crate::web::form_text as opt;

fn opt_uuid(errors: &mut Vec<FieldError>, field: &str, s: &str) -> Option<Uuid> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    match Uuid::parse_str(t) {
        Ok(u) => Some(u),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "invalid",
                "请从列表中选择",
                "Choose from the list",
            ));
            None
        }
    }
}

impl OrgForm {
    fn from_org(o: &Organization) -> Self {
        let s = o.station.as_ref();
        OrgForm {
            kind: o.kind.as_str().into(),
            name: o.name.clone(),
            name_en: o.name_en.clone().unwrap_or_default(),
            regulator_level: o
                .regulator_level
                .map(|l| l.as_str().to_owned())
                .unwrap_or_default(),
            division_code: o.division_code.clone().unwrap_or_default(),
            credit_code: o.credit_code.clone().unwrap_or_default(),
            address: o.address.clone().unwrap_or_default(),
            contact_phone: o.contact_phone.clone().unwrap_or_default(),
            active: o.active.then(|| "on".into()),
            version: o.version.to_string(),
            station_code: s.map(|s| s.code.clone()).unwrap_or_default(),
            station_tier: s.map(|s| s.tier.as_str().to_owned()).unwrap_or_default(),
            head_station_id: s
                .and_then(|s| s.head_station_id)
                .map(|u| u.to_string())
                .unwrap_or_default(),
            department_id: s.map(|s| s.department_id.to_string()).unwrap_or_default(),
            authorizing_regulator_id: s
                .and_then(|s| s.authorizing_regulator_id)
                .map(|u| u.to_string())
                .unwrap_or_default(),
            location_division: s.map(|s| s.location_division.clone()).unwrap_or_default(),
            field: s.map(|s| s.field.clone()).unwrap_or_default(),
            legal_person: s
                .map(|s| s.legal_person.to_string())
                .unwrap_or_else(|| "true".into()),
            station_credit_code: s.and_then(|s| s.credit_code.clone()).unwrap_or_default(),
            parent_entity_name: s
                .and_then(|s| s.parent_entity_name.clone())
                .unwrap_or_default(),
            parent_entity_credit_code: s
                .and_then(|s| s.parent_entity_credit_code.clone())
                .unwrap_or_default(),
            station_status: s.map(|s| s.status.as_str().to_owned()).unwrap_or_default(),
        }
    }

    /// The API input this form stands for; unparseable choices are field errors.
    fn to_input(&self) -> Result<OrganizationInput> {
        let mut errors = Vec::new();
        let kind = opt(&self.kind).and_then(|k| {
            let p = OrgKind::parse(&k);
            if p.is_none() {
                errors.push(FieldError::new(
                    "kind",
                    "invalid",
                    "组织类型取值无效",
                    "Unknown kind",
                ));
            }
            p
        });
        let regulator_level = opt(&self.regulator_level).and_then(|k| RegulatorLevel::parse(&k));
        let station = if kind == Some(OrgKind::Station) {
            Some(StationInput {
                code: opt(&self.station_code),
                tier: opt(&self.station_tier).and_then(|t| StationTier::parse(&t)),
                head_station_id: opt_uuid(
                    &mut errors,
                    "station.head_station_id",
                    &self.head_station_id,
                ),
                department_id: opt_uuid(&mut errors, "station.department_id", &self.department_id),
                authorizing_regulator_id: opt_uuid(
                    &mut errors,
                    "station.authorizing_regulator_id",
                    &self.authorizing_regulator_id,
                ),
                location_division: opt(&self.location_division),
                field: opt(&self.field),
                legal_person: Some(self.legal_person != "false"),
                credit_code: opt(&self.station_credit_code),
                parent_entity_name: opt(&self.parent_entity_name),
                parent_entity_credit_code: opt(&self.parent_entity_credit_code),
                status: opt(&self.station_status).and_then(|s| StationStatus::parse(&s)),
            })
        } else {
            None
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(OrganizationInput {
            kind,
            name: opt(&self.name),
            name_en: opt(&self.name_en),
            regulator_level,
            division_code: opt(&self.division_code),
            credit_code: opt(&self.credit_code),
            address: opt(&self.address),
            contact_phone: opt(&self.contact_phone),
            active: Some(self.active.is_some()),
            station,
            version: self.version.trim().parse().ok(),
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "orgs/form.html")]
pub struct OrgFormPage {
    layout: Layout,
    id: Option<String>,
    f: OrgForm,
    errors: Errors,
    kinds: Vec<(String, String)>,
    levels: Vec<(String, String)>,
    tiers: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
    departments: Vec<OrgRef>,
    regulators: Vec<OrgRef>,
    head_stations: Vec<OrgRef>,
}

impl OrgFormPage {
    pub fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/admin/organizations/{id}"),
            None => "/admin/organizations".into(),
        }
    }
}

async fn org_form_page(
    app: &AppState,
    ctx: &Ctx,
    id: Option<Uuid>,
    f: OrgForm,
    errors: Errors,
) -> Result<OrgFormPage> {
    let lang = ctx.lang;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let departments = store::org_refs(&mut tx, OrgKind::Department).await?;
    let regulators = store::org_refs(&mut tx, OrgKind::Regulator).await?;
    let head_stations = store::org_refs(&mut tx, OrgKind::Station)
        .await?
        .into_iter()
        .filter(|s| s.detail.as_deref() == Some("national_head"))
        .collect();
    tx.commit().await?;
    let title = if id.is_some() {
        lang.t("org-edit-title")
    } else {
        lang.t("org-new-title")
    };
    Ok(OrgFormPage {
        layout: Layout::new(ctx, title, "/admin/organizations"),
        id: id.map(|i| i.to_string()),
        f,
        errors,
        kinds: kinds(lang),
        levels: RegulatorLevel::ALL
            .into_iter()
            .map(|l| {
                (
                    l.as_str().to_owned(),
                    lang.pick(l.label_zh(), l.label_en()).to_owned(),
                )
            })
            .collect(),
        tiers: StationTier::ALL
            .into_iter()
            .map(|t| {
                (
                    t.as_str().to_owned(),
                    lang.pick(t.label_zh(), t.label_en()).to_owned(),
                )
            })
            .collect(),
        statuses: StationStatus::ALL
            .into_iter()
            .map(|s| {
                (
                    s.as_str().to_owned(),
                    lang.pick(s.label_zh(), s.label_en()).to_owned(),
                )
            })
            .collect(),
        departments,
        regulators,
        head_stations,
    })
}

pub async fn org_new(
    State(app): State<AppState>,
    Operator(ctx): Operator,
) -> std::result::Result<OrgFormPage, PageError> {
    let f = OrgForm {
        kind: "regulator".into(),
        active: Some("on".into()),
        legal_person: "true".into(),
        ..OrgForm::default()
    };
    org_form_page(&app, &ctx, None, f, Errors::none(ctx.lang))
        .await
        .map_err(|e| PageError::new(e, ctx.lang))
}

pub async fn org_edit(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    Path(id): Path<String>,
) -> std::result::Result<OrgFormPage, PageError> {
    let r = async {
        let id = parse_id(&id)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let org = store::org_get(&mut tx, id).await?;
        tx.commit().await?;
        org_form_page(
            &app,
            &ctx,
            Some(id),
            OrgForm::from_org(&org),
            Errors::none(ctx.lang),
        )
        .await
    }
    .await;
    r.map_err(|e| PageError::new(e, ctx.lang))
}

async fn save_org(
    app: &AppState,
    ctx: &Ctx,
    id: Option<Uuid>,
    form: &OrgForm,
) -> Result<Organization> {
    let input = form.to_input()?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let org = match id {
        None => store::org_create(&mut tx, ctx, &input).await?,
        Some(id) => {
            let version = input.version.ok_or_else(AppError::stale)?;
            store::org_update(&mut tx, ctx, id, version, &input, store::Omitted::Clear).await?
        }
    };
    tx.commit().await?;
    Ok(org)
}

async fn org_submit(app: AppState, ctx: Ctx, id: Option<Uuid>, form: OrgForm) -> Response {
    match save_org(&app, &ctx, id, &form).await {
        Ok(org) => {
            Redirect::to(&format!("/admin/organizations/{}?saved=1", org.id)).into_response()
        }
        Err(e) => {
            Errors::rerender(ctx.lang, e, |errors| {
                org_form_page(&app, &ctx, id, form, errors)
            })
            .await
        }
    }
}

pub async fn org_create(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    Form(form): Form<OrgForm>,
) -> Response {
    org_submit(app, ctx, None, form).await
}

pub async fn org_update(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    Path(id): Path<String>,
    Form(form): Form<OrgForm>,
) -> Response {
    match parse_id(&id) {
        Ok(id) => org_submit(app, ctx, Some(id), form).await,
        Err(e) => PageError::new(e, ctx.lang).into_response(),
    }
}

// ------------------------------------------------------------ users

#[derive(Deserialize)]
pub struct UserListQuery {
    organization_id: Option<String>,
    q: Option<String>,
    page: Option<i64>,
}

pub struct UserListRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub organization: String,
    pub roles: String,
    pub active: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "orgs/users.html")]
pub struct UserListPage {
    layout: Layout,
    rows: Vec<UserListRow>,
    total: i64,
    page: i64,
    pages: i64,
    q: String,
    organization_id: String,
    is_operator: bool,
    organizations: Vec<(String, String)>,
}

impl UserListPage {
    pub fn page_href(&self, page: i64) -> String {
        format!(
            "/admin/users?organization_id={}&q={}&page={page}",
            url_encode(&self.organization_id),
            url_encode(&self.q)
        )
    }
}

fn roles_label(lang: Lang, roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| lang.pick(r.label_zh(), r.label_en()))
        .collect::<Vec<_>>()
        .join(lang.pick("、", ", "))
}

pub async fn users_list(
    State(app): State<AppState>,
    UserAdmin(ctx): UserAdmin,
    AppQuery(q): AppQuery<UserListQuery>,
) -> std::result::Result<UserListPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let org = if ctx.is_operator() {
            q.organization_id
                .as_deref()
                .and_then(|s| Uuid::parse_str(s.trim()).ok())
        } else {
            Some(ctx.org_id)
        };
        let paging = Paging::new(q.page, Some(25));
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let (users, total) = store::user_list(&mut tx, org, q.q.as_deref(), paging).await?;
        let organizations = if ctx.is_operator() {
            let (orgs, _) = store::org_list(
                &mut tx,
                &OrgFilter::default(),
                Paging::new(Some(1), Some(100)),
            )
            .await?;
            orgs.into_iter()
                .map(|o| (o.id.to_string(), o.name))
                .collect()
        } else {
            Vec::new()
        };
        tx.commit().await?;
        Ok::<_, AppError>(UserListPage {
            layout: Layout::new(&ctx, lang.t("users-title"), "/admin/users"),
            rows: users
                .iter()
                .map(|u| UserListRow {
                    id: u.id.to_string(),
                    username: u.username.clone(),
                    display_name: u.display_name.clone(),
                    organization: u.organization_name.clone(),
                    roles: roles_label(lang, &u.roles),
                    active: u.active,
                })
                .collect(),
            total,
            page: paging.page,
            pages: paging.pages(total),
            q: q.q.unwrap_or_default(),
            organization_id: org.map(|o| o.to_string()).unwrap_or_default(),
            is_operator: ctx.is_operator(),
            organizations,
        })
    }
    .await;
    r.map_err(|e| PageError::new(e, lang))
}

/// The user form's fields as typed; `roles` repeats.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub active: Option<String>,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub version: String,
}

impl UserForm {
    fn to_input(&self) -> Result<UserInput> {
        let mut errors = Vec::new();
        let organization_id = opt_uuid(&mut errors, "organization_id", &self.organization_id);
        let mut roles = Vec::new();
        for r in &self.roles {
            match Role::parse(r) {
                Some(role) => roles.push(role),
                None => errors.push(FieldError::new(
                    "roles",
                    "invalid",
                    "角色取值无效",
                    "Unknown role",
                )),
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(UserInput {
            organization_id,
            username: opt(&self.username),
            display_name: Some(self.display_name.clone()),
            email: Some(self.email.clone()),
            roles: Some(roles),
            active: Some(self.active.is_some()),
            password: opt(&self.password),
            version: self.version.trim().parse().ok(),
        })
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "orgs/user_form.html")]
pub struct UserFormPage {
    layout: Layout,
    id: Option<String>,
    f: UserForm,
    errors: Errors,
    organizations: Vec<(String, String)>,
    roles: Vec<(String, String)>,
    org_name: String,
}

impl UserFormPage {
    pub fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/admin/users/{id}"),
            None => "/admin/users".into(),
        }
    }
}

async fn user_form_page(
    app: &AppState,
    ctx: &Ctx,
    id: Option<Uuid>,
    f: UserForm,
    errors: Errors,
) -> Result<UserFormPage> {
    let lang = ctx.lang;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let organizations: Vec<(String, String)> = if ctx.is_operator() && id.is_none() {
        let (orgs, _) = store::org_list(
            &mut tx,
            &OrgFilter::default(),
            Paging::new(Some(1), Some(100)),
        )
        .await?;
        orgs.into_iter()
            .map(|o| (o.id.to_string(), o.name))
            .collect()
    } else {
        Vec::new()
    };
    let org_id = Uuid::parse_str(f.organization_id.trim()).unwrap_or(ctx.org_id);
    let (org_name, kind) = match store::org_get(&mut tx, org_id).await {
        Ok(o) => (o.name, Some(o.kind)),
        Err(_) => (String::new(), None),
    };
    tx.commit().await?;
    let roles = match kind {
        Some(k) if !(ctx.is_operator() && id.is_none()) => k.roles().to_vec(),
        _ => Role::ALL.to_vec(),
    };
    let title = if id.is_some() {
        lang.t("user-edit-title")
    } else {
        lang.t("user-new-title")
    };
    Ok(UserFormPage {
        layout: Layout::new(ctx, title, "/admin/users"),
        id: id.map(|i| i.to_string()),
        f,
        errors,
        organizations,
        roles: roles
            .into_iter()
            .map(|r| {
                (
                    r.as_str().to_owned(),
                    lang.pick(r.label_zh(), r.label_en()).to_owned(),
                )
            })
            .collect(),
        org_name,
    })
}

pub async fn user_new(
    State(app): State<AppState>,
    UserAdmin(ctx): UserAdmin,
) -> std::result::Result<UserFormPage, PageError> {
    let f = UserForm {
        organization_id: ctx.org_id.to_string(),
        active: Some("on".into()),
        ..UserForm::default()
    };
    user_form_page(&app, &ctx, None, f, Errors::none(ctx.lang))
        .await
        .map_err(|e| PageError::new(e, ctx.lang))
}

pub async fn user_edit(
    State(app): State<AppState>,
    UserAdmin(ctx): UserAdmin,
    Path(id): Path<String>,
) -> std::result::Result<UserFormPage, PageError> {
    let r = async {
        let id = parse_id(&id)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let u = store::user_get(&mut tx, id).await?;
        tx.commit().await?;
        if !ctx.may_manage_users_of(u.organization_id) {
            return Err(AppError::NotFound);
        }
        let f = UserForm {
            organization_id: u.organization_id.to_string(),
            username: u.username,
            display_name: u.display_name,
            email: u.email.unwrap_or_default(),
            roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            active: u.active.then(|| "on".into()),
            password: String::new(),
            version: u.version.to_string(),
        };
        user_form_page(&app, &ctx, Some(id), f, Errors::none(ctx.lang)).await
    }
    .await;
    r.map_err(|e| PageError::new(e, ctx.lang))
}

async fn save_user(app: &AppState, ctx: &Ctx, id: Option<Uuid>, form: &UserForm) -> Result<User> {
    let input = form.to_input()?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let user = match id {
        None => store::user_create(&mut tx, ctx, &input).await?,
        Some(id) => {
            let version = input.version.ok_or_else(AppError::stale)?;
            store::user_update(&mut tx, ctx, id, version, &input).await?
        }
    };
    tx.commit().await?;
    Ok(user)
}

async fn user_submit(app: AppState, ctx: Ctx, id: Option<Uuid>, mut form: UserForm) -> Response {
    match save_user(&app, &ctx, id, &form).await {
        Ok(u) => Redirect::to(&format!("/admin/users/{}?saved=1", u.id)).into_response(),
        Err(e) => {
            // Never echo a password back into the page.
            form.password.clear();
            Errors::rerender(ctx.lang, e, |errors| {
                user_form_page(&app, &ctx, id, form, errors)
            })
            .await
        }
    }
}

pub async fn user_create(
    State(app): State<AppState>,
    UserAdmin(ctx): UserAdmin,
    Form(form): Form<UserForm>,
) -> Response {
    user_submit(app, ctx, None, form).await
}

pub async fn user_update(
    State(app): State<AppState>,
    UserAdmin(ctx): UserAdmin,
    Path(id): Path<String>,
    Form(form): Form<UserForm>,
) -> Response {
    match parse_id(&id) {
        Ok(id) => user_submit(app, ctx, Some(id), form).await,
        Err(e) => PageError::new(e, ctx.lang).into_response(),
    }
}
