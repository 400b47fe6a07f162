//! "Needs attention" on a client's page: secrets a rotation left behind, secrets about to
//! expire, secrets that no longer work. One hint per secret, the most pressing.

use crate::clock::UnixTime;
use crate::domain::client::SecretInfo;

const DAY: i64 = 86_400;
/// A secret expiring within this long needs its replacement now.
pub const EXPIRY_WARNING: i64 = 14 * DAY;
/// A secret not used for this long, while a newer one is, is probably retired.
pub const IDLE: i64 = 14 * DAY;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HintKind {
    /// Disabled because it was reported leaked: it works no more.
    Disabled,
    Expired,
    /// Never used, while the newer secret `newer` is.
    NeverUsed {
        newer: String,
    },
    /// Not used for `days` days, while the newer secret `newer` is.
    Idle {
        newer: String,
        days: i64,
    },
    /// Expires at `at` (RFC 3339), in about `days` days (0: within a day).
    Expiring {
        at: String,
        days: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub secret: String,
    pub kind: HintKind,
}

/// What needs attention about `secrets` at `now`.
pub fn hints(secrets: &[SecretInfo], now: UnixTime) -> Vec<Hint> {
    secrets
        .iter()
        .filter_map(|s| {
            hint(s, secrets, now).map(|kind| Hint {
                secret: s.id.as_str().to_owned(),
                kind,
            })
        })
        .collect()
}

fn hint(s: &SecretInfo, all: &[SecretInfo], now: UnixTime) -> Option<HintKind> {
    if s.disabled_at.is_some() {
        return Some(HintKind::Disabled);
    }
    if !s.is_live(now) {
        return Some(HintKind::Expired);
    }
    // The newest live secret created after this one that is in use, used last most recently.
    let newer_in_use = all
        .iter()
        .filter(|n| n.created_at > s.created_at && n.is_live(now))
        .filter_map(|n| n.last_used_at.map(|used| (used, n)))
        .max_by_key(|(used, _)| *used);
    if let Some((newer_used, newer)) = newer_in_use {
        let newer = newer.id.as_str().to_owned();
        match s.last_used_at {
            None => return Some(HintKind::NeverUsed { newer }),
            Some(used) if used < newer_used && now.0 - used.0 >= IDLE => {
                return Some(HintKind::Idle {
                    newer,
                    days: (now.0 - used.0) / DAY,
                });
            }
            Some(_) => {}
        }
    }
    match s.expires_at {
        Some(at) if at.0 - now.0 <= EXPIRY_WARNING => Some(HintKind::Expiring {
            at: at.to_rfc3339(),
            days: whole_days(at.0 - now.0),
        }),
        _ => None,
    }
}

/// `secs` in days, to the nearest; 0 only when less than a day.
fn whole_days(secs: i64) -> i64 {
    if secs < DAY {
        0
    } else {
        (secs + DAY / 2) / DAY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::SecretId;
    use crate::domain::secret::SecretHash;

    const NOW: UnixTime = UnixTime(1_900_000_000);

    fn secret(id: &str, created: i64, last_used: Option<i64>) -> SecretInfo {
        SecretInfo {
            id: SecretId::from_stored(id.to_owned()),
            hash: SecretHash([0; 32]),
            created_at: UnixTime(NOW.0 - created),
            expires_at: None,
            last_used_at: last_used.map(|ago| UnixTime(NOW.0 - ago)),
            disabled_at: None,
        }
    }

    fn kinds(secrets: &[SecretInfo]) -> Vec<(String, HintKind)> {
        hints(secrets, NOW)
            .into_iter()
            .map(|h| (h.secret, h.kind))
            .collect()
    }

    #[test]
    fn a_single_secret_in_use_or_not_needs_nothing() {
        assert!(kinds(&[secret("sec_a", 100 * DAY, None)]).is_empty());
        assert!(kinds(&[secret("sec_a", 100 * DAY, Some(60))]).is_empty());
    }

    #[test]
    fn an_old_secret_never_used_beside_a_newer_one_in_use_can_go() {
        let old = secret("sec_old", 30 * DAY, None);
        let new = secret("sec_new", DAY, Some(60));
        assert_eq!(
            kinds(&[old, new]),
            [(
                "sec_old".to_owned(),
                HintKind::NeverUsed {
                    newer: "sec_new".into()
                }
            )]
        );
    }

    #[test]
    fn a_rotation_in_progress_is_not_flagged() {
        // The new secret is not used yet: the old one must stay.
        let old = secret("sec_old", 30 * DAY, Some(60));
        let new = secret("sec_new", DAY, None);
        assert!(kinds(&[old, new]).is_empty());
        // Both in use, the old one recently: integrations are still moving.
        let old = secret("sec_old", 30 * DAY, Some(13 * DAY));
        let new = secret("sec_new", 20 * DAY, Some(60));
        assert!(kinds(&[old, new]).is_empty());
    }

    #[test]
    fn an_old_secret_idle_for_two_weeks_while_the_newer_is_used_can_go() {
        let old = secret("sec_old", 60 * DAY, Some(15 * DAY));
        let new = secret("sec_new", 20 * DAY, Some(60));
        assert_eq!(
            kinds(&[old, new]),
            [(
                "sec_old".to_owned(),
                HintKind::Idle {
                    newer: "sec_new".into(),
                    days: 15
                }
            )]
        );
    }

    #[test]
    fn a_newer_secret_unused_does_not_make_an_older_one_removable() {
        let old = secret("sec_old", 30 * DAY, None);
        let new = secret("sec_new", DAY, None);
        assert!(kinds(&[old, new]).is_empty());
    }

    #[test]
    fn expiry_within_fourteen_days_is_flagged_and_expired_or_disabled_secrets_too() {
        let soon = SecretInfo {
            expires_at: Some(UnixTime(NOW.0 + 3 * DAY + 5)),
            ..secret("sec_soon", DAY, Some(60))
        };
        let later = SecretInfo {
            expires_at: Some(UnixTime(NOW.0 + 15 * DAY)),
            ..secret("sec_later", DAY, Some(60))
        };
        let gone = SecretInfo {
            expires_at: Some(UnixTime(NOW.0 - 1)),
            ..secret("sec_gone", DAY, Some(60))
        };
        let leaked = SecretInfo {
            disabled_at: Some(UnixTime(NOW.0 - 1)),
            ..secret("sec_leaked", DAY, Some(60))
        };
        assert_eq!(
            kinds(&[soon, later, gone, leaked]),
            [
                (
                    "sec_soon".to_owned(),
                    HintKind::Expiring {
                        at: UnixTime(NOW.0 + 3 * DAY + 5).to_rfc3339(),
                        days: 3
                    }
                ),
                ("sec_gone".to_owned(), HintKind::Expired),
                ("sec_leaked".to_owned(), HintKind::Disabled),
            ]
        );
    }

    #[test]
    fn days_are_rounded_and_less_than_one_is_zero() {
        assert_eq!(whole_days(DAY - 1), 0);
        assert_eq!(whole_days(DAY), 1);
        assert_eq!(whole_days(3 * DAY - 60), 3);
        assert_eq!(whole_days(2 * DAY + DAY / 3), 2);
    }

    #[test]
    fn an_expired_newer_secret_does_not_count_as_in_use() {
        let old = secret("sec_old", 30 * DAY, None);
        let new = SecretInfo {
            expires_at: Some(UnixTime(NOW.0 - 1)),
            ..secret("sec_new", DAY, Some(2 * DAY))
        };
        assert_eq!(
            kinds(&[old, new]),
            [("sec_new".to_owned(), HintKind::Expired)]
        );
    }
}
