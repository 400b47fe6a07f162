//! Several `tollgate serve` processes on one PostgreSQL database, as behind a load balancer:
//! concurrent first starts, changes made through one node seen by the others within a second,
//! and a node killed under load while the others serve every request. PostgreSQL pass only.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::binary::{BIN, free_port};
use crate::helpers::{ADMIN_ID, ADMIN_SECRET};
use crate::pg::{self, PgDatabase};

/// The issue's bound: a change made through one node is honoured by every node within this.
pub const PROPAGATION_BOUND: Duration = Duration::from_secs(1);
/// Every node serves the same issuer, as behind a load balancer.
const ISSUER: &str = "http://localhost:9";
/// Every node of a cluster is given the same key-encryption key (base64 of 32 bytes).
pub const CLUSTER_KEK: &str = "dG9sbGdhdGUtY2x1c3Rlci10ZXN0LWtleS0zMmJ5dGU=";

/// One `tollgate serve` process, its log in a file.
pub struct Node {
    pub name: String,
    pub base: String,
    child: Child,
    log: PathBuf,
    _dir: TempDir,
}

impl Node {
    /// Starts a node without waiting for it (so several can start together).
    pub fn spawn(name: &str, database_url: &str, extra: &[(&str, &str)]) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("log");
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env_clear()
            .env("TOLLGATE_LISTEN", format!("127.0.0.1:{port}"))
            .env("TOLLGATE_ISSUER", ISSUER)
            .env("TOLLGATE_DATA_DIR", dir.path().join("data"))
            .env("TOLLGATE_DATABASE_URL", database_url)
            .env("TOLLGATE_DATABASE_POOL_SIZE", "4")
            .env("TOLLGATE_KEY_ENCRYPTION_KEY", CLUSTER_KEK)
            .env("TOLLGATE_BOOTSTRAP_CLIENT_ID", ADMIN_ID)
            .env("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", ADMIN_SECRET)
            .env("TOLLGATE_LOG_LEVEL", "warn")
            .env("TOLLGATE_LOG_FORMAT", "json")
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file));
        for (k, v) in extra {
            cmd.env(k, v);
        }
        Node {
            name: name.to_owned(),
            base: format!("http://127.0.0.1:{port}"),
            child: cmd.spawn().expect("tollgate starts"),
            log,
            _dir: dir,
        }
    }

    /// Waits until the node answers `/healthz`.
    pub async fn wait_up(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", self.base)).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited with {status}:\n{}", self.name, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{} did not come up:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Still the same process, never restarted?
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: no graceful shutdown, connections just drop.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- log of {} ---\n{}", self.name, self.log());
        }
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Status and body of a client-credentials token request.
pub async fn token(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    secret: &str,
) -> (StatusCode, Value) {
    match http
        .post(format!("{base}/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
    {
        Ok(r) => {
            let status = r.status();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        // No answer at all (the node is gone): the error, for the test's message.
        Err(e) => (StatusCode::BAD_GATEWAY, Value::String(format!("{e:?}"))),
    }
}

pub async fn admin_token(http: &reqwest::Client, base: &str) -> String {
    let (status, body) = token(http, base, ADMIN_ID, ADMIN_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

pub async fn admin(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value, String) {
    let mut req = http
        .request(method, format!("{base}/admin/v1{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("admin request");
    let status = r.status();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, r.json().await.unwrap_or(Value::Null), content_type)
}

pub async fn create_client(
    http: &reqwest::Client,
    base: &str,
    admin_token: &str,
    name: &str,
) -> (String, String) {
    let (status, body, _) = admin(
        http,
        base,
        admin_token,
        Method::POST,
        "/clients",
        Some(json!({"name": name, "scopes": ["reports:read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["client"]["client_id"].as_str().unwrap().to_owned(),
        body["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn introspect(http: &reqwest::Client, base: &str, token: &str) -> Value {
    let r = http
        .post(format!("{base}/oauth2/introspect"))
        .basic_auth(ADMIN_ID, Some(ADMIN_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// How long each node takes until `check(node)` holds, polling every 10 ms for up to 5 s (so a
/// miss is measured, not just detected).
pub async fn time_until<F, Fut>(bases: &[String], check: F) -> Vec<Duration>
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let start = Instant::now();
    let tasks: Vec<_> = bases
        .iter()
        .map(|base| {
            let check = check.clone();
            let base = base.clone();
            tokio::spawn(async move {
                loop {
                    if check(base.clone()).await || start.elapsed() > Duration::from_secs(5) {
                        return start.elapsed();
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

pub fn ms(d: &[Duration]) -> String {
    d.iter()
        .map(|d| format!("{:.0} ms", d.as_secs_f64() * 1000.0))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_share_one_database() {
    if !pg::required("three_nodes_share_one_database") {
        return;
    }
    let db = PgDatabase::create();
    let http = http();

    // Three nodes start at once on an empty database: they migrate, create the keys and the
    // bootstrap client one at a time, and agree on all of it.
    let mut nodes: Vec<Node> = (1..=3)
        .map(|i| Node::spawn(&format!("node{i}"), &db.url, &[]))
        .collect();
    for n in &mut nodes {
        n.wait_up(&http).await;
    }
    let mut jwks = Vec::new();
    for n in &nodes {
        let r = http
            .get(format!("{}/oauth2/jwks", n.base))
            .send()
            .await
            .unwrap();
        jwks.push(r.json::<Value>().await.unwrap());
    }
    assert_eq!(
        jwks[0]["keys"].as_array().unwrap().len(),
        1,
        "one signing key"
    );
    assert!(
        jwks.iter().all(|j| *j == jwks[0]),
        "every node publishes the same keys"
    );
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let (n1, n2, n3) = (&bases[0], &bases[1], &bases[2]);

    // A client created on node 1 gets tokens on node 2 (and node 3).
    let admin1 = admin_token(&http, n1).await;
    let (id, secret) = create_client(&http, n1, &admin1, "exporter").await;
    let created = time_until(&bases[1..], {
        let (http, id, secret) = (http.clone(), id.clone(), secret.clone());
        move |base| {
            let (http, id, secret) = (http.clone(), id.clone(), secret.clone());
            async move { token(&http, &base, &id, &secret).await.0 == StatusCode::OK }
        }
    })
    .await;
    let (status, body) = token(&http, n2, &id, &secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let client_token = body["access_token"].as_str().unwrap().to_owned();
    // A token from one node is valid on every node (same keys, same clients).
    assert_eq!(introspect(&http, n3, &client_token).await["active"], true);

    // Secret rotation across nodes: add on node 1, remove the old one on node 3.
    let admin3 = admin_token(&http, n3).await;
    let (status, added, _) = admin(
        &http,
        n1,
        &admin1,
        Method::POST,
        &format!("/clients/{id}/secrets"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let new_secret = added["client_secret"].as_str().unwrap().to_owned();
    let new_secret_id = added["secret"]["secret_id"].as_str().unwrap();
    let (_, client, _) = admin(
        &http,
        n3,
        &admin3,
        Method::GET,
        &format!("/clients/{id}"),
        None,
    )
    .await;
    let old_secret_id = client["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["secret_id"].as_str().unwrap().to_owned())
        .find(|s| s != new_secret_id)
        .expect("the first secret");
    let (status, body, _) = admin(
        &http,
        n3,
        &admin3,
        Method::DELETE,
        &format!("/clients/{id}/secrets/{old_secret_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let secret_removed = time_until(&bases[..2], {
        let (http, id, secret) = (http.clone(), id.clone(), secret.clone());
        move |base| {
            let (http, id, secret) = (http.clone(), id.clone(), secret.clone());
            async move { token(&http, &base, &id, &secret).await.0 == StatusCode::UNAUTHORIZED }
        }
    })
    .await;
    for base in &bases {
        assert_eq!(token(&http, base, &id, &new_secret).await.0, StatusCode::OK);
    }

    // A token revoked on node 2 is inactive on nodes 1 and 3.
    let (_, body) = token(&http, n1, &id, &new_secret).await;
    let revoked_token = body["access_token"].as_str().unwrap().to_owned();
    let r = http
        .post(format!("{n2}/oauth2/revoke"))
        .basic_auth(&id, Some(&new_secret))
        .form(&[("token", revoked_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let revoked = time_until(&[n1.clone(), n3.clone()], {
        let (http, t) = (http.clone(), revoked_token.clone());
        move |base| {
            let (http, t) = (http.clone(), t.clone());
            async move { introspect(&http, &base, &t).await["active"] == false }
        }
    })
    .await;

    // Deleted on node 3: how long do nodes 1 and 2 keep accepting the client?
    let (status, body, _) = admin(
        &http,
        n3,
        &admin3,
        Method::DELETE,
        &format!("/clients/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let deleted = time_until(&bases[..2], {
        let (http, id, secret) = (http.clone(), id.clone(), new_secret.clone());
        move |base| {
            let (http, id, secret) = (http.clone(), id.clone(), secret.clone());
            async move { token(&http, &base, &id, &secret).await.0 == StatusCode::UNAUTHORIZED }
        }
    })
    .await;
    let tokens_dead = time_until(&bases[..2], {
        let (http, t) = (http.clone(), client_token.clone());
        move |base| {
            let (http, t) = (http.clone(), t.clone());
            async move { introspect(&http, &base, &t).await["active"] == false }
        }
    })
    .await;

    eprintln!(
        "propagation (nodes polled every 10 ms):\n  \
         created on node 1, tokens on nodes 2, 3 after: {}\n  \
         secret removed on node 3, refused on nodes 1, 2 after: {}\n  \
         token revoked on node 2, inactive on nodes 1, 3 after: {}\n  \
         client deleted on node 3, refused on nodes 1, 2 after: {}\n  \
         its tokens inactive on nodes 1, 2 after (measured next): {}",
        ms(&created),
        ms(&secret_removed),
        ms(&revoked),
        ms(&deleted),
        ms(&tokens_dead),
    );
    for (what, times) in [
        ("created", &created),
        ("secret removed", &secret_removed),
        ("revoked", &revoked),
        ("deleted", &deleted),
        ("tokens of the deleted client", &tokens_dead),
    ] {
        assert!(
            times.iter().all(|t| *t < PROPAGATION_BOUND),
            "{what}: {} (bound {PROPAGATION_BOUND:?})",
            ms(times)
        );
    }

    // Kill node 1 under a steady load on nodes 2 and 3: they serve every request.
    let (lid, lsecret) = create_client(&http, n2, &admin_token(&http, n2).await, "load").await;
    let known = time_until(&bases, {
        let (http, id, secret) = (http.clone(), lid.clone(), lsecret.clone());
        move |base| {
            let (http, id, secret) = (http.clone(), id.clone(), secret.clone());
            async move { token(&http, &base, &id, &secret).await.0 == StatusCode::OK }
        }
    })
    .await;
    assert!(
        known.iter().all(|t| *t < PROPAGATION_BOUND),
        "{}",
        ms(&known)
    );
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (http, stop, served, failed) =
                (http.clone(), stop.clone(), served.clone(), failed.clone());
            let targets = [n2.clone(), n3.clone()];
            let (lid, lsecret) = (lid.clone(), lsecret.clone());
            tokio::spawn(async move {
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    let base = &targets[i % 2];
                    i += 1;
                    let (status, body) = token(&http, base, &lid, &lsecret).await;
                    if status == StatusCode::OK {
                        served.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("{base}: {status} {body}");
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_kill = served.load(Ordering::Relaxed);
    nodes[0].kill();
    assert!(
        token(&http, n1, &lid, &lsecret).await.0 == StatusCode::BAD_GATEWAY,
        "node 1 is gone"
    );
    // Writes keep working on the survivors while node 1 is down.
    let admin2 = admin_token(&http, n2).await;
    let (late_id, late_secret) = create_client(&http, n2, &admin2, "created-while-down").await;
    let late_known = time_until(&bases[1..], {
        let (http, id, secret) = (http.clone(), late_id.clone(), late_secret.clone());
        move |base| {
            let (http, id, secret) = (http.clone(), id.clone(), secret.clone());
            async move { token(&http, &base, &id, &secret).await.0 == StatusCode::OK }
        }
    })
    .await;
    assert!(
        late_known.iter().all(|t| *t < PROPAGATION_BOUND),
        "{}",
        ms(&late_known)
    );
    tokio::time::sleep(Duration::from_millis(2000)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let (served, failed) = (
        served.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    );
    eprintln!(
        "node kill: node 1 killed (SIGKILL) after {before_kill} requests; nodes 2 and 3 served \
         {served} requests in about 2.5 s, {failed} failed"
    );
    let (up2, up3) = (nodes[1].running(), nodes[2].running());
    assert_eq!(
        failed, 0,
        "the surviving nodes serve every request (node 2 still running: {up2}, node 3: {up3})"
    );
    assert!(served > before_kill, "the load went on after the kill");
    assert!(up2 && up3);

    // Node 1 comes back and knows what happened while it was away.
    let mut back = Node::spawn("node1-restarted", &db.url, &[]);
    back.wait_up(&http).await;
    assert_eq!(
        token(&http, &back.base, &late_id, &late_secret).await.0,
        StatusCode::OK
    );
    assert_eq!(
        token(&http, &back.base, &id, &new_secret).await.0,
        StatusCode::UNAUTHORIZED,
        "the deleted client stays deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_apply_each_migration_once() {
    if !pg::required("concurrent_migrations_apply_each_migration_once") {
        return;
    }
    let db = PgDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    // Four `tollgate migrate` processes and four pools in this process, all at once, on an
    // empty database: sqlx's advisory lock makes them take turns.
    let processes: Vec<Child> = (0..4)
        .map(|_| {
            Command::new(BIN)
                .arg("migrate")
                .env_clear()
                .env("TOLLGATE_DATA_DIR", dir.path())
                .env("TOLLGATE_DATABASE_URL", &db.url)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { tollgate::store::PostgresStore::open(&url, 1).await })
        })
        .collect();
    for o in opens {
        let store = o.await.unwrap().expect("migrates");
        tollgate::store::Store::close(&store).await;
    }
    for p in processes {
        let out = p.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
    }
    let url = db.url.clone();
    let applied: Vec<(i64, bool)> = pg::block_on(async move {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut c)
            .await
            .unwrap()
    });
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count();
    assert_eq!(applied.len(), files, "{applied:?}");
    assert!(applied.iter().all(|(_, ok)| *ok));
}

/// The published key ids of a node.
async fn kids(http: &reqwest::Client, base: &str) -> Vec<String> {
    let jwks: Value = http
        .get(format!("{base}/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// The `kid` in the header of a token the node signs now.
async fn signing_kid(http: &reqwest::Client, base: &str) -> Option<String> {
    let (status, body) = token(http, base, ADMIN_ID, ADMIN_SECRET).await;
    if status != StatusCode::OK {
        return None;
    }
    let (header, _) = crate::helpers::decode_jwt(body["access_token"].as_str()?);
    header["kid"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_immediate_key_rotation_reaches_every_node() {
    if !pg::required("an_immediate_key_rotation_reaches_every_node") {
        return;
    }
    let db = PgDatabase::create();
    let http = http();
    let mut nodes: Vec<Node> = (1..=3)
        .map(|i| Node::spawn(&format!("node{i}"), &db.url, &[]))
        .collect();
    for n in &mut nodes {
        n.wait_up(&http).await;
    }
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let old = signing_kid(&http, &bases[0]).await.unwrap();
    for b in &bases[1..] {
        assert_eq!(signing_kid(&http, b).await.as_deref(), Some(old.as_str()));
    }

    // A key believed compromised: node 1 replaces it at once.
    let admin1 = admin_token(&http, &bases[0]).await;
    let (status, rotated, _) = admin(
        &http,
        &bases[0],
        &admin1,
        Method::POST,
        "/keys/rotate",
        Some(json!({"immediate": true})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let new = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new, old);

    // Nodes 2 and 3 publish it and sign with it within the bound.
    let took = time_until(&bases[1..], {
        let (http, new) = (http.clone(), new.clone());
        move |base| {
            let (http, new) = (http.clone(), new.clone());
            async move {
                kids(&http, &base).await.contains(&new)
                    && signing_kid(&http, &base).await.as_deref() == Some(new.as_str())
            }
        }
    })
    .await;
    assert!(
        took.iter().all(|d| *d < PROPAGATION_BOUND),
        "the new key reached the other nodes after {}",
        ms(&took)
    );
    assert_eq!(
        signing_kid(&http, &bases[0]).await.as_deref(),
        Some(new.as_str())
    );

    // Every node publishes the same keys: the new one, and the old one (retired, so tokens it
    // signed keep verifying).
    let mut all = Vec::new();
    for b in &bases {
        let mut k = kids(&http, b).await;
        k.sort();
        all.push(k);
    }
    assert!(all.iter().all(|k| *k == all[0]), "{all:?}");
    assert!(all[0].contains(&old) && all[0].contains(&new), "{all:?}");

    // A token node 2 signs with the new key is valid on node 3.
    let (status, body) = token(&http, &bases[1], ADMIN_ID, ADMIN_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let t = body["access_token"].as_str().unwrap();
    assert_eq!(introspect(&http, &bases[2], t).await["active"], true);

    // Key lifecycle events are recorded once, by the node that acted.
    let (_, audit, _) = admin(
        &http,
        &bases[2],
        &admin1,
        Method::GET,
        "/audit?limit=500",
        None,
    )
    .await;
    let rotations = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "key.rotated")
        .count();
    assert_eq!(rotations, 1, "{audit}");
    for n in &mut nodes {
        assert!(n.running(), "{} stayed up", n.name);
    }
}

#[test]
fn postgres_nodes_need_one_explicit_key_encryption_key() {
    if !pg::required("postgres_nodes_need_one_explicit_key_encryption_key") {
        return;
    }
    let db = PgDatabase::create();
    let start = |kek: Option<&str>| {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env_clear()
            .env("TOLLGATE_LISTEN", format!("127.0.0.1:{}", free_port()))
            .env("TOLLGATE_DATA_DIR", dir.path().join("data"))
            .env("TOLLGATE_DATABASE_URL", &db.url)
            .env("TOLLGATE_DATABASE_POOL_SIZE", "2")
            .env("TOLLGATE_BOOTSTRAP_CLIENT_ID", ADMIN_ID)
            .env("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", ADMIN_SECRET);
        if let Some(k) = kek {
            cmd.env("TOLLGATE_KEY_ENCRYPTION_KEY", k);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !dir.path().join("data/key-encryption.key").exists(),
            "no key-encryption key is generated on PostgreSQL"
        );
        text
    };
    // Without a key: refused before anything is stored, saying what to do.
    let err = start(None);
    assert!(err.contains("TOLLGATE_KEY_ENCRYPTION_KEY"), "{err}");
    assert!(err.contains("same"), "{err}");

    // The first node initialises the database with the cluster's key; a node given another
    // key is refused, naming the mismatch.
    let http_rt = tokio::runtime::Runtime::new().unwrap();
    let mut first = Node::spawn("first", &db.url, &[]);
    http_rt.block_on(first.wait_up(&http()));
    let other = crate::helpers::random_kek();
    let err = start(Some(&other));
    assert!(err.contains("another key-encryption key"), "{err}");
    assert!(first.running());
}
