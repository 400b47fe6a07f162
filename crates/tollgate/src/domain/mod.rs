//! The domain: clients, the API catalogue, scopes, secrets and access tokens. Nothing here knows of HTTP.

pub mod actor;
pub mod admin;
pub mod algorithm;
pub mod api;
pub mod audit;
pub mod backoff;
pub mod bearer;
pub mod catalogue;
pub mod claims;
pub mod client;
pub mod grant;
pub mod limits;
pub mod password;
pub mod proxies;
pub mod quota;
pub mod recovery;
pub mod revocation;
pub mod scope;
pub mod secret;
pub mod token;
pub mod totp;
pub mod usage;

/// Lowercase hexadecimal, used for identifiers and secrets.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}
