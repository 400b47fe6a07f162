//! The admin API: authorization (RFC 6750), problem details (RFC 9457), clients and secrets.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_ID, TestApp, json_of};

fn assert_problem(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
    want: u16,
    code: &str,
) {
    assert_eq!(status.as_u16(), want, "{body}");
    assert_eq!(
        headers["content-type"], "application/problem+json",
        "{body}"
    );
    assert_eq!(body["status"], want);
    assert_eq!(body["code"], code, "{body}");
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string());
}

#[tokio::test]
async fn bearer_authorization_follows_rfc_6750() {
    let app = TestApp::spawn().await;
    let url = app.url("/admin/v1/clients");

    let r = app.http.get(&url).send().await.unwrap();
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 401, "missing_token");
    let challenge = h["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer realm=") && !challenge.contains("error="),
        "{challenge}"
    );

    let r = app
        .http
        .get(&url)
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 401, "invalid_token");
    assert!(
        h["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );

    // A tampered token.
    let token = app.admin_token().await;
    let mut tampered = token.clone().into_bytes();
    let i = token.find('.').unwrap() + 5;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let r = app
        .http
        .get(&url)
        .bearer_auth(String::from_utf8(tampered).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // A valid token without tollgate:admin.
    let (id, secret) = app.create_client("reader", &["reports:export"]).await;
    let t = app.token(&id, &secret, &[]).await;
    let r = app
        .http
        .get(&url)
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 403, "insufficient_scope");
    let challenge = h["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"tollgate:clients:read\""),
        "{challenge}"
    );

    // Expired: the injected clock moves past `exp`.
    app.clock.advance(3600);
    let r = app.http.get(&url).bearer_auth(&token).send().await.unwrap();
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 401, "invalid_token");
    assert!(b["detail"].as_str().unwrap().contains("expired"));

    // Another scheme is no bearer token at all.
    let r = app
        .http
        .get(&url)
        .basic_auth("a", Some("b"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tokens_of_a_deleted_admin_client_stop_working() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("second admin", &["tollgate:admin"]).await;
    let token = app.token(&id, &secret, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = app.url("/admin/v1/clients");
    assert_eq!(
        app.http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = app
        .admin(Method::DELETE, &format!("/clients/{id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn admin_api_wants_tokens_meant_for_it() {
    let app = TestApp::spawn().await;
    app.create_api("https://api.example.com", "Reports", &["reports:export"])
        .await;
    let (id, secret) = app
        .create_client("both", &["reports:export", "tollgate:admin"])
        .await;
    // A token for another API is no token for the admin API, whatever its scopes.
    let t = app
        .token(&id, &secret, &[("resource", "https://api.example.com")])
        .await;
    assert_eq!(t["scope"], "reports:export");
    let r = app
        .http
        .get(app.url("/admin/v1/clients"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 401, "invalid_token");
    assert!(b["detail"].as_str().unwrap().contains("audience"), "{b}");
    let issuer = app.issuer.clone();
    let t = app.token(&id, &secret, &[("resource", &issuer)]).await;
    assert_eq!(t["scope"], "tollgate:admin");
    let r = app
        .http
        .get(app.url("/admin/v1/clients"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let _ = ADMIN_ID;
}

#[tokio::test]
async fn create_get_update_delete() {
    let app = TestApp::spawn().await;
    app.create_api(
        "https://scim.example.com/v2",
        "SCIM API",
        &["enterprise:user"],
    )
    .await;
    app.create_api(
        "https://reports.example.com",
        "Reports API",
        &["reports:export"],
    )
    .await;
    let r = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({
                "name": "User Provisioning",
                "description": "Automates provisioning of users from Entra ID via SCIM.",
                "scopes": ["enterprise:user"]
            })),
        )
        .await;
    let (s, h, created) = json_of(r).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(h["cache-control"], "no-store");
    let id = created["client"]["client_id"].as_str().unwrap().to_owned();
    assert_eq!(h["location"], format!("/admin/v1/clients/{id}").as_str());
    let secret = created["client_secret"].as_str().unwrap();
    assert!(secret.starts_with("tgs_") && secret.len() == 76);
    assert_eq!(created["client"]["scopes"], json!(["enterprise:user"]));
    assert_eq!(created["client"]["created_at"], "2030-03-17T17:46:40Z");
    assert_eq!(created["client"]["secrets"].as_array().unwrap().len(), 1);

    let (s, _, got) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, created["client"]);
    assert!(
        !got.to_string().contains(secret),
        "the secret is never returned again"
    );
    let secret_fields: Vec<&str> = got["secrets"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        secret_fields,
        [
            "created_at",
            "disabled_at",
            "expires_at",
            "last_used_at",
            "secret_id"
        ]
    );

    app.clock.advance(10);
    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"name": "SCIM", "description": "", "scopes": ["enterprise:user", "reports:export"]})),
        )
        .await;
    let (s, _, updated) = json_of(r).await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "SCIM");
    assert_eq!(updated["description"], "");
    assert_eq!(
        updated["scopes"],
        json!(["enterprise:user", "reports:export"])
    );
    assert_eq!(updated["updated_at"], "2030-03-17T17:46:50Z");
    assert_eq!(updated["created_at"], "2030-03-17T17:46:40Z");

    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"access_token_lifetime": 300})),
        )
        .await;
    assert_eq!(json_of(r).await.2["access_token_lifetime"], 300);
    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"access_token_lifetime": null})),
        )
        .await;
    let (_, _, reset) = json_of(r).await;
    assert_eq!(reset["access_token_lifetime"], Value::Null);
    assert_eq!(
        reset["name"], "SCIM",
        "fields not in the patch are left alone"
    );

    let r = app
        .admin(Method::DELETE, &format!("/clients/{id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for method in [Method::GET, Method::DELETE] {
        let (s, h, b) = json_of(app.admin(method, &format!("/clients/{id}"), None).await).await;
        assert_problem(s, &h, &b, 404, "client_not_found");
    }
    let (s, h, b) = json_of(app.admin(Method::GET, "/clients/bad%20id", None).await).await;
    assert_problem(s, &h, &b, 404, "client_not_found");
}

#[tokio::test]
async fn validation_errors_name_every_bad_field() {
    let app = TestApp::spawn().await;
    let r = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({"name": "  ", "scopes": ["ok", "not ok"], "access_token_lifetime": 5})),
        )
        .await;
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 400, "validation_failed");
    let fields: Vec<&str> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "scopes[1]", "access_token_lifetime"]);

    let r = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({"name": "x", "scope": ["a"]})),
        )
        .await;
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 400, "invalid_json");
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `scope`"),
        "{b}"
    );

    let r = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({"description": "no name"})),
        )
        .await;
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 400, "invalid_json");

    let token = app.admin_token().await;
    let r = app
        .http
        .post(app.url("/admin/v1/clients"))
        .bearer_auth(&token)
        .body("{\"name\": \"x\"}")
        .send()
        .await
        .unwrap();
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 415, "unsupported_media_type");

    let r = app
        .http
        .post(app.url("/admin/v1/clients"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 400, "invalid_json");

    let r = app
        .http
        .post(app.url("/admin/v1/clients"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{}\"}}", "x".repeat(100_000)))
        .send()
        .await
        .unwrap();
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 413, "payload_too_large");
}

#[tokio::test]
async fn names_and_descriptions_refuse_bidi_overrides_and_control_characters() {
    let app = TestApp::spawn().await;
    // A right-to-left override makes "a\u{202e}txt.exe" read as "aexe.txt" in a console.
    for name in [
        "a\u{202e}b",
        "a\u{202a}b",
        "a\u{2066}b",
        "a\u{2069}b",
        "a\u{200e}b",
        "a\u{200f}b",
        "a\u{61c}b",
        "a\u{1b}[31mb",
        "a\nb",
    ] {
        let r = app
            .admin(Method::POST, "/clients", Some(json!({"name": name})))
            .await;
        let (s, h, b) = json_of(r).await;
        assert_problem(s, &h, &b, 400, "validation_failed");
        assert_eq!(b["errors"][0]["field"], "name", "{name:?}: {b}");
    }
    for description in ["x\u{202e}y", "x\u{2067}y", "x\u{7}y", "x\ty"] {
        let r = app
            .admin(
                Method::POST,
                "/clients",
                Some(json!({"name": "ok", "description": description})),
            )
            .await;
        let (s, h, b) = json_of(r).await;
        assert_problem(s, &h, &b, 400, "validation_failed");
        assert_eq!(
            b["errors"][0]["field"], "description",
            "{description:?}: {b}"
        );
    }
    // Renaming is checked the same way.
    let (id, _) = app.create_client("plain", &[]).await;
    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"name": "pl\u{202e}ain", "description": "d\u{200f}"})),
        )
        .await;
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 400, "validation_failed");
    let fields: Vec<&str> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "description"]);
    // Other scripts, right-to-left letters and descriptions over several lines stay fine.
    let r = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({"name": "תשלומים – Zahlungsdienst", "description": "line one\nline two"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn names_are_unique() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_client("one", &[]).await;
    app.create_client("two", &[]).await;
    let r = app
        .admin(Method::POST, "/clients", Some(json!({"name": "one"})))
        .await;
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 409, "name_taken");
    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"name": "two"})),
        )
        .await;
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 409, "name_taken");
    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"name": "one"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "keeping one's own name is fine");
}

#[tokio::test]
async fn list_is_paginated_with_a_cursor() {
    let app = TestApp::spawn().await;
    let mut expected = vec![ADMIN_ID.to_owned()];
    for i in 0..7 {
        app.clock.advance(1);
        expected.push(app.create_client(&format!("client {i}"), &["a"]).await.0);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/clients?limit=3&cursor={c}"),
            None => "/clients?limit=3".to_owned(),
        };
        let (s, _, page) = json_of(app.admin(Method::GET, &path, None).await).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        pages += 1;
        for c in page["clients"].as_array().unwrap() {
            seen.push(c["client_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "every client once, oldest first");

    for bad in [
        "/clients?limit=0",
        "/clients?limit=201",
        "/clients?cursor=zzz",
        "/clients?limit=x",
        "/clients?page=2",
    ] {
        let (s, h, b) = json_of(app.admin(Method::GET, bad, None).await).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
        assert_eq!(h["content-type"], "application/problem+json");
    }
}

#[tokio::test]
async fn secrets_are_added_listed_and_removed() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_client("c", &["a"]).await;
    for _ in 0..4 {
        let r = app
            .admin(
                Method::POST,
                &format!("/clients/{id}/secrets"),
                Some(json!({})),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = app
        .admin(Method::POST, &format!("/clients/{id}/secrets"), None)
        .await;
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 409, "too_many_secrets");

    let (_, _, client) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    let ids: Vec<String> = client["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["secret_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 5);
    for sid in &ids[1..] {
        let r = app
            .admin(
                Method::DELETE,
                &format!("/clients/{id}/secrets/{sid}"),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let r = app
        .admin(
            Method::DELETE,
            &format!("/clients/{id}/secrets/{}", ids[0]),
            None,
        )
        .await;
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 409, "last_secret");
    let r = app
        .admin(
            Method::DELETE,
            &format!("/clients/{id}/secrets/{}", ids[1]),
            None,
        )
        .await;
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 404, "secret_not_found");

    let r = app
        .admin(
            Method::POST,
            &format!("/clients/{id}/secrets"),
            Some(json!({"expires_at": "yesterday"})),
        )
        .await;
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 400, "validation_failed");
    let r = app
        .admin(
            Method::POST,
            &format!("/clients/{id}/secrets"),
            Some(json!({"expires_at": "2001-01-01T00:00:00Z"})),
        )
        .await;
    let (s, h, b) = json_of(r).await;
    assert_problem(s, &h, &b, 400, "validation_failed");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems_too() {
    let app = TestApp::spawn().await;
    let (s, h, b) = json_of(app.http.get(app.url("/nope")).send().await.unwrap()).await;
    assert_problem(s, &h, &b, 404, "not_found");
    let (s, h, b) = json_of(app.admin(Method::PUT, "/clients", None).await).await;
    assert_problem(s, &h, &b, 405, "method_not_allowed");
}

#[tokio::test]
async fn openapi_document_matches_the_committed_snapshot() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(app.url("/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let served = r.text().await.unwrap();
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/clients",
        "/clients/{client_id}",
        "/clients/{client_id}/secrets",
        "/clients/{client_id}/secrets/{secret_id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    let snapshot =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/admin-openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, format!("{served}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(&snapshot)
        .expect("docs/admin-openapi.json exists (run with UPDATE_SNAPSHOTS=1)");
    // Not assert_eq!: printing both documents would bury the message.
    assert!(
        committed.trim_end() == served,
        "the admin API changed: review `git diff docs/admin-openapi.json` after rerunning with \
         UPDATE_SNAPSHOTS=1"
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for op in item.as_object().unwrap().values() {
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                let templated = path.contains(&format!("{{{name}}}"));
                assert_eq!(param["in"] == "path", templated, "{path}: where {name} is");
            }
        }
    }
}

#[tokio::test]
async fn malformed_path_ids_and_oversized_bodies_are_problems() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_client("c", &["a"]).await;
    let token = app.admin_token().await;
    for path in [
        "/clients/%FF".to_owned(),
        format!("/clients/{id}/secrets/%FF"),
    ] {
        let r = app.admin_with(&token, Method::DELETE, &path, None).await;
        let (s, h, b) = json_of(r).await;
        assert!(s.is_client_error(), "{path}: {s}");
        assert_eq!(h["content-type"], "application/problem+json", "{path}: {b}");
    }
    let r = app
        .http
        .post(app.url(&format!("/admin/v1/clients/{id}/secrets")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!("{{\"pad\": \"{}\"}}", "x".repeat(200_000)))
        .send()
        .await
        .unwrap();
    let (s, h, b) = json_of(r).await;
    assert_eq!(s, 413, "{b}");
    assert_eq!(h["content-type"], "application/problem+json");
}
