//! Supervision (Art 17–19): inspections with the random draw (R17.1–R17.4),
//! rectification orders (R18.1–R18.3), violation cases and referrals
//! (R19.1, R19.2), and the public list of random inspection results.

pub mod api;
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
    let evidence =
        post(pages::evidence_submit).layer(DefaultBodyLimit::max(upload_limit + 64 * 1024));
    Router::new()
        .route("/inspections/{id}/documents", evidence.clone())
        .route("/rectification-orders/{id}/documents", evidence.clone())
        .route("/cases/{id}/documents", evidence)
        .route(
            "/inspections",
            get(pages::inspections_list).post(pages::inspections_plan_submit),
        )
        .route("/inspections/{id}", get(pages::inspection_show))
        .route(
            "/inspections/{id}/record",
            post(pages::inspection_record_submit),
        )
        .route(
            "/inspections/{id}/{step}",
            post(pages::inspection_step_submit),
        )
        .route("/inspection-draws/{id}", get(pages::draw_show))
        .route("/rectification-orders", get(pages::orders_list))
        .route("/rectification-orders/{id}", get(pages::order_show))
        .route(
            "/rectification-orders/{id}/{step}",
            post(pages::order_step_submit),
        )
        .route("/cases", get(pages::cases_list).post(pages::cases_submit))
        .route("/cases/{id}", get(pages::case_show))
        .route("/cases/{id}/records", post(pages::case_record_submit))
        .route("/cases/{id}/{step}", post(pages::case_step_submit))
        .route("/inspection-results", get(pages::public_inspections))
}

/// JSON routes.
pub fn api(upload_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(api::inspection_document))
                .routes(routes!(api::order_document))
                .routes(routes!(api::case_document))
                .layer(DefaultBodyLimit::max(upload_limit + 64 * 1024)),
        )
        .routes(routes!(api::inspections_list, api::inspection_plan))
        .routes(routes!(api::inspectable_stations))
        .routes(routes!(api::inspection_get))
        .routes(routes!(api::inspection_record))
        .routes(routes!(api::inspection_approve))
        .routes(routes!(api::inspection_return))
        .routes(routes!(api::inspection_cancel))
        .routes(routes!(api::inspection_publish))
        .routes(routes!(api::draw_create))
        .routes(routes!(api::draw_rerun))
        .routes(routes!(api::order_issue))
        .routes(routes!(api::orders_list))
        .routes(routes!(api::order_get))
        .routes(routes!(api::order_report))
        .routes(routes!(api::order_accept))
        .routes(routes!(api::order_close))
        .routes(routes!(api::order_reject))
        .routes(routes!(api::order_extend))
        .routes(routes!(api::cases_list, api::case_create))
        .routes(routes!(api::case_get))
        .routes(routes!(api::case_propose))
        .routes(routes!(api::case_decide))
        .routes(routes!(api::case_withdraw))
        .routes(routes!(api::referrals_list, api::referral_create))
        .routes(routes!(api::public_inspections))
}
