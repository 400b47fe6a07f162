//! The token endpoint (RFC 6749 §3.2, §4.4): parse, call the service, map the result.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::client_auth::{AuthMethod, Form, client_credentials};
use super::error::{OAuthError, OAuthErrorCode};
use crate::domain::scope::ScopeSet;
use crate::domain::token::{Tenant, TokenRequest};
use crate::http::{AppState, LoggedClient};
use crate::service::Credentials;

/// Parameters that must appear at most once (RFC 6749 §3.2). `resource` may repeat
/// (RFC 8707 §2); parameters Tollgate does not know are ignored (RFC 6749 §3.1).
pub const SINGLE: &[&str] = &[
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
        Err(e) => method.shape(OAuthError::from(e)).into_response(),
    };
    response.extensions_mut().insert(LoggedClient(client_id));
    response
}

/// Answers every method but POST on the POST-only OAuth endpoints.
pub async fn method_not_allowed() -> Response {
    let mut r = OAuthError::invalid_request("this endpoint accepts POST requests only")
        .with_status(axum::http::StatusCode::METHOD_NOT_ALLOWED)
        .into_response();
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    r
}

async fn parse(
    headers: &HeaderMap,
    body: Body,
) -> Result<(Credentials, AuthMethod, TokenRequest), OAuthError> {
    let form = Form::read(headers, body, SINGLE).await?;
    match form.one("grant_type") {
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

    let (creds, method) = client_credentials(headers, &form)?;

    let scope = form
        .one("scope")
        .map(|s| {
            ScopeSet::parse_delimited(s).map_err(|e| {
                OAuthError::new(
                    OAuthErrorCode::InvalidScope,
                    format!("malformed scope: {e}"),
                )
            })
        })
        .transpose()?;
    let mut resources = form.all("resource").to_vec();
    if let Some(aud) = form.one("audience") {
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
    let tenant = form
        .one("tenant")
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
