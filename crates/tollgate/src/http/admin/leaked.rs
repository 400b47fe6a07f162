//! `POST /admin/v1/secrets/leaked`: act on a secret found in the wild without knowing which
//! client it belongs to (a secret-scanning alert).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Admin;
use super::json::json_problem;
use super::problem::Problem;
use crate::domain::secret::ClientSecret;
use crate::http::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakedSecretRequest {
    /// The secret as found (`tgs_…`).
    pub secret: String,
}

impl std::fmt::Debug for LeakedSecretRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LeakedSecretRequest(<redacted>)")
    }
}

#[derive(Debug, Serialize, ToSchema)]
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
    security(("bearer" = ["tollgate:admin"])))]
pub async fn report(
    State(state): State<AppState>,
    admin: Admin,
    body: Result<Json<LeakedSecretRequest>, JsonRejection>,
) -> Result<Json<LeakedSecretResponse>, Problem> {
    let Json(req) = body.map_err(json_problem)?;
    // From here on the secret lives only in a type that zeroizes it.
    let secret = ClientSecret::new(req.secret.trim().to_owned());
    drop(zeroize::Zeroizing::new(req.secret));
    let now = state.tollgate.now();
    let report = state
        .tollgate
        .disable_leaked_secret(&admin.client_id, &secret, now)
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
