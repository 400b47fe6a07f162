//! The Tollgate service: the operations the HTTP layer, the bootstrap and the background
//! tasks call. Time is always a parameter; nothing here knows of HTTP.
//!
//! - `tokens`: client authentication, issuing, validating, introspecting and revoking tokens
//! - `clients`: the administrator's operations on clients and secrets, and the bootstrap
//! - `secrets`: adding, removing and disabling a client's secrets
//! - `holders`: which clients hold the catalogue's permissions (for the console)
//! - `keys`: signing-key rotation, on schedule or asked for by an administrator, and its audit
//! - `upkeep`: what runs periodically (last-use write-behind, expiry audit, key rotation)
//! - `usage`: token counts written behind and read back (client object, dashboard)
//! - `follow`: applying the changes other nodes make to a shared database (PostgreSQL), for
//!   the loop in [`crate::cluster`]

mod apis;
mod audit;
mod clients;
mod errors;
mod follow;
mod holders;
mod keys;
pub mod limits;
pub mod people;
mod quotas;
mod secrets;
pub mod sso;
mod tokens;
mod upgrade;
mod upkeep;
mod usage;

use std::sync::{Arc, RwLock};

use tokio::sync::Mutex;

pub use clients::{BootstrapCredentials, Bootstrapped};
pub use errors::{
    BearerError, CallerError, CatalogueError, ClientError, ClientHolding, StartError, TokenError,
};
pub use holders::Holders;
pub use quotas::OverQuota;
pub use secrets::LeakReport;
pub use usage::{DASHBOARD_ITEMS, Dashboard, KeyAge, NotCaching, UsageReport};

use crate::cache::ClientCache;
use crate::clock::{Clock, Rng, UnixTime, random_bytes};
use crate::cluster::Freshness;
use crate::domain::algorithm::Algorithm;
use crate::domain::audit::AuditEvent;
use crate::domain::catalogue::Catalogue;
use crate::domain::revocation::RevocationIndex;
use crate::domain::scope::ScopeSet;
use crate::domain::secret::{ClientSecret, SecretHash, SecretHasher};
use crate::domain::token::TokenPolicy;
use crate::keys::sealing::open_or_upgrade;
use crate::keys::{Kek, KeyLifecycle, RotationPolicy, SigningKeys};
use crate::store::{Store, StoreError};

pub const BOOTSTRAP_CLIENT_NAME: &str = "tollgate-admin";
const SECRET_HASH_KEY: &str = "secret_hash_key";

/// Client credentials as presented at an OAuth endpoint.
#[derive(Debug)]
pub struct Credentials {
    pub client_id: String,
    pub secret: ClientSecret,
}

/// A freshly signed access token. Its `Debug` leaves the token out: it is a bearer
/// credential until it expires.
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
    pub scope: ScopeSet,
    pub client_id: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// What the service needs to know beyond its collaborators.
#[derive(Debug)]
pub struct Settings {
    pub policy: TokenPolicy,
    /// Active signing algorithms, the default first.
    pub algorithms: Vec<Algorithm>,
    pub rotation: RotationPolicy,
    pub max_secrets_per_client: usize,
    /// Audiences configured before the catalogue (the `audiences` setting), each registered
    /// as an API; the first receives the scopes clients held before the upgrade.
    pub audiences: Vec<String>,
    /// New clients get `scopes_locked` unless they say otherwise.
    pub lock_client_scopes: bool,
    pub kek: Kek,
    /// A key-encryption key being replaced: what it sealed is re-sealed with `kek`.
    pub previous_kek: Option<Kek>,
}

#[derive(Debug)]
pub struct Tollgate {
    store: Arc<dyn Store>,
    cache: ClientCache,
    hasher: SecretHasher,
    keys: KeyLifecycle,
    policy: TokenPolicy,
    catalogue: RwLock<Arc<Catalogue>>,
    catalogue_generation: std::sync::atomic::AtomicU64,
    lock_scopes_by_default: bool,
    max_secrets: usize,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    /// What the presented secret of an unknown client is compared with, in place of a
    /// client's stored hash (see [`Tollgate::authenticate`]).
    dummy_hash: SecretHash,
    /// Admin writes are rare; serialising them keeps the cache in the database's order.
    write_lock: Mutex<()>,
    revoked: RwLock<RevocationIndex>,
    /// Whether the caches follow the database (several nodes); see [`Freshness`].
    freshness: Freshness,
    usage: usage::Usage,
    rotation: RotationPolicy,
}

impl Tollgate {
    /// Loads (or creates, on first start) the hashing key and signing keys, and fills the
    /// client cache and the revocation index.
    pub async fn start(
        store: Arc<dyn Store>,
        settings: Settings,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Result<Tollgate, StartError> {
        let now = clock.now();
        let Settings {
            policy,
            algorithms,
            rotation,
            max_secrets_per_client,
            audiences,
            lock_client_scopes,
            kek,
            previous_kek,
        } = settings;
        let aad = format!("instance-key:{SECRET_HASH_KEY}");
        let fresh =
            zeroize::Zeroizing::new(random_bytes::<{ SecretHasher::KEY_LEN }>(rng.as_ref()));
        let candidate = kek.seal(fresh.as_ref(), &aad, rng.as_ref());
        let stored = store.instance_key(SECRET_HASH_KEY, &candidate, now).await?;
        let (hash_key, resealed) =
            open_or_upgrade(&stored, &aad, &kek, previous_kek.as_ref(), rng.as_ref())
                .map_err(StartError::HashKey)?;
        if let Some(blob) = resealed {
            store.set_instance_key(SECRET_HASH_KEY, &blob).await?;
            tracing::info!(kek = kek.id(), "re-encrypted the secret-hashing key");
        }
        let hasher = SecretHasher::new(&hash_key);
        let keys = KeyLifecycle::start(
            store.clone(),
            kek,
            previous_kek,
            rng.clone(),
            algorithms,
            rotation,
            now,
        )
        .await?;
        let cache = ClientCache::default();
        load_cache(store.as_ref(), &cache).await?;
        upgrade::prepare_catalogue(
            store.as_ref(),
            &cache,
            &policy.issuer,
            &audiences,
            rng.as_ref(),
            now,
        )
        .await?;
        let catalogue = apis::load_catalogue(store.as_ref(), &policy.issuer, now).await?;
        let dummy_hash = SecretHash(random_bytes::<32>(rng.as_ref()));
        let mut revoked = RevocationIndex::default();
        for entry in store.live_revocations(now).await? {
            revoked.insert(&entry.revocation);
        }
        Ok(Tollgate {
            store,
            cache,
            hasher,
            keys,
            policy,
            catalogue: RwLock::new(Arc::new(catalogue)),
            catalogue_generation: std::sync::atomic::AtomicU64::new(0),
            lock_scopes_by_default: lock_client_scopes,
            max_secrets: max_secrets_per_client,
            clock,
            rng,
            dummy_hash,
            write_lock: Mutex::new(()),
            revoked: RwLock::new(revoked),
            freshness: Freshness::default(),
            usage: usage::Usage::default(),
            rotation,
        })
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Whether the caches are known to follow the database (see [`Freshness`]).
    pub fn freshness(&self) -> &Freshness {
        &self.freshness
    }

    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    /// Whether a new client's scopes are locked when its request does not say (the
    /// `lock_client_scopes` setting).
    pub fn locks_client_scopes_by_default(&self) -> bool {
        self.lock_scopes_by_default
    }

    pub fn keys(&self) -> Arc<SigningKeys> {
        self.keys.signing_keys()
    }

    /// How many clients this node holds in memory.
    pub fn cached_clients(&self) -> usize {
        self.cache.len()
    }

    /// Changes whenever a client is created, changed or deleted.
    pub fn clients_generation(&self) -> u64 {
        self.cache.generation()
    }

    pub async fn ready(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// Records an event; a failure to record is logged, never fatal to the operation.
    async fn audit(&self, event: AuditEvent) {
        if let Err(e) = self.store.insert_audit(&event).await {
            tracing::error!(error = %e, action = event.action.as_str(), "could not record an audit event");
        }
    }
}

/// Fills the cache a page at a time, so a large installation never holds every row at once.
pub(crate) async fn load_cache(store: &dyn Store, cache: &ClientCache) -> Result<(), StoreError> {
    const PAGE: u32 = 2_000;
    let mut fresh = crate::cache::Clients::default();
    let mut after = None;
    loop {
        let page = store.list_clients(after.as_ref(), PAGE, None).await?;
        cache.extend(&mut fresh, &page);
        match page.last() {
            Some(last) if page.len() == PAGE as usize => {
                after = Some(crate::store::ListCursor {
                    created_at: last.created_at,
                    client_id: last.id.clone(),
                });
            }
            _ => break,
        }
    }
    cache.swap(fresh);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_token_does_not_show_the_token() {
        let issued = IssuedToken {
            access_token: "eyJhbGciOiJFUzI1NiJ9.secret-claims.sig".to_owned(),
            expires_in: 60,
            scope: ScopeSet::parse_delimited("a").unwrap(),
            client_id: "tgc_1".to_owned(),
        };
        let shown = format!("{issued:?}");
        assert!(!shown.contains("secret-claims"), "{shown}");
        assert!(shown.contains("tgc_1"), "{shown}");
    }
}
