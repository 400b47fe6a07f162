//! The OAuth endpoints: token (RFC 6749), introspection (RFC 7662), revocation (RFC 7009),
//! the revocation feed, discovery (RFC 8414) and JWKS. A client's request is read by the
//! extractors in `extract` (form, credentials, authentication method); errors are RFC 6749
//! §5.2 bodies from `error`.

pub mod client_auth;
pub mod error;
pub mod extract;
pub mod introspect;
pub mod metadata;
pub mod revocation_feed;
pub mod revoke;
pub mod token;

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// Answers of the endpoints a client calls with its credentials carry tokens or say
/// something about them: no cache may keep them (RFC 6749 §5.1, RFC 7662 §2.2).
pub async fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

pub const TOKEN_PATH: &str = "/oauth2/token";
pub const JWKS_PATH: &str = "/oauth2/jwks";
pub const INTROSPECTION_PATH: &str = "/oauth2/introspect";
pub const REVOCATION_PATH: &str = "/oauth2/revoke";
pub const REVOCATION_LIST_PATH: &str = "/oauth2/revocations";
