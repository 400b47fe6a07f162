//! The credentials page, shown once: after "Create API client" and after "Add secret". It is
//! the answer to the POST itself (the secret is never in a URL), `no-store` like every console
//! page, and its downloads are `data:` links holding the admin API's own export files, so the
//! secret makes no further trip to the server.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;

use super::{forged, message};
use crate::clock::{SystemRng, UnixTime};
use crate::domain::client::{Client, ClientId, SecretInfo};
use crate::domain::secret::ClientSecret;
use crate::http::AppState;
use crate::http::admin::auth::ClientsWrite;
use crate::http::admin::export::{
    self, Credentials, ENV_MEDIA_TYPE, POSTMAN_MEDIA_TYPE, env_file, postman_environment,
};
use crate::http::admin::requests::{CreateSecretRequest, NewSecret};
use crate::http::console::pages::{Layout, Page, Section};
use crate::http::console::{Allowed, ConsoleForm, error_page_for_clients};
use crate::service::ClientError;
use crate::service::people::Person;

/// The longest expiry "Add secret" takes: a hundred years.
const MAX_EXPIRES_IN: u64 = 100 * 365 * 24 * 3600;

#[derive(Template)]
#[template(path = "console/credentials.html")]
pub struct CredentialsPage<'a> {
    pub layout: Layout,
    pub name: &'a str,
    pub client_id: &'a str,
    pub secret: &'a str,
    /// Which row of the client's secrets this is, to remove the right one later.
    pub secret_id: &'a str,
    /// An additional secret (from "Add secret"), not a new client's first.
    pub added: bool,
    pub expires: Option<String>,
    pub token_url: &'a str,
    pub scopes: Vec<String>,
    pub curl: String,
    pub notes: Vec<String>,
    pub env_name: String,
    pub env_href: String,
    pub postman_name: String,
    pub postman_href: String,
}

/// The credentials page for `secret` of `client`; `added` is the secret "Add secret" made.
pub fn page(
    state: &AppState,
    person: &Person,
    client: &Client,
    secret: &ClientSecret,
    added: Option<&SecretInfo>,
) -> Response {
    let issuer = &state.tollgate.policy().issuer;
    let token_url = export::token_url(issuer);
    let scope = client.scopes.to_delimited();
    let creds = Credentials {
        name: client.name.as_str(),
        client_id: client.id.as_str(),
        client_secret: secret,
        issuer,
        token_url: &token_url,
        scope: &scope,
    };
    let postman = postman_environment(&creds, state.tollgate.now(), &SystemRng).to_string();
    let (curl, notes) = curl(state, client, secret, &token_url);
    Page::ok(&CredentialsPage {
        layout: Layout::at(person, Section::Clients),
        name: client.name.as_str(),
        client_id: client.id.as_str(),
        secret: secret.expose(),
        secret_id: added
            .or(client.secrets.first())
            .map_or("", |s| s.id.as_str()),
        added: added.is_some(),
        expires: added.and_then(|s| s.expires_at).map(UnixTime::to_rfc3339),
        token_url: &token_url,
        scopes: client.scopes.to_vec(),
        curl,
        notes,
        env_name: export::env_file_name(client.name.as_str()),
        env_href: data_url(
            &format!("{ENV_MEDIA_TYPE};charset=utf-8"),
            &env_file(&creds),
        ),
        postman_name: export::postman_file_name(client.name.as_str()),
        postman_href: data_url(POSTMAN_MEDIA_TYPE, &postman),
    })
    .into_response()
}

/// A `data:` URL: the browser makes the file itself, nothing goes back to the server.
fn data_url(media_type: &str, body: &str) -> String {
    format!("data:{media_type};base64,{}", B64.encode(body))
}

/// `'…'` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A curl command that gets a token, and what to know about it: a client with permissions on
/// several APIs names one with `resource`, one bound to several tenants names one with
/// `tenant`.
fn curl(
    state: &AppState,
    client: &Client,
    secret: &ClientSecret,
    token_url: &str,
) -> (String, Vec<String>) {
    let catalogue = state.tollgate.catalogue();
    let mut apis: Vec<&str> = Vec::new();
    for s in client.scopes.iter() {
        if let Some(api) = catalogue.api_of(s.as_str()) {
            let identifier = api.identifier.as_str();
            if !apis.contains(&identifier) {
                apis.push(identifier);
            }
        }
    }
    let mut lines = vec![
        format!(
            "curl --user {}",
            sh_quote(&format!("{}:{}", client.id.as_str(), secret.expose()))
        ),
        "  --data grant_type=client_credentials".to_owned(),
    ];
    let mut notes = Vec::new();
    if let [first, others @ ..] = apis.as_slice()
        && !others.is_empty()
    {
        lines.push(format!(
            "  --data-urlencode {}",
            sh_quote(&format!("resource={first}"))
        ));
        notes.push(format!(
            "The permissions belong to several APIs, and a token is for one of them: change \
             resource to {} for a token for the others.",
            others.join(" or ")
        ));
    }
    if let [first, _, ..] = client.tenants.as_slice() {
        lines.push(format!(
            "  --data-urlencode {}",
            sh_quote(&format!("tenant={}", first.as_str()))
        ));
        notes.push(
            "The client is bound to several tenants: each token is for the one it names."
                .to_owned(),
        );
    }
    lines.push(format!("  {}", sh_quote(token_url)));
    (lines.join(" \\\n"), notes)
}

/// "Add secret" on the client's page: `expires_in` in seconds, empty for no expiry.
#[derive(Debug, Deserialize)]
pub struct AddSecretForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    expires_in: String,
}

/// The admin API's request for `expires_in` seconds from `now`, or what is wrong with it.
fn expiry(expires_in: &str, now: UnixTime) -> Result<CreateSecretRequest, String> {
    let text = expires_in.trim();
    if text.is_empty() {
        return Ok(CreateSecretRequest { expires_at: None });
    }
    match text.parse::<u64>() {
        Ok(secs) if (1..=MAX_EXPIRES_IN).contains(&secs) => Ok(CreateSecretRequest {
            expires_at: Some(now.plus_secs(secs).to_rfc3339()),
        }),
        Ok(_) => Err(format!(
            "“Expires in” must be between 1 second and {MAX_EXPIRES_IN} seconds (a hundred \
             years), or empty for a secret that does not expire."
        )),
        Err(_) => Err(format!(
            "“Expires in” must be a whole number of seconds (such as 86400 for a day), or \
             empty for a secret that does not expire; “{text}” is not."
        )),
    }
}

pub async fn add_secret(
    State(state): State<AppState>,
    Allowed(person, ..): Allowed<ClientsWrite>,
    Path(client_id): Path<String>,
    form: ConsoleForm<AddSecretForm>,
) -> Response {
    if !person.csrf_matches(&form.value.csrf) {
        return forged(&person);
    }
    let not_found = || {
        message(
            &person,
            StatusCode::NOT_FOUND,
            "No such API client",
            "There is no API client with this id; it may have been deleted.",
            ("/console/clients", "Back to API clients"),
        )
    };
    let Ok(id) = ClientId::parse(&client_id) else {
        return not_found();
    };
    let back = format!("/console/clients/{}", id.as_str());
    let refused = |status, why: &str| {
        message(
            &person,
            status,
            "The secret was not added",
            why,
            (&back, "Back to the client"),
        )
    };
    let now = state.tollgate.now();
    let new = match expiry(&form.value.expires_in, now).map(NewSecret::try_from) {
        Ok(Ok(new)) => new,
        Ok(Err(problem)) => {
            let why: Vec<String> = problem.errors.into_iter().map(|e| e.message).collect();
            return refused(
                StatusCode::BAD_REQUEST,
                &format!("The expiry {}.", why.join("; ")),
            );
        }
        Err(why) => return refused(StatusCode::BAD_REQUEST, &why),
    };
    let added = state
        .tollgate
        .add_secret(&person.acting(), &id, new.expires_at, now)
        .await;
    let (info, secret) = match added {
        Ok(added) => added,
        Err(ClientError::NotFound) => return not_found(),
        Err(ClientError::Validation(errors)) => {
            let why: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            return refused(
                StatusCode::BAD_REQUEST,
                &format!("The expiry {}.", why.join("; ")),
            );
        }
        Err(ClientError::TooManySecrets(max)) => {
            return refused(
                StatusCode::CONFLICT,
                &format!(
                    "The client already holds {max} secrets, the most it may. Remove one it \
                     no longer uses, then add the new one."
                ),
            );
        }
        Err(e) => return error_page_for_clients(e),
    };
    tracing::info!(client_id = %id, secret_id = info.id.as_str(), "secret added in the console");
    match state.tollgate.get_client(&id).await {
        Ok(client) => page(&state, &person, &client, &secret, Some(&info)),
        Err(e) => error_page_for_clients(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_for_the_shell() {
        assert_eq!(sh_quote("tgc_1:tgs_2"), "'tgc_1:tgs_2'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn a_data_url_holds_the_file() {
        let url = data_url("text/x-dotenv;charset=utf-8", "A=\"b\"\n");
        let body = url
            .strip_prefix("data:text/x-dotenv;charset=utf-8;base64,")
            .unwrap();
        assert_eq!(B64.decode(body).unwrap(), b"A=\"b\"\n");
    }

    #[test]
    fn an_expiry_in_seconds_becomes_the_admin_api_request() {
        let now = UnixTime(1_700_000_000);
        assert_eq!(expiry(" ", now).unwrap().expires_at, None);
        let req = expiry("86400", now).unwrap();
        let new = NewSecret::try_from(req).unwrap();
        assert_eq!(new.expires_at, Some(UnixTime(1_700_086_400)));
        assert!(expiry("0", now).unwrap_err().contains("between 1 second"));
        assert!(expiry("-5", now).unwrap_err().contains("whole number"));
        assert!(expiry("1 day", now).unwrap_err().contains("“1 day” is not"));
        assert!(expiry(&(MAX_EXPIRES_IN + 1).to_string(), now).is_err());
    }
}
