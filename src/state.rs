//! Shared application state handed to every handler.

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::Config;

/// The pool (connected as the schema owner; requests switch to the app role
/// in `db::tenant_tx`) and the configuration.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
}
