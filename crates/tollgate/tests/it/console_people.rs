//! The console's audit log (filters and pages in the database, the admin API's filters),
//! administrators (invite, role, disable, delete, the last owner, roles and forgery refused,
//! escaping) and My account (changing the password).

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_ID, TestApp, json_of};
use crate::people::{Browser, OWNER_EMAIL, PASSWORD, by_id, field};
use crate::people_roles::spawn_with_owner as spawn;

const OWNER_ACTOR: &str = "admin:owner@example.com";

async fn owner(app: &TestApp) -> (Browser, String) {
    let mut b = Browser::new(app);
    assert_eq!(b.sign_in(OWNER_EMAIL, PASSWORD).await.location, "/console");
    let csrf = field(&b.get("/console/account").await.body, "csrf");
    (b, csrf)
}

/// The rows of the page's first table body.
fn rows(body: &str) -> Vec<String> {
    let Some(start) = body.find("<tbody>") else {
        return Vec::new();
    };
    let end = start + body[start..].find("</tbody>").unwrap();
    body[start..end]
        .split("<tr>")
        .skip(1)
        .map(str::to_owned)
        .collect()
}

/// The `href` of the link whose text is `text`, unescaped.
fn link(body: &str, text: &str) -> Option<String> {
    let at = body.find(&format!(">{text}</a>"))?;
    let start = body[..at].rfind("href=\"")? + "href=\"".len();
    let end = start + body[start..].find('"')?;
    Some(body[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}

async fn api(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, _, body) = json_of(app.admin(method, path, body).await).await;
    (status, body)
}

#[tokio::test]
async fn the_audit_log_filters_and_pages_in_the_database_as_the_admin_api_does() {
    let app = spawn().await;
    let (mut b, _) = owner(&app).await;
    let empty_filter = b.get("/console/audit?action=api.deleted").await;
    assert_eq!(empty_filter.status, StatusCode::OK, "{}", empty_filter.body);
    assert!(empty_filter.body.contains("No events match these filters"));

    // Events by the admin client: a client with a secret added, an API created and changed.
    let (alpha, _) = app.create_client("<script>alert(1)</script>", &[]).await;
    let (status, added) = api(
        &app,
        Method::POST,
        &format!("/clients/{alpha}/secrets"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let secret_id = added["secret"]["secret_id"].as_str().unwrap().to_owned();
    let reports = json!({"identifier": "https://reports.example.com", "name": "Reports",
        "permissions": [{"value": "reports:read", "description": "Read reports"}]});
    let (status, created) = api(&app, Method::POST, "/apis", Some(reports)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let api_id = created["api_id"].as_str().unwrap().to_owned();
    let patch = json!({"permissions": [{"value": "reports:read", "description": "Read reports"},
        {"value": "reports:write", "description": "Write reports"}]});
    let (status, body) = api(&app, Method::PATCH, &format!("/apis/{api_id}"), Some(patch)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An hour later (signed in again: the session was idle), by the owner through the
    // console's session: another client.
    app.clock.advance(3600);
    let later = app.tollgate.now();
    let (mut b, csrf) = owner(&app).await;
    let (status, body) = b
        .api(
            Method::POST,
            "/clients",
            Some(json!({"name": "Owner's client"})),
            Some(&csrf),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let beta = body["client"]["client_id"].as_str().unwrap().to_owned();

    // Each filter narrows the list to the events it names.
    let by_client = b.get(&format!("/console/audit?client_id={alpha}")).await;
    assert_eq!(by_client.status, StatusCode::OK);
    let found = rows(&by_client.body);
    assert_eq!(
        found.len(),
        2,
        "client.created and secret.added: {}",
        by_client.body
    );
    assert!(
        found
            .iter()
            .all(|r| r.contains(&format!("/console/clients/{alpha}")))
    );
    assert!(
        found[0].contains("secret.added") && found[0].contains(&secret_id),
        "newest first"
    );
    assert!(!by_client.body.contains("<script>alert(1)"), "escaped");
    assert!(
        by_client.body.contains("&#60;script&#62;") || by_client.body.contains("&lt;script&gt;")
    );

    let by_api = b.get(&format!("/console/audit?api_id={api_id}")).await;
    let found = rows(&by_api.body);
    let actions: Vec<bool> = ["permission.added", "api.updated", "api.created"]
        .iter()
        .map(|a| found.iter().any(|r| r.contains(a)))
        .collect();
    assert_eq!(found.len(), 3, "{}", by_api.body);
    assert_eq!(actions, [true, true, true]);
    assert!(
        found
            .iter()
            .all(|r| r.contains(&format!("/console/apis/{api_id}\">Reports</a>")))
    );
    assert!(by_api.body.contains(&format!(
        "<option value=\"{api_id}\" selected>Reports</option>"
    )));

    let by_owner = b.get(&format!("/console/audit?actor={OWNER_ACTOR}")).await;
    let found = rows(&by_owner.body);
    assert!(
        found.iter().all(|r| r.contains(OWNER_ACTOR)),
        "{}",
        by_owner.body
    );
    assert!(found.iter().any(|r| r.contains(&beta)));
    assert!(found.iter().any(|r| r.contains("admin.signed_in")));
    let by_admin_client = b
        .get(&format!(
            "/console/audit?actor={ADMIN_ID}&action=client.created"
        ))
        .await;
    let found = rows(&by_admin_client.body);
    assert_eq!(found.len(), 1, "{}", by_admin_client.body);
    assert!(found[0].contains(&alpha));

    let by_type = b.get("/console/audit?action=secret.added").await;
    assert_eq!(rows(&by_type.body).len(), 1);
    assert!(
        by_type
            .body
            .contains("<option value=\"secret.added\" selected>")
    );

    let cut = later.to_rfc3339();
    let minute = &cut[..16]; // a datetime-local value: 2030-03-17T18:46, read as UTC
    let since = b
        .get(&format!(
            "/console/audit?from={minute}&action=client.created"
        ))
        .await;
    let found = rows(&since.body);
    assert_eq!(found.len(), 1, "{}", since.body);
    assert!(found[0].contains(&beta));
    assert!(
        since.body.contains(&format!("value=\"{minute}:00\"")),
        "the time as read, in UTC"
    );
    let offset = b
        .get("/console/audit?from=2030-03-17T20:00:00%2B02:00")
        .await;
    assert!(
        offset.body.contains("value=\"2030-03-17T18:00:00\""),
        "{}",
        offset.body
    );
    let before = b
        .get(&format!("/console/audit?to={minute}&action=client.created"))
        .await;
    let found = rows(&before.body);
    assert!(found.iter().all(|r| !r.contains(&beta)) && found.iter().any(|r| r.contains(&alpha)));

    // Bad filters: 400, the message beside the field, the values kept, nothing listed.
    let bad = b
        .get("/console/audit?action=client.exploded&from=yesterday&client_id=a%20b")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    for id in ["f-action-error", "f-from-error", "f-client-error"] {
        assert!(
            bad.body.contains(&format!("id=\"{id}\"")),
            "{id}: {}",
            bad.body
        );
    }
    assert!(by_id(&bad.body, "f-action-error").contains("not an event type"));
    assert!(bad.body.contains("value=\"yesterday\""));
    assert!(rows(&bad.body).is_empty());
    let backwards = b
        .get("/console/audit?from=2030-01-02T00:00&to=2030-01-01T00:00")
        .await;
    assert_eq!(backwards.status, StatusCode::BAD_REQUEST);
    assert!(by_id(&backwards.body, "f-to-error").contains("later than from"));
    assert_eq!(
        b.get("/console/audit?before=x").await.status,
        StatusCode::BAD_REQUEST
    );

    // Pages: 50 newest first, "Older events", and "Newer events" back to the same first page.
    for i in 0..57 {
        app.create_client(&format!("bulk-{i:02}"), &[]).await;
    }
    let (_, all) = api(
        &app,
        Method::GET,
        "/audit?action=client.created&limit=500",
        None,
    )
    .await;
    let total = all["events"].as_array().unwrap().len();
    assert_eq!(
        total,
        57 + 3,
        "the bulk ones, alpha, beta and (maybe) the admin client"
    );
    let first = b.get("/console/audit?action=client.created").await;
    let first_rows = rows(&first.body);
    assert_eq!(first_rows.len(), 50);
    assert!(first_rows[0].contains("bulk-56") || first.body.contains("bulk-56"));
    assert!(link(&first.body, "Newer events").is_none());
    let older = link(&first.body, "Older events").expect("older events");
    assert!(
        older.contains("action=client.created"),
        "the filter stays: {older}"
    );
    let second = b.get(&older).await;
    let second_rows = rows(&second.body);
    assert_eq!(second_rows.len(), total - 50);
    assert!(link(&second.body, "Older events").is_none());
    let newer = link(&second.body, "Newer events").expect("newer events");
    assert_eq!(rows(&b.get(&newer).await.body), first_rows);

    // The admin API filters the same way, with problem details for bad values.
    let (status, page) = api(&app, Method::GET, &format!("/audit?api_id={api_id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["api.created", "api.updated", "permission.added"]);
    assert_eq!(page["events"][0]["api_id"], api_id.as_str());
    let (_, page) = api(
        &app,
        Method::GET,
        &format!("/audit?actor={OWNER_ACTOR}&action=client.created"),
        None,
    )
    .await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["client_id"], beta.as_str());
    let (_, page) = api(
        &app,
        Method::GET,
        &format!(
            "/audit?from={}&action=client.created&limit=500",
            cut.replace('+', "%2B")
        ),
        None,
    )
    .await;
    assert_eq!(
        page["events"].as_array().unwrap().len(),
        58,
        "beta and the bulk ones"
    );
    let (_, page) = api(
        &app,
        Method::GET,
        "/audit?action=secret.added&to=2030-01-01T00:00:00Z",
        None,
    )
    .await;
    assert!(page["events"].as_array().unwrap().is_empty(), "{page}");
    let (status, problem) = api(
        &app,
        Method::GET,
        "/audit?action=nope&api_id=tgc_1&from=x&limit=0",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["code"], "validation_failed");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["limit", "api_id", "action", "from"]);
}

/// Accepts an invitation link in a fresh browser and signs in; returns the browser.
async fn accept(app: &TestApp, url: &str, email: &str, name: &str) -> Browser {
    let mut b = Browser::new(app);
    let page = b.get(url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let token = field(&page.body, "token");
    let done = b
        .post(
            "/console/invite",
            &[
                ("token", &token),
                ("display_name", name),
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

#[tokio::test]
async fn owners_invite_change_roles_disable_and_delete_administrators() {
    let app = spawn().await;
    let (mut b, csrf) = owner(&app).await;
    let list = b.get("/console/admins").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains(">Administrators</a>"),
        "the owner sees the navigation link"
    );
    assert_eq!(rows(&list.body).len(), 1);

    // Bad invitations change nothing.
    let bad = b
        .post(
            "/console/admins/invite",
            &[
                ("csrf", &csrf),
                ("email", "not-an-email"),
                ("role", "emperor"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("id=\"invite-email-error\"")
            && bad.body.contains("id=\"invite-role-error\"")
    );
    assert!(
        bad.body.contains("value=\"not-an-email\""),
        "the value is kept"
    );
    let forged = b
        .post(
            "/console/admins/invite",
            &[
                ("csrf", "0000"),
                ("email", "v@example.com"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let taken = b
        .post(
            "/console/admins/invite",
            &[("csrf", &csrf), ("email", OWNER_EMAIL), ("role", "viewer")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(
        by_id(&taken.body, "invite-email-error").contains("Another administrator has this address")
    );
    let (_, listed) = api(&app, Method::GET, "/admins", None).await;
    assert!(
        listed["invitations"].as_array().unwrap().is_empty(),
        "{listed}"
    );

    // The invitation: the link shown once, as text.
    let made = b
        .post(
            "/console/admins/invite",
            &[
                ("csrf", &csrf),
                ("email", "vera@example.com"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert_eq!(made.headers[header::CACHE_CONTROL], "no-store");
    assert!(
        made.body
            .contains("Tollgate sends no mail: send this link yourself")
    );
    let url = by_id(&made.body, "one-time-link")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(
        url.starts_with(&format!("{}/console/invite?token=", app.issuer)),
        "{url}"
    );
    let pending = b.get("/console/admins").await;
    assert!(
        pending.body.contains("vera@example.com") && pending.body.contains("Pending invitations")
    );

    let name = "<b>Vera</b> & co";
    let mut vera = accept(&app, &url, "vera@example.com", name).await;
    let list = b.get("/console/admins").await;
    assert!(
        list.body.contains("&#60;b&#62;Vera&#60;/b&#62; &#38; co")
            || list.body.contains("&lt;b&gt;Vera"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("<b>Vera"));
    let (_, listed) = api(&app, Method::GET, "/admins", None).await;
    let id_of = |listed: &Value, email: &str| {
        listed["admins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["email"] == email)
            .unwrap()["admin_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let vera_id = id_of(&listed, "vera@example.com");
    let owner_id = id_of(&listed, OWNER_EMAIL);

    // A viewer sees no Administrators link; the page and every form answer 403.
    let home = vera.get("/console").await;
    assert!(!home.body.contains("/console/admins"), "{}", home.body);
    assert_eq!(
        vera.get("/console/audit").await.status,
        StatusCode::OK,
        "viewers read the audit log"
    );
    let vera_csrf = field(&vera.get("/console/account").await.body, "csrf");
    assert_eq!(
        vera.get("/console/admins").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        vera.get(&format!("/console/admins/{vera_id}")).await.status,
        StatusCode::FORBIDDEN
    );
    let refused = |path: String| {
        (
            path,
            vec![
                ("csrf", vera_csrf.clone()),
                ("role", "owner".into()),
                ("email", "x@example.com".into()),
                ("confirm", OWNER_EMAIL.into()),
            ],
        )
    };
    for (path, form) in [
        refused("/console/admins/invite".into()),
        refused(format!("/console/admins/{vera_id}/role")),
        refused(format!("/console/admins/{owner_id}/disable")),
        refused(format!("/console/admins/{owner_id}/enable")),
        refused(format!("/console/admins/{owner_id}/delete")),
        refused(format!("/console/admins/{owner_id}/reset-link")),
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            vera.post(&path, &form).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let (_, listed) = api(&app, Method::GET, "/admins", None).await;
    assert_eq!(listed["admins"].as_array().unwrap().len(), 2);
    let (_, one) = api(&app, Method::GET, &format!("/admins/{vera_id}"), None).await;
    assert_eq!(one["role"], "viewer");

    // The owner makes her a manager: a forged form changes nothing; the real one ends her
    // session.
    let page = format!("/console/admins/{vera_id}");
    let forged = b
        .post(
            &format!("{page}/role"),
            &[("csrf", "0000"), ("role", "manager")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let bad = b
        .post(
            &format!("{page}/role"),
            &[("csrf", &csrf), ("role", "emperor")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("id=\"role-error\""));
    let done = b
        .post(
            &format!("{page}/role"),
            &[("csrf", &csrf), ("role", "manager")],
        )
        .await;
    assert_eq!(done.location, format!("{page}?done=role"), "{}", done.body);
    assert!(
        b.get(&done.location)
            .await
            .body
            .contains("<span class=\"role\">manager</span>")
    );
    assert_eq!(
        vera.get("/console").await.location,
        "/console/sign-in",
        "her session ended"
    );
    let (_, one) = api(&app, Method::GET, &format!("/admins/{vera_id}"), None).await;
    assert_eq!(one["role"], "manager");
    assert_eq!(
        vera.sign_in("vera@example.com", PASSWORD).await.location,
        "/console"
    );
    assert_eq!(
        vera.get("/console/admins").await.status,
        StatusCode::FORBIDDEN,
        "managers too"
    );
    let manager_csrf = field(&vera.get("/console/account").await.body, "csrf");
    for path in [
        format!("/console/admins/{owner_id}/disable"),
        "/console/admins/invite".to_owned(),
    ] {
        let form = [
            ("csrf", manager_csrf.as_str()),
            ("email", "m@example.com"),
            ("role", "owner"),
        ];
        assert_eq!(
            vera.post(&path, &form).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }

    // Disabled: signed out, cannot sign in; enabled again: can.
    let done = b.post(&format!("{page}/disable"), &[("csrf", &csrf)]).await;
    assert_eq!(done.location, format!("{page}?done=disabled"));
    assert_eq!(vera.get("/console").await.location, "/console/sign-in");
    assert_eq!(
        vera.sign_in("vera@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        b.get("/console/admins")
            .await
            .body
            .contains("badge off\">disabled")
    );
    let done = b.post(&format!("{page}/enable"), &[("csrf", &csrf)]).await;
    assert_eq!(done.location, format!("{page}?done=enabled"));
    assert_eq!(
        vera.sign_in("vera@example.com", PASSWORD).await.location,
        "/console"
    );

    // A reset link for her: shown once; it opens the reset page.
    let reset = b
        .post(&format!("{page}/reset-link"), &[("csrf", &csrf)])
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let reset_url = by_id(&reset.body, "one-time-link")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(
        Browser::new(&app)
            .get(&reset_url)
            .await
            .body
            .contains("Set a new password")
    );

    // The last owner stays: not demoted, disabled or deleted, with the reason on the page.
    let me = format!("/console/admins/{owner_id}");
    let demote = b
        .post(
            &format!("{me}/role"),
            &[("csrf", &csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(demote.status, StatusCode::CONFLICT);
    assert!(
        demote.body.contains("would leave no active owner"),
        "{}",
        demote.body
    );
    let disable = b.post(&format!("{me}/disable"), &[("csrf", &csrf)]).await;
    assert_eq!(disable.status, StatusCode::CONFLICT);
    let delete = b
        .post(
            &format!("{me}/delete"),
            &[("csrf", &csrf), ("confirm", OWNER_EMAIL)],
        )
        .await;
    assert_eq!(delete.status, StatusCode::CONFLICT);
    assert_eq!(
        b.get("/console/admins").await.status,
        StatusCode::OK,
        "still an owner, signed in"
    );
    let (_, one) = api(&app, Method::GET, &format!("/admins/{owner_id}"), None).await;
    assert_eq!(
        (one["role"].as_str(), one["disabled_at"].is_null()),
        (Some("owner"), true)
    );

    // Deleting asks for the email address.
    let wrong = b
        .post(
            &format!("{page}/delete"),
            &[("csrf", &csrf), ("confirm", "someone@example.com")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(by_id(&wrong.body, "confirm-error").contains("vera@example.com"));
    assert_eq!(
        api(&app, Method::GET, &format!("/admins/{vera_id}"), None)
            .await
            .0,
        StatusCode::OK
    );
    let gone = b
        .post(
            &format!("{page}/delete"),
            &[("csrf", &csrf), ("confirm", "Vera@Example.com")],
        )
        .await;
    assert_eq!(gone.location, "/console/admins?done=deleted");
    assert_eq!(
        api(&app, Method::GET, &format!("/admins/{vera_id}"), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(vera.get("/console").await.location, "/console/sign-in");
    assert_eq!(b.get(&page).await.status, StatusCode::NOT_FOUND);

    // Every change is audited with the owner as the actor.
    let (_, page) = api(
        &app,
        Method::GET,
        &format!("/audit?actor={OWNER_ACTOR}&limit=500"),
        None,
    )
    .await;
    let actions: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "admin.invited",
        "admin.role_changed",
        "admin.disabled",
        "admin.enabled",
        "admin.reset_link_created",
        "admin.deleted",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
}

#[tokio::test]
async fn people_change_their_password_on_my_account() {
    let app = spawn().await;
    let (mut b, csrf) = owner(&app).await;
    let account = b.get("/console/account").await;
    assert!(account.body.contains("Change password"));
    let new = "a brand new passphrase 2030";

    let wrong = b
        .post(
            "/console/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", "not my password at all"),
                ("password", new),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(
        by_id(&wrong.body, "current-password-error").contains("not your current password"),
        "{}",
        wrong.body
    );
    let short = b
        .post(
            "/console/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(by_id(&short.body, "new-password-error").contains("at least 12 characters"));
    assert!(
        !short.body.contains(PASSWORD),
        "passwords are not sent back"
    );
    let forged = b
        .post(
            "/console/account/password",
            &[
                ("csrf", "0000"),
                ("current_password", PASSWORD),
                ("password", new),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        Browser::new(&app)
            .sign_in(OWNER_EMAIL, PASSWORD)
            .await
            .location,
        "/console",
        "unchanged so far"
    );

    let done = b
        .post(
            "/console/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("password", new),
            ],
        )
        .await;
    assert_eq!(
        done.location, "/console/account?done=password",
        "{}",
        done.body
    );
    assert!(
        b.get(&done.location)
            .await
            .body
            .contains("Your password is changed")
    );
    assert_eq!(
        Browser::new(&app)
            .sign_in(OWNER_EMAIL, PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        Browser::new(&app).sign_in(OWNER_EMAIL, new).await.location,
        "/console"
    );

    // Guessing the current password backs off as signing in does.
    let mut last = StatusCode::OK;
    for _ in 0..8 {
        let r = b
            .post(
                "/console/account/password",
                &[
                    ("csrf", &csrf),
                    ("current_password", "guess guess guess"),
                    ("password", new),
                ],
            )
            .await;
        last = r.status;
        if last == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers.contains_key(header::RETRY_AFTER));
            assert!(r.body.contains("try again in"), "{}", r.body);
            break;
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let (_, page) = api(
        &app,
        Method::GET,
        &format!("/audit?actor={OWNER_ACTOR}&action=admin.password_changed"),
        None,
    )
    .await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
}

/// Events as the schema before migration 0006 recorded them.
const OLD_EVENTS: [(&str, &str); 5] = [
    (
        "api.created",
        "api api_tollgate identifier \"https://x\" name \"X\" permissions \"\"",
    ),
    ("api.updated", "api api_0a1b2c: name \"Y\""),
    (
        "permission.removed",
        "api api_0a1b2c permission reports:read",
    ),
    (
        "client.created",
        "api api_0a1b2c is named here but this is no API event",
    ),
    ("api.deleted", "an unexpected detail"),
];

/// Applies the migrations up to 0005 to `$url`, records [`OLD_EVENTS`], then applies them
/// all; evaluates to `(action, api_id)` in id order.
macro_rules! migrate_with_old_events {
    ($conn:ty, $db:literal, $url:expr) => {{
        use sqlx::{Connection, Row};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join($db);
        let migrator = sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap();
        let mut conn = <$conn>::connect($url).await.unwrap();
        migrator.run_to(5, &mut conn).await.unwrap();
        for (action, detail) in OLD_EVENTS {
            sqlx::query("INSERT INTO audit_events (at, actor, action, detail) VALUES (1, 'tollgate', $1, $2)")
                .bind(action)
                .bind(detail)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        migrator.run(&mut conn).await.unwrap();
        let rows = sqlx::query("SELECT action, api_id FROM audit_events ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let found: Vec<(String, Option<String>)> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        found
    }};
}

#[tokio::test]
async fn the_audit_filters_migration_reads_the_api_of_earlier_events() {
    let expected: Vec<(String, Option<String>)> = [
        ("api.created", Some("api_tollgate")),
        ("api.updated", Some("api_0a1b2c")),
        ("permission.removed", Some("api_0a1b2c")),
        ("client.created", None),
        ("api.deleted", None),
    ]
    .iter()
    .map(|(a, i)| ((*a).to_owned(), i.map(str::to_owned)))
    .collect();
    let dir = crate::helpers::TestDir::new();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let got = migrate_with_old_events!(sqlx::SqliteConnection, "sqlite", &url);
    assert_eq!(got, expected);
    if crate::pg::postgres() {
        let db = crate::pg::PgDatabase::create();
        let got = migrate_with_old_events!(sqlx::PgConnection, "postgres", &db.url);
        assert_eq!(got, expected);
    }
}
