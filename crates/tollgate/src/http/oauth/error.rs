//! RFC 6749 §5.2 error responses, mapped to HTTP in this one place.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_auth::AuthMethod;
use crate::domain::grant::GrantError;
use crate::domain::limits::Refusal as LimitRefusal;
use crate::domain::scope::INTROSPECT_SCOPE;
use crate::domain::usage;
use crate::http::InternalError;
use crate::service::{CallerError, TokenError};

/// The `error` codes of RFC 6749 §5.2, plus `invalid_target` from RFC 8707 §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    InvalidTarget,
    ServerError,
    /// RFC 6749 §4.1.2.1 defines it for the authorization endpoint; it is used here, as
    /// commonly done, for a 503 while the server cannot vouch for its data.
    TemporarilyUnavailable,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::InvalidTarget => "invalid_target",
            OAuthErrorCode::ServerError => "server_error",
            OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// What the token endpoint's usage counts call this refusal.
    pub fn refusal(self) -> usage::Refusal {
        match self {
            OAuthErrorCode::InvalidRequest => usage::Refusal::InvalidRequest,
            OAuthErrorCode::InvalidClient => usage::Refusal::InvalidClient,
            OAuthErrorCode::UnauthorizedClient => usage::Refusal::UnauthorizedClient,
            OAuthErrorCode::UnsupportedGrantType => usage::Refusal::UnsupportedGrantType,
            OAuthErrorCode::InvalidScope => usage::Refusal::InvalidScope,
            OAuthErrorCode::InvalidTarget => usage::Refusal::InvalidTarget,
            OAuthErrorCode::ServerError => usage::Refusal::ServerError,
            OAuthErrorCode::TemporarilyUnavailable => usage::Refusal::TemporarilyUnavailable,
        }
    }
}

/// An error answer of an OAuth endpoint. Its HTTP status is decided in one place,
/// [`OAuthError::status`], from the error and how the client authenticated.
#[derive(Debug)]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    /// Human-readable; RFC 6749 §5.2 limits it to %x20-21 / %x23-5B / %x5D-7E, which
    /// [`OAuthError::new`] enforces.
    pub description: Cow<'static, str>,
    /// How the client authenticated, once known: it decides the status of `invalid_client`.
    method: Option<AuthMethod>,
    refusal: Option<Refusal>,
    internal: Option<String>,
}

/// Refusals whose status the error code alone does not tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// The client authenticated but may not use this endpoint.
    Forbidden,
    /// The endpoint takes another HTTP method.
    MethodNotAllowed,
    /// The body is larger than the endpoint reads.
    TooLarge,
    /// Over a rate limit, or backing off after failed authentications: 429, retryable.
    RateLimited(LimitRefusal),
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<Cow<'static, str>>) -> OAuthError {
        let description: Cow<'static, str> = description.into();
        let clean = description
            .chars()
            .all(|c| matches!(c as u32, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e));
        let description = if clean {
            description
        } else {
            Cow::Owned(
                description
                    .chars()
                    .map(|c| match c as u32 {
                        0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e => c,
                        _ => '?',
                    })
                    .collect(),
            )
        };
        OAuthError {
            code,
            description,
            method: None,
            refusal: None,
            internal: None,
        }
    }

    /// The HTTP status of this answer.
    pub fn status(&self) -> StatusCode {
        match (self.refusal, self.code) {
            (Some(Refusal::Forbidden), _) => StatusCode::FORBIDDEN,
            (Some(Refusal::MethodNotAllowed), _) => StatusCode::METHOD_NOT_ALLOWED,
            (Some(Refusal::TooLarge), _) => StatusCode::PAYLOAD_TOO_LARGE,
            (Some(Refusal::RateLimited(_)), _) => StatusCode::TOO_MANY_REQUESTS,
            // RFC 6749 §5.2 mandates 401 + challenge only when the Authorization header was
            // used (or none was given); a failed body authentication is a plain 400, which
            // client libraries report as the OAuth error it is rather than as an HTTP
            // challenge.
            (None, OAuthErrorCode::InvalidClient) if self.method == Some(AuthMethod::Post) => {
                StatusCode::BAD_REQUEST
            }
            (None, OAuthErrorCode::InvalidClient) => StatusCode::UNAUTHORIZED,
            (None, OAuthErrorCode::ServerError) => StatusCode::INTERNAL_SERVER_ERROR,
            (None, OAuthErrorCode::TemporarilyUnavailable) => StatusCode::SERVICE_UNAVAILABLE,
            (None, _) => StatusCode::BAD_REQUEST,
        }
    }

    /// Records how the client authenticated (see [`OAuthError::status`]).
    pub fn by(mut self, method: AuthMethod) -> OAuthError {
        self.method = Some(method);
        self
    }

    /// A method the endpoint does not take (the `Allow` header says which it does).
    pub fn method_not_allowed() -> OAuthError {
        let mut e = OAuthError::invalid_request(
            "this endpoint does not take this HTTP method; the Allow header lists those it takes",
        );
        e.refusal = Some(Refusal::MethodNotAllowed);
        e
    }

    /// A body larger than the endpoint reads: `invalid_request`, with status 413.
    pub fn too_large(description: impl Into<Cow<'static, str>>) -> OAuthError {
        let mut e = OAuthError::invalid_request(description);
        e.refusal = Some(Refusal::TooLarge);
        e
    }

    /// A request refused by the rate limits before its credentials were checked
    /// (`temporarily_unavailable`, the retryable code, with status 429).
    pub fn rate_limited(r: LimitRefusal) -> OAuthError {
        OAuthError::limited(crate::http::limits::describe(&r), r)
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(OAuthErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client() -> OAuthError {
        OAuthError::new(
            OAuthErrorCode::InvalidClient,
            "client authentication failed (unknown client, wrong secret, or no credentials)",
        )
    }

    /// The database is away (or this node lost track of it for longer than its outage grace).
    pub fn unavailable(cause: Option<String>) -> OAuthError {
        let mut e = OAuthError::new(
            OAuthErrorCode::TemporarilyUnavailable,
            "the server cannot reach its database right now; try again shortly",
        );
        e.internal = cause;
        e
    }

    /// A limit reached (a rate limit or the client's quota): 429 with `temporarily_unavailable`,
    /// the project's code for every limit, and the headers `limits::set_headers` writes.
    pub fn limited(description: String, r: LimitRefusal) -> OAuthError {
        let mut e = OAuthError::new(OAuthErrorCode::TemporarilyUnavailable, description);
        e.refusal = Some(Refusal::RateLimited(r));
        e
    }

    pub fn internal(cause: String) -> OAuthError {
        let mut e = OAuthError::new(
            OAuthErrorCode::ServerError,
            "the server could not complete the request",
        );
        e.internal = Some(cause);
        e
    }
}

/// The log's explanation of a 503 from the outage policy.
fn e_unavailable() -> String {
    "the client cache may be out of date: the database has been unreachable for longer than \
     database_outage_grace"
        .to_owned()
}

impl From<TokenError> for OAuthError {
    fn from(e: TokenError) -> OAuthError {
        match e {
            TokenError::InvalidClient => OAuthError::invalid_client(),
            TokenError::Grant(GrantError::InvalidScope(d)) => {
                OAuthError::new(OAuthErrorCode::InvalidScope, d)
            }
            TokenError::Grant(GrantError::InvalidTarget(d)) => {
                OAuthError::new(OAuthErrorCode::InvalidTarget, d)
            }
            TokenError::Grant(GrantError::InvalidTenant(d)) => OAuthError::invalid_request(d),
            TokenError::Signing(e) => OAuthError::internal(e.to_string()),
            TokenError::Unavailable => OAuthError::unavailable(Some(e_unavailable())),
            TokenError::Quota(r) => OAuthError::limited(
                format!(
                    "the client's quota of {} tokens per {} is used up; it resets at {}",
                    r.quota.tokens,
                    r.quota.per.as_str(),
                    r.resets_at
                ),
                LimitRefusal {
                    policy: "quota",
                    quota: r.quota.tokens,
                    window_secs: r.quota.per.secs().unsigned_abs(),
                    retry_after_secs: r.retry_after,
                },
            ),
        }
    }
}

impl From<CallerError> for OAuthError {
    fn from(e: CallerError) -> OAuthError {
        match e {
            CallerError::InvalidClient => OAuthError::invalid_client(),
            CallerError::NotAllowed => {
                let mut e = OAuthError::new(
                    OAuthErrorCode::UnauthorizedClient,
                    format!(
                        "this endpoint is for clients with the scope {INTROSPECT_SCOPE} (or tollgate:admin)"
                    ),
                );
                e.refusal = Some(Refusal::Forbidden);
                e
            }
            // RFC 7009 §2.1: a client may revoke only the tokens issued to it.
            CallerError::NotOwner => OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "the token was issued to another client",
            ),
            CallerError::Store(e) if e.is_unavailable() => {
                OAuthError::unavailable(Some(e.to_string()))
            }
            CallerError::Store(e) => OAuthError::internal(e.to_string()),
            CallerError::Unavailable => OAuthError::unavailable(Some(e_unavailable())),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": self.code.as_str(),
            "error_description": self.description,
        });
        let status = self.status();
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tollgate\", charset=\"UTF-8\""),
            );
        }
        if let Some(Refusal::RateLimited(r)) = &self.refusal {
            crate::http::limits::set_headers(headers, r);
        }
        if let Some(cause) = self.internal {
            response.extensions_mut().insert(InternalError(cause));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_only_carry_allowed_characters() {
        let e = OAuthError::invalid_request("bad \"quote\" and \\ and é");
        assert_eq!(e.description, "bad ?quote? and ? and ?");
    }

    #[test]
    fn usage_counts_a_refusal_under_the_code_it_is_answered_with() {
        use crate::keys::KeyError;
        let errors = [
            TokenError::InvalidClient,
            TokenError::Grant(GrantError::InvalidScope("s".into())),
            TokenError::Grant(GrantError::InvalidTarget("t".into())),
            TokenError::Grant(GrantError::InvalidTenant("t".into())),
            TokenError::Signing(KeyError::Sign),
            TokenError::Unavailable,
            TokenError::Quota(crate::domain::quota::QuotaRefusal::new(
                crate::domain::quota::Quota::parse(3, "hour", "enforce").unwrap(),
                crate::clock::UnixTime(0),
            )),
        ];
        for e in errors {
            let counted = e.refusal();
            let answered = OAuthError::from(e).code;
            assert_eq!(answered.as_str(), counted.as_str());
            assert_eq!(answered.refusal(), counted);
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(
            OAuthError::invalid_client().status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            OAuthError::invalid_client().by(AuthMethod::Basic).status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            OAuthError::invalid_client().by(AuthMethod::Post).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            OAuthError::new(OAuthErrorCode::InvalidScope, "x").status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            OAuthError::from(CallerError::NotAllowed)
                .by(AuthMethod::Post)
                .status(),
            StatusCode::FORBIDDEN
        );
        let r = OAuthError::invalid_client().into_response();
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
        let r = OAuthError::method_not_allowed().into_response();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn a_used_up_quota_is_429_with_retry_after_and_ratelimit_fields() {
        use crate::clock::UnixTime;
        use crate::domain::quota::{Quota, QuotaRefusal};
        // 2026-12-03T11:59:30Z
        let refused = QuotaRefusal::new(
            Quota::parse(1000, "hour", "enforce").unwrap(),
            UnixTime(1_796_299_170),
        );
        let e = OAuthError::from(TokenError::Quota(refused));
        assert_eq!(e.code, OAuthErrorCode::TemporarilyUnavailable);
        assert_eq!(
            e.description,
            "the client's quota of 1000 tokens per hour is used up; it resets at \
             2026-12-03T12:00:00Z"
        );
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let h = |n: &str| r.headers()[n].to_str().unwrap().to_owned();
        assert_eq!(h("retry-after"), "30");
        assert_eq!(h("ratelimit-policy"), "\"quota\";q=1000;w=3600");
        assert_eq!(h("ratelimit"), "\"quota\";r=0;t=30");
        assert!(!r.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
