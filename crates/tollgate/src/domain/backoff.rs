//! Exponential backoff of failed sign-ins, per account and per client address.
//!
//! A few failures are free; after them each failure doubles the wait before the next attempt
//! is heard, up to a cap. The cap per account is short (a minute), so an attacker who fails on
//! purpose slows a real administrator down but never locks them out for good; the cap per
//! address is long, since one address guessing at many accounts is the attack itself. A key
//! with no failure for an hour is forgotten. Accounts are keyed by the address typed, whether
//! an account has it or not, so the backoff tells nothing about which accounts exist.

use std::collections::HashMap;

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

#[derive(Debug, Default)]
pub struct Backoff {
    entries: HashMap<String, Entry>,
}

impl Backoff {
    /// Seconds to wait before an attempt under these keys is heard; 0 when it may go ahead.
    pub fn wait(&mut self, keys: &[(&str, Limits)], now: UnixTime) -> u64 {
        keys.iter()
            .filter_map(|(key, _)| self.live(key, now))
            .map(|e| u64::try_from(e.wait_until().0 - now.0).unwrap_or(0))
            .max()
            .unwrap_or(0)
    }

    pub fn fail(&mut self, keys: &[(&str, Limits)], now: UnixTime) {
        if self.entries.len() >= MAX_KEYS {
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
    pub fn succeed(&mut self, account: &str) {
        self.entries.remove(account);
    }

    fn live(&mut self, key: &str, now: UnixTime) -> Option<Entry> {
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
        if self.entries.len() >= MAX_KEYS {
            let mut lasts: Vec<i64> = self.entries.values().map(|e| e.last.0).collect();
            lasts.sort_unstable();
            let cut = lasts[lasts.len() / 2];
            self.entries.retain(|_, e| e.last.0 > cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_and_stop_at_the_cap() {
        let mut b = Backoff::default();
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
        let mut b = Backoff::default();
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
        let mut b = Backoff::default();
        let keys = [("address:1", ADDRESS_LIMITS)];
        for _ in 0..20 {
            b.fail(&keys, UnixTime(0));
        }
        assert!(b.wait(&keys, UnixTime(10)) > 0);
        assert_eq!(b.wait(&keys, UnixTime(3600)), 0);
        b.fail(&keys, UnixTime(3600));
        assert_eq!(b.wait(&keys, UnixTime(3600)), 0, "counting starts afresh");
    }
}
