//! Single sign-on: off to the provider, and back.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::cookies::{clear_sso, set_session, set_sso, sso_cookie};
use super::pages::Page;
use super::{Address, error_page};
use crate::http::AppState;
use crate::service::sso::CallbackQuery;

pub async fn start(State(state): State<AppState>) -> Response {
    let now = state.people.now();
    match state.people.sso_begin(now).await {
        Ok(start) => (
            [(header::SET_COOKIE, set_sso(&start.cookie, &state.people))],
            Redirect::to(&start.authorize_url),
        )
            .into_response(),
        Err(e) => error_page(e),
    }
}

pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Address(address): Address,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let cookie = sso_cookie(&headers, &state.people);
    let now = state.people.now();
    match state
        .people
        .sso_finish(cookie.as_deref(), &query, &address, now)
        .await
    {
        Ok(signed) => {
            let mut response = Page::moving_on("/console").into_response();
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_session(signed.cookie.expose(), &state.people),
            );
            h.append(header::SET_COOKIE, clear_sso(&state.people));
            response
        }
        Err(e) => {
            let mut response = error_page(e);
            response
                .headers_mut()
                .append(header::SET_COOKIE, clear_sso(&state.people));
            response
        }
    }
}
