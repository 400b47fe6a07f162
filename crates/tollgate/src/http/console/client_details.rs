//! An API client's page, `/console/clients/{client_id}`: its details, permissions, claims,
//! secrets, what needs attention, its audit trail and the danger zone.
//!
//! - `view`: what the page shows, built from the client, the catalogue and the audit trail
//! - `forms`: the page's forms as typed and the field errors beside them
//! - `actions`: the forms' posts (details, permissions, claims, removing a secret, deleting)
//! - `hints`: the "Needs attention" rules (unused and expiring secrets)
//!
//! "Add secret" posts to `/console/clients/{client_id}/secrets`, which `client_new` answers.

mod actions;
mod forms;
mod hints;
mod view;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::pages::{Layout, Page, Section};
use super::{Allowed, error_page_for_clients};
use crate::domain::client::{Client, ClientId, SecretId};
use crate::http::AppState;
use crate::http::admin::auth::ClientsRead;
use crate::service::ClientError;
use crate::service::people::Person;

pub use forms::Forms;
use view::{ClientView, EventRow, PermissionGroup, SecretRow, latest_events};

/// Audit events the page shows; the audit log has the rest.
const EVENTS_SHOWN: usize = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/console/clients/{client_id}",
            get(show).post(actions::update),
        )
        .route("/console/clients/{client_id}/scopes", post(actions::scopes))
        .route("/console/clients/{client_id}/claims", post(actions::claims))
        .route(
            "/console/clients/{client_id}/secrets/{secret_id}/remove",
            post(actions::remove_secret),
        )
        .route("/console/clients/{client_id}/delete", post(actions::delete))
}

/// What the last action did, for the notice at the top of the page. Fixed words only: a link
/// cannot make the page say something else.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
    secret: Option<String>,
}

impl Done {
    fn notice(&self) -> Option<String> {
        Some(match self.done.as_deref()? {
            "saved" => "Saved the client's details.".to_owned(),
            "unchanged" => "Nothing changed: the form held the values already saved.".to_owned(),
            "scopes" => "Saved the permissions. Tokens issued from now on carry them; tokens \
                         issued before keep theirs until they expire."
                .to_owned(),
            "claims" => "Saved the claims. Tokens issued from now on carry them.".to_owned(),
            "removed" => {
                let secret = SecretId::parse(self.secret.as_deref()?).ok()?;
                format!(
                    "Removed secret {}. Integrations still using it now get 401 \
                     invalid_client from the token endpoint; tokens issued with it before \
                     stay valid until they expire.",
                    secret.as_str()
                )
            }
            _ => return None,
        })
    }
}

#[derive(Template)]
#[template(path = "console/client_details.html")]
pub struct DetailsPage {
    pub layout: Layout,
    pub can_write: bool,
    pub can_audit: bool,
    pub csrf: String,
    pub notice: Option<String>,
    pub client: ClientView,
    pub groups: Vec<PermissionGroup>,
    /// Held scopes no API publishes any more.
    pub orphans: Vec<String>,
    pub secrets: Vec<SecretRow>,
    pub hints: Vec<hints::Hint>,
    pub events: Vec<EventRow>,
    pub more_events: bool,
    pub forms: Forms,
}

pub async fn show(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ClientsRead>,
    Path(client_id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let client = match load(&state, &client_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let forms = Forms::of(&client);
    render(
        &state,
        &person,
        &client,
        StatusCode::OK,
        forms,
        done.notice(),
    )
    .await
}

/// The client the path names, or the page that says why there is none.
async fn load(state: &AppState, client_id: &str) -> Result<Client, Response> {
    let Ok(id) = ClientId::parse(client_id) else {
        return Err(not_found());
    };
    state
        .tollgate
        .get_client(&id)
        .await
        .map_err(client_error_page)
}

fn not_found() -> Response {
    Page::message_with_link(
        StatusCode::NOT_FOUND,
        "No such API client",
        "There is no API client with this id. It may have been deleted.",
        ("/console/clients", "Back to API clients"),
    )
    .into_response()
}

/// The page for a service error that no form field explains.
fn client_error_page(e: ClientError) -> Response {
    match e {
        ClientError::NotFound => not_found(),
        ClientError::SecretNotFound => Page::message_with_link(
            StatusCode::NOT_FOUND,
            "No such secret",
            "The client has no secret with this id. It may have been removed already.",
            ("/console/clients", "Back to API clients"),
        )
        .into_response(),
        other => error_page_for_clients(other),
    }
}

/// Renders the page of `client` with `forms` as typed (their errors beside their fields).
async fn render(
    state: &AppState,
    person: &Person,
    client: &Client,
    status: StatusCode,
    forms: Forms,
    notice: Option<String>,
) -> Response {
    let layout = Layout::at(person, Section::Clients);
    let (can_write, can_audit) = match &layout.person {
        Some(who) => (
            who.can("tollgate:clients:write"),
            who.can("tollgate:audit:read"),
        ),
        None => (false, false),
    };
    let (events, more_events) = if can_audit {
        match latest_events(&state.tollgate, &client.id, EVENTS_SHOWN).await {
            Ok(found) => found,
            Err(e) => return error_page_for_clients(ClientError::Store(e)),
        }
    } else {
        (Vec::new(), false)
    };
    let now = state.tollgate.now();
    let catalogue = state.tollgate.catalogue();
    let (groups, orphans) = view::permission_groups(&catalogue, client, &forms.scopes.selected);
    let keys = state.tollgate.keys();
    let page = DetailsPage {
        can_write,
        can_audit,
        csrf: person.csrf_token().to_owned(),
        notice,
        client: ClientView::new(
            client,
            state.tollgate.policy().default_lifetime,
            &keys.signing_algorithms(),
        ),
        groups,
        orphans,
        secrets: client
            .secrets
            .iter()
            .map(|s| SecretRow::new(s, now))
            .collect(),
        hints: hints::hints(&client.secrets, now),
        events,
        more_events,
        forms,
        layout,
    };
    Page::new(status, &page).into_response()
}
