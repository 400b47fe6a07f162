//! The audit log at `/console/audit`: newest first, paged and filtered in the database (by
//! client, API, actor, event type and time), with the admin API's filter parser.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::Allowed;
use super::fields::FieldErrors;
use super::pages::{Layout, Page, Section};
use crate::clock::UnixTime;
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::client::FieldError;
use crate::http::AppState;
use crate::http::admin::audit::AuditFilterParams;
use crate::http::admin::auth::AuditRead;
use crate::service::ClientError;
use crate::store::{AuditCursor, AuditFilter};

/// Events a page shows.
const PAGE_SIZE: u32 = 50;

/// The filter form's labels of the parser's fields.
const LABELS: &[(&str, &str)] = &[
    ("client_id", "Client id"),
    ("api_id", "API"),
    ("actor", "Actor"),
    ("action", "Event type"),
    ("from", "From"),
    ("to", "To"),
    ("page", ""),
];

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/audit", get(list))
}

/// The filter form's fields and the page's position, as the browser sends them.
#[derive(Debug, Default, Deserialize)]
pub struct AuditForm {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    api_id: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// Older events: those before this id.
    before: Option<String>,
    /// Newer events: those after this id.
    after: Option<String>,
}

impl AuditForm {
    fn filter_params(&self) -> AuditFilterParams {
        let some = |v: &str| Some(v.to_owned());
        AuditFilterParams {
            client_id: some(&self.client_id),
            api_id: some(&self.api_id),
            actor: some(&self.actor),
            action: some(&self.action),
            from: some(&self.from),
            to: some(&self.to),
        }
    }

    /// The query of a link to another page of the same filters.
    fn link(&self, cursor: Option<(&str, i64)>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("client_id", &self.client_id),
            ("api_id", &self.api_id),
            ("actor", &self.actor),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.trim().is_empty() {
                q.append_pair(k, v.trim());
            }
        }
        if let Some((k, id)) = cursor {
            q.append_pair(k, &id.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            "/console/audit".to_owned()
        } else {
            format!("/console/audit?{q}")
        }
    }

    fn filtered(&self) -> bool {
        [
            &self.client_id,
            &self.api_id,
            &self.actor,
            &self.action,
            &self.from,
            &self.to,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }
}

pub struct Row {
    pub at: String,
    pub actor: String,
    pub action: &'static str,
    pub client_id: Option<String>,
    pub secret_id: Option<String>,
    pub kid: Option<String>,
    /// The API's id, and its name while it is in the catalogue.
    pub api: Option<(String, Option<String>)>,
    pub detail: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
pub struct AuditPage<'a> {
    pub layout: Layout,
    pub errors: FieldErrors,
    pub form: &'a AuditForm,
    pub apis: Vec<Choice>,
    pub actions: Vec<Choice>,
    pub rows: Vec<Row>,
    pub filtered: bool,
    pub newer: Option<String>,
    pub older: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<AuditRead>,
    Query(mut form): Query<AuditForm>,
) -> Response {
    let parsed = parse(&form);
    if let Ok((filter, _)) = &parsed {
        // The time fields show what was read, in UTC, as `datetime-local` takes it.
        let shown = |t: UnixTime| t.to_rfc3339().trim_end_matches('Z').to_owned();
        form.from = filter.from.map(shown).unwrap_or_default();
        form.to = filter.to.map(shown).unwrap_or_default();
    }
    let catalogue = state.tollgate.catalogue();
    let api_name = |id: &str| catalogue.get(id).map(|a| a.name.as_str().to_owned());
    let mut apis: Vec<Choice> = catalogue
        .apis()
        .iter()
        .map(|a| Choice {
            value: a.id.as_str().to_owned(),
            label: a.name.as_str().to_owned(),
            selected: a.id.as_str() == form.api_id.trim(),
        })
        .collect();
    let wanted_api = form.api_id.trim();
    if !wanted_api.is_empty() && !apis.iter().any(|c| c.selected) {
        apis.push(Choice {
            value: wanted_api.to_owned(),
            label: format!("{wanted_api} (not in the catalogue)"),
            selected: true,
        });
    }
    let actions = AuditAction::ALL
        .iter()
        .map(|a| Choice {
            value: a.as_str().to_owned(),
            label: a.as_str().to_owned(),
            selected: a.as_str() == form.action.trim(),
        })
        .collect();
    let mut page = AuditPage {
        layout: Layout::at(&person, Section::Audit),
        errors: FieldErrors::default(),
        form: &form,
        apis,
        actions,
        rows: Vec::new(),
        filtered: form.filtered(),
        newer: None,
        older: None,
    };
    let (filter, cursor) = match parsed {
        Ok(parsed) => parsed,
        Err(errors) => {
            page.errors = FieldErrors::new(errors, LABELS);
            return Page::new(StatusCode::BAD_REQUEST, &page).into_response();
        }
    };
    let (events, newer, older) = match read(&state, &filter, cursor).await {
        Ok(found) => found,
        Err(e) => return super::error_page_for_clients(ClientError::Store(e)),
    };
    page.newer = newer.map(|id| form.link(Some(("after", id))));
    page.older = older.map(|id| form.link(Some(("before", id))));
    page.rows = events
        .into_iter()
        .map(|e| Row {
            at: e.at.to_rfc3339(),
            action: e.action.as_str(),
            api: e.api_id.map(|id| {
                let name = api_name(&id);
                (id, name)
            }),
            actor: e.actor,
            client_id: e.client_id,
            secret_id: e.secret_id,
            kid: e.kid,
            detail: e.detail,
        })
        .collect();
    Page::ok(&page).into_response()
}

fn parse(form: &AuditForm) -> Result<(AuditFilter, AuditCursor), Vec<FieldError>> {
    let filter = form.filter_params().parse();
    let id = |v: &Option<String>| v.as_deref().map(|s| s.trim().parse::<i64>());
    let cursor = match (id(&form.before), id(&form.after)) {
        (Some(Ok(before)), None) => Ok(AuditCursor::Before(before)),
        (None, Some(Ok(after))) => Ok(AuditCursor::After(after)),
        (None, None) => Ok(AuditCursor::NEWEST),
        _ => Err(FieldError::new(
            "page",
            "This page link is not valid: start again from the newest events.",
        )),
    };
    match (filter, cursor) {
        (Ok(f), Ok(c)) => Ok((f, c)),
        (f, c) => {
            let mut errors = f.err().unwrap_or_default();
            errors.extend(c.err());
            Err(errors)
        }
    }
}

/// A page of events, newest first, with the ids the "Newer" and "Older" links start from.
async fn read(
    state: &AppState,
    filter: &AuditFilter,
    mut cursor: AuditCursor,
) -> Result<(Vec<AuditEvent>, Option<i64>, Option<i64>), crate::store::StoreError> {
    let tollgate = &state.tollgate;
    let page = PAGE_SIZE as usize;
    if let AuditCursor::After(_) = cursor {
        let mut events = tollgate
            .find_audit_events(filter, cursor, PAGE_SIZE + 1)
            .await?;
        // A newer page while more than a page of newer events remains; otherwise the
        // newest page.
        if events.len() > page {
            events.truncate(page);
            events.reverse();
            let newer = events.first().map(|e| e.id);
            let older = events.last().map(|e| e.id);
            return Ok((events, newer, older));
        }
        cursor = AuditCursor::NEWEST;
    }
    let mut events = tollgate
        .find_audit_events(filter, cursor, PAGE_SIZE + 1)
        .await?;
    let more = events.len() > page;
    events.truncate(page);
    let newer = match cursor {
        AuditCursor::Before(id) if id != i64::MAX => {
            Some(events.first().map_or(id.saturating_sub(1), |e| e.id))
        }
        _ => None,
    };
    let older = more.then(|| events.last().map(|e| e.id)).flatten();
    Ok((events, newer, older))
}
