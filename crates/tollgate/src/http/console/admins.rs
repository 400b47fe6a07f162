//! Administrators, for owners only: the list with the invitations not accepted yet, an
//! invitation by email and role (its one-time link shown once), and per person a page to
//! change the role, disable or enable, delete, or make a password reset link. The service
//! keeps the rules (an active owner always remains) and audits every change.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::fields::FieldErrors;
use super::pages::{Layout, Page, Section};
use super::signin::forged;
use super::{Allowed, ConsoleForm, error_page};
use crate::domain::admin::AdminId;
use crate::http::AppState;
use crate::http::admin::admins::{AdminView, InviteRequest, PendingInvitation, UpdateAdminRequest};
use crate::http::admin::auth::Owner;
use crate::service::people::{AdminPatch, PeopleError, Person};

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

#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    /// The email address typed to confirm a deletion.
    #[serde(default)]
    confirm: String,
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

#[derive(Template)]
#[template(path = "console/admins_person.html")]
pub struct PersonPage<'a> {
    pub layout: Layout,
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
    pub admin: AdminView,
    pub is_me: bool,
    pub roles: Vec<RoleChoice>,
    pub errors: FieldErrors,
    pub confirm: &'a str,
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
                vec![crate::domain::client::FieldError::new(
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

/// One administrator's page.
async fn person_page(
    state: &AppState,
    person: &Person,
    id: &AdminId,
    status: StatusCode,
    notice: Option<&str>,
    errors: FieldErrors,
    confirm: &str,
) -> Response {
    let admin = match state.people.get_admin(id).await {
        Ok(a) => a,
        Err(PeopleError::NotFound) => return not_found(),
        Err(e) => return error_page(e),
    };
    Page::new(
        status,
        &PersonPage {
            layout: Layout::at(person, Section::Administrators),
            csrf: person.csrf_token(),
            notice,
            is_me: admin.id == person.admin.id,
            roles: role_choices(admin.role.as_str()),
            admin: AdminView::from(&admin),
            errors,
            confirm,
        },
    )
    .into_response()
}

pub async fn show(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<Owner>,
    Path(raw): Path<String>,
    Query(q): Query<Done>,
) -> Response {
    let Ok(id) = AdminId::parse(&raw) else {
        return not_found();
    };
    let notice = match q.done.as_deref() {
        Some("role") => {
            Some("The role is changed. Their sessions ended: they sign in again to use it.")
        }
        Some("disabled") => Some("Disabled: they cannot sign in, and their sessions ended."),
        Some("enabled") => Some("Enabled: they can sign in again."),
        _ => None,
    };
    let errors = FieldErrors::default();
    person_page(&state, &person, &id, StatusCode::OK, notice, errors, "").await
}

/// The administrator a form is about, once its anti-forgery token checks out.
fn target(person: &Person, raw: &str, csrf: &str) -> Result<AdminId, Response> {
    if !person.csrf_matches(csrf) {
        return Err(forged());
    }
    AdminId::parse(raw).map_err(|_| not_found())
}

/// Applies `patch` and shows the page again with `done`, or the reason it was refused.
async fn update(
    state: &AppState,
    person: &Person,
    id: &AdminId,
    patch: Result<AdminPatch, Vec<crate::domain::client::FieldError>>,
    done: &str,
) -> Response {
    let refused = |status, errors| person_page(state, person, id, status, None, errors, "");
    let patch = match patch {
        Ok(p) => p,
        Err(errors) => {
            return refused(StatusCode::BAD_REQUEST, FieldErrors::new(errors, LABELS)).await;
        }
    };
    let now = state.people.now();
    match state
        .people
        .update_admin(&person.actor(), id, patch, now)
        .await
    {
        Ok(_) => Redirect::to(&format!("/console/admins/{id}?done={done}")).into_response(),
        Err(e) => match refusal(e) {
            Ok((status, errors)) => refused(status, errors).await,
            Err(answer) => answer,
        },
    }
}

/// The status and message for a refusal the page explains; otherwise the answer to give.
fn refusal(e: PeopleError) -> Result<(StatusCode, FieldErrors), Response> {
    match e {
        PeopleError::LastOwner => Ok((
            StatusCode::CONFLICT,
            FieldErrors::general(&PeopleError::LastOwner.to_string()),
        )),
        PeopleError::Validation(errors) => {
            Ok((StatusCode::BAD_REQUEST, FieldErrors::new(errors, LABELS)))
        }
        PeopleError::NotFound => Err(not_found()),
        other => Err(error_page(other)),
    }
}

pub async fn change_role(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<Owner>,
    Path(raw): Path<String>,
    form: ConsoleForm<ChangeForm>,
) -> Response {
    let id = match target(&person, &raw, &form.value.csrf) {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let request = UpdateAdminRequest {
        role: Some(form.value.role),
        ..Default::default()
    };
    update(&state, &person, &id, AdminPatch::try_from(request), "role").await
}

async fn set_disabled(
    state: &AppState,
    person: &Person,
    raw: &str,
    csrf: &str,
    disabled: bool,
) -> Response {
    let id = match target(person, raw, csrf) {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let patch = AdminPatch {
        disabled: Some(disabled),
        ..Default::default()
    };
    let done = if disabled { "disabled" } else { "enabled" };
    update(state, person, &id, Ok(patch), done).await
}

pub async fn disable(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<Owner>,
    Path(raw): Path<String>,
    form: ConsoleForm<ChangeForm>,
) -> Response {
    set_disabled(&state, &person, &raw, &form.value.csrf, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<Owner>,
    Path(raw): Path<String>,
    form: ConsoleForm<ChangeForm>,
) -> Response {
    set_disabled(&state, &person, &raw, &form.value.csrf, false).await
}

pub async fn delete(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<Owner>,
    Path(raw): Path<String>,
    form: ConsoleForm<ChangeForm>,
) -> Response {
    let id = match target(&person, &raw, &form.value.csrf) {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let confirm = form.value.confirm.trim();
    let admin = match state.people.get_admin(&id).await {
        Ok(a) => a,
        Err(PeopleError::NotFound) => return not_found(),
        Err(e) => return error_page(e),
    };
    if !confirm.eq_ignore_ascii_case(admin.email.as_str()) {
        let errors = FieldErrors::new(
            vec![crate::domain::client::FieldError::new(
                "confirm",
                format!("type {} to confirm the deletion", admin.email),
            )],
            LABELS,
        );
        let status = StatusCode::BAD_REQUEST;
        return person_page(&state, &person, &id, status, None, errors, confirm).await;
    }
    let now = state.people.now();
    match state.people.delete_admin(&person.actor(), &id, now).await {
        Ok(()) => Redirect::to("/console/admins?done=deleted").into_response(),
        Err(e) => match refusal(e) {
            Ok((status, errors)) => {
                person_page(&state, &person, &id, status, None, errors, confirm).await
            }
            Err(answer) => answer,
        },
    }
}

pub async fn reset_link(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<Owner>,
    Path(raw): Path<String>,
    form: ConsoleForm<ChangeForm>,
) -> Response {
    let id = match target(&person, &raw, &form.value.csrf) {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let now = state.people.now();
    match state.people.reset_link(&person.actor(), &id, now).await {
        Ok((url, expires_at)) => {
            let back = format!("/console/admins/{id}");
            Page::ok(&LinkPage {
                layout: Layout::at(&person, Section::Administrators),
                heading: "Password reset link",
                intro: "Whoever opens this link sets a new password for this account; its \
                        two-step verification is removed, so they set it up again after \
                        signing in. Tollgate sends no mail: send this link yourself, by a \
                        channel you trust. It works once, and is shown only on this page.",
                url: &url,
                expires_at: expires_at.to_rfc3339(),
                back: &back,
            })
            .into_response()
        }
        Err(e) => match refusal(e) {
            Ok((status, errors)) => {
                person_page(&state, &person, &id, status, None, errors, "").await
            }
            Err(answer) => answer,
        },
    }
}
