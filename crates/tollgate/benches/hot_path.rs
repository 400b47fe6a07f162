//! Micro-benchmarks of the token endpoint's hot path: the secret check, claims + signing per
//! algorithm, and form parsing. `cargo bench -p tollgate --bench hot_path`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate::clock::UnixTime;
use tollgate::domain::algorithm::Algorithm;
use tollgate::domain::scope::ScopeSet;
use tollgate::domain::secret::{ClientSecret, SecretHasher};
use tollgate::domain::token::{self, TokenPolicy, TokenRequest};
use tollgate::http::oauth::client_auth::Form;
use tollgate::http::oauth::token::SINGLE;
use tollgate::keys::SigningKey;

fn secret_check(c: &mut Criterion) {
    let hasher = SecretHasher::new(&[7; 32]);
    let secret = ClientSecret::new(format!("tgs_{}", "ab".repeat(36)));
    let stored = hasher.hash(&secret);
    c.bench_function("secret check (HMAC-SHA-256 + constant-time compare)", |b| {
        b.iter(|| {
            let presented = hasher.hash(black_box(&secret));
            black_box(presented.ct_eq(&stored))
        })
    });
}

fn claims_and_signing(c: &mut Criterion) {
    let policy = TokenPolicy {
        issuer: "https://auth.example.com".into(),
        audiences: vec!["https://auth.example.com".into()],
        default_lifetime: 3600,
    };
    let scopes = ScopeSet::parse_delimited("enterprise:user reports:export").unwrap();
    for alg in Algorithm::ALL {
        let (key, _) = SigningKey::generate(alg).unwrap();
        c.bench_function(&format!("claims + sign ({alg})"), |b| {
            b.iter(|| {
                let grant = token::grant(&scopes, None, &TokenRequest::default(), &policy).unwrap();
                let claims = token::claims(
                    "tgc_5f0c8e2a9b1d4c7e3a6f8b2d",
                    &grant,
                    None,
                    &policy,
                    UnixTime(1_900_000_000),
                    "AAECAwQFBgcICQoLDA0ODw".into(),
                );
                let payload = serde_json::to_vec(&claims).unwrap();
                black_box(key.sign_jwt(&payload).unwrap())
            })
        });
    }
}

fn form_parsing(c: &mut Criterion) {
    let body = b"grant_type=client_credentials&scope=enterprise%3Auser+reports%3Aexport&resource=https%3A%2F%2Fapi.example.com";
    c.bench_function("form parsing (token request)", |b| {
        b.iter(|| black_box(Form::parse(black_box(body), SINGLE).unwrap()))
    });
}

criterion_group!(benches, secret_check, claims_and_signing, form_parsing);
criterion_main!(benches);
