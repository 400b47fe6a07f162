//! Token introspection (RFC 7662): parse, call the service, map.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::OAuthError;
use super::extract::{ClientForm, FormEndpoint};
use crate::domain::token::{AccessTokenClaims, Audience};
use crate::http::AppState;
use crate::service::limits::ClientEndpoint;

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

/// The form of introspection and revocation: the caller's credentials and the `token`
/// parameter. `token_type_hint` is only a hint (RFC 7009 §2.1, RFC 7662 §2.1): every token
/// here is an access token.
#[derive(Debug)]
pub struct TokenForm;

impl FormEndpoint for TokenForm {
    const SINGLE: &'static [&'static str] =
        &["token", "token_type_hint", "client_id", "client_secret"];
    const LIMITS: ClientEndpoint = ClientEndpoint::Introspection;
}

pub async fn introspect(
    State(state): State<AppState>,
    request: ClientForm<TokenForm>,
) -> Result<Response, OAuthError> {
    let now = state.tollgate.now();
    let token = request.form.required("token")?;
    let claims = state
        .tollgate
        .introspect(&request.credentials, token, now)
        .map_err(|e| request.refused(&state, OAuthError::from(e)))?;
    request.authenticated(&state);
    Ok(Json(Introspection {
        active: claims.is_some(),
        token: claims.as_ref().map(ActiveToken::from),
    })
    .into_response())
}
