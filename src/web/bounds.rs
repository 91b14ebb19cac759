//! Bounds on expensive work (OWASP ASVS 5.0 V2/V6): certificate PDFs,
//! exports and uploads each run at most a few at a time per process, so
//! a burst cannot take the server's memory. A request waits briefly for a
//! slot, then answers 503 with Retry-After. (Password hashing has its own
//! bound in `auth::password`.)

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::AppError;

/// A kind of bounded work.
#[derive(Debug, Clone, Copy)]
pub enum Work {
    /// Typesetting a certificate PDF (typst: tens of MB each).
    Pdf,
    /// Building an export (XLSX in constant-memory mode, or a CSV stream).
    Export,
    /// Reading an uploaded file into memory (up to the upload limit each).
    Upload,
}

impl Work {
    fn slots(self) -> &'static Semaphore {
        static PDF: OnceLock<Semaphore> = OnceLock::new();
        static EXPORT: OnceLock<Semaphore> = OnceLock::new();
        static UPLOAD: OnceLock<Semaphore> = OnceLock::new();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        match self {
            // One at a time: a typst run over the CJK fonts peaks at hundreds of MB.
            Work::Pdf => PDF.get_or_init(|| Semaphore::new(1)),
            Work::Export => EXPORT.get_or_init(|| Semaphore::new(cores.clamp(1, 4))),
            Work::Upload => UPLOAD.get_or_init(|| Semaphore::new(8)),
        }
    }

    /// How long a request waits for a slot before it is told to come back.
    fn wait(self) -> Duration {
        match self {
            Work::Pdf | Work::Export => Duration::from_secs(10),
            Work::Upload => Duration::from_secs(5),
        }
    }

    /// A slot for this kind of work, or 503 after a short wait.
    pub async fn slot(self) -> Result<SemaphorePermit<'static>, AppError> {
        match tokio::time::timeout(self.wait(), self.slots().acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(AppError::Unavailable {
                retry_after_secs: 5,
            }),
        }
    }
}
