//! Token buckets: a rate and a burst per key (a client id, an address, an account), kept in
//! this node's memory.
//!
//! Each bucket is a keyed GCRA limiter (the `governor` crate): one hash-map lookup and one
//! atomic update per check, no lock shared by all keys. The time comes from the injected
//! [`Clock`], so refill is tested without sleeping. Keys are chosen by whoever sends the
//! request, so [`Bucket::sweep`] forgets those whose bucket has refilled (a full bucket is the
//! same as none); it runs every few seconds.

use std::fmt;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::Clock;

/// A rate and a burst: `count` requests per `per_secs` seconds, at most `burst` at once.
/// `count == 0` means no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per_secs: u32,
    pub burst: u32,
}

impl Rate {
    pub const OFF: Rate = Rate {
        count: 0,
        per_secs: 1,
        burst: 0,
    };

    pub fn is_off(&self) -> bool {
        self.count == 0 || self.burst == 0 || self.per_secs == 0
    }

    /// `20/s`, `10/min` or `100/h`, optionally `burst 40` after it (the burst is the rate's
    /// count otherwise); `0` or `off` for no limit.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let text = text.trim();
        if text == "0" || text.eq_ignore_ascii_case("off") {
            return Ok(Rate::OFF);
        }
        let bad = || {
            format!(
                "`{text}` is not a rate such as `20/s`, `10/min burst 5` or `100/h`, nor `0` (off)"
            )
        };
        let mut words = text.split_whitespace();
        let (count, unit) = words
            .next()
            .and_then(|r| r.split_once('/'))
            .ok_or_else(bad)?;
        let count: u32 = count.parse().map_err(|_| bad())?;
        let per_secs = match unit {
            "s" => 1,
            "min" => 60,
            "h" => 3600,
            _ => return Err(bad()),
        };
        let burst = match (words.next(), words.next(), words.next()) {
            (None, _, _) => count,
            (Some("burst"), Some(b), None) => b.parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        if count == 0 || burst == 0 {
            return Err(format!("`{text}`: write `0` to turn the limit off"));
        }
        Ok(Rate {
            count,
            per_secs,
            burst,
        })
    }

    /// The time one request's worth of the bucket takes to refill.
    fn period(&self) -> Duration {
        Duration::from_secs(u64::from(self.per_secs)) / self.count.max(1)
    }

    /// The window of the `RateLimit-Policy` header: seconds a full burst takes to refill, at
    /// least one.
    pub fn window_secs(&self) -> u64 {
        ceil_secs(self.period() * self.burst).max(1)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_off() {
            return f.write_str("0");
        }
        let unit = match self.per_secs {
            1 => "s",
            60 => "min",
            _ => "h",
        };
        write!(f, "{}/{unit} burst {}", self.count, self.burst)
    }
}

/// A refused request: the policy it ran into and when to come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The policy's name in the `RateLimit-Policy` and `RateLimit` headers.
    pub policy: &'static str,
    /// Requests (or failures) the policy allows per window.
    pub quota: u32,
    pub window_secs: u64,
    /// Whole seconds to wait, at least one.
    pub retry_after_secs: u64,
}

/// Whole seconds, rounded up: a client that waits this long is heard.
pub fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The injected clock as the limiter reads it.
#[derive(Clone, Debug)]
pub struct LimitClock(pub Arc<dyn Clock>);

impl GovernorClock for LimitClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.0.monotonic_nanos())
    }
}

type Keyed<K> = RateLimiter<K, DashMapStateStore<K>, LimitClock, NoOpMiddleware<Nanos>>;

/// One token bucket per key, or none when its rate is off.
pub struct Bucket<K: Hash + Eq + Clone> {
    policy: &'static str,
    rate: Rate,
    limiter: Option<Keyed<K>>,
    clock: LimitClock,
    refusals: AtomicU64,
}

impl<K: Hash + Eq + Clone> fmt::Debug for Bucket<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucket")
            .field("policy", &self.policy)
            .field("rate", &self.rate)
            .field("keys", &self.limiter.as_ref().map_or(0, Keyed::len))
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone> Bucket<K> {
    pub fn new(policy: &'static str, rate: Rate, clock: Arc<dyn Clock>) -> Bucket<K> {
        let clock = LimitClock(clock);
        let limiter = (!rate.is_off())
            .then(|| Quota::with_period(rate.period()))
            .flatten()
            .zip(NonZeroU32::new(rate.burst))
            .map(|(quota, burst)| {
                RateLimiter::dashmap_with_clock(quota.allow_burst(burst), clock.clone())
            });
        Bucket {
            policy,
            rate,
            limiter,
            clock,
            refusals: AtomicU64::new(0),
        }
    }

    /// Takes one request from the key's bucket, or says how long until there is one.
    pub fn check(&self, key: &K) -> Result<(), Refusal> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(key).map_err(|not_until| {
            self.refusals.fetch_add(1, Ordering::Relaxed);
            let wait = not_until.wait_time_from(self.clock.now());
            Refusal {
                policy: self.policy,
                quota: self.rate.burst,
                window_secs: self.rate.window_secs(),
                retry_after_secs: ceil_secs(wait).max(1),
            }
        })
    }

    /// Requests refused since the start, for the metrics.
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    pub fn policy(&self) -> &'static str {
        self.policy
    }

    /// Keys held now.
    pub fn keys(&self) -> usize {
        self.limiter.as_ref().map_or(0, Keyed::len)
    }

    /// Forgets the keys whose bucket is full again, and gives the memory back.
    pub fn sweep(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, UnixTime};

    /// A clock of nanoseconds the test moves.
    #[derive(Debug, Default)]
    struct Nanoclock(AtomicU64);

    impl Nanoclock {
        fn advance(&self, d: Duration) {
            let nanos = u64::try_from(d.as_nanos()).unwrap();
            self.0.fetch_add(nanos, Ordering::SeqCst);
        }
    }

    impl Clock for Nanoclock {
        fn now(&self) -> UnixTime {
            UnixTime(0)
        }

        fn monotonic_nanos(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn bucket(rate: &str) -> (Bucket<u64>, Arc<Nanoclock>) {
        let clock = Arc::new(Nanoclock::default());
        (
            Bucket::new("test", Rate::parse(rate).unwrap(), clock.clone()),
            clock,
        )
    }

    #[test]
    fn rates_parse_and_show_as_written() {
        let r = Rate::parse("20/s burst 40").unwrap();
        assert_eq!((r.count, r.per_secs, r.burst), (20, 1, 40));
        assert_eq!(r.to_string(), "20/s burst 40");
        assert_eq!(r.window_secs(), 2);
        let r = Rate::parse(" 10/min ").unwrap();
        assert_eq!((r.count, r.per_secs, r.burst), (10, 60, 10));
        assert_eq!(r.window_secs(), 60);
        assert_eq!(Rate::parse("100/h burst 5").unwrap().window_secs(), 180);
        assert!(Rate::parse("0").unwrap().is_off());
        assert!(Rate::parse("off").unwrap().is_off());
        for bad in [
            "",
            "20",
            "20/day",
            "x/s",
            "20/s burst",
            "20/s burst 0",
            "0/s",
            "20/s 40",
        ] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_burst_passes_then_the_bucket_refills_at_the_rate() {
        let (b, clock) = bucket("10/s burst 3");
        for _ in 0..3 {
            assert_eq!(b.check(&1), Ok(()));
        }
        let refused = b.check(&1).unwrap_err();
        assert_eq!(refused.policy, "test");
        assert_eq!((refused.quota, refused.window_secs), (3, 1));
        assert_eq!(refused.retry_after_secs, 1, "rounded up to a whole second");
        assert_eq!(b.refusals(), 1);
        assert_eq!(b.check(&2), Ok(()), "another key has its own bucket");
        clock.advance(Duration::from_millis(100));
        assert_eq!(b.check(&1), Ok(()), "one request's worth refilled");
        assert!(b.check(&1).is_err());
        clock.advance(Duration::from_secs(10));
        for _ in 0..3 {
            assert_eq!(b.check(&1), Ok(()), "refilled up to the burst, no more");
        }
        assert!(b.check(&1).is_err());
    }

    #[test]
    fn the_wait_is_the_time_until_one_request_fits() {
        let (b, clock) = bucket("1/min burst 2");
        b.check(&7).unwrap();
        b.check(&7).unwrap();
        assert_eq!(b.check(&7).unwrap_err().retry_after_secs, 60);
        clock.advance(Duration::from_secs(45));
        assert_eq!(b.check(&7).unwrap_err().retry_after_secs, 15);
        assert_eq!(b.refusals(), 2);
    }

    #[test]
    fn an_off_rate_never_refuses_and_keeps_nothing() {
        let (b, _) = bucket("0");
        for key in 0..1000 {
            assert_eq!(b.check(&key), Ok(()));
            assert_eq!(b.check(&key), Ok(()));
        }
        assert_eq!(b.keys(), 0);
    }

    #[test]
    fn a_sweep_forgets_the_keys_whose_bucket_is_full_again() {
        let (b, clock) = bucket("10/s burst 2");
        for key in 0..100 {
            b.check(&key).unwrap();
        }
        b.check(&1000).unwrap();
        b.check(&1000).unwrap();
        assert_eq!(b.keys(), 101);
        // The one-request keys refilled at 100 ms, the other at 200 ms; a key is dropped a
        // request's worth after that (the limiter's own margin).
        clock.advance(Duration::from_millis(250));
        b.sweep();
        assert_eq!(b.keys(), 1, "only the key still short of its burst is kept");
        clock.advance(Duration::from_secs(1));
        b.sweep();
        assert_eq!(b.keys(), 0);
    }

    #[test]
    fn a_clock_of_whole_seconds_refills_by_the_second() {
        let clock = Arc::new(ManualClock::new(UnixTime(1_000)));
        let b = Bucket::new("test", Rate::parse("1/s burst 1").unwrap(), clock.clone());
        b.check(&1u64).unwrap();
        assert!(b.check(&1).is_err());
        clock.advance(1);
        assert_eq!(b.check(&1), Ok(()));
    }
}
