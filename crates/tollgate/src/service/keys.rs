//! Signing-key operations: the scheduled rotation the upkeep runs, the rotation an
//! administrator asks for, and the key states shown to them, each recorded in the audit trail.

use super::Tollgate;
use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::audit::{AuditAction, AuditEvent, SYSTEM_ACTOR};
use crate::keys::{KeyEvent, KeyLifecycleError, KeyStatus, RotationMode};

impl Tollgate {
    /// Rotates signing keys that are due and removes expired ones.
    pub async fn rotate_keys_if_due(&self, now: UnixTime) -> Result<(), KeyLifecycleError> {
        let events = self.keys.tick(now).await?;
        self.audit_key_events(&events, SYSTEM_ACTOR, now).await;
        Ok(())
    }

    /// Rotation asked for by an administrator. With [`RotationMode::Compromised`] the keys
    /// removed are recorded one by one, after the rotation.
    pub async fn rotate_key(
        &self,
        actor: &str,
        alg: Algorithm,
        mode: RotationMode,
        now: UnixTime,
    ) -> Result<KeyStatus, KeyLifecycleError> {
        let (status, removed) = self.keys.rotate(alg, mode, now).await?;
        let at = status.activates_at;
        self.audit(
            AuditEvent::new(now, actor, AuditAction::KeyRotated)
                .kid(&status.kid)
                .detail(match mode {
                    RotationMode::Announced => format!("{alg}, announced; signs at {at}"),
                    RotationMode::Immediate => format!("{alg}, signing at {at}"),
                    RotationMode::Compromised => format!(
                        "{alg}, signing at {at}; the previous {alg} keys are compromised and \
                         were removed ({})",
                        removed.join(", ")
                    ),
                }),
        )
        .await;
        for kid in &removed {
            self.audit(
                AuditEvent::new(now, actor, AuditAction::KeyRemoved)
                    .kid(kid)
                    .detail(format!(
                        "{alg}, removed at once as compromised; tokens it signed are refused"
                    )),
            )
            .await;
        }
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
