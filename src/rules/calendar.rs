//! The official working-day calendar and date arithmetic (R6.4, R14.1,
//! R15.1, R18.1).
//!
//! [`Calendar`] knows the State Council's holiday adjustments (the data file
//! `reference/cn_calendar_adjustments.csv`: `date,kind,holiday_en,holiday_zh`,
//! kind `holiday` or `workday`). A day not listed follows the weekday rule
//! (Monday–Friday work, Saturday and Sunday rest).
//!
//! Coverage: a year counts as covered when at least one date of it appears
//! in the data, and the covered range is every year from the first to the
//! last such year. The State Council publishes one year at a time, so the
//! last year's data ends with that year's last adjustment (2026 data ends on
//! 2026-10-10); later days of a covered year follow the weekday rule. A date
//! outside the covered years is [`CalendarError::OutOfRange`], never a guess.
//!
//! The platform holds the calendar as operated data (one version per year,
//! loaded by the operator); [`Calendar::new`] takes the loaded years
//! explicitly. Past the last loaded year, [`Calendar::or_provisional`]
//! answers provisionally 暂定 by the weekday rule with 1 January off
//! ([`Calendar::with_provisional_years`]), and says that it did, so a
//! workflow can store and show the date as provisional and recompute it when
//! the year is loaded. The strict functions keep refusing.
//! [`check_arrangement`] validates a year's arrangement before it is loaded.
//!
//! It also owns [`add_months`] (month-end clamped) and the R6.4 review clock.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Months, NaiveDate, Weekday};
use serde::Serialize;

use super::{Lang, Message};

/// Whether an adjusted day is a day off or a (make-up) working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Public holiday or bridged rest day.
    Holiday,
    /// Working day, usually a make-up Saturday or Sunday 调休上班.
    Workday,
}

/// A date the calendar cannot answer for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CalendarError {
    /// The date's year is outside the years the data covers.
    #[error("{date} is outside the holiday calendar, which covers {first}–{last}")]
    OutOfRange {
        /// The date asked about.
        date: NaiveDate,
        /// First covered year.
        first: i32,
        /// Last covered year.
        last: i32,
    },
    /// The calendar was built from no dates at all.
    #[error("the holiday calendar has no data")]
    Empty,
}

impl Message for CalendarError {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, _) => self.to_string(),
            (Lang::Zh, Self::OutOfRange { date, first, last }) => {
                format!("{date} 超出节假日日历范围（{first}–{last} 年），无法计算工作日")
            }
            (Lang::Zh, Self::Empty) => "节假日日历没有数据".to_string(),
        }
    }
}

/// A malformed line of the adjustments CSV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CalendarParseError {
    /// The header is not `date,kind,…`.
    #[error("calendar CSV header must start with \"date,kind\", got {found:?}")]
    Header {
        /// The header found.
        found: String,
    },
    /// The date column is not `YYYY-MM-DD`.
    #[error("calendar CSV line {line}: date {found:?} is not YYYY-MM-DD")]
    Date {
        /// 1-based line number.
        line: usize,
        /// The text found.
        found: String,
    },
    /// The kind column is neither `holiday` nor `workday`.
    #[error("calendar CSV line {line}: kind {found:?} is neither holiday nor workday")]
    Kind {
        /// 1-based line number.
        line: usize,
        /// The text found.
        found: String,
    },
    /// The same date is listed twice with different kinds.
    #[error("calendar CSV line {line}: {date} is listed twice with different kinds")]
    Conflict {
        /// 1-based line number of the second listing.
        line: usize,
        /// The date.
        date: NaiveDate,
    },
    /// No data lines.
    #[error("calendar CSV has no data lines")]
    Empty,
}

impl Message for CalendarParseError {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, _) => self.to_string(),
            (Lang::Zh, Self::Header { found }) => {
                format!("节假日 CSV 表头应以“date,kind”开头，实际为“{found}”")
            }
            (Lang::Zh, Self::Date { line, found }) => {
                format!("节假日 CSV 第{line}行：日期“{found}”不是 YYYY-MM-DD 格式")
            }
            (Lang::Zh, Self::Kind { line, found }) => {
                format!("节假日 CSV 第{line}行：类型“{found}”既不是 holiday 也不是 workday")
            }
            (Lang::Zh, Self::Conflict { line, date }) => {
                format!("节假日 CSV 第{line}行：{date} 重复出现且类型不一致")
            }
            (Lang::Zh, Self::Empty) => "节假日 CSV 没有数据行".to_string(),
        }
    }
}

/// The official calendar: adjustments plus the weekday rule, over the
/// covered years.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    adjustments: BTreeMap<NaiveDate, DayKind>,
    first_year: i32,
    last_year: i32,
    /// Set on a provisional extension: the last year actually loaded.
    provisional_after: Option<i32>,
}

/// How many years past the loaded ones a provisional answer may reach
/// (a one-year rectification period issued late in December needs one).
pub const PROVISIONAL_YEARS: i32 = 2;

impl Calendar {
    /// A calendar of the loaded years `first..=last` with their adjusted
    /// days (dates outside those years are ignored).
    pub fn new(
        first_year: i32,
        last_year: i32,
        days: impl IntoIterator<Item = (NaiveDate, DayKind)>,
    ) -> Result<Self, CalendarError> {
        if first_year > last_year {
            return Err(CalendarError::Empty);
        }
        let adjustments = days
            .into_iter()
            .filter(|(d, _)| (first_year..=last_year).contains(&d.year()))
            .collect();
        Ok(Self {
            adjustments,
            first_year,
            last_year,
            provisional_after: None,
        })
    }

    /// R18.1: this calendar extended by [`PROVISIONAL_YEARS`] years past its
    /// last loaded year under the provisional rule: Monday–Friday work,
    /// Saturday and Sunday rest, 1 January (New Year's Day) off. Dates it
    /// gives past the loaded years are provisional ([`Self::is_provisional`]).
    pub fn with_provisional_years(&self) -> Calendar {
        let loaded = self.loaded_last_year();
        let mut adjustments = self.adjustments.clone();
        for year in loaded + 1..=loaded + PROVISIONAL_YEARS {
            if let Some(new_year) = NaiveDate::from_ymd_opt(year, 1, 1) {
                adjustments.entry(new_year).or_insert(DayKind::Holiday);
            }
        }
        Calendar {
            adjustments,
            first_year: self.first_year,
            last_year: self.last_year.max(loaded + PROVISIONAL_YEARS),
            provisional_after: Some(loaded),
        }
    }

    /// The last year whose arrangement is loaded (not provisional).
    pub fn loaded_last_year(&self) -> i32 {
        self.provisional_after.unwrap_or(self.last_year)
    }

    /// Whether `date` lies past the loaded years, so that a deadline
    /// reaching it is provisional.
    pub fn is_provisional(&self, date: NaiveDate) -> bool {
        date.year() > self.loaded_last_year()
    }

    /// R18.1, R6.4: runs `f` on this calendar; when it fails only because a
    /// date lies after the loaded years, runs it again on the provisional
    /// extension and returns `(value, true)`. Any other failure (a date
    /// before the first loaded year, or beyond the provisional reach) stays
    /// an error.
    pub fn or_provisional<T>(
        &self,
        f: impl Fn(&Calendar) -> Result<T, CalendarError>,
    ) -> Result<(T, bool), CalendarError> {
        match f(self) {
            Ok(v) => Ok((v, false)),
            Err(CalendarError::OutOfRange { date, .. }) if date.year() > self.last_year => {
                f(&self.with_provisional_years()).map(|v| (v, true))
            }
            Err(e) => Err(e),
        }
    }

    /// The adjusted days of `year` (holidays and make-up workdays).
    pub fn days_of(&self, year: i32) -> impl Iterator<Item = (NaiveDate, DayKind)> + '_ {
        let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
        let to = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX);
        self.adjustments.range(from..=to).map(|(d, k)| (*d, *k))
    }

    /// Builds a calendar from adjusted days; the covered years are the first
    /// to the last year present. A later entry for the same date wins.
    pub fn from_adjustments(
        days: impl IntoIterator<Item = (NaiveDate, DayKind)>,
    ) -> Result<Self, CalendarError> {
        let adjustments: BTreeMap<NaiveDate, DayKind> = days.into_iter().collect();
        let first = adjustments.keys().next().ok_or(CalendarError::Empty)?;
        let last = adjustments.keys().next_back().ok_or(CalendarError::Empty)?;
        Ok(Self {
            first_year: first.year(),
            last_year: last.year(),
            adjustments,
            provisional_after: None,
        })
    }

    /// Parses `reference/cn_calendar_adjustments.csv` (header line, then
    /// `date,kind,holiday_en,holiday_zh`; extra columns are ignored).
    pub fn from_csv(text: &str) -> Result<Self, CalendarParseError> {
        let mut lines = text.lines().enumerate();
        let header = lines
            .next()
            .map(|(_, l)| l.trim_start_matches('\u{FEFF}').trim())
            .unwrap_or("");
        if !header.starts_with("date,kind") {
            return Err(CalendarParseError::Header {
                found: header.to_string(),
            });
        }
        let mut adjustments = BTreeMap::new();
        for (index, raw) in lines {
            let line = index + 1;
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let mut cols = raw.split(',');
            let date_text = cols.next().unwrap_or("").trim();
            let kind_text = cols.next().unwrap_or("").trim();
            let date = NaiveDate::parse_from_str(date_text, "%Y-%m-%d").map_err(|_| {
                CalendarParseError::Date {
                    line,
                    found: date_text.to_string(),
                }
            })?;
            let kind = match kind_text {
                "holiday" => DayKind::Holiday,
                "workday" => DayKind::Workday,
                other => {
                    return Err(CalendarParseError::Kind {
                        line,
                        found: other.to_string(),
                    })
                }
            };
            if let Some(previous) = adjustments.insert(date, kind) {
                if previous != kind {
                    return Err(CalendarParseError::Conflict { line, date });
                }
            }
        }
        Self::from_adjustments(adjustments).map_err(|_| CalendarParseError::Empty)
    }

    /// First covered year.
    pub fn first_year(&self) -> i32 {
        self.first_year
    }

    /// Last covered year.
    pub fn last_year(&self) -> i32 {
        self.last_year
    }

    /// Fails with [`CalendarError::OutOfRange`] unless `date`'s year is covered.
    pub fn ensure_covered(&self, date: NaiveDate) -> Result<(), CalendarError> {
        if (self.first_year..=self.last_year).contains(&date.year()) {
            Ok(())
        } else {
            Err(CalendarError::OutOfRange {
                date,
                first: self.first_year,
                last: self.last_year,
            })
        }
    }

    /// R18.1: whether `date` is a working day under the official calendar.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        self.ensure_covered(date)?;
        Ok(match self.adjustments.get(&date) {
            Some(DayKind::Workday) => true,
            Some(DayKind::Holiday) => false,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        })
    }

    /// R18.1: the `n`th working day after `start` (`start` itself is not
    /// counted; `n == 0` gives `start`). Both ends must be covered.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        self.ensure_covered(start)?;
        let mut date = start;
        let mut left = n;
        while left > 0 {
            date = next_day(date, self)?;
            if self.is_working_day(date)? {
                left -= 1;
            }
        }
        Ok(date)
    }

    /// R6.4: the number of working days in `(a, b]`, so that
    /// `working_days_between(a, add_working_days(a, n)) == n`. Zero when
    /// `b <= a`.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> Result<u32, CalendarError> {
        self.ensure_covered(a)?;
        self.ensure_covered(b)?;
        let mut count = 0;
        let mut date = a;
        while date < b {
            date = next_day(date, self)?;
            if self.is_working_day(date)? {
                count += 1;
            }
        }
        Ok(count)
    }
}

fn next_day(date: NaiveDate, calendar: &Calendar) -> Result<NaiveDate, CalendarError> {
    date.succ_opt().ok_or(CalendarError::OutOfRange {
        date,
        first: calendar.first_year,
        last: calendar.last_year,
    })
}

/// R15.1, R14.1: `date` plus `months` calendar months, clamped to the end of
/// the target month (08-31 + 6 months = 02-28, or 02-29 in a leap year).
/// Saturates at the largest representable date.
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// R14.1: `date` minus `months` calendar months, clamped to the end of the
/// target month. Saturates at the smallest representable date.
pub fn sub_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(months))
        .unwrap_or(NaiveDate::MIN)
}

/// R6.4: one pause of the review clock: a correction notice 补正通知 and the
/// applicant's resubmission (`None` while still waiting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pause {
    /// Date the one-time correction notice was sent.
    pub notice: NaiveDate,
    /// Date the corrected materials arrived, if they have.
    pub resubmitted: Option<NaiveDate>,
}

impl Pause {
    fn excludes(&self, date: NaiveDate) -> bool {
        date > self.notice && self.resubmitted.is_none_or(|r| date <= r)
    }
}

/// R6.4: where a review stands, with the numbers to show on screen.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ClockState {
    /// Running and within the limit.
    Running {
        /// Working days counted so far.
        used: u32,
        /// Working days left before the limit.
        left: u32,
        /// Last day of the limit.
        due: NaiveDate,
    },
    /// Paused awaiting the applicant's corrections.
    Paused {
        /// Working days counted so far.
        used: u32,
        /// Working days left once the clock resumes.
        left: u32,
        /// Date of the correction notice that paused it.
        since: NaiveDate,
    },
    /// Past the limit.
    Overdue {
        /// Working days counted so far.
        used: u32,
        /// The limit in working days.
        limit: u32,
        /// The last day of the limit, if the clock is not paused.
        due: Option<NaiveDate>,
    },
}

impl Message for ClockState {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::Zh, Self::Running { used, left, due }) => {
                format!("已用 {used} 个工作日，剩余 {left} 个工作日，截止 {due}")
            }
            (Lang::En, Self::Running { used, left, due }) => {
                format!("{used} working days used, {left} left, due {due}")
            }
            (Lang::Zh, Self::Paused { used, left, since }) => {
                format!("自 {since} 起暂停（等待补正），已用 {used} 个工作日，剩余 {left} 个工作日")
            }
            (Lang::En, Self::Paused { used, left, since }) => format!(
                "paused since {since} awaiting corrections; {used} working days used, {left} left"
            ),
            (Lang::Zh, Self::Overdue { used, limit, due }) => match due {
                Some(due) => format!("已超期：时限 {limit} 个工作日，截止 {due}，已用 {used} 个"),
                None => format!("已超期：时限 {limit} 个工作日，已用 {used} 个"),
            },
            (Lang::En, Self::Overdue { used, limit, due }) => match due {
                Some(due) => format!("overdue: limit {limit} working days, due {due}, {used} used"),
                None => format!("overdue: limit {limit} working days, {used} used"),
            },
        }
    }
}

/// R6.4: the review clock's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewClock {
    /// The limit in working days (policy, default 5).
    pub limit: u32,
    /// Working days counted up to and including today.
    pub used: u32,
    /// `limit - used`, never below zero.
    pub left: u32,
    /// Whether a correction notice is awaiting resubmission today.
    pub paused: bool,
    /// Whether today is past the due date (or, while paused, more days
    /// were used than allowed).
    pub overdue: bool,
    /// The last day of the limit; `None` while paused.
    pub due: Option<NaiveDate>,
    /// The state in words.
    pub state: ClockState,
}

/// R6.4: the acceptance review clock.
///
/// Counting rule: a working day `d` counts when `start < d <= today` and no
/// pause excludes it. A pause excludes the days strictly after its notice
/// date up to and including its resubmission date (all later days while
/// `resubmitted` is `None`). So the notice day itself counts as used, the
/// resubmission day does not, and counting resumes on the first working day
/// after resubmission. The clock is paused on days in `[notice,
/// resubmitted)`. The due date is the working day on which the count
/// reaches `limit` (`start` itself when `limit` is 0), and the review is
/// overdue when today is later than it.
pub fn review_clock(
    calendar: &Calendar,
    start: NaiveDate,
    limit: u32,
    pauses: &[Pause],
    today: NaiveDate,
) -> Result<ReviewClock, CalendarError> {
    calendar.ensure_covered(start)?;
    // A notice dated after today has not happened yet.
    let pauses: Vec<Pause> = pauses
        .iter()
        .copied()
        .filter(|p| p.notice <= today)
        .collect();
    let counts = |d: NaiveDate| -> Result<bool, CalendarError> {
        Ok(calendar.is_working_day(d)? && !pauses.iter().any(|p| p.excludes(d)))
    };
    let mut used = 0;
    let mut date = start;
    while date < today {
        date = next_day(date, calendar)?;
        if counts(date)? {
            used += 1;
        }
    }
    let open_pause = pauses
        .iter()
        .filter(|p| p.resubmitted.is_none_or(|r| today < r))
        .map(|p| p.notice)
        .max();
    let due = match open_pause {
        Some(_) => None,
        // Every remaining pause is closed, so the count always reaches the
        // limit (or the calendar runs out, which is an error).
        None => {
            let mut date = start;
            let mut counted = 0;
            while counted < limit {
                date = next_day(date, calendar)?;
                if counts(date)? {
                    counted += 1;
                }
            }
            Some(date)
        }
    };
    let overdue = match due {
        Some(due) => today > due,
        None => used > limit,
    };
    let left = limit.saturating_sub(used);
    let state = match (overdue, open_pause, due) {
        (false, Some(since), _) => ClockState::Paused { used, left, since },
        (false, None, Some(due)) => ClockState::Running { used, left, due },
        (_, _, due) => ClockState::Overdue { used, limit, due },
    };
    Ok(ReviewClock {
        limit,
        used,
        left,
        paused: open_pause.is_some(),
        overdue,
        due,
        state,
    })
}

/// One day of a year's arrangement as entered or imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArrangedDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    /// The holiday it belongs to, e.g. `Spring Festival` / `春节`.
    pub name_en: String,
    pub name_zh: String,
}

/// Why a year's arrangement cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ArrangementError {
    /// A date of another year than the one loaded.
    #[error("{date} is not in {year}")]
    OutsideYear { date: NaiveDate, year: i32 },
    /// A make-up workday on a Monday–Friday (already a working day).
    #[error("{date} is a {weekday}; a make-up workday is a Saturday or a Sunday")]
    WorkdayOnWeekday { date: NaiveDate, weekday: String },
    /// The same date listed twice.
    #[error("{date} is listed twice")]
    Duplicate { date: NaiveDate },
    /// A holiday period whose last day is before its first.
    #[error("the holiday period {from} – {to} ends before it starts")]
    PeriodReversed { from: NaiveDate, to: NaiveDate },
    /// A holiday period longer than [`MAX_PERIOD_DAYS`] (a typo, not a holiday).
    #[error("the holiday period {from} – {to} is longer than {max} days")]
    PeriodTooLong {
        from: NaiveDate,
        to: NaiveDate,
        max: i64,
    },
    /// A year without a single holiday (New Year's Day at least is one).
    #[error("{year} has no holiday")]
    NoHoliday { year: i32 },
    /// Loading the year would leave a year without an arrangement between
    /// it and the years held.
    #[error("{year} cannot be loaded before {missing}: the calendar holds {first}–{last}")]
    YearGap {
        year: i32,
        missing: i32,
        first: i32,
        last: i32,
    },
}

impl Message for ArrangementError {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, _) => self.to_string(),
            (Lang::Zh, Self::OutsideYear { date, year }) => format!("{date} 不在 {year} 年内"),
            (Lang::Zh, Self::WorkdayOnWeekday { date, weekday }) => {
                let zh = weekday_zh_of(weekday);
                format!("{date} 是{zh}，调休上班日只能是星期六或星期日")
            }
            (Lang::Zh, Self::Duplicate { date }) => format!("{date} 重复出现"),
            (Lang::Zh, Self::PeriodReversed { from, to }) => {
                format!("放假期间 {from} 至 {to} 的结束日期早于开始日期")
            }
            (Lang::Zh, Self::PeriodTooLong { from, to, max }) => {
                format!("放假期间 {from} 至 {to} 超过 {max} 天，请检查日期")
            }
            (Lang::Zh, Self::NoHoliday { year }) => {
                format!("{year} 年没有任何放假日期（至少应有元旦）")
            }
            (
                Lang::Zh,
                Self::YearGap {
                    year,
                    missing,
                    first,
                    last,
                },
            ) => format!("日历现有 {first}–{last} 年，须先导入 {missing} 年，才能导入 {year} 年"),
        }
    }
}

/// English and Chinese names of a weekday.
fn weekday_name(w: Weekday) -> (&'static str, &'static str) {
    match w {
        Weekday::Mon => ("Monday", "星期一"),
        Weekday::Tue => ("Tuesday", "星期二"),
        Weekday::Wed => ("Wednesday", "星期三"),
        Weekday::Thu => ("Thursday", "星期四"),
        Weekday::Fri => ("Friday", "星期五"),
        Weekday::Sat => ("Saturday", "星期六"),
        Weekday::Sun => ("Sunday", "星期日"),
    }
}

fn weekday_zh_of(english: &str) -> &'static str {
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .map(weekday_name)
    .find(|(en, _)| *en == english)
    .map(|(_, zh)| zh)
    .unwrap_or("工作日")
}

/// The longest holiday period accepted (the longest so far, 2020's extended
/// Spring Festival, was 10 days).
pub const MAX_PERIOD_DAYS: i64 = 31;

/// The days of holiday periods `(from, to)`, each day a holiday with the
/// period's names; a reversed period is an error.
pub fn period_days(
    from: NaiveDate,
    to: NaiveDate,
    name_en: &str,
    name_zh: &str,
) -> Result<Vec<ArrangedDay>, ArrangementError> {
    if to < from {
        return Err(ArrangementError::PeriodReversed { from, to });
    }
    if (to - from).num_days() >= MAX_PERIOD_DAYS {
        return Err(ArrangementError::PeriodTooLong {
            from,
            to,
            max: MAX_PERIOD_DAYS,
        });
    }
    Ok(from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|date| ArrangedDay {
            date,
            kind: DayKind::Holiday,
            name_en: name_en.to_string(),
            name_zh: name_zh.to_string(),
        })
        .collect())
}

/// R18.1: validates one year's arrangement: every date in `year`, no date
/// twice, every make-up workday a Saturday or Sunday, at least one holiday.
/// Returns every problem with the index of the day it concerns (`None` for
/// the year as a whole), in the order of the days.
pub fn check_arrangement(
    year: i32,
    days: &[ArrangedDay],
) -> Vec<(Option<usize>, ArrangementError)> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, day) in days.iter().enumerate() {
        if day.date.year() != year {
            problems.push((
                Some(i),
                ArrangementError::OutsideYear {
                    date: day.date,
                    year,
                },
            ));
        }
        if !seen.insert(day.date) {
            problems.push((Some(i), ArrangementError::Duplicate { date: day.date }));
        }
        let weekday = day.date.weekday();
        if day.kind == DayKind::Workday && !matches!(weekday, Weekday::Sat | Weekday::Sun) {
            problems.push((
                Some(i),
                ArrangementError::WorkdayOnWeekday {
                    date: day.date,
                    weekday: weekday_name(weekday).0.to_string(),
                },
            ));
        }
    }
    if !days.iter().any(|d| d.kind == DayKind::Holiday) {
        problems.push((None, ArrangementError::NoHoliday { year }));
    }
    problems
}

/// R18.1: the years to load must extend the held range `first..=last`
/// without a gap (the State Council publishes one year at a time; a year
/// missing in between would make every deadline across it unanswerable).
pub fn check_years(held: Option<(i32, i32)>, years: &BTreeSet<i32>) -> Vec<ArrangementError> {
    let Some((first, last)) = held else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    let (mut lo, mut hi) = (first, last);
    // Extend upwards and downwards one year at a time.
    for &year in years.iter().filter(|y| **y > last) {
        if year > hi + 1 {
            problems.push(ArrangementError::YearGap {
                year,
                missing: hi + 1,
                first,
                last,
            });
        } else {
            hi = hi.max(year);
        }
    }
    for &year in years.iter().rev().filter(|y| **y < first) {
        if year < lo - 1 {
            problems.push(ArrangementError::YearGap {
                year,
                missing: lo - 1,
                first,
                last,
            });
        } else {
            lo = lo.min(year);
        }
    }
    problems
}

/// R18.1: the one-line explanation shown beside a provisional date.
pub fn provisional_note(year: i32, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!(
            "暂定：{year} 年节假日安排尚未导入，按周一至周五为工作日、1 月 1 日放假推算，导入后自动重算"
        ),
        Lang::En => format!(
            "Provisional: the {year} holiday arrangement is not loaded yet; counted Monday–Friday with 1 January off, and recomputed once it is"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn official() -> Calendar {
        Calendar::from_csv(include_str!("../../reference/cn_calendar_adjustments.csv")).unwrap()
    }

    #[test]
    fn official_calendar_covers_2004_to_2026() {
        let cal = official();
        assert_eq!((cal.first_year(), cal.last_year()), (2004, 2026));
    }

    #[test]
    fn national_day_week_and_its_make_up_days_follow_the_official_calendar() {
        // R18.1: 2025 National Day: 10-01..10-08 off, Sun 09-28 and Sat 10-11 worked.
        let cal = official();
        let table = [
            ("2025-09-26", true),  // Friday
            ("2025-09-27", false), // Saturday
            ("2025-09-28", true),  // Sunday, make-up workday
            ("2025-10-01", false),
            ("2025-10-06", false), // Mid-autumn, bridged
            ("2025-10-08", false),
            ("2025-10-09", true),
            ("2025-10-11", true), // Saturday, make-up workday
            ("2025-10-12", false),
        ];
        for (date, working) in table {
            assert_eq!(cal.is_working_day(d(date)).unwrap(), working, "{date}");
        }
    }

    #[test]
    fn date_outside_calendar_coverage_is_an_error() {
        // R18.1: never guess beyond the published years.
        let cal = official();
        let err = cal.is_working_day(d("2027-01-04")).unwrap_err();
        assert_eq!(
            err,
            CalendarError::OutOfRange {
                date: d("2027-01-04"),
                first: 2004,
                last: 2026
            }
        );
        assert!(err.message_zh().contains("超出节假日日历范围"));
        assert!(cal.is_working_day(d("2003-12-31")).is_err());
    }

    #[test]
    fn adding_working_days_that_run_past_coverage_is_an_error() {
        let cal = official();
        assert!(cal.add_working_days(d("2026-12-20"), 30).is_err());
    }

    #[test]
    fn adding_zero_working_days_returns_the_start() {
        let cal = official();
        assert_eq!(
            cal.add_working_days(d("2025-10-04"), 0).unwrap(),
            d("2025-10-04")
        );
    }

    #[test]
    fn working_days_between_counts_the_half_open_interval() {
        // R6.4: (Fri 09-26, Thu 10-09] = Sun 09-28, Mon 09-29, Tue 09-30, Thu 10-09.
        let cal = official();
        assert_eq!(
            cal.working_days_between(d("2025-09-26"), d("2025-10-09"))
                .unwrap(),
            4
        );
        assert_eq!(
            cal.working_days_between(d("2025-10-09"), d("2025-09-26"))
                .unwrap(),
            0
        );
    }

    #[test]
    fn csv_with_bad_kind_names_the_line() {
        let err =
            Calendar::from_csv("date,kind\n2025-01-01,holiday\n2025-01-02,off\n").unwrap_err();
        assert_eq!(
            err,
            CalendarParseError::Kind {
                line: 3,
                found: "off".into()
            }
        );
        assert!(err.message_zh().contains("第3行"));
    }

    #[test]
    fn csv_with_bad_date_or_header_is_refused() {
        assert!(matches!(
            Calendar::from_csv("date,kind\n2025-13-01,holiday\n"),
            Err(CalendarParseError::Date { line: 2, .. })
        ));
        assert!(matches!(
            Calendar::from_csv("day,type\n"),
            Err(CalendarParseError::Header { .. })
        ));
        assert_eq!(
            Calendar::from_csv("date,kind\n"),
            Err(CalendarParseError::Empty)
        );
    }

    #[test]
    fn august_31_plus_six_months_is_february_28() {
        // R15.1
        assert_eq!(add_months(d("2025-08-31"), 6), d("2026-02-28"));
    }

    #[test]
    fn august_31_plus_six_months_is_february_29_in_a_leap_year() {
        // R15.1
        assert_eq!(add_months(d("2027-08-31"), 6), d("2028-02-29"));
    }

    #[test]
    fn february_29_plus_twelve_months_is_february_28() {
        // R14.1
        assert_eq!(add_months(d("2024-02-29"), 12), d("2025-02-28"));
        assert_eq!(sub_months(d("2025-08-31"), 6), d("2025-02-28"));
    }

    fn clock(pauses: &[Pause], today: &str) -> ReviewClock {
        // R6.4: accepted for review on Fri 2025-09-26, limit 5 working days.
        review_clock(&official(), d("2025-09-26"), 5, pauses, d(today)).unwrap()
    }

    #[test]
    fn review_clock_without_pauses_counts_working_days_and_gives_the_due_date() {
        // R6.4: 09-28 (Sun, make-up), 09-29, 09-30, 10-09, 10-10 → due 10-10.
        let c = clock(&[], "2025-09-30");
        assert_eq!((c.used, c.left, c.paused, c.overdue), (3, 2, false, false));
        assert_eq!(c.due, Some(d("2025-10-10")));
        assert_eq!(
            c.state.message_zh(),
            "已用 3 个工作日，剩余 2 个工作日，截止 2025-10-10"
        );
    }

    #[test]
    fn review_clock_is_overdue_the_day_after_the_due_date() {
        // R6.4
        assert!(!clock(&[], "2025-10-10").overdue);
        let c = clock(&[], "2025-10-11");
        assert!(c.overdue);
        assert!(matches!(c.state, ClockState::Overdue { .. }));
    }

    #[test]
    fn review_clock_counts_the_notice_day_and_pauses_until_resubmission() {
        // R6.4: notice on Mon 09-29 (counted: 09-28, 09-29 = 2); still waiting.
        let pause = Pause {
            notice: d("2025-09-29"),
            resubmitted: None,
        };
        let c = clock(&[pause], "2025-10-20");
        assert_eq!((c.used, c.left, c.paused, c.overdue), (2, 3, true, false));
        assert_eq!(c.due, None);
        assert!(c.state.message_en().starts_with("paused since 2025-09-29"));
    }

    #[test]
    fn review_clock_resumes_the_working_day_after_resubmission() {
        // R6.4: 2 used before the notice; resubmitted Thu 10-09 (not counted);
        // 10-10, 10-11 (Sat make-up), 10-13 → due Mon 10-13.
        let pause = Pause {
            notice: d("2025-09-29"),
            resubmitted: Some(d("2025-10-09")),
        };
        let c = clock(&[pause], "2025-10-10");
        assert_eq!((c.used, c.left, c.paused), (3, 2, false));
        assert_eq!(c.due, Some(d("2025-10-13")));
    }

    fn fixture_days(text: &[(&str, DayKind)]) -> Vec<ArrangedDay> {
        text.iter()
            .map(|(date, kind)| ArrangedDay {
                date: d(date),
                kind: *kind,
                name_en: "Test".into(),
                name_zh: "测试".into(),
            })
            .collect()
    }

    #[test]
    fn past_the_loaded_years_an_answer_is_provisional_by_the_weekday_rule_with_new_year_off() {
        // R18.1: 2026-12-31 (Thu) + 2 working days: 2027-01-01 is off (New
        // Year's Day), so Mon 01-04 and Tue 01-05.
        let cal = official();
        assert!(cal.add_working_days(d("2026-12-31"), 2).is_err());
        let (due, provisional) = cal
            .or_provisional(|c| c.add_working_days(d("2026-12-31"), 2))
            .unwrap();
        assert_eq!((due, provisional), (d("2027-01-05"), true));
        assert!(cal.is_provisional(due));
        // Inside the loaded years nothing is provisional.
        let (due, provisional) = cal
            .or_provisional(|c| c.add_working_days(d("2026-12-01"), 10))
            .unwrap();
        assert_eq!((due, provisional), (d("2026-12-15"), false));
        // Before the first loaded year it stays an error.
        assert!(cal
            .or_provisional(|c| c.add_working_days(d("2003-06-01"), 1))
            .is_err());
        let ext = cal.with_provisional_years();
        assert_eq!(ext.loaded_last_year(), 2026);
        assert!(!ext.is_working_day(d("2027-01-01")).unwrap());
        assert!(!ext.is_working_day(d("2028-01-01")).unwrap());
        assert!(ext.is_working_day(d("2028-01-03")).unwrap());
        assert!(provisional_note(2027, Lang::Zh).contains("暂定"));
    }

    #[test]
    fn new_takes_the_loaded_years_explicitly() {
        let cal = Calendar::new(2026, 2027, [(d("2027-02-10"), DayKind::Holiday)]).unwrap();
        assert_eq!((cal.first_year(), cal.last_year()), (2026, 2027));
        assert!(cal.is_working_day(d("2026-01-01")).unwrap());
        assert!(!cal.is_working_day(d("2027-02-10")).unwrap());
        assert!(Calendar::new(2027, 2026, []).is_err());
    }

    #[test]
    fn an_arrangement_is_refused_for_a_weekday_make_up_day_another_year_or_a_date_twice() {
        // R18.1: 2031-01-06 is a Monday.
        let days = fixture_days(&[
            ("2031-01-01", DayKind::Holiday),
            ("2031-01-06", DayKind::Workday),
            ("2030-12-31", DayKind::Holiday),
            ("2031-01-01", DayKind::Holiday),
            ("2031-01-04", DayKind::Workday),
        ]);
        let problems = check_arrangement(2031, &days);
        let codes: Vec<(Option<usize>, &ArrangementError)> =
            problems.iter().map(|(i, e)| (*i, e)).collect();
        assert_eq!(codes.len(), 3, "{problems:?}");
        assert!(matches!(
            codes[0],
            (Some(1), ArrangementError::WorkdayOnWeekday { .. })
        ));
        assert!(codes[0].1.message_zh().contains("星期一"));
        assert!(codes[0].1.message_en().contains("Monday"));
        assert!(matches!(
            codes[1],
            (Some(2), ArrangementError::OutsideYear { .. })
        ));
        assert!(matches!(
            codes[2],
            (Some(3), ArrangementError::Duplicate { .. })
        ));
        assert_eq!(
            check_arrangement(2031, &fixture_days(&[("2031-01-04", DayKind::Workday)])),
            vec![(None, ArrangementError::NoHoliday { year: 2031 })]
        );
        assert!(
            check_arrangement(2031, &fixture_days(&[("2031-01-01", DayKind::Holiday)])).is_empty()
        );
    }

    #[test]
    fn a_holiday_period_is_contiguous_and_not_reversed() {
        let days = period_days(d("2031-10-01"), d("2031-10-07"), "National Day", "国庆节").unwrap();
        assert_eq!(days.len(), 7);
        assert!(days.iter().all(|x| x.kind == DayKind::Holiday));
        assert!(matches!(
            period_days(d("2031-10-07"), d("2031-10-01"), "x", "x"),
            Err(ArrangementError::PeriodReversed { .. })
        ));
        assert!(matches!(
            period_days(d("2031-01-01"), d("9999-12-31"), "x", "x"),
            Err(ArrangementError::PeriodTooLong { .. })
        ));
    }

    #[test]
    fn years_are_loaded_without_a_gap() {
        let held = Some((2004, 2026));
        assert!(check_years(held, &BTreeSet::from([2026, 2027])).is_empty());
        assert!(check_years(held, &BTreeSet::from([2027, 2028])).is_empty());
        let gap = check_years(held, &BTreeSet::from([2031]));
        assert_eq!(
            gap,
            vec![ArrangementError::YearGap {
                year: 2031,
                missing: 2027,
                first: 2004,
                last: 2026
            }]
        );
        assert!(gap[0].message_zh().contains("须先导入 2027 年"));
        assert!(check_years(held, &BTreeSet::from([2003])).is_empty());
        assert!(check_years(None, &BTreeSet::from([2031])).is_empty());
    }

    proptest! {
        #[test]
        fn adding_n_working_days_then_counting_gives_n(
            days in 0i64..(21 * 365),
            n in 0u32..200,
        ) {
            // R18.1, R6.4: start within 2005..2025.
            let cal = official();
            let start = d("2005-01-01") + chrono::Duration::days(days);
            let end = cal.add_working_days(start, n).unwrap();
            prop_assert_eq!(cal.working_days_between(start, end).unwrap(), n);
            prop_assert!(n == 0 || cal.is_working_day(end).unwrap());
        }
    }
}
