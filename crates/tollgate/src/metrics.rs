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
//! without `metrics_listen` pays nothing more. Once it is, the handles of the series a
//! request records into are kept per worker thread ([`Handles`]): building a labelled key
//! and looking it up in the registry (an allocation, hashing, a shared lock) happens once
//! per series and thread, not once per request.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ::metrics::{Counter, Histogram};
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
        // Combinations of APIs are not bounded; their count is.
        let api = match audience {
            Audience::One(api) => api.as_str(),
            Audience::Many(_) => "(several)",
        };
        HANDLES.with_borrow_mut(|h| h.issued(algorithm, api));
    }
}

/// Counts a token request refused with `refusal`'s error code.
pub fn token_refused(refusal: Refusal) {
    if on() {
        HANDLES.with_borrow_mut(|h| {
            h.refused[refusal as usize]
                .get_or_insert_with(
                    || ::metrics::counter!(TOKEN_FAILURES, "error" => refusal.as_str()),
                )
                .increment(1);
        });
    }
}

/// Records one request's latency. `route` is the matched route template, `None` for a path
/// no route matched (any path a caller makes up lands in one series).
pub fn request_done(route: Option<&str>, method: &str, status: u16, elapsed: Duration) {
    if on() {
        let route = route.unwrap_or("(unmatched)");
        let (m, s) = (method_index(method), status_class(status));
        HANDLES.with_borrow_mut(|h| h.latency(route, m, s, elapsed.as_secs_f64()));
    }
}

thread_local! {
    static HANDLES: RefCell<Handles> = RefCell::new(Handles::default());
}

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other",
];
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
const LATENCY_SLOTS: usize = METHODS.len() * STATUS_CLASSES.len();

/// One thread's handles of the series it recorded into. Every key is bounded (route
/// templates, API identifiers of the catalogue, fixed label values), so these maps are too.
#[derive(Default)]
struct Handles {
    latency: HashMap<Box<str>, [Option<Histogram>; LATENCY_SLOTS]>,
    issued: HashMap<Box<str>, [Option<Counter>; Algorithm::ALL.len()]>,
    refused: [Option<Counter>; Refusal::COUNT],
}

impl Handles {
    fn latency(&mut self, route: &str, m: usize, s: usize, seconds: f64) {
        let slot = m * STATUS_CLASSES.len() + s;
        let make = || {
            ::metrics::histogram!(
                REQUEST_DURATION,
                "route" => route.to_owned(), "method" => METHODS[m], "status" => STATUS_CLASSES[s]
            )
        };
        with_handle(&mut self.latency, route, slot, make, |h| h.record(seconds));
    }

    fn issued(&mut self, algorithm: Algorithm, api: &str) {
        let make = || {
            ::metrics::counter!(
                TOKENS_ISSUED, "algorithm" => algorithm.as_str(), "api" => api.to_owned()
            )
        };
        with_handle(&mut self.issued, api, algorithm as usize, make, |c| {
            c.increment(1)
        });
    }
}

/// Uses the handle in `key`'s `slot`, registering it with `make` the first time. The lookup
/// borrows `key`: nothing is allocated once the handle is there.
fn with_handle<H, const N: usize>(
    handles: &mut HashMap<Box<str>, [Option<H>; N]>,
    key: &str,
    slot: usize,
    make: impl FnOnce() -> H,
    record: impl Fn(&H),
) {
    if let Some(Some(h)) = handles.get(key).map(|slots| &slots[slot]) {
        record(h);
        return;
    }
    let h = make();
    record(&h);
    handles
        .entry(key.into())
        .or_insert_with(|| std::array::from_fn(|_| None))[slot] = Some(h);
}

/// The method's place in [`METHODS`]: a caller may send any method name, unknown ones share
/// one label.
fn method_index(method: &str) -> usize {
    METHODS[..METHODS.len() - 1]
        .iter()
        .position(|m| *m == method)
        .unwrap_or(METHODS.len() - 1)
}

/// The status's place in [`STATUS_CLASSES`].
fn status_class(status: u16) -> usize {
    match status {
        100..=199 => 0,
        200..=299 => 1,
        300..=399 => 2,
        400..=499 => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(METHODS[method_index("BREW")], "other");
        assert_eq!(METHODS[method_index("PATCH")], "PATCH");
        assert_eq!(METHODS[method_index("other")], "other");
        assert_eq!(STATUS_CLASSES[status_class(204)], "2xx");
        assert_eq!(STATUS_CLASSES[status_class(429)], "4xx");
        assert_eq!(STATUS_CLASSES[status_class(503)], "5xx");
        assert_eq!(STATUS_CLASSES[status_class(999)], "5xx");
    }
}
