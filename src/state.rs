//! Shared application state handed to every handler.

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::Config;

/// The pool (connected as the schema owner; requests switch to the app role
/// in `db::tenant_tx`), the configuration and the public lookups' log.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    /// The public lookups' log queue and rate limit (issue 14).
    pub lookups: Arc<crate::authorizations::lookups::LookupLog>,
}
