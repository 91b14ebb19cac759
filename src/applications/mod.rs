//! Establishing a station (Art 6–8): the competent department's application,
//! the Art 7 check on every save, acceptance or one correction notice on the
//! review clock, the assessment with cooperating national stations, the
//! four-eyes decision and the certificate it issues.

pub mod api;
pub mod conditions;
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
            "/applications",
            get(pages::applications_list).post(pages::application_create_submit),
        )
        .route("/applications/new", get(pages::application_new))
        .route("/applications/{id}", get(pages::application_show))
        .route(
            "/applications/{id}/edit",
            get(pages::application_edit).post(pages::application_update_submit),
        )
        .route(
            "/applications/{id}/documents",
            post(pages::document_submit).layer(DefaultBodyLimit::max(upload_limit + 64 * 1024)),
        )
        .route(
            "/applications/{id}/{step}",
            post(pages::application_step_submit),
        )
}

/// JSON routes.
pub fn api(upload_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::applications_list, api::application_create))
        .routes(routes!(api::application_get, api::application_update))
        .routes(routes!(api::application_submit))
        .routes(routes!(api::application_withdraw))
        .routes(routes!(api::application_correction))
        .routes(routes!(api::application_resubmit))
        .routes(routes!(api::application_accept))
        .routes(routes!(api::application_assessment))
        .routes(routes!(api::application_assessment_outcome))
        .routes(routes!(api::application_propose))
        .routes(routes!(api::application_confirm))
        .routes(routes!(api::application_return))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(api::application_document))
                .layer(DefaultBodyLimit::max(upload_limit + 64 * 1024)),
        )
}
