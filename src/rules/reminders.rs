//! Reminders of deadlines (requirements §4; R6.4, R12.3, R14.1, R15.2,
//! R16.4, R16.6, R18.1–R18.3): at which lead time a deadline stands today,
//! how urgent it is, and whether an overdue item is escalated. Pure: the
//! caller passes today, the policy and the calendar.

use chrono::NaiveDate;
use serde::Serialize;

use super::calendar::Calendar;

/// The operator's policy (`reminder_policy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Days before a deadline at which it is reminded, any order.
    pub lead_days: Vec<u32>,
    /// Working days overdue after which an approver also sees the item.
    pub escalate_after_working_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            lead_days: vec![90, 60, 30, 7],
            escalate_after_working_days: 5,
        }
    }
}

/// Where a deadline stands: reached a lead time, or overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Stage {
    /// Within this many days (a lead time of the policy).
    Lead(u32),
    Overdue,
}

impl Stage {
    /// The stage as stored (`task_reminder.stage`).
    pub fn code(self) -> String {
        match self {
            Stage::Lead(d) => d.to_string(),
            Stage::Overdue => "overdue".into(),
        }
    }
}

/// The stage of a deadline `due` on `today`: overdue once past it, else the
/// smallest lead time it is within, else none (too far off). A deadline
/// reached today is within every lead time, so its stage is the smallest.
pub fn stage(due: NaiveDate, today: NaiveDate, policy: &Policy) -> Option<Stage> {
    let left = (due - today).num_days();
    if left < 0 {
        return Some(Stage::Overdue);
    }
    policy
        .lead_days
        .iter()
        .copied()
        .filter(|&d| left <= i64::from(d))
        .min()
        .map(Stage::Lead)
}

/// How a task is shown: overdue (red), due within 7 days (amber), later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Overdue,
    Soon,
    Later,
    /// No date: something waits, with no deadline of its own.
    Undated,
}

pub fn urgency(due: Option<NaiveDate>, today: NaiveDate) -> Urgency {
    match due.map(|d| (d - today).num_days()) {
        None => Urgency::Undated,
        Some(l) if l < 0 => Urgency::Overdue,
        Some(l) if l <= 7 => Urgency::Soon,
        Some(_) => Urgency::Later,
    }
}

/// Whether an item due on `due` is overdue by more than the policy's
/// working days on `today` (R18.1: working days on the official calendar;
/// past the loaded years, the provisional weekday rule).
pub fn escalated(cal: &Calendar, due: NaiveDate, today: NaiveDate, policy: &Policy) -> bool {
    if today <= due {
        return false;
    }
    match cal.or_provisional(|c| c.working_days_between(due, today)) {
        Ok((n, _)) => n > policy.escalate_after_working_days,
        // A date the calendar cannot answer for: count calendar days.
        Err(_) => (today - due).num_days() > i64::from(policy.escalate_after_working_days),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::calendar::DayKind;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_deadline_steps_through_the_lead_times_then_overdue() {
        let p = Policy::default();
        let due = d("2026-12-31");
        assert_eq!(stage(due, d("2026-09-01"), &p), None, "121 days off");
        assert_eq!(stage(due, d("2026-10-02"), &p), Some(Stage::Lead(90)));
        assert_eq!(stage(due, d("2026-11-01"), &p), Some(Stage::Lead(60)));
        assert_eq!(stage(due, d("2026-12-01"), &p), Some(Stage::Lead(30)));
        assert_eq!(stage(due, d("2026-12-24"), &p), Some(Stage::Lead(7)));
        assert_eq!(stage(due, d("2026-12-31"), &p), Some(Stage::Lead(7)));
        assert_eq!(stage(due, d("2027-01-01"), &p), Some(Stage::Overdue));
        assert_eq!(Stage::Lead(7).code(), "7");
        assert_eq!(Stage::Overdue.code(), "overdue");
    }

    #[test]
    fn a_policy_of_its_own_lead_times() {
        let p = Policy {
            lead_days: vec![14, 3],
            escalate_after_working_days: 2,
        };
        assert_eq!(stage(d("2026-12-20"), d("2026-12-01"), &p), None);
        assert_eq!(
            stage(d("2026-12-20"), d("2026-12-06"), &p),
            Some(Stage::Lead(14))
        );
        assert_eq!(
            stage(d("2026-12-20"), d("2026-12-18"), &p),
            Some(Stage::Lead(3))
        );
    }

    #[test]
    fn urgency_is_red_then_amber_within_a_week() {
        let t = d("2026-12-06");
        assert_eq!(urgency(Some(d("2026-12-05")), t), Urgency::Overdue);
        assert_eq!(urgency(Some(d("2026-12-13")), t), Urgency::Soon);
        assert_eq!(urgency(Some(d("2026-12-14")), t), Urgency::Later);
        assert_eq!(urgency(None, t), Urgency::Undated);
    }

    #[test]
    fn escalation_counts_working_days_on_the_calendar_r18_1() {
        // Test data (not the official arrangement): 2026 with 1, 2 and 5
        // October as holidays.
        let cal = Calendar::new(
            2026,
            2026,
            vec![
                (d("2026-10-01"), DayKind::Holiday),
                (d("2026-10-02"), DayKind::Holiday),
                (d("2026-10-05"), DayKind::Holiday),
            ],
        )
        .unwrap();
        let p = Policy::default();
        // Due Wed 30 Sep: Thu 1, Fri 2 holidays, Mon 5 holiday; Tue 6 … Mon 12
        // are working days 1..5 (weekend 10–11): not yet more than 5.
        assert!(!escalated(&cal, d("2026-09-30"), d("2026-10-12"), &p));
        assert!(escalated(&cal, d("2026-09-30"), d("2026-10-13"), &p));
        assert!(!escalated(&cal, d("2026-09-30"), d("2026-09-30"), &p));
    }
}
