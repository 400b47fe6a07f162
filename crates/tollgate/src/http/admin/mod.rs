//! The admin API under `/admin/v1`: JSON, bearer-authorized with `tollgate:admin`, errors as
//! RFC 9457 problem details, described by an OpenAPI 3.1 document generated from this code.

// A `Problem` is built at most once per failed request; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

pub mod admins;
pub mod api_types;
pub mod apis;
pub mod audit;
pub mod auth;
pub mod clients;
mod docs;
pub mod export;
pub mod extract;
pub mod keys;
pub mod leaked;
pub mod problem;
pub mod requests;
pub mod secrets;
pub mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityRequirement,
    SecurityScheme,
};
use utoipa::{Modify, OpenApi};

use crate::domain::scope::{
    ADMIN_SCOPE, APIS_READ_SCOPE, APIS_WRITE_SCOPE, AUDIT_READ_SCOPE, CLIENTS_READ_SCOPE,
    CLIENTS_WRITE_SCOPE, KEYS_READ_SCOPE, KEYS_WRITE_SCOPE,
};
use crate::http::AppState;

/// Largest admin request body.
pub const MAX_BODY: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clients", post(clients::create).get(clients::list))
        .route(
            "/clients/{client_id}",
            get(clients::get)
                .patch(clients::update)
                .delete(clients::delete),
        )
        .route("/clients/{client_id}/secrets", post(secrets::add_secret))
        .route(
            "/clients/{client_id}/secrets/{secret_id}",
            delete(secrets::remove_secret),
        )
        .route("/apis", post(apis::create).get(apis::list))
        .route(
            "/apis/{api_id}",
            get(apis::get).patch(apis::update).delete(apis::delete),
        )
        .route("/secrets/leaked", post(leaked::report))
        .route("/keys", get(keys::list))
        .route("/keys/rotate", post(keys::rotate))
        .route("/audit", get(audit::list))
        .route("/admins", post(admins::invite).get(admins::list))
        .route(
            "/admins/{admin_id}",
            get(admins::get)
                .patch(admins::update)
                .delete(admins::delete),
        )
        .route("/openapi.json", get(openapi_json))
        .merge(docs::routes())
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Tollgate admin API",
        description = "Manage the API clients and the API catalogue of a Tollgate \
            authorization server. Every operation needs `Authorization: Bearer <token>` with a \
            token from Tollgate's own token endpoint carrying the scope the operation names \
            (`tollgate:clients:read`, `tollgate:apis:write`, ...) or `tollgate:admin`, which \
            allows every operation. A person signed in to the console may call the same \
            operations with their session cookie instead: their role grants the permissions \
            (owner: `tollgate:admin`; manager: clients and APIs read and write, keys and audit \
            read; viewer: read only), and a state-changing call carries the session's \
            `X-CSRF-Token`. Errors are RFC 9457 problem details (`application/problem+json`).",
    ),
    servers((url = "/admin/v1")),
    paths(
        clients::create,
        clients::list,
        clients::get,
        clients::update,
        clients::delete,
        apis::create,
        apis::list,
        apis::get,
        apis::update,
        apis::delete,
        secrets::add_secret,
        secrets::remove_secret,
        leaked::report,
        keys::list,
        keys::rotate,
        audit::list,
        admins::list,
        admins::invite,
        admins::get,
        admins::update,
        admins::delete,
    ),
    modifiers(&BearerScheme, &CommonResponses, &UniqueOperationIds),
    tags(
        (name = "clients", description = "API clients"),
        (name = "apis", description = "The catalogue: APIs and the permissions clients are given on them"),
        (name = "secrets", description = "Client secrets: rotation without downtime, leaked secrets"),
        (name = "keys", description = "Token signing keys and their rotation"),
        (name = "audit", description = "Who did what, and when"),
        (name = "admins", description = "The people who administer Tollgate in the console, and their roles"),
    )
)]
pub struct AdminApi;

#[derive(Debug)]
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from this server's token endpoint with the scope the \
                         operation names, or `tollgate:admin`",
                    ))
                    .build(),
            ),
        );
        // The same tokens, described as what they are: client credentials grants at this
        // server's token endpoint. The API reference page's "Authorize" dialog uses it.
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    crate::http::oauth::TOKEN_PATH,
                    Scopes::from_iter(ADMIN_SCOPES.map(|(s, d)| (s.to_owned(), d.to_owned()))),
                ))],
                "An API client's id and secret traded at this server's token endpoint \
                 (client credentials grant, RFC 6749 §4.4) for a token with the operation's scope",
            )),
        );
        for operation in operations_mut(openapi) {
            let Some(requirements) = operation.security.as_mut() else {
                continue;
            };
            let alternatives: Vec<SecurityRequirement> = requirements
                .iter()
                .filter_map(|r| serde_json::to_value(r).ok())
                .filter_map(|v| {
                    serde_json::from_value::<Vec<String>>(v.get("bearer")?.clone()).ok()
                })
                .map(|scopes| SecurityRequirement::new("oauth2", scopes))
                .collect();
            requirements.extend(alternatives);
        }
    }
}

/// OpenAPI wants every `operationId` unique (§4.8.10); the handlers' names (`list`, `get`, ...)
/// repeat across tags, so each becomes `<tag>_<name>` (`clients_list`, `admins_get`).
#[derive(Debug)]
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for operation in operations_mut(openapi) {
            let tag = operation.tags.as_ref().and_then(|t| t.first()).cloned();
            if let (Some(tag), Some(id)) = (tag, operation.operation_id.as_mut())
                && !id.starts_with(&format!("{tag}_"))
            {
                *id = format!("{tag}_{id}");
            }
        }
    }
}

/// Every operation of the document, for the modifiers that touch each one.
fn operations_mut(
    openapi: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

/// The admin API's scopes, for the OAuth 2.0 security scheme.
const ADMIN_SCOPES: [(&str, &str); 8] = [
    (ADMIN_SCOPE, "Every admin operation"),
    (CLIENTS_READ_SCOPE, "Read API clients"),
    (
        CLIENTS_WRITE_SCOPE,
        "Create, change and delete API clients and their secrets",
    ),
    (APIS_READ_SCOPE, "Read the API catalogue"),
    (APIS_WRITE_SCOPE, "Change the API catalogue"),
    (KEYS_READ_SCOPE, "Read the signing keys"),
    (KEYS_WRITE_SCOPE, "Rotate the signing keys"),
    (AUDIT_READ_SCOPE, "Read the audit trail"),
];

/// Answers every operation can give, whatever it does: listed once here rather than on each.
#[derive(Debug)]
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let common = [
            (
                "401",
                "No bearer token, or one that is invalid or expired (with `WWW-Authenticate`, \
                 RFC 6750)",
            ),
            (
                "403",
                "The token lacks the operation's scope (`insufficient_scope`, the scope named in \
                 `WWW-Authenticate`)",
            ),
            (
                "500",
                "The server failed; the body says nothing more, the cause is in the server's log",
            ),
            (
                "503",
                "The database cannot be reached right now (`database_unavailable`); retry shortly",
            ),
        ];
        for operation in operations_mut(openapi) {
            // The extractors refuse a body that is not JSON, and a body or query that does not
            // parse, before the handler runs.
            let takes_body = operation.request_body.is_some();
            let takes_query =
                operation.parameters.iter().flatten().any(
                    |p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query)),
                );
            let malformed = (
                "400",
                "The body or the query is malformed or has unknown fields (`invalid_json`, \
                 `invalid_query`, `validation_failed`)",
            );
            let unsupported = (
                "415",
                "The body is not sent as `Content-Type: application/json`",
            );
            let extra = [
                (takes_body || takes_query).then_some(malformed),
                takes_body.then_some(unsupported),
            ];
            for (status, description) in common.into_iter().chain(extra.into_iter().flatten()) {
                let problem = ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build();
                let response = ResponseBuilder::new()
                    .description(description)
                    .content("application/problem+json", problem)
                    .build();
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert(response.into());
            }
        }
    }
}

/// The OpenAPI document as served, pretty-printed so it diffs well in review.
pub fn openapi_document() -> String {
    let mut doc = AdminApi::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.to_pretty_json().unwrap_or_default()
}

async fn openapi_json() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        openapi_document(),
    )
        .into_response()
}
