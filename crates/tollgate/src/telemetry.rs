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

/// Installs the global subscriber. Log lines are appended to an in-memory buffer and written
/// to stdout in batches — by [`LogBuffer::flush`] every [`LOG_FLUSH_EVERY`], or at once when the
/// buffer passes [`LOG_BUFFER_LIMIT`] — so a request never waits on a write to stdout and no
/// thread is woken per line. Call `flush` before exit.
pub fn init(level: &str, format: LogFormat) -> LogBuffer {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let buffer = LogBuffer::default();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(buffer.clone());
    // A second init (tests, or a CLI command after serve) is harmless: keep the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    buffer
}

/// How often buffered log lines are written out; at most this much is lost on a crash.
pub const LOG_FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// Above this many buffered bytes the event that crosses it writes the buffer out itself.
pub const LOG_BUFFER_LIMIT: usize = 256 * 1024;

/// Log lines waiting to be written to stdout.
#[derive(Clone, Debug, Default)]
pub struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogBuffer {
    /// Writes out what is buffered.
    pub fn flush(&self) {
        let pending = std::mem::take(&mut *self.lock());
        write_out(&pending);
    }

    /// Flushes every [`LOG_FLUSH_EVERY`] until the runtime stops.
    pub fn spawn_flusher(&self) -> tokio::task::JoinHandle<()> {
        let buffer = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(LOG_FLUSH_EVERY);
            loop {
                tick.tick().await;
                let buffer = buffer.clone();
                // A slow stdout (a full pipe) must not stall an async worker.
                let _ = tokio::task::spawn_blocking(move || buffer.flush()).await;
            }
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn write_out(bytes: &[u8]) {
    use std::io::Write;
    if !bytes.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes);
        let _ = out.flush();
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut buf = self.lock();
            buf.extend_from_slice(line);
            (buf.len() > LOG_BUFFER_LIMIT).then(|| std::mem::take(&mut *buf))
        };
        if let Some(full) = full {
            write_out(&full);
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> LogBuffer {
        self.clone()
    }
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
