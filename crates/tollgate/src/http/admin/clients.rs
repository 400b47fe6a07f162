//! `/admin/v1/clients`: create, list, get, update, delete API clients and their secrets.

use std::str::FromStr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Admin;
use super::export;
use super::json::{double_option, json_content_type, json_problem, query_problem};
use super::problem::Problem;
use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::client::{
    Client, ClientId, ClientName, ClientPatch, Description, FieldError, NewClient, SecretId,
    SecretInfo, parse_scopes, parse_token_lifetime,
};
use crate::domain::secret::ClientSecret;
use crate::http::AppState;
use crate::http::oauth::TOKEN_PATH;
use crate::store::ListCursor;

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 200;

/// An API client. Never includes a secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    #[schema(example = "tgc_5f0c8e2a9b1d4c7e3a6f8b2d")]
    pub client_id: String,
    #[schema(example = "User Provisioning")]
    pub name: String,
    pub description: String,
    #[schema(example = json!(["enterprise:user"]))]
    pub scopes: Vec<String>,
    /// Seconds; `null` means the server default.
    pub access_token_lifetime: Option<u64>,
    /// `ES256`, `EdDSA` or `RS256`; `null` means the server default.
    pub signing_algorithm: Option<String>,
    pub secrets: Vec<SecretView>,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

/// One of a client's secrets, described without the secret itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    pub secret_id: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// Written behind: may lag real use by up to a minute.
    pub last_used_at: Option<String>,
    /// Set when the secret was reported leaked and disabled.
    pub disabled_at: Option<String>,
}

impl From<&SecretInfo> for SecretView {
    fn from(s: &SecretInfo) -> SecretView {
        SecretView {
            secret_id: s.id.as_str().to_owned(),
            created_at: s.created_at.to_rfc3339(),
            expires_at: s.expires_at.map(UnixTime::to_rfc3339),
            last_used_at: s.last_used_at.map(UnixTime::to_rfc3339),
            disabled_at: s.disabled_at.map(UnixTime::to_rfc3339),
        }
    }
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> ClientView {
        ClientView {
            client_id: c.id.as_str().to_owned(),
            name: c.name.as_str().to_owned(),
            description: c.description.as_str().to_owned(),
            scopes: c.scopes.to_vec(),
            access_token_lifetime: c.access_token_lifetime,
            signing_algorithm: c.signing_algorithm.map(|a| a.as_str().to_owned()),
            secrets: c.secrets.iter().map(SecretView::from).collect(),
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientRequest {
    /// Unique, 1 to 100 characters.
    #[schema(example = "User Provisioning")]
    pub name: String,
    #[serde(default)]
    #[schema(example = "Provisions users from Entra ID via SCIM")]
    pub description: String,
    /// Scope tokens per RFC 6749 §3.3.
    #[serde(default)]
    #[schema(example = json!(["enterprise:user"]))]
    pub scopes: Vec<String>,
    /// Seconds (60 to 86400); omitted means the server default.
    pub access_token_lifetime: Option<u64>,
    /// One of the server's active algorithms; omitted means the server default.
    pub signing_algorithm: Option<String>,
}

/// Shown once: the only response that carries the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    pub client: ClientView,
    pub client_secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClientRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub scopes: Option<Vec<String>>,
    /// Seconds; `null` resets to the server default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u64>)]
    pub access_token_lifetime: Option<Option<u64>>,
    /// `null` resets to the server default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub signing_algorithm: Option<Option<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// How the one-time credentials come back.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `json` (default), `env` (a .env file) or `postman` (a Postman environment). The Accept
    /// header `text/x-dotenv` or `application/vnd.postman.environment+json` does the same.
    pub format: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecretRequest {
    /// RFC 3339; omitted means the secret does not expire.
    pub expires_at: Option<String>,
}

/// Shown once: the only response that carries the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSecret {
    pub secret: SecretView,
    pub client_secret: String,
}

fn collect<T>(errors: &mut Vec<FieldError>, r: Result<T, FieldError>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// Ids that cannot be valid cannot exist either.
fn client_id(raw: &str) -> Result<ClientId, Problem> {
    ClientId::parse(raw).map_err(|_| Problem::client_not_found())
}

fn parse_algorithm(errors: &mut Vec<FieldError>, value: Option<&str>) -> Option<Option<Algorithm>> {
    value.map(|v| {
        Algorithm::from_str(v)
            .map_err(|_| {
                errors.push(FieldError::new(
                    "signing_algorithm",
                    format!("`{v}` is not one of ES256, EdDSA, RS256"),
                ))
            })
            .ok()
    })
}

/// Renders credentials in the negotiated format.
#[allow(clippy::too_many_arguments)]
fn credentials_response(
    state: &AppState,
    format: export::Format,
    location: String,
    client: &Client,
    secret: &ClientSecret,
    json_body: impl Serialize,
    now: UnixTime,
) -> Response {
    let issuer = &state.tollgate.policy().issuer;
    let token_url = format!("{issuer}{TOKEN_PATH}");
    let scope = client.scopes.to_delimited();
    export::respond(
        format,
        StatusCode::CREATED,
        &location,
        json_body,
        &export::Credentials {
            name: client.name.as_str(),
            client_id: client.id.as_str(),
            client_secret: secret.expose(),
            issuer,
            token_url: &token_url,
            scope: &scope,
        },
        now,
        &crate::clock::SystemRng,
    )
}

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
    security(("bearer" = ["tollgate:admin"])))]
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    query: Result<Query<ExportParams>, QueryRejection>,
    body: Result<Json<CreateClientRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let Query(params) = query.map_err(query_problem)?;
    let format = export::negotiate(params.format.as_deref(), &headers)?;
    let Json(req) = body.map_err(json_problem)?;
    let mut errors = Vec::new();
    let name = collect(&mut errors, ClientName::parse(&req.name));
    let description = collect(&mut errors, Description::parse(&req.description));
    let scopes = collect(&mut errors, parse_scopes(&req.scopes));
    let lifetime = req
        .access_token_lifetime
        .map(|l| collect(&mut errors, parse_token_lifetime(l)));
    let signing_algorithm = parse_algorithm(&mut errors, req.signing_algorithm.as_deref());
    let (Some(name), Some(description), Some(scopes), true) =
        (name, description, scopes, errors.is_empty())
    else {
        return Err(Problem::validation(errors));
    };
    let new = NewClient {
        name,
        description,
        scopes,
        access_token_lifetime: lifetime.flatten(),
        signing_algorithm: signing_algorithm.flatten(),
    };
    let now = state.tollgate.now();
    let (client, secret) = state
        .tollgate
        .create_client(&admin.client_id, new, now)
        .await?;
    tracing::info!(client_id = %client.id, "client created");
    Ok(credentials_response(
        &state,
        format,
        format!("/admin/v1/clients/{}", client.id),
        &client,
        &secret,
        CreatedClient {
            client: ClientView::from(&client),
            client_secret: secret.expose().to_owned(),
        },
        now,
    ))
}

#[utoipa::path(get, path = "/clients", tag = "clients",
    params(ListParams),
    responses(
        (status = 200, description = "One page of clients, oldest first", body = ClientList),
        (status = 400, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:admin"])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<ClientList>, Problem> {
    let Query(params) = query.map_err(query_problem)?;
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::validation(vec![FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )]));
    }
    let cursor = params
        .cursor
        .as_deref()
        .map(|c| {
            decode_cursor(c).ok_or_else(|| {
                Problem::validation(vec![FieldError::new(
                    "cursor",
                    "is not a cursor this server returned",
                )])
            })
        })
        .transpose()?;
    let (clients, next) = state.tollgate.list_clients(cursor.as_ref(), limit).await?;
    Ok(Json(ClientList {
        clients: clients.iter().map(ClientView::from).collect(),
        next_cursor: next.as_ref().map(encode_cursor),
    }))
}

#[utoipa::path(get, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The client", body = ClientView),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:admin"])))]
pub async fn get(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, Problem> {
    let client = state.tollgate.get_client(&client_id(&id)?).await?;
    Ok(Json(ClientView::from(&client)))
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
    security(("bearer" = ["tollgate:admin"])))]
pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Result<Json<UpdateClientRequest>, JsonRejection>,
) -> Result<Json<ClientView>, Problem> {
    let id = client_id(&id)?;
    let Json(req) = body.map_err(json_problem)?;
    let mut errors = Vec::new();
    let patch = ClientPatch {
        name: req
            .name
            .and_then(|n| collect(&mut errors, ClientName::parse(&n))),
        description: req
            .description
            .and_then(|d| collect(&mut errors, Description::parse(&d))),
        scopes: req
            .scopes
            .and_then(|s| collect(&mut errors, parse_scopes(&s))),
        access_token_lifetime: match req.access_token_lifetime {
            None => None,
            Some(None) => Some(None),
            Some(Some(l)) => collect(&mut errors, parse_token_lifetime(l)).map(Some),
        },
        signing_algorithm: match req.signing_algorithm {
            None => None,
            Some(None) => Some(None),
            Some(Some(a)) => parse_algorithm(&mut errors, Some(&a)).flatten().map(Some),
        },
    };
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let now = state.tollgate.now();
    let client = state
        .tollgate
        .update_client(&admin.client_id, &id, &patch, now)
        .await?;
    tracing::info!(client_id = %client.id, "client updated");
    Ok(Json(ClientView::from(&client)))
}

#[utoipa::path(delete, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted; the client can get no more tokens"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:admin"])))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = client_id(&id)?;
    let now = state.tollgate.now();
    state
        .tollgate
        .delete_client(&admin.client_id, &id, now)
        .await?;
    tracing::info!(client_id = %id, "client deleted");
    Ok(StatusCode::NO_CONTENT)
}

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
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The client holds the most secrets allowed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:admin"])))]
pub async fn add_secret(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    query: Result<Query<ExportParams>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = client_id(&id)?;
    let Query(params) = query.map_err(query_problem)?;
    let format = export::negotiate(params.format.as_deref(), &headers)?;
    // The body is optional: an empty POST adds a secret that does not expire.
    let req = if body.is_empty() {
        CreateSecretRequest::default()
    } else {
        Json::<CreateSecretRequest>::from_bytes(&body)
            .map_err(json_problem)
            .and_then(|j| {
                if json_content_type(&headers) {
                    Ok(j.0)
                } else {
                    Err(json_problem(JsonRejection::MissingJsonContentType(
                        Default::default(),
                    )))
                }
            })?
    };
    let expires_at = req
        .expires_at
        .map(|e| {
            UnixTime::parse_rfc3339(&e).ok_or_else(|| {
                Problem::validation(vec![FieldError::new(
                    "expires_at",
                    "must be an RFC 3339 timestamp such as 2030-01-31T12:00:00Z",
                )])
            })
        })
        .transpose()?;
    let now = state.tollgate.now();
    let (info, secret) = state
        .tollgate
        .add_secret(&admin.client_id, &id, expires_at, now)
        .await?;
    tracing::info!(client_id = %id, secret_id = info.id.as_str(), "secret added");
    let client = state.tollgate.get_client(&id).await?;
    Ok(credentials_response(
        &state,
        format,
        format!("/admin/v1/clients/{id}/secrets/{}", info.id.as_str()),
        &client,
        &secret,
        CreatedSecret {
            secret: SecretView::from(&info),
            client_secret: secret.expose().to_owned(),
        },
        now,
    ))
}

#[utoipa::path(delete, path = "/clients/{client_id}/secrets/{secret_id}", tag = "secrets",
    params(("client_id" = String, Path), ("secret_id" = String, Path)),
    responses(
        (status = 204, description = "Removed; the secret no longer works"),
        (status = 404, description = "No such client or secret", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is the client's only secret", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:admin"])))]
pub async fn remove_secret(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, secret_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let id = client_id(&id)?;
    let secret_id = SecretId::from_stored(secret_id);
    let now = state.tollgate.now();
    state
        .tollgate
        .remove_secret(&admin.client_id, &id, &secret_id, now)
        .await?;
    tracing::info!(client_id = %id, secret_id = secret_id.as_str(), "secret removed");
    Ok(StatusCode::NO_CONTENT)
}

fn encode_cursor(c: &ListCursor) -> String {
    B64.encode(format!("{}:{}", c.created_at.0, c.client_id))
}

fn decode_cursor(s: &str) -> Option<ListCursor> {
    let raw = String::from_utf8(B64.decode(s).ok()?).ok()?;
    let (t, id) = raw.split_once(':')?;
    Some(ListCursor {
        created_at: UnixTime(t.parse().ok()?),
        client_id: ClientId::parse(id).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip() {
        let c = ListCursor {
            created_at: UnixTime(1_700_000_000),
            client_id: ClientId::parse("tgc_abc").unwrap(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
        assert_eq!(decode_cursor("!!"), None);
        assert_eq!(decode_cursor(&B64.encode("x:tgc_abc")), None);
    }
}
