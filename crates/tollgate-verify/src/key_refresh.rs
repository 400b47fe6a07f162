//! When and how the verifier fetches the JWK Set: when a token names a key the cached set
//! lacks, or the set is stale, at most once per minimum refetch interval, and never dropping
//! the keys it holds because a fetch failed. The cache itself is in `keys.rs`.

use std::sync::Arc;

use crate::error::{Error, FetchError};
use crate::fetch;
use crate::jwk::parse_jwks;
use crate::keys::{FetchState, KeySet};
use crate::verifier::Inner;

impl Inner {
    /// Fetches the keys because `seen` (the set a token was checked against, or `None` when
    /// there is none yet) lacked its key or is stale. Returns the newest set, which is `seen`
    /// itself when nothing changed, the fetch was rate-limited, or it failed.
    pub(crate) async fn keys_on_demand(
        &self,
        seen: Option<&Arc<KeySet>>,
    ) -> Result<Arc<KeySet>, Error> {
        let mut st = self.keys.fetch.lock().await;
        let current = self.keys.current();
        if let Some(cur) = &current {
            let changed = seen.is_none_or(|s| !Arc::ptr_eq(s, cur));
            if changed {
                return Ok(Arc::clone(cur)); // Fetched while this call waited for the lock.
            }
        }
        let now = self.clock.now();
        let unavailable = |st: &FetchState| {
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

    /// GETs the JWK Set. `Ok(None)`: not modified (the current set's freshness is renewed).
    pub(crate) async fn fetch_keys(
        &self,
        etag: Option<&str>,
        now: i64,
    ) -> Result<Option<KeySet>, FetchError> {
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
}
