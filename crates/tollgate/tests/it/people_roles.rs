//! Roles on every admin operation, invitations, the last owner, sessions that end with a role
//! change or a disabled account, the environment's first owner, backoff, recovery links.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};
use crate::people::{Browser, OWNER_EMAIL, PASSWORD, field};

const OPTIONAL_MFA: (&str, &str) = ("TOLLGATE_CONSOLE_MFA", "optional");
const ENV_OWNER: [(&str, &str); 2] = [
    ("TOLLGATE_BOOTSTRAP_ADMIN_EMAIL", OWNER_EMAIL),
    ("TOLLGATE_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
];

pub async fn spawn_with_owner() -> TestApp {
    TestApp::spawn_with(&[OPTIONAL_MFA, ENV_OWNER[0], ENV_OWNER[1]]).await
}

/// Invites `email` as `role` through the admin API and accepts the invitation in a browser;
/// returns the browser, signed in (second factor optional here).
pub async fn invited(app: &TestApp, email: &str, role: &str) -> Browser {
    let r = app
        .admin(
            Method::POST,
            "/admins",
            Some(json!({"email": email, "role": role})),
        )
        .await;
    let (status, headers, body) = json_of(r).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    let url = body["invite_url"].as_str().unwrap().to_owned();
    let mut b = Browser::new(app);
    let page = b.get(&url).await;
    assert!(page.body.contains(email), "{}", page.body);
    let token = field(&page.body, "token");
    let done = b
        .post(
            "/console/invite",
            &[
                ("token", &token),
                ("display_name", role),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        done.location, "/console/sign-in?done=invite",
        "{}",
        done.body
    );
    assert_eq!(b.sign_in(email, PASSWORD).await.location, "/console");
    b
}

/// Every operation of the admin API with the permission it needs. Ids that do not exist and
/// bodies that are invalid keep the calls harmless: an allowed call answers 2xx, 400, 404 or
/// 422, a refused one 403.
fn operations() -> Vec<(Method, &'static str, Option<Value>, &'static str)> {
    let none = None;
    let empty = Some(json!({"unexpected": true}));
    vec![
        (
            Method::GET,
            "/clients",
            none.clone(),
            "tollgate:clients:read",
        ),
        (
            Method::POST,
            "/clients",
            empty.clone(),
            "tollgate:clients:write",
        ),
        (
            Method::GET,
            "/clients/tgc_missing",
            none.clone(),
            "tollgate:clients:read",
        ),
        (
            Method::PATCH,
            "/clients/tgc_missing",
            empty.clone(),
            "tollgate:clients:write",
        ),
        (
            Method::DELETE,
            "/clients/tgc_missing",
            none.clone(),
            "tollgate:clients:write",
        ),
        (
            Method::POST,
            "/clients/tgc_missing/secrets",
            empty.clone(),
            "tollgate:clients:write",
        ),
        (
            Method::DELETE,
            "/clients/tgc_missing/secrets/sec_missing",
            none.clone(),
            "tollgate:clients:write",
        ),
        (Method::GET, "/apis", none.clone(), "tollgate:apis:read"),
        (Method::POST, "/apis", empty.clone(), "tollgate:apis:write"),
        (
            Method::GET,
            "/apis/api_missing",
            none.clone(),
            "tollgate:apis:read",
        ),
        (
            Method::PATCH,
            "/apis/api_missing",
            empty.clone(),
            "tollgate:apis:write",
        ),
        (
            Method::DELETE,
            "/apis/api_missing",
            none.clone(),
            "tollgate:apis:write",
        ),
        (
            Method::POST,
            "/secrets/leaked",
            empty.clone(),
            "tollgate:clients:write",
        ),
        (Method::GET, "/keys", none.clone(), "tollgate:keys:read"),
        (
            Method::POST,
            "/keys/rotate",
            empty.clone(),
            "tollgate:keys:write",
        ),
        (Method::GET, "/audit", none.clone(), "tollgate:audit:read"),
        (Method::GET, "/admins", none.clone(), "tollgate:admin"),
        (Method::POST, "/admins", empty.clone(), "tollgate:admin"),
        (
            Method::GET,
            "/admins/adm_000000000000000000000000",
            none.clone(),
            "tollgate:admin",
        ),
        (
            Method::PATCH,
            "/admins/adm_000000000000000000000000",
            empty.clone(),
            "tollgate:admin",
        ),
        (
            Method::DELETE,
            "/admins/adm_000000000000000000000000",
            none,
            "tollgate:admin",
        ),
    ]
}

fn role_allows(role: &str, scope: &str) -> bool {
    match role {
        "owner" => true,
        "manager" => !matches!(scope, "tollgate:keys:write" | "tollgate:admin"),
        "viewer" => scope.ends_with(":read"),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn each_role_may_do_exactly_what_its_permissions_allow() {
    let app = spawn_with_owner().await;
    // The list covers every operation the OpenAPI document describes.
    let (_, _, doc) = json_of(
        app.http
            .get(app.url("/admin/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let described: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        operations().len(),
        described,
        "every admin operation is tried"
    );

    let mut owner = Browser::new(&app);
    assert_eq!(
        owner.sign_in(OWNER_EMAIL, PASSWORD).await.location,
        "/console"
    );
    let manager = invited(&app, "manager@example.com", "manager").await;
    let viewer = invited(&app, "viewer@example.com", "viewer").await;
    let mut browsers = [("owner", owner), ("manager", manager), ("viewer", viewer)];
    for (role, b) in &mut browsers {
        let role = *role;
        let home = b.get("/console/account").await;
        assert!(
            home.body.contains(&format!("<strong>{role}</strong>")),
            "{}",
            home.body
        );
        let csrf = field(&home.body, "csrf");
        for (method, path, body, scope) in operations() {
            let (status, answer) = b.api(method.clone(), path, body, Some(&csrf)).await;
            if role_allows(role, scope) {
                assert!(
                    matches!(status.as_u16(), 200 | 201 | 204 | 400 | 404 | 409 | 422),
                    "{role} {method} {path}: {status} {answer}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} {method} {path}: {answer}"
                );
                assert_eq!(answer["code"], "insufficient_scope");
                assert!(
                    answer["detail"].as_str().unwrap().contains(scope),
                    "{answer}"
                );
            }
        }
    }
}

#[tokio::test]
async fn owners_manage_administrators_and_the_last_owner_stays() {
    let app = spawn_with_owner().await;
    let mut manager = invited(&app, "manager@example.com", "manager").await;
    let (_, _, list) = json_of(app.admin(Method::GET, "/admins", None).await).await;
    let id_of = |email: &str| -> String {
        list["admins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["email"] == email)
            .unwrap()["admin_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (owner_id, manager_id) = (id_of(OWNER_EMAIL), id_of("manager@example.com"));

    // The last active owner can be neither demoted, disabled nor deleted.
    for (method, body) in [
        (Method::PATCH, Some(json!({"role": "viewer"}))),
        (Method::PATCH, Some(json!({"disabled": true}))),
        (Method::DELETE, None),
    ] {
        let r = app
            .admin(method, &format!("/admins/{owner_id}"), body)
            .await;
        let (status, _, body) = json_of(r).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["code"], "last_owner");
    }
    // Bad input is refused and changes nothing.
    for body in [json!({"role": "king"}), json!({"display_name": ""})] {
        let r = app
            .admin(Method::PATCH, &format!("/admins/{manager_id}"), Some(body))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    for body in [
        json!({"email": "x", "role": "viewer"}),
        json!({"email": "a@example.com", "role": "x"}),
    ] {
        let r = app.admin(Method::POST, "/admins", Some(body)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    let r = app
        .admin(
            Method::POST,
            "/admins",
            Some(json!({"email": "MANAGER@example.com", "role": "viewer"})),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CONFLICT,
        "emails are unique without regard to case"
    );

    // A role change ends the person's sessions at once.
    assert_eq!(manager.get("/console").await.status, StatusCode::OK);
    let r = app
        .admin(
            Method::PATCH,
            &format!("/admins/{manager_id}"),
            Some(json!({"role": "owner"})),
        )
        .await;
    let (status, _, view) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["role"], "owner");
    assert_eq!(manager.get("/console").await.location, "/console/sign-in");
    // With two owners, one may step down.
    let r = app
        .admin(
            Method::PATCH,
            &format!("/admins/{owner_id}"),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Disabled: sessions end and signing in fails like a wrong password.
    assert_eq!(
        manager
            .sign_in("manager@example.com", PASSWORD)
            .await
            .location,
        "/console"
    );
    let r = app
        .admin(
            Method::PATCH,
            &format!("/admins/{owner_id}"),
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .admin(
            Method::PATCH,
            &format!("/admins/{manager_id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    let (_, _, view) = json_of(r).await;
    assert!(view["disabled_at"].is_string(), "{view}");
    assert_eq!(manager.get("/console").await.location, "/console/sign-in");
    assert_eq!(
        manager
            .sign_in("manager@example.com", PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .admin(Method::DELETE, &format!("/admins/{manager_id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .admin(Method::GET, &format!("/admins/{manager_id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let (_, _, audit) = json_of(app.admin(Method::GET, "/audit?limit=200", None).await).await;
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "admin.invited",
        "admin.invitation_accepted",
        "admin.role_changed",
        "admin.disabled",
        "admin.deleted",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn the_environments_owner_is_created_once_and_no_setup_link_is_printed() {
    let app = spawn_with_owner().await;
    assert_eq!(app.setup_link, None);
    let dir = app.dir.clone();
    app.stop().await;
    let app = TestApp::spawn_in(dir, &[OPTIONAL_MFA, ENV_OWNER[0], ENV_OWNER[1]]).await;
    let (_, _, list) = json_of(app.admin(Method::GET, "/admins", None).await).await;
    assert_eq!(list["admins"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["admins"][0]["role"], "owner");
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(OWNER_EMAIL, PASSWORD).await.location, "/console");
}

#[tokio::test]
async fn failed_sign_ins_back_off_without_telling_which_accounts_exist() {
    let app = spawn_with_owner().await;
    let mut b = Browser::new(&app);
    for email in [OWNER_EMAIL, "ghost@example.com"] {
        for _ in 0..5 {
            assert_eq!(
                b.sign_in(email, "wrong password!!").await.status,
                StatusCode::UNAUTHORIZED
            );
        }
        let slowed = b.sign_in(email, "wrong password!!").await;
        assert_eq!(slowed.status, StatusCode::TOO_MANY_REQUESTS, "{email}");
        assert!(slowed.body.contains("Try again in 1 s"), "{}", slowed.body);
        assert_eq!(slowed.headers["retry-after"], "1");
    }
    // Even the right password waits, then works: nobody is locked out for good.
    assert_eq!(
        b.sign_in(OWNER_EMAIL, PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(61);
    assert_eq!(b.sign_in(OWNER_EMAIL, PASSWORD).await.location, "/console");
}

#[tokio::test]
async fn a_recovery_link_sets_a_new_password_once_and_links_expire() {
    let app = TestApp::spawn_with(&[ENV_OWNER[0], ENV_OWNER[1]]).await;
    let store = tollgate::startup::open_store(&app.config).await.unwrap();
    let email = tollgate::domain::admin::Email::parse(OWNER_EMAIL).unwrap();
    let url = tollgate::service::people::recovery_link(
        store.as_ref(),
        &tollgate::clock::SystemRng,
        &app.issuer,
        &email,
        app.tollgate.now(),
    )
    .await
    .unwrap();
    store.close().await;
    let mut b = Browser::new(&app);
    let page = b.get(&url).await;
    assert!(page.body.contains("Set a new password"), "{}", page.body);
    let token = field(&page.body, "token");
    let new_password = "a brand new passphrase";
    let short = b
        .post(
            "/console/reset",
            &[("token", &token), ("password", "short")],
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    let done = b
        .post(
            "/console/reset",
            &[("token", &token), ("password", new_password)],
        )
        .await;
    assert_eq!(done.location, "/console/sign-in?done=reset");
    let again = b
        .post(
            "/console/reset",
            &[("token", &token), ("password", new_password)],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "used once");
    assert_eq!(
        b.sign_in(OWNER_EMAIL, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        b.sign_in(OWNER_EMAIL, new_password).await.location,
        "/console/enrol"
    );

    // An invitation expires after seven days.
    let r = app
        .admin(
            Method::POST,
            "/admins",
            Some(json!({"email": "late@example.com", "role": "viewer"})),
        )
        .await;
    let (_, _, body) = json_of(r).await;
    app.clock.advance(7 * 24 * 3600);
    let page = b.get(body["invite_url"].as_str().unwrap()).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("has expired"), "{}", page.body);

    // Forged cookies and posts from other sites change nothing.
    b.session = Some("forged-session-value-that-is-43-characters-".into());
    assert_eq!(b.get("/console").await.location, "/console/sign-in");
    let r = app
        .http
        .post(app.url("/console/sign-in"))
        .header("origin", "https://evil.example")
        .form(&[("email", OWNER_EMAIL), ("password", new_password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_the_absolute_lifetime() {
    let app = spawn_with_owner().await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(OWNER_EMAIL, PASSWORD).await.location, "/console");
    app.clock.advance(29 * 60);
    assert_eq!(
        b.get("/console").await.status,
        StatusCode::OK,
        "activity keeps it alive"
    );
    app.clock.advance(29 * 60);
    assert_eq!(b.get("/console").await.status, StatusCode::OK);
    app.clock.advance(30 * 60);
    assert_eq!(
        b.get("/console").await.location,
        "/console/sign-in",
        "idle for 30 minutes"
    );

    assert_eq!(b.sign_in(OWNER_EMAIL, PASSWORD).await.location, "/console");
    for _ in 0..25 {
        app.clock.advance(29 * 60);
        b.get("/console").await;
    }
    assert_eq!(
        b.get("/console").await.location,
        "/console/sign-in",
        "12 hours at most, however active"
    );
}

#[tokio::test]
async fn a_signed_in_person_enrols_and_removes_an_optional_second_factor() {
    use crate::people::{by_id, code};
    let app = spawn_with_owner().await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(OWNER_EMAIL, PASSWORD).await.location, "/console");
    let home = b.get("/console/account").await;
    assert!(home.body.contains("Set up two-step verification"));
    let page = b.get("/console/enrol").await;
    let key = by_id(&page.body, "setup-key");
    let (csrf, pending) = (field(&page.body, "csrf"), field(&page.body, "pending"));
    let done = b
        .post(
            "/console/enrol",
            &[
                ("csrf", &csrf),
                ("pending", &pending),
                ("code", &code(&key, &app)),
            ],
        )
        .await;
    assert!(done.body.contains("recovery-codes"), "{}", done.body);
    let home = b.get("/console/account").await;
    assert!(
        home.body.contains("Turn off two-step verification"),
        "{}",
        home.body
    );
    // Another person's form cannot turn it off.
    let forged = b
        .post("/console/second-factor/remove", &[("csrf", "0000")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let off = b
        .post("/console/second-factor/remove", &[("csrf", &csrf)])
        .await;
    assert_eq!(off.location, "/console");
    let (_, _, audit) = json_of(app.admin(Method::GET, "/audit?limit=200", None).await).await;
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"admin.mfa_enrolled") && actions.contains(&"admin.mfa_removed"));
    assert_eq!(
        b.sign_in(OWNER_EMAIL, PASSWORD).await.location,
        "/console",
        "no code asked"
    );
}

#[tokio::test]
async fn every_node_honours_a_session_and_its_end() {
    if !crate::pg::required("every_node_honours_a_session_and_its_end") {
        return;
    }
    let settings = [OPTIONAL_MFA, ENV_OWNER[0], ENV_OWNER[1]];
    let (a, b) = crate::helpers::two_nodes(&settings).await;
    let mut on_a = Browser::new(&a);
    assert_eq!(
        on_a.sign_in(OWNER_EMAIL, PASSWORD).await.location,
        "/console"
    );
    let mut on_b = Browser::new(&b);
    on_b.session = on_a.session.clone();
    let home = on_b.get("/console/account").await;
    assert_eq!(home.status, StatusCode::OK, "the session row is shared");
    let csrf = field(&home.body, "csrf");
    let out = on_b
        .post("/console/sign-out-everywhere", &[("csrf", &csrf)])
        .await;
    assert_eq!(out.location, "/console/sign-in?done=signed-out");
    assert_eq!(on_a.get("/console").await.location, "/console/sign-in");
}
