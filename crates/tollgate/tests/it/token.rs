//! The token endpoint (RFC 6749 §4.4, §2.3.1, §5) and the tokens it issues (RFC 9068).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_ID, ADMIN_SECRET, TestApp, basic_header, decode_jwt, json_of, verify_es256,
};

fn assert_oauth_error(status: StatusCode, body: &Value, want_status: u16, want: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["error"], want, "{body}");
    let d = body["error_description"]
        .as_str()
        .expect("error_description");
    assert!(
        d.chars()
            .all(|c| matches!(c as u32, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e)),
        "RFC 6749 §5.2 character set: {d}"
    );
}

#[tokio::test]
async fn basic_and_post_authentication_issue_rfc_9068_tokens() {
    let app = TestApp::spawn().await;
    let (id, secret) = app
        .create_client("exporter", &["reports:export", "enterprise:user"])
        .await;

    let r = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;
    let (status, headers, basic) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{basic}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(basic["token_type"], "Bearer");
    assert_eq!(basic["expires_in"], 3600);
    assert_eq!(basic["scope"], "enterprise:user reports:export");

    let r = app
        .token_form(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
            None,
        )
        .await;
    let (status, _, post) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{post}");

    let token = post["access_token"].as_str().unwrap();
    let (header, claims) = decode_jwt(token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let jwks: Value = app
        .http
        .get(app.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("kid published in the JWKS");
    assert!(
        verify_es256(token, jwk),
        "signature verifies with the published key"
    );
    assert_eq!(claims["iss"], app.issuer);
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["aud"], app.issuer);
    assert_eq!(claims["scope"], "enterprise:user reports:export");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(
        claims["iat"], 1_900_000_000i64,
        "iat comes from the injected clock"
    );
    let jti = claims["jti"].as_str().unwrap();
    assert!(jti.len() >= 22);
    let (_, other) = decode_jwt(basic["access_token"].as_str().unwrap());
    assert_ne!(other["jti"], claims["jti"], "every token has its own jti");
}

#[tokio::test]
async fn basic_credentials_are_form_url_decoded() {
    // A deployment-supplied secret with characters that must be encoded (RFC 6749 §2.3.1).
    let secret = "p+ss&w%rd:with/special=chars 0123456789abcdef";
    let app = TestApp::spawn_with(&[
        ("TOLLGATE_BOOTSTRAP_CLIENT_ID", "weird.client~id"),
        ("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", secret),
    ])
    .await;
    app.token("weird.client~id", secret, &[]).await;
    // The same secret in the body, form-encoded by the client library.
    let r = app
        .token_form(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "weird.client~id"),
                ("client_secret", secret),
            ],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Basic without the form-encoding step: `+` decodes to a space, so it must fail.
    let raw = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("weird.client~id:{secret}")
        )
    );
    let r = app
        .http
        .post(app.url("/oauth2/token"))
        .header("authorization", raw)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_client_and_wrong_secret_look_the_same() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_client("c", &["a"]).await;
    let wrong = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some((&id, "tgs_wrong")),
        )
        .await;
    let unknown = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some(("tgc_000000000000000000000000", "tgs_wrong")),
        )
        .await;
    let (s1, h1, b1) = json_of(wrong).await;
    let (s2, h2, b2) = json_of(unknown).await;
    assert_oauth_error(s1, &b1, 401, "invalid_client");
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(h1["www-authenticate"], h2["www-authenticate"]);
    assert!(
        h1["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    assert_eq!(h1["cache-control"], "no-store");

    // Body authentication with a wrong secret: invalid_client, as a 400 without a challenge
    // since no Authorization header was used (RFC 6749 §5.2).
    let r = app
        .token_form(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", "nope"),
            ],
            None,
        )
        .await;
    let (s, h, b) = json_of(r).await;
    assert_oauth_error(s, &b, 400, "invalid_client");
    assert!(!h.contains_key("www-authenticate"));
    assert_eq!(b, b1, "same body as with Basic");

    // An over-long secret is an ordinary failure, not an error of another kind.
    let long = "x".repeat(5000);
    let r = app
        .token_form(&[("grant_type", "client_credentials")], Some((&id, &long)))
        .await;
    let (s, _, b) = json_of(r).await;
    assert_oauth_error(s, &b, 401, "invalid_client");
}

#[tokio::test]
async fn malformed_requests_get_the_right_rfc_6749_error() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("c", &["a", "b"]).await;
    let basic = Some((id.as_str(), secret.as_str()));
    type Case<'a> = (
        Vec<(&'a str, &'a str)>,
        Option<(&'a str, &'a str)>,
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (vec![], basic, 400, "invalid_request"),
        (vec![("grant_type", "")], basic, 400, "invalid_request"),
        (
            vec![("grant_type", "authorization_code"), ("code", "x")],
            basic,
            400,
            "unsupported_grant_type",
        ),
        (
            vec![("grant_type", "password")],
            basic,
            400,
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            basic,
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("scope", "a"),
                ("scope", "b"),
            ],
            basic,
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_secret", &secret),
            ],
            basic,
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "someone-else"),
            ],
            basic,
            400,
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials")],
            None,
            401,
            "invalid_client",
        ),
        (
            vec![("grant_type", "client_credentials"), ("client_id", &id)],
            None,
            401,
            "invalid_client",
        ),
        (
            vec![("grant_type", "client_credentials"), ("scope", "c")],
            basic,
            400,
            "invalid_scope",
        ),
        (
            vec![("grant_type", "client_credentials"), ("scope", "a\"b")],
            basic,
            400,
            "invalid_scope",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("resource", "https://elsewhere.example/"),
            ],
            basic,
            400,
            "invalid_target",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("resource", "not-absolute"),
            ],
            basic,
            400,
            "invalid_target",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("resource", &app.issuer),
                ("audience", &app.issuer),
            ],
            basic,
            400,
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials"), ("tenant", "a b")],
            basic,
            400,
            "invalid_request",
        ),
    ];
    for (form, auth, status, error) in cases {
        let r = app.token_form(&form, auth).await;
        let (s, h, b) = json_of(r).await;
        assert_oauth_error(s, &b, status, error);
        assert_eq!(h["cache-control"], "no-store", "{form:?}");
    }
}

#[tokio::test]
async fn wrong_content_type_oversized_body_and_wrong_method() {
    let app = TestApp::spawn().await;
    let auth = basic_header(ADMIN_ID, ADMIN_SECRET);

    let r = app
        .http
        .post(app.url("/oauth2/token"))
        .header("authorization", &auth)
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let (s, _, b) = json_of(r).await;
    assert_oauth_error(s, &b, 400, "invalid_request");

    let r = app
        .http
        .post(app.url("/oauth2/token"))
        .header("authorization", &auth)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&pad={}",
            "x".repeat(20_000)
        ))
        .send()
        .await
        .unwrap();
    let (s, _, b) = json_of(r).await;
    assert_oauth_error(s, &b, 413, "invalid_request");

    // Charset parameters and case are fine.
    let r = app
        .http
        .post(app.url("/oauth2/token"))
        .header("authorization", &auth)
        .header(
            "content-type",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
        )
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let r = app.http.get(app.url("/oauth2/token")).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "POST");
    let (s, _, b) = json_of(r).await;
    assert_oauth_error(s, &b, 405, "invalid_request");

    // A non-Basic Authorization scheme is an authentication failure with a Basic challenge.
    let r = app
        .http
        .post(app.url("/oauth2/token"))
        .header("authorization", "Bearer abc")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let (s, _, b) = json_of(r).await;
    assert_oauth_error(s, &b, 401, "invalid_client");
}

#[tokio::test]
async fn scope_narrows_and_empty_parameters_count_as_omitted() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("c", &["a", "b", "c"]).await;
    let t = app.token(&id, &secret, &[("scope", "c  a")]).await;
    assert_eq!(t["scope"], "a c");
    assert_eq!(
        decode_jwt(t["access_token"].as_str().unwrap()).1["scope"],
        "a c"
    );
    let t = app.token(&id, &secret, &[("scope", "")]).await;
    assert_eq!(
        t["scope"], "a b c",
        "an empty scope parameter is treated as omitted"
    );
    // Unknown parameters are ignored (RFC 6749 §3.1).
    app.token(&id, &secret, &[("foo", "bar")]).await;
}

#[tokio::test]
async fn resource_audience_and_tenant() {
    let app = TestApp::spawn().await;
    app.create_api("https://api.example.com", "Users", &["users:read"])
        .await;
    app.create_api("https://reports.example.com", "Reports", &["reports:read"])
        .await;
    let (id, secret) = app
        .create_client("c", &["users:read", "reports:read"])
        .await;
    // Permissions on two APIs: the client must say which one it wants.
    let r = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;
    let (s, _, b) = json_of(r).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["error"], "invalid_target");
    let why = b["error_description"].as_str().unwrap();
    assert!(
        why.contains("https://api.example.com") && why.contains("resource"),
        "{why}"
    );
    let t = app
        .token(&id, &secret, &[("audience", "https://reports.example.com")])
        .await;
    assert_eq!(t["scope"], "reports:read");
    assert_eq!(
        decode_jwt(t["access_token"].as_str().unwrap()).1["aud"],
        "https://reports.example.com"
    );
    let t = app.token(&id, &secret, &[("scope", "users:read")]).await;
    assert_eq!(
        decode_jwt(t["access_token"].as_str().unwrap()).1["aud"],
        "https://api.example.com"
    );
    let t = app
        .token(
            &id,
            &secret,
            &[
                ("resource", "https://api.example.com"),
                ("resource", "https://reports.example.com"),
            ],
        )
        .await;
    let claims = decode_jwt(t["access_token"].as_str().unwrap()).1;
    assert_eq!(
        claims["aud"],
        json!(["https://api.example.com", "https://reports.example.com"])
    );
    assert_eq!(claims["scope"], "reports:read users:read");
    assert!(claims.get("tenant").is_none());
}

#[tokio::test]
async fn per_client_lifetime_overrides_the_server_default() {
    let app = TestApp::spawn_with(&[("TOLLGATE_ACCESS_TOKEN_LIFETIME", "600")]).await;
    let (id, secret) = app.create_client("c", &["a"]).await;
    assert_eq!(app.token(&id, &secret, &[]).await["expires_in"], 600);
    let r = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"access_token_lifetime": 120})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let t = app.token(&id, &secret, &[]).await;
    assert_eq!(t["expires_in"], 120);
    let claims = decode_jwt(t["access_token"].as_str().unwrap()).1;
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
}

#[tokio::test]
async fn changes_take_effect_at_once() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("c", &["a", "b"]).await;
    app.token(&id, &secret, &[("scope", "b")]).await;

    let r = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"scopes": ["a"]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .token_form(
            &[("grant_type", "client_credentials"), ("scope", "b")],
            Some((&id, &secret)),
        )
        .await;
    let (s, _, b) = json_of(r).await;
    assert_oauth_error(s, &b, 400, "invalid_scope");

    let r = app
        .admin(reqwest::Method::DELETE, &format!("/clients/{id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;
    let (s, _, b) = json_of(r).await;
    assert_oauth_error(s, &b, 401, "invalid_client");
}

#[tokio::test]
async fn secret_rotation_drill() {
    let app = TestApp::spawn().await;
    let (id, secret_a) = app.create_client("rotating", &["a"]).await;
    let (_, _, client) = json_of(
        app.admin(reqwest::Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    let secret_a_id = client["secrets"][0]["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = app
        .admin(
            reqwest::Method::POST,
            &format!("/clients/{id}/secrets"),
            None,
        )
        .await;
    let (s, h, added) = json_of(r).await;
    assert_eq!(s, StatusCode::CREATED, "{added}");
    assert_eq!(h["cache-control"], "no-store");
    let secret_b = added["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(secret_a, secret_b);

    app.token(&id, &secret_a, &[]).await;
    app.token(&id, &secret_b, &[]).await;

    let r = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/clients/{id}/secrets/{secret_a_id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret_a)),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    app.token(&id, &secret_b, &[]).await;
}

#[tokio::test]
async fn an_expired_secret_is_refused() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_client("c", &["a"]).await;
    // The test clock starts at 1_900_000_000 (2030-03-17T17:46:40Z).
    let r = app
        .admin(
            reqwest::Method::POST,
            &format!("/clients/{id}/secrets"),
            Some(json!({"expires_at": "2030-03-17T18:46:40Z"})),
        )
        .await;
    let (s, _, added) = json_of(r).await;
    assert_eq!(s, StatusCode::CREATED, "{added}");
    assert_eq!(added["secret"]["expires_at"], "2030-03-17T18:46:40Z");
    let secret = added["client_secret"].as_str().unwrap();
    app.token(&id, secret, &[]).await;
    app.clock.advance(3600);
    let r = app
        .token_form(&[("grant_type", "client_credentials")], Some((&id, secret)))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn signing_algorithms_are_selectable() {
    for alg in ["EdDSA", "RS256"] {
        let app = TestApp::spawn_with(&[("TOLLGATE_SIGNING_ALGORITHM", alg)]).await;
        let t = app.token(ADMIN_ID, ADMIN_SECRET, &[]).await;
        let (header, _) = decode_jwt(t["access_token"].as_str().unwrap());
        assert_eq!(header["alg"], alg);
        let jwks: Value = app
            .http
            .get(app.url("/oauth2/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(jwks["keys"][0]["alg"], alg);
        assert_eq!(jwks["keys"][0]["kid"], header["kid"]);
    }
}

#[tokio::test]
async fn keys_and_tokens_survive_a_restart() {
    // A fixed issuer: with port 0 each start gets another port, and so another default issuer.
    let settings = [("TOLLGATE_ISSUER", "http://localhost:9")];
    let app = TestApp::spawn_with(&settings).await;
    let dir = app.dir.clone();
    let token = app.admin_token().await;
    let kid = decode_jwt(&token).0["kid"].clone();
    app.stop().await;

    let app = TestApp::spawn_in(dir, &settings).await;
    let again = app.admin_token().await;
    assert_eq!(
        decode_jwt(&again).0["kid"],
        kid,
        "same signing key after a restart"
    );
    let r = app
        .http
        .get(app.url("/admin/v1/clients"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a token from before the restart still works"
    );
}
