//! The token endpoint (RFC 6749 §3.2, §4.4): parse, call the service, map the result.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde::Serialize;

use super::error::{OAuthError, OAuthErrorCode};
use crate::domain::scope::ScopeSet;
use crate::domain::secret::ClientSecret;
use crate::domain::token::{Tenant, TokenRequest};
use crate::http::{AppState, LoggedClient};
use crate::service::Credentials;

/// Largest request body the token endpoint reads.
pub const MAX_BODY: usize = 16 * 1024;

const BASIC_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Parameters that must appear at most once (RFC 6749 §3.2). `resource` may repeat
/// (RFC 8707 §2); parameters Tollgate does not know are ignored (RFC 6749 §3.1).
const SINGLE: &[&str] = &[
    "grant_type",
    "scope",
    "client_id",
    "client_secret",
    "audience",
    "tenant",
];

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
}

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let now = state.tollgate.now();
    let (creds, method, request) = match parse(&headers, body).await {
        Ok(parsed) => parsed,
        Err(e) => return e.into_response(),
    };
    let client_id = creds.client_id.clone();
    let mut response = match state.tollgate.issue_token(&creds, &request, now) {
        Ok(issued) => {
            let scope = issued.scope.to_delimited();
            let mut r = Json(TokenResponse {
                access_token: &issued.access_token,
                token_type: "Bearer",
                expires_in: issued.expires_in,
                scope: &scope,
            })
            .into_response();
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            r
        }
        Err(e) => {
            let mut e = OAuthError::from(e);
            if e.code == OAuthErrorCode::InvalidClient && method == AuthMethod::Post {
                // RFC 6749 §5.2 mandates 401 + challenge only when the Authorization header
                // was used; a failed body authentication is a plain 400, which client
                // libraries report as the OAuth error it is rather than as a challenge.
                e = e.with_status(axum::http::StatusCode::BAD_REQUEST);
            }
            e.into_response()
        }
    };
    response.extensions_mut().insert(LoggedClient(client_id));
    response
}

/// Answers every method but POST on the token endpoint.
pub async fn method_not_allowed() -> Response {
    let mut r = OAuthError::invalid_request("the token endpoint accepts POST requests only")
        .with_status(axum::http::StatusCode::METHOD_NOT_ALLOWED)
        .into_response();
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    r
}

/// How the client authenticated (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AuthMethod {
    /// `client_secret_basic`
    Basic,
    /// `client_secret_post`
    Post,
}

async fn parse(
    headers: &HeaderMap,
    body: Body,
) -> Result<(Credentials, AuthMethod, TokenRequest), OAuthError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::invalid_request(
            "the request body must be application/x-www-form-urlencoded",
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        OAuthError::invalid_request(format!(
            "the request body is larger than {MAX_BODY} bytes or could not be read"
        ))
    })?;
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(&bytes) {
        // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
        if !v.is_empty() {
            params
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
    }
    for name in SINGLE {
        if params.get(*name).is_some_and(|v| v.len() > 1) {
            return Err(OAuthError::invalid_request(format!(
                "the parameter `{name}` is repeated"
            )));
        }
    }
    let one = |name: &str| params.get(name).and_then(|v| v.first()).map(String::as_str);

    match one("grant_type") {
        None => {
            return Err(OAuthError::invalid_request(
                "the parameter `grant_type` is missing",
            ));
        }
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                "only the client_credentials grant is supported",
            ));
        }
    }

    let (creds, method) = credentials(headers, one("client_id"), one("client_secret"))?;

    let scope = one("scope")
        .map(|s| {
            ScopeSet::parse_delimited(s).map_err(|e| {
                OAuthError::new(
                    OAuthErrorCode::InvalidScope,
                    format!("malformed scope: {e}"),
                )
            })
        })
        .transpose()?;
    let mut resources = params.get("resource").cloned().unwrap_or_default();
    if let Some(aud) = one("audience") {
        if !resources.is_empty() {
            return Err(OAuthError::invalid_request(
                "use either `resource` or `audience`, not both",
            ));
        }
        resources.push(aud.to_owned());
    }
    for r in &resources {
        let absolute = url::Url::parse(r).is_ok_and(|u| u.fragment().is_none());
        if !absolute {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidTarget,
                "a resource must be an absolute URI without a fragment (RFC 8707)",
            ));
        }
    }
    let tenant = one("tenant")
        .map(|t| {
            Tenant::parse(t).ok_or_else(|| {
                OAuthError::invalid_request(
                    "`tenant` must be 1 to 64 characters from A-Z a-z 0-9 . _ ~ -",
                )
            })
        })
        .transpose()?;
    Ok((
        creds,
        method,
        TokenRequest {
            scope,
            resources,
            tenant,
        },
    ))
}

/// Client authentication by `client_secret_basic` or `client_secret_post`, never both
/// (RFC 6749 §2.3).
fn credentials(
    headers: &HeaderMap,
    body_id: Option<&str>,
    body_secret: Option<&str>,
) -> Result<(Credentials, AuthMethod), OAuthError> {
    let mut auth = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (auth.next(), auth.next()) else {
        // No Authorization header (or, below, several): credentials must be in the body.
        if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
            return Err(OAuthError::invalid_request(
                "the Authorization header is repeated",
            ));
        }
        return match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok((
                Credentials {
                    client_id: id.to_owned(),
                    secret: ClientSecret::new(secret.to_owned()),
                },
                AuthMethod::Post,
            )),
            _ => Err(OAuthError::invalid_client()),
        };
    };
    let (id, secret) = parse_basic(value).ok_or_else(OAuthError::invalid_client)?;
    if body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "use one client authentication method: HTTP Basic or client_secret in the body, \
             not both",
        ));
    }
    if body_id.is_some_and(|b| b != id) {
        return Err(OAuthError::invalid_request(
            "`client_id` in the body differs from the one in the Authorization header",
        ));
    }
    Ok((
        Credentials {
            client_id: id,
            secret: ClientSecret::new(secret),
        },
        AuthMethod::Basic,
    ))
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASIC_B64.decode(rest.trim()).ok()?;
    let decoded = zeroize::Zeroizing::new(decoded);
    let text = std::str::from_utf8(&decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let id = form_decode(id)?;
    let secret = form_decode(secret)?;
    if id.is_empty() {
        return None;
    }
    Some((id, secret))
}

/// The application/x-www-form-urlencoded decoding of one value: `+` is a space, `%XX` a byte.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose;

    use super::*;

    fn basic(raw: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Basic {}", general_purpose::STANDARD.encode(raw))).unwrap()
    }

    #[test]
    fn basic_credentials_are_form_url_decoded() {
        assert_eq!(
            parse_basic(&basic("my%3Aclient:a+b%26c%2B")),
            Some(("my:client".into(), "a b&c+".into()))
        );
        assert_eq!(parse_basic(&basic("id:")), Some(("id".into(), "".into())));
        assert_eq!(parse_basic(&basic("nocolon")), None);
        assert_eq!(parse_basic(&basic(":secret")), None);
        assert_eq!(parse_basic(&basic("id:%zz")), None);
        assert_eq!(parse_basic(&HeaderValue::from_static("Bearer abc")), None);
        assert_eq!(parse_basic(&HeaderValue::from_static("Basic !!!")), None);
        let unpadded = general_purpose::STANDARD_NO_PAD.encode("id:s");
        assert!(
            parse_basic(&HeaderValue::from_str(&format!("basic {unpadded}")).unwrap()).is_some()
        );
    }

    #[test]
    fn one_authentication_method_only() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, basic("id:secret"));
        assert!(credentials(&h, None, Some("secret")).is_err());
        assert!(credentials(&h, Some("other"), None).is_err());
        let (c, m) = credentials(&h, Some("id"), None).unwrap();
        assert_eq!((c.client_id.as_str(), m), ("id", AuthMethod::Basic));
        let none = HeaderMap::new();
        assert_eq!(
            credentials(&none, Some("id"), None).unwrap_err().code,
            OAuthErrorCode::InvalidClient
        );
        let (c, m) = credentials(&none, Some("id"), Some("s")).unwrap();
        assert_eq!((c.client_id.as_str(), m), ("id", AuthMethod::Post));
    }
}
