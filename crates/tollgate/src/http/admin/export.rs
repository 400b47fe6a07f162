//! Credential exports at the two moments a secret exists in clear (a client's creation, a
//! secret's addition): JSON (the default), a `.env` file, or a Postman environment that
//! Postman's OAuth 2.0 client-credentials helper can use as `{{client_id}}`,
//! `{{client_secret}}`, `{{token_url}}` and `{{scope}}`.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::IntoParams;

use super::extract::AdminQuery;
use super::problem::Problem;
use crate::clock::{Rng, SystemRng, UnixTime, random_bytes};
use crate::domain::client::Client;
use crate::domain::hex;
use crate::domain::secret::ClientSecret;
use crate::http::AppState;
use crate::http::oauth::TOKEN_PATH;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Env,
    Postman,
}

pub const ENV_MEDIA_TYPE: &str = "text/x-dotenv";
pub const POSTMAN_MEDIA_TYPE: &str = "application/vnd.postman.environment+json";

/// How the one-time credentials come back.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `json` (default), `env` (a .env file) or `postman` (a Postman environment). The Accept
    /// header `text/x-dotenv` or `application/vnd.postman.environment+json` does the same.
    #[param(pattern = "^(json|env|postman)$")]
    pub format: Option<String>,
}

/// The negotiated [`Format`] of a request that creates a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Export(pub Format);

impl<S: Send + Sync> FromRequestParts<S> for Export {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Export, Problem> {
        let AdminQuery(params) =
            AdminQuery::<ExportParams>::from_request_parts(parts, state).await?;
        negotiate(params.format.as_deref(), &parts.headers).map(Export)
    }
}

/// `?format=` wins; otherwise the Accept header; otherwise JSON.
pub fn negotiate(format: Option<&str>, headers: &HeaderMap) -> Result<Format, Problem> {
    match format {
        Some("json") => return Ok(Format::Json),
        Some("env") => return Ok(Format::Env),
        Some("postman") => return Ok(Format::Postman),
        Some(other) => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("format `{other}` is not one of json, env, postman"),
            ));
        }
        None => {}
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let wants = |t: &str| {
        accept.split(',').any(|m| {
            m.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(t))
        })
    };
    Ok(if wants(POSTMAN_MEDIA_TYPE) {
        Format::Postman
    } else if wants(ENV_MEDIA_TYPE) {
        Format::Env
    } else {
        Format::Json
    })
}

/// Everything an integration needs to get tokens.
#[derive(Debug)]
pub struct Credentials<'a> {
    pub name: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a ClientSecret,
    pub issuer: &'a str,
    pub token_url: &'a str,
    pub scope: &'a str,
}

/// The 201 answer carrying a new secret of `client`, at `location`, in the negotiated format:
/// `json_body` as JSON, or an export.
pub fn created(
    state: &AppState,
    Export(format): Export,
    location: &str,
    client: &Client,
    secret: &ClientSecret,
    json_body: impl Serialize,
    now: UnixTime,
) -> Response {
    let issuer = &state.tollgate.policy().issuer;
    let token_url = token_url(issuer);
    let scope = client.scopes.to_delimited();
    respond(
        format,
        StatusCode::CREATED,
        location,
        json_body,
        &Credentials {
            name: client.name.as_str(),
            client_id: client.id.as_str(),
            client_secret: secret,
            issuer,
            token_url: &token_url,
            scope: &scope,
        },
        now,
        &SystemRng,
    )
}

/// The response carrying a secret: `status` with `json` as the JSON form, or the export.
pub fn respond(
    format: Format,
    status: StatusCode,
    location: &str,
    json_body: impl Serialize,
    creds: &Credentials<'_>,
    now: UnixTime,
    rng: &dyn Rng,
) -> Response {
    let mut r = match format {
        Format::Json => (status, Json(json_body)).into_response(),
        Format::Env => (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    format!("{ENV_MEDIA_TYPE}; charset=utf-8"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", env_file_name(creds.name)),
                ),
            ],
            env_file(creds),
        )
            .into_response(),
        Format::Postman => (
            status,
            [
                (header::CONTENT_TYPE, POSTMAN_MEDIA_TYPE.to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", postman_file_name(creds.name)),
                ),
            ],
            postman_environment(creds, now, rng).to_string(),
        )
            .into_response(),
    };
    let h = r.headers_mut();
    // The body holds a secret: nothing on the way may keep a copy.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, v);
    }
    r
}

/// The token endpoint of `issuer`, as the exports name it.
pub fn token_url(issuer: &str) -> String {
    format!("{issuer}{TOKEN_PATH}")
}

/// A client's name as a file name: lower-case ASCII letters and digits, `-` for the rest.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The name of the `.env` export of the client `name`.
pub fn env_file_name(name: &str) -> String {
    format!("{}.env", file_stem(name))
}

/// The name of the Postman environment export of the client `name`.
pub fn postman_file_name(name: &str) -> String {
    format!("{}.postman_environment.json", file_stem(name))
}

/// Double-quoted with the characters that dotenv loaders and shells treat specially escaped.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

pub fn env_file(c: &Credentials<'_>) -> String {
    format!(
        "# Tollgate credentials for {name}. The secret is shown only once: keep this file\n\
         # secret, out of source control.\n\
         OAUTH_CLIENT_ID={id}\n\
         OAUTH_CLIENT_SECRET={secret}\n\
         OAUTH_TOKEN_URL={token_url}\n\
         OAUTH_ISSUER={issuer}\n\
         OAUTH_SCOPE={scope}\n",
        name = quoted(c.name),
        id = quoted(c.client_id),
        secret = quoted(c.client_secret.expose()),
        token_url = quoted(c.token_url),
        issuer = quoted(c.issuer),
        scope = quoted(c.scope),
    )
}

pub fn postman_environment(c: &Credentials<'_>, now: UnixTime, rng: &dyn Rng) -> serde_json::Value {
    let var = |key: &str, value: &str, kind: &str| json!({"key": key, "value": value, "type": kind, "enabled": true});
    json!({
        "id": uuid_v4(rng),
        "name": format!("Tollgate: {}", c.name),
        "values": [
            var("client_id", c.client_id, "default"),
            var("client_secret", c.client_secret.expose(), "secret"),
            var("token_url", c.token_url, "default"),
            var("issuer", c.issuer, "default"),
            var("scope", c.scope, "default"),
        ],
        "_postman_variable_scope": "environment",
        "_postman_exported_at": now.to_rfc3339(),
        "_postman_exported_using": concat!("Tollgate/", env!("CARGO_PKG_VERSION")),
    })
}

/// A random (version 4) UUID, as Postman identifies environments.
fn uuid_v4(rng: &dyn Rng) -> String {
    let mut b = random_bytes::<16>(rng);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(secret: &ClientSecret) -> Credentials<'_> {
        Credentials {
            name: "Report \"exporter\" $HOME",
            client_id: "tgc_1",
            client_secret: secret,
            issuer: "https://auth.example.com",
            token_url: "https://auth.example.com/oauth2/token",
            scope: "reports:export enterprise:user",
        }
    }

    #[test]
    fn env_file_quotes_and_escapes() {
        let secret = ClientSecret::new("tgs_2".into());
        let env = env_file(&creds(&secret));
        assert!(env.contains("OAUTH_CLIENT_ID=\"tgc_1\"\n"));
        assert!(env.contains("OAUTH_CLIENT_SECRET=\"tgs_2\"\n"));
        assert!(env.contains("OAUTH_SCOPE=\"reports:export enterprise:user\"\n"));
        assert!(env.contains("\\\"exporter\\\" \\$HOME"), "{env}");
    }

    #[test]
    fn file_names_come_from_the_client_name() {
        assert_eq!(env_file_name("Report Exporter 2"), "report-exporter-2.env");
        assert_eq!(postman_file_name("<b>ä"), "-b--.postman_environment.json");
    }

    #[test]
    fn postman_environment_shape() {
        let secret = ClientSecret::new("tgs_2".into());
        let p = postman_environment(&creds(&secret), UnixTime(0), &SystemRng);
        assert_eq!(p["_postman_variable_scope"], "environment");
        let id = p["id"].as_str().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        let secret = p["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == "client_secret")
            .unwrap();
        assert_eq!(secret["type"], "secret");
        assert_eq!(secret["value"], "tgs_2");
    }

    #[test]
    fn debug_of_credentials_hides_the_secret() {
        let secret = ClientSecret::new("tgs_0123456789abcdef".into());
        let shown = format!("{:?}", creds(&secret));
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(shown.contains("tgc_1"), "{shown}");
    }

    #[test]
    fn negotiation() {
        let mut h = HeaderMap::new();
        assert_eq!(negotiate(None, &h).unwrap(), Format::Json);
        h.insert(header::ACCEPT, HeaderValue::from_static("text/x-dotenv"));
        assert_eq!(negotiate(None, &h).unwrap(), Format::Env);
        assert_eq!(negotiate(Some("postman"), &h).unwrap(), Format::Postman);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/vnd.postman.environment+json;q=1, */*"),
        );
        assert_eq!(negotiate(None, &h).unwrap(), Format::Postman);
        assert!(negotiate(Some("xml"), &h).is_err());
    }
}
