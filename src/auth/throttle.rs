//! Sign-in throttling (OWASP ASVS 5.0 V6.3), kept in PostgreSQL so it holds
//! across server processes.
//!
//! An attempt is *reserved* before its password is evaluated, in one
//! statement per key, so parallel guesses cannot all be tried: a key allows
//! `max − failures` attempts in flight (one once past the limit), and
//! refuses while it waits. Keys are the pair (account, client address) —
//! so a stranger's guesses never lock the account for its owner at another
//! address — and the client address alone, with a higher limit, against
//! one address trying many accounts. Past the limit each failure makes the
//! wait twice as long (1, 2, 4 … minutes, capped at
//! `JILIANG_LOGIN_LOCK_MINUTES`); failures are forgotten after a day
//! without one, and a successful sign-in forgets the pair's.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::config::Config;
use crate::error::{AppError, Result};

fn pair_key(username: &str, addr: &str) -> String {
    format!("pair:{}|{addr}", username.trim().to_lowercase())
}

fn ip_key(addr: &str) -> String {
    format!("ip:{addr}")
}

/// Reserves one evaluation for `key`; `None` when the key refuses now.
async fn reserve_key(pool: &PgPool, key: &str, max: i32) -> Result<bool> {
    let reserved: Option<i32> = sqlx::query_scalar(
        "insert into login_throttle as t (key, failures, window_started_at, in_flight, reserved_at)
         values ($1, 0, now(), 1, now())
         on conflict (key) do update set
           failures = case when t.last_failure_at < now() - interval '1 day' then 0 else t.failures end,
           in_flight = case when t.reserved_at < now() - interval '1 minute' then 0 else t.in_flight end + 1,
           reserved_at = now()
         where (t.locked_until is null or t.locked_until <= now())
           and case when t.reserved_at < now() - interval '1 minute' then 0 else t.in_flight end
               < greatest($2 - case when t.last_failure_at < now() - interval '1 day' then 0
                                    else t.failures end, 1)
         returning in_flight",
    )
    .bind(key)
    .bind(max)
    .fetch_optional(pool)
    .await?;
    Ok(reserved.is_some())
}

async fn release_key(pool: &PgPool, key: &str) -> Result<()> {
    sqlx::query("update login_throttle set in_flight = greatest(in_flight - 1, 0) where key = $1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// How long `keys` still refuse, for the user and the Retry-After header.
async fn wait_secs(pool: &PgPool, keys: &[String]) -> Result<i64> {
    let until: Option<DateTime<Utc>> = sqlx::query_scalar(
        "select max(locked_until) from login_throttle where key = any($1) and locked_until > now()",
    )
    .bind(keys)
    .fetch_one(pool)
    .await?;
    // Not locked but full: other attempts are being evaluated right now.
    Ok(until.map_or(2, |u| (u - Utc::now()).num_seconds().max(1)))
}

/// A reserved sign-in attempt: call [`Attempt::failed`] or
/// [`Attempt::succeeded`] once its password was evaluated.
#[must_use]
pub struct Attempt {
    pair: String,
    ip: String,
}

/// Reserves an attempt for (`username`, `addr`), or refuses with
/// [`AppError::Throttled`] saying how long to wait.
pub async fn reserve(
    pool: &PgPool,
    config: &Config,
    username: &str,
    addr: &str,
) -> Result<Attempt> {
    let pair = pair_key(username, addr);
    let ip = ip_key(addr);
    if !reserve_key(pool, &pair, config.login_max_failures_account).await? {
        return Err(AppError::Throttled {
            retry_after_secs: wait_secs(pool, std::slice::from_ref(&pair)).await?,
        });
    }
    if !reserve_key(pool, &ip, config.login_max_failures_address).await? {
        release_key(pool, &pair).await?;
        return Err(AppError::Throttled {
            retry_after_secs: wait_secs(pool, std::slice::from_ref(&ip)).await?,
        });
    }
    Ok(Attempt { pair, ip })
}

impl Attempt {
    /// Counts the failure for the pair and the address; past a key's limit
    /// it waits, twice as long for each further failure.
    pub async fn failed(self, pool: &PgPool, config: &Config) -> Result<()> {
        for (key, max) in [
            (&self.pair, config.login_max_failures_account),
            (&self.ip, config.login_max_failures_address),
        ] {
            sqlx::query(
                "update login_throttle set
                   failures = failures + 1,
                   in_flight = greatest(in_flight - 1, 0),
                   last_failure_at = now(),
                   locked_until = case when failures + 1 >= $2
                     then now() + make_interval(secs => least(
                            60 * power(2, least(failures + 1 - $2, 20)), $3 * 60)::double precision)
                     else null end
                 where key = $1",
            )
            .bind(key)
            .bind(max)
            .bind(config.login_lock_minutes as f64)
            .execute(pool)
            .await?;
        }
        Ok(())
    }

    /// Forgets the pair's failures (keeping the count of other attempts
    /// still in flight); the address's stay.
    pub async fn succeeded(self, pool: &PgPool) -> Result<()> {
        sqlx::query(
            "update login_throttle set failures = 0, last_failure_at = null, locked_until = null,
               in_flight = greatest(in_flight - 1, 0)
             where key = $1",
        )
        .bind(&self.pair)
        .execute(pool)
        .await?;
        release_key(pool, &self.ip).await
    }

    /// The attempt ended without an answer (an error): nothing counted.
    pub async fn abandoned(self, pool: &PgPool) -> Result<()> {
        release_key(pool, &self.pair).await?;
        release_key(pool, &self.ip).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_account_and_the_address() {
        assert_eq!(
            pair_key(" Gd.Approver ", "10.0.0.1"),
            "pair:gd.approver|10.0.0.1"
        );
        assert_eq!(ip_key("10.0.0.1"), "ip:10.0.0.1");
    }
}
