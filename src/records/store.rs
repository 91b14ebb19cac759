//! Work records in the database: the batch writer every path shares (form,
//! file, LIMS batch, `jiliang records import`), lists on their indexes,
//! void, the regulators' queue and samples, the public lookup.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::chain::{Chain, Checked, StateKey};
use super::model::{Reason, RecordRow, StandardSnapshot, WorkRecord};
use crate::error::{AppError, FieldError, Result};
use crate::web::Cursor;

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Form,
    Import,
    Api,
    Migration,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Form => "form",
            Source::Import => "import",
            Source::Api => "api",
            Source::Migration => "migration",
        }
    }
}

/// What a batch did, record by record.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct BatchOutcome {
    /// Records written now.
    pub created: u64,
    /// Records already there with the same content (a resent batch).
    pub unchanged: u64,
    /// Of the created, how many are flagged (R16.7).
    pub flagged: u64,
    /// Each record of the batch in order.
    pub records: Vec<BatchItem>,
}

/// One record's outcome in a batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchItem {
    pub number: String,
    pub record_id: Uuid,
    /// `created` or `unchanged`.
    pub outcome: &'static str,
    pub flagged: bool,
    pub flag_codes: Vec<String>,
}

/// Removes repeats of one record within a batch; the same number with other
/// content twice in one batch is a field error on the later row.
pub fn dedupe(
    records: Vec<(usize, Checked)>,
    prefix: impl Fn(usize) -> String,
) -> Result<Vec<Checked>> {
    let mut seen: HashMap<String, Vec<u8>> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    let mut errors = Vec::new();
    for (i, c) in records {
        match seen.get(&c.parsed.number) {
            Some(h) if *h == c.content_hash => {}
            Some(_) => errors.push(FieldError::new(
                &format!("{}number", prefix(i)),
                "duplicate_number",
                format!("编号“{}”在本批中出现两次且内容不同", c.parsed.number),
                format!(
                    "Number {:?} appears twice in this batch with different content",
                    c.parsed.number
                ),
            )),
            None => {
                seen.insert(c.parsed.number.clone(), c.content_hash.clone());
                out.push(c);
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Ids of the standards' states, written once each (cache across batches).
async fn state_ids(
    conn: &mut PgConnection,
    station_id: Uuid,
    keys: Vec<&StateKey>,
    cache: &mut HashMap<StateKey, i64>,
) -> Result<()> {
    let missing: Vec<&StateKey> = keys
        .into_iter()
        .filter(|k| !cache.contains_key(*k))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut uniq: Vec<&StateKey> = Vec::new();
    for k in missing {
        if !uniq.contains(&k) {
            uniq.push(k);
        }
    }
    let ids: Vec<Uuid> = uniq.iter().map(|k| k.standard_id).collect();
    let names: Vec<&str> = uniq.iter().map(|k| k.name.as_str()).collect();
    let statuses: Vec<&str> = uniq.iter().map(|k| k.status.as_str()).collect();
    let certs: Vec<&str> = uniq.iter().map(|k| k.cert_number.as_str()).collect();
    let issued: Vec<NaiveDate> = uniq.iter().map(|k| k.cert_issued_on).collect();
    let expires: Vec<NaiveDate> = uniq.iter().map(|k| k.cert_expires_on).collect();
    let dues: Vec<Option<NaiveDate>> = uniq.iter().map(|k| k.traceability_due).collect();
    sqlx::query(
        "insert into standard_state (standard_id, station_id, name, status, cert_number, cert_issued_on,
           cert_expires_on, traceability_due)
         select s, $2, n, st, c, i, e, d
           from unnest($1::uuid[], $3::text[], $4::text[], $5::text[], $6::date[], $7::date[], $8::date[])
             as x (s, n, st, c, i, e, d)
         on conflict on constraint standard_state_key do nothing",
    )
    .bind(&ids)
    .bind(station_id)
    .bind(&names)
    .bind(&statuses)
    .bind(&certs)
    .bind(&issued)
    .bind(&expires)
    .bind(&dues)
    .execute(&mut *conn)
    .await?;
    type Row = (
        i64,
        Uuid,
        String,
        String,
        String,
        NaiveDate,
        NaiveDate,
        Option<NaiveDate>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select standard_state_id, standard_id, name, status, cert_number, cert_issued_on, cert_expires_on,
                traceability_due
           from standard_state where station_id = $1 and standard_id = any ($2)",
    )
    .bind(station_id)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    for (
        id,
        standard_id,
        name,
        status,
        cert_number,
        cert_issued_on,
        cert_expires_on,
        traceability_due,
    ) in rows
    {
        cache.insert(
            StateKey {
                standard_id,
                name,
                status,
                cert_number,
                cert_issued_on,
                cert_expires_on,
                traceability_due,
            },
            id,
        );
    }
    Ok(())
}

/// Options of one write.
pub struct WriteOptions<'a> {
    pub source: Source,
    pub user_id: Option<Uuid>,
    /// The controlled override of a flagged record (form): reason, by whom.
    pub override_by: Option<(&'a str, Uuid)>,
    /// Write with COPY (the migration command, as the owner): the fastest
    /// path; a number already there falls back to the checked insert.
    pub copy: bool,
}

/// Writes `records` (deduplicated, all of `chain`'s station) in the
/// caller's transaction: a number already there with the same content is
/// unchanged, with other content a 409 for the whole batch; `reissue_of`
/// must name a voided record of the station. One statement inserts all.
pub async fn write_batch(
    conn: &mut PgConnection,
    chain: &Chain,
    records: &[Checked],
    opts: &WriteOptions<'_>,
    cache: &mut HashMap<StateKey, i64>,
) -> Result<BatchOutcome> {
    let station_id = chain.station_id;
    let numbers: Vec<&str> = records.iter().map(|r| r.parsed.number.as_str()).collect();
    let mut existing: HashMap<String, (Uuid, Vec<u8>, String)> = HashMap::new();
    let reissues: Vec<&str> = records
        .iter()
        .filter_map(|r| r.parsed.reissue_of.as_deref())
        .collect();
    if !opts.copy || !reissues.is_empty() {
        let mut wanted: Vec<&str> = numbers.clone();
        wanted.extend(reissues.iter().copied());
        let rows: Vec<(String, Uuid, Vec<u8>, String)> = sqlx::query_as(
            "select number, record_id, content_hash, state from work_record
              where station_id = $1 and number = any ($2)",
        )
        .bind(station_id)
        .bind(&wanted)
        .fetch_all(&mut *conn)
        .await?;
        for (n, id, h, state) in rows {
            existing.insert(n, (id, h, state));
        }
    }
    let mut errors = Vec::new();
    let mut conflicts = Vec::new();
    let mut reissue_ids: Vec<Option<Uuid>> = Vec::with_capacity(records.len());
    for r in records {
        if let Some((_, h, _)) = existing.get(&r.parsed.number) {
            if *h != r.content_hash {
                conflicts.push(r.parsed.number.clone());
            }
        }
        reissue_ids.push(match r.parsed.reissue_of.as_deref() {
            None => None,
            Some(n) => match existing.get(n) {
                Some((id, _, state)) if state == "voided" => Some(*id),
                Some(_) => {
                    errors.push(FieldError::new(
                        "reissue_of",
                        "not_voided",
                        format!("“{n}”尚未作废，先作废再重新出具"),
                        format!("{n:?} is not voided; void it before re-issuing"),
                    ));
                    None
                }
                None => {
                    errors.push(FieldError::new(
                        "reissue_of",
                        "unknown_record",
                        format!("本站没有编号为“{n}”的记录"),
                        format!("The station has no record numbered {n:?}"),
                    ));
                    None
                }
            },
        });
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if !conflicts.is_empty() {
        return Err(number_conflict(&conflicts));
    }
    let keys: Vec<&StateKey> = records
        .iter()
        .flat_map(|r| r.standard_states.iter())
        .collect();
    state_ids(conn, station_id, keys, cache).await?;
    let mut outcome = BatchOutcome::default();
    let mut fresh: Vec<(usize, Uuid)> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        match existing.get(&r.parsed.number) {
            Some((id, _, _)) => {
                outcome.unchanged += 1;
                outcome.records.push(BatchItem {
                    number: r.parsed.number.clone(),
                    record_id: *id,
                    outcome: "unchanged",
                    flagged: false,
                    flag_codes: Vec::new(),
                });
            }
            None => {
                let id = Uuid::now_v7();
                fresh.push((i, id));
                outcome.records.push(BatchItem {
                    number: r.parsed.number.clone(),
                    record_id: id,
                    outcome: "created",
                    flagged: r.flagged(),
                    flag_codes: r.flag_codes.clone(),
                });
            }
        }
    }
    if fresh.is_empty() {
        return Ok(outcome);
    }
    let written = if opts.copy {
        sqlx::query("savepoint work_record_copy")
            .execute(&mut *conn)
            .await?;
        match copy_rows(conn, station_id, records, &fresh, &reissue_ids, opts, cache).await {
            Ok(()) => {
                sqlx::query("release savepoint work_record_copy")
                    .execute(&mut *conn)
                    .await?;
                None
            }
            // A number already there (mapped from the unique constraint):
            Err(AppError::Conflict {
                code: "number_conflict",
                ..
            }) => {
                sqlx::query("rollback to savepoint work_record_copy")
                    .execute(&mut *conn)
                    .await?;
                // Some numbers are already there: the checked path decides.
                let slow = WriteOptions {
                    copy: false,
                    source: opts.source,
                    user_id: opts.user_id,
                    override_by: opts.override_by,
                };
                return Box::pin(write_batch(conn, chain, records, &slow, cache)).await;
            }
            Err(e) => return Err(e),
        }
    } else {
        Some(insert_rows(conn, station_id, records, &fresh, &reissue_ids, opts, cache).await?)
    };
    if let Some(inserted) = written {
        // A number taken by a concurrent batch between our read and insert:
        // the same content is that batch's record; other content conflicts.
        if inserted.len() < fresh.len() {
            let lost: Vec<&str> = fresh
                .iter()
                .map(|(i, _)| records[*i].parsed.number.as_str())
                .filter(|n| !inserted.contains_key(*n))
                .collect();
            let rows: Vec<(String, Uuid, Vec<u8>)> = sqlx::query_as(
                "select number, record_id, content_hash from work_record
                  where station_id = $1 and number = any ($2)",
            )
            .bind(station_id)
            .bind(&lost)
            .fetch_all(&mut *conn)
            .await?;
            let mut conflicts = Vec::new();
            for (n, id, h) in rows {
                let Some(item) = outcome.records.iter_mut().find(|x| x.number == n) else {
                    continue;
                };
                let r = records.iter().find(|r| r.parsed.number == n);
                if r.is_some_and(|r| r.content_hash == h) {
                    item.record_id = id;
                    item.outcome = "unchanged";
                    item.flagged = false;
                    item.flag_codes.clear();
                } else {
                    conflicts.push(n);
                }
            }
            if !conflicts.is_empty() {
                return Err(number_conflict(&conflicts));
            }
        }
    }
    for item in &outcome.records {
        if item.outcome == "created" {
            outcome.created += 1;
            if item.flagged {
                outcome.flagged += 1;
            }
        }
    }
    outcome.unchanged = outcome.records.len() as u64 - outcome.created;
    Ok(outcome)
}

fn number_conflict(numbers: &[String]) -> AppError {
    let shown: Vec<&str> = numbers.iter().take(10).map(String::as_str).collect();
    AppError::Conflict {
        code: "number_conflict",
        zh: format!(
            "本站已有这些编号的记录且内容不同（R16.5 编号唯一）：{}{}",
            shown.join("、"),
            if numbers.len() > 10 { " 等" } else { "" }
        ),
        en: format!(
            "The station already has records with these numbers and other content (R16.5: numbers are unique): {}{}",
            shown.join(", "),
            if numbers.len() > 10 { " and more" } else { "" }
        ),
    }
}

fn states_literal(r: &Checked, cache: &HashMap<StateKey, i64>) -> String {
    let ids: Vec<String> = r
        .standard_states
        .iter()
        .filter_map(|k| cache.get(k))
        .map(i64::to_string)
        .collect();
    format!("{{{}}}", ids.join(","))
}

fn codes_literal(r: &Checked) -> String {
    format!("{{{}}}", r.flag_codes.join(","))
}

/// The checked insert: one statement over arrays; returns the numbers
/// written (a number a concurrent batch took is skipped, not an error).
async fn insert_rows(
    conn: &mut PgConnection,
    station_id: Uuid,
    records: &[Checked],
    fresh: &[(usize, Uuid)],
    reissue: &[Option<Uuid>],
    opts: &WriteOptions<'_>,
    cache: &HashMap<StateKey, i64>,
) -> Result<HashMap<String, Uuid>> {
    let rs: Vec<&Checked> = fresh.iter().map(|(i, _)| &records[*i]).collect();
    let ids: Vec<Uuid> = fresh.iter().map(|(_, id)| *id).collect();
    let p = |f: fn(&Checked) -> &str| rs.iter().map(|r| f(r)).collect::<Vec<&str>>();
    let numbers = p(|r| &r.parsed.number);
    let kinds = p(|r| r.parsed.kind.code());
    let names = p(|r| &r.parsed.instrument_name);
    let models = p(|r| &r.parsed.instrument_model);
    let serials = p(|r| &r.parsed.instrument_serial);
    let makers = p(|r| &r.parsed.manufacturer);
    let customers = p(|r| &r.parsed.customer_name);
    let credit: Vec<Option<&str>> = rs
        .iter()
        .map(|r| r.parsed.customer_credit_code.as_deref())
        .collect();
    let divisions = p(|r| r.parsed.customer_division.as_str());
    let items = p(|r| &r.parsed.item_name);
    let ranges = p(|r| &r.parsed.range_text);
    let specs = p(|r| &r.parsed.specification);
    let states: Vec<String> = rs.iter().map(|r| states_literal(r, cache)).collect();
    let performers: Vec<Uuid> = rs.iter().map(|r| r.performer_id).collect();
    let checkers: Vec<Uuid> = rs.iter().map(|r| r.checker_id).collect();
    let approvers: Vec<Uuid> = rs.iter().map(|r| r.approver_id).collect();
    let work: Vec<NaiveDate> = rs.iter().map(|r| r.parsed.work_date).collect();
    let issue: Vec<NaiveDate> = rs.iter().map(|r| r.parsed.issue_date).collect();
    let conclusions = p(|r| &r.parsed.conclusion);
    let valid: Vec<Option<NaiveDate>> = rs.iter().map(|r| r.parsed.valid_until).collect();
    let auth: Vec<Option<Uuid>> = rs.iter().map(|r| r.authorization.map(|a| a.0)).collect();
    let rev: Vec<Option<i32>> = rs.iter().map(|r| r.authorization.map(|a| a.1)).collect();
    let flagged: Vec<bool> = rs.iter().map(|r| r.flagged()).collect();
    let codes: Vec<String> = rs.iter().map(|r| codes_literal(r)).collect();
    let reasons: Vec<serde_json::Value> = rs
        .iter()
        .map(|r| serde_json::to_value(&r.reasons).unwrap_or_default())
        .collect();
    let reissue: Vec<Option<Uuid>> = fresh.iter().map(|(i, _)| reissue[*i]).collect();
    let hashes: Vec<&[u8]> = rs.iter().map(|r| r.content_hash.as_slice()).collect();
    let (override_reason, override_by): (Vec<Option<&str>>, Vec<Option<Uuid>>) = rs
        .iter()
        .map(|r| match opts.override_by {
            Some((reason, by)) if r.flagged() => (Some(reason), Some(by)),
            _ => (None, None),
        })
        .unzip();
    let rows: Vec<(String, Uuid)> = sqlx::query_as(
        "insert into work_record (record_id, station_id, number, kind, instrument_name, instrument_model,
           instrument_serial, manufacturer, customer_name, customer_credit_code, customer_division, item_name,
           range_text, specification, standard_states, performer_id, checker_id, approver_id, work_date,
           issue_date, conclusion, valid_until, authorization_id, authorization_revision, flagged, flag_codes,
           reasons, reissue_of, content_hash, override_reason, override_by, source, created_by)
         select id, $2, n, k, iname, imodel, iserial, maker, cust, credit, div, item, rng, spec, st::bigint[],
                perf, chk, appr, wd, isd, concl, vu, aid, arev, fl, codes::text[], rs, ri, h, ovr, ovb, $31, $32
           from unnest($1::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                       $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                       $16::uuid[], $17::uuid[], $18::uuid[], $19::date[], $20::date[], $21::text[], $22::date[],
                       $23::uuid[], $24::int[], $25::bool[], $26::text[], $27::jsonb[], $28::uuid[], $29::bytea[],
                       $30::text[], $33::uuid[])
             as x (id, n, k, iname, imodel, iserial, maker, cust, credit, div, item, rng, spec, st, perf, chk,
                   appr, wd, isd, concl, vu, aid, arev, fl, codes, rs, ri, h, ovr, ovb)
         on conflict (station_id, number) do nothing
         returning number, record_id",
    )
    .bind(&ids)
    .bind(station_id)
    .bind(&numbers)
    .bind(&kinds)
    .bind(&names)
    .bind(&models)
    .bind(&serials)
    .bind(&makers)
    .bind(&customers)
    .bind(&credit)
    .bind(&divisions)
    .bind(&items)
    .bind(&ranges)
    .bind(&specs)
    .bind(&states)
    .bind(&performers)
    .bind(&checkers)
    .bind(&approvers)
    .bind(&work)
    .bind(&issue)
    .bind(&conclusions)
    .bind(&valid)
    .bind(&auth)
    .bind(&rev)
    .bind(&flagged)
    .bind(&codes)
    .bind(&reasons)
    .bind(&reissue)
    .bind(&hashes)
    .bind(&override_reason)
    .bind(opts.source.as_str())
    .bind(opts.user_id)
    .bind(&override_by)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Escapes a value for COPY's text format.
fn copy_text(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// The migration path: the same rows through COPY (the owner's connection;
/// COPY FROM does not run under row security, so only the command uses it).
async fn copy_rows(
    conn: &mut PgConnection,
    station_id: Uuid,
    records: &[Checked],
    fresh: &[(usize, Uuid)],
    reissue: &[Option<Uuid>],
    opts: &WriteOptions<'_>,
    cache: &HashMap<StateKey, i64>,
) -> Result<()> {
    use std::fmt::Write;
    let mut buf = String::with_capacity(fresh.len() * 400);
    let station = station_id.to_string();
    let source = opts.source.as_str();
    let user = opts.user_id.map(|u| u.to_string());
    for (i, id) in fresh {
        let r = &records[*i];
        let p = &r.parsed;
        let col = |buf: &mut String, v: Option<&str>| {
            match v {
                Some(v) => copy_text(buf, v),
                None => buf.push_str("\\N"),
            }
            buf.push('\t');
        };
        col(&mut buf, Some(&id.to_string()));
        col(&mut buf, Some(&station));
        col(&mut buf, Some(&p.number));
        col(&mut buf, Some(p.kind.code()));
        col(&mut buf, Some(&p.instrument_name));
        col(&mut buf, Some(&p.instrument_model));
        col(&mut buf, Some(&p.instrument_serial));
        col(&mut buf, Some(&p.manufacturer));
        col(&mut buf, Some(&p.customer_name));
        col(&mut buf, p.customer_credit_code.as_deref());
        col(&mut buf, Some(p.customer_division.as_str()));
        col(&mut buf, Some(&p.item_name));
        col(&mut buf, Some(&p.range_text));
        col(&mut buf, Some(&p.specification));
        col(&mut buf, Some(&states_literal(r, cache)));
        col(&mut buf, Some(&r.performer_id.to_string()));
        col(&mut buf, Some(&r.checker_id.to_string()));
        col(&mut buf, Some(&r.approver_id.to_string()));
        col(&mut buf, Some(&p.work_date.to_string()));
        col(&mut buf, Some(&p.issue_date.to_string()));
        col(&mut buf, Some(&p.conclusion));
        col(&mut buf, p.valid_until.map(|d| d.to_string()).as_deref());
        col(
            &mut buf,
            r.authorization.map(|a| a.0.to_string()).as_deref(),
        );
        col(
            &mut buf,
            r.authorization.map(|a| a.1.to_string()).as_deref(),
        );
        col(&mut buf, Some(if r.flagged() { "t" } else { "f" }));
        col(&mut buf, Some(&codes_literal(r)));
        col(
            &mut buf,
            Some(&serde_json::to_string(&r.reasons).unwrap_or_else(|_| "[]".into())),
        );
        col(&mut buf, reissue[*i].map(|u| u.to_string()).as_deref());
        let mut hash = String::from("\\x");
        for b in &r.content_hash {
            let _ = write!(hash, "{b:02x}");
        }
        col(&mut buf, Some(&hash));
        col(&mut buf, Some(source));
        buf.push_str(user.as_deref().unwrap_or("\\N"));
        buf.push('\n');
    }
    let mut copy = conn
        .copy_in_raw(
            "copy work_record (record_id, station_id, number, kind, instrument_name, instrument_model,
               instrument_serial, manufacturer, customer_name, customer_credit_code, customer_division, item_name,
               range_text, specification, standard_states, performer_id, checker_id, approver_id, work_date,
               issue_date, conclusion, valid_until, authorization_id, authorization_revision, flagged, flag_codes,
               reasons, reissue_of, content_hash, source, created_by) from stdin",
        )
        .await?;
    copy.send(buf.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// Filters of a record list.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub station_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub kind: Option<String>,
    pub item: Option<String>,
    pub conclusion: Option<String>,
    pub flagged: Option<bool>,
    /// Number prefix, exact instrument serial or part of the customer's name.
    pub q: Option<String>,
    /// A flag code (the queue).
    pub reason: Option<String>,
}

/// The columns of a list row ([`ListRow`]) and the joins they need.
const ROW_COLUMNS: &str =
    "r.record_id, r.station_id, s.code, o.name, r.number, r.kind, r.instrument_name,
    r.instrument_serial, r.customer_name, r.item_name, r.work_date, r.issue_date, r.conclusion,
    r.flagged, r.flag_codes, r.state";
const ROW_JOINS: &str = "join station s on s.station_id = r.station_id
    join organization o on o.organization_id = r.station_id";

type ListRow = (
    Uuid,
    Uuid,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    NaiveDate,
    NaiveDate,
    String,
    bool,
    Vec<String>,
    String,
);

fn to_row(r: ListRow) -> RecordRow {
    RecordRow {
        record_id: r.0,
        station_id: r.1,
        station_code: r.2,
        station_name: r.3,
        number: r.4,
        kind: r.5,
        instrument_name: r.6,
        instrument_serial: r.7,
        customer_name: r.8,
        item_name: r.9,
        work_date: r.10,
        issue_date: r.11,
        conclusion: r.12,
        flagged: r.13,
        flag_codes: r.14,
        state: r.15,
    }
}

/// One station's records, newest work first, on the index (station, work
/// date, id); every filter is a condition on that scan.
pub async fn list(
    conn: &mut PgConnection,
    f: &RecordFilter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<(Vec<RecordRow>, Option<Cursor>)> {
    let Some(station_id) = f.station_id else {
        return Err(AppError::field(
            "station_id",
            "required",
            "请选择计量站",
            "Choose a station",
        ));
    };
    let (after_date, after_id) = match cursor {
        Some(c) => (Some(c.date()?), Some(c.id)),
        None => (None, None),
    };
    let q = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let sql = format!(
        "select {ROW_COLUMNS} from work_record r {ROW_JOINS}
          where r.station_id = $1
            and ($2::date is null or r.work_date >= $2)
            and ($3::date is null or r.work_date <= $3)
            and ($4::text is null or r.kind = $4)
            and ($5::text is null or r.item_name = $5)
            and ($6::text is null or r.conclusion = $6)
            and ($7::bool is null or r.flagged = $7)
            and ($8::text is null or r.number like $9 escape '\\' or r.instrument_serial = $8
                 or r.customer_name like $10 escape '\\')
            and ($11::text is null or r.flag_codes @> array[$11])
            and ($12::date is null or (r.work_date, r.record_id) < ($12, $13))
          order by r.work_date desc, r.record_id desc
          limit $14"
    );
    let rows: Vec<ListRow> = sqlx::query_as(&sql)
        .bind(station_id)
        .bind(f.from)
        .bind(f.to)
        .bind(f.kind.as_deref())
        .bind(f.item.as_deref())
        .bind(f.conclusion.as_deref())
        .bind(f.flagged)
        .bind(q)
        // `like_pattern` is `%q%`; without its first `%`, a prefix pattern.
        .bind(q.map(|q| crate::web::like_pattern(q)[1..].to_owned()))
        .bind(q.map(crate::web::like_pattern))
        .bind(f.reason.as_deref())
        .bind(after_date)
        .bind(after_id)
        .bind(limit + 1)
        .fetch_all(&mut *conn)
        .await?;
    let rows: Vec<RecordRow> = rows.into_iter().map(to_row).collect();
    Ok(crate::web::keyset_page(rows, limit, |r| {
        Cursor::new(r.work_date, r.record_id)
    }))
}

/// Above this many visible stations, the queue walks the national date
/// index of open flags; at or below it, each station's own. Both plans give
/// the same rows (a test sets it to 0 to walk a province's queue both ways).
pub static QUEUE_PER_STATION_MAX: std::sync::atomic::AtomicI64 =
    std::sync::atomic::AtomicI64::new(64);

/// The flagged, valid records of the stations the caller sees (R16.7,
/// R17.1), newest work first; `station_id` narrows to one of them. Keys
/// from `work_record_flag` (the open flags, kept by trigger), then only the
/// page's rows:
/// - one station, or a caller that sees at most [`QUEUE_PER_STATION_MAX`]
///   stations: each station's newest keys (`work_record_flag_station_idx`),
///   merged;
/// - a national viewer or one that sees more: the date index
///   (`work_record_flag_date_idx`), the row policy and the reason decided on
///   the index entry.
pub async fn queue(
    conn: &mut PgConnection,
    station_id: Option<Uuid>,
    reason: Option<&str>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<(Vec<RecordRow>, Option<Cursor>)> {
    let (after_date, after_id) = match cursor {
        Some(c) => (Some(c.date()?), Some(c.id)),
        None => (None, None),
    };
    let per_station = match station_id {
        Some(_) => true,
        None => {
            let (national, seen): (bool, i64) = sqlx::query_as(
                "select app_sees_all_stations(),
                        (select count(distinct a.station_id) from station_access a
                          where a.org_id = (select app_org_id()))",
            )
            .fetch_one(&mut *conn)
            .await?;
            !national && seen <= QUEUE_PER_STATION_MAX.load(std::sync::atomic::Ordering::Relaxed)
        }
    };
    let keys = if per_station {
        "with v as (
           select $1::uuid as station_id where $1::uuid is not null
           union all
           -- One row per station (an organization may both authorize and
           -- supervise one).
           select distinct a.station_id from station_access a
            where $1::uuid is null and a.org_id = (select app_org_id())
         )
         select x.station_id, x.record_id, x.work_date from v
         cross join lateral (
           select f.station_id, f.record_id, f.work_date from work_record_flag f
            where f.station_id = v.station_id
              and ($2::text is null or f.flag_codes @> array[$2])
              and ($3::date is null or (f.work_date, f.record_id) < ($3, $4))
            order by f.work_date desc, f.record_id desc
            limit $5) x
         order by x.work_date desc, x.record_id desc
         limit $5"
    } else {
        "select f.station_id, f.record_id, f.work_date from work_record_flag f
          where ($1::uuid is null or f.station_id = $1)
            and ($2::text is null or f.flag_codes @> array[$2])
            and ($3::date is null or (f.work_date, f.record_id) < ($3, $4))
          order by f.work_date desc, f.record_id desc
          limit $5"
    };
    let sql = format!(
        "with k as ({keys})
         select {ROW_COLUMNS} from k
           join work_record r on r.station_id = k.station_id and r.record_id = k.record_id
           {ROW_JOINS}
          order by r.work_date desc, r.record_id desc"
    );
    let rows: Vec<ListRow> = sqlx::query_as(&sql)
        .bind(station_id)
        .bind(reason)
        .bind(after_date)
        .bind(after_id)
        .bind(limit + 1)
        .fetch_all(&mut *conn)
        .await?;
    let rows: Vec<RecordRow> = rows.into_iter().map(to_row).collect();
    Ok(crate::web::keyset_page(rows, limit, |r| {
        Cursor::new(r.work_date, r.record_id)
    }))
}

/// The queue's headings: open flagged records per reason over the stations
/// the caller sees, from the counts kept at insert (no scan of records).
pub async fn queue_counts(conn: &mut PgConnection) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "select code, sum(open)::bigint from work_record_flag_count where open > 0
          group by code order by 2 desc, 1",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Records per month and kind with the flagged among them (dashboards),
/// over the stations the caller sees or one of them, the last `months`.
pub async fn monthly(
    conn: &mut PgConnection,
    station_id: Option<Uuid>,
    since: NaiveDate,
) -> Result<Vec<(NaiveDate, String, i64, i64)>> {
    Ok(sqlx::query_as(
        "select month, kind, sum(total)::bigint, sum(flagged)::bigint from work_record_month
          where month >= $2 and ($1::uuid is null or station_id = $1)
          group by month, kind order by month, kind",
    )
    .bind(station_id)
    .bind(since)
    .fetch_all(&mut *conn)
    .await?)
}

/// One record with its standards and people.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<WorkRecord> {
    let row: Option<sqlx::postgres::PgRow> = sqlx::query(
        "select r.record_id, r.station_id, s.code, o.name, r.number, r.kind, r.instrument_name,
                r.instrument_model, r.instrument_serial, r.manufacturer, r.customer_credit_code,
                r.customer_name, r.customer_division, r.item_name, r.range_text, r.standard_states,
                r.specification, coalesce(pf.name, ''), coalesce(ck.name, ''), coalesce(ap.name, ''),
                r.work_date, r.issue_date, r.conclusion, r.valid_until, r.authorization_id,
                r.authorization_revision, r.flagged, r.reasons, r.override_reason,
                (select u.display_name from app_user u where u.user_id = r.override_by), r.reissue_of,
                r.state, r.void_reason, r.voided_at, r.source, r.created_at, r.version
           from work_record r
           join station s on s.station_id = r.station_id
           join organization o on o.organization_id = r.station_id
           left join staff_member pf on pf.staff_member_id = r.performer_id
           left join staff_member ck on ck.staff_member_id = r.checker_id
           left join staff_member ap on ap.staff_member_id = r.approver_id
          where r.record_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(AppError::NotFound);
    };
    use sqlx::Row as _;
    let states: Vec<i64> = row.try_get(15)?;
    let station_id: Uuid = row.try_get(1)?;
    let standards: Vec<StandardSnapshot> = sqlx::query_as::<_, (Uuid, String, String, String, NaiveDate, NaiveDate, Option<NaiveDate>)>(
        "select standard_id, name, status, cert_number, cert_issued_on, cert_expires_on, traceability_due
           from standard_state where standard_state_id = any ($1) order by array_position($1, standard_state_id)",
    )
    .bind(&states)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|s| StandardSnapshot {
        standard_id: s.0,
        name: s.1,
        status: s.2,
        cert_number: s.3,
        cert_issued_on: s.4,
        cert_expires_on: s.5,
        traceability_due: s.6,
    })
    .collect();
    let reasons: serde_json::Value = row.try_get(27)?;
    let reasons: Vec<Reason> = serde_json::from_value(reasons).unwrap_or_default();
    Ok(WorkRecord {
        record_id: row.try_get(0)?,
        station_id,
        station_code: row.try_get(2)?,
        station_name: row.try_get(3)?,
        number: row.try_get(4)?,
        kind: row.try_get(5)?,
        instrument_name: row.try_get(6)?,
        instrument_model: row.try_get(7)?,
        instrument_serial: row.try_get(8)?,
        manufacturer: row.try_get(9)?,
        customer_credit_code: row.try_get(10)?,
        customer_name: row.try_get(11)?,
        customer_division: row.try_get(12)?,
        item_name: row.try_get(13)?,
        range_text: row.try_get(14)?,
        standards,
        specification: row.try_get(16)?,
        performer: row.try_get(17)?,
        checker: row.try_get(18)?,
        approver: row.try_get(19)?,
        work_date: row.try_get(20)?,
        issue_date: row.try_get(21)?,
        conclusion: row.try_get(22)?,
        valid_until: row.try_get(23)?,
        authorization_id: row.try_get(24)?,
        authorization_revision: row.try_get(25)?,
        flagged: row.try_get(26)?,
        reasons,
        override_reason: row.try_get(28)?,
        override_by: row.try_get(29)?,
        reissue_of: row.try_get(30)?,
        state: row.try_get(31)?,
        void_reason: row.try_get(32)?,
        voided_at: row.try_get(33)?,
        source: row.try_get(34)?,
        created_at: row.try_get(35)?,
        version: row.try_get(36)?,
    })
}

/// Voids a record of the caller's station (it stays, marked, R16.5):
/// refused when stale or already voided.
pub async fn void(
    conn: &mut PgConnection,
    id: Uuid,
    version: i32,
    reason: &str,
    user_id: Uuid,
) -> Result<()> {
    let done = sqlx::query(
        "update work_record set state = 'voided', void_reason = $3, voided_at = now(), voided_by = $4,
                version = version + 1
          where record_id = $1 and version = $2 and state = 'valid'",
    )
    .bind(id)
    .bind(version)
    .bind(reason)
    .bind(user_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if done == 1 {
        return Ok(());
    }
    let state: Option<(String, i32)> =
        sqlx::query_as("select state, version from work_record where record_id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    match state {
        None => Err(AppError::NotFound),
        Some((s, _)) if s == "voided" => Err(AppError::Conflict {
            code: "already_voided",
            zh: "该记录已作废".into(),
            en: "The record is already voided".into(),
        }),
        Some(_) => Err(AppError::Conflict {
            code: "stale",
            zh: "记录已被他人修改，请刷新后重试".into(),
            en: "The record changed meanwhile; reload and try again".into(),
        }),
    }
}

/// What the public sees of a record (R16.5): nothing about the customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicRecord {
    pub station_code: String,
    pub station_name: String,
    pub number: String,
    pub kind: String,
    pub kind_name: String,
    pub issue_date: NaiveDate,
    pub instrument_name: String,
    pub instrument_serial: String,
    pub conclusion: String,
    pub valid_until: Option<NaiveDate>,
    pub voided: bool,
}

/// The public lookup: `station` is a station code or its authorization
/// certificate number; one statement on the unique (station, number) index.
pub async fn public_lookup(
    pool: &sqlx::PgPool,
    station: &str,
    number: &str,
) -> Result<Option<PublicRecord>> {
    type Row = (
        String,
        String,
        String,
        String,
        NaiveDate,
        String,
        String,
        String,
        Option<NaiveDate>,
        String,
    );
    let row: Option<Row> = sqlx::query_as(
        "select s.code, o.name, r.number, r.kind, r.issue_date, r.instrument_name, r.instrument_serial,
                r.conclusion, r.valid_until, r.state
           from station s
           join organization o on o.organization_id = s.station_id
           join work_record r on r.station_id = s.station_id and r.number = $2
          where s.station_id = coalesce((select x.station_id from station x where x.code = upper($1)),
                                        (select a.station_id from station_authorization a where a.certificate_number = $1))",
    )
    .bind(station)
    .bind(number)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| PublicRecord {
        station_code: r.0,
        station_name: r.1,
        number: r.2,
        kind_name: super::model::kind_name(&r.3, crate::rules::Lang::Zh),
        kind: r.3,
        issue_date: r.4,
        instrument_name: r.5,
        instrument_serial: r.6,
        conclusion: r.7,
        valid_until: r.8,
        voided: r.9 == "voided",
    }))
}

/// The records linked to a case as evidence (R19.1), in the order linked.
pub async fn case_records(conn: &mut PgConnection, case_id: Uuid) -> Result<Vec<RecordRow>> {
    let sql = format!(
        "select {ROW_COLUMNS} from violation_case_record l
           join work_record r on r.station_id = l.station_id and r.record_id = l.record_id {ROW_JOINS}
          where l.case_id = $1
          order by l.linked_at, r.record_id
          limit 500"
    );
    let rows: Vec<ListRow> = sqlx::query_as(&sql)
        .bind(case_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(to_row).collect())
}
