//! When keys rotate. A key is *next* (published in the JWKS, not yet signing) until it
//! activates, then *current* (signing), then *retired* when its successor activates (still
//! published, so tokens it signed keep verifying), and removed once every token it could have
//! signed has expired. States are derived from timestamps and the injected clock, so a whole
//! rotation cycle is tested without sleeping.

use std::collections::HashMap;

use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::token::MAX_TOKEN_LIFETIME;
use crate::store::StoredKey;

/// When keys rotate by themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPolicy {
    /// How long a key signs before its successor takes over, in seconds.
    pub period: u64,
    /// How long before taking over a successor is published, in seconds. Longer than any
    /// JWKS cache lifetime, so verifiers know a key before its first token arrives.
    pub announce: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Current,
    Retired,
    /// Retired long enough that no token it signed is still valid: removed.
    Expired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Current => "current",
            KeyState::Retired => "retired",
            KeyState::Expired => "expired",
        }
    }
}

/// A key's place in its algorithm's chain at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyStatus {
    pub kid: String,
    pub algorithm: Algorithm,
    pub created_at: UnixTime,
    pub activates_at: UnixTime,
    pub state: KeyState,
    /// When its successor takes over, if one is known.
    pub retires_at: Option<UnixTime>,
    /// When it leaves the JWKS, if it is retiring.
    pub removed_at: Option<UnixTime>,
}

/// How a rotation an administrator asks for takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationMode {
    /// The new key is published now and signs after the announce period.
    Announced,
    /// A routine early rotation: the new key signs at once; the keys before it stay
    /// published (and keep verifying) until the tokens they signed expire.
    Immediate,
    /// For a key believed compromised: the new key signs at once and every other key of the
    /// algorithm (current, retired, announced) is removed from the store, so it leaves the
    /// JWKS and no node accepts a token it signed. Whatever exposed one key of an algorithm
    /// (a node's memory, the database with the key-encryption key) exposed the others stored
    /// beside it; removing them costs only tokens issued less than a token lifetime ago,
    /// whose clients fetch new ones.
    Compromised,
}

/// The state of every key at `now`. Keys of one algorithm form a chain ordered by
/// activation; the last one activated is current.
pub fn statuses(keys: &[StoredKey], now: UnixTime) -> Vec<KeyStatus> {
    let mut by_alg: HashMap<Algorithm, Vec<&StoredKey>> = HashMap::new();
    for k in keys {
        by_alg.entry(k.algorithm).or_default().push(k);
    }
    let mut out = Vec::new();
    for chain in by_alg.values_mut() {
        chain.sort_by_key(|k| (k.activates_at, k.seq));
        let current = chain.iter().rposition(|k| k.activates_at <= now);
        for (i, k) in chain.iter().enumerate() {
            let retires_at = chain.get(i + 1).map(|n| n.activates_at);
            let removed_at = retires_at.map(|r| r.plus_secs(MAX_TOKEN_LIFETIME));
            let state = match current {
                Some(c) if i == c => KeyState::Current,
                Some(c) if i < c => {
                    if removed_at.is_some_and(|r| r <= now) {
                        KeyState::Expired
                    } else {
                        KeyState::Retired
                    }
                }
                _ => KeyState::Next,
            };
            out.push(KeyStatus {
                kid: k.kid.clone(),
                algorithm: k.algorithm,
                created_at: k.created_at,
                activates_at: k.activates_at,
                state,
                retires_at,
                removed_at,
            });
        }
    }
    out.sort_by_key(|s| (s.algorithm.as_str(), s.activates_at));
    out
}

/// When a new key of `alg` should activate, if one should be generated now: the current key
/// has signed for `period - announce` and no successor is announced yet.
pub fn rotation_due(
    statuses: &[KeyStatus],
    alg: Algorithm,
    now: UnixTime,
    policy: RotationPolicy,
) -> Option<UnixTime> {
    let chain: Vec<&KeyStatus> = statuses.iter().filter(|s| s.algorithm == alg).collect();
    if chain.iter().any(|s| s.state == KeyState::Next) {
        return None;
    }
    let current = chain.iter().find(|s| s.state == KeyState::Current)?;
    let takeover = current.activates_at.plus_secs(policy.period);
    let announce_at = UnixTime(takeover.0.saturating_sub(policy.announce as i64));
    (now >= announce_at).then(|| takeover.max(now.plus_secs(policy.announce)))
}

/// What a rotation tick did, for the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyEvent {
    Generated {
        kid: String,
        algorithm: Algorithm,
        activates_at: UnixTime,
    },
    Removed {
        kid: String,
        algorithm: Algorithm,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, alg: Algorithm, activates: i64) -> StoredKey {
        static SEQ: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        StoredKey {
            seq: SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            kid: kid.into(),
            algorithm: alg,
            private_key: zeroize::Zeroizing::new(vec![]),
            created_at: UnixTime(activates),
            activates_at: UnixTime(activates),
        }
    }

    const DAY: i64 = 86_400;
    const POLICY: RotationPolicy = RotationPolicy {
        period: 30 * DAY as u64,
        announce: DAY as u64,
    };

    fn state_of(keys: &[StoredKey], kid: &str, now: i64) -> KeyState {
        statuses(keys, UnixTime(now))
            .into_iter()
            .find(|s| s.kid == kid)
            .unwrap()
            .state
    }

    #[test]
    fn a_whole_cycle() {
        let mut keys = vec![key("a", Algorithm::Es256, 0)];
        assert_eq!(state_of(&keys, "a", 0), KeyState::Current);
        let st = statuses(&keys, UnixTime(28 * DAY));
        assert_eq!(
            rotation_due(&st, Algorithm::Es256, UnixTime(28 * DAY), POLICY),
            None
        );
        let now = UnixTime(29 * DAY);
        let st = statuses(&keys, now);
        let at = rotation_due(&st, Algorithm::Es256, now, POLICY).unwrap();
        assert_eq!(at, UnixTime(30 * DAY), "announced a day ahead");
        keys.push(key("b", Algorithm::Es256, at.0));
        assert_eq!(state_of(&keys, "b", 29 * DAY), KeyState::Next);
        assert_eq!(state_of(&keys, "a", 29 * DAY), KeyState::Current);
        let st = statuses(&keys, now);
        assert_eq!(
            rotation_due(&st, Algorithm::Es256, now, POLICY),
            None,
            "already announced"
        );
        assert_eq!(state_of(&keys, "b", 30 * DAY), KeyState::Current);
        assert_eq!(state_of(&keys, "a", 30 * DAY), KeyState::Retired);
        let a = statuses(&keys, UnixTime(30 * DAY))
            .into_iter()
            .find(|s| s.kid == "a")
            .unwrap();
        assert_eq!(a.retires_at, Some(UnixTime(30 * DAY)));
        assert_eq!(a.removed_at, Some(UnixTime(31 * DAY)));
        assert_eq!(state_of(&keys, "a", 31 * DAY - 1), KeyState::Retired);
        assert_eq!(state_of(&keys, "a", 31 * DAY), KeyState::Expired);
    }

    #[test]
    fn a_late_tick_still_announces_ahead() {
        let keys = vec![key("a", Algorithm::Es256, 0)];
        let now = UnixTime(45 * DAY);
        let at = rotation_due(&statuses(&keys, now), Algorithm::Es256, now, POLICY).unwrap();
        assert_eq!(
            at,
            UnixTime(46 * DAY),
            "never activates a key nobody has seen yet"
        );
    }

    #[test]
    fn of_two_keys_activating_in_the_same_second_the_later_one_signs() {
        let keys = vec![
            key("first", Algorithm::Es256, 5),
            key("second", Algorithm::Es256, 5),
        ];
        assert_eq!(state_of(&keys, "second", 5), KeyState::Current);
        assert_eq!(state_of(&keys, "first", 5), KeyState::Retired);
    }

    #[test]
    fn algorithms_have_separate_chains() {
        let keys = vec![
            key("e1", Algorithm::Es256, 0),
            key("r1", Algorithm::Rs256, 10),
            key("e2", Algorithm::Es256, 20),
        ];
        assert_eq!(state_of(&keys, "e1", 25), KeyState::Retired);
        assert_eq!(state_of(&keys, "e2", 25), KeyState::Current);
        assert_eq!(state_of(&keys, "r1", 25), KeyState::Current);
        assert_eq!(state_of(&keys, "r1", 5), KeyState::Next);
    }
}
