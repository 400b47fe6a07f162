//! One API: its details, its permissions with the clients holding each, and (for those who
//! may change it) the form to edit it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::form::ApiForm;
use super::{HOLDERS_SHOWN, algorithms, can_write, find, unavailable};
use crate::domain::api::Api;
use crate::http::AppState;
use crate::http::admin::auth::ApisRead;
use crate::http::console::Allowed;
use crate::http::console::pages::{Layout, Page, Section};
use crate::service::Holders;
use crate::service::people::Person;

#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// A permission with the clients holding it.
pub struct PermissionView {
    pub value: String,
    pub description: String,
    /// One of Tollgate's own (the built-in API's): it cannot change.
    pub fixed: bool,
    pub held: usize,
    /// (client id, name) of the first holders.
    pub holders: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/apis_show.html")]
pub struct ShowPage<'a> {
    pub layout: Layout,
    pub csrf: &'a str,
    pub can_write: bool,
    pub notice: Option<&'static str>,
    pub api: &'a Api,
    pub created: String,
    pub updated: String,
    pub default_lifetime: u64,
    pub default_algorithm: &'static str,
    pub permissions: Vec<PermissionView>,
    pub form: &'a ApiForm,
    /// The built-in API: only the permissions added to it can change.
    pub only_permissions: bool,
    pub algorithms: Vec<&'static str>,
}

pub async fn show(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ApisRead>,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let api = match find(&state, &id) {
        Ok(api) => api,
        Err(page) => return page.into_response(),
    };
    let notice = match done.done.as_deref() {
        Some("created") => Some("The API was created."),
        Some("saved") => Some("Your changes were saved."),
        Some("unchanged") => Some("Nothing had changed: there was nothing to save."),
        _ => None,
    };
    let mut form = ApiForm::of(&api, |_| 0);
    render_show(&state, &person, &api, &mut form, StatusCode::OK, notice).await
}

pub(super) async fn render_show(
    state: &AppState,
    person: &Person,
    api: &Api,
    form: &mut ApiForm,
    status: StatusCode,
    notice: Option<&'static str>,
) -> Response {
    let all = api.all_permissions();
    let values: Vec<&str> = all.iter().map(|p| p.value.as_str()).collect();
    let holders = match state.tollgate.holders(&values, HOLDERS_SHOWN).await {
        Ok(h) => h,
        Err(e) => return unavailable(&e).into_response(),
    };
    form.count_holders(|value| {
        values
            .iter()
            .position(|v| *v == value)
            .and_then(|i| holders.get(i))
            .map_or(0, |h| h.count)
    });
    let permissions = all
        .iter()
        .zip(holders)
        .map(|(p, Holders { count, first })| PermissionView {
            value: p.value.to_string(),
            description: p.description.clone(),
            fixed: api.is_builtin() && !api.permissions.iter().any(|q| q.value == p.value),
            held: count,
            holders: first
                .into_iter()
                .map(|(id, name)| (id.as_str().to_owned(), name))
                .collect(),
        })
        .collect();
    let keys = state.tollgate.keys();
    Page::new(
        status,
        &ShowPage {
            layout: Layout::at(person, Section::Apis),
            csrf: person.csrf_token(),
            can_write: can_write(person),
            notice,
            api,
            created: api.created_at.to_rfc3339(),
            updated: api.updated_at.to_rfc3339(),
            default_lifetime: state.tollgate.policy().default_lifetime,
            default_algorithm: keys.current().algorithm().as_str(),
            permissions,
            form,
            only_permissions: api.is_builtin(),
            algorithms: algorithms(state),
        },
    )
    .into_response()
}
