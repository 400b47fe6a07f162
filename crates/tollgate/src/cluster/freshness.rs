//! Whether this node's in-memory caches (clients, revocations) are known to follow the
//! database, and the outage policy that follows from it.
//!
//! With one node (SQLite) every change goes through the node itself, so its caches are always
//! current. With several nodes (PostgreSQL) a node follows the others' changes through a
//! change feed; when it loses the feed or cannot reload, it may be missing a deleted client or
//! a removed secret. It then keeps authenticating clients from its cache for the grace period
//! (`database_outage_grace`), because a database restart should not stop every integration,
//! and refuses afterwards (503) until it has reloaded everything.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::clock::UnixTime;

/// Seconds a node that lost the database keeps authenticating clients from its cache, unless
/// `database_outage_grace` says otherwise; also what a [`Freshness`] starts with.
pub const DEFAULT_OUTAGE_GRACE: u64 = 300;

/// `stale_since` while the caches follow the database.
const CURRENT: i64 = i64::MIN;

#[derive(Debug)]
pub struct Freshness {
    /// Unix seconds since when changes may have been missed, or [`CURRENT`].
    stale_since: AtomicI64,
    /// Seconds the cache stays usable after that.
    grace: AtomicU64,
    /// Unix seconds of the last change or full reload from the database, or [`CURRENT`]
    /// before the first (for the metrics: a quiet feed and a dead one look alike otherwise).
    last_heard: AtomicI64,
}

impl Default for Freshness {
    fn default() -> Freshness {
        Freshness {
            stale_since: AtomicI64::new(CURRENT),
            grace: AtomicU64::new(DEFAULT_OUTAGE_GRACE),
            last_heard: AtomicI64::new(CURRENT),
        }
    }
}

impl Freshness {
    pub fn set_grace(&self, secs: u64) {
        self.grace.store(secs, Ordering::Relaxed);
    }

    pub fn grace(&self) -> u64 {
        self.grace.load(Ordering::Relaxed)
    }

    /// Changes may be missed from `now` on. Keeps the earliest such time.
    pub fn mark_stale(&self, now: UnixTime) {
        let _ = self.stale_since.compare_exchange(
            CURRENT,
            now.0.max(CURRENT + 1),
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }

    /// A change or a full reload came from the database at `now`.
    pub fn heard(&self, now: UnixTime) {
        self.last_heard
            .store(now.0.max(CURRENT + 1), Ordering::Relaxed);
    }

    /// When the database last sent a change or answered a full reload (PostgreSQL).
    pub fn last_heard(&self) -> Option<UnixTime> {
        match self.last_heard.load(Ordering::Relaxed) {
            CURRENT => None,
            t => Some(UnixTime(t)),
        }
    }

    /// The caches were reloaded while the change feed was connected.
    pub fn mark_current(&self) {
        self.stale_since.store(CURRENT, Ordering::SeqCst);
    }

    pub fn stale_since(&self) -> Option<UnixTime> {
        match self.stale_since.load(Ordering::SeqCst) {
            CURRENT => None,
            t => Some(UnixTime(t)),
        }
    }

    /// May clients be authenticated from the cache at `now`?
    pub fn usable(&self, now: UnixTime) -> bool {
        match self.stale_since() {
            None => true,
            Some(since) => {
                let stale_for = u64::try_from(now.0.saturating_sub(since.0)).unwrap_or(0);
                stale_for < self.grace()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_runs_from_the_first_sign_of_trouble() {
        let f = Freshness::default();
        f.set_grace(10);
        assert!(f.usable(UnixTime(100)));
        f.mark_stale(UnixTime(100));
        f.mark_stale(UnixTime(105));
        assert_eq!(f.stale_since(), Some(UnixTime(100)));
        assert!(f.usable(UnixTime(109)));
        assert!(!f.usable(UnixTime(110)));
        f.mark_current();
        assert!(f.usable(UnixTime(200)));
    }

    #[test]
    fn zero_grace_refuses_at_once() {
        let f = Freshness::default();
        f.set_grace(0);
        f.mark_stale(UnixTime(100));
        assert!(!f.usable(UnixTime(100)));
    }
}
