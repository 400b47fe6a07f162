//! Which database the suite runs against, and throwaway PostgreSQL databases.
//!
//! `TOLLGATE_TEST_DATABASE=postgres` runs every test against PostgreSQL (a fresh database per
//! test, dropped afterwards) at `TOLLGATE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); anything else, or nothing, runs against
//! SQLite. Tests that only make sense with PostgreSQL (several nodes, outages, concurrent
//! migrations) run in the PostgreSQL pass only and say so in the SQLite pass.

use std::future::Future;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Connection, PgConnection, Row};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PREFIX: &str = "tollgate_test_";
/// Databases of earlier runs older than this are dropped (a run killed before its `Drop`).
const STALE_AFTER_SECS: u64 = 3600;

/// True when the suite runs against PostgreSQL.
pub fn postgres() -> bool {
    std::env::var("TOLLGATE_TEST_DATABASE").is_ok_and(|v| v.eq_ignore_ascii_case("postgres"))
}

/// For tests that need PostgreSQL: false (and a note on stderr) in the SQLite pass.
pub fn required(test: &str) -> bool {
    if !postgres() {
        eprintln!(
            "{test}: runs in the PostgreSQL pass only (TOLLGATE_TEST_DATABASE=postgres); \
             skipped in the SQLite pass"
        );
    }
    postgres()
}

/// True when the test PostgreSQL server answers within a few seconds (for the SQLite pass,
/// which does not need it).
pub fn reachable() -> bool {
    block_on(async {
        matches!(
            tokio::time::timeout(Duration::from_secs(3), PgConnection::connect(&admin_url())).await,
            Ok(Ok(_))
        )
    })
}

/// A URL of the server with administrative rights (to create and drop databases).
pub fn admin_url() -> String {
    std::env::var("TOLLGATE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// `admin_url()` pointed at another database.
pub fn url_for(database: &str) -> String {
    let mut url = url::Url::parse(&admin_url()).expect("TOLLGATE_TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

/// Host and port of the server, for the outage test's proxy.
pub fn server_addr() -> (String, u16) {
    let url = url::Url::parse(&admin_url()).expect("TOLLGATE_TEST_POSTGRES_URL is a URL");
    (
        url.host_str().unwrap_or("127.0.0.1").to_owned(),
        url.port().unwrap_or(5432),
    )
}

/// Runs a future to completion on a runtime of its own, from sync or async code alike.
pub fn block_on<F>(f: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    })
    .join()
    .expect("helper thread")
}

async fn admin_connection() -> PgConnection {
    match tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&admin_url())).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => panic!(
            "\n\n  TOLLGATE_TEST_DATABASE=postgres, but PostgreSQL at {} is not reachable: {e}\n  \
             Start PostgreSQL or set TOLLGATE_TEST_POSTGRES_URL.\n\n",
            admin_url()
        ),
        Err(_) => panic!("PostgreSQL at {} does not answer", admin_url()),
    }
}

/// A database of its own for one test, dropped (with any connections still open) when the
/// value is dropped.
#[derive(Debug)]
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        static CLEANUP: Once = Once::new();
        CLEANUP.call_once(|| block_on(drop_stale()));
        let name = format!(
            "{PREFIX}{}_{}_{}",
            unix_now(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let create = name.clone();
        block_on(async move {
            let mut conn = admin_connection().await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {create}")))
                .execute(&mut conn)
                .await
                .expect("CREATE DATABASE");
            let _ = conn.close().await;
        });
        let url = url_for(&name);
        PgDatabase { name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        block_on(async move {
            if let Ok(mut conn) = PgConnection::connect(&admin_url()).await {
                let _ = drop_database(&mut conn, &name).await;
                let _ = conn.close().await;
            }
        });
    }
}

async fn drop_database(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Drops test databases left behind by runs that were killed, judging by the creation time in
/// their name (never a database a running test may still use).
async fn drop_stale() {
    let mut conn = admin_connection().await;
    let names: Vec<String> =
        sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'tollgate\\_test\\_%'")
            .fetch_all(&mut conn)
            .await
            .map(|rows| rows.iter().map(|r| r.get::<String, _>(0)).collect())
            .unwrap_or_default();
    let now = unix_now();
    for name in names {
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|t| t.parse::<u64>().ok());
        if created.is_some_and(|t| t + STALE_AFTER_SECS < now) {
            let _ = drop_database(&mut conn, &name).await;
        }
    }
    let _ = conn.close().await;
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
