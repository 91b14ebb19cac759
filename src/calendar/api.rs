//! JSON endpoints of the calendar: every signed-in user reads it; the
//! platform operator previews and imports a year's arrangement (R18.1).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::model::*;
use super::store::{self, Actor, Entered, PeriodInput, Via, WorkdayInput};
use crate::auth::{Ctx, Operator};
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, Result};
use crate::state::AppState;
use crate::web::{today, AppJson, AppQuery};

/// A holiday period: every day from `from` to `to` is off.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CalendarPeriodInput {
    /// e.g. 春节.
    pub name_zh: String,
    /// e.g. Spring Festival (the official English name when omitted for a
    /// known holiday).
    #[serde(default)]
    pub name_en: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// A make-up workday 调休上班 (a Saturday or Sunday).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CalendarWorkdayInput {
    /// The holiday it makes up for, e.g. 春节.
    pub name_zh: String,
    #[serde(default)]
    pub name_en: Option<String>,
    pub date: Option<NaiveDate>,
}

/// A year's arrangement to preview or import: either `csv` (the reference
/// file's format, one or more years), or `year` with its `holidays` and
/// `workdays`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CalendarInput {
    /// `date,kind,holiday_en,holiday_zh` lines after a header.
    #[serde(default)]
    pub csv: Option<String>,
    /// The year entered (every date must be in it).
    #[serde(default)]
    pub year: Option<i32>,
    #[serde(default)]
    pub holidays: Vec<CalendarPeriodInput>,
    #[serde(default)]
    pub workdays: Vec<CalendarWorkdayInput>,
    /// The document the arrangement comes from (title required to change a year).
    #[serde(default)]
    pub source: CalendarSource,
    /// Import only: year → the version the preview showed as current (0
    /// when none); a year loaded meanwhile refuses the import (409).
    #[serde(default)]
    pub expected: Option<BTreeMap<i32, i32>>,
}

/// The days an input describes (field errors when malformed).
pub fn entered_of(input: &CalendarInput) -> Result<(Vec<Entered>, Option<i32>)> {
    match input
        .csv
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(text) => store::parse_csv(text)
            .map(|e| (e, None))
            .map_err(AppError::Validation),
        None => {
            let periods: Vec<PeriodInput> = input
                .holidays
                .iter()
                .map(|p| PeriodInput {
                    name_zh: p.name_zh.clone(),
                    name_en: p.name_en.clone().unwrap_or_default(),
                    from: p.from,
                    to: p.to,
                })
                .collect();
            let workdays: Vec<WorkdayInput> = input
                .workdays
                .iter()
                .map(|w| WorkdayInput {
                    name_zh: w.name_zh.clone(),
                    name_en: w.name_en.clone().unwrap_or_default(),
                    date: w.date,
                })
                .collect();
            let mut errors = Vec::new();
            if input.year.is_none() {
                errors.push(crate::error::FieldError::new(
                    "year",
                    "required",
                    "请填写年份，或提供 csv",
                    "Give the year, or a csv",
                ));
            }
            match store::from_form(&periods, &workdays) {
                Ok(e) if errors.is_empty() => Ok((e, input.year)),
                Ok(_) => Err(AppError::Validation(errors)),
                Err(mut more) => {
                    errors.append(&mut more);
                    Err(AppError::Validation(errors))
                }
            }
        }
    }
}

/// The years held, each with its current version's source and who loaded
/// it, and the next year as not published (any signed-in user).
#[utoipa::path(get, path = "/api/v1/calendar", tag = "calendar",
    responses(
        (status = 200, description = "The years held", body = CalendarOverview),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn calendar_overview(
    State(app): State<AppState>,
    ctx: Ctx,
) -> Result<AppJson<CalendarOverview>> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let o = store::overview(&mut tx, today()).await?;
    tx.commit().await?;
    Ok(AppJson(o))
}

/// Query of a year.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// An earlier version (default: the current one).
    pub version: Option<i32>,
}

/// One year's holidays and make-up workdays in its current (or a chosen
/// earlier) version, with the list of its versions.
#[utoipa::path(get, path = "/api/v1/calendar/{year}", tag = "calendar",
    params(("year" = i32, Path, description = "The year"), YearQuery),
    responses(
        (status = 200, description = "The year", body = CalendarYearDetail),
        (status = 404, description = "The year (or version) is not held", body = ErrorBody),
    ))]
pub async fn calendar_year(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(year): Path<String>,
    AppQuery(q): AppQuery<YearQuery>,
) -> Result<AppJson<CalendarYearDetail>> {
    let year: i32 = year.parse().map_err(|_| AppError::NotFound)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let d = store::year_detail(&mut tx, year, q.version).await?;
    tx.commit().await?;
    Ok(AppJson(d))
}

/// Every year's current days as CSV in the reference file's format
/// (`jiliang calendar export` gives the same).
#[utoipa::path(get, path = "/api/v1/calendar/export", tag = "calendar",
    responses(
        (status = 200, description = "date,kind,holiday_en,holiday_zh", content_type = "text/csv", body = String),
    ))]
pub async fn calendar_export(State(app): State<AppState>, ctx: Ctx) -> Result<Response> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let text = store::export(&mut tx).await?;
    tx.commit().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"calendar.csv\"",
            ),
        ],
        text,
    )
        .into_response())
}

/// Preview an import: per year new / changed / unchanged and the dates that
/// differ from the version held; nothing is saved (platform operator).
#[utoipa::path(post, path = "/api/v1/calendar/preview", tag = "calendar",
    request_body = CalendarInput,
    responses(
        (status = 200, description = "What the import would do", body = CalendarImportReport),
        (status = 403, description = "Not the platform operator", body = ErrorBody),
        (status = 422, description = "Invalid days (each with its line) or source", body = ErrorBody),
    ))]
pub async fn calendar_preview(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    AppJson(input): AppJson<CalendarInput>,
) -> Result<AppJson<CalendarImportReport>> {
    let (entered, year) = entered_of(&input)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let report = store::preview(&mut tx, &entered, year).await?;
    tx.commit().await?;
    Ok(AppJson(report))
}

/// Import: each changed year becomes a new version (the earlier one stays
/// readable), every provisional deadline is recomputed in the same
/// transaction and each changed one notified; audited (platform operator).
#[utoipa::path(post, path = "/api/v1/calendar/import", tag = "calendar",
    request_body = CalendarInput,
    responses(
        (status = 200, description = "What was loaded and recomputed", body = CalendarImportReport),
        (status = 403, description = "Not the platform operator", body = ErrorBody),
        (status = 409, description = "A year was loaded by someone else since the preview", body = ErrorBody),
        (status = 422, description = "Invalid days (each with its line) or source", body = ErrorBody),
    ))]
pub async fn calendar_import(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    AppJson(input): AppJson<CalendarInput>,
) -> Result<AppJson<CalendarImportReport>> {
    let (entered, year) = entered_of(&input)?;
    let report = store::import(
        &app.db,
        Actor {
            ctx: Some(&ctx),
            via: Via::Api,
        },
        &entered,
        year,
        &input.source,
        input.expected.as_ref(),
        today(),
    )
    .await?;
    Ok(AppJson(report))
}
