//! An example GraphQL API protected by Tollgate access tokens, with scopes per field.
//!
//! How authorization surfaces, following what hosted GraphQL gateways do:
//!
//! - **Transport level**: `POST /graphql` sits behind [`Verifier::authenticate`]. No token or
//!   a bad one never reaches GraphQL: `401` with `WWW-Authenticate: Bearer …` (RFC 6750),
//!   exactly as for a REST API.
//! - **Field level**: a field needing a scope the token lacks resolves to `null` with a
//!   GraphQL error whose `extensions.code` is `"FORBIDDEN"` (and `extensions.requiredScopes`).
//!   The HTTP status of such a response is `403`, with `WWW-Authenticate: Bearer …,
//!   error="insufficient_scope", scope="<the missing scopes>"`, and the body is still the
//!   GraphQL response (`data` and `errors`), so GraphQL clients read it as usual.
//! - Fields are authorized one by one, as GraphQL executes them: in an operation mixing a
//!   permitted and a forbidden field, the permitted one still runs (and is in `data`), the
//!   response is a `403`. Send a mutation the token may not run on its own, not next to
//!   others.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_graphql::{
    Context, EmptySubscription, ErrorExtensions, Guard, Object, Schema, ServerError, SimpleObject,
};
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tollgate_verify::{
    BuildError, Claims, Rejection, RejectionKind, RevocationPolling, ScopeRequirement, Verifier,
};

/// The example's settings, from the environment.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `TOLLGATE_ISSUER` | `http://127.0.0.1:8080` | Tollgate's issuer URL (exactly as in its tokens' `iss`) |
/// | `API_AUDIENCE` | `https://api.example.com` | this API's audience: tokens must carry it in `aud` |
/// | `LISTEN` | `127.0.0.1:3001` | where to listen |
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
    /// Reads the variables above.
    pub fn from_env() -> Config {
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
            listen: var("LISTEN", "127.0.0.1:3001"),
            revocation,
        }
    }

    /// The token verifier for this configuration (no network yet). With revocation polling,
    /// call it inside a Tokio runtime.
    pub fn verifier(&self) -> Result<Verifier, BuildError> {
        let mut builder = Verifier::builder(&self.issuer)
            .audience(&self.audience)
            .realm("example-graphql-api")
            // For the protected resource metadata document (RFC 9728) that `app` serves:
            // the scopes the field guards below check, which no route layer names.
            .scopes_supported(["enterprise:user", "reports:export"])
            .resource_name("Example GraphQL API");
        if let Some((id, secret)) = &self.revocation {
            builder = builder.revocation_polling(
                RevocationPolling::new(id, secret).poll_interval(Duration::from_secs(5)),
            );
        }
        builder.build()
    }
}

/// A field guard: the token in the request context must hold every one of these scopes.
struct RequireScopes(&'static [&'static str]);

impl Guard for RequireScopes {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        // Without claims (the schema executed other than through `app`) nothing is granted.
        let granted = ctx
            .data_opt::<Claims>()
            .is_some_and(|c| c.require_all(self.0).is_ok());
        if granted {
            return Ok(());
        }
        let message = format!("this field requires the scope(s) {}", self.0.join(" "));
        Err(async_graphql::Error::new(message).extend_with(|_, e| {
            e.set("code", "FORBIDDEN");
            e.set(
                "requiredScopes",
                async_graphql::Value::List(
                    self.0
                        .iter()
                        .map(|s| async_graphql::Value::from(*s))
                        .collect(),
                ),
            );
        }))
    }
}

/// A user of the directory.
#[derive(Clone, Debug, SimpleObject)]
struct User {
    id: String,
    user_name: String,
    created_by: String,
}

/// A report export.
#[derive(Clone, Debug, SimpleObject)]
struct ReportExport {
    id: String,
    requested_by: String,
    csv: String,
}

type Users = Arc<Mutex<Vec<User>>>;

/// Queries.
struct Query;

#[Object]
impl Query {
    /// Every user; needs `enterprise:user`.
    #[graphql(guard = "RequireScopes(&[\"enterprise:user\"])")]
    async fn users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let users = ctx.data::<Users>()?;
        Ok(users.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }

    /// A report as CSV; needs `reports:export`.
    #[graphql(guard = "RequireScopes(&[\"reports:export\"])")]
    async fn report_export(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<ReportExport> {
        let claims = ctx.data::<Claims>()?;
        Ok(ReportExport {
            csv: format!("report,requested_by\n{id},{}\n", claims.client_id()),
            requested_by: claims.client_id().to_owned(),
            id,
        })
    }

    /// Who is calling: any valid token.
    async fn whoami(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(ctx.data::<Claims>()?.client_id().to_owned())
    }
}

/// Mutations.
struct Mutation;

#[Object]
impl Mutation {
    /// Adds a user; needs `enterprise:user`.
    #[graphql(guard = "RequireScopes(&[\"enterprise:user\"])")]
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        user_name: String,
    ) -> async_graphql::Result<User> {
        let claims = ctx.data::<Claims>()?;
        let users = ctx.data::<Users>()?;
        let mut users = users.lock().unwrap_or_else(PoisonError::into_inner);
        if users.iter().any(|u| u.user_name == user_name) {
            return Err(async_graphql::Error::new("userName is already taken")
                .extend_with(|_, e| e.set("code", "CONFLICT")));
        }
        let user = User {
            id: format!("u{}", users.len() + 1),
            user_name,
            created_by: claims.client_id().to_owned(),
        };
        users.push(user.clone());
        Ok(user)
    }
}

type ApiSchema = Schema<Query, Mutation, EmptySubscription>;

#[derive(Clone)]
struct AppState {
    schema: ApiSchema,
    verifier: Verifier,
}

/// The API: `POST /graphql` (any valid token; scopes per field); `GET /health` and the
/// protected resource metadata (`GET /.well-known/oauth-protected-resource`, RFC 9728) are
/// public.
pub fn app(verifier: &Verifier) -> Router {
    let users: Users = Arc::default();
    let schema = Schema::build(Query, Mutation, EmptySubscription)
        .data(users)
        .finish();
    let state = AppState {
        schema,
        verifier: verifier.clone(),
    };
    Router::new()
        .route("/graphql", post(graphql).layer(verifier.authenticate()))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .with_state(state)
        .merge(verifier.metadata_router())
}

async fn graphql(
    State(state): State<AppState>,
    claims: Claims,
    request: Result<Json<async_graphql::Request>, JsonRejection>,
) -> Response {
    let request = match request {
        Ok(Json(r)) => r,
        Err(e) => {
            let body = json!({"errors": [{"message": e.body_text(),
                                          "extensions": {"code": "BAD_REQUEST"}}]});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    let response = state.schema.execute(request.data(claims.clone())).await;
    let missing = forbidden_scopes(&response.errors);
    let body = Json(&response).into_response();
    if missing.is_empty() {
        return body;
    }
    // The scopes some field needed and the token lacks: a 403 whose challenge names them,
    // carrying the GraphQL response as its body.
    match ScopeRequirement::all(&missing).check(&claims) {
        Err(insufficient) => {
            let rejection = Rejection::new(
                &state.verifier,
                RejectionKind::InsufficientScope(insufficient),
            );
            // Status and headers of the rejection (403, WWW-Authenticate, JSON content type),
            // body of the GraphQL response.
            let (parts, _) = rejection.into_response().into_parts();
            Response::from_parts(parts, body.into_body())
        }
        Ok(()) => body,
    }
}

/// The scopes named by `FORBIDDEN` errors, without duplicates, in order.
fn forbidden_scopes(errors: &[ServerError]) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for e in errors {
        let Some(ext) = &e.extensions else { continue };
        let forbidden =
            matches!(ext.get("code"), Some(async_graphql::Value::String(c)) if c == "FORBIDDEN");
        if !forbidden {
            continue;
        }
        if let Some(async_graphql::Value::List(list)) = ext.get("requiredScopes") {
            for s in list {
                if let async_graphql::Value::String(s) = s
                    && !scopes.contains(s)
                {
                    scopes.push(s.clone());
                }
            }
        }
    }
    scopes
}
