//! My account at `/console/account`: the signed-in person's password, second factor, recovery
//! codes and sessions.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::fields::FieldErrors;
use super::pages::{Layout, Page, Section};
use super::signin::forged;
use super::{Active, ConsoleForm, error_page};
use crate::http::AppState;
use crate::service::people::{MfaPolicy, PeopleError, Person};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/account", get(show))
        .route("/console/account/password", post(change_password))
}

const LABELS: &[(&str, &str)] = &[
    ("current_password", "Current password"),
    ("password", "New password"),
];

#[derive(Template)]
#[template(path = "console/account.html")]
pub struct AccountPage<'a> {
    pub layout: Layout,
    pub name: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    pub mfa: bool,
    pub mfa_optional: bool,
    pub sso: bool,
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct Notice {
    done: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
}

fn page(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    notice: Option<&str>,
    errors: FieldErrors,
) -> Page {
    let admin = &person.admin;
    Page::new(
        status,
        &AccountPage {
            layout: Layout::at(person, Section::Account),
            name: &admin.display_name,
            email: admin.email.as_str(),
            role: admin.role.as_str(),
            mfa: admin.mfa_enrolled,
            mfa_optional: state.people.settings().mfa == MfaPolicy::Optional,
            sso: admin.sso_subject.is_some(),
            csrf: person.csrf_token(),
            notice,
            errors,
        },
    )
}

pub async fn show(
    State(state): State<AppState>,
    Active(person): Active,
    Query(n): Query<Notice>,
) -> Response {
    let notice = match n.done.as_deref() {
        Some("password") => {
            Some("Your password is changed. Use the new one when you next sign in.")
        }
        _ => None,
    };
    page(
        &state,
        &person,
        StatusCode::OK,
        notice,
        FieldErrors::default(),
    )
    .into_response()
}

pub async fn change_password(
    State(state): State<AppState>,
    Active(person): Active,
    form: ConsoleForm<PasswordForm>,
) -> Response {
    let PasswordForm {
        csrf,
        current_password,
        password,
    } = form.value;
    if !person.csrf_matches(&csrf) {
        return forged();
    }
    let now = state.people.now();
    let refused = |status, errors| page(&state, &person, status, None, errors).into_response();
    match state
        .people
        .change_password(&person, current_password, password, now)
        .await
    {
        Ok(()) => Redirect::to("/console/account?done=password").into_response(),
        Err(PeopleError::Validation(errors)) => {
            refused(StatusCode::BAD_REQUEST, FieldErrors::new(errors, LABELS))
        }
        Err(PeopleError::TryLater(secs)) => {
            let mut r = refused(
                StatusCode::TOO_MANY_REQUESTS,
                FieldErrors::general(&format!("too many wrong passwords: try again in {secs} s")),
            );
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(e) => error_page(e),
    }
}
