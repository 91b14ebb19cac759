//! Pages of supervision: inspections (plan, draw, record, approve, orders),
//! rectification orders with overdue highlighting, violation cases,
//! referrals, and the public list of random inspections.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use super::api::ListQuery;
use super::model::*;
use super::store;
use crate::auth::{Ctx, OrgKind, Role};
use crate::db::tenant_tx;
use crate::error::{AppError, Result};
use crate::orgs::pages::Errors;
use crate::state::AppState;
use crate::web::{parse_id, AppQuery, Layout, PageError};

use crate::web::form_text as opt;

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

pub use super::model::word;

fn badge(w: &str) -> &'static str {
    match w {
        "completed" | "closed" | "conforming" | "cooperated" => "badge-ok",
        "nonconforming" | "refused" | "obstructed" | "revocation" => "badge-bad",
        "cancelled" | "withdrawn" | "not_inspected" => "badge-muted",
        _ => "badge-warn",
    }
}

// ------------------------------------------------------------ inspections

#[derive(Template, WebTemplate)]
#[template(path = "supervision/inspections.html")]
pub struct InspectionsPage {
    layout: Layout,
    rows: Vec<Inspection>,
    stations: Vec<(Uuid, String, String)>,
    /// The picker's search (issue 14) and whether more stations matched.
    station_q: String,
    more_stations: bool,
    people: Vec<(Uuid, String)>,
    can_plan: bool,
    errors: Errors,
    form: PlanForm,
    next: Option<String>,
    later: bool,
    first: String,
}

impl InspectionsPage {
    pub fn w(&self, s: &str) -> String {
        word(s, self.layout.current_lang())
    }
    pub fn b(&self, s: &str) -> &'static str {
        badge(s)
    }
    pub fn today(&self) -> String {
        crate::web::today().to_string()
    }
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct PlanForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    station_id: String,
    #[serde(default)]
    station_ids: Vec<String>,
    #[serde(default)]
    inspectors: Vec<String>,
    #[serde(default)]
    planned_on: String,
    #[serde(default)]
    station_count: String,
    #[serde(default)]
    inspectors_per_station: String,
    #[serde(default)]
    seed: String,
}

impl PlanForm {
    pub fn has_station(&self, id: &Uuid) -> bool {
        let s = id.to_string();
        self.station_ids.contains(&s) || self.station_id == s
    }
    pub fn has_inspector(&self, id: &Uuid) -> bool {
        self.inspectors.contains(&id.to_string())
    }
}

/// Stations a planning picker shows at once; a search finds the others.
const PICKER_LIMIT: usize = 50;

async fn inspections_page(
    app: &AppState,
    ctx: &Ctx,
    form: PlanForm,
    station_q: String,
    cursor: Option<&str>,
    errors: Errors,
) -> Result<InspectionsPage> {
    let after = crate::web::Cursor::parse(cursor)?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let (rows, next) = store::inspections(
        &mut tx,
        ctx,
        None,
        None,
        after.as_ref(),
        crate::web::LIST_LIMIT,
    )
    .await?;
    let (next, first) = crate::web::page_links(
        "/inspections",
        &[("station_q", Some(station_q.clone()))],
        next.as_ref(),
    );
    let can_plan = matches!(ctx.org_kind, OrgKind::Regulator | OrgKind::Department)
        && (ctx.has(Role::Inspector) || ctx.has(Role::Reviewer) || ctx.has(Role::Officer));
    let keep: Vec<Uuid> = form
        .station_ids
        .iter()
        .chain(std::iter::once(&form.station_id))
        .filter_map(|s| Uuid::parse_str(s.trim()).ok())
        .collect();
    let ((stations, more_stations), people) = if can_plan {
        (
            store::inspectable(&mut tx, ctx, Some(&station_q), &keep, PICKER_LIMIT).await?,
            store::inspectors(&mut tx, ctx).await?,
        )
    } else {
        ((Vec::new(), false), Vec::new())
    };
    tx.commit().await?;
    Ok(InspectionsPage {
        layout: Layout::new(
            ctx,
            ctx.lang.pick("监督检查", "Inspections"),
            "/inspections",
        ),
        rows,
        stations,
        station_q,
        more_stations,
        people,
        can_plan,
        errors,
        form,
        next,
        later: after.is_some(),
        first,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct InspectionsQuery {
    #[serde(default)]
    pub station_q: String,
    /// The list's page (keyset cursor).
    pub cursor: Option<String>,
    /// Referrals' page on the cases page.
    pub ref_cursor: Option<String>,
}

pub async fn inspections_list(
    State(app): State<AppState>,
    ctx: Ctx,
    crate::web::AppQuery(q): crate::web::AppQuery<InspectionsQuery>,
) -> std::result::Result<InspectionsPage, PageError> {
    let lang = ctx.lang;
    inspections_page(
        &app,
        &ctx,
        PlanForm::default(),
        q.station_q,
        q.cursor.as_deref(),
        Errors::none(lang),
    )
    .await
    .map_err(|e| PageError::new(e, lang))
}

pub async fn inspections_plan_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(f): Form<PlanForm>,
) -> Response {
    let lang = ctx.lang;
    let ids = |v: &[String]| {
        v.iter()
            .filter_map(|s| Uuid::parse_str(s).ok())
            .collect::<Vec<_>>()
    };
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let target = if f.mode == "draw" {
            let input = DrawInput {
                station_ids: ids(&f.station_ids),
                inspector_ids: ids(&f.inspectors),
                station_count: f.station_count.trim().parse().ok(),
                inspectors_per_station: f.inspectors_per_station.trim().parse().ok(),
                seed: opt(&f.seed),
                planned_on: date(&f.planned_on),
            };
            let (d, _) = store::random_draw(&mut tx, &ctx, &input).await?;
            format!("/inspection-draws/{}", d.id)
        } else {
            let input = PlanInput {
                station_id: Uuid::parse_str(f.station_id.trim()).ok(),
                planned_on: date(&f.planned_on),
                inspectors: ids(&f.inspectors),
            };
            let i = store::plan(&mut tx, &ctx, &input).await?;
            format!("/inspections/{}", i.id)
        };
        tx.commit().await?;
        Ok::<_, AppError>(target)
    }
    .await;
    match result {
        Ok(t) => Redirect::to(&t).into_response(),
        Err(AppError::Forbidden { zh, en }) => {
            // A refused station (R17.1) is shown beside the form.
            let e = AppError::field("station_id", "not_inspectable", zh, en);
            Errors::rerender(lang, e, |errors| {
                inspections_page(&app, &ctx, f.clone(), String::new(), None, errors)
            })
            .await
        }
        Err(e) => {
            Errors::rerender(lang, e, |errors| {
                inspections_page(&app, &ctx, f.clone(), String::new(), None, errors)
            })
            .await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "supervision/inspection.html")]
pub struct InspectionPage {
    layout: Layout,
    i: Inspection,
    orders: Vec<Order>,
    documents: Vec<crate::standards::documents::DocumentInfo>,
    can_record: bool,
    can_approve: bool,
    can_order: bool,
    own_record: bool,
    form: RecordForm,
    errors: Errors,
    error: Option<String>,
    /// The order form as typed (kept when it is refused).
    order: OrderValues,
    order_errors: Errors,
}

/// The rectification order form's values as typed.
#[derive(Debug, Clone)]
pub struct OrderValues {
    pub areas: Vec<String>,
    pub description: String,
    pub period_days: String,
    pub period_unit: String,
    pub issued_on: String,
    /// Typed by the user (else every open area is preselected).
    pub kept: bool,
}

impl Default for OrderValues {
    fn default() -> Self {
        OrderValues {
            areas: Vec::new(),
            description: String::new(),
            period_days: "10".into(),
            period_unit: "working_days".into(),
            issued_on: String::new(),
            kept: false,
        }
    }
}

impl InspectionPage {
    /// 下一步：what happens next and who does it.
    pub fn next_step(&self) -> String {
        let (zh, en) = match self.i.state.as_str() {
            "planned" => (
                "检查人员现场检查后记录五个方面的结论（R17.1）",
                "the inspectors record the five areas after the visit (R17.1)",
            ),
            "recorded" => (
                "记录人以外的审批人确认检查记录（双人复核）",
                "an approver other than the recorder confirms the record (four eyes)",
            ),
            _ if self.unordered().is_empty() => {
                ("无：检查已完成", "nothing: the inspection is complete")
            }
            _ => (
                "对不符合项下达整改通知（R18.1）",
                "issue rectification orders for the nonconformities (R18.1)",
            ),
        };
        format!(
            "{}{}",
            self.layout.pick("下一步：", "Next: "),
            self.layout.pick(zh, en)
        )
    }
    pub fn order_area_checked(&self, a: &str) -> bool {
        !self.order.kept || self.order.areas.iter().any(|x| x == a)
    }
    pub fn order_err(&self, field: &str) -> Option<String> {
        self.order_errors.get(field)
    }
    pub fn order_other_errors(&self) -> Vec<String> {
        self.order_errors.others(&[
            "areas",
            "description",
            "period_days",
            "period_unit",
            "issued_on",
        ])
    }
    pub fn w(&self, s: &str) -> String {
        word(s, self.layout.current_lang())
    }
    pub fn b(&self, s: &str) -> &'static str {
        badge(s)
    }
    pub fn areas(&self) -> Vec<(&'static str, String)> {
        AREAS
            .iter()
            .map(|a| (a.0, self.layout.pick(a.1, a.2).to_owned()))
            .collect()
    }
    pub fn finding_of(&self, key: &str) -> String {
        self.form.finding.get(key).cloned().unwrap_or_default()
    }
    pub fn notes_of(&self, key: &str) -> String {
        self.form.notes.get(key).cloned().unwrap_or_default()
    }
    pub fn recorded(&self, key: &str) -> Option<Finding> {
        self.i.areas.get(key).cloned()
    }
    pub fn err(&self, f: &str) -> Option<String> {
        self.errors.get(f)
    }
    pub fn unordered(&self) -> Vec<String> {
        self.i
            .nonconforming()
            .into_iter()
            .filter(|a| !self.orders.iter().any(|o| o.areas.contains(a)))
            .collect()
    }
}

/// The record form as typed: findings and notes by area.
#[derive(Debug, Default, Clone)]
pub struct RecordForm {
    version: i32,
    inspected_from: String,
    inspected_to: String,
    finding: BTreeMap<String, String>,
    notes: BTreeMap<String, String>,
    cooperation: String,
    cooperation_notes: String,
    summary: String,
}

impl RecordForm {
    fn of(i: &Inspection) -> RecordForm {
        RecordForm {
            version: i.version,
            inspected_from: i.inspected_from.map(|d| d.to_string()).unwrap_or_default(),
            inspected_to: i.inspected_to.map(|d| d.to_string()).unwrap_or_default(),
            finding: i
                .areas
                .iter()
                .map(|(k, f)| (k.clone(), f.finding.clone()))
                .collect(),
            notes: i
                .areas
                .iter()
                .map(|(k, f)| (k.clone(), f.notes.clone().unwrap_or_default()))
                .collect(),
            cooperation: i.cooperation.clone().unwrap_or_default(),
            cooperation_notes: i.cooperation_notes.clone().unwrap_or_default(),
            summary: i.summary.clone().unwrap_or_default(),
        }
    }

    fn from_fields(fields: &[(String, String)]) -> RecordForm {
        let mut f = RecordForm::default();
        for (k, v) in fields {
            match k.as_str() {
                "version" => f.version = v.parse().unwrap_or(0),
                "inspected_from" => f.inspected_from = v.clone(),
                "inspected_to" => f.inspected_to = v.clone(),
                "cooperation" => f.cooperation = v.clone(),
                "cooperation_notes" => f.cooperation_notes = v.clone(),
                "summary" => f.summary = v.clone(),
                k => {
                    if let Some(a) = k.strip_prefix("finding_") {
                        f.finding.insert(a.to_owned(), v.clone());
                    } else if let Some(a) = k.strip_prefix("notes_") {
                        f.notes.insert(a.to_owned(), v.clone());
                    }
                }
            }
        }
        f
    }

    fn input(&self) -> RecordInput {
        RecordInput {
            version: Some(self.version),
            inspected_from: date(&self.inspected_from),
            inspected_to: date(&self.inspected_to),
            areas: self
                .finding
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Finding {
                            finding: v.clone(),
                            notes: self.notes.get(k).and_then(|n| opt(n)),
                        },
                    )
                })
                .collect(),
            cooperation: opt(&self.cooperation),
            cooperation_notes: opt(&self.cooperation_notes),
            summary: opt(&self.summary),
        }
    }
}

async fn inspection_page(
    app: &AppState,
    ctx: &Ctx,
    id: Uuid,
    form: Option<RecordForm>,
    errors: Errors,
    error: Option<String>,
) -> Result<InspectionPage> {
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let i = store::inspection_get(&mut tx, ctx, id).await?;
    // An inspection issues a handful of orders (one per finding at most).
    let (orders, _) = store::orders(
        &mut tx,
        ctx,
        &store::OrderFilter {
            station: Some(i.station_id),
            inspection: Some(id),
            ..Default::default()
        },
        None,
        crate::web::LIST_LIMIT_MAX,
    )
    .await?;
    let documents = crate::standards::documents::list(&mut tx, "inspection", id).await?;
    tx.commit().await?;
    let own = i.org_id == ctx.org_id;
    let approver = match ctx.org_kind {
        OrgKind::Regulator => ctx.has(Role::Approver),
        OrgKind::Department => ctx.has(Role::Officer) || ctx.has(Role::Admin),
        _ => false,
    };
    Ok(InspectionPage {
        layout: Layout::new(
            ctx,
            format!(
                "{} · {}",
                i.station_name,
                ctx.lang.pick("监督检查", "Inspection")
            ),
            "/inspections",
        ),
        can_record: own
            && matches!(i.state.as_str(), "planned" | "recorded")
            && (i.inspectors.contains(&ctx.user_id) || ctx.has(Role::Reviewer)),
        can_approve: own && i.state == "recorded" && approver,
        can_order: own
            && i.state == "completed"
            && (ctx.has(Role::Inspector) || ctx.has(Role::Reviewer) || ctx.has(Role::Officer)),
        own_record: i.recorded_by == Some(ctx.user_id),
        form: form.unwrap_or_else(|| RecordForm::of(&i)),
        errors,
        error,
        order: OrderValues::default(),
        order_errors: Errors::none(ctx.lang),
        orders,
        documents,
        i,
    })
}

pub async fn inspection_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<InspectionPage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(|e| PageError::new(e, lang))?;
    inspection_page(&app, &ctx, id, None, Errors::none(lang), None)
        .await
        .map_err(|e| PageError::new(e, lang))
}

pub async fn inspection_record_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let form = RecordForm::from_fields(&fields);
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::record(&mut tx, &ctx, id, &form.input()).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/inspections/{id}")).into_response(),
        Err(e) => {
            Errors::rerender(lang, e, |errors| {
                inspection_page(&app, &ctx, id, Some(form.clone()), errors, None)
            })
            .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct StepForm {
    version: Option<i32>,
    #[serde(default)]
    reasons: String,
    #[serde(default)]
    report: String,
    #[serde(default)]
    new_due_on: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    fine_amount: String,
    #[serde(default)]
    notes: String,
    // order issuing
    #[serde(default)]
    areas: Vec<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    period_unit: String,
    #[serde(default)]
    period_days: String,
    #[serde(default)]
    issued_on: String,
    confirmed: Option<String>,
}

impl StepForm {
    fn step(&self) -> StepInput {
        StepInput {
            version: self.version,
            reasons: opt(&self.reasons),
            report: opt(&self.report),
            new_due_on: date(&self.new_due_on),
            decision: opt(&self.decision),
            fine_amount: opt(&self.fine_amount),
            notes: opt(&self.notes),
        }
    }
}

fn need_confirmation(step: &str, f: &StepForm) -> Result<()> {
    // Irreversible steps are confirmed: an approval, a decision, a
    // cancellation, publishing a result, closing an order.
    if matches!(step, "approve" | "decide" | "cancel" | "publish" | "close")
        && f.confirmed.is_none()
    {
        return Err(AppError::field(
            "confirmed",
            "confirm",
            "此操作不可撤销，请勾选确认",
            "This cannot be undone: tick the confirmation box",
        ));
    }
    Ok(())
}

pub async fn inspection_step_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path((id, step)): Path<(String, String)>,
    Form(f): Form<StepForm>,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    if step == "orders" {
        return order_issue_submit(app, ctx, id, f).await;
    }
    let result = async {
        need_confirmation(&step, &f)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::inspection_step(&mut tx, &ctx, id, &step, &f.step()).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    crate::web::step_response(
        lang,
        result,
        &format!("/inspections/{id}?done={step}"),
        |msg| inspection_page(&app, &ctx, id, None, Errors::none(lang), Some(msg)),
    )
    .await
}

/// R18.1: issues a rectification order from the inspection page; a refused
/// form comes back with every choice and text as typed, each message beside
/// its field.
async fn order_issue_submit(app: AppState, ctx: Ctx, id: Uuid, f: StepForm) -> Response {
    let lang = ctx.lang;
    let input = OrderInput {
        areas: f.areas.clone(),
        description: opt(&f.description),
        period_unit: opt(&f.period_unit),
        period_days: f.period_days.trim().parse().ok(),
        issued_on: date(&f.issued_on),
    };
    let mut errors = Vec::new();
    if !f.period_days.trim().is_empty() && f.period_days.trim().parse::<u32>().is_err() {
        errors.push(crate::error::FieldError::new(
            "period_days",
            "number",
            "整改期限应为 1–365 之间的整数",
            "The period is a whole number 1–365",
        ));
    }
    if !f.issued_on.trim().is_empty() && input.issued_on.is_none() {
        errors.push(crate::error::FieldError::new(
            "issued_on",
            "date",
            "日期格式应为 YYYY-MM-DD",
            "Date as YYYY-MM-DD",
        ));
    }
    let result = async {
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::order_issue(&mut tx, &ctx, id, &input).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/inspections/{id}?done=orders")).into_response(),
        Err(e) if matches!(e, AppError::Validation(_) | AppError::Conflict { .. }) => {
            let values = OrderValues {
                areas: f.areas.clone(),
                description: f.description.clone(),
                period_days: f.period_days.clone(),
                period_unit: f.period_unit.clone(),
                issued_on: f.issued_on.clone(),
                kept: true,
            };
            Errors::rerender(lang, e, |errors| async {
                let mut page =
                    inspection_page(&app, &ctx, id, None, Errors::none(lang), None).await?;
                page.order = values;
                page.order_errors = errors;
                Ok(page)
            })
            .await
        }
        Err(e) => {
            crate::web::step_response(lang, Err(e), &format!("/inspections/{id}"), |msg| {
                inspection_page(&app, &ctx, id, None, Errors::none(lang), Some(msg))
            })
            .await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "supervision/draw.html")]
pub struct DrawPage {
    layout: Layout,
    r: Rerun,
    names: BTreeMap<Uuid, String>,
    /// The inspections the draw planned, by station (R17.3).
    planned: BTreeMap<Uuid, Uuid>,
}

impl DrawPage {
    pub fn name(&self, id: &serde_json::Value) -> String {
        id.as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .and_then(|u| self.names.get(&u).cloned())
            .unwrap_or_else(|| id.as_str().unwrap_or("").to_owned())
    }
    /// The inspection planned for the station of an assignment.
    pub fn planned_for(&self, station: &serde_json::Value) -> Option<Uuid> {
        station
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .and_then(|s| self.planned.get(&s).copied())
    }
    pub fn uname(&self, id: &Uuid) -> String {
        self.names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
    pub fn assignments(
        &self,
        v: &serde_json::Value,
    ) -> Vec<(serde_json::Value, Vec<serde_json::Value>)> {
        v["assignments"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|a| {
                (
                    a["station"].clone(),
                    a["inspectors"].as_array().cloned().unwrap_or_default(),
                )
            })
            .collect()
    }
}

pub async fn draw_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<DrawPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let id = parse_id(&id)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let r = store::rerun(&mut tx, id).await?;
        let mut ids = r.draw.station_pool.clone();
        ids.extend(r.draw.inspector_pool.iter().copied());
        let names: BTreeMap<Uuid, String> = sqlx::query_as::<_, (Uuid, String)>(
            "select organization_id, name from organization where organization_id = any($1)
             union all select user_id, display_name from app_user where user_id = any($1)",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let planned: BTreeMap<Uuid, Uuid> = sqlx::query_as::<_, (Uuid, Uuid)>(
            "select station_id, inspection_id from inspection where draw_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        tx.commit().await?;
        Ok::<_, AppError>((r, names, planned))
    }
    .await;
    let (r, names, planned) = r.map_err(|e| PageError::new(e, lang))?;
    Ok(DrawPage {
        layout: Layout::new(
            &ctx,
            lang.pick("随机抽取记录（双随机）", "Random draw"),
            "/inspections",
        ),
        r,
        names,
        planned,
    })
}

// ------------------------------------------------------------ orders

#[derive(Template, WebTemplate)]
#[template(path = "supervision/orders.html")]
pub struct OrdersPage {
    layout: Layout,
    rows: Vec<Order>,
    state: String,
    overdue: bool,
    overdue_total: i64,
    next: Option<String>,
    later: bool,
    first: String,
}

impl OrdersPage {
    pub fn w(&self, s: &str) -> String {
        word(s, self.layout.current_lang())
    }
    pub fn b(&self, s: &str) -> &'static str {
        badge(s)
    }
    pub fn areas_text(&self, a: &[String]) -> String {
        a.iter()
            .map(|x| area_label(x, self.layout.current_lang()))
            .collect::<Vec<_>>()
            .join("；")
    }
    /// Whether a listed deadline is provisional (R18.1).
    pub fn any_provisional(&self) -> bool {
        self.rows.iter().any(|o| o.due_provisional)
    }
    /// The explanation under the list, for the first provisional row.
    pub fn provisional_note(&self) -> String {
        self.rows
            .iter()
            .find(|o| o.due_provisional)
            .and_then(|o| {
                if self.layout.is_en() {
                    o.due_note_en.clone()
                } else {
                    o.due_note.clone()
                }
            })
            .unwrap_or_default()
    }
}

pub async fn orders_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<ListQuery>,
) -> std::result::Result<OrdersPage, PageError> {
    let lang = ctx.lang;
    let overdue = q.overdue.unwrap_or(false);
    let r = async {
        let f = store::OrderFilter {
            state: q.state(),
            station: q.station()?,
            overdue_only: overdue,
            ..Default::default()
        };
        let (after, limit) = super::api::page_of(&q.cursor, q.limit)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let page = store::orders(&mut tx, &ctx, &f, after.as_ref(), limit).await?;
        let overdue_total = store::order_count(
            &mut tx,
            &ctx,
            &store::OrderFilter {
                overdue_only: true,
                ..f
            },
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>((page, overdue_total))
    }
    .await;
    let ((rows, next), overdue_total) = r.map_err(|e| PageError::new(e, lang))?;
    let (next, first) = crate::web::page_links("/rectification-orders", &q.kept(), next.as_ref());
    Ok(OrdersPage {
        layout: Layout::new(
            &ctx,
            lang.pick("整改通知", "Rectification orders"),
            "/rectification-orders",
        ),
        rows,
        state: q.state().unwrap_or("").to_owned(),
        overdue,
        overdue_total,
        next,
        later: q.cursor.as_deref().is_some_and(|c| !c.is_empty()),
        first,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "supervision/order.html")]
pub struct OrderPage {
    layout: Layout,
    o: Order,
    documents: Vec<crate::standards::documents::DocumentInfo>,
    is_station: bool,
    is_issuer: bool,
    own_closure: bool,
    error: Option<String>,
}

impl OrderPage {
    /// 下一步：what happens next and who does it.
    pub fn next_step(&self) -> String {
        let (zh, en) = match self.o.state.as_str() {
            "open" => (
                "计量站在期限内整改并提交整改报告",
                "the station corrects and reports before the deadline",
            ),
            "reported" => (
                "下达机关审查整改报告：通过后提请关闭，或不予通过",
                "the issuer reviews the report: accepts and proposes closing, or rejects it",
            ),
            "closing" => (
                "提请人以外的审批人确认关闭（双人复核）",
                "an approver other than the proposer closes it (four eyes)",
            ),
            _ => ("无：整改通知已关闭", "nothing: the order is closed"),
        };
        format!(
            "{}{}",
            self.layout.pick("下一步：", "Next: "),
            self.layout.pick(zh, en)
        )
    }
    pub fn w(&self, s: &str) -> String {
        word(s, self.layout.current_lang())
    }
    pub fn b(&self, s: &str) -> &'static str {
        badge(s)
    }
}

async fn order_page(
    app: &AppState,
    ctx: &Ctx,
    id: Uuid,
    error: Option<String>,
) -> Result<OrderPage> {
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let o = store::order_get(&mut tx, ctx, id).await?;
    let documents = crate::standards::documents::list(&mut tx, "rectification_order", id).await?;
    tx.commit().await?;
    Ok(OrderPage {
        layout: Layout::new(
            ctx,
            format!(
                "{} · {}",
                o.station_name,
                ctx.lang.pick("整改通知", "Rectification order")
            ),
            "/rectification-orders",
        ),
        is_station: ctx.org_id == o.station_id,
        is_issuer: ctx.org_id == o.issuer_id,
        own_closure: o.closure_proposed_by == Some(ctx.user_id),
        documents,
        error,
        o,
    })
}

pub async fn order_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<OrderPage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(|e| PageError::new(e, lang))?;
    order_page(&app, &ctx, id, None)
        .await
        .map_err(|e| PageError::new(e, lang))
}

pub async fn order_step_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path((id, step)): Path<(String, String)>,
    Form(f): Form<StepForm>,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let result = async {
        need_confirmation(&step, &f)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::order_step(&mut tx, &ctx, id, &step, &f.step()).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    crate::web::step_response(
        lang,
        result,
        &format!("/rectification-orders/{id}?done={step}"),
        |msg| order_page(&app, &ctx, id, Some(msg)),
    )
    .await
}

// ------------------------------------------------------------ cases and referrals

#[derive(Template, WebTemplate)]
#[template(path = "supervision/cases.html")]
pub struct CasesPage {
    layout: Layout,
    rows: Vec<Case>,
    stations: Vec<(Uuid, String, String)>,
    /// The station picker's search (issue 14) and whether more matched.
    station_q: String,
    more_stations: bool,
    can_open: bool,
    is_approver: bool,
    referrals: Vec<Referral>,
    errors: Errors,
    form: CaseForm,
    next: Option<String>,
    later: bool,
    first: String,
    ref_next: Option<String>,
    ref_later: bool,
    ref_first: String,
}

impl CasesPage {
    pub fn w(&self, s: &str) -> String {
        word(s, self.layout.current_lang())
    }
    pub fn b(&self, s: &str) -> &'static str {
        badge(s)
    }
    pub fn items(&self) -> Vec<(&'static str, &'static str)> {
        ART16_ITEMS
            .iter()
            .map(|a| (a.0, self.layout.pick(a.1, a.2)))
            .collect()
    }
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct CaseForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    station_id: String,
    #[serde(default)]
    art16_items: Vec<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    evidence: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    referred_on: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    summary: String,
}

impl CaseForm {
    pub fn has_item(&self, i: &str) -> bool {
        self.art16_items.iter().any(|x| x == i)
    }
}

async fn cases_page(
    app: &AppState,
    ctx: &Ctx,
    form: CaseForm,
    q: &InspectionsQuery,
    errors: Errors,
) -> Result<CasesPage> {
    let station_q = q.station_q.clone();
    let after = crate::web::Cursor::parse(q.cursor.as_deref())?;
    let ref_after = crate::web::Cursor::parse(q.ref_cursor.as_deref())?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let (rows, next) = store::cases(&mut tx, ctx, after.as_ref(), crate::web::LIST_LIMIT).await?;
    let can_open =
        ctx.org_kind == OrgKind::Regulator && (ctx.has(Role::Reviewer) || ctx.has(Role::Inspector));
    let is_approver = ctx.org_kind == OrgKind::Regulator && ctx.has(Role::Approver);
    let keep: Vec<Uuid> = Uuid::parse_str(form.station_id.trim())
        .into_iter()
        .collect();
    let (stations, more_stations) = if can_open || is_approver {
        store::inspectable(&mut tx, ctx, Some(&station_q), &keep, PICKER_LIMIT).await?
    } else {
        (Vec::new(), false)
    };
    let (referrals, ref_next) = if is_approver {
        store::referrals(&mut tx, ctx, ref_after.as_ref(), crate::web::LIST_LIMIT).await?
    } else {
        (Vec::new(), None)
    };
    tx.commit().await?;
    let kept = |k: &'static str, c: &Option<String>| (k, c.clone());
    let (next, first) = crate::web::page_links(
        "/cases",
        &[
            ("station_q", Some(station_q.clone())),
            kept("ref_cursor", &q.ref_cursor),
        ],
        next.as_ref(),
    );
    let (ref_next, ref_first) = crate::web::page_links_as(
        "/cases",
        &[
            ("station_q", Some(station_q.clone())),
            kept("cursor", &q.cursor),
        ],
        "ref_cursor",
        ref_next.as_ref(),
    );
    Ok(CasesPage {
        layout: Layout::new(
            ctx,
            ctx.lang
                .pick("违法案件与线索移送", "Violations and referrals"),
            "/cases",
        ),
        rows,
        stations,
        station_q,
        more_stations,
        can_open,
        is_approver,
        referrals,
        errors,
        form,
        next,
        later: after.is_some(),
        first,
        ref_next,
        ref_later: ref_after.is_some(),
        ref_first,
    })
}

pub async fn cases_list(
    State(app): State<AppState>,
    ctx: Ctx,
    crate::web::AppQuery(q): crate::web::AppQuery<InspectionsQuery>,
) -> std::result::Result<CasesPage, PageError> {
    let lang = ctx.lang;
    cases_page(&app, &ctx, CaseForm::default(), &q, Errors::none(lang))
        .await
        .map_err(|e| PageError::new(e, lang))
}

pub async fn cases_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(f): Form<CaseForm>,
) -> Response {
    let lang = ctx.lang;
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let target = if f.kind == "referral" {
            let input = ReferralInput {
                station_id: Uuid::parse_str(f.station_id.trim()).ok(),
                case_id: None,
                recipient: opt(&f.recipient),
                referred_on: date(&f.referred_on),
                reference: opt(&f.reference),
                summary: opt(&f.summary),
            };
            store::referral_create(&mut tx, &ctx, &input).await?;
            "/cases".to_owned()
        } else {
            let input = CaseInput {
                station_id: Uuid::parse_str(f.station_id.trim()).ok(),
                art16_items: f.art16_items.clone(),
                description: opt(&f.description),
                inspection_ids: Vec::new(),
                evidence: opt(&f.evidence),
            };
            let c = store::case_create(&mut tx, &ctx, &input).await?;
            format!("/cases/{}", c.id)
        };
        tx.commit().await?;
        Ok::<_, AppError>(target)
    }
    .await;
    match result {
        Ok(t) => Redirect::to(&t).into_response(),
        Err(e) => {
            let none = InspectionsQuery::default();
            Errors::rerender(lang, e, |errors| {
                cases_page(&app, &ctx, f.clone(), &none, errors)
            })
            .await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "supervision/case.html")]
pub struct CasePage {
    layout: Layout,
    c: Case,
    documents: Vec<crate::standards::documents::DocumentInfo>,
    /// Work records linked as evidence (R19.1).
    records: Vec<crate::records::model::RecordRow>,
    /// The regulator that opened the case (it links records).
    can_link: bool,
    /// The record number typed into the link form, kept on a refusal.
    link_number: String,
    is_reviewer: bool,
    is_approver: bool,
    own_proposal: bool,
    error: Option<String>,
}

impl CasePage {
    pub fn w(&self, s: &str) -> String {
        word(s, self.layout.current_lang())
    }
    pub fn b(&self, s: &str) -> &'static str {
        badge(s)
    }
    pub fn item_text(&self, i: &str) -> String {
        ART16_ITEMS
            .iter()
            .find(|a| a.0 == i)
            .map(|a| format!("（{}）{}", a.0, self.layout.pick(a.1, a.2)))
            .unwrap_or_default()
    }
}

async fn case_page(app: &AppState, ctx: &Ctx, id: Uuid, error: Option<String>) -> Result<CasePage> {
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let c = store::case_get(&mut tx, ctx, id).await?;
    let documents = crate::standards::documents::list(&mut tx, "violation_case", id).await?;
    let records = crate::records::store::case_records(&mut tx, id).await?;
    tx.commit().await?;
    let reg = ctx.org_id == c.regulator_id;
    Ok(CasePage {
        layout: Layout::new(
            ctx,
            format!(
                "{} · {}",
                c.station_name,
                ctx.lang.pick("违法案件", "Violation case")
            ),
            "/cases",
        ),
        is_reviewer: reg && (ctx.has(Role::Reviewer) || ctx.has(Role::Inspector)),
        is_approver: reg && ctx.has(Role::Approver),
        own_proposal: c.proposed_by == Some(ctx.user_id),
        can_link: reg,
        link_number: String::new(),
        error,
        documents,
        records,
        c,
    })
}

/// The record link form: a record of the case's station by its number.
#[derive(Debug, Default, Deserialize)]
pub struct LinkRecordForm {
    #[serde(default)]
    pub number: String,
}

/// Links a work record to the case as evidence (R19.1), by its number.
pub async fn case_record_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<LinkRecordForm>,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let number = f.number.trim().to_owned();
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let record: Option<Uuid> = sqlx::query_scalar(
            "select r.record_id from violation_case c
               join work_record r on r.station_id = c.station_id and r.number = $2
              where c.case_id = $1",
        )
        .bind(id)
        .bind(&number)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(record) = record else {
            return Err(AppError::field(
                "number",
                "unknown_record",
                format!("本案计量站没有编号为“{number}”的证书/报告记录"),
                format!("The case's station has no record numbered {number:?}"),
            ));
        };
        crate::records::api::link_case_record(&mut tx, &ctx, id, record).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/cases/{id}#records-h")).into_response(),
        Err(
            e @ (AppError::Validation(_) | AppError::Conflict { .. } | AppError::Forbidden { .. }),
        ) => {
            let status = e.status_code();
            let msg = match &e {
                AppError::Validation(f) => AppError::fields_text(f, lang),
                other => {
                    let d = other.detail();
                    lang.pick(&d.message, &d.message_en).to_owned()
                }
            };
            match case_page(&app, &ctx, id, Some(msg)).await {
                Ok(mut p) => {
                    p.link_number = number;
                    (status, p).into_response()
                }
                Err(e) => PageError::new(e, lang).into_response(),
            }
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

pub async fn case_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<CasePage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(|e| PageError::new(e, lang))?;
    case_page(&app, &ctx, id, None)
        .await
        .map_err(|e| PageError::new(e, lang))
}

pub async fn case_step_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path((id, step)): Path<(String, String)>,
    Form(f): Form<StepForm>,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let result = async {
        need_confirmation(&step, &f)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::case_step(&mut tx, &ctx, id, &step, &f.step()).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    crate::web::step_response(lang, result, &format!("/cases/{id}?done={step}"), |msg| {
        case_page(&app, &ctx, id, Some(msg))
    })
    .await
}

// ------------------------------------------------------------ public

#[derive(Template, WebTemplate)]
#[template(path = "supervision/public.html")]
pub struct PublicPage {
    layout: Layout,
    rows: Vec<PublicInspection>,
}

impl PublicPage {
    pub fn w(&self, s: &str) -> String {
        word(s, self.layout.current_lang())
    }
    pub fn b(&self, s: &str) -> &'static str {
        badge(s)
    }
}

pub async fn public_inspections(
    State(app): State<AppState>,
    lang: crate::i18n::Lang,
) -> std::result::Result<PublicPage, PageError> {
    let rows = store::public_inspections(&app.db)
        .await
        .map_err(|e| PageError::new(e, lang))?;
    Ok(PublicPage {
        layout: Layout::anon(
            lang,
            lang.pick("双随机抽查结果公示", "Random inspection results"),
            "/inspection-results",
        ),
        rows,
    })
}

/// Evidence upload from the inspection or order page; back to the page.
pub async fn evidence_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    multipart: axum::extract::Multipart,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let (owner, back) = if uri.path().starts_with("/inspections/") {
        ("inspection", format!("/inspections/{id}"))
    } else if uri.path().starts_with("/cases/") {
        ("violation_case", format!("/cases/{id}"))
    } else {
        ("rectification_order", format!("/rectification-orders/{id}"))
    };
    match super::api::upload_evidence(&app, &ctx, owner, id, multipart).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) if e.status_code().is_client_error() && !matches!(e, AppError::NotFound) => {
            let msg = e.summary(lang);
            let page = if owner == "inspection" {
                inspection_page(&app, &ctx, id, None, Errors::none(lang), Some(msg))
                    .await
                    .map(|p| (e.status_code(), p).into_response())
            } else if owner == "violation_case" {
                case_page(&app, &ctx, id, Some(msg))
                    .await
                    .map(|p| (e.status_code(), p).into_response())
            } else {
                order_page(&app, &ctx, id, Some(msg))
                    .await
                    .map(|p| (e.status_code(), p).into_response())
            };
            page.unwrap_or_else(|e| PageError::new(e, lang).into_response())
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}
