//! `/admin/v1/audit`: the audit trail, oldest first, with a cursor.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Admin, AuditRead};
use super::extract::AdminQuery;
use super::problem::Problem;
use crate::domain::audit::AuditEvent;
use crate::domain::client::FieldError;
use crate::http::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only events after this id (the `next_cursor` of the previous page).
    pub cursor: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<u32>,
    /// Only events about this client.
    pub client_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEventView {
    pub id: i64,
    pub at: String,
    /// The administrator client that acted, or `tollgate` for the server itself.
    pub actor: String,
    /// `client.created`, `client.updated`, `client.deleted`, `secret.added`,
    /// `secret.removed`, `secret.expired`, `secret.leaked_disabled`, `key.generated`,
    /// `key.rotated`, `key.removed`.
    pub action: String,
    pub client_id: Option<String>,
    pub secret_id: Option<String>,
    pub kid: Option<String>,
    pub detail: String,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> AuditEventView {
        AuditEventView {
            id: e.id,
            at: e.at.to_rfc3339(),
            actor: e.actor,
            action: e.action.as_str().to_owned(),
            client_id: e.client_id,
            secret_id: e.secret_id,
            kid: e.kid,
            detail: e.detail,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<i64>,
}

/// Which events to list, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Events after this id.
    pub after: i64,
    pub limit: u32,
    pub client_id: Option<String>,
}

impl TryFrom<AuditParams> for AuditQuery {
    type Error = Problem;

    fn try_from(p: AuditParams) -> Result<AuditQuery, Problem> {
        let limit = p.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(Problem::validation(vec![FieldError::new(
                "limit",
                "must be between 1 and 500",
            )]));
        }
        Ok(AuditQuery {
            after: p.cursor.unwrap_or(0),
            limit,
            client_id: p.client_id,
        })
    }
}

#[utoipa::path(get, path = "/audit", tag = "audit",
    params(AuditParams),
    responses((status = 200, description = "Audit events, oldest first", body = AuditPage)),
    security(("bearer" = ["tollgate:audit:read"]), ("bearer" = ["tollgate:admin"])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin<AuditRead>,
    AdminQuery(params): AdminQuery<AuditParams>,
) -> Result<Json<AuditPage>, Problem> {
    let q = AuditQuery::try_from(params)?;
    let mut events = state
        .tollgate
        .audit_events(q.after, q.limit + 1, q.client_id.as_deref())
        .await
        .map_err(crate::service::ClientError::Store)?;
    let more = events.len() > q.limit as usize;
    events.truncate(q.limit as usize);
    let next_cursor = more.then(|| events.last().map(|e| e.id)).flatten();
    Ok(Json(AuditPage {
        events: events.into_iter().map(AuditEventView::from).collect(),
        next_cursor,
    }))
}
