//! The HTTP layer: routing, and mapping between HTTP and the service. Handlers are thin.

pub mod admin;
pub mod console;
pub mod edge;
pub mod headers;
pub mod health;
pub mod limits;
pub mod log;
pub mod oauth;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::service::Tollgate;
use crate::service::limits::RateLimits;
use crate::service::people::People;

/// What every handler reaches: one `Arc`, so handing it to a request (axum clones the state
/// for each one, and the `State` extractor once more) is one reference count, not one per
/// part; those counts are shared by every worker thread.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
pub struct Shared {
    pub tollgate: Arc<Tollgate>,
    /// The administrators: console sign-in and sessions.
    pub people: Arc<People>,
    /// Discovery and JWKS bodies, rebuilt when what they show changes.
    pub documents: Arc<oauth::metadata::Documents>,
    /// This node's rate limits and the trusted proxies.
    pub limits: Arc<RateLimits>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(tollgate: Arc<Tollgate>, people: Arc<People>, limits: Arc<RateLimits>) -> AppState {
        AppState(Arc::new(Shared {
            tollgate,
            people,
            documents: Arc::default(),
            limits,
        }))
    }
}

pub use log::{ClientSlot, InternalError};

pub fn router(state: AppState) -> Router {
    let issuer_path = state.tollgate.policy().issuer_path();
    let https = state.tollgate.policy().issuer.starts_with("https:");
    // The endpoints a client calls with its credentials; every answer is `no-store`.
    let client_endpoints = Router::new()
        .route(oauth::TOKEN_PATH, post(oauth::token::token))
        .route(
            oauth::INTROSPECTION_PATH,
            post(oauth::introspect::introspect),
        )
        .route(oauth::REVOCATION_PATH, post(oauth::revoke::revoke))
        .route(
            oauth::REVOCATION_LIST_PATH,
            get(oauth::revocation_feed::feed),
        )
        .layer(axum::middleware::map_response(oauth::no_store));
    let mut router = Router::new()
        .merge(client_endpoints)
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
        // Another method on a known path: an RFC 6749 error (the admin API answers with a
        // problem of its own); axum adds the `Allow` header.
        .method_not_allowed_fallback(oauth::token::method_not_allowed)
        .nest("/admin/v1", admin::router())
        .merge(console::router())
        .fallback(admin::problem::not_found)
        .with_state(state)
        // The security headers are set by the request-log middleware, which sees every
        // response anyway: a layer of their own cost the token endpoint 2-4 % (measured).
        .layer(axum::middleware::from_fn_with_state(
            headers::Https(https),
            log::log_request,
        ))
}
