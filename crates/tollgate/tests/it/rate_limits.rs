//! Rate limits on the endpoints clients call and on console sign-in, the backoff of failed
//! client authentications, and trusted proxies. The buckets read the test clock, which stands
//! still unless a test moves it, so no test sleeps and none races the refill.

use reqwest::header::HeaderMap;
use reqwest::{Response, StatusCode};

use crate::helpers::{ADMIN_ID, ADMIN_SECRET, TestApp, basic_header, json_of};
use crate::people::Browser;

/// A token request with the client's credentials (HTTP Basic) and, if given, an
/// `X-Forwarded-For` header.
async fn token(app: &TestApp, id: &str, secret: &str, forwarded_for: Option<&str>) -> Response {
    let mut request = app
        .http
        .post(app.url("/oauth2/token"))
        .header("authorization", basic_header(id, secret))
        .form(&[("grant_type", "client_credentials")]);
    if let Some(f) = forwarded_for {
        request = request.header("x-forwarded-for", f);
    }
    request.send().await.expect("token request")
}

async fn status(app: &TestApp, id: &str, secret: &str) -> StatusCode {
    token(app, id, secret, None).await.status()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header in {h:?}"))
}

/// A 429 with the wait, both fields of the ratelimit draft and the OAuth body.
async fn assert_refused(r: Response, policy: &str, quota_window: &str, wait: u64) -> String {
    let (status, headers, body) = json_of(r).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(header(&headers, "retry-after"), wait.to_string());
    assert_eq!(
        header(&headers, "ratelimit-policy"),
        format!("\"{policy}\";{quota_window}")
    );
    assert_eq!(
        header(&headers, "ratelimit"),
        format!("\"{policy}\";r=0;t={wait}")
    );
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    body["error_description"]
        .as_str()
        .expect("a description")
        .to_owned()
}

#[tokio::test]
async fn a_burst_beyond_the_client_limit_is_refused_while_other_clients_get_tokens() {
    // One token every 10 s, ten at once: the administrator's setup calls fit in its own bucket.
    let app = TestApp::spawn_with(&[("TOLLGATE_RATE_LIMIT_TOKEN_CLIENT", "6/min burst 10")]).await;
    let (a, a_secret) = app.create_client("busy", &[]).await;
    let (b, b_secret) = app.create_client("calm", &[]).await;
    for _ in 0..10 {
        assert_eq!(status(&app, &a, &a_secret).await, StatusCode::OK);
    }
    let description = assert_refused(
        token(&app, &a, &a_secret, None).await,
        "token-client",
        "q=10;w=100",
        10,
    )
    .await;
    assert_eq!(
        description,
        "too many requests for this client; retry in 10 s"
    );
    for _ in 0..3 {
        assert_eq!(status(&app, &b, &b_secret).await, StatusCode::OK);
        assert_eq!(
            status(&app, &a, &a_secret).await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    app.clock.advance(10);
    assert_eq!(status(&app, &a, &a_secret).await, StatusCode::OK);
    assert_eq!(
        status(&app, &a, &a_secret).await,
        StatusCode::TOO_MANY_REQUESTS,
        "one request's worth refilled in 10 s"
    );
}

#[tokio::test]
async fn introspection_and_revocation_share_a_limit_of_their_own() {
    let app =
        TestApp::spawn_with(&[("TOLLGATE_RATE_LIMIT_INTROSPECTION_CLIENT", "1/min burst 2")]).await;
    let creds = (ADMIN_ID, ADMIN_SECRET);
    let form = [("token", "not-a-token")];
    let r = app.post_form("/oauth2/introspect", &form, creds).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.post_form("/oauth2/revoke", &form, creds).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.post_form("/oauth2/introspect", &form, creds).await;
    assert_refused(r, "introspect-client", "q=2;w=120", 60).await;
    assert_eq!(
        status(&app, ADMIN_ID, ADMIN_SECRET).await,
        StatusCode::OK,
        "the token endpoint is limited apart"
    );
}

#[tokio::test]
async fn wrong_secrets_back_off_and_the_right_one_works_after_the_wait() {
    let app = TestApp::spawn_with(&[
        ("TOLLGATE_CLIENT_AUTH_FREE_FAILURES", "2"),
        ("TOLLGATE_CLIENT_AUTH_MAX_BACKOFF", "60"),
    ])
    .await;
    let (id, secret) = app.create_client("forgetful", &[]).await;
    for _ in 0..2 {
        assert_eq!(status(&app, &id, "wrong").await, StatusCode::UNAUTHORIZED);
    }
    let description = assert_refused(
        token(&app, &id, "wrong", None).await,
        "client-failures",
        "q=2;w=3600",
        1,
    )
    .await;
    assert_eq!(
        description,
        "too many failed client authentications; retry in 1 s"
    );
    // While it backs off, not even the right secret is looked at, and the refusals are not
    // failures of the client's own: the wait does not grow.
    for _ in 0..5 {
        assert_eq!(
            status(&app, &id, "wrong").await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    assert_eq!(
        status(&app, &id, &secret).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(1);
    assert_eq!(status(&app, &id, &secret).await, StatusCode::OK);
    assert_eq!(
        status(&app, &id, "wrong").await,
        StatusCode::UNAUTHORIZED,
        "a success forgets the failures"
    );
}

#[tokio::test]
async fn failures_under_many_client_ids_back_the_address_off() {
    let app = TestApp::spawn_with(&[
        ("TOLLGATE_ADDRESS_AUTH_FREE_FAILURES", "3"),
        ("TOLLGATE_ADDRESS_AUTH_MAX_BACKOFF", "60"),
    ])
    .await;
    for guess in ["guess-1", "guess-2", "guess-3"] {
        assert_eq!(status(&app, guess, "x").await, StatusCode::UNAUTHORIZED);
    }
    let r = token(&app, ADMIN_ID, ADMIN_SECRET, None).await;
    let description = assert_refused(r, "address-failures", "q=3;w=3600", 1).await;
    assert_eq!(
        description,
        "too many failed client authentications; retry in 1 s"
    );
    app.clock.advance(1);
    assert_eq!(status(&app, ADMIN_ID, ADMIN_SECRET).await, StatusCode::OK);
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    let limit = ("TOLLGATE_RATE_LIMIT_TOKEN_ADDRESS", "1/min burst 2");
    let trusting =
        TestApp::spawn_with(&[limit, ("TOLLGATE_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let (id, secret) = (ADMIN_ID, ADMIN_SECRET);
    for _ in 0..2 {
        let r = token(&trusting, id, secret, Some("198.51.100.1")).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = token(&trusting, id, secret, Some("198.51.100.1")).await;
    let description = assert_refused(r, "token-address", "q=2;w=120", 60).await;
    assert_eq!(
        description,
        "too many requests from this address; retry in 60 s"
    );
    // The proxy speaks for another client; the entry a client wrote itself (left of the
    // proxy's) does not count.
    let r = token(&trusting, id, secret, Some("198.51.100.1, 198.51.100.2")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = token(&trusting, id, secret, Some("not an address")).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a malformed header: the proxy's own"
    );

    let untrusting = TestApp::spawn_with(&[limit]).await;
    for (i, forwarded) in ["198.51.100.1", "198.51.100.2"].into_iter().enumerate() {
        let r = token(&untrusting, id, secret, Some(forwarded)).await;
        assert_eq!(r.status(), StatusCode::OK, "request {i}");
    }
    let r = token(&untrusting, id, secret, Some("198.51.100.3")).await;
    assert_refused(r, "token-address", "q=2;w=120", 60).await;
}

#[tokio::test]
async fn console_sign_in_is_limited_per_account_and_per_address() {
    let app = TestApp::spawn_with(&[
        ("TOLLGATE_RATE_LIMIT_SIGN_IN_ACCOUNT", "1/min burst 2"),
        ("TOLLGATE_RATE_LIMIT_SIGN_IN_ADDRESS", "1/min burst 4"),
    ])
    .await;
    let mut b = Browser::new(&app);
    for _ in 0..2 {
        let r = b.sign_in("ghost@example.com", "wrong password!!").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let refused = b.sign_in("Ghost@example.com", "wrong password!!").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused
            .body
            .contains("Too many sign-in attempts. Try again in 60 s."),
        "{}",
        refused.body
    );
    assert_eq!(header(&refused.headers, "retry-after"), "60");
    assert_eq!(
        header(&refused.headers, "ratelimit-policy"),
        "\"signin-account\";q=2;w=120"
    );
    let other = b.sign_in("other@example.com", "wrong password!!").await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED, "another account");
    let other = b.sign_in("third@example.com", "wrong password!!").await;
    assert_eq!(
        other.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the address's four"
    );
    assert_eq!(
        header(&other.headers, "ratelimit"),
        "\"signin-address\";r=0;t=60"
    );
}
