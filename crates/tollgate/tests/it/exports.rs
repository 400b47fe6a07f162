//! Credentials exported for the tools that use them (env file, Postman).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn credentials_export_as_env_and_postman() {
    let app = TestApp::spawn().await;
    app.ensure_permissions(&["reports:export"]).await;
    let admin = app.admin_token().await;
    let r = app
        .http
        .post(app.url("/admin/v1/clients?format=env"))
        .bearer_auth(&admin)
        .json(&json!({"name": "Report exporter", "scopes": ["reports:export"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/x-dotenv")
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("report-exporter.env")
    );
    let env = r.text().await.unwrap();
    let var = |name: &str| -> String {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .trim_matches('"')
            .to_owned()
    };
    assert_eq!(
        var("OAUTH_TOKEN_URL"),
        format!("{}/oauth2/token", app.issuer)
    );
    assert_eq!(var("OAUTH_ISSUER"), app.issuer);
    assert_eq!(var("OAUTH_SCOPE"), "reports:export");
    // The exported credentials work.
    let t = app
        .token(&var("OAUTH_CLIENT_ID"), &var("OAUTH_CLIENT_SECRET"), &[])
        .await;
    assert_eq!(t["scope"], "reports:export");

    // Rotation time, as a Postman environment chosen by the Accept header.
    let id = var("OAUTH_CLIENT_ID");
    let r = app
        .http
        .post(app.url(&format!("/admin/v1/clients/{id}/secrets")))
        .bearer_auth(&admin)
        .header("accept", "application/vnd.postman.environment+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let postman: Value = r.json().await.unwrap();
    assert_eq!(postman["_postman_variable_scope"], "environment");
    let value = |k: &str| {
        postman["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == k)
            .unwrap()["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(value("client_id"), id);
    assert_eq!(value("token_url"), format!("{}/oauth2/token", app.issuer));
    app.token(&id, &value("client_secret"), &[]).await;

    let r = app
        .http
        .post(app.url("/admin/v1/clients?format=xml"))
        .bearer_auth(&admin)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
