//! The administrator's operations on clients, and the bootstrap. Secrets are in `secrets`.

use super::{BOOTSTRAP_CLIENT_NAME, ClientError, Credentials, StartError, Tollgate};
use crate::clock::UnixTime;
use crate::domain::actor::Actor;
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

impl Tollgate {
    pub async fn create_client(
        &self,
        actor: &Actor,
        new: NewClient,
        now: UnixTime,
    ) -> Result<(Client, ClientSecret), ClientError> {
        may_manage(actor, new.scopes.iter().map(|s| s.as_str()))?;
        let actor = actor.name();
        let mut errors = self.unknown_scopes(&new.scopes);
        errors.extend(self.check_algorithm(new.signing_algorithm).err());
        if !errors.is_empty() {
            return Err(ClientError::Validation(errors));
        }
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

    /// A client or API may only ask for an algorithm the server signs with.
    pub(super) fn check_algorithm(
        &self,
        alg: Option<crate::domain::algorithm::Algorithm>,
    ) -> Result<(), FieldError> {
        match alg {
            Some(a) if !self.keys.algorithms().contains(&a) => Err(FieldError::new(
                "signing_algorithm",
                format!(
                    "{a} is not active on this server (active: {})",
                    self.keys
                        .algorithms()
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
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
            tenants: new.tenants,
            claims: new.claims,
            scopes_locked: new.scopes_locked.unwrap_or(self.lock_scopes_by_default),
            quota: new.quota,
            secrets: vec![self.secret_info(&secret, None, now)],
            created_at: now,
            updated_at: now,
        };
        let _guard = self.write_lock.lock().await;
        self.store.insert_client(&client).await?;
        self.cache.put(&client);
        Ok((client, secret))
    }

    pub(super) fn secret_info(
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
        search: Option<&str>,
    ) -> Result<(Vec<Client>, Option<ListCursor>), ClientError> {
        let mut page = self
            .store
            .list_clients(after, limit.saturating_add(1), search)
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
        actor: &Actor,
        id: &ClientId,
        patch: &ClientPatch,
        now: UnixTime,
    ) -> Result<Client, ClientError> {
        if let Some(scopes) = &patch.scopes {
            may_manage(actor, scopes.iter().map(|s| s.as_str()))?;
        }
        let mut errors = patch
            .scopes
            .as_ref()
            .map(|s| self.unknown_scopes(s))
            .unwrap_or_default();
        errors.extend(
            self.check_algorithm(patch.signing_algorithm.flatten())
                .err(),
        );
        if !errors.is_empty() {
            return Err(ClientError::Validation(errors));
        }
        let _guard = self.write_lock.lock().await;
        let mut client = self.get_client(id).await?;
        may_manage(actor, client.scopes.iter().map(|s| s.as_str()))?;
        let actor = actor.name();
        if client.scopes_locked {
            let changes_scopes = patch.scopes.as_ref().is_some_and(|s| *s != client.scopes);
            if changes_scopes || patch.scopes_locked == Some(false) {
                return Err(ClientError::ScopesLocked);
            }
        }
        patch.apply(&mut client, now);
        if !self.store.update_client(&client).await? {
            return Err(ClientError::NotFound);
        }
        self.cache.put(&client);
        if patch.quota.is_some_and(|q| q.is_some()) {
            // A new cache entry starts without the other nodes' counts: read them now.
            self.refresh_quotas_logged(now).await;
        }
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
        actor: &Actor,
        id: &ClientId,
        now: UnixTime,
    ) -> Result<(), ClientError> {
        let _guard = self.write_lock.lock().await;
        may_manage(
            actor,
            self.get_client(id).await?.scopes.iter().map(|s| s.as_str()),
        )?;
        let actor = actor.name();
        let deleted = self.store.delete_client(id).await?;
        self.cache.remove(id.as_str());
        if !deleted {
            return Err(ClientError::NotFound);
        }
        // The cut-off is read now that the cache has let go of the client, not when the
        // request came in: the token endpoint issued tokens from the cache until this moment,
        // and one issued in between carries a later `iat` that `now` would not cover
        // (resource servers learn of the deletion from this cut-off only).
        let issued_before = now.max(self.now());
        self.record_revocation(
            Revocation::Client {
                client_id: id.as_str().to_owned(),
                issued_before,
            },
            now,
        )
        .await?;
        self.audit(AuditEvent::new(now, actor, AuditAction::ClientDeleted).client(id.as_str()))
            .await;
        Ok(())
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
            tenants: Vec::new(),
            claims: None,
            scopes_locked: Some(false),
            quota: None,
        };
        // Bootstrap happens once per database: the callers hold the store's startup lock, so
        // of nodes starting together one creates the client and records it, and the others
        // find the record. A bootstrap client deleted later on purpose stays deleted.
        if let Some(at) = self.store.meta(BOOTSTRAPPED).await? {
            if let Some(creds) = supplied {
                let id = creds.client_id.as_str();
                if self.cache.get(id).is_none() {
                    tracing::warn!(
                        client_id = id,
                        bootstrapped_at = %at,
                        "this database was bootstrapped already: ignored \
                         TOLLGATE_BOOTSTRAP_CLIENT_ID and TOLLGATE_BOOTSTRAP_CLIENT_SECRET \
                         (the client they name does not exist; it is not created again)"
                    );
                } else if self
                    .authenticate(
                        &Credentials {
                            client_id: id.to_owned(),
                            secret: creds.client_secret.clone(),
                        },
                        now,
                    )
                    .is_err()
                {
                    tracing::warn!(
                        client_id = id,
                        "TOLLGATE_BOOTSTRAP_CLIENT_SECRET is not a secret of the existing \
                         bootstrap client; the client was left unchanged"
                    );
                } else {
                    tracing::info!(
                        client_id = id,
                        "this database was bootstrapped already: ignored \
                         TOLLGATE_BOOTSTRAP_CLIENT_ID and TOLLGATE_BOOTSTRAP_CLIENT_SECRET"
                    );
                }
            }
            return Ok(None);
        }
        let result = match supplied {
            // A database from before bootstraps were recorded may hold the client already.
            Some(creds) if self.cache.get(creds.client_id.as_str()).is_some() => None,
            Some(creds) => {
                let id = creds.client_id.clone();
                self.create_client_with(id.clone(), admin, Some(creds.client_secret.clone()), now)
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
            // A database that already has clients (from before bootstraps were recorded)
            // needs no administrator generated.
            None if !self.cache.is_empty() => None,
            None => {
                let (client, secret) = self
                    .create_client(&Actor::system(), admin, now)
                    .await
                    .map_err(|e| StartError::Bootstrap(e.to_string()))?;
                Some(Bootstrapped {
                    client_id: client.id,
                    generated_secret: Some(secret),
                })
            }
        };
        self.store
            .set_meta(BOOTSTRAPPED, &now.0.to_string())
            .await?;
        Ok(result)
    }
}

/// Refuses an actor who would give, or change a client holding, an admin permission they do
/// not hold themselves (see [`Actor`]).
pub(super) fn may_manage<'a>(
    actor: &Actor,
    scopes: impl Iterator<Item = &'a str>,
) -> Result<(), ClientError> {
    let beyond = actor.beyond(scopes);
    if beyond.is_empty() {
        Ok(())
    } else {
        Err(ClientError::BeyondYourPermissions(beyond))
    }
}
