//! Authorization server metadata (RFC 8414) and the JWK Set (RFC 7517).

use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use super::{INTROSPECTION_PATH, JWKS_PATH, REVOCATION_LIST_PATH, REVOCATION_PATH, TOKEN_PATH};
use crate::http::AppState;
use crate::keys::SigningKeys;

/// How long clients may cache the JWKS. New signing keys are published before they sign,
/// for longer than this, so a cached copy always holds the key of a fresh token.
pub const JWKS_MAX_AGE: u32 = 300;

/// The discovery document and the JWK Set, built once for each change of what they show and
/// served as bytes: anonymous requests walk no client and format no key.
#[derive(Debug, Default)]
pub struct Documents {
    discovery: RwLock<Option<Built<u64>>>,
    jwks: RwLock<Option<Built<()>>>,
}

/// A body, with what it was built from.
#[derive(Debug)]
struct Built<G> {
    /// The cache generation of the clients it shows (`()` where they play no part).
    clients: G,
    keys: Arc<SigningKeys>,
    body: Bytes,
    etag: HeaderValue,
}

impl<G: Copy + PartialEq> Built<G> {
    /// The body built from `clients` and `keys`, building it if they changed.
    fn get_or_build(
        slot: &RwLock<Option<Built<G>>>,
        clients: G,
        keys: Arc<SigningKeys>,
        build: impl FnOnce(&SigningKeys) -> String,
    ) -> (Bytes, HeaderValue) {
        let fresh = |b: &Built<G>| b.clients == clients && Arc::ptr_eq(&b.keys, &keys);
        if let Some(b) = slot.read().unwrap_or_else(|p| p.into_inner()).as_ref()
            && fresh(b)
        {
            return (b.body.clone(), b.etag.clone());
        }
        let body = build(&keys);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body.as_bytes());
        let etag = format!("\"{}\"", B64.encode(&digest.as_ref()[..16]));
        // base64url and quotes only: always a valid header value.
        let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
        let body = Bytes::from(body);
        *slot.write().unwrap_or_else(|p| p.into_inner()) = Some(Built {
            clients,
            keys,
            body: body.clone(),
            etag: etag.clone(),
        });
        (body, etag)
    }
}

pub fn document(state: &AppState, keys: &SigningKeys) -> Value {
    let issuer = &state.tollgate.policy().issuer;
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
        "scopes_supported": state.tollgate.catalogue().permission_values(),
        "access_token_signing_alg_values_supported": algs,
    })
}

pub async fn discovery(State(state): State<AppState>) -> Response {
    let (body, _) = Built::get_or_build(
        &state.documents.discovery,
        state.tollgate.catalogue_generation(),
        state.tollgate.keys(),
        |keys| document(&state, keys).to_string(),
    );
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn jwks(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (body, etag) =
        Built::get_or_build(&state.documents.jwks, (), state.tollgate.keys(), |keys| {
            keys.jwks().to_string()
        });
    let cache = format!("public, max-age={JWKS_MAX_AGE}");
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().as_bytes() == etag.as_bytes() || t.trim() == "*")
        });
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
    h.insert(header::ETAG, etag);
    r
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::domain::algorithm::Algorithm;
    use crate::keys::SigningKey;

    fn keys() -> Arc<SigningKeys> {
        let (key, _) = SigningKey::generate(Algorithm::Es256).unwrap();
        Arc::new(SigningKeys::new(Arc::new(key), vec![], vec![]))
    }

    #[test]
    fn a_document_is_built_once_per_change_of_what_it_shows() {
        let slot = RwLock::new(None);
        let builds = Cell::new(0);
        let build = |_: &SigningKeys| {
            builds.set(builds.get() + 1);
            format!("body {}", builds.get())
        };
        let first = keys();
        let (a, tag_a) = Built::get_or_build(&slot, 1u64, first.clone(), build);
        let (b, tag_b) = Built::get_or_build(&slot, 1u64, first.clone(), build);
        assert_eq!(builds.get(), 1, "nothing changed: served as built");
        assert_eq!((a.clone(), tag_a.clone()), (b, tag_b));
        let (c, tag_c) = Built::get_or_build(&slot, 2u64, first.clone(), build);
        assert_eq!(builds.get(), 2, "a client changed");
        assert_ne!((&a, &tag_a), (&c, &tag_c));
        Built::get_or_build(&slot, 2u64, keys(), build);
        assert_eq!(builds.get(), 3, "the keys changed");
    }
}
