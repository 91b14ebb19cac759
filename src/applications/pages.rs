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
use crate::state::AppState;
use crate::web::{parse_id, AppQuery, Layout, PageError};

#[derive(Template, WebTemplate)]
#[template(path = "applications/list.html")]
pub struct ListPage {
    layout: Layout,
    apps: Vec<Application>,
}

pub async fn applications_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<super::api::ApplicationQuery>,
) -> std::result::Result<ListPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let state = q.state.as_deref().and_then(ApplicationState::parse);
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let apps = store::list(&mut tx, &app.db, &ctx, state).await?;
        tx.commit().await?;
        Ok::<_, AppError>(apps)
    }
    .await;
    let apps = r.map_err(|e| PageError::new(e, lang))?;
    Ok(ListPage {
        layout: Layout::new(
            &ctx,
            lang.pick("建站授权申请", "Applications"),
            "/applications",
        ),
        apps,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "applications/detail.html")]
pub struct DetailPage {
    layout: Layout,
    a: Application,
    is_dept: bool,
    is_reviewer: bool,
    is_approver: bool,
    own_proposal: bool,
    error: Option<String>,
}

async fn detail(app: &AppState, ctx: &Ctx, id: Uuid, error: Option<String>) -> Result<DetailPage> {
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let a = store::get(&mut tx, &app.db, ctx, id).await?;
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
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

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
        if matches!(step, Step::Confirm | Step::Withdraw) && f.confirmed.is_none() {
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
        };
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::step(&mut tx, &app.db, &ctx, id, step, &input).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/applications/{id}")).into_response(),
        Err(e) if e.status_code().is_client_error() && !matches!(e, AppError::NotFound) => {
            let d = e.detail();
            let mut msg = if lang.is_en() {
                d.message_en
            } else {
                d.message
            };
            for fe in &d.fields {
                msg.push('；');
                msg.push_str(if lang.is_en() {
                    &fe.message_en
                } else {
                    &fe.message
                });
            }
            match detail(&app, &ctx, id, Some(msg)).await {
                Ok(p) => (e.status_code(), p).into_response(),
                Err(e) => PageError::new(e, lang).into_response(),
            }
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

impl DetailPage {
    pub fn state_label(&self) -> &'static str {
        self.a.state.label(self.layout.current_lang())
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
