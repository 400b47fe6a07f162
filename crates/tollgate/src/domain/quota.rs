//! Per-client token quotas: at most so many tokens per fixed UTC window (the current clock
//! hour or the current UTC day), either refused beyond it (`enforce`) or only flagged
//! (`monitor`). The counting itself is `cache::quota`'s; this is the arithmetic.

use std::fmt;

use super::client::FieldError;
use super::usage::{HOUR_SECS, Hour};
use crate::clock::UnixTime;

/// The most tokens a quota may allow per window: counts are kept in 32 bits, and a quota
/// above this is a typing mistake rather than a limit.
pub const MAX_QUOTA_TOKENS: u64 = 1_000_000_000;
const DAY_SECS: i64 = 24 * HOUR_SECS;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuotaPer {
    Hour,
    Day,
}

impl QuotaPer {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaPer::Hour => "hour",
            QuotaPer::Day => "day",
        }
    }

    pub fn parse(s: &str) -> Option<QuotaPer> {
        match s {
            "hour" => Some(QuotaPer::Hour),
            "day" => Some(QuotaPer::Day),
            _ => None,
        }
    }

    pub fn secs(self) -> i64 {
        match self {
            QuotaPer::Hour => HOUR_SECS,
            QuotaPer::Day => DAY_SECS,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuotaMode {
    /// Requests beyond the quota are refused until the window ends.
    Enforce,
    /// Tokens are still issued; going over is logged and shown.
    Monitor,
}

impl QuotaMode {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaMode::Enforce => "enforce",
            QuotaMode::Monitor => "monitor",
        }
    }

    pub fn parse(s: &str) -> Option<QuotaMode> {
        match s {
            "enforce" => Some(QuotaMode::Enforce),
            "monitor" => Some(QuotaMode::Monitor),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quota {
    /// 1 to [`MAX_QUOTA_TOKENS`].
    pub tokens: u32,
    pub per: QuotaPer,
    pub mode: QuotaMode,
}

impl Quota {
    /// A quota as an administrator gives it; every error names the field `quota`.
    pub fn parse(tokens: i64, per: &str, mode: &str) -> Result<Quota, FieldError> {
        let tokens = u64::try_from(tokens)
            .ok()
            .filter(|t| (1..=MAX_QUOTA_TOKENS).contains(t))
            .and_then(|t| u32::try_from(t).ok())
            .ok_or_else(|| {
                FieldError::new(
                    "quota",
                    format!("tokens must be between 1 and {MAX_QUOTA_TOKENS}"),
                )
            })?;
        let per = QuotaPer::parse(per)
            .ok_or_else(|| FieldError::new("quota", "per must be `hour` or `day`"))?;
        let mode = QuotaMode::parse(mode)
            .ok_or_else(|| FieldError::new("quota", "mode must be `enforce` or `monitor`"))?;
        Ok(Quota { tokens, per, mode })
    }

    /// Whether a window in which `used` tokens were issued is over the quota: used up for
    /// an enforced quota (requests are being refused), gone beyond for a monitored one.
    pub fn exceeded(&self, used: u64) -> bool {
        let tokens = u64::from(self.tokens);
        match self.mode {
            QuotaMode::Enforce => used >= tokens,
            QuotaMode::Monitor => used > tokens,
        }
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} {}",
            self.tokens,
            self.per.as_str(),
            self.mode.as_str()
        )
    }
}

/// A fixed UTC window of a quota: a clock hour or a UTC day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub per: QuotaPer,
    /// Windows since the Unix epoch.
    pub index: i64,
}

impl Window {
    pub fn of(per: QuotaPer, now: UnixTime) -> Window {
        Window {
            per,
            index: now.0.div_euclid(per.secs()),
        }
    }

    pub fn start(self) -> UnixTime {
        UnixTime(self.index.saturating_mul(self.per.secs()))
    }

    pub fn end(self) -> UnixTime {
        UnixTime(self.start().0.saturating_add(self.per.secs()))
    }

    /// Seconds from `now` to the window's end, at least one (what `Retry-After` says).
    pub fn secs_left(self, now: UnixTime) -> u64 {
        u64::try_from(self.end().0.saturating_sub(now.0))
            .unwrap_or(0)
            .max(1)
    }

    pub fn holds(self, hour: Hour) -> bool {
        Window::of(self.per, hour.start()) == self
    }

    /// The first hour of the window.
    pub fn first_hour(self) -> Hour {
        Hour::of(self.start())
    }
}

/// A token request refused because its client's quota is used up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaRefusal {
    pub quota: Quota,
    pub resets_at: UnixTime,
    pub retry_after: u64,
}

impl QuotaRefusal {
    pub fn new(quota: Quota, now: UnixTime) -> QuotaRefusal {
        let window = Window::of(quota.per, now);
        QuotaRefusal {
            quota,
            resets_at: window.end(),
            retry_after: window.secs_left(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_names_the_field() {
        let q = Quota::parse(1000, "hour", "enforce").unwrap();
        assert_eq!(q.to_string(), "1000/hour enforce");
        for (tokens, per, mode) in [
            (0, "hour", "enforce"),
            (-5, "hour", "enforce"),
            (1_000_000_000_000, "day", "monitor"),
            (10, "week", "enforce"),
            (10, "day", "warn"),
        ] {
            let e = Quota::parse(tokens, per, mode).unwrap_err();
            assert_eq!(e.field, "quota", "{tokens} {per} {mode}");
        }
        assert!(Quota::parse(MAX_QUOTA_TOKENS as i64, "day", "monitor").is_ok());
    }

    #[test]
    fn windows_are_fixed_utc_hours_and_days() {
        // 2026-12-03T11:59:30Z
        let now = UnixTime(1_796_299_170);
        let hour = Window::of(QuotaPer::Hour, now);
        assert_eq!(hour.end().to_rfc3339(), "2026-12-03T12:00:00Z");
        assert_eq!(hour.secs_left(now), 30);
        let day = Window::of(QuotaPer::Day, now);
        assert_eq!(day.start().to_rfc3339(), "2026-12-03T00:00:00Z");
        assert_eq!(day.end().to_rfc3339(), "2026-12-04T00:00:00Z");
        assert!(day.holds(Hour::of(now)));
        assert!(day.holds(day.first_hour()));
        assert!(!day.holds(Hour::of(day.end())));
        assert!(!day.holds(day.first_hour().minus(1)));
        assert!(hour.holds(Hour::of(now)) && !hour.holds(Hour::of(now).minus(1)));
        // The last second of a window still has one to wait.
        assert_eq!(hour.secs_left(UnixTime(hour.end().0 - 1)), 1);
        let r = QuotaRefusal::new(Quota::parse(3, "hour", "enforce").unwrap(), now);
        assert_eq!((r.retry_after, r.resets_at), (30, hour.end()));
    }

    #[test]
    fn enforce_is_exceeded_when_used_up_monitor_when_gone_beyond() {
        let enforce = Quota::parse(3, "hour", "enforce").unwrap();
        let monitor = Quota::parse(3, "hour", "monitor").unwrap();
        assert!(!enforce.exceeded(2) && enforce.exceeded(3));
        assert!(!monitor.exceeded(3) && monitor.exceeded(4));
    }
}
