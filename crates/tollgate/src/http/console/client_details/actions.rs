//! The posts of a client's page. Each checks the role (403 page), the form's anti-forgery
//! token, turns the form into the admin API's request and validates it with the API's own
//! code; a bad field re-renders the page with the error beside it (400) and changes nothing.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::forms::{ClaimsForm, CsrfForm, DeleteForm, EditForm, Errors, Forms, ScopesForm};
use super::{client_error_page, load, not_found, render};
use crate::domain::client::{Client, ClientPatch, FieldError, SecretId};
use crate::http::AppState;
use crate::http::admin::auth::ClientsWrite;
use crate::http::admin::problem::Problem;
use crate::http::admin::requests::UpdateClientRequest;
use crate::http::console::pages::Page;
use crate::http::console::{Allowed, ConsoleForm};
use crate::service::ClientError;
use crate::service::people::Person;

/// A form without this session's anti-forgery token: sent from elsewhere, or a stale page.
fn forged() -> Response {
    Page::message_with_link(
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form is out of date or was not sent from the console. Reload the page and try \
         again.",
        ("/console/clients", "Back to API clients"),
    )
    .into_response()
}

/// Back to the client's page, saying what was done.
fn back(client: &Client, done: &str) -> Response {
    Redirect::to(&format!("/console/clients/{}?done={done}", client.id)).into_response()
}

fn field_errors(problem: Problem) -> Vec<FieldError> {
    problem
        .errors
        .into_iter()
        .map(|e| FieldError::new(e.field, e.message))
        .collect()
}

/// The admin API's validation of `request`, plus errors the form found itself.
fn validate(
    request: UpdateClientRequest,
    mut errors: Vec<FieldError>,
) -> Result<ClientPatch, Vec<FieldError>> {
    match ClientPatch::try_from(request) {
        Ok(patch) if errors.is_empty() => Ok(patch),
        Ok(_) => Err(errors),
        Err(problem) => {
            errors.extend(field_errors(problem));
            Err(errors)
        }
    }
}

/// Applies what `patch` changes; `Ok(None)` when it changes nothing.
async fn apply(
    state: &AppState,
    person: &Person,
    client: &Client,
    patch: ClientPatch,
) -> Result<Option<()>, ClientError> {
    let Some(patch) = patch.changes_to(client) else {
        return Ok(None);
    };
    let now = state.tollgate.now();
    state
        .tollgate
        .update_client(&person.acting(), &client.id, &patch, now)
        .await?;
    Ok(Some(()))
}

/// The outcome of a save as the answer: back to the page, or the page again with `errors`
/// placed in the form `place` puts them in.
async fn answer(
    state: &AppState,
    person: &Person,
    client: &Client,
    outcome: Result<Option<()>, ClientError>,
    done: &str,
    mut forms: Forms,
    place: fn(&mut Forms, Errors),
) -> Response {
    let (status, errors) = match outcome {
        Ok(Some(())) => return back(client, done),
        Ok(None) => return back(client, "unchanged"),
        Err(ClientError::Validation(errors)) => (StatusCode::BAD_REQUEST, errors),
        Err(ClientError::NameTaken) => (
            StatusCode::BAD_REQUEST,
            vec![FieldError::new(
                "name",
                "another client has this name already; names are unique",
            )],
        ),
        Err(e @ ClientError::ScopesLocked) => (
            StatusCode::CONFLICT,
            vec![FieldError::new("scopes", e.to_string())],
        ),
        Err(e) => return client_error_page(e),
    };
    place(&mut forms, Errors(errors));
    render(state, person, client, status, forms, None).await
}

pub async fn update(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ClientsWrite>,
    Path(client_id): Path<String>,
    form: ConsoleForm<EditForm>,
) -> Response {
    let edit = form.value;
    if !person.csrf_matches(&edit.csrf) {
        return forged();
    }
    let client = match load(&state, &client_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (request, own_error) = edit.request();
    let outcome = match validate(request, own_error.into_iter().collect()) {
        Ok(patch) => apply(&state, &person, &client, patch).await,
        Err(errors) => Err(ClientError::Validation(errors)),
    };
    let forms = Forms {
        edit,
        ..Forms::of(&client)
    };
    answer(&state, &person, &client, outcome, "saved", forms, |f, e| {
        f.edit.errors = e;
    })
    .await
}

pub async fn scopes(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ClientsWrite>,
    Path(client_id): Path<String>,
    form: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let (scopes, csrf) = ScopesForm::from_pairs(form.value);
    if !person.csrf_matches(&csrf) {
        return forged();
    }
    let client = match load(&state, &client_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let outcome = match validate(scopes.request(), Vec::new()) {
        Ok(patch) => apply(&state, &person, &client, patch).await,
        Err(errors) => Err(ClientError::Validation(errors)),
    };
    let forms = Forms {
        scopes,
        ..Forms::of(&client)
    };
    answer(
        &state,
        &person,
        &client,
        outcome,
        "scopes",
        forms,
        |f, e| {
            f.scopes.errors = e;
        },
    )
    .await
}

pub async fn claims(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ClientsWrite>,
    Path(client_id): Path<String>,
    form: ConsoleForm<ClaimsForm>,
) -> Response {
    let claims = form.value;
    if !person.csrf_matches(&claims.csrf) {
        return forged();
    }
    let client = match load(&state, &client_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let outcome = match claims.request().map_err(|e| vec![e]) {
        Ok(request) => match validate(request, Vec::new()) {
            Ok(patch) => apply(&state, &person, &client, patch).await,
            Err(errors) => Err(ClientError::Validation(errors)),
        },
        Err(errors) => Err(ClientError::Validation(errors)),
    };
    let forms = Forms {
        claims,
        ..Forms::of(&client)
    };
    answer(
        &state,
        &person,
        &client,
        outcome,
        "claims",
        forms,
        |f, e| {
            f.claims.errors = e;
        },
    )
    .await
}

pub async fn remove_secret(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ClientsWrite>,
    Path((client_id, secret_id)): Path<(String, String)>,
    form: ConsoleForm<CsrfForm>,
) -> Response {
    if !person.csrf_matches(&form.value.csrf) {
        return forged();
    }
    let client = match load(&state, &client_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(secret_id) = SecretId::parse(&secret_id) else {
        return client_error_page(ClientError::SecretNotFound);
    };
    let now = state.tollgate.now();
    match state
        .tollgate
        .remove_secret(&person.acting(), &client.id, &secret_id, now)
        .await
    {
        Ok(()) => back(&client, &format!("removed&secret={}", secret_id.as_str())),
        Err(e @ ClientError::LastSecret) => {
            let forms = Forms {
                secrets_error: Some(e.to_string()),
                ..Forms::of(&client)
            };
            render(&state, &person, &client, StatusCode::CONFLICT, forms, None).await
        }
        Err(e) => client_error_page(e),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ClientsWrite>,
    Path(client_id): Path<String>,
    form: ConsoleForm<DeleteForm>,
) -> Response {
    let mut delete = form.value;
    if !person.csrf_matches(&delete.csrf) {
        return forged();
    }
    let client = match load(&state, &client_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if delete.confirm_name.trim() != client.name.as_str() {
        delete.errors = Errors(vec![FieldError::new(
            "confirm_name",
            format!(
                "the name typed does not match: type {} exactly as shown",
                client.name.as_str()
            ),
        )]);
        let forms = Forms {
            delete,
            ..Forms::of(&client)
        };
        return render(
            &state,
            &person,
            &client,
            StatusCode::BAD_REQUEST,
            forms,
            None,
        )
        .await;
    }
    let now = state.tollgate.now();
    match state
        .tollgate
        .delete_client(&person.acting(), &client.id, now)
        .await
    {
        Ok(()) => {
            let name: String =
                form_urlencoded::byte_serialize(client.name.as_str().as_bytes()).collect();
            Redirect::to(&format!("/console/clients?deleted={name}")).into_response()
        }
        Err(ClientError::NotFound) => not_found(),
        Err(e) => client_error_page(e),
    }
}
