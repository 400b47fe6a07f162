//! Prometheus metrics on their own listener: what the token endpoint and the router count,
//! the gauges read at scrape time, bounded labels, and nothing when the listener is off.

use std::collections::BTreeMap;

use reqwest::StatusCode;

use crate::helpers::{TestApp, basic_header, decode_jwt};

/// One sample: the metric name and its labels, sorted.
type Series = (String, BTreeMap<String, String>);

/// Parses the Prometheus text format (comments skipped, label values unescaped).
fn parse(text: &str) -> BTreeMap<Series, f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').expect("a value");
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => (name.to_owned(), labels_of(rest.trim_end_matches('}'))),
        };
        out.insert((name, labels), value.parse().expect("a number"));
    }
    out
}

fn labels_of(mut rest: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => {}
                },
                '"' => {
                    end = at + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').to_owned(), value);
        rest = &after[end..];
    }
    labels
}

fn value(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .get(&(name.to_owned(), labels))
        .copied()
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> (String, BTreeMap<Series, f64>) {
    let addr = app.metrics_addr.expect("a metrics listener");
    let r = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}

const ISSUED: &str = "tollgate_tokens_issued_total";
const FAILED: &str = "tollgate_token_failures_total";
const LATENCY_COUNT: &str = "tollgate_http_request_duration_seconds_count";

#[tokio::test]
async fn tokens_failures_and_requests_are_counted_with_bounded_labels() {
    let app = TestApp::spawn_with(&[
        ("TOLLGATE_METRICS_LISTEN", "127.0.0.1:0"),
        // One introspection request per hour from an address: the second is refused.
        ("TOLLGATE_RATE_LIMIT_INTROSPECTION_ADDRESS", "1/h burst 1"),
    ])
    .await;
    let (id, secret) = app.create_client("exporter", &["reports:export"]).await;
    // A route with a parameter (before the counts start: it issues an admin token).
    let r = app
        .admin(reqwest::Method::GET, &format!("/clients/{id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, before) = scrape(&app).await;

    let mut audience = String::new();
    for _ in 0..3 {
        let token = app.token(&id, &secret, &[]).await;
        let (_, claims) = decode_jwt(token["access_token"].as_str().unwrap());
        audience = claims["aud"].as_str().expect("one audience").to_owned();
    }
    for _ in 0..2 {
        let (status, _) = app.try_token(&id, "tgs_not-the-secret").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .token_form(&[("grant_type", "password")], Some((&id, &secret)))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A path no route matches.
    let r = reqwest::get(app.url(&format!("/no-such-page-{id}")))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let introspect = || async {
        reqwest::Client::new()
            .post(app.url("/oauth2/introspect"))
            .basic_auth(&id, Some(&secret))
            .form(&[("token", "not-a-token")])
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_ne!(introspect().await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(introspect().await, StatusCode::TOO_MANY_REQUESTS);

    let (text, after) = scrape(&app).await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    let issued = [("algorithm", "ES256"), ("api", audience.as_str())];
    assert_eq!(delta(ISSUED, &issued), 3.0, "{text}");
    assert_eq!(delta(FAILED, &[("error", "invalid_client")]), 2.0, "{text}");
    assert_eq!(
        delta(FAILED, &[("error", "unsupported_grant_type")]),
        1.0,
        "{text}"
    );
    let token_route = |status| {
        [
            ("route", "/oauth2/token"),
            ("method", "POST"),
            ("status", status),
        ]
    };
    assert_eq!(delta(LATENCY_COUNT, &token_route("2xx")), 3.0, "{text}");
    assert_eq!(delta(LATENCY_COUNT, &token_route("4xx")), 3.0, "{text}");
    let unmatched = [
        ("route", "(unmatched)"),
        ("method", "GET"),
        ("status", "4xx"),
    ];
    assert_eq!(delta(LATENCY_COUNT, &unmatched), 1.0, "{text}");
    let client_route = after
        .keys()
        .find(|(name, l)| name == LATENCY_COUNT && l["route"].starts_with("/admin/v1/clients/{"))
        .expect("the client route, by its template");
    assert_eq!(client_route.1["status"], "2xx");
    assert_eq!(
        value(
            &after,
            "tollgate_rate_limited_total",
            &[("limit", "introspect-address")]
        ),
        1.0,
        "{text}"
    );
    // No client id, secret or path as sent in any series.
    assert!(!text.contains(&id) && !text.contains(&secret), "{text}");

    // Gauges read at scrape time.
    assert_eq!(value(&after, "tollgate_cached_clients", &[]), 2.0, "{text}");
    assert_eq!(value(&after, "tollgate_database_up", &[]), 1.0, "{text}");
    let open = value(
        &after,
        "tollgate_database_pool_connections",
        &[("state", "open")],
    );
    assert!(open >= 1.0, "{text}");
    assert!(value(&after, "tollgate_database_pool_max_connections", &[]) >= open);
    assert_eq!(
        value(&after, "tollgate_cache_stale_seconds", &[]),
        0.0,
        "{text}"
    );
    let kid = app.signing_kid().await.expect("a signing key");
    let key = [
        ("kid", kid.as_str()),
        ("algorithm", "ES256"),
        ("state", "current"),
    ];
    assert!(
        after.contains_key(&(
            "tollgate_signing_key_age_seconds".to_owned(),
            key.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        )),
        "{text}"
    );
    // A client created later shows in the next scrape.
    app.create_client("importer", &["reports:export"]).await;
    let (_, again) = scrape(&app).await;
    assert_eq!(value(&again, "tollgate_cached_clients", &[]), 3.0);

    // The main listener does not serve them.
    let r = reqwest::Client::new()
        .get(app.url("/metrics"))
        .header("authorization", basic_header(&id, &secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(!r.text().await.unwrap().contains(ISSUED));
}

#[tokio::test]
async fn metrics_are_off_unless_configured() {
    let app = TestApp::spawn().await;
    assert!(app.metrics_addr.is_none());
    let (id, secret) = app.create_client("exporter", &["reports:export"]).await;
    app.token(&id, &secret, &[]).await;
    assert!(!tollgate::metrics::enabled());
    let r = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[test]
fn the_parser_reads_labels_and_escapes() {
    let samples = parse("# TYPE x counter\nx{a=\"1,2\",b=\"q\\\"uote\"} 3\ny 4.5\n");
    let labels = [("a", "1,2"), ("b", "q\"uote")];
    assert_eq!(value(&samples, "x", &labels), 3.0);
    assert_eq!(value(&samples, "y", &[]), 4.5);
}
