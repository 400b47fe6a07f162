//! Authorization server metadata (RFC 8414) and the JWK Set (RFC 7517).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use super::{INTROSPECTION_PATH, JWKS_PATH, REVOCATION_LIST_PATH, REVOCATION_PATH, TOKEN_PATH};
use crate::http::AppState;

/// How long clients may cache the JWKS. New signing keys are published before they sign,
/// for longer than this, so a cached copy always holds the key of a fresh token.
pub const JWKS_MAX_AGE: u32 = 300;

pub fn document(state: &AppState) -> Value {
    let issuer = &state.tollgate.policy().issuer;
    let keys = state.tollgate.keys();
    let mut algs: Vec<&str> = keys
        .published()
        .iter()
        .map(|k| k.algorithm().as_str())
        .collect();
    algs.sort_unstable();
    algs.dedup();
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint": format!("{issuer}{INTROSPECTION_PATH}"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint": format!("{issuer}{REVOCATION_PATH}"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        // Not registered metadata: Tollgate's feed of revocations for APIs that poll it.
        "revocation_list_endpoint": format!("{issuer}{REVOCATION_LIST_PATH}"),
        // No authorization endpoint: Tollgate issues tokens to clients only.
        "response_types_supported": [],
        "scopes_supported": state.tollgate.scopes_in_use(),
        "access_token_signing_alg_values_supported": algs,
    })
}

pub async fn discovery(State(state): State<AppState>) -> Response {
    let mut r = Json(document(&state)).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    r
}

pub async fn jwks(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let body = state.tollgate.keys().jwks().to_string();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body.as_bytes());
    let etag = format!("\"{}\"", B64.encode(&digest.as_ref()[..16]));
    let cache = format!("public, max-age={JWKS_MAX_AGE}");
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut r = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jwk-set+json"),
            )],
            body,
        )
            .into_response()
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cache) {
        h.insert(header::CACHE_CONTROL, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    r
}
