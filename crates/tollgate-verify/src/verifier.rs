//! The verifier: configuration, key fetching and caching, and verification.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::claims::Claims;
use crate::clock::{Clock, SystemClock};
use crate::error::{BuildError, Error, FetchError};
use crate::fetch;
use crate::jwk::parse_jwks;
use crate::keys::{KeyCache, KeySet};
use crate::revocation::{self, RevocationPolling, Revocations};
use crate::token::{Jws, Policy};

/// The default clock skew tolerated on `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// The largest leeway a verifier accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The default least time between two fetches of the JWK Set triggered by tokens (unknown
/// `kid`, stale cache).
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// Checks Tollgate's access tokens: cheap to clone, share one per application.
///
/// Built with [`Verifier::builder`]. It fetches the issuer's discovery document and JWK Set
/// on first use (or on [`Verifier::refresh`]), keeps the parsed keys, refetches them when a
/// token names an unknown key (at most once per
/// [`min_refetch_interval`](VerifierBuilder::min_refetch_interval)) or when the cached copy is
/// older than its `Cache-Control: max-age`, and keeps using the keys it has when a refetch
/// fails.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    policy: Policy,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    accept_http: bool,
    /// `None` when the keys are static or the JWKS URL was configured.
    discovery_url: Option<Url>,
    endpoints: OnceCell<Endpoints>,
    keys: Arc<KeyCache>,
    revocations: Option<Revocations>,
    realm: String,
    poller: Mutex<Option<tokio::task::AbortHandle>>,
}

/// Where the keys and the revocation list are.
#[derive(Debug)]
struct Endpoints {
    /// `None` for static keys.
    jwks: Option<Url>,
    revocations: Option<Url>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self
            .poller
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Verifier")
            .field("issuer", &i.policy.issuer)
            .field("audiences", &i.policy.audiences)
            .field("algorithms", &i.policy.algorithms)
            .field("leeway", &i.policy.leeway)
            .field("revocation_polling", &i.revocations.is_some())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Starts configuring a verifier for tokens from `issuer` (the exact `iss` value, such as
    /// `https://auth.example.com`). Unless [`VerifierBuilder::jwks_url`] or
    /// [`VerifierBuilder::static_jwks`] is set, the keys are found through the issuer's RFC 8414
    /// discovery document, whose `issuer` must equal `issuer` exactly.
    pub fn builder(issuer: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder {
            issuer: issuer.into(),
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
        }
    }

    /// Verifies a token (the part after `Bearer `) and returns its claims.
    ///
    /// Checks, in order: the JWS shape and header (`alg` allowed, `typ` `at+jwt`), the
    /// signature with the key named by `kid`, `iss`, `exp`, `nbf`, `iat`, `aud`, the claims
    /// RFC 9068 requires, and, with revocation polling, the revocation list. Scopes are checked
    /// by the caller ([`Claims::require_all`], or the axum layer).
    pub async fn verify(&self, token: &str) -> Result<Claims, Error> {
        let inner = &self.inner;
        let jws = Jws::parse(token, inner.policy.algorithms)?;
        let set = match inner.keys.current() {
            Some(set) => set,
            None => inner.keys_on_demand(None).await?,
        };
        match jws.verify_signature(&set.keys) {
            Err(Error::UnknownKey) => {
                let newer = inner.keys_on_demand(Some(&set)).await?;
                if Arc::ptr_eq(&newer, &set) {
                    return Err(Error::UnknownKey);
                }
                jws.verify_signature(&newer.keys)?;
            }
            result => {
                result?;
                if set.is_stale(inner.clock.now()) {
                    self.refresh_in_background();
                }
            }
        }
        let now = inner.clock.now();
        let claims = jws.claims(&inner.policy, now)?;
        if let Some(revocations) = &inner.revocations {
            revocations.check(&claims, now)?;
        }
        Ok(claims)
    }

    /// Fetches the discovery document (once), the JWK Set, and with revocation polling the
    /// revocation list, now, regardless of the refetch rate limit. Call it at startup to find
    /// configuration mistakes early; verification works without it.
    pub async fn refresh(&self) -> Result<(), FetchError> {
        let inner = &self.inner;
        {
            // Not counted against the refetch rate limit: this is the application asking.
            let mut st = inner.keys.fetch.lock().await;
            if let Some(set) = inner.fetch_keys(None, inner.clock.now()).await? {
                st.last_error = None;
                inner.keys.store(Arc::new(set));
            }
        }
        if inner.revocations.is_some() {
            inner.poll_revocations().await?;
        }
        Ok(())
    }

    /// The issuer tokens must come from.
    pub fn issuer(&self) -> &str {
        &self.inner.policy.issuer
    }

    /// The audiences a token may be meant for.
    pub fn audiences(&self) -> &[String] {
        &self.inner.policy.audiences
    }

    /// The realm used in `WWW-Authenticate` challenges.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    fn refresh_in_background(&self) {
        let Some(guard) = self.inner.keys.start_refresh() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // Not on Tokio: the next on-demand fetch will do.
        };
        let inner = Arc::clone(&self.inner);
        runtime.spawn(async move {
            let _guard = guard;
            let seen = inner.keys.current();
            // Errors are logged and the cached keys kept; nothing else to do here.
            let _ = inner.keys_on_demand(seen.as_ref()).await;
        });
    }
}

impl Inner {
    /// Fetches the keys because `seen` (the set a token was checked against, or `None` when
    /// there is none yet) lacked its key or is stale. Returns the newest set, which is `seen`
    /// itself when nothing changed, the fetch was rate-limited, or it failed.
    async fn keys_on_demand(&self, seen: Option<&Arc<KeySet>>) -> Result<Arc<KeySet>, Error> {
        let mut st = self.keys.fetch.lock().await;
        let current = self.keys.current();
        if let Some(cur) = &current {
            let changed = seen.is_none_or(|s| !Arc::ptr_eq(s, cur));
            if changed {
                return Ok(Arc::clone(cur)); // Fetched while this call waited for the lock.
            }
        }
        let now = self.clock.now();
        let unavailable = |st: &crate::keys::FetchState| {
            Error::KeysUnavailable(st.last_error.clone().unwrap_or_else(|| {
                Arc::new(FetchError::InvalidDocument {
                    url: String::new(),
                    reason: "the keys have not been fetched yet".into(),
                })
            }))
        };
        if self.endpoints_are_static() || !st.may_fetch(now, self.keys.min_interval) {
            return match current {
                Some(cur) => {
                    if let Some(last) = st.last_attempt {
                        cur.refresh_at(last.saturating_add(self.keys.min_interval));
                    }
                    Ok(cur)
                }
                None => Err(unavailable(&st)),
            };
        }
        st.last_attempt = Some(now);
        let etag = current.as_ref().and_then(|c| c.etag.as_deref());
        match self.fetch_keys(etag, now).await {
            Ok(Some(set)) => {
                st.last_error = None;
                let set = Arc::new(set);
                self.keys.store(Arc::clone(&set));
                Ok(set)
            }
            Ok(None) => current.ok_or_else(|| unavailable(&st)),
            Err(e) => {
                tracing::warn!(error = %e, "could not fetch the issuer's signing keys; keeping the cached ones");
                st.last_error = Some(Arc::new(e));
                match current {
                    Some(cur) => {
                        cur.refresh_at(now.saturating_add(self.keys.min_interval));
                        Ok(cur)
                    }
                    None => Err(unavailable(&st)),
                }
            }
        }
    }

    fn endpoints_are_static(&self) -> bool {
        self.endpoints.get().is_some_and(|e| e.jwks.is_none())
    }

    /// GETs the JWK Set. `Ok(None)`: not modified (the current set's freshness is renewed).
    async fn fetch_keys(&self, etag: Option<&str>, now: i64) -> Result<Option<KeySet>, FetchError> {
        let endpoints = self.endpoints().await?;
        let Some(url) = &endpoints.jwks else {
            return Ok(None);
        };
        let fetched = fetch::get(&self.http, url, etag, |r| r).await?;
        let refresh_at = now.saturating_add(self.keys.fresh_for(fetched.max_age));
        let Some(body) = fetched.body else {
            if let Some(cur) = self.keys.current() {
                cur.refresh_at(refresh_at);
            }
            return Ok(None);
        };
        let keys = parse_jwks(&body, self.policy.algorithms).map_err(|reason| match reason {
            "no usable key" => FetchError::NoUsableKeys {
                url: url.to_string(),
            },
            reason => FetchError::InvalidDocument {
                url: url.to_string(),
                reason: reason.into(),
            },
        })?;
        Ok(Some(KeySet::new(keys, fetched.etag, refresh_at)))
    }

    async fn endpoints(&self) -> Result<&Endpoints, FetchError> {
        self.endpoints.get_or_try_init(|| self.discover()).await
    }

    /// Reads the RFC 8414 metadata: `issuer` must match exactly (§3.3), then `jwks_uri` and
    /// Tollgate's `revocation_list_endpoint`.
    async fn discover(&self) -> Result<Endpoints, FetchError> {
        let Some(url) = &self.discovery_url else {
            // Unreachable by construction: without a discovery URL, `endpoints` is set at build.
            return Err(FetchError::InvalidDocument {
                url: String::new(),
                reason: "no discovery URL".into(),
            });
        };
        let fetched = fetch::get(&self.http, url, None, |r| r).await?;
        let invalid = |reason: &str| FetchError::InvalidDocument {
            url: url.to_string(),
            reason: reason.into(),
        };
        let doc: Value = serde_json::from_slice(&fetched.body.unwrap_or_default())
            .map_err(|_| invalid("not JSON"))?;
        let issuer = doc
            .get("issuer")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("no issuer"))?;
        if issuer != self.policy.issuer {
            return Err(FetchError::IssuerMismatch {
                expected: self.policy.issuer.clone(),
                found: issuer.to_owned(),
            });
        }
        let jwks = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("no jwks_uri"))?;
        let jwks = fetch::learnt_url(jwks, url, self.accept_http)?;
        let configured = self
            .revocations
            .as_ref()
            .and_then(|r| r.options.endpoint.as_deref());
        let revocations = match configured
            .or_else(|| doc.get("revocation_list_endpoint").and_then(Value::as_str))
        {
            Some(r) => Some(fetch::learnt_url(r, url, self.accept_http)?),
            None => None,
        };
        Ok(Endpoints {
            jwks: Some(jwks),
            revocations,
        })
    }

    async fn poll_revocations(&self) -> Result<(), FetchError> {
        let Some(revocations) = &self.revocations else {
            return Ok(());
        };
        let _one_at_a_time = revocations.poll.lock().await;
        let endpoint = self
            .endpoints()
            .await?
            .revocations
            .as_ref()
            .ok_or(FetchError::NoRevocationEndpoint)?;
        revocation::poll_once(
            revocations,
            &self.http,
            endpoint,
            self.clock.now(),
            self.policy.leeway,
        )
        .await
    }
}

/// The background task of revocation polling. It holds the verifier weakly and ends when
/// the last clone of the verifier is dropped.
async fn poll_forever(inner: Weak<Inner>, interval: Duration) {
    loop {
        {
            let Some(inner) = inner.upgrade() else {
                return;
            };
            if let Err(e) = inner.poll_revocations().await {
                tracing::warn!(error = %e, "could not read the revocation list; keeping the entries known so far");
            }
        }
        tokio::time::sleep(interval).await;
    }
}

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
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
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
    /// token of a deleted client, fail with [`Error::Revoked`] within a poll interval. Off by
    /// default. Needs a Tokio runtime when [`build`](Self::build) is called.
    pub fn revocation_polling(mut self, polling: RevocationPolling) -> Self {
        self.revocation = Some(polling);
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
        let inner = Arc::new(Inner {
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
            poller: Mutex::new(None),
        });
        if let (Some(runtime), Some(interval)) = (runtime, interval) {
            let task = runtime.spawn(poll_forever(Arc::downgrade(&inner), interval));
            *inner.poller.lock().unwrap_or_else(PoisonError::into_inner) =
                Some(task.abort_handle());
        }
        Ok(Verifier { inner })
    }
}

/// RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
fn discovery_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let path = issuer.path().trim_end_matches('/');
    url.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_url_follows_rfc_8414() {
        let u = |s: &str| discovery_url(&Url::parse(s).unwrap()).to_string();
        assert_eq!(
            u("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            u("https://auth.example.com/"),
            "https://auth.example.com/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            u("https://example.com/tenant/a"),
            "https://example.com/.well-known/oauth-authorization-server/tenant/a"
        );
    }

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
