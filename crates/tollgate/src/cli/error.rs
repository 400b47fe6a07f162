//! Everything a CLI command can fail with, each saying what to do about it.

use std::fmt;

use reqwest::StatusCode;

use crate::config::ConfigError;
use crate::http::admin::problem::{ProblemClient, ProblemField};
use crate::startup::BuildError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Start(#[from] BuildError),
    #[error("server error: {0}")]
    Server(std::io::Error),
    #[error("TOLLGATE_OTLP_ENDPOINT / `otlp_endpoint`: {0}")]
    Traces(String),
    #[error("migration failed: {0}")]
    Migration(BuildError),
    #[error(transparent)]
    Backup(#[from] crate::store::sqlite::backup::BackupError),
    #[error(
        "this installation uses PostgreSQL: back it up with pg_dump and restore with \
         pg_restore (docs/deploy.md, \"Backups\"); `tollgate backup` copies SQLite databases"
    )]
    BackupPostgres,
    #[error("--endpoint `{endpoint}` is not a URL ({source}); use e.g. http://127.0.0.1:8080")]
    EndpointNotUrl {
        endpoint: String,
        source: url::ParseError,
    },
    #[error("--endpoint `{0}` must be an http or https URL")]
    EndpointScheme(String),
    #[error(
        "refusing to send credentials over plain http to `{0}`, which is not this machine: use \
         https, or pass --insecure-http (TOLLGATE_INSECURE_HTTP=1) if the network in between is \
         trusted"
    )]
    InsecureEndpoint(String),
    #[error("cannot build an HTTP client: {0}")]
    HttpClient(reqwest::Error),
    #[error(
        "cannot reach Tollgate at {endpoint} ({source}). Is the server running? Point \
         --endpoint or TOLLGATE_ENDPOINT at it."
    )]
    Unreachable {
        endpoint: String,
        source: reqwest::Error,
    },
    #[error(
        "set TOLLGATE_CLIENT_ID and TOLLGATE_CLIENT_SECRET to a client's credentials (the \
         administrator's are printed when the server first starts)"
    )]
    NoCredentials,
    #[error("the token endpoint answered {status} with a body that is not JSON ({source})")]
    TokenNotJson {
        status: StatusCode,
        source: reqwest::Error,
    },
    #[error(
        "token request refused: {code}: {description}{}",
        invalid_client_hint(code)
    )]
    TokenRefused { code: String, description: String },
    #[error("the token response has no access_token")]
    NoAccessToken,
    #[error("{endpoint} does not look like a Tollgate server ({source})")]
    NotTollgate {
        endpoint: String,
        source: reqwest::Error,
    },
    #[error("{0} does not look like a Tollgate server")]
    NoIssuer(String),
    #[error("the admin API answered {status} with a body that is not JSON ({source})")]
    NotJson {
        status: StatusCode,
        source: serde_json::Error,
    },
    #[error("the admin API answered {status} with a body this CLI does not understand ({source})")]
    UnexpectedAnswer {
        status: StatusCode,
        source: serde_json::Error,
    },
    #[error("cannot read the answer: {0}")]
    Read(reqwest::Error),
    #[error(transparent)]
    Api(#[from] ApiProblem),
    /// A command's own check failed; the message says what to do.
    #[error("{0}")]
    Usage(String),
    #[error(
        "nothing to update: give --name, --description, --scope, --no-scopes, --tenant, \
         --no-tenants, --claims, --no-claims, --token-lifetime or --default-token-lifetime"
    )]
    NothingToUpdate,
    #[error(
        "nothing to update: give --identifier, --name, --description, --permission, \
         --add-permission, --remove-permission, --token-lifetime or --default-token-lifetime"
    )]
    NothingToUpdateApi,
    #[error(
        "this client cannot use the admin API ({0}): TOLLGATE_CLIENT_ID must be a client with \
         the scope tollgate:admin, or another permission of the admin API such as \
         tollgate:clients:read"
    )]
    NotAnAdmin(String),
    #[error("API {api_id} publishes no permission `{value}`: nothing to remove")]
    NoSuchPermission { api_id: String, value: String },
    #[error("cannot read the secret from standard input: {0}")]
    Stdin(std::io::Error),
    #[error(
        "pipe the leaked secret into standard input, e.g. `tollgate clients secrets leaked < \
         found.txt`"
    )]
    NoLeakedSecret,
}

fn invalid_client_hint(code: &str) -> &'static str {
    if code == "invalid_client" {
        " (check TOLLGATE_CLIENT_ID and TOLLGATE_CLIENT_SECRET)"
    } else {
        ""
    }
}

/// A problem the admin API reported (RFC 9457), shown as a message that says what to do.
#[derive(Debug, thiserror::Error)]
pub struct ApiProblem {
    pub status: StatusCode,
    pub detail: Option<String>,
    /// The problem's stable name (`code`), when the admin API gave one.
    pub code: Option<String>,
    pub errors: Vec<ProblemField>,
    /// The clients in the way of a catalogue change (`permissions_in_use`).
    pub clients: Vec<ProblemClient>,
}

impl fmt::Display for ApiProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(d) => f.write_str(d)?,
            None => write!(f, "the admin API answered {}", self.status)?,
        }
        for e in &self.errors {
            write!(f, "\n  {}: {}", e.field, e.message)?;
        }
        for c in &self.clients {
            write!(f, "\n  client {} holds {}", c.client_id, c.scopes.join(" "))?;
        }
        if self.code.as_deref() == Some("permissions_in_use") {
            f.write_str(
                "\n  (repeat the command with --take-from-clients to take the permissions from \
                 these clients too)",
            )?;
        }
        if self.status == StatusCode::FORBIDDEN {
            f.write_str("\n  (TOLLGATE_CLIENT_ID must be a client with the scope tollgate:admin)")?;
        }
        Ok(())
    }
}
