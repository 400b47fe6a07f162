//! Logging: the subscriber, its buffer, and the request line written straight into it in the
//! subscriber's own format (the request log middleware is `http::log`).

use std::sync::{Arc, OnceLock};

use opentelemetry_sdk::trace::SdkTracer;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

mod traces;
pub use traces::{Traces, traced, traces_on};

/// Installs the global subscriber. Log lines are appended to an in-memory buffer and written
/// to stdout in batches — by [`LogBuffer::flush`] every [`LOG_FLUSH_EVERY`], or at once when the
/// buffer passes [`LOG_BUFFER_LIMIT`] — so a request never waits on a write to stdout and no
/// thread is woken per line. Call `flush` before exit.
///
/// A second call (tests, or a CLI command after serve) keeps the first subscriber and returns
/// its buffer.
pub fn init(level: &str, format: LogFormat) -> LogBuffer {
    let sink = REQUEST_LOG.get_or_init(|| install(level, format, None));
    sink.buffer.clone()
}

/// [`init`], and when `otlp_endpoint` is given, traces exported there (see [`traces`]); the
/// returned [`Traces`] sends the last spans at shutdown. Call it inside the Tokio runtime.
/// Exports only if this call installs the subscriber.
pub fn init_with_traces(
    level: &str,
    format: LogFormat,
    otlp_endpoint: Option<&url::Url>,
) -> Result<(LogBuffer, Option<Traces>), String> {
    let mut exporting = None;
    let sink = match otlp_endpoint {
        None => REQUEST_LOG.get_or_init(|| install(level, format, None)),
        Some(endpoint) => {
            let mut failed = None;
            let sink = REQUEST_LOG.get_or_init(|| match traces::exporter(endpoint) {
                Ok((provider, tracer)) => {
                    let sink = install(level, format, Some(tracer));
                    if sink.installed {
                        traces::switch_on();
                        exporting = Some(provider);
                    }
                    sink
                }
                Err(e) => {
                    failed = Some(e);
                    install(level, format, None)
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            sink
        }
    };
    Ok((sink.buffer.clone(), exporting))
}

fn install(level: &str, format: LogFormat, tracer: Option<SdkTracer>) -> RequestLog {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let buffer = LogBuffer::default();
    let installed = tracing::subscriber::set_global_default(subscriber_with(
        filter,
        format,
        ansi,
        buffer.clone(),
        tracer,
    ))
    .is_ok();
    RequestLog {
        buffer,
        format,
        // Request lines bypass the subscriber only when it is ours: an embedding program
        // that installed its own gets them as ordinary events.
        direct: installed && !ansi,
        installed,
    }
}

/// The subscriber `init` installs. [`RequestLog::write`] reproduces its request lines, and
/// its tests compare against this very subscriber.
///
/// The log filter applies to the log only: the exporter sees Tollgate's `debug` spans
/// whatever `log_level` says, and the log never shows them.
fn subscriber_with(
    filter: EnvFilter,
    format: LogFormat,
    ansi: bool,
    buffer: LogBuffer,
    tracer: Option<SdkTracer>,
) -> Box<dyn tracing::Subscriber + Send + Sync> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(buffer);
    let fmt: Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync> = match format {
        LogFormat::Text => fmt.with_filter(filter).boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).with_filter(filter).boxed(),
    };
    let otel = tracer.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(traces::exported())
    });
    Box::new(tracing_subscriber::registry().with(fmt).with(otel))
}

/// Where request lines go: the subscriber's buffer, in the subscriber's format.
#[derive(Debug)]
struct RequestLog {
    buffer: LogBuffer,
    format: LogFormat,
    /// Whether request lines are written straight into `buffer` (see [`RequestLog::write`]).
    direct: bool,
    /// Whether the subscriber is Tollgate's (not an embedding program's).
    installed: bool,
}

static REQUEST_LOG: OnceLock<RequestLog> = OnceLock::new();

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

/// Writes one request's log line, in the subscriber's format, when the subscriber is
/// Tollgate's own; `false` when it is not (the caller then logs an ordinary event).
pub fn write_request_line(line: &RequestLine<'_>) -> bool {
    match REQUEST_LOG.get() {
        Some(sink) if sink.direct => {
            sink.write(line, wall_clock());
            true
        }
        _ => false,
    }
}

#[allow(clippy::disallowed_methods)] // The log's timestamp is the wall clock.
fn wall_clock() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

/// One request's log line.
#[derive(Debug)]
pub struct RequestLine<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub latency_us: u64,
    pub client_id: &'a str,
}

impl RequestLog {
    /// Appends `line` exactly as the subscriber would format
    /// `info!(method, path, status, latency_us, client_id, "request")`. The request log is
    /// the one event every request makes; formatting it here costs a fraction of a generic
    /// event (no field visitors, one lock, no allocation), and the output is the same.
    fn write(&self, line: &RequestLine<'_>, now: std::time::SystemTime) {
        use std::fmt::Write;
        let mut text = String::with_capacity(192);
        match self.format {
            LogFormat::Text => {
                push_timestamp(&mut text, now);
                text.push_str("  INFO request method=");
                text.push_str(line.method);
                text.push_str(" path=");
                push_debug_str(&mut text, line.path);
                let _ = write!(
                    text,
                    " status={} latency_us={} client_id=",
                    line.status, line.latency_us
                );
                push_debug_str(&mut text, line.client_id);
            }
            LogFormat::Json => {
                text.push_str("{\"timestamp\":\"");
                push_timestamp(&mut text, now);
                text.push_str("\",\"level\":\"INFO\",\"message\":\"request\",\"method\":");
                push_json_str(&mut text, line.method);
                text.push_str(",\"path\":");
                push_json_str(&mut text, line.path);
                let _ = write!(
                    text,
                    ",\"status\":{},\"latency_us\":{},\"client_id\":",
                    line.status, line.latency_us
                );
                push_json_str(&mut text, line.client_id);
                text.push('}');
            }
        }
        text.push('\n');
        let mut sink = self.buffer.clone();
        let _ = std::io::Write::write(&mut sink, text.as_bytes());
    }
}

/// Bytes written verbatim inside quotes by both `{:?}` and JSON.
fn plain(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

fn push_debug_str(out: &mut String, s: &str) {
    if plain(s) {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        use std::fmt::Write;
        let _ = write!(out, "{s:?}");
    }
}

fn push_json_str(out: &mut String, s: &str) {
    if plain(s) {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else if let Ok(quoted) = serde_json::to_string(s) {
        out.push_str(&quoted);
    }
}

/// RFC 3339 in UTC with microseconds, as the subscriber writes it
/// (`2026-11-22T18:21:30.075850Z`). The date part is formatted once per second per thread.
fn push_timestamp(out: &mut String, now: std::time::SystemTime) {
    use std::cell::RefCell;
    use std::fmt::Write;
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let since = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    SECOND.with_borrow_mut(|(cached, text)| {
        if *cached != secs {
            text.clear();
            let t = i64::try_from(secs)
                .ok()
                .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let _ = write!(
                text,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
            *cached = secs;
        }
        out.push_str(text);
    });
    let _ = write!(out, ".{:06}Z", since.subsec_micros());
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    /// What the generic subscriber writes for the same event, timestamps cut off.
    fn from_subscriber(format: LogFormat, line: &RequestLine<'_>) -> String {
        let buffer = LogBuffer::default();
        let emit = || {
            let method = line.method;
            tracing::info!(
                %method,
                path = line.path,
                status = line.status,
                latency_us = line.latency_us,
                client_id = line.client_id,
                "request"
            );
        };
        let filter = EnvFilter::new("info");
        tracing::subscriber::with_default(
            subscriber_with(filter, format, false, buffer.clone(), None),
            emit,
        );
        let bytes = std::mem::take(&mut *buffer.lock());
        String::from_utf8(bytes).unwrap()
    }

    fn from_request_log(format: LogFormat, line: &RequestLine<'_>) -> String {
        let sink = RequestLog {
            buffer: LogBuffer::default(),
            format,
            direct: true,
            installed: true,
        };
        sink.write(
            line,
            UNIX_EPOCH + Duration::from_micros(1_795_373_490_075_850),
        );
        String::from_utf8(std::mem::take(&mut *sink.buffer.lock())).unwrap()
    }

    fn without_timestamp(format: LogFormat, line: &str) -> String {
        match format {
            LogFormat::Text => line[27..].to_owned(),
            // Byte for byte, key order included: only the timestamp's value is cut out.
            LogFormat::Json => {
                let prefix = "{\"timestamp\":\"";
                assert!(line.starts_with(prefix), "{line}");
                format!("{prefix}{}", &line[prefix.len() + 27..])
            }
        }
    }

    #[test]
    fn request_lines_match_the_subscribers_format() {
        let lines = [
            (
                "POST",
                "/oauth2/token",
                200,
                87,
                "tgc_5f0c8e2a9b1d4c7e3a6f8b2d",
            ),
            ("GET", "/healthz", 200, 0, "-"),
            ("GET", "/x\"y\\z%20", 404, 12, "a\"b"),
            (
                "DELETE",
                "/admin/v1/clients/é",
                404,
                5,
                "line\nbreak\u{7}\u{1b}[31m",
            ),
            ("PATCH", "/", 500, u64::MAX, "ünïcödé \u{202e}"),
        ];
        for format in [LogFormat::Text, LogFormat::Json] {
            for (method, path, status, latency_us, client_id) in lines {
                let line = RequestLine {
                    method,
                    path,
                    status,
                    latency_us,
                    client_id,
                };
                let ours = from_request_log(format, &line);
                let theirs = from_subscriber(format, &line);
                assert!(
                    ours.ends_with('\n') && ours.matches('\n').count() == 1,
                    "{ours}"
                );
                assert_eq!(
                    without_timestamp(format, &ours),
                    without_timestamp(format, &theirs),
                    "{format:?}"
                );
            }
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        let line = RequestLine {
            method: "GET",
            path: "/healthz",
            status: 200,
            latency_us: 1,
            client_id: "-",
        };
        let text = from_request_log(LogFormat::Text, &line);
        assert!(
            text.starts_with("2026-11-22T18:51:30.075850Z  INFO request "),
            "{text}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&from_request_log(LogFormat::Json, &line)).unwrap();
        assert_eq!(json["timestamp"], "2026-11-22T18:51:30.075850Z");
        // The cached date part follows the clock across seconds (and days).
        let mut out = String::new();
        push_timestamp(&mut out, UNIX_EPOCH + Duration::from_secs(1_795_391_999));
        out.push(' ');
        push_timestamp(
            &mut out,
            UNIX_EPOCH + Duration::from_micros(1_795_392_000_000_001),
        );
        assert_eq!(
            out,
            "2026-11-22T23:59:59.000000Z 2026-11-23T00:00:00.000001Z"
        );
    }
}
