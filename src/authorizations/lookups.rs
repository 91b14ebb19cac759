//! The public lookups' log and rate limit without a database write on the
//! request path (issue 14): a lookup is counted against its client address
//! in memory and handed to a writer task that inserts the log rows in
//! batches (one statement per batch, at most one batch per [`GATHER`]
//! unless a batch fills). On shutdown the queue is drained before the pool
//! closes.
//!
//! The limit is per server process: with N processes behind a balancer a
//! client may look up N × [`LOOKUPS_PER_MINUTE`] times a minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

/// Lookups per client address and minute before the page refuses, unless
/// configured otherwise (`JILIANG_LOOKUPS_PER_MINUTE`).
pub const LOOKUPS_PER_MINUTE: u32 = 60;
/// Log rows written in one statement at most.
const BATCH: usize = 1_000;
/// Lookups waiting for the writer; past this, a lookup is refused rather
/// than kept in memory without bound (the database is away or too slow).
const QUEUE: usize = 50_000;
/// Addresses tracked before the stale ones are forgotten; past
/// [`MAX_ADDRESSES`] of live ones a new address is refused.
const PRUNE_AT: usize = 10_000;
const MAX_ADDRESSES: usize = 200_000;
const WINDOW: Duration = Duration::from_secs(60);
/// How long the writer lets lookups gather before it writes them (a crash
/// loses at most this much of the log, besides what is queued).
const GATHER: Duration = Duration::from_millis(200);

struct Entry {
    subject: &'static str,
    prefix: String,
    found: bool,
    addr: String,
    at: chrono::DateTime<chrono::Utc>,
}

enum Msg {
    Log(Entry),
    Flush(oneshot::Sender<()>),
}

/// One address's lookups: a sliding window estimated from the current
/// minute's count and the previous minute's (weighted by the part of it
/// still inside the last 60 s).
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    current: u32,
    previous: u32,
}

impl Window {
    fn estimate(&mut self, now: Instant) -> f64 {
        let elapsed = now.duration_since(self.start);
        if elapsed >= WINDOW * 2 {
            *self = Window {
                start: now,
                current: 0,
                previous: 0,
            };
        } else if elapsed >= WINDOW {
            *self = Window {
                start: self.start + WINDOW,
                current: 0,
                previous: self.current,
            };
        }
        let into = now.duration_since(self.start).as_secs_f64() / WINDOW.as_secs_f64();
        self.previous as f64 * (1.0 - into).max(0.0) + self.current as f64
    }
}

/// The log's queue and the limiter's windows.
pub struct LookupLog {
    per_minute: u32,
    queue: mpsc::Sender<Msg>,
    windows: Mutex<HashMap<String, Window>>,
}

impl LookupLog {
    /// Starts the writer task on `pool`; `per_minute` lookups per address.
    pub fn start(pool: PgPool, per_minute: u32) -> Arc<LookupLog> {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(pool, rx));
        Arc::new(LookupLog {
            per_minute,
            queue,
            windows: Mutex::new(HashMap::new()),
        })
    }

    /// Counts one lookup from `addr`; `false` when the address is over the
    /// limit (the lookup is then neither answered nor counted).
    pub fn allow(&self, addr: &str) -> bool {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return false;
        };
        if windows.len() >= PRUNE_AT && !windows.contains_key(addr) {
            windows.retain(|_, w| now.duration_since(w.start) < WINDOW * 2);
            if windows.len() >= MAX_ADDRESSES {
                return false;
            }
        }
        // The address is copied only when it is new.
        if !windows.contains_key(addr) {
            windows.insert(
                addr.to_owned(),
                Window {
                    start: now,
                    current: 0,
                    previous: 0,
                },
            );
        }
        let Some(w) = windows.get_mut(addr) else {
            return false;
        };
        if w.estimate(now) >= self.per_minute as f64 {
            return false;
        }
        w.current += 1;
        true
    }

    /// Queues the log row of a lookup (a token prefix only, never the whole
    /// token); `false` (and a warning in the server log) when the queue
    /// filled since [`Self::has_room`] said yes.
    pub fn record(&self, token: &str, found: bool, addr: &str) -> bool {
        self.log(
            "authorization",
            token.chars().take(6).collect(),
            found,
            addr,
        )
    }

    /// Queues the log row of a public lookup of a work record (R16.5):
    /// the station and number asked for (neither is secret), cut to 80
    /// characters.
    pub fn record_lookup(&self, key: &str, found: bool, addr: &str) -> bool {
        self.log("record", key.chars().take(80).collect(), found, addr)
    }

    fn log(&self, subject: &'static str, prefix: String, found: bool, addr: &str) -> bool {
        let queued = self
            .queue
            .try_send(Msg::Log(Entry {
                subject,
                prefix,
                found,
                addr: addr.to_owned(),
                at: chrono::Utc::now(),
            }))
            .is_ok();
        if !queued {
            tracing::warn!("lookup log queue full: one lookup not logged");
        }
        queued
    }

    /// Whether the queue has room for one more lookup.
    pub fn has_room(&self) -> bool {
        self.queue.capacity() > 0
    }

    /// Waits until every lookup queued so far is written (shutdown, tests).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.queue.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn writer(pool: PgPool, mut rx: mpsc::Receiver<Msg>) {
    let mut batch: Vec<Entry> = Vec::with_capacity(BATCH);
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let flush_now = matches!(first, Msg::Flush(_));
        take(first, &mut batch, &mut waiting);
        // Let the lookups of the next moment gather in the queue: while this
        // task sleeps no lookup wakes it, and they go in one statement (a
        // statement and its commit per few lookups cost the database more
        // than the lookups themselves under load). A flush does not wait.
        if !flush_now {
            tokio::time::sleep(GATHER).await;
        }
        loop {
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(m) => take(m, &mut batch, &mut waiting),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            let full = batch.len() == BATCH;
            write(&pool, &mut batch).await;
            if !full {
                break;
            }
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

fn take(m: Msg, batch: &mut Vec<Entry>, waiting: &mut Vec<oneshot::Sender<()>>) {
    match m {
        Msg::Log(e) => batch.push(e),
        Msg::Flush(done) => waiting.push(done),
    }
}

/// Inserts the batch; a failed insert is retried a few times, then the
/// rows are reported in the server log (the lookups were answered).
async fn write(pool: &PgPool, batch: &mut Vec<Entry>) {
    let subjects: Vec<&str> = batch.iter().map(|e| e.subject).collect();
    let prefixes: Vec<&str> = batch.iter().map(|e| e.prefix.as_str()).collect();
    let found: Vec<bool> = batch.iter().map(|e| e.found).collect();
    let addrs: Vec<&str> = batch.iter().map(|e| e.addr.as_str()).collect();
    let at: Vec<chrono::DateTime<chrono::Utc>> = batch.iter().map(|e| e.at).collect();
    for attempt in 1..=3 {
        let res = sqlx::query(
            "insert into verification_lookup (token_prefix, found, client_addr, looked_at, subject)
             select * from unnest($1::text[], $2::bool[], $3::text[], $4::timestamptz[], $5::text[])",
        )
        .bind(&prefixes)
        .bind(&found)
        .bind(&addrs)
        .bind(&at)
        .bind(&subjects)
        .execute(pool)
        .await;
        match res {
            Ok(_) => break,
            Err(e) if attempt < 3 => {
                tracing::warn!(error = %e, rows = batch.len(), "writing the lookup log failed; retrying");
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            Err(e) => tracing::error!(error = %e, rows = batch.len(), "lookup log rows lost"),
        }
    }
    batch.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_slides_over_the_previous_minute() {
        let t0 = Instant::now();
        let mut w = Window {
            start: t0,
            current: 60,
            previous: 0,
        };
        assert_eq!(w.estimate(t0), 60.0);
        // Half into the next minute, half of the last minute's still count.
        let e = w.estimate(t0 + WINDOW + WINDOW / 2);
        assert!((e - 30.0).abs() < 0.5, "{e}");
        assert_eq!(w.previous, 60);
        // Two minutes of silence forget everything.
        assert_eq!(w.estimate(t0 + WINDOW * 4), 0.0);
    }
}
