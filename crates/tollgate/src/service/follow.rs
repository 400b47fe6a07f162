//! Keeping the caches in step with the database when other nodes write to it too. The change
//! feed loop ([`crate::cluster::follow`]) calls these; with one node (SQLite) nothing does.

use async_trait::async_trait;

use super::{Tollgate, load_cache};
use crate::clock::UnixTime;
use crate::cluster::{Follower, Freshness};
use crate::domain::client::ClientId;
use crate::keys::KeyLifecycleError;
use crate::store::StoreError;

#[async_trait]
impl Follower for Tollgate {
    type Error = StoreError;

    fn now(&self) -> UnixTime {
        Tollgate::now(self)
    }

    fn freshness(&self) -> &Freshness {
        Tollgate::freshness(self)
    }

    /// Reloads one client from the database into the cache, or drops it if it is gone.
    /// Secret uses this node saw and has not written behind yet survive the reload.
    async fn refresh_client(&self, client_id: &str) -> Result<(), StoreError> {
        let Ok(id) = ClientId::parse(client_id) else {
            // Not a valid id, so not a client anyone can authenticate as.
            self.cache.remove(client_id);
            return Ok(());
        };
        // Serialised with this node's own writes, so a reload never overtakes one.
        let _guard = self.write_lock.lock().await;
        match self.store.get_client(&id).await? {
            Some(client) => self.cache.put(&client),
            None => self.cache.remove(client_id),
        }
        Ok(())
    }

    /// Learns a revocation recorded by another node.
    async fn learn_revocation(&self, cursor: i64) -> Result<(), StoreError> {
        if let Some(entry) = self.store.revocation(cursor).await? {
            self.revoked
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(&entry.revocation);
        }
        Ok(())
    }

    /// Reloads the signing keys another node generated, removed or re-encrypted. A key that
    /// cannot be loaded (say, sealed with another key-encryption key) is logged and retried
    /// at the next reload; only a database failure is an error.
    async fn reload_keys(&self, now: UnixTime) -> Result<(), StoreError> {
        match self.keys.reload(now).await {
            Ok(()) => Ok(()),
            Err(KeyLifecycleError::Store(e)) => Err(e),
            Err(e) => {
                tracing::debug!(error = %e, "signing keys reloaded without an unreadable one; will retry");
                Ok(())
            }
        }
    }

    /// Reloads the catalogue another node changed.
    async fn reload_catalogue(&self) -> Result<(), StoreError> {
        let _guard = self.write_lock.lock().await;
        self.reload_catalogue_from_store().await
    }

    /// Reloads every client, every live revocation, the catalogue and the signing keys. Revocations are
    /// only ever added (they expire through pruning), so they are merged into what the node
    /// knows; the client cache is rebuilt a page at a time and swapped in whole. A key that
    /// cannot be loaded (say, sealed with another key-encryption key) is logged and retried
    /// at the next refresh: it says nothing about whether the client cache is current.
    async fn refresh_all(&self, now: UnixTime) -> Result<(), StoreError> {
        let revocations = self.store.live_revocations(now).await?;
        {
            let _guard = self.write_lock.lock().await;
            load_cache(self.store.as_ref(), &self.cache).await?;
            self.reload_catalogue_from_store().await?;
        }
        {
            let mut index = self.revoked.write().unwrap_or_else(|p| p.into_inner());
            for entry in &revocations {
                index.insert(&entry.revocation);
            }
        }
        self.reload_keys(now).await
    }
}
