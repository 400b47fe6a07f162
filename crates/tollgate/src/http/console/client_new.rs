//! "Create API client": the form (name, description, the catalogue's permissions, more
//! settings) and its post, validated by the admin API's own request type and answered with
//! the credentials page (see `credentials`), which "Add secret" answers with too.

mod credentials;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::pages::{Layout, MessagePage, Page, Section};
use super::{Allowed, ConsoleForm, error_page_for_clients};
use crate::domain::api::Api;
use crate::domain::client::{FieldError, NewClient};
use crate::http::AppState;
use crate::http::admin::auth::ClientsWrite;
use crate::http::admin::requests::CreateClientRequest;
use crate::service::ClientError;
use crate::service::people::Person;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/clients/new", get(form).post(create))
        .route(
            "/console/clients/{client_id}/secrets",
            post(credentials::add_secret),
        )
}

/// The form as typed, shown again when it has errors.
#[derive(Debug, Default)]
pub struct Typed {
    csrf: String,
    pub name: String,
    pub description: String,
    pub scopes: Vec<String>,
    pub lifetime: String,
    pub algorithm: String,
    pub tenants: String,
    pub claims: String,
    /// "true", "false" or empty (the server's default).
    pub locked: String,
}

impl Typed {
    fn from_pairs(pairs: Vec<(String, String)>) -> Typed {
        let mut t = Typed::default();
        for (key, value) in pairs {
            // Browsers send a textarea's line breaks as CR LF; a description keeps LF only.
            let value = value.replace("\r\n", "\n");
            match key.as_str() {
                "csrf" => t.csrf = value,
                "name" => t.name = value,
                "description" => t.description = value,
                "scopes" => t.scopes.push(value),
                "access_token_lifetime" => t.lifetime = value,
                "signing_algorithm" => t.algorithm = value,
                "tenants" => t.tenants = value,
                "claims" => t.claims = value,
                "scopes_locked" => t.locked = value,
                _ => {}
            }
        }
        t
    }

    /// The admin API's request for what was typed, and the errors of the fields that the
    /// form carries as text and the request as typed values (a lifetime that is not a
    /// number, claims that are not JSON).
    fn request(&self) -> (CreateClientRequest, Vec<FieldError>) {
        let mut errors = Vec::new();
        let lifetime = self.lifetime.trim();
        let access_token_lifetime = if lifetime.is_empty() {
            None
        } else if let Ok(secs) = lifetime.parse::<u64>() {
            Some(secs)
        } else {
            errors.push(FieldError::new(
                "access_token_lifetime",
                "must be a whole number of seconds, such as 3600",
            ));
            None
        };
        let claims = self.claims.trim();
        let claims = if claims.is_empty() {
            None
        } else {
            match serde_json::from_str(claims) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(FieldError::new(
                        "claims",
                        format!("are not valid JSON ({e}); write an object such as {{\"org\": \"acme\"}}"),
                    ));
                    None
                }
            }
        };
        let algorithm = self.algorithm.trim();
        let request = CreateClientRequest {
            name: self.name.clone(),
            description: self.description.clone(),
            scopes: self.scopes.clone(),
            access_token_lifetime,
            signing_algorithm: (!algorithm.is_empty()).then(|| algorithm.to_owned()),
            tenants: self.tenant_list(),
            claims,
            scopes_locked: match self.locked.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
        };
        (request, errors)
    }

    /// Tenant ids separated by commas, spaces or lines.
    fn tenant_list(&self) -> Vec<String> {
        self.tenants
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Whether the permission `value` is ticked.
    pub fn picked(&self, value: &str) -> bool {
        self.scopes.iter().any(|s| s == value)
    }
}

/// The errors of a form, each in words, by the field it belongs beside.
#[derive(Debug, Default)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    /// What is wrong with `field`, if anything.
    pub fn of(&self, field: &str) -> Option<String> {
        let found: Vec<&str> = self
            .0
            .iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
            .collect();
        (!found.is_empty()).then(|| found.join(" "))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, field: &'static str, message: String) {
        self.0.push((field, message));
    }

    /// A validation error of the admin API's request (`name`, `scopes[1]`, `claims.aud`, …)
    /// as a sentence beside its form field.
    fn add(&mut self, e: &FieldError, typed: &Typed) {
        let base = e.field.split(['[', '.']).next().unwrap_or_default();
        let index = e
            .field
            .strip_prefix(base)
            .and_then(|rest| rest.strip_prefix('['))
            .and_then(|rest| rest.split(']').next())
            .and_then(|i| i.parse::<usize>().ok());
        let (field, label) = match base {
            "name" => ("name", "Name".to_owned()),
            "description" => ("description", "Description".to_owned()),
            "scopes" => (
                "scopes",
                index
                    .and_then(|i| typed.scopes.get(i))
                    .map_or("Permissions".to_owned(), |s| format!("Permission “{s}”")),
            ),
            "access_token_lifetime" => ("access_token_lifetime", "Token lifetime".to_owned()),
            "signing_algorithm" => ("signing_algorithm", "Signing algorithm".to_owned()),
            "tenants" => (
                "tenants",
                index
                    .and_then(|i| typed.tenant_list().get(i).cloned())
                    .map_or("Tenants".to_owned(), |t| format!("Tenant “{t}”")),
            ),
            "claims" => ("claims", "Static claims".to_owned()),
            _ => ("form", "The form".to_owned()),
        };
        let message = e.message.trim_end_matches('.');
        let joined = if ["must ", "is ", "are "]
            .iter()
            .any(|p| message.starts_with(p))
        {
            format!("{label} {message}.")
        } else {
            format!("{label}: {message}.")
        };
        self.push(field, joined);
    }

    /// Every message, for the summary above the form.
    fn summary(&self) -> Vec<String> {
        self.0.iter().map(|(_, m)| m.clone()).collect()
    }
}

/// One API of the catalogue, as a group of checkboxes.
pub struct ApiGroup {
    pub name: String,
    pub identifier: String,
    pub description: String,
    pub builtin: bool,
    pub lifetime: Option<u64>,
    pub permissions: Vec<Choice>,
}

/// One permission: a checkbox labelled by its value, its description beside it.
pub struct Choice {
    pub id: String,
    pub value: String,
    pub description: String,
    pub checked: bool,
}

/// The catalogue's APIs, the organisation's own first and Tollgate's admin API last.
fn groups(apis: &[Api], typed: &Typed) -> Vec<ApiGroup> {
    let mut ordered: Vec<&Api> = apis.iter().filter(|a| !a.is_builtin()).collect();
    ordered.extend(apis.iter().filter(|a| a.is_builtin()));
    ordered
        .into_iter()
        .enumerate()
        .map(|(i, api)| ApiGroup {
            name: api.name.as_str().to_owned(),
            identifier: api.identifier.as_str().to_owned(),
            description: api.description.as_str().to_owned(),
            builtin: api.is_builtin(),
            lifetime: api.access_token_lifetime,
            permissions: api
                .all_permissions()
                .into_iter()
                .enumerate()
                .map(|(j, p)| Choice {
                    id: format!("perm-{i}-{j}"),
                    checked: typed.picked(p.value.as_str()),
                    value: p.value.as_str().to_owned(),
                    description: p.description,
                })
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/client_new.html")]
pub struct ClientNewPage<'a> {
    pub layout: Layout,
    pub errors: Vec<String>,
    pub errors_heading: &'a str,
    pub field: &'a Errors,
    pub csrf: &'a str,
    pub typed: &'a Typed,
    pub apis: Vec<ApiGroup>,
    pub own_apis: bool,
    pub default_lifetime: u64,
    pub default_algorithm: &'static str,
    pub algorithms: Vec<&'static str>,
    pub lock_default: bool,
}

impl ClientNewPage<'_> {
    /// Whether the "locked" choice is the one selected.
    pub fn locked(&self) -> bool {
        match self.typed.locked.as_str() {
            "true" => true,
            "false" => false,
            _ => self.lock_default,
        }
    }

    /// "More settings" starts open when something in it was typed or is wrong.
    pub fn more_open(&self) -> bool {
        let t = self.typed;
        !(t.lifetime.trim().is_empty()
            && t.algorithm.is_empty()
            && t.tenants.trim().is_empty()
            && t.claims.trim().is_empty()
            && self.locked() == self.lock_default)
            || [
                "access_token_lifetime",
                "signing_algorithm",
                "tenants",
                "claims",
            ]
            .iter()
            .any(|f| self.field.of(f).is_some())
    }
}

fn render(
    state: &AppState,
    person: &Person,
    typed: &Typed,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let catalogue = state.tollgate.catalogue();
    let keys = state.tollgate.keys();
    Page::new(
        status,
        &ClientNewPage {
            layout: Layout::at(person, Section::Clients),
            errors: errors.summary(),
            errors_heading: "The API client was not created. Please check:",
            field: errors,
            csrf: person.csrf_token(),
            typed,
            apis: groups(catalogue.apis(), typed),
            own_apis: catalogue.apis().iter().any(|a| !a.is_builtin()),
            default_lifetime: state.tollgate.policy().default_lifetime,
            default_algorithm: keys.current().algorithm().as_str(),
            algorithms: keys
                .signing_algorithms()
                .into_iter()
                .map(|a| a.as_str())
                .collect(),
            lock_default: state.tollgate.locks_client_scopes_by_default(),
        },
    )
    .into_response()
}

pub async fn form(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ClientsWrite>,
) -> Response {
    render(
        &state,
        &person,
        &Typed::default(),
        &Errors::default(),
        StatusCode::OK,
    )
}

pub async fn create(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ClientsWrite>,
    form: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let typed = Typed::from_pairs(form.value);
    if !person.csrf_matches(&typed.csrf) {
        return forged(&person);
    }
    let mut errors = Errors::default();
    let (request, early) = typed.request();
    for e in &early {
        errors.add(e, &typed);
    }
    let new = match NewClient::try_from(request) {
        Ok(new) if errors.is_empty() => new,
        Ok(_) => return render(&state, &person, &typed, &errors, StatusCode::BAD_REQUEST),
        Err(problem) => {
            for p in problem.errors {
                errors.add(&FieldError::new(p.field, p.message), &typed);
            }
            return render(&state, &person, &typed, &errors, StatusCode::BAD_REQUEST);
        }
    };
    // The service refuses these too; here they are said in the console's words.
    for s in state.tollgate.catalogue().unknown(&new.scopes) {
        errors.push(
            "scopes",
            format!(
                "“{s}” is not a permission of any API in the catalogue (it may have been \
                 removed since this form was shown)."
            ),
        );
    }
    if !errors.is_empty() {
        return render(&state, &person, &typed, &errors, StatusCode::BAD_REQUEST);
    }
    let name = new.name.as_str().to_owned();
    let now = state.tollgate.now();
    match state
        .tollgate
        .create_client(&person.actor(), new, now)
        .await
    {
        Ok((client, secret)) => {
            tracing::info!(client_id = %client.id, "client created in the console");
            credentials::page(&state, &person, &client, &secret, None)
        }
        Err(ClientError::Validation(list)) => {
            for e in &list {
                errors.add(e, &typed);
            }
            render(&state, &person, &typed, &errors, StatusCode::BAD_REQUEST)
        }
        Err(ClientError::NameTaken) => {
            errors.push(
                "name",
                format!(
                    "An API client named “{name}” already exists: names are unique, choose \
                     another."
                ),
            );
            render(&state, &person, &typed, &errors, StatusCode::BAD_REQUEST)
        }
        Err(e) => error_page_for_clients(e),
    }
}

/// A page that only says something, with the navigation of a signed-in person.
fn message(
    person: &Person,
    status: StatusCode,
    heading: &str,
    message: &str,
    link: (&str, &str),
) -> Response {
    Page::new(
        status,
        &MessagePage {
            layout: Layout::at(person, Section::Clients),
            heading,
            message,
            alert: true,
            link: Some(link),
            refresh_to: None,
        },
    )
    .into_response()
}

/// The answer to a form without this session's anti-forgery token.
fn forged(person: &Person) -> Response {
    message(
        person,
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form is out of date or was not sent from the console. Reload the page and try \
         again.",
        ("/console/clients", "Back to API clients"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(pairs: &[(&str, &str)]) -> Typed {
        Typed::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn the_form_becomes_the_admin_api_request() {
        let t = typed(&[
            ("name", "Exporter"),
            ("description", "line one\r\nline two"),
            ("scopes", "reports:read"),
            ("scopes", "reports:write"),
            ("access_token_lifetime", " 600 "),
            ("tenants", "acme, globex\ninitech"),
            ("claims", "{\"org\": \"acme\"}"),
            ("scopes_locked", "true"),
            ("unknown", "ignored"),
        ]);
        let (req, errors) = t.request();
        assert!(errors.is_empty());
        assert_eq!(req.description, "line one\nline two");
        assert_eq!(req.scopes, ["reports:read", "reports:write"]);
        assert_eq!(req.access_token_lifetime, Some(600));
        assert_eq!(req.tenants, ["acme", "globex", "initech"]);
        assert_eq!(req.claims, Some(serde_json::json!({"org": "acme"})));
        assert_eq!(req.scopes_locked, Some(true));
        assert_eq!(req.signing_algorithm, None);
        assert!(NewClient::try_from(req).is_ok());
    }

    #[test]
    fn each_error_lands_beside_its_field_in_words() {
        let t = typed(&[
            ("name", " "),
            ("scopes", "ok"),
            ("scopes", "not ok"),
            ("access_token_lifetime", "an hour"),
            ("tenants", "acme bad/tenant"),
            ("claims", "{\"aud\": \"x\"}"),
        ]);
        let (req, early) = t.request();
        let mut errors = Errors::default();
        for e in &early {
            errors.add(e, &t);
        }
        for p in NewClient::try_from(req).unwrap_err().errors {
            errors.add(&FieldError::new(p.field, p.message), &t);
        }
        assert_eq!(
            errors.of("access_token_lifetime").unwrap(),
            "Token lifetime must be a whole number of seconds, such as 3600."
        );
        assert_eq!(errors.of("name").unwrap(), "Name must not be empty.");
        assert!(
            errors
                .of("scopes")
                .unwrap()
                .starts_with("Permission “not ok”:")
        );
        assert!(
            errors
                .of("tenants")
                .unwrap()
                .starts_with("Tenant “bad/tenant”:")
        );
        assert!(errors.of("claims").unwrap().contains("`aud`"));
        assert_eq!(errors.of("description"), None);
        assert_eq!(errors.summary().len(), 5);
    }

    #[test]
    fn claims_that_are_not_json_are_said_so() {
        let (_, errors) = typed(&[("name", "x"), ("claims", "{org: acme}")]).request();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "claims");
        assert!(errors[0].message.starts_with("are not valid JSON"));
    }
}
