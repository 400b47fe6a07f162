//! Token usage: what the token endpoint's outcomes are counted as (per client and hour), and
//! what the counts and the secrets' last uses say about a client: that it does not cache its
//! tokens, or that a rotation of its secrets was left half done.

use crate::clock::UnixTime;

/// Seconds in an hour, the unit of the counts.
pub const HOUR_SECS: i64 = 3600;
/// How long counts are kept, in hours (30 days).
pub const KEPT_HOURS: i64 = 30 * 24;
/// The window of "the last 24 hours", in hours: the current hour and the 23 before it.
pub const DAY_HOURS: i64 = 24;
/// A client is "not caching" when it got more than this many times the tokens it needs...
pub const NOT_CACHING_FACTOR: u64 = 10;
/// ...and at least this many tokens in the last 24 hours, so a few tokens never flag it.
pub const NOT_CACHING_FLOOR: u64 = 25;
/// A secret unused this long beside another one in use needs attention.
pub const IDLE_SECRET_SECS: i64 = 14 * 24 * HOUR_SECS;
/// Secrets expiring within this long are shown on the dashboard.
pub const EXPIRING_SOON_SECS: i64 = 14 * 24 * HOUR_SECS;

/// An hour, counted from the Unix epoch; stored as the Unix time of its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hour(pub i64);

impl Hour {
    pub fn of(t: UnixTime) -> Hour {
        Hour(t.0.div_euclid(HOUR_SECS))
    }

    pub fn start(self) -> UnixTime {
        UnixTime(self.0.saturating_mul(HOUR_SECS))
    }

    pub fn minus(self, hours: i64) -> Hour {
        Hour(self.0.saturating_sub(hours))
    }

    /// The first hour of the last 24 hours that end with this one.
    pub fn day_start(self) -> Hour {
        self.minus(DAY_HOURS - 1)
    }

    /// The first hour still kept when this one is the current hour.
    pub fn kept_from(self) -> Hour {
        self.minus(KEPT_HOURS - 1)
    }
}

/// Why the token endpoint refused a request: the `error` codes of RFC 6749 §5.2 (with
/// `invalid_target` from RFC 8707 and `temporarily_unavailable`) it answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Refusal {
    InvalidRequest,
    InvalidClient,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    InvalidTarget,
    ServerError,
    TemporarilyUnavailable,
}

impl Refusal {
    pub const COUNT: usize = 8;
    pub const ALL: [Refusal; Refusal::COUNT] = [
        Refusal::InvalidRequest,
        Refusal::InvalidClient,
        Refusal::UnauthorizedClient,
        Refusal::UnsupportedGrantType,
        Refusal::InvalidScope,
        Refusal::InvalidTarget,
        Refusal::ServerError,
        Refusal::TemporarilyUnavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::InvalidRequest => "invalid_request",
            Refusal::InvalidClient => "invalid_client",
            Refusal::UnauthorizedClient => "unauthorized_client",
            Refusal::UnsupportedGrantType => "unsupported_grant_type",
            Refusal::InvalidScope => "invalid_scope",
            Refusal::InvalidTarget => "invalid_target",
            Refusal::ServerError => "server_error",
            Refusal::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// Its place in [`Refusal::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What became of a token request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Issued,
    Refused(Refusal),
}

impl Outcome {
    pub const ISSUED: &'static str = "issued";

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Issued => Outcome::ISSUED,
            Outcome::Refused(r) => r.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        if s == Outcome::ISSUED {
            return Some(Outcome::Issued);
        }
        Refusal::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .map(Outcome::Refused)
    }
}

/// Requests of one outcome in one hour: by a client, or (`None`) naming no existing client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageCount {
    pub hour: Hour,
    pub client_id: Option<String>,
    pub outcome: Outcome,
    pub count: u64,
}

/// The tokens a client got, as the dashboard and the client object show them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientUsage {
    /// Tokens issued in the last 24 hours (the current hour and the 23 before).
    pub last_24h: u64,
    /// Tokens issued in the last 30 days.
    pub last_30d: u64,
    /// Hours of the last 24 in which it got a token.
    pub active_hours_24h: u32,
}

impl ClientUsage {
    /// Whether the client asks for far more tokens than its token lifetime needs: more than
    /// [`NOT_CACHING_FACTOR`] times what one caller needs that keeps each token until it
    /// expires, in the hours it was active, and at least [`NOT_CACHING_FLOOR`] tokens.
    pub fn not_caching(&self, lifetime_secs: u64) -> bool {
        self.last_24h >= NOT_CACHING_FLOOR
            && self.last_24h
                > NOT_CACHING_FACTOR * tokens_needed(self.active_hours_24h, lifetime_secs)
    }
}

/// The tokens one caller needs over `active_hours` hours when it keeps each token until it
/// expires: one per lifetime, at least one.
pub fn tokens_needed(active_hours: u32, lifetime_secs: u64) -> u64 {
    let active = u64::from(active_hours) * HOUR_SECS.unsigned_abs();
    active.div_ceil(lifetime_secs.max(1)).max(1)
}

/// A live secret that expires soon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiringSecret {
    pub client_id: String,
    pub client_name: String,
    pub secret_id: String,
    pub expires_at: UnixTime,
}

/// A live secret, as the search for idle ones reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretUse {
    pub secret_id: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// A live secret unused for [`IDLE_SECRET_SECS`] (`idle`) beside another of the same client
/// used since (`used`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdleSecret {
    pub client_id: String,
    pub client_name: String,
    pub idle: SecretUse,
    pub used: SecretUse,
}

impl IdleSecret {
    /// The newer secret is the idle one: a rotation was started and integrations still use
    /// the old secret. Otherwise the old secret fell silent and can be removed. Of two
    /// secrets made in the same second, the one never used is taken for the new one.
    pub fn rotation_unfinished(&self) -> bool {
        match self.idle.created_at.cmp(&self.used.created_at) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => self.idle.last_used_at.is_none(),
            std::cmp::Ordering::Less => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_start_on_the_hour() {
        let t = UnixTime(1_900_000_000);
        let h = Hour::of(t);
        assert!(h.start() <= t && t.0 < h.start().0 + HOUR_SECS);
        assert_eq!(Hour::of(h.start()), h);
        assert_eq!(Hour::of(UnixTime(h.start().0 - 1)), h.minus(1));
        assert_eq!(h.day_start(), h.minus(23));
        assert_eq!(h.kept_from(), h.minus(719));
        assert_eq!(
            Hour::of(UnixTime(-1)),
            Hour(-1),
            "before the epoch rounds down"
        );
    }

    #[test]
    fn outcomes_read_back_as_written() {
        for r in Refusal::ALL {
            assert_eq!(Refusal::ALL[r.index()], r);
            assert_eq!(Outcome::parse(r.as_str()), Some(Outcome::Refused(r)));
        }
        assert_eq!(Outcome::parse("issued"), Some(Outcome::Issued));
        assert_eq!(Outcome::parse("access_denied"), None);
    }

    #[test]
    fn tokens_needed_is_one_per_lifetime_of_the_active_hours() {
        assert_eq!(tokens_needed(1, 3600), 1);
        assert_eq!(tokens_needed(24, 3600), 24);
        assert_eq!(tokens_needed(1, 300), 12);
        assert_eq!(
            tokens_needed(2, 86_400),
            1,
            "a long lifetime still needs one"
        );
        assert_eq!(tokens_needed(0, 3600), 1);
        assert_eq!(tokens_needed(1, 0), 3600, "no division by zero");
    }

    #[test]
    fn a_client_that_does_not_cache_is_flagged() {
        let usage = |n: u64, hours: u32| ClientUsage {
            last_24h: n,
            last_30d: n,
            active_hours_24h: hours,
        };
        // An hour's lifetime: one token an hour is what a caching caller needs.
        assert!(usage(50, 1).not_caching(3600), "50 in one hour");
        assert!(
            !usage(10, 1).not_caching(3600),
            "10 is not more than 10 times 1"
        );
        assert!(!usage(24, 24).not_caching(3600), "one an hour all day");
        assert!(
            !usage(240, 24).not_caching(3600),
            "ten an hour all day is the limit"
        );
        assert!(usage(241, 24).not_caching(3600));
        // Five minutes: twelve an hour are needed.
        assert!(!usage(120, 1).not_caching(300));
        assert!(usage(121, 1).not_caching(300));
        // The floor: a few tokens never flag a client, whatever its lifetime.
        assert!(!usage(24, 1).not_caching(86_400));
        assert!(usage(25, 1).not_caching(86_400));
        assert!(!usage(0, 0).not_caching(60));
    }

    #[test]
    fn an_idle_secret_is_new_or_old() {
        let secret = |id: &str, created: i64| SecretUse {
            secret_id: id.to_owned(),
            created_at: UnixTime(created),
            last_used_at: None,
        };
        let item = |idle, used| IdleSecret {
            client_id: "c".into(),
            client_name: "n".into(),
            idle,
            used,
        };
        assert!(item(secret("new", 20), secret("old", 10)).rotation_unfinished());
        assert!(!item(secret("old", 10), secret("new", 20)).rotation_unfinished());
        let mut used_once = secret("a", 10);
        assert!(item(secret("b", 10), used_once.clone()).rotation_unfinished());
        used_once.last_used_at = Some(UnixTime(11));
        assert!(!item(used_once, secret("b", 10)).rotation_unfinished());
    }
}
