//! Nobody gives a client more of the admin API than they hold: a manager (or a client with
//! `tollgate:clients:write`) cannot create a client with `tollgate:admin`, nor change, add a
//! secret to, remove a secret from or delete a client that holds an admin permission they do
//! not hold — which would let them act as an owner with that client's token.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::json_of;
use crate::people::field;
use crate::people_roles::{invited, spawn_with_owner};

#[tokio::test]
async fn a_manager_cannot_give_or_reach_permissions_beyond_their_role() {
    let app = spawn_with_owner().await;
    let mut manager = invited(&app, "manager@example.com", "manager").await;
    let csrf = field(&manager.get("/console").await.body, "csrf");

    // Creating: an admin permission is refused, an ordinary one allowed.
    for scope in ["tollgate:admin", "tollgate:keys:write"] {
        let (status, body) = manager
            .api(
                Method::POST,
                "/clients",
                Some(json!({"name": format!("escalate {scope}"), "scopes": [scope]})),
                Some(&csrf),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["code"], "beyond_your_permissions");
        assert!(body["detail"].as_str().unwrap().contains(scope), "{body}");
    }
    let (status, body) = manager
        .api(
            Method::POST,
            "/clients",
            Some(json!({"name": "reader", "scopes": ["tollgate:clients:read", "tollgate:introspect"]})),
            Some(&csrf),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let reader = body["client"]["client_id"].as_str().unwrap().to_owned();

    // Raising an existing client to an admin permission is refused.
    let (status, body) = manager
        .api(
            Method::PATCH,
            &format!("/clients/{reader}"),
            Some(json!({"scopes": ["tollgate:admin"]})),
            Some(&csrf),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // An owner's client with an admin permission: the manager reads it and changes nothing.
    let (ops, _) = app.create_client("ops", &["tollgate:keys:write"]).await;
    let (status, _) = manager
        .api(Method::GET, &format!("/clients/{ops}"), None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let secrets = json_of(
        app.admin(Method::GET, &format!("/clients/{ops}"), None)
            .await,
    )
    .await
    .2["secrets"]
        .clone();
    let secret_id = secrets[0]["secret_id"].as_str().unwrap().to_owned();
    let attempts = [
        (
            Method::POST,
            format!("/clients/{ops}/secrets"),
            Some(json!({})),
        ),
        (
            Method::PATCH,
            format!("/clients/{ops}"),
            Some(json!({"name": "mine now"})),
        ),
        (
            Method::DELETE,
            format!("/clients/{ops}/secrets/{secret_id}"),
            None,
        ),
        (Method::DELETE, format!("/clients/{ops}"), None),
    ];
    for (method, path, body) in attempts {
        let (status, answer) = manager.api(method.clone(), &path, body, Some(&csrf)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert_eq!(answer["code"], "beyond_your_permissions", "{answer}");
    }
    let after = json_of(
        app.admin(Method::GET, &format!("/clients/{ops}"), None)
            .await,
    )
    .await
    .2;
    assert_eq!(after["name"], "ops");
    assert_eq!(after["secrets"], secrets, "no secret added or removed");

    // The console's form says so beside the permissions and creates nothing.
    let form = manager.get("/console/clients/new").await;
    let page_csrf = field(&form.body, "csrf");
    let refused = manager
        .post(
            "/console/clients/new",
            &[
                ("csrf", &page_csrf),
                ("name", "console escalation"),
                ("description", ""),
                ("scopes", "tollgate:admin"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused.body.contains("Your role does not hold it"),
        "{}",
        refused.body
    );
    let (_, list) = manager
        .api(Method::GET, "/clients?q=console%20escalation", None, None)
        .await;
    assert_eq!(list["clients"].as_array().unwrap().len(), 0, "{list}");

    // An owner may do all of it.
    let (status, _, body) = json_of(
        app.admin(
            Method::POST,
            "/clients",
            Some(json!({"name": "owner's admin", "scopes": ["tollgate:admin"]})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _, body) = json_of(
        app.admin(
            Method::POST,
            &format!("/clients/{ops}/secrets"),
            Some(json!({})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_client_with_clients_write_cannot_mint_an_admin_client() {
    let app = spawn_with_owner().await;
    let (id, secret) = app
        .create_client(
            "provisioner",
            &["tollgate:clients:write", "tollgate:clients:read"],
        )
        .await;
    let issuer = app.issuer.clone();
    let token = app.token(&id, &secret, &[("resource", &issuer)]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, body) = json_of(
        app.admin_with(
            &token,
            Method::POST,
            "/clients",
            Some(json!({"name": "minted", "scopes": ["tollgate:admin"]})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "beyond_your_permissions");
    // What it holds, it may give.
    let (status, _, body) = json_of(
        app.admin_with(
            &token,
            Method::POST,
            "/clients",
            Some(json!({"name": "reader", "scopes": ["tollgate:clients:read"]})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
