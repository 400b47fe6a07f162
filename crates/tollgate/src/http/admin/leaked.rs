//! `POST /admin/v1/secrets/leaked`: act on a secret found in the wild without knowing which
//! client it belongs to (a secret-scanning alert).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Admin, ClientsWrite};
use super::extract::AdminJson;
use super::problem::Problem;
use super::views::plain_secret;
use crate::domain::secret::ClientSecret;
use crate::http::AppState;

// The secret lives only in a type that zeroizes it and that `Debug` does not show.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakedSecretRequest {
    /// The secret as found (`tgs_…`).
    #[serde(with = "plain_secret")]
    #[schema(value_type = String)]
    pub secret: ClientSecret,
}

impl From<LeakedSecretRequest> for ClientSecret {
    /// The secret without the blanks a copy and paste picks up.
    fn from(req: LeakedSecretRequest) -> ClientSecret {
        ClientSecret::new(req.secret.expose().trim().to_owned())
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeakedSecretResponse {
    pub client_id: String,
    pub client_name: String,
    pub secret_id: String,
    pub disabled_at: String,
    /// True when the secret had been reported and disabled before.
    pub already_disabled: bool,
    /// Every token the client held was revoked with it.
    pub tokens_revoked: bool,
}

#[utoipa::path(post, path = "/secrets/leaked", tag = "secrets",
    request_body = LeakedSecretRequest,
    responses(
        (status = 200, description = "The secret is disabled and its client's tokens revoked", body = LeakedSecretResponse),
        (status = 400, description = "Not a secret Tollgate generated", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No client holds this secret", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:clients:write"]), ("bearer" = ["tollgate:admin"])))]
pub async fn report(
    State(state): State<AppState>,
    admin: Admin<ClientsWrite>,
    AdminJson(req): AdminJson<LeakedSecretRequest>,
) -> Result<Json<LeakedSecretResponse>, Problem> {
    let secret = ClientSecret::from(req);
    let now = state.tollgate.now();
    let report = state
        .tollgate
        .disable_leaked_secret(&admin.actor, &secret, now)
        .await?;
    Ok(Json(LeakedSecretResponse {
        client_id: report.client_id.as_str().to_owned(),
        client_name: report.client_name,
        secret_id: report.secret_id.as_str().to_owned(),
        disabled_at: report.disabled_at.to_rfc3339(),
        already_disabled: report.already_disabled,
        tokens_revoked: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_leak_report_hides_the_secret_and_the_secret_is_trimmed() {
        let req: LeakedSecretRequest =
            serde_json::from_str(r#"{"secret": " tgs_0123456789abcdef\n"}"#).unwrap();
        let shown = format!("{req:?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert_eq!(ClientSecret::from(req).expose(), "tgs_0123456789abcdef");
    }
}
