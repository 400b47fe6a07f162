//! An example REST API protected by Tollgate access tokens: SCIM-style users and report
//! exports, each route with the scope it needs. [`app`] builds the router, so tests can serve
//! it on port 0; `main.rs` only reads the configuration and serves.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tollgate_verify::{BuildError, Claims, RevocationPolling, Verifier};

/// The example's settings, from the environment.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `TOLLGATE_ISSUER` | `http://127.0.0.1:8080` | Tollgate's issuer URL (exactly as in its tokens' `iss`) |
/// | `API_AUDIENCE` | `https://api.example.com` | this API's audience: tokens must carry it in `aud` |
/// | `LISTEN` | `127.0.0.1:3000` | where to listen |
/// | `API_REVOCATION_CLIENT_ID`, `API_REVOCATION_CLIENT_SECRET` | unset | credentials of a client with `tollgate:introspect`: turns on revocation polling |
#[derive(Clone)]
pub struct Config {
    /// Tollgate's issuer.
    pub issuer: String,
    /// The audience this API accepts.
    pub audience: String,
    /// The listen address.
    pub listen: String,
    /// Revocation polling credentials, if any.
    pub revocation: Option<(String, String)>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("listen", &self.listen)
            .field(
                "revocation_client",
                &self.revocation.as_ref().map(|(id, _)| id),
            )
            .finish()
    }
}

impl Config {
    /// Reads the variables above, with `default_listen` for `LISTEN`.
    pub fn from_env(default_listen: &str) -> Config {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let revocation = match (
            std::env::var("API_REVOCATION_CLIENT_ID"),
            std::env::var("API_REVOCATION_CLIENT_SECRET"),
        ) {
            (Ok(id), Ok(secret)) if !id.is_empty() && !secret.is_empty() => Some((id, secret)),
            _ => None,
        };
        Config {
            issuer: var("TOLLGATE_ISSUER", "http://127.0.0.1:8080"),
            audience: var("API_AUDIENCE", "https://api.example.com"),
            listen: var("LISTEN", default_listen),
            revocation,
        }
    }

    /// The token verifier for this configuration (no network yet). With revocation polling,
    /// call it inside a Tokio runtime.
    pub fn verifier(&self) -> Result<Verifier, BuildError> {
        let mut builder = Verifier::builder(&self.issuer)
            .audience(&self.audience)
            .realm("example-rest-api")
            // For the protected resource metadata document (RFC 9728) that `app` serves.
            .scopes_supported([USERS_SCOPE, EXPORT_SCOPE])
            .resource_name("Example REST API");
        if let Some((id, secret)) = &self.revocation {
            builder = builder.revocation_polling(
                RevocationPolling::new(id, secret).poll_interval(Duration::from_secs(5)),
            );
        }
        builder.build()
    }
}

/// The scope of the SCIM user routes.
pub const USERS_SCOPE: &str = "enterprise:user";
/// The scope of report exports.
pub const EXPORT_SCOPE: &str = "reports:export";

/// A SCIM user (RFC 7643 §4.1), trimmed to what the example needs.
#[derive(Clone, Debug)]
struct User {
    id: String,
    user_name: String,
    created_by: String,
}

impl User {
    fn to_scim(&self) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": self.id,
            "userName": self.user_name,
            "meta": {"resourceType": "User", "createdBy": self.created_by},
        })
    }
}

/// The in-memory user store.
#[derive(Clone, Debug, Default)]
struct Users(Arc<Mutex<Vec<User>>>);

impl Users {
    fn with<T>(&self, f: impl FnOnce(&mut Vec<User>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The API: `GET`/`POST /scim/v2/Users` need `enterprise:user`, `GET /reports/{id}/export`
/// needs `reports:export`, `GET /health` and the protected resource metadata
/// (`GET /.well-known/oauth-protected-resource`, RFC 9728) are public.
pub fn app(verifier: &Verifier) -> Router {
    let users = Users::default();
    Router::new()
        .route(
            "/scim/v2/Users",
            get(list_users)
                .post(create_user)
                .layer(verifier.require_all([USERS_SCOPE])),
        )
        .route(
            "/reports/{id}/export",
            get(export_report).layer(verifier.require_all([EXPORT_SCOPE])),
        )
        .route("/health", get(health))
        .with_state(users)
        .merge(verifier.metadata_router())
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn list_users(State(users): State<Users>, _claims: Claims) -> Response {
    let resources: Vec<Value> = users.with(|u| u.iter().map(User::to_scim).collect());
    scim(
        StatusCode::OK,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": resources.len(),
            "startIndex": 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewUser {
    user_name: String,
}

async fn create_user(
    State(users): State<Users>,
    claims: Claims,
    body: Result<Json<NewUser>, JsonRejection>,
) -> Response {
    let new = match body {
        Ok(Json(n)) if !n.user_name.trim().is_empty() => n,
        Ok(_) => return scim_error(StatusCode::BAD_REQUEST, "userName must not be empty"),
        Err(e) => return scim_error(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    let user = users.with(|u| {
        if u.iter().any(|x| x.user_name == new.user_name) {
            return None;
        }
        let user = User {
            id: format!("u{}", u.len() + 1),
            user_name: new.user_name,
            created_by: claims.client_id().to_owned(),
        };
        u.push(user.clone());
        Some(user)
    });
    match user {
        Some(u) => scim(StatusCode::CREATED, u.to_scim()),
        None => scim_error(StatusCode::CONFLICT, "userName is already taken"),
    }
}

async fn export_report(Path(id): Path<String>, claims: Claims) -> Response {
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return (StatusCode::NOT_FOUND, "no such report\n").into_response();
    }
    let csv = format!(
        "report,requested_by,tenant\n{id},{},{}\n",
        claims.client_id(),
        claims.tenant().unwrap_or("")
    );
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"))],
        csv,
    )
        .into_response()
}

fn scim(status: StatusCode, body: Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    r
}

/// A SCIM error (RFC 7644 §3.12).
fn scim_error(status: StatusCode, detail: &str) -> Response {
    scim(
        status,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": status.as_u16().to_string(),
            "detail": detail,
        }),
    )
}
