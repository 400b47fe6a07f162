//! Micro-benchmarks of the token endpoint's hot path: the secret check, claims + signing per
//! algorithm, form parsing, and authentication of an unknown client vs. a wrong secret. `cargo bench -p tollgate --bench hot_path`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate::clock::UnixTime;
use tollgate::config::Config;
use tollgate::domain::algorithm::Algorithm;
use tollgate::domain::api::{Api, ApiId, ApiIdentifier, Permission};
use tollgate::domain::catalogue::Catalogue;
use tollgate::domain::client::{ClientName, Description};
use tollgate::domain::grant::{self, ClientAccess, TokenRequest};
use tollgate::domain::scope::ScopeSet;
use tollgate::domain::secret::{ClientSecret, SecretHasher};
use tollgate::domain::token::{self, TokenPolicy};
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

/// A catalogue of `apis` APIs with ten permissions each, the built-in one first; the client's
/// scopes are two permissions of the last API.
fn catalogue(apis: usize) -> Catalogue {
    let mut all = vec![Api::builtin("https://auth.example.com", UnixTime(0)).unwrap()];
    for i in 0..apis {
        let mut permissions: Vec<Permission> = (0..10)
            .map(|p| Permission::parse(&format!("api{i}:perm{p}"), "", "p").unwrap())
            .collect();
        if i + 1 == apis {
            for value in ["enterprise:user", "reports:export"] {
                permissions.push(Permission::parse(value, "", "p").unwrap());
            }
        }
        all.push(Api {
            id: ApiId::parse(&format!("api_{i}")).unwrap(),
            identifier: ApiIdentifier::parse(&format!("https://api{i}.example.com")).unwrap(),
            name: ClientName::parse(&format!("API {i}")).unwrap(),
            description: Description::default(),
            permissions,
            access_token_lifetime: None,
            signing_algorithm: None,
            created_at: UnixTime(1),
            updated_at: UnixTime(1),
        });
    }
    Catalogue::new(all)
}

fn grant_from_the_catalogue(c: &mut Criterion) {
    let scopes = ScopeSet::parse_delimited("enterprise:user reports:export").unwrap();
    let access = ClientAccess {
        scopes: &scopes,
        tenants: &[],
        lifetime: None,
        algorithm: None,
    };
    for apis in [1, 100] {
        let catalogue = catalogue(apis);
        c.bench_function(&format!("grant (catalogue of {apis} APIs)"), |b| {
            b.iter(|| {
                black_box(
                    grant::grant(
                        &access,
                        &TokenRequest::default(),
                        black_box(&catalogue),
                        3600,
                    )
                    .unwrap(),
                )
            })
        });
    }
}

fn claims_and_signing(c: &mut Criterion) {
    let policy = TokenPolicy {
        issuer: "https://auth.example.com".into(),
        default_lifetime: 3600,
    };
    let scopes = ScopeSet::parse_delimited("enterprise:user reports:export").unwrap();
    let catalogue = catalogue(1);
    let access = ClientAccess {
        scopes: &scopes,
        tenants: &[],
        lifetime: None,
        algorithm: None,
    };
    for alg in Algorithm::ALL {
        let (key, _) = SigningKey::generate(alg).unwrap();
        c.bench_function(&format!("claims + sign ({alg})"), |b| {
            b.iter(|| {
                let grant =
                    grant::grant(&access, &TokenRequest::default(), &catalogue, 3600).unwrap();
                let claims = token::claims(
                    "tgc_5f0c8e2a9b1d4c7e3a6f8b2d",
                    &grant,
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
    grant_from_the_catalogue,
    claims_and_signing,
    form_parsing,
    unknown_client_vs_wrong_secret
);
criterion_main!(benches);
