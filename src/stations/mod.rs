//! The station registry: list, detail and the signed-in home page.

pub mod api;
pub mod model;
pub mod pages;
pub mod store;

use axum::routing::get;
use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// HTML routes.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/stations", get(pages::stations_list))
        .route("/stations/{id}", get(pages::station_show))
}

/// JSON routes, collected into the OpenAPI document.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::stations_list))
        .routes(routes!(api::station_get))
}
