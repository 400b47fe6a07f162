//! The catalogue's pages: the APIs, one API with its permissions and the clients holding
//! each (`show`), creating (`create`), changing (`edit`) and deleting (`remove`) an API.
//! Requests go through the admin API's request types (`form`), so the console and the API
//! validate alike.
//!
//! Removing a permission that clients hold takes it from them (`update_api` with `take`):
//! the page first lists those clients and asks, and the confirmation carries a digest of that
//! list, so a list that changed in between is shown again rather than acted on.

mod create;
mod edit;
mod form;
mod remove;
mod show;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::Allowed;
use super::pages::{Layout, Page, Section};
use crate::domain::api::{Api, ApiId};
use crate::domain::client::FieldError;
use crate::domain::scope::APIS_WRITE_SCOPE;
use crate::http::AppState;
use crate::http::admin::api_types::{ApiListParams, page};
use crate::http::admin::auth::ApisRead;
use crate::service::CatalogueError;
use crate::service::people::Person;

/// APIs a page of the list shows.
const PAGE_SIZE: u32 = 50;
/// Clients named per permission (the rest are counted).
const HOLDERS_SHOWN: usize = 20;
/// Clients named on a confirmation (the rest are counted).
const CONFIRM_SHOWN: usize = 100;
/// The API form may carry up to 200 permissions with their descriptions, percent-encoded.
const MAX_API_FORM: usize = 256 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/apis", get(list))
        .route(
            "/console/apis/new",
            get(create::new_page)
                .post(create::create)
                .layer(DefaultBodyLimit::max(MAX_API_FORM)),
        )
        .route(
            "/console/apis/{api_id}",
            get(show::show)
                .post(edit::save)
                .layer(DefaultBodyLimit::max(MAX_API_FORM)),
        )
        .route(
            "/console/apis/{api_id}/delete",
            get(remove::page).post(remove::delete),
        )
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
    done: Option<String>,
}

pub struct ListRow {
    pub id: String,
    pub name: String,
    pub identifier: String,
    pub permissions: usize,
    pub clients: usize,
    pub built_in: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "console/apis_list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub can_write: bool,
    pub notice: Option<&'static str>,
    pub rows: Vec<ListRow>,
    /// APIs besides the built-in one.
    pub own: usize,
    pub next: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ApisRead>,
    Query(query): Query<ListQuery>,
) -> Response {
    let params = ApiListParams {
        limit: Some(PAGE_SIZE),
        cursor: query.cursor,
    };
    let Ok((after, limit)) = page(params) else {
        return Page::message_with_link(
            StatusCode::BAD_REQUEST,
            "This page does not exist",
            "The link to this page of the list is not one the console made.",
            ("/console/apis", "Back to the APIs"),
        )
        .into_response();
    };
    let catalogue = state.tollgate.catalogue();
    let counts = state.tollgate.holder_counts(&catalogue);
    let (apis, more) = state.tollgate.list_apis(after.as_ref(), limit);
    let clients = |api: &Api| {
        let at = catalogue.apis().iter().position(|a| a.id == api.id);
        at.and_then(|i| counts.get(i)).copied().unwrap_or(0)
    };
    let rows = apis
        .iter()
        .map(|a| ListRow {
            id: a.id.as_str().to_owned(),
            name: a.name.as_str().to_owned(),
            identifier: a.identifier.as_str().to_owned(),
            permissions: a.all_permissions().len(),
            clients: clients(a),
            built_in: a.is_builtin(),
            created: a.created_at.to_rfc3339(),
        })
        .collect();
    let next = more
        .then(|| {
            apis.last()
                .map(|a| format!("/console/apis?cursor={}", a.id))
        })
        .flatten();
    let notice = match query.done.as_deref() {
        Some("deleted") => Some("The API was deleted."),
        _ => None,
    };
    Page::ok(&ListPage {
        layout: Layout::at(&person, Section::Apis),
        can_write: can_write(&person),
        notice,
        rows,
        own: catalogue.apis().iter().filter(|a| !a.is_builtin()).count(),
        next,
    })
    .into_response()
}

/// The field errors of a refused catalogue change, or the page for any other refusal.
fn refused_fields(e: CatalogueError) -> Result<Vec<FieldError>, Page> {
    match e {
        CatalogueError::Validation(errors) => Ok(errors),
        CatalogueError::BuiltIn(why) => Ok(vec![FieldError::new("permissions", why)]),
        CatalogueError::NotFound => Err(not_found()),
        CatalogueError::InUse(_) => Err(Page::message(
            StatusCode::CONFLICT,
            "Clients hold its permissions",
            "Clients hold permissions this change removes. Reload the page and try again.",
        )),
        CatalogueError::Store(e) => Err(unavailable(&e)),
    }
}

fn find(state: &AppState, id: &str) -> Result<Api, Page> {
    let id = ApiId::parse(id).map_err(|_| not_found())?;
    state.tollgate.get_api(&id).map_err(|_| not_found())
}

fn can_write(person: &Person) -> bool {
    person.admin.role.allows(APIS_WRITE_SCOPE)
}

fn algorithms(state: &AppState) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = state
        .tollgate
        .keys()
        .signing_algorithms()
        .into_iter()
        .map(|a| a.as_str())
        .collect();
    all.sort_unstable();
    all
}

fn not_found() -> Page {
    Page::message_with_link(
        StatusCode::NOT_FOUND,
        "No such API",
        "There is no API with this id in the catalogue. It may have been deleted.",
        ("/console/apis", "Back to the APIs"),
    )
}

fn unavailable(e: &dyn std::fmt::Display) -> Page {
    tracing::error!(error = %e, "console: the catalogue's clients cannot be read");
    Page::message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again shortly",
        "The console cannot read the clients right now.",
    )
}

/// The answer to a form without this session's anti-forgery token.
pub(super) fn forged() -> Response {
    Page::message_with_link(
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form is out of date or was not sent from the console. Reload the page and try \
         again.",
        ("/console", "Back to the console"),
    )
    .into_response()
}
