//! Revocation: single access tokens (RFC 7009) and every token of a deleted client.

use std::collections::HashMap;

use super::token::MAX_TOKEN_LIFETIME;
use crate::clock::UnixTime;

/// How many single-token revocations one client may have live at once. Each is a row, an
/// entry in every node's index and a feed entry every resource server downloads, and any
/// client may revoke its own tokens, so without a bound one client could grow all three
/// for everyone. Past it, a revocation becomes one client-wide "issued before now" entry.
pub const MAX_TOKEN_REVOCATIONS_PER_CLIENT: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// One token, until it would have expired.
    Token {
        jti: String,
        client_id: String,
        exp: UnixTime,
    },
    /// Every token the client got at or before `issued_before`: the client was deleted, or
    /// it revoked more of its own tokens than [`MAX_TOKEN_REVOCATIONS_PER_CLIENT`] allows.
    Client {
        client_id: String,
        issued_before: UnixTime,
    },
}

impl Revocation {
    /// When nothing this revocation concerns can still be valid, so it can be forgotten.
    pub fn prune_after(&self) -> UnixTime {
        match self {
            Revocation::Token { exp, .. } => *exp,
            Revocation::Client { issued_before, .. } => issued_before.plus_secs(MAX_TOKEN_LIFETIME),
        }
    }

    pub fn client_id(&self) -> &str {
        match self {
            Revocation::Token { client_id, .. } | Revocation::Client { client_id, .. } => client_id,
        }
    }
}

/// A revocation with its position in the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationEntry {
    pub cursor: i64,
    pub revocation: Revocation,
}

/// What is revoked now, in memory, so introspection answers without the database.
#[derive(Debug, Default)]
pub struct RevocationIndex {
    /// jti → (client, exp).
    tokens: HashMap<String, (String, UnixTime)>,
    clients: HashMap<String, UnixTime>,
}

impl RevocationIndex {
    pub fn insert(&mut self, r: &Revocation) {
        match r {
            Revocation::Token {
                jti,
                client_id,
                exp,
            } => {
                self.tokens.insert(jti.clone(), (client_id.clone(), *exp));
            }
            Revocation::Client {
                client_id,
                issued_before,
            } => {
                let e = self
                    .clients
                    .entry(client_id.clone())
                    .or_insert(*issued_before);
                *e = (*e).max(*issued_before);
            }
        }
    }

    pub fn is_revoked(&self, jti: &str, client_id: &str, iat: UnixTime) -> bool {
        self.tokens.contains_key(jti)
            || self
                .clients
                .get(client_id)
                .is_some_and(|before| iat <= *before)
    }

    /// Forgets revocations whose tokens have all expired.
    pub fn prune(&mut self, now: UnixTime) {
        self.tokens.retain(|_, (_, exp)| *exp > now);
        self.clients
            .retain(|_, before| before.plus_secs(MAX_TOKEN_LIFETIME) > now);
    }

    /// How many single-token revocations of `client_id` still concern unexpired tokens.
    pub fn live_tokens_of(&self, client_id: &str, now: UnixTime) -> usize {
        self.tokens
            .values()
            .filter(|(c, exp)| c == client_id && *exp > now)
            .count()
    }

    pub fn len(&self) -> usize {
        self.tokens.len() + self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_clients() {
        let mut idx = RevocationIndex::default();
        idx.insert(&Revocation::Token {
            jti: "j1".into(),
            client_id: "c1".into(),
            exp: UnixTime(100),
        });
        idx.insert(&Revocation::Client {
            client_id: "c2".into(),
            issued_before: UnixTime(50),
        });
        assert!(idx.is_revoked("j1", "c1", UnixTime(0)));
        assert!(!idx.is_revoked("j2", "c1", UnixTime(0)));
        assert!(idx.is_revoked("jx", "c2", UnixTime(50)));
        assert!(
            !idx.is_revoked("jx", "c2", UnixTime(51)),
            "tokens after the deletion"
        );
        idx.prune(UnixTime(100));
        assert!(
            !idx.is_revoked("j1", "c1", UnixTime(0)),
            "expired tokens need no entry"
        );
        assert!(idx.is_revoked("jx", "c2", UnixTime(0)));
        idx.prune(UnixTime(50 + MAX_TOKEN_LIFETIME as i64));
        assert!(idx.is_empty());
    }

    #[test]
    fn live_tokens_are_counted_per_client() {
        let mut idx = RevocationIndex::default();
        for (jti, client, exp) in [("j1", "c1", 10), ("j2", "c1", 20), ("j3", "c2", 20)] {
            idx.insert(&Revocation::Token {
                jti: jti.into(),
                client_id: client.into(),
                exp: UnixTime(exp),
            });
        }
        assert_eq!(idx.live_tokens_of("c1", UnixTime(5)), 2);
        assert_eq!(
            idx.live_tokens_of("c1", UnixTime(10)),
            1,
            "expired ones do not count"
        );
        assert_eq!(idx.live_tokens_of("c3", UnixTime(5)), 0);
    }

    #[test]
    fn prune_horizon() {
        let t = Revocation::Token {
            jti: "j".into(),
            client_id: "c".into(),
            exp: UnixTime(7),
        };
        assert_eq!(t.prune_after(), UnixTime(7));
        let c = Revocation::Client {
            client_id: "c".into(),
            issued_before: UnixTime(7),
        };
        assert_eq!(c.prune_after(), UnixTime(7 + MAX_TOKEN_LIFETIME as i64));
    }
}
