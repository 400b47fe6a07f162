//! The in-memory client cache that keeps the token endpoint off the database.
//!
//! Every client is loaded at start and the cache is updated by the same code path that writes
//! the database, so a lookup never misses for an existing client and an unknown client id
//! costs the same as a known one (no database round trip that would reveal the difference).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use crate::clock::UnixTime;
use crate::domain::client::{Client, SecretId};
use crate::domain::scope::ScopeSet;
use crate::domain::secret::SecretHash;

/// What the token endpoint needs of a client, and nothing more.
#[derive(Debug)]
pub struct CachedClient {
    pub id: String,
    /// Tokens issued before this are not this client's (an id can be reused after a delete).
    pub created_at: UnixTime,
    pub scopes: ScopeSet,
    pub access_token_lifetime: Option<u64>,
    pub secrets: Vec<CachedSecret>,
}

#[derive(Debug)]
pub struct CachedSecret {
    pub id: SecretId,
    pub hash: SecretHash,
    pub expires_at: Option<UnixTime>,
}

impl CachedClient {
    fn from_client(c: &Client) -> CachedClient {
        CachedClient {
            id: c.id.as_str().to_owned(),
            created_at: c.created_at,
            scopes: c.scopes.clone(),
            access_token_lifetime: c.access_token_lifetime,
            secrets: c
                .secrets
                .iter()
                .map(|s| CachedSecret {
                    id: s.id.clone(),
                    hash: s.hash,
                    expires_at: s.expires_at,
                })
                .collect(),
        }
    }

    /// Checks `presented` against every live secret. Every stored hash is compared, so the
    /// time taken does not depend on which secret matched.
    pub fn matching_secret(&self, presented: &SecretHash, now: UnixTime) -> Option<&SecretId> {
        let mut found = None;
        for s in &self.secrets {
            let live = s.expires_at.is_none_or(|e| now < e);
            if presented.ct_eq(&s.hash) && live {
                found = Some(&s.id);
            }
        }
        found
    }
}

#[derive(Debug, Default)]
pub struct ClientCache {
    clients: RwLock<HashMap<String, Arc<CachedClient>>>,
}

impl ClientCache {
    pub fn get(&self, client_id: &str) -> Option<Arc<CachedClient>> {
        self.read().get(client_id).cloned()
    }

    pub fn put(&self, client: &Client) {
        let entry = Arc::new(CachedClient::from_client(client));
        self.write().insert(entry.id.clone(), entry);
    }

    pub fn remove(&self, client_id: &str) {
        self.write().remove(client_id);
    }

    pub fn replace_all(&self, clients: &[Client]) {
        let map = clients
            .iter()
            .map(|c| {
                (
                    c.id.as_str().to_owned(),
                    Arc::new(CachedClient::from_client(c)),
                )
            })
            .collect();
        *self.write() = map;
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every scope some client holds: what discovery advertises as `scopes_supported`.
    pub fn all_scopes(&self) -> BTreeSet<String> {
        self.read()
            .values()
            .flat_map(|c| c.scopes.iter().map(|s| s.as_str().to_owned()))
            .collect()
    }

    // A panic while the lock was held cannot leave the map half-updated (every write is a
    // single insert, remove or swap), so a poisoned lock is still safe to use.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<CachedClient>>> {
        self.clients.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<CachedClient>>> {
        self.clients.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::{ClientId, ClientName, Description, SecretInfo};

    fn client(id: &str, hashes: &[(u8, Option<i64>)]) -> Client {
        Client {
            id: ClientId::parse(id).unwrap(),
            name: ClientName::parse(id).unwrap(),
            description: Description::default(),
            scopes: ScopeSet::parse_delimited("a b").unwrap(),
            access_token_lifetime: None,
            secrets: hashes
                .iter()
                .enumerate()
                .map(|(i, (h, exp))| SecretInfo {
                    id: SecretId::from_stored(format!("sec_{i}")),
                    hash: SecretHash([*h; 32]),
                    created_at: UnixTime(0),
                    expires_at: exp.map(UnixTime),
                    last_used_at: None,
                })
                .collect(),
            created_at: UnixTime(0),
            updated_at: UnixTime(0),
        }
    }

    #[test]
    fn put_get_remove() {
        let cache = ClientCache::default();
        cache.put(&client("c1", &[(1, None)]));
        assert!(cache.get("c1").is_some());
        assert!(cache.get("c2").is_none());
        cache.remove("c1");
        assert!(cache.get("c1").is_none());
    }

    #[test]
    fn any_live_secret_matches() {
        let cache = ClientCache::default();
        cache.put(&client("c1", &[(1, None), (2, Some(100))]));
        let c = cache.get("c1").unwrap();
        assert_eq!(
            c.matching_secret(&SecretHash([1; 32]), UnixTime(0))
                .map(SecretId::as_str),
            Some("sec_0")
        );
        assert_eq!(
            c.matching_secret(&SecretHash([2; 32]), UnixTime(99))
                .map(SecretId::as_str),
            Some("sec_1")
        );
        assert!(
            c.matching_secret(&SecretHash([2; 32]), UnixTime(100))
                .is_none()
        );
        assert!(
            c.matching_secret(&SecretHash([3; 32]), UnixTime(0))
                .is_none()
        );
    }

    #[test]
    fn replace_all_and_scopes() {
        let cache = ClientCache::default();
        cache.put(&client("old", &[]));
        cache.replace_all(&[client("c1", &[]), client("c2", &[])]);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("old").is_none());
        assert_eq!(
            cache.all_scopes().into_iter().collect::<Vec<_>>(),
            ["a", "b"]
        );
    }
}
