//! A node losing its PostgreSQL database and getting it back, without a restart.
//!
//! The outage is a TCP proxy between the node and the shared test PostgreSQL that the test
//! cuts (every connection dropped, new ones closed at once) and restores. That needs no
//! private PostgreSQL instance (no initdb, no root workaround) and disturbs no other test; to
//! the node it looks like a database crash or a network partition. A second node connected
//! directly keeps working meanwhile, as in a partition. PostgreSQL pass only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::cluster::{PROPAGATION_BOUND, Process, gets_a_token, ms, time_until};
use crate::helpers::json_of;
use crate::pg::{self, PgDatabase};

/// The grace the node under test gets: short, so the test sees both sides of it.
const GRACE_SECS: u64 = 3;

struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl Proxy {
    async fn start(upstream: (String, u16)) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let accept = tokio::spawn({
            let (up, connections) = (up.clone(), connections.clone());
            async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        continue;
                    };
                    if !up.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let upstream = upstream.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    connections.lock().unwrap().push(task.abort_handle());
                }
            }
        })
        .abort_handle();
        Proxy {
            port,
            up,
            connections,
            accept,
        }
    }

    /// The database "goes away": open connections drop, new ones are closed at once.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.connections.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// Polls `f` every 50 ms until it returns `Some`, for up to `secs` seconds.
async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The body leaks nothing of the server's internals.
fn assert_no_internals(body: &str) {
    for needle in [
        "sqlx",
        "postgres",
        "127.0.0.1",
        "communicating",
        "os error",
        "pool",
        "timed out",
        "connection",
    ] {
        assert!(
            !body.to_lowercase().contains(needle),
            "the body reveals `{needle}`: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_a_clean_503_and_the_node_recovers_by_itself() {
    if !pg::required("a_database_outage_is_a_clean_503_and_the_node_recovers_by_itself") {
        return;
    }
    let db = PgDatabase::create();
    let proxy = Proxy::start(pg::server_addr()).await;
    let mut via_proxy = url::Url::parse(&db.url).unwrap();
    via_proxy.set_host(Some("127.0.0.1")).unwrap();
    via_proxy.set_port(Some(proxy.port)).unwrap();
    let grace = GRACE_SECS.to_string();
    let mut node = Process::spawn(
        "partitioned",
        via_proxy.as_str(),
        &[("TOLLGATE_DATABASE_OUTAGE_GRACE", &grace)],
    );
    let mut other = Process::spawn("direct", &db.url, &[]);
    node.wait_up().await;
    other.wait_up().await;

    let admin_bearer = node.admin_token().await;
    let (id, secret) = node.create_client("steady", &["reports:read"]).await;
    let (doomed_id, doomed_secret) = node.create_client("doomed", &["reports:read"]).await;
    let (status, body) = node.try_token(&id, &secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let client_token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(node.readyz().await, StatusCode::OK);

    proxy.cut();
    let cut_at = Instant::now();

    // Within the grace period, cached clients still get tokens.
    let (status, body) = node.try_token(&id, &secret).await;
    assert_eq!(status, StatusCode::OK, "within the grace period: {body}");

    // Meanwhile another node, which still reaches the database, deletes a client.
    let r = other
        .admin(Method::DELETE, &format!("/clients/{doomed_id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Readiness turns unready.
    eventually(20, "/readyz turns 503", || {
        let node = node.node.clone();
        async move { (node.readyz().await == StatusCode::SERVICE_UNAVAILABLE).then_some(()) }
    })
    .await;

    // The admin API answers 503 problem+json without internals.
    for (method, path) in [(Method::GET, "/clients"), (Method::POST, "/clients")] {
        let body = (method == Method::POST).then(|| serde_json::json!({"name": "new"}));
        let (status, headers, problem) = json_of(
            node.admin_with(&admin_bearer, method.clone(), path, body)
                .await,
        )
        .await;
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}: {problem}"
        );
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(problem["code"], "database_unavailable");
        assert_eq!(problem["status"], 503);
        assert_no_internals(&problem.to_string());
    }

    // Revocation needs the database: an OAuth-style 503.
    let r = node
        .post_form(
            "/oauth2/revoke",
            &[("token", client_token.as_str())],
            (&id, &secret),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let text = r.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert_no_internals(&text);

    // After the grace period, the token endpoint refuses too: the node can no longer vouch
    // for its cache.
    let refused_after = eventually(30, "the token endpoint turns 503", || {
        let (node, id, secret) = (node.node.clone(), id.clone(), secret.clone());
        async move {
            let (status, body) = node.try_token(&id, &secret).await;
            (status == StatusCode::SERVICE_UNAVAILABLE).then_some((cut_at.elapsed(), body))
        }
    })
    .await;
    assert_eq!(refused_after.1["error"], "temporarily_unavailable");
    assert_no_internals(&refused_after.1.to_string());
    assert!(
        refused_after.0 >= Duration::from_secs(GRACE_SECS - 1),
        "not before the grace period: {:?}",
        refused_after.0
    );
    let r = node
        .post_form(
            "/oauth2/introspect",
            &[("token", client_token.as_str())],
            (&id, &secret),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);

    // The database comes back: the node recovers by itself, with what changed meanwhile.
    proxy.restore();
    let restored_at = Instant::now();
    eventually(30, "/readyz turns 200 again", || {
        let node = node.node.clone();
        async move { (node.readyz().await == StatusCode::OK).then_some(()) }
    })
    .await;
    let ready_after = restored_at.elapsed();
    eventually(30, "tokens again", || {
        let (node, id, secret) = (node.node.clone(), id.clone(), secret.clone());
        async move { (node.try_token(&id, &secret).await.0 == StatusCode::OK).then_some(()) }
    })
    .await;
    let tokens_after = restored_at.elapsed();
    assert_eq!(
        node.try_token(&doomed_id, &doomed_secret).await.0,
        StatusCode::UNAUTHORIZED,
        "the client deleted during the outage is refused once the node is back"
    );
    let (new_id, new_secret) = node.create_client("after", &["reports:read"]).await;
    // Both nodes know the client created after the outage.
    let seen = time_until(
        &[node.node.clone(), other.node.clone()],
        gets_a_token(&new_id, &new_secret, StatusCode::OK),
    )
    .await;
    assert!(seen.iter().all(|t| *t < PROPAGATION_BOUND), "{}", ms(&seen));
    assert!(node.running(), "recovered without a restart");
    eprintln!(
        "outage (grace {GRACE_SECS} s): token endpoint refused {:.1} s after the cut; after the \
         restore /readyz was 200 after {:.1} s and tokens were issued again after {:.1} s",
        refused_after.0.as_secs_f64(),
        ready_after.as_secs_f64(),
        tokens_after.as_secs_f64()
    );
}
