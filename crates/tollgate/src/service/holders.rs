//! Which clients hold the catalogue's permissions, for the console: counted in the client
//! cache (it holds every client's scopes, on every node), named from the store for the few
//! that a page shows.

use std::collections::HashMap;
use std::sync::Arc;

use super::{ClientHolding, Tollgate};
use crate::cache::{Access, ClientCache};
use crate::domain::catalogue::Catalogue;
use crate::domain::client::ClientId;
use crate::domain::scope::Scope;
use crate::store::StoreError;

/// Who holds one permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holders {
    /// How many clients hold it.
    pub count: usize,
    /// The first of them by id, with their names (the id again for a client deleted since).
    pub first: Vec<(ClientId, String)>,
}

impl Tollgate {
    /// How many clients hold at least one permission of each API, in the order of
    /// `catalogue.apis()`.
    pub fn holder_counts(&self, catalogue: &Catalogue) -> Vec<usize> {
        count_by_group(&self.cache, catalogue.apis().len(), |scope| {
            catalogue.api_index(scope)
        })
    }

    /// For each of `scopes`: how many clients hold it, and the first `limit` of them by id,
    /// named. One pass over the clients and one query for the names.
    pub async fn holders(&self, scopes: &[&str], limit: usize) -> Result<Vec<Holders>, StoreError> {
        let found = holder_ids(&self.cache, scopes, limit);
        let mut ids: Vec<ClientId> = found.iter().flat_map(|(_, ids)| ids.clone()).collect();
        ids.sort();
        ids.dedup();
        let names = self.client_names(&ids).await?;
        Ok(found
            .into_iter()
            .map(|(count, ids)| Holders {
                count,
                first: ids
                    .into_iter()
                    .map(|id| {
                        let name = names
                            .get(id.as_str())
                            .cloned()
                            .unwrap_or_else(|| id.as_str().to_owned());
                        (id, name)
                    })
                    .collect(),
            })
            .collect())
    }

    /// The clients holding any of `scopes`, each with those of `scopes` it holds, ordered by
    /// id: whom removing them from the catalogue takes them from (what
    /// [`CatalogueError::InUse`](super::CatalogueError::InUse) names).
    pub fn holdings(&self, scopes: &[Scope]) -> Vec<ClientHolding> {
        self.cache
            .holding(scopes)
            .into_iter()
            .map(|(client_id, held)| ClientHolding {
                client_id,
                scopes: held
                    .iter()
                    .filter(|s| scopes.contains(s))
                    .map(|s| s.as_str().to_owned())
                    .collect(),
            })
            .collect()
    }

    /// The names of the clients with these ids, by id (those that exist).
    pub async fn client_names(
        &self,
        ids: &[ClientId],
    ) -> Result<HashMap<String, String>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut names = HashMap::with_capacity(ids.len());
        // Pages ask for a few hundred at most; chunks keep any one query small.
        for chunk in ids.chunks(500) {
            for (id, name) in self.store.client_names(chunk).await? {
                names.insert(id.as_str().to_owned(), name);
            }
        }
        Ok(names)
    }
}

/// For each of `scopes`, the number of clients holding it and the first `limit` ids.
fn holder_ids(cache: &ClientCache, scopes: &[&str], limit: usize) -> Vec<(usize, Vec<ClientId>)> {
    let index: HashMap<&str, usize> = scopes.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let mut held: Vec<Vec<Arc<crate::cache::CachedClient>>> = vec![Vec::new(); scopes.len()];
    cache.each(|c| {
        for s in c.scopes().iter() {
            if let Some(&i) = index.get(s.as_str()) {
                held[i].push(c.clone());
            }
        }
    });
    held.into_iter()
        .map(|mut clients| {
            let count = clients.len();
            if clients.len() > limit {
                clients.select_nth_unstable_by(limit, |a, b| a.id.cmp(&b.id));
                clients.truncate(limit);
            }
            clients.sort_unstable_by(|a, b| a.id.cmp(&b.id));
            let ids = clients.iter().filter_map(|c| ClientId::parse(&c.id).ok());
            (count, ids.collect())
        })
        .collect()
}

/// For each of `groups` groups of scopes, how many clients hold at least one scope of it;
/// `group_of` names the group of a scope. Clients share their scopes' set when they have the
/// same (most integrations of one kind do), so each distinct set is classified once.
fn count_by_group(
    cache: &ClientCache,
    groups: usize,
    group_of: impl Fn(&str) -> Option<usize>,
) -> Vec<usize> {
    let mut sets: HashMap<*const Access, (usize, Arc<Access>)> = HashMap::new();
    cache.each(|c| {
        sets.entry(Arc::as_ptr(&c.access))
            .or_insert_with(|| (0, c.access.clone()))
            .0 += 1;
    });
    let mut counts = vec![0; groups];
    let mut seen = Vec::new();
    for (clients, access) in sets.values() {
        seen.clear();
        for s in access.scopes.iter() {
            if let Some(g) = group_of(s.as_str()).filter(|g| *g < groups && !seen.contains(g)) {
                seen.push(g);
                counts[g] += clients;
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::UnixTime;
    use crate::domain::client::{Client, ClientName, Description};
    use crate::domain::scope::ScopeSet;

    fn cache(clients: &[(&str, &str)]) -> ClientCache {
        let cache = ClientCache::default();
        for (id, scopes) in clients {
            cache.put(&Client {
                id: ClientId::parse(id).unwrap(),
                name: ClientName::parse(id).unwrap(),
                description: Description::default(),
                scopes: ScopeSet::parse_delimited(scopes).unwrap(),
                access_token_lifetime: None,
                signing_algorithm: None,
                tenants: Vec::new(),
                claims: None,
                scopes_locked: false,
                quota: None,
                secrets: Vec::new(),
                created_at: UnixTime(0),
                updated_at: UnixTime(0),
            });
        }
        cache
    }

    fn ids(v: &[ClientId]) -> Vec<&str> {
        v.iter().map(ClientId::as_str).collect()
    }

    #[test]
    fn holders_of_each_scope_are_counted_and_the_first_ones_named() {
        let cache = cache(&[("c3", "a b"), ("c1", "a"), ("c2", "a c"), ("c4", "c")]);
        let got = holder_ids(&cache, &["a", "b", "d"], 2);
        assert_eq!(got[0].0, 3);
        assert_eq!(ids(&got[0].1), ["c1", "c2"], "the first two by id");
        assert_eq!((got[1].0, ids(&got[1].1)), (1, vec!["c3"]));
        assert_eq!((got[2].0, got[2].1.len()), (0, 0));
        let none = holder_ids(&cache, &["a"], 0);
        assert_eq!((none[0].0, none[0].1.len()), (3, 0), "counted, none named");
    }

    #[test]
    fn holders_are_counted_once_per_group() {
        // c1 and c2 share the set "a b"; a and b are one group, c another.
        let cache = cache(&[("c1", "a b"), ("c2", "a b"), ("c3", "c"), ("c4", "x")]);
        let group = |s: &str| match s {
            "a" | "b" => Some(0),
            "c" => Some(1),
            "x" => Some(7), // out of range: ignored
            _ => None,
        };
        assert_eq!(count_by_group(&cache, 3, group), [2, 1, 0]);
        assert_eq!(count_by_group(&ClientCache::default(), 2, group), [0, 0]);
    }
}
