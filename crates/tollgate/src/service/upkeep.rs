//! What runs periodically: last-use times and token counts written behind, secret expiries
//! recorded in the audit trail, expired revocations and old token counts forgotten, and
//! signing keys rotated.

use super::Tollgate;
use crate::clock::UnixTime;
use crate::domain::audit::{AuditAction, AuditEvent, SYSTEM_ACTOR};
use crate::store::StoreError;

impl Tollgate {
    /// Writes the secret uses seen since the last call. Called at most once a minute, so a
    /// crash loses at most that window of `last_used_at` and the token endpoint never writes.
    pub async fn flush_secret_use(&self) -> Result<usize, StoreError> {
        let uses = self.cache.take_unflushed();
        if uses.is_empty() {
            return Ok(0);
        }
        if let Err(e) = self.store.record_secret_use(&uses).await {
            self.cache.unflush(&uses);
            return Err(e);
        }
        Ok(uses.len())
    }

    /// Records in the audit trail each secret that expired since the last call.
    pub async fn record_expired_secrets(&self, now: UnixTime) -> Result<usize, StoreError> {
        let expired = self.store.take_expired_secrets(now).await?;
        for (client, secret, at) in &expired {
            self.audit(
                AuditEvent::new(*at, SYSTEM_ACTOR, AuditAction::SecretExpired)
                    .client(client)
                    .secret(secret),
            )
            .await;
        }
        Ok(expired.len())
    }

    /// Everything periodic, in one pass; errors are logged and retried next time.
    pub async fn upkeep(&self, now: UnixTime) {
        if let Err(e) = self.flush_secret_use().await {
            tracing::warn!(error = %e, "could not write secret last-use times; will retry");
        }
        if let Err(e) = self.flush_usage().await {
            tracing::warn!(error = %e, "could not write token counts; will retry");
        }
        if let Err(e) = self.prune_usage(now).await {
            tracing::warn!(error = %e, "could not forget old token counts; will retry");
        }
        if let Err(e) = self.record_expired_secrets(now).await {
            tracing::warn!(error = %e, "could not record expired secrets; will retry");
        }
        match self.prune_revocations(now).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "forgot revocations of expired tokens"),
            Err(e) => tracing::warn!(error = %e, "could not prune revocations; will retry"),
        }
        if let Err(e) = self.rotate_keys_if_due(now).await {
            tracing::error!(error = %e, "signing-key rotation failed; will retry");
        }
    }
}
