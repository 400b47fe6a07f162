//! Upgrading an installation from before the catalogue: the previous release's schema with
//! clients holding free-form scopes, started by this release. No client loses a scope, and
//! each keeps getting tokens with the audience it got before. Runs in both passes.

use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::{TestApp, TestDir, decode_jwt, json_of};

/// The last migration of the release before the catalogue.
const PREVIOUS_RELEASE: u32 = 3;

/// The previous release's migrations only, in a directory of their own.
fn previous_migrations(db: &str, into: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(db);
    let to = into.join(format!("migrations-{db}"));
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let version: u32 = name[..4].parse().unwrap();
        if version <= PREVIOUS_RELEASE {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
    to
}

/// Rows as the previous release wrote them: two clients with free-form scopes, one of them
/// also holding a Tollgate scope.
const ROWS: &[(&str, &str, &str)] = &[
    (
        "tgc_legacy_export",
        "Report exporter",
        "reports:export reports:read",
    ),
    ("tgc_legacy_scim", "SCIM job", "enterprise:user"),
    ("tgc_legacy_api", "Reports API", "tollgate:introspect"),
];

async fn seed_sqlite(url: &str) {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    for (i, (id, name, scopes)) in ROWS.iter().enumerate() {
        sqlx::query(
            "INSERT INTO clients (client_id, name, description, scopes, created_at, updated_at) \
             VALUES (?, ?, 'from the previous release', ?, 1800000000, 1800000000)",
        )
        .bind(id)
        .bind(name)
        .bind(scopes)
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO client_secrets (secret_id, client_id, secret_hash, created_at) \
             VALUES (?, ?, ?, 1800000000)",
        )
        .bind(format!("sec_old{i}"))
        .bind(id)
        .bind(vec![u8::try_from(i).unwrap(); 32])
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let _ = conn.close().await;
}

async fn seed_postgres(url: &str) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    for (i, (id, name, scopes)) in ROWS.iter().enumerate() {
        sqlx::query(
            "INSERT INTO clients (client_id, name, description, scopes, created_at, updated_at) \
             VALUES ($1, $2, 'from the previous release', $3, 1800000000, 1800000000)",
        )
        .bind(id)
        .bind(name)
        .bind(scopes)
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO client_secrets (secret_id, client_id, secret_hash, created_at) \
             VALUES ($1, $2, $3, 1800000000)",
        )
        .bind(format!("sec_old{i}"))
        .bind(id)
        .bind(vec![u8::try_from(i).unwrap(); 32])
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let _ = conn.close().await;
}

/// A database at the previous release's schema, holding [`ROWS`].
async fn previous_release(dir: &TestDir) {
    match dir.database() {
        Some(db) => {
            let migrations = previous_migrations("postgres", dir.path());
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&db.url)
                .await
                .unwrap();
            sqlx::migrate::Migrator::new(migrations)
                .await
                .unwrap()
                .run(&pool)
                .await
                .unwrap();
            pool.close().await;
            seed_postgres(&db.url).await;
        }
        None => {
            let data = dir.path().join("data");
            std::fs::create_dir_all(&data).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
            }
            let url = format!("sqlite://{}?mode=rwc", data.join("tollgate.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::migrate::Migrator::new(previous_migrations("sqlite", dir.path()))
                .await
                .unwrap()
                .run(&mut conn)
                .await
                .unwrap();
            let _ = conn.close().await;
            seed_sqlite(&url).await;
        }
    }
}

/// A usable secret for a client whose old secret the test cannot know.
async fn new_secret(app: &TestApp, id: &str) -> String {
    let r = app
        .admin(
            Method::POST,
            &format!("/clients/{id}/secrets"),
            Some(json!({})),
        )
        .await;
    let (s, _, b) = json_of(r).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["client_secret"].as_str().unwrap().to_owned()
}

async fn client(app: &TestApp, id: &str) -> Value {
    let (s, _, b) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

#[tokio::test]
async fn without_audiences_the_scopes_join_the_builtin_api_and_tokens_keep_the_issuer() {
    let dir = std::sync::Arc::new(TestDir::new());
    previous_release(&dir).await;
    let app = TestApp::spawn_in(dir.clone(), &[]).await;
    for (id, _, scopes) in ROWS {
        let got = client(&app, id).await;
        let held: Vec<&str> = got["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(held.join(" "), *scopes, "{id} keeps its scopes");
        assert_eq!(got["tenants"], json!([]));
        let secret = new_secret(&app, id).await;
        let t = app.token(id, &secret, &[]).await;
        let claims = decode_jwt(t["access_token"].as_str().unwrap()).1;
        assert_eq!(claims["aud"], app.issuer.as_str(), "{id}");
        assert_eq!(t["scope"], *scopes, "{id}");
    }
    let (_, _, builtin) = json_of(app.admin(Method::GET, "/apis/api_tollgate", None).await).await;
    let values: Vec<&str> = builtin["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    for imported in ["enterprise:user", "reports:export", "reports:read"] {
        assert!(values.contains(&imported), "{imported} in {values:?}");
    }
    // A restart imports nothing twice.
    app.stop().await;
    let app = TestApp::spawn_in(dir, &[]).await;
    let (_, _, again) = json_of(app.admin(Method::GET, "/apis/api_tollgate", None).await).await;
    assert_eq!(again["permissions"], builtin["permissions"]);
}

#[tokio::test]
async fn with_audiences_the_first_one_becomes_the_api_of_the_scopes() {
    let dir = std::sync::Arc::new(TestDir::new());
    previous_release(&dir).await;
    let audiences = [(
        "TOLLGATE_AUDIENCES",
        "https://api.example.com,https://other.example.com",
    )];
    let app = TestApp::spawn_in(dir, &audiences).await;
    let (_, _, list) = json_of(app.admin(Method::GET, "/apis", None).await).await;
    let apis = list["apis"].as_array().unwrap();
    // The built-in API first; the two registered in the same second, in either order.
    let mut identifiers: Vec<&str> = apis
        .iter()
        .map(|a| a["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(identifiers.remove(0), app.issuer.as_str());
    identifiers.sort_unstable();
    assert_eq!(
        identifiers,
        ["https://api.example.com", "https://other.example.com"]
    );
    let permissions = |identifier: &str| -> Vec<String> {
        let api = apis.iter().find(|a| a["identifier"] == identifier).unwrap();
        api["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["value"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        permissions("https://api.example.com"),
        ["enterprise:user", "reports:export", "reports:read"]
    );
    assert!(permissions("https://other.example.com").is_empty());
    // Tokens keep the first configured audience, which they got by default before.
    for (id, _, scopes) in &ROWS[..2] {
        let secret = new_secret(&app, id).await;
        let t = app.token(id, &secret, &[]).await;
        assert_eq!(
            decode_jwt(t["access_token"].as_str().unwrap()).1["aud"],
            "https://api.example.com"
        );
        assert_eq!(t["scope"], *scopes);
    }
    // The resource server client's scope is Tollgate's own: its tokens are for the issuer.
    let (id, _, _) = ROWS[2];
    let secret = new_secret(&app, id).await;
    let t = app.token(id, &secret, &[]).await;
    assert_eq!(
        decode_jwt(t["access_token"].as_str().unwrap()).1["aud"],
        app.issuer.as_str()
    );
}
