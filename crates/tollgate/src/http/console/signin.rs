//! Signing in and out: password, then the second factor (or its enrolment), then the console.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::cookies::{clear_session, set_session};
use super::pages::{EnrolPage, Layout, Page, RecoveryCodesPage, SecondFactorPage, SignInPage};
use super::{ConsoleForm, Signed, error_page};
use crate::domain::admin::SessionStage;
use crate::http::AppState;
use crate::service::people::{Enrolment, PeopleError, Person, SignIn};

const FIX: &str = "Please check:";

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    pending: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct Notice {
    done: Option<String>,
}

/// The answer to a form whose anti-forgery token does not match the session.
pub(super) fn forged() -> Response {
    Page::message_with_link(
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form is out of date or was not sent from the console. Reload the page and try \
         again.",
        ("/console", "Back to the console"),
    )
    .into_response()
}

/// Where a person goes next, by how far their sign-in got.
pub(super) fn next_for(stage: SessionStage) -> &'static str {
    match stage {
        SessionStage::SecondFactor => "/console/second-factor",
        SessionStage::Enrol => "/console/enrol",
        SessionStage::Active => "/console",
    }
}

fn signed_in(state: &AppState, signed: SignIn) -> Response {
    (
        [(
            header::SET_COOKIE,
            set_session(signed.cookie.expose(), &state.people),
        )],
        Redirect::to(next_for(signed.stage)),
    )
        .into_response()
}

pub async fn sign_in_page(State(state): State<AppState>, Query(n): Query<Notice>) -> Response {
    let notice = match n.done.as_deref() {
        Some("setup") => Some("Your owner account is ready. Sign in to continue."),
        Some("invite") => Some("Your account is ready. Sign in to continue."),
        Some("reset") => {
            Some("Your password is set. Sign in, then set up two-step verification again.")
        }
        Some("signed-out") => Some("You are signed out."),
        _ => None,
    };
    sign_in_form(&state, StatusCode::OK, notice, "", Vec::new()).into_response()
}

fn sign_in_form(
    state: &AppState,
    status: StatusCode,
    notice: Option<&str>,
    email: &str,
    errors: Vec<String>,
) -> Page {
    Page::new(
        status,
        &SignInPage {
            layout: Layout::anonymous(),
            errors,
            errors_heading: "Sign-in failed:",
            notice,
            email,
            sso_label: state.people.sso_label(),
        },
    )
}

pub async fn sign_in(State(state): State<AppState>, form: ConsoleForm<SignInForm>) -> Response {
    let SignInForm { email, password } = form.value;
    if let Err(refused) = state
        .limits
        .admit_sign_in(&email, form.address.parse().ok())
    {
        return crate::http::limits::sign_in_refused(&refused);
    }
    let now = state.people.now();
    match state
        .people
        .sign_in(&email, password, &form.address, now)
        .await
    {
        Ok(signed) => signed_in(&state, signed),
        Err(PeopleError::SignInFailed) => sign_in_form(
            &state,
            StatusCode::UNAUTHORIZED,
            None,
            &email,
            vec!["The email address or password is not right.".into()],
        )
        .into_response(),
        Err(e) => error_page(e),
    }
}

pub async fn second_factor_page(Signed(person): Signed) -> Response {
    if person.session.stage != SessionStage::SecondFactor {
        return Redirect::to(next_for(person.session.stage)).into_response();
    }
    second_factor_form(&person, StatusCode::OK, Vec::new()).into_response()
}

fn second_factor_form(person: &Person, status: StatusCode, errors: Vec<String>) -> Page {
    Page::new(
        status,
        &SecondFactorPage {
            layout: Layout::anonymous(),
            errors,
            errors_heading: "Verification failed:",
            csrf: person.csrf_token(),
        },
    )
}

pub async fn second_factor(
    State(state): State<AppState>,
    Signed(person): Signed,
    form: ConsoleForm<CodeForm>,
) -> Response {
    code_step(&state, &person, form, false).await
}

pub async fn recovery_code(
    State(state): State<AppState>,
    Signed(person): Signed,
    form: ConsoleForm<CodeForm>,
) -> Response {
    code_step(&state, &person, form, true).await
}

async fn code_step(
    state: &AppState,
    person: &Person,
    form: ConsoleForm<CodeForm>,
    recovery: bool,
) -> Response {
    if !person.csrf_matches(&form.value.csrf) {
        return forged();
    }
    if person.session.stage != SessionStage::SecondFactor {
        return Redirect::to(next_for(person.session.stage)).into_response();
    }
    let now = state.people.now();
    let result = if recovery {
        state
            .people
            .recovery_code(person, &form.value.code, now)
            .await
    } else {
        state
            .people
            .second_factor(person, &form.value.code, now)
            .await
    };
    match result {
        Ok(signed) => signed_in(state, signed),
        Err(PeopleError::CodeRejected) => {
            let what = if recovery {
                "That recovery code is not right, or was used already."
            } else {
                "That code is not right, or was used already. Wait for the next code and try again."
            };
            second_factor_form(person, StatusCode::UNAUTHORIZED, vec![what.into()]).into_response()
        }
        Err(e) => error_page(e),
    }
}

pub async fn enrol_page(State(state): State<AppState>, Signed(person): Signed) -> Response {
    if person.session.stage == SessionStage::SecondFactor {
        return Redirect::to(next_for(person.session.stage)).into_response();
    }
    let enrolment = state.people.begin_enrolment(&person);
    enrol_form(&person, &enrolment, StatusCode::OK, Vec::new()).into_response()
}

fn enrol_form(person: &Person, e: &Enrolment, status: StatusCode, errors: Vec<String>) -> Page {
    let intro = if person.session.stage == SessionStage::Enrol {
        "Tollgate asks for a second step when you sign in: a code from an authenticator app. \
         Set it up now to continue."
    } else {
        "Setting up a new authenticator replaces the old one and your recovery codes."
    };
    let layout = if person.session.stage == SessionStage::Active {
        Layout::of(person)
    } else {
        Layout::anonymous()
    };
    Page::new(
        status,
        &EnrolPage {
            layout,
            errors,
            errors_heading: FIX,
            intro,
            csrf: person.csrf_token(),
            qr_svg: &e.qr_svg,
            setup_key: &e.setup_key,
            pending: &e.pending,
        },
    )
}

pub async fn enrol(
    State(state): State<AppState>,
    Signed(person): Signed,
    form: ConsoleForm<CodeForm>,
) -> Response {
    if !person.csrf_matches(&form.value.csrf) {
        return forged();
    }
    if person.session.stage == SessionStage::SecondFactor {
        return Redirect::to(next_for(person.session.stage)).into_response();
    }
    let now = state.people.now();
    let CodeForm { code, pending, .. } = form.value;
    match state
        .people
        .finish_enrolment(&person, &pending, &code, now)
        .await
    {
        Ok((codes, signed)) => {
            let page = Page::ok(&RecoveryCodesPage {
                layout: Layout::of(&person),
                codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
            });
            match signed {
                Some(s) => (
                    [(
                        header::SET_COOKIE,
                        set_session(s.cookie.expose(), &state.people),
                    )],
                    page,
                )
                    .into_response(),
                None => page.into_response(),
            }
        }
        Err(PeopleError::CodeRejected) => {
            let Some(enrolment) = state.people.reopen_enrolment(&person, &pending) else {
                return Redirect::to("/console/enrol").into_response();
            };
            enrol_form(
                &person,
                &enrolment,
                StatusCode::BAD_REQUEST,
                vec!["That code is not right. Check the app shows Tollgate's code, then try the next one.".into()],
            )
            .into_response()
        }
        Err(e) => error_page(e),
    }
}

/// A state-changing form of a signed-in person: its anti-forgery token must match the
/// session, and the session must be signed in fully; otherwise the answer to give instead.
fn refused(person: &Person, form: &ConsoleForm<CsrfForm>) -> Option<Response> {
    if !person.csrf_matches(&form.value.csrf) {
        return Some(forged());
    }
    if person.session.stage != SessionStage::Active {
        return Some(Redirect::to(next_for(person.session.stage)).into_response());
    }
    None
}

pub async fn sign_out(
    State(state): State<AppState>,
    Signed(person): Signed,
    form: ConsoleForm<CsrfForm>,
) -> Response {
    if !person.csrf_matches(&form.value.csrf) {
        return forged();
    }
    match state.people.sign_out(&person).await {
        Ok(()) => signed_out(&state),
        Err(e) => error_page(e),
    }
}

pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    Signed(person): Signed,
    form: ConsoleForm<CsrfForm>,
) -> Response {
    if let Some(answer) = refused(&person, &form) {
        return answer;
    }
    let now = state.people.now();
    match state.people.sign_out_everywhere(&person, now).await {
        Ok(_) => signed_out(&state),
        Err(e) => error_page(e),
    }
}

pub async fn remove_second_factor(
    State(state): State<AppState>,
    Signed(person): Signed,
    form: ConsoleForm<CsrfForm>,
) -> Response {
    if let Some(answer) = refused(&person, &form) {
        return answer;
    }
    let now = state.people.now();
    match state.people.remove_second_factor(&person, now).await {
        Ok(()) => Redirect::to("/console").into_response(),
        Err(e) => error_page(e),
    }
}

fn signed_out(state: &AppState) -> Response {
    (
        [(header::SET_COOKIE, clear_session(&state.people))],
        Redirect::to("/console/sign-in?done=signed-out"),
    )
        .into_response()
}
