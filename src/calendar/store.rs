//! The calendar in PostgreSQL: the current calendar for the rules (cached
//! per process, refreshed the moment any process loads a version), the
//! years held, parsing and validating an arrangement, and the import that
//! creates versions and recomputes provisional deadlines in one transaction.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use chrono::{Datelike, NaiveDate};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::model::*;
use crate::audit::{self, Event};
use crate::auth::Ctx;
use crate::error::{AppError, FieldError, Result};
use crate::rules::calendar::{
    check_arrangement, check_years, period_days, ArrangedDay, Calendar, DayKind,
};
use crate::rules::Message;

/// The process's calendar per database, with the fingerprint of the
/// versions it was built from (their count and latest load time). Versions are only
/// ever added, so any import, by any process, changes the fingerprint.
type Fingerprint = (i64, Option<chrono::DateTime<chrono::Utc>>);
static CACHE: RwLock<BTreeMap<String, (Fingerprint, Arc<Calendar>)>> = RwLock::new(BTreeMap::new());

/// Serializes imports (two at once give one version, never a mix).
const IMPORT_LOCK: i64 = 0x6a69_6c69_616e_6763; // "jiliangc"

/// The most lines a calendar file may hold (a year has a few dozen).
pub const MAX_LINES: usize = 5000;

/// The current calendar (every year's newest version). One cheap query per
/// call; the days are reloaded only after an import, by any process.
pub async fn current(conn: &mut PgConnection) -> Result<Arc<Calendar>> {
    let print: Print = sqlx::query_as(&format!("select {PRINT}"))
        .fetch_one(&mut *conn)
        .await?;
    cached(conn, print).await
}

/// The select list that reads a calendar's fingerprint ([`Print`]), for a
/// caller that reads it along with its own values in one statement.
pub const PRINT: &str = "current_database()::text, \
    (select count(*) from calendar_version), (select max(loaded_at) from calendar_version)";

/// The database and the fingerprint of its calendar versions.
pub type Print = (String, i64, Option<chrono::DateTime<chrono::Utc>>);

/// The calendar of a fingerprint read by [`PRINT`]: the process's copy, or
/// loaded afresh when any process imported a version since.
pub async fn cached(conn: &mut PgConnection, (db, count, newest): Print) -> Result<Arc<Calendar>> {
    let print = (count, newest);
    if let Ok(guard) = CACHE.read() {
        if let Some((p, cal)) = guard.get(&db) {
            if *p == print {
                return Ok(cal.clone());
            }
        }
    }
    let cal = Arc::new(load(conn).await?);
    if let Ok(mut guard) = CACHE.write() {
        guard.insert(db, (print, cal.clone()));
    }
    Ok(cal)
}

/// [`current`] on a pool connection.
pub async fn current_pool(pool: &PgPool) -> Result<Arc<Calendar>> {
    let mut conn = pool.acquire().await?;
    current(&mut conn).await
}

const CURRENT: &str = "select distinct on (year) calendar_version_id, year, version
   from calendar_version order by year, version desc";

/// Builds the calendar from the database (uncached).
pub async fn load(conn: &mut PgConnection) -> Result<Calendar> {
    let span: (Option<i32>, Option<i32>) =
        sqlx::query_as("select min(year), max(year) from calendar_version")
            .fetch_one(&mut *conn)
            .await?;
    let (Some(first), Some(last)) = span else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "the holiday calendar holds no year"
        )));
    };
    let days: Vec<(NaiveDate, String)> = sqlx::query_as(&format!(
        "select d.day, d.kind from calendar_version_day d join ({CURRENT}) v using (calendar_version_id)"
    ))
    .fetch_all(&mut *conn)
    .await?;
    Calendar::new(first, last, days.into_iter().map(|(d, k)| (d, kind_of(&k))))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
}

fn kind_of(k: &str) -> DayKind {
    if k == "workday" {
        DayKind::Workday
    } else {
        DayKind::Holiday
    }
}

fn kind_str(k: DayKind) -> &'static str {
    match k {
        DayKind::Holiday => "holiday",
        DayKind::Workday => "workday",
    }
}

const VERSION: &str = "select v.calendar_version_id as id, v.year, v.version, v.source_title, v.source_number,
       v.source_date, v.source_url, v.note, v.loaded_via, v.loaded_by, u.display_name as loaded_by_name,
       v.loaded_at,
       (select count(*) from calendar_version_day d where d.calendar_version_id = v.calendar_version_id and d.kind = 'holiday') as holidays,
       (select count(*) from calendar_version_day d where d.calendar_version_id = v.calendar_version_id and d.kind = 'workday') as workdays
  from calendar_version v left join app_user u on u.user_id = v.loaded_by";

/// R18.1: the warning shown on the operator's and regulators' home pages
/// while a year is missing that deadlines already reach: from 1 October,
/// next year; at any time, the current year.
pub fn warning_for(cal: &Calendar, today: NaiveDate) -> Option<CalendarWarning> {
    let needed = if today.month() >= 10 {
        today.year() + 1
    } else {
        today.year()
    };
    let missing = cal.loaded_last_year() + 1;
    (missing <= needed).then(|| CalendarWarning {
        year: missing,
        message: format!("{missing} 年节假日安排尚未导入：跨年的工作日期限将暂定计算"),
        message_en: format!(
            "The {missing} holiday arrangement is not loaded yet: working-day deadlines reaching into {missing} are provisional"
        ),
    })
}

/// The years held (newest first), with the next year as not published.
pub async fn overview(conn: &mut PgConnection, today: NaiveDate) -> Result<CalendarOverview> {
    let versions: Vec<CalendarVersion> =
        sqlx::query_as(&format!("{VERSION} order by v.year desc, v.version desc"))
            .fetch_all(&mut *conn)
            .await?;
    let cal = current(conn).await?;
    let mut years: Vec<CalendarYear> = Vec::new();
    let next = cal.last_year() + 1;
    years.push(CalendarYear {
        year: next,
        status: "not_published".into(),
        current: None,
        versions: 0,
    });
    for v in versions {
        match years.last_mut() {
            Some(y) if y.year == v.year => y.versions += 1,
            _ => years.push(CalendarYear {
                year: v.year,
                status: "loaded".into(),
                current: Some(v),
                versions: 1,
            }),
        }
    }
    Ok(CalendarOverview {
        years,
        first_year: cal.first_year(),
        last_year: cal.last_year(),
        warning: warning_for(&cal, today),
    })
}

/// One year's days in `version` (the current one when `None`), with the
/// list of its versions.
pub async fn year_detail(
    conn: &mut PgConnection,
    year: i32,
    version: Option<i32>,
) -> Result<CalendarYearDetail> {
    let versions: Vec<CalendarVersion> = sqlx::query_as(&format!(
        "{VERSION} where v.year = $1 order by v.version desc"
    ))
    .bind(year)
    .fetch_all(&mut *conn)
    .await?;
    let chosen = match version {
        None => versions.first(),
        Some(n) => versions.iter().find(|v| v.version == n),
    }
    .cloned()
    .ok_or(AppError::NotFound)?;
    let days: Vec<CalendarDay> = sqlx::query_as(
        "select day as date, kind, name_en, name_zh from calendar_version_day
          where calendar_version_id = $1 order by day",
    )
    .bind(chosen.id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(CalendarYearDetail {
        year,
        version: chosen,
        days,
        versions,
    })
}

/// Every year's current days as the reference file's CSV
/// (`date,kind,holiday_en,holiday_zh`), sorted by date.
pub async fn export(conn: &mut PgConnection) -> Result<String> {
    let days: Vec<CalendarDay> = sqlx::query_as(&format!(
        "select d.day as date, d.kind, d.name_en, d.name_zh
           from calendar_version_day d join ({CURRENT}) v using (calendar_version_id) order by d.day"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let csv_err = |e: csv::Error| AppError::Internal(anyhow::anyhow!("writing CSV: {e}"));
    w.write_record(["date", "kind", "holiday_en", "holiday_zh"])
        .map_err(csv_err)?;
    for d in &days {
        w.write_record([
            d.date.to_string().as_str(),
            d.kind.as_str(),
            d.name_en.as_str(),
            d.name_zh.as_str(),
        ])
        .map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
}

fn line_error(field: &str, line: Option<usize>, code: &str, zh: String, en: String) -> FieldError {
    match line {
        Some(l) => FieldError::new(
            field,
            code,
            format!("第 {l} 行：{zh}"),
            format!("line {l}: {en}"),
        ),
        None => FieldError::new(field, code, zh, en),
    }
}

/// A day with the line (or form row) it came from.
#[derive(Debug, Clone)]
pub struct Entered {
    pub day: ArrangedDay,
    /// The CSV line, or `None` for a day entered in the form.
    pub line: Option<usize>,
    /// The form field it came from (for the message beside it).
    pub field: String,
}

fn name_ok(field: &str, line: Option<usize>, value: &str, errors: &mut Vec<FieldError>) -> String {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 50 {
        errors.push(line_error(
            field,
            line,
            "name",
            "节假日名称应为 1–50 个字符".into(),
            "The holiday's name is 1–50 characters".into(),
        ));
    }
    v.to_string()
}

/// Parses a calendar file in the reference file's format: a header line
/// starting `date,kind`, then `date,kind,holiday_en,holiday_zh`. Every
/// malformed line is reported with its number.
pub fn parse_csv(text: &str) -> std::result::Result<Vec<Entered>, Vec<FieldError>> {
    let text = text.trim_start_matches('\u{FEFF}');
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header_ok = reader
        .headers()
        .map(|h| h.get(0) == Some("date") && h.get(1) == Some("kind"))
        .unwrap_or(false);
    if !header_ok {
        return Err(vec![line_error(
            "csv",
            Some(1),
            "header",
            "表头应为 date,kind,holiday_en,holiday_zh".into(),
            "the header must be date,kind,holiday_en,holiday_zh".into(),
        )]);
    }
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize);
                errors.push(line_error(
                    "csv",
                    line,
                    "format",
                    "无法读取该行".into(),
                    "the line cannot be read".into(),
                ));
                continue;
            }
        };
        let line = record.position().map(|p| p.line() as usize);
        if out.len() + errors.len() >= MAX_LINES {
            errors.push(line_error(
                "csv",
                line,
                "too_long",
                format!("文件超过 {MAX_LINES} 行"),
                format!("the file has more than {MAX_LINES} lines"),
            ));
            break;
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        let date_text = record.get(0).unwrap_or("");
        let kind_text = record.get(1).unwrap_or("");
        let date = NaiveDate::parse_from_str(date_text, "%Y-%m-%d").ok();
        if date.is_none() {
            errors.push(line_error(
                "csv",
                line,
                "date",
                format!("日期“{date_text}”不是有效的 YYYY-MM-DD 日期"),
                format!("date {date_text:?} is not a valid YYYY-MM-DD date"),
            ));
        }
        let kind = match kind_text {
            "holiday" => Some(DayKind::Holiday),
            "workday" => Some(DayKind::Workday),
            other => {
                errors.push(line_error(
                    "csv",
                    line,
                    "kind",
                    format!("类型“{other}”应为 holiday（放假）或 workday（调休上班）"),
                    format!("kind {other:?} must be holiday or workday"),
                ));
                None
            }
        };
        let name_en = name_ok("csv", line, record.get(2).unwrap_or(""), &mut errors);
        let name_zh = name_ok("csv", line, record.get(3).unwrap_or(""), &mut errors);
        if let (Some(date), Some(kind)) = (date, kind) {
            out.push(Entered {
                day: ArrangedDay {
                    date,
                    kind,
                    name_en,
                    name_zh,
                },
                line,
                field: "csv".into(),
            });
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(FieldError::new(
            "csv",
            "empty",
            "文件没有数据行",
            "The file has no data lines",
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A holiday period as entered in the form.
#[derive(Debug, Clone, Default)]
pub struct PeriodInput {
    pub name_zh: String,
    pub name_en: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// A make-up workday as entered in the form.
#[derive(Debug, Clone, Default)]
pub struct WorkdayInput {
    pub name_zh: String,
    pub name_en: String,
    pub date: Option<NaiveDate>,
}

/// The days of a year entered as holiday periods and make-up workdays
/// (blank rows are skipped). Without an English name, an official holiday
/// gets its official one and any other the Chinese name.
pub fn from_form(
    periods: &[PeriodInput],
    workdays: &[WorkdayInput],
) -> std::result::Result<Vec<Entered>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (i, p) in periods.iter().enumerate() {
        let blank = p.from.is_none() && p.to.is_none() && p.name_zh.trim().is_empty();
        if blank {
            continue;
        }
        let field = format!("periods[{i}]");
        let name_zh = name_ok(&format!("{field}.name_zh"), None, &p.name_zh, &mut errors);
        let name_en = if p.name_en.trim().is_empty() {
            english_name(&name_zh).map_or_else(|| name_zh.clone(), str::to_string)
        } else {
            p.name_en.trim().to_string()
        };
        let name_en = name_ok(&format!("{field}.name_en"), None, &name_en, &mut errors);
        match (p.from, p.to) {
            (Some(from), Some(to)) => match period_days(from, to, &name_en, &name_zh) {
                Ok(days) => out.extend(days.into_iter().map(|day| Entered {
                    day,
                    line: None,
                    field: format!("{field}.from"),
                })),
                Err(e) => errors.push(FieldError::new(
                    &format!("{field}.to"),
                    "period",
                    e.message_zh(),
                    e.message_en(),
                )),
            },
            (None, _) => errors.push(FieldError::required(&format!("{field}.from"))),
            (_, None) => errors.push(FieldError::required(&format!("{field}.to"))),
        }
    }
    for (i, w) in workdays.iter().enumerate() {
        if w.date.is_none() && w.name_zh.trim().is_empty() {
            continue;
        }
        let field = format!("workdays[{i}]");
        let name_zh = name_ok(&format!("{field}.name_zh"), None, &w.name_zh, &mut errors);
        let name_en = if w.name_en.trim().is_empty() {
            english_name(&name_zh).map_or_else(|| name_zh.clone(), str::to_string)
        } else {
            w.name_en.trim().to_string()
        };
        let name_en = name_ok(&format!("{field}.name_en"), None, &name_en, &mut errors);
        match w.date {
            Some(date) => out.push(Entered {
                day: ArrangedDay {
                    date,
                    kind: DayKind::Workday,
                    name_en,
                    name_zh,
                },
                line: None,
                field: format!("{field}.date"),
            }),
            None => errors.push(FieldError::required(&format!("{field}.date"))),
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(FieldError::new(
            "periods[0].from",
            "required",
            "请至少填写一个放假期间",
            "Enter at least one holiday period",
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The official holidays' names, Chinese and English (as in the reference file).
pub const HOLIDAYS: &[(&str, &str)] = &[
    ("元旦", "New Year's Day"),
    ("春节", "Spring Festival"),
    ("清明", "Tomb-sweeping Day"),
    ("劳动节", "Labour Day"),
    ("端午", "Dragon Boat Festival"),
    ("中秋", "Mid-autumn Festival"),
    ("国庆节", "National Day"),
];

fn english_name(zh: &str) -> Option<&'static str> {
    HOLIDAYS.iter().find(|(z, _)| *z == zh).map(|(_, e)| *e)
}

/// The days grouped by year, each year validated (R18.1), and the years
/// checked against those held. Every problem is a field error naming the
/// line or form row.
fn validate(
    held: Option<(i32, i32)>,
    entered: &[Entered],
    year: Option<i32>,
) -> std::result::Result<BTreeMap<i32, Vec<&Entered>>, Vec<FieldError>> {
    // A year chosen in the form: every date must be in it.
    let mut by_year: BTreeMap<i32, Vec<&Entered>> = BTreeMap::new();
    for e in entered {
        by_year
            .entry(year.unwrap_or(e.day.date.year()))
            .or_default()
            .push(e);
    }
    let mut errors = Vec::new();
    for (year, days) in &by_year {
        let plain: Vec<ArrangedDay> = days.iter().map(|e| e.day.clone()).collect();
        for (i, problem) in check_arrangement(*year, &plain) {
            let (field, line) = match i.map(|i| days[i]) {
                Some(e) => (e.field.as_str(), e.line),
                None => ("csv", None),
            };
            errors.push(line_error(
                field,
                line,
                "arrangement",
                problem.message_zh(),
                problem.message_en(),
            ));
        }
        if !(2000..=2100).contains(year) {
            errors.push(FieldError::new(
                "csv",
                "date_range",
                format!("{year} 年超出合理范围（2000–2100 年）"),
                format!("{year} is out of range (2000–2100)"),
            ));
        }
    }
    let years: BTreeSet<i32> = by_year.keys().copied().collect();
    for problem in check_years(held, &years) {
        errors.push(FieldError::new(
            "csv",
            "year_gap",
            problem.message_zh(),
            problem.message_en(),
        ));
    }
    if errors.is_empty() {
        Ok(by_year)
    } else {
        Err(errors)
    }
}

async fn held_span(conn: &mut PgConnection) -> Result<Option<(i32, i32)>> {
    let span: (Option<i32>, Option<i32>) =
        sqlx::query_as("select min(year), max(year) from calendar_version")
            .fetch_one(&mut *conn)
            .await?;
    Ok(match span {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    })
}

/// What importing `entered` would do: per year, new / changed / unchanged
/// with the dates that differ from the current version.
pub async fn preview(
    conn: &mut PgConnection,
    entered: &[Entered],
    year: Option<i32>,
) -> Result<CalendarImportReport> {
    let held = held_span(conn).await?;
    let by_year = validate(held, entered, year).map_err(AppError::Validation)?;
    let mut years = Vec::new();
    for (year, days) in &by_year {
        years.push(plan_year(conn, *year, days).await?);
    }
    Ok(CalendarImportReport {
        imported: false,
        years,
        recomputed: Vec::new(),
    })
}

async fn plan_year(
    conn: &mut PgConnection,
    year: i32,
    days: &[&Entered],
) -> Result<CalendarYearPlan> {
    let current: Option<(Uuid, i32)> = sqlx::query_as(
        "select calendar_version_id, version from calendar_version where year = $1
          order by version desc limit 1",
    )
    .bind(year)
    .fetch_optional(&mut *conn)
    .await?;
    let held: Vec<CalendarDay> = match current {
        Some((id, _)) => {
            sqlx::query_as(
                "select day as date, kind, name_en, name_zh from calendar_version_day
                  where calendar_version_id = $1 order by day",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
        }
        None => Vec::new(),
    };
    let before: BTreeMap<NaiveDate, CalendarDay> = held.into_iter().map(|d| (d.date, d)).collect();
    let after: BTreeMap<NaiveDate, CalendarDay> = days
        .iter()
        .map(|e| {
            (
                e.day.date,
                CalendarDay {
                    date: e.day.date,
                    kind: kind_str(e.day.kind).into(),
                    name_en: e.day.name_en.clone(),
                    name_zh: e.day.name_zh.clone(),
                },
            )
        })
        .collect();
    let dates: BTreeSet<NaiveDate> = before.keys().chain(after.keys()).copied().collect();
    let changes: Vec<CalendarDayChange> = dates
        .into_iter()
        .filter(|d| before.get(d) != after.get(d))
        .map(|d| CalendarDayChange {
            date: d,
            before: before.get(&d).cloned(),
            after: after.get(&d).cloned(),
        })
        .collect();
    let change = match (current, changes.is_empty()) {
        (None, _) => "new",
        (Some(_), true) => "unchanged",
        (Some(_), false) => "changed",
    };
    Ok(CalendarYearPlan {
        year,
        change: change.into(),
        current_version: current.map(|c| c.1),
        new_version: (change != "unchanged").then(|| current.map_or(1, |c| c.1 + 1)),
        holidays: after.values().filter(|d| d.kind == "holiday").count(),
        workdays: after.values().filter(|d| d.kind == "workday").count(),
        changes,
    })
}

/// How an import reached the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Page,
    Api,
    Cli,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Page => "page",
            Via::Api => "api",
            Via::Cli => "cli",
        }
    }
}

/// Validates the source fields (the title is required when a year changes).
pub fn check_source(source: &CalendarSource, changing: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let t = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if changing && t(&source.title).is_none() {
        errors.push(FieldError::new(
            "source.title",
            "required",
            "请填写所依据的文件标题，如《国务院办公厅关于2027年部分节假日安排的通知》",
            "Give the title of the document it comes from",
        ));
    }
    crate::web::check_lengths(
        &[
            ("source.title", source.title.as_deref(), 200),
            ("source.number", source.number.as_deref(), 100),
            ("source.url", source.url.as_deref(), 500),
            ("source.note", source.note.as_deref(), 1000),
        ],
        &mut errors,
    );
    crate::web::check_date("source.date", source.date, &mut errors);
    if let Some(url) = t(&source.url) {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            errors.push(FieldError::new(
                "source.url",
                "url",
                "网址应以 https:// 或 http:// 开头",
                "The address starts with https:// or http://",
            ));
        }
    }
    errors
}

/// Who loads: a signed-in operator, or the command line.
pub struct Actor<'a> {
    pub ctx: Option<&'a Ctx>,
    pub via: Via,
}

/// Loads `entered` as new versions of the years it changes, in one
/// transaction, under a lock that serializes imports. `expected` (year →
/// version seen in the preview; 0 for a year not held) refuses a stale
/// confirmation. Every provisional deadline is recomputed on the new
/// calendar, its parties notified when its date changed, and the import
/// audited with its report.
#[allow(clippy::too_many_arguments)]
pub async fn import(
    pool: &PgPool,
    actor: Actor<'_>,
    entered: &[Entered],
    year: Option<i32>,
    source: &CalendarSource,
    expected: Option<&BTreeMap<i32, i32>>,
    today: NaiveDate,
) -> Result<CalendarImportReport> {
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(IMPORT_LOCK)
        .execute(&mut *tx)
        .await?;
    let old = load(&mut tx).await?;
    let mut report = preview(&mut tx, entered, year).await?;
    let changing = report.years.iter().any(|y| y.change != "unchanged");
    let errors = check_source(source, changing);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if let Some(expected) = expected {
        for y in &report.years {
            let seen = expected.get(&y.year).copied().unwrap_or(0);
            if seen != y.current_version.unwrap_or(0) {
                return Err(AppError::Conflict {
                    code: "stale_version",
                    zh: format!(
                        "{} 年的日历在预览之后已被他人导入（现为第 {} 版），请重新预览",
                        y.year,
                        y.current_version.unwrap_or(0)
                    ),
                    en: format!(
                        "{} was loaded by someone else since the preview (now version {}); preview again",
                        y.year,
                        y.current_version.unwrap_or(0)
                    ),
                });
            }
        }
    }
    report.imported = true;
    if !changing {
        tx.commit().await?;
        return Ok(report);
    }
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    for plan in report.years.iter().filter(|y| y.change != "unchanged") {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into calendar_version (calendar_version_id, year, version, source_title, source_number,
               source_date, source_url, note, loaded_via, loaded_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(plan.year)
        .bind(plan.new_version)
        .bind(clean(&source.title))
        .bind(clean(&source.number))
        .bind(source.date)
        .bind(clean(&source.url))
        .bind(clean(&source.note))
        .bind(actor.via.as_str())
        .bind(actor.ctx.map(|c| c.user_id))
        .execute(&mut *tx)
        .await?;
        let days: Vec<&Entered> = entered
            .iter()
            .filter(|e| e.day.date.year() == plan.year)
            .collect();
        insert_days(&mut tx, id, plan.year, &days).await?;
    }
    let new = load(&mut tx).await?;
    let mut recomputed = recompute_orders(&mut tx, &new).await?;
    recomputed.extend(
        crate::applications::store::recompute_provisional(&mut tx, &old, &new, today).await?,
    );
    recomputed.extend(crate::lifecycle::store::recompute_provisional(&mut tx, &old, &new).await?);
    report.recomputed = recomputed;
    let years: Vec<String> = report
        .years
        .iter()
        .filter(|y| y.change != "unchanged")
        .map(|y| format!("{}v{}", y.year, y.new_version.unwrap_or(0)))
        .collect();
    audit::insert(
        &mut tx,
        actor.ctx.map(|c| c.org_id),
        actor.ctx.map(|c| c.user_id),
        Event::new("calendar.import", "calendar", years.join(",")).after(&json!({
            "via": actor.via.as_str(),
            "source": source,
            "years": report.years.iter().map(|y| json!({
                "year": y.year, "change": y.change, "version": y.new_version,
                "changes": y.changes.len(),
            })).collect::<Vec<_>>(),
            "recomputed": report.recomputed,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// The days of one new version, in one statement.
async fn insert_days(
    conn: &mut PgConnection,
    version: Uuid,
    year: i32,
    days: &[&Entered],
) -> Result<()> {
    let dates: Vec<NaiveDate> = days.iter().map(|e| e.day.date).collect();
    let kinds: Vec<&str> = days.iter().map(|e| kind_str(e.day.kind)).collect();
    let en: Vec<&str> = days.iter().map(|e| e.day.name_en.as_str()).collect();
    let zh: Vec<&str> = days.iter().map(|e| e.day.name_zh.as_str()).collect();
    sqlx::query(
        "insert into calendar_version_day (calendar_version_id, year, day, kind, name_en, name_zh)
         select $1, $2, * from unnest($3::date[], $4::text[], $5::text[], $6::text[])",
    )
    .bind(version)
    .bind(year)
    .bind(&dates)
    .bind(&kinds)
    .bind(&en)
    .bind(&zh)
    .execute(conn)
    .await?;
    Ok(())
}

/// R18.1: recomputes every provisional rectification deadline on `new`;
/// a changed date is audited on the order and notified to its parties.
async fn recompute_orders(
    conn: &mut PgConnection,
    new: &Calendar,
) -> Result<Vec<RecomputedDeadline>> {
    type Row = (
        Uuid,
        NaiveDate,
        String,
        i32,
        NaiveDate,
        Uuid,
        Uuid,
        Uuid,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select o.order_id, o.issued_on, o.period_unit, o.period_days, o.due_on, o.station_id,
                o.department_id, o.issuer_id, so.name
           from rectification_order o join organization so on so.organization_id = o.station_id
          where o.due_provisional order by o.order_id for update of o",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for (id, issued, unit, days, before, station, department, issuer, station_name) in rows {
        let period = if unit == "working_days" {
            crate::rules::deadlines::Period::WorkingDays(days.max(0) as u32)
        } else {
            crate::rules::deadlines::Period::CalendarDays(days.max(0) as u32)
        };
        let Ok((after, provisional)) =
            new.or_provisional(|c| crate::rules::deadlines::rectification_due(issued, period, c))
        else {
            continue;
        };
        sqlx::query(
            "update rectification_order set due_on = $2, due_provisional = $3, version = version + 1,
               updated_at = now() where order_id = $1",
        )
        .bind(id)
        .bind(after)
        .bind(provisional)
        .execute(&mut *conn)
        .await?;
        let changed = after != before;
        audit::insert(
            conn,
            None,
            None,
            Event::new(
                "rectification_order.due_recomputed",
                "rectification_order",
                id,
            )
            .before(&json!({"due_on": before, "due_provisional": true}))
            .after(&json!({"due_on": after, "due_provisional": provisional})),
        )
        .await?;
        let link = format!("/rectification-orders/{id}");
        if changed {
            crate::notifications::send(
                conn,
                &[station, department, issuer],
                &crate::notifications::Note::new("order.due_recomputed", link.as_str())
                    .p("station", &station_name)
                    .p("before", before)
                    .p("after", after)
                    .p2(
                        "still",
                        if provisional {
                            "（仍为暂定）"
                        } else {
                            ""
                        },
                        if provisional {
                            " (still provisional)"
                        } else {
                            ""
                        },
                    ),
            )
            .await?;
        }
        out.push(RecomputedDeadline {
            kind: "rectification_order".into(),
            id,
            label: format!("整改通知：{station_name}"),
            link,
            step: None,
            before: Some(before),
            after: Some(after),
            still_provisional: provisional,
            changed,
        });
    }
    Ok(out)
}

/// Seeds each year of the shipped reference file that the database does not
/// hold yet as its version 1 (a fresh database; a newer release's file).
/// Never touches a year already held, so an operator's versions stay.
pub async fn seed_reference(pool: &PgPool, csv_text: &str) -> anyhow::Result<usize> {
    let entered = parse_csv(csv_text).map_err(|e| {
        anyhow::anyhow!(
            "the shipped calendar file is malformed: {}",
            AppError::fields_text(&e, crate::i18n::Lang::En)
        )
    })?;
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(IMPORT_LOCK)
        .execute(&mut *tx)
        .await?;
    let held: Vec<i32> = sqlx::query_scalar("select distinct year from calendar_version")
        .fetch_all(&mut *tx)
        .await?;
    let mut by_year: BTreeMap<i32, Vec<&Entered>> = BTreeMap::new();
    for e in &entered {
        by_year.entry(e.day.date.year()).or_default().push(e);
    }
    let mut seeded = 0;
    for (year, days) in by_year.into_iter().filter(|(y, _)| !held.contains(y)) {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into calendar_version (calendar_version_id, year, version, note, loaded_via)
             values ($1, $2, 1, 'reference/cn_calendar_adjustments.csv', 'reference')",
        )
        .bind(id)
        .bind(year)
        .execute(&mut *tx)
        .await?;
        insert_days(&mut tx, id, year, &days).await?;
        seeded += 1;
    }
    tx.commit().await?;
    Ok(seeded)
}
