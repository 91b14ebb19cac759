//! Comparison pages (R9.2): the list, opening one (participants proposed
//! from the authorized items, chosen by the organizer), and the
//! comparison's page with each party's step and, from Draft A on, the
//! report: the table beside the chart.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use super::model::*;
use super::store;
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{AppError, FieldError, Result};
use crate::state::AppState;
use crate::web::{list_limit, page_links, parse_id, AppQuery, Cursor, Layout, PageError};

#[derive(Template, WebTemplate)]
#[template(path = "comparisons/list.html")]
pub struct ListPage {
    layout: Layout,
    rows: Vec<ComparisonRow>,
    state: String,
    can_open: bool,
    next: Option<String>,
    first: String,
    later: bool,
}

impl ListPage {
    fn label(&self, s: &str) -> &'static str {
        state_label(s, self.layout.is_en())
    }
    fn states(&self) -> &'static [&'static str] {
        &STATES
    }
}

/// `/comparisons`.
pub async fn list_show(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<super::api::ComparisonQuery>,
) -> std::result::Result<ListPage, PageError> {
    let lang = ctx.lang;
    async {
        let state = q.state()?;
        let cursor = Cursor::parse(q.cursor.as_deref())?;
        let limit = list_limit(q.limit)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let rows = store::list(&mut tx, state, cursor.as_ref().map(|c| c.id), limit + 1).await?;
        let can_open = store::may_organize(&mut tx, &ctx).await?;
        tx.commit().await?;
        let (rows, next) = crate::web::keyset_page(rows, limit, |r| Cursor::new("", r.id));
        let (next, first) = page_links(
            "/comparisons",
            &[("state", state.map(str::to_owned))],
            next.as_ref(),
        );
        Ok::<_, AppError>(ListPage {
            layout: Layout::new(&ctx, lang.pick("计量比对", "Comparisons"), "/comparisons"),
            rows,
            state: state.unwrap_or("").to_owned(),
            can_open,
            next,
            first,
            later: cursor.is_some(),
        })
    }
    .await
    .map_err(|e| PageError::new(e, lang))
}

/// The opening form as typed (also the query of a candidate search, which
/// keeps everything typed so far).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub item: String,
    #[serde(default)]
    pub measurand: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub pilot_station_id: String,
    #[serde(default)]
    pub transfer_standard: String,
    #[serde(default)]
    pub schedule_notes: String,
    #[serde(default)]
    pub results_due_on: String,
    #[serde(default)]
    pub station_ids: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "comparisons/new.html")]
pub struct NewPage {
    layout: Layout,
    f: NewForm,
    candidates: Vec<Candidate>,
    /// Circulation dates typed per station: (station, receive, return).
    slots: Vec<(String, String, String)>,
    errors: Vec<FieldError>,
    error: Option<String>,
}

impl NewPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| self.layout.pick(&e.message, &e.message_en).to_owned())
    }
    fn chosen(&self, id: &Uuid) -> bool {
        let s = id.to_string();
        self.f.station_ids.contains(&s)
    }
    fn slot(&self, id: &Uuid, which: usize) -> String {
        let s = id.to_string();
        self.slots
            .iter()
            .find(|x| x.0 == s)
            .map(|x| if which == 0 { x.1.clone() } else { x.2.clone() })
            .unwrap_or_default()
    }
}

async fn new_page(
    app: &AppState,
    ctx: &Ctx,
    f: NewForm,
    slots: Vec<(String, String, String)>,
    errors: Vec<FieldError>,
) -> Result<NewPage> {
    let mut conn = app.db.acquire().await?;
    let candidates = store::candidates(&mut conn, &f.item, &f.field, 200).await?;
    drop(conn);
    let error = (!errors.is_empty()).then(|| AppError::fields_text(&errors, ctx.lang));
    Ok(NewPage {
        layout: Layout::new(
            ctx,
            ctx.lang.pick("发起计量比对", "Open a comparison"),
            "/comparisons",
        ),
        f,
        candidates,
        slots,
        errors,
        error,
    })
}

/// `/comparisons/new`: the form; `?item=` proposes the participants.
pub async fn new_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> std::result::Result<NewPage, PageError> {
    let lang = ctx.lang;
    let (f, slots) = read_new(&pairs);
    async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        if !store::may_organize(&mut tx, &ctx).await? {
            return Err(AppError::forbidden(
                "只有国家专业计量站总站、市场监管总局或省级市场监管部门可以组织计量比对",
                "Only a national head station, SAMR or a provincial regulator organizes comparisons",
            ));
        }
        tx.commit().await?;
        new_page(&app, &ctx, f, slots, Vec::new()).await
    }
    .await
    .map_err(|e| PageError::new(e, lang))
}

/// The form's pairs: the named fields, and `receive_on:<station>` /
/// `return_on:<station>` of each row.
fn read_new(pairs: &[(String, String)]) -> (NewForm, Vec<(String, String, String)>) {
    let mut f = NewForm::default();
    let mut slots: Vec<(String, String, String)> = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "title" => f.title = v.clone(),
            "field" => f.field = v.clone(),
            "item" => f.item = v.clone(),
            "measurand" => f.measurand = v.clone(),
            "unit" => f.unit = v.clone(),
            "pilot_station_id" => f.pilot_station_id = v.clone(),
            "transfer_standard" => f.transfer_standard = v.clone(),
            "schedule_notes" => f.schedule_notes = v.clone(),
            "results_due_on" => f.results_due_on = v.clone(),
            "station_ids" => f.station_ids.push(v.clone()),
            other => {
                let (which, id) = match other.split_once(':') {
                    Some(("receive_on", id)) => (0, id),
                    Some(("return_on", id)) => (1, id),
                    _ => continue,
                };
                let i = match slots.iter().position(|s| s.0 == id) {
                    Some(i) => i,
                    None => {
                        slots.push((id.to_owned(), String::new(), String::new()));
                        slots.len() - 1
                    }
                };
                if which == 0 {
                    slots[i].1 = v.clone();
                } else {
                    slots[i].2 = v.clone();
                }
            }
        }
    }
    (f, slots)
}

use crate::web::form_text as opt;

/// Opens the comparison and shows it.
pub async fn new_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let lang = ctx.lang;
    let (f, slots) = read_new(&pairs);
    let result = async {
        let mut errors = Vec::new();
        let due = crate::web::form_date(&mut errors, "results_due_on", &f.results_due_on);
        let pilot = match f.pilot_station_id.trim() {
            "" => None,
            s => match Uuid::parse_str(s) {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(FieldError::new(
                        "pilot_station_id",
                        "invalid",
                        "请从候选计量站中选择主导实验室",
                        "Choose the pilot laboratory among the proposed stations",
                    ));
                    None
                }
            },
        };
        let mut participants = Vec::new();
        for s in &f.station_ids {
            let Ok(id) = Uuid::parse_str(s.trim()) else {
                continue;
            };
            let slot = slots.iter().find(|x| x.0 == id.to_string());
            participants.push(ParticipantInput {
                station_id: id,
                receive_on: slot
                    .and_then(|x| crate::web::form_date(&mut errors, "participants", &x.1)),
                return_on: slot
                    .and_then(|x| crate::web::form_date(&mut errors, "participants", &x.2)),
            });
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let input = ComparisonInput {
            title: opt(&f.title),
            field: opt(&f.field),
            item: opt(&f.item),
            measurand: opt(&f.measurand),
            unit: opt(&f.unit),
            pilot_station_id: pilot,
            transfer_standard: opt(&f.transfer_standard),
            schedule_notes: opt(&f.schedule_notes),
            results_due_on: due,
            participants,
        };
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let id = store::create(&mut tx, &ctx, &input).await?;
        tx.commit().await?;
        Ok::<_, AppError>(id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/comparisons/{id}")).into_response(),
        Err(AppError::Validation(errors)) => match new_page(&app, &ctx, f, slots, errors).await {
            Ok(p) => (axum::http::StatusCode::UNPROCESSABLE_ENTITY, p).into_response(),
            Err(e) => PageError::new(e, lang).into_response(),
        },
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "comparisons/show.html")]
pub struct ShowPage {
    layout: Layout,
    c: Comparison,
    chart: Option<String>,
    error: Option<String>,
    /// The caller's own participation, if any.
    me: Option<Participant>,
    is_regulator: bool,
    /// The participants this regulator authorized (its follow-ups).
    own_stations: Vec<Uuid>,
    today: NaiveDate,
}

impl ShowPage {
    fn label(&self, s: &str) -> &'static str {
        state_label(s, self.layout.is_en())
    }
    fn action(&self, step: &str) -> String {
        format!("/comparisons/{}/{step}", self.c.id)
    }
    fn en_text(&self, v: &Option<f64>) -> String {
        v.map(|e| format!("{e:.2}")).unwrap_or_else(|| "—".into())
    }
    fn is_organizer(&self) -> bool {
        self.c.my_role == "organizer"
    }
    fn pending_changes(&self) -> Vec<&Participant> {
        self.c
            .participants
            .iter()
            .filter(|p| p.change_reason.is_some())
            .collect()
    }
    fn submitted_count(&self) -> usize {
        self.c.participants.iter().filter(|p| p.submitted).count()
    }
    /// Whether the report (values, En) is shown: from Draft A on, or to
    /// the organizer once closed.
    fn report_shown(&self) -> bool {
        matches!(self.c.state.as_str(), "draft_a" | "final")
            || (self.is_organizer() && self.c.state == "closed")
    }
    /// Follow-ups this regulator owes (its stations' unsatisfactory results).
    fn to_follow(&self) -> Vec<&Participant> {
        if !self.is_regulator || self.c.state != "final" {
            return Vec::new();
        }
        self.c
            .participants
            .iter()
            .filter(|p| {
                p.satisfactory == Some(false)
                    && p.follow_up.is_none()
                    && self.own_stations.contains(&p.station_id)
            })
            .collect()
    }
    fn num(&self, v: &f64) -> String {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

async fn show_page(app: &AppState, ctx: &Ctx, id: Uuid, error: Option<String>) -> Result<ShowPage> {
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let c = store::get(&mut tx, id).await?;
    // Regulators follow up only their own stations' results.
    let own_stations: Vec<Uuid> = if ctx.org_kind == crate::auth::OrgKind::Regulator {
        let ids: Vec<Uuid> = c.participants.iter().map(|p| p.station_id).collect();
        sqlx::query_scalar(
            "select station_id from station where station_id = any($1) and authorizing_regulator_id = $2",
        )
        .bind(&ids)
        .bind(ctx.org_id)
        .fetch_all(&mut *tx)
        .await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let is_regulator = !own_stations.is_empty();
    let chart = super::api::chart_of(&c, ctx.lang.is_en())
        .filter(|_| matches!(c.state.as_str(), "closed" | "draft_a" | "final"));
    let me = c
        .participants
        .iter()
        .find(|p| p.station_id == ctx.org_id)
        .cloned();
    Ok(ShowPage {
        layout: Layout::new(ctx, c.title.clone(), "/comparisons"),
        c,
        chart,
        error,
        me,
        is_regulator,
        own_stations,
        today: crate::web::today(),
    })
}

/// `/comparisons/{id}`.
pub async fn show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<ShowPage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(|e| PageError::new(e, lang))?;
    show_page(&app, &ctx, id, None)
        .await
        .map_err(|e| PageError::new(e, lang))
}

/// A step's form as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct StepForm {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub uncertainty: String,
    #[serde(default)]
    pub coverage_factor: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub station_id: String,
    #[serde(default)]
    pub accept: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub reference_value: String,
    #[serde(default)]
    pub reference_uncertainty: String,
    #[serde(default)]
    pub reference_stations: Vec<String>,
    #[serde(default)]
    pub corrective_action: String,
    #[serde(default)]
    pub follow_up: String,
    #[serde(default)]
    pub planned_on: String,
    pub confirmed: Option<String>,
}

fn number(field: &str, v: &str, errors: &mut Vec<FieldError>) -> Option<f64> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Some(x),
        _ => {
            errors.push(FieldError::new(
                field,
                "number",
                "应为数值（如 10.0012 或 1.2e-3）",
                "A number (such as 10.0012 or 1.2e-3)",
            ));
            None
        }
    }
}

impl StepForm {
    fn input(&self, step: &str) -> Result<StepInput> {
        let mut errors = Vec::new();
        if matches!(step, "final" | "cancel" | "close") && self.confirmed.is_none() {
            errors.push(FieldError::new(
                "confirmed",
                "confirm",
                "此操作不可撤销，请勾选确认",
                "This cannot be undone: tick the confirmation box",
            ));
        }
        let input = StepInput {
            version: self.version.trim().parse().ok(),
            value: number("value", &self.value, &mut errors),
            uncertainty: number("uncertainty", &self.uncertainty, &mut errors),
            coverage_factor: number("coverage_factor", &self.coverage_factor, &mut errors),
            notes: opt(&self.notes),
            reason: opt(&self.reason),
            station_id: Uuid::parse_str(self.station_id.trim()).ok(),
            accept: match self.accept.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            method: opt(&self.method),
            reference_value: number("reference_value", &self.reference_value, &mut errors),
            reference_uncertainty: number(
                "reference_uncertainty",
                &self.reference_uncertainty,
                &mut errors,
            ),
            reference_stations: self
                .reference_stations
                .iter()
                .filter_map(|s| Uuid::parse_str(s.trim()).ok())
                .collect(),
            corrective_action: opt(&self.corrective_action),
            follow_up: opt(&self.follow_up),
            planned_on: crate::web::form_date(&mut errors, "planned_on", &self.planned_on),
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(input)
    }
}

/// A step from the comparison's page.
pub async fn step_submit(
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
        let input = f.input(&step)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::step(&mut tx, &ctx, id, &step, &input).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    crate::web::step_response(
        lang,
        result,
        &format!("/comparisons/{id}?done=cmp_{step}"),
        |msg| show_page(&app, &ctx, id, Some(msg)),
    )
    .await
}

/// A document from the comparison's page.
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
    crate::web::step_response(
        lang,
        result,
        &format!("/comparisons/{id}?done=upload"),
        |msg| show_page(&app, &ctx, id, Some(msg)),
    )
    .await
}
