//! Snapshots of the public contracts (`insta`, files in `snapshots/`): the discovery document,
//! the JWKS shape, the token response and its claims, the error bodies of every OAuth
//! endpoint, and admin API problem details. Values that change from run to run (the issuer's
//! port, key material, key ids, client ids, tokens) are replaced by placeholders, so a
//! snapshot changes only when the contract does. Review a change with `cargo insta review`.

use reqwest::{Method, Response};
use serde_json::{Map, Value, json};

use crate::helpers::{ADMIN_ID, ADMIN_SECRET, TestApp, basic_header, decode_jwt};

/// Replaces each needle in every string of `value` (keys untouched) by its placeholder.
fn placeholders(value: Value, subs: &[(&str, &str)]) -> Value {
    match value {
        Value::String(mut s) => {
            for (needle, placeholder) in subs {
                if !needle.is_empty() {
                    s = s.replace(needle, placeholder);
                }
            }
            Value::String(s)
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| placeholders(v, subs)).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, placeholders(v, subs)))
                .collect(),
        ),
        other => other,
    }
}

/// Status, the headers a client relies on, and the JSON body of an answer, with `subs` and the
/// issuer replaced by placeholders.
async fn exchange(app: &TestApp, r: Response, subs: &[(&str, &str)]) -> Value {
    let status = r.status().as_u16();
    let mut headers = Map::new();
    for name in [
        "content-type",
        "cache-control",
        "pragma",
        "www-authenticate",
    ] {
        if let Some(v) = r.headers().get(name) {
            headers.insert(name.to_owned(), json!(v.to_str().unwrap()));
        }
    }
    let text = r.text().await.unwrap();
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    let mut all = vec![(app.issuer.as_str(), "[issuer]")];
    all.extend_from_slice(subs);
    placeholders(
        json!({"status": status, "headers": headers, "body": body}),
        &all,
    )
}

#[tokio::test]
async fn discovery_document() {
    let app = TestApp::spawn().await;
    app.create_client("c", &["reports:export"]).await;
    let r = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    insta::assert_json_snapshot!(exchange(&app, r, &[]).await);
}

#[tokio::test]
async fn jwks_shape() {
    let app = TestApp::spawn_with(&[("TOLLGATE_EXTRA_SIGNING_ALGORITHMS", "EdDSA,RS256")]).await;
    let r = app.http.get(app.url("/oauth2/jwks")).send().await.unwrap();
    let mut jwks = exchange(&app, r, &[]).await;
    // One key per algorithm, in a stable order for the snapshot.
    jwks["body"]["keys"]
        .as_array_mut()
        .unwrap()
        .sort_by_key(|k| k["alg"].as_str().unwrap_or_default().to_owned());
    insta::assert_json_snapshot!(jwks, {
        ".body.keys[].kid" => "[kid]",
        ".body.keys[].x" => "[x]",
        ".body.keys[].y" => "[y]",
        ".body.keys[].n" => "[n]",
    });
}

#[tokio::test]
async fn token_response_and_claims() {
    let app = TestApp::spawn().await;
    let (id, secret) = app
        .create_client("reporter", &["reports:read", "reports:write"])
        .await;
    let r = app
        .token_form(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "reports:read"),
            ],
            Some((&id, &secret)),
        )
        .await;
    let response = exchange(&app, r, &[(&id, "[client_id]")]).await;
    let token = response["body"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    insta::assert_json_snapshot!("token_response", response, {
        ".body.access_token" => "[token]",
    });
    let (header, claims) = decode_jwt(&token);
    let decoded = placeholders(
        json!({"header": header, "claims": claims}),
        &[(&app.issuer, "[issuer]"), (&id, "[client_id]")],
    );
    insta::assert_json_snapshot!("token_claims", decoded, {
        ".header.kid" => "[kid]",
        ".claims.jti" => "[jti]",
    });
}

#[tokio::test]
async fn token_endpoint_errors() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("c", &["a"]).await;
    let subs = [(id.as_str(), "[client_id]")];
    let mut cases = Map::new();
    for (case, form, basic) in [
        (
            "unsupported_grant_type",
            vec![("grant_type", "password")],
            Some((id.as_str(), secret.as_str())),
        ),
        (
            "missing_grant_type",
            vec![],
            Some((id.as_str(), secret.as_str())),
        ),
        (
            "wrong_secret",
            vec![("grant_type", "client_credentials")],
            Some((id.as_str(), "not-the-secret")),
        ),
        (
            "no_client_authentication",
            vec![("grant_type", "client_credentials")],
            None,
        ),
        (
            "scope_not_granted",
            vec![("grant_type", "client_credentials"), ("scope", "b")],
            Some((id.as_str(), secret.as_str())),
        ),
    ] {
        let r = app.token_form(&form, basic).await;
        cases.insert(case.to_owned(), exchange(&app, r, &subs).await);
    }
    insta::assert_json_snapshot!(Value::Object(cases));
}

#[tokio::test]
async fn introspection_and_revocation_errors() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_client("c", &["a"]).await;
    let subs = [(id.as_str(), "[client_id]")];
    for (name, path) in [
        ("introspection_errors", "/oauth2/introspect"),
        ("revocation_errors", "/oauth2/revoke"),
    ] {
        let mut cases = Map::new();
        let r = app
            .http
            .post(app.url(path))
            .form(&[("token", "x")])
            .send()
            .await
            .unwrap();
        cases.insert(
            "no_client_authentication".to_owned(),
            exchange(&app, r, &subs).await,
        );
        let r = app
            .post_form(path, &[("token", "x")], (&id, "not-the-secret"))
            .await;
        cases.insert("wrong_secret".to_owned(), exchange(&app, r, &subs).await);
        let r = app.post_form(path, &[], (ADMIN_ID, ADMIN_SECRET)).await;
        cases.insert("missing_token".to_owned(), exchange(&app, r, &subs).await);
        insta::assert_json_snapshot!(name, Value::Object(cases));
    }
}

#[tokio::test]
async fn revocation_feed_errors() {
    let app = TestApp::spawn().await;
    let (api, api_secret) = app.create_client("api", &["tollgate:introspect"]).await;
    let (id, secret) = app.create_client("c", &["a"]).await;
    let subs = [(id.as_str(), "[client_id]"), (api.as_str(), "[api_id]")];
    let mut cases = Map::new();
    for (case, path, basic) in [
        ("no_client_authentication", "/oauth2/revocations", None),
        (
            "client_without_permission",
            "/oauth2/revocations",
            Some((id.as_str(), secret.as_str())),
        ),
        (
            "negative_cursor",
            "/oauth2/revocations?since=-1",
            Some((api.as_str(), api_secret.as_str())),
        ),
    ] {
        let mut req = app.http.get(app.url(path));
        if let Some((id, secret)) = basic {
            req = req.header("authorization", basic_header(id, secret));
        }
        let r = req.send().await.unwrap();
        cases.insert(case.to_owned(), exchange(&app, r, &subs).await);
    }
    insta::assert_json_snapshot!(Value::Object(cases));
}

#[tokio::test]
async fn admin_problem_details() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("reader", &["reports:export"]).await;
    let subs = [(id.as_str(), "[client_id]")];
    let mut cases = Map::new();

    let r = app
        .http
        .get(app.url("/admin/v1/clients"))
        .send()
        .await
        .unwrap();
    cases.insert("missing_token".to_owned(), exchange(&app, r, &subs).await);
    let reader = app.token(&id, &secret, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app.admin_with(&reader, Method::GET, "/clients", None).await;
    cases.insert(
        "insufficient_scope".to_owned(),
        exchange(&app, r, &subs).await,
    );
    let r = app
        .admin(Method::GET, "/clients/no-such-client", None)
        .await;
    cases.insert(
        "client_not_found".to_owned(),
        exchange(&app, r, &subs).await,
    );
    let r = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({"name": "  ", "scopes": ["ok", "not ok"], "access_token_lifetime": 5})),
        )
        .await;
    cases.insert(
        "validation_failed".to_owned(),
        exchange(&app, r, &subs).await,
    );
    let r = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({"name": "x", "scope": ["a"]})),
        )
        .await;
    cases.insert("invalid_json".to_owned(), exchange(&app, r, &subs).await);
    let r = app.admin(Method::GET, "/no-such-resource", None).await;
    cases.insert("unknown_path".to_owned(), exchange(&app, r, &subs).await);
    insta::assert_json_snapshot!(Value::Object(cases));
}
