//! Configuring a verifier: the options, their defaults, and the checks [`VerifierBuilder::build`]
//! makes so that a mistake shows at startup rather than as refused tokens.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::clock::{Clock, SystemClock};
use crate::discovery::{Endpoints, discovery_url};
use crate::error::BuildError;
use crate::fetch;
use crate::jwk::parse_jwks;
use crate::keys::{KeyCache, KeySet};
use crate::resource_metadata::{self, MetadataOptions};
use crate::revocation::{RevocationPolling, Revocations};
use crate::token::Policy;
use crate::verifier::{Inner, Verifier};

/// The default clock skew tolerated on `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// The largest leeway a verifier accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The default least time between two fetches of the JWK Set triggered by tokens (unknown
/// `kid`, stale cache).
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// Configures a [`Verifier`]; see [`Verifier::builder`].
#[must_use]
pub struct VerifierBuilder {
    issuer: String,
    audiences: Vec<String>,
    jwks_url: Option<String>,
    static_jwks: Option<String>,
    leeway: Duration,
    algorithms: Vec<Algorithm>,
    min_refetch_interval: Duration,
    accept_http: bool,
    realm: Option<String>,
    clock: Arc<dyn Clock>,
    http: Option<reqwest::Client>,
    revocation: Option<RevocationPolling>,
    metadata: MetadataOptions,
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("jwks_url", &self.jwks_url)
            .field("static_jwks", &self.static_jwks.is_some())
            .field("leeway", &self.leeway)
            .field("algorithms", &self.algorithms)
            .field("min_refetch_interval", &self.min_refetch_interval)
            .field("accept_http", &self.accept_http)
            .field("realm", &self.realm)
            .field("revocation", &self.revocation)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    /// The defaults; see [`Verifier::builder`].
    pub(crate) fn new(issuer: String) -> Self {
        VerifierBuilder {
            issuer,
            audiences: Vec::new(),
            jwks_url: None,
            static_jwks: None,
            leeway: DEFAULT_LEEWAY,
            algorithms: Algorithm::ALL.to_vec(),
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            accept_http: false,
            realm: None,
            clock: Arc::new(SystemClock),
            http: None,
            revocation: None,
            metadata: MetadataOptions::default(),
        }
    }

    /// Adds an audience tokens may be meant for (`aud` must hold at least one of them).
    /// Required: there is no "any audience" mode.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Adds several audiences; see [`audience`](Self::audience).
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }

    /// Fetches the keys from this JWK Set URL instead of the one discovery names (no
    /// discovery request is made).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// Uses the keys of this JWK Set (JSON text) and never fetches any: for tests, or
    /// deployments that ship the keys with the application.
    pub fn static_jwks(mut self, jwks_json: impl Into<String>) -> Self {
        self.static_jwks = Some(jwks_json.into());
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`; default [`DEFAULT_LEEWAY`], at most
    /// [`MAX_LEEWAY`]. Sub-second parts are ignored.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The algorithms tokens may use; default all of [`Algorithm::ALL`]. Keys of other
    /// algorithms in the JWK Set are ignored.
    pub fn algorithms<I: IntoIterator<Item = Algorithm>>(mut self, algorithms: I) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// The least time between two fetches of the JWK Set that tokens can trigger (a token
    /// naming an unknown key, or a stale cache); default [`DEFAULT_MIN_REFETCH_INTERVAL`], at
    /// least one second. This is what stops a flood of tokens with made-up `kid`s from
    /// turning into a flood of requests to the issuer.
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// Accepts plain `http` URLs for the issuer, discovery, keys and revocation list on any
    /// host. Without it, `http` is accepted only on the loopback interface (`127.0.0.0/8`,
    /// `::1`, `localhost`). Anyone on the network path could then substitute their own
    /// keys: use it only on a network you trust completely.
    pub fn danger_accept_http(mut self) -> Self {
        self.accept_http = true;
        self
    }

    /// The realm of `WWW-Authenticate` challenges (axum integration); default: the first
    /// audience.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Where the time comes from; default [`SystemClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The HTTP client for fetching keys and the revocation list. The default one follows no
    /// redirects and times out after 10 seconds; one supplied here is used as it is.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Polls Tollgate's revocation list in the background so revoked tokens, and every
    /// token of a deleted client, fail with [`Error::Revoked`](crate::Error::Revoked) within a
    /// poll interval. Off by default. Needs a Tokio runtime when [`build`](Self::build) is
    /// called.
    pub fn revocation_polling(mut self, polling: RevocationPolling) -> Self {
        self.revocation = Some(polling);
        self
    }

    /// Declares the scopes the API's routes need, for the `scopes_supported` of its protected
    /// resource metadata (RFC 9728 §2; see [`Verifier::protected_resource_metadata`]). Calls
    /// add up; duplicates are dropped. Declared rather than gathered from the layers so the
    /// document is complete before the first route is built and includes the scopes a
    /// handler checks itself (per GraphQL field, say).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes = scopes.into_iter().map(Into::into);
        self.metadata.scopes_supported.extend(scopes);
        self
    }

    /// A human-readable name of the API for its protected resource metadata
    /// (`resource_name`, RFC 9728 §2).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.metadata.resource_name = Some(name.into());
        self
    }

    /// Where clients can fetch the protected resource metadata, when that is not the
    /// well-known URL derived from the resource identifier (the first audience): for an API
    /// reached at another public origin than its identifier. Challenges then name this URL
    /// (`resource_metadata`) and [`Verifier::metadata_router`] serves the document at its
    /// path.
    pub fn resource_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.metadata.url = Some(url.into());
        self
    }

    /// Checks the configuration and builds the verifier. Makes no network request: keys are
    /// fetched on first use or by [`Verifier::refresh`]. With revocation polling, starts its
    /// background task.
    pub fn build(self) -> Result<Verifier, BuildError> {
        let accept_http = self.accept_http;
        let issuer_url = fetch::configured_url("issuer", &self.issuer, accept_http)?;
        if issuer_url.query().is_some() || issuer_url.fragment().is_some() {
            return Err(BuildError::InvalidUrl {
                what: "issuer",
                url: self.issuer,
                reason: "an issuer has no query or fragment (RFC 8414 §2)",
            });
        }
        if self.audiences.is_empty() {
            return Err(BuildError::NoAudience);
        }
        if self.audiences.iter().any(String::is_empty) {
            return Err(BuildError::EmptyAudience);
        }
        let algorithms: AlgorithmSet = self.algorithms.iter().copied().collect();
        if algorithms.is_empty() {
            return Err(BuildError::NoAlgorithm);
        }
        if self.leeway > MAX_LEEWAY {
            return Err(BuildError::LeewayTooLarge {
                max: MAX_LEEWAY.as_secs(),
            });
        }
        if self.min_refetch_interval < Duration::from_secs(1) {
            return Err(BuildError::IntervalTooShort("minimum refetch interval"));
        }
        let realm = match self.realm {
            Some(r) => r,
            // Never empty here: the audiences were checked above.
            None => self.audiences.first().cloned().unwrap_or_default(),
        };
        if !realm.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(BuildError::InvalidRealm);
        }
        // Never empty here either.
        let resource = self.audiences.first().map_or("", String::as_str);
        let metadata =
            resource_metadata::publish(self.metadata, &self.issuer, resource, accept_http)?;
        let min_interval = i64::try_from(self.min_refetch_interval.as_secs()).unwrap_or(i64::MAX);
        let http = match self.http {
            Some(c) => c,
            None => fetch::default_client()?,
        };

        let revocation_endpoint = match self.revocation.as_ref() {
            Some(r) => {
                if r.client_id.is_empty() || r.client_secret.is_empty() {
                    return Err(BuildError::MissingCredentials);
                }
                if r.interval < Duration::from_secs(1) {
                    return Err(BuildError::IntervalTooShort("revocation poll interval"));
                }
                r.endpoint
                    .as_deref()
                    .map(|u| fetch::configured_url("revocation list", u, accept_http))
                    .transpose()?
            }
            None => None,
        };
        let runtime = match &self.revocation {
            Some(_) => {
                Some(tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?)
            }
            None => None,
        };

        let keys = KeyCache::new(None, min_interval);
        let (discovery_url, endpoints) = if let Some(jwks) = &self.static_jwks {
            let parsed =
                parse_jwks(jwks.as_bytes(), algorithms).map_err(BuildError::InvalidJwks)?;
            keys.store(Arc::new(KeySet::new(parsed, None, i64::MAX)));
            let e = Endpoints {
                jwks: None,
                revocations: revocation_endpoint,
            };
            (None, OnceCell::new_with(Some(e)))
        } else if let Some(jwks) = &self.jwks_url {
            let e = Endpoints {
                jwks: Some(fetch::configured_url("JWKS", jwks, accept_http)?),
                revocations: revocation_endpoint,
            };
            (None, OnceCell::new_with(Some(e)))
        } else {
            (Some(discovery_url(&issuer_url)), OnceCell::new())
        };

        let interval = self.revocation.as_ref().map(|r| r.interval);
        let inner = Inner {
            policy: Policy {
                issuer: self.issuer,
                audiences: self.audiences,
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
                algorithms,
            },
            clock: self.clock,
            http,
            accept_http,
            discovery_url,
            endpoints,
            keys: Arc::new(keys),
            revocations: self.revocation.map(Revocations::new),
            realm,
            metadata,
            poller: Mutex::new(None),
        };
        Ok(Verifier::start(inner, runtime.zip(interval)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> VerifierBuilder {
        Verifier::builder("https://auth.example.com").audience("https://api.example.com")
    }

    #[test]
    fn configuration_is_checked() {
        assert!(builder().build().is_ok());
        let err = |b: VerifierBuilder| b.build().unwrap_err().to_string();
        assert!(err(Verifier::builder("https://auth.example.com")).contains("audience"));
        assert!(err(builder().audience("")).contains("empty"));
        assert!(err(builder().algorithms([])).contains("algorithm"));
        assert!(err(builder().leeway(Duration::from_secs(301))).contains("300"));
        assert!(err(builder().min_refetch_interval(Duration::ZERO)).contains("interval"));
        assert!(err(builder().realm("a\"\nb")).contains("realm"));
        assert!(
            err(Verifier::builder("http://auth.example.com").audience("a")).contains("not https")
        );
        assert!(
            Verifier::builder("http://auth.example.com")
                .audience("a")
                .danger_accept_http()
                .build()
                .is_ok()
        );
        assert!(
            Verifier::builder("http://127.0.0.1:8080")
                .audience("a")
                .build()
                .is_ok()
        );
        assert!(err(Verifier::builder("https://a.example/?x=1").audience("a")).contains("query"));
        assert!(err(builder().jwks_url("http://a.example/jwks")).contains("not https"));
        assert!(err(builder().static_jwks("{}")).contains("JWK Set"));
        assert!(
            err(builder().revocation_polling(RevocationPolling::new("", "s")))
                .contains("client id")
        );
        assert!(err(builder().scopes_supported(["a b"])).contains("scope"));
        assert!(err(builder().resource_metadata_url("http://x.example/m")).contains("not https"));
        let named = Verifier::builder("https://auth.example.com").audience("orders-api");
        assert!(named.build().is_ok());
        let named = Verifier::builder("https://auth.example.com").audience("orders-api");
        assert!(err(named.resource_name("Orders")).contains("resource identifier"));
    }

    #[test]
    fn revocation_polling_needs_a_runtime() {
        let e = builder()
            .revocation_polling(RevocationPolling::new("id", "secret"))
            .build()
            .unwrap_err();
        assert!(matches!(e, BuildError::NoRuntime));
    }

    #[test]
    fn debug_prints_no_secret() {
        let b = builder().revocation_polling(RevocationPolling::new("id", "hunter2-secret"));
        let dbg = format!("{b:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
    }
}
