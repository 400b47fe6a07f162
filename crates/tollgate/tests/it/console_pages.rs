//! Console pages behind a role: the API clients list, its search and pages, escaping.

use reqwest::{Method, StatusCode};

use crate::helpers::json_of;
use crate::people::{Browser, OWNER_EMAIL, PASSWORD};
use crate::people_roles::spawn_with_owner as spawn;

fn rows(body: &str) -> usize {
    body.matches("<tr>").count().saturating_sub(1)
}

#[tokio::test]
async fn the_clients_list_searches_and_pages_in_the_database_and_escapes_everything() {
    let app = spawn().await;
    let mut b = Browser::new(&app);
    assert_eq!(b.get("/console/clients").await.location, "/console/sign-in");
    assert_eq!(b.sign_in(OWNER_EMAIL, PASSWORD).await.location, "/console");
    let start = b.get("/console/clients").await;
    assert_eq!(
        rows(&start.body),
        1,
        "the administrator client: {}",
        start.body
    );

    let (evil, _) = app
        .create_client("<script>alert(1)</script>", &["reports:read"])
        .await;
    app.create_client("Report Exporter", &["reports:export"])
        .await;
    for i in 0..55 {
        app.create_client(&format!("bulk-{i:02}"), &[]).await;
    }
    let first = b.get("/console/clients").await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(
        first.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(rows(&first.body), 50);
    let next = first
        .body
        .split("<a class=\"button\" href=\"")
        .nth(1)
        .map(|s| s[..s.find('"').unwrap()].replace("&amp;", "&"))
        .expect("a next page");
    let second = b.get(&next).await;
    assert_eq!(rows(&second.body), 8);
    assert!(!second.body.contains("Next page"));
    let both = format!("{}{}", first.body, second.body);
    assert!(
        both.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || both.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped"
    );
    assert!(!both.contains("<script>alert(1)"), "never raw");

    let found = b.get("/console/clients?q=EXPORTER").await;
    assert_eq!(rows(&found.body), 1, "{}", found.body);
    assert!(found.body.contains("Report Exporter"));
    let by_id = b.get(&format!("/console/clients?q={}", &evil[4..16])).await;
    assert_eq!(rows(&by_id.body), 1);
    let none = b.get("/console/clients?q=nothing-like-this").await;
    assert!(none.body.contains("No API client matches"), "{}", none.body);
    let long = b
        .get(&format!("/console/clients?q={}", "x".repeat(200)))
        .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert!(long.body.contains("at most 128 characters"));

    // The admin API searches the same way.
    let (status, _, body) =
        json_of(app.admin(Method::GET, "/clients?q=exporter", None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["clients"].as_array().unwrap().len(), 1, "{body}");
}

#[tokio::test]
async fn the_api_reference_is_served_from_the_binary_and_documents_the_client_credentials_flow() {
    let app = spawn().await;
    let http = reqwest::Client::new();
    let page = http.get(app.url("/admin/v1/docs")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("data-token-url=\"{}\"", app.url("/oauth2/token"))),
        "{html}"
    );
    let assets: Vec<String> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/admin/v1/docs/"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        assets.len(),
        4,
        "bundle, its stylesheet, the frame's stylesheet, the initializer: {assets:?}"
    );
    for path in &assets {
        let r = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable"),
            "{path}"
        );
        let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            kind.starts_with(if path.ends_with(".js") {
                "text/javascript"
            } else {
                "text/css"
            }),
            "{path}: {kind}"
        );
    }

    let (_, _, doc) = json_of(
        http.get(app.url("/admin/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let flow = &doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"];
    assert_eq!(flow["tokenUrl"], "/oauth2/token");
    assert!(flow["scopes"]["tollgate:clients:read"].is_string());
    let mut ids = std::collections::BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "operationId {id} repeats");
            let security = op["security"].as_array().unwrap();
            assert!(
                security.iter().any(|s| s.get("oauth2").is_some()),
                "{id}: {security:?}"
            );
        }
    }
}

#[tokio::test]
async fn search_follows_renames_and_deletions_and_takes_wildcards_literally() {
    let app = spawn().await;
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let search = |q: &str| {
        let app = &app;
        let q = form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>();
        async move {
            let (status, _, body) = json_of(
                app.admin(Method::GET, &format!("/clients?q={q}"), None)
                    .await,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            names(&body)
        }
    };
    let (sale, _) = app.create_client("Spring 50%_off sale", &[]).await;
    app.create_client("Invoice mailer", &[]).await;
    app.create_client("Ledger sync", &[]).await;
    assert_eq!(search("50%_").await, ["Spring 50%_off sale"]);
    assert_eq!(
        search("%").await,
        ["Spring 50%_off sale"],
        "a % is a %, not any text"
    );
    assert_eq!(search("_o").await, ["Spring 50%_off sale"]);
    assert_eq!(search("MAILER").await, ["Invoice mailer"]);
    assert_eq!(
        search("er").await.len(),
        2,
        "two letters: Invoice mailer, Ledger sync"
    );
    let (status, _, body) = json_of(
        app.admin(
            Method::PATCH,
            &format!("/clients/{sale}"),
            Some(serde_json::json!({"name": "Autumn clearance"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(search("50%_").await.is_empty(), "the old name is gone");
    assert_eq!(search("clearance").await, ["Autumn clearance"]);
    assert_eq!(search(&sale[4..16]).await, ["Autumn clearance"], "by id");
    let r = app
        .admin(Method::DELETE, &format!("/clients/{sale}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(
        search("clearance").await.is_empty(),
        "a deleted client is not found"
    );
}
