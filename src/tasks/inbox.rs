//! The notification inbox (R8.5 and every workflow's notices): an
//! organization's notes, rendered in the reader's language; opening one
//! marks it read (audited) and goes to its record. Part of My work.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, Result};
use crate::state::AppState;
use crate::web::{parse_id, AppJson, PageError};

/// A notification in an organization's inbox (R8.5).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: uuid::Uuid,
    pub subject: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The caller's organization's inbox, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "tasks",
    responses((status = 200, body = [Notification])))]
pub async fn notifications_list(
    State(app): State<AppState>,
    ctx: Ctx,
) -> Result<AppJson<Vec<Notification>>> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let list = notifications(&mut tx, &ctx, 100).await?;
    tx.commit().await?;
    Ok(AppJson(list))
}

/// A stored notification: id, subject, body, link, created, read, code, params.
type NotificationRow = (
    uuid::Uuid,
    String,
    String,
    Option<String>,
    chrono::DateTime<chrono::Utc>,
    Option<chrono::DateTime<chrono::Utc>>,
    Option<String>,
    serde_json::Value,
);

/// The newest notifications of the caller's organization.
pub async fn notifications(
    conn: &mut sqlx::PgConnection,
    ctx: &Ctx,
    limit: i64,
) -> Result<Vec<Notification>> {
    // The row policy shows the caller's organization's notes, and of those
    // addressed to one role only the caller's roles'.
    let rows: Vec<NotificationRow> = sqlx::query_as(
        "select notification_id, subject, body, link, created_at, read_at, code, params from notification
          where org_id = $1 order by created_at desc limit $2",
    )
    .bind(ctx.org_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, subject, body, link, created_at, read_at, code, params)| {
                // Rendered in the reader's language; older rows as stored.
                let (subject, body) = code
                    .as_deref()
                    .and_then(|c| crate::notifications::render(c, &params, ctx.lang))
                    .unwrap_or((subject, body));
                Notification {
                    id,
                    subject,
                    body,
                    link,
                    created_at,
                    read_at,
                }
            },
        )
        .collect())
}

/// Mark a notification read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "tasks",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204, description = "Marked read"), (status = 404, body = ErrorBody)))]
pub async fn notification_read(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let done = sqlx::query("update notification set read_at = coalesce(read_at, now()) where notification_id = $1 and org_id = $2")
        .bind(id)
        .bind(ctx.org_id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    crate::audit::record(
        &mut tx,
        &ctx,
        crate::audit::Event::new("notification.read", "notification", id),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Opening a notification from the inbox marks it read (audited) and goes
/// to the record it is about (the home page when it has none).
pub async fn notification_open(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let lang = ctx.lang;
    let result = async {
        let id = parse_id(&id)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let row: Option<(Option<String>, bool)> = sqlx::query_as(
            "update notification n set read_at = coalesce(n.read_at, now())
               from (select notification_id, read_at is null as fresh from notification
                      where notification_id = $1 and org_id = $2 for update) o
              where n.notification_id = o.notification_id
             returning n.link, o.fresh",
        )
        .bind(id)
        .bind(ctx.org_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (link, fresh) = row.ok_or(AppError::NotFound)?;
        if fresh {
            crate::audit::record(
                &mut tx,
                &ctx,
                crate::audit::Event::new("notification.read", "notification", id),
            )
            .await?;
        }
        tx.commit().await?;
        Ok::<_, AppError>(link)
    }
    .await;
    match result {
        Ok(link) => {
            let to = link
                .filter(|l| l.starts_with('/') && !l.starts_with("//"))
                .unwrap_or_else(|| "/".into());
            Redirect::to(&to).into_response()
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}
