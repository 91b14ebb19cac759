//! Termination notice period (R15.1): a termination request must be filed
//! at least six calendar months before the requested end date.
//!
//! The earliest allowed end date is the filing date plus six months,
//! clamped to the end of the month (filed 08-31 → 02-28, or 02-29 in a leap
//! year). An end date on that day is allowed.

use chrono::NaiveDate;
use serde::Serialize;

use super::calendar::add_months;
use super::{Lang, Message, Verdict};

/// R15.1: the notice period in months.
pub const NOTICE_MONTHS: u32 = 6;

/// Why a requested end date is allowed or refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum TerminationReason {
    /// The end date is at least six months after filing.
    NoticePeriodMet {
        /// The requested end date.
        requested: NaiveDate,
        /// The earliest allowed end date.
        earliest: NaiveDate,
    },
    /// The end date is earlier than six months after filing.
    TooEarly {
        /// The requested end date.
        requested: NaiveDate,
        /// The earliest allowed end date.
        earliest: NaiveDate,
    },
}

impl Message for TerminationReason {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::Zh, Self::NoticePeriodMet { requested, earliest }) => {
                format!("终止日期 {requested} 不早于 {earliest}（提出申请之日起满六个月）")
            }
            (Lang::En, Self::NoticePeriodMet { requested, earliest }) => format!(
                "end date {requested} is not earlier than {earliest} (six months after filing)"
            ),
            (Lang::Zh, Self::TooEarly { earliest, .. }) => {
                format!("终止日期不得早于 {earliest}（提出申请之日起满六个月）")
            }
            (Lang::En, Self::TooEarly { requested, earliest }) => format!(
                "the end date {requested} is too early: it may not be earlier than {earliest} (six months after filing)"
            ),
        }
    }
}

/// R15.1: the earliest end date for a request filed on `filing`.
pub fn earliest_end_date(filing: NaiveDate) -> NaiveDate {
    add_months(filing, NOTICE_MONTHS)
}

/// R15.1: allows `requested` when it is on or after
/// [`earliest_end_date`]`(filing)`, else refuses with the earliest date.
pub fn check_requested_end(filing: NaiveDate, requested: NaiveDate) -> Verdict<TerminationReason> {
    let earliest = earliest_end_date(filing);
    if requested >= earliest {
        Verdict::Allowed {
            reasons: vec![TerminationReason::NoticePeriodMet {
                requested,
                earliest,
            }],
        }
    } else {
        Verdict::Refused {
            reasons: vec![TerminationReason::TooEarly {
                requested,
                earliest,
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn filing_on_august_31_allows_february_28_at_the_earliest() {
        // R15.1
        assert_eq!(earliest_end_date(d("2026-08-31")), d("2027-02-28"));
    }

    #[test]
    fn filing_on_august_31_before_a_leap_year_allows_february_29() {
        // R15.1
        assert_eq!(earliest_end_date(d("2027-08-31")), d("2028-02-29"));
    }

    #[test]
    fn end_date_exactly_six_months_after_filing_is_allowed() {
        // R15.1
        let verdict = check_requested_end(d("2025-03-15"), d("2025-09-15"));
        assert!(verdict.is_allowed());
    }

    #[test]
    fn termination_earlier_than_six_months_is_refused_with_earliest_date() {
        // R15.1: six months minus a day.
        let verdict = check_requested_end(d("2026-08-31"), d("2027-02-27"));
        assert_eq!(
            verdict,
            Verdict::Refused {
                reasons: vec![TerminationReason::TooEarly {
                    requested: d("2027-02-27"),
                    earliest: d("2027-02-28")
                }]
            }
        );
        assert_eq!(
            verdict.reasons()[0].message_zh(),
            "终止日期不得早于 2027-02-28（提出申请之日起满六个月）"
        );
        assert!(verdict.reasons()[0]
            .message_en()
            .contains("not be earlier than 2027-02-28"));
    }
}
