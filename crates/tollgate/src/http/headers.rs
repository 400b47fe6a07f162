//! Headers every response carries. Tollgate answers JSON and JWTs only, never a page, so a
//! browser that loads one anyway is told not to sniff, frame or run anything in it, and not to
//! pass the URL on as a referrer.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

const FIXED: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
];

/// Whether the issuer is served over https, so browsers should keep to https (HSTS). Over
/// plain http (loopback development) the header would be ignored anyway.
#[derive(Debug, Clone, Copy)]
pub struct Https(pub bool);

pub fn set_security_headers(h: &mut HeaderMap, https: Https) {
    for (name, value) in FIXED {
        h.insert(name, HeaderValue::from_static(value));
    }
    if https.0 {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}
