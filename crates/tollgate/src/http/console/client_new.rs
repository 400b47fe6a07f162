//! "Create API client": the form (name, description, the catalogue's permissions, more
//! settings) and its post, validated by the admin API's own request type and answered with
//! the credentials page (see `credentials`), which "Add secret" answers with too.

mod credentials;
pub(crate) mod model;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use self::model::{ApiGroup, Errors, Typed, groups};
use super::pages::{Layout, MessagePage, Page, Section};
use super::{Allowed, ConsoleForm, error_page_for_clients};
use crate::domain::client::{FieldError, NewClient};
use crate::http::AppState;
use crate::http::admin::auth::ClientsWrite;
use crate::service::ClientError;
use crate::service::people::Person;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/clients/new", get(form).post(create))
        .route(
            "/console/clients/{client_id}/secrets",
            post(credentials::add_secret),
        )
}

#[derive(Template)]
#[template(path = "console/client_new.html")]
pub struct ClientNewPage<'a> {
    pub layout: Layout,
    pub errors: Vec<String>,
    pub errors_heading: &'a str,
    pub field: &'a Errors,
    pub csrf: &'a str,
    pub typed: &'a Typed,
    pub apis: Vec<ApiGroup>,
    pub own_apis: bool,
    pub default_lifetime: u64,
    pub default_algorithm: &'static str,
    pub algorithms: Vec<&'static str>,
    pub lock_default: bool,
}

impl ClientNewPage<'_> {
    /// Whether the "locked" choice is the one selected.
    pub fn locked(&self) -> bool {
        match self.typed.locked.as_str() {
            "true" => true,
            "false" => false,
            _ => self.lock_default,
        }
    }

    /// "More settings" starts open when something in it was typed or is wrong.
    pub fn more_open(&self) -> bool {
        let t = self.typed;
        !(t.lifetime.trim().is_empty()
            && t.algorithm.is_empty()
            && t.tenants.trim().is_empty()
            && t.claims.trim().is_empty()
            && t.quota_tokens.trim().is_empty()
            && self.locked() == self.lock_default)
            || [
                "access_token_lifetime",
                "signing_algorithm",
                "tenants",
                "claims",
                "quota",
            ]
            .iter()
            .any(|f| self.field.of(f).is_some())
    }
}

fn render(
    state: &AppState,
    person: &Person,
    typed: &Typed,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let catalogue = state.tollgate.catalogue();
    let keys = state.tollgate.keys();
    Page::new(
        status,
        &ClientNewPage {
            layout: Layout::at(person, Section::Clients),
            errors: errors.summary(),
            errors_heading: "The API client was not created. Please check:",
            field: errors,
            csrf: person.csrf_token(),
            typed,
            apis: groups(catalogue.apis(), typed),
            own_apis: catalogue.apis().iter().any(|a| !a.is_builtin()),
            default_lifetime: state.tollgate.policy().default_lifetime,
            default_algorithm: keys.current().algorithm().as_str(),
            algorithms: keys
                .signing_algorithms()
                .into_iter()
                .map(|a| a.as_str())
                .collect(),
            lock_default: state.tollgate.locks_client_scopes_by_default(),
        },
    )
    .into_response()
}

pub async fn form(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ClientsWrite>,
) -> Response {
    render(
        &state,
        &person,
        &Typed::default(),
        &Errors::default(),
        StatusCode::OK,
    )
}

pub async fn create(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ClientsWrite>,
    form: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let typed = Typed::from_pairs(form.value);
    if !person.csrf_matches(&typed.csrf) {
        return forged(&person);
    }
    let mut errors = Errors::default();
    let (request, early) = typed.request();
    for e in &early {
        errors.add(e, &typed);
    }
    let new = match NewClient::try_from(request) {
        Ok(new) if errors.is_empty() => new,
        Ok(_) => return render(&state, &person, &typed, &errors, StatusCode::BAD_REQUEST),
        Err(problem) => {
            for p in problem.errors {
                errors.add(&FieldError::new(p.field, p.message), &typed);
            }
            return render(&state, &person, &typed, &errors, StatusCode::BAD_REQUEST);
        }
    };
    // The service refuses these too; here they are said in the console's words.
    for s in state.tollgate.catalogue().unknown(&new.scopes) {
        errors.push(
            "scopes",
            format!(
                "“{s}” is not a permission of any API in the catalogue (it may have been \
                 removed since this form was shown)."
            ),
        );
    }
    if !errors.is_empty() {
        return render(&state, &person, &typed, &errors, StatusCode::BAD_REQUEST);
    }
    let name = new.name.as_str().to_owned();
    let now = state.tollgate.now();
    match state
        .tollgate
        .create_client(&person.acting(), new, now)
        .await
    {
        Ok((client, secret)) => {
            tracing::info!(client_id = %client.id, "client created in the console");
            credentials::page(&state, &person, &client, &secret, None)
        }
        Err(ClientError::Validation(list)) => {
            for e in &list {
                errors.add(e, &typed);
            }
            render(&state, &person, &typed, &errors, StatusCode::BAD_REQUEST)
        }
        Err(ClientError::NameTaken) => {
            errors.push(
                "name",
                format!(
                    "An API client named “{name}” already exists: names are unique, choose \
                     another."
                ),
            );
            render(&state, &person, &typed, &errors, StatusCode::BAD_REQUEST)
        }
        Err(e @ ClientError::BeyondYourPermissions(_)) => {
            errors.push(
                "scopes",
                format!(
                    "{} Your role does not hold it.",
                    super::sentence(&e.to_string())
                ),
            );
            render(&state, &person, &typed, &errors, StatusCode::FORBIDDEN)
        }
        Err(e) => error_page_for_clients(e),
    }
}

/// A page that only says something, with the navigation of a signed-in person.
fn message(
    person: &Person,
    status: StatusCode,
    heading: &str,
    message: &str,
    link: (&str, &str),
) -> Response {
    Page::new(
        status,
        &MessagePage {
            layout: Layout::at(person, Section::Clients),
            heading,
            message,
            alert: true,
            link: Some(link),
            refresh_to: None,
        },
    )
    .into_response()
}

/// The answer to a form without this session's anti-forgery token.
fn forged(person: &Person) -> Response {
    message(
        person,
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form is out of date or was not sent from the console. Reload the page and try \
         again.",
        ("/console/clients", "Back to API clients"),
    )
}
