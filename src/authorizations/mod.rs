//! Authorizations and their certificates (R8.4, R13.1), and the public side
//! that needs no sign-in: the verification page behind the certificate's QR
//! code and the directory of authorized stations (R8.5, requirements.md §4).
//! The application workflow that issues them (Art 6–8) is still to come.

pub mod lookups;
pub mod public;
pub mod store;
pub mod verify_cache;

use axum::routing::get;
use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// HTML routes (public).
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/directory", get(public::directory_page))
        .route(
            "/authorizations/{id}/certificate",
            get(public::certificate_page),
        )
}

/// The verification page behind the certificate's QR code (public). It
/// is served outside the session, sign-in, CSRF and run-to-completion
/// layers (`startup::router`): it reads no session, takes no form and runs
/// single statements on the read-only pool, and at national scale those
/// layers cost more than the lookup itself (issue 14).
pub fn lookup_pages() -> Router<AppState> {
    Router::new().route("/verify/{token}", get(public::verify_page))
}

/// JSON routes.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public::authorizations_list))
        .routes(routes!(public::certificate_pdf))
        .routes(routes!(public::authorization_conditions))
        .routes(routes!(public::verify_json))
        .routes(routes!(public::directory_json))
}
