//! The OAuth endpoints: token, discovery (RFC 8414) and JWKS.

pub mod error;
pub mod metadata;
pub mod token;

pub const TOKEN_PATH: &str = "/oauth2/token";
pub const JWKS_PATH: &str = "/oauth2/jwks";
