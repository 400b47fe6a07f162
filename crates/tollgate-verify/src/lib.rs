//! Verifies Tollgate's OAuth 2.0 access tokens in resource servers
//! (Rust APIs), locally, with the keys Tollgate publishes.
//!
//! Tollgate issues JWT access tokens per RFC 9068, signed with ES256, EdDSA or RS256. A
//! [`Verifier`] finds the issuer's keys through its RFC 8414 discovery document, caches them,
//! and checks each token as RFC 9068 §4 asks:
//!
//! - the header: `alg` one of the allowed algorithms (never `none`, never `HS*`: they cannot
//!   even be named), `typ` `at+jwt` or `application/at+jwt`, no unknown `crit`;
//! - the signature, with the key named by `kid`, whose type (`kty`/`crv`) and `alg` must fit
//!   the header's `alg`;
//! - `iss` exactly the configured issuer, `aud` holding an expected audience (there is no
//!   "any audience" mode), `exp`, `nbf` and `iat` with a small leeway, and the presence of
//!   `sub`, `client_id` and `jti`;
//! - optionally, Tollgate's revocation list, polled in the background
//!   ([`VerifierBuilder::revocation_polling`]).
//!
//! Scopes are checked per route: all of a list ([`Verifier::require_all`],
//! [`Claims::require_all`]) or any of it ([`Verifier::require_any`]).
//!
//! # Protecting an axum API
//!
//! ```
//! use axum::routing::get;
//! use axum::{Json, Router};
//! use serde_json::{Value, json};
//! use tollgate_verify::{Claims, Verifier};
//!
//! async fn list_users(claims: Claims) -> Json<Value> {
//!     // Only reached with a valid token holding `enterprise:user`.
//!     Json(json!({"caller": claims.client_id(), "tenant": claims.tenant(), "users": []}))
//! }
//!
//! async fn export_report(claims: Claims) -> String {
//!     format!("report for {}", claims.client_id())
//! }
//!
//! fn app(verifier: &Verifier) -> Router {
//!     Router::new()
//!         .route(
//!             "/users",
//!             get(list_users).layer(verifier.require_all(["enterprise:user"])),
//!         )
//!         .route(
//!             "/reports/latest",
//!             get(export_report).layer(verifier.require_any(["reports:export", "reports:admin"])),
//!         )
//!         .route("/health", get(|| async { "ok" })) // public
//! }
//!
//! # async fn serve(app: Router) -> std::io::Result<()> {
//! #     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! #     axum::serve(listener, app).await
//! # }
//! fn main() -> Result<(), tollgate_verify::BuildError> {
//!     let verifier = Verifier::builder("https://auth.example.com")
//!         .audience("https://api.example.com")
//!         .realm("example-api")
//!         .build()?; // No network here: the keys are fetched on first use.
//!     let app = app(&verifier);
//!     // Serve `app` with `axum::serve` as usual.
//! #   drop(app);
//!     Ok(())
//! }
//! ```
//!
//! A request without a token gets `401` with `WWW-Authenticate: Bearer realm="example-api"`;
//! a bad token `401` with `error="invalid_token"`; a valid token without the scope `403` with
//! `error="insufficient_scope", scope="enterprise:user"` (RFC 6750 §3; see [`Rejection`]).
//! Those challenges also carry `resource_metadata="…"`, described next.
//!
//! # Protected resource metadata (RFC 9728)
//!
//! An API can tell clients who issues its tokens and which scopes it knows, in a JSON
//! document at `/.well-known/oauth-protected-resource` ([`Verifier::metadata_router`]). The
//! document is derived from the verifier: `resource` is the first audience (which must then
//! be an absolute `https` URL without fragment), `authorization_servers` the issuer,
//! `scopes_supported` what [`VerifierBuilder::scopes_supported`] declared,
//! `bearer_methods_supported` `["header"]`, and an optional
//! [`resource_name`](VerifierBuilder::resource_name). A resource identifier with a path has
//! its document at the path-suffixed well-known URI (RFC 9728 §3.1):
//! `https://api.example.com/v1` at `/.well-known/oauth-protected-resource/v1`.
//!
//! ```
//! use axum::Router;
//! use axum::routing::get;
//! use tollgate_verify::Verifier;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder("https://auth.example.com")
//!     .audience("https://api.example.com/v1")
//!     .scopes_supported(["enterprise:user", "reports:export"])
//!     .resource_name("Example API")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route(
//!         "/users",
//!         get(|| async { "[]" }).layer(verifier.require_all(["enterprise:user"])),
//!     )
//!     // GET /.well-known/oauth-protected-resource/v1, public.
//!     .merge(verifier.metadata_router());
//! # drop(app);
//!
//! assert_eq!(
//!     verifier.resource_metadata_url(),
//!     Some("https://api.example.com/.well-known/oauth-protected-resource/v1")
//! );
//! let document = serde_json::to_value(verifier.protected_resource_metadata())?;
//! assert_eq!(
//!     document,
//!     serde_json::json!({
//!         "resource": "https://api.example.com/v1",
//!         "authorization_servers": ["https://auth.example.com"],
//!         "scopes_supported": ["enterprise:user", "reports:export"],
//!         "bearer_methods_supported": ["header"],
//!         "resource_name": "Example API",
//!     })
//! );
//! # Ok(())
//! # }
//! ```
//!
//! The `401` and `403` challenges name the document's URL (RFC 9728 §5.1), here
//! `WWW-Authenticate: Bearer realm="…",
//! resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/v1"`.
//! When the API is reached at another public origin than its identifier, set that URL with
//! [`VerifierBuilder::resource_metadata_url`]. An audience that is no URL (`orders-api`)
//! has no document and its challenges no `resource_metadata`.
//!
//! Without axum (`default-features = false`), call [`Verifier::verify`] yourself:
//!
//! ```no_run
//! # async fn f(verifier: tollgate_verify::Verifier, token: &str) {
//! match verifier.verify(token).await {
//!     Ok(claims) if claims.has_scope("reports:export") => { /* serve */ }
//!     Ok(_) => { /* 403 insufficient_scope */ }
//!     Err(e) if e.is_token_error() => { /* 401 invalid_token, e.to_string() as description */ }
//!     Err(_) => { /* 503: keys unavailable */ }
//! }
//! # }
//! ```
//!
//! # Keys and availability
//!
//! JWKs are parsed once into aws-lc-rs public keys. A token naming an unknown `kid` makes the
//! verifier refetch the JWK Set, at most once per
//! [`min_refetch_interval`](VerifierBuilder::min_refetch_interval) (10 s by default), so a
//! flood of tokens with made-up key ids costs the issuer one request per interval. Once the
//! set is older than its `Cache-Control: max-age`, the next verification refreshes it in the
//! background (with `If-None-Match`) and goes on with the cached keys. A failed fetch never
//! drops the keys already held: if Tollgate is briefly unreachable, tokens keep being verified.
//!
//! Plain `http` is accepted for loopback addresses only (local development), unless
//! [`VerifierBuilder::danger_accept_http`] says otherwise.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod algorithm;
mod builder;
mod claims;
mod clock;
mod discovery;
mod error;
mod fetch;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod jwk;
mod key_refresh;
mod keys;
mod resource_metadata;
mod revocation;
mod token;
mod verifier;
#[cfg(feature = "axum")]
mod web;

pub use algorithm::Algorithm;
pub use builder::{DEFAULT_LEEWAY, DEFAULT_MIN_REFETCH_INTERVAL, MAX_LEEWAY, VerifierBuilder};
pub use claims::{Claims, ScopeRequirement};
pub use clock::{Clock, SystemClock};
pub use error::{BuildError, Error, FetchError, InsufficientScope};
pub use resource_metadata::{ProtectedResourceMetadata, RESOURCE_METADATA_PATH};
pub use revocation::{DEFAULT_POLL_INTERVAL, RevocationPolling};
pub use verifier::Verifier;
#[cfg(feature = "axum")]
pub use web::{AuthLayer, AuthService, Rejection, RejectionKind};
