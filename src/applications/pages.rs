//! HTML pages: the applications list (the regulator's queue, with the review
//! clock; overdue in red) and the application page with the actions the
//! caller may take at its state.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};

use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use uuid::Uuid;

use super::model::*;
use super::store::{self, Step};
use crate::auth::{Ctx, OrgKind, Role};
use crate::db::tenant_tx;
use crate::error::{AppError, Result};
use crate::orgs::model::StationTier;
use crate::state::AppState;
use crate::web::{parse_id, AppQuery, Layout, PageError};

#[derive(Template, WebTemplate)]
#[template(path = "applications/list.html")]
pub struct ListPage {
    layout: Layout,
    apps: Vec<Application>,
    is_dept: bool,
    /// The next page's address, when there is one (keyset, issue 14).
    next: Option<String>,
    /// Whether this is a later page, and the first page's address.
    later: bool,
    first: String,
}

pub async fn applications_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<super::api::ApplicationQuery>,
) -> std::result::Result<ListPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let state = q.state.as_deref().and_then(ApplicationState::parse);
        let limit = crate::web::list_limit(q.limit)?;
        let after = crate::web::Cursor::parse(q.cursor.as_deref())?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let page = store::list(&mut tx, &ctx, state, after.as_ref(), limit).await?;
        tx.commit().await?;
        Ok::<_, AppError>(page)
    }
    .await;
    let (apps, next) = r.map_err(|e| PageError::new(e, lang))?;
    let (next, first) = crate::web::page_links(
        "/applications",
        &[("state", q.state.clone())],
        next.as_ref(),
    );
    Ok(ListPage {
        layout: Layout::new(
            &ctx,
            lang.pick("建站授权申请", "Applications"),
            "/applications",
        ),
        apps,
        is_dept: ctx.org_kind == OrgKind::Department,
        next,
        later: q.cursor.as_deref().is_some_and(|c| !c.is_empty()),
        first,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "applications/detail.html")]
pub struct DetailPage {
    layout: Layout,
    a: Application,
    doc_types: Vec<(&'static str, String)>,
    is_dept: bool,
    is_reviewer: bool,
    is_approver: bool,
    own_proposal: bool,
    error: Option<String>,
    /// A grant's certificate: (authorization id, number, verification token).
    certificate: Option<(Uuid, String, String)>,
}

async fn detail(app: &AppState, ctx: &Ctx, id: Uuid, error: Option<String>) -> Result<DetailPage> {
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let a = store::get(&mut tx, ctx, id).await?;
    let certificate = match a.authorization_id {
        Some(auth) => sqlx::query_as(
            "select authorization_id, coalesce(certificate_number, ''), verify_token from station_authorization
              where authorization_id = $1",
        )
        .bind(auth)
        .fetch_optional(&mut *tx)
        .await?,
        None => None,
    };
    tx.commit().await?;
    let is_reg = Some(ctx.org_id) == a.regulator_id && ctx.org_kind == OrgKind::Regulator;
    Ok(DetailPage {
        layout: Layout::new(
            ctx,
            format!(
                "{} · {}",
                a.station_name,
                ctx.lang.pick("建站授权申请", "Application")
            ),
            "/applications",
        ),
        is_dept: ctx.org_id == a.department_id,
        is_reviewer: is_reg && ctx.has(Role::Reviewer),
        is_approver: is_reg && ctx.has(Role::Approver),
        own_proposal: a.proposed_by == Some(ctx.user_id),
        error,
        certificate,
        doc_types: store::DOC_TYPES
            .iter()
            .map(|(n, t)| {
                let l = if ctx.lang.is_en() {
                    crate::rules::Lang::En
                } else {
                    crate::rules::Lang::Zh
                };
                (*n, t.name(l).to_owned())
            })
            .collect(),
        a,
    })
}

pub async fn application_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<DetailPage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(|e| PageError::new(e, lang))?;
    detail(&app, &ctx, id, None)
        .await
        .map_err(|e| PageError::new(e, lang))
}

#[derive(Debug, Default, Deserialize)]
pub struct StepForm {
    version: Option<i32>,
    #[serde(default)]
    to_be_provided: Vec<String>,
    #[serde(default)]
    items: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    findings: String,
    #[serde(default)]
    correction_deadline: String,
    #[serde(default)]
    correction_evidence: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reasons: String,
    confirmed: Option<String>,
    #[serde(default)]
    official_name: String,
    /// Conditions settled on this form: keys and, in the same order, the
    /// evidence (outcome) or the reason (decision).
    #[serde(default)]
    settle_key: Vec<String>,
    #[serde(default)]
    settle_text: Vec<String>,
}

use crate::web::form_text as opt;

pub async fn application_step_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path((id, step)): Path<(String, String)>,
    Form(f): Form<StepForm>,
) -> Response {
    let lang = ctx.lang;
    let (Ok(id), Some(step)) = (parse_id(&id), Step::parse(&step)) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let result = async {
        // Irreversible steps are confirmed (the accept starts the clock).
        if matches!(step, Step::Confirm | Step::Withdraw | Step::Accept) && f.confirmed.is_none() {
            return Err(AppError::field(
                "confirmed",
                "confirm",
                "此决定不可撤销，请勾选确认",
                "This cannot be undone: tick the confirmation box",
            ));
        }
        let date = |s: &str| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        let input = StepInput {
            version: f.version,
            to_be_provided: f.to_be_provided.clone(),
            items: f
                .items
                .lines()
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect(),
            date: date(&f.date),
            team: opt(&f.team),
            cooperating_station_ids: None,
            outcome: opt(&f.outcome),
            findings: opt(&f.findings),
            correction_deadline: date(&f.correction_deadline),
            correction_evidence: opt(&f.correction_evidence),
            decision: opt(&f.decision),
            reasons: opt(&f.reasons),
            official_name: opt(&f.official_name),
            verified: if step == Step::Outcome {
                crate::web::settled(&f.settle_key, &f.settle_text)
            } else {
                Default::default()
            },
            overrides: if step == Step::Confirm {
                crate::web::settled(&f.settle_key, &f.settle_text)
            } else {
                Default::default()
            },
        };
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::step(&mut tx, &ctx, id, step, &input).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    crate::web::step_response(
        lang,
        result,
        &format!("/applications/{id}?done={}", step.as_str()),
        |msg| detail(&app, &ctx, id, Some(msg)),
    )
    .await
}

impl DetailPage {
    pub fn state_label(&self) -> &'static str {
        self.a.state.label(self.layout.current_lang())
    }
    /// The name proposed for the certificate: the registered one without a
    /// trailing "（筹建）" (the approver may change it).
    pub fn proposed_official_name(&self) -> String {
        let n = self.a.station_name.trim();
        n.strip_suffix("（筹建）")
            .or_else(|| n.strip_suffix("(筹建)"))
            .unwrap_or(n)
            .trim()
            .to_owned()
    }
    /// The conditions still open at the decision: each needs the approver's
    /// reason on the decision form.
    pub fn open_conditions(&self) -> Vec<&super::conditions::ConditionAtDecision> {
        self.a.conditions.iter().filter(|c| c.is_open()).collect()
    }
    /// The declared type of a document, as the upload form names it.
    pub fn doc_type_label(&self, code: &str) -> String {
        self.doc_types
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| code.to_owned())
    }
    /// 下一步：what happens next and who does it.
    pub fn next_step(&self) -> String {
        let (zh, en) = match self.a.state.as_str() {
            "draft" => ("主管部门核对材料后提交申请", "the competent department submits the application"),
            "submitted" => ("受理机关审查员受理，或一次性告知补正（R6.4）", "a reviewer of the receiving regulator accepts it, or sends one correction notice (R6.4)"),
            "correction_requested" => ("主管部门补正材料后重新提交", "the competent department corrects the materials and resubmits"),
            "accepted" => ("受理机关审查员安排考核", "a reviewer of the receiving regulator schedules the assessment"),
            "assessment" => ("考核后由审查员记录考核结论（R8.3）", "after the assessment, a reviewer records its outcome (R8.3)"),
            "assessed" => ("审查员提出（或按退回理由重新提出）审查意见", "a reviewer proposes the decision (again, if it was sent back)"),
            "proposed" => ("提出意见者以外的另一位审批人审批（双人复核）", "an approver other than the proposer decides (four eyes)"),
            _ => ("无：申请已办结", "nothing: the application is closed"),
        };
        format!(
            "{}{}",
            self.layout.pick("下一步：", "Next: "),
            self.layout.pick(zh, en)
        )
    }
    pub fn is(&self, s: &str) -> bool {
        self.a.state.as_str() == s
    }
}

impl ListPage {
    pub fn label(&self, a: &Application) -> &'static str {
        a.state.label(self.layout.current_lang())
    }
}

/// One item row of the drafting form, as typed.
#[derive(Debug, Default, Clone)]
pub struct ItemRow {
    pub name: String,
    pub range_text: String,
    pub accuracy_text: String,
    pub task_types: Vec<String>,
    pub specification: String,
}

impl ItemRow {
    pub fn has(&self, t: &str) -> bool {
        self.task_types.iter().any(|x| x == t)
    }
}

/// The drafting form's fields (items come as parallel repeated fields).
#[derive(Debug, Default, Deserialize)]
pub struct DraftForm {
    #[serde(default)]
    station_id: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    item_name: Vec<String>,
    #[serde(default)]
    item_range: Vec<String>,
    #[serde(default)]
    item_accuracy: Vec<String>,
    #[serde(default)]
    item_spec: Vec<String>,
    /// "<row>:<task>", e.g. "0:verification".
    #[serde(default)]
    item_task: Vec<String>,
    #[serde(default)]
    standard_ids: Vec<String>,
    #[serde(default)]
    staff_ids: Vec<String>,
    version: Option<i32>,
    /// A new station registered with the application (station_id = "new", R6.1).
    #[serde(default)]
    ns_name: String,
    #[serde(default)]
    ns_code: String,
    #[serde(default)]
    ns_tier: String,
    #[serde(default)]
    ns_head_station_id: String,
    #[serde(default)]
    ns_location_division: String,
    #[serde(default)]
    ns_field: String,
    /// "yes" or "no".
    #[serde(default)]
    ns_legal_person: String,
    #[serde(default)]
    ns_credit_code: String,
    #[serde(default)]
    ns_parent_entity_name: String,
    #[serde(default)]
    ns_parent_entity_credit_code: String,
    #[serde(default)]
    ns_address: String,
    #[serde(default)]
    ns_contact_phone: String,
}

impl DraftForm {
    fn rows(&self) -> Vec<ItemRow> {
        let n = self.item_name.len();
        (0..n)
            .map(|i| ItemRow {
                name: self.item_name.get(i).cloned().unwrap_or_default(),
                range_text: self.item_range.get(i).cloned().unwrap_or_default(),
                accuracy_text: self.item_accuracy.get(i).cloned().unwrap_or_default(),
                specification: self.item_spec.get(i).cloned().unwrap_or_default(),
                task_types: self
                    .item_task
                    .iter()
                    .filter_map(|t| t.split_once(':'))
                    .filter(|(r, _)| r.parse::<usize>().ok() == Some(i))
                    .map(|(_, t)| t.to_owned())
                    .collect(),
            })
            .collect()
    }

    fn input(&self) -> ApplicationInput {
        let items = self
            .rows()
            .into_iter()
            .filter(|r| {
                !(r.name.trim().is_empty()
                    && r.range_text.trim().is_empty()
                    && r.specification.trim().is_empty())
            })
            .map(|r| ItemInput {
                name: r.name,
                range_text: r.range_text,
                accuracy_text: r.accuracy_text,
                task_types: r.task_types,
                specification: r.specification,
            })
            .collect();
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let new_station = (self.station_id.trim() == "new").then(|| NewStationInput {
            name: opt(&self.ns_name),
            name_en: None,
            address: opt(&self.ns_address),
            contact_phone: opt(&self.ns_contact_phone),
            code: opt(&self.ns_code),
            tier: match self.ns_tier.as_str() {
                "national_head" => Some(StationTier::NationalHead),
                "national_branch" => Some(StationTier::NationalBranch),
                "local" => Some(StationTier::Local),
                _ => None,
            },
            head_station_id: Uuid::parse_str(self.ns_head_station_id.trim()).ok(),
            location_division: opt(&self.ns_location_division),
            field: opt(&self.ns_field),
            legal_person: Some(self.ns_legal_person != "no"),
            credit_code: opt(&self.ns_credit_code),
            parent_entity_name: opt(&self.ns_parent_entity_name),
            parent_entity_credit_code: opt(&self.ns_parent_entity_credit_code),
        });
        ApplicationInput {
            station_id: Uuid::parse_str(self.station_id.trim()).ok(),
            new_station,
            region: Some(
                self.region
                    .split(|c: char| c == ',' || c == '，' || c.is_whitespace() || c == '、')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            items: Some(items),
            standard_ids: Some(
                self.standard_ids
                    .iter()
                    .filter_map(|s| Uuid::parse_str(s).ok())
                    .collect(),
            ),
            staff_ids: Some(
                self.staff_ids
                    .iter()
                    .filter_map(|s| Uuid::parse_str(s).ok())
                    .collect(),
            ),
            version: self.version,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "applications/form.html")]
pub struct DraftPage {
    layout: Layout,
    id: Option<String>,
    version: i32,
    station_id: String,
    region: String,
    rows: Vec<ItemRow>,
    stations: Vec<(String, String)>,
    heads: Vec<(String, String)>,
    ns: NewStationView,
    standards: Vec<(String, String, bool)>,
    staff: Vec<(String, String, bool)>,
    errors: crate::orgs::pages::Errors,
    tasks: Vec<(&'static str, &'static str)>,
}

/// The new-station fields as typed (kept on a refused save).
#[derive(Debug, Default)]
pub struct NewStationView {
    name: String,
    code: String,
    tier: String,
    head_station_id: String,
    location_division: String,
    field: String,
    legal_person: bool,
    credit_code: String,
    parent_entity_name: String,
    parent_entity_credit_code: String,
    address: String,
    contact_phone: String,
}

impl DraftPage {
    pub fn ns_err(&self, field: &str) -> Option<String> {
        self.errors.get(&format!("new_station.{field}"))
    }

    pub fn row_err(&self, i: &usize, field: &str) -> Option<String> {
        self.errors.get(&format!("items[{i}].{field}"))
    }
}

async fn draft_page(
    app: &AppState,
    ctx: &Ctx,
    id: Option<Uuid>,
    f: &DraftForm,
    version: i32,
    errors: crate::orgs::pages::Errors,
) -> Result<DraftPage> {
    let lang = ctx.lang;
    if ctx.org_kind != OrgKind::Department {
        return Err(AppError::forbidden(
            "建站申请由主管部门提出（R6.1）",
            "Applications are filed by the competent department (R6.1)",
        ));
    }
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let stations: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select s.station_id, o.name, s.code from station s join organization o on o.organization_id = s.station_id
          where s.department_id = $1 and s.status <> 'authorized' order by o.name collate zh_pinyin",
    )
    .bind(ctx.org_id)
    .fetch_all(&mut *tx)
    .await?;
    let heads: Vec<(Uuid, String)> = sqlx::query_as(
        "select s.station_id, o.name from station s join organization o on o.organization_id = s.station_id
          where s.tier = 'national_head' order by o.name collate zh_pinyin",
    )
    .fetch_all(&mut *tx)
    .await?;
    let new_station = f.station_id.trim() == "new" || (id.is_none() && stations.is_empty());
    let station = if new_station {
        None
    } else {
        Uuid::parse_str(f.station_id.trim())
            .ok()
            .or(stations.first().map(|s| s.0))
    };
    let standards: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select standard_id, name, range_text from measurement_standard where station_id = $1 and status = 'in_service' order by name",
    )
    .bind(station)
    .fetch_all(&mut *tx)
    .await?;
    let staff: Vec<(Uuid, String)> = sqlx::query_as("select staff_member_id, name from staff_member where station_id = $1 and active order by name")
        .bind(station)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let mut rows = f.rows();
    while rows.len() < 3 || rows.last().is_some_and(|r| !r.name.is_empty()) {
        rows.push(ItemRow::default());
    }
    Ok(DraftPage {
        layout: Layout::new(
            ctx,
            lang.pick("起草建站授权申请", "Draft an application"),
            "/applications",
        ),
        id: id.map(|i| i.to_string()),
        version,
        station_id: if new_station {
            "new".into()
        } else {
            station.map(|s| s.to_string()).unwrap_or_default()
        },
        heads: heads.into_iter().map(|h| (h.0.to_string(), h.1)).collect(),
        ns: NewStationView {
            name: f.ns_name.clone(),
            code: f.ns_code.clone(),
            tier: if f.ns_tier.is_empty() {
                "local".into()
            } else {
                f.ns_tier.clone()
            },
            head_station_id: f.ns_head_station_id.clone(),
            location_division: f.ns_location_division.clone(),
            field: f.ns_field.clone(),
            legal_person: f.ns_legal_person != "no",
            credit_code: f.ns_credit_code.clone(),
            parent_entity_name: f.ns_parent_entity_name.clone(),
            parent_entity_credit_code: f.ns_parent_entity_credit_code.clone(),
            address: f.ns_address.clone(),
            contact_phone: f.ns_contact_phone.clone(),
        },
        region: f.region.clone(),
        rows,
        stations: stations
            .into_iter()
            .map(|s| (s.0.to_string(), format!("{}（{}）", s.1, s.2)))
            .collect(),
        standards: standards
            .into_iter()
            .map(|s| {
                (
                    s.0.to_string(),
                    format!("{} {}", s.1, s.2),
                    f.standard_ids.contains(&s.0.to_string()),
                )
            })
            .collect(),
        staff: staff
            .into_iter()
            .map(|s| (s.0.to_string(), s.1, f.staff_ids.contains(&s.0.to_string())))
            .collect(),
        errors,
        tasks: vec![
            ("verification", lang.pick("检定", "Verification")),
            ("type_evaluation", lang.pick("型式评价", "Type evaluation")),
            ("calibration", lang.pick("校准", "Calibration")),
            ("testing", lang.pick("测试", "Testing")),
        ],
    })
}

/// The drafting form for a new application.
pub async fn application_new(
    State(app): State<AppState>,
    ctx: Ctx,
) -> std::result::Result<DraftPage, PageError> {
    let lang = ctx.lang;
    draft_page(
        &app,
        &ctx,
        None,
        &DraftForm::default(),
        0,
        crate::orgs::pages::Errors::none(lang),
    )
    .await
    .map_err(|e| PageError::new(e, lang))
}

/// The drafting form for an existing draft.
pub async fn application_edit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<DraftPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let id = parse_id(&id)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let a = store::get(&mut tx, &ctx, id).await?;
        tx.commit().await?;
        let f = DraftForm {
            station_id: a.station_id.to_string(),
            region: a.region.join(" "),
            item_name: a.items.iter().map(|i| i.name.clone()).collect(),
            item_range: a.items.iter().map(|i| i.range_text.clone()).collect(),
            item_accuracy: a.items.iter().map(|i| i.accuracy_text.clone()).collect(),
            item_spec: a.items.iter().map(|i| i.specification.clone()).collect(),
            item_task: a
                .items
                .iter()
                .enumerate()
                .flat_map(|(n, i)| i.task_types.iter().map(move |t| format!("{n}:{t}")))
                .collect(),
            standard_ids: a.standard_ids.iter().map(|s| s.to_string()).collect(),
            staff_ids: a.staff_ids.iter().map(|s| s.to_string()).collect(),
            version: Some(a.version),
            ..Default::default()
        };
        draft_page(
            &app,
            &ctx,
            Some(id),
            &f,
            a.version,
            crate::orgs::pages::Errors::none(lang),
        )
        .await
    }
    .await;
    r.map_err(|e| PageError::new(e, lang))
}

/// Saves the draft (create or update); the Art 7 check runs on every save.
pub async fn application_save(
    State(app): State<AppState>,
    ctx: Ctx,
    id: Option<Path<String>>,
    Form(f): Form<DraftForm>,
) -> Response {
    let lang = ctx.lang;
    let id = match id.map(|Path(s)| parse_id(&s)) {
        Some(Ok(id)) => Some(id),
        Some(Err(e)) => return PageError::new(e, lang).into_response(),
        None => None,
    };
    let result = async {
        let input = f.input();
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let a = match id {
            None => store::create(&mut tx, &ctx, &input).await?,
            Some(id) => store::update(&mut tx, &ctx, id, &input).await?,
        };
        tx.commit().await?;
        Ok::<_, AppError>(a)
    }
    .await;
    match result {
        Ok(a) => Redirect::to(&format!("/applications/{}", a.id)).into_response(),
        Err(e) => {
            crate::orgs::pages::Errors::rerender(lang, e, |errors| {
                draft_page(&app, &ctx, id, &f, f.version.unwrap_or(0), errors)
            })
            .await
        }
    }
}

pub async fn application_create_submit(
    state: State<AppState>,
    ctx: Ctx,
    form: Form<DraftForm>,
) -> Response {
    application_save(state, ctx, None, form).await
}

pub async fn application_update_submit(
    state: State<AppState>,
    ctx: Ctx,
    id: Path<String>,
    form: Form<DraftForm>,
) -> Response {
    application_save(state, ctx, Some(id), form).await
}

/// Uploads a technical document from the application page (R6.3).
pub async fn document_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    multipart: axum::extract::Multipart,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    match super::api::upload_document(&app, &ctx, id, multipart).await {
        Ok(_) => Redirect::to(&format!("/applications/{id}#documents")).into_response(),
        Err(e) if e.status_code().is_client_error() && !matches!(e, AppError::NotFound) => {
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
            match detail(&app, &ctx, id, Some(msg)).await {
                Ok(p) => (e.status_code(), p).into_response(),
                Err(e) => PageError::new(e, lang).into_response(),
            }
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}
