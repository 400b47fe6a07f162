//! Discovery (RFC 8414), the JWKS, and health endpoints.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

#[tokio::test]
async fn discovery_is_served_at_both_well_known_paths() {
    let app = TestApp::spawn().await;
    app.create_client("c", &["reports:export"]).await;
    let (s, h, doc) = json_of(
        app.http
            .get(app.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["cache-control"].to_str().unwrap().contains("max-age"));
    assert_eq!(doc["issuer"], app.issuer);
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/oauth2/token", app.issuer)
    );
    assert_eq!(doc["jwks_uri"], format!("{}/oauth2/jwks", app.issuer));
    assert_eq!(doc["grant_types_supported"], json!(["client_credentials"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(doc["response_types_supported"], json!([]));
    for (endpoint, path) in [
        ("introspection_endpoint", "/oauth2/introspect"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("revocation_list_endpoint", "/oauth2/revocations"),
    ] {
        assert_eq!(doc[endpoint], format!("{}{path}", app.issuer), "{endpoint}");
    }
    for methods in [
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        assert_eq!(
            doc[methods],
            json!(["client_secret_basic", "client_secret_post"])
        );
    }
    // The catalogue's permissions, every API's, whether or not a client holds them.
    assert_eq!(
        doc["scopes_supported"],
        json!([
            "reports:export",
            "tollgate:admin",
            "tollgate:apis:read",
            "tollgate:apis:write",
            "tollgate:audit:read",
            "tollgate:clients:read",
            "tollgate:clients:write",
            "tollgate:introspect",
            "tollgate:keys:read",
            "tollgate:keys:write"
        ])
    );
    assert_eq!(
        doc["access_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    let (_, _, oidc) = json_of(
        app.http
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(doc, oidc);
}

#[tokio::test]
async fn an_issuer_with_a_path_gets_rfc_8414_section_3_1_locations() {
    let app = TestApp::spawn_with(&[("TOLLGATE_ISSUER", "http://localhost:9/tenant-a")]).await;
    for path in [
        "/.well-known/oauth-authorization-server/tenant-a",
        "/tenant-a/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let (s, _, doc) = json_of(app.http.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert_eq!(doc["issuer"], "http://localhost:9/tenant-a");
        assert_eq!(
            doc["token_endpoint"],
            "http://localhost:9/tenant-a/oauth2/token"
        );
    }
}

#[tokio::test]
async fn jwks_has_cache_headers_and_revalidates() {
    let app = TestApp::spawn().await;
    let r = app.http.get(app.url("/oauth2/jwks")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/jwk-set+json");
    assert_eq!(r.headers()["cache-control"], "public, max-age=300");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let jwks: Value = r.json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "ES256");
    assert!(key.get("d").is_none(), "never the private part");
    let r = app
        .http
        .get(app.url("/oauth2/jwks"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let (s, _, same) = json_of(
        app.http
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(same, jwks);
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let (s, _, b) = json_of(app.http.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!((s, b), (StatusCode::OK, json!({"status": "ok"})));
    let (s, _, b) = json_of(app.http.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!((s, b), (StatusCode::OK, json!({"status": "ready"})));
}

#[tokio::test]
async fn another_method_on_a_known_path_is_an_oauth_error_with_allow() {
    let app = TestApp::spawn().await;
    for path in [
        "/oauth2/jwks",
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/oauth2/revocations",
        "/healthz",
        "/readyz",
    ] {
        let r = app.http.delete(app.url(path)).send().await.unwrap();
        let (s, h, b) = json_of(r).await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(b["error"], "invalid_request", "{path}: {b}");
        assert!(h["allow"].to_str().unwrap().contains("GET"), "{path}");
    }
    for path in ["/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        let (s, h, b) = json_of(r).await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(b["error"], "invalid_request", "{path}: {b}");
        assert_eq!(h["allow"], "POST", "{path}");
    }
}
