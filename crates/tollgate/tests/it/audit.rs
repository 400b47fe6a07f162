//! The audit trail: who did what to which client, secret or key, and when.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN_ID, TestApp, json_of};

#[tokio::test]
async fn the_audit_trail_records_who_did_what() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_client("audited", &["a"]).await;
    app.admin(
        Method::PATCH,
        &format!("/clients/{id}"),
        Some(json!({"name": "renamed"})),
    )
    .await;
    let (_, _, added) = json_of(
        app.admin(
            Method::POST,
            &format!("/clients/{id}/secrets"),
            Some(json!({"expires_at": "2030-03-17T18:00:00Z"})),
        )
        .await,
    )
    .await;
    let sid = added["secret"]["secret_id"].as_str().unwrap().to_owned();
    app.clock.advance(3600);
    app.tollgate
        .record_expired_secrets(app.tollgate.now())
        .await
        .unwrap();
    app.admin(
        Method::DELETE,
        &format!("/clients/{id}/secrets/{sid}"),
        None,
    )
    .await;
    app.admin(Method::DELETE, &format!("/clients/{id}"), None)
        .await;
    assert_eq!(
        app.audit_actions(Some(&id)).await,
        [
            "client.created",
            "client.updated",
            "secret.added",
            "secret.expired",
            "secret.removed",
            "client.deleted"
        ]
    );
    let (_, _, page) = json_of(
        app.admin(Method::GET, &format!("/audit?client_id={id}&limit=2"), None)
            .await,
    )
    .await;
    let first = &page["events"][0];
    assert_eq!(first["actor"], ADMIN_ID);
    assert_eq!(first["at"], "2030-03-17T17:46:40Z");
    assert!(page["next_cursor"].is_i64());
    let (_, _, rest) = json_of(
        app.admin(
            Method::GET,
            &format!("/audit?client_id={id}&cursor={}", page["next_cursor"]),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(rest["events"].as_array().unwrap().len(), 4);
    let expired = &rest["events"][1];
    assert_eq!(expired["actor"], "tollgate");
    assert_eq!(expired["secret_id"], sid.as_str());
}
