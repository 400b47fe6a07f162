//! HTTP: which URLs may be used, and bounded GET requests.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{CACHE_CONTROL, ETAG, HeaderMap, IF_NONE_MATCH};
use reqwest::{RequestBuilder, StatusCode};
use url::Url;

use crate::error::{BuildError, FetchError};

/// Larger responses are refused: a JWK Set or a discovery document is a few KiB, a full
/// revocation page about 150 KiB.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client used unless the application supplies one: no redirects (the issuer's
/// endpoints answer directly), bounded timeouts.
pub(crate) fn default_client() -> Result<reqwest::Client, BuildError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("tollgate-verify/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(BuildError::HttpClient)
}

/// `https`, or `http` to a loopback address (local development and tests), or any `http`
/// when the application opted in with `danger_accept_http`.
pub(crate) fn is_acceptable(url: &Url, accept_http: bool) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => accept_http || is_loopback(url),
        _ => false,
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Parses a configured URL and applies the scheme rule.
pub(crate) fn configured_url(
    what: &'static str,
    value: &str,
    accept_http: bool,
) -> Result<Url, BuildError> {
    let url = Url::parse(value).map_err(|_| BuildError::InvalidUrl {
        what,
        url: value.to_owned(),
        reason: "not an absolute URL",
    })?;
    if url.host().is_none() {
        return Err(BuildError::InvalidUrl {
            what,
            url: value.to_owned(),
            reason: "no host",
        });
    }
    if !is_acceptable(&url, accept_http) {
        return Err(BuildError::InsecureUrl {
            what,
            url: value.to_owned(),
        });
    }
    Ok(url)
}

/// Parses a URL learnt from a document and applies the scheme rule.
pub(crate) fn learnt_url(value: &str, from: &Url, accept_http: bool) -> Result<Url, FetchError> {
    let url = Url::parse(value).map_err(|_| FetchError::InvalidDocument {
        url: from.to_string(),
        reason: format!("{value:?} is not an absolute URL"),
    })?;
    if !is_acceptable(&url, accept_http) {
        return Err(FetchError::InsecureUrl {
            url: value.to_owned(),
        });
    }
    Ok(url)
}

/// A successful GET.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// `None` for `304 Not Modified`.
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) etag: Option<String>,
    pub(crate) max_age: Option<u64>,
}

/// GETs `url`, with `If-None-Match` when an ETag is known, and reads at most [`MAX_BODY`].
/// Anything but `200` (or `304` when an ETag was sent) is an error.
pub(crate) async fn get(
    client: &reqwest::Client,
    url: &Url,
    etag: Option<&str>,
    customize: impl FnOnce(RequestBuilder) -> RequestBuilder,
) -> Result<Fetched, FetchError> {
    let transport = |source| FetchError::Transport {
        url: url.to_string(),
        source,
    };
    let mut req = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(etag) = etag {
        req = req.header(IF_NONE_MATCH, etag);
    }
    let mut resp = customize(req).send().await.map_err(transport)?;
    let headers = resp.headers();
    let etag_out = header_str(headers, ETAG);
    let max_age = header_str(headers, CACHE_CONTROL).and_then(|v| max_age(&v));
    match resp.status() {
        StatusCode::OK => {}
        StatusCode::NOT_MODIFIED if etag.is_some() => {
            return Ok(Fetched {
                body: None,
                etag: etag_out.or_else(|| etag.map(str::to_owned)),
                max_age,
            });
        }
        status => {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                detail: error_detail(resp).await,
            });
        }
    }
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(FetchError::TooLarge {
            url: url.to_string(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        body: Some(body),
        etag: etag_out,
        max_age,
    })
}

/// The explanation in a JSON error body (RFC 6749 §5.2 or RFC 9457), for the logs.
async fn error_detail(mut resp: reqwest::Response) -> Option<String> {
    const MAX: usize = 4096;
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > MAX {
            return None;
        }
    }
    let doc: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let text = ["error_description", "detail", "error"]
        .iter()
        .find_map(|k| doc.get(*k).and_then(|v| v.as_str()))?;
    Some(text.chars().filter(|c| !c.is_control()).take(200).collect())
}

fn header_str(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The freshness lifetime a `Cache-Control` value grants: `max-age`, or zero for
/// `no-cache` / `no-store`.
pub(crate) fn max_age(cache_control: &str) -> Option<u64> {
    let mut age = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim();
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim();
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(0);
        }
        if name.eq_ignore_ascii_case("max-age") {
            age = value.trim().trim_matches('"').parse().ok();
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_rule() {
        let ok = |s: &str, danger| is_acceptable(&Url::parse(s).unwrap(), danger);
        assert!(ok("https://auth.example.com", false));
        assert!(ok("http://127.0.0.1:8080", false));
        assert!(ok("http://127.5.0.1", false));
        assert!(ok("http://[::1]:8080", false));
        assert!(ok("http://localhost:8080", false));
        assert!(!ok("http://auth.example.com", false));
        assert!(!ok("http://10.0.0.1", false));
        assert!(!ok("http://localhost.evil.com", false));
        assert!(ok("http://auth.example.com", true));
        assert!(!ok("ftp://auth.example.com", true));
        assert!(!ok("file:///etc/passwd", true));
    }

    #[test]
    fn configured_urls() {
        assert!(configured_url("issuer", "https://a.example", false).is_ok());
        assert!(matches!(
            configured_url("issuer", "http://a.example", false),
            Err(BuildError::InsecureUrl { .. })
        ));
        assert!(matches!(
            configured_url("issuer", "a.example", false),
            Err(BuildError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn cache_control() {
        assert_eq!(max_age("public, max-age=300"), Some(300));
        assert_eq!(max_age("Max-Age = 60"), Some(60));
        assert_eq!(max_age("max-age=\"60\""), Some(60));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=-1"), None);
        assert_eq!(max_age("max-age=300, no-cache"), Some(0));
        assert_eq!(max_age("no-store"), Some(0));
    }
}
