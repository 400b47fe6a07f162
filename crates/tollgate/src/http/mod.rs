//! The HTTP layer: routing, and mapping between HTTP and the service. Handlers are thin.

pub mod admin;
pub mod health;
pub mod oauth;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::service::Tollgate;

#[derive(Clone, Debug)]
pub struct AppState {
    pub tollgate: Arc<Tollgate>,
}

/// The client a request authenticated as (or claimed to be), for the request log.
#[derive(Clone, Debug)]
pub struct LoggedClient(pub String);

/// The cause of a 5xx, carried to the request log; the response body never holds it.
#[derive(Clone, Debug)]
pub struct InternalError(pub String);

pub fn router(state: AppState) -> Router {
    let issuer_path = state.tollgate.policy().issuer_path();
    let mut router = Router::new()
        .route(
            oauth::TOKEN_PATH,
            post(oauth::token::token).fallback(oauth::token::method_not_allowed),
        )
        .route(
            oauth::INTROSPECTION_PATH,
            post(oauth::introspect::introspect).fallback(oauth::token::method_not_allowed),
        )
        .route(
            oauth::REVOCATION_PATH,
            post(oauth::introspect::revoke).fallback(oauth::token::method_not_allowed),
        )
        .route(oauth::REVOCATION_LIST_PATH, get(oauth::revocations::feed))
        .route(oauth::JWKS_PATH, get(oauth::metadata::jwks))
        .route("/.well-known/jwks.json", get(oauth::metadata::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata::discovery),
        )
        .route(
            "/.well-known/openid-configuration",
            get(oauth::metadata::discovery),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    if !issuer_path.is_empty() {
        // RFC 8414 §3.1 inserts the issuer's path after the well-known segment; OpenID
        // Connect Discovery appends the well-known segment to it.
        router = router
            .route(
                &format!("/.well-known/oauth-authorization-server{issuer_path}"),
                get(oauth::metadata::discovery),
            )
            .route(
                &format!("{issuer_path}/.well-known/openid-configuration"),
                get(oauth::metadata::discovery),
            );
    }
    router
        .nest("/admin/v1", admin::router())
        .fallback(admin::problem::not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn(crate::telemetry::log_request))
}
