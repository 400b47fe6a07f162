//! Findings of the security audit: what a token is worth after its client changes, the
//! revocation cut-off against tokens minted during a deletion or a leak report, repeated
//! `resource` values, and over-long bearer tokens.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tollgate::domain::client::ClientId;
use tollgate::domain::secret::ClientSecret;
use tollgate::service::{BearerError, Credentials};

use crate::helpers::{ADMIN_ID, ADMIN_SECRET, TestApp, decode_jwt, json_of};

/// The server-side token check's limit, as `tollgate-verify` has it.
const MAX_TOKEN_LEN: usize = 16 * 1024;

#[tokio::test]
async fn a_demoted_administrator_loses_the_admin_api_at_once() {
    let app = TestApp::spawn().await;
    let (ops, ops_secret) = app
        .create_client("ops", &["tollgate:admin", "reports:export"])
        .await;
    let token = app
        .token(&ops, &ops_secret, &[("resource", &app.issuer)])
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app.admin_with(&token, Method::GET, "/clients", None).await;
    assert_eq!(r.status(), StatusCode::OK);

    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{ops}"),
            Some(json!({"scopes": ["reports:export"]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // In the same second: the token still carries the scope, the client no longer has it.
    let r = app.admin_with(&token, Method::GET, "/clients", None).await;
    let (s, h, b) = json_of(r).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(
        h["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    let info = app.introspect(&token).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(
        info["scope"], "reports:export",
        "introspection reports what the token is still worth"
    );

    // Nothing left: the token stays active (its client exists) but carries no scope.
    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{ops}"),
            Some(json!({"scopes": []})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let info = app.introspect(&token).await;
    assert_eq!(info["active"], true, "{info}");
    assert!(info.get("scope").is_none(), "{info}");
}

/// The race, made deterministic with the injected clock: the report is made at `t0` (when
/// the handler read the clock), the clock then turns, and a token is minted with the leaked
/// secret before the report reaches the cache. Its `iat` is after `t0`.
#[tokio::test]
async fn a_token_minted_while_a_leak_is_being_reported_is_revoked() {
    let app = TestApp::spawn().await;
    let (id, leaked) = app.create_client("leaky", &["a"]).await;
    let t0 = app.tollgate.now();
    app.clock.advance(1);
    let token = app.token(&id, &leaked, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(decode_jwt(&token).1["iat"], t0.0 + 1);

    app.tollgate
        .disable_leaked_secret("test", &ClientSecret::new(leaked.clone()), t0)
        .await
        .unwrap();
    assert_eq!(app.introspect(&token).await, json!({"active": false}));
    let feed = revocation_feed(&app).await;
    assert!(
        feed.iter()
            .any(|e| e["client_id"] == id.as_str() && e["issued_before"] == t0.0 + 1),
        "resource servers revoke it too: {feed:?}"
    );
}

#[tokio::test]
async fn a_token_minted_while_its_client_is_being_deleted_is_in_the_revocation_feed() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("doomed", &["a"]).await;
    let t0 = app.tollgate.now();
    app.clock.advance(1);
    let token = app.token(&id, &secret, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let iat = decode_jwt(&token).1["iat"].as_i64().unwrap();

    app.tollgate
        .delete_client(
            &tollgate::domain::actor::Actor::system(),
            &ClientId::parse(&id).unwrap(),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(app.introspect(&token).await, json!({"active": false}));
    // Resource servers verify offline and learn of the deletion from the feed only.
    let feed = revocation_feed(&app).await;
    let entry = feed
        .iter()
        .find(|e| e["client_id"] == id.as_str())
        .expect("the deletion is in the feed");
    assert!(
        entry["issued_before"].as_i64().unwrap() >= iat,
        "the cut-off {} covers the token issued at {iat}",
        entry["issued_before"]
    );
}

async fn revocation_feed(app: &TestApp) -> Vec<serde_json::Value> {
    let r = app
        .http
        .get(app.url("/oauth2/revocations?since=0"))
        .header(
            "authorization",
            crate::helpers::basic_header(ADMIN_ID, ADMIN_SECRET),
        )
        .send()
        .await
        .unwrap();
    let (s, _, b) = json_of(r).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["revocations"].as_array().unwrap().clone()
}

#[tokio::test]
async fn repeated_resources_are_deduplicated_and_their_number_capped() {
    let audiences: Vec<String> = (0..11)
        .map(|i| format!("https://api{i}.example.com"))
        .collect();
    let app = TestApp::spawn().await;
    let scopes: Vec<String> = (0..11).map(|i| format!("s{i}")).collect();
    for (i, aud) in audiences.iter().enumerate() {
        app.create_api(aud, &format!("API {i}"), &[&scopes[i]])
            .await;
    }
    let held: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let (id, secret) = app.create_client("c", &held).await;

    let mut form = vec![("grant_type", "client_credentials")];
    form.extend(std::iter::repeat_n(
        ("resource", audiences[1].as_str()),
        300,
    ));
    form.push(("resource", audiences[2].as_str()));
    form.push(("resource", audiences[1].as_str()));
    let r = app.token_form(&form, Some((&id, &secret))).await;
    let (s, _, b) = json_of(r).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let token = b["access_token"].as_str().unwrap();
    assert_eq!(
        decode_jwt(token).1["aud"],
        json!([audiences[1], audiences[2]]),
        "each audience once, in the order first asked"
    );
    assert!(token.len() < 2048, "{} bytes", token.len());

    let mut form = vec![("grant_type", "client_credentials")];
    form.extend(audiences[..10].iter().map(|a| ("resource", a.as_str())));
    let r = app.token_form(&form, Some((&id, &secret))).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "ten distinct audiences are fine"
    );

    let mut form = vec![("grant_type", "client_credentials")];
    form.extend(audiences.iter().map(|a| ("resource", a.as_str())));
    let r = app.token_form(&form, Some((&id, &secret))).await;
    let (s, _, b) = json_of(r).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["error"], "invalid_request");
    assert_eq!(
        b["error_description"],
        "at most 10 distinct `resource` values may be requested"
    );
}

#[tokio::test]
async fn over_long_tokens_are_refused_before_decoding() {
    let app = TestApp::spawn().await;
    // Three well-formed base64url parts: only the length is wrong.
    let part = "A".repeat(MAX_TOKEN_LEN / 3);
    let long = format!("{part}.{part}.{part}");
    assert!(long.len() > MAX_TOKEN_LEN);

    let r = app.admin_with(&long, Method::GET, "/clients", None).await;
    let (s, h, b) = json_of(r).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    let challenge = h["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("the token is too long"), "{challenge}");

    // Over HTTP, introspection's form body is capped at 16 KiB as a whole, so such a token
    // never reaches the check there; the service's own answer is "not active".
    let admin = Credentials {
        client_id: ADMIN_ID.to_owned(),
        secret: ClientSecret::new(ADMIN_SECRET.to_owned()),
    };
    let now = app.tollgate.now();
    assert!(
        app.tollgate
            .introspect(&admin, &long, now)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        app.tollgate.validate_token(&long, now),
        Err(BearerError::InvalidToken("the token is too long"))
    ));
    // A real token is far below the limit and still accepted.
    let token = app.admin_token().await;
    let r = app.admin_with(&token, Method::GET, "/clients", None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let requests = [
        app.http
            .post(app.url("/oauth2/token"))
            .form(&[("grant_type", "client_credentials")]),
        app.http.get(app.url("/oauth2/jwks")),
        app.http
            .get(app.url("/.well-known/oauth-authorization-server")),
        app.http
            .get(app.url("/admin/v1/clients"))
            .bearer_auth(&admin),
        app.http.get(app.url("/admin/v1/clients")),
        app.http.get(app.url("/nowhere")),
        app.http.get(app.url("/healthz")),
    ];
    for request in requests {
        let r = request.send().await.unwrap();
        let h = r.headers();
        let url = r.url().path().to_owned();
        assert_eq!(h["x-content-type-options"], "nosniff", "{url}");
        assert_eq!(h["x-frame-options"], "DENY", "{url}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{url}");
        assert_eq!(
            h["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
            "{url}"
        );
        // The test server's issuer is plain http on loopback.
        assert!(h.get("strict-transport-security").is_none(), "{url}");
    }
}
