//! Verifications per second on one core, per algorithm: cached keys, full validation (header,
//! signature, claims), through the public async API on a current-thread runtime.
//!
//! `cargo bench -p tollgate-verify --bench verify -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tollgate_verify::{Clock, SystemClock, Verifier};

#[path = "../tests/it/forge.rs"]
mod forge;

const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";

fn verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    for alg in ["ES256", "EdDSA", "RS256"] {
        let key = forge::TestKey::for_alg(alg, "bench-key");
        // Two keys in the set, as during a rotation.
        let other = forge::TestKey::for_alg(alg, "other-key");
        let verifier = Verifier::builder(ISS)
            .audience(AUD)
            .static_jwks(forge::jwks(&[&other, &key]))
            .build()
            .unwrap();
        let claims = forge::claims(
            ISS,
            AUD,
            SystemClock.now(),
            "enterprise:user reports:export",
        );
        let token = key.token(&claims);
        runtime.block_on(verifier.verify(&token)).unwrap();
        group.bench_function(alg, |b| {
            b.iter(|| {
                runtime
                    .block_on(verifier.verify(black_box(&token)))
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
