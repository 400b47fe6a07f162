//! Keeps a node's caches in step with a database that other nodes write to.
//!
//! Each node holds every client, every live revocation and the signing keys in memory, so the
//! token endpoint and introspection never wait for the database. When another node changes a
//! client, records a revocation or generates or removes a signing key, the database announces
//! it on a change feed (PostgreSQL `LISTEN/NOTIFY`) and this loop reloads what changed. After the feed lost its connection, and every
//! `cache_refresh_interval` as a safety net, it reloads everything. While the feed is down or
//! reloads fail, the node's [`Freshness`](super::Freshness) records since when it
//! may be behind, which decides how long it keeps authenticating clients from its cache.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use async_trait::async_trait;

use super::{Change, ChangeFeed, Freshness};
use crate::clock::UnixTime;

/// Changes read ahead of the loop.
const BACKLOG: usize = 1024;
/// Pause between attempts to reload everything while the database is away.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// What the loop keeps in step: the service's caches of clients, revocations and keys.
/// Errors are reported, and answered by reloading everything once the database answers.
#[async_trait]
pub trait Follower: Send + Sync + 'static {
    type Error: std::fmt::Display + Send;

    fn now(&self) -> UnixTime;
    fn freshness(&self) -> &Freshness;
    /// Reloads one client, or drops it if it is gone.
    async fn refresh_client(&self, client_id: &str) -> Result<(), Self::Error>;
    /// Learns the revocation recorded with `cursor`.
    async fn learn_revocation(&self, cursor: i64) -> Result<(), Self::Error>;
    /// Reloads the signing keys.
    async fn reload_keys(&self, now: UnixTime) -> Result<(), Self::Error>;
    /// Reloads the API catalogue.
    async fn reload_catalogue(&self) -> Result<(), Self::Error>;
    /// Reloads every client, every live revocation, the catalogue and the signing keys.
    async fn refresh_all(&self, now: UnixTime) -> Result<(), Self::Error>;
}

/// Starts following `feed`; abort the returned task to stop.
pub fn spawn<F: Follower>(
    tollgate: Arc<F>,
    feed: Box<dyn ChangeFeed>,
    refresh_every: Duration,
) -> JoinHandle<()> {
    tokio::spawn(follow(tollgate, feed, refresh_every))
}

/// Aborts a task when dropped, so the reader stops with the loop that owns it.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn follow<F: Follower>(tollgate: Arc<F>, feed: Box<dyn ChangeFeed>, refresh_every: Duration) {
    // The feed is read in a task of its own: reading it must not be cancelled half-way,
    // which `select!` against the refresh timer would do.
    let (tx, mut rx) = mpsc::channel(BACKLOG);
    let _reader = AbortOnDrop(tokio::spawn(read(feed, tx)));
    let mut refresh = tokio::time::interval(refresh_every);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    refresh.tick().await;
    let mut state = State::default();
    loop {
        if state.reload_due {
            state.reload(tollgate.as_ref()).await;
        }
        let retry = async {
            if state.reload_due {
                tokio::time::sleep(RETRY_EVERY).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            change = rx.recv() => match change {
                Some(change) => state.apply(tollgate.as_ref(), change).await,
                None => return,
            },
            _ = refresh.tick() => state.reload_due = true,
            () = retry => {}
        }
    }
}

async fn read(mut feed: Box<dyn ChangeFeed>, tx: mpsc::Sender<Change>) {
    loop {
        let change = feed.next().await;
        if tx.send(change).await.is_err() {
            return;
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// The feed is connected: from now on no change is missed.
    connected: bool,
    /// Everything must be reloaded (the feed reconnected, a reload or a single update
    /// failed, or it is time for the periodic refresh).
    reload_due: bool,
    /// The last reload failed (to log the failure once and the recovery once).
    failing: bool,
}

impl State {
    async fn apply<F: Follower>(&mut self, tollgate: &F, change: Change) {
        if !matches!(change, Change::Lost) {
            tollgate.freshness().heard(tollgate.now());
        }
        let result = match &change {
            Change::Client(id) => tollgate.refresh_client(id).await.map_err(|e| e.to_string()),
            Change::Revocation(cursor) => tollgate
                .learn_revocation(*cursor)
                .await
                .map_err(|e| e.to_string()),
            Change::Keys => tollgate
                .reload_keys(tollgate.now())
                .await
                .map_err(|e| e.to_string()),
            Change::Catalogue => tollgate.reload_catalogue().await.map_err(|e| e.to_string()),
            Change::Lost => {
                self.connected = false;
                tollgate.freshness().mark_stale(tollgate.now());
                return;
            }
            Change::Resync => {
                self.connected = true;
                self.reload_due = true;
                return;
            }
        };
        if let Err(e) = result {
            // The change is known but could not be loaded: reload everything once the
            // database answers again.
            tracing::warn!(error = %e, ?change, "could not apply a change from another node; will reload");
            tollgate.freshness().mark_stale(tollgate.now());
            self.reload_due = true;
        }
    }

    async fn reload<F: Follower>(&mut self, tollgate: &F) {
        let now = tollgate.now();
        match tollgate.refresh_all(now).await {
            Ok(()) => {
                tollgate.freshness().heard(now);
                self.reload_due = false;
                if self.failing {
                    tracing::info!("caches reloaded from the database");
                    self.failing = false;
                }
                if self.connected {
                    tollgate.freshness().mark_current();
                }
            }
            Err(e) => {
                tollgate.freshness().mark_stale(now);
                if !self.failing {
                    tracing::warn!(
                        error = %e,
                        grace_secs = tollgate.freshness().grace(),
                        "cannot reload the caches from the database; serving from memory for \
                         the outage grace period, retrying"
                    );
                    self.failing = true;
                }
            }
        }
    }
}
