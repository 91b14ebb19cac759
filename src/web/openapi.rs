//! The OpenAPI document's frame; paths come from each feature's
//! `utoipa_axum` router (only `routes!()` handlers appear in the spec).

use utoipa::OpenApi;

/// Title, version and tags of `/api/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "专业计量站管理平台 API / Professional metrology station platform API",
        description = "[← 返回平台 / Back to the platform](/)\n\n\
JSON API of the platform for 《专业计量站管理办法》 (SAMR Order No. 93). \
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
        (name = "comparisons", description = "Comparisons 计量比对 among stations: sealed results, reference value, En, reports (R9.2)"),
        (name = "risks", description = "Risk reports of stations, triage, warnings 预警 and acknowledgements (R10.1)"),
        (name = "calendar", description = "The official holiday calendar: years held, versions, import (platform operator), export (R6.4, R18.1)"),
    )
)]
pub struct ApiDoc;

/// The error answers every operation may give, added to the assembled
/// document in one place (per-operation annotations keep their own, more
/// specific descriptions): all in the [`ErrorBody`](crate::error::ErrorBody) envelope.
///
/// - 400: a malformed body or query (operations with either);
/// - 401: not signed in (all but sign-in and the public pages);
/// - 403: not the caller's to do, or a cross-site state change (CSRF);
/// - 404: a path id, or an id in the body, that does not exist or is not visible;
/// - 413, 415: a body too large or of another content type;
/// - 422: a body or query that does not validate;
/// - 429: sign-in throttling and the public pages' rate limit;
/// - 503: the database does not answer.
pub fn add_standard_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{Operation, ParameterIn};
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    fn error(status: &str) -> RefOr<utoipa::openapi::Response> {
        let text = match status {
            "400" => "Malformed request (body or query)",
            "401" => "Not signed in",
            "403" => "Forbidden (role, organization, or a cross-site request)",
            "404" => "Not found, or not visible to the caller",
            "409" => "Conflict with the record's state or version",
            "413" => "Request body too large",
            "415" => "Unsupported content type",
            "422" => "Invalid input",
            "429" => "Too many requests",
            _ => "Service unavailable (the database does not answer)",
        };
        RefOr::T(
            ResponseBuilder::new()
                .description(text)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    }

    for (path, item) in doc.paths.paths.iter_mut() {
        let ops: [(&str, Option<&mut Operation>); 5] = [
            ("get", item.get.as_mut()),
            ("put", item.put.as_mut()),
            ("post", item.post.as_mut()),
            ("delete", item.delete.as_mut()),
            ("patch", item.patch.as_mut()),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let public = op
                .tags
                .as_ref()
                .is_some_and(|t| t.iter().any(|t| t == "public"))
                || (path == "/api/v1/session" && method == "post");
            let params = op.parameters.as_deref().unwrap_or_default();
            let has_in = |place: ParameterIn| {
                params
                    .iter()
                    .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place))
            };
            let body = op.request_body.is_some();
            let query = has_in(ParameterIn::Query);
            let path_id = has_in(ParameterIn::Path);
            let mut add = Vec::new();
            if body || query {
                add.extend(["400", "422"]);
            }
            if !public {
                add.push("401");
            }
            if !public || method != "get" {
                add.push("403");
            }
            // A path id, or an id in the body, that does not exist or is not visible.
            if path_id || body {
                add.push("404");
            }
            if body {
                add.extend(["413", "415"]);
            }
            if public {
                add.push("429");
            }
            add.push("503");
            for status in add {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(status));
            }
        }
    }
}

/// The input of a step that takes nothing but the version read (accept,
/// confirm, approve, close, …); anything else in the body is refused.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionInput {
    /// The record's version as read (required; a stale one is refused with 409).
    pub version: Option<i32>,
}

/// One workflow step's own JSON input: `version` plus exactly the fields
/// that step reads, under its own schema name, so the OpenAPI document
/// tells a client what each step takes and a field of another step is
/// refused (422), not silently ignored. It converts into the module's
/// combined step input, which the store and the pages share.
///
/// ```text
/// step_input!(
///     /// Station: the rectification report (R18.3).
///     OrderReportInput => StepInput { report: Option<String> }
/// );
/// ```
#[macro_export]
macro_rules! step_input {
    // A module's combined input made from a bare `VersionInput`.
    (VersionInput => $target:ty) => {
        impl From<$crate::web::openapi::VersionInput> for $target {
            fn from(input: $crate::web::openapi::VersionInput) -> Self {
                Self { version: input.version, ..Default::default() }
            }
        }
    };
    ($(#[$meta:meta])* $name:ident => $target:ty { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The record's version as read (required; a stale one is refused with 409).
            pub version: Option<i32>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }
        impl From<$name> for $target {
            fn from(input: $name) -> Self {
                Self { version: input.version, $($field: input.$field,)* ..Default::default() }
            }
        }
    };
}
