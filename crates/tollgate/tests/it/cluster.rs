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
use crate::helpers::{ADMIN_ID, ADMIN_SECRET, json_of};
use crate::node::Node;
use crate::pg::{self, PgDatabase};

/// The issue's bound: a change made through one node is honoured by every node within this.
pub const PROPAGATION_BOUND: Duration = Duration::from_secs(1);
/// Every node serves the same issuer, as behind a load balancer.
const ISSUER: &str = "http://localhost:9";
/// Every node of a cluster is given the same key-encryption key (base64 of 32 bytes).
pub const CLUSTER_KEK: &str = "dG9sbGdhdGUtY2x1c3Rlci10ZXN0LWtleS0zMmJ5dGU=";

/// One `tollgate serve` process, its log in a file; talked to as a [`Node`].
pub struct Process {
    pub name: String,
    pub node: Node,
    child: Child,
    log: PathBuf,
    _dir: TempDir,
}

impl Process {
    /// Starts a node without waiting for it (so several can start together).
    pub fn spawn(name: &str, database_url: &str, extra: &[(&str, &str)]) -> Process {
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
        // The propagation checks poll every 10 ms, far above a client's rate limit.
        for (k, v) in crate::helpers::NO_RATE_LIMITS.iter().chain(extra) {
            cmd.env(k, v);
        }
        Process {
            name: name.to_owned(),
            node: Node::new(
                format!("http://127.0.0.1:{port}"),
                ISSUER.to_owned(),
                http(),
            ),
            child: cmd.spawn().expect("tollgate starts"),
            log,
            _dir: dir,
        }
    }

    /// Waits until the node answers `/healthz`.
    pub async fn wait_up(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.node.http.get(self.node.url("/healthz")).send().await
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

impl std::ops::Deref for Process {
    type Target = Node;

    fn deref(&self) -> &Node {
        &self.node
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- log of {} ---\n{}", self.name, self.log());
        }
    }
}

/// An HTTP client that gives up on a node after 10 s.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// How long each node takes until `check(node)` holds, polling every 10 ms for up to 5 s (so a
/// miss is measured, not just detected).
pub async fn time_until<F, Fut>(nodes: &[Node], check: F) -> Vec<Duration>
where
    F: Fn(Node) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let start = Instant::now();
    let tasks: Vec<_> = nodes
        .iter()
        .map(|node| {
            let check = check.clone();
            let node = node.clone();
            tokio::spawn(async move {
                loop {
                    if check(node.clone()).await || start.elapsed() > Duration::from_secs(5) {
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

    // Three nodes start at once on an empty database: they migrate, create the keys and the
    // bootstrap client one at a time, and agree on all of it.
    let mut procs: Vec<Process> = (1..=3)
        .map(|i| Process::spawn(&format!("node{i}"), &db.url, &[]))
        .collect();
    for p in &mut procs {
        p.wait_up().await;
    }
    let mut jwks = Vec::new();
    for p in &procs {
        let r = p.http.get(p.url("/oauth2/jwks")).send().await.unwrap();
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
    let nodes: Vec<Node> = procs.iter().map(|p| p.node.clone()).collect();
    let (n1, n2, n3) = (&nodes[0], &nodes[1], &nodes[2]);

    // A client created on node 1 gets tokens on node 2 (and node 3).
    let admin1 = n1.admin_token().await;
    let (id, secret) = n1.create_client("exporter", &["reports:read"]).await;
    let created = time_until(&nodes[1..], gets_a_token(&id, &secret, StatusCode::OK)).await;
    let (status, body) = n2.try_token(&id, &secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let client_token = body["access_token"].as_str().unwrap().to_owned();
    // A token from one node is valid on every node (same keys, same clients).
    assert_eq!(n3.introspect(&client_token).await["active"], true);

    // Secret rotation across nodes: add on node 1, remove the old one on node 3.
    let admin3 = n3.admin_token().await;
    let (status, _, added) = json_of(
        n1.admin_with(
            &admin1,
            Method::POST,
            &format!("/clients/{id}/secrets"),
            Some(json!({})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let new_secret = added["client_secret"].as_str().unwrap().to_owned();
    let new_secret_id = added["secret"]["secret_id"].as_str().unwrap();
    let (_, _, client) = json_of(
        n3.admin_with(&admin3, Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    let old_secret_id = client["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["secret_id"].as_str().unwrap().to_owned())
        .find(|s| s != new_secret_id)
        .expect("the first secret");
    let (status, _, body) = json_of(
        n3.admin_with(
            &admin3,
            Method::DELETE,
            &format!("/clients/{id}/secrets/{old_secret_id}"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let secret_removed = time_until(
        &nodes[..2],
        gets_a_token(&id, &secret, StatusCode::UNAUTHORIZED),
    )
    .await;
    for n in &nodes {
        assert_eq!(n.try_token(&id, &new_secret).await.0, StatusCode::OK);
    }

    // A token revoked on node 2 is inactive on nodes 1 and 3.
    let (_, body) = n1.try_token(&id, &new_secret).await;
    let revoked_token = body["access_token"].as_str().unwrap().to_owned();
    let r = n2
        .post_form(
            "/oauth2/revoke",
            &[("token", revoked_token.as_str())],
            (&id, &new_secret),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let revoked = time_until(&[n1.clone(), n3.clone()], is_inactive(&revoked_token)).await;

    // Deleted on node 3: how long do nodes 1 and 2 keep accepting the client?
    let (status, _, body) = json_of(
        n3.admin_with(&admin3, Method::DELETE, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let deleted = time_until(
        &nodes[..2],
        gets_a_token(&id, &new_secret, StatusCode::UNAUTHORIZED),
    )
    .await;
    let tokens_dead = time_until(&nodes[..2], is_inactive(&client_token)).await;

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
    let (lid, lsecret) = n2.create_client("load", &["reports:read"]).await;
    let known = time_until(&nodes, gets_a_token(&lid, &lsecret, StatusCode::OK)).await;
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
            let (stop, served, failed) = (stop.clone(), served.clone(), failed.clone());
            let targets = [n2.clone(), n3.clone()];
            let (lid, lsecret) = (lid.clone(), lsecret.clone());
            tokio::spawn(async move {
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    let node = &targets[i % 2];
                    i += 1;
                    let (status, body) = node.try_token(&lid, &lsecret).await;
                    if status == StatusCode::OK {
                        served.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("{}: {status} {body}", node.base);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_kill = served.load(Ordering::Relaxed);
    procs[0].kill();
    assert!(
        n1.try_token(&lid, &lsecret).await.0 == StatusCode::BAD_GATEWAY,
        "node 1 is gone"
    );
    // Writes keep working on the survivors while node 1 is down.
    let (late_id, late_secret) = n2
        .create_client("created-while-down", &["reports:read"])
        .await;
    let late_known = time_until(
        &nodes[1..],
        gets_a_token(&late_id, &late_secret, StatusCode::OK),
    )
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
    let (up2, up3) = (procs[1].running(), procs[2].running());
    assert_eq!(
        failed, 0,
        "the surviving nodes serve every request (node 2 still running: {up2}, node 3: {up3})"
    );
    assert!(served > before_kill, "the load went on after the kill");
    assert!(up2 && up3);

    // Node 1 comes back and knows what happened while it was away.
    let mut back = Process::spawn("node1-restarted", &db.url, &[]);
    back.wait_up().await;
    assert_eq!(
        back.try_token(&late_id, &late_secret).await.0,
        StatusCode::OK
    );
    assert_eq!(
        back.try_token(&id, &new_secret).await.0,
        StatusCode::UNAUTHORIZED,
        "the deleted client stays deleted"
    );
}

/// For [`time_until`]: a token request with these credentials answers `status`.
pub fn gets_a_token(
    id: &str,
    secret: &str,
    status: StatusCode,
) -> impl Fn(Node) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>
+ Clone
+ Send
+ 'static {
    let (id, secret) = (id.to_owned(), secret.to_owned());
    move |node: Node| {
        let (id, secret) = (id.clone(), secret.clone());
        Box::pin(async move { node.try_token(&id, &secret).await.0 == status })
    }
}

/// For [`time_until`]: introspection says `token` is inactive.
fn is_inactive(
    token: &str,
) -> impl Fn(Node) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>
+ Clone
+ Send
+ 'static {
    let token = token.to_owned();
    move |node: Node| {
        let token = token.clone();
        Box::pin(async move { node.introspect(&token).await["active"] == false })
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_immediate_key_rotation_reaches_every_node() {
    if !pg::required("an_immediate_key_rotation_reaches_every_node") {
        return;
    }
    let db = PgDatabase::create();
    let mut procs: Vec<Process> = (1..=3)
        .map(|i| Process::spawn(&format!("node{i}"), &db.url, &[]))
        .collect();
    for p in &mut procs {
        p.wait_up().await;
    }
    let nodes: Vec<Node> = procs.iter().map(|p| p.node.clone()).collect();
    let old = nodes[0].signing_kid().await.unwrap();
    for n in &nodes[1..] {
        assert_eq!(n.signing_kid().await.as_deref(), Some(old.as_str()));
    }

    // A key believed compromised: node 1 replaces it at once.
    let admin1 = nodes[0].admin_token().await;
    let (status, _, rotated) = json_of(
        nodes[0]
            .admin_with(
                &admin1,
                Method::POST,
                "/keys/rotate",
                Some(json!({"immediate": true})),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let new = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new, old);

    // Nodes 2 and 3 publish it and sign with it within the bound.
    let took = time_until(&nodes[1..], {
        let new = new.clone();
        move |node: Node| {
            let new = new.clone();
            async move {
                node.jwks_kids().await.contains(&new)
                    && node.signing_kid().await.as_deref() == Some(new.as_str())
            }
        }
    })
    .await;
    assert!(
        took.iter().all(|d| *d < PROPAGATION_BOUND),
        "the new key reached the other nodes after {}",
        ms(&took)
    );
    assert_eq!(nodes[0].signing_kid().await.as_deref(), Some(new.as_str()));

    // Every node publishes the same keys: the new one, and the old one (retired, so tokens it
    // signed keep verifying).
    let mut all = Vec::new();
    for n in &nodes {
        let mut k = n.jwks_kids().await;
        k.sort();
        all.push(k);
    }
    assert!(all.iter().all(|k| *k == all[0]), "{all:?}");
    assert!(all[0].contains(&old) && all[0].contains(&new), "{all:?}");

    // A token node 2 signs with the new key is valid on node 3.
    let (status, body) = nodes[1].try_token(ADMIN_ID, ADMIN_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let t = body["access_token"].as_str().unwrap();
    assert_eq!(nodes[2].introspect(t).await["active"], true);

    // Key lifecycle events are recorded once, by the node that acted.
    let (_, _, audit) = json_of(
        nodes[2]
            .admin_with(&admin1, Method::GET, "/audit?limit=500", None)
            .await,
    )
    .await;
    let rotations = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "key.rotated")
        .count();
    assert_eq!(rotations, 1, "{audit}");
    for p in &mut procs {
        assert!(p.running(), "{} stayed up", p.name);
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
    let mut first = Process::spawn("first", &db.url, &[]);
    http_rt.block_on(first.wait_up());
    let other = crate::helpers::random_kek();
    let err = start(Some(&other));
    assert!(err.contains("another key-encryption key"), "{err}");
    assert!(first.running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalogue_changes_reach_every_node() {
    if !pg::required("catalogue_changes_reach_every_node") {
        return;
    }
    let db = PgDatabase::create();
    let mut procs: Vec<Process> = (1..=3)
        .map(|i| Process::spawn(&format!("node{i}"), &db.url, &[]))
        .collect();
    for p in &mut procs {
        p.wait_up().await;
    }
    let nodes: Vec<Node> = procs.iter().map(|p| p.node.clone()).collect();
    let api = nodes[0]
        .create_api(
            "https://orders.example.com",
            "Orders",
            &["orders:read", "orders:write"],
        )
        .await;
    let (id, secret) = nodes[0]
        .create_client("order sync", &["orders:read", "orders:write"])
        .await;
    let audience_is = |aud: &'static str, scope: &'static str| {
        let (id, secret) = (id.clone(), secret.clone());
        move |node: Node| {
            let (id, secret) = (id.clone(), secret.clone());
            Box::pin(async move {
                let (status, body) = node.try_token(&id, &secret).await;
                status == StatusCode::OK
                    && body["scope"] == scope
                    && crate::helpers::decode_jwt(body["access_token"].as_str().unwrap()).1["aud"]
                        == aud
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>
        }
    };
    let registered = time_until(
        &nodes[1..],
        audience_is("https://orders.example.com", "orders:read orders:write"),
    )
    .await;
    // A change to the API alone (its identifier), made through node 3.
    let (s, _, b) = json_of(
        nodes[2]
            .admin(
                Method::PATCH,
                &format!("/apis/{api}"),
                Some(json!({"identifier": "https://orders.example.com/v2"})),
            )
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let renamed = time_until(
        &nodes[..2],
        audience_is("https://orders.example.com/v2", "orders:read orders:write"),
    )
    .await;
    // A permission taken from the client, through node 2.
    let (s, _, b) = json_of(
        nodes[1]
            .admin(
                Method::PATCH,
                &format!("/apis/{api}?take_from_clients=true"),
                Some(json!({"permissions": [{"value": "orders:read", "description": "Read"}]})),
            )
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let taken = time_until(
        &[nodes[0].clone(), nodes[2].clone()],
        audience_is("https://orders.example.com/v2", "orders:read"),
    )
    .await;
    for (what, took) in [
        ("registered", &registered),
        ("renamed", &renamed),
        ("taken", &taken),
    ] {
        assert!(
            took.iter().all(|d| *d <= PROPAGATION_BOUND),
            "{what}: {}",
            ms(took)
        );
    }
}
