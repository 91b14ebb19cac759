//! The audit log: one insert-only, hash-chained row per state change,
//! written in the same transaction as the change (requirements.md §4).
//! `jiliang audit-verify` recomputes every chain ([`verify`]); [`anchor`]
//! signs the chain heads into a file outside the database, so a shortened
//! or rewritten chain shows against its last anchor.

pub mod anchor;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::auth::Ctx;
use crate::error::Result;

/// One state change to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// What happened, `<entity>.<verb>`, e.g. `organization.create`.
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl<'a> Event<'a> {
    pub fn new(action: &'a str, entity_type: &'a str, entity_id: impl ToString) -> Self {
        Event {
            action,
            entity_type,
            entity_id: entity_id.to_string(),
            before: None,
            after: None,
        }
    }

    pub fn before(mut self, v: &impl Serialize) -> Self {
        self.before = serde_json::to_value(v).ok();
        self
    }

    pub fn after(mut self, v: &impl Serialize) -> Self {
        self.after = serde_json::to_value(v).ok();
        self
    }
}

/// Records `event` as done by `ctx`, inside the caller's transaction.
pub async fn record(conn: &mut PgConnection, ctx: &Ctx, event: Event<'_>) -> Result<()> {
    insert(conn, Some(ctx.org_id), Some(ctx.user_id), event).await
}

/// Records an event outside any tenant (sign-in of a known user uses the
/// user's organization; system work passes `None`).
pub async fn insert(
    conn: &mut PgConnection,
    org_id: Option<Uuid>,
    user_id: Option<Uuid>,
    event: Event<'_>,
) -> Result<()> {
    // chain, seq, prev_hash and hash are set by the audit_event_chain trigger.
    sqlx::query(
        "insert into audit_event (audit_event_id, chain, seq, org_id, user_id, action, entity_type,
           entity_id, before, after, prev_hash, hash)
         values ($1, '', 0, $2, $3, $4, $5, $6, $7, $8, '', '')",
    )
    .bind(Uuid::now_v7())
    .bind(org_id)
    .bind(user_id)
    .bind(event.action)
    .bind(event.entity_type)
    .bind(event.entity_id)
    .bind(event.before)
    .bind(event.after)
    .execute(conn)
    .await?;
    Ok(())
}

/// What [`verify`] found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub chains: usize,
    pub events: usize,
    pub breaks: Vec<String>,
}

/// Recomputes every chain with the owner's connection: each row's hash must
/// be SHA-256 of the previous row's hash and the row's canonical payload,
/// sequence numbers must run 1, 2, 3 … and the chain head must match.
pub async fn verify(pool: &PgPool) -> anyhow::Result<VerifyReport> {
    let rows: Vec<(String, i64, String, String, String)> = sqlx::query_as(
        "select chain, seq, prev_hash, hash, audit_payload(e) from audit_event e order by chain, seq",
    )
    .fetch_all(pool)
    .await?;
    let heads: Vec<(String, i64, String)> =
        sqlx::query_as("select chain, last_seq, last_hash from audit_chain order by chain")
            .fetch_all(pool)
            .await?;
    let mut report = VerifyReport::default();
    let mut last: Option<(String, i64, String)> = None;
    let mut ends: Vec<(String, i64, String)> = Vec::new();
    for (chain, seq, prev_hash, hash, payload) in rows {
        report.events += 1;
        let (expected_seq, expected_prev) = match &last {
            Some((c, s, h)) if *c == chain => (s + 1, h.clone()),
            other => {
                if let Some(end) = other {
                    ends.push(end.clone());
                }
                report.chains += 1;
                (1, String::new())
            }
        };
        if seq != expected_seq {
            report.breaks.push(format!(
                "chain {chain}: expected seq {expected_seq}, found {seq}"
            ));
        }
        if prev_hash != expected_prev {
            report.breaks.push(format!(
                "chain {chain} seq {seq}: prev_hash does not match the previous row"
            ));
        }
        let computed = hex::encode(Sha256::digest(format!("{prev_hash}|{payload}").as_bytes()));
        if computed != hash {
            report.breaks.push(format!(
                "chain {chain} seq {seq}: content does not match its hash"
            ));
        }
        last = Some((chain, seq, hash));
    }
    if let Some(end) = last {
        ends.push(end);
    }
    for (chain, seq, hash) in &heads {
        match ends.iter().find(|(c, _, _)| c == chain) {
            Some((_, s, h)) if s == seq && h == hash => {}
            _ => report.breaks.push(format!(
                "chain {chain}: head (seq {seq}) does not match the last row"
            )),
        }
    }
    if heads.len() != ends.len() {
        report
            .breaks
            .push("a chain has rows but no head, or a head but no rows".into());
    }
    Ok(report)
}
