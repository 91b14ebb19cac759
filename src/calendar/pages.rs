//! HTML pages of the calendar: the years held, a year's month grid with its
//! versions, and the operator's load form → preview → confirmed import.
//! A refused form comes back with everything typed.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use super::model::*;
use super::store::{self, Actor, Entered, PeriodInput, Via, WorkdayInput};
use crate::auth::{Ctx, Operator};
use crate::db::tenant_tx;
use crate::error::{AppError, FieldError, Result};
use crate::orgs::pages::Errors;
use crate::state::AppState;
use crate::web::{today, AppQuery, Layout, PageError};

/// Rows of holiday periods and make-up workdays the form offers.
const PERIOD_ROWS: usize = 9;
const WORKDAY_ROWS: usize = 8;

#[derive(Template, WebTemplate)]
#[template(path = "calendar/overview.html")]
pub struct OverviewPage {
    layout: Layout,
    o: CalendarOverview,
    is_operator: bool,
}

/// The years held (any signed-in user; loading is the operator's).
pub async fn overview(
    State(app): State<AppState>,
    ctx: Ctx,
) -> std::result::Result<OverviewPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let o = store::overview(&mut tx, today()).await?;
        tx.commit().await?;
        Ok::<_, AppError>(OverviewPage {
            layout: Layout::new(
                &ctx,
                lang.pick("节假日日历", "Holiday calendar"),
                "/admin/calendar",
            ),
            o,
            is_operator: ctx.is_operator(),
        })
    }
    .await;
    r.map_err(|e| PageError::new(e, lang))
}

/// One cell of a month grid.
pub struct Cell {
    pub day: u32,
    /// `holiday`, `workday`, `weekend` or `` (a working weekday).
    pub class: &'static str,
    pub title: String,
}

/// A month of the grid: weeks of seven cells (None outside the month).
pub struct Month {
    pub name: String,
    pub weeks: Vec<Vec<Option<Cell>>>,
}

#[derive(Template, WebTemplate)]
#[template(path = "calendar/year.html")]
pub struct YearPage {
    layout: Layout,
    d: CalendarYearDetail,
    months: Vec<Month>,
    is_current: bool,
}

#[derive(Deserialize)]
pub struct YearQuery {
    version: Option<String>,
}

fn months(year: i32, days: &[CalendarDay], lang: crate::i18n::Lang) -> Vec<Month> {
    let by_date: BTreeMap<NaiveDate, &CalendarDay> = days.iter().map(|d| (d.date, d)).collect();
    (1..=12)
        .filter_map(|m| {
            let first = NaiveDate::from_ymd_opt(year, m, 1)?;
            let mut weeks = Vec::new();
            let mut week: Vec<Option<Cell>> = (0..first.weekday().num_days_from_monday())
                .map(|_| None)
                .collect();
            for date in first.iter_days().take_while(|d| d.month() == m) {
                let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
                let (class, title) = match by_date.get(&date) {
                    Some(d) if d.kind == "holiday" => (
                        "holiday",
                        format!(
                            "{} {}",
                            date,
                            if lang.is_en() { &d.name_en } else { &d.name_zh }
                        ) + lang.pick(" 放假", " off"),
                    ),
                    Some(d) => (
                        "workday",
                        format!(
                            "{} {}",
                            date,
                            if lang.is_en() { &d.name_en } else { &d.name_zh }
                        ) + lang.pick(" 调休上班", " make-up workday"),
                    ),
                    None if weekend => ("weekend", date.to_string()),
                    None => ("", date.to_string()),
                };
                week.push(Some(Cell {
                    day: date.day(),
                    class,
                    title,
                }));
                if week.len() == 7 {
                    weeks.push(std::mem::take(&mut week));
                }
            }
            if !week.is_empty() {
                while week.len() < 7 {
                    week.push(None);
                }
                weeks.push(week);
            }
            Some(Month {
                name: if lang.is_en() {
                    first.format("%B").to_string()
                } else {
                    format!("{m} 月")
                },
                weeks,
            })
        })
        .collect()
}

/// A year's month grid and list of days, in its current or an earlier version.
pub async fn year(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(year): Path<String>,
    AppQuery(q): AppQuery<YearQuery>,
) -> std::result::Result<YearPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let year: i32 = year.parse().map_err(|_| AppError::NotFound)?;
        let version = match q
            .version
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(v) => Some(v.parse::<i32>().map_err(|_| AppError::NotFound)?),
        };
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let d = store::year_detail(&mut tx, year, version).await?;
        tx.commit().await?;
        let is_current = d.versions.first().map(|v| v.version) == Some(d.version.version);
        Ok::<_, AppError>(YearPage {
            layout: Layout::new(
                &ctx,
                format!(
                    "{year} {}",
                    lang.pick("年节假日安排", "holiday arrangement")
                ),
                "/admin/calendar",
            ),
            months: months(year, &d.days, lang),
            d,
            is_current,
        })
    }
    .await;
    r.map_err(|e| PageError::new(e, lang))
}

/// The load form's fields, as typed (kept on error and carried through the
/// preview to the confirmation).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct LoadForm {
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub year: String,
    #[serde(default)]
    pub csv: String,
    #[serde(default)]
    pub period_name: Vec<String>,
    #[serde(default)]
    pub period_from: Vec<String>,
    #[serde(default)]
    pub period_to: Vec<String>,
    #[serde(default)]
    pub workday_name: Vec<String>,
    #[serde(default)]
    pub workday_date: Vec<String>,
    #[serde(default)]
    pub source_title: String,
    #[serde(default)]
    pub source_number: String,
    #[serde(default)]
    pub source_date: String,
    #[serde(default)]
    pub source_url: String,
    #[serde(default)]
    pub source_note: String,
    /// `year:version` pairs the preview showed (confirmation only).
    #[serde(default)]
    pub expected: Vec<String>,
    #[serde(default)]
    pub confirmed: Option<String>,
}

/// One row of the periods table as shown.
pub struct PeriodRow {
    pub i: usize,
    pub name: String,
    pub from: String,
    pub to: String,
}

/// One row of the workdays table as shown.
pub struct WorkdayRow {
    pub i: usize,
    pub name: String,
    pub date: String,
}

fn at(v: &[String], i: usize) -> String {
    v.get(i).cloned().unwrap_or_default()
}

impl LoadForm {
    fn periods(&self) -> Vec<PeriodRow> {
        let n = PERIOD_ROWS.max(self.period_name.len());
        (0..n)
            .map(|i| PeriodRow {
                i,
                name: at(&self.period_name, i),
                from: at(&self.period_from, i),
                to: at(&self.period_to, i),
            })
            .collect()
    }

    fn workdays(&self) -> Vec<WorkdayRow> {
        let n = WORKDAY_ROWS.max(self.workday_name.len());
        (0..n)
            .map(|i| WorkdayRow {
                i,
                name: at(&self.workday_name, i),
                date: at(&self.workday_date, i),
            })
            .collect()
    }

    fn is_csv(&self) -> bool {
        self.mode == "csv"
    }

    fn source(&self, errors: &mut Vec<FieldError>) -> CalendarSource {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let date = text(&self.source_date).and_then(|d| match d.parse::<NaiveDate>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new(
                    "source.date",
                    "date",
                    "日期格式应为 YYYY-MM-DD",
                    "Date as YYYY-MM-DD",
                ));
                None
            }
        });
        CalendarSource {
            title: text(&self.source_title),
            number: text(&self.source_number),
            date,
            url: text(&self.source_url),
            note: text(&self.source_note),
        }
    }

    /// The days and the year the form describes, and its source.
    fn parse(&self) -> Result<(Vec<Entered>, Option<i32>, CalendarSource)> {
        let mut errors = Vec::new();
        let source = self.source(&mut errors);
        let date = |field: String, raw: &str, errors: &mut Vec<FieldError>| {
            let raw = raw.trim();
            if raw.is_empty() {
                return None;
            }
            match raw.parse::<NaiveDate>() {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.push(FieldError::new(
                        &field,
                        "date",
                        "日期格式应为 YYYY-MM-DD",
                        "Date as YYYY-MM-DD",
                    ));
                    None
                }
            }
        };
        let result = if self.is_csv() {
            store::parse_csv(&self.csv).map(|e| (e, None))
        } else {
            let year = match self.year.trim().parse::<i32>() {
                Ok(y) if (2000..=2100).contains(&y) => Some(y),
                _ => {
                    errors.push(FieldError::new(
                        "year",
                        "year",
                        "请填写 2000–2100 之间的年份",
                        "Give a year between 2000 and 2100",
                    ));
                    None
                }
            };
            let periods: Vec<PeriodInput> = self
                .periods()
                .iter()
                .map(|p| PeriodInput {
                    name_zh: p.name.clone(),
                    name_en: String::new(),
                    from: date(format!("periods[{}].from", p.i), &p.from, &mut errors),
                    to: date(format!("periods[{}].to", p.i), &p.to, &mut errors),
                })
                .collect();
            let workdays: Vec<WorkdayInput> = self
                .workdays()
                .iter()
                .map(|w| WorkdayInput {
                    name_zh: w.name.clone(),
                    name_en: String::new(),
                    date: date(format!("workdays[{}].date", w.i), &w.date, &mut errors),
                })
                .collect();
            store::from_form(&periods, &workdays).map(|e| (e, year))
        };
        match result {
            Ok((entered, year)) if errors.is_empty() => Ok((entered, year, source)),
            Ok(_) => Err(AppError::Validation(errors)),
            Err(mut more) => {
                errors.append(&mut more);
                Err(AppError::Validation(errors))
            }
        }
    }

    fn expected(&self) -> BTreeMap<i32, i32> {
        self.expected
            .iter()
            .filter_map(|p| {
                let (y, v) = p.split_once(':')?;
                Some((y.parse().ok()?, v.parse().ok()?))
            })
            .collect()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "calendar/load.html")]
pub struct LoadPage {
    layout: Layout,
    f: LoadForm,
    errors: Errors,
    holidays: Vec<(&'static str, &'static str)>,
}

impl LoadPage {
    fn new(ctx: &Ctx, f: LoadForm, errors: Errors) -> Self {
        LoadPage {
            layout: Layout::new(
                ctx,
                ctx.lang
                    .pick("导入节假日安排", "Load a holiday arrangement"),
                "/admin/calendar",
            ),
            f,
            errors,
            holidays: store::HOLIDAYS.to_vec(),
        }
    }

    pub fn err(&self, field: &str) -> Option<String> {
        self.errors.get(field)
    }

    /// Messages not shown beside a field.
    pub fn others(&self) -> Vec<String> {
        self.errors
            .others(&["year", "csv", "periods", "workdays", "source", "confirmed"])
    }
}

#[derive(Deserialize)]
pub struct LoadQuery {
    year: Option<String>,
}

/// The load form (operator), for the year asked or the next one.
pub async fn load_form(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    AppQuery(q): AppQuery<LoadQuery>,
) -> std::result::Result<LoadPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let year = match q.year.as_deref().and_then(|y| y.trim().parse::<i32>().ok()) {
            Some(y) => y,
            None => {
                let mut conn = app.db.acquire().await?;
                store::current(&mut conn).await?.last_year() + 1
            }
        };
        Ok::<_, AppError>(LoadPage::new(
            &ctx,
            LoadForm {
                mode: "form".into(),
                year: year.to_string(),
                ..LoadForm::default()
            },
            Errors::none(lang),
        ))
    }
    .await;
    r.map_err(|e| PageError::new(e, lang))
}

#[derive(Template, WebTemplate)]
#[template(path = "calendar/preview.html")]
pub struct PreviewPage {
    layout: Layout,
    f: LoadForm,
    report: CalendarImportReport,
}

impl PreviewPage {
    fn changing(&self) -> bool {
        self.report.years.iter().any(|y| y.change != "unchanged")
    }

    fn day_text(&self, d: &Option<CalendarDay>) -> String {
        match d {
            None => "—".into(),
            Some(d) => {
                let lang = self.layout.lang;
                format!(
                    "{} {}",
                    if d.kind == "holiday" {
                        lang.pick("放假", "off")
                    } else {
                        lang.pick("调休上班", "make-up workday")
                    },
                    if lang.is_en() { &d.name_en } else { &d.name_zh }
                )
            }
        }
    }
}

/// Validates the form and shows what the import would do (nothing saved).
pub async fn preview(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    Form(f): Form<LoadForm>,
) -> Response {
    let lang = ctx.lang;
    let result = async {
        let (entered, year, source) = f.parse()?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let report = store::preview(&mut tx, &entered, year).await?;
        tx.commit().await?;
        let changing = report.years.iter().any(|y| y.change != "unchanged");
        let errors = store::check_source(&source, changing);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(report)
    }
    .await;
    match result {
        Ok(report) => {
            let mut f = f;
            f.expected = report
                .years
                .iter()
                .map(|y| format!("{}:{}", y.year, y.current_version.unwrap_or(0)))
                .collect();
            PreviewPage {
                layout: Layout::new(
                    &ctx,
                    lang.pick("确认导入", "Confirm the import"),
                    "/admin/calendar",
                ),
                f,
                report,
            }
            .into_response()
        }
        Err(e) => {
            Errors::rerender(lang, e, |errors| async {
                Ok(LoadPage::new(&ctx, f, errors))
            })
            .await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "calendar/report.html")]
pub struct ReportPage {
    layout: Layout,
    report: CalendarImportReport,
}

/// The confirmed import: new versions, recomputed deadlines, the report.
pub async fn import(
    State(app): State<AppState>,
    Operator(ctx): Operator,
    Form(f): Form<LoadForm>,
) -> Response {
    let lang = ctx.lang;
    let result = async {
        let (entered, year, source) = f.parse()?;
        if f.confirmed.as_deref() != Some("yes") {
            return Err(AppError::field(
                "confirmed",
                "required",
                "请勾选确认后再导入",
                "Tick the confirmation to import",
            ));
        }
        store::import(
            &app.db,
            Actor {
                ctx: Some(&ctx),
                via: Via::Page,
            },
            &entered,
            year,
            &source,
            Some(&f.expected()),
            today(),
        )
        .await
    }
    .await;
    match result {
        Ok(report) => ReportPage {
            layout: Layout::new(
                &ctx,
                lang.pick("导入结果", "Import result"),
                "/admin/calendar",
            ),
            report,
        }
        .into_response(),
        Err(e) => {
            Errors::rerender(lang, e, |errors| async {
                Ok(LoadPage::new(&ctx, f, errors))
            })
            .await
        }
    }
}

/// Back from the preview to the form, with everything as typed.
pub async fn load_back(Operator(ctx): Operator, Form(f): Form<LoadForm>) -> LoadPage {
    let lang = ctx.lang;
    LoadPage::new(&ctx, f, Errors::none(lang))
}
