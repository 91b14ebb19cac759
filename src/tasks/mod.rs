//! My work 我的待办 (issue 16; requirements §4): one list per user of
//! everything that waits for their organization and roles, with its
//! deadline (R6.4, R12.3, R14.1, R15.2, R16.4, R16.6, R17.2, R18.1–R18.3),
//! reminders at the policy's lead times in one digest per user per day
//! (inbox and e-mail), and escalation of what is overdue to an approver
//! (and an overdue rectification order to the competent department, R18.2).

pub mod api;
pub mod collect;
pub mod digest;
pub mod inbox;
pub mod mail;
pub mod pages;
pub mod queue;

use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Role;
use crate::rules::calendar::Calendar;
use crate::rules::reminders::{self, Policy, Urgency};
use crate::state::AppState;
use collect::{kind_info, RawTask};

/// One task on a user's list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Task {
    /// Stable key: kind, record and due date (reminders are kept by it).
    pub key: String,
    /// What kind of deadline (`collect::KINDS`).
    pub kind: String,
    pub rule: String,
    /// What to do.
    pub action: String,
    pub action_en: String,
    /// On which record.
    pub subject: String,
    /// The form that does it.
    pub link: String,
    pub due_on: Option<NaiveDate>,
    /// Days from today to the due date (negative: overdue).
    pub days_left: Option<i64>,
    #[schema(value_type = String)]
    pub urgency: Urgency,
    /// Overdue past the policy's working days: shown to an approver too.
    pub escalated: bool,
    /// For this user (a role of theirs, or assigned to them, or escalated
    /// to them), not only for their organization.
    pub mine: bool,
}

/// The user a list is for.
#[derive(Debug, Clone)]
pub struct Who {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub roles: Vec<Role>,
    pub operator: bool,
}

/// Roles that see what is escalated in their own organization.
const ESCALATION_ROLES: [Role; 2] = [Role::Approver, Role::Admin];
/// Roles that see an order escalated to their (department) organization.
const DEPARTMENT_ROLES: [Role; 2] = [Role::Officer, Role::Admin];

/// Places the raw tasks on `who`'s list: their organization's (`mine` when
/// a role of theirs acts or it is assigned to them; an overdue one escalated
/// to an approver or admin), and another organization's only when escalated
/// to theirs (R18.2). Sorted by due date (undated last), then kind.
pub fn place<'a>(
    raw: impl IntoIterator<Item = &'a RawTask>,
    who: &Who,
    cal: &Calendar,
    today: NaiveDate,
    policy: &Policy,
) -> Vec<Task> {
    let has = |roles: &[Role]| roles.iter().any(|r| who.roles.contains(r));
    let mut out: Vec<Task> = Vec::new();
    for t in raw {
        let escalated = t
            .due_on
            .is_some_and(|d| reminders::escalated(cal, d, today, policy));
        let mine = if t.org_id == who.org_id {
            let assigned = if t.assignees.is_empty() {
                has(t.roles)
            } else {
                t.assignees.contains(&who.user_id) || has(&t.roles[1..])
            };
            assigned || (escalated && has(&ESCALATION_ROLES))
        } else if escalated && t.escalate_org == Some(who.org_id) {
            has(&DEPARTMENT_ROLES)
        } else {
            continue;
        };
        out.push(task(t, today, escalated, mine));
    }
    if who.operator {
        if let Some(w) = crate::calendar::store::warning_for(cal, today) {
            let due = NaiveDate::from_ymd_opt(w.year - 1, 12, 31);
            let info = kind_info("calendar_load");
            out.push(Task {
                key: format!("calendar_load:{}", w.year),
                kind: "calendar_load".into(),
                rule: info.map_or("", |i| i.rule).into(),
                action: info.map_or("", |i| i.zh).into(),
                action_en: info.map_or("", |i| i.en).into(),
                subject: if w.message.is_empty() {
                    format!("{} 年节假日安排", w.year)
                } else {
                    w.message
                },
                link: format!("/admin/calendar/load?year={}", w.year),
                due_on: due,
                days_left: due.map(|d| (d - today).num_days()),
                urgency: reminders::urgency(due, today),
                escalated: false,
                mine: true,
            });
        }
    }
    out.sort_by(|a, b| order_of(a).cmp(&order_of(b)));
    out
}

/// A task's place in the list: undated last, then by due date, kind and
/// key (unique, so a key alone says where a page starts).
pub fn order_of(t: &Task) -> (bool, Option<NaiveDate>, &str, &str) {
    (
        t.due_on.is_none(),
        t.due_on,
        t.kind.as_str(),
        t.key.as_str(),
    )
}

/// The place a task key (`kind:record:due`) stands at, even when the task
/// is gone; `None` for text that is not a key.
pub fn order_of_key(key: &str) -> Option<(bool, Option<NaiveDate>, &str, &str)> {
    let (kind, rest) = key.split_once(':')?;
    let (_, due) = rest.rsplit_once(':')?;
    kind_info(kind)?;
    let due = match due {
        "-" => None,
        d => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?),
    };
    Some((due.is_none(), due, kind, key))
}

fn task(t: &RawTask, today: NaiveDate, escalated: bool, mine: bool) -> Task {
    let info = kind_info(t.kind);
    Task {
        // The due date is part of the key: a renewed authorization,
        // certificate or calibration is a new deadline, reminded afresh.
        key: format!(
            "{}:{}:{}",
            t.kind,
            t.entity,
            t.due_on.map_or_else(|| "-".to_owned(), |d| d.to_string())
        ),
        kind: t.kind.into(),
        rule: info.map_or("", |i| i.rule).into(),
        action: info.map_or("", |i| i.zh).into(),
        action_en: info.map_or("", |i| i.en).into(),
        subject: t.subject.clone(),
        link: t.link.clone(),
        due_on: t.due_on,
        days_left: t.due_on.map(|d| (d - today).num_days()),
        urgency: reminders::urgency(t.due_on, today),
        escalated,
        mine,
    }
}

/// The operator's policy as stored.
pub async fn policy(conn: &mut sqlx::PgConnection) -> crate::error::Result<Policy> {
    let row: Option<(Vec<i32>, i32)> =
        sqlx::query_as("select lead_days, escalate_after_working_days from reminder_policy")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(policy_of(row))
}

/// The policy of its stored lead days and escalation days (the default
/// when none is stored).
pub fn policy_of(row: Option<(Vec<i32>, i32)>) -> Policy {
    match row {
        Some((leads, n)) => Policy {
            lead_days: leads
                .into_iter()
                .filter_map(|d| u32::try_from(d).ok())
                .collect(),
            escalate_after_working_days: u32::try_from(n).unwrap_or(5),
        },
        None => Policy::default(),
    }
}

/// HTML routes.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(pages::tasks_page))
        .route("/tasks/digests/{day}", get(pages::digest_page))
        .route("/notifications/{id}", get(inbox::notification_open))
        .route(
            "/profile",
            get(pages::profile_page).post(pages::profile_submit),
        )
        .route(
            "/admin/reminders",
            get(pages::policy_page).post(pages::policy_submit),
        )
}

/// JSON routes.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::tasks_list))
        .routes(routes!(inbox::notifications_list))
        .routes(routes!(inbox::notification_read))
        .routes(routes!(api::digests_list))
        .routes(routes!(api::preferences_get, api::preferences_put))
        .routes(routes!(api::policy_get, api::policy_put))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::calendar::DayKind;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn raw(kind: &'static str, org: Uuid, roles: &'static [Role], due: Option<&str>) -> RawTask {
        RawTask {
            kind,
            entity: Uuid::new_v4(),
            org_id: org,
            roles,
            assignees: Vec::new(),
            escalate_org: None,
            subject: kind.into(),
            link: "/".into(),
            due_on: due.map(d),
        }
    }

    fn cal() -> Calendar {
        // Test data: 2026 without holidays.
        Calendar::new(2026, 2026, Vec::<(NaiveDate, DayKind)>::new()).unwrap()
    }

    #[test]
    fn a_key_says_where_its_task_stands_even_when_it_is_gone() {
        let id = Uuid::new_v4();
        let k = format!("order_report:{id}:2026-12-20");
        assert_eq!(
            order_of_key(&k),
            Some((false, Some(d("2026-12-20")), "order_report", k.as_str()))
        );
        let undated = format!("change_propose:{id}:-");
        assert!(order_of_key(&undated).unwrap().0, "undated: last");
        assert!(order_of_key("nonsense").is_none());
        assert!(order_of_key(&format!("no_such_kind:{id}:-")).is_none());
        assert!(order_of_key(&format!("order_report:{id}:20261220")).is_none());
    }

    #[test]
    fn a_user_sees_their_organizations_tasks_mine_by_role_sorted_by_due() {
        let org = Uuid::new_v4();
        let other = Uuid::new_v4();
        let tasks = vec![
            raw(
                "application_decide",
                org,
                &[Role::Approver],
                Some("2026-12-20"),
            ),
            raw(
                "application_accept",
                org,
                &[Role::Reviewer],
                Some("2026-12-10"),
            ),
            raw("change_propose", org, &[Role::Reviewer], None),
            raw(
                "application_accept",
                other,
                &[Role::Reviewer],
                Some("2026-12-01"),
            ),
        ];
        let who = Who {
            user_id: Uuid::new_v4(),
            org_id: org,
            roles: vec![Role::Reviewer],
            operator: false,
        };
        let list = place(&tasks, &who, &cal(), d("2026-12-06"), &Policy::default());
        let kinds: Vec<(&str, bool)> = list.iter().map(|t| (t.kind.as_str(), t.mine)).collect();
        assert_eq!(
            kinds,
            [
                ("application_accept", true),
                ("application_decide", false),
                ("change_propose", true)
            ],
            "another organization's task never shows; undated last"
        );
        assert_eq!(list[0].days_left, Some(4));
        assert_eq!(list[0].urgency, Urgency::Soon);
    }

    #[test]
    fn an_overdue_task_escalates_to_an_approver_and_an_order_to_its_department_r18_2() {
        let station = Uuid::new_v4();
        let dept = Uuid::new_v4();
        let mut order = raw(
            "order_report",
            station,
            &[Role::Staff, Role::Admin],
            Some("2026-11-20"),
        );
        order.escalate_org = Some(dept);
        let officer = Who {
            user_id: Uuid::new_v4(),
            org_id: dept,
            roles: vec![Role::Officer],
            operator: false,
        };
        let p = Policy::default();
        // 20 Nov (Fri) + 5 working days = 27 Nov: not yet escalated then.
        assert!(place(&[order.clone()], &officer, &cal(), d("2026-11-27"), &p).is_empty());
        let list = place(&[order.clone()], &officer, &cal(), d("2026-11-30"), &p);
        assert_eq!(list.len(), 1);
        assert!(list[0].escalated && list[0].mine);
        // In the station, an admin acts anyway; an inspection assigned to
        // one inspector is "mine" only for them (and a reviewer).
        let insp = Who {
            user_id: Uuid::new_v4(),
            org_id: station,
            roles: vec![Role::Inspector],
            operator: false,
        };
        let mut t = raw(
            "inspection_record",
            station,
            &[Role::Inspector, Role::Reviewer],
            Some("2026-12-30"),
        );
        t.assignees = vec![Uuid::new_v4()];
        assert!(!place(&[t.clone()], &insp, &cal(), d("2026-12-06"), &p)[0].mine);
        t.assignees.push(insp.user_id);
        assert!(place(&[t], &insp, &cal(), d("2026-12-06"), &p)[0].mine);
    }
}
