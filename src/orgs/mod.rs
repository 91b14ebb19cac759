//! Organizations and users: the platform operator's registry of regulators,
//! competent departments and stations, and each organization's users.

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
        .route(
            "/admin/organizations",
            get(pages::orgs_list).post(pages::org_create),
        )
        .route("/admin/organizations/new", get(pages::org_new))
        .route(
            "/admin/organizations/{id}",
            get(pages::org_edit).post(pages::org_update),
        )
        .route(
            "/admin/users",
            get(pages::users_list).post(pages::user_create),
        )
        .route("/admin/users/new", get(pages::user_new))
        .route(
            "/admin/users/{id}",
            get(pages::user_edit).post(pages::user_update),
        )
}

/// JSON routes, collected into the OpenAPI document.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::organizations_list, api::organization_create))
        .routes(routes!(api::organization_get, api::organization_update))
        .routes(routes!(api::users_list, api::user_create))
        .routes(routes!(api::user_get, api::user_update))
        .routes(routes!(api::divisions_list))
}
