//! Shared application state handed to every handler.

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::Config;

/// The shared state: one reference-counted handle, so that the clone every
/// handler and layer takes per request is one counter, not one per field
/// (issue 14). Fields are read through `Deref` (`state.db`).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] holds.
pub struct Shared {
    /// The pool (connected as the schema owner; requests switch to the app
    /// role in `db::tenant_tx`).
    pub db: PgPool,
    /// Read-only connections for the public pages (`db::connect_public`):
    /// the main database's or a replica's.
    pub public_db: PgPool,
    pub config: Arc<Config>,
    /// The public lookups' log queue and rate limit (issue 14).
    pub lookups: Arc<crate::authorizations::lookups::LookupLog>,
    /// The verification page's authorizations with their row versions.
    pub verify_cache: Arc<crate::authorizations::verify_cache::VerifyCache>,
    /// E-mail of the daily digests (issue 16): SMTP, files, or off.
    pub mail: crate::tasks::mail::Mail,
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
