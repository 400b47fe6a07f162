//! The console under `/console`: server-rendered pages (askama templates compiled into the
//! binary), forms that work without script, a stylesheet embedded and versioned in its URL.
//!
//! - `pages`: the templates and what they are filled with
//! - `signin`: sign-in, the second factor and its enrolment, signing out
//! - `links`: the pages behind one-time links (first owner, invitation, password reset)
//! - `sso`: single sign-on with the organisation's OpenID Connect provider
//! - `cookies`: the session cookie and the form guard against cross-site requests
//! - `account`, `admins`, `audit`: my account, the administrators (owners), the audit log
//! - `fields`: errors beside the form fields that caused them

mod account;
mod admins;
mod apis;
mod audit;
mod client_details;
mod client_new;
mod clients;
mod cookies;
mod dashboard;
mod fields;
mod keys;
mod links;
mod pages;
mod signin;
mod sso;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

pub use cookies::session_cookie;
pub use pages::Page;

use crate::domain::admin::SessionStage;
use crate::http::AppState;
use crate::http::admin::auth::Needs;
use crate::service::ClientError;
use crate::service::people::{PeopleError, Person, SessionError};

/// Largest form a console page posts.
const MAX_FORM: usize = 16 * 1024;

/// The console's policy: its own stylesheet, no script, no plugins, no framing, forms only to
/// itself.
pub const CONSOLE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
    script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'self'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/console/clients", get(clients::list))
        .route(pages::STYLESHEET_PATH, get(pages::stylesheet))
        .route(pages::SCRIPT_PATH, get(pages::script))
        .route(
            "/console/sign-in",
            get(signin::sign_in_page).post(signin::sign_in),
        )
        .route(
            "/console/second-factor",
            get(signin::second_factor_page).post(signin::second_factor),
        )
        .route("/console/recovery-code", post(signin::recovery_code))
        .route(
            "/console/second-factor/remove",
            post(signin::remove_second_factor),
        )
        .route(
            "/console/enrol",
            get(signin::enrol_page).post(signin::enrol),
        )
        .route("/console/sign-out", post(signin::sign_out))
        .route(
            "/console/sign-out-everywhere",
            post(signin::sign_out_everywhere),
        )
        .route("/console/setup", get(links::setup_page).post(links::setup))
        .route(
            "/console/invite",
            get(links::invite_page).post(links::invite),
        )
        .route("/console/reset", get(links::reset_page).post(links::reset))
        .route("/console/sso/start", get(sso::start))
        .route(
            crate::service::people::SSO_CALLBACK_PATH,
            get(sso::callback),
        )
        .merge(dashboard::routes())
        .merge(account::routes())
        .merge(client_new::routes())
        .merge(client_details::routes())
        .merge(apis::routes())
        .merge(keys::routes())
        .merge(audit::routes())
        .merge(admins::routes())
        .layer(DefaultBodyLimit::max(MAX_FORM))
}

/// The address the request came from, for the audit trail, the sign-in backoff and the
/// rate limits (see [`crate::http::limits::client_ip`] for the trusted proxies).
pub fn client_address(parts: &Parts, state: &AppState) -> String {
    crate::http::limits::client_address(parts, &state.limits)
}

/// The client address of a request (see [`client_address`]).
#[derive(Debug)]
pub struct Address(pub String);

impl FromRequestParts<AppState> for Address {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Address, Self::Rejection> {
        Ok(Address(client_address(parts, state)))
    }
}

/// A form post from one of the console's own pages: `application/x-www-form-urlencoded`, and
/// not sent from another site (the `Origin` header, or `Sec-Fetch-Site`, says where from).
/// Pages of a session carry its anti-forgery token too; see [`signin`].
#[derive(Debug)]
pub struct ConsoleForm<T> {
    pub value: T,
    pub address: String,
}

impl<T: DeserializeOwned> FromRequest<AppState> for ConsoleForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<ConsoleForm<T>, Response> {
        let (parts, body) = req.into_parts();
        if !cookies::same_origin(&parts.headers, state.people.settings().issuer.as_str()) {
            return Err(Page::message(
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form was sent from another site. Open the console directly and try again.",
            )
            .into_response());
        }
        let address = client_address(&parts, state);
        let req = Request::from_parts(parts, body);
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(ConsoleForm { value, address }),
            Err(rejection) => Err(Page::message(
                rejection.status(),
                "The form could not be read",
                "The page sent something this server cannot read. Reload the page and try again.",
            )
            .into_response()),
        }
    }
}

/// The query of a page behind a one-time link.
#[derive(Debug, serde::Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub token: String,
}

/// The person a page is for, or the page that says why there is none.
#[derive(Debug)]
pub struct Signed(pub Person);

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Signed, Response> {
        let cookie = session_cookie(&parts.headers, &state.people);
        let now = state.people.now();
        match state.people.authenticate(cookie.as_deref(), now).await {
            Ok(person) => Ok(Signed(person)),
            Err(e) => Err(session_refused(e)),
        }
    }
}

/// The person a page is for, fully signed in (any role).
#[derive(Debug)]
pub struct Active(pub Person);

impl FromRequestParts<AppState> for Active {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Active, Response> {
        let Signed(person) = Signed::from_request_parts(parts, state).await?;
        if person.session.stage == SessionStage::Active {
            Ok(Active(person))
        } else {
            Err(session_refused(SessionError::Unfinished(
                person.session.stage,
            )))
        }
    }
}

/// The person a page is for, fully signed in, with a role that holds the permission `N`
/// names: the same check the admin API makes of a session or a token.
#[derive(Debug)]
pub struct Allowed<N>(pub Person, std::marker::PhantomData<N>);

impl<N: Needs> FromRequestParts<AppState> for Allowed<N> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Allowed<N>, Response> {
        let cookie = session_cookie(&parts.headers, &state.people);
        let now = state.people.now();
        match state
            .people
            .authorize(cookie.as_deref(), N::SCOPE, now)
            .await
        {
            Ok(person) => Ok(Allowed(person, std::marker::PhantomData)),
            Err(e) => Err(session_refused(e)),
        }
    }
}

/// The page for a failure to read clients, or a change the person's role may not make.
pub fn error_page_for_clients(e: ClientError) -> Response {
    if let e @ ClientError::BeyondYourPermissions(_) = e {
        return Page::message_with_link(
            StatusCode::FORBIDDEN,
            "Not allowed",
            &format!(
                "{} Your role does not hold it, so an owner has to make this change.",
                sentence(&e.to_string())
            ),
            ("/console/clients", "Back to API clients"),
        )
        .into_response();
    }
    tracing::error!(error = %e, "console: clients cannot be read");
    Page::message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again shortly",
        "The console cannot read the clients right now.",
    )
    .into_response()
}

/// Where a request without a usable session goes.
pub fn session_refused(e: SessionError) -> Response {
    match e {
        SessionError::NotSignedIn => Redirect::to("/console/sign-in").into_response(),
        SessionError::Unfinished(stage) => Redirect::to(signin::next_for(stage)).into_response(),
        SessionError::Forbidden => Page::message(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your role does not allow this.",
        )
        .into_response(),
        SessionError::Store(e) => {
            tracing::error!(error = %e, "console: the session cannot be read");
            Page::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again shortly",
                "The console cannot reach its database right now.",
            )
            .into_response()
        }
    }
}

/// The page for a service error that is not about a form field.
pub fn error_page(e: PeopleError) -> Response {
    let (status, heading) = match &e {
        PeopleError::TryLater(secs) => {
            let mut r = Page::message(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                &format!("Too many failed attempts. Try again in {secs} s."),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        PeopleError::LinkInvalid => (StatusCode::BAD_REQUEST, "This link cannot be used"),
        PeopleError::NoRole => (StatusCode::FORBIDDEN, "No access to Tollgate"),
        PeopleError::Sso(_) => (StatusCode::BAD_REQUEST, "Single sign-on failed"),
        PeopleError::Store(inner) => {
            tracing::error!(error = %inner, "console: the database failed");
            let status = if inner.is_unavailable() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            return Page::message(
                status,
                "Something went wrong",
                "The console could not complete this; try again shortly.",
            )
            .into_response();
        }
        _ => (StatusCode::BAD_REQUEST, "This cannot be done"),
    };
    let message = match &e {
        PeopleError::NoRole => "You signed in with your organisation's account, but it has \
            no role in Tollgate: none of its groups is mapped to owner, manager or viewer. Ask \
            a Tollgate owner to add your group."
            .to_owned(),
        other => sentence(&other.to_string()),
    };
    Page::message_with_link(
        status,
        heading,
        &message,
        ("/console/sign-in", "Back to sign-in"),
    )
    .into_response()
}

/// "the thing" → "The thing."
fn sentence(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    let mut chars = s.chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_uppercase());
    }
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
