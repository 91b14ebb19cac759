//! What the calendar feature reads and answers: the years held, a year's
//! days, a preview of an import and an import's report.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a year's arrangement came from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CalendarSource {
    /// Title, e.g. 《国务院办公厅关于2026年部分节假日安排的通知》.
    #[serde(default)]
    pub title: Option<String>,
    /// Document number, e.g. 国办发明电〔2025〕7号.
    #[serde(default)]
    pub number: Option<String>,
    /// Date of the document.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// Where it was published.
    #[serde(default)]
    pub url: Option<String>,
    /// A note (e.g. what a correction changed).
    #[serde(default)]
    pub note: Option<String>,
}

/// One version of a year's arrangement.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct CalendarVersion {
    pub id: Uuid,
    pub year: i32,
    pub version: i32,
    pub source_title: Option<String>,
    pub source_number: Option<String>,
    pub source_date: Option<NaiveDate>,
    pub source_url: Option<String>,
    pub note: Option<String>,
    /// `reference` (shipped with the platform), `page`, `api` or `cli`.
    pub loaded_via: String,
    pub loaded_by: Option<Uuid>,
    pub loaded_by_name: Option<String>,
    pub loaded_at: DateTime<Utc>,
    pub holidays: i64,
    pub workdays: i64,
}

/// A year as the calendar page lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarYear {
    pub year: i32,
    /// `loaded` or `not_published` (the year after the last loaded one).
    pub status: String,
    /// The current version, when loaded.
    pub current: Option<CalendarVersion>,
    /// How many versions are held.
    pub versions: i32,
}

/// The years held, and whether the next one is due.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarOverview {
    pub years: Vec<CalendarYear>,
    pub first_year: i32,
    pub last_year: i32,
    /// From 1 October, while next year is not loaded: the warning shown on
    /// the operator's and regulators' home pages.
    pub warning: Option<CalendarWarning>,
}

/// The next year's arrangement is not loaded although it is due.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarWarning {
    pub year: i32,
    pub message: String,
    pub message_en: String,
}

/// One adjusted day.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq, sqlx::FromRow)]
pub struct CalendarDay {
    pub date: NaiveDate,
    /// `holiday` or `workday` (a make-up working day).
    pub kind: String,
    pub name_en: String,
    pub name_zh: String,
}

/// One year's days in one version, with all versions of the year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarYearDetail {
    pub year: i32,
    pub version: CalendarVersion,
    pub days: Vec<CalendarDay>,
    /// Every version of the year, newest first.
    pub versions: Vec<CalendarVersion>,
}

/// One date that an import adds, removes or changes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarDayChange {
    pub date: NaiveDate,
    pub before: Option<CalendarDay>,
    pub after: Option<CalendarDay>,
}

/// What an import would do to one year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarYearPlan {
    pub year: i32,
    /// `new`, `changed` or `unchanged`.
    pub change: String,
    /// The version held now, if any (send it back as `expected` to refuse a
    /// stale confirmation).
    pub current_version: Option<i32>,
    /// The version the import creates (none when unchanged).
    pub new_version: Option<i32>,
    pub holidays: usize,
    pub workdays: usize,
    pub changes: Vec<CalendarDayChange>,
}

/// A deadline the import recomputed (R6.4, R18.1).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecomputedDeadline {
    /// `rectification_order`, `application` or `lifecycle_request`.
    pub kind: String,
    pub id: Uuid,
    /// What it is, e.g. 整改通知：某站.
    pub label: String,
    pub link: String,
    /// The clock's step, for an application.
    pub step: Option<String>,
    pub before: Option<NaiveDate>,
    pub after: Option<NaiveDate>,
    /// Still provisional after the import (its date lies in a later year).
    pub still_provisional: bool,
    /// The date changed, so its parties were notified.
    pub changed: bool,
}

/// An import's preview or its result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarImportReport {
    /// Whether this is the result of a confirmed import (false: a preview).
    pub imported: bool,
    pub years: Vec<CalendarYearPlan>,
    /// Provisional deadlines recomputed (empty for a preview).
    pub recomputed: Vec<RecomputedDeadline>,
}
