//! Bringing an installation's catalogue up to date at start: the built-in admin API, an API
//! for each audience of the `audiences` setting, and, once, the scopes clients held before the
//! catalogue existed. Runs under the store's startup lock, so nodes starting together do it
//! once.

use super::StartError;
use crate::cache::ClientCache;
use crate::clock::{Rng, UnixTime};
use crate::domain::api::{Api, ApiId, ApiIdentifier, Permission, RESERVED_PREFIX};
use crate::domain::catalogue::Catalogue;
use crate::domain::client::{ClientName, Description, MAX_NAME_LEN};
use crate::store::Store;

/// Set once the scopes clients held before the catalogue were imported into it.
const CATALOGUE_IMPORTED: &str = "catalogue_imported";
pub const IMPORTED_DESCRIPTION: &str =
    "Imported at the upgrade to the catalogue: clients held this scope before";

pub(super) async fn prepare_catalogue(
    store: &dyn Store,
    cache: &ClientCache,
    issuer: &str,
    audiences: &[String],
    rng: &dyn Rng,
    now: UnixTime,
) -> Result<(), StartError> {
    let bad = |e: crate::domain::client::FieldError| {
        StartError::Bootstrap(format!("{}: {}", e.field, e.message))
    };
    let mut apis = store.list_apis().await?;
    // The built-in API's identifier follows the issuer.
    match apis.iter_mut().find(|a| a.is_builtin()) {
        None => {
            let builtin = Api::builtin(issuer, now).map_err(bad)?;
            store.insert_api(&builtin).await?;
            apis.push(builtin);
        }
        Some(builtin) if builtin.identifier.as_str() != issuer => {
            builtin.identifier = ApiIdentifier::parse(issuer).map_err(bad)?;
            store.update_api(builtin, &[]).await?;
        }
        Some(_) => {}
    }
    for audience in audiences.iter().filter(|a| a.as_str() != issuer) {
        if apis.iter().any(|a| a.identifier.as_str() == audience) {
            continue;
        }
        let identifier = ApiIdentifier::parse(audience).map_err(bad)?;
        let name: String = audience.chars().take(MAX_NAME_LEN).collect();
        if apis.iter().any(|a| a.name.as_str() == name) {
            tracing::warn!(%audience, "an API is named like this audience already; not registered");
            continue;
        }
        let api = Api {
            id: ApiId::generate(rng),
            identifier,
            name: ClientName::parse(&name).map_err(bad)?,
            description: Description::parse("Registered from the `audiences` setting")
                .map_err(bad)?,
            permissions: Vec::new(),
            access_token_lifetime: None,
            signing_algorithm: None,
            created_at: now,
            updated_at: now,
        };
        store.insert_api(&api).await?;
        tracing::info!(%audience, api_id = %api.id, "registered an API for a configured audience");
        apis.push(api);
    }
    if store.meta(CATALOGUE_IMPORTED).await?.is_some() {
        return Ok(());
    }
    // Scopes clients hold that no API publishes go to the API of the audience their tokens
    // carried until now: the first configured audience, or the issuer.
    let published = Catalogue::new(apis.clone());
    let orphans: Vec<String> = cache
        .held_scopes()
        .into_iter()
        .filter(|s| published.api_of(s).is_none() && !s.starts_with(RESERVED_PREFIX))
        .collect();
    if !orphans.is_empty() {
        let target = audiences.first().map_or(issuer, String::as_str);
        if let Some(api) = apis.iter_mut().find(|a| a.identifier.as_str() == target) {
            for value in &orphans {
                api.permissions.push(
                    Permission::parse(value, IMPORTED_DESCRIPTION, "permission").map_err(bad)?,
                );
            }
            api.updated_at = now;
            store.update_api(api, &[]).await?;
            tracing::info!(
                api = %api.identifier.as_str(),
                scopes = orphans.join(" "),
                "imported the scopes clients held into the catalogue"
            );
        }
    }
    store
        .set_meta(CATALOGUE_IMPORTED, &now.0.to_string())
        .await?;
    Ok(())
}
