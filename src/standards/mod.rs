//! Measurement standards and staff qualifications (R9.1, R12.1–R12.4,
//! R16.1–R16.4, R16.6): registries whose protected state changes only by an
//! approved change request.

pub mod api;
pub mod documents;
pub mod import;
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
            "/standards",
            get(pages::standards_list).post(pages::standard_create),
        )
        .route("/standards/new", get(pages::standard_new))
        .route(
            "/standards/import",
            get(pages::import_page)
                .post(pages::import_submit)
                .layer(DefaultBodyLimit::max(upload_limit + 64 * 1024)),
        )
        .route("/standards/{id}", get(pages::standard_show))
        .route(
            "/standards/{id}/traceability",
            post(pages::traceability_submit),
        )
        .route(
            "/standards/{id}/documents",
            post(pages::document_submit).layer(DefaultBodyLimit::max(upload_limit + 64 * 1024)),
        )
        .route(
            "/standards/{id}/change",
            get(pages::change_new).post(pages::change_create),
        )
        .route("/change-requests", get(pages::changes_list))
        .route("/change-requests/{id}", get(pages::change_show))
        .route(
            "/change-requests/{id}/{step}",
            post(pages::change_step_submit),
        )
        .route("/staff", get(pages::staff_page).post(pages::staff_submit))
}

/// JSON routes, collected into the OpenAPI document.
pub fn api(upload_limit: usize) -> OpenApiRouter<AppState> {
    let limit = DefaultBodyLimit::max(upload_limit + 64 * 1024);
    OpenApiRouter::new()
        .routes(routes!(api::standards_list, api::standard_create))
        .routes(routes!(api::standard_get, api::standard_update))
        .routes(routes!(api::standard_transfer))
        .routes(routes!(api::standard_loan))
        .routes(routes!(api::standard_lease))
        .routes(routes!(api::traceability_create))
        .routes(routes!(api::change_request_create))
        .routes(routes!(api::change_requests_list))
        .routes(routes!(api::change_request_get))
        .routes(routes!(api::change_request_submit))
        .routes(routes!(api::change_request_withdraw))
        .routes(routes!(api::change_request_propose))
        .routes(routes!(api::change_request_confirm))
        .routes(routes!(api::change_request_send_back))
        .routes(routes!(api::staff_list, api::staff_create))
        .routes(routes!(api::qualification_create))
        .routes(routes!(documents::document_download))
        .routes(routes!(import::template_csv))
        .routes(routes!(import::template_xlsx))
        .routes(routes!(import::export_csv))
        .routes(routes!(import::export_xlsx))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(documents::standard_document_upload))
                .routes(routes!(import::standards_import))
                .layer(limit),
        )
}
