//! Bulk import of a station's registry of standards from CSV or XLSX, and
//! export to both (R9.1). An import is all or nothing per file: every row is
//! checked first, and the report names each rejected row's line and reason.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::*;
use super::store;
use crate::audit::{self, Event};
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{ErrorBody, Result};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::{AppJson, AppQuery};

/// The columns of the template, in order: (key, Chinese header, English header).
pub const COLUMNS: &[(&str, &str, &str)] = &[
    ("kind", "类别", "Kind"),
    ("name", "名称", "Name"),
    ("range_text", "测量范围", "Measurement range"),
    (
        "accuracy_text",
        "准确度等级/最大允许误差/不确定度",
        "Accuracy",
    ),
    ("main_equipment", "主要配套设备", "Main equipment"),
    ("specification", "依据的技术规范", "Specification"),
    ("responsible_person", "负责人", "Responsible person"),
    ("location", "存放地点", "Location"),
    ("environment", "环境条件", "Environment"),
    ("cert_number", "计量标准考核证书编号", "Certificate number"),
    ("cert_issuer", "发证机关", "Issuer"),
    ("cert_issued_on", "发证日期", "Issued on"),
    ("cert_expires_on", "有效期至", "Expires on"),
];

const EXAMPLE: [&str; 13] = [
    "本专业项目的计量标准",
    "0.05级活塞式压力计标准装置",
    "（0.1～60）MPa",
    "0.05级",
    "活塞式压力计",
    "JJG 59-2022",
    "刘芳",
    "压力实验室",
    "温度（20±2）℃",
    "[2024]粤量标证字第0001号",
    "广东省市场监督管理局",
    "2024-03-01",
    "2028-02-29",
];

/// One rejected row of an import.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ImportProblem {
    /// Line in the file (the header is line 1).
    pub line: usize,
    pub field: String,
    pub message: String,
    pub message_en: String,
}

/// What an import did: everything, or nothing with every problem listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub imported: usize,
    pub rows: usize,
    pub problems: Vec<ImportProblem>,
}

fn problem(
    line: usize,
    field: &str,
    zh: impl Into<String>,
    en: impl Into<String>,
) -> ImportProblem {
    ImportProblem {
        line,
        field: field.into(),
        message: zh.into(),
        message_en: en.into(),
    }
}

/// The most rows (header included) and columns an XLSX sheet may span.
pub const XLSX_MAX_ROWS: usize = 100_002;
pub const XLSX_MAX_COLUMNS: usize = 64;

/// Reads rows (header first) from CSV (UTF-8, with or without BOM) or XLSX.
pub fn read_rows(
    filename: &str,
    bytes: &[u8],
) -> std::result::Result<Vec<Vec<String>>, ImportProblem> {
    let lower = filename.to_ascii_lowercase();
    if lower.ends_with(".xlsx") {
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| {
            problem(
                0,
                "file",
                format!("无法读取 XLSX 文件：{e}"),
                format!("Cannot read the XLSX file: {e}"),
            )
        })?;
        let name = book.sheet_names().first().cloned().ok_or_else(|| {
            problem(
                0,
                "file",
                "XLSX 文件没有工作表",
                "The XLSX file has no worksheet",
            )
        })?;
        let unreadable = |e: calamine::XlsxError| {
            problem(
                0,
                "file",
                format!("无法读取工作表：{e}"),
                format!("Cannot read the worksheet: {e}"),
            )
        };
        // Cell by cell, never the sheet's whole rectangle: a few bytes can
        // claim a cell at XFD1048576, and filling the rectangle up to it
        // would take hundreds of GB (calamine #693). Rows and columns are
        // bounded before anything is kept.
        let mut cells = book.worksheet_cells_reader(&name).map_err(unreadable)?;
        let mut rows: Vec<Vec<String>> = Vec::new();
        while let Some(cell) = cells.next_cell().map_err(unreadable)? {
            let (r, c) = cell.get_position();
            let text = cell_text(&Data::from(cell.get_value().clone()));
            if text.is_empty() {
                continue;
            }
            if c as usize >= XLSX_MAX_COLUMNS || r as usize >= XLSX_MAX_ROWS {
                return Err(problem(
                    r as usize + 1,
                    "file",
                    format!("工作表超出 {XLSX_MAX_ROWS} 行或 {XLSX_MAX_COLUMNS} 列的范围"),
                    format!("The worksheet goes past {XLSX_MAX_ROWS} rows or {XLSX_MAX_COLUMNS} columns"),
                ));
            }
            let (r, c) = (r as usize, c as usize);
            if rows.len() <= r {
                rows.resize(r + 1, Vec::new());
            }
            if rows[r].len() <= c {
                rows[r].resize(c + 1, String::new());
            }
            rows[r][c] = text;
        }
        // Each row as long as its last filled cell: readers treat a
        // missing cell as empty.
        Ok(rows)
    } else if lower.ends_with(".csv") {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            problem(
                0,
                "file",
                "CSV 文件须为 UTF-8 编码（可用模板另存为“CSV UTF-8”）",
                "The CSV file must be UTF-8 (save as “CSV UTF-8”)",
            )
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut rows = Vec::new();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| {
                problem(
                    i + 1,
                    "file",
                    format!("CSV 格式错误：{e}"),
                    format!("Malformed CSV: {e}"),
                )
            })?;
            rows.push(rec.iter().map(|s| s.trim().to_owned()).collect());
        }
        Ok(rows)
    } else {
        Err(problem(
            0,
            "file",
            "请上传 .csv 或 .xlsx 文件",
            "Upload a .csv or .xlsx file",
        ))
    }
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => dt
            .as_datetime()
            .map(|d| d.date().to_string())
            .unwrap_or_default(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.chars().take(10).collect(),
        Data::Error(e) => format!("{e:?}"),
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s
        .trim()
        .replace(['/', '.', '年', '月'], "-")
        .replace('日', "");
    NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()
}

fn parse_kind(s: &str) -> Option<StandardKind> {
    StandardKind::parse(s).or_else(|| {
        StandardKind::ALL
            .iter()
            .copied()
            .find(|k| k.label(Lang::Zh) == s || k.label(Lang::En).eq_ignore_ascii_case(s))
    })
}

/// Checks every row; returns the standards or every problem.
pub fn check_rows(
    rows: &[Vec<String>],
    issuers: &HashMap<String, Uuid>,
    existing_certs: &HashSet<String>,
) -> std::result::Result<Vec<ValidStandard>, Vec<ImportProblem>> {
    let mut problems = Vec::new();
    let Some(header) = rows.first() else {
        return Err(vec![problem(0, "file", "文件为空", "The file is empty")]);
    };
    // Columns by header (Chinese, English or key), so reordered files work.
    let mut index = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim().trim_start_matches('\u{feff}');
        if let Some((key, _, _)) = COLUMNS
            .iter()
            .find(|(k, zh, en)| h == *k || h == *zh || h.eq_ignore_ascii_case(en))
        {
            index.insert(*key, i);
        }
    }
    for (key, zh, en) in COLUMNS {
        if !index.contains_key(key)
            && !matches!(
                *key,
                "main_equipment"
                    | "specification"
                    | "responsible_person"
                    | "location"
                    | "environment"
                    | "cert_expires_on"
            )
        {
            problems.push(problem(
                1,
                key,
                format!("缺少列“{zh}”"),
                format!("Missing column “{en}”"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate().skip(1) {
        let line = i + 1;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let get = |key: &str| {
            index
                .get(key)
                .and_then(|&i| row.get(i))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        let some = |s: String| (!s.is_empty()).then_some(s);
        let kind_text = get("kind");
        let kind = parse_kind(&kind_text);
        if kind.is_none() && !kind_text.is_empty() {
            problems.push(problem(
                line,
                "kind",
                format!(
                    "类别“{kind_text}”无效，应为计量基准、社会公用计量标准或本专业项目的计量标准"
                ),
                format!("Unknown kind “{kind_text}”"),
            ));
        }
        let issuer_name = get("cert_issuer");
        let issuer = issuers.get(&issuer_name).copied();
        if issuer.is_none() {
            problems.push(problem(
                line,
                "cert_issuer",
                format!("发证机关“{issuer_name}”不是已登记的市场监督管理部门"),
                format!("Issuer “{issuer_name}” is not a registered market regulator"),
            ));
        }
        let date = |key: &str, problems: &mut Vec<ImportProblem>| -> Option<NaiveDate> {
            let raw = get(key);
            if raw.is_empty() {
                return None;
            }
            let d = parse_date(&raw);
            if d.is_none() {
                problems.push(problem(
                    line,
                    key,
                    format!("日期“{raw}”无法识别，应为 YYYY-MM-DD"),
                    format!("Date “{raw}” not understood; use YYYY-MM-DD"),
                ));
            }
            d
        };
        let issued = date("cert_issued_on", &mut problems);
        let expires = date("cert_expires_on", &mut problems);
        let input = StandardInput {
            kind: kind.map(|k| k.as_str().to_owned()),
            name: some(get("name")),
            range_text: some(get("range_text")),
            accuracy_text: some(get("accuracy_text")),
            main_equipment: some(get("main_equipment")),
            specification: some(get("specification")),
            responsible_person: some(get("responsible_person")),
            location: some(get("location")),
            environment: some(get("environment")),
            cert_number: some(get("cert_number")),
            cert_issuer_id: issuer.or(Some(Uuid::nil())),
            cert_issued_on: issued,
            cert_expires_on: expires,
            ..StandardInput::default()
        };
        match validate_new(&input) {
            Ok(v) => {
                if existing_certs.contains(&v.cert_number) || !seen.insert(v.cert_number.clone()) {
                    problems.push(problem(
                        line,
                        "cert_number",
                        format!("证书编号“{}”重复", v.cert_number),
                        format!("Certificate number “{}” is a duplicate", v.cert_number),
                    ));
                }
                out.push(v);
            }
            Err(errors) => {
                for e in errors {
                    if e.field == "kind" && !kind_text.is_empty() {
                        continue; // already reported with the value
                    }
                    problems.push(problem(line, &e.field, e.message, e.message_en));
                }
            }
        }
    }
    if out.is_empty() && problems.is_empty() {
        problems.push(problem(
            2,
            "file",
            "文件中没有数据行",
            "The file has no data rows",
        ));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Imports rows into the caller's station in one transaction, or nothing.
pub async fn import(
    conn: &mut PgConnection,
    ctx: &Ctx,
    filename: &str,
    bytes: &[u8],
) -> Result<ImportReport> {
    let station = store::own_station(ctx)?;
    let rows = match read_rows(filename, bytes) {
        Ok(r) => r,
        Err(p) => {
            return Ok(ImportReport {
                imported: 0,
                rows: 0,
                problems: vec![p],
            })
        }
    };
    let issuers: HashMap<String, Uuid> = sqlx::query_as::<_, (String, Uuid)>(
        "select name, organization_id from organization where kind = 'regulator'",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let existing: HashSet<String> = sqlx::query_scalar::<_, String>(
        "select cert_number from measurement_standard where station_id = $1",
    )
    .bind(station)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let data_rows = rows
        .iter()
        .skip(1)
        .filter(|r| r.iter().any(|c| !c.trim().is_empty()))
        .count();
    match check_rows(&rows, &issuers, &existing) {
        Err(problems) => Ok(ImportReport {
            imported: 0,
            rows: data_rows,
            problems,
        }),
        Ok(valid) => {
            let ids = store::standards_insert(conn, station, &valid).await?;
            audit::record(
                conn,
                ctx,
                Event::new("standard.import", "station", station)
                    .after(&json!({ "file": filename, "imported": ids.len(), "first_id": ids.first(), "last_id": ids.last() })),
            )
            .await?;
            Ok(ImportReport {
                imported: ids.len(),
                rows: data_rows,
                problems: Vec::new(),
            })
        }
    }
}

/// A refused import, as documented: the report of every problem by line,
/// or (no file, an unreadable one) the usual error envelope.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ImportRefusal {
    Problems(ImportReport),
    Error(crate::error::ErrorBody),
}

/// Import standards from a CSV or XLSX file (field `file`), all or nothing.
#[utoipa::path(post, path = "/api/v1/standards/import", tag = "standards",
    request_body(content_type = "multipart/form-data", description = "field `file`: .csv (UTF-8) or .xlsx in the template's columns"),
    responses((status = 200, description = "Imported", body = ImportReport),
      (status = 422, description = "Nothing imported: problems by line, or no readable file", body = ImportRefusal),
      (status = 413, body = ErrorBody)))]
pub async fn standards_import(
    State(app): State<AppState>,
    ctx: Ctx,
    crate::web::AppMultipart(multipart): crate::web::AppMultipart,
) -> Result<Response> {
    store::own_station(&ctx)?;
    let (filename, bytes) =
        super::documents::read_file(multipart, app.config.max_upload_bytes).await?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let report = import(&mut tx, &ctx, &filename, &bytes).await?;
    if report.problems.is_empty() {
        tx.commit().await?;
        Ok((StatusCode::OK, AppJson(report)).into_response())
    } else {
        tx.rollback().await?;
        Ok((StatusCode::UNPROCESSABLE_ENTITY, AppJson(report)).into_response())
    }
}

use crate::web::download::{file_response, CSV_TYPE, XLSX_TYPE};

/// CSV with a UTF-8 BOM (so Excel reads Chinese correctly).
fn to_csv(rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    for r in rows {
        w.write_record(r).map_err(anyhow::Error::from)?;
    }
    Ok(w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?)
}

fn to_xlsx(rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet
        .set_name("计量标准")
        .map_err(|e| anyhow::anyhow!("xlsx: {e}"))?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            let res = if r == 0 {
                sheet.write_string_with_format(r as u32, c as u16, value, &bold)
            } else {
                sheet.write_string(r as u32, c as u16, value)
            };
            res.map_err(|e| anyhow::anyhow!("xlsx: {e}"))?;
        }
    }
    for (c, width) in [22, 30, 18, 18, 18, 16, 10, 14, 16, 26, 24, 12, 12]
        .iter()
        .enumerate()
    {
        sheet
            .set_column_width(c as u16, *width)
            .map_err(|e| anyhow::anyhow!("xlsx: {e}"))?;
    }
    Ok(book
        .save_to_buffer()
        .map_err(|e| anyhow::anyhow!("xlsx: {e}"))?)
}

fn header_row() -> Vec<String> {
    COLUMNS.iter().map(|(_, zh, _)| zh.to_string()).collect()
}

/// The import template as CSV (UTF-8 with BOM), with one example row.
#[utoipa::path(get, path = "/api/v1/standards/template.csv", tag = "standards",
    responses((status = 200, description = "CSV template")))]
pub async fn template_csv(_ctx: Ctx) -> Result<Response> {
    let rows = vec![
        header_row(),
        EXAMPLE.iter().map(|s| s.to_string()).collect(),
    ];
    Ok(file_response(
        to_csv(&rows)?,
        CSV_TYPE,
        "计量标准导入模板.csv",
    ))
}

/// The import template as XLSX, with one example row.
#[utoipa::path(get, path = "/api/v1/standards/template.xlsx", tag = "standards",
    responses((status = 200, description = "XLSX template")))]
pub async fn template_xlsx(_ctx: Ctx) -> Result<Response> {
    let rows = vec![
        header_row(),
        EXAMPLE.iter().map(|s| s.to_string()).collect(),
    ];
    Ok(file_response(
        to_xlsx(&rows)?,
        XLSX_TYPE,
        "计量标准导入模板.xlsx",
    ))
}

fn export_header() -> Vec<String> {
    let mut h = vec!["计量站".to_owned()];
    h.extend(header_row());
    h.push("状态".into());
    h.push("下次溯源日期".into());
    h.push("提示".into());
    h
}

fn export_row(s: Standard) -> Vec<String> {
    vec![
        s.station_name,
        s.kind.label(Lang::Zh).into(),
        s.name,
        s.range_text,
        s.accuracy_text,
        s.main_equipment,
        s.specification,
        s.responsible_person,
        s.location,
        s.environment,
        s.cert_number,
        s.cert_issuer_name,
        s.cert_issued_on.to_string(),
        s.cert_expires_on.to_string(),
        s.status.label(Lang::Zh).into(),
        s.traceability_due_on
            .map(|d| d.to_string())
            .unwrap_or_default(),
        s.warnings
            .iter()
            .map(|w| w.message.clone())
            .collect::<Vec<_>>()
            .join("；"),
    ]
}

/// Excel holds at most 32,767 characters in a cell: a longer stored value
/// is cut there with a mark, so that an export never fails on stored data.
fn excel_cell(value: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 32_767;
    if value.chars().count() <= MAX {
        std::borrow::Cow::Borrowed(value)
    } else {
        let mut cut: String = value.chars().take(MAX - 1).collect();
        cut.push('…');
        std::borrow::Cow::Owned(cut)
    }
}

/// Export the visible registry (same filters as the list) as CSV, streamed
/// row by row from the database (memory stays flat for any size).
#[utoipa::path(get, path = "/api/v1/standards/export.csv", tag = "standards",
    params(super::api::StandardQuery), responses((status = 200, description = "CSV")))]
pub async fn export_csv(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<super::api::StandardQuery>,
) -> Result<Response> {
    use futures_util::TryStreamExt;
    let (filter, _) = super::api::parse_standard_query(&q)?;
    let slot = crate::web::bounds::Work::Export.slot().await?;
    // Opened before the answer starts, so that a refusal is still an error.
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (mut sink, res) = crate::web::download::csv_download("计量标准登记.csv");
    tokio::spawn(async move {
        let _slot = slot;
        let result: Result<()> = async {
            sink.row(export_header()).await?;
            let today = crate::web::today();
            let mut qb = store::standards_query(&ctx, &filter);
            let mut rows = qb.build_query_as::<store::StandardRow>().fetch(&mut *tx);
            while let Some(r) = rows.try_next().await? {
                let s = r.into_model(today);
                if filter.warnings_only && s.warnings.is_empty() {
                    continue;
                }
                if !sink.row(export_row(s)).await? {
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

/// Export the visible registry (same filters as the list) as XLSX, written
/// in constant-memory mode (rows go to a temporary file as they come).
#[utoipa::path(get, path = "/api/v1/standards/export.xlsx", tag = "standards",
    params(super::api::StandardQuery), responses((status = 200, description = "XLSX")))]
pub async fn export_xlsx(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<super::api::StandardQuery>,
) -> Result<Response> {
    let (filter, _) = super::api::parse_standard_query(&q)?;
    let _slot = crate::web::bounds::Work::Export.slot().await?;
    let xlsx_err = |e: rust_xlsxwriter::XlsxError| anyhow::anyhow!("xlsx: {e}");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_err)?;
    sheet.set_name("计量标准").map_err(xlsx_err)?;
    for (c, width) in [
        22, 22, 30, 18, 18, 18, 16, 10, 14, 16, 26, 24, 12, 12, 10, 12, 30,
    ]
    .iter()
    .enumerate()
    {
        sheet.set_column_width(c as u16, *width).map_err(xlsx_err)?;
    }
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, value) in export_header().iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, value, &bold)
            .map_err(xlsx_err)?;
    }
    let mut row = 0u32;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    store::standards_each(&mut tx, &ctx, &filter, |s| {
        row += 1;
        for (c, value) in export_row(s).iter().enumerate() {
            sheet
                .write_string(row, c as u16, excel_cell(value))
                .map_err(xlsx_err)?;
        }
        Ok(())
    })
    .await?;
    tx.commit().await?;
    let bytes = tokio::task::spawn_blocking(move || book.save_to_buffer())
        .await
        .map_err(|e| anyhow::anyhow!("xlsx task: {e}"))?
        .map_err(xlsx_err)?;
    Ok(file_response(bytes, XLSX_TYPE, "计量标准登记.xlsx"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuers() -> HashMap<String, Uuid> {
        [("广东省市场监督管理局".to_owned(), Uuid::nil())]
            .into_iter()
            .collect()
    }

    fn rows(data: &[[&str; 13]]) -> Vec<Vec<String>> {
        let mut v = vec![header_row()];
        v.extend(
            data.iter()
                .map(|r| r.iter().map(|s| s.to_string()).collect()),
        );
        v
    }

    #[test]
    fn the_template_example_row_is_valid() {
        let ok = check_rows(&rows(&[EXAMPLE]), &issuers(), &HashSet::new()).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(
            ok[0].cert_expires_on,
            NaiveDate::from_ymd_opt(2028, 2, 29).unwrap()
        );
    }

    #[test]
    fn a_bad_row_is_reported_by_line_and_field_and_nothing_passes() {
        let mut bad = EXAMPLE;
        bad[2] = "很多";
        bad[9] = "X-2";
        let err = check_rows(&rows(&[EXAMPLE, bad]), &issuers(), &HashSet::new()).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].line, 3);
        assert_eq!(err[0].field, "range_text");
    }

    #[test]
    fn duplicate_certificate_numbers_in_one_file_are_refused() {
        let err = check_rows(&rows(&[EXAMPLE, EXAMPLE]), &issuers(), &HashSet::new()).unwrap_err();
        assert_eq!(err[0].field, "cert_number");
        assert_eq!(err[0].line, 3);
    }

    #[test]
    fn an_unknown_issuer_and_a_bad_date_are_named() {
        let mut bad = EXAMPLE;
        bad[10] = "某某局";
        bad[11] = "2024-13-45";
        let err = check_rows(&rows(&[bad]), &issuers(), &HashSet::new()).unwrap_err();
        let fields: Vec<&str> = err.iter().map(|p| p.field.as_str()).collect();
        assert!(
            fields.contains(&"cert_issuer") && fields.contains(&"cert_issued_on"),
            "{fields:?}"
        );
    }

    #[test]
    fn csv_and_xlsx_exports_read_back_as_the_same_rows() {
        let data = rows(&[EXAMPLE]);
        let csv = to_csv(&data).unwrap();
        assert_eq!(read_rows("x.csv", &csv).unwrap(), data);
        let xlsx = to_xlsx(&data).unwrap();
        assert_eq!(read_rows("x.xlsx", &xlsx).unwrap(), data);
    }
}
