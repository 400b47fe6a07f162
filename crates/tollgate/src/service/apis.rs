//! The administrator's operations on the catalogue, and keeping it in memory. The token
//! endpoint reads the catalogue on every request; writes are rare and replace it whole.

use std::sync::Arc;

use super::{CatalogueError, ClientHolding, Tollgate};
use crate::clock::UnixTime;
use crate::domain::api::{Api, ApiId, ApiPatch, BUILTIN_PERMISSIONS, NewApi, check_permissions};
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::catalogue::{Catalogue, removed_permissions};
use crate::domain::client::FieldError;
use crate::domain::scope::{Scope, ScopeSet};
use crate::store::{ScopeChange, Store, StoreError};

/// Reads the catalogue from the database; the built-in API's identifier is the issuer.
pub(super) async fn load_catalogue(
    store: &dyn Store,
    issuer: &str,
    now: UnixTime,
) -> Result<Catalogue, StoreError> {
    let mut apis = store.list_apis().await?;
    if !apis.iter().any(Api::is_builtin) {
        apis.push(Api::builtin(issuer, now).map_err(|e| StoreError::Corrupt(e.message))?);
    }
    for api in apis.iter_mut().filter(|a| a.is_builtin()) {
        if let Ok(builtin) = Api::builtin(issuer, now) {
            api.identifier = builtin.identifier;
        }
    }
    Ok(Catalogue::new(apis))
}

impl Tollgate {
    /// The catalogue as it is now.
    pub fn catalogue(&self) -> Arc<Catalogue> {
        self.catalogue
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(super) async fn reload_catalogue_from_store(&self) -> Result<(), StoreError> {
        let fresh = load_catalogue(self.store.as_ref(), &self.policy.issuer, self.now()).await?;
        *self.catalogue.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        self.catalogue_generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Changes whenever the catalogue is reloaded (what discovery shows derives from it).
    pub fn catalogue_generation(&self) -> u64 {
        self.catalogue_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// The scopes of `scopes` that no API in the catalogue publishes, as errors that say
    /// where to look.
    pub(super) fn unknown_scopes(&self, scopes: &ScopeSet) -> Vec<FieldError> {
        self.catalogue()
            .unknown(scopes)
            .into_iter()
            .map(|s| {
                FieldError::new(
                    "scopes",
                    format!(
                        "`{s}` is not a permission of any API in the catalogue; the available \
                         permissions are listed by GET /admin/v1/apis (`tollgate apis list`)"
                    ),
                )
            })
            .collect()
    }

    pub fn get_api(&self, id: &ApiId) -> Result<Api, CatalogueError> {
        self.catalogue()
            .get(id.as_str())
            .cloned()
            .ok_or(CatalogueError::NotFound)
    }

    /// One page of the catalogue, in creation order (the built-in API first), after the API
    /// `after`; and whether more follow.
    pub fn list_apis(&self, after: Option<&ApiId>, limit: u32) -> (Vec<Api>, bool) {
        let catalogue = self.catalogue();
        let all = catalogue.apis();
        let start = match after {
            Some(id) => all
                .iter()
                .position(|a| a.id == *id)
                .map_or(all.len(), |i| i + 1),
            None => 0,
        };
        let page: Vec<Api> = all[start..].iter().take(limit as usize).cloned().collect();
        let more = all.len() > start + page.len();
        (page, more)
    }

    pub async fn create_api(
        &self,
        actor: &str,
        new: NewApi,
        now: UnixTime,
    ) -> Result<Api, CatalogueError> {
        check_permissions(&new.permissions).map_err(|e| CatalogueError::Validation(vec![e]))?;
        self.check_algorithm(new.signing_algorithm)
            .map_err(|e| CatalogueError::Validation(vec![e]))?;
        let api = Api {
            id: ApiId::generate(self.rng.as_ref()),
            identifier: new.identifier,
            name: new.name,
            description: new.description,
            permissions: new.permissions,
            access_token_lifetime: new.access_token_lifetime,
            signing_algorithm: new.signing_algorithm,
            created_at: now,
            updated_at: now,
        };
        let _guard = self.write_lock.lock().await;
        let conflicts = self.catalogue().conflicts(&api);
        if !conflicts.is_empty() {
            return Err(CatalogueError::Validation(conflicts));
        }
        self.store.insert_api(&api).await?;
        self.reload_catalogue_from_store().await?;
        let values: Vec<&str> = api.permissions.iter().map(|p| p.value.as_str()).collect();
        self.audit(
            AuditEvent::new(now, actor, AuditAction::ApiCreated)
                .api(api.id.as_str())
                .detail(format!(
                    "api {} identifier {:?} name {:?} permissions {:?}",
                    api.id,
                    api.identifier.as_str(),
                    api.name.as_str(),
                    values.join(" ")
                )),
        )
        .await;
        Ok(api)
    }

    /// Changes an API. Permissions clients still hold can only be removed with `take`, which
    /// takes them from those clients in the same transaction.
    pub async fn update_api(
        &self,
        actor: &str,
        id: &ApiId,
        patch: &ApiPatch,
        take: bool,
        now: UnixTime,
    ) -> Result<Api, CatalogueError> {
        self.check_algorithm(patch.signing_algorithm.flatten())
            .map_err(|e| CatalogueError::Validation(vec![e]))?;
        let _guard = self.write_lock.lock().await;
        let mut api = self.get_api(id)?;
        // The built-in API's own permissions are listed with it; a list sent back as it was
        // read names them too, and they stay whatever the list says.
        let stripped;
        let patch = if api.is_builtin()
            && let Some(list) = &patch.permissions
        {
            stripped = ApiPatch {
                permissions: Some(
                    list.iter()
                        .filter(|p| {
                            !BUILTIN_PERMISSIONS
                                .iter()
                                .any(|(v, _)| *v == p.value.as_str())
                        })
                        .cloned()
                        .collect(),
                ),
                ..patch.clone()
            };
            &stripped
        } else {
            patch
        };
        if let Some(p) = &patch.permissions {
            check_permissions(p).map_err(|e| CatalogueError::Validation(vec![e]))?;
        }
        if api.is_builtin()
            && (patch.identifier.is_some()
                || patch.name.is_some()
                || patch.description.is_some()
                || patch.access_token_lifetime.is_some()
                || patch.signing_algorithm.is_some())
        {
            return Err(CatalogueError::BuiltIn(
                "the built-in admin API's identifier (the issuer), name, description, lifetime \
                 and algorithm are fixed; only the permissions added to it beside Tollgate's \
                 own can change",
            ));
        }
        let before = api.permissions.clone();
        patch.apply(&mut api, now);
        let conflicts = self.catalogue().conflicts(&api);
        if !conflicts.is_empty() {
            return Err(CatalogueError::Validation(conflicts));
        }
        let removed = removed_permissions(&before, &api.permissions);
        let taken = self.take_from_clients(&removed, take, now)?;
        if !self.store.update_api(&api, &taken).await? {
            return Err(CatalogueError::NotFound);
        }
        self.after_catalogue_write(&taken).await?;
        self.audit(
            AuditEvent::new(now, actor, AuditAction::ApiUpdated)
                .api(api.id.as_str())
                .detail(format!("api {}: {}", api.id, patch.describe())),
        )
        .await;
        for p in api.permissions.iter().filter(|p| !before.contains(p)) {
            let existed = before.iter().any(|b| b.value == p.value);
            self.audit(
                AuditEvent::new(now, actor, AuditAction::PermissionAdded)
                    .api(api.id.as_str())
                    .detail(format!(
                        "api {} permission {}{}",
                        api.id,
                        p.value,
                        if existed {
                            " (description changed)"
                        } else {
                            ""
                        }
                    )),
            )
            .await;
        }
        for value in &removed {
            self.audit(
                AuditEvent::new(now, actor, AuditAction::PermissionRemoved)
                    .api(api.id.as_str())
                    .detail(format!("api {} permission {value}", api.id)),
            )
            .await;
        }
        self.audit_taken(actor, &api.id, &taken, &removed, now)
            .await;
        Ok(api)
    }

    /// Removes an API; the built-in one cannot be. Clients holding its permissions keep the
    /// API from going unless `take` takes the permissions from them too.
    pub async fn delete_api(
        &self,
        actor: &str,
        id: &ApiId,
        take: bool,
        now: UnixTime,
    ) -> Result<(), CatalogueError> {
        let _guard = self.write_lock.lock().await;
        let api = self.get_api(id)?;
        if api.is_builtin() {
            return Err(CatalogueError::BuiltIn(
                "the built-in admin API cannot be removed",
            ));
        }
        let removed: Vec<Scope> = api.permissions.iter().map(|p| p.value.clone()).collect();
        let taken = self.take_from_clients(&removed, take, now)?;
        if !self.store.delete_api(id, &taken).await? {
            return Err(CatalogueError::NotFound);
        }
        self.after_catalogue_write(&taken).await?;
        self.audit(
            AuditEvent::new(now, actor, AuditAction::ApiDeleted)
                .api(api.id.as_str())
                .detail(format!(
                    "api {} identifier {:?} name {:?}",
                    api.id,
                    api.identifier.as_str(),
                    api.name.as_str()
                )),
        )
        .await;
        self.audit_taken(actor, &api.id, &taken, &removed, now)
            .await;
        Ok(())
    }

    /// The clients holding any of `removed`, with their scopes without them; an error naming
    /// them unless `take`.
    fn take_from_clients(
        &self,
        removed: &[Scope],
        take: bool,
        now: UnixTime,
    ) -> Result<Vec<ScopeChange>, CatalogueError> {
        if removed.is_empty() {
            return Ok(Vec::new());
        }
        let holders = self.cache.holding(removed);
        if holders.is_empty() {
            return Ok(Vec::new());
        }
        if !take {
            return Err(CatalogueError::InUse(
                holders
                    .iter()
                    .map(|(id, scopes)| ClientHolding {
                        client_id: id.clone(),
                        scopes: scopes
                            .iter()
                            .filter(|s| removed.contains(s))
                            .map(|s| s.as_str().to_owned())
                            .collect(),
                    })
                    .collect(),
            ));
        }
        Ok(holders
            .into_iter()
            .map(|(client_id, scopes)| ScopeChange {
                client_id,
                scopes: ScopeSet::new(scopes.iter().filter(|s| !removed.contains(s)).cloned())
                    .unwrap_or_default(),
                updated_at: now,
            })
            .collect())
    }

    /// Brings the catalogue and the clients that lost permissions up to date in memory.
    async fn after_catalogue_write(&self, taken: &[ScopeChange]) -> Result<(), StoreError> {
        self.reload_catalogue_from_store().await?;
        for change in taken {
            match self.store.get_client(&change.client_id).await? {
                Some(client) => self.cache.put(&client),
                None => self.cache.remove(change.client_id.as_str()),
            }
        }
        Ok(())
    }

    async fn audit_taken(
        &self,
        actor: &str,
        api: &ApiId,
        taken: &[ScopeChange],
        removed: &[Scope],
        now: UnixTime,
    ) {
        let removed: Vec<&str> = removed.iter().map(Scope::as_str).collect();
        for change in taken {
            self.audit(
                AuditEvent::new(now, actor, AuditAction::PermissionTaken)
                    .client(change.client_id.as_str())
                    .api(api.as_str())
                    .detail(format!(
                        "removed from the catalogue: {}; scopes now {:?}",
                        removed.join(" "),
                        change.scopes.to_delimited()
                    )),
            )
            .await;
        }
    }
}
