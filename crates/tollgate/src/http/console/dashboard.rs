//! The dashboard at `/console`: where a person lands after signing in.

use askama::Template;
use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Active;
use super::pages::{Layout, Page, Section};
use crate::http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console", get(show))
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
pub struct DashboardPage<'a> {
    pub layout: Layout,
    pub name: &'a str,
}

pub async fn show(Active(person): Active) -> Response {
    Page::ok(&DashboardPage {
        layout: Layout::at(&person, Section::Dashboard),
        name: &person.admin.display_name,
    })
    .into_response()
}
