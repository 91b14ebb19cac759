//! Files as answers: the attachment headers, and a CSV streamed from the
//! database in chunks (memory stays flat for any number of rows). Shared
//! by the exports of standards and of work records.

use axum::body::Bytes;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::error::Result;

pub const CSV_TYPE: &str = "text/csv; charset=utf-8";
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Marks `res` as a download of `filename` (ASCII fallback and RFC 5987 name).
pub fn set_attachment(res: &mut Response, content_type: &'static str, filename: &str) {
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        filename.replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-',
            "_"
        ),
        super::url_encode(filename).replace('+', "%20")
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
}

/// Bytes as a download.
pub fn file_response(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut res = bytes.into_response();
    set_attachment(&mut res, content_type, filename);
    res
}

/// Appends one CSV record to `buf`.
pub fn csv_line<S: AsRef<[u8]>>(buf: &mut Vec<u8>, row: impl IntoIterator<Item = S>) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1024)
        .from_writer(buf);
    w.write_record(row).map_err(anyhow::Error::from)?;
    w.flush().map_err(anyhow::Error::from)?;
    Ok(())
}

/// The writing end of a streamed CSV download (UTF-8 with a BOM, for Excel).
pub struct CsvSink {
    buf: Vec<u8>,
    out: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
}

/// A CSV download of `filename` whose rows a task writes into the sink
/// while the answer is already on its way.
pub fn csv_download(filename: &str) -> (CsvSink, Response) {
    let (out, body) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    let stream = futures_util::stream::unfold(body, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut res = axum::body::Body::from_stream(stream).into_response();
    set_attachment(&mut res, CSV_TYPE, filename);
    (
        CsvSink {
            buf: vec![0xEF, 0xBB, 0xBF],
            out,
        },
        res,
    )
}

impl CsvSink {
    /// Writes a record; `false` once the client has gone away (stop then).
    pub async fn row<S: AsRef<[u8]>>(
        &mut self,
        cells: impl IntoIterator<Item = S>,
    ) -> Result<bool> {
        csv_line(&mut self.buf, cells)?;
        if self.buf.len() >= 64 * 1024 {
            let chunk = std::mem::take(&mut self.buf);
            return Ok(self.out.send(Ok(chunk.into())).await.is_ok());
        }
        Ok(true)
    }

    /// Ends the download: the rest on success; on a failure the error is
    /// logged and the download is cut (the client sees it incomplete).
    pub async fn end(mut self, result: Result<()>) {
        match result {
            Ok(()) => {
                let rest = std::mem::take(&mut self.buf);
                let _ = self.out.send(Ok(rest.into())).await;
            }
            Err(e) => {
                e.log();
                let _ = self
                    .out
                    .send(Err(std::io::Error::other("export interrupted")))
                    .await;
            }
        }
    }
}
