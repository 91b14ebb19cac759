//! Deadlines: rectification due dates (R18.1), overdue status, and the
//! re-examination window (R14.1).
//!
//! A rectification period is counted from the order date, which itself is
//! not counted: N calendar days end on `order + N`; N working days end on
//! the Nth official working day after the order date. A deadline is met on
//! its last day and overdue from the next day.

use chrono::NaiveDate;
use serde::Serialize;

use super::calendar::{sub_months, Calendar, CalendarError};
use super::{Lang, Message};

/// R18.1 policy: how a rectification period is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "unit", content = "days", rename_all = "snake_case")]
pub enum Period {
    /// Official working days (holiday calendar).
    WorkingDays(u32),
    /// Calendar days.
    CalendarDays(u32),
}

/// R18.1: the due date of a rectification order issued on `order_date`.
/// Working days past the calendar's coverage are an error, never a guess.
pub fn rectification_due(
    order_date: NaiveDate,
    period: Period,
    calendar: &Calendar,
) -> Result<NaiveDate, CalendarError> {
    match period {
        Period::WorkingDays(n) => calendar.add_working_days(order_date, n),
        Period::CalendarDays(n) => Ok(order_date + chrono::Days::new(n.into())),
    }
}

/// R18.1, R18.3: where a deadline stands on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum DeadlineStatus {
    /// Before the due date.
    Open {
        /// The due date.
        due: NaiveDate,
        /// Calendar days left.
        days_left: i64,
    },
    /// Today is the last day.
    DueToday {
        /// The due date.
        due: NaiveDate,
    },
    /// Past the due date.
    Overdue {
        /// The due date.
        due: NaiveDate,
        /// Calendar days past it.
        days_overdue: i64,
    },
}

impl DeadlineStatus {
    /// Whether the deadline has passed.
    pub fn is_overdue(&self) -> bool {
        matches!(self, Self::Overdue { .. })
    }
}

impl Message for DeadlineStatus {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::Zh, Self::Open { due, days_left }) => format!("{due} 到期，还有 {days_left} 天"),
            (Lang::En, Self::Open { due, days_left }) => {
                format!("due {due}, {days_left} days left")
            }
            (Lang::Zh, Self::DueToday { due }) => format!("今日（{due}）到期"),
            (Lang::En, Self::DueToday { due }) => format!("due today ({due})"),
            (Lang::Zh, Self::Overdue { due, days_overdue }) => {
                format!("已于 {due} 到期，逾期 {days_overdue} 天")
            }
            (Lang::En, Self::Overdue { due, days_overdue }) => {
                format!("was due {due}, {days_overdue} days overdue")
            }
        }
    }
}

/// R18.1: the status of a deadline on `today`; overdue only when
/// `today > due`.
pub fn is_overdue(due: NaiveDate, today: NaiveDate) -> DeadlineStatus {
    let diff = (due - today).num_days();
    match diff {
        0 => DeadlineStatus::DueToday { due },
        d if d > 0 => DeadlineStatus::Open { due, days_left: d },
        d => DeadlineStatus::Overdue {
            due,
            days_overdue: -d,
        },
    }
}

/// R14.1: where an authorization stands with respect to re-examination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ReexaminationStatus {
    /// The window has not opened yet.
    NotYet {
        /// Day the window opens.
        window_opens: NaiveDate,
    },
    /// Within the window: propose a re-examination and remind both sides.
    Due {
        /// Day the window opened.
        window_opened: NaiveDate,
        /// Last valid day of the authorization.
        valid_until: NaiveDate,
    },
    /// The authorization has expired.
    Expired {
        /// Last valid day.
        valid_until: NaiveDate,
    },
}

impl ReexaminationStatus {
    /// Whether a re-examination should be proposed now.
    pub fn is_due(&self) -> bool {
        matches!(self, Self::Due { .. })
    }
}

impl Message for ReexaminationStatus {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::Zh, Self::NotYet { window_opens }) => format!("{window_opens} 起进入复查考核期"),
            (Lang::En, Self::NotYet { window_opens }) => {
                format!("the re-examination window opens on {window_opens}")
            }
            (Lang::Zh, Self::Due { valid_until, .. }) => {
                format!("授权将于 {valid_until} 到期，应安排复查考核")
            }
            (Lang::En, Self::Due { valid_until, .. }) => {
                format!("the authorization expires on {valid_until}; schedule a re-examination")
            }
            (Lang::Zh, Self::Expired { valid_until }) => format!("授权已于 {valid_until} 到期"),
            (Lang::En, Self::Expired { valid_until }) => {
                format!("the authorization expired after {valid_until}")
            }
        }
    }
}

/// R14.1: whether an authorization valid through `valid_until` is within
/// the re-examination window of `window_months` (policy, default 6) on
/// `today`. The window opens `window_months` before `valid_until`
/// (month-end clamped) and includes `valid_until`.
pub fn reexamination_due(
    valid_until: NaiveDate,
    today: NaiveDate,
    window_months: u32,
) -> ReexaminationStatus {
    let window_opens = sub_months(valid_until, window_months);
    if today > valid_until {
        ReexaminationStatus::Expired { valid_until }
    } else if today >= window_opens {
        ReexaminationStatus::Due {
            window_opened: window_opens,
            valid_until,
        }
    } else {
        ReexaminationStatus::NotYet { window_opens }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn official() -> Calendar {
        Calendar::from_csv(include_str!("../../reference/cn_calendar_adjustments.csv")).unwrap()
    }

    #[test]
    fn ten_working_days_from_the_friday_before_national_day_2025_end_on_october_16() {
        // R18.1: per the CSV, 10-01..10-08 are holidays and Sun 09-28 and
        // Sat 10-11 are make-up workdays. Counting after Fri 09-26:
        // 09-28 (1), 09-29 (2), 09-30 (3), 10-09 (4), 10-10 (5),
        // 10-11 Sat (6), 10-13 (7), 10-14 (8), 10-15 (9), 10-16 (10).
        let due = rectification_due(d("2025-09-26"), Period::WorkingDays(10), &official()).unwrap();
        assert_eq!(due, d("2025-10-16"));
    }

    #[test]
    fn calendar_day_period_adds_days_straight() {
        // R18.1
        let due =
            rectification_due(d("2025-09-26"), Period::CalendarDays(10), &official()).unwrap();
        assert_eq!(due, d("2025-10-06"));
    }

    #[test]
    fn working_day_period_beyond_the_calendar_is_an_error() {
        // R18.1
        let err =
            rectification_due(d("2026-12-15"), Period::WorkingDays(30), &official()).unwrap_err();
        assert!(matches!(err, CalendarError::OutOfRange { last: 2026, .. }));
    }

    #[test]
    fn order_is_overdue_the_day_after_its_deadline_not_on_it() {
        // R18.1: (today, expected)
        let due = d("2025-10-16");
        let table = [
            ("2025-10-14", DeadlineStatus::Open { due, days_left: 2 }),
            ("2025-10-16", DeadlineStatus::DueToday { due }),
            (
                "2025-10-17",
                DeadlineStatus::Overdue {
                    due,
                    days_overdue: 1,
                },
            ),
        ];
        for (today, expected) in table {
            assert_eq!(is_overdue(due, d(today)), expected, "{today}");
        }
        assert_eq!(
            is_overdue(due, d("2025-10-17")).message_zh(),
            "已于 2025-10-16 到期，逾期 1 天"
        );
    }

    #[test]
    fn reexamination_window_opens_six_months_before_expiry() {
        // R14.1: valid through 2030-08-31 → window opens 2030-02-28.
        let until = d("2030-08-31");
        assert_eq!(
            reexamination_due(until, d("2030-02-27"), 6),
            ReexaminationStatus::NotYet {
                window_opens: d("2030-02-28")
            }
        );
        assert!(reexamination_due(until, d("2030-02-28"), 6).is_due());
        assert!(reexamination_due(until, until, 6).is_due());
        assert_eq!(
            reexamination_due(until, d("2030-09-01"), 6),
            ReexaminationStatus::Expired { valid_until: until }
        );
    }
}
