//! The embedded SQLite store.
//!
//! This file opens the store and implements [`Store`] by handing each call to the file of its
//! concern: `clients.rs` (clients and their secrets), `keys.rs` (signing and instance keys),
//! `revocations.rs` and `audit.rs`. One node owns an SQLite file, so there is no change feed
//! and no lock between nodes.

mod admins;
mod apis;
mod audit;
pub mod backup;
mod clients;
mod keys;
mod revocations;
mod usage;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use zeroize::Zeroizing;

use super::{
    ChangeFeed, ClusterLock, ListCursor, NoLock, ScopeChange, SecretOwner, Store, StoreError,
    StoredKey,
};
use crate::clock::UnixTime;
use crate::domain::api::{Api, ApiId};
use crate::domain::audit::AuditEvent;
use crate::domain::client::{Client, ClientId, SecretId, SecretInfo};
use crate::domain::revocation::{Revocation, RevocationEntry};
use crate::domain::secret::SecretHash;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Connections when the configuration does not say.
pub const DEFAULT_POOL_SIZE: u32 = 4;
const ROW_BUFFER: usize = 1_024;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        Self::open_with(url, DEFAULT_POOL_SIZE).await
    }

    /// [`SqliteStore::open`] with `pool_size` connections at most.
    pub async fn open_with(url: &str, pool_size: u32) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // 1 MiB of page cache per connection instead of SQLite's 2 MiB: reads go to the
            // database only from the admin API and cache loads, and the operating system caches
            // the file anyway; the token endpoint never reads it.
            .pragma("cache_size", "-1024")
            // Rows cross from SQLite's worker thread in batches rather than a few at a time:
            // loading 100,000 clients at start spent a fifth of its time switching threads.
            .row_buffer_size(ROW_BUFFER);
        if let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(pool_size.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A transaction that holds the write lock from its first statement. A deferred one that
/// reads before it writes fails with SQLITE_BUSY_SNAPSHOT (no busy wait) when another
/// connection commits in between.
pub(super) async fn begin_write(
    pool: &SqlitePool,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

pub(super) fn map_unique(e: sqlx::Error) -> StoreError {
    if let Some(db) = e.as_database_error()
        && db.is_unique_violation()
    {
        let msg = db.message();
        if msg.contains("clients.name") {
            return StoreError::NameTaken;
        }
        if msg.contains("clients.client_id") {
            return StoreError::IdTaken;
        }
    }
    StoreError::Database(e)
}

#[async_trait]
impl Store for SqliteStore {
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
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.set_meta")]
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
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

    /// One node owns an SQLite file: every change goes through this process.
    #[tracing::instrument(level = "debug", skip_all, name = "db.subscribe")]
    async fn subscribe(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
        Ok(None)
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.startup_lock")]
    async fn startup_lock(&self) -> Result<Box<dyn ClusterLock>, StoreError> {
        Ok(Box::new(NoLock))
    }

    /// One node: the keyring's own mutex already serialises rotations.
    #[tracing::instrument(level = "debug", skip_all, name = "db.rotation_lock")]
    async fn rotation_lock(&self, _wait: bool) -> Result<Option<Box<dyn ClusterLock>>, StoreError> {
        Ok(Some(Box::new(NoLock)))
    }

    #[tracing::instrument(level = "debug", skip_all, name = "db.close")]
    async fn close(&self) {
        self.pool.close().await;
    }

    fn pool_stats(&self) -> crate::store::PoolStats {
        crate::store::PoolStats::of(&self.pool)
    }
}
