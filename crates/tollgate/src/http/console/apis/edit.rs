//! Saving an edited API. A change that removes permissions clients hold is not made until a
//! confirmation naming those clients is accepted, for the same clients.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::form::{ApiForm, Row};
use super::show::render_show;
use super::{CONFIRM_SHOWN, find, forged, refused_fields, unavailable};
use crate::domain::api::{Api, ApiPatch};
use crate::http::AppState;
use crate::http::admin::auth::ApisWrite;
use crate::http::console::pages::{Layout, Page, Section};
use crate::http::console::{Allowed, ConsoleForm};
use crate::service::{CatalogueError, ClientHolding};

#[derive(Template)]
#[template(path = "console/apis_confirm.html")]
pub struct ConfirmPage<'a> {
    pub layout: Layout,
    pub csrf: &'a str,
    pub api: &'a Api,
    pub form: &'a ApiForm,
    pub removed: Vec<String>,
    pub holders: Vec<HolderView>,
    pub more: usize,
    pub digest: String,
}

/// A client that a change takes permissions from.
pub struct HolderView {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
}

pub async fn save(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ApisWrite>,
    Path(id): Path<String>,
    posted: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let mut form = ApiForm::read(posted.value);
    if !person.csrf_matches(&form.csrf) {
        return forged();
    }
    let api = match find(&state, &id) {
        Ok(api) => api,
        Err(page) => return page.into_response(),
    };
    if form.add_row {
        form.rows.push(Row::default());
        return render_show(&state, &person, &api, &mut form, StatusCode::OK, None).await;
    }
    let (request, rows, errors) = form.update_request(&api);
    form.place(errors, &rows);
    let patch = match ApiPatch::try_from(request) {
        Ok(patch) => Some(patch),
        Err(problem) => {
            form.place_problem(problem, &rows);
            None
        }
    };
    let Some(patch) = patch.filter(|_| !form.has_errors()) else {
        let status = StatusCode::BAD_REQUEST;
        return render_show(&state, &person, &api, &mut form, status, None).await;
    };
    if patch.is_empty() {
        return Redirect::to(&format!("/console/apis/{}?done=unchanged", api.id)).into_response();
    }
    let (actor, now) = (person.actor(), state.tollgate.now());
    let update = |take| {
        state
            .tollgate
            .update_api(&actor, &api.id, &patch, take, now)
    };
    let result = match update(false).await {
        Err(CatalogueError::InUse(held))
            if form.take && holders_digest(&held) == form.confirmed =>
        {
            update(true).await
        }
        other => other,
    };
    match result {
        Ok(_) => Redirect::to(&format!("/console/apis/{}?done=saved", api.id)).into_response(),
        Err(CatalogueError::InUse(held)) => {
            let removed = patch
                .permissions
                .as_ref()
                .map(|after| {
                    let gone =
                        crate::domain::catalogue::removed_permissions(&api.permissions, after);
                    gone.iter().map(|s| s.as_str().to_owned()).collect()
                })
                .unwrap_or_default();
            let (holders, more) = match named(&state, &held).await {
                Ok(named) => named,
                Err(page) => return page.into_response(),
            };
            Page::new(
                StatusCode::CONFLICT,
                &ConfirmPage {
                    layout: Layout::at(&person, Section::Apis),
                    csrf: person.csrf_token(),
                    api: &api,
                    form: &form,
                    removed,
                    holders,
                    more,
                    digest: holders_digest(&held),
                },
            )
            .into_response()
        }
        Err(e) => match refused_fields(e) {
            Ok(errors) => {
                form.place(errors, &rows);
                let status = StatusCode::BAD_REQUEST;
                render_show(&state, &person, &api, &mut form, status, None).await
            }
            Err(page) => page.into_response(),
        },
    }
}

/// The first holders with their names, and how many more there are.
pub(super) async fn named(
    state: &AppState,
    held: &[ClientHolding],
) -> Result<(Vec<HolderView>, usize), Page> {
    let shown = &held[..held.len().min(CONFIRM_SHOWN)];
    let ids: Vec<_> = shown.iter().map(|h| h.client_id.clone()).collect();
    let names = state
        .tollgate
        .client_names(&ids)
        .await
        .map_err(|e| unavailable(&e))?;
    let views = shown
        .iter()
        .map(|h| HolderView {
            id: h.client_id.as_str().to_owned(),
            name: names
                .get(h.client_id.as_str())
                .cloned()
                .unwrap_or_else(|| h.client_id.as_str().to_owned()),
            scopes: h.scopes.clone(),
        })
        .collect();
    Ok((views, held.len() - shown.len()))
}

/// What a confirmation was shown: the clients and the permissions each would lose. The
/// change goes ahead only if the same list still holds when it is confirmed.
pub(super) fn holders_digest(held: &[ClientHolding]) -> String {
    let mut text = String::new();
    for h in held {
        text.push_str(h.client_id.as_str());
        text.push('\t');
        text.push_str(&h.scopes.join(" "));
        text.push('\n');
    }
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    crate::domain::hex(d.as_ref())
}
