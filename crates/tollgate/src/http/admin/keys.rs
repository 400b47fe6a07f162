//! `/admin/v1/keys`: the signing keys and their lifecycle; rotation on demand.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Admin, KeysRead, KeysWrite};
use super::extract::AdminJson;
use super::problem::Problem;
use super::requests::parse_algorithm;
use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::http::AppState;
use crate::keys::{KeyStatus, RotationMode};
use crate::service::ClientError;

/// A signing key, public facts only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    pub algorithm: String,
    /// `next` (published, not signing yet), `current` (signing), `retired` (published until
    /// the tokens it signed expire).
    pub state: String,
    pub created_at: String,
    /// When it signs (or signed) its first token.
    pub activates_at: String,
    /// When its successor takes over, if one is announced.
    pub retires_at: Option<String>,
    /// When it leaves the JWKS, if it is retiring.
    pub removed_at: Option<String>,
}

impl From<&KeyStatus> for KeyView {
    fn from(s: &KeyStatus) -> KeyView {
        KeyView {
            kid: s.kid.clone(),
            algorithm: s.algorithm.as_str().to_owned(),
            state: s.state.as_str().to_owned(),
            created_at: s.created_at.to_rfc3339(),
            activates_at: s.activates_at.to_rfc3339(),
            retires_at: s.retires_at.map(UnixTime::to_rfc3339),
            removed_at: s.removed_at.map(UnixTime::to_rfc3339),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// The algorithm whose key rotates; default: the server's default algorithm.
    pub algorithm: Option<String>,
    /// `false` (default): the new key is published now and signs after the announce period.
    /// `true`: a routine early rotation: it signs at once; verifiers that cached the JWKS
    /// refetch it on the unknown `kid`, and the old key stays published (its tokens stay
    /// valid) until they expire.
    #[serde(default)]
    pub immediate: bool,
    /// `true`: the key is believed compromised. The new key signs at once (whatever
    /// `immediate` says) and every other key of the algorithm (current, retired, announced)
    /// is removed: it leaves the JWKS at once, and Tollgate refuses the tokens it signed (401
    /// from the admin API, `"active": false` at introspection) on every node. APIs that
    /// verify locally refuse them once they refetch the JWKS. Clients fetch new tokens.
    #[serde(default)]
    pub compromised: bool,
}

/// A rotation to make, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// `None`: the server's default algorithm.
    pub algorithm: Option<Algorithm>,
    pub immediate: bool,
    pub compromised: bool,
}

impl Rotation {
    pub fn mode(&self) -> RotationMode {
        if self.compromised {
            RotationMode::Compromised
        } else if self.immediate {
            RotationMode::Immediate
        } else {
            RotationMode::Announced
        }
    }
}

impl TryFrom<RotateRequest> for Rotation {
    type Error = Problem;

    fn try_from(req: RotateRequest) -> Result<Rotation, Problem> {
        let algorithm = req
            .algorithm
            .map(|a| parse_algorithm("algorithm", &a))
            .transpose()
            .map_err(|e| Problem::validation(vec![e]))?;
        Ok(Rotation {
            algorithm,
            immediate: req.immediate,
            compromised: req.compromised,
        })
    }
}

#[utoipa::path(get, path = "/keys", tag = "keys",
    responses((status = 200, description = "Every signing key and its state", body = KeyList)),
    security(("bearer" = ["tollgate:keys:read"]), ("bearer" = ["tollgate:admin"])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin<KeysRead>,
) -> Result<Json<KeyList>, Problem> {
    let now = state.tollgate.now();
    let statuses = state
        .tollgate
        .key_statuses(now)
        .await
        .map_err(ClientError::from)?;
    Ok(Json(KeyList {
        keys: statuses.iter().map(KeyView::from).collect(),
    }))
}

#[utoipa::path(post, path = "/keys/rotate", tag = "keys",
    request_body = RotateRequest,
    responses(
        (status = 201, description = "The new key (with `compromised`, the only key of its algorithm left)", body = KeyView),
        (status = 400, description = "Not an active algorithm", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A successor is already announced", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:keys:write"]), ("bearer" = ["tollgate:admin"])))]
pub async fn rotate(
    State(state): State<AppState>,
    admin: Admin<KeysWrite>,
    AdminJson(req): AdminJson<RotateRequest>,
) -> Result<(StatusCode, Json<KeyView>), Problem> {
    let rotation = Rotation::try_from(req)?;
    let alg = rotation
        .algorithm
        .unwrap_or_else(|| state.tollgate.keys().current().algorithm());
    let now = state.tollgate.now();
    let status = state
        .tollgate
        .rotate_key(&admin.actor, alg, rotation.mode(), now)
        .await
        .map_err(ClientError::from)?;
    if rotation.compromised {
        tracing::warn!(kid = status.kid, alg = %alg, "signing key rotated as compromised: the previous keys were removed");
    } else {
        tracing::info!(kid = status.kid, alg = %alg, immediate = rotation.immediate, "signing key rotated");
    }
    Ok((StatusCode::CREATED, Json(KeyView::from(&status))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_names_a_known_algorithm_or_none() {
        let req = |algorithm: Option<&str>| RotateRequest {
            algorithm: algorithm.map(str::to_owned),
            immediate: true,
            compromised: false,
        };
        let default = Rotation::try_from(req(None)).unwrap();
        assert_eq!(default.algorithm, None);
        assert!(default.immediate);
        assert!(
            Rotation::try_from(req(Some("ES256")))
                .unwrap()
                .algorithm
                .is_some()
        );
        let bad = Rotation::try_from(req(Some("HS256"))).unwrap_err();
        assert_eq!(bad.errors[0].field, "algorithm");
    }
}
