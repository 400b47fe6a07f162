//! `/admin/v1/apis`: the catalogue of APIs and the permissions clients are given on them.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api_types::{
    ApiList, ApiListParams, ApiView, CreateApiRequest, RemovalParams, UpdateApiRequest, page,
};
use super::auth::{Admin, ApisRead, ApisWrite};
use super::extract::{AdminJson, AdminPath, AdminQuery};
use super::problem::Problem;
use crate::domain::api::{ApiId, ApiPatch, NewApi};
use crate::http::AppState;

/// `{api_id}` from the path. An id that cannot be valid cannot exist either: 404.
#[derive(Debug, Clone)]
pub struct ApiPath(pub ApiId);

impl<S: Send + Sync> FromRequestParts<S> for ApiPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ApiPath, Problem> {
        let AdminPath(raw) = AdminPath::<String>::from_request_parts(parts, state).await?;
        ApiId::parse(&raw)
            .map(ApiPath)
            .map_err(|_| Problem::from(crate::service::CatalogueError::NotFound))
    }
}

#[utoipa::path(post, path = "/apis", tag = "apis",
    request_body = CreateApiRequest,
    responses(
        (status = 201, description = "Registered", body = ApiView),
        (status = 400, description = "Invalid fields, or an identifier, name or permission value another API has", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:apis:write"]), ("bearer" = ["tollgate:admin"])))]
pub async fn create(
    State(state): State<AppState>,
    admin: Admin<ApisWrite>,
    AdminJson(req): AdminJson<CreateApiRequest>,
) -> Result<Response, Problem> {
    let new = NewApi::try_from(req)?;
    let now = state.tollgate.now();
    let api = state.tollgate.create_api(&admin.actor, new, now).await?;
    tracing::info!(api_id = %api.id, "API registered");
    let location = format!("/admin/v1/apis/{}", api.id);
    let mut response = (StatusCode::CREATED, Json(ApiView::from(&api))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

#[utoipa::path(get, path = "/apis", tag = "apis",
    params(ApiListParams),
    responses(
        (status = 200, description = "One page of the catalogue, the built-in admin API first, then oldest first", body = ApiList),
        (status = 400, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:apis:read"]), ("bearer" = ["tollgate:admin"])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin<ApisRead>,
    AdminQuery(params): AdminQuery<ApiListParams>,
) -> Result<Json<ApiList>, Problem> {
    let (after, limit) = page(params)?;
    let (apis, more) = state.tollgate.list_apis(after.as_ref(), limit);
    let next_cursor = more
        .then(|| apis.last().map(|a| a.id.as_str().to_owned()))
        .flatten();
    Ok(Json(ApiList {
        apis: apis.iter().map(ApiView::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/apis/{api_id}", tag = "apis",
    params(("api_id" = String, Path)),
    responses(
        (status = 200, description = "The API", body = ApiView),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:apis:read"]), ("bearer" = ["tollgate:admin"])))]
pub async fn get(
    State(state): State<AppState>,
    _admin: Admin<ApisRead>,
    ApiPath(id): ApiPath,
) -> Result<Json<ApiView>, Problem> {
    let api = state.tollgate.get_api(&id)?;
    Ok(Json(ApiView::from(&api)))
}

#[utoipa::path(patch, path = "/apis/{api_id}", tag = "apis",
    params(("api_id" = String, Path), RemovalParams),
    request_body = UpdateApiRequest,
    responses(
        (status = 200, description = "The updated API", body = ApiView),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Clients hold a permission the change removes (`permissions_in_use`, naming them in `clients`), or a fixed part of the built-in API (`built_in_api`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:apis:write"]), ("bearer" = ["tollgate:admin"])))]
pub async fn update(
    State(state): State<AppState>,
    admin: Admin<ApisWrite>,
    ApiPath(id): ApiPath,
    AdminQuery(removal): AdminQuery<RemovalParams>,
    AdminJson(req): AdminJson<UpdateApiRequest>,
) -> Result<Json<ApiView>, Problem> {
    let patch = ApiPatch::try_from(req)?;
    let now = state.tollgate.now();
    let take = removal.take_from_clients.unwrap_or(false);
    let api = state
        .tollgate
        .update_api(&admin.actor, &id, &patch, take, now)
        .await?;
    tracing::info!(api_id = %api.id, "API updated");
    Ok(Json(ApiView::from(&api)))
}

#[utoipa::path(delete, path = "/apis/{api_id}", tag = "apis",
    params(("api_id" = String, Path), RemovalParams),
    responses(
        (status = 204, description = "Removed; its permissions are gone from the catalogue"),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Clients hold its permissions (`permissions_in_use`, naming them in `clients`), or it is the built-in API (`built_in_api`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:apis:write"]), ("bearer" = ["tollgate:admin"])))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin<ApisWrite>,
    ApiPath(id): ApiPath,
    AdminQuery(removal): AdminQuery<RemovalParams>,
) -> Result<StatusCode, Problem> {
    let now = state.tollgate.now();
    let take = removal.take_from_clients.unwrap_or(false);
    state
        .tollgate
        .delete_api(&admin.actor, &id, take, now)
        .await?;
    tracing::info!(api_id = %id, "API removed");
    Ok(StatusCode::NO_CONTENT)
}
