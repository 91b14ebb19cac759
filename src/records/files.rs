//! Files of work records in the browser and the API: the template (CSV,
//! XLSX), a station's import of up to 100,000 rows (all or nothing, a
//! report by line, checked like every record: R13.1, R16.4–R16.7) and the
//! export of a list (the same filters; CSV streamed, XLSX in constant
//! memory). The export's first columns are the template's, so an exported
//! file imports again unchanged.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use futures_util::TryStreamExt;
use uuid::Uuid;

use super::api::{parse_query, require_station_writer, RecordQuery};
use super::import::{self, ImportReport, COLUMNS, EXPORT_ONLY as EXTRA, FILE_MAX_BYTES};
use super::store::RecordFilter;
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, Result};
use crate::state::AppState;
use crate::web::{AppJson, AppQuery, Layout, PageError};

use crate::web::download::{csv_line, set_attachment as attachment, CSV_TYPE, XLSX_TYPE};
/// The most rows of an XLSX export (Excel's sheet holds 1,048,576); CSV
/// has no limit.
pub const XLSX_MAX_ROWS: u64 = 200_000;

/// The template's example row (the demo station's registries).
const EXAMPLE: [&str; 22] = [
    "",
    "JD-2026-000001",
    "检定证书",
    "交流电能表",
    "DDS1234",
    "2026-0001234",
    "某电表厂",
    "某供电公司",
    "",
    "440305",
    "电能表",
    "(0~10) A",
    "JJG 596-2012",
    "[2023]粤社量标证字第0101号",
    "刘芳",
    "王丽",
    "刘芳",
    "2026-12-01",
    "2026-12-02",
    "合格",
    "2032-11-30",
    "",
];

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> AppError {
    anyhow::anyhow!("xlsx: {e}").into()
}

/// A sheet with the bold header and widths for Chinese text.
fn sheet_header(sheet: &mut rust_xlsxwriter::Worksheet, header: &[&str]) -> Result<()> {
    sheet.set_name("证书报告记录").map_err(xlsx_err)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in header.iter().enumerate() {
        sheet
            .set_column_width(c as u16, (h.chars().count() as f64 * 2.2).max(14.0))
            .map_err(xlsx_err)?;
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(xlsx_err)?;
    }
    Ok(())
}

/// The import template as CSV (UTF-8 with BOM, for Excel) with one example.
#[utoipa::path(get, path = "/api/v1/work-records/template.csv", tag = "work-records",
    responses((status = 200, description = "CSV")))]
pub async fn template_csv(_ctx: Ctx) -> Result<Response> {
    let mut buf = vec![0xEF, 0xBB, 0xBF];
    let header: Vec<&str> = COLUMNS.iter().map(|c| c.1).collect();
    csv_line(&mut buf, &header)?;
    csv_line(&mut buf, EXAMPLE)?;
    let mut res = buf.into_response();
    attachment(&mut res, CSV_TYPE, "证书报告记录导入模板.csv");
    Ok(res)
}

/// The import template as XLSX with one example.
#[utoipa::path(get, path = "/api/v1/work-records/template.xlsx", tag = "work-records",
    responses((status = 200, description = "XLSX")))]
pub async fn template_xlsx(_ctx: Ctx) -> Result<Response> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let header: Vec<&str> = COLUMNS.iter().map(|c| c.1).collect();
    sheet_header(sheet, &header)?;
    for (c, v) in EXAMPLE.iter().enumerate() {
        sheet.write_string(1, c as u16, *v).map_err(xlsx_err)?;
    }
    let mut res = book.save_to_buffer().map_err(xlsx_err)?.into_response();
    attachment(&mut res, XLSX_TYPE, "证书报告记录导入模板.xlsx");
    Ok(res)
}

/// Reads the upload and imports it in one transaction: committed only
/// when every row passed (a flagged record is a passed row: R16.7).
async fn run_import(app: &AppState, ctx: &Ctx, multipart: Multipart) -> Result<ImportReport> {
    require_station_writer(ctx)?;
    let (filename, bytes) =
        crate::standards::documents::read_file(multipart, FILE_MAX_BYTES).await?;
    // One large file at a time per export slot: it holds the file and a
    // batch of checked rows in memory.
    let _slot = crate::web::bounds::Work::Export.slot().await?;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let report = import::import_file(&mut tx, ctx, &filename, bytes).await?;
    if report.errors.is_empty() {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(report)
}

/// A refused import, as documented: the refused rows by line, or (no file,
/// a file too large) the usual error envelope.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RecordImportRefusal {
    Rows(ImportReport),
    Error(ErrorBody),
}

/// Import a station's records from a CSV or XLSX file (field `file`) in
/// the template's columns: up to 100,000 rows, all or nothing. Each row is
/// checked against the whole chain; a record outside it is saved and
/// flagged (R16.7); a number already there with the same content is
/// unchanged, with other content refused (R16.5).
#[utoipa::path(post, path = "/api/v1/work-records/import", tag = "work-records",
    request_body(content_type = "multipart/form-data", description = "field `file`: .csv (UTF-8) or .xlsx in the template's columns"),
    responses((status = 200, description = "Imported", body = ImportReport),
      (status = 422, description = "Nothing imported: the refused rows by line, or no readable file", body = RecordImportRefusal),
      (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn records_import(
    State(app): State<AppState>,
    ctx: Ctx,
    crate::web::AppMultipart(multipart): crate::web::AppMultipart,
) -> Result<Response> {
    let report = run_import(&app, &ctx, multipart).await?;
    let status = if report.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, AppJson(report)).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "records/import.html")]
pub struct ImportPage {
    layout: Layout,
    report: Option<ImportReport>,
    error: Option<String>,
    max_rows: u64,
}

impl ImportPage {
    /// A field key as the template's heading (the key itself otherwise).
    fn column(field: &str) -> String {
        let key = field.rsplit(": ").next().unwrap_or(field);
        COLUMNS
            .iter()
            .find(|c| c.0 == key)
            .map(|c| format!("{}（{}）", c.1, c.0))
            .unwrap_or_else(|| field.to_owned())
    }
}

fn import_layout(ctx: &Ctx) -> Layout {
    Layout::new(
        ctx,
        ctx.lang.pick("导入证书/报告记录", "Import records"),
        "/records",
    )
}

/// `/records/import`: the upload form.
pub async fn import_page(ctx: Ctx) -> std::result::Result<ImportPage, PageError> {
    require_station_writer(&ctx).map_err(|e| PageError::new(e, ctx.lang))?;
    Ok(ImportPage {
        layout: import_layout(&ctx),
        report: None,
        error: None,
        max_rows: import::FILE_MAX_ROWS,
    })
}

/// The upload: the report on the same page (422 when nothing was imported).
pub async fn import_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    multipart: Multipart,
) -> Response {
    let lang = ctx.lang;
    let result = run_import(&app, &ctx, multipart).await;
    let mut page = ImportPage {
        layout: import_layout(&ctx),
        report: None,
        error: None,
        max_rows: import::FILE_MAX_ROWS,
    };
    match result {
        Ok(report) => {
            let status = if report.errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            page.report = Some(report);
            (status, page).into_response()
        }
        Err(e) if e.status_code().is_client_error() && e.status_code() != StatusCode::FORBIDDEN => {
            let status = e.status_code();
            let d = e.detail();
            page.error = Some(
                d.fields
                    .first()
                    .map(|f| lang.pick(&f.message, &f.message_en).to_owned())
                    .unwrap_or_else(|| lang.pick(&d.message, &d.message_en).to_owned()),
            );
            (status, page).into_response()
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

/// One exported row: the template's columns, then the check and state.
#[derive(sqlx::FromRow)]
struct ExportRow {
    code: String,
    number: String,
    kind: String,
    instrument_name: String,
    instrument_model: String,
    instrument_serial: String,
    manufacturer: String,
    customer_name: String,
    customer_credit_code: Option<String>,
    customer_division: String,
    item_name: String,
    range_text: String,
    specification: String,
    standards: Option<String>,
    performer: String,
    checker: String,
    approver: String,
    work_date: NaiveDate,
    issue_date: NaiveDate,
    conclusion: String,
    valid_until: Option<NaiveDate>,
    reissue_of: Option<String>,
    flagged: bool,
    flag_codes: Vec<String>,
    state: String,
    void_reason: Option<String>,
}

/// Every record of a list's filter (no page), newest work first, on the
/// list's index; standards by their certificate numbers and people by name
/// as the template has them.
const EXPORT_SQL: &str = "select s.code, r.number, r.kind, r.instrument_name, r.instrument_model,
        r.instrument_serial, r.manufacturer, r.customer_name, r.customer_credit_code,
        r.customer_division, r.item_name, r.range_text, r.specification,
        (select string_agg(ss.cert_number, ';' order by array_position(r.standard_states, ss.standard_state_id))
           from standard_state ss where ss.standard_state_id = any (r.standard_states)) as standards,
        coalesce(pf.name, '') as performer, coalesce(ck.name, '') as checker, coalesce(ap.name, '') as approver,
        r.work_date, r.issue_date, r.conclusion, r.valid_until,
        (select o.number from work_record o where o.station_id = r.station_id and o.record_id = r.reissue_of)
          as reissue_of,
        r.flagged, r.flag_codes, r.state, r.void_reason
   from work_record r
   join station s on s.station_id = r.station_id
   left join staff_member pf on pf.staff_member_id = r.performer_id
   left join staff_member ck on ck.staff_member_id = r.checker_id
   left join staff_member ap on ap.staff_member_id = r.approver_id
  where r.station_id = $1
    and ($2::date is null or r.work_date >= $2)
    and ($3::date is null or r.work_date <= $3)
    and ($4::text is null or r.kind = $4)
    and ($5::text is null or r.item_name = $5)
    and ($6::text is null or r.conclusion = $6)
    and ($7::bool is null or r.flagged = $7)
    and ($8::text is null or r.number like $9 escape '\\' or r.instrument_serial = $8
         or r.customer_name like $10 escape '\\')
    and ($11::text is null or r.flag_codes @> array[$11])
  order by r.work_date desc, r.record_id desc";

fn export_query<'q>(
    f: &'q RecordFilter,
    station_id: Uuid,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, ExportRow, sqlx::postgres::PgArguments> {
    let q = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    sqlx::query_as(EXPORT_SQL)
        .bind(station_id)
        .bind(f.from)
        .bind(f.to)
        .bind(f.kind.as_deref())
        .bind(f.item.as_deref())
        .bind(f.conclusion.as_deref())
        .bind(f.flagged)
        .bind(q)
        .bind(q.map(|q| crate::web::like_pattern(q)[1..].to_owned()))
        .bind(q.map(crate::web::like_pattern))
        .bind(f.reason.as_deref())
}

fn export_header() -> Vec<&'static str> {
    let mut h: Vec<&str> = COLUMNS.iter().map(|c| c.1).collect();
    h.extend(EXTRA);
    h
}

fn export_cells(r: ExportRow) -> Vec<String> {
    let reasons = r
        .flag_codes
        .iter()
        .map(|c| {
            crate::rules::records::PROBLEM_CODES
                .iter()
                .find(|p| p.0 == c)
                .map(|p| format!("{} {}", p.1, p.2))
                .unwrap_or_else(|| c.clone())
        })
        .collect::<Vec<_>>()
        .join("；");
    vec![
        r.code,
        r.number,
        super::model::kind_name(&r.kind, crate::rules::Lang::Zh),
        r.instrument_name,
        r.instrument_model,
        r.instrument_serial,
        r.manufacturer,
        r.customer_name,
        r.customer_credit_code.unwrap_or_default(),
        r.customer_division,
        r.item_name,
        r.range_text,
        r.specification,
        r.standards.unwrap_or_default(),
        r.performer,
        r.checker,
        r.approver,
        r.work_date.to_string(),
        r.issue_date.to_string(),
        r.conclusion,
        r.valid_until.map(|d| d.to_string()).unwrap_or_default(),
        r.reissue_of.unwrap_or_default(),
        if r.flagged { "被标记" } else { "通过" }.to_owned(),
        reasons,
        if r.state == "voided" {
            "已作废"
        } else {
            "有效"
        }
        .to_owned(),
        r.void_reason.unwrap_or_default(),
    ]
}

/// A station the caller does not see is not found (not an empty file).
async fn visible(conn: &mut sqlx::PgConnection, station: Uuid) -> Result<()> {
    sqlx::query_scalar::<_, i32>("select 1 from station where station_id = $1")
        .bind(station)
        .fetch_optional(&mut *conn)
        .await?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

/// The list's filter for an export: a station's own records, or one
/// station a regulator or department sees (`station_id`).
fn export_filter(ctx: &Ctx, q: &RecordQuery) -> Result<(RecordFilter, Uuid)> {
    let (filter, _, _) = parse_query(ctx, q)?;
    let station = filter.station_id.ok_or_else(|| {
        AppError::field("station_id", "required", "请选择计量站", "Choose a station")
    })?;
    Ok((filter, station))
}

/// Export the records of a list's filter as CSV (UTF-8 with BOM), streamed
/// from the database: memory stays flat for any number of records.
#[utoipa::path(get, path = "/api/v1/work-records/export.csv", tag = "work-records",
    params(RecordQuery), responses((status = 200, description = "CSV"), (status = 422, body = ErrorBody)))]
pub async fn export_csv(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<RecordQuery>,
) -> Result<Response> {
    let (filter, station) = export_filter(&ctx, &q)?;
    let slot = crate::web::bounds::Work::Export.slot().await?;
    // Opened before the answer starts, so that a refusal is still an error.
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    visible(&mut tx, station).await?;
    let (mut sink, res) = crate::web::download::csv_download("证书报告记录.csv");
    tokio::spawn(async move {
        let _slot = slot;
        let result: Result<()> = async {
            sink.row(export_header()).await?;
            let mut rows = export_query(&filter, station).fetch(&mut *tx);
            while let Some(r) = rows.try_next().await? {
                if !sink.row(export_cells(r)).await? {
                    return Ok(()); // the client went away
                }
            }
            drop(rows);
            tx.commit().await?;
            Ok(())
        }
        .await;
        sink.end(result).await;
    });
    Ok(res)
}

/// Export the records of a list's filter as XLSX (constant memory), up to
/// 200,000 records (more: narrow the dates, or take the CSV).
#[utoipa::path(get, path = "/api/v1/work-records/export.xlsx", tag = "work-records",
    params(RecordQuery), responses((status = 200, description = "XLSX"), (status = 422, body = ErrorBody)))]
pub async fn export_xlsx(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<RecordQuery>,
) -> Result<Response> {
    let (filter, station) = export_filter(&ctx, &q)?;
    let _slot = crate::web::bounds::Work::Export.slot().await?;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_err)?;
    sheet_header(sheet, &export_header())?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    visible(&mut tx, station).await?;
    let mut n = 0u32;
    {
        let mut rows = export_query(&filter, station).fetch(&mut *tx);
        while let Some(r) = rows.try_next().await? {
            n += 1;
            if u64::from(n) > XLSX_MAX_ROWS {
                return Err(AppError::field(
                    "format",
                    "too_many",
                    format!("XLSX 至多 {XLSX_MAX_ROWS} 条记录：请缩小日期范围，或导出 CSV"),
                    format!("XLSX holds at most {XLSX_MAX_ROWS} records: narrow the dates, or take the CSV"),
                ));
            }
            for (c, v) in export_cells(r).iter().enumerate() {
                sheet.write_string(n, c as u16, v).map_err(xlsx_err)?;
            }
        }
    }
    tx.commit().await?;
    let bytes = tokio::task::spawn_blocking(move || book.save_to_buffer())
        .await
        .map_err(|e| anyhow::anyhow!("xlsx task: {e}"))?
        .map_err(xlsx_err)?;
    let mut res = bytes.into_response();
    attachment(&mut res, XLSX_TYPE, "证书报告记录.xlsx");
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_row_reads_back_as_a_record() {
        // The template's own example parses (R16.5: a number; people by name).
        let header = csv::StringRecord::from(COLUMNS.iter().map(|c| c.1).collect::<Vec<_>>());
        let keys = import::header_map(&header).unwrap();
        let (code, input) = import::row_input(&keys, &csv::StringRecord::from(EXAMPLE.to_vec()));
        assert_eq!(code.as_deref(), Some(""));
        assert_eq!(input.number, "JD-2026-000001");
        assert_eq!(input.standards, vec!["[2023]粤社量标证字第0101号"]);
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert!(super::super::model::parse(&input, "", today).is_ok());
    }

    #[test]
    fn the_export_header_starts_with_the_template() {
        let h = export_header();
        assert_eq!(h.len(), COLUMNS.len() + EXTRA.len());
        assert!(COLUMNS.iter().zip(&h).all(|(c, h)| c.1 == *h));
    }
}
