//! Test support shared by both examples' tests (the GraphQL example includes this file with
//! `#[path]`): a real in-process Tollgate, clients and tokens, forged tokens, and serving a
//! router on port 0.

#![allow(dead_code)]

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use serde_json::{Value, json};
use tempfile::TempDir;
use tollgate::clock::{Clock, ManualClock, SystemClock, SystemRng, UnixTime};
use tollgate::config::Config;
use tollgate::startup::Application;

pub const AUDIENCE: &str = "https://api.example.com";
/// Where the APIs' protected resource metadata lives for [`AUDIENCE`] (RFC 9728 §3.1).
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";
/// The parameter every 401 and 403 challenge of the APIs ends with (RFC 9728 §5.1).
pub const RESOURCE_METADATA: &str =
    "resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource\"";
const ADMIN_ID: &str = "it-admin";
const ADMIN_SECRET: &str = "it-admin-secret-0123456789abcdef0123456789";

/// A Tollgate on port 0 with a fresh database, whose catalogue holds the example API
/// ([`AUDIENCE`]).
pub struct Tollgate {
    pub base: String,
    pub issuer: String,
    http: reqwest::Client,
    _dir: TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Tollgate {
    /// Starts a server whose clock is `offset` seconds from the real time.
    pub async fn start_with_offset(offset: i64) -> Tollgate {
        let dir = tempfile::tempdir().unwrap();
        let env = [
            ("TOLLGATE_LISTEN", "127.0.0.1:0".to_owned()),
            (
                "TOLLGATE_DATA_DIR",
                dir.path().join("data").display().to_string(),
            ),
            ("TOLLGATE_LOG_LEVEL", "warn".to_owned()),
            ("TOLLGATE_BOOTSTRAP_CLIENT_ID", ADMIN_ID.to_owned()),
            ("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", ADMIN_SECRET.to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v));
        let config = Config::from_sources(None, env).unwrap();
        let now = SystemClock.now().0;
        let clock = Arc::new(ManualClock::new(UnixTime(now + offset)));
        let app = Application::build_with(&config, clock, Arc::new(SystemRng))
            .await
            .unwrap();
        let base = format!("http://{}", app.local_addr());
        let issuer = app.issuer().to_owned();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run(async {
            let _ = stopped.await;
        }));
        Tollgate {
            base,
            issuer,
            http: reqwest::Client::new(),
            _dir: dir,
            _stop: stop,
        }
    }

    pub async fn start() -> Tollgate {
        Self::start_with_offset(0).await
    }

    async fn token_with(&self, id: &str, secret: &str, extra: &[(&str, &str)]) -> String {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(extra);
        let r = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .header("authorization", basic(id, secret))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Registers the example API in the catalogue, as its operator would: the identifier its
    /// verifier expects in `aud`, and the permissions its routes require.
    async fn register_api(&self, admin: &str) {
        let r = self
            .http
            .post(format!("{}/admin/v1/apis", self.base))
            .bearer_auth(admin)
            .json(&json!({
                "identifier": AUDIENCE,
                "name": "Example API",
                "permissions": [
                    {"value": "enterprise:user", "description": "Manage users (SCIM)"},
                    {"value": "reports:export", "description": "Export reports"}
                ]
            }))
            .send()
            .await
            .unwrap();
        // 400: registered by an earlier call (the identifier is taken).
        assert!(matches!(r.status().as_u16(), 201 | 400), "{}", r.status());
    }

    /// Creates a client with `scopes` and returns one of its tokens (for [`AUDIENCE`]).
    pub async fn client_token(&self, scopes: &[&str]) -> String {
        let issuer = self.issuer.clone();
        let admin = self
            .token_with(ADMIN_ID, ADMIN_SECRET, &[("resource", &issuer)])
            .await;
        self.register_api(&admin).await;
        let r = self
            .http
            .post(format!("{}/admin/v1/clients", self.base))
            .bearer_auth(admin)
            .json(&json!({"name": format!("client {}", scopes.join("+")), "scopes": scopes}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.unwrap();
        let id = body["client"]["client_id"].as_str().unwrap().to_owned();
        let secret = body["client_secret"].as_str().unwrap().to_owned();
        self.token_with(&id, &secret, &[]).await
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// The header and claims of a token, and its signature (base64url).
fn split(token: &str) -> (Value, Value, String) {
    let parts: Vec<&str> = token.split('.').collect();
    let json = |p: &str| -> Value { serde_json::from_slice(&B64.decode(p).unwrap()).unwrap() };
    (json(parts[0]), json(parts[1]), parts[2].to_owned())
}

fn encode(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    )
}

/// `token` with more scopes in its payload, signature unchanged.
pub fn tampered(token: &str) -> String {
    let (h, mut c, sig) = split(token);
    c["scope"] = json!("enterprise:user reports:export tollgate:admin");
    format!("{}.{sig}", encode(&h, &c))
}

/// The same claims and `kid`, signed with a key Tollgate does not have.
pub fn wrongly_signed(token: &str) -> String {
    let (h, c, _) = split(token);
    let key = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": h["kid"]});
    let input = encode(&header, &c);
    let sig = key.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    format!("{input}.{}", B64.encode(sig.as_ref()))
}

/// The same claims, unsigned (`alg: none`).
pub fn unsigned(token: &str) -> String {
    let (h, c, _) = split(token);
    let header = json!({"alg": "none", "typ": "at+jwt", "kid": h["kid"]});
    format!("{}.", encode(&header, &c))
}

/// Serves `router` on port 0; returns its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// The `WWW-Authenticate` header of a response, or "".
pub fn challenge(r: &reqwest::Response) -> String {
    r.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
