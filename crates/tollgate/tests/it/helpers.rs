use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tollgate::clock::{Clock, ManualClock, SystemRng, UnixTime};
use tollgate::config::Config;
use tollgate::startup::Application;

use crate::node::Node;
use crate::pg::{self, PgDatabase};

/// In `TestApp::spawn_with`'s settings: start the test clock at the real time.
pub const REAL_TIME_CLOCK: &str = "REAL_TIME_CLOCK";

pub const ADMIN_ID: &str = "it-admin";
/// Every rate limit and backoff of client authentication, off.
pub const NO_RATE_LIMITS: [(&str, &str); 8] = [
    ("TOLLGATE_RATE_LIMIT_TOKEN_CLIENT", "0"),
    ("TOLLGATE_RATE_LIMIT_TOKEN_ADDRESS", "0"),
    ("TOLLGATE_RATE_LIMIT_INTROSPECTION_CLIENT", "0"),
    ("TOLLGATE_RATE_LIMIT_INTROSPECTION_ADDRESS", "0"),
    ("TOLLGATE_RATE_LIMIT_SIGN_IN_ACCOUNT", "0"),
    ("TOLLGATE_RATE_LIMIT_SIGN_IN_ADDRESS", "0"),
    ("TOLLGATE_CLIENT_AUTH_MAX_BACKOFF", "0"),
    ("TOLLGATE_ADDRESS_AUTH_MAX_BACKOFF", "0"),
];
pub const ADMIN_SECRET: &str = "it-admin-secret-0123456789abcdef0123456789";

/// Where a test server keeps its data: a temporary directory and, in the PostgreSQL pass, a
/// fresh database. Restarting a server on the same `TestDir` finds the same data.
///
/// Nodes sharing a PostgreSQL database need an explicit key-encryption key, so in the
/// PostgreSQL pass the directory also holds one in `kek_path()`, given to the server while
/// that file exists (a test removes it to start without one).
#[derive(Debug)]
pub struct TestDir {
    dir: TempDir,
    database: Option<PgDatabase>,
}

impl TestDir {
    pub fn new() -> TestDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = pg::postgres().then(PgDatabase::create);
        if database.is_some() {
            std::fs::write(dir.path().join(KEK_FILE), format!("{}\n", random_kek()))
                .expect("write the key-encryption key");
        }
        TestDir { dir, database }
    }

    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The test's PostgreSQL database, in the PostgreSQL pass.
    pub fn database(&self) -> Option<&PgDatabase> {
        self.database.as_ref()
    }

    /// The key-encryption key file a server on this directory uses: the one generated in
    /// the data directory (SQLite), or the one given explicitly (PostgreSQL).
    pub fn kek_path(&self) -> std::path::PathBuf {
        if self.database.is_some() {
            self.dir.path().join(KEK_FILE)
        } else {
            self.dir.path().join("data/key-encryption.key")
        }
    }

    /// The settings that point a server at this data: the data directory, and the database
    /// (and key-encryption key) in the PostgreSQL pass.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "TOLLGATE_DATA_DIR".to_owned(),
            self.dir.path().join("data").display().to_string(),
        )];
        if let Some(db) = &self.database {
            env.push(("TOLLGATE_DATABASE_URL".to_owned(), db.url.clone()));
            // Tests run side by side: keep each server's share of connections small.
            env.push(("TOLLGATE_DATABASE_POOL_SIZE".to_owned(), "4".to_owned()));
            let kek = self.kek_path();
            if kek.exists() {
                env.push((
                    "TOLLGATE_KEY_ENCRYPTION_KEY_FILE".to_owned(),
                    kek.display().to_string(),
                ));
            }
        }
        env
    }
}

/// Where `TestDir` keeps the explicit key-encryption key in the PostgreSQL pass.
const KEK_FILE: &str = "kek.b64";

/// A fresh key-encryption key, base64 as `openssl rand -base64 32` prints it.
pub fn random_kek() -> String {
    STANDARD.encode(tollgate::clock::random_bytes::<32>(&SystemRng))
}

#[derive(Debug)]
pub struct TestApp {
    /// How to reach it (`app.token(…)`, `app.admin(…)`, … through `Deref`).
    pub node: Node,
    pub clock: Arc<ManualClock>,
    pub dir: Arc<TestDir>,
    pub tollgate: Arc<tollgate::service::Tollgate>,
    /// The first owner's one-time setup link, printed at start while there is no administrator.
    pub setup_link: Option<String>,
    /// The configuration it runs with.
    pub config: Config,
    /// Where `GET /metrics` is served, when `TOLLGATE_METRICS_LISTEN` is set.
    pub metrics_addr: Option<std::net::SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Starts a server with extra `TOLLGATE_*` settings on top of the test defaults.
    pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
        let dir = Arc::new(TestDir::new());
        Self::spawn_in(dir, extra).await
    }

    /// Starts a server on existing data (to test restarts).
    pub async fn spawn_in(dir: Arc<TestDir>, extra: &[(&str, &str)]) -> TestApp {
        try_spawn_in(dir, extra).await.expect("server starts")
    }
}

/// Starts a server, or returns why it would not start.
pub async fn try_spawn_in(dir: Arc<TestDir>, extra: &[(&str, &str)]) -> Result<TestApp, String> {
    TestApp::start(dir, extra).await
}

impl TestApp {
    async fn start(dir: Arc<TestDir>, extra: &[(&str, &str)]) -> Result<TestApp, String> {
        let mut env: Vec<(String, String)> = dir.env();
        if extra
            .iter()
            .any(|(k, _)| *k == "TOLLGATE_KEY_ENCRYPTION_KEY")
        {
            // The test gives the key itself: not the file as well.
            env.retain(|(k, _)| k != "TOLLGATE_KEY_ENCRYPTION_KEY_FILE");
        }
        env.extend([
            ("TOLLGATE_LISTEN".into(), "127.0.0.1:0".into()),
            ("TOLLGATE_LOG_LEVEL".into(), "warn".into()),
            ("TOLLGATE_BOOTSTRAP_CLIENT_ID".into(), ADMIN_ID.into()),
            (
                "TOLLGATE_BOOTSTRAP_CLIENT_SECRET".into(),
                ADMIN_SECRET.into(),
            ),
        ]);
        // The test clock stands still unless a test moves it, and every admin call takes a
        // token as the same client from the same address: the rate limits are off unless a
        // test sets them (rate_limits.rs does).
        env.extend(NO_RATE_LIMITS.map(|(k, v)| (k.to_owned(), v.to_owned())));
        // `REAL_TIME_CLOCK` starts the test clock at the real time instead of a fixed one, for
        // tests that meet software with a clock of its own (an OpenID Connect provider).
        let real_time = extra.iter().any(|(k, _)| *k == REAL_TIME_CLOCK);
        env.extend(
            extra
                .iter()
                .filter(|(k, _)| *k != REAL_TIME_CLOCK)
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let config = Config::from_sources(None, env).map_err(|e| e.to_string())?;
        let start = if real_time {
            tollgate::clock::SystemClock.now()
        } else {
            UnixTime(1_900_000_000)
        };
        let clock = Arc::new(ManualClock::new(start));
        let app = Application::build_with(&config, clock.clone(), Arc::new(SystemRng))
            .await
            .map_err(|e| e.to_string())?;
        let base = format!("http://{}", app.local_addr());
        let issuer = app.issuer().to_owned();
        let tollgate = app.state().tollgate.clone();
        let setup_link = app.setup_link.clone();
        let metrics_addr = app.metrics_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run(async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        Ok(TestApp {
            node: Node::new(base, issuer, reqwest::Client::new()),
            clock,
            dir,
            tollgate,
            setup_link,
            config,
            metrics_addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Stops the server and waits until it has closed its database.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl std::ops::Deref for TestApp {
    type Target = Node;

    fn deref(&self) -> &Node {
        &self.node
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub fn basic_header(id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// The JOSE header and claims of a compact JWS, without verifying it.
pub fn decode_jwt(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "compact JWS");
    let part = |p: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("base64url")).expect("json")
    };
    (part(parts[0]), part(parts[1]))
}

/// Verifies an ES256 token's signature against a JWK, independently of the server's code.
pub fn verify_es256(token: &str, jwk: &Value) -> bool {
    let (signing_input, sig) = token.rsplit_once('.').expect("jws");
    let coord = |k: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[k].as_str().expect("coord"))
            .expect("b64")
    };
    let mut point = vec![4u8];
    point.extend(coord("x"));
    point.extend(coord("y"));
    let sig = URL_SAFE_NO_PAD.decode(sig).expect("sig");
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        point,
    )
    .verify(signing_input.as_bytes(), &sig)
    .is_ok()
}

pub async fn json_of(r: Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    (status, headers, body)
}

/// Two nodes on one PostgreSQL database, in this process, each with its own test clock.
pub async fn two_nodes(settings: &[(&str, &str)]) -> (TestApp, TestApp) {
    let a = TestApp::spawn_with(settings).await;
    let b = TestApp::spawn_in(a.dir.clone(), settings).await;
    (a, b)
}

/// Polls `check` for up to a second (the cluster's propagation bound).
pub async fn within_a_second<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
