//! Administrators, for owners only: the list with the invitations not accepted yet, an
//! invitation by email and role (its one-time link shown once), and per person a page to
//! change the role, disable or enable, delete, or make a password reset link. The service
//! keeps the rules (an active owner always remains) and audits every change.

mod person;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::fields::FieldErrors;
use super::pages::{Layout, Page, Section};
use super::signin::forged;
use super::{Allowed, ConsoleForm, error_page};
use crate::domain::client::FieldError;
use crate::http::AppState;
use crate::http::admin::admins::{AdminView, InviteRequest, PendingInvitation};
use crate::http::admin::auth::Owner;
use crate::service::people::{PeopleError, Person};
use person::{change_role, delete, disable, enable, reset_link, show};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/admins", get(list))
        .route("/console/admins/invite", post(invite))
        .route("/console/admins/{admin_id}", get(show))
        .route("/console/admins/{admin_id}/role", post(change_role))
        .route("/console/admins/{admin_id}/disable", post(disable))
        .route("/console/admins/{admin_id}/enable", post(enable))
        .route("/console/admins/{admin_id}/delete", post(delete))
        .route("/console/admins/{admin_id}/reset-link", post(reset_link))
}

/// The roles, with what each may do, as the role selects offer them.
pub const ROLES: &[(&str, &str)] = &[
    ("viewer", "Viewer: reads everything, changes nothing"),
    (
        "manager",
        "Manager: APIs, API clients and secrets; reads keys and the audit log",
    ),
    (
        "owner",
        "Owner: everything, including administrators and signing keys",
    ),
];

/// A role as a select offers it.
pub struct RoleChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

fn role_choices(selected: &str) -> Vec<RoleChoice> {
    ROLES
        .iter()
        .map(|(value, label)| RoleChoice {
            value,
            label,
            selected: *value == selected,
        })
        .collect()
}

const LABELS: &[(&str, &str)] = &[
    ("email", "Email"),
    ("role", "Role"),
    ("confirm", "Confirmation"),
];

#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

#[derive(Template)]
#[template(path = "console/admins.html")]
pub struct AdminsPage<'a> {
    pub layout: Layout,
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
    pub admins: Vec<AdminView>,
    pub me: &'a str,
    pub invitations: Vec<PendingInvitation>,
    pub roles: Vec<RoleChoice>,
    pub email: &'a str,
    pub errors: FieldErrors,
}

/// A one-time link shown once: an invitation or a password reset.
#[derive(Template)]
#[template(path = "console/admins_link.html")]
pub struct LinkPage<'a> {
    pub layout: Layout,
    pub heading: &'a str,
    pub intro: &'a str,
    pub url: &'a str,
    pub expires_at: String,
    pub back: &'a str,
}

fn not_found() -> Response {
    Page::message_with_link(
        StatusCode::NOT_FOUND,
        "No such administrator",
        "There is no administrator with this id: the account may have been deleted.",
        ("/console/admins", "Back to administrators"),
    )
    .into_response()
}

/// The list, with the invitation form as typed.
async fn list_page(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    notice: Option<&str>,
    (email, role): (&str, &str),
    errors: FieldErrors,
) -> Response {
    let now = state.people.now();
    let admins = match state.people.list_admins().await {
        Ok(a) => a,
        Err(e) => return error_page(e),
    };
    let invitations = match state.people.pending_invitations(now).await {
        Ok(i) => i,
        Err(e) => return error_page(e),
    };
    Page::new(
        status,
        &AdminsPage {
            layout: Layout::at(person, Section::Administrators),
            csrf: person.csrf_token(),
            notice,
            admins: admins.iter().map(AdminView::from).collect(),
            me: person.admin.id.as_str(),
            invitations: invitations.iter().map(PendingInvitation::from).collect(),
            roles: role_choices(role),
            email,
            errors,
        },
    )
    .into_response()
}

pub async fn list(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<Owner>,
    Query(q): Query<Done>,
) -> Response {
    let notice = match q.done.as_deref() {
        Some("deleted") => Some("The administrator is deleted; their sessions ended with it."),
        _ => None,
    };
    let typed = ("", "viewer");
    list_page(
        &state,
        &person,
        StatusCode::OK,
        notice,
        typed,
        FieldErrors::default(),
    )
    .await
}

pub async fn invite(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<Owner>,
    form: ConsoleForm<InviteForm>,
) -> Response {
    let InviteForm { csrf, email, role } = form.value;
    if !person.csrf_matches(&csrf) {
        return forged();
    }
    let typed = (email.as_str(), role.as_str());
    let request = InviteRequest {
        email: email.trim().to_owned(),
        role: role.clone(),
    };
    let (address, role) = match request.parse() {
        Ok(parsed) => parsed,
        Err(errors) => {
            let errors = FieldErrors::new(errors, LABELS);
            return list_page(
                &state,
                &person,
                StatusCode::BAD_REQUEST,
                None,
                typed,
                errors,
            )
            .await;
        }
    };
    let now = state.people.now();
    match state
        .people
        .invite(&person.actor(), address, role, now)
        .await
    {
        Ok(made) => {
            let intro = format!(
                "{} is invited as {}. Tollgate sends no mail: send this link yourself, by a \
                 channel you trust. It works once, and is shown only on this page.",
                made.email, made.role
            );
            Page::ok(&LinkPage {
                layout: Layout::at(&person, Section::Administrators),
                heading: "Invitation link",
                intro: &intro,
                url: &made.url,
                expires_at: made.expires_at.to_rfc3339(),
                back: "/console/admins",
            })
            .into_response()
        }
        Err(PeopleError::EmailTaken) => {
            let errors = FieldErrors::new(
                vec![FieldError::new(
                    "email",
                    "another administrator has this address already",
                )],
                LABELS,
            );
            list_page(&state, &person, StatusCode::CONFLICT, None, typed, errors).await
        }
        Err(PeopleError::Validation(errors)) => {
            let errors = FieldErrors::new(errors, LABELS);
            list_page(
                &state,
                &person,
                StatusCode::BAD_REQUEST,
                None,
                typed,
                errors,
            )
            .await
        }
        Err(e) => error_page(e),
    }
}
