//! The axum integration: a tower layer that authenticates requests (and checks scopes), the
//! [`Claims`] extractor, and RFC 6750 error responses; serving the RFC 9728 metadata document
//! is in `metadata.rs`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_layer::Layer;
use tower_service::Service;

use crate::claims::{Claims, ScopeRequirement};
use crate::error::{Error, InsufficientScope};
use crate::verifier::Verifier;

mod metadata;

impl Verifier {
    /// A layer that lets through requests with a valid bearer token (any scopes) and puts
    /// their [`Claims`] in the request extensions, for the [`Claims`] extractor.
    pub fn authenticate(&self) -> AuthLayer {
        AuthLayer {
            verifier: self.clone(),
            scopes: None,
        }
    }

    /// Like [`authenticate`](Self::authenticate), and the token must hold every one of
    /// `scopes` (`403 insufficient_scope` otherwise).
    pub fn require_all<I, S>(&self, scopes: I) -> AuthLayer
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.require(ScopeRequirement::all(scopes))
    }

    /// Like [`authenticate`](Self::authenticate), and the token must hold at least one of
    /// `scopes` (`403 insufficient_scope` otherwise).
    pub fn require_any<I, S>(&self, scopes: I) -> AuthLayer
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.require(ScopeRequirement::any(scopes))
    }

    /// Like [`authenticate`](Self::authenticate), with a scope requirement.
    pub fn require(&self, scopes: ScopeRequirement) -> AuthLayer {
        AuthLayer {
            verifier: self.clone(),
            scopes: Some(Arc::new(scopes)),
        }
    }
}

/// A tower layer that authenticates requests with bearer tokens; made by
/// [`Verifier::authenticate`], [`Verifier::require_all`], [`Verifier::require_any`] or
/// [`Verifier::require`].
///
/// A request without a valid token gets the RFC 6750 answer (see [`Rejection`]) and never
/// reaches the inner service. When an outer `AuthLayer` of the same [`Verifier`] (or a clone
/// of it) already verified the token, an inner one only checks its scopes, so a router-wide
/// [`Verifier::authenticate`] combines with per-route [`Verifier::require_all`] without
/// verifying twice. Claims another verifier checked (another issuer, audience, algorithms or
/// revocation feed) are not trusted: the inner layer verifies the token itself.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    verifier: Verifier,
    scopes: Option<Arc<ScopeRequirement>>,
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            layer: self.clone(),
        }
    }
}

impl AuthLayer {
    async fn authorize(&self, req: &mut Request) -> Result<(), Rejection> {
        let reject = |kind| Rejection::new(&self.verifier, kind);
        let trusted = req
            .extensions()
            .get::<VerifiedBy>()
            .filter(|by| by.0.same_as(&self.verifier))
            .and(req.extensions().get::<Claims>());
        if let Some(claims) = trusted {
            return self.check_scopes(claims);
        }
        let token = bearer_token(req.headers()).map_err(reject)?;
        let claims = self.verifier.verify(token).await.map_err(|e| {
            reject(if e.is_token_error() {
                RejectionKind::InvalidToken(e)
            } else {
                tracing::warn!(error = %e, "cannot verify access tokens");
                RejectionKind::Unavailable(e)
            })
        })?;
        self.check_scopes(&claims)?;
        req.extensions_mut().insert(claims);
        req.extensions_mut()
            .insert(VerifiedBy(self.verifier.clone()));
        Ok(())
    }

    fn check_scopes(&self, claims: &Claims) -> Result<(), Rejection> {
        match &self.scopes {
            Some(required) => required
                .check(claims)
                .map_err(|e| Rejection::new(&self.verifier, RejectionKind::InsufficientScope(e))),
            None => Ok(()),
        }
    }
}

/// Which verifier produced the [`Claims`] in a request's extensions. Private, so only an
/// [`AuthLayer`] can vouch for claims; an inner layer trusts them only when they are its own
/// verifier's, since another one may accept other issuers, audiences or revoked tokens.
#[derive(Clone)]
struct VerifiedBy(Verifier);

/// The service [`AuthLayer`] wraps around a route or router.
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S> Service<Request> for AuthService<S>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        // The clone that was driven to readiness is the one to call (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            match layer.authorize(&mut req).await {
                Ok(()) => inner.call(req).await.map(IntoResponse::into_response),
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1).
fn bearer_token(headers: &HeaderMap) -> Result<&str, RejectionKind> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(RejectionKind::MissingToken);
    };
    if values.next().is_some() {
        return Err(RejectionKind::InvalidRequest(
            "the request has more than one Authorization header",
        ));
    }
    let value = value.to_str().map_err(|_| {
        RejectionKind::InvalidRequest("the Authorization header is not visible ASCII")
    })?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Credentials of another scheme are no bearer token: answer as if there were none.
        return Err(RejectionKind::MissingToken);
    }
    let token = rest.trim_matches(' ');
    if token.is_empty() {
        return Err(RejectionKind::InvalidRequest("the bearer token is empty"));
    }
    if !is_b64token(token) {
        return Err(RejectionKind::InvalidRequest(
            "the bearer token has characters a token cannot have",
        ));
    }
    Ok(token)
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Hands handlers the claims of the token the [`AuthLayer`] verified.
///
/// Without an `AuthLayer` in front of the handler the request fails with a `500` (and an
/// error in the log): that is a mistake in the application, never a reason to let a request
/// through.
impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Claims>().cloned().ok_or_else(|| {
            tracing::error!(
                path = parts.uri.path(),
                "a handler takes Claims but no tollgate-verify AuthLayer is in front of it"
            );
            Rejection {
                kind: RejectionKind::NotAuthenticated,
                realm: String::new(),
                resource_metadata: None,
            }
        })
    }
}

/// Why a request was refused, and the RFC 6750 §3 response that says so.
///
/// | kind | status | `WWW-Authenticate` |
/// |---|---|---|
/// | no bearer credentials | 401 | `Bearer realm="…"` |
/// | malformed `Authorization` | 400 | `Bearer realm="…", error="invalid_request", error_description="…"` |
/// | invalid token | 401 | `Bearer realm="…", error="invalid_token", error_description="…"` |
/// | missing scope | 403 | `Bearer realm="…", error="insufficient_scope", error_description="…", scope="…"` |
/// | keys unavailable | 503 | none (`Retry-After: 5`) |
///
/// The `401` and `403` challenges end with `resource_metadata="…"`, the URL of the API's
/// protected resource metadata (RFC 9728 §5.1; [`Verifier::resource_metadata_url`]), when
/// the verifier has one: from there a client learns which authorization server to ask and
/// for which scopes.
///
/// The body is JSON with `error` and `error_description` (only `error_description` when no
/// token was sent, as RFC 6750 §3.1 says the error code is then omitted).
#[derive(Debug)]
pub struct Rejection {
    kind: RejectionKind,
    realm: String,
    resource_metadata: Option<String>,
}

/// The reason inside a [`Rejection`].
#[derive(Debug)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No `Authorization: Bearer` header.
    MissingToken,
    /// The `Authorization` header is malformed.
    InvalidRequest(&'static str),
    /// The token was verified and refused.
    InvalidToken(Error),
    /// The token is valid but lacks a scope.
    InsufficientScope(InsufficientScope),
    /// The token could not be verified (keys or revocation list unavailable).
    Unavailable(Error),
    /// A [`Claims`] extractor ran without an [`AuthLayer`] in front of it.
    NotAuthenticated,
}

impl Rejection {
    /// A rejection with `verifier`'s realm; for handlers that check scopes themselves (such
    /// as a GraphQL endpoint checking per field).
    pub fn new(verifier: &Verifier, kind: RejectionKind) -> Rejection {
        Rejection {
            kind,
            realm: verifier.realm().to_owned(),
            resource_metadata: verifier.resource_metadata_url().map(str::to_owned),
        }
    }

    /// Why the request was refused.
    pub fn kind(&self) -> &RejectionKind {
        &self.kind
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            RejectionKind::MissingToken | RejectionKind::InvalidToken(_) => {
                StatusCode::UNAUTHORIZED
            }
            RejectionKind::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            RejectionKind::InsufficientScope(_) => StatusCode::FORBIDDEN,
            RejectionKind::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            RejectionKind::NotAuthenticated => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `WWW-Authenticate` challenge, if this rejection has one.
    pub fn challenge(&self) -> Option<String> {
        let (code, description, scope) = match &self.kind {
            RejectionKind::MissingToken => (None, None, None),
            RejectionKind::InvalidRequest(d) => {
                (Some("invalid_request"), Some(d.to_string()), None)
            }
            RejectionKind::InvalidToken(e) => (Some("invalid_token"), Some(e.to_string()), None),
            RejectionKind::InsufficientScope(e) => (
                Some("insufficient_scope"),
                Some(e.to_string()),
                Some(e.scope_string()),
            ),
            RejectionKind::Unavailable(_) | RejectionKind::NotAuthenticated => return None,
        };
        let mut challenge = format!("Bearer realm=\"{}\"", quoted(&self.realm));
        if let Some(code) = code {
            challenge.push_str(&format!(", error=\"{code}\""));
        }
        if let Some(d) = description {
            challenge.push_str(&format!(", error_description=\"{}\"", quoted(&d)));
        }
        if let Some(s) = scope {
            challenge.push_str(&format!(", scope=\"{}\"", quoted(&s)));
        }
        // RFC 9728 §5.1 puts the metadata URL on 401s and 403s; a malformed request (400) is
        // the client's bug, not a missing token, so it gets none.
        let status = self.status();
        if let Some(url) = &self.resource_metadata
            && (status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN)
        {
            challenge.push_str(&format!(", resource_metadata=\"{}\"", quoted(url)));
        }
        Some(challenge)
    }

    fn body(&self) -> serde_json::Value {
        match &self.kind {
            RejectionKind::MissingToken => {
                json!({"error_description": "this resource needs a bearer access token"})
            }
            RejectionKind::InvalidRequest(d) => {
                json!({"error": "invalid_request", "error_description": d})
            }
            RejectionKind::InvalidToken(e) => {
                json!({"error": "invalid_token", "error_description": e.to_string()})
            }
            RejectionKind::InsufficientScope(e) => json!({
                "error": "insufficient_scope",
                "error_description": e.to_string(),
                "scope": e.scope_string(),
            }),
            RejectionKind::Unavailable(_) => json!({
                "error": "temporarily_unavailable",
                "error_description": "the access token cannot be verified right now",
            }),
            RejectionKind::NotAuthenticated => json!({"error": "server_error"}),
        }
    }
}

/// Keeps only the characters RFC 6750 §3 allows in its attribute values
/// (`%x20-21 / %x23-5B / %x5D-7E`).
fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(*c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        .collect()
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge()
            && let Ok(v) = HeaderValue::from_str(&challenge)
        {
            headers.insert(WWW_AUTHENTICATE, v);
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if matches!(self.kind, RejectionKind::Unavailable(_)) {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn reads_bearer_tokens() {
        assert_eq!(
            bearer_token(&headers(&["Bearer abc.def-_~+/="])).unwrap(),
            "abc.def-_~+/="
        );
        assert_eq!(bearer_token(&headers(&["bearer  abc "])).unwrap(), "abc");
        assert!(matches!(
            bearer_token(&headers(&[])),
            Err(RejectionKind::MissingToken)
        ));
        assert!(matches!(
            bearer_token(&headers(&["Basic dXNlcjpwYXNz"])),
            Err(RejectionKind::MissingToken)
        ));
        for bad in [
            &["Bearer"][..],
            &["Bearer "],
            &["Bearer a b"],
            &["Bearer a\"b"],
            &["Bearer ==="],
            &["Bearer a", "Bearer b"],
        ] {
            assert!(
                matches!(
                    bearer_token(&headers(bad)),
                    Err(RejectionKind::InvalidRequest(_))
                ),
                "{bad:?}"
            );
        }
    }

    fn rejection(kind: RejectionKind) -> Rejection {
        Rejection {
            kind,
            realm: "api \"x\"".into(),
            resource_metadata: None,
        }
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        assert_eq!(
            rejection(RejectionKind::MissingToken).challenge().unwrap(),
            r#"Bearer realm="api x""#
        );
        assert_eq!(
            rejection(RejectionKind::InvalidToken(Error::Expired))
                .challenge()
                .unwrap(),
            r#"Bearer realm="api x", error="invalid_token", error_description="the access token has expired""#
        );
        let r = rejection(RejectionKind::InsufficientScope(InsufficientScope {
            required: vec!["a:b".into(), "c".into()],
            all: true,
        }));
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let c = r.challenge().unwrap();
        assert!(
            c.starts_with(r#"Bearer realm="api x", error="insufficient_scope", "#),
            "{c}"
        );
        assert!(c.ends_with(r#", scope="a:b c""#), "{c}");
        let r = rejection(RejectionKind::InvalidRequest("x"));
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(
            r.challenge()
                .unwrap()
                .contains(r#"error="invalid_request""#)
        );
        assert_eq!(
            rejection(RejectionKind::Unavailable(Error::RevocationListStale)).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn challenges_on_401_and_403_name_the_resource_metadata() {
        let url = "https://api.example.com/.well-known/oauth-protected-resource/v1";
        let with_url = |kind| Rejection {
            resource_metadata: Some(url.into()),
            ..rejection(kind)
        };
        let expected = format!(r#", resource_metadata="{url}""#);
        let insufficient = InsufficientScope {
            required: vec!["a".into()],
            all: true,
        };
        for kind in [
            RejectionKind::MissingToken,
            RejectionKind::InvalidToken(Error::Expired),
            RejectionKind::InsufficientScope(insufficient),
        ] {
            let c = with_url(kind).challenge().unwrap();
            assert!(c.ends_with(&expected), "{c}");
        }
        assert_eq!(
            with_url(RejectionKind::MissingToken).challenge().unwrap(),
            format!(r#"Bearer realm="api x"{expected}"#)
        );
        let c = with_url(RejectionKind::InvalidRequest("x"))
            .challenge()
            .unwrap();
        assert!(!c.contains("resource_metadata"), "{c}");
    }

    #[test]
    fn every_error_description_is_a_valid_attribute_value() {
        let errors = [
            Error::Malformed("x"),
            Error::DisallowedAlgorithm,
            Error::InvalidType,
            Error::UnknownKey,
            Error::KeyMismatch,
            Error::InvalidSignature,
            Error::MissingClaim("exp"),
            Error::InvalidClaim("aud"),
            Error::InvalidIssuer,
            Error::InvalidAudience,
            Error::Expired,
            Error::NotYetValid,
            Error::IssuedInFuture,
            Error::Revoked,
        ];
        for e in errors {
            let d = e.to_string();
            assert_eq!(quoted(&d), d);
        }
    }
}
