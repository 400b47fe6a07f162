//! The in-memory client cache that keeps the token endpoint off the database.
//!
//! Every client is loaded at start and the cache is updated by the same code path that writes
//! the database, so a lookup never misses for an existing client and an unknown client id
//! costs the same as a known one (no database round trip that would reveal the difference).
//! Secret last-use times are kept here too, in atomics, and written behind (see `upkeep`).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use crate::clock::UnixTime;
use crate::domain::client::{Client, SecretId};
use crate::domain::scope::ScopeSet;
use crate::domain::secret::SecretHash;
use crate::keys::Algorithm;

/// What the token endpoint needs of a client, and nothing more: with 100,000 clients in
/// memory, every byte here counts.
#[derive(Debug)]
pub struct CachedClient {
    pub id: Arc<str>,
    /// Tokens issued before this are not this client's (an id can be reused after a delete).
    pub created_at: UnixTime,
    /// Shared between clients with the same scopes (most integrations of one kind have them).
    pub scopes: Arc<ScopeSet>,
    pub access_token_lifetime: Option<u64>,
    pub signing_algorithm: Option<Algorithm>,
    /// Usable secrets only: disabled ones are left out.
    pub secrets: Vec<CachedSecret>,
}

#[derive(Debug)]
pub struct CachedSecret {
    pub id: SecretId,
    pub hash: SecretHash,
    pub expires_at: Option<UnixTime>,
    /// Last successful use, Unix seconds (0: none seen by this process).
    last_used: AtomicI64,
    /// The last value written to the database.
    flushed: AtomicI64,
}

impl CachedSecret {
    /// Notes a use. A relaxed max is enough: the value is advisory and written behind.
    pub fn touch(&self, now: UnixTime) {
        self.last_used.fetch_max(now.0, Ordering::Relaxed);
    }

    pub fn last_used(&self) -> Option<UnixTime> {
        let t = self.last_used.load(Ordering::Relaxed);
        (t > 0).then_some(UnixTime(t))
    }
}

impl CachedClient {
    fn from_client(
        c: &Client,
        scopes: Arc<ScopeSet>,
        previous: Option<&CachedClient>,
    ) -> CachedClient {
        CachedClient {
            id: Arc::from(c.id.as_str()),
            created_at: c.created_at,
            scopes,
            access_token_lifetime: c.access_token_lifetime,
            signing_algorithm: c.signing_algorithm,
            secrets: c
                .secrets
                .iter()
                .filter(|s| s.disabled_at.is_none())
                .map(|s| {
                    // Uses not yet written behind survive an update of the client.
                    let seen = previous
                        .and_then(|p| p.secrets.iter().find(|o| o.id == s.id))
                        .map_or((0, 0), |o| {
                            (
                                o.last_used.load(Ordering::Relaxed),
                                o.flushed.load(Ordering::Relaxed),
                            )
                        });
                    let stored = s.last_used_at.map_or(0, |t| t.0);
                    CachedSecret {
                        id: s.id.clone(),
                        hash: s.hash,
                        expires_at: s.expires_at,
                        last_used: AtomicI64::new(seen.0.max(stored)),
                        flushed: AtomicI64::new(seen.1.max(stored)),
                    }
                })
                .collect(),
        }
    }

    /// Checks `presented` against every live secret. Every stored hash is compared, so the
    /// time taken does not depend on which secret matched.
    pub fn matching_secret(&self, presented: &SecretHash, now: UnixTime) -> Option<&CachedSecret> {
        let mut found = None;
        for s in &self.secrets {
            let live = s.expires_at.is_none_or(|e| now < e);
            if presented.ct_eq(&s.hash) && live {
                found = Some(s);
            }
        }
        found
    }
}

type Clients = HashMap<Arc<str>, Arc<CachedClient>>;

#[derive(Debug, Default)]
pub struct ClientCache {
    clients: RwLock<Clients>,
    /// Distinct scope sets, by their canonical form.
    scope_sets: std::sync::Mutex<HashMap<String, Arc<ScopeSet>>>,
}

impl ClientCache {
    pub fn get(&self, client_id: &str) -> Option<Arc<CachedClient>> {
        self.read().get(client_id).cloned()
    }

    fn intern(&self, scopes: &ScopeSet) -> Arc<ScopeSet> {
        let mut sets = self.scope_sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.entry(scopes.to_delimited())
            .or_insert_with(|| Arc::new(scopes.clone()))
            .clone()
    }

    pub fn put(&self, client: &Client) {
        let scopes = self.intern(&client.scopes);
        let mut map = self.write();
        let entry = Arc::new(CachedClient::from_client(
            client,
            scopes,
            map.get(client.id.as_str()).map(Arc::as_ref),
        ));
        map.insert(entry.id.clone(), entry);
    }

    pub fn remove(&self, client_id: &str) {
        self.write().remove(client_id);
    }

    /// Replaces every entry with `clients` (read in pages, so a large installation never
    /// holds all its rows at once).
    pub fn replace_all(&self, clients: &[Client]) {
        let mut fresh = Clients::with_capacity(clients.len());
        self.extend(&mut fresh, clients);
        self.swap(fresh);
    }

    /// Builds entries into `fresh`, keeping uses seen by the entries they replace.
    pub fn extend(&self, fresh: &mut HashMap<Arc<str>, Arc<CachedClient>>, clients: &[Client]) {
        let map = self.read();
        for c in clients {
            let previous = map.get(c.id.as_str()).map(Arc::as_ref);
            let entry = CachedClient::from_client(c, self.intern(&c.scopes), previous);
            fresh.insert(entry.id.clone(), Arc::new(entry));
        }
    }

    /// Installs a map built with `extend`, and forgets scope sets no client holds any more.
    pub fn swap(&self, fresh: HashMap<Arc<str>, Arc<CachedClient>>) {
        *self.write() = fresh;
        self.scope_sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, set| Arc::strong_count(set) > 1);
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

    /// Shows uses seen in memory but not yet written behind.
    pub fn fill_last_use(&self, client: &mut Client) {
        if let Some(cached) = self.get(client.id.as_str()) {
            for s in &mut client.secrets {
                if let Some(c) = cached.secrets.iter().find(|c| c.id == s.id) {
                    s.last_used_at = s.last_used_at.max(c.last_used());
                }
            }
        }
    }

    /// Uses not written to the database yet; marks them written. If the write then fails,
    /// `unflush` puts them back.
    pub fn take_unflushed(&self) -> Vec<(SecretId, UnixTime)> {
        let map = self.read();
        let mut out = Vec::new();
        for c in map.values() {
            for s in &c.secrets {
                let used = s.last_used.load(Ordering::Relaxed);
                if used > s.flushed.fetch_max(used, Ordering::Relaxed) {
                    out.push((s.id.clone(), UnixTime(used)));
                }
            }
        }
        out
    }

    pub fn unflush(&self, uses: &[(SecretId, UnixTime)]) {
        let failed: std::collections::HashSet<&SecretId> = uses.iter().map(|(id, _)| id).collect();
        let map = self.read();
        for c in map.values() {
            for s in &c.secrets {
                if failed.contains(&s.id) {
                    s.flushed.store(0, Ordering::Relaxed);
                }
            }
        }
    }

    // A panic while the lock was held cannot leave the map half-updated (every write is a
    // single insert, remove or swap), so a poisoned lock is still safe to use.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Clients> {
        self.clients.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Clients> {
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
            signing_algorithm: None,
            secrets: hashes
                .iter()
                .enumerate()
                .map(|(i, (h, exp))| SecretInfo {
                    id: SecretId::from_stored(format!("sec_{i}")),
                    hash: SecretHash([*h; 32]),
                    created_at: UnixTime(0),
                    expires_at: exp.map(UnixTime),
                    last_used_at: None,
                    disabled_at: None,
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
        let id = |h: u8, t: i64| {
            c.matching_secret(&SecretHash([h; 32]), UnixTime(t))
                .map(|s| s.id.as_str().to_owned())
        };
        assert_eq!(id(1, 0).as_deref(), Some("sec_0"));
        assert_eq!(id(2, 99).as_deref(), Some("sec_1"));
        assert_eq!(id(2, 100), None);
        assert_eq!(id(3, 0), None);
    }

    #[test]
    fn disabled_secrets_are_not_cached() {
        let cache = ClientCache::default();
        let mut c = client("c1", &[(1, None), (2, None)]);
        c.secrets[0].disabled_at = Some(UnixTime(5));
        cache.put(&c);
        let cached = cache.get("c1").unwrap();
        assert!(
            cached
                .matching_secret(&SecretHash([1; 32]), UnixTime(0))
                .is_none()
        );
        assert!(
            cached
                .matching_secret(&SecretHash([2; 32]), UnixTime(0))
                .is_some()
        );
    }

    #[test]
    fn last_use_is_written_behind_once_and_survives_updates() {
        let cache = ClientCache::default();
        let mut c = client("c1", &[(1, None)]);
        cache.put(&c);
        cache.get("c1").unwrap().secrets[0].touch(UnixTime(10));
        cache.get("c1").unwrap().secrets[0].touch(UnixTime(7));
        c.name = ClientName::parse("renamed").unwrap();
        cache.put(&c);
        let mut shown = c.clone();
        cache.fill_last_use(&mut shown);
        assert_eq!(shown.secrets[0].last_used_at, Some(UnixTime(10)));
        let taken = cache.take_unflushed();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].1, UnixTime(10));
        assert!(cache.take_unflushed().is_empty(), "written once");
        cache.unflush(&taken);
        assert_eq!(cache.take_unflushed().len(), 1, "a failed write is retried");
    }

    #[test]
    fn equal_scope_sets_are_shared() {
        let cache = ClientCache::default();
        cache.put(&client("c1", &[]));
        cache.put(&client("c2", &[]));
        assert!(Arc::ptr_eq(
            &cache.get("c1").unwrap().scopes,
            &cache.get("c2").unwrap().scopes
        ));
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
