//! Exponential backoff of failed sign-ins, per account and per client address.
//!
//! A few failures are free; after them each failure doubles the wait before the next attempt
//! is heard, up to a cap. The cap per account is short (a minute), so an attacker who fails on
//! purpose slows a real administrator down but never locks them out for good; the cap per
//! address is long, since one address guessing at many accounts is the attack itself. A key
//! with no failure for an hour is forgotten. Accounts are keyed by the address typed, whether
//! an account has it or not, so the backoff tells nothing about which accounts exist.
//!
//! The OAuth endpoints back failed client authentications off the same way, per client id and
//! per address ([`Shared`]: the keys spread over locks of their own, so the check on every
//! request contends with nothing).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::clock::UnixTime;

/// Failures before any wait, and the longest wait, per kind of key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub free: u32,
    pub max_wait_secs: u64,
}

pub const ACCOUNT_LIMITS: Limits = Limits {
    free: 5,
    max_wait_secs: 60,
};
pub const ADDRESS_LIMITS: Limits = Limits {
    free: 10,
    max_wait_secs: 15 * 60,
};
/// A key without a failure for this long starts afresh.
pub const FORGET_AFTER_SECS: u64 = 3600;
/// Keys remembered at most; beyond it the oldest are dropped (memory stays bounded under a
/// flood of addresses).
pub const MAX_KEYS: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last: UnixTime,
    limits: Limits,
}

impl Entry {
    fn wait_until(&self) -> UnixTime {
        if self.failures < self.limits.free {
            return self.last;
        }
        let doublings = (self.failures - self.limits.free).min(30);
        let wait = (1u64 << doublings).min(self.limits.max_wait_secs);
        self.last.plus_secs(wait)
    }
}

#[derive(Debug)]
pub struct Backoff<K = String> {
    entries: HashMap<K, Entry>,
    max_keys: usize,
}

impl<K> Default for Backoff<K> {
    fn default() -> Self {
        Backoff {
            entries: HashMap::new(),
            max_keys: MAX_KEYS,
        }
    }
}

impl<K: Hash + Eq> Backoff<K> {
    /// Seconds to wait before an attempt under these keys is heard; 0 when it may go ahead.
    pub fn wait<Q>(&mut self, keys: &[(&Q, Limits)], now: UnixTime) -> u64
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        keys.iter()
            .filter_map(|(key, _)| self.live(key, now))
            .map(|e| u64::try_from(e.wait_until().0 - now.0).unwrap_or(0))
            .max()
            .unwrap_or(0)
    }

    pub fn fail<Q>(&mut self, keys: &[(&Q, Limits)], now: UnixTime)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if self.entries.len() >= self.max_keys {
            self.prune(now);
        }
        for (key, limits) in keys {
            let failures = self.live(key, now).map_or(0, |e| e.failures);
            self.entries.insert(
                (*key).to_owned(),
                Entry {
                    failures: failures.saturating_add(1),
                    last: now,
                    limits: *limits,
                },
            );
        }
    }

    /// A success forgets the account's failures (not the address's: an attacker with one
    /// valid account must not wash the failures on others away).
    pub fn succeed<Q>(&mut self, account: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.remove(account);
    }

    fn live<Q>(&mut self, key: &Q, now: UnixTime) -> Option<Entry>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entry = *self.entries.get(key)?;
        if now >= entry.last.plus_secs(FORGET_AFTER_SECS) {
            self.entries.remove(key);
            return None;
        }
        Some(entry)
    }

    fn prune(&mut self, now: UnixTime) {
        self.entries
            .retain(|_, e| now < e.last.plus_secs(FORGET_AFTER_SECS));
        if self.entries.len() >= self.max_keys {
            let mut lasts: Vec<i64> = self.entries.values().map(|e| e.last.0).collect();
            lasts.sort_unstable();
            let cut = lasts[lasts.len() / 2];
            self.entries.retain(|_, e| e.last.0 > cut);
        }
    }
}

/// Locks the keys are spread over.
const SHARDS: usize = 16;

/// A backoff many requests consult at once: each key lives under one of [`SHARDS`] locks,
/// chosen by its hash, and together they remember at most [`MAX_KEYS`].
#[derive(Debug)]
pub struct Shared<K> {
    shards: Vec<Mutex<Backoff<K>>>,
    /// Whether each shard was empty when last unlocked: almost always, so a request of a
    /// client that never failed takes no lock. A read racing a failure may let one request
    /// through that would have waited, which is harmless.
    empty: Vec<AtomicBool>,
    /// How many shards are not empty: while none is, a request is heard without even hashing
    /// its key (the hash is most of what the backoff would cost each token request).
    occupied: AtomicUsize,
    hasher: RandomState,
}

impl<K: Hash + Eq + Clone> Default for Shared<K> {
    fn default() -> Self {
        let shard = || {
            Mutex::new(Backoff {
                entries: HashMap::new(),
                max_keys: MAX_KEYS / SHARDS,
            })
        };
        Shared {
            shards: (0..SHARDS).map(|_| shard()).collect(),
            empty: (0..SHARDS).map(|_| AtomicBool::new(true)).collect(),
            occupied: AtomicUsize::new(0),
            hasher: RandomState::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> Shared<K> {
    fn shard(&self, key: &K) -> usize {
        usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0)
    }

    fn with<T>(&self, i: usize, f: impl FnOnce(&mut Backoff<K>) -> T) -> T {
        // A panic under the lock leaves a map of counts, still fit to use.
        let mut backoff = match self.shards[i].lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let out = f(&mut backoff);
        // Shard `i`'s flag only changes under its lock, so the count stays exact.
        let (was, is) = (
            self.empty[i].load(Ordering::Relaxed),
            backoff.entries.is_empty(),
        );
        if was != is {
            if is {
                self.occupied.fetch_sub(1, Ordering::Relaxed);
            } else {
                self.occupied.fetch_add(1, Ordering::Relaxed);
            }
            self.empty[i].store(is, Ordering::Relaxed);
        }
        out
    }

    /// Seconds to wait before an attempt under this key is heard; 0 when it may go ahead.
    pub fn wait(&self, key: &K, limits: Limits, now: UnixTime) -> u64 {
        if self.occupied.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let i = self.shard(key);
        if self.empty[i].load(Ordering::Relaxed) {
            return 0;
        }
        self.with(i, |b| b.wait(&[(key, limits)], now))
    }

    pub fn fail(&self, key: &K, limits: Limits, now: UnixTime) {
        self.with(self.shard(key), |b| b.fail(&[(key, limits)], now));
    }

    pub fn succeed(&self, key: &K) {
        if self.occupied.load(Ordering::Relaxed) == 0 {
            return;
        }
        let i = self.shard(key);
        if !self.empty[i].load(Ordering::Relaxed) {
            self.with(i, |b| b.succeed(key));
        }
    }

    /// Forgets the keys without a failure for [`FORGET_AFTER_SECS`].
    pub fn sweep(&self, now: UnixTime) {
        for i in 0..SHARDS {
            self.with(i, |b| {
                b.entries
                    .retain(|_, e| now < e.last.plus_secs(FORGET_AFTER_SECS));
                b.entries.shrink_to_fit();
            });
        }
    }

    /// Keys remembered now.
    pub fn keys(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |b| b.entries.len()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_and_stop_at_the_cap() {
        let mut b = Backoff::<String>::default();
        let keys = [("account:ada", ACCOUNT_LIMITS)];
        let t = UnixTime(1_000);
        for _ in 0..ACCOUNT_LIMITS.free {
            assert_eq!(b.wait(&keys, t), 0);
            b.fail(&keys, t);
        }
        assert_eq!(b.wait(&keys, t), 1);
        b.fail(&keys, t);
        assert_eq!(b.wait(&keys, t), 2);
        for _ in 0..20 {
            b.fail(&keys, t);
        }
        assert_eq!(b.wait(&keys, t), ACCOUNT_LIMITS.max_wait_secs);
        assert_eq!(
            b.wait(&keys, UnixTime(1_000 + 60)),
            0,
            "never locked out for good"
        );
        assert_eq!(b.wait(&keys, UnixTime(1_000 + 30)), 30);
    }

    #[test]
    fn the_longest_wait_of_the_keys_applies_and_success_clears_the_account() {
        let mut b = Backoff::<String>::default();
        let t = UnixTime(0);
        let keys = [
            ("account:ada", ACCOUNT_LIMITS),
            ("address:1", ADDRESS_LIMITS),
        ];
        for _ in 0..12 {
            b.fail(&keys, t);
        }
        assert_eq!(b.wait(&keys, t), 60);
        b.succeed("account:ada");
        assert_eq!(b.wait(&keys[..1], t), 0);
        assert_eq!(b.wait(&keys, t), 4, "the address still waits");
    }

    #[test]
    fn failures_are_forgotten_after_an_hour() {
        let mut b = Backoff::<String>::default();
        let keys = [("address:1", ADDRESS_LIMITS)];
        for _ in 0..20 {
            b.fail(&keys, UnixTime(0));
        }
        assert!(b.wait(&keys, UnixTime(10)) > 0);
        assert_eq!(b.wait(&keys, UnixTime(3600)), 0);
        b.fail(&keys, UnixTime(3600));
        assert_eq!(b.wait(&keys, UnixTime(3600)), 0, "counting starts afresh");
    }

    #[test]
    fn a_shared_backoff_keeps_each_key_apart_and_forgets_them() {
        let b = Shared::<u64>::default();
        let limits = Limits {
            free: 1,
            max_wait_secs: 8,
        };
        let t = UnixTime(0);
        assert_eq!(b.wait(&1, limits, t), 0);
        b.fail(&1, limits, t);
        assert_eq!(b.occupied.load(Ordering::Relaxed), 1);
        assert_eq!(b.wait(&1, limits, t), 1);
        b.fail(&1, limits, t);
        assert_eq!(b.wait(&1, limits, t), 2, "doubled");
        for _ in 0..10 {
            b.fail(&1, limits, t);
        }
        assert_eq!(b.wait(&1, limits, t), 8, "capped");
        assert_eq!(b.wait(&2, limits, t), 0, "another key is not held back");
        b.fail(&2, limits, t);
        b.succeed(&1);
        assert_eq!(b.wait(&1, limits, t), 0);
        assert_eq!(b.keys(), 1);
        b.sweep(UnixTime(3600));
        assert_eq!(b.keys(), 0);
        assert_eq!(
            b.occupied.load(Ordering::Relaxed),
            0,
            "every shard empty again"
        );
        b.fail(&3, limits, t);
        assert_eq!(
            b.wait(&3, limits, t),
            1,
            "heard again once a shard is occupied"
        );
    }
}
