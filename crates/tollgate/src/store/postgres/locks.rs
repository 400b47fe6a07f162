//! PostgreSQL advisory locks, which serialise work between nodes.

use async_trait::async_trait;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::store::{ClusterLock, StoreError};

/// Session advisory lock held while a node initialises keys and the bootstrap client. The
/// keys spell "tollgate"; sqlx's migrator derives its own from the database name.
const STARTUP_LOCK: i64 = 0x746f_6c6c_6761_7465;
/// Transaction advisory lock that serialises revocation inserts, so that cursors commit in
/// order and a reader of the feed never skips an entry that commits late.
pub(super) const REVOCATION_LOCK: i64 = STARTUP_LOCK + 1;
/// Session advisory lock held by the one node that generates and removes signing keys.
const ROTATION_LOCK: i64 = STARTUP_LOCK + 2;
/// How long a rotation (the upkeep's or an administrator's) waits for the node holding
/// [`ROTATION_LOCK`] before it gives up.
const ROTATION_LOCK_TIMEOUT: &str = "SET lock_timeout = '10s'";

pub(super) async fn startup_lock(
    options: &PgConnectOptions,
) -> Result<Box<dyn ClusterLock>, StoreError> {
    // A connection of its own: if this process dies while holding the lock, the
    // connection closes and PostgreSQL releases the lock.
    let mut conn = PgConnection::connect_with(options).await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(STARTUP_LOCK)
        .execute(&mut conn)
        .await?;
    Ok(Box::new(PgAdvisoryLock {
        conn,
        key: STARTUP_LOCK,
    }))
}

pub(super) async fn rotation_lock(
    options: &PgConnectOptions,
    wait: bool,
) -> Result<Option<Box<dyn ClusterLock>>, StoreError> {
    // A connection of its own, as for the startup lock: a node that dies while rotating
    // releases the lock with its connection.
    let mut conn = PgConnection::connect_with(options).await?;
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
