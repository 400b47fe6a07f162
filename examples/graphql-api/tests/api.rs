//! The example GraphQL API against a real in-process Tollgate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

#[path = "../../rest-api/tests/support/mod.rs"]
mod support;

use example_graphql_api::{Config, app};
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

async fn gql(api: &str, token: Option<&str>, query: &str) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{api}/graphql"))
        .json(&json!({"query": query}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn fields_with_the_right_scope_answer_200() {
    let tg = Tollgate::start().await;
    let api = start(&tg).await;
    let token = tg
        .client_token(&["enterprise:user", "reports:export"])
        .await;

    let r = gql(
        &api,
        Some(&token),
        r#"mutation { createUser(userName: "ada") { id userName createdBy } }"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["createUser"]["userName"], "ada", "{body}");
    assert!(body.get("errors").is_none(), "{body}");

    let r = gql(
        &api,
        Some(&token),
        r#"{ users { userName } reportExport(id: "q3") { id csv } whoami }"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["data"]["users"],
        json!([{"userName": "ada"}]),
        "{body}"
    );
    assert_eq!(body["data"]["reportExport"]["id"], "q3");
    assert!(body["data"]["whoami"].as_str().unwrap().starts_with("tgc_"));
}

#[tokio::test]
async fn a_missing_scope_is_a_forbidden_error_and_a_403() {
    let tg = Tollgate::start().await;
    let api = start(&tg).await;
    let users_only = tg.client_token(&["enterprise:user"]).await;

    let r = gql(
        &api,
        Some(&users_only),
        r#"{ reportExport(id: "q3") { csv } }"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let c = challenge(&r);
    assert!(
        c.starts_with("Bearer realm=\"example-graphql-api\", error=\"insufficient_scope\""),
        "{c}"
    );
    assert!(
        c.ends_with(&format!("scope=\"reports:export\", {RESOURCE_METADATA}")),
        "{c}"
    );
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"], Value::Null, "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "FORBIDDEN");
    assert_eq!(
        error["extensions"]["requiredScopes"],
        json!(["reports:export"])
    );
    assert_eq!(error["path"], json!(["reportExport"]));

    // Mixed: the permitted field runs, the forbidden one is null with an error; still a 403.
    let r = gql(
        &api,
        Some(&users_only),
        r#"{ users { id } reportExport(id: "q3") { csv } }"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["users"], json!([]));
    assert_eq!(body["data"]["reportExport"], Value::Null);

    // A mutation needs its scope too.
    let exporter = tg.client_token(&["reports:export"]).await;
    let r = gql(
        &api,
        Some(&exporter),
        r#"mutation { createUser(userName: "eve") { id } }"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&r).ends_with(&format!("scope=\"enterprise:user\", {RESOURCE_METADATA}")));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let r = gql(&api, Some(&users_only), "{ users { userName } }").await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["data"]["users"],
        json!([]),
        "eve was not created"
    );

    // Other GraphQL errors keep their usual 200.
    let r = gql(&api, Some(&users_only), "{ nosuchfield }").await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn no_token_and_bad_tokens_get_401_before_graphql() {
    let tg = Tollgate::start().await;
    let api = start(&tg).await;
    let token = tg.client_token(&["enterprise:user"]).await;

    let r = gql(&api, None, "{ whoami }").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&r),
        format!("Bearer realm=\"example-graphql-api\", {RESOURCE_METADATA}")
    );

    for (what, bad) in [
        ("tampered", support::tampered(&token)),
        ("wrongly signed", support::wrongly_signed(&token)),
        ("alg none", support::unsigned(&token)),
    ] {
        let r = gql(&api, Some(&bad), "{ whoami }").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert!(
            challenge(&r)
                .starts_with("Bearer realm=\"example-graphql-api\", error=\"invalid_token\""),
            "{what}"
        );
    }
    assert_eq!(
        gql(&api, Some(&token), "{ whoami }").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        reqwest::get(format!("{api}/health"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn expired_tokens_get_401() {
    let tg = Tollgate::start_with_offset(-2 * 3600).await;
    let api = start(&tg).await;
    let token = tg.client_token(&["enterprise:user"]).await;
    let r = gql(&api, Some(&token), "{ users { id } }").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let c = challenge(&r);
    assert!(c.contains("error_description=\"the access token has expired\""));
    assert!(c.ends_with(RESOURCE_METADATA), "{c}");
}

#[tokio::test]
async fn the_protected_resource_metadata_lists_the_field_scopes() {
    let tg = Tollgate::start().await;
    let api = start(&tg).await;
    let r = reqwest::get(format!("{api}{METADATA_PATH}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    let document: Value = r.json().await.unwrap();
    assert_eq!(
        document,
        json!({
            "resource": AUDIENCE,
            "authorization_servers": [tg.issuer],
            "scopes_supported": ["enterprise:user", "reports:export"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Example GraphQL API",
        })
    );
}
