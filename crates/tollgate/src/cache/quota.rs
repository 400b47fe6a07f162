//! A client's quota on its cache entry, with what the database says of the current window.
//!
//! The tokens a client used in a window are the cluster's stored sum for it (read by the
//! upkeep right after each write-behind, one query for every client with a quota) plus this
//! node's counts not yet written (the token counters' slots of the window's hours). The
//! stored sums are kept for the current hour and the current UTC day, each an `AtomicU64`
//! packing the window (high 32 bits, plus one so that zero means none) and the count, so a
//! quota changed from per hour to per day keeps counting right. A client without a quota has
//! no [`QuotaState`]: its token requests pay one atomic load for quotas.

use std::sync::atomic::{AtomicU64, Ordering};

use super::CachedClient;
use crate::clock::UnixTime;
use crate::domain::quota::{Quota, QuotaPer, Window};
use crate::domain::usage::Hour;

#[derive(Debug)]
pub struct QuotaState {
    pub quota: Quota,
    /// The stored sum of the current hour ...
    hour: AtomicU64,
    /// ... and of the current UTC day.
    day: AtomicU64,
    /// The last window whose excess was logged (same packing, count zero).
    warned: AtomicU64,
}

fn tag(window: Window) -> u64 {
    u64::try_from(window.index.saturating_add(1)).map_or(1, |t| t.clamp(1, u64::from(u32::MAX)))
}

fn pack(window: Window, count: u64) -> u64 {
    (tag(window) << 32) | count.min(u64::from(u32::MAX))
}

/// The count `slot` holds for `window`, zero if it holds another window.
fn count_in(slot: &AtomicU64, window: Window) -> u64 {
    let v = slot.load(Ordering::Relaxed);
    if v >> 32 == tag(window) {
        v & u64::from(u32::MAX)
    } else {
        0
    }
}

impl QuotaState {
    /// A fresh state, keeping the stored sums `previous` (the entry it replaces) had.
    pub fn new(quota: Quota, previous: Option<&QuotaState>) -> QuotaState {
        let keep =
            |a: Option<&AtomicU64>| AtomicU64::new(a.map_or(0, |a| a.load(Ordering::Relaxed)));
        QuotaState {
            quota,
            hour: keep(previous.map(|p| &p.hour)),
            day: keep(previous.map(|p| &p.day)),
            warned: keep(previous.map(|p| &p.warned)),
        }
    }

    fn slot(&self, per: QuotaPer) -> &AtomicU64 {
        match per {
            QuotaPer::Hour => &self.hour,
            QuotaPer::Day => &self.day,
        }
    }

    /// Sets the stored sums read from the database for the hour and the day of `now`.
    pub fn set_stored(&self, now: UnixTime, hour: u64, day: u64) {
        self.hour.store(
            pack(Window::of(QuotaPer::Hour, now), hour),
            Ordering::Relaxed,
        );
        self.day
            .store(pack(Window::of(QuotaPer::Day, now), day), Ordering::Relaxed);
    }

    /// Counts taken by the write-behind join the stored sums at once, so they are not missed
    /// between being taken out of memory and the next read of the database (which then
    /// replaces the sums). A window the sums have not been read for yet starts from these
    /// counts, a lower bound until the read.
    pub fn written(&self, hour: Hour, n: u32) {
        for per in [QuotaPer::Hour, QuotaPer::Day] {
            let window = Window::of(per, hour.start());
            let t = tag(window);
            let _ = self
                .slot(per)
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                    match (v >> 32).cmp(&t) {
                        std::cmp::Ordering::Equal => {
                            Some(pack(window, (v & u64::from(u32::MAX)) + u64::from(n)))
                        }
                        std::cmp::Ordering::Less => Some(pack(window, u64::from(n))),
                        // A later window is held already: this count is not in it.
                        std::cmp::Ordering::Greater => None,
                    }
                });
        }
    }

    /// True the first time it is called in a window (a warning is logged once per window).
    pub fn first_warning(&self, window: Window) -> bool {
        let t = pack(window, 0);
        self.warned.swap(t, Ordering::Relaxed) != t
    }
}

impl CachedClient {
    /// The client's quota, its current window and the tokens used in it (see the module's
    /// comment); `None` for a client without a quota.
    pub fn quota_used(&self, now: UnixTime) -> Option<(Quota, Window, u64)> {
        let state = self.quota()?;
        let window = Window::of(state.quota.per, now);
        let stored = count_in(state.slot(window.per), window);
        let local = self.usage.issued_where(|h| window.holds(h));
        Some((state.quota, window, stored + local))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::quota::QuotaMode;

    fn quota(tokens: u32, per: QuotaPer) -> Quota {
        Quota {
            tokens,
            per,
            mode: QuotaMode::Enforce,
        }
    }

    fn entry(q: Quota) -> Arc<CachedClient> {
        use crate::domain::client::{Client, ClientId, ClientName, Description};
        let cache = super::super::ClientCache::default();
        cache.put(&Client {
            id: ClientId::parse("c1").unwrap(),
            name: ClientName::parse("c1").unwrap(),
            description: Description::default(),
            scopes: crate::domain::scope::ScopeSet::default(),
            access_token_lifetime: None,
            signing_algorithm: None,
            tenants: Vec::new(),
            claims: None,
            scopes_locked: false,
            quota: Some(q),
            secrets: Vec::new(),
            created_at: UnixTime(0),
            updated_at: UnixTime(0),
        });
        cache.get("c1").unwrap()
    }

    // 2026-12-03T10:30:00Z
    const T: i64 = 1_796_293_800;

    #[test]
    fn used_is_stored_plus_unwritten_across_an_hour_boundary() {
        let c = entry(quota(10, QuotaPer::Hour));
        let now = UnixTime(T);
        let state = c.quota().unwrap();
        state.set_stored(now, 4, 9);
        c.usage.issued(Hour::of(now));
        assert_eq!(c.quota_used(now).unwrap().2, 5);
        // The next hour: neither the stored sum nor the local count of 10:00 count.
        let next = UnixTime(T + 1800);
        c.usage.issued(Hour::of(next));
        assert_eq!(c.quota_used(next).unwrap().2, 1);
        // The write-behind takes the local counts: they move to the stored sums.
        let mut out = Vec::new();
        c.usage.take("c1", &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(
            c.quota_used(next).unwrap().2,
            1,
            "the 11:00 sum was never read: the taken count stands for it until the read"
        );
        // The read brings the other nodes' tokens.
        state.set_stored(next, 6, 11);
        assert_eq!(c.quota_used(next).unwrap().2, 6);
    }

    #[test]
    fn used_is_stored_plus_unwritten_across_a_day_boundary() {
        let c = entry(quota(100, QuotaPer::Day));
        let now = UnixTime(T);
        let state = c.quota().unwrap();
        state.set_stored(now, 2, 40);
        c.usage.issued(Hour::of(now));
        c.usage.issued(Hour::of(UnixTime(T + 3600)));
        // Two hours of the same day count, with the day's stored sum.
        assert_eq!(c.quota_used(UnixTime(T + 3600)).unwrap().2, 42);
        let mut out = Vec::new();
        c.usage.take("c1", &mut out);
        assert_eq!(c.quota_used(UnixTime(T + 3600)).unwrap().2, 42);
        // Midnight UTC: a new window, nothing used yet.
        let midnight = Window::of(QuotaPer::Day, now).end();
        assert_eq!(c.quota_used(midnight).unwrap().2, 0);
        c.usage.issued(Hour::of(midnight));
        assert_eq!(c.quota_used(midnight).unwrap().2, 1);
    }

    #[test]
    fn a_changed_quota_keeps_the_stored_sums_and_warns_once_per_window() {
        let now = UnixTime(T);
        let first = QuotaState::new(quota(5, QuotaPer::Hour), None);
        first.set_stored(now, 3, 7);
        let second = QuotaState::new(quota(50, QuotaPer::Day), Some(&first));
        assert_eq!(count_in(&second.day, Window::of(QuotaPer::Day, now)), 7);
        let w = Window::of(QuotaPer::Hour, now);
        assert!(second.first_warning(w));
        assert!(!second.first_warning(w));
        assert!(second.first_warning(Window::of(QuotaPer::Hour, UnixTime(T + 3600))));
    }
}
