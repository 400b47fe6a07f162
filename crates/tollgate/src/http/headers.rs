//! Headers every response carries. Outside the console Tollgate answers JSON and JWTs only,
//! never a page, so a browser that loads one anyway is told not to sniff, frame or run anything
//! in it, and not to pass the URL on as a referrer. Console pages set a Content-Security-Policy
//! of their own (as strict, but allowing the console's own stylesheet).

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
        // The console's pages carry a policy of their own, which lets their stylesheet load.
        if name != header::CONTENT_SECURITY_POLICY || !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    if https.0 {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}
