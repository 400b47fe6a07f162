//! The example REST API against a real in-process Tollgate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod support;

use example_rest_api::{Config, app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{AUDIENCE, METADATA_PATH, RESOURCE_METADATA, Tollgate, challenge, serve};

async fn start(tg: &Tollgate) -> String {
    let config = Config {
        issuer: tg.issuer.clone(),
        audience: AUDIENCE.into(),
        listen: "127.0.0.1:0".into(),
        revocation: None,
    };
    serve(app(&config.verifier().unwrap())).await
}

async fn get(base: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn the_right_scope_gets_200_and_a_missing_one_403() {
    let tg = Tollgate::start().await;
    let api = start(&tg).await;
    let users = tg.client_token(&["enterprise:user"]).await;
    let exporter = tg.client_token(&["reports:export"]).await;

    let r = reqwest::Client::new()
        .post(format!("{api}/scim/v2/Users"))
        .bearer_auth(&users)
        .json(&json!({"userName": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["content-type"], "application/scim+json");
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["userName"], "ada@example.com");

    let r = get(&api, "/scim/v2/Users", Some(&users)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let list: Value = r.json().await.unwrap();
    assert_eq!(list["totalResults"], 1);

    let r = get(&api, "/reports/q3-2026/export", Some(&exporter)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/csv");
    assert!(
        r.text()
            .await
            .unwrap()
            .starts_with("report,requested_by,tenant\nq3-2026,tgc_")
    );

    // Each token lacks the other's scope.
    let r = get(&api, "/reports/q3-2026/export", Some(&users)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        challenge(&r),
        format!(
            "Bearer realm=\"example-rest-api\", error=\"insufficient_scope\", \
             error_description=\"the operation requires the scope(s) reports:export\", \
             scope=\"reports:export\", {RESOURCE_METADATA}"
        )
    );
    let r = reqwest::Client::new()
        .post(format!("{api}/scim/v2/Users"))
        .bearer_auth(&exporter)
        .json(&json!({"userName": "eve@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&r).contains("scope=\"enterprise:user\""));
    assert_eq!(
        get(&api, "/scim/v2/Users", Some(&exporter)).await.status(),
        StatusCode::FORBIDDEN
    );

    // A malformed body is the API's own 400, after authorization.
    let r = reqwest::Client::new()
        .post(format!("{api}/scim/v2/Users"))
        .bearer_auth(&users)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
}

#[tokio::test]
async fn no_token_and_bad_tokens_get_401() {
    let tg = Tollgate::start().await;
    let api = start(&tg).await;
    let token = tg
        .client_token(&["enterprise:user", "reports:export"])
        .await;

    assert_eq!(get(&api, "/health", None).await.status(), StatusCode::OK);

    let r = get(&api, "/scim/v2/Users", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&r),
        format!("Bearer realm=\"example-rest-api\", {RESOURCE_METADATA}")
    );

    for (what, bad) in [
        ("tampered", support::tampered(&token)),
        ("wrongly signed", support::wrongly_signed(&token)),
        ("alg none", support::unsigned(&token)),
    ] {
        for path in ["/scim/v2/Users", "/reports/1/export"] {
            let r = get(&api, path, Some(&bad)).await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what} {path}");
            let c = challenge(&r);
            assert!(
                c.starts_with("Bearer realm=\"example-rest-api\", error=\"invalid_token\""),
                "{what}: {c}"
            );
            assert!(c.ends_with(RESOURCE_METADATA), "{what}: {c}");
        }
    }
    // The genuine token still works.
    assert_eq!(
        get(&api, "/reports/1/export", Some(&token)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn expired_tokens_get_401() {
    // Two hours ago, this Tollgate issued a one-hour token.
    let tg = Tollgate::start_with_offset(-2 * 3600).await;
    let api = start(&tg).await;
    let token = tg.client_token(&["enterprise:user"]).await;
    let r = get(&api, "/scim/v2/Users", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&r),
        format!(
            "Bearer realm=\"example-rest-api\", error=\"invalid_token\", \
             error_description=\"the access token has expired\", {RESOURCE_METADATA}"
        )
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn the_protected_resource_metadata_describes_the_api() {
    let tg = Tollgate::start().await;
    let api = start(&tg).await;
    // Public: no token needed to learn where to get one.
    let r = get(&api, METADATA_PATH, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");
    let document: Value = r.json().await.unwrap();
    assert_eq!(
        document,
        json!({
            "resource": AUDIENCE,
            "authorization_servers": [tg.issuer],
            "scopes_supported": ["enterprise:user", "reports:export"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Example REST API",
        })
    );
}
