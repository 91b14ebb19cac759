//! Station lifecycle (Art 11, 13, 14, 15): head appointments (R11.1),
//! adjustments with authorization versions (R13.2), re-examinations
//! (R14.1, R14.2) and terminations with the daily job (R15.1, R15.2).

pub mod api;
pub mod job;
pub mod model;
pub mod pages;
pub mod store;
pub mod versions;

use axum::routing::{get, post};
use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// HTML routes.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/requests", get(pages::requests_list))
        .route(
            "/requests/new/{kind}",
            get(pages::request_new).post(pages::request_create_submit),
        )
        .route("/requests/{id}", get(pages::request_show))
        .route(
            "/requests/{id}/edit",
            get(pages::request_edit).post(pages::request_update_submit),
        )
        .route("/requests/{id}/{step}", post(pages::request_step_submit))
        .route("/authorizations/{id}/versions", get(pages::versions_page))
}

/// JSON routes.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::requests_list))
        .routes(routes!(api::requests_counts))
        .routes(routes!(api::request_get, api::request_update))
        .routes(routes!(api::head_appointment_create))
        .routes(routes!(api::adjustment_create))
        .routes(routes!(api::termination_create))
        .routes(routes!(api::reexamination_create))
        .routes(routes!(api::reexaminations_due))
        .routes(routes!(api::request_submit))
        .routes(routes!(api::request_withdraw))
        .routes(routes!(api::request_assessment))
        .routes(routes!(api::request_propose))
        .routes(routes!(api::request_return))
        .routes(routes!(api::request_confirm))
        .routes(routes!(api::request_record))
        .routes(routes!(api::request_acknowledge))
        .routes(routes!(api::versions_list))
        .routes(routes!(api::versions_diff))
        .routes(routes!(api::station_heads))
}
