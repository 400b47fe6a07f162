//! `/admin/v1/clients/{client_id}/secrets`: add and remove a client's secrets, so they can be
//! rotated without downtime.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::{Admin, ClientsWrite};
use super::export::{self, Export, ExportParams};
use super::extract::{ClientPath, OptionalAdminJson, SecretPath};
use super::problem::Problem;
use super::requests::{CreateSecretRequest, NewSecret};
use super::views::{CreatedSecret, SecretView};
use crate::http::AppState;

#[utoipa::path(post, path = "/clients/{client_id}/secrets", tag = "secrets",
    params(("client_id" = String, Path), ExportParams),
    request_body(content = Option<CreateSecretRequest>),
    responses(
        (status = 201, description = "Added; the secret is shown this once", body = CreatedSecret,
            content(
                (CreatedSecret = "application/json"),
                (String = "text/x-dotenv"),
                (Object = "application/vnd.postman.environment+json"),
            )),
        (status = 400, description = "A bad `expires_at` or `format`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The client holds the most secrets allowed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:clients:write"]), ("bearer" = ["tollgate:admin"])))]
pub async fn add_secret(
    State(state): State<AppState>,
    admin: Admin<ClientsWrite>,
    ClientPath(id): ClientPath,
    export: Export,
    // The body is optional: an empty POST adds a secret that does not expire.
    OptionalAdminJson(req): OptionalAdminJson<CreateSecretRequest>,
) -> Result<Response, Problem> {
    let new = NewSecret::try_from(req)?;
    let now = state.tollgate.now();
    let (info, secret) = state
        .tollgate
        .add_secret(&admin.acting(), &id, new.expires_at, now)
        .await?;
    tracing::info!(client_id = %id, secret_id = info.id.as_str(), "secret added");
    let client = state.tollgate.get_client(&id).await?;
    let location = format!("/admin/v1/clients/{id}/secrets/{}", info.id.as_str());
    let body = CreatedSecret {
        secret: SecretView::from(&info),
        client_secret: secret.clone(),
    };
    Ok(export::created(
        &state, export, &location, &client, &secret, body, now,
    ))
}

#[utoipa::path(delete, path = "/clients/{client_id}/secrets/{secret_id}", tag = "secrets",
    params(("client_id" = String, Path), ("secret_id" = String, Path)),
    responses(
        (status = 204, description = "Removed; the secret no longer works"),
        (status = 404, description = "No such client or secret", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is the client's only secret", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:clients:write"]), ("bearer" = ["tollgate:admin"])))]
pub async fn remove_secret(
    State(state): State<AppState>,
    admin: Admin<ClientsWrite>,
    SecretPath {
        client_id: id,
        secret_id,
    }: SecretPath,
) -> Result<StatusCode, Problem> {
    let now = state.tollgate.now();
    state
        .tollgate
        .remove_secret(&admin.acting(), &id, &secret_id, now)
        .await?;
    tracing::info!(client_id = %id, secret_id = secret_id.as_str(), "secret removed");
    Ok(StatusCode::NO_CONTENT)
}
