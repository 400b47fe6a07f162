//! The administrator's operations on a client's secrets: adding one (rotation without
//! downtime), removing one, and disabling one found in the wild.

use super::{ClientError, Tollgate};
use crate::clock::UnixTime;
use crate::domain::actor::Actor;
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::client::{ClientId, FieldError, SecretId, SecretInfo};
use crate::domain::revocation::Revocation;
use crate::domain::secret::ClientSecret;

/// What was done about a secret found in the wild.
#[derive(Debug, Clone)]
pub struct LeakReport {
    pub client_id: ClientId,
    pub client_name: String,
    pub secret_id: SecretId,
    /// When the secret was disabled (now, or earlier if it was reported before).
    pub disabled_at: UnixTime,
    pub already_disabled: bool,
}

impl Tollgate {
    pub async fn add_secret(
        &self,
        actor: &Actor,
        id: &ClientId,
        expires_at: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<(SecretInfo, ClientSecret), ClientError> {
        if expires_at.is_some_and(|e| e <= now) {
            return Err(ClientError::Validation(vec![FieldError::new(
                "expires_at",
                "must be in the future",
            )]));
        }
        let _guard = self.write_lock.lock().await;
        let mut client = self.get_client(id).await?;
        super::clients::may_manage(actor, client.scopes.iter().map(|s| s.as_str()))?;
        let actor = actor.name();
        if client.secrets.len() >= self.max_secrets {
            return Err(ClientError::TooManySecrets(self.max_secrets));
        }
        let secret = ClientSecret::generate(self.rng.as_ref());
        let info = self.secret_info(&secret, expires_at, now);
        if !self.store.insert_secret(id, &info).await? {
            return Err(ClientError::NotFound);
        }
        client.secrets.push(info.clone());
        self.cache.put(&client);
        let mut event = AuditEvent::new(now, actor, AuditAction::SecretAdded)
            .client(id.as_str())
            .secret(info.id.as_str());
        if let Some(e) = expires_at {
            event = event.detail(format!("expires {e}"));
        }
        self.audit(event).await;
        Ok((info, secret))
    }

    pub async fn remove_secret(
        &self,
        actor: &Actor,
        id: &ClientId,
        secret_id: &SecretId,
        now: UnixTime,
    ) -> Result<(), ClientError> {
        let _guard = self.write_lock.lock().await;
        let mut client = self.get_client(id).await?;
        super::clients::may_manage(actor, client.scopes.iter().map(|s| s.as_str()))?;
        let actor = actor.name();
        if !client.secrets.iter().any(|s| &s.id == secret_id) {
            return Err(ClientError::SecretNotFound);
        }
        if client.secrets.len() == 1 {
            return Err(ClientError::LastSecret);
        }
        if !self.store.delete_secret(id, secret_id).await? {
            return Err(ClientError::SecretNotFound);
        }
        client.secrets.retain(|s| &s.id != secret_id);
        self.cache.put(&client);
        self.audit(
            AuditEvent::new(now, actor, AuditAction::SecretRemoved)
                .client(id.as_str())
                .secret(secret_id.as_str()),
        )
        .await;
        Ok(())
    }

    /// Acts on a secret found in the wild (a secret-scanning alert): finds it by its keyed
    /// hash, disables it, and revokes every token its client holds, since any of them may
    /// have been obtained with it. The client keeps its other secrets.
    pub async fn disable_leaked_secret(
        &self,
        actor: &str,
        secret: &ClientSecret,
        now: UnixTime,
    ) -> Result<LeakReport, ClientError> {
        if !secret.has_tollgate_format() {
            return Err(ClientError::NotATollgateSecret);
        }
        let hash = self.hasher.hash(secret);
        let _guard = self.write_lock.lock().await;
        let owner = self
            .store
            .find_secret(&hash)
            .await?
            .ok_or(ClientError::UnknownSecret)?;
        if let Some(at) = owner.disabled_at {
            return Ok(LeakReport {
                client_id: owner.client_id,
                client_name: owner.client_name,
                secret_id: owner.secret_id,
                disabled_at: at,
                already_disabled: true,
            });
        }
        self.store
            .disable_secret(&owner.client_id, &owner.secret_id, now)
            .await?;
        if let Some(client) = self.store.get_client(&owner.client_id).await? {
            self.cache.put(&client);
        }
        // Read after the cache stopped accepting the secret, not when the report came in:
        // a token obtained with it in between has a later `iat` that `now` would not cover.
        let issued_before = now.max(self.now());
        self.record_revocation(
            Revocation::Client {
                client_id: owner.client_id.as_str().to_owned(),
                issued_before,
            },
            now,
        )
        .await?;
        self.audit(
            AuditEvent::new(now, actor, AuditAction::SecretLeakDisabled)
                .client(owner.client_id.as_str())
                .secret(owner.secret_id.as_str())
                .detail("reported leaked; secret disabled and the client's tokens revoked"),
        )
        .await;
        tracing::warn!(
            client_id = %owner.client_id,
            secret_id = owner.secret_id.as_str(),
            "a leaked secret was disabled and its client's tokens revoked"
        );
        Ok(LeakReport {
            client_id: owner.client_id,
            client_name: owner.client_name,
            secret_id: owner.secret_id,
            disabled_at: now,
            already_disabled: false,
        })
    }
}
