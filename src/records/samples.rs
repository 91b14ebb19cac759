//! Pages of the regulators' samples of work records (R16.5, R17.3): draw a
//! reproducible random sample of a station's records, list the samples
//! drawn, and record a finding on each sampled record, once.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use super::api::{self, CheckInput, Sample, SampleInput};
use crate::auth::{Ctx, OrgKind};
use crate::db::tenant_tx;
use crate::error::{AppError, FieldError, Result};
use crate::web::{list_limit, page_links, parse_id, AppQuery, Cursor, Layout, PageError};

/// A sample in the list.
pub struct SampleRow {
    pub sample_id: Uuid,
    pub station_code: String,
    pub station_name: String,
    pub regulator_name: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub size: i32,
    pub pool_size: i32,
    pub checked: i64,
    pub drawn_on: NaiveDate,
}

/// The draw form as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct DrawForm {
    #[serde(default)]
    pub station: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub size: String,
    #[serde(default)]
    pub seed: String,
}

/// The list's query.
#[derive(Debug, Default, Deserialize)]
pub struct SamplesQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "records/samples.html")]
pub struct SamplesPage {
    layout: Layout,
    rows: Vec<SampleRow>,
    can_draw: bool,
    f: DrawForm,
    errors: Vec<FieldError>,
    error: Option<String>,
    next: Option<String>,
    first: String,
    later: bool,
}

impl SamplesPage {
    /// The message of a field's error, in the page's language.
    fn err(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| self.layout.pick(&e.message, &e.message_en).to_owned())
    }
}

async fn samples_page(
    app: &AppState,
    ctx: &Ctx,
    q: &SamplesQuery,
    f: DrawForm,
    errors: Vec<FieldError>,
) -> Result<SamplesPage> {
    let cursor = Cursor::parse(q.cursor.as_deref())?;
    let limit = list_limit(q.limit)?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    type Row = (
        Uuid,
        String,
        String,
        String,
        NaiveDate,
        NaiveDate,
        i32,
        i32,
        i64,
        chrono::DateTime<chrono::Utc>,
    );
    // Newest first by id (UUIDv7: time-ordered), on the primary key.
    let rows: Vec<Row> = sqlx::query_as(
        "select x.sample_id, s.code, so.name, ro.name, x.period_from, x.period_to,
                cardinality(x.record_ids), x.pool_size,
                (select count(*) from record_sample_check c where c.sample_id = x.sample_id),
                x.drawn_at
           from record_sample x
           join station s on s.station_id = x.station_id
           join organization so on so.organization_id = x.station_id
           join organization ro on ro.organization_id = x.regulator_id
          where ($1::uuid is null or x.sample_id < $1)
          order by x.sample_id desc limit $2",
    )
    .bind(cursor.as_ref().map(|c| c.id))
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let rows: Vec<SampleRow> = rows
        .into_iter()
        .map(|r| SampleRow {
            sample_id: r.0,
            station_code: r.1,
            station_name: r.2,
            regulator_name: r.3,
            period_from: r.4,
            period_to: r.5,
            size: r.6,
            pool_size: r.7,
            checked: r.8,
            drawn_on: crate::web::china_date(r.9),
        })
        .collect();
    let (rows, next) = crate::web::keyset_page(rows, limit, |r| Cursor::new("", r.sample_id));
    let (next, first) = page_links("/records/samples", &[], next.as_ref());
    let error = (!errors.is_empty()).then(|| AppError::fields_text(&errors, ctx.lang));
    Ok(SamplesPage {
        layout: Layout::new(
            ctx,
            ctx.lang.pick("抽查证书/报告", "Record samples"),
            "/records/flagged",
        ),
        rows,
        can_draw: ctx.org_kind == OrgKind::Regulator,
        f,
        errors,
        error,
        next,
        first,
        later: cursor.is_some(),
    })
}

/// `/records/samples`: the samples the caller may see, and (regulators)
/// the form to draw one.
pub async fn samples_show(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<SamplesQuery>,
) -> std::result::Result<SamplesPage, PageError> {
    let f = DrawForm {
        size: "20".into(),
        ..Default::default()
    };
    samples_page(&app, &ctx, &q, f, Vec::new())
        .await
        .map_err(|e| PageError::new(e, ctx.lang))
}

/// The form read into the API's input: every field's error at once.
async fn draw_input(
    conn: &mut sqlx::PgConnection,
    f: &DrawForm,
) -> std::result::Result<SampleInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let date = |field: &str, v: &str, errors: &mut Vec<FieldError>| match NaiveDate::parse_from_str(
        v.trim(),
        "%Y-%m-%d",
    ) {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "invalid_date",
                "日期格式应为 YYYY-MM-DD",
                "Use YYYY-MM-DD",
            ));
            None
        }
    };
    let from = date("from", &f.from, &mut errors);
    let to = date("to", &f.to, &mut errors);
    let size = match f.size.trim().parse::<usize>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(FieldError::new(
                "size",
                "invalid",
                "抽查数量应为 1 到 200 的整数",
                "size must be a whole number from 1 to 200",
            ));
            None
        }
    };
    let seed = match f.seed.trim() {
        "" => None,
        s => match s.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::new(
                    "seed",
                    "invalid",
                    "种子应为非负整数（留空则随机生成）",
                    "The seed is a non-negative whole number (empty: a random one)",
                ));
                None
            }
        },
    };
    let code = f.station.trim().to_uppercase();
    let station: Option<Uuid> = if code.is_empty() {
        errors.push(FieldError::new(
            "station",
            "required",
            "请填写计量站代码",
            "Enter the station's code",
        ));
        None
    } else {
        match sqlx::query_scalar("select station_id from station where code = $1")
            .bind(&code)
            .fetch_optional(&mut *conn)
            .await
        {
            Ok(Some(id)) => Some(id),
            Ok(None) => {
                errors.push(FieldError::new(
                    "station",
                    "unknown",
                    format!("没有您可查看的代码为“{code}”的计量站"),
                    format!("No station you may see has the code {code:?}"),
                ));
                None
            }
            Err(e) => {
                errors.push(FieldError::new(
                    "station",
                    "unavailable",
                    "暂时无法查询计量站",
                    format!("Cannot look the station up now: {e}"),
                ));
                None
            }
        }
    };
    match (station, from, to, size) {
        (Some(station_id), Some(from), Some(to), Some(size)) if errors.is_empty() => {
            Ok(SampleInput {
                station_id,
                from,
                to,
                size,
                seed,
            })
        }
        _ => Err(errors),
    }
}

/// Draws a sample and opens it.
pub async fn draw_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(f): Form<DrawForm>,
) -> Response {
    let lang = ctx.lang;
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let input = draw_input(&mut tx, &f)
            .await
            .map_err(AppError::Validation)?;
        let sample = api::draw(&mut tx, &ctx, &input).await?;
        tx.commit().await?;
        Ok::<_, AppError>(sample.sample_id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/records/samples/{id}")).into_response(),
        Err(AppError::Validation(errors)) => {
            match samples_page(&app, &ctx, &SamplesQuery::default(), f, errors).await {
                Ok(p) => (axum::http::StatusCode::UNPROCESSABLE_ENTITY, p).into_response(),
                Err(e) => PageError::new(e, lang).into_response(),
            }
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "records/sample.html")]
pub struct SamplePage {
    layout: Layout,
    s: Sample,
    can_check: bool,
    checked: usize,
    /// The record whose finding was refused, with the message and input.
    error: Option<(Uuid, String)>,
    f: CheckForm,
}

impl SamplePage {
    /// Whether the refused finding was on this record (its input is kept).
    fn mine(&self, record_id: &Uuid) -> bool {
        self.error.as_ref().is_some_and(|e| e.0 == *record_id)
    }
}

/// The finding form as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CheckForm {
    #[serde(default)]
    pub record_id: String,
    #[serde(default)]
    pub finding: String,
    #[serde(default)]
    pub notes: String,
}

async fn sample_page(
    app: &AppState,
    ctx: &Ctx,
    id: Uuid,
    error: Option<(Uuid, String)>,
    f: CheckForm,
) -> Result<SamplePage> {
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let s = api::sample_load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(SamplePage {
        layout: Layout::new(
            ctx,
            format!(
                "{} · {}",
                s.station_name,
                ctx.lang.pick("证书/报告抽查", "Record sample")
            ),
            "/records/flagged",
        ),
        can_check: s.regulator_id == ctx.org_id,
        checked: s.records.iter().filter(|r| r.finding.is_some()).count(),
        s,
        error,
        f,
    })
}

/// `/records/samples/{id}`: the recorded draw and each record's finding.
pub async fn sample_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<SamplePage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(|e| PageError::new(e, lang))?;
    sample_page(&app, &ctx, id, None, CheckForm::default())
        .await
        .map_err(|e| PageError::new(e, lang))
}

/// Records a finding on one sampled record.
pub async fn check_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<CheckForm>,
) -> Response {
    let lang = ctx.lang;
    let Ok(id) = parse_id(&id) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let Ok(record_id) = Uuid::parse_str(f.record_id.trim()) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let input = CheckInput {
            record_id,
            finding: f.finding.trim().to_owned(),
            notes: f.notes.clone(),
        };
        api::check_finding(&mut tx, &ctx, id, &input).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/records/samples/{id}#r-{record_id}")).into_response(),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let msg = match &e {
                AppError::Validation(errs) => AppError::fields_text(errs, lang),
                other => {
                    let d = other.detail();
                    lang.pick(&d.message, &d.message_en).to_owned()
                }
            };
            let status = e.status_code();
            match sample_page(&app, &ctx, id, Some((record_id, msg)), f).await {
                Ok(p) => (status, p).into_response(),
                Err(e) => PageError::new(e, lang).into_response(),
            }
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

use crate::state::AppState;
