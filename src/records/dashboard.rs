//! The records dashboard: records per month by kind and the share flagged
//! (R16.7), for a station, one station a regulator sees, or every station
//! the caller sees, as a chart (ECharts, vendored) with the numbers in a
//! table beside it. Read from the counts kept at insert
//! (`work_record_month`), never from a scan of records.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::api::since_months;
use super::model::kind_name;
use super::store;
use crate::auth::{Ctx, OrgKind};
use crate::db::tenant_tx;
use crate::error::{AppError, Result};
use crate::i18n::Lang;
use crate::rules::records::RecordKind;
use crate::state::AppState;
use crate::web::{today, AppQuery, Layout, PageError};

/// The months a dashboard may span.
pub const MONTH_CHOICES: [u32; 4] = [6, 12, 24, 36];

/// One month of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthRow {
    /// `YYYY-MM`.
    pub month: String,
    /// Records of each kind, in the order of [`Figures::kinds`].
    pub by_kind: Vec<i64>,
    pub total: i64,
    pub flagged: i64,
}

impl MonthRow {
    /// The flagged share in percent, one decimal, or "—" for no records.
    pub fn share(&self) -> String {
        share(self.flagged, self.total)
    }
}

fn share(flagged: i64, total: i64) -> String {
    if total == 0 {
        "—".into()
    } else {
        format!("{:.1}%", flagged as f64 * 100.0 / total as f64)
    }
}

/// The figures of a dashboard: every month of the span (empty months
/// included, so the axis is true), the kinds that occur, and totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// (code, name) of each kind with a record in the span.
    pub kinds: Vec<(String, String)>,
    pub months: Vec<MonthRow>,
    pub total: i64,
    pub flagged: i64,
}

impl Figures {
    pub fn share(&self) -> String {
        share(self.flagged, self.total)
    }
}

/// Lays the monthly counts out as a table of `months` months ending with
/// `today`'s month. Pure, so that it is tested without a database.
pub fn figures(
    rows: &[(NaiveDate, String, i64, i64)],
    today: NaiveDate,
    months: u32,
    lang: Lang,
) -> Figures {
    let since = since_months(today, months);
    // Kinds in the regulation's order, then any other code as stored.
    let mut codes: Vec<String> = RecordKind::ALL
        .iter()
        .map(|k| k.code().to_owned())
        .filter(|c| rows.iter().any(|r| &r.1 == c))
        .collect();
    for r in rows {
        if !codes.contains(&r.1) {
            codes.push(r.1.clone());
        }
    }
    let mut by_month: BTreeMap<NaiveDate, MonthRow> = BTreeMap::new();
    let mut m = since;
    while m <= today {
        by_month.insert(
            m,
            MonthRow {
                month: format!("{:04}-{:02}", m.year(), m.month()),
                by_kind: vec![0; codes.len()],
                total: 0,
                flagged: 0,
            },
        );
        m = match m.checked_add_months(chrono::Months::new(1)) {
            Some(n) => n,
            None => break,
        };
    }
    let (mut total, mut flagged) = (0, 0);
    for (month, kind, n, f) in rows {
        let Some(row) = by_month.get_mut(month) else {
            continue;
        };
        if let Some(i) = codes.iter().position(|c| c == kind) {
            row.by_kind[i] += n;
        }
        row.total += n;
        row.flagged += f;
        total += n;
        flagged += f;
    }
    Figures {
        kinds: codes
            .into_iter()
            .map(|c| {
                let name = kind_name(&c, lang.rules());
                (c, name)
            })
            .collect(),
        months: by_month.into_values().collect(),
        total,
        flagged,
    }
}

/// The dashboard's query.
#[derive(Debug, Default, Deserialize)]
pub struct StatsQuery {
    /// A station's code (regulators and departments; empty: every station
    /// they see).
    pub station: Option<String>,
    pub months: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "records/stats.html")]
pub struct StatsPage {
    layout: Layout,
    is_station: bool,
    station_code: String,
    months: u32,
    choices: Vec<u32>,
    figures: Option<Figures>,
    /// The chart's data as JSON (read by static/records-chart.js).
    chart: String,
    /// What the figures cover, in words.
    scope: String,
    error: Option<String>,
}

/// `/records/stats`: records per month by kind and the flagged share.
pub async fn stats_page(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<StatsQuery>,
) -> std::result::Result<StatsPage, PageError> {
    let lang = ctx.lang;
    let is_station = ctx.org_kind == OrgKind::Station;
    let station_code = if is_station {
        String::new()
    } else {
        q.station.clone().unwrap_or_default().trim().to_uppercase()
    };
    let mut page = StatsPage {
        layout: Layout::new(
            &ctx,
            lang.pick("证书/报告统计", "Certificate statistics"),
            "/records/stats",
        ),
        is_station,
        station_code: station_code.clone(),
        months: 12,
        choices: MONTH_CHOICES.to_vec(),
        figures: None,
        chart: String::new(),
        scope: String::new(),
        error: None,
    };
    let result: Result<()> = async {
        let months = match q.months.as_deref().map(str::trim) {
            None | Some("") => 12,
            Some(m) => m
                .parse::<u32>()
                .ok()
                .filter(|m| MONTH_CHOICES.contains(m))
                .ok_or_else(|| {
                    AppError::field(
                        "months",
                        "invalid",
                        "月数应为 6、12、24 或 36",
                        "months must be 6, 12, 24 or 36",
                    )
                })?,
        };
        page.months = months;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let station: Option<(Uuid, String)> = if is_station {
            let id = ctx.org_id;
            let name = crate::orgs::store::org_name(&mut tx, id).await?;
            Some((id, name))
        } else if station_code.is_empty() {
            None
        } else {
            let found: Option<(Uuid, String)> = sqlx::query_as(
                "select s.station_id, o.name from station s
                   join organization o on o.organization_id = s.station_id where s.code = $1",
            )
            .bind(&station_code)
            .fetch_optional(&mut *tx)
            .await?;
            Some(found.ok_or_else(|| {
                AppError::field(
                    "station",
                    "unknown",
                    format!("没有您可查看的代码为“{station_code}”的计量站"),
                    format!("No station you may see has the code {station_code:?}"),
                )
            })?)
        };
        let now = today();
        let rows = store::monthly(
            &mut tx,
            station.as_ref().map(|s| s.0),
            since_months(now, months),
        )
        .await?;
        tx.commit().await?;
        page.scope = match &station {
            Some((_, name)) => name.clone(),
            None => lang
                .pick("您可查看的全部计量站", "Every station you may see")
                .to_owned(),
        };
        let f = figures(&rows, now, months, lang);
        page.chart = chart_json(&f, lang);
        page.figures = Some(f);
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(page),
        Err(AppError::Validation(f)) => {
            page.error = Some(AppError::fields_text(&f, lang));
            Ok(page)
        }
        Err(e) => Err(PageError::new(e, lang)),
    }
}

/// The chart's series: a stacked bar per kind and the flagged share as a
/// line on its own axis.
fn chart_json(f: &Figures, lang: Lang) -> String {
    serde_json::json!({
        "months": f.months.iter().map(|m| &m.month).collect::<Vec<_>>(),
        "kinds": f.kinds.iter().enumerate().map(|(i, (_, name))| serde_json::json!({
            "name": name,
            "data": f.months.iter().map(|m| m.by_kind[i]).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "share": f.months.iter().map(|m| if m.total == 0 {
            serde_json::Value::Null
        } else {
            serde_json::json!((m.flagged as f64 * 1000.0 / m.total as f64).round() / 10.0)
        }).collect::<Vec<_>>(),
        "share_name": lang.pick("被标记占比（%）", "Flagged share (%)"),
        "count_name": lang.pick("份数", "Records"),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn every_month_of_the_span_is_a_row_and_the_totals_add_up() {
        // R16.7: the share flagged per month.
        let rows = vec![
            (d("2026-10-01"), "calibration_certificate".to_owned(), 4, 1),
            (d("2026-10-01"), "verification_certificate".to_owned(), 6, 0),
            (d("2026-12-01"), "verification_certificate".to_owned(), 2, 2),
            // Outside the span: ignored.
            (
                d("2025-01-01"),
                "verification_certificate".to_owned(),
                99,
                99,
            ),
        ];
        let f = figures(&rows, d("2026-12-06"), 6, Lang::Zh);
        let months: Vec<&str> = f.months.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(
            months,
            ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
        );
        // The regulation's order of kinds: verification before calibration.
        let codes: Vec<&str> = f.kinds.iter().map(|k| k.0.as_str()).collect();
        assert_eq!(
            codes,
            ["verification_certificate", "calibration_certificate"]
        );
        assert_eq!(f.kinds[0].1, "检定证书");
        assert_eq!(f.months[3].by_kind, vec![6, 4]);
        assert_eq!((f.months[3].total, f.months[3].flagged), (10, 1));
        assert_eq!(f.months[3].share(), "10.0%");
        assert_eq!(f.months[4].share(), "—");
        assert_eq!(f.months[5].share(), "100.0%");
        assert_eq!((f.total, f.flagged), (12, 3));
        assert_eq!(f.share(), "25.0%");
    }

    #[test]
    fn no_records_is_a_table_of_empty_months() {
        let f = figures(&[], d("2026-12-31"), 12, Lang::En);
        assert_eq!(f.months.len(), 12);
        assert!(f.kinds.is_empty());
        assert_eq!(f.months[0].month, "2026-01");
        assert_eq!(f.share(), "—");
        let chart: serde_json::Value = serde_json::from_str(&chart_json(&f, Lang::En)).unwrap();
        assert_eq!(chart["months"].as_array().unwrap().len(), 12);
        assert!(chart["share"][0].is_null());
    }
}
