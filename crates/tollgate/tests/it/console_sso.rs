//! Single sign-on to the console over HTTP, end to end: Tollgate and a real OpenID Connect
//! provider (node-oidc-provider), a browser played by hand on both sides.

use crate::helpers::{REAL_TIME_CLOCK, TestApp, json_of};
use crate::people::Browser;
use crate::sso::{self, Provider};
use reqwest::{Method, StatusCode};

const CLIENT_SECRET: &str = "it-console-sso-secret-0123456789";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Tollgate with single sign-on at a provider that knows its redirect URI, on a clock set to
/// the real time (the provider's tokens carry it).
async fn start() -> (Provider, TestApp, String) {
    let port = free_port();
    let callback = format!("http://127.0.0.1:{port}/console/sso/callback");
    let provider = Provider::start_for_client(&callback, "tollgate-console", CLIENT_SECRET);
    let listen = format!("127.0.0.1:{port}");
    let app = TestApp::spawn_with(&[
        ("TOLLGATE_LISTEN", &listen),
        ("TOLLGATE_SSO_ISSUER", &provider.issuer),
        ("TOLLGATE_SSO_CLIENT_ID", "tollgate-console"),
        ("TOLLGATE_SSO_CLIENT_SECRET", CLIENT_SECRET),
        ("TOLLGATE_SSO_OWNER_VALUES", "tollgate-owners"),
        ("TOLLGATE_SSO_VIEWER_VALUES", "tollgate-viewers"),
        ("TOLLGATE_SSO_SCOPES", "email,profile,groups"),
        (REAL_TIME_CLOCK, ""),
    ])
    .await;
    (provider, app, callback)
}

/// From the console's sign-in page through the provider and back; returns the callback URL.
async fn through_the_provider(b: &mut Browser, callback: &str, login: &str) -> String {
    let page = b.get("/console/sign-in").await;
    assert!(
        page.body.contains("Sign in with single sign-on"),
        "{}",
        page.body
    );
    let start = b.get("/console/sso/start").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    assert!(b.sso.is_some(), "the attempt is bound to this browser");
    let mut at_provider = sso::Browser::for_redirect(callback);
    at_provider
        .sign_in_url(&start.location, login)
        .await
        .to_string()
}

#[tokio::test]
async fn people_sign_in_to_the_console_with_the_organisations_provider() {
    let (_provider, app, callback) = start().await;
    let mut b = Browser::new(&app);
    let back = through_the_provider(&mut b, &callback, "owner@example.com").await;
    let landed = b.get(&back).await;
    assert_eq!(landed.status, StatusCode::OK, "{}", landed.body);
    assert!(
        landed.body.contains("http-equiv=\"refresh\""),
        "moves on within the site"
    );
    assert!(b.session.is_some());
    assert_eq!(b.sso, None, "the attempt's cookie is spent");
    let home = b.get("/console/account").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("<strong>owner@example.com</strong>"));
    assert!(home.body.contains("<strong>owner</strong>"));
    assert!(home.body.contains("single sign-on"));

    // The account exists, marked as created by single sign-on, and acts under its email.
    let (_, _, list) = json_of(app.admin(Method::GET, "/admins", None).await).await;
    let admin = &list["admins"][0];
    assert_eq!(admin["email"], "owner@example.com");
    assert_eq!(admin["sso"], true);
    assert_eq!(admin["role"], "owner");
    let (_, _, audit) = json_of(app.admin(Method::GET, "/audit?limit=100", None).await).await;
    let events: Vec<(String, String)> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["actor"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(events.contains(&("admin.created".into(), "admin:owner@example.com".into())));
    assert!(events.contains(&("admin.signed_in".into(), "admin:owner@example.com".into())));

    // A second sign-in finds the same account.
    let mut again = Browser::new(&app);
    let back = through_the_provider(&mut again, &callback, "owner@example.com").await;
    assert_eq!(again.get(&back).await.status, StatusCode::OK);
    let (_, _, list) = json_of(app.admin(Method::GET, "/admins", None).await).await;
    assert_eq!(list["admins"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_person_whose_claims_map_to_no_role_is_refused_and_tampering_fails() {
    let (_provider, app, callback) = start().await;
    let mut b = Browser::new(&app);
    let back = through_the_provider(&mut b, &callback, "nobody@example.com").await;
    let refused = b.get(&back).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body.contains("No access to Tollgate"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("no role in Tollgate"),
        "{}",
        refused.body
    );
    assert_eq!(b.session, None);

    // A tampered state, or a callback without this browser's attempt cookie, changes nothing.
    let mut b = Browser::new(&app);
    let back = through_the_provider(&mut b, &callback, "owner@example.com").await;
    let tampered = back.replace("state=", "state=x");
    let page = b.get(&tampered).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("Single sign-on failed"), "{}", page.body);
    assert_eq!(b.session, None);
    let mut stranger = Browser::new(&app);
    let page = stranger.get(&back).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(stranger.session, None);
    let (_, _, list) = json_of(app.admin(Method::GET, "/admins", None).await).await;
    assert_eq!(list["admins"].as_array().unwrap().len(), 0, "{list}");
}
