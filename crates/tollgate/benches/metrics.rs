//! What metrics add to a token request: one counter for the token and one latency sample,
//! as the service and the request-log middleware record them, with the Prometheus recorder
//! installed (as with `metrics_listen`) and without. `cargo bench -p tollgate --bench metrics`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate::domain::algorithm::Algorithm;
use tollgate::domain::token::Audience;

fn per_request(c: &mut Criterion) {
    let audience = Audience::One("https://api.example.com".to_owned());
    let record = || {
        tollgate::metrics::token_issued(black_box(Algorithm::Es256), black_box(&audience));
        tollgate::metrics::request_done(
            black_box(Some("/oauth2/token")),
            black_box("POST"),
            black_box(200),
            black_box(Duration::from_micros(87)),
        );
    };
    c.bench_function("metrics per token request (off)", |b| b.iter(record));
    let handle = tollgate::metrics::install();
    // Samples wait in lock-free buffers until folded in, as the server's upkeep task does.
    let upkeep = handle.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            upkeep.run_upkeep();
        }
    });
    c.bench_function("metrics per token request (on)", |b| b.iter(record));
    c.bench_function("metrics per refused token request (on)", |b| {
        b.iter(|| {
            tollgate::metrics::token_refused(black_box(
                tollgate::domain::usage::Refusal::InvalidClient,
            ));
            tollgate::metrics::request_done(Some("/oauth2/token"), "POST", 401, Duration::ZERO);
        })
    });
    let rendered = handle.render();
    assert!(rendered.contains("tollgate_tokens_issued_total"));
}

criterion_group!(benches, per_request);
criterion_main!(benches);
