//! Logging: the subscriber, and one log line per request with method, path, status, latency
//! and client id. Never headers, query strings, bodies, secrets or tokens.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::http::{InternalError, LoggedClient};

/// Installs the global subscriber. Logs go to stdout through a writer thread, so a request
/// never waits on a write to stdout; lines are never dropped (under a flood of requests the
/// writer's queue applies back-pressure instead). Keep the guard until exit: dropping it
/// flushes what is queued.
pub fn init(level: &str, format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("tollgate-log")
        // The writer thread drains the queue into this buffer and flushes when the queue is
        // empty: one write to stdout per burst of lines, not one per line.
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(writer);
    // A second init (tests, or a CLI command after serve) is harmless: keep the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    guard
}

/// Where an extractor deep in the stack records which client the request authenticated as.
#[derive(Clone, Debug, Default)]
pub struct ClientSlot(Arc<OnceLock<String>>);

impl ClientSlot {
    pub fn set(&self, client_id: &str) {
        let _ = self.0.set(client_id.to_owned());
    }
}

pub async fn log_request(mut request: Request, next: Next) -> Response {
    #[allow(clippy::disallowed_methods)] // Latency is measured, not a domain time.
    let start = Instant::now();
    let method = request.method().clone();
    // The path only: a query string is not ours to log.
    let path = request.uri().path().to_owned();
    let slot = ClientSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    let latency_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    let status = response.status().as_u16();
    let client_id = response
        .extensions()
        .get::<LoggedClient>()
        .map(|c| c.0.as_str())
        .or_else(|| slot.0.get().map(String::as_str))
        .unwrap_or("-");
    // A client id is not a secret, but an unauthenticated caller chooses it: cap its length
    // so nobody can flood the log through it.
    let client_id: String = client_id.chars().take(128).collect();
    match response.extensions().get::<InternalError>() {
        Some(InternalError(cause)) => tracing::error!(
            %method, path, status, latency_us, client_id, cause, "request failed"
        ),
        None => tracing::info!(%method, path, status, latency_us, client_id, "request"),
    }
    response
}
