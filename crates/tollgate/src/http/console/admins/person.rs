//! One administrator's page (owners only): change the role, disable or enable, delete behind
//! the typed address, or make a password reset link.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Done, LABELS, LinkPage, RoleChoice, not_found, role_choices};
use crate::domain::admin::AdminId;
use crate::domain::client::FieldError;
use crate::http::AppState;
use crate::http::admin::admins::{AdminView, UpdateAdminRequest};
use crate::http::admin::auth::Owner;
use crate::http::console::fields::FieldErrors;
use crate::http::console::pages::{Layout, Page, Section};
use crate::http::console::signin::forged;
use crate::http::console::{Allowed, ConsoleForm, error_page};
use crate::service::people::{AdminPatch, PeopleError, Person};

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

/// Why a form about an administrator is not looked at.
enum Unusable {
    Forged,
    NoSuchId,
}

impl IntoResponse for Unusable {
    fn into_response(self) -> Response {
        match self {
            Unusable::Forged => forged(),
            Unusable::NoSuchId => not_found(),
        }
    }
}

/// The administrator a form is about, once its anti-forgery token checks out.
fn target(person: &Person, raw: &str, csrf: &str) -> Result<AdminId, Unusable> {
    if !person.csrf_matches(csrf) {
        return Err(Unusable::Forged);
    }
    AdminId::parse(raw).map_err(|_| Unusable::NoSuchId)
}

/// Applies `patch` and shows the page again with `done`, or the reason it was refused.
async fn update(
    state: &AppState,
    person: &Person,
    id: &AdminId,
    patch: Result<AdminPatch, Vec<FieldError>>,
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
        Err(e) => refused_page(state, person, id, e, "").await,
    }
}

/// The page again with the reason the service refused, or the page for another failure.
async fn refused_page(
    state: &AppState,
    person: &Person,
    id: &AdminId,
    e: PeopleError,
    confirm: &str,
) -> Response {
    let (status, errors) = match e {
        PeopleError::LastOwner => (
            StatusCode::CONFLICT,
            FieldErrors::general(&PeopleError::LastOwner.to_string()),
        ),
        PeopleError::Validation(errors) => {
            (StatusCode::BAD_REQUEST, FieldErrors::new(errors, LABELS))
        }
        PeopleError::NotFound => return not_found(),
        other => return error_page(other),
    };
    person_page(state, person, id, status, None, errors, confirm).await
}

pub async fn change_role(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<Owner>,
    Path(raw): Path<String>,
    form: ConsoleForm<ChangeForm>,
) -> Response {
    let id = match target(&person, &raw, &form.value.csrf) {
        Ok(id) => id,
        Err(unusable) => return unusable.into_response(),
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
        Err(unusable) => return unusable.into_response(),
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
        Err(unusable) => return unusable.into_response(),
    };
    let confirm = form.value.confirm.trim();
    let admin = match state.people.get_admin(&id).await {
        Ok(a) => a,
        Err(PeopleError::NotFound) => return not_found(),
        Err(e) => return error_page(e),
    };
    if !confirm.eq_ignore_ascii_case(admin.email.as_str()) {
        let errors = FieldErrors::new(
            vec![FieldError::new(
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
        Err(e) => refused_page(&state, &person, &id, e, confirm).await,
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
        Err(unusable) => return unusable.into_response(),
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
        Err(e) => refused_page(&state, &person, &id, e, "").await,
    }
}
