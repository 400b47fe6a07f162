//! The embedded SQLite store.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
// Only the constant CLIENT_COLUMNS is ever interpolated into SQL; values are bound.
use sqlx::{AssertSqlSafe, SqlitePool};
use zeroize::Zeroizing;

use super::rows::{self, CLIENT_COLUMNS};
use super::{
    ChangeFeed, ClusterLock, ListCursor, NoLock, SecretOwner, Store, StoreError, StoredKey,
};
use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
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

    /// A transaction that holds the write lock from its first statement. A deferred one that
    /// reads before it writes fails with SQLITE_BUSY_SNAPSHOT (no busy wait) when another
    /// connection commits in between.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

fn map_unique(e: sqlx::Error) -> StoreError {
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
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO clients (client_id, name, description, scopes, access_token_lifetime, \
             signing_algorithm, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(client.id.as_str())
        .bind(client.name.as_str())
        .bind(client.description.as_str())
        .bind(client.scopes.to_delimited())
        .bind(rows::lifetime_param(client))
        .bind(client.signing_algorithm.map(Algorithm::as_str))
        .bind(client.created_at.0)
        .bind(client.updated_at.0)
        .execute(&mut *tx)
        .await
        .map_err(map_unique)?;
        for secret in &client.secrets {
            insert_secret(&mut tx, &client.id, secret).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CLIENT_COLUMNS} FROM clients c \
             LEFT JOIN client_secrets s ON s.client_id = c.client_id \
             WHERE c.client_id = ? ORDER BY s.created_at, s.secret_id"
        )))
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows::clients(rows)?.into_iter().next())
    }

    async fn list_clients(
        &self,
        after: Option<&ListCursor>,
        limit: u32,
    ) -> Result<Vec<Client>, StoreError> {
        let (after_time, after_id) = match after {
            Some(c) => (c.created_at.0, c.client_id.as_str().to_owned()),
            None => (i64::MIN, String::new()),
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CLIENT_COLUMNS} FROM \
               (SELECT * FROM clients WHERE (created_at, client_id) > (?, ?) \
                ORDER BY created_at, client_id LIMIT ?) c \
             LEFT JOIN client_secrets s ON s.client_id = c.client_id \
             ORDER BY c.created_at, c.client_id, s.created_at, s.secret_id"
        )))
        .bind(after_time)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows::clients(rows)
    }

    async fn update_client(&self, client: &Client) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE clients SET name = ?, description = ?, scopes = ?, \
             access_token_lifetime = ?, signing_algorithm = ?, updated_at = ? WHERE client_id = ?",
        )
        .bind(client.name.as_str())
        .bind(client.description.as_str())
        .bind(client.scopes.to_delimited())
        .bind(rows::lifetime_param(client))
        .bind(client.signing_algorithm.map(Algorithm::as_str))
        .bind(client.updated_at.0)
        .bind(client.id.as_str())
        .execute(&self.pool)
        .await
        .map_err(map_unique)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM clients WHERE client_id = ?")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_secret(
        &self,
        client: &ClientId,
        secret: &SecretInfo,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT 1 FROM clients WHERE client_id = ?")
            .bind(client.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Ok(false);
        }
        insert_secret(&mut tx, client, secret).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_secret(
        &self,
        client: &ClientId,
        secret: &SecretId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM client_secrets WHERE client_id = ? AND secret_id = ?")
            .bind(client.as_str())
            .bind(secret.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT rowid AS seq, kid, algorithm, private_key, created_at, activates_at \
             FROM signing_keys ORDER BY activates_at, rowid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::signing_key).collect()
    }

    async fn insert_signing_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, private_key, created_at, activates_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(key.algorithm.as_str())
        .bind(key.private_key.as_slice())
        .bind(key.created_at.0)
        .bind(key.activates_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_signing_key_material(&self, kid: &str, sealed: &[u8]) -> Result<(), StoreError> {
        sqlx::query("UPDATE signing_keys SET private_key = ? WHERE kid = ?")
            .bind(sealed)
            .bind(kid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM signing_keys WHERE kid = ?")
            .bind(kid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn has_keys(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM signing_keys) + (SELECT COUNT(*) FROM instance_keys)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    async fn set_instance_key(&self, name: &str, material: &[u8]) -> Result<(), StoreError> {
        sqlx::query("UPDATE instance_keys SET material = ? WHERE name = ?")
            .bind(material)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn find_secret(&self, hash: &SecretHash) -> Result<Option<SecretOwner>, StoreError> {
        let row = sqlx::query(
            "SELECT s.client_id, c.name, s.secret_id, s.disabled_at FROM client_secrets s \
             JOIN clients c ON c.client_id = s.client_id WHERE s.secret_hash = ?",
        )
        .bind(hash.0.as_slice())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::secret_owner).transpose()
    }

    async fn disable_secret(
        &self,
        client: &ClientId,
        secret: &SecretId,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE client_secrets SET disabled_at = ? \
             WHERE client_id = ? AND secret_id = ? AND disabled_at IS NULL",
        )
        .bind(now.0)
        .bind(client.as_str())
        .bind(secret.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_secret_use(&self, uses: &[(SecretHash, UnixTime)]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (hash, at) in uses {
            sqlx::query(
                "UPDATE client_secrets SET last_used_at = ? \
                 WHERE secret_hash = ? AND (last_used_at IS NULL OR last_used_at < ?)",
            )
            .bind(at.0)
            .bind(&hash.0[..])
            .bind(at.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn take_expired_secrets(
        &self,
        now: UnixTime,
    ) -> Result<Vec<(String, String, UnixTime)>, StoreError> {
        let rows = sqlx::query(
            "UPDATE client_secrets SET expiry_recorded = 1 \
             WHERE expires_at <= ? AND expiry_recorded = 0 \
             RETURNING client_id, secret_id, expires_at",
        )
        .bind(now.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::expired_secret).collect()
    }

    async fn insert_audit(&self, e: &AuditEvent) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO audit_events (at, actor, action, client_id, secret_id, kid, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(e.at.0)
        .bind(&e.actor)
        .bind(e.action.as_str())
        .bind(e.client_id.as_deref())
        .bind(e.secret_id.as_deref())
        .bind(e.kid.as_deref())
        .bind(&e.detail)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn audit_events(
        &self,
        after: i64,
        limit: u32,
        client: Option<&str>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, client_id, secret_id, kid, detail FROM audit_events \
             WHERE id > ? AND (? IS NULL OR client_id = ?) ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(client)
        .bind(client)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::audit_event).collect()
    }

    async fn instance_key(
        &self,
        name: &str,
        candidate: &[u8],
        now: UnixTime,
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        sqlx::query(
            "INSERT INTO instance_keys (name, material, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        let material: Vec<u8> =
            sqlx::query_scalar("SELECT material FROM instance_keys WHERE name = ?")
                .bind(name)
                .fetch_one(&self.pool)
                .await?;
        Ok(Zeroizing::new(material))
    }

    async fn insert_revocation(&self, r: &Revocation, now: UnixTime) -> Result<i64, StoreError> {
        let (jti, exp, issued_before) = match r {
            Revocation::Token { jti, exp, .. } => (Some(jti.as_str()), Some(exp.0), None),
            Revocation::Client { issued_before, .. } => (None, None, Some(issued_before.0)),
        };
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO revocations (client_id, jti, exp, issued_before, prune_after, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING cursor",
        )
        .bind(r.client_id())
        .bind(jti)
        .bind(exp)
        .bind(issued_before)
        .bind(r.prune_after().0)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?;
        match inserted {
            Some(cursor) => Ok(cursor),
            None => Ok(
                sqlx::query_scalar("SELECT cursor FROM revocations WHERE jti = ?")
                    .bind(jti)
                    .fetch_one(&self.pool)
                    .await?,
            ),
        }
    }

    async fn revocations_since(
        &self,
        cursor: i64,
        limit: u32,
    ) -> Result<Vec<RevocationEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT cursor, client_id, jti, exp, issued_before FROM revocations \
             WHERE cursor > ? ORDER BY cursor LIMIT ?",
        )
        .bind(cursor)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::revocation).collect()
    }

    async fn live_revocations(&self, now: UnixTime) -> Result<Vec<RevocationEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT cursor, client_id, jti, exp, issued_before FROM revocations \
             WHERE prune_after > ? ORDER BY cursor",
        )
        .bind(now.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::revocation).collect()
    }

    async fn prune_revocations(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM revocations WHERE prune_after <= ?")
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn revocation(&self, cursor: i64) -> Result<Option<RevocationEntry>, StoreError> {
        let row = sqlx::query(
            "SELECT cursor, client_id, jti, exp, issued_before FROM revocations WHERE cursor = ?",
        )
        .bind(cursor)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::revocation).transpose()
    }

    /// One node owns an SQLite file: every change goes through this process.
    async fn subscribe(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
        Ok(None)
    }

    async fn startup_lock(&self) -> Result<Box<dyn ClusterLock>, StoreError> {
        Ok(Box::new(NoLock))
    }

    /// One node: the keyring's own mutex already serialises rotations.
    async fn rotation_lock(&self, _wait: bool) -> Result<Option<Box<dyn ClusterLock>>, StoreError> {
        Ok(Some(Box::new(NoLock)))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

async fn insert_secret(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    client: &ClientId,
    secret: &SecretInfo,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO client_secrets (secret_id, client_id, secret_hash, created_at, expires_at, \
         last_used_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(secret.id.as_str())
    .bind(client.as_str())
    .bind(secret.hash.0.as_slice())
    .bind(secret.created_at.0)
    .bind(secret.expires_at.map(|t| t.0))
    .bind(secret.last_used_at.map(|t| t.0))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
