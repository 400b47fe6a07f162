//! RFC 9457 problem details for the admin API, and the one mapping from service errors.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::client::FieldError;
use crate::http::InternalError;
use crate::keys::KeyLifecycleError;
use crate::service::{CatalogueError, ClientError};

/// An `application/problem+json` body (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: `code` says which problem this is.
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// A stable, machine-readable name for the problem.
    pub code: &'static str,
    /// Each invalid field and what is wrong with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// The clients in the way of a catalogue change (`permissions_in_use`), with the
    /// permissions each holds that the change removes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ProblemClient>,
    #[serde(skip)]
    #[schema(ignore)]
    internal: Option<String>,
    #[serde(skip)]
    #[schema(ignore)]
    www_authenticate: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProblemClient {
    pub client_id: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            type_: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            errors: Vec::new(),
            clients: Vec::new(),
            internal: None,
            www_authenticate: None,
        }
    }

    pub fn validation(errors: Vec<FieldError>) -> Problem {
        let mut p = Problem::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "the request has invalid fields; see `errors`",
        );
        p.errors = errors
            .into_iter()
            .map(|e| ProblemField {
                field: e.field,
                message: e.message,
            })
            .collect();
        p
    }

    pub fn internal(cause: impl std::fmt::Display) -> Problem {
        let mut p = Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server could not complete the request; the cause is in its log",
        );
        p.internal = Some(cause.to_string());
        p
    }

    /// The database is away: a 503 that says to retry, the cause kept for the log only.
    pub fn unavailable(cause: impl std::fmt::Display) -> Problem {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the server cannot reach its database right now; try again shortly",
        );
        p.internal = Some(cause.to_string());
        p
    }

    pub fn with_challenge(mut self, challenge: String) -> Problem {
        self.www_authenticate = Some(challenge);
        self
    }

    pub fn client_not_found() -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "client_not_found",
            "no client with this id",
        )
    }

    pub fn secret_not_found() -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "secret_not_found",
            "the client has no secret with this id",
        )
    }
}

impl From<ClientError> for Problem {
    fn from(e: ClientError) -> Problem {
        match e {
            ClientError::Validation(errors) => Problem::validation(errors),
            ClientError::NameTaken => Problem::new(
                StatusCode::CONFLICT,
                "name_taken",
                "a client with this name already exists; names are unique",
            ),
            ClientError::NotFound => Problem::client_not_found(),
            e @ ClientError::BeyondYourPermissions(_) => Problem::new(
                StatusCode::FORBIDDEN,
                "beyond_your_permissions",
                e.to_string(),
            ),
            ClientError::SecretNotFound => Problem::secret_not_found(),
            ClientError::TooManySecrets(max) => Problem::new(
                StatusCode::CONFLICT,
                "too_many_secrets",
                format!("the client already holds {max} secrets; remove one first"),
            ),
            ClientError::NotATollgateSecret => Problem::new(
                StatusCode::BAD_REQUEST,
                "not_a_tollgate_secret",
                "this is not a secret Tollgate generated: it lacks the tgs_ prefix or its \
                 checksum is wrong",
            ),
            ClientError::UnknownSecret => Problem::new(
                StatusCode::NOT_FOUND,
                "secret_not_found",
                "no client holds this secret (it may have been removed already)",
            ),
            ClientError::Keys(KeyLifecycleError::InactiveAlgorithm(a)) => Problem::new(
                StatusCode::BAD_REQUEST,
                "inactive_algorithm",
                format!(
                    "{a} is not an active signing algorithm here; add it to \
                     extra_signing_algorithms first"
                ),
            ),
            ClientError::Keys(e @ KeyLifecycleError::AlreadyAnnounced { .. }) => Problem::new(
                StatusCode::CONFLICT,
                "key_already_announced",
                format!("{e}; use `immediate` to replace the current key at once"),
            ),
            ClientError::Keys(e @ KeyLifecycleError::Busy) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "rotation_in_progress",
                format!("{e}"),
            ),
            ClientError::Keys(KeyLifecycleError::Store(e)) if e.is_unavailable() => {
                Problem::unavailable(e)
            }
            ClientError::Keys(e) => Problem::internal(e),
            ClientError::ScopesLocked => Problem::new(
                StatusCode::CONFLICT,
                "scopes_locked",
                "this client's scopes were locked when it was created and cannot change; \
                 create a new client with the scopes it needs, then delete this one",
            ),
            ClientError::LastSecret => Problem::new(
                StatusCode::CONFLICT,
                "last_secret",
                "removing the only secret would lock the client out; add a new secret first, \
                 or delete the client",
            ),
            ClientError::Store(e) if e.is_unavailable() => Problem::unavailable(e),
            ClientError::Store(e) => Problem::internal(e),
        }
    }
}

impl From<CatalogueError> for Problem {
    fn from(e: CatalogueError) -> Problem {
        match e {
            CatalogueError::Validation(errors) => Problem::validation(errors),
            CatalogueError::NotFound => Problem::new(
                StatusCode::NOT_FOUND,
                "api_not_found",
                "no API with this id; GET /admin/v1/apis lists them",
            ),
            CatalogueError::BuiltIn(why) => Problem::new(StatusCode::CONFLICT, "built_in_api", why),
            CatalogueError::InUse(holders) => {
                let names: Vec<&str> = holders.iter().map(|h| h.client_id.as_str()).collect();
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "permissions_in_use",
                    format!(
                        "clients hold permissions this change removes: {}; change those \
                         clients first, or repeat the request with `take_from_clients=true` \
                         to take the permissions from them too",
                        names.join(", ")
                    ),
                );
                p.clients = holders
                    .into_iter()
                    .map(|h| ProblemClient {
                        client_id: h.client_id.as_str().to_owned(),
                        scopes: h.scopes,
                    })
                    .collect();
                p
            }
            CatalogueError::Store(e) if e.is_unavailable() => Problem::unavailable(e),
            CatalogueError::Store(e) => Problem::internal(e),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            )],
            body,
        )
            .into_response();
        if let Some(c) = self
            .www_authenticate
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, c);
        }
        if let Some(cause) = self.internal {
            r.extensions_mut().insert(InternalError(cause));
        }
        r
    }
}

/// Unknown paths.
pub async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "there is nothing at this path; the admin API is under /admin/v1 \
         (see /admin/v1/openapi.json)",
    )
}

/// Known paths asked with a method they do not support.
pub async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not support this method (see /admin/v1/openapi.json)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::algorithm::Algorithm;
    use crate::keys::KeyLifecycleError;

    #[test]
    fn a_key_the_store_lost_is_the_servers_fault_not_the_callers() {
        let lost = Problem::from(ClientError::Keys(KeyLifecycleError::NoCurrentKey(
            Algorithm::Es256,
        )));
        assert_eq!(lost.status, 500);
        assert!(
            !lost.detail.contains("ES256"),
            "5xx bodies carry no internals"
        );
        let inactive = Problem::from(ClientError::Keys(KeyLifecycleError::InactiveAlgorithm(
            Algorithm::Rs256,
        )));
        assert_eq!(inactive.status, 400);
    }
}
