//! RFC 9728 protected resource metadata: the document an API serves and the challenges that
//! point to it.

use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tollgate_verify::Verifier;

use crate::helpers::Tollgate;
use crate::web::{call, serve, whoami};

const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

#[tokio::test]
async fn the_document_of_a_resource_with_a_path_is_at_the_suffixed_well_known_uri() {
    // No token is verified here, so no issuer needs to run.
    let verifier = Verifier::builder("https://auth.example.com")
        .audience("https://api.example.com/v1")
        .scopes_supported(["enterprise:user", "reports:export"])
        .resource_name("Example API v1")
        .realm("v1")
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/v1/users",
            get(whoami).layer(verifier.require_all(["enterprise:user"])),
        )
        .merge(verifier.metadata_router());
    let base = serve(router).await;

    let r = reqwest::get(format!("{base}{WELL_KNOWN}/v1"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");
    let document: Value = r.json().await.unwrap();
    assert_eq!(
        document,
        json!({
            "resource": "https://api.example.com/v1",
            "authorization_servers": ["https://auth.example.com"],
            "scopes_supported": ["enterprise:user", "reports:export"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Example API v1",
        })
    );
    // Not at the unsuffixed URI: that one belongs to the origin's root resource.
    let r = reqwest::get(format!("{base}{WELL_KNOWN}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let expected = format!(r#"resource_metadata="https://api.example.com{WELL_KNOWN}/v1""#);
    let (status, challenge, _) = call(&base, "/v1/users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge, format!(r#"Bearer realm="v1", {expected}"#));
    let (status, challenge, _) = call(&base, "/v1/users", Some("Bearer abc")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert!(challenge.ends_with(&expected), "{challenge}");
}

#[tokio::test]
async fn challenges_lead_a_client_to_the_document_at_an_overridden_url() {
    let tg = Tollgate::start().await;
    let (id, secret) = tg.create_client("metadata-it", &["enterprise:user"]).await;
    let token = tg.token(&id, &secret, &[]).await;

    // The API's public address differs from its identifier (the issuer's URL, Tollgate's
    // default audience): the challenges must point to where the API really serves.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let url = format!("{base}/orders{WELL_KNOWN}");
    let verifier = tg
        .verifier()
        .scopes_supported(["enterprise:user"])
        .scopes_supported(["reports:export", "enterprise:user"])
        .resource_metadata_url(&url)
        .build()
        .unwrap();
    assert_eq!(verifier.resource_metadata_url(), Some(url.as_str()));
    let router = Router::new()
        .route(
            "/reports",
            get(whoami).layer(verifier.require_all(["reports:export"])),
        )
        .merge(verifier.metadata_router());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    // 403: the token lacks the scope; the challenge names the metadata too (RFC 9728 §5.1).
    let (status, challenge, _) = call(&base, "/reports", Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    let prefix = r#"resource_metadata=""#;
    let start = challenge.find(prefix).unwrap() + prefix.len();
    let followed = &challenge[start..challenge.len() - 1];
    assert_eq!(followed, url);

    // The client follows the challenge and learns whom to ask for which scopes.
    let document: Value = reqwest::get(followed)
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["resource"], tg.issuer.as_str());
    assert_eq!(document["authorization_servers"], json!([tg.issuer]));
    assert_eq!(
        document["scopes_supported"],
        json!(["enterprise:user", "reports:export"])
    );
    assert!(document.get("resource_name").is_none(), "{document}");

    // And at the derived well-known URI there is nothing.
    let r = reqwest::get(format!("{base}{WELL_KNOWN}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_audience_that_is_no_url_has_no_document_nor_challenge_parameter() {
    let verifier = Verifier::builder("https://auth.example.com")
        .audience("orders-api")
        .build()
        .unwrap();
    assert!(verifier.protected_resource_metadata().is_none());
    assert!(verifier.resource_metadata_url().is_none());
    let router = Router::new()
        .route("/orders", get(whoami).layer(verifier.authenticate()))
        .merge(verifier.metadata_router());
    let base = serve(router).await;
    let (status, challenge, _) = call(&base, "/orders", None).await;
    assert_eq!(
        (status, challenge.as_str()),
        (StatusCode::UNAUTHORIZED, r#"Bearer realm="orders-api""#)
    );
    let r = reqwest::get(format!("{base}{WELL_KNOWN}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Declaring metadata for such an audience is a configuration mistake, caught at build.
    let err = Verifier::builder("https://auth.example.com")
        .audience("orders-api")
        .scopes_supported(["orders:read"])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("orders-api"), "{err}");
}
