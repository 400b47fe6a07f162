//! The cached JWK Set: on-demand refetching (rate-limited), background refresh when the
//! cached copy is stale, and never losing good keys to a failed fetch. This is the cache and
//! its bookkeeping; the fetches it decides on are made in `key_refresh.rs`.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::error::FetchError;
use crate::jwk::VerificationKey;

/// How long a JWK Set is fresh when the server sends no `max-age`.
pub(crate) const DEFAULT_MAX_AGE: u64 = 300;
/// The longest a JWK Set is considered fresh, whatever `max-age` says.
pub(crate) const MAX_MAX_AGE: u64 = 24 * 60 * 60;

/// One fetched JWK Set, parsed.
#[derive(Debug)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<VerificationKey>,
    pub(crate) etag: Option<String>,
    /// When a verification should trigger a background refresh.
    refresh_at: AtomicI64,
}

impl KeySet {
    pub(crate) fn new(keys: Vec<VerificationKey>, etag: Option<String>, refresh_at: i64) -> Self {
        KeySet {
            keys,
            etag,
            refresh_at: AtomicI64::new(refresh_at),
        }
    }

    pub(crate) fn is_stale(&self, now: i64) -> bool {
        now >= self.refresh_at.load(Ordering::Relaxed)
    }

    pub(crate) fn refresh_at(&self, when: i64) {
        self.refresh_at.store(when, Ordering::Relaxed);
    }
}

/// What the fetch lock guards: when the keys were last fetched and how that went.
#[derive(Debug, Default)]
pub(crate) struct FetchState {
    pub(crate) last_attempt: Option<i64>,
    pub(crate) last_error: Option<Arc<FetchError>>,
}

impl FetchState {
    /// At most one fetch per `min_interval` seconds. A clock that went backwards does not
    /// block fetching until it catches up.
    pub(crate) fn may_fetch(&self, now: i64, min_interval: i64) -> bool {
        match self.last_attempt {
            None => true,
            Some(last) => now < last || now.saturating_sub(last) >= min_interval,
        }
    }
}

#[derive(Debug)]
pub(crate) struct KeyCache {
    current: RwLock<Option<Arc<KeySet>>>,
    pub(crate) fetch: tokio::sync::Mutex<FetchState>,
    refreshing: AtomicBool,
    pub(crate) min_interval: i64,
}

impl KeyCache {
    pub(crate) fn new(initial: Option<KeySet>, min_interval: i64) -> KeyCache {
        KeyCache {
            current: RwLock::new(initial.map(Arc::new)),
            fetch: tokio::sync::Mutex::new(FetchState::default()),
            refreshing: AtomicBool::new(false),
            min_interval,
        }
    }

    pub(crate) fn current(&self) -> Option<Arc<KeySet>> {
        // A panic while holding this lock cannot leave the Option half-written.
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn store(&self, set: Arc<KeySet>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(set);
    }

    /// How long a freshly fetched set stays fresh.
    pub(crate) fn fresh_for(&self, max_age: Option<u64>) -> i64 {
        let floor = u64::try_from(self.min_interval).unwrap_or(1).max(1);
        let secs = max_age
            .unwrap_or(DEFAULT_MAX_AGE)
            .clamp(floor, MAX_MAX_AGE.max(floor));
        i64::try_from(secs).unwrap_or(i64::MAX)
    }

    /// Claims the right to run a background refresh; the guard gives it back on drop.
    pub(crate) fn start_refresh(self: &Arc<Self>) -> Option<RefreshGuard> {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            None
        } else {
            Some(RefreshGuard(Arc::clone(self)))
        }
    }
}

/// Held while a background refresh runs.
#[derive(Debug)]
pub(crate) struct RefreshGuard(Arc<KeyCache>);

impl Drop for RefreshGuard {
    fn drop(&mut self) {
        self.0.refreshing.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit() {
        let mut st = FetchState::default();
        assert!(st.may_fetch(100, 10));
        st.last_attempt = Some(100);
        assert!(!st.may_fetch(100, 10));
        assert!(!st.may_fetch(109, 10));
        assert!(st.may_fetch(110, 10));
        assert!(st.may_fetch(50, 10), "clock went backwards");
    }

    #[test]
    fn freshness_is_clamped() {
        let cache = KeyCache::new(None, 10);
        assert_eq!(cache.fresh_for(None), 300);
        assert_eq!(cache.fresh_for(Some(0)), 10);
        assert_eq!(cache.fresh_for(Some(60)), 60);
        assert_eq!(cache.fresh_for(Some(u64::MAX)), 86_400);
    }

    #[test]
    fn one_refresh_at_a_time() {
        let cache = Arc::new(KeyCache::new(None, 10));
        let guard = cache.start_refresh();
        assert!(guard.is_some());
        assert!(cache.start_refresh().is_none());
        drop(guard);
        assert!(cache.start_refresh().is_some());
    }
}
