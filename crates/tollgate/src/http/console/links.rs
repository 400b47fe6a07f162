//! The pages behind one-time links: the first owner's setup, an invitation, a password reset.
//! The token comes in the link's query and goes on in a hidden field; the page is `no-store`
//! and sends no referrer, so it is not passed on.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{AccountFormPage, Layout, Page};
use super::{ConsoleForm, TokenQuery, error_page};
use crate::domain::admin::LinkPurpose;
use crate::http::AppState;
use crate::service::people::PeopleError;

#[derive(Debug, Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
}

/// What each kind of link's page asks and says.
struct Kind {
    purpose: LinkPurpose,
    heading: &'static str,
    intro: &'static str,
    button: &'static str,
    ask_email: bool,
    ask_name: bool,
    done: &'static str,
}

const SETUP: Kind = Kind {
    purpose: LinkPurpose::Setup,
    heading: "Create the first owner",
    intro: "This installation has no administrator yet. The account you create here is its \
            owner: it can do everything, including inviting the others.",
    button: "Create owner account",
    ask_email: true,
    ask_name: true,
    done: "setup",
};

const INVITE: Kind = Kind {
    purpose: LinkPurpose::Invite,
    heading: "Accept your invitation",
    intro: "You were invited to administer Tollgate. Choose your name and a password.",
    button: "Accept invitation",
    ask_email: false,
    ask_name: true,
    done: "invite",
};

const RESET: Kind = Kind {
    purpose: LinkPurpose::Reset,
    heading: "Set a new password",
    intro: "Choose a new password. Your second factor is removed with it: you set it up again \
            after signing in.",
    button: "Set password",
    ask_email: false,
    ask_name: false,
    done: "reset",
};

fn form_page(
    kind: &Kind,
    status: StatusCode,
    token: &str,
    email: &str,
    display_name: &str,
    errors: Vec<String>,
) -> Page {
    Page::new(
        status,
        &AccountFormPage {
            layout: Layout::anonymous(),
            errors,
            errors_heading: "Please check:",
            heading: kind.heading,
            intro: kind.intro,
            action: kind.purpose.path(),
            token,
            ask_email: kind.ask_email,
            email,
            ask_name: kind.ask_name,
            display_name,
            button: kind.button,
        },
    )
}

async fn show(state: &AppState, kind: &Kind, token: &str) -> Response {
    let now = state.people.now();
    match state.people.check_link(kind.purpose, token, now).await {
        Ok(link) => {
            let email = link.email.as_ref().map_or("", |e| e.as_str());
            form_page(kind, StatusCode::OK, token, email, "", Vec::new()).into_response()
        }
        Err(e) => error_page(e),
    }
}

async fn submit(state: &AppState, kind: &Kind, form: AccountForm) -> Response {
    let now = state.people.now();
    let people = &state.people;
    let result = match kind.purpose {
        LinkPurpose::Setup => people
            .complete_setup(
                &form.token,
                &form.email,
                &form.display_name,
                form.password,
                now,
            )
            .await
            .map(|_| ()),
        LinkPurpose::Invite => people
            .accept_invitation(&form.token, &form.display_name, form.password, now)
            .await
            .map(|_| ()),
        LinkPurpose::Reset => people
            .reset_password(&form.token, form.password, now)
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/console/sign-in?done={}", kind.done)).into_response(),
        Err(PeopleError::Validation(errors)) => {
            let messages = errors
                .iter()
                .map(|e| format!("{}: {}", field_label(&e.field), e.message))
                .collect();
            let email = match kind.purpose {
                LinkPurpose::Setup => form.email.clone(),
                _ => people
                    .check_link(kind.purpose, &form.token, now)
                    .await
                    .ok()
                    .and_then(|l| l.email.map(|e| e.as_str().to_owned()))
                    .unwrap_or_default(),
            };
            form_page(
                kind,
                StatusCode::BAD_REQUEST,
                &form.token,
                &email,
                &form.display_name,
                messages,
            )
            .into_response()
        }
        Err(PeopleError::EmailTaken) => form_page(
            kind,
            StatusCode::CONFLICT,
            &form.token,
            &form.email,
            &form.display_name,
            vec!["Email: another administrator has this address already.".into()],
        )
        .into_response(),
        Err(e) => error_page(e),
    }
}

/// The label a form shows for a field the service names.
fn field_label(field: &str) -> &str {
    match field {
        "email" => "Email",
        "display_name" => "Name",
        "password" => "Password",
        other => other,
    }
}

pub async fn setup_page(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    show(&state, &SETUP, &q.token).await
}

pub async fn setup(State(state): State<AppState>, form: ConsoleForm<AccountForm>) -> Response {
    submit(&state, &SETUP, form.value).await
}

pub async fn invite_page(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    show(&state, &INVITE, &q.token).await
}

pub async fn invite(State(state): State<AppState>, form: ConsoleForm<AccountForm>) -> Response {
    submit(&state, &INVITE, form.value).await
}

pub async fn reset_page(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    show(&state, &RESET, &q.token).await
}

pub async fn reset(State(state): State<AppState>, form: ConsoleForm<AccountForm>) -> Response {
    submit(&state, &RESET, form.value).await
}
