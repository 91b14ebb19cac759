//! The daily digest (requirements §4): for every active user, the tasks of
//! theirs that reached a lead time of the policy or became overdue since
//! they were last reminded, in one message per user per day (the inbox, and
//! e-mail when the user has an address and wants it), never a flood. Runs
//! as system work on the owner's connection; two runs at once still make
//! one digest per user per day (`task_digest`'s key) and remind each stage
//! of a task once (`task_reminder`'s key).

use std::collections::HashMap;
use std::time::Instant;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::collect::{self, RawTask};
use super::mail::Mail;
use super::{place, Task, Who};
use crate::auth::Role;
use crate::error::Result;
use crate::rules::reminders::{self, Stage};

/// One reminded task in a digest.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DigestItem {
    pub key: String,
    pub kind: String,
    /// The lead time reached (`90`, `30`, …) or `overdue`.
    pub stage: String,
    pub action: String,
    pub action_en: String,
    pub subject: String,
    pub link: String,
    pub due_on: Option<NaiveDate>,
}

/// What one run did.
#[derive(Debug, Default, Clone)]
pub struct DigestReport {
    pub users: usize,
    pub tasks: usize,
    pub digests: usize,
    pub items: usize,
    pub emailed: usize,
    pub email_failed: usize,
    pub seconds: f64,
}

struct User {
    user_id: Uuid,
    org_id: Uuid,
    roles: Vec<Role>,
    operator: bool,
    email: Option<String>,
    lang: String,
    opt_out: bool,
}

/// Runs the digest of `today` for every active user.
pub async fn run(pool: &PgPool, mail: &Mail, today: NaiveDate) -> Result<DigestReport> {
    let started = Instant::now();
    let mut report = DigestReport::default();
    let mut conn = pool.acquire().await?;
    let cal = crate::calendar::store::current(&mut conn).await?;
    let policy = super::policy(&mut conn).await?;
    let raw = collect::collect(&mut conn, None, &cal, today).await?;
    report.tasks = raw.len();
    // Each organization's tasks, and those it may see escalated (R18.2).
    let mut by_org: HashMap<Uuid, Vec<&RawTask>> = HashMap::new();
    for t in &raw {
        by_org.entry(t.org_id).or_default().push(t);
        if let Some(o) = t.escalate_org {
            by_org.entry(o).or_default().push(t);
        }
    }
    type UserRow = (
        Uuid,
        Uuid,
        Vec<String>,
        String,
        Option<String>,
        Option<String>,
        Option<bool>,
    );
    let users: Vec<UserRow> = sqlx::query_as(
        "select u.user_id, u.organization_id, u.roles, o.kind, u.email, p.lang, p.email_opt_out
           from app_user u join organization o on o.organization_id = u.organization_id
           left join user_preference p on p.user_id = u.user_id
          where u.active and o.active
          order by u.user_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    for (user_id, org_id, roles, org_kind, email, lang, opt_out) in users {
        let roles: Vec<Role> = roles.iter().filter_map(|r| Role::parse(r)).collect();
        let u = User {
            operator: org_kind == "platform" && roles.contains(&Role::Operator),
            user_id,
            org_id,
            roles,
            email: email.filter(|e| !e.trim().is_empty()),
            lang: lang.unwrap_or_else(|| "zh".into()),
            opt_out: opt_out.unwrap_or(false),
        };
        report.users += 1;
        let who = Who {
            user_id: u.user_id,
            org_id: u.org_id,
            roles: u.roles.clone(),
            operator: u.operator,
        };
        let mine: Vec<&RawTask> = by_org.get(&u.org_id).cloned().unwrap_or_default();
        let tasks: Vec<Task> = place(mine, &who, &cal, today, &policy)
            .into_iter()
            .filter(|t| t.mine)
            .collect();
        let staged: Vec<(Task, Stage)> = tasks
            .into_iter()
            .filter_map(|t| {
                let s = reminders::stage(t.due_on?, today, &policy)?;
                Some((t, s))
            })
            .collect();
        if staged.is_empty() {
            continue; // nothing new: no digest
        }
        let Some(items) = digest_one(pool, &u, today, &staged).await? else {
            continue;
        };
        report.digests += 1;
        report.items += items.len();
        if let (Some(to), false, true) = (&u.email, u.opt_out, mail.is_on()) {
            let (subject, body) = render(&items, &u.lang, today);
            let outcome = mail.send(to, &subject, body).await;
            let error = match &outcome {
                Ok(_) => {
                    report.emailed += 1;
                    None
                }
                Err(e) => {
                    report.email_failed += 1;
                    tracing::warn!(user = %u.user_id, error = %e, "digest e-mail failed");
                    Some(e.chars().take(500).collect::<String>())
                }
            };
            sqlx::query(
                "update task_digest set emailed_at = case when $3::text is null then now() end,
                        email_error = $3 where user_id = $1 and day = $2",
            )
            .bind(u.user_id)
            .bind(today)
            .bind(error)
            .execute(pool)
            .await?;
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// One user's digest of `today`, in one transaction: the day's row first
/// (a second run waits on its key, then finds it and stops), then each
/// stage not reminded before. Nothing new: nothing is kept.
async fn digest_one(
    pool: &PgPool,
    u: &User,
    today: NaiveDate,
    staged: &[(Task, Stage)],
) -> Result<Option<Vec<DigestItem>>> {
    let mut tx = pool.begin().await?;
    let mine: Option<i32> = sqlx::query_scalar(
        "insert into task_digest (user_id, day, org_id, items) values ($1, $2, $3, '[]')
         on conflict do nothing returning 1",
    )
    .bind(u.user_id)
    .bind(today)
    .bind(u.org_id)
    .fetch_optional(&mut *tx)
    .await?;
    if mine.is_none() {
        return Ok(None); // today's digest exists
    }
    let keys: Vec<&str> = staged.iter().map(|(t, _)| t.key.as_str()).collect();
    let stages: Vec<String> = staged.iter().map(|(_, s)| s.code()).collect();
    let fresh: Vec<(String, String)> = sqlx::query_as(
        "insert into task_reminder (user_id, task_key, stage, day)
         select $1, k, s, $4 from unnest($2::text[], $3::text[]) as x (k, s)
         on conflict do nothing returning task_key, stage",
    )
    .bind(u.user_id)
    .bind(&keys)
    .bind(&stages)
    .bind(today)
    .fetch_all(&mut *tx)
    .await?;
    if fresh.is_empty() {
        tx.rollback().await?;
        return Ok(None);
    }
    let fresh: std::collections::HashSet<(String, String)> = fresh.into_iter().collect();
    let items: Vec<DigestItem> = staged
        .iter()
        .filter(|(t, s)| fresh.contains(&(t.key.clone(), s.code())))
        .map(|(t, s)| DigestItem {
            key: t.key.clone(),
            kind: t.kind.clone(),
            stage: s.code(),
            action: t.action.clone(),
            action_en: t.action_en.clone(),
            subject: t.subject.clone(),
            link: t.link.clone(),
            due_on: t.due_on,
        })
        .collect();
    sqlx::query("update task_digest set items = $3 where user_id = $1 and day = $2")
        .bind(u.user_id)
        .bind(today)
        .bind(serde_json::to_value(&items).unwrap_or_default())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(items))
}

/// The e-mail: subject and plain text in the user's language, grouped by
/// kind, overdue first.
pub fn render(items: &[DigestItem], lang: &str, today: NaiveDate) -> (String, String) {
    let en = lang == "en";
    let subject = if en {
        format!("Your reminders of {today}: {} item(s)", items.len())
    } else {
        format!("{today} 待办提醒：{} 项", items.len())
    };
    let mut sorted: Vec<&DigestItem> = items.iter().collect();
    sorted.sort_by(|a, b| {
        ((a.stage != "overdue"), &a.kind, a.due_on).cmp(&(
            (b.stage != "overdue"),
            &b.kind,
            b.due_on,
        ))
    });
    let mut body = String::new();
    let mut kind = "";
    for i in sorted {
        if i.kind != kind {
            kind = &i.kind;
            body.push_str(&format!(
                "\n{}\n",
                if en { &i.action_en } else { &i.action }
            ));
        }
        let when = match (i.stage.as_str(), i.due_on) {
            ("overdue", Some(d)) => {
                if en {
                    format!("OVERDUE since {d}")
                } else {
                    format!("已逾期（{d} 到期）")
                }
            }
            (_, Some(d)) => {
                if en {
                    format!("due {d}")
                } else {
                    format!("{d} 到期")
                }
            }
            _ => String::new(),
        };
        body.push_str(&format!("  - {} · {when} · {}\n", i.subject, i.link));
    }
    body.push_str(if en {
        "\nSee every task at /tasks. Turn e-mail off at /profile.\n"
    } else {
        "\n全部待办见 /tasks；可在 /profile 关闭邮件提醒。\n"
    });
    (subject, body)
}

/// Runs [`run`] now and then every hour while serving (a day is never
/// missed; a second process running it too changes nothing).
pub fn spawn(pool: PgPool, mail: Mail) {
    tokio::spawn(async move {
        loop {
            match run(&pool, &mail, crate::web::today()).await {
                Ok(r) if r.digests > 0 => tracing::info!(
                    users = r.users,
                    digests = r.digests,
                    items = r.items,
                    emailed = r.emailed,
                    seconds = r.seconds,
                    "digest job"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "digest job failed; retrying in an hour"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_email_groups_by_kind_overdue_first_in_the_users_language() {
        let item = |kind: &str, stage: &str, due: &str| DigestItem {
            key: format!("{kind}:{due}"),
            kind: kind.into(),
            stage: stage.into(),
            action: format!("做{kind}"),
            action_en: format!("Do {kind}"),
            subject: "某站".into(),
            link: "/x".into(),
            due_on: NaiveDate::parse_from_str(due, "%Y-%m-%d").ok(),
        };
        let items = vec![
            item("standard_traceability", "30", "2027-01-05"),
            item("order_report", "overdue", "2026-12-01"),
        ];
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let (subject, body) = render(&items, "zh", today);
        assert_eq!(subject, "2026-12-06 待办提醒：2 项");
        let order = body.find("做order_report").unwrap();
        let trace = body.find("做standard_traceability").unwrap();
        assert!(order < trace, "overdue first: {body}");
        assert!(body.contains("已逾期（2026-12-01 到期）"));
        let (subject, body) = render(&items, "en", today);
        assert!(subject.starts_with("Your reminders of 2026-12-06"));
        assert!(body.contains("OVERDUE since 2026-12-01") && body.contains("due 2027-01-05"));
    }
}
