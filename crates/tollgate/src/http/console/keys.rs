//! The signing keys: each key's state and dates, and rotation on demand.
//!
//! The console offers the admin API's rotations under the names people look for: "Rotate
//! now" is its routine early rotation (`immediate`: the new key signs at once, earlier keys
//! stay published and their tokens stay valid), and "Rotate immediately", behind a
//! confirmation, is its rotation for a compromised key (`compromised`: every other key of the
//! algorithm is removed and the tokens they signed are refused).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::apis::forged;
use super::pages::{Layout, Page, Section};
use super::{Allowed, ConsoleForm};
use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::scope::KEYS_WRITE_SCOPE;
use crate::http::AppState;
use crate::http::admin::auth::{KeysRead, KeysWrite};
use crate::http::admin::keys::{RotateRequest, Rotation};
use crate::keys::{KeyLifecycleError, KeyState, KeyStatus};
use crate::service::people::Person;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/keys", get(list))
        .route("/console/keys/rotate", post(rotate))
        .route("/console/keys/rotate-immediately", get(confirm_page))
}

/// The form's `mode` for "Rotate now".
const NOW: &str = "now";
/// The form's `mode` for "Rotate immediately".
const IMMEDIATELY: &str = "immediately";

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    rotated: Option<String>,
    /// A number; read leniently, as it only words a notice.
    removed: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AlgorithmQuery {
    algorithm: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    algorithm: String,
    #[serde(default)]
    confirm: String,
}

pub struct KeyRow {
    pub kid: String,
    pub algorithm: &'static str,
    pub state: &'static str,
    pub created: String,
    pub activates: String,
    pub retires: Option<String>,
    pub removed: Option<String>,
    pub age: String,
}

impl KeyRow {
    fn of(s: &KeyStatus, now: UnixTime) -> KeyRow {
        KeyRow {
            kid: s.kid.clone(),
            algorithm: s.algorithm.as_str(),
            state: s.state.as_str(),
            created: s.created_at.to_rfc3339(),
            activates: s.activates_at.to_rfc3339(),
            retires: s.retires_at.map(UnixTime::to_rfc3339),
            removed: s.removed_at.map(UnixTime::to_rfc3339),
            age: age(now.0 - s.created_at.0),
        }
    }
}

/// What a rotation just did, for the notice on the page it leads back to.
pub struct Rotated {
    pub kid: String,
    /// Keys removed with it (a rotation for a compromised key).
    pub removed: Option<usize>,
}

#[derive(Template)]
#[template(path = "console/keys_list.html")]
pub struct KeysPage<'a> {
    pub layout: Layout,
    pub csrf: &'a str,
    pub can_rotate: bool,
    pub notice: Option<Rotated>,
    pub rows: Vec<KeyRow>,
    pub algorithms: Vec<&'static str>,
    pub default_algorithm: &'static str,
    /// A successor is announced for some algorithm: it still takes over at its time.
    pub announced: bool,
    pub jwks: String,
}

pub async fn list(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<KeysRead>,
    Query(query): Query<ListQuery>,
) -> Response {
    let now = state.tollgate.now();
    let statuses = match state.tollgate.key_statuses(now).await {
        Ok(s) => s,
        Err(e) => return key_error(&e).into_response(),
    };
    // A notice names the key the rotation made, if it is one of the keys.
    let notice = query
        .rotated
        .filter(|kid| statuses.iter().any(|s| s.kid == *kid))
        .map(|kid| Rotated {
            kid,
            removed: query.removed.as_deref().and_then(|n| n.parse().ok()),
        });
    let mut rows: Vec<&KeyStatus> = statuses.iter().collect();
    // Each algorithm's keys, newest first: next, current, then retired.
    rows.sort_by_key(|s| (s.algorithm.as_str(), std::cmp::Reverse(s.activates_at)));
    let keys = state.tollgate.keys();
    Page::ok(&KeysPage {
        layout: Layout::at(&person, Section::Keys),
        csrf: person.csrf_token(),
        can_rotate: can_rotate(&person),
        notice,
        rows: rows.iter().map(|s| KeyRow::of(s, now)).collect(),
        algorithms: algorithms(&state),
        default_algorithm: keys.current().algorithm().as_str(),
        announced: statuses.iter().any(|s| s.state == KeyState::Next),
        jwks: format!(
            "{}{}",
            state.tollgate.policy().issuer_path(),
            crate::http::oauth::JWKS_PATH
        ),
    })
    .into_response()
}

#[derive(Template)]
#[template(path = "console/keys_confirm.html")]
pub struct ConfirmPage<'a> {
    pub layout: Layout,
    pub csrf: &'a str,
    pub algorithm: &'static str,
    /// The keys of the algorithm that the rotation removes, with their states.
    pub doomed: Vec<(String, &'static str)>,
    pub error: Option<&'a str>,
}

pub async fn confirm_page(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<KeysWrite>,
    Query(query): Query<AlgorithmQuery>,
) -> Response {
    let algorithm = query.algorithm.unwrap_or_default();
    let alg = match rotation(&state, &algorithm, true) {
        Ok(r) => r.algorithm.unwrap_or_else(|| default_algorithm(&state)),
        Err(page) => return page.into_response(),
    };
    confirmation(&state, &person, alg, StatusCode::OK, None).await
}

async fn confirmation(
    state: &AppState,
    person: &Person,
    alg: Algorithm,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let now = state.tollgate.now();
    let statuses = match state.tollgate.key_statuses(now).await {
        Ok(s) => s,
        Err(e) => return key_error(&e).into_response(),
    };
    let doomed = statuses
        .iter()
        .filter(|s| s.algorithm == alg)
        .map(|s| (s.kid.clone(), s.state.as_str()))
        .collect();
    Page::new(
        status,
        &ConfirmPage {
            layout: Layout::at(person, Section::Keys),
            csrf: person.csrf_token(),
            algorithm: alg.as_str(),
            doomed,
            error,
        },
    )
    .into_response()
}

pub async fn rotate(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<KeysWrite>,
    posted: ConsoleForm<RotateForm>,
) -> Response {
    let form = posted.value;
    if !person.csrf_matches(&form.csrf) {
        return forged();
    }
    let immediately = match form.mode.as_str() {
        NOW => false,
        IMMEDIATELY => true,
        _ => {
            return Page::message_with_link(
                StatusCode::BAD_REQUEST,
                "Unknown rotation",
                "The form asked for a rotation this server does not know. Reload the page.",
                ("/console/keys", "Back to the signing keys"),
            )
            .into_response();
        }
    };
    let rotation = match rotation(&state, &form.algorithm, immediately) {
        Ok(r) => r,
        Err(page) => return page.into_response(),
    };
    let alg = rotation
        .algorithm
        .unwrap_or_else(|| default_algorithm(&state));
    let now = state.tollgate.now();
    if immediately && form.confirm != "yes" {
        let error = "Tick the box to confirm that the tokens issued so far stop working.";
        return confirmation(&state, &person, alg, StatusCode::BAD_REQUEST, Some(error)).await;
    }
    // Every key of the algorithm there is now goes in a rotation for a compromised key.
    let removed = if immediately {
        match state.tollgate.key_statuses(now).await {
            Ok(all) => Some(all.iter().filter(|s| s.algorithm == alg).count()),
            Err(e) => return key_error(&e).into_response(),
        }
    } else {
        None
    };
    match state
        .tollgate
        .rotate_key(&person.actor(), alg, rotation.mode(), now)
        .await
    {
        Ok(status) => {
            let mut to = String::from("/console/keys?rotated=");
            to.extend(form_urlencoded::byte_serialize(status.kid.as_bytes()));
            if let Some(n) = removed {
                tracing::warn!(kid = status.kid, alg = %alg, "signing key rotated from the console as compromised: the previous keys were removed");
                to.push_str(&format!("&removed={n}"));
            } else {
                tracing::info!(kid = status.kid, alg = %alg, "signing key rotated from the console");
            }
            Redirect::to(&to).into_response()
        }
        Err(e) => key_error(&e).into_response(),
    }
}

/// The rotation a form asks for, checked as the admin API checks its request.
fn rotation(state: &AppState, algorithm: &str, compromised: bool) -> Result<Rotation, Page> {
    let algorithm = Some(algorithm.trim().to_owned()).filter(|a| !a.is_empty());
    let request = RotateRequest {
        algorithm,
        immediate: true,
        compromised,
    };
    let rotation = Rotation::try_from(request).map_err(|problem| {
        let why: Vec<String> = problem.errors.into_iter().map(|e| e.message).collect();
        Page::message_with_link(
            StatusCode::BAD_REQUEST,
            "Not a signing algorithm",
            &format!("The algorithm {}.", why.join("; ")),
            ("/console/keys", "Back to the signing keys"),
        )
    })?;
    match rotation.algorithm {
        Some(a) if !state.tollgate.keys().signing_algorithms().contains(&a) => {
            Err(key_error(&KeyLifecycleError::InactiveAlgorithm(a)))
        }
        _ => Ok(rotation),
    }
}

fn default_algorithm(state: &AppState) -> Algorithm {
    state.tollgate.keys().current().algorithm()
}

fn algorithms(state: &AppState) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = state
        .tollgate
        .keys()
        .signing_algorithms()
        .into_iter()
        .map(Algorithm::as_str)
        .collect();
    all.sort_unstable();
    all
}

fn can_rotate(person: &Person) -> bool {
    person.admin.role.allows(KEYS_WRITE_SCOPE)
}

/// "3 days", "5 hours": how long ago, roughly.
fn age(secs: i64) -> String {
    let (n, unit) = match secs.max(0) {
        s if s < 60 => return "under a minute".to_owned(),
        s if s < 3_600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3_600, "hour"),
        s => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

fn key_error(e: &KeyLifecycleError) -> Page {
    let (status, heading, message) = match e {
        KeyLifecycleError::InactiveAlgorithm(_) => (
            StatusCode::BAD_REQUEST,
            "Not an active algorithm",
            super::sentence(&e.to_string()),
        ),
        KeyLifecycleError::Busy | KeyLifecycleError::AlreadyAnnounced { .. } => (
            StatusCode::CONFLICT,
            "Not rotated",
            super::sentence(&e.to_string()),
        ),
        _ => {
            tracing::error!(error = %e, "console: the signing keys cannot be read or rotated");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again shortly",
                "The console cannot reach the signing keys right now.".to_owned(),
            )
        }
    };
    Page::message_with_link(
        status,
        heading,
        &message,
        ("/console/keys", "Back to the signing keys"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_words() {
        assert_eq!(age(-5), "under a minute");
        assert_eq!(age(59), "under a minute");
        assert_eq!(age(60), "1 minute");
        assert_eq!(age(7_199), "1 hour");
        assert_eq!(age(7_200), "2 hours");
        assert_eq!(age(86_400 * 3 + 5), "3 days");
    }
}
