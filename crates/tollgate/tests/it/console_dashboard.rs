//! The dashboard and the token usage behind it: tokens and refused requests counted per
//! client in memory, written behind by the upkeep (and before a read), summed across nodes,
//! kept 30 days; the client object's `usage`; clients that do not cache their tokens;
//! secrets expiring soon and rotations left half done; read-only for every role.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};
use crate::people::{Browser, Got, OWNER_EMAIL, PASSWORD, by_id, field};

const SETTINGS: [(&str, &str); 3] = [
    ("TOLLGATE_CONSOLE_MFA", "optional"),
    ("TOLLGATE_BOOTSTRAP_ADMIN_EMAIL", OWNER_EMAIL),
    ("TOLLGATE_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
];
const DAY: i64 = 86_400;

async fn owner(app: &TestApp) -> Browser {
    let mut b = Browser::new(app);
    assert_eq!(b.sign_in(OWNER_EMAIL, PASSWORD).await.location, "/console");
    b
}

/// The dashboard, which must answer.
async fn dashboard(b: &mut Browser) -> Got {
    let page = b.get("/console").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

/// The page's main part (what the layout adds around it has the sign-out button).
fn main_of(body: &str) -> &str {
    let start = body.find("<main").expect("a main element");
    &body[start..body.find("</main>").expect("main ends")]
}

/// A figure of the dashboard, without its thousands separators.
fn figure(body: &str, id: &str) -> u64 {
    by_id(body, id).replace(',', "").parse().unwrap()
}

/// The list item of "Needs attention" that links to the client, if any.
fn attention_for<'a>(body: &'a str, client_id: &str) -> Option<&'a str> {
    let list = body.split("<ul class=\"attention\">").nth(1)?;
    let list = &list[..list.find("</ul>")?];
    let link = format!("<a href=\"/console/clients/{client_id}\">");
    let at = list.find(&link)?;
    let start = list[..at].rfind("<li>")?;
    Some(&list[start..start + list[start..].find("</li>")?])
}

/// A client's usage, as the admin API shows it to the signed-in owner (no token is issued
/// for reading it).
async fn usage(b: &Browser, client_id: &str) -> Value {
    let (status, body) = b
        .api(Method::GET, &format!("/clients/{client_id}"), None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["usage"].clone()
}

/// Tokens issued to every client in the last 24 hours, by the admin API's client list.
async fn issued_to_all(b: &Browser) -> u64 {
    let (status, body) = b.api(Method::GET, "/clients?limit=200", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["usage"]["tokens_last_24h"].as_u64().unwrap())
        .sum()
}

/// Rows of a client's counts in the usage table, read from the database itself.
async fn stored_rows(app: &TestApp, client_id: &str) -> i64 {
    use sqlx::{Connection, Row};
    let sql = format!("SELECT COUNT(*) AS n FROM token_usage WHERE client_id = '{client_id}'");
    match app.dir.database() {
        Some(db) => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            let n = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut conn)
                .await
                .unwrap()
                .get("n");
            let _ = conn.close().await;
            n
        }
        None => {
            let file = app.dir.path().join("data/tollgate.db");
            let url = format!("sqlite://{}", file.display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let n = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut conn)
                .await
                .unwrap()
                .get("n");
            let _ = conn.close().await;
            n
        }
    }
}

async fn refused(app: &TestApp, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Value {
    let r = app.token_form(form, basic).await;
    let (status, _, body) = json_of(r).await;
    assert!(status.is_client_error(), "{status} {body}");
    body
}

#[tokio::test]
async fn tokens_and_refusals_are_counted_per_client_written_behind_and_kept_30_days() {
    let app = TestApp::spawn_with(&SETTINGS).await;
    let (id, secret) = app
        .create_client("Report Exporter", &["reports:read"])
        .await;
    let b = owner(&app).await;
    let grant = [("grant_type", "client_credentials")];
    for _ in 0..5 {
        app.token(&id, &secret, &[]).await;
    }
    // Refusals: a wrong secret and a malformed request under the client, an unknown client
    // under none.
    for _ in 0..2 {
        let e = refused(&app, &grant, Some((&id, "tgs_wrong-secret"))).await;
        assert_eq!(e["error"], "invalid_client");
    }
    let e = refused(&app, &[("grant_type", "password")], Some((&id, &secret))).await;
    assert_eq!(e["error"], "unsupported_grant_type");
    let e = refused(&app, &grant, Some(("tgc_nobody", "whatever"))).await;
    assert_eq!(e["error"], "invalid_client");

    // Counted in memory; the write-behind, as the upkeep runs it every minute, stores them.
    assert_eq!(
        stored_rows(&app, &id).await,
        0,
        "nothing is written per request"
    );
    app.tollgate.upkeep(app.tollgate.now()).await;
    assert_eq!(
        stored_rows(&app, &id).await,
        3,
        "issued, invalid_client and unsupported_grant_type"
    );
    assert_eq!(
        stored_rows(&app, "").await,
        1,
        "invalid_client of no client"
    );
    assert_eq!(
        usage(&b, &id).await,
        json!({"tokens_last_24h": 5, "tokens_last_30d": 5, "not_caching_tokens": false})
    );
    let mut b = b;
    let page = dashboard(&mut b).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Welcome, "), "{}", page.body);
    assert_eq!(figure(&page.body, "tokens-issued"), issued_to_all(&b).await);
    assert!(figure(&page.body, "tokens-issued") >= 5);
    assert_eq!(figure(&page.body, "tokens-failed"), 4);
    assert!(
        page.body.contains("<code>invalid_client</code> 3"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<code>unsupported_grant_type</code> 1"));
    let clients: u64 = by_id_after(&page.body, "API clients");
    assert_eq!(clients, 2, "the admin client and ours");

    // Counts in memory only are read too: reading writes them first.
    app.token(&id, &secret, &[]).await;
    assert_eq!(usage(&b, &id).await["tokens_last_24h"], 6);

    // They are in the database: a restarted server still shows them.
    let dir = app.dir.clone();
    app.stop().await;
    let app = TestApp::spawn_in(dir, &SETTINGS).await;
    let b = owner(&app).await;
    assert_eq!(usage(&b, &id).await["tokens_last_30d"], 6);

    // A day later they have left the last 24 hours; after 30 days, they are gone. (The
    // console session has ended by then: sign in again.)
    app.clock.advance(25 * 3600);
    let mut b = owner(&app).await;
    assert_eq!(
        usage(&b, &id).await,
        json!({"tokens_last_24h": 0, "tokens_last_30d": 6, "not_caching_tokens": false})
    );
    let page = dashboard(&mut b).await;
    assert_eq!(figure(&page.body, "tokens-failed"), 0);
    app.clock.advance(30 * DAY);
    app.tollgate.upkeep(app.tollgate.now()).await;
    let b = owner(&app).await;
    assert_eq!(usage(&b, &id).await["tokens_last_30d"], 0);
    assert_eq!(stored_rows(&app, &id).await, 0, "pruned after 30 days");
}

/// The figure of the tile whose label is `label`.
fn by_id_after(body: &str, label: &str) -> u64 {
    let at = body
        .find(&format!("<span class=\"what\">{label}</span>"))
        .unwrap();
    let figure = body[..at].rfind("<span class=\"figure\">").unwrap() + 21;
    body[figure..figure + body[figure..].find('<').unwrap()]
        .replace(',', "")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_client_that_does_not_cache_its_tokens_needs_attention() {
    let app = TestApp::spawn_with(&SETTINGS).await;
    let mut b = owner(&app).await;
    let empty = dashboard(&mut b).await;
    assert!(
        empty.body.contains("Nothing needs attention."),
        "{}",
        empty.body
    );
    assert!(
        empty
            .body
            .contains("No secret expires in the next 14 days.")
    );

    let (noisy, noisy_secret) = app
        .create_client("<script>alert(1)</script>", &["reports:read"])
        .await;
    let (calm, calm_secret) = app.create_client("Calm", &["reports:read"]).await;
    for id in [&noisy, &calm] {
        let r = app
            .admin(
                Method::PATCH,
                &format!("/clients/{id}"),
                Some(json!({"access_token_lifetime": 3600})),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    for _ in 0..50 {
        app.token(&noisy, &noisy_secret, &[]).await;
    }
    for _ in 0..5 {
        app.token(&calm, &calm_secret, &[]).await;
    }
    assert_eq!(usage(&b, &noisy).await["not_caching_tokens"], true);
    assert_eq!(usage(&b, &calm).await["not_caching_tokens"], false);
    let page = dashboard(&mut b).await;
    let item = attention_for(&page.body, &noisy).expect("the noisy client needs attention");
    assert!(item.contains("does not cache its tokens"), "{item}");
    assert!(item.contains("<strong>50</strong>"), "{item}");
    assert!(item.contains("token lifetime 1 hour"), "{item}");
    assert!(!page.body.contains("<script>alert(1)"), "escaped");
    assert!(attention_for(&page.body, &calm).is_none());
    assert!(
        page.body
            .contains("more than 10 times the tokens one caller needs")
    );
    assert!(!page.body.contains("Nothing needs attention."));

    // The client object of the list says so too.
    let (_, list) = b.api(Method::GET, "/clients", None, None).await;
    let flagged: Vec<&str> = list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["usage"]["not_caching_tokens"] == true)
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, [noisy.as_str()]);
}

#[tokio::test]
async fn expiring_secrets_and_rotations_left_half_done_are_listed_with_their_clients() {
    let app = TestApp::spawn_with(&SETTINGS).await;
    let mut b = owner(&app).await;
    let now = app.tollgate.now().0;
    let add_secret = |id: String, expires: Option<i64>| {
        let app = &app;
        async move {
            let body =
                expires.map(|t| json!({"expires_at": tollgate::clock::UnixTime(t).to_rfc3339()}));
            let r = app
                .admin(Method::POST, &format!("/clients/{id}/secrets"), body)
                .await;
            let (status, _, body) = json_of(r).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            (
                body["secret"]["secret_id"].as_str().unwrap().to_owned(),
                body["client_secret"].as_str().unwrap().to_owned(),
            )
        }
    };
    // Expiring: a secret that ends in three days.
    let (expiring, _) = app.create_client("Expiring", &["reports:read"]).await;
    let (short, _) = add_secret(expiring.clone(), Some(now + 3 * DAY)).await;
    let page = dashboard(&mut b).await;
    let table = page.body.split("id=\"expiring\"").nth(1).unwrap();
    assert!(
        table.contains(&format!(
            "<a href=\"/console/clients/{expiring}\">Expiring</a>"
        )),
        "{table}"
    );
    assert!(table.contains(&short), "{table}");
    assert!(table.contains("(in 3 days)"), "{table}");

    // Half done: a new secret added, the integration still on the old one after 14 days.
    let (rotating, old_secret) = app.create_client("Rotating", &["reports:read"]).await;
    // And finished, but the old secret not removed: only the new one is used.
    let (done, done_old) = app.create_client("Rotated", &["reports:read"]).await;
    app.clock.advance(60);
    let (new_id, new_secret) = add_secret(rotating.clone(), None).await;
    let (_, done_new) = add_secret(done.clone(), None).await;
    app.token(&done, &done_old, &[]).await;
    app.tollgate.upkeep(app.tollgate.now()).await;
    let page = dashboard(&mut b).await;
    assert!(attention_for(&page.body, &rotating).is_none(), "too early");
    assert!(attention_for(&page.body, &done).is_none(), "too early");
    app.clock.advance(15 * DAY);
    let mut b = owner(&app).await;
    app.token(&rotating, &old_secret, &[]).await;
    app.token(&done, &done_new, &[]).await;
    app.tollgate.upkeep(app.tollgate.now()).await;
    let page = dashboard(&mut b).await;
    let item = attention_for(&page.body, &rotating)
        .unwrap_or_else(|| panic!("the half-done rotation: {}", page.body));
    assert!(item.contains("a rotation was left half done"), "{item}");
    assert!(item.contains(&new_id), "{item}");
    let item = attention_for(&page.body, &done).expect("the old secret left behind");
    assert!(item.contains("has not been used since"), "{item}");
    assert!(item.contains("Remove the old secret"), "{item}");
    assert!(page.body.contains("has not been used for 14 days"));
    // Once the new secret is in use too, the rotation is under way again: nothing to say
    // until the old one falls silent for 14 days.
    app.token(&rotating, &new_secret, &[]).await;
    app.tollgate.upkeep(app.tollgate.now()).await;
    let page = dashboard(&mut b).await;
    assert!(attention_for(&page.body, &rotating).is_none());
    app.clock.advance(15 * DAY);
    app.token(&rotating, &new_secret, &[]).await;
    app.tollgate.upkeep(app.tollgate.now()).await;
    let page = dashboard(&mut owner(&app).await).await;
    let item = attention_for(&page.body, &rotating).expect("the old secret fell silent");
    assert!(item.contains("has not been used since"), "{item}");
}

#[tokio::test]
async fn a_viewer_sees_the_dashboard_read_only_and_signed_out_people_none() {
    let app = TestApp::spawn_with(&SETTINGS).await;
    let mut anonymous = Browser::new(&app);
    assert_eq!(anonymous.get("/console").await.location, "/console/sign-in");

    let r = app
        .admin(
            Method::POST,
            "/admins",
            Some(json!({"email": "viewer@example.com", "role": "viewer"})),
        )
        .await;
    let (status, _, invite) = json_of(r).await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    let mut viewer = Browser::new(&app);
    let accept = viewer.get(invite["invite_url"].as_str().unwrap()).await;
    let token = field(&accept.body, "token");
    viewer
        .post(
            "/console/invite",
            &[
                ("token", &token),
                ("display_name", "Vera Viewer"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        viewer
            .sign_in("viewer@example.com", PASSWORD)
            .await
            .location,
        "/console"
    );
    let (noisy, secret) = app.create_client("Chatty", &["reports:read"]).await;
    for _ in 0..30 {
        app.token(&noisy, &secret, &[]).await;
    }
    let page = dashboard(&mut viewer).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.body.contains("Welcome, Vera Viewer"), "{}", page.body);
    let main = main_of(&page.body);
    assert!(attention_for(main, &noisy).is_some(), "{main}");
    assert!(
        main.contains("Signing keys") && main.contains("ES256"),
        "{main}"
    );
    for action in ["<button", "<form", "<input"] {
        assert!(!main.contains(action), "read-only: {action} in {main}");
    }
    let owner_page = dashboard(&mut owner(&app).await).await;
    assert!(!main_of(&owner_page.body).contains("<button"));
}

#[tokio::test]
async fn the_counts_of_two_nodes_add_up() {
    if !crate::pg::required("the_counts_of_two_nodes_add_up") {
        return;
    }
    let (a, b) = crate::helpers::two_nodes(&SETTINGS).await;
    let (id, secret) = a.create_client("Shared", &["reports:read"]).await;
    assert!(
        crate::helpers::within_a_second(|| async {
            b.try_token(&id, &secret).await.0 == StatusCode::OK
        })
        .await,
        "node b knows the client"
    );
    for _ in 0..3 {
        a.token(&id, &secret, &[]).await;
    }
    for _ in 0..3 {
        b.token(&id, &secret, &[]).await;
    }
    for node in [&a, &b] {
        refused(
            node,
            &[("grant_type", "client_credentials")],
            Some((&id, "tgs_nope")),
        )
        .await;
    }
    let on_a = owner(&a).await;
    let mut on_b = Browser::new(&b);
    on_b.session = on_a.session.clone();
    // Node a reads its own counts at once; node b's arrive with b's write-behind.
    let seen_by_a = usage(&on_a, &id).await["tokens_last_24h"].as_u64().unwrap();
    assert_eq!(
        seen_by_a, 3,
        "b's 3 (+1 the check above) are not written yet"
    );
    b.tollgate.upkeep(b.tollgate.now()).await;
    let both = usage(&on_a, &id).await["tokens_last_24h"].as_u64().unwrap();
    assert_eq!(both, 7, "3 + 3 + the check's token on b");
    assert_eq!(usage(&on_b, &id).await["tokens_last_24h"], 7);
    // Refusals add up too (b may have refused the check's first tries, before it knew the
    // client).
    let page = dashboard(&mut on_b).await;
    assert!(figure(&page.body, "tokens-failed") >= 2, "{}", page.body);
}
