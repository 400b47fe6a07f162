//! Signing-key operations: the scheduled rotation the upkeep runs, the rotation an
//! administrator asks for, and the key states shown to them, each recorded in the audit trail.

use super::Tollgate;
use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::audit::{AuditAction, AuditEvent, SYSTEM_ACTOR};
use crate::keys::{KeyEvent, KeyLifecycleError, KeyStatus};

impl Tollgate {
    /// Rotates signing keys that are due and removes expired ones.
    pub async fn rotate_keys_if_due(&self, now: UnixTime) -> Result<(), KeyLifecycleError> {
        let events = self.keys.tick(now).await?;
        self.audit_key_events(&events, SYSTEM_ACTOR, now).await;
        Ok(())
    }

    /// Rotation asked for by an administrator.
    pub async fn rotate_key(
        &self,
        actor: &str,
        alg: Algorithm,
        immediate: bool,
        now: UnixTime,
    ) -> Result<KeyStatus, KeyLifecycleError> {
        let status = self.keys.rotate(alg, immediate, now).await?;
        self.audit(
            AuditEvent::new(now, actor, AuditAction::KeyRotated)
                .kid(&status.kid)
                .detail(format!(
                    "{alg}, {} at {}",
                    if immediate {
                        "signing"
                    } else {
                        "announced; signs"
                    },
                    status.activates_at
                )),
        )
        .await;
        Ok(status)
    }

    pub async fn key_statuses(&self, now: UnixTime) -> Result<Vec<KeyStatus>, KeyLifecycleError> {
        self.keys.statuses(now).await
    }

    async fn audit_key_events(&self, events: &[KeyEvent], actor: &str, now: UnixTime) {
        for e in events {
            let event = match e {
                KeyEvent::Generated {
                    kid,
                    algorithm,
                    activates_at,
                } => AuditEvent::new(now, actor, AuditAction::KeyGenerated)
                    .kid(kid)
                    .detail(format!("{algorithm}, signs from {activates_at}")),
                KeyEvent::Removed { kid, algorithm } => {
                    AuditEvent::new(now, actor, AuditAction::KeyRemoved)
                        .kid(kid)
                        .detail(format!("{algorithm}, every token it signed has expired"))
                }
            };
            self.audit(event).await;
        }
    }
}
