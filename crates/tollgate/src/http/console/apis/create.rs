//! Creating an API: the form with its permission rows, checked as the admin API checks its
//! request.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::form::{ApiForm, Row};
use super::{algorithms, forged, refused_fields};
use crate::domain::api::NewApi;
use crate::http::AppState;
use crate::http::admin::auth::ApisWrite;
use crate::http::console::pages::{Layout, Page, Section};
use crate::http::console::{Allowed, ConsoleForm};
use crate::service::people::Person;

#[derive(Template)]
#[template(path = "console/apis_new.html")]
pub struct NewPage<'a> {
    pub layout: Layout,
    pub csrf: &'a str,
    pub form: &'a ApiForm,
    pub only_permissions: bool,
    pub algorithms: Vec<&'static str>,
    pub default_lifetime: u64,
    pub default_algorithm: &'static str,
}

pub async fn new_page(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ApisWrite>,
) -> Response {
    new_form(&state, &person, &ApiForm::blank(), StatusCode::OK)
}

fn new_form(state: &AppState, person: &Person, form: &ApiForm, status: StatusCode) -> Response {
    let keys = state.tollgate.keys();
    Page::new(
        status,
        &NewPage {
            layout: Layout::at(person, Section::Apis),
            csrf: person.csrf_token(),
            form,
            only_permissions: false,
            algorithms: algorithms(state),
            default_lifetime: state.tollgate.policy().default_lifetime,
            default_algorithm: keys.current().algorithm().as_str(),
        },
    )
    .into_response()
}

pub async fn create(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ApisWrite>,
    posted: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let mut form = ApiForm::read(posted.value);
    if !person.csrf_matches(&form.csrf) {
        return forged();
    }
    if form.add_row {
        form.rows.push(Row::default());
        return new_form(&state, &person, &form, StatusCode::OK);
    }
    let (request, rows, errors) = form.create_request();
    form.place(errors, &rows);
    let new = match NewApi::try_from(request) {
        Ok(new) => new,
        Err(problem) => {
            form.place_problem(problem, &rows);
            return new_form(&state, &person, &form, StatusCode::BAD_REQUEST);
        }
    };
    if form.has_errors() {
        return new_form(&state, &person, &form, StatusCode::BAD_REQUEST);
    }
    let now = state.tollgate.now();
    match state.tollgate.create_api(&person.actor(), new, now).await {
        Ok(api) => {
            tracing::info!(api_id = %api.id, "API registered from the console");
            Redirect::to(&format!("/console/apis/{}?done=created", api.id)).into_response()
        }
        Err(e) => match refused_fields(e) {
            Ok(errors) => {
                form.place(errors, &rows);
                new_form(&state, &person, &form, StatusCode::BAD_REQUEST)
            }
            Err(page) => page.into_response(),
        },
    }
}
