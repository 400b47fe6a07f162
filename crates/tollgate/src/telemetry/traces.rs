//! OpenTelemetry traces over OTLP/HTTP (protobuf), when `otlp_endpoint` is set: a span per
//! request (method, route template, status) and per database call (`db.<operation>`).
//!
//! Without the setting nothing here runs: no exporter, no layer, and the spans, declared at
//! `debug` level, are disabled at their call sites by the log filter as before.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Instrument;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;

static ON: AtomicBool = AtomicBool::new(false);

/// The span exporter; dropping it without [`Traces::shutdown`] may lose the last spans.
#[derive(Debug)]
pub struct Traces(SdkTracerProvider);

impl Traces {
    /// Sends the spans still buffered and stops the exporter.
    pub async fn shutdown(self) {
        let provider = self.0;
        // The provider waits for the exporting task, which runs on this runtime: the wait
        // must not hold one of its threads.
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not send the last trace spans"),
            Err(e) => tracing::warn!(error = %e, "could not send the last trace spans"),
        }
    }
}

/// The exporter to `<endpoint>/v1/traces` and the tracer the subscriber's layer uses. Must be
/// called inside the Tokio runtime, whose tasks batch and send the spans.
pub(super) fn exporter(endpoint: &url::Url) -> Result<(Traces, SdkTracer), String> {
    let url = format!("{}/v1/traces", endpoint.as_str().trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .build()
        .map_err(|e| format!("OTLP exporter: {e}"))?;
    let processor =
        BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(Resource::builder().with_service_name("tollgate").build())
        .build();
    let tracer = provider.tracer("tollgate");
    Ok((Traces(provider), tracer))
}

/// Which spans the exporter sees: Tollgate's own, `debug` and above (never a library's).
pub(super) fn exported() -> Targets {
    Targets::new().with_target("tollgate", LevelFilter::DEBUG)
}

pub(super) fn switch_on() {
    ON.store(true, Ordering::Relaxed);
}

/// Whether spans are exported.
pub fn traces_on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Runs a request's handler in a span when traces are exported; as is otherwise. The span
/// names the route template, never the path as sent (which may carry ids).
pub async fn traced<F>(
    handler: F,
    method: &axum::http::Method,
    route: Option<&str>,
) -> axum::response::Response
where
    F: Future<Output = axum::response::Response>,
{
    if !traces_on() {
        return handler.await;
    }
    let route = route.unwrap_or("(unmatched)");
    let span = tracing::debug_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method.as_str(),
        http.route = route,
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let response = handler.instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
    response
}
