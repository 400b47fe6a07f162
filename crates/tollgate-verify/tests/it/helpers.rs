//! A real in-process Tollgate, a stub issuer whose requests can be counted, and a clock the
//! tests move by hand.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tempfile::TempDir;
use tollgate::clock::{ManualClock, SystemRng, UnixTime};
use tollgate::config::Config;
use tollgate::startup::Application;
use tollgate_verify::{Clock, SystemClock, Verifier, VerifierBuilder};

pub const ADMIN_ID: &str = "it-admin";
pub const ADMIN_SECRET: &str = "it-admin-secret-0123456789abcdef0123456789";

/// A clock for the verifier that only moves when told to.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    /// Starts at the real time.
    pub fn real() -> Arc<TestClock> {
        Arc::new(TestClock(AtomicI64::new(SystemClock.now())))
    }

    pub fn now_secs(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A Tollgate server on port 0 with a fresh database.
pub struct Tollgate {
    pub base: String,
    pub issuer: String,
    pub http: reqwest::Client,
    _dir: TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Tollgate {
    /// Starts a server whose clock reads the real time plus `clock_offset` seconds.
    pub async fn start_with(extra: &[(&str, &str)], clock_offset: i64) -> Tollgate {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data").display().to_string();
        let mut env: Vec<(String, String)> = vec![
            ("TOLLGATE_LISTEN".into(), "127.0.0.1:0".into()),
            ("TOLLGATE_DATA_DIR".into(), data),
            ("TOLLGATE_LOG_LEVEL".into(), "warn".into()),
            ("TOLLGATE_BOOTSTRAP_CLIENT_ID".into(), ADMIN_ID.into()),
            (
                "TOLLGATE_BOOTSTRAP_CLIENT_SECRET".into(),
                ADMIN_SECRET.into(),
            ),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = Config::from_sources(None, env).expect("test config");
        let clock = Arc::new(ManualClock::new(UnixTime(SystemClock.now() + clock_offset)));
        let app = Application::build_with(&config, clock, Arc::new(SystemRng))
            .await
            .expect("tollgate starts");
        let base = format!("http://{}", app.local_addr());
        let issuer = app.issuer().to_owned();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run(async {
                let _ = stopped.await;
            })
            .await
            .expect("tollgate runs");
        });
        Tollgate {
            base,
            issuer,
            http: reqwest::Client::new(),
            _dir: dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn start() -> Tollgate {
        Self::start_with(&[], 0).await
    }

    /// Starts a server signing with `alg`.
    pub async fn with_algorithm(alg: &str) -> Tollgate {
        Self::start_with(&[("TOLLGATE_SIGNING_ALGORITHM", alg)], 0).await
    }

    /// Stops the server and waits until it is gone.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A verifier for this server's tokens with the default audience (the issuer).
    pub fn verifier(&self) -> VerifierBuilder {
        Verifier::builder(&self.issuer).audience(&self.issuer)
    }

    /// POSTs to the token endpoint with HTTP Basic; returns the status and JSON body.
    pub async fn token_response(
        &self,
        id: &str,
        secret: &str,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(extra);
        let r = self
            .http
            .post(self.url("/oauth2/token"))
            .header(header::AUTHORIZATION, basic(id, secret))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// An access token; panics unless the token endpoint answers 200.
    pub async fn token(&self, id: &str, secret: &str, extra: &[(&str, &str)]) -> String {
        let (status, body) = self.token_response(id, secret, extra).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn admin_token(&self) -> String {
        let issuer = self.issuer.clone();
        self.token(ADMIN_ID, ADMIN_SECRET, &[("resource", &issuer)])
            .await
    }

    /// Registers an API in the catalogue with `permissions`.
    pub async fn create_api(&self, identifier: &str, permissions: &[&str]) {
        let permissions: Vec<Value> = permissions
            .iter()
            .map(|p| json!({"value": p, "description": "test"}))
            .collect();
        let r = self
            .http
            .post(self.url("/admin/v1/apis"))
            .bearer_auth(self.admin_token().await)
            .json(
                &json!({"identifier": identifier, "name": identifier, "permissions": permissions}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    }

    /// Publishes the scopes no API publishes yet as permissions of the built-in API, whose
    /// identifier is the issuer (so tokens for them keep the issuer as audience).
    async fn publish(&self, scopes: &[&str]) {
        let admin = self.admin_token().await;
        let all: Value = self
            .http
            .get(self.url("/admin/v1/apis?limit=200"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let apis = all["apis"].as_array().unwrap();
        let published = |s: &str| {
            apis.iter()
                .flat_map(|a| a["permissions"].as_array().unwrap())
                .any(|p| p["value"] == s)
        };
        let missing: Vec<&&str> = scopes.iter().filter(|s| !published(s)).collect();
        if missing.is_empty() {
            return;
        }
        let mut own: Vec<Value> = apis[0]["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| !p["value"].as_str().unwrap().starts_with("tollgate:"))
            .cloned()
            .collect();
        own.extend(
            missing
                .iter()
                .map(|s| json!({"value": s, "description": "test"})),
        );
        let r = self
            .http
            .patch(self.url("/admin/v1/apis/api_tollgate"))
            .bearer_auth(&admin)
            .json(&json!({"permissions": own}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    }

    /// Creates a client, publishing its scopes first where needed; returns (client_id,
    /// client_secret).
    pub async fn create_client(&self, name: &str, scopes: &[&str]) -> (String, String) {
        self.publish(scopes).await;
        let r = self
            .http
            .post(self.url("/admin/v1/clients"))
            .bearer_auth(self.admin_token().await)
            .json(&json!({"name": name, "description": "test", "scopes": scopes}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status.as_u16(), 201, "{body}");
        (
            body["client"]["client_id"].as_str().unwrap().to_owned(),
            body["client_secret"].as_str().unwrap().to_owned(),
        )
    }

    /// Binds a client to tenants.
    pub async fn bind_tenants(&self, client_id: &str, tenants: &[&str]) {
        let r = self
            .http
            .patch(self.url(&format!("/admin/v1/clients/{client_id}")))
            .bearer_auth(self.admin_token().await)
            .json(&json!({"tenants": tenants}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    }

    pub async fn delete_client(&self, client_id: &str) {
        let r = self
            .http
            .delete(self.url(&format!("/admin/v1/clients/{client_id}")))
            .bearer_auth(self.admin_token().await)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }

    /// The server's JWK Set.
    pub async fn jwks(&self) -> Value {
        self.http
            .get(self.url("/oauth2/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Tollgate {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// What a stub issuer serves, and what it saw.
#[derive(Default)]
pub struct StubState {
    pub base: Mutex<String>,
    pub issuer: Mutex<String>,
    pub jwks: Mutex<String>,
    pub max_age: Mutex<Option<u64>>,
    pub jwks_requests: AtomicUsize,
    pub jwks_not_modified: AtomicUsize,
    pub discovery_requests: AtomicUsize,
    /// Revocation list entries, in cursor order.
    pub revocations: Mutex<Vec<Value>>,
    pub revocation_requests: AtomicUsize,
    pub revocation_auth: Mutex<Vec<String>>,
    /// Answer 503 to everything.
    pub down: std::sync::atomic::AtomicBool,
}

/// A stub issuer on port 0: discovery, JWK Set (with ETag and max-age), revocation list.
pub struct Stub {
    pub base: String,
    pub state: Arc<StubState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

const STUB_PAGE: usize = 1000;

impl Stub {
    pub async fn start(jwks: String) -> Stub {
        let state = Arc::new(StubState::default());
        *state.jwks.lock().unwrap() = jwks;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        *state.issuer.lock().unwrap() = base.clone();
        *state.base.lock().unwrap() = base.clone();
        let app = Router::new()
            .route("/.well-known/oauth-authorization-server", get(discovery))
            .route("/jwks", get(jwks_handler))
            .route("/revocations", get(revocations))
            .with_state(Arc::clone(&state));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Stub {
            base,
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn set_jwks(&self, jwks: String) {
        *self.state.jwks.lock().unwrap() = jwks;
    }

    pub fn jwks_requests(&self) -> usize {
        self.state.jwks_requests.load(Ordering::SeqCst)
    }

    /// Stops serving: connections are refused from now on.
    pub async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn discovery(State(s): State<Arc<StubState>>) -> Response {
    s.discovery_requests.fetch_add(1, Ordering::SeqCst);
    if s.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let issuer = s.issuer.lock().unwrap().clone();
    // The stub's own address, whatever `issuer` was set to.
    let base = s.base.lock().unwrap().clone();
    axum::Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/jwks", base),
        "revocation_list_endpoint": format!("{}/revocations", base),
    }))
    .into_response()
}

async fn jwks_handler(State(s): State<Arc<StubState>>, headers: HeaderMap) -> Response {
    s.jwks_requests.fetch_add(1, Ordering::SeqCst);
    if s.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let body = s.jwks.lock().unwrap().clone();
    let etag = format!(
        "\"{}\"",
        body.len() * 31 + body.bytes().map(usize::from).sum::<usize>()
    );
    let cache = match *s.max_age.lock().unwrap() {
        Some(age) => format!("public, max-age={age}"),
        None => "public, max-age=300".into(),
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        s.jwks_not_modified.fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "application/jwk-set+json".to_owned()),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct Since {
    since: Option<i64>,
}

async fn revocations(
    State(s): State<Arc<StubState>>,
    headers: HeaderMap,
    Query(q): Query<Since>,
) -> Response {
    s.revocation_requests.fetch_add(1, Ordering::SeqCst);
    if s.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    s.revocation_auth.lock().unwrap().push(auth.clone());
    if auth != basic("tgc_poller", "poller-secret") {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic")],
        )
            .into_response();
    }
    let since = q.since.unwrap_or(0);
    let all = s.revocations.lock().unwrap();
    let page: Vec<Value> = all
        .iter()
        .filter(|e| e["cursor"].as_i64().unwrap() > since)
        .take(STUB_PAGE)
        .cloned()
        .collect();
    let next = page.last().map_or(since, |e| e["cursor"].as_i64().unwrap());
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({"revocations": page, "next_cursor": next})),
    )
        .into_response()
}

/// Waits until `check` holds, up to ten seconds (for background tasks).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}
