//! Comparisons 计量比对 among stations (Art 3, 9; R9.2): a national head
//! station, SAMR or a provincial regulator opens one with the participants
//! (stations holding a matching authorized item), each participant submits
//! a value with its expanded uncertainty, sealed by row policies until the
//! organizer closes submission; the organizer sets the reference value, En
//! is computed by the pure rule (`rules::comparison`), Draft A goes to the
//! participants and the final report to them and their authorizing
//! regulators, with a chart; an unsatisfactory result goes on the
//! participant's and its regulator's task lists.

pub mod api;
pub mod chart;
pub mod model;
pub mod pages;
pub mod store;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// HTML routes.
pub fn pages(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/comparisons/{id}/documents",
            post(pages::document_submit).layer(DefaultBodyLimit::max(upload_limit + 64 * 1024)),
        )
        .route(
            "/comparisons",
            get(pages::list_show).post(pages::new_submit),
        )
        .route("/comparisons/new", get(pages::new_show))
        .route("/comparisons/{id}", get(pages::show))
        .route("/comparisons/{id}/{step}", post(pages::step_submit))
}

/// JSON routes.
pub fn api(upload_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(api::comparison_document))
                .layer(DefaultBodyLimit::max(upload_limit + 64 * 1024)),
        )
        .routes(routes!(api::comparisons_list, api::comparison_create))
        .routes(routes!(api::comparison_get))
        .routes(routes!(api::comparison_step))
        .routes(routes!(api::comparison_chart))
        .routes(routes!(api::candidates))
}
