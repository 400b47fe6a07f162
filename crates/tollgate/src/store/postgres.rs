//! The PostgreSQL store, for several Tollgate nodes sharing one database.
//!
//! Every write that other nodes must hear of sends a notification on the `tollgate` channel
//! (`pg_notify`) in the same transaction as the change, so it is delivered exactly when the
//! change becomes visible, and never for a change that was rolled back. [`PgFeed`] listens on
//! that channel.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
// Only the constant CLIENT_COLUMNS is ever interpolated into SQL; values are bound.
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool, Postgres, Transaction};
use zeroize::Zeroizing;

use super::rows::{self, CLIENT_COLUMNS};
use super::{
    Change, ChangeFeed, ClusterLock, ListCursor, SecretOwner, Store, StoreError, StoredKey,
};
use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
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
/// Session advisory lock held while a node initialises keys and the bootstrap client. The
/// keys spell "tollgate"; sqlx's migrator derives its own from the database name.
const STARTUP_LOCK: i64 = 0x746f_6c6c_6761_7465;
/// Transaction advisory lock that serialises revocation inserts, so that cursors commit in
/// order and a reader of the feed never skips an entry that commits late.
const REVOCATION_LOCK: i64 = STARTUP_LOCK + 1;
/// Session advisory lock held by the one node that generates and removes signing keys.
const ROTATION_LOCK: i64 = STARTUP_LOCK + 2;
/// How long a rotation (the upkeep's or an administrator's) waits for the node holding
/// [`ROTATION_LOCK`] before it gives up.
const ROTATION_LOCK_TIMEOUT: &str = "SET lock_timeout = '10s'";
/// After this long without a notification, the listener checks that its connection is alive.
const LISTENER_CHECK_EVERY: Duration = Duration::from_secs(30);
/// How long that check, and a reconnection attempt, may take.
const LISTENER_CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between reconnection attempts of the listener.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

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

fn map_unique(e: sqlx::Error) -> StoreError {
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
async fn notify(tx: &mut Transaction<'_, Postgres>, payload: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn notify_client(
    tx: &mut Transaction<'_, Postgres>,
    id: &ClientId,
) -> Result<(), StoreError> {
    notify(tx, &Change::client_payload(id.as_str())).await
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO clients (client_id, name, description, scopes, access_token_lifetime, \
             signing_algorithm, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
        notify_client(&mut tx, &client.id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CLIENT_COLUMNS} FROM clients c \
             LEFT JOIN client_secrets s ON s.client_id = c.client_id \
             WHERE c.client_id = $1 ORDER BY s.created_at, s.secret_id"
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
               (SELECT * FROM clients WHERE (created_at, client_id) > ($1, $2) \
                ORDER BY created_at, client_id LIMIT $3) c \
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
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE clients SET name = $1, description = $2, scopes = $3, \
             access_token_lifetime = $4, signing_algorithm = $5, updated_at = $6 \
             WHERE client_id = $7",
        )
        .bind(client.name.as_str())
        .bind(client.description.as_str())
        .bind(client.scopes.to_delimited())
        .bind(rows::lifetime_param(client))
        .bind(client.signing_algorithm.map(Algorithm::as_str))
        .bind(client.updated_at.0)
        .bind(client.id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_unique)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        notify_client(&mut tx, &client.id).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        notify_client(&mut tx, id).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn insert_secret(
        &self,
        client: &ClientId,
        secret: &SecretInfo,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Locks the client row, so a concurrent delete waits for this insert or wins first.
        let exists = sqlx::query("SELECT 1 FROM clients WHERE client_id = $1 FOR UPDATE")
            .bind(client.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Ok(false);
        }
        insert_secret(&mut tx, client, secret).await?;
        notify_client(&mut tx, client).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_secret(
        &self,
        client: &ClientId,
        secret: &SecretId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done =
            sqlx::query("DELETE FROM client_secrets WHERE client_id = $1 AND secret_id = $2")
                .bind(client.as_str())
                .bind(secret.as_str())
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        notify_client(&mut tx, client).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kid, algorithm, private_key, created_at, activates_at \
             FROM signing_keys ORDER BY activates_at, seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::signing_key).collect()
    }

    async fn insert_signing_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, private_key, created_at, activates_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.kid)
        .bind(key.algorithm.as_str())
        .bind(key.private_key.as_slice())
        .bind(key.created_at.0)
        .bind(key.activates_at.0)
        .execute(&mut *tx)
        .await?;
        notify(&mut tx, Change::KEYS_PAYLOAD).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_signing_key_material(&self, kid: &str, sealed: &[u8]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE signing_keys SET private_key = $1 WHERE kid = $2")
            .bind(sealed)
            .bind(kid)
            .execute(&mut *tx)
            .await?;
        notify(&mut tx, Change::KEYS_PAYLOAD).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() > 0 {
            notify(&mut tx, Change::KEYS_PAYLOAD).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn has_keys(&self) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM signing_keys) OR EXISTS (SELECT 1 FROM instance_keys)",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn set_instance_key(&self, name: &str, material: &[u8]) -> Result<(), StoreError> {
        sqlx::query("UPDATE instance_keys SET material = $1 WHERE name = $2")
            .bind(material)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn find_secret(&self, hash: &SecretHash) -> Result<Option<SecretOwner>, StoreError> {
        let row = sqlx::query(
            "SELECT s.client_id, c.name, s.secret_id, s.disabled_at FROM client_secrets s \
             JOIN clients c ON c.client_id = s.client_id WHERE s.secret_hash = $1",
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
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE client_secrets SET disabled_at = $1 \
             WHERE client_id = $2 AND secret_id = $3 AND disabled_at IS NULL",
        )
        .bind(now.0)
        .bind(client.as_str())
        .bind(secret.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        // The client's usable secrets changed: every node drops the disabled one.
        notify_client(&mut tx, client).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn record_secret_use(&self, uses: &[(SecretHash, UnixTime)]) -> Result<(), StoreError> {
        if uses.is_empty() {
            return Ok(());
        }
        let hashes: Vec<&[u8]> = uses.iter().map(|(hash, _)| &hash.0[..]).collect();
        let times: Vec<i64> = uses.iter().map(|(_, at)| at.0).collect();
        // One statement for the whole batch; several nodes write behind the same secrets, and
        // a time never moves backwards.
        sqlx::query(
            "UPDATE client_secrets s SET last_used_at = u.at \
             FROM (SELECT h, max(at) AS at FROM unnest($1::bytea[], $2::bigint[]) AS x(h, at) \
                   GROUP BY h) u \
             WHERE s.secret_hash = u.h AND (s.last_used_at IS NULL OR s.last_used_at < u.at)",
        )
        .bind(hashes)
        .bind(times)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_expired_secrets(
        &self,
        now: UnixTime,
    ) -> Result<Vec<(String, String, UnixTime)>, StoreError> {
        // One statement: a row is marked and returned by exactly one node, however many run
        // this at once (the second waits for the first's row locks, then finds it marked).
        let rows = sqlx::query(
            "UPDATE client_secrets SET expiry_recorded = TRUE \
             WHERE expires_at <= $1 AND NOT expiry_recorded \
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
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
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
             WHERE id > $1 AND ($2::text IS NULL OR client_id = $2) ORDER BY id LIMIT $3",
        )
        .bind(after)
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
            "INSERT INTO instance_keys (name, material, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        let material: Vec<u8> =
            sqlx::query_scalar("SELECT material FROM instance_keys WHERE name = $1")
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
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(REVOCATION_LOCK)
            .execute(&mut *tx)
            .await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO revocations (client_id, jti, exp, issued_before, prune_after, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING cursor",
        )
        .bind(r.client_id())
        .bind(jti)
        .bind(exp)
        .bind(issued_before)
        .bind(r.prune_after().0)
        .bind(now.0)
        .fetch_optional(&mut *tx)
        .await?;
        let cursor = match inserted {
            Some(cursor) => {
                notify(&mut tx, &Change::revocation_payload(cursor)).await?;
                cursor
            }
            None => {
                sqlx::query_scalar("SELECT cursor FROM revocations WHERE jti = $1")
                    .bind(jti)
                    .fetch_one(&mut *tx)
                    .await?
            }
        };
        tx.commit().await?;
        Ok(cursor)
    }

    async fn revocations_since(
        &self,
        cursor: i64,
        limit: u32,
    ) -> Result<Vec<RevocationEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT cursor, client_id, jti, exp, issued_before FROM revocations \
             WHERE cursor > $1 ORDER BY cursor LIMIT $2",
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
             WHERE prune_after > $1 ORDER BY cursor",
        )
        .bind(now.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::revocation).collect()
    }

    async fn prune_revocations(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM revocations WHERE prune_after <= $1")
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

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

    async fn revocation(&self, cursor: i64) -> Result<Option<RevocationEntry>, StoreError> {
        let row = sqlx::query(
            "SELECT cursor, client_id, jti, exp, issued_before FROM revocations \
             WHERE cursor = $1",
        )
        .bind(cursor)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::revocation).transpose()
    }

    async fn subscribe(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
        // A pool of one connection of its own, so listening never takes a connection from
        // requests, and PgListener can reconnect through it.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(LISTENER_CHECK_TIMEOUT)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(self.options.clone());
        let listener = listen(&pool).await?;
        Ok(Some(Box::new(PgFeed {
            pool,
            listener: Some(listener),
            pending: Some(Change::Resync),
        })))
    }

    async fn startup_lock(&self) -> Result<Box<dyn ClusterLock>, StoreError> {
        // A connection of its own: if this process dies while holding the lock, the
        // connection closes and PostgreSQL releases the lock.
        let mut conn = PgConnection::connect_with(&self.options).await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(STARTUP_LOCK)
            .execute(&mut conn)
            .await?;
        Ok(Box::new(PgAdvisoryLock {
            conn,
            key: STARTUP_LOCK,
        }))
    }

    async fn rotation_lock(&self, wait: bool) -> Result<Option<Box<dyn ClusterLock>>, StoreError> {
        // A connection of its own, as for the startup lock: a node that dies while rotating
        // releases the lock with its connection.
        let mut conn = PgConnection::connect_with(&self.options).await?;
        let held: bool = if wait {
            sqlx::query(ROTATION_LOCK_TIMEOUT)
                .execute(&mut conn)
                .await?;
            let locked = sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(ROTATION_LOCK)
                .execute(&mut conn)
                .await;
            match locked {
                Ok(_) => true,
                // lock_not_available: another node held it for the whole timeout.
                Err(e)
                    if e.as_database_error()
                        .and_then(|d| d.code())
                        .is_some_and(|c| c == "55P03") =>
                {
                    false
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(ROTATION_LOCK)
                .fetch_one(&mut conn)
                .await?
        };
        if !held {
            let _ = conn.close().await;
            return Ok(None);
        }
        Ok(Some(Box::new(PgAdvisoryLock {
            conn,
            key: ROTATION_LOCK,
        })))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// A session advisory lock, held by a connection of its own.
#[derive(Debug)]
struct PgAdvisoryLock {
    conn: PgConnection,
    key: i64,
}

#[async_trait]
impl ClusterLock for PgAdvisoryLock {
    async fn release(mut self: Box<Self>) {
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut self.conn)
            .await;
        if let Err(e) = unlocked {
            tracing::debug!(error = %e, "advisory lock: unlock failed; closing the connection releases it");
        }
        let _ = self.conn.close().await;
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// The change feed: a `LISTEN tollgate` connection.
struct PgFeed {
    pool: PgPool,
    /// `None` while disconnected.
    listener: Option<PgListener>,
    /// A change to hand out before reading more.
    pending: Option<Change>,
}

impl fmt::Debug for PgFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgFeed")
            .field("connected", &self.listener.is_some())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ChangeFeed for PgFeed {
    async fn next(&mut self) -> Change {
        loop {
            if let Some(change) = self.pending.take() {
                return change;
            }
            let Some(listener) = self.listener.as_mut() else {
                match tokio::time::timeout(LISTENER_CHECK_TIMEOUT, listen(&self.pool)).await {
                    Ok(Ok(listener)) => {
                        tracing::info!("database change feed reconnected");
                        self.listener = Some(listener);
                        return Change::Resync;
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "database change feed: reconnection failed")
                    }
                    Err(_) => tracing::debug!("database change feed: reconnection timed out"),
                }
                tokio::time::sleep(RECONNECT_DELAY).await;
                continue;
            };
            // Waiting for a notification is cancel-safe (sqlx reads whole messages only).
            match tokio::time::timeout(LISTENER_CHECK_EVERY, listener.try_recv()).await {
                Ok(Ok(Some(notification))) => return Change::parse(notification.payload()),
                // The connection dropped and PgListener re-established it at once: whatever
                // was sent in between is lost.
                Ok(Ok(None)) => {
                    tracing::info!("database change feed reconnected after a lost connection");
                    return Change::Resync;
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "database change feed lost its connection");
                    self.listener = None;
                    return Change::Lost;
                }
                Err(_) => {
                    // Quiet for a while: make sure the connection is still there (a silently
                    // dropped connection would otherwise wait for TCP to notice).
                    let alive = tokio::time::timeout(
                        LISTENER_CHECK_TIMEOUT,
                        sqlx::query("SELECT 1").execute(&mut *listener),
                    )
                    .await;
                    if !matches!(alive, Ok(Ok(_))) {
                        tracing::warn!("database change feed connection stopped answering");
                        self.listener = None;
                        return Change::Lost;
                    }
                }
            }
        }
    }
}

async fn insert_secret(
    tx: &mut Transaction<'_, Postgres>,
    client: &ClientId,
    secret: &SecretInfo,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO client_secrets (secret_id, client_id, secret_hash, created_at, expires_at, \
         last_used_at, disabled_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(secret.id.as_str())
    .bind(client.as_str())
    .bind(secret.hash.0.as_slice())
    .bind(secret.created_at.0)
    .bind(secret.expires_at.map(|t| t.0))
    .bind(secret.last_used_at.map(|t| t.0))
    .bind(secret.disabled_at.map(|t| t.0))
    .execute(&mut **tx)
    .await?;
    Ok(())
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
