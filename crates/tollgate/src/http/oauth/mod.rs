//! The OAuth endpoints: token, discovery (RFC 8414) and JWKS.

pub mod client_auth;
pub mod error;
pub mod introspect;
pub mod metadata;
pub mod revocations;
pub mod token;

pub const TOKEN_PATH: &str = "/oauth2/token";
pub const JWKS_PATH: &str = "/oauth2/jwks";
pub const INTROSPECTION_PATH: &str = "/oauth2/introspect";
pub const REVOCATION_PATH: &str = "/oauth2/revoke";
pub const REVOCATION_LIST_PATH: &str = "/oauth2/revocations";
