//! What can go wrong: building a verifier, fetching keys, and verifying a token.

use std::fmt;
use std::sync::Arc;

/// Why a token was not accepted.
///
/// Every variant but [`Error::KeysUnavailable`] and [`Error::RevocationListStale`] means the
/// token itself is bad (answer `401 invalid_token`); those two mean the verifier could not
/// decide (answer `503`), see [`Error::is_token_error`]. The `Display` text never contains
/// anything taken from the token, so it is safe to send back as an `error_description`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is not a compact JWS with a readable header, or it is too long.
    #[error("the access token is malformed ({0})")]
    Malformed(&'static str),
    /// The header's `alg` is not one of the allowed algorithms (this is where `none` and
    /// `HS256` end up).
    #[error("the access token is signed with an algorithm that is not accepted")]
    DisallowedAlgorithm,
    /// The header's `typ` is missing or is not `at+jwt` (RFC 9068 §4).
    #[error("the token is not a JWT access token (typ must be at+jwt)")]
    InvalidType,
    /// No key of the issuer has the token's `kid`, even after refetching the keys (within
    /// the refetch rate limit).
    #[error("the access token is signed with an unknown key")]
    UnknownKey,
    /// The key named by `kid` is for another algorithm than the header's `alg`.
    #[error("the access token's algorithm does not match its key")]
    KeyMismatch,
    /// The signature does not verify.
    #[error("the access token's signature is invalid")]
    InvalidSignature,
    /// A claim RFC 9068 requires is absent.
    #[error("the access token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an unusable value, or the claims are not a JSON
    /// object.
    #[error("the access token's `{0}` claim is invalid")]
    InvalidClaim(&'static str),
    /// `iss` is not exactly the configured issuer.
    #[error("the access token was issued by another issuer")]
    InvalidIssuer,
    /// `aud` holds none of the expected audiences.
    #[error("the access token is meant for another audience")]
    InvalidAudience,
    /// `exp` has passed (beyond the leeway).
    #[error("the access token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the access token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("the access token was issued in the future")]
    IssuedInFuture,
    /// The token, or every token of its client, was revoked (revocation polling only).
    #[error("the access token has been revoked")]
    Revoked,
    /// Revocation polling is configured to fail closed and the list has not been refreshed
    /// for too long.
    #[error("the revocation list is out of date")]
    RevocationListStale,
    /// No signing key could be obtained from the issuer yet.
    #[error("the issuer's signing keys are unavailable: {0}")]
    KeysUnavailable(#[source] Arc<FetchError>),
}

impl Error {
    /// `true` when the token was judged and found bad (`401`), `false` when the verifier
    /// could not judge it (keys or revocation list unavailable: `503`).
    pub fn is_token_error(&self) -> bool {
        !matches!(self, Error::KeysUnavailable(_) | Error::RevocationListStale)
    }
}

/// Fetching the discovery document, the JWK Set or the revocation list failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The request failed: connection, TLS, timeout.
    #[error("request to {url} failed: {source}")]
    Transport {
        /// The URL requested.
        url: String,
        /// What reqwest reported.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an unexpected status.
    #[error("{url} answered HTTP {status}{}", detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The `error_description` (or `error`, or problem `detail`) of a JSON error body.
        detail: Option<String>,
    },
    /// The response body was larger than this library accepts.
    #[error("the response from {url} is too large")]
    TooLarge {
        /// The URL requested.
        url: String,
    },
    /// The response was not the expected JSON document.
    #[error("the response from {url} is invalid: {reason}")]
    InvalidDocument {
        /// The URL requested.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The discovery document names another issuer than the configured one (RFC 8414 §3.3).
    #[error("the discovery document's issuer {found:?} is not the configured issuer {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The `issuer` in the document.
        found: String,
    },
    /// A URL learnt from discovery is not `https` (and not on the loopback interface).
    #[error("refusing to use {url}: not https")]
    InsecureUrl {
        /// The URL.
        url: String,
    },
    /// The JWK Set holds no key this verifier can use.
    #[error("the JWK Set at {url} has no usable key")]
    NoUsableKeys {
        /// Where the JWK Set came from.
        url: String,
    },
    /// The revocation list endpoint is neither configured nor advertised in discovery.
    #[error(
        "no revocation list endpoint: the discovery document has no revocation_list_endpoint \
         and none is configured"
    )]
    NoRevocationEndpoint,
}

/// The verifier's configuration is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A URL does not parse, or is not allowed where it is used.
    #[error("invalid {what} URL {url:?}: {reason}")]
    InvalidUrl {
        /// Which URL: `issuer`, `JWKS`, `revocation list`, `resource metadata`.
        what: &'static str,
        /// The value given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A URL uses `http` on a non-loopback host; see
    /// [`VerifierBuilder::danger_accept_http`](crate::VerifierBuilder::danger_accept_http).
    #[error(
        "the {what} URL {url:?} is not https; plain http is accepted only on the loopback \
         interface (or with danger_accept_http)"
    )]
    InsecureUrl {
        /// Which URL.
        what: &'static str,
        /// The value given.
        url: String,
    },
    /// No expected audience: every verifier must check `aud`.
    #[error("at least one expected audience is required")]
    NoAudience,
    /// An audience is empty.
    #[error("an expected audience is empty")]
    EmptyAudience,
    /// The allowed algorithm set is empty.
    #[error("at least one algorithm must be allowed")]
    NoAlgorithm,
    /// The leeway is above [`MAX_LEEWAY`](crate::MAX_LEEWAY).
    #[error("the leeway may be at most {max} seconds")]
    LeewayTooLarge {
        /// The largest allowed leeway in seconds.
        max: u64,
    },
    /// An interval is below one second.
    #[error("the {0} must be at least one second")]
    IntervalTooShort(&'static str),
    /// The realm holds characters a `WWW-Authenticate` header cannot carry.
    #[error("the realm must be printable ASCII")]
    InvalidRealm,
    /// Protected resource metadata was configured
    /// ([`VerifierBuilder::scopes_supported`](crate::VerifierBuilder::scopes_supported) and
    /// the like) but the first audience cannot be a resource identifier (RFC 9728 §1.2).
    #[error("the audience {audience:?} cannot be a protected resource identifier: {reason}")]
    InvalidResource {
        /// The first audience.
        audience: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A declared scope is not an RFC 6749 §3.3 `scope-token` (empty, or with a space, `"`
    /// or `\`).
    #[error("the scope {0:?} is not a valid scope name")]
    InvalidScope(String),
    /// The static JWK Set does not parse or has no usable key.
    #[error("the static JWK Set is unusable: {0}")]
    InvalidJwks(&'static str),
    /// Revocation polling needs a client id and secret.
    #[error("revocation polling needs a client id and a client secret")]
    MissingCredentials,
    /// Revocation polling was asked for outside a Tokio runtime, which it needs for its
    /// background task.
    #[error("revocation polling must be configured from within a Tokio runtime")]
    NoRuntime,
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// The token is valid but lacks a scope the operation needs (RFC 6750 §3.1
/// `insufficient_scope`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct InsufficientScope {
    pub(crate) required: Vec<String>,
    pub(crate) all: bool,
}

impl InsufficientScope {
    /// The scopes of the requirement that failed.
    pub fn required(&self) -> &[String] {
        &self.required
    }

    /// `true` if every one of [`required`](Self::required) is needed, `false` if any one is
    /// enough.
    pub fn needs_all(&self) -> bool {
        self.all
    }

    /// The scopes, space-delimited, as in the `scope` attribute of a `WWW-Authenticate`
    /// challenge.
    pub fn scope_string(&self) -> String {
        self.required.join(" ")
    }
}

impl fmt::Display for InsufficientScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let which = if self.all || self.required.len() < 2 {
            "requires the scope(s)"
        } else {
            "requires one of the scopes"
        };
        write!(f, "the operation {which} {}", self.scope_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_availability_errors_are_not_token_errors() {
        assert!(Error::Expired.is_token_error());
        assert!(Error::Revoked.is_token_error());
        assert!(!Error::RevocationListStale.is_token_error());
        assert!(
            !Error::KeysUnavailable(Arc::new(FetchError::NoRevocationEndpoint)).is_token_error()
        );
    }

    #[test]
    fn insufficient_scope_reads_well() {
        let all = InsufficientScope {
            required: vec!["a".into(), "b".into()],
            all: true,
        };
        assert_eq!(all.to_string(), "the operation requires the scope(s) a b");
        assert_eq!(all.scope_string(), "a b");
        let any = InsufficientScope {
            required: vec!["a".into(), "b".into()],
            all: false,
        };
        assert_eq!(
            any.to_string(),
            "the operation requires one of the scopes a b"
        );
    }
}
