//! Deleting an API: a page that says what stops working and which clients lose permissions,
//! then asks for the API's name.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::edit::{HolderView, holders_digest, named};
use super::{find, forged, refused_fields};
use crate::domain::api::Api;
use crate::domain::scope::Scope;
use crate::http::AppState;
use crate::http::admin::auth::ApisWrite;
use crate::http::console::pages::{Layout, Page, Section};
use crate::http::console::{Allowed, ConsoleForm};
use crate::service::CatalogueError;
use crate::service::people::Person;

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm_name: String,
    #[serde(default)]
    confirmed: String,
}

#[derive(Template)]
#[template(path = "console/apis_delete.html")]
pub struct DeletePage<'a> {
    pub layout: Layout,
    pub csrf: &'a str,
    pub api: &'a Api,
    pub permissions: Vec<String>,
    pub holders: Vec<HolderView>,
    pub more: usize,
    pub digest: String,
    pub typed: &'a str,
    pub name_error: Option<&'a str>,
    pub changed: bool,
}

pub async fn page(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ApisWrite>,
    Path(id): Path<String>,
) -> Response {
    let api = match find(&state, &id) {
        Ok(api) => api,
        Err(page) => return page.into_response(),
    };
    render(&state, &person, &api, StatusCode::OK, "", None, false).await
}

pub async fn delete(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ApisWrite>,
    Path(id): Path<String>,
    posted: ConsoleForm<DeleteForm>,
) -> Response {
    let form = posted.value;
    if !person.csrf_matches(&form.csrf) {
        return forged();
    }
    let api = match find(&state, &id) {
        Ok(api) => api,
        Err(page) => return page.into_response(),
    };
    let typed = form.confirm_name.trim();
    if typed != api.name.as_str() {
        let error = if typed.is_empty() {
            "Type the API's name to confirm."
        } else {
            "This is not the API's name. Type it exactly as shown."
        };
        let status = StatusCode::BAD_REQUEST;
        return render(&state, &person, &api, status, typed, Some(error), false).await;
    }
    let (actor, now) = (person.actor(), state.tollgate.now());
    let result = match state.tollgate.delete_api(&actor, &api.id, false, now).await {
        Err(CatalogueError::InUse(held)) if holders_digest(&held) == form.confirmed => {
            state.tollgate.delete_api(&actor, &api.id, true, now).await
        }
        other => other,
    };
    match result {
        Ok(()) => {
            tracing::info!(api_id = %api.id, "API removed from the console");
            Redirect::to("/console/apis?done=deleted").into_response()
        }
        // The clients holding its permissions changed since the page was shown.
        Err(CatalogueError::InUse(_)) => {
            render(
                &state,
                &person,
                &api,
                StatusCode::CONFLICT,
                typed,
                None,
                true,
            )
            .await
        }
        Err(e) => match refused_fields(e) {
            Ok(errors) => Page::message_with_link(
                StatusCode::BAD_REQUEST,
                "This API cannot be deleted",
                &errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
                (&format!("/console/apis/{}", api.id), "Back to the API"),
            )
            .into_response(),
            Err(page) => page.into_response(),
        },
    }
}

async fn render(
    state: &AppState,
    person: &Person,
    api: &Api,
    status: StatusCode,
    typed: &str,
    name_error: Option<&str>,
    changed: bool,
) -> Response {
    if api.is_builtin() {
        return Page::message_with_link(
            StatusCode::BAD_REQUEST,
            "This API cannot be deleted",
            "Tollgate's own admin API is built in: it cannot be deleted.",
            (&format!("/console/apis/{}", api.id), "Back to the API"),
        )
        .into_response();
    }
    let scopes: Vec<Scope> = api.permissions.iter().map(|p| p.value.clone()).collect();
    let held = state.tollgate.holdings(&scopes);
    let (holders, more) = match named(state, &held).await {
        Ok(named) => named,
        Err(page) => return page.into_response(),
    };
    Page::new(
        status,
        &DeletePage {
            layout: Layout::at(person, Section::Apis),
            csrf: person.csrf_token(),
            api,
            permissions: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            holders,
            more,
            digest: holders_digest(&held),
            typed,
            name_error,
            changed,
        },
    )
    .into_response()
}
