//! The console's "Create API client" form, the credentials page shown once, and "Add secret":
//! the catalogue on the form, tokens with the secret read from the page, every field error
//! beside its field with nothing created, roles, forgery, escaping, `no-store`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, decode_jwt, json_of};
use crate::people::{Browser, Got, OWNER_EMAIL, PASSWORD, by_id, field};

const REPORTS: &str = "https://reports.example.com/";

async fn spawn() -> TestApp {
    let app = TestApp::spawn_with(&[
        ("TOLLGATE_CONSOLE_MFA", "optional"),
        ("TOLLGATE_BOOTSTRAP_ADMIN_EMAIL", OWNER_EMAIL),
        ("TOLLGATE_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
    ])
    .await;
    app.create_api(REPORTS, "Reports API", &["reports:read", "reports:write"])
        .await;
    app
}

async fn owner(app: &TestApp) -> Browser {
    let mut b = Browser::new(app);
    assert_eq!(b.sign_in(OWNER_EMAIL, PASSWORD).await.location, "/console");
    b
}

/// A person with `role`, invited through the admin API, signed in.
async fn person(app: &TestApp, role: &str) -> Browser {
    let email = format!("{role}@example.com");
    let (status, _, body) = json_of(
        app.admin(
            Method::POST,
            "/admins",
            Some(json!({"email": email, "role": role})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut b = Browser::new(app);
    let page = b.get(body["invite_url"].as_str().unwrap()).await;
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
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(b.sign_in(&email, PASSWORD).await.location, "/console");
    b
}

/// The anti-forgery token of the person's session, from the form.
async fn csrf(b: &mut Browser) -> String {
    let form = b.get("/console/clients/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    field(&form.body, "csrf")
}

async fn clients(app: &TestApp) -> Vec<Value> {
    let (status, _, body) = json_of(app.admin(Method::GET, "/clients?limit=200", None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["clients"].as_array().unwrap().clone()
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

/// The file behind the `data:` link that downloads `name`.
fn download(body: &str, name_prefix: &str) -> (String, String) {
    let marker = format!("download=\"{name_prefix}");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} in {body}"));
    let tag = &body[at..at + body[at..].find('>').unwrap()];
    let name = tag["download=\"".len()..]
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let href = tag
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let data = href.split(";base64,").nth(1).expect("a base64 data URL");
    (name, String::from_utf8(B64.decode(data).unwrap()).unwrap())
}

fn env_value(env: &str, key: &str) -> String {
    let line = env
        .lines()
        .find(|l| l.starts_with(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {env}"));
    line[key.len() + 1..].trim_matches('"').to_owned()
}

async fn create(b: &mut Browser, form: &[(&str, &str)]) -> Got {
    b.post("/console/clients/new", form).await
}

#[tokio::test]
async fn the_form_lists_the_catalogue_and_the_secret_on_the_page_gets_tokens() {
    let app = spawn().await;
    let mut b = owner(&app).await;
    let form = b.get("/console/clients/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.headers[header::CACHE_CONTROL], "no-store");
    for text in [
        "<legend>Reports API <code class=\"audience\">https://reports.example.com/</code>",
        "name=\"scopes\" value=\"reports:read\"",
        "lets a client reports:read",
        "lets a client reports:write",
        "<label for=\"name\">Name</label>",
        "<label for=\"description\">Description</label>",
        "More settings",
        "Create API client",
    ] {
        assert!(form.body.contains(text), "{text} in {}", form.body);
    }
    // Each permission's description is tied to its checkbox.
    let desc = by_id(&form.body, "perm-0-0-desc");
    assert_eq!(desc, "lets a client reports:read");
    assert!(form.body.contains("aria-describedby=\"perm-0-0-desc\""));
    assert!(
        !form.body.contains("-desc\" checked"),
        "nothing ticked to start"
    );

    let csrf = field(&form.body, "csrf");
    let page = create(
        &mut b,
        &[
            ("csrf", &csrf),
            ("name", "Report exporter"),
            ("description", "Nightly export\r\nrun by the data team"),
            ("scopes", "reports:read"),
            ("access_token_lifetime", "600"),
            ("tenants", "acme"),
            ("claims", "{\"org\": \"acme\"}"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    assert!(
        page.body
            .contains("<h1>Credentials for Report exporter</h1>")
    );
    assert!(page.body.contains("it will not be shown again"));
    assert!(page.body.contains("data-confirm-leave"));
    assert!(page.body.contains("id=\"stored\""));
    let id = by_id(&page.body, "client-id");
    let secret = by_id(&page.body, "client-secret");
    assert!(
        id.starts_with("tgc_") && secret.starts_with("tgs_"),
        "{id} {secret}"
    );
    assert!(page.body.contains(&format!(
        "href=\"/console/clients/{id}\" data-leave-ok>Continue to the client"
    )));
    assert!(!page.body.contains("additional secret"));

    let token = app.token(&id, &secret, &[]).await;
    assert_eq!(token["scope"], "reports:read");
    assert_eq!(token["expires_in"], 600);
    let (_, claims) = decode_jwt(token["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], REPORTS);
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["org"], "acme");
    let stored = client(&app, &id).await;
    assert_eq!(
        stored["description"],
        "Nightly export\nrun by the data team"
    );
    assert_eq!(stored["scopes"], json!(["reports:read"]));

    // The token endpoint and the curl command carry the values.
    let token_url = format!("{}/oauth2/token", app.issuer);
    assert_eq!(by_id(&page.body, "token-url"), token_url);
    let curl = by_id(&page.body, "curl");
    assert!(
        curl.contains(&format!("curl --user &#39;{id}:{secret}&#39;")),
        "{curl}"
    );
    assert!(curl.contains("--data grant_type=client_credentials"));

    // The downloads are the admin API's export files, made in the browser from data: links.
    let (name, env) = download(&page.body, "report-exporter");
    assert_eq!(name, "report-exporter.env");
    assert_eq!(env_value(&env, "OAUTH_CLIENT_ID"), id);
    assert_eq!(env_value(&env, "OAUTH_CLIENT_SECRET"), secret);
    assert_eq!(env_value(&env, "OAUTH_TOKEN_URL"), token_url);
    assert_eq!(env_value(&env, "OAUTH_SCOPE"), "reports:read");
    let (name, postman) = download(&page.body, "report-exporter.postman");
    assert_eq!(name, "report-exporter.postman_environment.json");
    let postman: Value = serde_json::from_str(&postman).unwrap();
    assert_eq!(postman["_postman_variable_scope"], "environment");
    let var = |k: &str| {
        postman["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == k)
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(var("client_id"), id.as_str());
    assert_eq!(var("client_secret"), secret.as_str());
    assert_eq!(var("token_url"), token_url.as_str());
    // The admin API names its files the same way.
    let made = app
        .admin(
            Method::POST,
            "/clients?format=postman",
            Some(json!({"name": "Report exporter 2"})),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    assert_eq!(
        made.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"report-exporter-2.postman_environment.json\""
    );
    let made: Value = made.json().await.unwrap();
    assert_eq!(
        made["values"].as_array().unwrap().len(),
        postman["values"].as_array().unwrap().len()
    );

    // Audited with the person as the actor.
    let (_, _, audit) = json_of(
        app.admin(Method::GET, &format!("/audit?client_id={id}"), None)
            .await,
    )
    .await;
    let created = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "client.created")
        .expect("a client.created event");
    assert_eq!(created["actor"], format!("admin:{OWNER_EMAIL}"));
}

#[tokio::test]
async fn each_field_error_is_beside_its_field_and_nothing_is_created() {
    let app = spawn().await;
    let (taken, _) = app.create_client("Taken name", &[]).await;
    let mut b = owner(&app).await;
    let csrf = csrf(&mut b).await;
    let before = clients(&app).await.len();

    let empty = create(
        &mut b,
        &[
            ("csrf", &csrf),
            ("name", "  "),
            ("description", "kept description"),
            ("scopes", "reports:write"),
        ],
    )
    .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(by_id(&empty.body, "name-error"), "Name must not be empty.");
    assert!(
        empty
            .body
            .contains("aria-invalid=\"true\" aria-describedby=\"name-error")
    );
    assert!(
        empty.body.contains("\nkept description</textarea>"),
        "typed text kept"
    );
    assert!(
        empty.body.contains("<details class=\"more\">"),
        "nothing to see there"
    );
    assert!(
        empty
            .body
            .contains("value=\"reports:write\" aria-describedby=\"perm-0-1-desc\" checked"),
        "ticked permission kept"
    );
    assert!(empty.body.contains("The API client was not created"));

    let name_taken = create(&mut b, &[("csrf", &csrf), ("name", "Taken name")]).await;
    assert_eq!(name_taken.status, StatusCode::BAD_REQUEST);
    let why = by_id(&name_taken.body, "name-error");
    assert!(why.contains("already exists"), "{why}");
    assert_eq!(field(&name_taken.body, "name"), "Taken name");

    let unknown = create(
        &mut b,
        &[
            ("csrf", &csrf),
            ("name", "Sneaky"),
            ("scopes", "reports:read"),
            ("scopes", "payroll:everything"),
        ],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let why = by_id(&unknown.body, "scopes-error");
    assert!(
        why.contains("“payroll:everything” is not a permission of any API"),
        "{why}"
    );
    let malformed = create(
        &mut b,
        &[("csrf", &csrf), ("name", "Sneaky"), ("scopes", "two words")],
    )
    .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(by_id(&malformed.body, "scopes-error").starts_with("Permission “two words”"));

    for (lifetime, says) in [
        ("5", "Token lifetime must be between 60 and 86400 seconds."),
        (
            "an hour",
            "Token lifetime must be a whole number of seconds",
        ),
    ] {
        let bad = create(
            &mut b,
            &[
                ("csrf", &csrf),
                ("name", "Lifetime"),
                ("access_token_lifetime", lifetime),
            ],
        )
        .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(
            by_id(&bad.body, "lifetime-error").starts_with(says),
            "{}",
            bad.body
        );
        assert!(bad.body.contains("<details class=\"more\" open>"), "opened");
        assert_eq!(field(&bad.body, "access_token_lifetime"), lifetime);
    }
    let bad = create(
        &mut b,
        &[
            ("csrf", &csrf),
            ("name", "Claims"),
            ("tenants", "acme bad/tenant"),
            ("claims", "{\"aud\": \"elsewhere\"}"),
            ("signing_algorithm", "HS256"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(by_id(&bad.body, "tenants-error").starts_with("Tenant “bad/tenant”"));
    assert!(by_id(&bad.body, "claims-error").contains("`aud`"));
    assert!(by_id(&bad.body, "algorithm-error").contains("HS256"));

    assert_eq!(clients(&app).await.len(), before, "nothing created");
    assert_eq!(client(&app, &taken).await["name"], "Taken name");
}

#[tokio::test]
async fn a_viewer_cannot_create_and_forged_or_cross_site_posts_are_refused() {
    let app = spawn().await;
    let before = clients(&app).await.len();
    let mut viewer = person(&app, "viewer").await;
    let list = viewer.get("/console/clients").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains("Create API client"));
    assert_eq!(
        viewer.get("/console/clients/new").await.status,
        StatusCode::FORBIDDEN
    );
    let viewer_csrf = field(&list.body, "csrf");
    let post = create(
        &mut viewer,
        &[("csrf", &viewer_csrf), ("name", "By a viewer")],
    )
    .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);

    let mut manager = person(&app, "manager").await;
    let csrf = csrf(&mut manager).await;
    let missing = create(&mut manager, &[("name", "No csrf")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = create(
        &mut manager,
        &[("csrf", &viewer_csrf), ("name", "Wrong csrf")],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let cross = reqwest::Client::new()
        .post(format!("{}/console/clients/new", app.base))
        .header(header::ORIGIN, "https://evil.example")
        .header(
            header::COOKIE,
            format!("tollgate_session={}", manager.session.clone().unwrap()),
        )
        .form(&[("csrf", csrf.as_str()), ("name", "Cross site")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let signed_out = Browser::new(&app)
        .post("/console/clients/new", &[("name", "Nobody")])
        .await;
    assert_eq!(signed_out.location, "/console/sign-in");
    assert_eq!(clients(&app).await.len(), before, "nothing created");

    // A manager may create clients.
    let made = create(&mut manager, &[("csrf", &csrf), ("name", "By a manager")]).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert_eq!(clients(&app).await.len(), before + 1);
}

#[tokio::test]
async fn a_client_name_is_escaped_on_the_credentials_page() {
    let app = spawn().await;
    let mut b = owner(&app).await;
    let csrf = csrf(&mut b).await;
    let page = create(
        &mut b,
        &[("csrf", &csrf), ("name", "<script>alert(1)</script>")],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("<script>alert(1)"), "never raw");
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    assert!(
        page.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let (name, env) = download(&page.body, "-script-");
    assert_eq!(name, "-script-alert-1---script-.env");
    assert!(
        env.contains("<script>alert(1)</script>"),
        "the file holds the name as it is"
    );
}

#[tokio::test]
async fn add_secret_gives_a_second_working_secret_and_the_first_keeps_working() {
    let app = spawn().await;
    let (id, first) = app.create_client("Rotating", &["reports:read"]).await;
    let mut b = owner(&app).await;
    let csrf = csrf(&mut b).await;
    let path = format!("/console/clients/{id}/secrets");

    let page = b.post(&path, &[("csrf", &csrf), ("expires_in", "")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    assert!(page.body.contains("<h1>New secret for Rotating</h1>"));
    assert!(page.body.contains("An additional secret was added"));
    assert!(page.body.contains("keep working until you remove them"));
    assert_eq!(by_id(&page.body, "client-id"), id);
    let second = by_id(&page.body, "client-secret");
    assert_ne!(second, first);
    assert_eq!(app.token(&id, &second, &[]).await["scope"], "reports:read");
    assert_eq!(app.token(&id, &first, &[]).await["scope"], "reports:read");
    let (_, env) = download(&page.body, "rotating");
    assert_eq!(env_value(&env, "OAUTH_CLIENT_SECRET"), second);

    let expiring = b
        .post(&path, &[("csrf", &csrf), ("expires_in", "86400")])
        .await;
    assert_eq!(expiring.status, StatusCode::OK, "{}", expiring.body);
    let at = app.tollgate.now().plus_secs(86400).to_rfc3339();
    assert!(
        expiring.body.contains(&format!("<time datetime=\"{at}\"")),
        "{}",
        expiring.body
    );
    let secrets = client(&app, &id).await["secrets"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(secrets.len(), 3);
    let expiring: Vec<&Value> = secrets
        .iter()
        .filter(|s| !s["expires_at"].is_null())
        .collect();
    assert_eq!(expiring.len(), 1);
    assert_eq!(expiring[0]["expires_at"], at.as_str());
    let actions = app.audit_actions(Some(&id)).await;
    assert_eq!(actions.iter().filter(|a| *a == "secret.added").count(), 2);

    // Bad input changes nothing.
    for (expires_in, says) in [
        ("soon", "must be a whole number of seconds"),
        ("0", "must be between 1 second"),
    ] {
        let bad = b
            .post(&path, &[("csrf", &csrf), ("expires_in", expires_in)])
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains(says), "{}", bad.body);
    }
    let unknown = b
        .post(
            "/console/clients/tgc_doesnotexist/secrets",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let malformed = b
        .post("/console/clients/not%20an%20id/secrets", &[("csrf", &csrf)])
        .await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
    let forged = b.post(&path, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut viewer = person(&app, "viewer").await;
    let viewer_csrf = field(&viewer.get("/console/clients").await.body, "csrf");
    let refused = viewer.post(&path, &[("csrf", &viewer_csrf)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        client(&app, &id).await["secrets"].as_array().unwrap().len(),
        3,
        "nothing added"
    );
}
