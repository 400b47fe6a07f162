//! The axum layer and extractor over HTTP, with tokens from a real Tollgate.

use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::Value;
use tollgate_verify::{Claims, Verifier};

use crate::forge::{self, TestKey};
use crate::helpers::Tollgate;

pub(crate) async fn whoami(claims: Claims) -> String {
    claims.client_id().to_owned()
}

fn app(verifier: &Verifier) -> Router {
    Router::new()
        .route("/any", get(whoami).layer(verifier.authenticate()))
        .route(
            "/users",
            get(whoami).layer(verifier.require_all(["enterprise:user"])),
        )
        .route(
            "/both",
            get(whoami).layer(verifier.require_all(["enterprise:user", "reports:export"])),
        )
        .route(
            "/either",
            get(whoami).layer(verifier.require_any(["reports:export", "enterprise:user"])),
        )
        .route(
            "/nested",
            get(whoami).layer(verifier.require_all(["reports:export"])),
        )
        .layer(verifier.authenticate())
        .merge(Router::new().route("/misconfigured", get(whoami)))
        .route("/health", get(|| async { "ok" }))
}

pub(crate) async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

pub(crate) async fn call(
    base: &str,
    path: &str,
    auth: Option<&str>,
) -> (StatusCode, String, Value) {
    let mut req = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let challenge = r
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, challenge, body)
}

#[tokio::test]
async fn statuses_and_challenges_follow_rfc_6750() {
    let tg = Tollgate::start().await;
    let (id, secret) = tg.create_client("web-it", &["enterprise:user"]).await;
    let token = tg.token(&id, &secret, &[]).await;
    let verifier = tg.verifier().realm("test-api").build().unwrap();
    let base = serve(app(&verifier)).await;
    let bearer = format!("Bearer {token}");
    // The audience is the issuer's URL, so the metadata URL is on the issuer's origin.
    let metadata = format!(
        r#"resource_metadata="{}/.well-known/oauth-protected-resource""#,
        tg.issuer
    );

    let (status, _, body) = call(&base, "/users", Some(&bearer)).await;
    assert_eq!((status, body), (StatusCode::OK, Value::String(id.clone())));
    assert_eq!(call(&base, "/any", Some(&bearer)).await.0, StatusCode::OK);
    assert_eq!(
        call(&base, "/either", Some(&bearer)).await.0,
        StatusCode::OK
    );
    assert_eq!(call(&base, "/health", None).await.0, StatusCode::OK);

    // Missing scope: 403 insufficient_scope naming the scopes needed.
    let (status, challenge, body) = call(&base, "/both", Some(&bearer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge.starts_with(r#"Bearer realm="test-api", error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(
        challenge.ends_with(&format!(
            r#"scope="enterprise:user reports:export", {metadata}"#
        )),
        "{challenge}"
    );
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(
        call(&base, "/nested", Some(&bearer)).await.0,
        StatusCode::FORBIDDEN
    );

    // No token: 401 with a bare challenge.
    let (status, challenge, body) = call(&base, "/users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge, format!(r#"Bearer realm="test-api", {metadata}"#));
    assert!(body.get("error").is_none(), "{body}");
    let (status, challenge, _) = call(&base, "/users", Some("Basic dXNlcjpwYXNz")).await;
    assert_eq!(
        (status, challenge),
        (
            StatusCode::UNAUTHORIZED,
            format!(r#"Bearer realm="test-api", {metadata}"#)
        )
    );

    // Malformed header: 400 invalid_request.
    for bad in ["Bearer", "Bearer a b", "Bearer ab\"c"] {
        let (status, challenge, body) = call(&base, "/users", Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            challenge.contains(r#"error="invalid_request""#),
            "{challenge}"
        );
        // RFC 9728 §5.1 is about 401 and 403 only.
        assert!(!challenge.contains("resource_metadata"), "{challenge}");
        assert_eq!(body["error"], "invalid_request");
    }

    // Bad tokens: 401 invalid_token with a description.
    let (header, claims, _) = forge::decode(&token);
    let forged = TestKey::es256(header["kid"].as_str().unwrap()).token(&claims);
    let none = forge::unsigned(
        &serde_json::json!({"alg": "none", "typ": "at+jwt"}),
        &claims,
    );
    for (bad, description) in [
        (forged, "the access token's signature is invalid"),
        (
            none,
            "the access token is signed with an algorithm that is not accepted",
        ),
        (
            "abc".to_owned(),
            "the access token is malformed (not a JWS)",
        ),
    ] {
        let (status, challenge, body) = call(&base, "/users", Some(&format!("Bearer {bad}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            challenge,
            format!(
                r#"Bearer realm="test-api", error="invalid_token", error_description="{description}", {metadata}"#
            )
        );
        assert_eq!(body["error"], "invalid_token");
        assert_eq!(body["error_description"], description);
    }

    // A handler taking Claims without the layer in front fails closed.
    assert_eq!(
        call(&base, "/misconfigured", Some(&bearer)).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn unverifiable_tokens_get_503() {
    let tg = Tollgate::start().await;
    let (id, secret) = tg.create_client("web-it", &["enterprise:user"]).await;
    let token = tg.token(&id, &secret, &[]).await;
    let verifier = tg.verifier().build().unwrap();
    tg.stop().await; // Before any key was fetched.
    let base = serve(app(&verifier)).await;
    let r = reqwest::Client::new()
        .get(format!("{base}/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "5");
    assert!(r.headers().get(WWW_AUTHENTICATE).is_none());
}

#[tokio::test]
async fn an_inner_layer_does_not_trust_claims_another_verifier_checked() {
    let tg = Tollgate::start().await;
    tg.create_api("https://api.example.com", &["enterprise:user"])
        .await;
    tg.create_api("https://reports.example.com", &["reports:read"])
        .await;
    let (id, secret) = tg
        .create_client("web-bound", &["enterprise:user", "reports:read"])
        .await;
    // For the API its scope belongs to, not for the reports API.
    let token = tg
        .token(&id, &secret, &[("scope", "enterprise:user")])
        .await;
    let outer = Verifier::builder(&tg.issuer)
        .audience("https://api.example.com")
        .build()
        .unwrap();
    let reports = Verifier::builder(&tg.issuer)
        .audience("https://reports.example.com")
        .build()
        .unwrap();
    let router = Router::new()
        .route("/reports", get(whoami).layer(reports.authenticate()))
        .route(
            "/reports/users",
            get(whoami).layer(reports.require_all(["enterprise:user"])),
        )
        .route("/outer", get(whoami))
        .layer(outer.authenticate());
    let base = serve(router).await;
    let bearer = format!("Bearer {token}");

    assert_eq!(call(&base, "/outer", Some(&bearer)).await.0, StatusCode::OK);
    for path in ["/reports", "/reports/users"] {
        let (status, challenge, body) = call(&base, path, Some(&bearer)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
    }

    // A token for both audiences passes both layers.
    let both = tg
        .token(
            &id,
            &secret,
            &[
                ("resource", "https://api.example.com"),
                ("resource", "https://reports.example.com"),
            ],
        )
        .await;
    let bearer = format!("Bearer {both}");
    assert_eq!(
        call(&base, "/reports", Some(&bearer)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&base, "/reports/users", Some(&bearer)).await.0,
        StatusCode::OK
    );
}
