//! The home page's work queue (issue 16): the registry's warnings (R12.3,
//! R16.4, R16.6, R14.1, R18.3), change requests waiting, lifecycle requests
//! per kind, applications overdue or waiting, orders to report on, the
//! calendar warning (R18.1), the inbox and the first ten tasks, read in the
//! caller's tenant transaction.

use sqlx::PgConnection;

use crate::auth::{Ctx, OrgKind};
use crate::error::Result;

/// What the home page shows of the caller's work.
pub struct WorkQueue {
    /// Registry warnings: (link, subject, message, badge).
    pub warnings: Vec<(String, String, String, &'static str)>,
    /// Change requests waiting: (state, label, count).
    pub waiting: Vec<(String, String, i64)>,
    /// The organization's inbox (R8.5).
    pub inbox: Vec<super::inbox::Notification>,
    /// Lifecycle requests per kind: (kind, label, open, for me, overdue).
    pub lifecycle: Vec<(String, String, i64, i64, i64)>,
    pub applications_overdue: i64,
    pub applications_awaiting: i64,
    pub orders_awaiting: i64,
    pub calendar_warning: Option<crate::calendar::model::CalendarWarning>,
    /// The first ten of my tasks and the counts.
    pub tasks: super::api::TaskList,
    /// R10.1: warnings in force my organization has not acknowledged
    /// (newest first, at most five): (id, title, severity, valid until).
    pub alerts: Vec<(uuid::Uuid, String, String, chrono::NaiveDate)>,
}

/// The caller's work queue.
pub async fn work_queue(tx: &mut PgConnection, ctx: &Ctx) -> Result<WorkQueue> {
    let lang = ctx.lang;
    let mut warnings = Vec::new();
    let mut waiting = Vec::new();
    if ctx.org_kind == OrgKind::Station {
        let filter = crate::standards::store::StandardFilter {
            station_id: Some(ctx.org_id),
            warnings_only: true,
            ..Default::default()
        };
        let (items, _) = crate::standards::store::standards_list(
            &mut *tx,
            ctx,
            &filter,
            crate::web::Paging::new(Some(1), Some(50)),
        )
        .await?;
        for s in items {
            for w in &s.warnings {
                warnings.push((
                    format!("/standards/{}", s.id),
                    s.name.clone(),
                    w.text(lang).to_owned(),
                    w.badge(),
                ));
            }
        }
        let staff =
            crate::standards::store::staff_list(&mut *tx, ctx, Some(ctx.org_id), None, 10_000)
                .await?
                .0;
        for p in staff {
            for q in &p.qualifications {
                if let Some(w) = &q.warning {
                    warnings.push((
                        "/staff".into(),
                        p.name.clone(),
                        w.text(lang).to_owned(),
                        w.badge(),
                    ));
                }
            }
        }
    }
    if ctx.org_kind != OrgKind::Platform {
        let (_, _, counts) = crate::standards::store::changes_list(
            &mut *tx,
            ctx,
            &crate::standards::store::ChangeFilter::default(),
            crate::web::Paging::new(Some(1), Some(1)),
        )
        .await?;
        let open: &[crate::standards::model::ChangeState] = if ctx.org_kind == OrgKind::Regulator {
            &[
                crate::standards::model::ChangeState::Submitted,
                crate::standards::model::ChangeState::Proposed,
            ]
        } else {
            &[
                crate::standards::model::ChangeState::Draft,
                crate::standards::model::ChangeState::Submitted,
                crate::standards::model::ChangeState::Proposed,
            ]
        };
        for st in open {
            let n = counts
                .iter()
                .find(|c| c.0 == st.as_str())
                .map(|c| c.1)
                .unwrap_or(0);
            waiting.push((st.as_str().to_owned(), st.label(lang).to_owned(), n));
        }
    }
    let inbox = super::inbox::notifications(&mut *tx, ctx, 10).await?;
    let mut lifecycle = Vec::new();
    let mut applications_overdue = 0;
    let mut applications_awaiting = 0;
    let mut orders_awaiting = 0;
    if !ctx.is_operator() {
        for c in crate::lifecycle::store::queue_counts(&mut *tx, ctx).await? {
            let label = crate::lifecycle::model::Kind::parse(&c.kind)
                .map(|k| k.label(lang))
                .unwrap_or("");
            lifecycle.push((
                c.kind.clone(),
                label.to_owned(),
                c.open,
                c.awaiting_me,
                c.overdue,
            ));
        }
        // R14.1: authorizations entering the re-examination window.
        for d in crate::lifecycle::store::due_reexaminations(&mut *tx, ctx).await? {
            warnings.push((
                match d.request_id {
                    Some(r) => format!("/requests/{r}"),
                    None => "/requests".into(),
                },
                format!("{} {}", d.station_name, d.certificate_number),
                if d.request_id.is_some() {
                    lang.pick(
                        "复查考核已安排（R14.1）",
                        "Re-examination scheduled (R14.1)",
                    )
                    .to_owned()
                } else {
                    format!(
                        "{} {}{}",
                        lang.pick("授权将于", "Expires on"),
                        d.valid_until,
                        lang.pick(
                            " 到期，应安排复查考核（R14.1）",
                            "; schedule a re-examination (R14.1)"
                        )
                    )
                },
                "badge-warn",
            ));
        }
        // R18.3: overdue rectification orders, on every home page concerned.
        let overdue_orders = crate::supervision::store::order_count(
            &mut *tx,
            ctx,
            &crate::supervision::store::OrderFilter {
                overdue_only: true,
                ..Default::default()
            },
        )
        .await?;
        if overdue_orders > 0 {
            warnings.push((
                "/rectification-orders?overdue=true".into(),
                lang.pick("整改通知已超期", "Overdue rectification orders")
                    .to_owned(),
                format!(
                    "{overdue_orders} {}",
                    lang.pick(
                        "份整改通知已超过整改期限（R18.3）",
                        "order(s) past their deadline (R18.3)"
                    )
                ),
                "badge-bad",
            ));
        }
        applications_overdue = crate::applications::store::overdue_count(&mut *tx, ctx).await?;
        applications_awaiting = crate::applications::store::awaiting_count(&mut *tx, ctx).await?;
        if ctx.org_kind == OrgKind::Station {
            orders_awaiting = crate::supervision::store::order_count(
                &mut *tx,
                ctx,
                &crate::supervision::store::OrderFilter {
                    state: Some("open"),
                    station: Some(ctx.org_id),
                    ..Default::default()
                },
            )
            .await?;
        }
    }
    let calendar_warning = if ctx.is_operator() || ctx.org_kind == OrgKind::Regulator {
        let cal = crate::calendar::store::current(&mut *tx).await?;
        crate::calendar::store::warning_for(&cal, crate::web::today())
    } else {
        None
    };
    // Issue 16: my first ten tasks and the counts.
    let tasks = crate::tasks::api::filter(
        crate::tasks::api::tasks_for(&mut *tx, ctx).await?,
        &crate::tasks::api::TaskQuery {
            limit: Some(10),
            ..Default::default()
        },
    )?;
    let alerts = sqlx::query_as(
        "select w.warning_id, w.title, w.severity, w.valid_until
           from warning_recipient r join warning w on w.warning_id = r.warning_id
          where r.org_id = $1 and r.acknowledged_at is null and w.valid_until >= $2
            and w.valid_from <= $2
          order by w.warning_id desc limit 5",
    )
    .bind(ctx.org_id)
    .bind(crate::web::today())
    .fetch_all(&mut *tx)
    .await?;
    Ok(WorkQueue {
        alerts,
        warnings,
        waiting,
        inbox,
        lifecycle,
        applications_overdue,
        applications_awaiting,
        orders_awaiting,
        calendar_warning,
        tasks,
    })
}
