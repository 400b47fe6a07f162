//! Token introspection (RFC 7662) and revocation (RFC 7009): parse, call the service, map.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::client_auth::{AuthMethod, Form, client_credentials};
use super::error::OAuthError;
use crate::domain::token::{AccessTokenClaims, Audience};
use crate::http::{AppState, LoggedClient};
use crate::service::Credentials;

const SINGLE: &[&str] = &["token", "token_type_hint", "client_id", "client_secret"];

/// RFC 7662 §2.2. An inactive token gets `{"active": false}` and nothing else.
#[derive(Serialize)]
struct Introspection<'a> {
    active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    token: Option<ActiveToken<'a>>,
}

#[derive(Serialize)]
struct ActiveToken<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    client_id: &'a str,
    sub: &'a str,
    aud: &'a Audience,
    iss: &'a str,
    exp: i64,
    iat: i64,
    jti: &'a str,
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
}

impl<'a> From<&'a AccessTokenClaims> for ActiveToken<'a> {
    fn from(c: &'a AccessTokenClaims) -> ActiveToken<'a> {
        ActiveToken {
            scope: c.scope.as_deref(),
            client_id: &c.client_id,
            sub: &c.sub,
            aud: &c.aud,
            iss: &c.iss,
            exp: c.exp,
            iat: c.iat,
            jti: &c.jti,
            token_type: "Bearer",
            tenant: c.tenant.as_deref(),
        }
    }
}

fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// The caller's credentials and the `token` parameter, shared by introspection and
/// revocation. `token_type_hint` is only a hint (RFC 7009 §2.1, RFC 7662 §2.1): every token
/// here is an access token.
async fn token_form(
    headers: &HeaderMap,
    body: Body,
) -> Result<(Credentials, AuthMethod, String), OAuthError> {
    let form = Form::read(headers, body, SINGLE).await?;
    let (caller, method) = client_credentials(headers, &form)?;
    let token = form.required("token")?.to_owned();
    Ok((caller, method, token))
}

pub async fn introspect(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let now = state.tollgate.now();
    let (caller, method, token) = match token_form(&headers, body).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mut response = match state.tollgate.introspect(&caller, &token, now) {
        Ok(claims) => no_store(
            Json(Introspection {
                active: claims.is_some(),
                token: claims.as_ref().map(ActiveToken::from),
            })
            .into_response(),
        ),
        Err(e) => method.shape(OAuthError::from(e)).into_response(),
    };
    response
        .extensions_mut()
        .insert(LoggedClient(caller.client_id));
    response
}

pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let now = state.tollgate.now();
    let (caller, method, token) = match token_form(&headers, body).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mut response = match state.tollgate.revoke(&caller, &token, now).await {
        Ok(()) => no_store(axum::http::StatusCode::OK.into_response()),
        Err(e) => method.shape(OAuthError::from(e)).into_response(),
    };
    response
        .extensions_mut()
        .insert(LoggedClient(caller.client_id));
    response
}
