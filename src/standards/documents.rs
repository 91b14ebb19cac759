//! Uploaded documents (requirements.md §4): the type is sniffed from the
//! content and must match the file name; size is limited; SHA-256 is kept.
//! Files live in PostgreSQL (architecture.md §1), read through RLS.

use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{self, Event};
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, Result};
use crate::state::AppState;
use crate::web::{parse_id, AppJson};

/// A stored document's metadata.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct DocumentInfo {
    pub id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The declared type (application documents, R6.3), if any.
    pub doc_type: Option<String>,
}

/// Documents attached to a record.
pub async fn list(
    conn: &mut PgConnection,
    owner_type: &str,
    owner_id: Uuid,
) -> Result<Vec<DocumentInfo>> {
    Ok(sqlx::query_as(
        "select document_id as id, filename, content_type, size_bytes, sha256, created_at, doc_type from document
          where owner_type = $1 and owner_id = $2 order by created_at",
    )
    .bind(owner_type)
    .bind(owner_id)
    .fetch_all(conn)
    .await?)
}

/// The content type of an accepted upload: sniffed from the bytes, and the
/// file name's extension must say the same. PDF, PNG and JPEG only.
pub fn sniff(filename: &str, bytes: &[u8]) -> Result<&'static str> {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let claimed = match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        _ => {
            return Err(AppError::field(
                "file",
                "unsupported_type",
                "仅接受 PDF、PNG、JPEG 文件（扩展名 .pdf .png .jpg）",
                "Only PDF, PNG and JPEG files are accepted (.pdf .png .jpg)",
            ))
        }
    };
    let actual = infer::get(bytes).map(|k| k.mime_type());
    match actual {
        Some(a) if a == claimed => Ok(claimed),
        other => Err(AppError::field(
            "file",
            "content_mismatch",
            format!(
                "文件“{filename}”的内容{}，与其扩展名不符，已拒收",
                other
                    .map(|o| format!("为 {o}"))
                    .unwrap_or_else(|| "无法识别".into())
            ),
            format!(
                "The content of “{filename}” is {}, not what its name says; refused",
                other.unwrap_or("unrecognized")
            ),
        )),
    }
}

/// Reads the `file` field of a multipart body within `limit` bytes.
pub async fn read_file(mut multipart: Multipart, limit: usize) -> Result<(String, Bytes)> {
    let too_big = || {
        let mb = limit as f64 / (1024.0 * 1024.0);
        AppError::UploadTooLarge(crate::error::FieldError::new(
            "file",
            "too_large",
            format!("文件超过 {mb:.0} MB 的上限"),
            format!("The file exceeds the {mb:.0} MB limit"),
        ))
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => {
                return Err(AppError::field(
                    "file",
                    "required",
                    "请选择要上传的文件",
                    "Choose a file to upload",
                ))
            }
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
            Err(e) => {
                return Err(AppError::bad_request(
                    "bad_multipart",
                    format!("上传内容无法读取：{e}"),
                    format!("Unreadable upload: {e}"),
                ))
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("upload").to_owned();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
            Err(e) => {
                return Err(AppError::bad_request(
                    "bad_multipart",
                    format!("上传内容无法读取：{e}"),
                    format!("Unreadable upload: {e}"),
                ))
            }
        };
        if bytes.len() > limit {
            return Err(too_big());
        }
        if bytes.is_empty() {
            return Err(AppError::field(
                "file",
                "empty",
                "文件为空",
                "The file is empty",
            ));
        }
        return Ok((filename, bytes));
    }
}

/// Attach a PDF or image to a standard of the caller's station.
#[utoipa::path(post, path = "/api/v1/standards/{id}/documents", tag = "standards",
    params(("id" = Uuid, Path)),
    request_body(content_type = "multipart/form-data", description = "field `file`: PDF, PNG or JPEG"),
    responses((status = 201, body = DocumentInfo), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn standard_document_upload(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    crate::web::AppMultipart(multipart): crate::web::AppMultipart,
) -> Result<(StatusCode, AppJson<DocumentInfo>)> {
    let id = parse_id(&id)?;
    let (filename, bytes) = read_file(multipart, app.config.max_upload_bytes).await?;
    let doc = store_document(&app, &ctx, "standard", id, &filename, &bytes).await?;
    Ok((StatusCode::CREATED, AppJson(doc)))
}

/// Inserts a sniffed document in the caller's transaction, audited.
#[allow(clippy::too_many_arguments)]
pub async fn insert_document(
    conn: &mut PgConnection,
    ctx: &Ctx,
    station_id: Uuid,
    owner_type: &str,
    owner_id: Uuid,
    doc_type: Option<&str>,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> Result<DocumentInfo> {
    let clean_name: String = filename
        .chars()
        .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
        .take(200)
        .collect();
    let id = Uuid::now_v7();
    let info: DocumentInfo = sqlx::query_as(
        "insert into document (document_id, station_id, owner_type, owner_id, doc_type, filename, content_type,
           size_bytes, sha256, content, uploaded_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         returning document_id as id, filename, content_type, size_bytes, sha256, created_at, doc_type",
    )
    .bind(id)
    .bind(station_id)
    .bind(owner_type)
    .bind(owner_id)
    .bind(doc_type)
    .bind(&clean_name)
    .bind(content_type)
    .bind(bytes.len() as i64)
    .bind(hex::encode(Sha256::digest(bytes)))
    .bind(bytes)
    .bind(ctx.user_id)
    .fetch_one(&mut *conn)
    .await?;
    audit::record(
        conn,
        ctx,
        Event::new("document.upload", "document", id).after(&info),
    )
    .await?;
    Ok(info)
}

/// Stores a document for a record of the caller's station, audited.
pub async fn store_document(
    app: &AppState,
    ctx: &Ctx,
    owner_type: &str,
    owner_id: Uuid,
    filename: &str,
    bytes: &[u8],
) -> Result<DocumentInfo> {
    let content_type = sniff(filename, bytes)?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let standard = super::store::standard_get(&mut tx, ctx, owner_id).await?;
    if standard.station_id != super::store::own_station(ctx)? {
        return Err(AppError::NotFound);
    }
    let id = Uuid::now_v7();
    let clean_name: String = filename
        .chars()
        .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
        .take(200)
        .collect();
    let info: DocumentInfo = sqlx::query_as(
        "insert into document (document_id, station_id, owner_type, owner_id, filename, content_type,
           size_bytes, sha256, content, uploaded_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         returning document_id as id, filename, content_type, size_bytes, sha256, created_at, doc_type",
    )
    .bind(id)
    .bind(standard.station_id)
    .bind(owner_type)
    .bind(owner_id)
    .bind(&clean_name)
    .bind(content_type)
    .bind(bytes.len() as i64)
    .bind(&sha256)
    .bind(bytes)
    .bind(ctx.user_id)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        ctx,
        Event::new("document.upload", "document", id).after(&info),
    )
    .await?;
    tx.commit().await?;
    Ok(info)
}

/// Download a document the caller may see.
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "standards",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "The file"), (status = 404, body = ErrorBody)))]
pub async fn document_download(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(
        // A document is readable exactly when its owning record is (the
        // owner tables' row policies apply inside; the same as document_read).
        "select filename, content_type, content from document d
          where d.document_id = $1
            and case d.owner_type
              when 'standard' then exists (
                select 1 from measurement_standard s where s.standard_id = d.owner_id)
              when 'traceability_record' then exists (
                select 1 from traceability_record t where t.traceability_record_id = d.owner_id)
              when 'qualification' then exists (
                select 1 from qualification q where q.qualification_id = d.owner_id)
              when 'change_request' then exists (
                select 1 from standard_change_request r where r.change_request_id = d.owner_id)
              when 'application' then exists (
                select 1 from application a where a.application_id = d.owner_id)
              when 'inspection' then exists (
                select 1 from inspection i where i.inspection_id = d.owner_id)
              when 'rectification_order' then exists (
                select 1 from rectification_order o where o.order_id = d.owner_id)
              when 'violation_case' then exists (
                select 1 from violation_case c where c.case_id = d.owner_id
                   and c.regulator_id = $2)
              when 'comparison' then exists (
                select 1 from comparison c where c.comparison_id = d.owner_id)
              when 'comparison_result' then exists (
                select 1 from comparison_result r where r.result_id = d.owner_id)
              when 'risk_report' then exists (
                select 1 from risk_report r where r.risk_report_id = d.owner_id)
              else false
            end",
    )
    .bind(id)
    .bind(ctx.org_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let (filename, content_type, content) = row.ok_or(AppError::NotFound)?;
    let mut res = content.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).map_err(anyhow::Error::from)?,
    );
    let disposition = format!(
        "attachment; filename*=UTF-8''{}",
        crate::web::url_encode(&filename).replace('+', "%20")
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R',
    ];

    #[test]
    fn a_pdf_named_pdf_is_accepted() {
        assert_eq!(sniff("证书.pdf", PDF).unwrap(), "application/pdf");
        assert_eq!(sniff("scan.PNG", PNG).unwrap(), "image/png");
    }

    #[test]
    fn content_that_is_not_what_the_name_says_is_refused() {
        let err = sniff("certificate.pdf", PNG).unwrap_err();
        let AppError::Validation(f) = err else {
            panic!("a field error")
        };
        assert_eq!(f[0].code, "content_mismatch");
        assert!(sniff("notes.pdf", b"just some text").is_err());
    }

    #[test]
    fn other_types_are_refused_by_name() {
        assert!(sniff("macro.docm", PDF).is_err());
        assert!(sniff("noextension", PDF).is_err());
    }
}
