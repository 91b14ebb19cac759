//! JSON of my work: the task list, the digests, my preferences, and the
//! operator's reminder policy.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::collect::{self, kind_info};
use super::digest::DigestItem;
use super::{place, Task, Who};
use crate::audit::{self, Event};
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, FieldError, Result};
use crate::state::AppState;
use crate::web::{today, AppJson, AppQuery};

/// Every task of the caller (their organization's; see [`Task::mine`]),
/// by due date.
pub async fn tasks_for(conn: &mut sqlx::PgConnection, ctx: &Ctx) -> Result<Vec<Task>> {
    // One statement before the collector's: generic plans for it (its
    // text is the same for every request of an organization kind), the
    // calendar's fingerprint and the reminder policy.
    type Context = (
        String,
        String,
        i64,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<Vec<i32>>,
        Option<i32>,
    );
    let (_, db, count, newest, leads, escalate): Context = sqlx::query_as(&format!(
        "select {}, {}, (select lead_days from reminder_policy),
                (select escalate_after_working_days from reminder_policy)",
        crate::db::GENERIC_PLANS,
        crate::calendar::store::PRINT
    ))
    .fetch_one(&mut *conn)
    .await?;
    let cal = crate::calendar::store::cached(conn, (db, count, newest)).await?;
    let policy = super::policy_of(leads.zip(escalate));
    let today = today();
    let raw = collect::collect(conn, Some((ctx.org_id, ctx.org_kind)), &cal, today).await?;
    let who = Who {
        user_id: ctx.user_id,
        org_id: ctx.org_id,
        roles: ctx.roles.clone(),
        operator: ctx.is_operator(),
    };
    Ok(place(&raw, &who, &cal, today, &policy))
}

/// Filters of the task list.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// `mine` (default: what a role of mine does, assigned or escalated to
    /// me) or `org` (everything that waits for my organization).
    pub scope: Option<String>,
    /// A kind of task (`collect::KINDS`).
    pub kind: Option<String>,
    /// At most this many (1–500, default 200).
    pub limit: Option<i64>,
    /// Where the page starts: the `next` of the previous page (the key of
    /// its last task; the order is by due date, kind, then key).
    pub after: Option<String>,
}

/// The list and its counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskList {
    pub tasks: Vec<Task>,
    /// Of the whole filtered list (before the limit).
    pub total: usize,
    pub overdue: usize,
    pub due_within_7_days: usize,
    /// The `after` of the next page, when there is one.
    pub next: Option<String>,
}

/// Filters, counts and cuts the list.
pub fn filter(tasks: Vec<Task>, q: &TaskQuery) -> Result<TaskList> {
    let mut errors = Vec::new();
    let org = match q.scope.as_deref().map(str::trim) {
        None | Some("") | Some("mine") => false,
        Some("org") => true,
        Some(_) => {
            errors.push(FieldError::new(
                "scope",
                "invalid",
                "范围应为 mine（我的）或 org（本单位）",
                "scope is mine or org",
            ));
            false
        }
    };
    let kind = q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty());
    if kind.is_some_and(|k| kind_info(k).is_none()) {
        errors.push(FieldError::new(
            "kind",
            "invalid",
            "待办类别取值无效",
            "Unknown kind",
        ));
    }
    let limit = q.limit.unwrap_or(200);
    if !(1..=500).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            "out_of_range",
            "limit 应在 1 到 500 之间",
            "limit must be 1 to 500",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let tasks: Vec<Task> = tasks
        .into_iter()
        .filter(|t| org || t.mine)
        .filter(|t| kind.is_none_or(|k| t.kind == k))
        .collect();
    let total = tasks.len();
    // The page: after the cursor's place in the order (a task done since
    // is no longer there; its key still says where it stood).
    let start = match q.after.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => 0,
        Some(after) => {
            let at = super::order_of_key(after).ok_or_else(|| {
                AppError::field(
                    "after",
                    "invalid",
                    "分页位置无效，请从第一页开始",
                    "Not a page position: start from the first page",
                )
            })?;
            tasks.partition_point(|t| super::order_of(t) <= at)
        }
    };
    let overdue = tasks
        .iter()
        .filter(|t| t.days_left.is_some_and(|d| d < 0))
        .count();
    let soon = tasks
        .iter()
        .filter(|t| t.days_left.is_some_and(|d| (0..=7).contains(&d)))
        .count();
    let page: Vec<Task> = tasks
        .into_iter()
        .skip(start)
        .take(limit as usize + 1)
        .collect();
    let more = page.len() > limit as usize;
    let mut page = page;
    page.truncate(limit as usize);
    let next = more.then(|| page.last().map(|t| t.key.clone())).flatten();
    Ok(TaskList {
        tasks: page,
        total,
        overdue,
        due_within_7_days: soon,
        next,
    })
}

/// My work 我的待办: everything that waits for me (or my organization),
/// each with what to do, on which record, by when and the link to do it;
/// overdue first, then by due date; undated last.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskQuery),
    responses((status = 200, body = TaskList), (status = 422, body = ErrorBody)))]
pub async fn tasks_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<TaskQuery>,
) -> Result<AppJson<TaskList>> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let tasks = tasks_for(&mut tx, &ctx).await?;
    tx.commit().await?;
    Ok(AppJson(filter(tasks, &q)?))
}

/// A day's digest of reminders.
#[derive(Debug, Serialize, ToSchema)]
pub struct Digest {
    pub day: NaiveDate,
    pub items: Vec<DigestItem>,
    pub emailed: bool,
    pub read: bool,
}

/// The caller's digests, newest first (at most `limit`, default 30).
pub async fn digests(
    conn: &mut sqlx::PgConnection,
    limit: i64,
    before: Option<NaiveDate>,
) -> Result<Vec<Digest>> {
    let rows: Vec<(NaiveDate, serde_json::Value, bool, bool)> = sqlx::query_as(
        "select day, items, emailed_at is not null, read_at is not null from task_digest
          where user_id = (select app_user_id()) and ($2::date is null or day < $2)
          order by day desc limit $1",
    )
    .bind(limit)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(day, items, emailed, read)| Digest {
            day,
            items: serde_json::from_value(items).unwrap_or_default(),
            emailed,
            read,
        })
        .collect())
}

/// Query of the digests.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DigestQuery {
    /// Digests before this day (YYYY-MM-DD): the next page.
    pub before: Option<String>,
    /// 1–100, default 30.
    pub limit: Option<i64>,
}

/// My daily digests of reminders, newest first (keyset by day).
#[utoipa::path(get, path = "/api/v1/tasks/digests", tag = "tasks", params(DigestQuery),
    responses((status = 200, body = Vec<Digest>), (status = 422, body = ErrorBody)))]
pub async fn digests_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<DigestQuery>,
) -> Result<AppJson<Vec<Digest>>> {
    let mut errors = Vec::new();
    let limit = q.limit.unwrap_or(30);
    if !(1..=100).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            "out_of_range",
            "limit 应在 1 到 100 之间",
            "limit must be 1 to 100",
        ));
    }
    let before = match q.before.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new(
                    "before",
                    "invalid_date",
                    "日期格式应为 YYYY-MM-DD",
                    "Use YYYY-MM-DD",
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let list = digests(&mut tx, limit, before).await?;
    tx.commit().await?;
    Ok(AppJson(list))
}

/// My preferences.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// `zh` or `en`: the language of my digests and e-mail.
    pub lang: String,
    /// No e-mail (the digest stays in the inbox).
    pub email_opt_out: bool,
    /// The version read (0 before the first save); a stale one is refused.
    #[serde(default)]
    pub version: i32,
}

pub async fn preferences(conn: &mut sqlx::PgConnection) -> Result<Preferences> {
    let row: Option<(String, bool, i32)> = sqlx::query_as(
        "select lang, email_opt_out, version from user_preference where user_id = (select app_user_id())",
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some((lang, email_opt_out, version)) => Preferences {
            lang,
            email_opt_out,
            version,
        },
        None => Preferences {
            lang: "zh".into(),
            email_opt_out: false,
            version: 0,
        },
    })
}

/// Saves the caller's preferences (a stale version is refused).
pub async fn save_preferences(
    conn: &mut sqlx::PgConnection,
    ctx: &Ctx,
    p: &Preferences,
) -> Result<Preferences> {
    if !matches!(p.lang.as_str(), "zh" | "en") {
        return Err(AppError::field(
            "lang",
            "invalid",
            "语言应为 zh 或 en",
            "lang is zh or en",
        ));
    }
    let before = preferences(conn).await?;
    if before.version != p.version {
        return Err(AppError::Conflict {
            code: "stale",
            zh: "设置已被修改，请刷新后再保存".into(),
            en: "The settings changed meanwhile: reload and save again".into(),
        });
    }
    let done = sqlx::query(
        "insert into user_preference (user_id, lang, email_opt_out) values ((select app_user_id()), $1, $2)
         on conflict (user_id) do update set lang = excluded.lang, email_opt_out = excluded.email_opt_out,
           version = user_preference.version + 1, updated_at = now()
         where user_preference.version = $3",
    )
    .bind(&p.lang)
    .bind(p.email_opt_out)
    .bind(p.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(AppError::Conflict {
            code: "stale",
            zh: "设置已被修改，请刷新后再保存".into(),
            en: "The settings changed meanwhile: reload and save again".into(),
        });
    }
    audit::record(
        &mut *conn,
        ctx,
        Event::new("user.preferences", "app_user", ctx.user_id)
            .before(
                &serde_json::json!({"lang": before.lang, "email_opt_out": before.email_opt_out}),
            )
            .after(&serde_json::json!({"lang": p.lang, "email_opt_out": p.email_opt_out})),
    )
    .await?;
    preferences(conn).await
}

/// My preferences (language of digests, e-mail on or off).
#[utoipa::path(get, path = "/api/v1/profile/preferences", tag = "tasks",
    responses((status = 200, body = Preferences)))]
pub async fn preferences_get(
    State(app): State<AppState>,
    ctx: Ctx,
) -> Result<AppJson<Preferences>> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let p = preferences(&mut tx).await?;
    tx.commit().await?;
    Ok(AppJson(p))
}

/// Save my preferences.
#[utoipa::path(put, path = "/api/v1/profile/preferences", tag = "tasks", request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn preferences_put(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(p): AppJson<Preferences>,
) -> Result<AppJson<Preferences>> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let saved = save_preferences(&mut tx, &ctx, &p).await?;
    tx.commit().await?;
    Ok(AppJson(saved))
}

/// The reminder policy (requirements §4).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// Days before a deadline at which it is reminded (1–8 values, 1–365).
    pub lead_days: Vec<i32>,
    /// Working days overdue after which an approver sees it too (1–60).
    pub escalate_after_working_days: i32,
    pub version: i32,
}

pub async fn policy_read(conn: &mut sqlx::PgConnection) -> Result<PolicyBody> {
    let (lead_days, escalate_after_working_days, version): (Vec<i32>, i32, i32) = sqlx::query_as(
        "select lead_days, escalate_after_working_days, version from reminder_policy",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(PolicyBody {
        lead_days,
        escalate_after_working_days,
        version,
    })
}

/// Saves the policy: the operator only; a stale version is refused.
pub async fn policy_save(
    conn: &mut sqlx::PgConnection,
    ctx: &Ctx,
    p: &PolicyBody,
) -> Result<PolicyBody> {
    if !ctx.is_operator() {
        return Err(AppError::forbidden(
            "只有平台运维人员可以修改提醒策略",
            "Only the operator sets the reminder policy",
        ));
    }
    let mut errors = Vec::new();
    let mut leads = p.lead_days.clone();
    leads.sort_unstable_by(|a, b| b.cmp(a));
    leads.dedup();
    if leads.is_empty() || leads.len() > 8 || leads.iter().any(|d| !(1..=365).contains(d)) {
        errors.push(FieldError::new(
            "lead_days",
            "invalid",
            "提前天数为 1 到 8 个 1–365 之间的整数",
            "1 to 8 lead times of 1–365 days",
        ));
    }
    if !(1..=60).contains(&p.escalate_after_working_days) {
        errors.push(FieldError::new(
            "escalate_after_working_days",
            "out_of_range",
            "升级天数应在 1 到 60 个工作日之间",
            "1 to 60 working days",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let before = policy_read(conn).await?;
    let done = sqlx::query(
        "update reminder_policy set lead_days = $1, escalate_after_working_days = $2, version = version + 1,
           updated_at = now(), updated_by = (select app_user_id()) where version = $3",
    )
    .bind(&leads)
    .bind(p.escalate_after_working_days)
    .bind(p.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(AppError::Conflict {
            code: "stale",
            zh: "提醒策略已被他人修改，请刷新后再保存".into(),
            en: "The policy changed meanwhile: reload and save again".into(),
        });
    }
    audit::record(
        &mut *conn,
        ctx,
        Event::new("reminder_policy.update", "reminder_policy", uuid::Uuid::nil())
            .before(&serde_json::json!({"lead_days": before.lead_days, "escalate_after_working_days": before.escalate_after_working_days}))
            .after(&serde_json::json!({"lead_days": leads, "escalate_after_working_days": p.escalate_after_working_days})),
    )
    .await?;
    policy_read(conn).await
}

/// The reminder policy: lead times and escalation.
#[utoipa::path(get, path = "/api/v1/admin/reminder-policy", tag = "tasks",
    responses((status = 200, body = PolicyBody)))]
pub async fn policy_get(State(app): State<AppState>, ctx: Ctx) -> Result<AppJson<PolicyBody>> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let p = policy_read(&mut tx).await?;
    tx.commit().await?;
    Ok(AppJson(p))
}

/// Set the reminder policy (the operator).
#[utoipa::path(put, path = "/api/v1/admin/reminder-policy", tag = "tasks", request_body = PolicyBody,
    responses((status = 200, body = PolicyBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
      (status = 422, body = ErrorBody)))]
pub async fn policy_put(
    State(app): State<AppState>,
    ctx: Ctx,
    AppJson(p): AppJson<PolicyBody>,
) -> Result<(StatusCode, AppJson<PolicyBody>)> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let saved = policy_save(&mut tx, &ctx, &p).await?;
    tx.commit().await?;
    Ok((StatusCode::OK, AppJson(saved)))
}
