//! The API clients list: search by name or id and pages, both done by the database.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::pages::{Layout, Page, Section};
use super::{Allowed, error_page_for_clients};
use crate::domain::client::{Client, ClientName};
use crate::http::AppState;
use crate::http::admin::auth::ClientsRead;
use crate::http::admin::requests::{ListParams, Page as ListPage, encode_cursor};

/// Rows a page shows.
const PAGE_SIZE: u32 = 50;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
    /// The name of a client just deleted (from its page), for the notice.
    deleted: Option<String>,
}

pub struct Row {
    pub name: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub secrets: usize,
    pub last_used: Option<String>,
    pub created: String,
}

impl From<&Client> for Row {
    fn from(c: &Client) -> Row {
        Row {
            name: c.name.as_str().to_owned(),
            client_id: c.id.as_str().to_owned(),
            scopes: c.scopes.to_vec(),
            secrets: c.secrets.len(),
            last_used: c
                .secrets
                .iter()
                .filter_map(|s| s.last_used_at)
                .max()
                .map(|t| t.to_rfc3339()),
            created: c.created_at.to_rfc3339(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/clients.html")]
pub struct ClientsPage<'a> {
    pub layout: Layout,
    pub errors: Vec<String>,
    pub errors_heading: &'a str,
    pub query: &'a str,
    pub notice: Option<String>,
    pub paged: bool,
    pub rows: Vec<Row>,
    pub next: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ClientsRead>,
    Query(query): Query<ListQuery>,
) -> Response {
    let text = query.q.clone().unwrap_or_default();
    // Only a name a client could have: a crafted link cannot make the notice say much else.
    let notice = query
        .deleted
        .as_deref()
        .and_then(|n| ClientName::parse(n).ok())
        .map(|n| {
            format!(
                "Deleted {}. It gets no more tokens, and the tokens it held are revoked.",
                n.as_str()
            )
        });
    let params = ListParams {
        limit: Some(PAGE_SIZE),
        cursor: query.cursor.clone(),
        q: query.q.clone(),
    };
    let render = |status, rows, next, errors| {
        Page::new(
            status,
            &ClientsPage {
                layout: Layout::at(&person, Section::Clients),
                errors,
                errors_heading: "The search could not be run:",
                query: text.trim(),
                notice: notice.clone(),
                paged: query.cursor.is_some(),
                rows,
                next,
            },
        )
        .into_response()
    };
    let page = match ListPage::try_from(params) {
        Ok(p) => p,
        Err(problem) => {
            let errors = problem
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            return render(StatusCode::BAD_REQUEST, Vec::new(), None, errors);
        }
    };
    match state
        .tollgate
        .list_clients(page.cursor.as_ref(), page.limit, page.search.as_deref())
        .await
    {
        Ok((clients, next)) => {
            let next = next.map(|c| {
                let mut link = format!("/console/clients?cursor={}", encode_cursor(&c));
                if let Some(q) = &page.search {
                    link.push_str("&q=");
                    link.extend(form_urlencoded::byte_serialize(q.as_bytes()));
                }
                link
            });
            render(
                StatusCode::OK,
                clients.iter().map(Row::from).collect(),
                next,
                Vec::new(),
            )
        }
        Err(e) => error_page_for_clients(e),
    }
}
