//! The change feed: what other nodes change, heard through `LISTEN tollgate`.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};

use super::CHANNEL;
use crate::store::{Change, ChangeFeed, StoreError};

/// After this long without a notification, the listener checks that its connection is alive.
const LISTENER_CHECK_EVERY: Duration = Duration::from_secs(30);
/// How long that check, and a reconnection attempt, may take.
const LISTENER_CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between reconnection attempts of the listener.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

pub(super) async fn subscribe(
    options: &PgConnectOptions,
) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
    // A pool of one connection of its own, so listening never takes a connection from
    // requests, and PgListener can reconnect through it.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(LISTENER_CHECK_TIMEOUT)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with(options.clone());
    let listener = listen(&pool).await?;
    Ok(Some(Box::new(PgFeed {
        pool,
        listener: Some(listener),
        pending: Some(Change::Resync),
    })))
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
