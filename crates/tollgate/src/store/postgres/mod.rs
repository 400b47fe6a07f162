//! The PostgreSQL store, for several Tollgate nodes sharing one database.
//!
//! Every write that other nodes must hear of sends a notification on the `tollgate` channel
//! (`pg_notify`) in the same transaction as the change, so it is delivered exactly when the
//! change becomes visible, and never for a change that was rolled back. The change feed
//! (`feed.rs`) listens on that channel.
//!
//! This file opens the store and implements [`Store`] by handing each call to the file of its
//! concern: `clients.rs` (clients and their secrets), `keys.rs` (signing and instance keys),
//! `revocations.rs`, `audit.rs`, `feed.rs` (changes made by other nodes) and `locks.rs`
//! (advisory locks between nodes).

mod admins;
mod apis;
mod audit;
mod clients;
mod feed;
mod keys;
mod locks;
mod revocations;
mod usage;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Transaction};
use zeroize::Zeroizing;

use super::{
    Change, ChangeFeed, ClusterLock, ListCursor, ScopeChange, SecretOwner, Store, StoreError,
    StoredKey,
};
use crate::clock::UnixTime;
use crate::domain::api::{Api, ApiId};
use crate::domain::audit::AuditEvent;
use crate::domain::client::{Client, ClientId, SecretId, SecretInfo};
use crate::domain::revocation::{Revocation, RevocationEntry};
use crate::domain::secret::SecretHash;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per node when the configuration does not say.
pub const DEFAULT_POOL_SIZE: u32 = 10;
/// The notification channel.
const CHANNEL: &str = "tollgate";
/// How long a request waits for a connection before it is answered 503: short, so requests
/// fail fast while the database is away instead of piling up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    options: PgConnectOptions,
}

// By hand: the connect options hold the password.
impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("host", &self.options.get_host())
            .field("database", &self.options.get_database())
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects, applies pending migrations and opens a pool of `pool_size` connections.
    pub async fn open(url: &str, pool_size: u32) -> Result<PostgresStore, StoreError> {
        let options = PgConnectOptions::from_str(url)?.application_name("tollgate");
        // One direct attempt first: a pool would only report that it timed out.
        let first = PgConnection::connect_with(&options)
            .await
            .map_err(|source| StoreError::Connect {
                target: format!(
                    "{}:{}/{}",
                    options.get_host(),
                    options.get_port(),
                    options.get_database().unwrap_or_default()
                ),
                source,
            })?;
        let _ = first.close().await;
        migrate(&options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        Ok(PostgresStore { pool, options })
    }
}

/// Applies pending migrations on a connection of its own. sqlx's PostgreSQL migrator holds a
/// session advisory lock (`pg_advisory_lock`, keyed by the database name) while it works, so
/// nodes that start together migrate one after the other; closing the connection afterwards
/// releases the lock even when a migration failed. (A pool of one rather than a bare
/// connection: `Migrator::run(&mut PgConnection)` makes the future not `Send`.)
async fn migrate(options: &PgConnectOptions) -> Result<(), StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options.clone())
        .await?;
    let result = MIGRATOR.run(&pool).await;
    pool.close().await;
    result?;
    Ok(())
}

pub(super) fn map_unique(e: sqlx::Error) -> StoreError {
    if let Some(db) = e.as_database_error()
        && db.is_unique_violation()
    {
        match db.constraint() {
            Some("clients_name_key") => return StoreError::NameTaken,
            Some("clients_pkey") => return StoreError::IdTaken,
            _ => {}
        }
    }
    StoreError::Database(e)
}

/// Announces a change to every node, when (and only if) `tx` commits.
pub(super) async fn notify(
    tx: &mut Transaction<'_, Postgres>,
    payload: &str,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) async fn notify_client(
    tx: &mut Transaction<'_, Postgres>,
    id: &ClientId,
) -> Result<(), StoreError> {
    notify(tx, &Change::client_payload(id.as_str())).await
}

#[async_trait]
impl Store for PostgresStore {
    #[tracing::instrument(level = "debug", skip_all, name = "db.ping")]
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.insert_client")]
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        clients::insert_client(&self.pool, client).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.get_client")]
    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        clients::get_client(&self.pool, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.list_clients")]
    async fn list_clients(
        &self,
        after: Option<&ListCursor>,
        limit: u32,
        search: Option<&str>,
    ) -> Result<Vec<Client>, StoreError> {
        clients::list_clients(&self.pool, after, limit, search).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.update_client")]
    async fn update_client(&self, client: &Client) -> Result<bool, StoreError> {
        clients::update_client(&self.pool, client).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.delete_client")]
    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        clients::delete_client(&self.pool, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.client_names")]
    async fn client_names(&self, ids: &[ClientId]) -> Result<Vec<(ClientId, String)>, StoreError> {
        clients::client_names(&self.pool, ids).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.list_apis")]
    async fn list_apis(&self) -> Result<Vec<Api>, StoreError> {
        apis::list_apis(&self.pool).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.insert_api")]
    async fn insert_api(&self, api: &Api) -> Result<(), StoreError> {
        apis::insert_api(&self.pool, api).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.update_api")]
    async fn update_api(&self, api: &Api, taken: &[ScopeChange]) -> Result<bool, StoreError> {
        apis::update_api(&self.pool, api, taken).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.delete_api")]
    async fn delete_api(&self, id: &ApiId, taken: &[ScopeChange]) -> Result<bool, StoreError> {
        apis::delete_api(&self.pool, id, taken).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.insert_secret")]
    async fn insert_secret(
        &self,
        client: &ClientId,
        secret: &SecretInfo,
    ) -> Result<bool, StoreError> {
        clients::insert_secret(&self.pool, client, secret).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.delete_secret")]
    async fn delete_secret(
        &self,
        client: &ClientId,
        secret: &SecretId,
    ) -> Result<bool, StoreError> {
        clients::delete_secret(&self.pool, client, secret).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.signing_keys")]
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        keys::signing_keys(&self.pool).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.insert_signing_key")]
    async fn insert_signing_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        keys::insert_signing_key(&self.pool, key).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.set_signing_key_material")]
    async fn set_signing_key_material(&self, kid: &str, sealed: &[u8]) -> Result<(), StoreError> {
        keys::set_signing_key_material(&self.pool, kid, sealed).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.delete_signing_key")]
    async fn delete_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        keys::delete_signing_key(&self.pool, kid).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.has_keys")]
    async fn has_keys(&self) -> Result<bool, StoreError> {
        keys::has_keys(&self.pool).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.set_instance_key")]
    async fn set_instance_key(&self, name: &str, material: &[u8]) -> Result<(), StoreError> {
        keys::set_instance_key(&self.pool, name, material).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.find_secret")]
    async fn find_secret(&self, hash: &SecretHash) -> Result<Option<SecretOwner>, StoreError> {
        clients::find_secret(&self.pool, hash).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.disable_secret")]
    async fn disable_secret(
        &self,
        client: &ClientId,
        secret: &SecretId,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        clients::disable_secret(&self.pool, client, secret, now).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.record_secret_use")]
    async fn record_secret_use(&self, uses: &[(SecretHash, UnixTime)]) -> Result<(), StoreError> {
        clients::record_secret_use(&self.pool, uses).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.take_expired_secrets")]
    async fn take_expired_secrets(
        &self,
        now: UnixTime,
    ) -> Result<Vec<(String, String, UnixTime)>, StoreError> {
        clients::take_expired_secrets(&self.pool, now).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.insert_audit")]
    async fn insert_audit(&self, e: &AuditEvent) -> Result<i64, StoreError> {
        audit::insert_audit(&self.pool, e).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.audit_events")]
    async fn audit_events(
        &self,
        filter: &crate::store::AuditFilter,
        cursor: crate::store::AuditCursor,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        audit::audit_events(&self.pool, filter, cursor, limit).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.instance_key")]
    async fn instance_key(
        &self,
        name: &str,
        candidate: &[u8],
        now: UnixTime,
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        keys::instance_key(&self.pool, name, candidate, now).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.insert_revocation")]
    async fn insert_revocation(&self, r: &Revocation, now: UnixTime) -> Result<i64, StoreError> {
        revocations::insert_revocation(&self.pool, r, now).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.revocations_since")]
    async fn revocations_since(
        &self,
        cursor: i64,
        limit: u32,
    ) -> Result<Vec<RevocationEntry>, StoreError> {
        revocations::revocations_since(&self.pool, cursor, limit).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.live_revocations")]
    async fn live_revocations(&self, now: UnixTime) -> Result<Vec<RevocationEntry>, StoreError> {
        revocations::live_revocations(&self.pool, now).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.prune_revocations")]
    async fn prune_revocations(&self, now: UnixTime) -> Result<u64, StoreError> {
        revocations::prune_revocations(&self.pool, now).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.meta")]
    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.set_meta")]
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.revocation")]
    async fn revocation(&self, cursor: i64) -> Result<Option<RevocationEntry>, StoreError> {
        revocations::revocation(&self.pool, cursor).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.subscribe")]
    async fn subscribe(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
        feed::subscribe(&self.options).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.startup_lock")]
    async fn startup_lock(&self) -> Result<Box<dyn ClusterLock>, StoreError> {
        locks::startup_lock(&self.options).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.rotation_lock")]
    async fn rotation_lock(&self, wait: bool) -> Result<Option<Box<dyn ClusterLock>>, StoreError> {
        locks::rotation_lock(&self.options, wait).await
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.close")]
    async fn close(&self) {
        self.pool.close().await;
    }

    fn pool_stats(&self) -> crate::store::PoolStats {
        crate::store::PoolStats::of(&self.pool)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// The two databases' migrations stay in step: the same numbered files on both sides.
    #[test]
    fn migration_directories_match() {
        let names = |db: &str| -> BTreeSet<String> {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(db);
            std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        };
        let sqlite = names("sqlite");
        let postgres = names("postgres");
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite, postgres,
            "every migration needs a twin for the other database, with the same file name"
        );
        for name in &sqlite {
            let number = name.split('_').next().unwrap_or_default();
            assert!(
                number.len() == 4 && number.chars().all(|c| c.is_ascii_digit()),
                "{name}: migrations are named NNNN_description.sql"
            );
        }
    }
}
