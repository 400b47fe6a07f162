//! The catalogue: APIs and their permissions over the admin API, clients choosing from it,
//! tokens following it, and what a bad request leaves behind (nothing).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, decode_jwt, json_of};

async fn catalogue(app: &TestApp) -> Value {
    let (s, _, b) = json_of(app.admin(Method::GET, "/apis?limit=200", None).await).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

/// The clients as stored, without their usage (every admin call here gets a token, which
/// the admin client's usage counts).
async fn clients(app: &TestApp) -> Value {
    let (s, _, mut b) = json_of(app.admin(Method::GET, "/clients?limit=200", None).await).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    for c in b["clients"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("usage");
    }
    b
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn apis_are_registered_listed_changed_and_removed() {
    let app = TestApp::spawn().await;
    let body = json!({
        "identifier": "https://scim.example.com/v2",
        "name": "SCIM",
        "description": "User provisioning",
        "permissions": [
            {"value": "enterprise:user", "description": "Manage users within the enterprise"},
            {"value": "enterprise:group", "description": "Manage groups"}
        ],
        "access_token_lifetime": 600
    });
    let (s, h, api) = json_of(app.admin(Method::POST, "/apis", Some(body)).await).await;
    assert_eq!(s, StatusCode::CREATED, "{api}");
    let id = api["api_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("api_"), "{id}");
    assert_eq!(h["location"], format!("/admin/v1/apis/{id}").as_str());
    assert_eq!(api["identifier"], "https://scim.example.com/v2");
    assert_eq!(api["permissions"][0]["value"], "enterprise:user");
    assert_eq!(
        api["permissions"][0]["description"],
        "Manage users within the enterprise"
    );
    assert_eq!(api["access_token_lifetime"], 600);
    assert_eq!(api["built_in"], false);
    assert_eq!(api["created_at"], api["updated_at"]);

    let (s, _, got) = json_of(app.admin(Method::GET, &format!("/apis/{id}"), None).await).await;
    assert_eq!((s, &got), (StatusCode::OK, &api));

    // The list: the built-in admin API first, paginated like clients.
    let list = catalogue(&app).await;
    let apis = list["apis"].as_array().unwrap();
    assert_eq!(apis.len(), 2);
    assert_eq!(apis[0]["api_id"], "api_tollgate");
    assert_eq!(apis[0]["identifier"], app.issuer.as_str());
    assert_eq!(apis[0]["built_in"], true);
    assert_eq!(apis[0]["permissions"][0]["value"], "tollgate:admin");
    let (_, _, page) = json_of(app.admin(Method::GET, "/apis?limit=1", None).await).await;
    assert_eq!(page["apis"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, _, next) = json_of(
        app.admin(Method::GET, &format!("/apis?limit=1&cursor={cursor}"), None)
            .await,
    )
    .await;
    assert_eq!(next["apis"][0]["api_id"], id.as_str());
    assert!(next.get("next_cursor").is_none(), "{next}");

    app.clock.advance(5);
    let patch = json!({"name": "SCIM v2", "permissions": [
        {"value": "enterprise:user", "description": "Manage users"}
    ], "access_token_lifetime": null});
    let (s, _, updated) = json_of(
        app.admin(Method::PATCH, &format!("/apis/{id}"), Some(patch))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "SCIM v2");
    assert_eq!(updated["permissions"].as_array().unwrap().len(), 1);
    assert_eq!(updated["access_token_lifetime"], Value::Null);
    assert_ne!(updated["updated_at"], updated["created_at"]);

    let r = app
        .admin(Method::DELETE, &format!("/apis/{id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, _, b) = json_of(app.admin(Method::GET, &format!("/apis/{id}"), None).await).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("api_not_found"))
    );
    let (s, _, b) = json_of(app.admin(Method::GET, "/apis/nope", None).await).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("api_not_found"))
    );

    // The built-in API stays, and its fixed parts stay as they are.
    let r = app.admin(Method::DELETE, "/apis/api_tollgate", None).await;
    let (s, _, b) = json_of(r).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::CONFLICT, Some("built_in_api"))
    );
    let r = app
        .admin(
            Method::PATCH,
            "/apis/api_tollgate",
            Some(json!({"identifier": "https://x.example"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Permissions may be added to it; its own are kept whatever the list sent says.
    let (_, _, builtin) = json_of(app.admin(Method::GET, "/apis/api_tollgate", None).await).await;
    let mut list = builtin["permissions"].as_array().unwrap().clone();
    list.push(json!({"value": "status:read", "description": "Read the status page"}));
    let r = app
        .admin(
            Method::PATCH,
            "/apis/api_tollgate",
            Some(json!({"permissions": list})),
        )
        .await;
    let (s, _, b) = json_of(r).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["permissions"].as_array().unwrap().len(), list.len());
    let r = app
        .admin(
            Method::PATCH,
            "/apis/api_tollgate",
            Some(json!({"permissions": []})),
        )
        .await;
    let (_, _, b) = json_of(r).await;
    assert_eq!(b["permissions"][0]["value"], "tollgate:admin");

    let actions = app.audit_actions(None).await;
    for action in [
        "api.created",
        "api.updated",
        "permission.added",
        "permission.removed",
        "api.deleted",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn bad_apis_are_refused_field_by_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    app.create_api("https://reports.example.com", "Reports", &["reports:read"])
        .await;
    let before = catalogue(&app).await;
    let ok = |patch: Value| {
        let mut body = json!({
            "identifier": "https://new.example.com",
            "name": "New",
            "permissions": [{"value": "new:read", "description": "Read"}]
        });
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (json!({"identifier": "/relative"}), "identifier"),
        (
            json!({"identifier": "https://new.example.com/#top"}),
            "identifier",
        ),
        (
            json!({"identifier": "https://reports.example.com"}),
            "identifier",
        ),
        (json!({"identifier": app.issuer}), "identifier"),
        (json!({"name": "Reports"}), "name"),
        (json!({"name": " "}), "name"),
        (
            json!({"permissions": [{"value": "a b"}]}),
            "permissions[0].value",
        ),
        (
            json!({"permissions": [{"value": "x"}, {"value": "x"}]}),
            "permissions[1].value",
        ),
        (
            json!({"permissions": [{"value": "reports:read"}]}),
            "permissions[0].value",
        ),
        (
            json!({"permissions": [{"value": "tollgate:mine"}]}),
            "permissions[0].value",
        ),
        (
            json!({"access_token_lifetime": 30}),
            "access_token_lifetime",
        ),
        (
            json!({"access_token_lifetime": 86_401}),
            "access_token_lifetime",
        ),
        (json!({"signing_algorithm": "HS256"}), "signing_algorithm"),
        (json!({"signing_algorithm": "RS256"}), "signing_algorithm"),
    ];
    for (patch, field) in cases {
        let (s, h, b) = json_of(
            app.admin(Method::POST, "/apis", Some(ok(patch.clone())))
                .await,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{patch}: {b}");
        assert_eq!(h["content-type"], "application/problem+json");
        assert_eq!(fields(&b), [field], "{patch}: {b}");
        assert_eq!(
            catalogue(&app).await,
            before,
            "{patch} changed the catalogue"
        );
    }
    let (s, _, b) = json_of(
        app.admin(
            Method::POST,
            "/apis",
            Some(json!({"name": "x", "extra": 1})),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(catalogue(&app).await, before);
}

#[tokio::test]
async fn clients_choose_from_the_catalogue() {
    let app = TestApp::spawn().await;
    app.create_api("https://reports.example.com", "Reports", &["reports:read"])
        .await;
    let before = clients(&app).await;
    let r = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({"name": "c", "scopes": ["reports:read", "reports:write"]})),
        )
        .await;
    let (s, _, b) = json_of(r).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(fields(&b), ["scopes"]);
    let message = b["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("reports:write") && message.contains("GET /admin/v1/apis"),
        "{message}"
    );
    assert_eq!(clients(&app).await, before, "nothing was created");
    let (id, _) = app.create_client("c", &["reports:read"]).await;
    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"scopes": ["nope"], "name": "renamed"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (_, _, got) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(got["name"], "c", "a refused patch changes nothing");
}

#[tokio::test]
async fn permissions_clients_hold_are_removed_only_when_asked() {
    let app = TestApp::spawn().await;
    let api = app
        .create_api(
            "https://reports.example.com",
            "Reports",
            &["reports:read", "reports:write"],
        )
        .await;
    let (id, secret) = app
        .create_client("holder", &["reports:read", "reports:write"])
        .await;
    let keep_read = json!({"permissions": [{"value": "reports:read", "description": "Read"}]});
    let r = app
        .admin(
            Method::PATCH,
            &format!("/apis/{api}"),
            Some(keep_read.clone()),
        )
        .await;
    let (s, _, b) = json_of(r).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["code"], "permissions_in_use");
    assert_eq!(
        b["clients"],
        json!([{"client_id": id, "scopes": ["reports:write"]}])
    );
    assert!(b["detail"].as_str().unwrap().contains(&id));
    let r = app
        .admin(Method::DELETE, &format!("/apis/{api}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let (_, _, still) = json_of(app.admin(Method::GET, &format!("/apis/{api}"), None).await).await;
    assert_eq!(
        still["permissions"].as_array().unwrap().len(),
        2,
        "nothing changed"
    );

    let r = app
        .admin(
            Method::PATCH,
            &format!("/apis/{api}?take_from_clients=true"),
            Some(keep_read),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, _, client) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(client["scopes"], json!(["reports:read"]));
    assert_eq!(app.token(&id, &secret, &[]).await["scope"], "reports:read");
    let trail = app.audit_actions(Some(&id)).await;
    assert!(
        trail.iter().any(|a| a == "permission.taken_from_client"),
        "{trail:?}"
    );

    let r = app
        .admin(
            Method::DELETE,
            &format!("/apis/{api}?take_from_clients=true"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, _, client) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(client["scopes"], json!([]));
}

#[tokio::test]
async fn tokens_take_audience_lifetime_and_algorithm_from_the_api() {
    let app = TestApp::spawn_with(&[("TOLLGATE_EXTRA_SIGNING_ALGORITHMS", "EdDSA")]).await;
    let r = app
        .admin(
            Method::POST,
            "/apis",
            Some(json!({
                "identifier": "https://reports.example.com",
                "name": "Reports",
                "permissions": [{"value": "reports:read", "description": "Read reports"}],
                "access_token_lifetime": 300,
                "signing_algorithm": "EdDSA"
            })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (id, secret) = app.create_client("c", &["reports:read"]).await;
    let t = app.token(&id, &secret, &[]).await;
    assert_eq!(t["expires_in"], 300);
    let (header, claims) = decode_jwt(t["access_token"].as_str().unwrap());
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(claims["aud"], "https://reports.example.com");
    // The client's own settings win.
    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"access_token_lifetime": 120, "signing_algorithm": "ES256"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let t = app.token(&id, &secret, &[]).await;
    assert_eq!(t["expires_in"], 120);
    assert_eq!(
        decode_jwt(t["access_token"].as_str().unwrap()).0["alg"],
        "ES256"
    );

    for (resource, why) in [
        ("https://unknown.example.com", "no API"),
        (app.issuer.as_str(), "no permission"),
    ] {
        let r = app
            .token_form(
                &[("grant_type", "client_credentials"), ("resource", resource)],
                Some((&id, &secret)),
            )
            .await;
        let (s, _, b) = json_of(r).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_target"))
        );
        assert!(
            b["error_description"].as_str().unwrap().contains(why),
            "{b}"
        );
    }
    // Discovery advertises the catalogue.
    let (_, _, doc) = json_of(
        app.http
            .get(app.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("reports:read"))
    );
}

#[tokio::test]
async fn tenants_are_bound_to_clients() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("c", &["reports:read"]).await;
    let refused = |body: Value| {
        assert_eq!(body["error"], "invalid_request", "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("tenant"),
            "{body}"
        );
    };
    let ask = |tenant: Option<&'static str>| {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(t) = tenant {
            form.push(("tenant", t));
        }
        let app = &app;
        let (id, secret) = (id.clone(), secret.clone());
        async move {
            let r = app.token_form(&form, Some((&id, &secret))).await;
            json_of(r).await
        }
    };
    // Bound to none: no tenant can be asked for.
    let (s, _, b) = ask(Some("acme")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    refused(b);
    let set = |tenants: Value| {
        let app = &app;
        let id = id.clone();
        async move {
            let r = app
                .admin(
                    Method::PATCH,
                    &format!("/clients/{id}"),
                    Some(json!({"tenants": tenants})),
                )
                .await;
            json_of(r).await
        }
    };
    let (s, _, b) = set(json!(["acme"])).await;
    assert_eq!((s, &b["tenants"]), (StatusCode::OK, &json!(["acme"])));
    // Bound to one: carried whether asked or not; another is refused.
    let (_, _, b) = ask(None).await;
    assert_eq!(
        decode_jwt(b["access_token"].as_str().unwrap()).1["tenant"],
        "acme"
    );
    let (s, _, b) = ask(Some("globex")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    refused(b);
    // Bound to several: one must be named.
    set(json!(["acme", "globex"])).await;
    let (s, _, b) = ask(None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        b["error_description"].as_str().unwrap().contains("several"),
        "{b}"
    );
    let (s, _, b) = ask(Some("globex")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let token = b["access_token"].as_str().unwrap().to_owned();
    assert_eq!(decode_jwt(&token).1["tenant"], "globex");
    assert_eq!(app.introspect(&token).await["tenant"], "globex");
    // Malformed tenant ids are refused where they are set.
    let (s, _, b) = set(json!(["ok", "not ok"])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&b), ["tenants[1]"]);
}

#[tokio::test]
async fn static_claims_are_merged_into_tokens() {
    let app = TestApp::spawn().await;
    app.ensure_permissions(&["reports:read"]).await;
    let r = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({"name": "c", "scopes": ["reports:read"], "claims": {"org": "acme", "env": "prod"}})),
        )
        .await;
    let (s, _, created) = json_of(r).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["client"]["claims"],
        json!({"org": "acme", "env": "prod"})
    );
    let id = created["client"]["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap();
    let t = app.token(&id, secret, &[]).await;
    let claims = decode_jwt(t["access_token"].as_str().unwrap()).1;
    assert_eq!(
        (claims["org"].as_str(), claims["env"].as_str()),
        (Some("acme"), Some("prod"))
    );
    assert_eq!(claims["client_id"], id.as_str());

    let before = clients(&app).await;
    for (claims, field) in [
        (json!({"aud": "https://evil.example"}), "claims.aud"),
        (json!({"client_id": "someone-else"}), "claims.client_id"),
        (json!({"big": "x".repeat(2100)}), "claims"),
        (json!(["not", "an", "object"]), "claims"),
    ] {
        let r = app
            .admin(
                Method::PATCH,
                &format!("/clients/{id}"),
                Some(json!({"claims": claims})),
            )
            .await;
        let (s, _, b) = json_of(r).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert_eq!(fields(&b), [field]);
    }
    assert_eq!(clients(&app).await, before);
    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"claims": null})),
        )
        .await;
    let (_, _, b) = json_of(r).await;
    assert!(b.get("claims").is_none(), "{b}");
    let t = app.token(&id, secret, &[]).await;
    assert!(
        decode_jwt(t["access_token"].as_str().unwrap())
            .1
            .get("org")
            .is_none()
    );
}

#[tokio::test]
async fn locked_scopes_stay_as_created() {
    let app = TestApp::spawn_with(&[("TOLLGATE_LOCK_CLIENT_SCOPES", "true")]).await;
    let (id, _) = app.create_client("locked", &["a", "b"]).await;
    let (_, _, got) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(
        got["scopes_locked"], true,
        "the server setting is the default"
    );
    for patch in [json!({"scopes": ["a"]}), json!({"scopes_locked": false})] {
        let r = app
            .admin(
                Method::PATCH,
                &format!("/clients/{id}"),
                Some(patch.clone()),
            )
            .await;
        let (s, _, b) = json_of(r).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::CONFLICT, Some("scopes_locked")),
            "{patch}"
        );
        assert!(
            b["detail"]
                .as_str()
                .unwrap()
                .contains("create a new client"),
            "{b}"
        );
    }
    // Everything else may change, and the same scopes again are no change.
    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"name": "still locked", "scopes": ["b", "a"]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({"name": "free", "scopes": ["a"], "scopes_locked": false})),
        )
        .await;
    let (_, _, b) = json_of(r).await;
    assert_eq!(b["client"]["scopes_locked"], false);
}

#[tokio::test]
async fn admin_operations_need_their_own_scope() {
    let app = TestApp::spawn().await;
    let (reader, secret) = app
        .create_client("reader", &["tollgate:clients:read", "tollgate:apis:read"])
        .await;
    let issuer = app.issuer.clone();
    let t = app.token(&reader, &secret, &[]).await;
    assert_eq!(
        decode_jwt(t["access_token"].as_str().unwrap()).1["aud"],
        issuer.as_str()
    );
    let token = t["access_token"].as_str().unwrap().to_owned();
    for path in ["/clients", "/apis", &format!("/clients/{reader}")] {
        let r = app.admin_with(&token, Method::GET, path, None).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    for (method, path, body, scope) in [
        (
            Method::POST,
            "/clients",
            Some(json!({"name": "x"})),
            "tollgate:clients:write",
        ),
        (
            Method::POST,
            "/apis",
            Some(json!({"name": "x"})),
            "tollgate:apis:write",
        ),
        (Method::GET, "/keys", None, "tollgate:keys:read"),
        (
            Method::POST,
            "/keys/rotate",
            Some(json!({})),
            "tollgate:keys:write",
        ),
        (Method::GET, "/audit", None, "tollgate:audit:read"),
    ] {
        let r = app.admin_with(&token, method, path, body).await;
        let (s, h, b) = json_of(r).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("insufficient_scope")),
            "{path}"
        );
        let challenge = h["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains(&format!("scope=\"{scope}\"")),
            "{path}: {challenge}"
        );
    }
    // The OpenAPI document says which scope each operation needs.
    let doc: Value = app
        .http
        .get(app.url("/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["paths"]["/apis"]["post"]["security"],
        json!([
            {"bearer": ["tollgate:apis:write"]},
            {"bearer": ["tollgate:admin"]},
            {"oauth2": ["tollgate:apis:write"]},
            {"oauth2": ["tollgate:admin"]}
        ])
    );
}
