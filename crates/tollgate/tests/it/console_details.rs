//! The API client's page in the console: what it shows, editing details, permissions and
//! claims, removing secrets, deleting the client; a viewer reads it all and changes nothing;
//! forms without the session's anti-forgery token or from another site are refused.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, decode_jwt, json_of};
use crate::people::signed_in_owner as owner;
use crate::people::{Browser, Got, OWNER_EMAIL, field};
use crate::people_roles::{invited, spawn_with_owner as spawn};

/// Creates a client through the admin API with `extra` fields; returns (client id, secret).
async fn client_with(app: &TestApp, name: &str, scopes: &[&str], extra: Value) -> (String, String) {
    let mut body =
        json!({"name": name, "description": "Sends the nightly reports", "scopes": scopes});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, _, created) = json_of(app.admin(Method::POST, "/clients", Some(body)).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["client"]["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// Adds a secret through the admin API; returns (secret id, secret).
async fn add_secret(app: &TestApp, id: &str, body: Option<Value>) -> (String, String) {
    let (status, _, added) = json_of(
        app.admin(Method::POST, &format!("/clients/{id}/secrets"), body)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    (
        added["secret"]["secret_id"].as_str().unwrap().to_owned(),
        added["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn client_json(app: &TestApp, id: &str) -> (StatusCode, Value) {
    let (status, _, body) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    (status, body)
}

/// The client's audit events as the admin API lists them, oldest first.
async fn audit(app: &TestApp, id: &str) -> Vec<Value> {
    let (status, _, page) = json_of(
        app.admin(
            Method::GET,
            &format!("/audit?client_id={id}&limit=200"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"].as_array().unwrap().clone()
}

/// The part of a page from the element with `id` to the end of its section.
fn section<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let rest = &body[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

/// Posts the details form.
async fn edit(
    b: &mut Browser,
    path: &str,
    csrf: &str,
    name: &str,
    description: &str,
    lifetime: &str,
) -> Got {
    b.post(
        path,
        &[
            ("csrf", csrf),
            ("name", name),
            ("description", description),
            ("access_token_lifetime", lifetime),
            ("signing_algorithm", ""),
            ("tenants", "acme"),
        ],
    )
    .await
}

/// `s` with the entities the templates write turned back into characters.
fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The text of the field error paragraph `#{id}-error`.
fn error_beside(page: &Got, id: &str) -> String {
    unescape(&crate::people::by_id(&page.body, &format!("{id}-error")))
}

#[tokio::test]
async fn the_page_shows_settings_secrets_with_their_last_use_hints_and_the_audit_trail() {
    let app = spawn().await;
    app.create_api(
        "https://reports.example.com/",
        "Reports",
        &["reports:read", "reports:export"],
    )
    .await;
    let (id, _) = client_with(
        &app,
        "Report Exporter",
        &["reports:read"],
        json!({"access_token_lifetime": 600, "tenants": ["globex", "acme"], "claims": {"org": "acme"}}),
    )
    .await;
    app.clock.advance(86_400);
    let in_three_days = app.tollgate.now().0 + 3 * 86_400 + 60;
    let expires = tollgate::clock::UnixTime(in_three_days).to_rfc3339();
    let (second_id, second) = add_secret(&app, &id, Some(json!({"expires_at": expires}))).await;
    app.token(&id, &second, &[("tenant", "acme")]).await;

    let mut b = owner(&app).await;
    let page = b.get(&format!("/console/clients/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.headers["cache-control"], "no-store");
    let body = &page.body;
    for shown in [
        "<h1>Report Exporter</h1>",
        "Sends the nightly reports",
        &format!("<code id=\"client-id\" class=\"key\">{id}</code>"),
        "data-copy=\"client-id\"",
        "value=\"600\"",
        "value=\"acme globex\"",
        "reports.example.com",
    ] {
        assert!(body.contains(shown), "{shown} in {body}");
    }
    // The permissions as checkboxes labelled by their value, with their descriptions, the
    // held one ticked.
    let permissions = section(body, "permissions-h");
    assert!(
        permissions.contains("value=\"reports:read\" checked"),
        "{permissions}"
    );
    assert!(permissions.contains("value=\"reports:export\" aria-describedby"));
    assert!(permissions.contains("lets a client reports:export"));
    assert!(section(body, "claims-h").contains("acme"));

    // Secrets: the first never used, the second used and expiring.
    let secrets = section(body, "secrets-h");
    let rows: Vec<&str> = secrets.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 2, "{secrets}");
    let first_row = rows.iter().find(|r| !r.contains(&second_id)).unwrap();
    let second_row = rows.iter().find(|r| r.contains(&second_id)).unwrap();
    assert_eq!(
        first_row.matches(">never<").count(),
        2,
        "expires and last used: {first_row}"
    );
    assert_eq!(second_row.matches("<time").count(), 3, "{second_row}");
    assert!(second_row.contains(&expires));

    // What needs attention: the first secret can go, the second expires soon.
    let attention = section(body, "attention-h");
    assert!(
        attention.contains("has never been used, while the newer secret"),
        "{attention}"
    );
    assert!(attention.contains("expires in 3 days"), "{attention}");

    // The audit trail, newest first.
    let activity = section(body, "activity-h");
    let added = activity.find("secret.added").expect("secret.added");
    let created = activity.find("client.created").expect("client.created");
    assert!(added < created, "{activity}");
    assert!(activity.contains(&format!("href=\"/console/audit?client_id={id}\"")));
    assert!(!activity.contains("Older events"));

    // Twenty events at most, the newest.
    for i in 0..25 {
        let r = app
            .admin(
                Method::PATCH,
                &format!("/clients/{id}"),
                Some(json!({"description": format!("version {i}")})),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let page = b.get(&format!("/console/clients/{id}")).await;
    let activity = section(&page.body, "activity-h");
    assert_eq!(activity.matches("<tr>").count(), 21, "{activity}");
    assert!(activity.contains("Older events"));
    assert!(!activity.contains("client.created"));

    // Unknown and malformed ids.
    let unknown = b.get("/console/clients/tgc_000000000000000000000000").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("No such API client"));
    let malformed = b.get("/console/clients/not%20an%20id").await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn editing_the_details_saves_and_audits_and_bad_fields_change_nothing() {
    let app = spawn().await;
    let (id, secret) = client_with(&app, "Exporter", &[], json!({})).await;
    client_with(&app, "Importer", &[], json!({})).await;
    let mut b = owner(&app).await;
    let path = format!("/console/clients/{id}");
    let page = b.get(&path).await;
    let csrf = field(&page.body, "csrf");
    let saved = edit(
        &mut b,
        &path,
        &csrf,
        "Report Exporter",
        "Nightly export",
        "900",
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location, format!("{path}?done=saved"));
    let after = b.get(&saved.location).await;
    assert!(
        unescape(&after.body).contains("Saved the client's details"),
        "{}",
        after.body
    );
    let (_, c) = client_json(&app, &id).await;
    assert_eq!(c["name"], "Report Exporter");
    assert_eq!(c["description"], "Nightly export");
    assert_eq!(c["access_token_lifetime"], 900);
    assert_eq!(c["tenants"], json!(["acme"]));
    let events = audit(&app, &id).await;
    let updated = events.last().unwrap();
    assert_eq!(updated["action"], "client.updated");
    assert_eq!(updated["actor"], format!("admin:{OWNER_EMAIL}"));
    assert!(
        updated["detail"]
            .as_str()
            .unwrap()
            .contains("Report Exporter")
    );
    // The token lifetime applies.
    assert_eq!(
        app.token(&id, &secret, &[("tenant", "acme")]).await["expires_in"],
        900
    );

    // The same values again change nothing and record nothing.
    let again = edit(
        &mut b,
        &path,
        &csrf,
        "Report Exporter",
        "Nightly export",
        "900",
    )
    .await;
    assert_eq!(again.location, format!("{path}?done=unchanged"));
    assert_eq!(audit(&app, &id).await.len(), events.len());

    // Bad fields: the error beside the field, what was typed kept, nothing changed.
    let taken = edit(&mut b, &path, &csrf, "Importer", "typed text", "900").await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert!(error_beside(&taken, "name").contains("Another client has this name already"));
    assert!(taken.body.contains("value=\"Importer\""));
    assert!(taken.body.contains(">typed text</textarea>"));
    let empty = edit(&mut b, &path, &csrf, "  ", "x", "900").await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_beside(&empty, "name"), "Must not be empty.");
    let lifetime = edit(&mut b, &path, &csrf, "Renamed", "x", "5").await;
    assert_eq!(lifetime.status, StatusCode::BAD_REQUEST);
    assert!(error_beside(&lifetime, "access_token_lifetime").contains("between 60 and 86400"));
    assert!(lifetime.body.contains("aria-invalid=\"true\""));
    let words = edit(&mut b, &path, &csrf, "Renamed", "x", "an hour").await;
    assert_eq!(words.status, StatusCode::BAD_REQUEST);
    assert!(error_beside(&words, "access_token_lifetime").contains("whole number"));
    let (_, c) = client_json(&app, &id).await;
    assert_eq!(c["name"], "Report Exporter");
    assert_eq!(c["description"], "Nightly export");
    assert_eq!(audit(&app, &id).await.len(), events.len());

    // Markup in the name and description is shown as text.
    let evil = edit(
        &mut b,
        &path,
        &csrf,
        "<script>alert(1)</script>",
        "<script>alert(2)</script>",
        "",
    )
    .await;
    assert_eq!(evil.status, StatusCode::SEE_OTHER, "{}", evil.body);
    let page = b.get(&path).await;
    assert!(!page.body.contains("<script>alert("), "{}", page.body);
    assert!(
        page.body.contains("&#60;script&#62;alert(1)")
            || page.body.contains("&lt;script&gt;alert(1)")
    );
}

#[tokio::test]
async fn permissions_and_claims_change_and_a_locked_client_refuses() {
    let app = spawn().await;
    app.create_api(
        "https://reports.example.com/",
        "Reports",
        &["reports:read", "reports:export"],
    )
    .await;
    let (id, secret) = client_with(&app, "Exporter", &["reports:read"], json!({})).await;
    let mut b = owner(&app).await;
    let path = format!("/console/clients/{id}");
    let csrf = field(&b.get(&path).await.body, "csrf");

    let scopes = b
        .post(
            &format!("{path}/scopes"),
            &[
                ("csrf", &csrf),
                ("scope", "reports:read"),
                ("scope", "reports:export"),
            ],
        )
        .await;
    assert_eq!(
        scopes.location,
        format!("{path}?done=scopes"),
        "{}",
        scopes.body
    );
    let (_, c) = client_json(&app, &id).await;
    assert_eq!(c["scopes"], json!(["reports:export", "reports:read"]));
    let token = app.token(&id, &secret, &[]).await;
    assert_eq!(token["scope"], "reports:export reports:read");
    let event = audit(&app, &id).await.pop().unwrap();
    assert_eq!(event["actor"], format!("admin:{OWNER_EMAIL}"));

    // A permission no API publishes is refused by the API's own check.
    let unknown = b
        .post(
            &format!("{path}/scopes"),
            &[("csrf", &csrf), ("scope", "billing:write")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(section(&unknown.body, "permissions-h").contains("is not a permission of any API"));

    // Claims: set, refused when reserved or not JSON, removed.
    let claims = b
        .post(
            &format!("{path}/claims"),
            &[("csrf", &csrf), ("claims", "{\"org\": \"acme\"}")],
        )
        .await;
    assert_eq!(
        claims.location,
        format!("{path}?done=claims"),
        "{}",
        claims.body
    );
    let token = app.token(&id, &secret, &[]).await;
    let (_, payload) = decode_jwt(token["access_token"].as_str().unwrap());
    assert_eq!(payload["org"], "acme");
    for bad in ["{\"aud\": \"elsewhere\"}", "{org: acme}", "[1]"] {
        let refused = b
            .post(
                &format!("{path}/claims"),
                &[("csrf", &csrf), ("claims", bad)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(!error_beside(&refused, "claims").is_empty());
    }
    assert_eq!(
        client_json(&app, &id).await.1["claims"],
        json!({"org": "acme"})
    );
    let removed = b
        .post(
            &format!("{path}/claims"),
            &[("csrf", &csrf), ("claims", "")],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(client_json(&app, &id).await.1.get("claims").is_none());

    // Locking from the form, after which the permissions are read-only and refused.
    let lock = b
        .post(
            &format!("{path}/scopes"),
            &[("csrf", &csrf), ("scope", "reports:read"), ("lock", "on")],
        )
        .await;
    assert_eq!(lock.status, StatusCode::SEE_OTHER, "{}", lock.body);
    let (_, c) = client_json(&app, &id).await;
    assert_eq!(c["scopes_locked"], true);
    assert_eq!(c["scopes"], json!(["reports:read"]));
    let page = b.get(&path).await;
    let permissions = section(&page.body, "permissions-h");
    assert!(permissions.contains("Locked"), "{permissions}");
    assert!(!permissions.contains("type=\"checkbox\""));
    assert!(permissions.contains("reports:read"));
    let refused = b
        .post(
            &format!("{path}/scopes"),
            &[("csrf", &csrf), ("scope", "reports:export")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(section(&refused.body, "permissions-h").contains("locked"));
    assert_eq!(
        client_json(&app, &id).await.1["scopes"],
        json!(["reports:read"])
    );
}

#[tokio::test]
async fn removing_a_secret_refuses_it_and_the_other_keeps_working() {
    let app = spawn().await;
    let (id, first) = client_with(&app, "Exporter", &[], json!({})).await;
    let first_id = client_json(&app, &id).await.1["secrets"][0]["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (second_id, second) = add_secret(&app, &id, None).await;
    let mut b = owner(&app).await;
    let path = format!("/console/clients/{id}");
    let page = b.get(&path).await;
    let csrf = field(&page.body, "csrf");
    let secrets = section(&page.body, "secrets-h");
    assert!(secrets.contains(&format!(
        "action=\"{path}/secrets/{first_id}/remove\" data-confirm="
    )));
    assert!(secrets.contains("get 401 invalid_client"));
    assert!(secrets.contains(&format!("<form method=\"post\" action=\"{path}/secrets\"")));
    assert!(secrets.contains("name=\"expires_in\""));
    assert!(secrets.contains(">Add secret</button>"));

    let removed = b
        .post(
            &format!("{path}/secrets/{first_id}/remove"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let notice = b.get(&removed.location).await;
    assert!(
        notice.body.contains(&format!("Removed secret {first_id}")),
        "{}",
        notice.body
    );
    assert!(notice.body.contains("401"));
    let (status, body) = app.try_token(&id, &first).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    app.token(&id, &second, &[]).await;
    let event = audit(&app, &id).await.pop().unwrap();
    assert_eq!(event["action"], "secret.removed");
    assert_eq!(event["actor"], format!("admin:{OWNER_EMAIL}"));

    // The last secret stays: the page offers no Remove, and a post by hand is refused.
    assert!(!section(&notice.body, "secrets-h").contains(">Remove<"));
    let last = b
        .post(
            &format!("{path}/secrets/{second_id}/remove"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    assert!(last.body.contains("add a new secret first"));
    app.token(&id, &second, &[]).await;
    // Unknown and malformed secret ids.
    for bad in ["sec_0000", "nope"] {
        let r = b
            .post(&format!("{path}/secrets/{bad}/remove"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}");
    }
}

#[tokio::test]
async fn deleting_needs_the_name_typed_and_then_its_tokens_are_refused() {
    let app = spawn().await;
    let (id, secret) = client_with(&app, "Report \"Exporter\"", &[], json!({})).await;
    let mut b = owner(&app).await;
    let path = format!("/console/clients/{id}");
    let page = b.get(&path).await;
    let csrf = field(&page.body, "csrf");
    let danger = section(&page.body, "danger-h");
    let danger = unescape(danger);
    assert!(
        danger.contains("data-must-match=\"Report \"Exporter\"\""),
        "{danger}"
    );
    assert!(danger.contains("data-enables=\"delete-button\""));
    assert!(danger.contains("Type the client's name to confirm"));

    let wrong = b
        .post(
            &format!("{path}/delete"),
            &[("csrf", &csrf), ("confirm_name", "Report Exporter")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(error_beside(&wrong, "confirm_name").contains("The name typed does not match"));
    assert_eq!(client_json(&app, &id).await.0, StatusCode::OK);
    app.token(&id, &secret, &[]).await;

    let deleted = b
        .post(
            &format!("{path}/delete"),
            &[("csrf", &csrf), ("confirm_name", "Report \"Exporter\"")],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert!(deleted.location.starts_with("/console/clients?deleted="));
    let list = b.get(&deleted.location).await;
    assert!(
        unescape(&list.body).contains("Deleted Report \"Exporter\"."),
        "{}",
        list.body
    );
    assert_eq!(client_json(&app, &id).await.0, StatusCode::NOT_FOUND);
    let (status, body) = app.try_token(&id, &secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND);
    let event = audit(&app, &id).await.pop().unwrap();
    assert_eq!(event["action"], "client.deleted");
    assert_eq!(event["actor"], format!("admin:{OWNER_EMAIL}"));
}

#[tokio::test]
async fn a_viewer_reads_everything_and_changes_nothing() {
    let app = spawn().await;
    app.create_api("https://reports.example.com/", "Reports", &["reports:read"])
        .await;
    let (id, secret) = client_with(
        &app,
        "Exporter",
        &["reports:read"],
        json!({"claims": {"org": "acme"}}),
    )
    .await;
    let (second_id, _) = add_secret(&app, &id, None).await;
    let mut viewer = invited(&app, "viewer@example.com", "viewer").await;
    let path = format!("/console/clients/{id}");
    let page = viewer.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let main = &page.body[page.body.find("<main").unwrap()..];
    for shown in [
        "Exporter",
        "reports:read",
        "acme",
        &second_id,
        "client.created",
    ] {
        assert!(main.contains(shown), "{shown} in {main}");
    }
    for absent in [
        ">Save<",
        ">Remove",
        ">Add secret<",
        ">Delete client<",
        "<form",
        "<input",
        "<textarea",
        "<select",
        "data-confirm",
    ] {
        assert!(!main.contains(absent), "{absent} in {main}");
    }

    let csrf = field(&page.body, "csrf");
    let before = client_json(&app, &id).await.1;
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            path.clone(),
            vec![("name", "Hijacked"), ("description", "")],
        ),
        (format!("{path}/scopes"), vec![]),
        (format!("{path}/claims"), vec![("claims", "")]),
        (format!("{path}/secrets/{second_id}/remove"), vec![]),
        (format!("{path}/delete"), vec![("confirm_name", "Exporter")]),
    ];
    for (to, mut form) in posts {
        form.push(("csrf", &csrf));
        let r = viewer.post(&to, &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{to}");
    }
    let after = client_json(&app, &id).await.1;
    assert_eq!(before, after);
    app.token(&id, &secret, &[]).await;
}

#[tokio::test]
async fn forms_without_the_anti_forgery_token_or_from_another_site_are_refused() {
    let app = spawn().await;
    let (id, _) = client_with(&app, "Exporter", &[], json!({})).await;
    let (_, _) = add_secret(&app, &id, None).await;
    let mut b = owner(&app).await;
    let path = format!("/console/clients/{id}");
    let csrf = field(&b.get(&path).await.body, "csrf");
    let before = client_json(&app, &id).await.1;
    let secret_id = before["secrets"][0]["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let posts = [
        (path.clone(), vec![("name", "Hijacked")]),
        (format!("{path}/scopes"), vec![]),
        (
            format!("{path}/claims"),
            vec![("claims", "{\"org\": \"x\"}")],
        ),
        (format!("{path}/secrets/{secret_id}/remove"), vec![]),
        (format!("{path}/delete"), vec![("confirm_name", "Exporter")]),
    ];
    for (to, form) in &posts {
        let missing = b.post(to, form).await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN, "no csrf: {to}");
        let mut wrong = form.clone();
        wrong.push(("csrf", "not-the-token"));
        assert_eq!(
            b.post(to, &wrong).await.status,
            StatusCode::FORBIDDEN,
            "wrong csrf: {to}"
        );
        // The right token from another site.
        let mut right = form.clone();
        right.push(("csrf", &csrf));
        let r = reqwest::Client::new()
            .post(app.url(to))
            .header(header::ORIGIN, "https://evil.example")
            .header(
                header::COOKIE,
                format!("tollgate_session={}", b.session.as_deref().unwrap()),
            )
            .form(&right)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "cross-site: {to}");
    }
    assert_eq!(client_json(&app, &id).await.1, before);
}
