//! The console's pages: askama templates (escaped by default, checked at compile time) and
//! the response every page is sent as: `no-store`, the console's Content-Security-Policy.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::CONSOLE_CSP;
use crate::domain::admin::Role;
use crate::service::people::Person;

const STYLESHEET: &str = include_str!("../../../assets/console.css");
/// The stylesheet's URL names the version, so a browser may keep it for a year.
pub const STYLESHEET_PATH: &str = concat!(
    "/console/assets/console-",
    env!("CARGO_PKG_VERSION"),
    ".css"
);

const SCRIPT: &str = include_str!("../../../assets/console.js");
/// The one script of the console (progressive enhancement; no page needs it to work).
pub const SCRIPT_PATH: &str = concat!("/console/assets/console-", env!("CARGO_PKG_VERSION"), ".js");

pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// Who is signed in, for the header.
pub struct Who {
    pub name: String,
    pub role: &'static str,
    pub csrf: String,
    grants: Role,
}

impl Who {
    /// Whether the person's role holds `scope`: pages show only the buttons it allows (the
    /// handler behind each one checks again).
    pub fn can(&self, scope: &str) -> bool {
        self.grants.allows(scope)
    }

    pub fn is_owner(&self) -> bool {
        self.grants == Role::Owner
    }
}

/// The part of the console a page belongs to, marked in the navigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    None,
    Dashboard,
    Clients,
    Apis,
    Keys,
    Audit,
    Administrators,
    Account,
}

pub struct Layout {
    pub stylesheet: &'static str,
    pub script: &'static str,
    pub person: Option<Who>,
    pub section: Section,
}

impl Layout {
    pub fn anonymous() -> Layout {
        Layout {
            stylesheet: STYLESHEET_PATH,
            script: SCRIPT_PATH,
            person: None,
            section: Section::None,
        }
    }

    /// The header shows the person once they are signed in fully.
    pub fn of(person: &Person) -> Layout {
        Layout {
            stylesheet: STYLESHEET_PATH,
            script: SCRIPT_PATH,
            person: Some(Who {
                name: person.admin.display_name.clone(),
                role: person.admin.role.as_str(),
                csrf: person.csrf_token().to_owned(),
                grants: person.admin.role,
            }),
            section: Section::None,
        }
    }

    /// [`Layout::of`] for a page of `section`.
    pub fn at(person: &Person, section: Section) -> Layout {
        Layout {
            section,
            ..Layout::of(person)
        }
    }

    /// `aria-current="page"` for the navigation link of the page's own section.
    pub fn current(&self, section: &str) -> &'static str {
        let here = match self.section {
            Section::None => "",
            Section::Dashboard => "dashboard",
            Section::Clients => "clients",
            Section::Apis => "apis",
            Section::Keys => "keys",
            Section::Audit => "audit",
            Section::Administrators => "administrators",
            Section::Account => "account",
        };
        if here == section { "page" } else { "false" }
    }
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
pub struct SignInPage<'a> {
    pub layout: Layout,
    pub errors: Vec<String>,
    pub errors_heading: &'a str,
    pub notice: Option<&'a str>,
    pub email: &'a str,
    pub sso_label: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "console/second_factor.html")]
pub struct SecondFactorPage<'a> {
    pub layout: Layout,
    pub errors: Vec<String>,
    pub errors_heading: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "console/enrol.html")]
pub struct EnrolPage<'a> {
    pub layout: Layout,
    pub errors: Vec<String>,
    pub errors_heading: &'a str,
    pub intro: &'a str,
    pub csrf: &'a str,
    pub qr_svg: &'a str,
    pub setup_key: &'a str,
    pub pending: &'a str,
}

#[derive(Template)]
#[template(path = "console/recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/account_form.html")]
pub struct AccountFormPage<'a> {
    pub layout: Layout,
    pub errors: Vec<String>,
    pub errors_heading: &'a str,
    pub heading: &'a str,
    pub intro: &'a str,
    pub action: &'a str,
    pub token: &'a str,
    pub ask_email: bool,
    pub email: &'a str,
    pub ask_name: bool,
    pub display_name: &'a str,
    pub button: &'a str,
}

#[derive(Template)]
#[template(path = "console/message.html")]
pub struct MessagePage<'a> {
    pub layout: Layout,
    pub heading: &'a str,
    pub message: &'a str,
    pub alert: bool,
    pub link: Option<(&'a str, &'a str)>,
    pub refresh_to: Option<&'a str>,
}

/// A rendered page with its status.
#[derive(Debug)]
pub struct Page {
    status: StatusCode,
    html: Result<String, askama::Error>,
}

impl Page {
    pub fn new(status: StatusCode, template: &impl Template) -> Page {
        Page {
            status,
            html: template.render(),
        }
    }

    pub fn ok(template: &impl Template) -> Page {
        Page::new(StatusCode::OK, template)
    }

    /// A page that only says something.
    pub fn message(status: StatusCode, heading: &str, message: &str) -> Page {
        Page::saying(status, heading, message, None)
    }

    pub fn message_with_link(
        status: StatusCode,
        heading: &str,
        message: &str,
        link: (&str, &str),
    ) -> Page {
        Page::saying(status, heading, message, Some(link))
    }

    fn saying(
        status: StatusCode,
        heading: &str,
        message: &str,
        link: Option<(&str, &str)>,
    ) -> Page {
        Page::new(
            status,
            &MessagePage {
                layout: Layout::anonymous(),
                heading,
                message,
                alert: !status.is_success(),
                link,
                refresh_to: None,
            },
        )
    }

    /// A page that moves the browser on to `to` at once. After single sign-on the provider's
    /// site led here, and a browser does not send a `SameSite=Strict` cookie on a redirect
    /// that a cross-site navigation started; a page of this site that moves on is same-site.
    pub fn moving_on(to: &str) -> Page {
        Page::new(
            StatusCode::OK,
            &MessagePage {
                layout: Layout::anonymous(),
                heading: "Signed in",
                message: "You are signed in.",
                alert: false,
                link: Some((to, "Continue to the console")),
                refresh_to: Some(to),
            },
        )
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let html = match self.html {
            Ok(html) => html,
            Err(e) => {
                tracing::error!(error = %e, "console: a page failed to render");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be shown",
                )
                    .into_response();
            }
        };
        let mut response = (self.status, html).into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONSOLE_CSP),
        );
        response
    }
}
