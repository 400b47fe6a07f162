//! The request log: one line per request with method, path, status, latency and client id.
//! Never headers, query strings, bodies, secrets or tokens.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::headers::{Https, set_security_headers};
use crate::domain::secret::may_hold_secret;
use crate::telemetry::{RequestLine, write_request_line};

/// What the log shows for a client id that looks like a client secret.
pub const REDACTED_SECRET: &str = "[redacted: a client secret]";
/// Longest client id and path logged, in characters: an unauthenticated caller chooses both,
/// and must not flood the log through them.
const MAX_LOGGED_ID: usize = 128;
const MAX_LOGGED_PATH: usize = 512;

/// Where the extractor that reads a request's credentials records which client the request
/// came from, for its log line. The middleware puts one in every request's extensions.
#[derive(Clone, Debug, Default)]
pub struct ClientSlot(Arc<OnceLock<String>>);

impl ClientSlot {
    /// Records the client of the request in `extensions`, if the request log is on. The
    /// client id is what the caller sent, even when authentication fails: a secret pasted
    /// into it is logged as [`REDACTED_SECRET`].
    pub fn record(extensions: &axum::http::Extensions, client_id: &str) {
        if let Some(slot) = extensions.get::<ClientSlot>() {
            let shown = if may_hold_secret(client_id) {
                REDACTED_SECRET
            } else {
                client_id
            };
            let _ = slot.0.set(shown.to_owned());
        }
    }
}

/// The cause of a 5xx, carried to the request log; the response body never holds it.
#[derive(Clone, Debug)]
pub struct InternalError(pub String);

/// The middleware that writes each request's log line.
pub async fn log_request(State(https): State<Https>, mut request: Request, next: Next) -> Response {
    #[allow(clippy::disallowed_methods)] // Latency is measured, not a domain time.
    let start = Instant::now();
    let method = request.method().clone();
    // The path only: a query string is not ours to log. Cloning the URI shares its bytes.
    let uri = request.uri().clone();
    let slot = ClientSlot::default();
    request.extensions_mut().insert(slot.clone());
    // The route template, never the path as sent: a label per path would be unbounded.
    let route = (crate::metrics::enabled() || crate::telemetry::traces_on())
        .then(|| request.extensions().get::<MatchedPath>().cloned())
        .flatten();
    let route_name = route.as_ref().map(MatchedPath::as_str);
    let mut response = crate::telemetry::traced(next.run(request), &method, route_name).await;
    set_security_headers(response.headers_mut(), https);
    let elapsed = start.elapsed();
    let latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    let status = response.status().as_u16();
    crate::metrics::request_done(route_name, method.as_str(), status, elapsed);
    let client_id = slot.0.get().map_or("-", String::as_str);
    let client_id = first_chars(client_id, MAX_LOGGED_ID);
    let path = first_chars(uri.path(), MAX_LOGGED_PATH);
    match response.extensions().get::<InternalError>() {
        Some(InternalError(cause)) => tracing::error!(
            %method, path, status, latency_us, client_id, cause, "request failed"
        ),
        None => {
            if tracing::enabled!(tracing::Level::INFO) {
                let line = RequestLine {
                    method: method.as_str(),
                    path,
                    status,
                    latency_us,
                    client_id,
                };
                if !write_request_line(&line) {
                    tracing::info!(%method, path, status, latency_us, client_id, "request");
                }
            }
        }
    }
    response
}

fn first_chars(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(at, _)| &s[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_cut_at_a_character_boundary() {
        assert_eq!(first_chars("abc", 128), "abc");
        assert_eq!(first_chars("ééé", 2), "éé");
        assert_eq!(first_chars(&"x".repeat(500), 128).len(), 128);
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn a_secret_typed_as_a_client_id_is_not_recorded() {
        let mut extensions = axum::http::Extensions::new();
        extensions.insert(ClientSlot::default());
        ClientSlot::record(&extensions, "xTGS_0123456789abcdef");
        let slot = extensions.get::<ClientSlot>().unwrap();
        assert_eq!(slot.0.get().map(String::as_str), Some(REDACTED_SECRET));
        let mut extensions = axum::http::Extensions::new();
        extensions.insert(ClientSlot::default());
        ClientSlot::record(&extensions, "tgc_5f0c8e2a9b1d4c7e3a6f8b2d");
        let slot = extensions.get::<ClientSlot>().unwrap();
        assert_eq!(
            slot.0.get().map(String::as_str),
            Some("tgc_5f0c8e2a9b1d4c7e3a6f8b2d")
        );
    }
}
