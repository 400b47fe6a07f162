//! The in-memory client cache that keeps the token endpoint off the database.
//!
//! Every client is loaded at start and the cache is updated by the same code path that writes
//! the database, so a lookup never misses for an existing client and an unknown client id
//! costs the same as a known one (no database round trip that would reveal the difference).
//! Secret last-use times and token counts are kept here too, in atomics, and written behind
//! (see `upkeep` and [`usage`]).

pub mod quota;
pub mod usage;

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::claims::StaticClaims;
use crate::domain::client::{Client, ClientId};
use crate::domain::grant::Tenant;
use crate::domain::scope::ScopeSet;
use crate::domain::secret::SecretHash;

/// What the token endpoint needs of a client, and nothing more: with 100,000 clients in
/// memory, every byte here counts.
#[derive(Debug)]
pub struct CachedClient {
    pub id: Box<str>,
    /// Tokens issued before this are not this client's (an id can be reused after a delete).
    pub created_at: UnixTime,
    /// Shared between clients with the same scopes, tenants and claims (most integrations of
    /// one kind have them).
    pub access: Arc<Access>,
    /// Seconds; validated lifetimes fit in 32 bits, and the smaller field keeps an entry in a
    /// smaller allocation class.
    access_token_lifetime: Option<NonZeroU32>,
    pub signing_algorithm: Option<Algorithm>,
    /// Usable secrets only: disabled ones are left out. A boxed slice, not a `Vec`: collecting
    /// a filtered iterator reserves room for four, which cost 264 bytes per client.
    pub secrets: Box<[CachedSecret]>,
    /// Tokens issued and requests refused, not yet written behind; the quota, if any.
    pub usage: usage::ClientCounters,
}

/// What a client may get in its tokens beyond its lifetime and algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Access {
    pub scopes: ScopeSet,
    pub tenants: Box<[Tenant]>,
    pub claims: Option<StaticClaims>,
}

impl Access {
    fn of(client: &Client) -> Access {
        Access {
            scopes: client.scopes.clone(),
            tenants: client.tenants.clone().into_boxed_slice(),
            claims: client.claims.clone(),
        }
    }
}

#[derive(Debug)]
pub struct CachedSecret {
    /// Also what identifies the secret here: hashes are unique (the database enforces it),
    /// and keeping no secret id saves 48 bytes a client.
    pub hash: SecretHash,
    /// Unix seconds; `i64::MAX` for a secret that does not expire.
    expires_at: i64,
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
        access: Arc<Access>,
        previous: Option<&CachedClient>,
    ) -> CachedClient {
        CachedClient {
            id: Box::from(c.id.as_str()),
            created_at: c.created_at,
            access,
            access_token_lifetime: c
                .access_token_lifetime
                .and_then(|l| NonZeroU32::new(u32::try_from(l).unwrap_or(u32::MAX))),
            signing_algorithm: c.signing_algorithm,
            secrets: c
                .secrets
                .iter()
                .filter(|s| s.disabled_at.is_none())
                .map(|s| {
                    // Uses not yet written behind survive an update of the client.
                    let seen = previous
                        .and_then(|p| p.secrets.iter().find(|o| o.hash == s.hash))
                        .map_or((0, 0), |o| {
                            (
                                o.last_used.load(Ordering::Relaxed),
                                o.flushed.load(Ordering::Relaxed),
                            )
                        });
                    let stored = s.last_used_at.map_or(0, |t| t.0);
                    CachedSecret {
                        hash: s.hash,
                        expires_at: s.expires_at.map_or(i64::MAX, |t| t.0),
                        last_used: AtomicI64::new(seen.0.max(stored)),
                        flushed: AtomicI64::new(seen.1.max(stored)),
                    }
                })
                .collect::<Vec<_>>()
                .into_boxed_slice(),
            usage: usage::ClientCounters::with_quota(
                c.quota
                    .map(|q| quota::QuotaState::new(q, previous.and_then(CachedClient::quota))),
            ),
        }
    }

    pub fn quota(&self) -> Option<&quota::QuotaState> {
        self.usage.quota()
    }

    pub fn scopes(&self) -> &ScopeSet {
        &self.access.scopes
    }

    pub fn access_token_lifetime(&self) -> Option<u64> {
        self.access_token_lifetime.map(|l| u64::from(l.get()))
    }

    /// Checks `presented` against every live secret. Every stored hash is compared, so the
    /// time taken does not depend on which secret matched.
    pub fn matching_secret(&self, presented: &SecretHash, now: UnixTime) -> Option<&CachedSecret> {
        let mut found = None;
        for s in &self.secrets {
            let live = now.0 < s.expires_at;
            if presented.ct_eq(&s.hash) && live {
                found = Some(s);
            }
        }
        found
    }
}

/// A cache entry, found by its client id: the entry is its own key, so 100,000 clients do not
/// carry 100,000 separate copies of their ids.
#[derive(Debug, Clone)]
struct Entry(Arc<CachedClient>);

impl Borrow<str> for Entry {
    fn borrow(&self) -> &str {
        &self.0.id
    }
}

// Hash and Eq agree with `str`'s, as `Borrow` requires.
impl Hash for Entry {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.id.hash(state);
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for Entry {}

/// Clients being loaded into a fresh cache (see [`ClientCache::extend`] and
/// [`ClientCache::swap`]).
#[derive(Debug, Default)]
pub struct Clients(HashSet<Entry>);

#[derive(Debug, Default)]
pub struct ClientCache {
    clients: RwLock<Clients>,
    /// Distinct scope sets, tenants and claims.
    scope_sets: std::sync::Mutex<HashSet<Arc<Access>>>,
    /// Counts changes, so what is derived from the clients is rebuilt only after one.
    generation: AtomicU64,
}

impl ClientCache {
    pub fn get(&self, client_id: &str) -> Option<Arc<CachedClient>> {
        self.read().0.get(client_id).map(|e| e.0.clone())
    }

    fn intern(&self, client: &Client) -> Arc<Access> {
        let access = Access::of(client);
        let mut sets = self.scope_sets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(set) = sets.get(&access) {
            return set.clone();
        }
        let set = Arc::new(access);
        sets.insert(set.clone());
        set
    }

    pub fn put(&self, client: &Client) {
        let access = self.intern(client);
        let mut map = self.write();
        let entry = Arc::new(CachedClient::from_client(
            client,
            access,
            map.0.get(client.id.as_str()).map(|e| e.0.as_ref()),
        ));
        if let Some(old) = map.0.replace(Entry(entry.clone())) {
            // Counts not written behind yet move to the new entry.
            old.0.usage.move_into(&entry.usage);
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    pub fn remove(&self, client_id: &str) {
        self.write().0.remove(client_id);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Changes when the cached clients change.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Replaces every entry with `clients` (read in pages, so a large installation never
    /// holds all its rows at once).
    pub fn replace_all(&self, clients: &[Client]) {
        let mut fresh = Clients(HashSet::with_capacity(clients.len()));
        self.extend(&mut fresh, clients);
        self.swap(fresh);
    }

    /// Builds entries into `fresh`, keeping uses seen by the entries they replace.
    pub fn extend(&self, fresh: &mut Clients, clients: &[Client]) {
        let map = self.read();
        for c in clients {
            let previous = map.0.get(c.id.as_str()).map(|e| e.0.as_ref());
            let entry = CachedClient::from_client(c, self.intern(c), previous);
            fresh.0.replace(Entry(Arc::new(entry)));
        }
    }

    /// Installs a map built with `extend`, and forgets scope sets no client holds any more.
    pub fn swap(&self, fresh: Clients) {
        let old = std::mem::replace(&mut *self.write(), fresh);
        self.carry_usage(&old);
        self.generation.fetch_add(1, Ordering::Release);
        self.scope_sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|set| Arc::strong_count(set) > 1);
    }

    pub fn len(&self) -> usize {
        self.read().0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The clients holding any of `scopes`, with all their scopes, ordered by id.
    pub fn holding(&self, scopes: &[crate::domain::scope::Scope]) -> Vec<(ClientId, ScopeSet)> {
        let map = self.read();
        let mut out: Vec<(ClientId, ScopeSet)> = map
            .0
            .iter()
            .filter(|e| {
                scopes
                    .iter()
                    .any(|s| e.0.access.scopes.contains(s.as_str()))
            })
            .filter_map(|e| {
                ClientId::parse(&e.0.id)
                    .ok()
                    .map(|id| (id, e.0.access.scopes.clone()))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Calls `f` with every client, under the read lock the token endpoint also takes: keep
    /// `f` quick (for pages that count or list the clients holding a permission).
    pub fn each(&self, mut f: impl FnMut(&Arc<CachedClient>)) {
        for e in &self.read().0 {
            f(&e.0);
        }
    }

    /// Every scope some client holds.
    pub fn held_scopes(&self) -> std::collections::BTreeSet<String> {
        // The distinct sets, not the clients: a few sets, and not the lock the token endpoint
        // reads. A set only this cache still holds belongs to no client.
        self.scope_sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|set| Arc::strong_count(set) > 1)
            .flat_map(|set| set.scopes.iter().map(|s| s.as_str().to_owned()))
            .collect()
    }

    /// Shows uses seen in memory but not yet written behind.
    pub fn fill_last_use(&self, client: &mut Client) {
        if let Some(cached) = self.get(client.id.as_str()) {
            for s in &mut client.secrets {
                if let Some(c) = cached.secrets.iter().find(|c| c.hash == s.hash) {
                    s.last_used_at = s.last_used_at.max(c.last_used());
                }
            }
        }
    }

    /// Uses not written to the database yet; marks them written. If the write then fails,
    /// `unflush` puts them back.
    pub fn take_unflushed(&self) -> Vec<(SecretHash, UnixTime)> {
        let map = self.read();
        let mut out = Vec::new();
        for c in &map.0 {
            for s in &c.0.secrets {
                let used = s.last_used.load(Ordering::Relaxed);
                if used > s.flushed.fetch_max(used, Ordering::Relaxed) {
                    out.push((s.hash, UnixTime(used)));
                }
            }
        }
        out
    }

    pub fn unflush(&self, uses: &[(SecretHash, UnixTime)]) {
        let failed: HashSet<[u8; 32]> = uses.iter().map(|(hash, _)| hash.0).collect();
        let map = self.read();
        for c in &map.0 {
            for s in &c.0.secrets {
                if failed.contains(&s.hash.0) {
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
    use crate::domain::client::{ClientId, ClientName, Description, SecretId, SecretInfo};

    fn client(id: &str, hashes: &[(u8, Option<i64>)]) -> Client {
        Client {
            id: ClientId::parse(id).unwrap(),
            name: ClientName::parse(id).unwrap(),
            description: Description::default(),
            scopes: ScopeSet::parse_delimited("a b").unwrap(),
            access_token_lifetime: None,
            signing_algorithm: None,
            tenants: Vec::new(),
            claims: None,
            scopes_locked: false,
            quota: None,
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
    fn entries_stay_small() {
        // 100,000 clients are held in memory: an entry that grows into the next allocation
        // class costs megabytes (docs/benchmarks.md, memory). The token counters take 32
        // bytes (two hour slots, and a pointer to refusal counts made at the first refusal,
        // which also holds a quota): 88 bytes and the `Arc`'s 16 fit glibc's 112-byte chunk.
        assert!(std::mem::size_of::<CachedClient>() <= 88);
        assert!(std::mem::size_of::<CachedSecret>() <= 56);
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
                .map(|s| s.hash.0[0])
        };
        assert_eq!(id(1, 0), Some(1));
        assert_eq!(id(2, 99), Some(2));
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
    fn token_counts_survive_updates_and_reloads_and_go_with_a_deleted_client() {
        use crate::domain::usage::{Hour, Outcome, Refusal};
        let cache = ClientCache::default();
        let mut c = client("c1", &[(1, None)]);
        cache.put(&c);
        cache.put(&client("c2", &[]));
        let h = Hour(42);
        cache.get("c1").unwrap().usage.issued(h);
        let held = cache.get("c1").unwrap();
        c.name = ClientName::parse("renamed").unwrap();
        cache.put(&c);
        held.usage.issued(h); // a request that held the old entry: too late, not carried
        cache.get("c1").unwrap().usage.issued(h);
        cache
            .get("c1")
            .unwrap()
            .usage
            .refused(Refusal::InvalidClient, h);
        cache.get("c2").unwrap().usage.issued(h);
        cache.replace_all(&[c.clone()]);
        let mut taken = Vec::new();
        cache.take_usage(&mut taken);
        taken.sort_by_key(|u| u.outcome);
        let counts: Vec<(&str, Outcome, u64)> = taken
            .iter()
            .map(|u| (u.client_id.as_deref().unwrap(), u.outcome, u.count))
            .collect();
        assert_eq!(
            counts,
            [
                ("c1", Outcome::Issued, 2),
                ("c1", Outcome::Refused(Refusal::InvalidClient), 1),
            ]
        );
        let mut again = Vec::new();
        cache.take_usage(&mut again);
        assert!(again.is_empty(), "taken once");
    }

    #[test]
    fn equal_access_is_shared() {
        let cache = ClientCache::default();
        cache.put(&client("c1", &[]));
        cache.put(&client("c2", &[]));
        let mut bound = client("c3", &[]);
        bound.tenants = vec![Tenant::parse("acme").unwrap()];
        cache.put(&bound);
        let access = |id: &str| cache.get(id).unwrap().access.clone();
        assert!(Arc::ptr_eq(&access("c1"), &access("c2")));
        assert!(!Arc::ptr_eq(&access("c1"), &access("c3")));
        assert_eq!(&*access("c3").tenants, [Tenant::parse("acme").unwrap()]);
    }

    #[test]
    fn replace_all() {
        let cache = ClientCache::default();
        cache.put(&client("old", &[]));
        cache.replace_all(&[client("c1", &[]), client("c2", &[])]);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("old").is_none());
        assert_eq!(cache.get("c1").unwrap().scopes().to_delimited(), "a b");
    }

    #[test]
    fn the_generation_follows_every_change() {
        let cache = ClientCache::default();
        let g0 = cache.generation();
        let mut narrow = client("c1", &[]);
        narrow.scopes = ScopeSet::parse_delimited("x").unwrap();
        cache.put(&narrow);
        assert!(cache.generation() > g0);
        assert_eq!(cache.get("c1").unwrap().scopes().to_delimited(), "x");
        let g1 = cache.generation();
        cache.remove("c1");
        assert!(cache.generation() > g1);
    }
}
