//! Time and randomness are injected so domain logic can be tested without sleeping and with
//! predictable values.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Seconds since the Unix epoch, the unit of every timestamp Tollgate stores or puts in a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub i64);

impl UnixTime {
    pub fn plus_secs(self, secs: u64) -> UnixTime {
        UnixTime(
            self.0
                .saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)),
        )
    }

    /// RFC 3339 in UTC, as the admin API shows timestamps.
    pub fn to_rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.0.to_string())
    }

    pub fn parse_rfc3339(s: &str) -> Option<UnixTime> {
        OffsetDateTime::parse(s, &Rfc3339)
            .ok()
            .map(|t| UnixTime(t.unix_timestamp()))
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> UnixTime;

    /// Nanoseconds on a clock that never goes back, for the rate limits: only differences
    /// between two readings mean anything. A clock of whole seconds may keep this default.
    fn monotonic_nanos(&self) -> u64 {
        u64::try_from(self.now().0)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one place that reads the wall clock.
    fn now(&self) -> UnixTime {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    #[allow(clippy::disallowed_methods)] // The one place that reads the monotonic clock.
    fn monotonic_nanos(&self) -> u64 {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let start = *START.get_or_init(std::time::Instant::now);
        u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A clock that only moves when told to, for tests of expiry and rotation.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn new(start: UnixTime) -> ManualClock {
        ManualClock(std::sync::atomic::AtomicI64::new(start.0))
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// Source of cryptographically secure random bytes.
pub trait Rng: Send + Sync + fmt::Debug {
    fn fill(&self, buf: &mut [u8]);
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRng;

impl Rng for SystemRng {
    fn fill(&self, buf: &mut [u8]) {
        // The operating system RNG failing is unrecoverable: continuing would hand out
        // predictable secrets.
        #[allow(clippy::expect_used)]
        aws_lc_rs::rand::fill(buf).expect("the system random number generator failed");
    }
}

/// Random bytes of a fixed size.
pub fn random_bytes<const N: usize>(rng: &dyn Rng) -> [u8; N] {
    let mut buf = [0u8; N];
    rng.fill(&mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let t = UnixTime(1_700_000_000);
        assert_eq!(t.to_rfc3339(), "2023-11-14T22:13:20Z");
        assert_eq!(UnixTime::parse_rfc3339("2023-11-14T22:13:20Z"), Some(t));
        assert_eq!(UnixTime::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn plus_secs_saturates() {
        assert_eq!(UnixTime(i64::MAX - 1).plus_secs(10), UnixTime(i64::MAX));
    }
}
