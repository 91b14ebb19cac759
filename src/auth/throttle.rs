//! Sign-in throttling per account and per client address, kept in
//! PostgreSQL so it holds across server processes.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::config::Config;
use crate::error::{AppError, Result};

fn keys(username: &str, addr: &str) -> [String; 2] {
    [
        format!("user:{}", username.trim().to_lowercase()),
        format!("ip:{addr}"),
    ]
}

/// Refuses with [`AppError::Throttled`] while the account or the address is locked.
pub async fn check(pool: &PgPool, username: &str, addr: &str) -> Result<()> {
    let locked: Option<DateTime<Utc>> = sqlx::query_scalar(
        "select max(locked_until) from login_throttle where key = any($1) and locked_until > now()",
    )
    .bind(keys(username, addr).to_vec())
    .fetch_one(pool)
    .await?;
    match locked {
        Some(until) => Err(AppError::Throttled {
            retry_after_secs: (until - Utc::now()).num_seconds().max(1),
        }),
        None => Ok(()),
    }
}

/// Counts a failure for the account and the address; locks each that
/// reaches its limit within the window.
pub async fn fail(pool: &PgPool, config: &Config, username: &str, addr: &str) -> Result<()> {
    let [user_key, ip_key] = keys(username, addr);
    for (key, max) in [
        (user_key, config.login_max_failures_account),
        (ip_key, config.login_max_failures_address),
    ] {
        sqlx::query(
            "insert into login_throttle as t (key, failures, window_started_at)
             values ($1, 1, now())
             on conflict (key) do update set
               failures = case when t.window_started_at < now() - make_interval(mins => $3::int)
                               then 1 else t.failures + 1 end,
               window_started_at = case when t.window_started_at < now() - make_interval(mins => $3::int)
                               then now() else t.window_started_at end",
        )
        .bind(&key)
        .bind(max)
        .bind(config.login_lock_minutes as i32)
        .execute(pool)
        .await?;
        sqlx::query(
            "update login_throttle set locked_until = now() + make_interval(mins => $3::int)
             where key = $1 and failures >= $2",
        )
        .bind(&key)
        .bind(max)
        .bind(config.login_lock_minutes as i32)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Forgets the account's failures after a successful sign-in.
pub async fn clear(pool: &PgPool, username: &str) -> Result<()> {
    sqlx::query("delete from login_throttle where key = $1")
        .bind(format!("user:{}", username.trim().to_lowercase()))
        .execute(pool)
        .await?;
    Ok(())
}
