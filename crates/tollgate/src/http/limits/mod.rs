//! The rate limits at the edge: which address a request came from, and how a refusal is
//! answered (429, `Retry-After`, and the `RateLimit-Policy` / `RateLimit` fields of the IETF
//! httpapi draft "RateLimit header fields for HTTP", in its structured-field syntax).
//! The limits themselves are in [`crate::service::limits`].

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::limits::Refusal;
use crate::domain::proxies::Forwarding;
use crate::http::console::Page;
use crate::service::limits::RateLimits;

const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The address the request came from: the TCP peer's, or, when the peer is one of the
/// `trusted_proxies`, the one its forwarding headers name. `None` when the connection's
/// address is not known (a request handed to the router directly, as unit tests do).
pub fn client_ip(parts: &Parts, limits: &RateLimits) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    let trusted = limits.trusted_proxies();
    if !trusted.trusts(peer) {
        // Reading no header at all is the common case, and the cheap one.
        return Some(crate::domain::proxies::canonical(peer));
    }
    let lines = |name: &HeaderName| {
        parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
    };
    let forwarding = Forwarding {
        forwarded: lines(&FORWARDED),
        x_forwarded_for: lines(&X_FORWARDED_FOR),
    };
    Some(trusted.client(peer, &forwarding))
}

/// [`client_ip`] as the audit trail writes it.
pub fn client_address(parts: &Parts, limits: &RateLimits) -> String {
    client_ip(parts, limits).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// `Retry-After`, `RateLimit-Policy` and `RateLimit` for a refused request.
pub fn set_headers(headers: &mut HeaderMap, r: &Refusal) {
    let fields = [
        (header::RETRY_AFTER, r.retry_after_secs.to_string()),
        (
            RATELIMIT_POLICY,
            format!("\"{}\";q={};w={}", r.policy, r.quota, r.window_secs),
        ),
        (
            RATELIMIT,
            format!("\"{}\";r=0;t={}", r.policy, r.retry_after_secs),
        ),
    ];
    for (name, value) in fields {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

/// What an OAuth error says about a refusal: whom the limit is about, and the wait.
pub fn describe(r: &Refusal) -> String {
    let whom = if r.policy.ends_with("-address") {
        "too many requests from this address"
    } else if r.policy.ends_with("-failures") {
        "too many failed client authentications"
    } else {
        "too many requests for this client"
    };
    format!("{whom}; retry in {} s", r.retry_after_secs)
}

/// The console's sign-in page refusing an attempt.
pub fn sign_in_refused(r: &Refusal) -> Response {
    let mut response = Page::message(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        &format!(
            "Too many sign-in attempts. Try again in {} s.",
            r.retry_after_secs
        ),
    )
    .into_response();
    set_headers(response.headers_mut(), r);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headers_use_the_structured_field_syntax() {
        let mut h = HeaderMap::new();
        let r = Refusal {
            policy: "token-client",
            quota: 40,
            window_secs: 2,
            retry_after_secs: 3,
        };
        set_headers(&mut h, &r);
        assert_eq!(h["retry-after"], "3");
        assert_eq!(h["ratelimit-policy"], "\"token-client\";q=40;w=2");
        assert_eq!(h["ratelimit"], "\"token-client\";r=0;t=3");
        assert_eq!(
            describe(&r),
            "too many requests for this client; retry in 3 s"
        );
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_peer() {
        use crate::domain::proxies::{Cidr, TrustedProxies};
        use crate::service::limits::LimitSettings;
        let limits = RateLimits::new(
            LimitSettings {
                trusted_proxies: TrustedProxies(vec![Cidr::parse("10.0.0.0/8").unwrap()]),
                ..LimitSettings::default()
            },
            std::sync::Arc::new(crate::clock::SystemClock),
        );
        let parts = |peer: &str| {
            let (mut parts, ()) = axum::http::Request::builder()
                .header("x-forwarded-for", "198.51.100.1, 203.0.113.5")
                .header("x-forwarded-for", "10.0.0.9")
                .body(())
                .unwrap()
                .into_parts();
            parts
                .extensions
                .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
            parts
        };
        assert_eq!(
            client_address(&parts("10.0.0.1:5000"), &limits),
            "203.0.113.5"
        );
        assert_eq!(
            client_address(&parts("192.0.2.1:5000"), &limits),
            "192.0.2.1"
        );
        assert_eq!(
            client_address(&parts("[::ffff:192.0.2.1]:5000"), &limits),
            "192.0.2.1"
        );
        let (bare, ()) = axum::http::Request::new(()).into_parts();
        assert_eq!(client_address(&bare, &limits), "unknown");
    }
}
