//! Micro-benchmarks of the token endpoint's hot path: the secret check, claims + signing per
//! algorithm, form parsing, and authentication of an unknown client vs. a wrong secret. `cargo bench -p tollgate --bench hot_path`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate::clock::UnixTime;
use tollgate::config::Config;
use tollgate::domain::algorithm::Algorithm;
use tollgate::domain::scope::ScopeSet;
use tollgate::domain::secret::{ClientSecret, SecretHasher};
use tollgate::domain::token::{self, TokenPolicy, TokenRequest};
use tollgate::http::oauth::client_auth::Form;
use tollgate::http::oauth::token::SINGLE;
use tollgate::keys::SigningKey;
use tollgate::service::Credentials;
use tollgate::startup::Application;

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

/// Client authentication as the token endpoint runs it, against a real service on a fresh
/// SQLite database: a wrong secret for a known client, and an unknown client. The two must
/// take the same time (an attacker must not learn which client ids exist).
fn unknown_client_vs_wrong_secret(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let env = [
        ("TOLLGATE_DATA_DIR", dir.path().to_str().unwrap()),
        ("TOLLGATE_LISTEN", "127.0.0.1:0"),
        ("TOLLGATE_BOOTSTRAP_CLIENT_ID", "bench-admin"),
        (
            "TOLLGATE_BOOTSTRAP_CLIENT_SECRET",
            "bench-admin-secret-7f3a9c2e5b8d1f4a6c0e9b2d5f8a1c3e",
        ),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let config = Config::from_sources(None, env).unwrap();
    let app = runtime.block_on(Application::build(&config)).unwrap();
    let tollgate = app.state().tollgate.clone();
    let now = tollgate.now();
    let wrong = ClientSecret::new(format!("tgs_{}", "cd".repeat(36)));
    let known = Credentials {
        client_id: "bench-admin".into(),
        secret: wrong.clone(),
    };
    let unknown = Credentials {
        client_id: "tgc_000000000000000000000000".into(),
        secret: wrong,
    };
    let mut group = c.benchmark_group("authentication");
    group.bench_function("wrong secret of a known client", |b| {
        b.iter(|| black_box(tollgate.authenticate(black_box(&known), now).is_err()))
    });
    group.bench_function("unknown client", |b| {
        b.iter(|| black_box(tollgate.authenticate(black_box(&unknown), now).is_err()))
    });
    group.finish();
    drop(app);
}

criterion_group!(
    benches,
    secret_check,
    claims_and_signing,
    form_parsing,
    unknown_client_vs_wrong_secret
);
criterion_main!(benches);
