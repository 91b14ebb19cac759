//! The OpenAPI document's frame; paths come from each feature's
//! `utoipa_axum` router (only `routes!()` handlers appear in the spec).

use utoipa::OpenApi;

/// Title, version and tags of `/api/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "专业计量站管理平台 API / Professional metrology station platform API",
        description = "JSON API of the platform for 《专业计量站管理办法》 (SAMR Order No. 93). \
Sign in with `POST /api/v1/session`; the session cookie it sets authenticates later calls. \
State-changing calls from browsers must be same-origin. Updates take the version read \
(`version` field or `If-Match`). Errors: `{\"error\": {\"code\", \"message\", \"message_en\", \"fields\"}}`.",
    ),
    tags(
        (name = "session", description = "Sign-in, sign-out, the current user"),
        (name = "stations", description = "The station registry (requirements.md §2)"),
        (name = "organizations", description = "Regulators, competent departments, stations (platform operator)"),
        (name = "users", description = "Users and roles"),
        (name = "reference", description = "GB/T 2260 divisions"),
    )
)]
pub struct ApiDoc;
