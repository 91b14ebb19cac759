//! Files of work records: the CSV template's columns (English keys or the
//! Chinese headings) and `jiliang records import`, which streams a large
//! file through the same parse and whole-chain check as the form and the
//! LIMS batch, in batches, with progress, all or nothing per file.

use std::collections::HashMap;
use std::io::Read;
use std::time::Instant;

use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
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

/// The columns an export adds after the template's (the check and the
/// state as recorded): read back as nothing, so that an exported file
/// imports again.
pub const EXPORT_ONLY: [&str; 4] = ["核查结果", "标记原因", "状态", "作废原因"];

/// A file's header mapped to column keys (`_` for an export-only column,
/// ignored); unknown headings are an error.
pub fn header_map(header: &csv::StringRecord) -> Result<Vec<&'static str>, String> {
    header
        .iter()
        .map(|h| {
            let h = h.trim().trim_start_matches('\u{feff}');
            COLUMNS
                .iter()
                .find(|(k, zh)| *k == h || *zh == h)
                .map(|(k, _)| *k)
                .or_else(|| EXPORT_ONLY.contains(&h).then_some("_"))
                .ok_or_else(|| format!("未知列“{h}” / unknown column {h:?}"))
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

/// A refused row: its line in the file (the header is line 1; 0 for the
/// file as a whole), the field and the message in Chinese and English.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = RecordImportLineError)]
pub struct LineError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

/// What an import did: everything, or nothing with the refused rows (up to
/// 100) by line.
#[derive(Debug, Default, Serialize, ToSchema)]
#[schema(as = RecordImportReport)]
pub struct ImportReport {
    pub rows: u64,
    pub created: u64,
    pub unchanged: u64,
    pub flagged: u64,
    pub errors: Vec<LineError>,
    pub seconds: f64,
    /// Of which: reading and checking rows, writing them.
    pub check_seconds: f64,
    pub write_seconds: f64,
}

/// The most rows a file sent through the browser or the API may hold.
pub const FILE_MAX_ROWS: u64 = 100_000;
/// The largest such file: 100,000 rows of about 240 bytes.
pub const FILE_MAX_BYTES: usize = 24 * 1024 * 1024;

/// Rows of a file after its header, each read or refused with a message.
pub type Rows = Box<dyn Iterator<Item = Result<csv::StringRecord, String>> + Send>;

/// A CSV reader's header and rows. A row with another number of columns
/// than the header, or not UTF-8, is a refused row, not a failure.
pub fn csv_rows(reader: impl Read + Send + 'static) -> Result<(csv::StringRecord, Rows), String> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let header = csv.headers().map_err(csv_error)?.clone();
    Ok((
        header,
        Box::new(csv.into_records().map(|r| r.map_err(csv_error))),
    ))
}

fn csv_error(e: csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
            "本行有 {len} 列，标题行有 {expected_len} 列 / the row has {len} columns, the header {expected_len}"
        ),
        csv::ErrorKind::Utf8 { .. } => {
            "不是 UTF-8 编码（用模板另存为“CSV UTF-8”） / not UTF-8 (save as “CSV UTF-8”)".into()
        }
        _ => format!("无法读取：{e} / unreadable: {e}"),
    }
}

/// A file as sent through the browser or the API: CSV (UTF-8, with or
/// without BOM) or XLSX (the first worksheet), by its name.
pub fn file_rows(
    filename: &str,
    bytes: axum::body::Bytes,
) -> Result<(csv::StringRecord, Rows), String> {
    let lower = filename.to_ascii_lowercase();
    if lower.ends_with(".xlsx") {
        let rows = crate::standards::import::read_rows(filename, &bytes)
            .map_err(|p| format!("{} / {}", p.message, p.message_en))?;
        let mut rows = rows.into_iter();
        let header = csv::StringRecord::from(rows.next().unwrap_or_default());
        let width = header.len();
        Ok((
            header,
            Box::new(rows.map(move |mut r| {
                // Excel leaves trailing empty cells out of a short row.
                r.resize(width.max(r.len()), String::new());
                if r.len() > width && r[width..].iter().any(|c| !c.trim().is_empty()) {
                    return Err(format!(
                        "本行有标题行以外的列 / the row has cells beyond the header's {width} columns"
                    ));
                }
                r.truncate(width);
                Ok(csv::StringRecord::from(r))
            })),
        ))
    } else if lower.ends_with(".csv") {
        csv_rows(std::io::Cursor::new(bytes))
    } else {
        Err("请上传 .csv 或 .xlsx 文件 / upload a .csv or .xlsx file".into())
    }
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
    errors: Vec<LineError>,
    seconds: f64,
}

impl Checking {
    fn error(&mut self, line: u64, field: impl Into<String>, message: impl Into<String>) {
        if self.errors.len() < 100 {
            self.errors.push(LineError {
                line,
                field: field.into(),
                message: message.into(),
            });
        }
    }
}

/// Which station the rows are of.
#[derive(Clone)]
pub enum Target {
    /// All of one station (its id and code): a row's `station_code`, if
    /// given, must be this one's.
    Station(Uuid, String),
    /// Each row's `station_code` names its station.
    ByCode,
}

/// Reads, parses and checks the rows on a thread of their own, so that the
/// next batch is checked while the database writes the last one.
#[allow(clippy::too_many_arguments)]
fn check_file(
    rows: Rows,
    keys: Vec<&'static str>,
    target: Target,
    stations: HashMap<String, Uuid>,
    chains: std::sync::Arc<HashMap<Uuid, Chain>>,
    batch: usize,
    max_rows: Option<u64>,
    today: chrono::NaiveDate,
    out: tokio::sync::mpsc::Sender<Work>,
) -> Checking {
    let started = Instant::now();
    let mut report = Checking::default();
    let mut pending: HashMap<Uuid, Vec<Pending>> = HashMap::new();
    let mut pending_rows = 0usize;
    let mut line = 1u64;
    let mut rows = rows.peekable();
    loop {
        let next = rows.next();
        let more = next.is_some();
        if let Some(row) = next {
            line += 1;
            report.rows += 1;
            if max_rows.is_some_and(|m| report.rows > m) {
                let m = max_rows.unwrap_or_default();
                report.error(
                    line,
                    "file",
                    format!(
                        "每个文件至多 {m} 行，请分成几个文件 / at most {m} rows a file: split it"
                    ),
                );
                break;
            }
            match row {
                Err(message) => report.error(line, "file", message),
                Ok(row) if row.iter().all(|c| c.trim().is_empty()) => {
                    report.rows -= 1; // an empty line is no record
                }
                Ok(row) => {
                    let (code, input) = row_input(&keys, &row);
                    let code = code
                        .map(|c| c.trim().to_uppercase())
                        .filter(|c| !c.is_empty());
                    let sid = match (&target, code) {
                        (Target::Station(id, own), Some(c)) if c != *own => {
                            report.error(
                                line,
                                "station_code",
                                format!("本行属于计量站“{c}”，不是本站（{own}） / the row is station {c}'s, not {own}'s"),
                            );
                            None
                        }
                        (Target::Station(id, _), _) => Some(*id),
                        (Target::ByCode, Some(c)) => stations.get(&c).copied(),
                        (Target::ByCode, None) => None,
                    };
                    match sid {
                        Some(sid) if chains.contains_key(&sid) => {
                            pending
                                .entry(sid)
                                .or_default()
                                .push(Pending { line, input });
                            pending_rows += 1;
                        }
                        Some(_) => {}
                        None if matches!(target, Target::ByCode) => {
                            report.error(line, "station_code", "未知计量站 / unknown station")
                        }
                        None => {}
                    }
                }
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
                                report.error(
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
                            return report;
                        }
                    }
                    Err(crate::AppError::Validation(errs)) => {
                        for e in errs {
                            report.error(0, e.field, format!("{} / {}", e.message, e.message_en));
                        }
                    }
                    Err(e) => report.error(0, "file", e.to_string()),
                }
            }
            pending_rows = 0;
            let _ = out.blocking_send(Work::Progress(report.rows));
        }
        if !more || report.errors.len() >= 100 {
            break;
        }
    }
    if report.rows == 0 && report.errors.is_empty() {
        report.error(2, "file", "文件中没有数据行 / the file has no data rows");
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// How the rows are written.
pub struct ImportOptions {
    pub target: Target,
    pub source: Source,
    pub user_id: Option<Uuid>,
    /// COPY (the migration command, as the owner; COPY FROM is not
    /// possible under row security) or one insert per batch.
    pub copy: bool,
    pub batch: usize,
    pub max_rows: Option<u64>,
}

/// Checks and writes `rows` (after the `header`) in `conn`'s transaction,
/// which the caller commits only when the report has no errors (all or
/// nothing per file). `stations` maps codes to ids (for [`Target::ByCode`]).
pub async fn import_rows(
    conn: &mut PgConnection,
    header: &csv::StringRecord,
    rows: Rows,
    stations: HashMap<String, Uuid>,
    opts: ImportOptions,
    mut progress: impl FnMut(u64, f64),
) -> crate::error::Result<ImportReport> {
    let started = Instant::now();
    let mut report = ImportReport::default();
    let keys = match header_map(header) {
        Ok(k) => k,
        Err(message) => {
            report.errors.push(LineError {
                line: 1,
                field: "file".into(),
                message,
            });
            return Ok(report);
        }
    };
    if matches!(opts.target, Target::ByCode) && !keys.contains(&"station_code") {
        report.errors.push(LineError {
            line: 1,
            field: "station_code".into(),
            message: "请指定计量站，或在文件中加“计量站代码”列 / name the station, or add a station_code column".into(),
        });
        return Ok(report);
    }
    let wanted: Vec<Uuid> = match &opts.target {
        Target::Station(id, _) => vec![*id],
        Target::ByCode => stations.values().copied().collect(),
    };
    let chains = std::sync::Arc::new(chain::load_many(&mut *conn, &wanted).await?);
    let (out, mut work) = tokio::sync::mpsc::channel(2);
    let today = crate::web::today();
    let checker = {
        let chains = chains.clone();
        let (target, batch, max_rows) = (opts.target.clone(), opts.batch, opts.max_rows);
        tokio::task::spawn_blocking(move || {
            check_file(
                rows, keys, target, stations, chains, batch, max_rows, today, out,
            )
        })
    };
    let mut caches: HashMap<Uuid, HashMap<StateKey, i64>> = HashMap::new();
    let mut write_errors = Vec::new();
    let mut failure = None;
    while let Some(w) = work.recv().await {
        let (sid, records) = match w {
            Work::Progress(rows) => {
                progress(rows, started.elapsed().as_secs_f64());
                continue;
            }
            Work::Batch { sid, records } => (sid, records),
        };
        let t_write = Instant::now();
        let wopts = WriteOptions {
            source: opts.source,
            user_id: opts.user_id,
            override_by: None,
            copy: opts.copy,
        };
        let cache = caches.entry(sid).or_default();
        match store::write_batch(&mut *conn, &chains[&sid], &records, &wopts, cache).await {
            Ok(o) => {
                report.created += o.created;
                report.unchanged += o.unchanged;
                report.flagged += o.flagged;
                if o.created > 0 {
                    audit::insert(
                        &mut *conn,
                        Some(sid),
                        opts.user_id,
                        Event::new("work_record.batch", "station", sid).after(&serde_json::json!({
                            "source": opts.source.as_str(), "created": o.created, "unchanged": o.unchanged,
                            "flagged": o.flagged,
                            "first": o.records.first().map(|r| &r.number),
                            "last": o.records.last().map(|r| &r.number),
                        })),
                    )
                    .await?;
                }
            }
            Err(crate::AppError::Validation(errs)) => {
                for e in errs {
                    write_errors.push(LineError {
                        line: 0,
                        field: e.field,
                        message: format!("{} / {}", e.message, e.message_en),
                    });
                }
                break;
            }
            Err(crate::AppError::Conflict { zh, en, .. }) => {
                write_errors.push(LineError {
                    line: 0,
                    field: "number".into(),
                    message: format!("{zh} / {en}"),
                });
                break;
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        report.write_seconds += t_write.elapsed().as_secs_f64();
    }
    drop(work);
    let checked = checker
        .await
        .map_err(|e| anyhow::anyhow!("checking thread: {e}"))?;
    if let Some(e) = failure {
        return Err(e);
    }
    report.rows = checked.rows;
    report.check_seconds = checked.seconds;
    report.errors = checked.errors;
    report.errors.extend(write_errors);
    report.errors.truncate(100);
    report.seconds = started.elapsed().as_secs_f64();
    if !report.errors.is_empty() {
        report.created = 0;
        report.unchanged = 0;
        report.flagged = 0;
    }
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
    progress: impl FnMut(u64, f64),
) -> anyhow::Result<ImportReport> {
    let (header, rows) = csv_rows(reader).map_err(anyhow::Error::msg)?;
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
    let target = match station_code {
        Some(c) => {
            let code = c.trim().to_uppercase();
            let id = *stations.get(&code).ok_or_else(|| {
                anyhow::anyhow!("no station with code {c:?} / 没有代码为“{c}”的计量站")
            })?;
            Target::Station(id, code)
        }
        None => Target::ByCode,
    };
    let opts = ImportOptions {
        target,
        source: Source::Migration,
        user_id: None,
        copy: true,
        batch,
        max_rows: None,
    };
    let report = import_rows(&mut tx, &header, rows, stations, opts, progress).await?;
    if report.errors.is_empty() {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(report)
}

/// A station's file through the browser or the API (R16.5): CSV or XLSX
/// of up to [`FILE_MAX_ROWS`] rows into the caller's station, in the
/// caller's transaction, checked like every other record; the caller
/// commits only a report without errors.
pub async fn import_file(
    conn: &mut PgConnection,
    ctx: &crate::auth::Ctx,
    filename: &str,
    bytes: axum::body::Bytes,
) -> crate::error::Result<ImportReport> {
    let (header, rows) = match file_rows(filename, bytes) {
        Ok(x) => x,
        Err(message) => {
            return Ok(ImportReport {
                errors: vec![LineError {
                    line: 0,
                    field: "file".into(),
                    message,
                }],
                ..Default::default()
            })
        }
    };
    let code: String = sqlx::query_scalar("select code from station where station_id = $1")
        .bind(ctx.org_id)
        .fetch_one(&mut *conn)
        .await?;
    let opts = ImportOptions {
        target: Target::Station(ctx.org_id, code),
        source: Source::Import,
        user_id: Some(ctx.user_id),
        copy: false,
        batch: 5_000,
        max_rows: Some(FILE_MAX_ROWS),
    };
    import_rows(conn, &header, rows, HashMap::new(), opts, |_, _| {}).await
}
