//! Introspection (RFC 7662), revocation (RFC 7009) and the revocation feed.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_ID, ADMIN_SECRET, TestApp, json_of};

async fn introspect(app: &TestApp, caller: (&str, &str), token: &str) -> Value {
    let r = app
        .post_form("/oauth2/introspect", &[("token", token)], caller)
        .await;
    let (s, h, b) = json_of(r).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(h["cache-control"], "no-store");
    b
}

fn inactive() -> Value {
    json!({"active": false})
}

async fn access_token(app: &TestApp, id: &str, secret: &str) -> String {
    app.token(id, secret, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn active_tokens_show_their_claims() {
    let app = TestApp::spawn().await;
    let (api, api_secret) = app
        .create_client("reports api", &["tollgate:introspect"])
        .await;
    let (id, secret) = app.create_client("exporter", &["reports:export"]).await;
    let r = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"tenants": ["acme", "globex"]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let t = app.token(&id, &secret, &[("tenant", "acme")]).await;
    let token = t["access_token"].as_str().unwrap();
    let info = introspect(&app, (&api, &api_secret), token).await;
    assert_eq!(
        info,
        json!({
            "active": true,
            "scope": "reports:export",
            "client_id": id,
            "sub": id,
            "aud": app.issuer,
            "iss": app.issuer,
            "exp": 1_900_003_600i64,
            "iat": 1_900_000_000i64,
            "jti": crate::helpers::decode_jwt(token).1["jti"],
            "token_type": "Bearer",
            "tenant": "acme",
        })
    );
    // An administrator may introspect too; body authentication works as well.
    assert_eq!(
        introspect(&app, (ADMIN_ID, ADMIN_SECRET), token).await["active"],
        true
    );
    let r = app
        .http
        .post(app.url("/oauth2/introspect"))
        .form(&[
            ("token", token),
            ("client_id", &api),
            ("client_secret", &api_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(r).await.2["active"], true);
}

#[tokio::test]
async fn anything_but_an_active_token_is_just_inactive() {
    let app = TestApp::spawn().await;
    let other = TestApp::spawn().await;
    let caller = (ADMIN_ID, ADMIN_SECRET);
    let (id, secret) = app.create_client("c", &["a"]).await;
    let token = access_token(&app, &id, &secret).await;

    for bad in ["", "not-a-jwt", "a.b.c", &format!("{token}x")] {
        if bad.is_empty() {
            continue;
        }
        assert_eq!(introspect(&app, caller, bad).await, inactive(), "{bad}");
    }
    // Tampered payload, and a token from another server (unknown key, foreign issuer).
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        parts[1].replacen('e', "f", 1),
        parts[2]
    );
    assert_eq!(introspect(&app, caller, &forged).await, inactive());
    let foreign = other.admin_token().await;
    assert_eq!(introspect(&app, caller, &foreign).await, inactive());

    // Expired.
    app.clock.advance(3600);
    assert_eq!(introspect(&app, caller, &token).await, inactive());
}

#[tokio::test]
async fn introspection_callers_must_authenticate_and_be_allowed() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("plain", &["reports:export"]).await;
    let token = access_token(&app, &id, &secret).await;

    let r = app
        .http
        .post(app.url("/oauth2/introspect"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    let (s, h, b) = json_of(r).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    assert!(h.contains_key("www-authenticate"));

    let r = app
        .post_form("/oauth2/introspect", &[("token", &token)], (&id, "wrong"))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Without `tollgate:introspect` a client introspects its own tokens (a client library
    // checking what it got), and no other client's: those are inactive to it.
    let r = app
        .post_form("/oauth2/introspect", &[("token", &token)], (&id, &secret))
        .await;
    let (s, _, b) = json_of(r).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["active"].as_bool(), b["client_id"].as_str()),
        (Some(true), Some(id.as_str()))
    );
    let (other, other_secret) = app.create_client("other", &["reports:export"]).await;
    let others = access_token(&app, &other, &other_secret).await;
    let r = app
        .post_form("/oauth2/introspect", &[("token", &others)], (&id, &secret))
        .await;
    let (s, _, b) = json_of(r).await;
    assert_eq!((s, b), (StatusCode::OK, json!({"active": false})));
    // The revocation feed still needs the scope.
    let r = app
        .http
        .get(app.url("/oauth2/revocations"))
        .basic_auth(&id, Some(&secret))
        .send()
        .await
        .unwrap();
    let (s, _, b) = json_of(r).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["error"], "unauthorized_client");

    let r = app
        .post_form("/oauth2/introspect", &[], (ADMIN_ID, ADMIN_SECRET))
        .await;
    let (s, _, b) = json_of(r).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );

    let r = app
        .http
        .get(app.url("/oauth2/introspect"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn clients_revoke_their_own_tokens() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("owner", &["a"]).await;
    let (other, other_secret) = app.create_client("other", &["a"]).await;
    let token = access_token(&app, &id, &secret).await;
    let keep = access_token(&app, &id, &secret).await;

    // Someone else's token: refused (RFC 7009 §2.1).
    let r = app
        .post_form(
            "/oauth2/revoke",
            &[("token", &token)],
            (&other, &other_secret),
        )
        .await;
    let (s, _, b) = json_of(r).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
    assert_eq!(
        introspect(&app, (ADMIN_ID, ADMIN_SECRET), &token).await["active"],
        true
    );

    let r = app
        .post_form(
            "/oauth2/revoke",
            &[("token", &token), ("token_type_hint", "access_token")],
            (&id, &secret),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(
        introspect(&app, (ADMIN_ID, ADMIN_SECRET), &token).await,
        inactive()
    );
    assert_eq!(
        introspect(&app, (ADMIN_ID, ADMIN_SECRET), &keep).await["active"],
        true
    );

    // Again, and unknown or garbage tokens: 200 as §2.2 says.
    for t in [token.as_str(), "garbage", "a.b.c"] {
        let r = app
            .post_form("/oauth2/revoke", &[("token", t)], (&id, &secret))
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{t}");
    }
    // An administrator may revoke anyone's token.
    let r = app
        .post_form(
            "/oauth2/revoke",
            &[("token", &keep)],
            (ADMIN_ID, ADMIN_SECRET),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        introspect(&app, (ADMIN_ID, ADMIN_SECRET), &keep).await,
        inactive()
    );

    let r = app
        .post_form("/oauth2/revoke", &[("token", "x")], (&id, "wrong"))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_revoked_admin_token_no_longer_opens_the_admin_api() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let r = app
        .post_form(
            "/oauth2/revoke",
            &[("token", &token)],
            (ADMIN_ID, ADMIN_SECRET),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .http
        .get(app.url("/admin/v1/clients"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn deleting_a_client_makes_all_its_tokens_inactive_at_once() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("doomed", &["a"]).await;
    let tokens = [
        access_token(&app, &id, &secret).await,
        access_token(&app, &id, &secret).await,
    ];
    for t in &tokens {
        assert_eq!(
            introspect(&app, (ADMIN_ID, ADMIN_SECRET), t).await["active"],
            true
        );
    }
    let r = app
        .admin(Method::DELETE, &format!("/clients/{id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for t in &tokens {
        assert_eq!(
            introspect(&app, (ADMIN_ID, ADMIN_SECRET), t).await,
            inactive()
        );
    }
}

#[tokio::test]
async fn the_revocation_feed_lists_what_changed_since_a_cursor() {
    let app = TestApp::spawn().await;
    let (api, api_secret) = app.create_client("api", &["tollgate:introspect"]).await;
    let (id, secret) = app.create_client("c", &["a"]).await;
    let (gone, _) = app.create_client("gone", &["a"]).await;
    let token = access_token(&app, &id, &secret).await;
    let jti = crate::helpers::decode_jwt(&token).1["jti"].clone();

    let feed = |since: i64| {
        let app = &app;
        let (api, api_secret) = (api.clone(), api_secret.clone());
        async move {
            let r = app
                .http
                .get(app.url(&format!("/oauth2/revocations?since={since}")))
                .header(
                    "authorization",
                    crate::helpers::basic_header(&api, &api_secret),
                )
                .send()
                .await
                .unwrap();
            let (s, h, b) = json_of(r).await;
            assert_eq!(s, StatusCode::OK, "{b}");
            assert_eq!(h["cache-control"], "no-store");
            b
        }
    };
    assert_eq!(feed(0).await, json!({"revocations": [], "next_cursor": 0}));

    let r = app
        .post_form("/oauth2/revoke", &[("token", &token)], (&id, &secret))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    app.clock.advance(5);
    let r = app
        .admin(Method::DELETE, &format!("/clients/{gone}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let all = feed(0).await;
    let entries = all["revocations"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{all}");
    assert_eq!(entries[0]["jti"], jti);
    assert_eq!(entries[0]["client_id"], id.as_str());
    assert_eq!(entries[0]["exp"], 1_900_003_600i64);
    assert_eq!(entries[1]["client_id"], gone.as_str());
    assert_eq!(entries[1]["issued_before"], 1_900_000_005i64);
    assert_eq!(all["next_cursor"], entries[1]["cursor"]);
    let after_first = feed(entries[0]["cursor"].as_i64().unwrap()).await;
    assert_eq!(after_first["revocations"].as_array().unwrap().len(), 1);
    let caught_up = feed(all["next_cursor"].as_i64().unwrap()).await;
    assert_eq!(caught_up["revocations"], json!([]));
    assert_eq!(caught_up["next_cursor"], all["next_cursor"]);

    // Who may read it.
    let r = app
        .http
        .get(app.url("/oauth2/revocations"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .get(app.url("/oauth2/revocations"))
        .header("authorization", crate::helpers::basic_header(&id, &secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .http
        .get(app.url("/oauth2/revocations?since=-1"))
        .header(
            "authorization",
            crate::helpers::basic_header(&api, &api_secret),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Once every token concerned has expired, entries are pruned.
    app.clock.advance(3600);
    app.tollgate
        .prune_revocations(app.tollgate.now())
        .await
        .unwrap();
    assert_eq!(
        feed(0).await["revocations"].as_array().unwrap().len(),
        1,
        "the deleted client's entry stays longer"
    );
    app.clock.advance(86_400);
    app.tollgate
        .prune_revocations(app.tollgate.now())
        .await
        .unwrap();
    assert_eq!(feed(0).await["revocations"], json!([]));
}

#[tokio::test]
async fn revocations_survive_a_restart() {
    let settings = [("TOLLGATE_ISSUER", "http://localhost:9")];
    let app = TestApp::spawn_with(&settings).await;
    let (id, secret) = app.create_client("c", &["a"]).await;
    let token = access_token(&app, &id, &secret).await;
    let r = app
        .post_form("/oauth2/revoke", &[("token", &token)], (&id, &secret))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let dir = app.dir.clone();
    app.stop().await;
    let app = TestApp::spawn_in(dir, &settings).await;
    assert_eq!(
        introspect(&app, (ADMIN_ID, ADMIN_SECRET), &token).await,
        inactive()
    );
}

#[tokio::test]
async fn a_client_revoking_over_and_over_cannot_grow_the_revocation_feed_without_bound() {
    let app = TestApp::spawn().await;
    let (api, api_secret) = app.create_client("api", &["tollgate:introspect"]).await;
    let (id, secret) = app.create_client("churner", &["a"]).await;
    let (other, other_secret) = app.create_client("bystander", &["a"]).await;
    let bystander = access_token(&app, &other, &other_secret).await;

    let mut revoked = Vec::new();
    for _ in 0..100 {
        let token = access_token(&app, &id, &secret).await;
        let r = app
            .post_form("/oauth2/revoke", &[("token", &token)], (&id, &secret))
            .await;
        // RFC 7009 §2.2: 200 however the revocation is recorded.
        assert_eq!(r.status(), StatusCode::OK);
        revoked.push(token);
        app.clock.advance(1);
    }

    // The whole feed, page by page.
    let mut entries = Vec::new();
    let mut since = 0;
    loop {
        let r = app
            .http
            .get(app.url(&format!("/oauth2/revocations?since={since}")))
            .header(
                "authorization",
                crate::helpers::basic_header(&api, &api_secret),
            )
            .send()
            .await
            .unwrap();
        let (s, _, b) = json_of(r).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let page = b["revocations"].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        since = b["next_cursor"].as_i64().unwrap();
        entries.extend(page);
    }
    let mine = entries
        .iter()
        .filter(|e| e["client_id"] == id.as_str())
        .count();
    assert!(
        mine <= tollgate::domain::revocation::MAX_TOKEN_REVOCATIONS_PER_CLIENT + 1,
        "{mine} feed entries for one client"
    );

    for token in &revoked {
        assert_eq!(
            introspect(&app, (&api, &api_secret), token).await,
            inactive()
        );
    }
    // A token fetched afterwards works, and other clients' tokens were never touched.
    let fresh = access_token(&app, &id, &secret).await;
    assert_eq!(
        introspect(&app, (&api, &api_secret), &fresh).await["active"],
        true
    );
    assert_eq!(
        introspect(&app, (&api, &api_secret), &bystander).await["active"],
        true
    );
}
