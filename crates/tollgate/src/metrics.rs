//! Prometheus metrics, served on their own listener (`metrics_listen`) at `GET /metrics`.
//!
//! Counters and histograms are recorded where things happen: tokens issued and refused (the
//! service), request latency (the request-log middleware). Rate-limit refusals are counted
//! by the limiters themselves and copied at each scrape. Gauges (cached clients, database pool and health, cache freshness,
//! signing-key ages) are read from the running state when Prometheus scrapes (the listener
//! is `startup::metrics`).
//! Labels are bounded: algorithms, API identifiers from the catalogue, route templates, OAuth
//! error codes, key ids; never a client id, a path as sent, or anything secret.
//!
//! Until [`install`] is called every function here returns after one relaxed load, so a node
//! without `metrics_listen` pays nothing more.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::algorithm::Algorithm;
use crate::domain::token::Audience;
use crate::domain::usage::Refusal;

pub const TOKENS_ISSUED: &str = "tollgate_tokens_issued_total";
pub const TOKEN_FAILURES: &str = "tollgate_token_failures_total";
pub const REQUEST_DURATION: &str = "tollgate_http_request_duration_seconds";
pub const RATE_LIMITED: &str = "tollgate_rate_limited_total";

/// Latency buckets in seconds: a token costs tens of microseconds, a console page a few
/// milliseconds, a password check tens of milliseconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0,
];

/// A gauge not set for this long is dropped from the output: a removed signing key's age
/// stops being shown.
const STALE_GAUGE: Duration = Duration::from_secs(600);

static ON: AtomicBool = AtomicBool::new(false);
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls get the same handle).
pub fn install() -> PrometheusHandle {
    let handle = HANDLE.get_or_init(|| {
        let builder = || {
            PrometheusBuilder::new()
                .idle_timeout(metrics_util::MetricKindMask::GAUGE, Some(STALE_GAUGE))
        };
        // Fails only for empty buckets.
        let builder = builder()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.into()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| builder());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if ::metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; Tollgate's metrics stay empty");
        }
        describe();
        handle
    });
    ON.store(true, Ordering::Relaxed);
    handle.clone()
}

fn describe() {
    ::metrics::describe_counter!(TOKENS_ISSUED, "Access tokens issued, by algorithm and API");
    ::metrics::describe_counter!(
        TOKEN_FAILURES,
        "Token requests refused, by OAuth error code (RFC 6749 section 5.2)"
    );
    ::metrics::describe_histogram!(
        REQUEST_DURATION,
        ::metrics::Unit::Seconds,
        "HTTP request latency, by route template, method and status class"
    );
    ::metrics::describe_counter!(RATE_LIMITED, "Requests refused by a rate limit, by limit");
}

fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Whether metrics are recorded in this process.
pub fn enabled() -> bool {
    on()
}

/// Counts a token issued with `algorithm` for `audience` (APIs of the catalogue).
pub fn token_issued(algorithm: Algorithm, audience: &Audience) {
    if on() {
        let api = match audience {
            Audience::One(api) => api.clone(),
            // Combinations of APIs are not bounded; their count is.
            Audience::Many(_) => "(several)".to_owned(),
        };
        ::metrics::counter!(TOKENS_ISSUED, "algorithm" => algorithm.as_str(), "api" => api)
            .increment(1);
    }
}

/// Counts a token request refused with `refusal`'s error code.
pub fn token_refused(refusal: Refusal) {
    if on() {
        ::metrics::counter!(TOKEN_FAILURES, "error" => refusal.as_str()).increment(1);
    }
}

/// Records one request's latency. `route` is the matched route template, `None` for a path
/// no route matched (any path a caller makes up lands in one series).
pub fn request_done(route: Option<&str>, method: &str, status: u16, elapsed: Duration) {
    if on() {
        let route = route.unwrap_or("(unmatched)").to_owned();
        let method = known_method(method);
        let status = status_class(status);
        ::metrics::histogram!(
            REQUEST_DURATION,
            "route" => route, "method" => method, "status" => status
        )
        .record(elapsed.as_secs_f64());
    }
}

/// A caller may send any method name: unknown ones share one label.
fn known_method(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(known_method("BREW"), "other");
        assert_eq!(known_method("PATCH"), "PATCH");
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(999), "5xx");
    }
}
