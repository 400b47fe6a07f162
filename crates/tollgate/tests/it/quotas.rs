//! Per-client token quotas: enforced (429 with `Retry-After` and the `RateLimit` fields, the
//! refusal counted), monitored (issued and flagged), changed through the admin API and the
//! console, validated, and summed across three nodes on PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, within_a_second};
use crate::people::{Browser, OWNER_EMAIL, PASSWORD, field};

const SCOPE: &str = "reports:read";

async fn client_with(app: &TestApp, name: &str, quota: Value) -> (String, String) {
    app.ensure_permissions(&[SCOPE]).await;
    let (status, _, body) = json_of(
        app.admin(
            Method::POST,
            "/clients",
            Some(json!({"name": name, "scopes": [SCOPE], "quota": quota})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["client"]["client_id"].as_str().unwrap().to_owned(),
        body["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn client(app: &TestApp, id: &str) -> Value {
    let (status, _, body) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn patch(app: &TestApp, id: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, body) = json_of(
        app.admin(Method::PATCH, &format!("/clients/{id}"), Some(body))
            .await,
    )
    .await;
    (status, body)
}

/// The end of the current clock hour of `app`'s clock, and the seconds to it.
fn hour_end(app: &TestApp) -> (String, i64) {
    let now = app.tollgate.now().0;
    let end = (now.div_euclid(3600) + 1) * 3600;
    (tollgate::clock::UnixTime(end).to_rfc3339(), end - now)
}

#[tokio::test]
async fn an_enforced_quota_refuses_with_429_until_raised() {
    let app = TestApp::spawn().await;
    let (id, secret) = client_with(
        &app,
        "Capped",
        json!({"tokens": 3, "per": "hour", "mode": "enforce"}),
    )
    .await;
    let (other, other_secret) = client_with(&app, "Free", Value::Null).await;
    for _ in 0..3 {
        app.token(&id, &secret, &[]).await;
    }
    let r = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;
    let (status, headers, body) = json_of(r).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (resets, secs) = hour_end(&app);
    assert_eq!(headers["retry-after"], secs.to_string().as_str());
    assert_eq!(headers["ratelimit-policy"], "\"quota\";q=3;w=3600");
    assert_eq!(
        headers["ratelimit"],
        format!("\"quota\";r=0;t={secs}").as_str()
    );
    assert_eq!(
        body,
        json!({
            "error": "temporarily_unavailable",
            "error_description": format!(
                "the client's quota of 3 tokens per hour is used up; it resets at {resets}"
            ),
        })
    );
    // Another client is not affected.
    app.token(&other, &other_secret, &[]).await;
    // The client object shows the use, and the refusal is counted as what it was answered.
    let c = client(&app, &id).await;
    assert_eq!(
        c["quota"],
        json!({"tokens": 3, "per": "hour", "mode": "enforce"})
    );
    assert_eq!(c["usage"]["quota_used"], 3);
    assert_eq!(c["usage"]["quota_exceeded"], true);
    assert_eq!(c["usage"]["tokens_last_24h"], 3);
    assert_eq!(
        client(&app, &other).await["usage"]["quota_used"],
        Value::Null
    );
    let board = app.tollgate.dashboard(app.tollgate.now()).await.unwrap();
    assert!(
        board
            .refused_24h
            .iter()
            .any(|(r, n)| r.as_str() == "temporarily_unavailable" && *n == 1),
        "{:?}",
        board.refused_24h
    );
    // Raising the quota lets it go on; the three tokens still count.
    let (status, body) = patch(&app, &id, json!({"quota": {"tokens": 4, "per": "hour"}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["quota"]["mode"], "enforce");
    app.token(&id, &secret, &[]).await;
    assert_eq!(
        app.try_token(&id, &secret).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The next hour starts afresh.
    app.clock.advance(secs);
    app.token(&id, &secret, &[]).await;
    // Removed, there is no limit.
    let (status, body) = patch(&app, &id, json!({"quota": null})).await;
    assert_eq!((status, &body["quota"]), (StatusCode::OK, &Value::Null));
    for _ in 0..5 {
        app.token(&id, &secret, &[]).await;
    }
}

#[tokio::test]
async fn a_monitored_quota_issues_and_flags() {
    let app = TestApp::spawn().await;
    let (id, secret) = client_with(
        &app,
        "Watched",
        json!({"tokens": 2, "per": "day", "mode": "monitor"}),
    )
    .await;
    for _ in 0..2 {
        app.token(&id, &secret, &[]).await;
    }
    let c = client(&app, &id).await;
    assert_eq!(
        (
            c["usage"]["quota_used"].as_u64(),
            &c["usage"]["quota_exceeded"]
        ),
        (Some(2), &json!(false)),
        "at the quota, not over it"
    );
    assert!(
        app.tollgate
            .dashboard(app.tollgate.now())
            .await
            .unwrap()
            .over_quota
            .is_empty()
    );
    for _ in 0..2 {
        app.token(&id, &secret, &[]).await;
    }
    let c = client(&app, &id).await;
    assert_eq!(c["usage"]["quota_used"], 4);
    assert_eq!(c["usage"]["quota_exceeded"], true);
    let over = app
        .tollgate
        .dashboard(app.tollgate.now())
        .await
        .unwrap()
        .over_quota;
    assert_eq!(over.len(), 1);
    assert_eq!((over[0].client_id.as_str(), over[0].used), (id.as_str(), 4));
}

#[tokio::test]
async fn bad_quotas_are_400_problems_naming_quota() {
    let app = TestApp::spawn().await;
    let (id, _) = client_with(&app, "Valid", Value::Null).await;
    app.ensure_permissions(&[SCOPE]).await;
    for quota in [
        json!({"tokens": 0, "per": "hour"}),
        json!({"tokens": -5, "per": "hour"}),
        json!({"tokens": 1_000_000_000_000_i64, "per": "day"}),
        json!({"tokens": 10, "per": "week"}),
        json!({"tokens": 10, "per": "hour", "mode": "warn"}),
    ] {
        for (method, path, body) in [
            (
                Method::POST,
                "/clients".to_owned(),
                json!({"name": "Bad", "scopes": [SCOPE], "quota": quota}),
            ),
            (
                Method::PATCH,
                format!("/clients/{id}"),
                json!({"quota": quota}),
            ),
        ] {
            let (status, headers, problem) =
                json_of(app.admin(method, &path, Some(body)).await).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{quota} {problem}");
            assert!(
                headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/problem+json")
            );
            assert!(
                problem.to_string().contains("\"quota\""),
                "{quota}: {problem}"
            );
        }
    }
    assert_eq!(client(&app, &id).await["quota"], Value::Null);
}

#[tokio::test]
async fn the_console_sets_a_quota_and_shows_it() {
    let app = TestApp::spawn_with(&[
        ("TOLLGATE_CONSOLE_MFA", "optional"),
        ("TOLLGATE_BOOTSTRAP_ADMIN_EMAIL", OWNER_EMAIL),
        ("TOLLGATE_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
    ])
    .await;
    app.ensure_permissions(&[SCOPE]).await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(OWNER_EMAIL, PASSWORD).await.location, "/console");
    let form = b.get("/console/clients/new").await;
    assert!(form.body.contains("name=\"quota_tokens\""), "{}", form.body);
    let csrf = field(&form.body, "csrf");
    // A number that is none is shown beside the field, and nothing is created.
    let page = b
        .post(
            "/console/clients/new",
            &[
                ("csrf", &csrf),
                ("name", "Console capped"),
                ("scopes", SCOPE),
                ("quota_tokens", "lots"),
                ("quota_per", "day"),
            ],
        )
        .await;
    assert!(page.body.contains("id=\"quota-error\""), "{}", page.body);
    let page = b
        .post(
            "/console/clients/new",
            &[
                ("csrf", &csrf),
                ("name", "Console capped"),
                ("scopes", SCOPE),
                ("quota_tokens", "500"),
                ("quota_per", "day"),
                ("quota_mode", "monitor"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let id = crate::people::by_id(&page.body, "client-id");
    assert_eq!(
        client(&app, &id).await["quota"],
        json!({"tokens": 500, "per": "day", "mode": "monitor"})
    );
    let details = b.get(&format!("/console/clients/{id}")).await;
    assert!(
        details
            .body
            .contains("500 tokens per day, monitored: flagged beyond it"),
        "{}",
        details.body
    );
    assert!(details.body.contains(
        "name=\"quota_tokens\" inputmode=\"numeric\" autocomplete=\"off\" value=\"500\""
    ));
}

/// Three nodes on one database: each node's tokens reach the others' client objects after a
/// write-behind, and an enforced quota holds across them within the documented slack.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_sum_usage_and_share_a_quota() {
    if !crate::pg::required("three_nodes_sum_usage_and_share_a_quota") {
        return;
    }
    let (a, b) = crate::helpers::two_nodes(&[]).await;
    let c = TestApp::spawn_in(a.dir.clone(), &[]).await;
    let nodes = [&a, &b, &c];
    let (id, secret) = client_with(
        &a,
        "Shared",
        json!({"tokens": 5, "per": "hour", "mode": "enforce"}),
    )
    .await;
    for n in &nodes[1..] {
        assert!(
            within_a_second(|| async { n.try_token(&id, &secret).await.0 == StatusCode::OK }).await,
            "every node knows the client"
        );
    }
    // That made one token on b and one on c. Then one more on a and b each.
    a.token(&id, &secret, &[]).await;
    b.token(&id, &secret, &[]).await;
    // Before any write-behind, c knows only its own token.
    c.tollgate.flush_usage().await.unwrap();
    assert_eq!(client(&c, &id).await["usage"]["quota_used"], 1);
    for n in &nodes[..2] {
        n.tollgate.flush_usage().await.unwrap();
    }
    // Every node's client object shows the sum once the others wrote theirs.
    for n in nodes {
        let usage = &client(n, &id).await["usage"];
        assert_eq!(usage["tokens_last_24h"], 4, "{usage}");
        assert_eq!(usage["quota_used"], 4, "{usage}");
    }
    // c read the sums after its own write-behind: one token left, then c refuses.
    c.tollgate.flush_usage().await.unwrap();
    c.token(&id, &secret, &[]).await;
    assert_eq!(
        c.try_token(&id, &secret).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // a has not read c's last token: it may issue one more (the slack), never two.
    let issued_by_a = {
        let mut n = 0;
        while a.try_token(&id, &secret).await.0 == StatusCode::OK {
            n += 1;
            assert!(n <= 1, "a overshoots by more than c's unread token");
        }
        n
    };
    assert_eq!(issued_by_a, 1);
    for n in nodes {
        n.tollgate.flush_usage().await.unwrap();
    }
    for n in nodes {
        assert_eq!(
            n.try_token(&id, &secret).await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(client(n, &id).await["usage"]["quota_used"], 6);
    }
}
