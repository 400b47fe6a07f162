//! Storage behind one trait, with one implementation per database. Domain code sees only
//! [`Store`].

pub mod admins;
pub mod audit;
pub mod postgres;
mod rows;
pub mod sessions;
pub mod sqlite;
pub mod usage;

use std::fmt::Debug;

use async_trait::async_trait;
use zeroize::Zeroizing;

pub use crate::cluster::{Change, ChangeFeed, ClusterLock, NoLock};
pub use audit::{AuditCursor, AuditFilter};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::api::{Api, ApiId};
use crate::domain::audit::AuditEvent;
use crate::domain::client::{Client, ClientId, SecretId, SecretInfo};
use crate::domain::revocation::{Revocation, RevocationEntry};
use crate::domain::scope::ScopeSet;
use crate::domain::secret::SecretHash;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a client with this name already exists")]
    NameTaken,
    #[error("a client with this id already exists")]
    IdTaken,
    /// The email address or single sign-on account is another administrator's.
    #[error("an administrator with this email address already exists")]
    EmailTaken,
    /// An API's identifier, name or a permission value is another API's already; the field.
    #[error("the API's {0} is taken by another API")]
    ApiConflict(&'static str),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The first connection at start failed; `target` is host:port/database, no password.
    #[error("cannot connect to the database at {target}: {source}")]
    Connect { target: String, source: sqlx::Error },
}

impl StoreError {
    /// The database cannot be reached or is not accepting work right now (down, restarting,
    /// unreachable, out of connections): the request may succeed later, so it is a 503 and
    /// not a 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e) => unavailable(e),
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => unavailable(e),
            StoreError::Connect { source, .. } => unavailable(source),
            _ => false,
        }
    }
}

fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, crash, cannot
        // connect now), 53300 (too many connections).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300"),
        _ => false,
    }
}

/// Position in the client list: clients are listed by creation time, then id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListCursor {
    pub created_at: UnixTime,
    pub client_id: ClientId,
}

/// A client's scopes set anew because permissions left the catalogue.
#[derive(Clone, Debug)]
pub struct ScopeChange {
    pub client_id: ClientId,
    pub scopes: ScopeSet,
    pub updated_at: UnixTime,
}

/// A signing key as stored.
#[derive(Clone, Debug)]
pub struct StoredKey {
    pub kid: String,
    pub algorithm: Algorithm,
    /// PKCS#8, sealed with the key-encryption key (see `sealing`).
    pub private_key: Zeroizing<Vec<u8>>,
    pub created_at: UnixTime,
    pub activates_at: UnixTime,
    /// Insertion order, which breaks ties between keys activating in the same second (the
    /// later one wins). Keys not stored yet carry `i64::MAX`.
    pub seq: i64,
}

/// A stored secret found by its hash.
#[derive(Clone, Debug)]
pub struct SecretOwner {
    pub client_id: ClientId,
    pub client_name: String,
    pub secret_id: SecretId,
    pub disabled_at: Option<UnixTime>,
}

#[async_trait]
pub trait Store:
    admins::AdminStore + sessions::SessionStore + usage::UsageStore + Send + Sync + Debug
{
    /// Cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Inserts a client together with its secrets.
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;
    /// Clients after `after`, oldest first; with `search`, only those whose name (without
    /// regard to case) or id contains it. The filter runs in the database.
    async fn list_clients(
        &self,
        after: Option<&ListCursor>,
        limit: u32,
        search: Option<&str>,
    ) -> Result<Vec<Client>, StoreError>;
    /// Writes name, description, scopes, lifetime and `updated_at`; false if the client is gone.
    async fn update_client(&self, client: &Client) -> Result<bool, StoreError>;
    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError>;
    /// The names of those of `ids` that exist (in no particular order): for pages that list
    /// clients found another way, such as the holders of a permission.
    async fn client_names(&self, ids: &[ClientId]) -> Result<Vec<(ClientId, String)>, StoreError>;

    /// The whole catalogue, with each API's permissions in their order.
    async fn list_apis(&self) -> Result<Vec<Api>, StoreError>;
    /// Inserts an API with its permissions.
    async fn insert_api(&self, api: &Api) -> Result<(), StoreError>;
    /// Rewrites an API and its permissions and sets the scopes of the clients in `taken`, in
    /// one transaction; false (and nothing written) if the API is gone.
    async fn update_api(&self, api: &Api, taken: &[ScopeChange]) -> Result<bool, StoreError>;
    /// Deletes an API and sets the scopes of the clients in `taken`, in one transaction.
    async fn delete_api(&self, id: &ApiId, taken: &[ScopeChange]) -> Result<bool, StoreError>;

    /// False if the client does not exist.
    async fn insert_secret(
        &self,
        client: &ClientId,
        secret: &SecretInfo,
    ) -> Result<bool, StoreError>;
    async fn delete_secret(&self, client: &ClientId, secret: &SecretId)
    -> Result<bool, StoreError>;

    /// Finds a secret by its keyed hash, with the client holding it.
    async fn find_secret(&self, hash: &SecretHash) -> Result<Option<SecretOwner>, StoreError>;
    /// False if there is no such secret or it was disabled already.
    async fn disable_secret(
        &self,
        client: &ClientId,
        secret: &SecretId,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Writes coalesced last-use times; a time never moves backwards.
    /// Raises `last_used_at` of the secrets with these hashes (never lowers it).
    async fn record_secret_use(&self, uses: &[(SecretHash, UnixTime)]) -> Result<(), StoreError>;
    /// Marks secrets that expired at or before `now` and were not reported yet, and returns
    /// them (client id, secret id, expiry) so each expiry is audited once.
    async fn take_expired_secrets(
        &self,
        now: UnixTime,
    ) -> Result<Vec<(String, String, UnixTime)>, StoreError>;

    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    async fn insert_signing_key(&self, key: &StoredKey) -> Result<(), StoreError>;
    async fn set_signing_key_material(&self, kid: &str, sealed: &[u8]) -> Result<(), StoreError>;
    async fn delete_signing_key(&self, kid: &str) -> Result<(), StoreError>;
    /// True when any signing or instance key is stored (the installation is not new).
    async fn has_keys(&self) -> Result<bool, StoreError>;

    /// Returns the stored key named `name`, storing `candidate` first if there is none, so
    /// concurrent first starts agree on one key.
    async fn instance_key(
        &self,
        name: &str,
        candidate: &[u8],
        now: UnixTime,
    ) -> Result<Zeroizing<Vec<u8>>, StoreError>;
    async fn set_instance_key(&self, name: &str, material: &[u8]) -> Result<(), StoreError>;

    /// Appends to the audit trail; returns the event's id.
    async fn insert_audit(&self, event: &AuditEvent) -> Result<i64, StoreError>;
    /// Up to `limit` events that match `filter`, from `cursor` on in its direction (oldest
    /// first after an id, newest first before one). The filter runs in the database.
    async fn audit_events(
        &self,
        filter: &AuditFilter,
        cursor: AuditCursor,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    /// Appends a revocation to the feed and returns its cursor. Revoking a token twice is
    /// not an error; the first entry stands. A client-wide revocation replaces the client's
    /// earlier client-wide ones that it covers (issued before no later), so a client has at
    /// most one in the feed.
    async fn insert_revocation(&self, r: &Revocation, now: UnixTime) -> Result<i64, StoreError>;
    /// Entries after `cursor`, oldest first.
    async fn revocations_since(
        &self,
        cursor: i64,
        limit: u32,
    ) -> Result<Vec<RevocationEntry>, StoreError>;
    /// Entries that still concern unexpired tokens.
    async fn live_revocations(&self, now: UnixTime) -> Result<Vec<RevocationEntry>, StoreError>;
    /// Removes entries whose tokens have all expired; returns how many.
    async fn prune_revocations(&self, now: UnixTime) -> Result<u64, StoreError>;

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;

    /// One revocation, by its cursor (for a node that hears of it from another).
    async fn revocation(&self, cursor: i64) -> Result<Option<RevocationEntry>, StoreError>;
    /// The changes other nodes make, as they happen; `None` when no other node can write to
    /// this database (SQLite), so the caches this node keeps are always complete.
    async fn subscribe(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError>;
    /// Waits until no other node is initialising shared state (keys, bootstrap), then holds
    /// that lock until released.
    async fn startup_lock(&self) -> Result<Box<dyn ClusterLock>, StoreError>;
    /// The lock under which signing keys are generated and removed, so exactly one node at a
    /// time rotates them. With `wait`, waits for it (a bounded time, then fails); without,
    /// returns `None` at once when another node holds it.
    async fn rotation_lock(&self, wait: bool) -> Result<Option<Box<dyn ClusterLock>>, StoreError>;
    /// Closes every connection.
    async fn close(&self);
    /// The connection pool as it is now (for the metrics).
    fn pool_stats(&self) -> PoolStats;
}

/// Connections of a store's pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections, idle or in use.
    pub size: u32,
    pub idle: usize,
    /// The most the pool opens.
    pub max: u32,
}

impl PoolStats {
    pub(crate) fn of<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> PoolStats {
        PoolStats {
            size: pool.size(),
            idle: pool.num_idle(),
            max: pool.options().get_max_connections(),
        }
    }
}

/// A `LIKE` pattern for values that contain `text` (its `%`, `_` and `\` taken literally).
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    #[test]
    fn contains_pattern_takes_wildcards_literally() {
        assert_eq!(super::contains_pattern("ab"), "%ab%");
        assert_eq!(super::contains_pattern(r"5%_a\b"), r"%5\%\_a\\b%");
    }
}
