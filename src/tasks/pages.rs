//! Pages of my work: the task list, a day's digest, my preferences, and
//! the operator's reminder policy.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use axum_extra::extract::Form;
use chrono::NaiveDate;
use serde::Deserialize;

use super::api::{self, Digest, PolicyBody, Preferences, TaskList, TaskQuery};
use super::collect::KINDS;
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{AppError, FieldError, Result};
use crate::state::AppState;
use crate::web::{AppQuery, Layout, PageError};

#[derive(Template, WebTemplate)]
#[template(path = "tasks/list.html")]
pub struct TasksPage {
    layout: Layout,
    list: TaskList,
    q: TaskQuery,
    kinds: Vec<(&'static str, &'static str)>,
    digests: Vec<Digest>,
    error: Option<String>,
}

impl TasksPage {
    /// This list's address from `after` (the filters kept).
    fn page_link(&self, after: Option<&str>) -> String {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("scope", &self.q.scope), ("kind", &self.q.kind)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                pairs.append_pair(k, v);
            }
        }
        if let Some(l) = self.q.limit {
            pairs.append_pair("limit", &l.to_string());
        }
        if let Some(a) = after {
            pairs.append_pair("after", a);
        }
        format!("/tasks?{}", pairs.finish())
    }
    fn scope_org(&self) -> bool {
        self.q.scope.as_deref() == Some("org")
    }
    fn kind_is(&self, k: &str) -> bool {
        self.q.kind.as_deref() == Some(k)
    }
    fn urgency(&self, t: &super::Task) -> &'static str {
        match t.urgency {
            crate::rules::reminders::Urgency::Overdue => "overdue",
            crate::rules::reminders::Urgency::Soon => "soon",
            crate::rules::reminders::Urgency::Later => "later",
            crate::rules::reminders::Urgency::Undated => "undated",
        }
    }
    fn when(&self, t: &super::Task) -> String {
        match t.days_left {
            None => self.layout.pick("无期限", "no deadline").into(),
            Some(d) if d < 0 => format!(
                "{}{}{}",
                self.layout.pick("逾期 ", "overdue by "),
                -d,
                self.layout.pick(" 天", " days")
            ),
            Some(0) => self.layout.pick("今天到期", "due today").into(),
            Some(d) => format!(
                "{}{}{}",
                self.layout.pick("还有 ", ""),
                d,
                self.layout.pick(" 天", " days left")
            ),
        }
    }
}

/// `/tasks`: my work.
pub async fn tasks_page(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<TaskQuery>,
) -> std::result::Result<TasksPage, PageError> {
    let lang = ctx.lang;
    let result: Result<(Vec<super::Task>, Vec<Digest>)> = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let tasks = api::tasks_for(&mut tx, &ctx).await?;
        let digests = api::digests(&mut tx, 5, None).await?;
        tx.commit().await?;
        Ok((tasks, digests))
    }
    .await;
    let (tasks, digests) = result.map_err(|e| PageError::new(e, lang))?;
    let mut page = TasksPage {
        layout: Layout::new(&ctx, lang.pick("我的待办", "My work"), "/tasks"),
        list: TaskList {
            tasks: Vec::new(),
            total: 0,
            overdue: 0,
            due_within_7_days: 0,
            next: None,
        },
        q: q.clone(),
        kinds: KINDS
            .iter()
            .map(|k| (k.code, if lang.is_en() { k.en } else { k.zh }))
            .collect(),
        digests,
        error: None,
    };
    match api::filter(tasks, &q) {
        Ok(list) => page.list = list,
        Err(AppError::Validation(f)) => page.error = Some(AppError::fields_text(&f, lang)),
        Err(e) => return Err(PageError::new(e, lang)),
    }
    Ok(page)
}

#[derive(Template, WebTemplate)]
#[template(path = "tasks/digest.html")]
pub struct DigestPage {
    layout: Layout,
    d: Digest,
}

/// `/tasks/digests/{day}`: one day's digest (opening it marks it read).
pub async fn digest_page(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(day): Path<String>,
) -> std::result::Result<DigestPage, PageError> {
    let lang = ctx.lang;
    let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .map_err(|_| PageError::new(AppError::NotFound, lang))?;
    let result: Result<Digest> = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let next = day.succ_opt().unwrap_or(day);
        let d = api::digests(&mut tx, 1, Some(next))
            .await?
            .into_iter()
            .find(|d| d.day == day)
            .ok_or(AppError::NotFound)?;
        sqlx::query("update task_digest set read_at = now() where user_id = (select app_user_id()) and day = $1 and read_at is null")
            .bind(day)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(d)
    }
    .await;
    let d = result.map_err(|e| PageError::new(e, lang))?;
    Ok(DigestPage {
        layout: Layout::new(
            &ctx,
            format!("{} {}", d.day, lang.pick("待办提醒", "reminders")),
            "/tasks",
        ),
        d,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "tasks/profile.html")]
pub struct ProfilePage {
    layout: Layout,
    p: Preferences,
    email: Option<String>,
    mail_on: bool,
    error: Option<String>,
}

async fn profile(app: &AppState, ctx: &Ctx) -> Result<(Preferences, Option<String>)> {
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let p = api::preferences(&mut tx).await?;
    let email: Option<String> = sqlx::query_scalar("select email from app_user where user_id = $1")
        .bind(ctx.user_id)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
    tx.commit().await?;
    Ok((p, email))
}

/// `/profile`: my language and e-mail.
pub async fn profile_page(
    State(app): State<AppState>,
    ctx: Ctx,
) -> std::result::Result<ProfilePage, PageError> {
    let lang = ctx.lang;
    let (p, email) = profile(&app, &ctx)
        .await
        .map_err(|e| PageError::new(e, lang))?;
    Ok(ProfilePage {
        layout: Layout::new(&ctx, lang.pick("个人设置", "My settings"), "/profile"),
        p,
        email,
        mail_on: app.mail.is_on(),
        error: None,
    })
}

/// The preferences form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    pub lang: String,
    /// The checkbox: present when e-mail is wanted.
    pub email: Option<String>,
    #[serde(default)]
    pub version: String,
}

/// Saves my preferences; the language also switches the pages.
pub async fn profile_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    jar: CookieJar,
    Form(f): Form<ProfileForm>,
) -> Response {
    let lang = ctx.lang;
    let p = Preferences {
        lang: f.lang.trim().to_owned(),
        email_opt_out: f.email.is_none(),
        version: f.version.trim().parse().unwrap_or(-1),
    };
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let saved = api::save_preferences(&mut tx, &ctx, &p).await?;
        tx.commit().await?;
        Ok::<_, AppError>(saved)
    }
    .await;
    match result {
        Ok(saved) => {
            let cookie = Cookie::build(("lang", saved.lang.clone()))
                .path("/")
                .same_site(axum_extra::extract::cookie::SameSite::Lax)
                .permanent();
            (jar.add(cookie), Redirect::to("/profile?done=saved")).into_response()
        }
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let status = e.status_code();
            let msg = match &e {
                AppError::Validation(f) => AppError::fields_text(f, lang),
                other => {
                    let d = other.detail();
                    lang.pick(&d.message, &d.message_en).to_owned()
                }
            };
            match profile(&app, &ctx).await {
                Ok((mut current, email)) => {
                    // The user's choice is kept; the version is the fresh one.
                    current.lang = if matches!(p.lang.as_str(), "zh" | "en") {
                        p.lang
                    } else {
                        current.lang
                    };
                    current.email_opt_out = p.email_opt_out;
                    let page = ProfilePage {
                        layout: Layout::new(&ctx, lang.pick("个人设置", "My settings"), "/profile"),
                        p: current,
                        email,
                        mail_on: app.mail.is_on(),
                        error: Some(msg),
                    };
                    (status, page).into_response()
                }
                Err(e) => PageError::new(e, lang).into_response(),
            }
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "tasks/policy.html")]
pub struct PolicyPage {
    layout: Layout,
    p: PolicyBody,
    leads: String,
    errors: Vec<FieldError>,
}

impl PolicyPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| self.layout.pick(&e.message, &e.message_en).to_owned())
    }
}

/// `/admin/reminders`: the operator's reminder policy.
pub async fn policy_page(
    State(app): State<AppState>,
    ctx: Ctx,
) -> std::result::Result<PolicyPage, PageError> {
    let lang = ctx.lang;
    if !ctx.is_operator() {
        return Err(PageError::new(
            AppError::forbidden(
                "只有平台运维人员可以修改提醒策略",
                "Only the operator sets the reminder policy",
            ),
            lang,
        ));
    }
    let result: Result<PolicyBody> = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let p = api::policy_read(&mut tx).await?;
        tx.commit().await?;
        Ok(p)
    }
    .await;
    let p = result.map_err(|e| PageError::new(e, lang))?;
    Ok(PolicyPage {
        layout: Layout::new(
            &ctx,
            lang.pick("提醒策略", "Reminder policy"),
            "/admin/reminders",
        ),
        leads: p
            .lead_days
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        p,
        errors: Vec::new(),
    })
}

/// The policy form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    pub lead_days: String,
    #[serde(default)]
    pub escalate_after_working_days: String,
    #[serde(default)]
    pub version: String,
}

pub async fn policy_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(f): Form<PolicyForm>,
) -> Response {
    let lang = ctx.lang;
    let mut errors = Vec::new();
    let leads: Vec<i32> = f
        .lead_days
        .split([' ', ',', '，', '、'])
        .filter(|s| !s.trim().is_empty())
        .filter_map(|s| match s.trim().parse() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::new(
                    "lead_days",
                    "invalid",
                    "提前天数应为整数，用空格分隔",
                    "Whole numbers separated by spaces",
                ));
                None
            }
        })
        .collect();
    let escalate = f
        .escalate_after_working_days
        .trim()
        .parse::<i32>()
        .unwrap_or_else(|_| {
            errors.push(FieldError::new(
                "escalate_after_working_days",
                "invalid",
                "应为整数",
                "A whole number",
            ));
            0
        });
    let body = PolicyBody {
        lead_days: leads,
        escalate_after_working_days: escalate,
        version: f.version.trim().parse().unwrap_or(-1),
    };
    let result = async {
        if !errors.is_empty() {
            return Err(AppError::Validation(errors.clone()));
        }
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let saved = api::policy_save(&mut tx, &ctx, &body).await?;
        tx.commit().await?;
        Ok::<_, AppError>(saved)
    }
    .await;
    match result {
        Ok(_) => Redirect::to("/admin/reminders?done=saved").into_response(),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let status = e.status_code();
            let errors = match e {
                AppError::Validation(f) => f,
                other => {
                    let d = other.detail();
                    vec![FieldError::new("version", "stale", d.message, d.message_en)]
                }
            };
            let current = async {
                let mut tx = tenant_tx(&app.db, &ctx).await?;
                let p = api::policy_read(&mut tx).await?;
                tx.commit().await?;
                Ok::<_, AppError>(p)
            }
            .await;
            match current {
                Ok(p) => (
                    status,
                    PolicyPage {
                        layout: Layout::new(
                            &ctx,
                            lang.pick("提醒策略", "Reminder policy"),
                            "/admin/reminders",
                        ),
                        leads: f.lead_days.clone(),
                        p: PolicyBody {
                            escalate_after_working_days: escalate,
                            ..p
                        },
                        errors,
                    },
                )
                    .into_response(),
                Err(e) => PageError::new(e, lang).into_response(),
            }
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}
