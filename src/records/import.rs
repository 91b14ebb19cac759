//! Files of work records: the CSV template's columns (English keys or the
//! Chinese headings) and `jiliang records import`, which streams a large
//! file through the same parse and whole-chain check as the form and the
//! LIMS batch, in batches, with progress, all or nothing per file.

use std::collections::HashMap;
use std::io::Read;
use std::time::Instant;

use sqlx::PgPool;
use uuid::Uuid;

use super::chain::{self, Chain, StateKey};
use super::model::{self, RecordInput};
use super::store::{self, Source, WriteOptions};
use crate::audit::{self, Event};

/// The template's columns: (key, Chinese heading).
pub const COLUMNS: [(&str, &str); 22] = [
    ("station_code", "计量站代码"),
    ("number", "证书编号"),
    ("kind", "证书类别"),
    ("instrument_name", "器具名称"),
    ("instrument_model", "型号规格"),
    ("instrument_serial", "出厂编号"),
    ("manufacturer", "制造单位"),
    ("customer_name", "委托方"),
    ("customer_credit_code", "委托方信用代码"),
    ("customer_division", "使用地区代码"),
    ("item_name", "授权项目"),
    ("range_text", "测量范围"),
    ("specification", "依据规程"),
    ("standards", "计量标准"),
    ("performer", "检定员"),
    ("checker", "核验员"),
    ("approver", "批准人"),
    ("work_date", "检定日期"),
    ("issue_date", "发证日期"),
    ("conclusion", "结论"),
    ("valid_until", "有效期至"),
    ("reissue_of", "替代证书编号"),
];

/// A file's header mapped to column keys; unknown headings are an error.
pub fn header_map(header: &csv::StringRecord) -> Result<Vec<&'static str>, String> {
    header
        .iter()
        .map(|h| {
            let h = h.trim().trim_start_matches('\u{feff}');
            COLUMNS
                .iter()
                .find(|(k, zh)| *k == h || *zh == h)
                .map(|(k, _)| *k)
                .ok_or_else(|| format!("unknown column {h:?} / 未知列“{h}”"))
        })
        .collect()
}

/// One row of a file as a record and its station code (if the file has
/// that column). Standards are separated by `;`, `；` or `|`.
pub fn row_input(keys: &[&str], row: &csv::StringRecord) -> (Option<String>, RecordInput) {
    let mut r = RecordInput::default();
    let mut station = None;
    for (k, v) in keys.iter().zip(row.iter()) {
        let v = v.to_owned();
        match *k {
            "station_code" => station = Some(v),
            "number" => r.number = v,
            "kind" => r.kind = v,
            "instrument_name" => r.instrument_name = v,
            "instrument_model" => r.instrument_model = v,
            "instrument_serial" => r.instrument_serial = v,
            "manufacturer" => r.manufacturer = v,
            "customer_name" => r.customer_name = v,
            "customer_credit_code" => r.customer_credit_code = Some(v),
            "customer_division" => r.customer_division = v,
            "item_name" => r.item_name = v,
            "range_text" => r.range_text = v,
            "specification" => r.specification = v,
            "standards" => {
                r.standards = v
                    .split([';', '；', '|'])
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "performer" => r.performer = v,
            "checker" => r.checker = v,
            "approver" => r.approver = v,
            "work_date" => r.work_date = v,
            "issue_date" => r.issue_date = v,
            "conclusion" => r.conclusion = v,
            "valid_until" => r.valid_until = Some(v),
            "reissue_of" => r.reissue_of = Some(v),
            _ => {}
        }
    }
    (station, r)
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub rows: u64,
    pub created: u64,
    pub unchanged: u64,
    pub flagged: u64,
    /// (line, field, message) of each refused row, up to 100.
    pub errors: Vec<(u64, String, String)>,
    pub seconds: f64,
    /// Of which: reading and checking rows, writing them.
    pub check_seconds: f64,
    pub write_seconds: f64,
}

struct Pending {
    line: u64,
    input: RecordInput,
}

/// What the checking thread hands the writer.
enum Work {
    /// Checked records of one station, ready to write.
    Batch {
        sid: Uuid,
        records: Vec<chain::Checked>,
    },
    /// Rows read so far.
    Progress(u64),
}

/// What the checking thread found.
#[derive(Default)]
struct Checking {
    rows: u64,
    errors: Vec<(u64, String, String)>,
    seconds: f64,
}

/// Reads, parses and checks the file on a thread of its own, so that the
/// next batch is checked while the database writes the last one.
#[allow(clippy::too_many_arguments)]
fn check_file(
    mut csv: csv::Reader<impl Read>,
    keys: Vec<&'static str>,
    fixed: Option<Uuid>,
    stations: HashMap<String, Uuid>,
    chains: std::sync::Arc<HashMap<Uuid, Chain>>,
    batch: usize,
    today: chrono::NaiveDate,
    out: tokio::sync::mpsc::Sender<Work>,
) -> anyhow::Result<Checking> {
    let started = Instant::now();
    let mut report = Checking::default();
    let mut pending: HashMap<Uuid, Vec<Pending>> = HashMap::new();
    let mut pending_rows = 0usize;
    let mut row = csv::StringRecord::new();
    let mut line = 1u64;
    let error = |report: &mut Checking, line: u64, field: String, message: String| {
        if report.errors.len() < 100 {
            report.errors.push((line, field, message));
        }
    };
    loop {
        let more = csv.read_record(&mut row)?;
        if more {
            line += 1;
            report.rows += 1;
            let (code, input) = row_input(&keys, &row);
            let sid = match (fixed, code) {
                (Some(s), _) => Some(s),
                (None, Some(c)) => stations.get(c.trim()).copied(),
                (None, None) => None,
            };
            match sid {
                Some(sid) if chains.contains_key(&sid) => {
                    pending
                        .entry(sid)
                        .or_default()
                        .push(Pending { line, input });
                    pending_rows += 1;
                }
                _ => error(
                    &mut report,
                    line,
                    "station_code".into(),
                    "unknown station / 未知计量站".into(),
                ),
            }
        }
        if pending_rows >= batch || (!more && pending_rows > 0) {
            for (sid, rows) in pending.drain() {
                let chain = &chains[&sid];
                let mut checked = Vec::with_capacity(rows.len());
                let mut lines = Vec::with_capacity(rows.len());
                for p in rows {
                    match model::parse(&p.input, "", today).and_then(|x| chain.check(x, "")) {
                        Ok(c) => {
                            lines.push(p.line);
                            checked.push((lines.len() - 1, c));
                        }
                        Err(errs) => {
                            for e in errs {
                                error(
                                    &mut report,
                                    p.line,
                                    e.field,
                                    format!("{} / {}", e.message, e.message_en),
                                );
                            }
                        }
                    }
                }
                if !report.errors.is_empty() {
                    continue;
                }
                match store::dedupe(checked, |i| format!("line {}: ", lines[i])) {
                    Ok(records) => {
                        if out.blocking_send(Work::Batch { sid, records }).is_err() {
                            // The writer stopped (a refused write): so do we.
                            report.seconds = started.elapsed().as_secs_f64();
                            return Ok(report);
                        }
                    }
                    Err(crate::AppError::Validation(errs)) => {
                        for e in errs {
                            error(
                                &mut report,
                                0,
                                e.field,
                                format!("{} / {}", e.message, e.message_en),
                            );
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            pending_rows = 0;
            let _ = out.blocking_send(Work::Progress(report.rows));
        }
        if !more || report.errors.len() >= 100 {
            break;
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// `jiliang records import`: reads `reader` (CSV with a header row), every
/// row of station `station_code` or, without it, of the station its
/// `station_code` column names. Rows are checked on a thread of their own
/// and written in batches of about `batch` rows (COPY) within one
/// transaction: any refused row (reported by line) rolls the whole file
/// back. `progress` hears the rows done.
pub async fn import(
    pool: &PgPool,
    station_code: Option<&str>,
    reader: impl Read + Send + 'static,
    batch: usize,
    mut progress: impl FnMut(u64, f64),
) -> anyhow::Result<ImportReport> {
    let started = Instant::now();
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let keys = header_map(csv.headers()?).map_err(anyhow::Error::msg)?;
    if station_code.is_none() && !keys.contains(&"station_code") {
        anyhow::bail!("give --station CODE or a station_code column / 请用 --station 指定计量站，或在文件中加“计量站代码”列");
    }
    let mut tx = pool.begin().await?;
    // The command runs as the database owner: row security must be off for
    // it (a superuser or BYPASSRLS role), not silently filtering.
    sqlx::query("set local row_security = off")
        .execute(&mut *tx)
        .await?;
    let stations: HashMap<String, Uuid> =
        sqlx::query_as::<_, (String, Uuid)>("select code, station_id from station")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let fixed = match station_code {
        Some(c) => Some(*stations.get(&c.trim().to_uppercase()).ok_or_else(|| {
            anyhow::anyhow!("no station with code {c:?} / 没有代码为“{c}”的计量站")
        })?),
        None => None,
    };
    let wanted: Vec<Uuid> = match fixed {
        Some(s) => vec![s],
        None => stations.values().copied().collect(),
    };
    let chains = std::sync::Arc::new(chain::load_many(&mut tx, &wanted).await?);
    let (out, mut work) = tokio::sync::mpsc::channel(2);
    let today = crate::web::today();
    let checker = {
        let chains = chains.clone();
        tokio::task::spawn_blocking(move || {
            check_file(csv, keys, fixed, stations, chains, batch, today, out)
        })
    };
    let mut report = ImportReport::default();
    let mut caches: HashMap<Uuid, HashMap<StateKey, i64>> = HashMap::new();
    let mut write_errors = Vec::new();
    while let Some(w) = work.recv().await {
        let (sid, records) = match w {
            Work::Progress(rows) => {
                progress(rows, started.elapsed().as_secs_f64());
                continue;
            }
            Work::Batch { sid, records } => (sid, records),
        };
        let t_write = Instant::now();
        let opts = WriteOptions {
            source: Source::Migration,
            user_id: None,
            override_by: None,
            copy: true,
        };
        let cache = caches.entry(sid).or_default();
        match store::write_batch(&mut tx, &chains[&sid], &records, &opts, cache).await {
            Ok(o) => {
                report.created += o.created;
                report.unchanged += o.unchanged;
                report.flagged += o.flagged;
                if o.created > 0 {
                    audit::insert(
                        &mut tx,
                        Some(sid),
                        None,
                        Event::new("work_record.batch", "station", sid).after(&serde_json::json!({
                            "source": "migration", "created": o.created, "unchanged": o.unchanged,
                            "flagged": o.flagged,
                        })),
                    )
                    .await?;
                }
            }
            Err(crate::AppError::Validation(errs)) => {
                for e in errs {
                    write_errors.push((0, e.field, format!("{} / {}", e.message, e.message_en)));
                }
                break;
            }
            Err(crate::AppError::Conflict { zh, en, .. }) => {
                write_errors.push((0, "number".into(), format!("{zh} / {en}")));
                break;
            }
            Err(e) => return Err(e.into()),
        }
        report.write_seconds += t_write.elapsed().as_secs_f64();
    }
    drop(work);
    let checked = checker.await??;
    report.rows = checked.rows;
    report.check_seconds = checked.seconds;
    report.errors = checked.errors;
    report.errors.extend(write_errors);
    report.seconds = started.elapsed().as_secs_f64();
    if report.errors.is_empty() {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
        report.created = 0;
        report.unchanged = 0;
        report.flagged = 0;
    }
    Ok(report)
}
