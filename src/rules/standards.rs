//! Measurement standards: assessment-certificate status with its
//! re-assessment window (R12.3) and traceability status (R16.4).
//!
//! Validity dates are inclusive: a certificate valid until 2027-03-31 is
//! valid on 2027-03-31 and expired from 2027-04-01; a traceability due date
//! is met on the day itself and overdue from the day after.

use chrono::NaiveDate;
use serde::Serialize;

use super::calendar::sub_months;
use super::{Lang, Message};

/// R12.3 policy: how long before expiry re-assessment must be applied for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReassessmentPolicy {
    /// Months before expiry (default 6).
    pub months_before_expiry: u32,
}

impl Default for ReassessmentPolicy {
    fn default() -> Self {
        Self {
            months_before_expiry: 6,
        }
    }
}

/// R12.3: where a standard assessment certificate stands on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CertificateStatus {
    /// Not valid yet.
    NotYetValid {
        /// First valid day.
        valid_from: NaiveDate,
    },
    /// Valid and outside the re-assessment window.
    Valid {
        /// Last valid day.
        valid_until: NaiveDate,
    },
    /// Valid, and re-assessment should have been applied for by `apply_by`.
    ReassessmentDue {
        /// Last valid day.
        valid_until: NaiveDate,
        /// Latest day to apply for re-assessment.
        apply_by: NaiveDate,
    },
    /// Expired.
    Expired {
        /// Last valid day.
        valid_until: NaiveDate,
    },
}

impl CertificateStatus {
    /// Whether the certificate is valid on the date asked about (also when
    /// re-assessment is due).
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid { .. } | Self::ReassessmentDue { .. })
    }
}

impl Message for CertificateStatus {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::Zh, Self::NotYetValid { valid_from }) => {
                format!("计量标准考核证书自 {valid_from} 起生效，尚未生效")
            }
            (Lang::En, Self::NotYetValid { valid_from }) => {
                format!("the standard's certificate is not valid before {valid_from}")
            }
            (Lang::Zh, Self::Valid { valid_until }) => {
                format!("计量标准考核证书有效，有效期至 {valid_until}")
            }
            (Lang::En, Self::Valid { valid_until }) => {
                format!("the standard's certificate is valid until {valid_until}")
            }
            (Lang::Zh, Self::ReassessmentDue {
                valid_until,
                apply_by,
            }) => format!("证书将于 {valid_until} 到期，应在 {apply_by} 前申请复查考核"),
            (Lang::En, Self::ReassessmentDue {
                valid_until,
                apply_by,
            }) => format!(
                "the certificate expires on {valid_until}; re-assessment was due to be applied for by {apply_by}"
            ),
            (Lang::Zh, Self::Expired { valid_until }) => {
                format!("计量标准考核证书已于 {valid_until} 到期")
            }
            (Lang::En, Self::Expired { valid_until }) => {
                format!("the standard's certificate expired after {valid_until}")
            }
        }
    }
}

/// R12.3: the status of a standard assessment certificate on `today`; the
/// re-assessment window opens `policy.months_before_expiry` months before
/// `valid_until` (month-end clamped).
pub fn certificate_status(
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    today: NaiveDate,
    policy: &ReassessmentPolicy,
) -> CertificateStatus {
    let apply_by = sub_months(valid_until, policy.months_before_expiry);
    if today < valid_from {
        CertificateStatus::NotYetValid { valid_from }
    } else if today > valid_until {
        CertificateStatus::Expired { valid_until }
    } else if today >= apply_by {
        CertificateStatus::ReassessmentDue {
            valid_until,
            apply_by,
        }
    } else {
        CertificateStatus::Valid { valid_until }
    }
}

/// R16.4: a standard's traceability (calibration) status on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum TraceabilityStatus {
    /// Calibrated and not yet due.
    Current {
        /// Due date of the next calibration.
        due: NaiveDate,
    },
    /// Past its due date: the standard and work using it are flagged.
    Overdue {
        /// The missed due date.
        due: NaiveDate,
        /// Days past due.
        days_overdue: i64,
    },
}

impl TraceabilityStatus {
    /// Whether the status is [`TraceabilityStatus::Overdue`].
    pub fn is_overdue(&self) -> bool {
        matches!(self, Self::Overdue { .. })
    }
}

impl Message for TraceabilityStatus {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::Zh, Self::Current { due }) => format!("量值溯源有效，下次溯源截止 {due}"),
            (Lang::En, Self::Current { due }) => format!("traceability current, next due {due}"),
            (Lang::Zh, Self::Overdue { due, days_overdue }) => {
                format!("量值溯源已于 {due} 到期，超期 {days_overdue} 天")
            }
            (Lang::En, Self::Overdue { due, days_overdue }) => {
                format!("traceability was due {due}, {days_overdue} days overdue")
            }
        }
    }
}

/// R16.4: overdue when `today` is after `due`.
pub fn traceability_status(due: NaiveDate, today: NaiveDate) -> TraceabilityStatus {
    if today > due {
        TraceabilityStatus::Overdue {
            due,
            days_overdue: (today - due).num_days(),
        }
    } else {
        TraceabilityStatus::Current { due }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn certificate_status_moves_through_its_life() {
        // R12.3: valid 2023-09-01..2027-08-31; window opens 2027-02-28.
        let policy = ReassessmentPolicy::default();
        let table = [
            (
                "2023-08-31",
                CertificateStatus::NotYetValid {
                    valid_from: d("2023-09-01"),
                },
            ),
            (
                "2023-09-01",
                CertificateStatus::Valid {
                    valid_until: d("2027-08-31"),
                },
            ),
            (
                "2027-02-27",
                CertificateStatus::Valid {
                    valid_until: d("2027-08-31"),
                },
            ),
            (
                "2027-02-28",
                CertificateStatus::ReassessmentDue {
                    valid_until: d("2027-08-31"),
                    apply_by: d("2027-02-28"),
                },
            ),
            (
                "2027-08-31",
                CertificateStatus::ReassessmentDue {
                    valid_until: d("2027-08-31"),
                    apply_by: d("2027-02-28"),
                },
            ),
            (
                "2027-09-01",
                CertificateStatus::Expired {
                    valid_until: d("2027-08-31"),
                },
            ),
        ];
        for (today, expected) in table {
            assert_eq!(
                certificate_status(d("2023-09-01"), d("2027-08-31"), d(today), &policy),
                expected,
                "{today}"
            );
        }
    }

    #[test]
    fn certificate_in_its_reassessment_window_is_still_valid() {
        // R12.3
        let status = certificate_status(
            d("2023-09-01"),
            d("2027-08-31"),
            d("2027-05-01"),
            &ReassessmentPolicy::default(),
        );
        assert!(status.is_valid());
        assert_eq!(
            status.message_zh(),
            "证书将于 2027-08-31 到期，应在 2027-02-28 前申请复查考核"
        );
    }

    #[test]
    fn traceability_is_overdue_the_day_after_its_due_date() {
        // R16.4
        assert!(!traceability_status(d("2025-06-30"), d("2025-06-30")).is_overdue());
        let status = traceability_status(d("2025-06-30"), d("2025-07-03"));
        assert_eq!(
            status,
            TraceabilityStatus::Overdue {
                due: d("2025-06-30"),
                days_overdue: 3
            }
        );
        assert_eq!(
            status.message_zh(),
            "量值溯源已于 2025-06-30 到期，超期 3 天"
        );
    }
}
