//! Client secrets in use: the last use of each is recorded without a write per request.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestApp, json_of};

#[tokio::test]
async fn last_use_is_recorded_without_a_write_per_request() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("c", &["a"]).await;
    let (_, _, c) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(c["secrets"][0]["last_used_at"], Value::Null);
    app.clock.advance(30);
    for _ in 0..3 {
        app.token(&id, &secret, &[]).await;
    }
    // Shown at once from memory, before it is written behind.
    let (_, _, c) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(c["secrets"][0]["last_used_at"], "2030-03-17T17:47:10Z");
    let written = app.tollgate.flush_secret_use().await.unwrap();
    assert!(written >= 1, "the admin client and this one were used");
    assert_eq!(
        app.tollgate.flush_secret_use().await.unwrap(),
        0,
        "nothing new to write"
    );
    // Survives a restart, so it was written to the database.
    let dir = app.dir.clone();
    app.stop().await;
    let app = TestApp::spawn_in(dir, &[]).await;
    let (_, _, c) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(c["secrets"][0]["last_used_at"], "2030-03-17T17:47:10Z");
}
