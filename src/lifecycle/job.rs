//! The daily job (R15.2, R14.1): ends authorizations whose approved
//! termination date has come, and reminds both sides of authorizations
//! entering the re-examination window. Runs with the owner's connection as
//! system work; idempotent, so it is safe to run twice, late, or after
//! downtime (it catches up on every date up to `today`).

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::audit::{self, Event};
use crate::error::Result;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JobReport {
    pub terminated: Vec<Uuid>,
    pub reminded: Vec<Uuid>,
}

/// Runs the daily work as of `today`, in one transaction per termination.
pub async fn run(pool: &PgPool, today: NaiveDate) -> Result<JobReport> {
    let mut report = JobReport::default();
    // R15.2: approved terminations whose end date has come.
    let due: Vec<Uuid> = sqlx::query_scalar(
        "select request_id from lifecycle_request
          where kind = 'termination' and state = 'approved' and effective_on <= $1
          order by effective_on",
    )
    .bind(today)
    .fetch_all(pool)
    .await?;
    for id in due {
        let mut tx = pool.begin().await?;
        // Re-read under a lock: another run may have done it meanwhile.
        // An approval that came after the requested end date takes effect
        // on its own date, never backwards.
        let row: Option<(Uuid, Option<Uuid>, Uuid, Uuid, Uuid, NaiveDate)> = sqlx::query_as(
            "select request_id, authorization_id, station_id, department_id, regulator_id,
                    greatest(effective_on, ((decided_at at time zone 'UTC') + interval '8 hours')::date)
               from lifecycle_request where request_id = $1 and state = 'approved' for update skip locked",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, auth, station, department, regulator, end)) = row else {
            continue;
        };
        if let Some(auth) = auth {
            let active: Option<String> = sqlx::query_scalar(
                "select status from station_authorization where authorization_id = $1 and status in ('active', 'suspended') for update",
            )
            .bind(auth)
            .fetch_optional(&mut *tx)
            .await?;
            if active.is_some() {
                super::store::end_authorization(&mut tx, auth, "terminated", end).await?;
                sqlx::query(
                    "update station_authorization set revision = revision + 1, version = version + 1, updated_at = now()
                      where authorization_id = $1",
                )
                .bind(auth)
                .execute(&mut *tx)
                .await?;
                // Other open requests on it are moot now.
                sqlx::query(
                    "update lifecycle_request set state = 'withdrawn', version = version + 1, updated_at = now()
                      where authorization_id = $1 and request_id <> $2
                        and state in ('draft', 'submitted', 'proposed', 'approved')",
                )
                .bind(auth)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("select snapshot_authorization($1, 'termination', $2, $3)")
                    .bind(auth)
                    .bind(id)
                    .bind(end)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query(
            "update lifecycle_request set state = 'completed', version = version + 1, updated_at = now()
              where request_id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        crate::notifications::send(
            &mut tx,
            &[department, station, regulator],
            &crate::notifications::Note::new("termination.completed", format!("/requests/{id}"))
                .p("end", end),
        )
        .await?;
        audit::insert(
            &mut tx,
            Some(regulator),
            None,
            Event::new("termination.complete", "lifecycle_request", id)
                .before(&json!({"state": "approved"}))
                .after(&json!({"state": "completed", "authorization_id": auth, "ended_on": end})),
        )
        .await?;
        tx.commit().await?;
        report.terminated.push(id);
    }
    // R14.1: remind both sides once when an authorization enters the window.
    let window_opens = |valid_until: NaiveDate| {
        crate::rules::calendar::sub_months(valid_until, super::store::REEXAMINATION_WINDOW_MONTHS)
    };
    let candidates: Vec<(Uuid, Uuid, Uuid, Uuid, String, NaiveDate)> = sqlx::query_as(
        "select a.authorization_id, a.station_id, s.department_id, a.regulator_id, a.certificate_number, a.valid_until
           from station_authorization a join station s on s.station_id = a.station_id
          where a.status = 'active' and a.valid_until >= $1
            and not exists (select 1 from notification n where n.link = '/authorizations/' || a.authorization_id
                              and n.subject like '复查考核提醒%' and n.created_at > now() - interval '200 days')",
    )
    .bind(today)
    .fetch_all(pool)
    .await?;
    for (auth, station, department, regulator, number, until) in candidates {
        if today < window_opens(until) {
            continue;
        }
        let mut tx = pool.begin().await?;
        crate::notifications::send(
            &mut tx,
            &[regulator, department, station],
            &crate::notifications::Note::new(
                "reexamination.reminder",
                format!("/authorizations/{auth}/certificate"),
            )
            .p("number", &number)
            .p("until", until),
        )
        .await?;
        tx.commit().await?;
        report.reminded.push(auth);
    }
    Ok(report)
}

/// Runs [`run`] now and then every hour (so a day is never missed, and a
/// server started after downtime catches up at once).
pub fn spawn(pool: PgPool) {
    tokio::spawn(async move {
        loop {
            match run(&pool, crate::web::today()).await {
                Ok(r) if !r.terminated.is_empty() || !r.reminded.is_empty() => tracing::info!(
                    terminated = r.terminated.len(),
                    reminded = r.reminded.len(),
                    "daily job"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "daily job failed; retrying in an hour"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    });
}
