//! OpenTelemetry traces: the binary started with `TOLLGATE_OTLP_ENDPOINT` sends spans of its
//! requests and database calls over OTLP/HTTP to a receiver run by the test, which decodes
//! them; no secret or token is in what it sends.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use crate::binary::Server;
use crate::helpers::{ADMIN_ID, ADMIN_SECRET, TestDir};

type Received = Arc<Mutex<Vec<Bytes>>>;

/// A collector's OTLP/HTTP traces endpoint on port 0, keeping every body it receives.
async fn receiver() -> (String, Received) {
    let received = Received::default();
    let router = axum::Router::new()
        .route(
            "/v1/traces",
            axum::routing::post(|State(r): State<Received>, body: Bytes| async move {
                r.lock().unwrap().push(body);
                StatusCode::OK
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, received)
}

fn attributes(span: &Span) -> BTreeMap<String, String> {
    span.attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(AnyValue::StringValue(s)) => s.clone(),
                Some(AnyValue::IntValue(i)) => i.to_string(),
                Some(AnyValue::BoolValue(b)) => b.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_database_calls_arrive_as_spans_without_secrets() {
    let (collector, received) = receiver().await;
    let dir = Arc::new(TestDir::new());
    let server = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            Server::start(
                &dir,
                &[
                    ("TOLLGATE_OTLP_ENDPOINT", &collector),
                    ("TOLLGATE_BOOTSTRAP_CLIENT_ID", ADMIN_ID),
                    ("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", ADMIN_SECRET),
                ],
            )
        })
        .await
        .unwrap()
    };
    let http = reqwest::Client::new();
    let token_url = format!("{}/oauth2/token", server.base);
    let r = http
        .post(&token_url)
        .basic_auth(ADMIN_ID, Some(ADMIN_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    let access_token = body["access_token"].as_str().unwrap().to_owned();
    let r = http
        .post(&token_url)
        .basic_auth(ADMIN_ID, Some("tgs_a-wrong-secret-0123456789"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A clean stop sends what is still buffered.
    let (ok, _, err) = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(ok, "{err}");

    let bodies = received.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "no spans arrived");
    let mut spans = Vec::new();
    for body in &bodies {
        for secret in [ADMIN_SECRET.as_bytes(), access_token.as_bytes()] {
            assert!(
                !body.windows(secret.len()).any(|w| w == secret),
                "a secret or token was exported"
            );
        }
        let request = ExportTraceServiceRequest::decode(body.as_ref()).expect("OTLP protobuf");
        for resource in request.resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.clone());
            assert_eq!(service, Some(AnyValue::StringValue("tollgate".into())));
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
    }
    let named = |name: &str| -> Vec<&Span> { spans.iter().filter(|s| s.name == name).collect() };
    let token_spans = named("POST /oauth2/token");
    let statuses: Vec<String> = token_spans
        .iter()
        .map(|s| {
            let a = attributes(s);
            assert_eq!(a["http.route"], "/oauth2/token");
            assert_eq!(a["http.request.method"], "POST");
            a["http.response.status_code"].clone()
        })
        .collect();
    assert!(statuses.contains(&"200".to_owned()), "{statuses:?}");
    assert!(statuses.contains(&"401".to_owned()), "{statuses:?}");
    // The readiness check's database call is a child of its request's span.
    let ready = named("GET /readyz");
    assert_eq!(ready.len(), 1);
    let ping = named("db.ping");
    assert!(
        ping.iter()
            .any(|p| p.parent_span_id == ready[0].span_id && p.trace_id == ready[0].trace_id),
        "db.ping under GET /readyz"
    );
    // Startup reads the keys from the database: traced too.
    assert!(spans.iter().any(|s| s.name == "db.signing_keys"));
}
