//! The verifier handle: what one verification does, in which order, and the state every
//! clone shares.
//!
//! The rest of the verifier lives next door, one concern per file: its configuration and the
//! checks on it in `builder.rs`, finding the issuer's endpoints (RFC 8414) in `discovery.rs`,
//! fetching the JWK Set when a token needs it in `key_refresh.rs`, and the revocation polling
//! task in `revocation.rs`.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::OnceCell;
use url::Url;

use crate::builder::VerifierBuilder;
use crate::claims::Claims;
use crate::clock::Clock;
use crate::discovery::Endpoints;
use crate::error::{Error, FetchError};
use crate::keys::KeyCache;
use crate::resource_metadata::{ProtectedResourceMetadata, Published};
use crate::revocation::{self, Revocations};
use crate::token::{Jws, Policy};

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

/// What every clone of a [`Verifier`] shares; built by [`VerifierBuilder::build`].
pub(crate) struct Inner {
    pub(crate) policy: Policy,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) http: reqwest::Client,
    pub(crate) accept_http: bool,
    /// `None` when the keys are static or the JWKS URL was configured.
    pub(crate) discovery_url: Option<Url>,
    pub(crate) endpoints: OnceCell<Endpoints>,
    pub(crate) keys: Arc<KeyCache>,
    pub(crate) revocations: Option<Revocations>,
    pub(crate) realm: String,
    /// `None` when the first audience is no URL a client could fetch metadata from.
    pub(crate) metadata: Option<Published>,
    /// The revocation polling task, aborted when the last clone is dropped.
    pub(crate) poller: Mutex<Option<tokio::task::AbortHandle>>,
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
        VerifierBuilder::new(issuer.into())
    }

    /// Wraps the checked configuration and, with revocation polling, starts its background
    /// task on `poller` (the runtime and the interval), which ends with the last clone.
    pub(crate) fn start(inner: Inner, poller: Option<(tokio::runtime::Handle, Duration)>) -> Self {
        let inner = Arc::new(inner);
        if let Some((runtime, interval)) = poller {
            let task = runtime.spawn(revocation::poll_forever(Arc::downgrade(&inner), interval));
            *inner.poller.lock().unwrap_or_else(PoisonError::into_inner) =
                Some(task.abort_handle());
        }
        Verifier { inner }
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

    /// Whether `other` is this verifier or a clone of it (same keys, policy and revocations).
    pub(crate) fn same_as(&self, other: &Verifier) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
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

    /// The RFC 9728 protected resource metadata of the API this verifier protects: its
    /// resource identifier (the first audience), the issuer, the declared
    /// [`scopes_supported`](VerifierBuilder::scopes_supported), `bearer_methods_supported`
    /// `["header"]` and the optional [`resource_name`](VerifierBuilder::resource_name).
    ///
    /// `None` when the first audience is not an absolute `https` URL without fragment (or an
    /// `http` one the verifier accepts), as RFC 9728 wants of a resource identifier: a bare
    /// name such as `orders-api` has no well-known URL.
    pub fn protected_resource_metadata(&self) -> Option<&ProtectedResourceMetadata> {
        self.inner.metadata.as_ref().map(|m| &m.document)
    }

    /// The absolute URL of the protected resource metadata, which `401` and `403` challenges
    /// name in `resource_metadata` (RFC 9728 §5.1): the
    /// [`resource_metadata_url`](VerifierBuilder::resource_metadata_url) if set, otherwise the
    /// well-known URL of the resource identifier (`https://api.example.com/v1` has
    /// `https://api.example.com/.well-known/oauth-protected-resource/v1`).
    pub fn resource_metadata_url(&self) -> Option<&str> {
        self.inner.metadata.as_ref().map(|m| m.url.as_str())
    }

    /// The metadata as served: the JSON text and the path to serve it at.
    #[cfg(feature = "axum")]
    pub(crate) fn published_metadata(&self) -> Option<&Published> {
        self.inner.metadata.as_ref()
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
