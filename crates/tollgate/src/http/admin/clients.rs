//! `/admin/v1/clients`: create, list, get, update and delete API clients. Their secrets are in
//! `secrets.rs`; the request and answer types in `requests.rs` and `views.rs`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::{Admin, ClientsRead, ClientsWrite};
use super::export::{self, Export, ExportParams};
use super::extract::{AdminJson, AdminQuery, ClientPath};
use super::problem::Problem;
use super::requests::{CreateClientRequest, ListParams, Page, UpdateClientRequest, encode_cursor};
use super::views::{ClientList, ClientView, CreatedClient};
use crate::domain::client::{Client, ClientPatch, NewClient};
use crate::http::AppState;
use crate::service::ClientError;

#[utoipa::path(post, path = "/clients", tag = "clients",
    params(ExportParams),
    request_body = CreateClientRequest,
    responses(
        (status = 201, description = "Created; the secret is shown this once", body = CreatedClient,
            content(
                (CreatedClient = "application/json"),
                (String = "text/x-dotenv"),
                (Object = "application/vnd.postman.environment+json"),
            )),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name taken", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:clients:write"]), ("bearer" = ["tollgate:admin"])))]
pub async fn create(
    State(state): State<AppState>,
    admin: Admin<ClientsWrite>,
    export: Export,
    AdminJson(req): AdminJson<CreateClientRequest>,
) -> Result<Response, Problem> {
    let new = NewClient::try_from(req)?;
    let now = state.tollgate.now();
    let (client, secret) = state
        .tollgate
        .create_client(&admin.acting(), new, now)
        .await?;
    tracing::info!(client_id = %client.id, "client created");
    let location = format!("/admin/v1/clients/{}", client.id);
    let view = ClientView::from(&client);
    let body = CreatedClient {
        client: view,
        client_secret: secret.clone(),
    };
    Ok(export::created(
        &state, export, &location, &client, &secret, body, now,
    ))
}

#[utoipa::path(get, path = "/clients", tag = "clients",
    params(ListParams),
    responses(
        (status = 200, description = "One page of clients, oldest first", body = ClientList),
        (status = 400, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:clients:read"]), ("bearer" = ["tollgate:admin"])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin<ClientsRead>,
    AdminQuery(params): AdminQuery<ListParams>,
) -> Result<Json<ClientList>, Problem> {
    let page = Page::try_from(params)?;
    let (clients, next) = state
        .tollgate
        .list_clients(page.cursor.as_ref(), page.limit, page.search.as_deref())
        .await?;
    let usage = state
        .tollgate
        .usage_of(&clients.iter().collect::<Vec<_>>(), state.tollgate.now())
        .await
        .map_err(ClientError::from)?;
    Ok(Json(ClientList {
        clients: clients
            .iter()
            .zip(usage)
            .map(|(c, u)| ClientView::from(c).with_usage(u))
            .collect(),
        next_cursor: next.as_ref().map(encode_cursor),
    }))
}

#[utoipa::path(get, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The client", body = ClientView),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:clients:read"]), ("bearer" = ["tollgate:admin"])))]
pub async fn get(
    State(state): State<AppState>,
    _admin: Admin<ClientsRead>,
    ClientPath(id): ClientPath,
) -> Result<Json<ClientView>, Problem> {
    let client = state.tollgate.get_client(&id).await?;
    with_usage(&state, &client).await
}

#[utoipa::path(patch, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    request_body = UpdateClientRequest,
    responses(
        (status = 200, description = "The updated client", body = ClientView),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name taken", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:clients:write"]), ("bearer" = ["tollgate:admin"])))]
pub async fn update(
    State(state): State<AppState>,
    admin: Admin<ClientsWrite>,
    ClientPath(id): ClientPath,
    AdminJson(req): AdminJson<UpdateClientRequest>,
) -> Result<Json<ClientView>, Problem> {
    let patch = ClientPatch::try_from(req)?;
    let now = state.tollgate.now();
    let client = state
        .tollgate
        .update_client(&admin.acting(), &id, &patch, now)
        .await?;
    tracing::info!(client_id = %client.id, "client updated");
    with_usage(&state, &client).await
}

/// The client's view with its usage.
async fn with_usage(state: &AppState, client: &Client) -> Result<Json<ClientView>, Problem> {
    let usage = state
        .tollgate
        .usage_of(&[client], state.tollgate.now())
        .await
        .map_err(ClientError::from)?;
    let view = ClientView::from(client);
    Ok(Json(match usage.first() {
        Some(u) => view.with_usage(*u),
        None => view,
    }))
}

#[utoipa::path(delete, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted; the client can get no more tokens"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:clients:write"]), ("bearer" = ["tollgate:admin"])))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin<ClientsWrite>,
    ClientPath(id): ClientPath,
) -> Result<StatusCode, Problem> {
    let now = state.tollgate.now();
    state
        .tollgate
        .delete_client(&admin.acting(), &id, now)
        .await?;
    tracing::info!(client_id = %id, "client deleted");
    Ok(StatusCode::NO_CONTENT)
}
