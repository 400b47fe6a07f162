//! Per-client token quotas (see `domain::quota` and `cache::quota`): the check on the token
//! endpoint's path, the read of the cluster's counts after each write-behind, and what the
//! client object and the dashboard show.
//!
//! Across nodes a quota can be overshot by what the other nodes issued since their last
//! write-behind plus the time since this node's last read: at most about two upkeep
//! intervals (two minutes) of the client's traffic on the other nodes. On one node, by the
//! requests in flight at once (the check and the count are not one step).

use super::Tollgate;
use crate::cache::CachedClient;
use crate::clock::UnixTime;
use crate::domain::quota::{Quota, QuotaMode, QuotaRefusal, Window};
use crate::domain::usage::Hour;
use crate::store::StoreError;

/// A client over its quota, for the dashboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverQuota {
    pub client_id: String,
    pub client_name: String,
    pub quota: Quota,
    pub used: u64,
}

impl Tollgate {
    /// Refuses a token beyond an enforced quota; notes one beyond a monitored quota (logged
    /// once per window and node). Costs one atomic load for a client without a quota.
    pub(super) fn check_quota(
        &self,
        client: &CachedClient,
        now: UnixTime,
    ) -> Result<(), QuotaRefusal> {
        let Some((quota, window, used)) = client.quota_used(now) else {
            return Ok(());
        };
        if used < u64::from(quota.tokens) {
            return Ok(());
        }
        let refuse = quota.mode == QuotaMode::Enforce;
        if client.quota().is_some_and(|q| q.first_warning(window)) {
            tracing::warn!(
                client_id = %client.id,
                quota = %quota,
                window_start = %window.start(),
                refusing = refuse,
                "a client reached its token quota"
            );
        }
        if refuse {
            Err(QuotaRefusal::new(quota, now))
        } else {
            Ok(())
        }
    }

    /// Writes this node's counts behind, then reads the cluster's sums of the current hour
    /// and day for the clients with a quota. One at a time: a read that overtook another
    /// call's write would lose that write's counts until the next read.
    pub async fn flush_usage(&self) -> Result<usize, StoreError> {
        let _one = self.usage.flushing.lock().await;
        let written = self.write_usage().await;
        let read = self.refresh_quotas(self.now()).await;
        let written = written?;
        read.map(|()| written)
    }

    async fn refresh_quotas(&self, now: UnixTime) -> Result<(), StoreError> {
        let mut held = Vec::new();
        self.cache.each(|c| {
            if c.quota().is_some() {
                held.push(c.clone());
            }
        });
        if held.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = held.iter().map(|c| &*c.id).collect();
        let hour = Hour::of(now);
        let day = Window::of(crate::domain::quota::QuotaPer::Day, now).first_hour();
        // The client-usage query sums from its first hour and from its second: given the
        // current hour and the day's first, it answers both windows at once.
        let sums: std::collections::HashMap<String, (u64, u64)> = self
            .store
            .clients_usage(&ids, hour, day)
            .await?
            .into_iter()
            .map(|(id, u)| (id, (u.last_24h, u.last_30d)))
            .collect();
        for c in &held {
            let (h, d) = sums.get(&*c.id).copied().unwrap_or_default();
            if let Some(q) = c.quota() {
                q.set_stored(now, h, d);
            }
        }
        Ok(())
    }

    /// [`Tollgate::refresh_quotas`] for a caller that goes on whatever happens.
    pub(super) async fn refresh_quotas_logged(&self, now: UnixTime) {
        if let Err(e) = self.refresh_quotas(now).await {
            tracing::warn!(error = %e, "could not read the token counts of quotas; will retry");
        }
    }

    /// A client's quota use now: tokens used in the current window, and whether that is over
    /// the quota. `None` without a quota.
    pub(super) fn quota_use(&self, client_id: &str, now: UnixTime) -> Option<(u64, bool)> {
        let (quota, _, used) = self.cache.get(client_id)?.quota_used(now)?;
        Some((used, quota.exceeded(used)))
    }

    /// The clients over their quota now, for the dashboard's attention list.
    pub(super) async fn over_quota(
        &self,
        now: UnixTime,
        limit: usize,
    ) -> Result<Vec<OverQuota>, StoreError> {
        let mut over = Vec::new();
        self.cache.each(|c| {
            if let Some((quota, _, used)) = c.quota_used(now)
                && quota.exceeded(used)
            {
                over.push((c.id.to_string(), quota, used));
            }
        });
        over.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        let mut out = Vec::new();
        for (id, quota, used) in over.into_iter().take(limit) {
            let Ok(client_id) = crate::domain::client::ClientId::parse(&id) else {
                continue;
            };
            let Some(client) = self.store.get_client(&client_id).await? else {
                continue; // deleted since
            };
            out.push(OverQuota {
                client_id: id,
                client_name: client.name.as_str().to_owned(),
                quota,
                used,
            });
        }
        Ok(out)
    }
}
