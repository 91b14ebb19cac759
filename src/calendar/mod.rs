//! The official holiday calendar as operated data (R6.4, R18.1): each
//! year's arrangement loaded by the platform operator as a version (page,
//! JSON, `jiliang calendar import|export`), the current calendar used by
//! every workflow at once, and the provisional 暂定 deadlines past the loaded
//! years, recomputed when a year is loaded.

pub mod api;
pub mod model;
pub mod pages;
pub mod store;

use axum::routing::{get, post};
use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// HTML routes.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/admin/calendar", get(pages::overview))
        .route(
            "/admin/calendar/load",
            get(pages::load_form).post(pages::load_back),
        )
        .route("/admin/calendar/preview", post(pages::preview))
        .route("/admin/calendar/import", post(pages::import))
        .route("/admin/calendar/{year}", get(pages::year))
}

/// JSON routes, collected into the OpenAPI document.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::calendar_overview))
        .routes(routes!(api::calendar_export))
        .routes(routes!(api::calendar_preview))
        .routes(routes!(api::calendar_import))
        .routes(routes!(api::calendar_year))
}
