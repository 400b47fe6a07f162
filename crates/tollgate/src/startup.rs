//! Builds the server from a [`Config`]: storage, keys, cache, bootstrap, listener.
//! Tests use the same path with port 0 and a fresh data directory.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

mod kek;
mod serve;
use kek::resolve_kek;
mod metrics;

use crate::clock::{Clock, Rng, SystemClock, SystemRng};
use crate::config::{Config, DatabaseUrl, EdgeConfig, Issuer};
use crate::domain::token::TokenPolicy;
use crate::http::{self, AppState};
use crate::keys::Kek;
use crate::keys::RotationPolicy;
use crate::service::limits::RateLimits;
use crate::service::people::{self, ConsoleSettings, People};
use crate::service::{Bootstrapped, Settings, StartError, Tollgate};
use crate::store::{PostgresStore, SqliteStore, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "listening on {0} needs an explicit issuer: set `issuer` (TOLLGATE_ISSUER) to the URL \
         clients use to reach Tollgate"
    )]
    IssuerNeeded(SocketAddr),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("key-encryption key: {0}")]
    Kek(String),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("console: {0}")]
    Console(String),
}

/// The key-encryption key's default file in the data directory.
pub const KEK_FILE: &str = "key-encryption.key";

#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    /// The metrics listener, when `metrics_listen` is set.
    metrics: Option<TcpListener>,
    state: AppState,
    store: Arc<dyn Store>,
    cache_refresh_interval: Duration,
    edge: EdgeConfig,
    /// The administrator client created by this start, if any (to be shown once).
    pub bootstrapped: Option<Bootstrapped>,
    /// While no administrator exists: the one-time link where the first owner signs up.
    pub setup_link: Option<String>,
}

impl Application {
    pub async fn build(config: &Config) -> Result<Application, BuildError> {
        Self::build_with(config, Arc::new(SystemClock), Arc::new(SystemRng)).await
    }

    pub async fn build_with(
        config: &Config,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Result<Application, BuildError> {
        create_private_dir(&config.data_dir)?;
        let limits_clock = clock.clone();
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| BuildError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let bound = listener.local_addr().map_err(|source| BuildError::Bind {
            addr: config.listen,
            source,
        })?;
        let metrics = match config.observability.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| BuildError::Bind { addr, source })?,
            ),
            None => None,
        };
        let issuer = match &config.issuer {
            Some(i) => i.clone(),
            None if bound.ip().is_unspecified() => return Err(BuildError::IssuerNeeded(bound)),
            None => Issuer::for_addr(bound),
        };
        let policy = TokenPolicy {
            issuer: issuer.as_str().to_owned(),
            default_lifetime: config.access_token_lifetime,
        };
        let store = open_store(config).await.map_err(StartError::from)?;
        let mut algorithms = vec![config.signing_algorithm];
        algorithms.extend(&config.extra_signing_algorithms);
        // Nodes that start together take turns to create the keys and the bootstrap client.
        let lock = store.startup_lock().await.map_err(StartError::from)?;
        let started = async {
            let kek = resolve_kek(config, store.as_ref(), rng.as_ref()).await?;
            tracing::info!(kek = kek.id(), "key-encryption key loaded");
            let previous_kek = config.previous_kek.as_ref().map(|m| Kek::new(&m.0));
            let console_key = people::console_key(
                store.as_ref(),
                &kek,
                previous_kek.as_ref(),
                rng.as_ref(),
                clock.now(),
            )
            .await
            .map_err(|e| BuildError::Console(e.to_string()))?;
            let settings = Settings {
                policy,
                algorithms,
                rotation: RotationPolicy {
                    period: config.key_rotation_period,
                    announce: config.key_announce_period,
                },
                max_secrets_per_client: config.max_secrets_per_client,
                audiences: config.audiences.clone(),
                lock_client_scopes: config.lock_client_scopes,
                kek,
                previous_kek,
            };
            let tollgate =
                Tollgate::start(store.clone(), settings, clock.clone(), rng.clone()).await?;
            let now = tollgate.now();
            let bootstrapped = tollgate.bootstrap(config.bootstrap.as_ref(), now).await?;
            let people = People::new(
                store.clone(),
                &console_key,
                ConsoleSettings {
                    issuer: issuer.as_str().to_owned(),
                    mfa: config.console.mfa,
                    sessions: config.console.sessions,
                    sso: config.console.sso.clone(),
                },
                clock,
                rng,
            );
            let setup_link = people
                .bootstrap(config.console.bootstrap_owner.as_ref(), now)
                .await
                .map_err(|e| BuildError::Console(e.to_string()))?;
            Ok::<_, BuildError>((tollgate, bootstrapped, people, setup_link))
        }
        .await;
        lock.release().await;
        let (tollgate, bootstrapped, people, setup_link) = started?;
        tollgate.freshness().set_grace(config.database_outage_grace);
        let limits = Arc::new(RateLimits::new(config.limits.clone(), limits_clock));
        limits.spawn_sweeper();
        Ok(Application {
            listener,
            metrics,
            state: AppState::new(Arc::new(tollgate), Arc::new(people), limits),
            store,
            cache_refresh_interval: Duration::from_secs(config.cache_refresh_interval),
            edge: config.edge,
            bootstrapped,
            setup_link,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Where `GET /metrics` is served, if anywhere (the bound port when configured with 0).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn issuer(&self) -> &str {
        &self.state.tollgate.policy().issuer
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish (up to
    /// `shutdown_grace`) and closes the database.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = http::router(self.state.clone());
        let follower = match self.store.subscribe().await {
            Ok(Some(feed)) => Some(crate::cluster::follow::spawn(
                self.state.tollgate.clone(),
                feed,
                self.cache_refresh_interval,
            )),
            Ok(None) => None,
            Err(e) => {
                return Err(std::io::Error::other(format!(
                    "cannot listen for other nodes' changes: {e}"
                )));
            }
        };
        let upkeep = tokio::spawn(upkeep(self.state.clone()));
        let https = http::headers::Https(self.issuer().starts_with("https:"));
        let metrics = self.metrics.map(|listener| {
            tokio::spawn(metrics::serve(
                listener,
                self.state.clone(),
                self.store.clone(),
            ))
        });
        // The peer address is kept with each connection for the console's sign-in backoff
        // and audit trail; the drain's deadline is inside `serve`.
        let serve = tokio::spawn(serve::serve(
            self.listener,
            router,
            self.edge,
            https,
            shutdown,
        ));
        let outcome = served(serve.await);
        upkeep.abort();
        if let Some(m) = metrics {
            m.abort();
        }
        if let Some(f) = follower {
            f.abort();
        }
        // What the last minute's token requests saw is not lost on a clean stop.
        if let Err(e) = self.state.tollgate.flush_secret_use().await {
            tracing::warn!(error = %e, "could not write secret last-use times at shutdown");
        }
        if let Err(e) = self.state.tollgate.flush_usage().await {
            tracing::warn!(error = %e, "could not write token counts at shutdown");
        }
        self.store.close().await;
        outcome
    }
}

/// What the serve task's end means for the process: a panic in it is a failure, not a clean
/// stop, so the process exits non-zero and a supervisor restarts it.
fn served(joined: Result<std::io::Result<()>, tokio::task::JoinError>) -> std::io::Result<()> {
    match joined {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(std::io::Error::other("the HTTP server task panicked")),
        Err(e) => Err(std::io::Error::other(format!(
            "the HTTP server task ended unexpectedly: {e}"
        ))),
    }
}

/// Opens the configured database, applying pending migrations.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match &config.database_url {
        DatabaseUrl::Sqlite(url) => Arc::new(
            SqliteStore::open_with(
                url,
                config
                    .database_pool_size
                    .unwrap_or(crate::store::sqlite::DEFAULT_POOL_SIZE),
            )
            .await?,
        ),
        DatabaseUrl::Postgres(url) => Arc::new(
            PostgresStore::open(
                url,
                config
                    .database_pool_size
                    .unwrap_or(crate::store::postgres::DEFAULT_POOL_SIZE),
            )
            .await?,
        ),
    })
}

/// `tollgate migrate`: applies pending migrations and closes the database.
pub async fn migrate(config: &Config) -> Result<(), BuildError> {
    create_private_dir(&config.data_dir)?;
    let store = open_store(config).await.map_err(StartError::from)?;
    store.close().await;
    Ok(())
}
/// How often the periodic work runs: last-use and token-count write-behind (so at most this
/// much is lost on a crash), expiry audit, revocation pruning, key rotation.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(60);

async fn upkeep(state: AppState) {
    let mut tick = tokio::time::interval(UPKEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = state.tollgate.now();
        state.tollgate.upkeep(now).await;
        if let Err(e) = state.people.prune_sessions(now).await {
            tracing::warn!(error = %e, "could not remove expired console sessions");
        }
    }
}

/// Registers for SIGTERM and Ctrl-C at once (so a signal that arrives during startup is not
/// lost to the default handler) and returns a future that resolves on the first of them.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
    }
}

fn create_private_dir(path: &std::path::Path) -> Result<(), BuildError> {
    let err = |source| BuildError::DataDir {
        path: path.display().to_string(),
        source,
    };
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_server_task_is_a_failure() {
        let panicked = tokio::spawn(async {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            Ok(())
        })
        .await;
        let err = served(panicked).expect_err("a panic is not a clean stop");
        assert!(err.to_string().contains("panicked"), "{err}");
        let clean = tokio::spawn(async { Ok(()) }).await;
        assert!(served(clean).is_ok());
    }
}
