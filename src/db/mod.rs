//! Database access: the pool, migrations, reference data, and the
//! tenant-scoped transactions every request runs in (architecture.md §3).

pub mod embedded;
pub mod reference;

use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::auth::Ctx;

/// The role requests run as: owns nothing, no SUPERUSER, no BYPASSRLS.
pub const APP_ROLE: &str = "jiliang_app";

/// Custom plans for the rest of the transaction. After five executions
/// PostgreSQL may switch a prepared statement to a generic plan, which sees
/// neither the caller's organization nor which optional filters are null
/// (`$1 is null or …`); for the lists sorted by a pinyin name that plan
/// sorted every visible row (SAMR's stations 4 → 16 ms). Planning them
/// takes 0.1–2 ms, so only those lists ask for it; everywhere else the
/// cached plans were faster (docs/scale.md).
pub async fn custom_plans(conn: &mut PgConnection) -> crate::Result<()> {
    sqlx::query("select set_config('plan_cache_mode', 'force_custom_plan', true)")
        .execute(conn)
        .await?;
    Ok(())
}

/// Generic plans for the rest of the transaction, at once (PostgreSQL
/// would plan each prepared statement five times first, and go on
/// planning when the custom plans look cheaper): for statements that are
/// the same for every caller of a kind, such as the task list's collector,
/// where planning the row policies was a third of the request's time at
/// national scale (docs/architecture.md, My work). A select-list item, so
/// that a caller sets it in a statement it runs anyway.
pub const GENERIC_PLANS: &str = "set_config('plan_cache_mode', 'force_generic_plan', true)";

/// A transaction under the app role with the request's organization set.
pub type Tx = Transaction<'static, Postgres>;

/// Pings a connection before lending it only when it sat idle for over a
/// second. sqlx already pings every connection as it comes back to the pool
/// (a broken one is closed then), so a connection lent again within a
/// second was seen alive a moment ago; its default, a ping on every
/// acquire, cost one more round trip per statement group under load (every
/// signed-in page acquires three times: session, user, transaction).
/// An error closes the connection and the pool lends or opens another.
async fn ping_if_idle(
    conn: &mut PgConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> Result<bool, sqlx::Error> {
    if meta.idle_for > Duration::from_secs(1) {
        use sqlx::Connection;
        conn.ping().await?;
    }
    Ok(true)
}

/// Connects a pool as the schema owner.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url.parse().context("DATABASE_URL is not a valid URL")?;
    // Backstop for a transaction a client left open (issue 14): the server
    // ends a session idle inside a transaction after a minute. JIT is off:
    // at national size the planner's costs pass `jit_above_cost` on list
    // queries that run in a few ms, and compiling them took 50 ms more
    // (docs/scale.md).
    let options = options.application_name("jiliang").options([
        ("idle_in_transaction_session_timeout", "60s"),
        ("jit", "off"),
    ]);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
        // A connection comes back to the pool still inside a transaction
        // only if a future was dropped halfway (sqlx #4393: cancelling
        // `begin`); such a connection is closed, never lent again. Outside
        // a transaction every statement is its own, so `now()` (the
        // transaction's start) equals the statement's timestamp; inside
        // one, the transaction began with an earlier statement.
        .after_release(|conn, _meta| {
            Box::pin(async move {
                use sqlx::{Executor, Row};
                // A bare `&str` runs on the simple protocol: one message, so
                // the statement and its implicit transaction start at the
                // same instant.
                let probe = conn
                    .fetch_optional("select now() = statement_timestamp()")
                    .await;
                let clean: Option<bool> = probe.ok().flatten().and_then(|r| r.try_get(0).ok());
                if clean != Some(true) {
                    tracing::warn!("a connection came back inside a transaction; closing it");
                }
                Ok(clean == Some(true))
            })
        })
        // While the database is unreachable, requests answer 503 within
        // this bound instead of queueing (AppError::Unavailable); the pool
        // reconnects by itself once it is back.
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL")
}

/// The public pages' pool (`/verify`, `/directory`): read-only sessions
/// (`default_transaction_read_only`), opened on first use, on the main
/// database or a replica (`JILIANG_PUBLIC_DATABASE_URL`). Unlike
/// [`connect`]'s pool it has no probe when a connection comes back: the
/// public pages run single statements and never begin a transaction, so a
/// connection cannot come back inside one (the cancelled-`begin` bug that
/// probe guards against needs a `begin`), and every request runs to
/// completion anyway (`web::run_to_completion`). That probe was one extra
/// round trip per lookup (issue 14).
pub fn connect_public(options: PgConnectOptions, max_connections: u32) -> PgPool {
    let options = options.application_name("jiliang-public").options([
        ("idle_in_transaction_session_timeout", "60s"),
        ("jit", "off"),
        ("default_transaction_read_only", "on"),
        ("statement_timeout", "10s"),
    ]);
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy_with(options)
}

/// Applies migrations, loads reference data and checks that the owner can
/// maintain the visibility table (superuser or BYPASSRLS).
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .context("running migrations")?;
    reference::load(pool).await?;
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")
            .fetch_one(pool)
            .await?;
    anyhow::ensure!(
        superuser || bypass,
        "the DATABASE_URL user must be the schema owner with SUPERUSER or BYPASSRLS: it runs \
         the security-definer maintenance functions (station visibility, audit chain); requests \
         themselves run as the unprivileged role {APP_ROLE}"
    );
    Ok(())
}

/// Opens a transaction for `ctx`: `SET LOCAL ROLE` to the app role and the
/// request's organization, kind, user and roles as transaction settings that
/// the row-level security policies read. Without them policies see nothing.
pub async fn tenant_tx(pool: &PgPool, ctx: &Ctx) -> crate::Result<Tx> {
    let mut tx = pool.begin().await?;
    let roles: Vec<&str> = ctx.roles.iter().map(|r| r.as_str()).collect();
    sqlx::query(
        "select set_config('role', $1, true), set_config('app.org_id', $2, true), \
         set_config('app.org_kind', $3, true), set_config('app.user_id', $4, true), \
         set_config('app.roles', $5, true), set_config('statement_timeout', '30s', true)",
    )
    .bind(APP_ROLE)
    .bind(ctx.org_id.to_string())
    .bind(ctx.org_kind.as_str())
    .bind(ctx.user_id.to_string())
    .bind(roles.join(","))
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}
