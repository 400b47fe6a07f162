//! Token usage: counted in memory on the token endpoint's path (`cache::usage`), written
//! behind by the upkeep as counts added to the stored ones (so the nodes of a cluster sum up),
//! kept 30 days, and read back for the client object and the dashboard.
//!
//! A node that stops cleanly writes its counts; one that crashes loses what it counted since
//! its last write-behind, at most one upkeep interval (a minute). Reading usage first writes
//! this node's counts, so a node shows its own requests at once and the other nodes' after
//! their next write-behind.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::Tollgate;
use crate::cache::CachedClient;
use crate::cache::usage::RefusalCounters;
use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::client::Client;
use crate::domain::scope::ScopeSet;
use crate::domain::usage::{
    ClientUsage, EXPIRING_SOON_SECS, ExpiringSecret, Hour, IDLE_SECRET_SECS, IdleSecret,
    NOT_CACHING_FLOOR, Outcome, Refusal, UsageCount, tokens_needed,
};
use crate::keys::KeyState;
use crate::store::StoreError;

/// Items each list of the dashboard shows at most.
pub const DASHBOARD_ITEMS: usize = 20;
/// Clients the search for those that do not cache their tokens looks at, busiest first.
const BUSIEST: u32 = 500;

/// This node's counts that are not in a client's cache entry.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    /// Refusals of requests that named no existing client.
    anonymous: RefusalCounters,
    /// Counts taken out of memory whose write failed: written with the next ones.
    unwritten: Mutex<BTreeMap<(Hour, String, Outcome), u64>>,
    /// Held while counts are written and quota sums read (see `quotas`).
    pub(super) flushing: tokio::sync::Mutex<()>,
}

/// A client's usage as the client object shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageReport {
    pub last_24h: u64,
    pub last_30d: u64,
    /// It asks for far more tokens than its token lifetime needs (see
    /// [`ClientUsage::not_caching`]).
    pub not_caching: bool,
    /// Tokens used in the quota's current window, and whether that is over the quota.
    pub quota: Option<(u64, bool)>,
}

/// A client that does not cache its tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotCaching {
    pub client_id: String,
    pub client_name: String,
    pub last_24h: u64,
    /// What one caller that keeps each token until it expires would have needed.
    pub needed: u64,
    pub lifetime: u64,
}

/// The key that signs now for one algorithm, and when the next one takes over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAge {
    pub kid: String,
    pub algorithm: Algorithm,
    pub signing_since: UnixTime,
    /// When its successor signs: announced already, or due by the rotation period.
    pub next_rotation: UnixTime,
    pub successor_announced: bool,
}

/// What the console's dashboard shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dashboard {
    pub clients: usize,
    pub apis: usize,
    pub issued_24h: u64,
    /// Refused token requests of the last 24 hours by error code, most first.
    pub refused_24h: Vec<(Refusal, u64)>,
    pub expiring: Vec<ExpiringSecret>,
    pub keys: Vec<KeyAge>,
    pub idle_secrets: Vec<IdleSecret>,
    pub not_caching: Vec<NotCaching>,
    pub over_quota: Vec<super::OverQuota>,
}

impl super::TokenError {
    /// The OAuth error code the token endpoint answers this with (its test in
    /// `http::oauth::error` checks that the two agree).
    pub fn refusal(&self) -> Refusal {
        use super::TokenError;
        use crate::domain::grant::GrantError;
        match self {
            TokenError::InvalidClient => Refusal::InvalidClient,
            TokenError::Grant(GrantError::InvalidScope(_)) => Refusal::InvalidScope,
            TokenError::Grant(GrantError::InvalidTarget(_)) => Refusal::InvalidTarget,
            TokenError::Grant(GrantError::InvalidTenant(_)) => Refusal::InvalidRequest,
            TokenError::Signing(_) => Refusal::ServerError,
            TokenError::Unavailable | TokenError::Quota(_) => Refusal::TemporarilyUnavailable,
        }
    }
}

impl Tollgate {
    /// Counts a refusal, under the client when one is known, else under no client.
    pub(super) fn count_refusal(&self, client: Option<&CachedClient>, r: Refusal, hour: Hour) {
        crate::metrics::token_refused(r);
        match client {
            Some(c) => c.usage.refused(r, hour),
            None => self.usage.anonymous.add(r, hour),
        }
    }

    /// Counts a token request refused before the service saw it (a malformed request):
    /// under the client it names, if that client exists.
    pub fn count_refused_request(&self, client_id: Option<&str>, r: Refusal, now: UnixTime) {
        let client = client_id.and_then(|id| self.cache.get(id));
        self.count_refusal(client.as_deref(), r, Hour::of(now));
    }

    /// Writes the counts made since the last call (and those whose write failed before);
    /// returns how many rows it added to. (`flush_usage` calls it.)
    pub(super) async fn write_usage(&self) -> Result<usize, StoreError> {
        let mut taken = Vec::new();
        self.cache.take_usage(&mut taken);
        self.usage.anonymous.take(|r, hour, n| {
            taken.push(UsageCount {
                hour,
                client_id: None,
                outcome: Outcome::Refused(r),
                count: u64::from(n),
            });
        });
        let mut merged = std::mem::take(&mut *self.unwritten());
        for c in taken {
            *merged
                .entry((c.hour, c.client_id.unwrap_or_default(), c.outcome))
                .or_default() += c.count;
        }
        if merged.is_empty() {
            return Ok(0);
        }
        // In key order, the same on every node, so concurrent writes lock rows in one order.
        let counts: Vec<UsageCount> = merged
            .iter()
            .map(|((hour, client, outcome), count)| UsageCount {
                hour: *hour,
                client_id: (!client.is_empty()).then(|| client.clone()),
                outcome: *outcome,
                count: *count,
            })
            .collect();
        if let Err(e) = self.store.add_usage(&counts).await {
            let kept_from = Hour::of(self.now()).kept_from();
            let mut unwritten = self.unwritten();
            for (key, count) in merged.into_iter().filter(|(k, _)| k.0 >= kept_from) {
                *unwritten.entry(key).or_default() += count;
            }
            return Err(e);
        }
        Ok(counts.len())
    }

    fn unwritten(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Hour, String, Outcome), u64>> {
        // Only ever replaced whole or added to: still sound after a panic elsewhere.
        self.usage
            .unwritten
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets counts older than 30 days.
    pub async fn prune_usage(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.store.prune_usage(Hour::of(now).kept_from()).await
    }

    /// Writes this node's counts before they are read; a failure is logged, and what is
    /// stored is shown.
    async fn flush_before_reading(&self) {
        if let Err(e) = self.flush_usage().await {
            tracing::warn!(error = %e, "could not write token counts; will retry");
        }
    }

    /// The usage of each of `clients`, in their order.
    pub async fn usage_of(
        &self,
        clients: &[&Client],
        now: UnixTime,
    ) -> Result<Vec<UsageReport>, StoreError> {
        self.flush_before_reading().await;
        let ids: Vec<&str> = clients.iter().map(|c| c.id.as_str()).collect();
        let hour = Hour::of(now);
        let stored: BTreeMap<String, ClientUsage> = self
            .store
            .clients_usage(&ids, hour.day_start(), hour.kept_from())
            .await?
            .into_iter()
            .collect();
        Ok(clients
            .iter()
            .map(|c| {
                let usage = stored.get(c.id.as_str()).copied().unwrap_or_default();
                UsageReport {
                    last_24h: usage.last_24h,
                    last_30d: usage.last_30d,
                    not_caching: usage
                        .not_caching(self.lifetime_of(c.access_token_lifetime, &c.scopes)),
                    quota: self.quota_use(c.id.as_str(), now),
                }
            })
            .collect())
    }

    /// The lifetime a client's tokens get: its own, else the shortest of its APIs', else the
    /// server's default. (A token for fewer APIs may live longer; the shortest is what a
    /// caller that caches needs the most tokens for.)
    fn lifetime_of(&self, own: Option<u64>, scopes: &ScopeSet) -> u64 {
        let catalogue = self.catalogue();
        own.or_else(|| {
            scopes
                .iter()
                .filter_map(|s| catalogue.api_of(s.as_str()))
                .filter_map(|api| api.access_token_lifetime)
                .min()
        })
        .unwrap_or(self.policy.default_lifetime)
    }

    /// Everything the console's dashboard shows.
    pub async fn dashboard(&self, now: UnixTime) -> Result<Dashboard, StoreError> {
        self.flush_before_reading().await;
        let day = Hour::of(now).day_start();
        let mut board = Dashboard {
            clients: self.cache.len(),
            apis: self.catalogue().apis().len(),
            ..Dashboard::default()
        };
        for (outcome, n) in self.store.usage_by_outcome(day).await? {
            match outcome {
                Outcome::Issued => board.issued_24h += n,
                Outcome::Refused(r) => board.refused_24h.push((r, n)),
            }
        }
        board
            .refused_24h
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let soon = UnixTime(now.0.saturating_add(EXPIRING_SOON_SECS));
        board.expiring = self
            .store
            .expiring_secrets(now, soon, DASHBOARD_ITEMS as u32)
            .await?;
        board.keys = self.key_ages(now).await?;
        let idle_since = UnixTime(now.0.saturating_sub(IDLE_SECRET_SECS));
        board.idle_secrets = self
            .store
            .idle_secrets(now, idle_since, 4 * DASHBOARD_ITEMS as u32)
            .await?;
        board.idle_secrets.truncate(DASHBOARD_ITEMS);
        board.not_caching = self.not_caching(day).await?;
        board.over_quota = self.over_quota(now, DASHBOARD_ITEMS).await?;
        Ok(board)
    }

    async fn not_caching(&self, day: Hour) -> Result<Vec<NotCaching>, StoreError> {
        let mut out = Vec::new();
        for (id, usage) in self
            .store
            .busiest_clients(day, NOT_CACHING_FLOOR, BUSIEST)
            .await?
        {
            let Some(cached) = self.cache.get(&id) else {
                continue; // deleted since
            };
            let lifetime = self.lifetime_of(cached.access_token_lifetime(), cached.scopes());
            if !usage.not_caching(lifetime) {
                continue;
            }
            let Ok(client_id) = crate::domain::client::ClientId::parse(&id) else {
                continue;
            };
            let Some(client) = self.store.get_client(&client_id).await? else {
                continue;
            };
            out.push(NotCaching {
                client_id: id,
                client_name: client.name.as_str().to_owned(),
                last_24h: usage.last_24h,
                needed: tokens_needed(usage.active_hours_24h, lifetime),
                lifetime,
            });
            if out.len() == DASHBOARD_ITEMS {
                break;
            }
        }
        Ok(out)
    }

    async fn key_ages(&self, now: UnixTime) -> Result<Vec<KeyAge>, StoreError> {
        let statuses = match self.key_statuses(now).await {
            Ok(s) => s,
            Err(crate::keys::KeyLifecycleError::Store(e)) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "dashboard: the signing keys cannot be read");
                return Ok(Vec::new());
            }
        };
        Ok(statuses
            .iter()
            .filter(|s| s.state == KeyState::Current)
            .map(|current| {
                let successor = statuses
                    .iter()
                    .find(|s| s.algorithm == current.algorithm && s.state == KeyState::Next);
                KeyAge {
                    kid: current.kid.clone(),
                    algorithm: current.algorithm,
                    signing_since: current.activates_at,
                    next_rotation: successor.map_or_else(
                        || current.activates_at.plus_secs(self.rotation.period),
                        |s| s.activates_at,
                    ),
                    successor_announced: successor.is_some(),
                }
            })
            .collect())
    }
}
