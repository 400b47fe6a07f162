//! The bootstrap administrator: created once per database from `TOLLGATE_BOOTSTRAP_CLIENT_*`,
//! never re-created once deleted, and never from an obviously weak secret.

use std::sync::Arc;

use reqwest::{Method, StatusCode};

use crate::helpers::{ADMIN_ID, ADMIN_SECRET, TestApp, TestDir, json_of, try_spawn_in};

#[tokio::test]
async fn a_deleted_bootstrap_client_is_not_created_again() {
    let app = TestApp::spawn().await;
    // A second administrator deletes the bootstrap one on purpose.
    let (id, secret) = app.create_client("ops-admin", &["tollgate:admin"]).await;
    let issuer = app.issuer.clone();
    let token = app.token(&id, &secret, &[("resource", &issuer)]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .admin_with(
            &token,
            Method::DELETE,
            &format!("/clients/{ADMIN_ID}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let dir = app.dir.clone();
    app.stop().await;

    // The next start (or another node) still has the bootstrap variables: it ignores them.
    let again = TestApp::spawn_in(dir.clone(), &[]).await;
    let (s, body) = again.try_token(ADMIN_ID, ADMIN_SECRET).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    // (The restarted server has another address, hence another issuer: a fresh token.)
    let issuer = again.issuer.clone();
    let token = again.token(&id, &secret, &[("resource", &issuer)]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = again
        .admin_with(&token, Method::GET, &format!("/clients/{ADMIN_ID}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Nor with other bootstrap credentials: the database was bootstrapped once.
    let other = TestApp::spawn_in(
        dir,
        &[
            ("TOLLGATE_BOOTSTRAP_CLIENT_ID", "second-admin"),
            (
                "TOLLGATE_BOOTSTRAP_CLIENT_SECRET",
                "second-admin-secret-0123456789abcdef0123456789",
            ),
        ],
    )
    .await;
    let (s, _) = other
        .try_token(
            "second-admin",
            "second-admin-secret-0123456789abcdef0123456789",
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    again.stop().await;
    other.stop().await;
}

#[tokio::test]
async fn an_obviously_weak_bootstrap_secret_is_refused() {
    for weak in [
        "a".repeat(32),
        "ab".repeat(24),
        "passwordpasswordpasswordpassword".to_owned(),
        "12345678901234567890123456789012345678".to_owned(),
    ] {
        let err = try_spawn_in(
            Arc::new(TestDir::new()),
            &[("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", &weak)],
        )
        .await
        .err()
        .unwrap_or_else(|| panic!("{weak:?} was accepted"));
        assert!(err.contains("TOLLGATE_BOOTSTRAP_CLIENT_SECRET"), "{err}");
    }

    // A secret Tollgate generates passes, as does the suite's own.
    let app = TestApp::spawn().await;
    let (_, generated) = app.create_client("c", &["a"]).await;
    assert!(generated.starts_with("tgs_"), "{generated}");
    let started = try_spawn_in(
        Arc::new(TestDir::new()),
        &[("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", &generated)],
    )
    .await
    .unwrap();
    started.token(ADMIN_ID, &generated, &[]).await;
    let (s, _, _) = json_of(app.admin(Method::GET, "/keys", None).await).await;
    assert_eq!(s, StatusCode::OK);
    started.stop().await;
    app.stop().await;
}
