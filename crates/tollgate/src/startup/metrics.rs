//! The metrics listener: `GET /metrics` in the Prometheus text format. Gauges are read from
//! the running state at each scrape, which costs a database ping and a read of the keys
//! every scrape interval rather than anything per request.

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::http::AppState;
use crate::service::limits::LimitKind;
use crate::store::Store;

/// How often recorded histogram samples are folded into their buckets between scrapes, so
/// memory stays flat when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// Longer than this, the database counts as down for `tollgate_database_up`.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// What a scrape reads.
#[derive(Clone)]
struct MetricsSources {
    pub state: AppState,
    pub store: Arc<dyn Store>,
    pub handle: PrometheusHandle,
}

impl std::fmt::Debug for MetricsSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSources").finish_non_exhaustive()
    }
}

/// Serves `GET /metrics` on `listener` until the task is aborted. Recording starts here, so
/// a node without a metrics listener never records anything.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    store: Arc<dyn Store>,
) -> std::io::Result<()> {
    let sources = MetricsSources {
        state,
        store,
        handle: crate::metrics::install(),
    };
    let handle = sources.handle.clone();
    let upkeep = async move {
        let mut tick = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    };
    let router = Router::new()
        .route("/metrics", get(metrics))
        .with_state(sources);
    tokio::select! {
        served = axum::serve(listener, router).into_future() => served,
        _ = upkeep => Ok(()),
    }
}

async fn metrics(State(sources): State<MetricsSources>) -> Response {
    record_gauges(&sources).await;
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        sources.handle.render(),
    )
        .into_response()
}

async fn record_gauges(sources: &MetricsSources) {
    let tollgate = &sources.state.tollgate;
    let now = tollgate.now();
    ::metrics::gauge!("tollgate_cached_clients").set(tollgate.cached_clients() as f64);
    // The limiters count their refusals themselves (an atomic each); a scrape copies them.
    for kind in LimitKind::ALL {
        ::metrics::counter!("tollgate_rate_limited_total", "limit" => kind.as_str())
            .absolute(sources.state.limits.refusals(kind));
    }
    let pool = sources.store.pool_stats();
    ::metrics::gauge!("tollgate_database_pool_connections", "state" => "open")
        .set(f64::from(pool.size));
    ::metrics::gauge!("tollgate_database_pool_connections", "state" => "idle")
        .set(pool.idle as f64);
    ::metrics::gauge!("tollgate_database_pool_max_connections").set(f64::from(pool.max));
    let up = matches!(
        tokio::time::timeout(PING_TIMEOUT, tollgate.ready()).await,
        Ok(Ok(()))
    );
    ::metrics::gauge!("tollgate_database_up").set(if up { 1.0 } else { 0.0 });
    let freshness = tollgate.freshness();
    let behind = freshness
        .stale_since()
        .map_or(0, |since| now.0.saturating_sub(since.0).max(0));
    ::metrics::gauge!("tollgate_cache_stale_seconds").set(behind as f64);
    if let Some(heard) = freshness.last_heard() {
        ::metrics::gauge!("tollgate_cluster_last_heard_seconds")
            .set(now.0.saturating_sub(heard.0).max(0) as f64);
    }
    match tollgate.key_statuses(now).await {
        Ok(keys) => {
            for key in keys {
                ::metrics::gauge!(
                    "tollgate_signing_key_age_seconds",
                    "kid" => key.kid,
                    "algorithm" => key.algorithm.as_str(),
                    "state" => key.state.as_str()
                )
                .set(now.0.saturating_sub(key.created_at.0).max(0) as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not read the signing keys"),
    }
}
