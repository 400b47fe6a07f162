//! The console's cookies and the same-origin check of its forms.
//!
//! The session cookie is `HttpOnly` and `SameSite=Strict`; when the issuer is https it is also
//! `Secure` and named with the `__Host-` prefix, which browsers accept only from a secure
//! origin, for the whole host, without a `Domain`: no sibling host can set or shadow it.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::service::people::People;

const SESSION: &str = "tollgate_session";
const SSO: &str = "tollgate_sso";

fn name(base: &str, https: bool) -> String {
    if https {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The value of the cookie `name` (the first, if repeated).
fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

pub fn session_cookie(headers: &HeaderMap, people: &People) -> Option<String> {
    get(headers, &name(SESSION, people.https()))
}

pub fn sso_cookie(headers: &HeaderMap, people: &People) -> Option<String> {
    get(headers, &name(SSO, people.https()))
}

fn set(base: &str, value: &str, same_site: &str, max_age: Option<u64>, https: bool) -> HeaderValue {
    let mut s = format!(
        "{}={value}; Path=/; HttpOnly; SameSite={same_site}",
        name(base, https)
    );
    if https {
        s.push_str("; Secure");
    }
    if let Some(age) = max_age {
        s.push_str(&format!("; Max-Age={age}"));
    }
    // Cookie values are base64url and digits, always valid header text.
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Starts a session: the browser keeps the cookie until it closes; the server decides when the
/// session ends.
pub fn set_session(value: &str, people: &People) -> HeaderValue {
    set(SESSION, value, "Strict", None, people.https())
}

pub fn clear_session(people: &People) -> HeaderValue {
    set(SESSION, "", "Strict", Some(0), people.https())
}

/// The cookie that binds a single sign-on attempt to this browser: `Lax`, since the provider
/// sends the browser back with a top-level navigation from its own site.
pub fn set_sso(value: &str, people: &People) -> HeaderValue {
    set(SSO, value, "Lax", Some(600), people.https())
}

pub fn clear_sso(people: &People) -> HeaderValue {
    set(SSO, "", "Lax", Some(0), people.https())
}

/// Whether a form post comes from the console's own origin. Browsers send `Origin` with every
/// POST, but under the console's `Referrer-Policy: no-referrer` Chromium sends `Origin: null`
/// even for the console's own forms: then `Sec-Fetch-Site` decides, as it does for a request
/// without `Origin`. A request with neither is not from a browser (no cookie to abuse).
pub fn same_origin(headers: &HeaderMap, issuer: &str) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let Some(origin) = origin.filter(|o| *o != "null") {
        return url::Url::parse(issuer).is_ok_and(|u| {
            u.origin()
                .ascii_serialization()
                .eq_ignore_ascii_case(origin)
        });
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => origin.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tollgate_session_x=2; tollgate_session=abc"),
        );
        assert_eq!(get(&h, "tollgate_session").as_deref(), Some("abc"));
        assert_eq!(get(&h, "__Host-tollgate_session"), None);
    }

    #[test]
    fn cookie_attributes_follow_the_issuer_scheme() {
        let secure = set(SESSION, "v", "Strict", None, true);
        assert_eq!(
            secure.to_str().unwrap(),
            "__Host-tollgate_session=v; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        let plain = set(SSO, "v", "Lax", Some(600), false);
        assert_eq!(
            plain.to_str().unwrap(),
            "tollgate_sso=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=600"
        );
    }

    #[test]
    fn forms_from_other_origins_are_refused() {
        let issuer = "https://auth.example.com/tenant";
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, issuer), "no browser headers: not a browser");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://auth.example.com"),
        );
        assert!(same_origin(&h, issuer));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h, issuer));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h, issuer), "null without Sec-Fetch-Site");
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(
            same_origin(&h, issuer),
            "Chromium's own form under no-referrer"
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h, issuer));
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h, issuer));
    }
}
