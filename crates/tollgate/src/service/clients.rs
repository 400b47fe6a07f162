//! The administrator's operations on clients and secrets, and the bootstrap.

use super::{BOOTSTRAP_CLIENT_NAME, ClientError, Credentials, StartError, Tollgate};
use crate::clock::UnixTime;
use crate::domain::audit::{AuditAction, AuditEvent, SYSTEM_ACTOR};
use crate::domain::client::{
    Client, ClientId, ClientName, ClientPatch, Description, FieldError, NewClient, SecretId,
    SecretInfo,
};
use crate::domain::revocation::Revocation;
use crate::domain::scope::{ADMIN_SCOPE, ScopeSet};
use crate::domain::secret::ClientSecret;
use crate::store::ListCursor;

const BOOTSTRAPPED: &str = "bootstrapped";

/// Credentials for the administrator client, supplied by an automated deployment
/// (`TOLLGATE_BOOTSTRAP_CLIENT_ID`, `TOLLGATE_BOOTSTRAP_CLIENT_SECRET`). The configuration
/// parses them, so a bad identifier stops startup with a message naming the variable.
#[derive(Debug, Clone)]
pub struct BootstrapCredentials {
    pub client_id: ClientId,
    pub client_secret: ClientSecret,
}

/// A client as the bootstrap created it, with its secret when Tollgate generated it.
#[derive(Debug)]
pub struct Bootstrapped {
    pub client_id: ClientId,
    pub generated_secret: Option<ClientSecret>,
}

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
    pub async fn create_client(
        &self,
        actor: &str,
        new: NewClient,
        now: UnixTime,
    ) -> Result<(Client, ClientSecret), ClientError> {
        self.check_algorithm(new.signing_algorithm)?;
        let created = self
            .create_client_with(ClientId::generate(self.rng.as_ref()), new, None, now)
            .await?;
        self.audit(
            AuditEvent::new(now, actor, AuditAction::ClientCreated)
                .client(created.0.id.as_str())
                .secret(created.0.secrets[0].id.as_str())
                .detail(format!(
                    "name {:?}, scopes {:?}",
                    created.0.name.as_str(),
                    created.0.scopes.to_delimited()
                )),
        )
        .await;
        Ok(created)
    }

    /// A client may only ask for an algorithm the server signs with.
    fn check_algorithm(&self, alg: Option<crate::keys::Algorithm>) -> Result<(), ClientError> {
        match alg {
            Some(a) if !self.keyring.algorithms().contains(&a) => {
                Err(ClientError::Validation(vec![FieldError::new(
                    "signing_algorithm",
                    format!(
                        "{a} is not active on this server (active: {})",
                        self.keyring
                            .algorithms()
                            .iter()
                            .map(|a| a.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )]))
            }
            _ => Ok(()),
        }
    }

    async fn create_client_with(
        &self,
        id: ClientId,
        new: NewClient,
        secret: Option<ClientSecret>,
        now: UnixTime,
    ) -> Result<(Client, ClientSecret), ClientError> {
        let secret = secret.unwrap_or_else(|| ClientSecret::generate(self.rng.as_ref()));
        let client = Client {
            id,
            name: new.name,
            description: new.description,
            scopes: new.scopes,
            access_token_lifetime: new.access_token_lifetime,
            signing_algorithm: new.signing_algorithm,
            secrets: vec![self.secret_info(&secret, None, now)],
            created_at: now,
            updated_at: now,
        };
        let _guard = self.write_lock.lock().await;
        self.store.insert_client(&client).await?;
        self.cache.put(&client);
        Ok((client, secret))
    }

    fn secret_info(
        &self,
        secret: &ClientSecret,
        expires_at: Option<UnixTime>,
        now: UnixTime,
    ) -> SecretInfo {
        SecretInfo {
            id: SecretId::generate(self.rng.as_ref()),
            hash: self.hasher.hash(secret),
            created_at: now,
            expires_at,
            last_used_at: None,
            disabled_at: None,
        }
    }

    /// A client as stored, with last-use times not yet written behind filled in from memory.
    pub async fn get_client(&self, id: &ClientId) -> Result<Client, ClientError> {
        let mut client = self
            .store
            .get_client(id)
            .await?
            .ok_or(ClientError::NotFound)?;
        self.cache.fill_last_use(&mut client);
        Ok(client)
    }

    /// One page of clients and the cursor of the next page, if there is one.
    pub async fn list_clients(
        &self,
        after: Option<&ListCursor>,
        limit: u32,
    ) -> Result<(Vec<Client>, Option<ListCursor>), ClientError> {
        let mut page = self
            .store
            .list_clients(after, limit.saturating_add(1))
            .await?;
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        for c in &mut page {
            self.cache.fill_last_use(c);
        }
        let next = more.then(|| page.last()).flatten().map(|c| ListCursor {
            created_at: c.created_at,
            client_id: c.id.clone(),
        });
        Ok((page, next))
    }

    pub async fn update_client(
        &self,
        actor: &str,
        id: &ClientId,
        patch: &ClientPatch,
        now: UnixTime,
    ) -> Result<Client, ClientError> {
        self.check_algorithm(patch.signing_algorithm.flatten())?;
        let _guard = self.write_lock.lock().await;
        let mut client = self.get_client(id).await?;
        patch.apply(&mut client, now);
        if !self.store.update_client(&client).await? {
            return Err(ClientError::NotFound);
        }
        self.cache.put(&client);
        self.audit(
            AuditEvent::new(now, actor, AuditAction::ClientUpdated)
                .client(id.as_str())
                .detail(patch.describe()),
        )
        .await;
        Ok(client)
    }

    /// Deletes a client: it gets no more tokens, and every token it holds is revoked.
    pub async fn delete_client(
        &self,
        actor: &str,
        id: &ClientId,
        now: UnixTime,
    ) -> Result<(), ClientError> {
        let _guard = self.write_lock.lock().await;
        let deleted = self.store.delete_client(id).await?;
        self.cache.remove(id.as_str());
        if !deleted {
            return Err(ClientError::NotFound);
        }
        self.record_revocation(
            Revocation::Client {
                client_id: id.as_str().to_owned(),
                issued_before: now,
            },
            now,
        )
        .await?;
        self.audit(AuditEvent::new(now, actor, AuditAction::ClientDeleted).client(id.as_str()))
            .await;
        Ok(())
    }

    pub async fn add_secret(
        &self,
        actor: &str,
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
        actor: &str,
        id: &ClientId,
        secret_id: &SecretId,
        now: UnixTime,
    ) -> Result<(), ClientError> {
        let _guard = self.write_lock.lock().await;
        let mut client = self.get_client(id).await?;
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
        self.record_revocation(
            Revocation::Client {
                client_id: owner.client_id.as_str().to_owned(),
                issued_before: now,
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

    /// Creates the administrator client on first start (or from deployment-supplied
    /// credentials). Returns what was created, if anything.
    pub async fn bootstrap(
        &self,
        supplied: Option<&BootstrapCredentials>,
        now: UnixTime,
    ) -> Result<Option<Bootstrapped>, StartError> {
        let admin = NewClient {
            name: ClientName::parse(BOOTSTRAP_CLIENT_NAME)
                .map_err(|e| StartError::Bootstrap(e.message))?,
            description: Description::parse("Administrator client created at first start")
                .map_err(|e| StartError::Bootstrap(e.message))?,
            scopes: ScopeSet::parse_list(&[ADMIN_SCOPE])
                .map_err(|e| StartError::Bootstrap(e.to_string()))?,
            access_token_lifetime: None,
            signing_algorithm: None,
        };
        let result = match supplied {
            Some(creds) => {
                let id = creds.client_id.clone();
                if self.cache.get(id.as_str()).is_some() {
                    let matches = self
                        .authenticate(
                            &Credentials {
                                client_id: creds.client_id.as_str().to_owned(),
                                secret: creds.client_secret.clone(),
                            },
                            now,
                        )
                        .is_ok();
                    if !matches {
                        tracing::warn!(
                            client_id = %id,
                            "TOLLGATE_BOOTSTRAP_CLIENT_SECRET is not a secret of the existing \
                             bootstrap client; the client was left unchanged"
                        );
                    }
                    None
                } else {
                    let mut new = admin;
                    if self.store.meta(BOOTSTRAPPED).await?.is_some() {
                        // The generated admin client may hold the default name already.
                        new.name = ClientName::parse(&format!("{BOOTSTRAP_CLIENT_NAME}-{id}"))
                            .map_err(|e| StartError::Bootstrap(e.message))?;
                    }
                    self.create_client_with(
                        id.clone(),
                        new,
                        Some(creds.client_secret.clone()),
                        now,
                    )
                    .await
                    .map_err(|e| StartError::Bootstrap(e.to_string()))?;
                    self.audit(
                        AuditEvent::new(now, SYSTEM_ACTOR, AuditAction::ClientCreated)
                            .client(id.as_str())
                            .detail("bootstrap administrator from TOLLGATE_BOOTSTRAP_CLIENT_ID"),
                    )
                    .await;
                    Some(Bootstrapped {
                        client_id: id,
                        generated_secret: None,
                    })
                }
            }
            None if self.store.meta(BOOTSTRAPPED).await?.is_none() && self.cache.is_empty() => {
                let (client, secret) = self
                    .create_client(SYSTEM_ACTOR, admin, now)
                    .await
                    .map_err(|e| StartError::Bootstrap(e.to_string()))?;
                Some(Bootstrapped {
                    client_id: client.id,
                    generated_secret: Some(secret),
                })
            }
            None => None,
        };
        self.store
            .set_meta(BOOTSTRAPPED, &now.0.to_string())
            .await?;
        Ok(result)
    }
}
