//! Work records 证书/报告记录 (R13.1, R16.4–R16.7, R17.3, R19.1): every
//! certificate and report a station issues, checked against the whole
//! chain of authorization, standards and staff on every save and import,
//! flagged (never refused) for a rule, verifiable by the public (R16.5).

pub mod api;
pub mod chain;
pub mod dashboard;
pub mod files;
pub mod import;
pub mod model;
pub mod pages;
pub mod samples;
pub mod store;

use axum::routing::{get, post};
use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// HTML routes.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/records",
            get(pages::records_page).post(pages::record_submit),
        )
        .route("/records/new", get(pages::record_new))
        .route(
            "/records/import",
            get(files::import_page).post(files::import_submit).layer(
                axum::extract::DefaultBodyLimit::max(import::FILE_MAX_BYTES + 64 * 1024),
            ),
        )
        .route("/records/flagged", get(pages::flagged_page))
        .route("/records/stats", get(dashboard::stats_page))
        .route(
            "/records/samples",
            get(samples::samples_show).post(samples::draw_submit),
        )
        .route("/records/samples/{id}", get(samples::sample_show))
        .route("/records/samples/{id}/checks", post(samples::check_submit))
        .route("/records/{id}", get(pages::record_show))
        .route("/records/{id}/void", post(pages::void_submit))
        .route("/records/verify", get(pages::public_page))
}

/// JSON routes, collected into the OpenAPI document.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::records_list, api::record_create))
        .routes(routes!(api::record_check))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(api::records_batch))
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::web::RECORD_BATCH_BYTES,
                )),
        )
        .merge(
            OpenApiRouter::new()
                .routes(routes!(files::records_import))
                .layer(axum::extract::DefaultBodyLimit::max(
                    import::FILE_MAX_BYTES + 64 * 1024,
                )),
        )
        .routes(routes!(files::template_csv))
        .routes(routes!(files::template_xlsx))
        .routes(routes!(files::export_csv))
        .routes(routes!(files::export_xlsx))
        .routes(routes!(api::records_flagged))
        .routes(routes!(api::flagged_reasons))
        .routes(routes!(api::records_stats))
        .routes(routes!(api::record_get))
        .routes(routes!(api::record_void))
        .routes(routes!(api::public_record))
        .routes(routes!(api::sample_create))
        .routes(routes!(api::sample_get))
        .routes(routes!(api::sample_check))
        .routes(routes!(api::case_records, api::case_record_link))
}
