//! The token endpoint (RFC 6749 §3.2, §4.4): parse, call the service, map the result.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::client_auth::Form;
use super::error::{OAuthError, OAuthErrorCode};
use super::extract::{ClientForm, FormEndpoint};
use crate::domain::grant::{Tenant, TokenRequest};
use crate::domain::scope::ScopeSet;
use crate::domain::token::MAX_RESOURCES;
use crate::http::AppState;
use crate::service::limits::ClientEndpoint;

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

/// The token endpoint's form parameters.
#[derive(Debug)]
pub struct TokenEndpoint;

impl FormEndpoint for TokenEndpoint {
    const SINGLE: &'static [&'static str] = SINGLE;
    const LIMITS: ClientEndpoint = ClientEndpoint::Token;
}

/// Every outcome is counted (tokens issued and refusals by error code, per client): the
/// service counts what it decides, this handler what it refuses before.
pub async fn token(
    State(state): State<AppState>,
    request: Result<ClientForm<TokenEndpoint>, OAuthError>,
) -> Result<Response, OAuthError> {
    let now = state.tollgate.now();
    let refused = |client_id: Option<&str>, e: OAuthError| {
        state
            .tollgate
            .count_refused_request(client_id, e.code.refusal(), now);
        e
    };
    let request = request.map_err(|e| refused(None, e))?;
    let grant =
        parse(&request.form).map_err(|e| refused(Some(&request.credentials.client_id), e))?;
    let issued = state
        .tollgate
        .issue_token(&request.credentials, &grant, now)
        .map_err(|e| request.refused(&state, OAuthError::from(e)))?;
    request.authenticated(&state);
    let scope = issued.scope.to_delimited();
    Ok(Json(TokenResponse {
        access_token: &issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: &scope,
    })
    .into_response())
}

/// Answers a method an OAuth endpoint does not take.
pub async fn method_not_allowed() -> OAuthError {
    OAuthError::method_not_allowed()
}

/// The grant asked for (RFC 6749 §4.4.2, RFC 8707 §2).
fn parse(form: &Form) -> Result<TokenRequest, OAuthError> {
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
    // Each audience once, in the order first asked: repeats would only lengthen the token.
    let mut resources: Vec<String> = Vec::new();
    for r in form.all("resource") {
        if !resources.contains(r) {
            if resources.len() == MAX_RESOURCES {
                return Err(OAuthError::invalid_request(format!(
                    "at most {MAX_RESOURCES} distinct `resource` values may be requested"
                )));
            }
            resources.push(r.clone());
        }
    }
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
    Ok(TokenRequest {
        scope,
        resources,
        tenant,
    })
}
