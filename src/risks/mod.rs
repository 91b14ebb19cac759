//! Risk reports and warnings 预警 (Art 10; R10.1): a station files a risk
//! report (field, severity, description, affected items, documents) to its
//! authorizing regulator, which triages it (received → under assessment →
//! dismissed with reasons, or confirmed); a confirmed risk may become a
//! warning with text, severity, validity and recipients (stations and
//! competent departments it supervises, by field and region), who see it
//! on their task list until they acknowledge it; the regulator sees who did.

pub mod api;
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
            "/risks/{id}/documents",
            post(pages::document_submit).layer(DefaultBodyLimit::max(upload_limit + 64 * 1024)),
        )
        .route(
            "/risks",
            get(pages::reports_show).post(pages::report_submit),
        )
        .route("/risks/{id}", get(pages::report_show))
        .route("/risks/{id}/{step}", post(pages::report_step_submit))
        .route(
            "/warnings",
            get(pages::warnings_show).post(pages::warning_submit),
        )
        .route("/warnings/new", get(pages::warning_new_show))
        .route("/warnings/{id}", get(pages::warning_show))
        .route(
            "/warnings/{id}/acknowledge",
            post(pages::acknowledge_submit),
        )
}

/// JSON routes.
pub fn api(upload_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(api::report_document))
                .layer(DefaultBodyLimit::max(upload_limit + 64 * 1024)),
        )
        .routes(routes!(api::reports_list, api::report_create))
        .routes(routes!(api::report_get))
        .routes(routes!(api::report_step))
        .routes(routes!(api::warnings_list, api::warning_publish))
        .routes(routes!(api::warning_get))
        .routes(routes!(api::warning_recipients))
        .routes(routes!(api::warning_acknowledge))
        .routes(routes!(api::warning_audience))
}
