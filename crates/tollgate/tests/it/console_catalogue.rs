//! The console's APIs (the catalogue) and Signing keys pages over HTTP: what they show, the
//! holders of each permission, creating and editing APIs with errors beside the fields,
//! removing a held permission only after a confirmation that names the clients, deleting an
//! API, rotating keys now and immediately; roles, the anti-forgery token, escaping.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, decode_jwt, json_of};
use crate::people::signed_in_owner as owner;
use crate::people::{Browser, Got, OWNER_EMAIL, field};
use crate::people_roles::{invited as person, spawn_with_owner as spawn};

async fn api_view(app: &TestApp, id: &str) -> (StatusCode, Value) {
    let (status, _, body) =
        json_of(app.admin(Method::GET, &format!("/apis/{id}"), None).await).await;
    (status, body)
}

async fn api_count(app: &TestApp) -> usize {
    let (_, _, all) = json_of(app.admin(Method::GET, "/apis?limit=200", None).await).await;
    all["apis"].as_array().unwrap().len()
}

async fn scopes_of(app: &TestApp, client: &str) -> Vec<String> {
    let (status, _, c) = json_of(
        app.admin(Method::GET, &format!("/clients/{client}"), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    c["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// The text of every `<p class="field-error" id="ID">`.
fn error_beside(body: &str, id: &str) -> Option<String> {
    let marker = format!("class=\"field-error\" id=\"{id}\">");
    let at = body.find(&marker)? + marker.len();
    Some(body[at..at + body[at..].find('<')?].to_owned())
}

fn escaped(body: &str, raw: &str) -> bool {
    let amp = raw.replace('<', "&lt;").replace('>', "&gt;");
    let num = raw.replace('<', "&#60;").replace('>', "&#62;");
    (body.contains(&amp) || body.contains(&num)) && !body.contains(raw)
}

#[tokio::test]
async fn the_catalogue_lists_apis_and_shows_who_holds_each_permission() {
    let app = spawn().await;
    let mut b = owner(&app).await;
    let empty = b.get("/console/apis").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("No APIs yet"), "{}", empty.body);
    assert!(empty.body.contains("href=\"/console/apis/new\""));
    assert!(
        empty.body.contains("Tollgate admin API"),
        "the built-in API is listed"
    );

    let evil = "<script>alert(1)</script>";
    let reports = app
        .create_api(
            "https://reports.example/",
            evil,
            &["reports:read", "reports:export"],
        )
        .await;
    let (holder, _) = app.create_client(evil, &["reports:read"]).await;
    let (other, _) = app
        .create_client("Exporter", &["reports:read", "reports:export"])
        .await;
    for i in 0..22 {
        app.create_client(&format!("bulk-{i:02}"), &["reports:export"])
            .await;
    }

    let list = b.get("/console/apis").await;
    assert!(!list.body.contains("No APIs yet"), "{}", list.body);
    assert!(escaped(&list.body, evil), "{}", list.body);
    assert!(list.body.contains("https://reports.example/"));
    let row = &list.body[list.body.find(&format!("/console/apis/{reports}")).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<td>2</td>"), "2 permissions: {row}");
    assert!(row.contains("<td>24</td>"), "24 clients hold one: {row}");

    let page = b.get(&format!("/console/apis/{reports}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(escaped(&page.body, evil), "{}", page.body);
    assert!(
        page.body.contains("lets a client reports:read"),
        "descriptions shown"
    );
    let read = &page.body[page
        .body
        .find("<code class=\"scope\">reports:read")
        .unwrap()..];
    let read = &read[..read.find("</tr>").unwrap()];
    assert!(
        read.contains(&format!("href=\"/console/clients/{holder}\"")),
        "{read}"
    );
    assert!(
        read.contains(&format!("href=\"/console/clients/{other}\"")),
        "{read}"
    );
    assert!(!read.contains("bulk-"), "{read}");
    let export = &page.body[page
        .body
        .find("<code class=\"scope\">reports:export")
        .unwrap()..];
    let export = &export[..export.find("</tr>").unwrap()];
    assert_eq!(export.matches("<li>").count(), 20, "the first 20 are named");
    assert!(export.contains("and 3 more (23 in all)"), "{export}");

    // Unknown and malformed ids.
    assert_eq!(
        b.get("/console/apis/api_nothere").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.get("/console/apis/x'y").await.status,
        StatusCode::NOT_FOUND
    );
    // The built-in API shows Tollgate's own permissions and who holds them, and no delete.
    let builtin = b.get("/console/apis/api_tollgate").await;
    assert!(builtin.body.contains("tollgate:admin"));
    assert!(builtin.body.contains("Tollgate&#39;s own") || builtin.body.contains("Tollgate's own"));
    assert!(!builtin.body.contains("Delete API"));
    assert_eq!(
        b.get("/console/apis/api_tollgate/delete").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn creating_an_api_puts_each_error_beside_its_field_and_creates_nothing() {
    let app = spawn().await;
    let mut b = owner(&app).await;
    app.create_api("https://taken.example/", "Taken", &["taken:read"])
        .await;
    let before = api_count(&app).await;
    let page = b.get("/console/apis/new").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = field(&page.body, "csrf");
    assert_eq!(page.body.matches("_value\"").count(), 3, "three empty rows");

    // "Add another permission" shows the form again with one more row, keeping the rest.
    let more = b
        .post(
            "/console/apis/new",
            &[
                ("csrf", &csrf),
                ("name", "Billing"),
                ("p0_value", "billing:read"),
                ("add_row", "1"),
            ],
        )
        .await;
    assert_eq!(more.status, StatusCode::OK);
    assert!(more.body.contains("name=\"p1_value\""));
    assert!(!more.body.contains("name=\"p2_value\""), "{}", more.body);
    assert!(more.body.contains("value=\"billing:read\""));
    assert_eq!(api_count(&app).await, before);

    // A bad permission value, one taken by another API, an identifier in use.
    let bad = b
        .post(
            "/console/apis/new",
            &[
                ("csrf", &csrf),
                ("name", "Billing <b>API</b>"),
                ("identifier", "https://taken.example/"),
                ("description", "Invoices\r\nand payments"),
                ("p0_value", "billing:read"),
                ("p0_description", "Read invoices"),
                ("p1_value", ""),
                ("p2_value", "billing write"),
                ("p2_description", "Write <i>invoices</i>"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let beside = error_beside(&bad.body, "p2-value-error").expect("an error beside row 3");
    assert!(beside.contains("character"), "{beside}");
    assert!(error_beside(&bad.body, "p0-value-error").is_none());
    assert!(bad.body.contains("value=\"billing write\""), "values kept");
    assert!(escaped(&bad.body, "<b>API</b>"));
    assert!(escaped(&bad.body, "<i>invoices</i>"));
    assert_eq!(api_count(&app).await, before, "nothing created");

    let taken = b
        .post(
            "/console/apis/new",
            &[
                ("csrf", &csrf),
                ("name", "Billing"),
                ("identifier", "https://taken.example/"),
                ("p0_value", "taken:read"),
                ("p1_value", "billing:read"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    let id_error = error_beside(&taken.body, "identifier-error").expect("beside the identifier");
    assert!(id_error.contains("already"), "{id_error}");
    assert!(
        error_beside(&taken.body, "p0-value-error")
            .unwrap()
            .contains("already")
    );
    assert!(error_beside(&taken.body, "p1-value-error").is_none());
    let lifetime = b
        .post(
            "/console/apis/new",
            &[
                ("csrf", &csrf),
                ("name", "Billing"),
                ("identifier", "https://billing.example/"),
                ("access_token_lifetime", "10"),
            ],
        )
        .await;
    assert_eq!(lifetime.status, StatusCode::BAD_REQUEST);
    assert!(
        error_beside(&lifetime.body, "lifetime-error").is_some(),
        "{}",
        lifetime.body
    );
    assert_eq!(api_count(&app).await, before, "nothing created");

    let done = b
        .post(
            "/console/apis/new",
            &[
                ("csrf", &csrf),
                ("name", "Billing"),
                ("identifier", " https://billing.example/ "),
                ("description", "Invoices\r\nand payments"),
                ("access_token_lifetime", "600"),
                ("signing_algorithm", ""),
                ("p0_value", "billing:read"),
                ("p0_description", "Read invoices"),
                ("p1_value", ""),
                ("p1_description", ""),
                ("p2_value", "billing:write"),
                ("p2_description", "Create and change invoices"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let id = done.location["/console/apis/".len()..]
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(done.location, format!("/console/apis/{id}?done=created"));
    let (status, api) = api_view(&app, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api["name"], "Billing");
    assert_eq!(api["identifier"], "https://billing.example/");
    assert_eq!(api["description"], "Invoices\nand payments");
    assert_eq!(api["access_token_lifetime"], 600);
    assert_eq!(
        api["permissions"],
        json!([
            {"value": "billing:read", "description": "Read invoices"},
            {"value": "billing:write", "description": "Create and change invoices"}
        ])
    );
    let shown = b.get(&done.location).await;
    assert!(shown.body.contains("The API was created."));
    // Audited with the person as the actor.
    let (_, _, audit) = json_of(app.admin(Method::GET, "/audit?limit=500", None).await).await;
    let created = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "api.created" && e["detail"].as_str().unwrap().contains(&id))
        .expect("audited");
    assert_eq!(created["actor"], format!("admin:{OWNER_EMAIL}"));
}

/// The hidden fields of the confirmation form, as a browser would post them.
fn hidden_fields(body: &str) -> Vec<(String, String)> {
    let form = &body[body
        .find("<form method=\"post\" action=\"/console/apis/")
        .unwrap()..];
    let form = &form[..form.find("</form>").unwrap()];
    form.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|s| {
            let name = &s[..s.find('"').unwrap()];
            let v = &s[s.find("value=\"").unwrap() + 7..];
            let value = v[..v.find('"').unwrap()]
                .replace("&#10;", "\n")
                .replace("&#34;", "\"")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&#60;", "<")
                .replace("&gt;", ">")
                .replace("&#62;", ">")
                .replace("&amp;", "&")
                .replace("&#38;", "&");
            (name.to_owned(), value)
        })
        .collect()
}

async fn post_pairs(b: &mut Browser, path: &str, pairs: &[(String, String)]) -> Got {
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post(path, &refs).await
}

#[tokio::test]
async fn removing_a_held_permission_names_the_clients_first_and_takes_it_after_confirming() {
    let app = spawn().await;
    let mut b = owner(&app).await;
    let id = app
        .create_api("https://crm.example/", "CRM", &["crm:read", "crm:write"])
        .await;
    let (client, secret) = app
        .create_client("Sales sync", &["crm:read", "crm:write"])
        .await;
    let old = app.token(&client, &secret, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/console/apis/{id}");
    let page = b.get(&path).await;
    let csrf = field(&page.body, "csrf");
    assert!(
        page.body.contains("Held by 1 client"),
        "the form says it before: {}",
        page.body
    );

    // Edit: name and a description; nothing held is removed, so it is saved at once.
    let saved = b
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("name", "CRM API"),
                ("identifier", "https://crm.example/"),
                ("description", ""),
                ("p0_value", "crm:read"),
                ("p0_description", "Read contacts"),
                ("p1_value", "crm:write"),
                ("p1_description", "lets a client crm:write"),
            ],
        )
        .await;
    assert_eq!(
        saved.location,
        format!("{path}?done=saved"),
        "{}",
        saved.body
    );
    let (_, api) = api_view(&app, &id).await;
    assert_eq!(api["name"], "CRM API");
    assert_eq!(api["permissions"][0]["description"], "Read contacts");
    let again = b
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("name", "CRM API"),
                ("identifier", "https://crm.example/"),
                ("p0_value", "crm:read"),
                ("p0_description", "Read contacts"),
                ("p1_value", "crm:write"),
                ("p1_description", "lets a client crm:write"),
            ],
        )
        .await;
    assert_eq!(again.location, format!("{path}?done=unchanged"));

    // Removing crm:write, which the client holds: a confirmation naming it, nothing changed.
    let removal = [
        ("csrf", csrf.as_str()),
        ("name", "CRM API"),
        ("identifier", "https://crm.example/"),
        ("p0_value", "crm:read"),
        ("p0_description", "Read contacts"),
        ("p1_value", ""),
        ("p1_description", ""),
    ];
    let ask = b.post(&path, &removal).await;
    assert_eq!(ask.status, StatusCode::CONFLICT, "{}", ask.body);
    assert!(ask.body.contains("Nothing has changed yet"));
    assert!(ask.body.contains("Sales sync"));
    assert!(
        ask.body
            .contains(&format!("href=\"/console/clients/{client}\""))
    );
    assert!(ask.body.contains("<code class=\"scope\">crm:write</code>"));
    assert_eq!(scopes_of(&app, &client).await, ["crm:read", "crm:write"]);
    assert_eq!(
        api_view(&app, &id).await.1["permissions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A confirmation for another list of holders is not acted on: it is asked again.
    let mut stale = hidden_fields(&ask.body);
    assert!(stale.iter().any(|(k, v)| k == "take" && v == "yes"));
    for (k, v) in &mut stale {
        if k == "confirmed" {
            *v = "0".repeat(64);
        }
    }
    let asked_again = post_pairs(&mut b, &path, &stale).await;
    assert_eq!(asked_again.status, StatusCode::CONFLICT);
    assert_eq!(scopes_of(&app, &client).await, ["crm:read", "crm:write"]);

    // Confirmed: saved, and the client no longer holds it.
    let confirmed = post_pairs(&mut b, &path, &hidden_fields(&ask.body)).await;
    assert_eq!(
        confirmed.location,
        format!("{path}?done=saved"),
        "{}",
        confirmed.body
    );
    assert_eq!(scopes_of(&app, &client).await, ["crm:read"]);
    let (_, api) = api_view(&app, &id).await;
    assert_eq!(
        api["permissions"],
        json!([{"value": "crm:read", "description": "Read contacts"}])
    );
    // As the page said: introspection leaves it out of the token the client already holds.
    let seen = app.introspect(&old).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["scope"], "crm:read");
    assert!(
        app.audit_actions(Some(&client))
            .await
            .contains(&"permission.taken_from_client".to_owned())
    );
}

#[tokio::test]
async fn deleting_an_api_says_what_stops_working_and_asks_for_its_name() {
    let app = spawn().await;
    let mut b = owner(&app).await;
    let id = app
        .create_api("https://hr.example/", "HR", &["hr:read"])
        .await;
    let (client, _) = app.create_client("Payroll", &["hr:read", "other:x"]).await;
    let page = b.get(&format!("/console/apis/{id}/delete")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("https://hr.example/"));
    assert!(page.body.contains("Payroll"), "{}", page.body);
    let csrf = field(&page.body, "csrf");
    let confirmed = field(&page.body, "confirmed");
    let path = format!("/console/apis/{id}/delete");
    let wrong = b
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("confirmed", &confirmed),
                ("confirm_name", "hr"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(error_beside(&wrong.body, "confirm-name-error").is_some());
    assert_eq!(api_view(&app, &id).await.0, StatusCode::OK, "not deleted");

    // Another client took a permission since the page was shown: asked again.
    app.create_client("Late", &["hr:read"]).await;
    let changed = b
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("confirmed", &confirmed),
                ("confirm_name", "HR"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::CONFLICT);
    assert!(changed.body.contains("Late"));
    assert_eq!(api_view(&app, &id).await.0, StatusCode::OK, "not deleted");

    let confirmed = field(&changed.body, "confirmed");
    let done = b
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("confirmed", &confirmed),
                ("confirm_name", "HR"),
            ],
        )
        .await;
    assert_eq!(done.location, "/console/apis?done=deleted", "{}", done.body);
    assert_eq!(api_view(&app, &id).await.0, StatusCode::NOT_FOUND);
    assert_eq!(scopes_of(&app, &client).await, ["other:x"]);
    assert!(
        b.get(&done.location)
            .await
            .body
            .contains("The API was deleted.")
    );
}

#[tokio::test]
async fn viewers_see_it_read_only_managers_cannot_rotate_and_every_refused_post_changes_nothing() {
    let app = spawn().await;
    let id = app
        .create_api("https://docs.example/", "Docs", &["docs:read"])
        .await;
    let mut viewer = person(&app, "viewer@example.com", "viewer").await;
    let list = viewer.get("/console/apis").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Docs"));
    assert!(!list.body.contains("Create API"), "{}", list.body);
    let page = viewer.get(&format!("/console/apis/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for absent in [
        "Save",
        "Delete API",
        "Add another permission",
        "<form method=\"post\" action=\"/console/apis",
    ] {
        assert!(!page.body.contains(absent), "{absent}: {}", page.body);
    }
    let keys = viewer.get("/console/keys").await;
    assert_eq!(keys.status, StatusCode::OK);
    assert!(keys.body.contains("current"));
    assert!(
        !keys.body.contains("Rotate now</button>") && !keys.body.contains("Rotate immediately")
    );
    let csrf = field(&list.body, "csrf");
    let kid = app.signing_kid().await;
    let before = api_count(&app).await;
    for (path, form) in [
        (
            "/console/apis/new".to_owned(),
            vec![("name", "X"), ("identifier", "https://x.example/")],
        ),
        (format!("/console/apis/{id}"), vec![("name", "Renamed")]),
        (
            format!("/console/apis/{id}/delete"),
            vec![("confirm_name", "Docs")],
        ),
        ("/console/keys/rotate".to_owned(), vec![("mode", "now")]),
        (
            "/console/keys/rotate".to_owned(),
            vec![("mode", "immediately"), ("confirm", "yes")],
        ),
    ] {
        let mut form = form;
        form.push(("csrf", &csrf));
        let r = viewer.post(&path, &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
    }
    for path in [
        "/console/apis/new".to_owned(),
        format!("/console/apis/{id}/delete"),
        "/console/keys/rotate-immediately".to_owned(),
    ] {
        assert_eq!(
            viewer.get(&path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(api_count(&app).await, before);
    assert_eq!(api_view(&app, &id).await.1["name"], "Docs");
    assert_eq!(app.signing_kid().await, kid);

    // A manager may change the catalogue but not rotate keys.
    let mut manager = person(&app, "manager@example.com", "manager").await;
    let list = manager.get("/console/apis").await;
    assert!(list.body.contains("Create API"));
    let keys = manager.get("/console/keys").await;
    assert!(!keys.body.contains("Rotate now</button>"), "{}", keys.body);
    let csrf = field(&list.body, "csrf");
    let r = manager
        .post("/console/keys/rotate", &[("csrf", &csrf), ("mode", "now")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.signing_kid().await, kid);
    let renamed = manager
        .post(
            &format!("/console/apis/{id}"),
            &[
                ("csrf", &csrf),
                ("name", "Docs API"),
                ("identifier", "https://docs.example/"),
                ("p0_value", "docs:read"),
                ("p0_description", "lets a client docs:read"),
            ],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.body);
    assert_eq!(api_view(&app, &id).await.1["name"], "Docs API");
}

#[tokio::test]
async fn forms_without_the_sessions_token_or_from_another_site_are_refused() {
    let app = spawn().await;
    let mut b = owner(&app).await;
    let id = app.create_api("https://t.example/", "T", &["t:read"]).await;
    let before = api_count(&app).await;
    let kid = app.signing_kid().await;
    for (path, form) in [
        (
            "/console/apis/new".to_owned(),
            vec![("name", "X"), ("identifier", "https://x.example/")],
        ),
        (format!("/console/apis/{id}"), vec![("name", "Renamed")]),
        (
            format!("/console/apis/{id}/delete"),
            vec![("confirm_name", "T")],
        ),
        ("/console/keys/rotate".to_owned(), vec![("mode", "now")]),
    ] {
        let mut with_wrong = form.clone();
        with_wrong.push(("csrf", "not-the-token"));
        let r = b.post(&path, &with_wrong).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        let r = b.post(&path, &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: no token");
        // The right token, from another site.
        let page = b.get("/console/apis").await;
        let mut with_right = form.clone();
        let csrf = field(&page.body, "csrf");
        with_right.push(("csrf", &csrf));
        let r = reqwest::Client::new()
            .post(app.url(&path))
            .header(header::ORIGIN, "https://evil.example")
            .header(
                header::COOKIE,
                format!("tollgate_session={}", b.session.clone().unwrap()),
            )
            .form(&with_right)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}: cross-site");
    }
    assert_eq!(api_count(&app).await, before);
    assert_eq!(api_view(&app, &id).await.1["name"], "T");
    assert_eq!(app.signing_kid().await, kid);
}

async fn key_states(app: &TestApp) -> Vec<(String, String)> {
    let (_, _, keys) = json_of(app.admin(Method::GET, "/keys", None).await).await;
    keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_owned(),
                k["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn rotate_now_signs_with_a_new_key_and_old_tokens_stay_valid() {
    let app = spawn().await;
    let mut b = owner(&app).await;
    let (client, secret) = app.create_client("c", &["a"]).await;
    let old = app.token(&client, &secret, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_kid = decode_jwt(&old).0["kid"].as_str().unwrap().to_owned();
    let page = b.get("/console/keys").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&old_kid));
    assert!(
        page.body.contains("state-current\">current"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("published in the JWKS before it is used")
    );
    assert!(page.body.contains("Rotate now</button>"));
    let csrf = field(&page.body, "csrf");

    let done = b
        .post(
            "/console/keys/rotate",
            &[("csrf", &csrf), ("mode", "now"), ("algorithm", "ES256")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let new_kid = done
        .location
        .strip_prefix("/console/keys?rotated=")
        .unwrap()
        .to_owned();
    assert_ne!(new_kid, old_kid);
    assert_eq!(
        key_states(&app).await,
        [
            (old_kid.clone(), "retired".to_owned()),
            (new_kid.clone(), "current".to_owned())
        ]
    );
    assert_eq!(app.signing_kid().await.as_deref(), Some(new_kid.as_str()));
    let kids = app.jwks_kids().await;
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );
    assert_eq!(
        app.introspect(&old).await["active"],
        true,
        "old tokens stay valid"
    );
    let shown = b.get(&done.location).await;
    assert!(
        shown.body.contains(&format!(
            "Rotated: key <code class=\"kid\">{new_kid}</code> now signs new tokens"
        )),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("state-retired\">retired"));
    // A notice for a key that is not one of them is not shown.
    let fake = b.get("/console/keys?rotated=%3Cb%3Eforged").await;
    assert!(!fake.body.contains("Rotated"));
    // Audited with the person as the actor.
    let (_, _, audit) = json_of(app.admin(Method::GET, "/audit?limit=500", None).await).await;
    let rotated = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "key.rotated")
        .expect("audited");
    assert_eq!(rotated["actor"], format!("admin:{OWNER_EMAIL}"));
    assert_eq!(rotated["kid"], new_kid.as_str());
}

#[tokio::test]
async fn rotate_immediately_needs_its_confirmation_and_then_refuses_old_tokens() {
    let app = spawn().await;
    let mut b = owner(&app).await;
    let (client, secret) = app.create_client("c", &["a"]).await;
    let old = app.token(&client, &secret, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_kid = decode_jwt(&old).0["kid"].as_str().unwrap().to_owned();
    let page = b
        .get("/console/keys/rotate-immediately?algorithm=ES256")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&old_kid), "it names the keys it removes");
    assert!(page.body.contains("every token they signed stops working"));
    let csrf = field(&page.body, "csrf");
    let unconfirmed = b
        .post(
            "/console/keys/rotate",
            &[
                ("csrf", &csrf),
                ("mode", "immediately"),
                ("algorithm", "ES256"),
            ],
        )
        .await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    assert!(error_beside(&unconfirmed.body, "confirm-error").is_some());
    assert_eq!(
        app.signing_kid().await.as_deref(),
        Some(old_kid.as_str()),
        "not rotated"
    );
    assert_eq!(app.introspect(&old).await["active"], true);
    let bad_alg = b
        .post(
            "/console/keys/rotate",
            &[
                ("csrf", &csrf),
                ("mode", "immediately"),
                ("algorithm", "HS256"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(bad_alg.status, StatusCode::BAD_REQUEST);

    let done = b
        .post(
            "/console/keys/rotate",
            &[
                ("csrf", &csrf),
                ("mode", "immediately"),
                ("algorithm", "ES256"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let rest = done
        .location
        .strip_prefix("/console/keys?rotated=")
        .unwrap();
    let (new_kid, removed) = rest.split_once("&removed=").unwrap();
    assert_eq!(removed, "1");
    // What the page said: only the new key is published, and old tokens are refused.
    assert_eq!(app.jwks_kids().await, [new_kid.to_owned()]);
    assert_eq!(
        key_states(&app).await,
        [(new_kid.to_owned(), "current".to_owned())]
    );
    assert_eq!(app.introspect(&old).await["active"], false);
    let fresh = app.token(&client, &secret, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(decode_jwt(&fresh).0["kid"], new_kid);
    assert_eq!(app.introspect(&fresh).await["active"], true);
    let shown = b.get(&done.location).await;
    assert!(shown.body.contains("Rotated immediately"), "{}", shown.body);
    assert!(shown.body.contains("1 earlier key was removed"));
}
