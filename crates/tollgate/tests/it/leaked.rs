//! A secret found in the wild: reported, disabled, its tokens revoked, on every node.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ADMIN_ID, ADMIN_SECRET, TestApp, json_of, two_nodes, within_a_second};

#[tokio::test]
async fn a_leaked_secret_is_found_disabled_and_its_tokens_revoked() {
    let app = TestApp::spawn().await;
    let (id, leaked) = app.create_client("leaky", &["a"]).await;
    let (_, _, added) = json_of(
        app.admin(Method::POST, &format!("/clients/{id}/secrets"), None)
            .await,
    )
    .await;
    let spare = added["client_secret"].as_str().unwrap().to_owned();
    let token = app.token(&id, &leaked, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = app
        .admin(
            Method::POST,
            "/secrets/leaked",
            Some(json!({"secret": leaked})),
        )
        .await;
    let (s, _, report) = json_of(r).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["client_id"], id.as_str());
    assert_eq!(report["client_name"], "leaky");
    assert_eq!(report["already_disabled"], false);
    assert_eq!(report["tokens_revoked"], true);

    let r = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some((&id, &leaked)),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the leaked secret is refused"
    );
    let r = app
        .post_form(
            "/oauth2/introspect",
            &[("token", &token)],
            (ADMIN_ID, ADMIN_SECRET),
        )
        .await;
    assert_eq!(
        json_of(r).await.2,
        json!({"active": false}),
        "tokens it may have got are revoked"
    );
    app.clock.advance(1);
    app.token(&id, &spare, &[]).await;

    let (_, _, c) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert!(
        c["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["disabled_at"].is_string())
    );
    let r = app
        .admin(
            Method::POST,
            "/secrets/leaked",
            Some(json!({"secret": leaked})),
        )
        .await;
    assert_eq!(json_of(r).await.2["already_disabled"], true);

    let mut wrong = leaked.clone();
    wrong.replace_range(10..11, if &leaked[10..11] == "0" { "1" } else { "0" });
    let (s, _, b) = json_of(
        app.admin(
            Method::POST,
            "/secrets/leaked",
            Some(json!({"secret": wrong})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("not_a_tollgate_secret"))
    );
    let unknown = {
        let other = TestApp::spawn().await;
        other.create_client("elsewhere", &[]).await.1
    };
    let (s, _, b) = json_of(
        app.admin(
            Method::POST,
            "/secrets/leaked",
            Some(json!({"secret": unknown})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("secret_not_found"))
    );
    assert!(
        app.audit_actions(Some(&id))
            .await
            .contains(&"secret.leaked_disabled".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_secret_is_refused_by_every_node() {
    if !crate::pg::required("a_leaked_secret_is_refused_by_every_node") {
        return;
    }
    let (a, b) = two_nodes(&[]).await;
    let (id, secret) = a.create_client("c", &["a"]).await;
    let (rb, rid, rsecret) = (&b, id.as_str(), secret.as_str());
    assert!(
        within_a_second(|| async move {
            rb.token_form(
                &[("grant_type", "client_credentials")],
                Some((rid, rsecret)),
            )
            .await
            .status()
                == StatusCode::OK
        })
        .await
    );
    let (s, _, body) = json_of(
        a.admin(
            Method::POST,
            "/secrets/leaked",
            Some(json!({"secret": secret})),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        within_a_second(|| async move {
            rb.token_form(
                &[("grant_type", "client_credentials")],
                Some((rid, rsecret)),
            )
            .await
            .status()
                == StatusCode::UNAUTHORIZED
        })
        .await,
        "the other node refuses the disabled secret within a second"
    );
    a.stop().await;
    b.stop().await;
}
