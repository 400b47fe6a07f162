//! The revocation feed: what was revoked since a cursor, so an API that validates JWTs
//! locally can drop revoked tokens within seconds. Beyond the RFCs; opt-in for APIs.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::OAuthError;
use super::extract::{BasicClient, OAuthQuery};
use crate::domain::revocation::Revocation;
use crate::http::AppState;

/// Most entries in one answer; a full page means "ask again".
pub const PAGE: u32 = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    since: Option<i64>,
}

#[derive(Serialize)]
struct Feed {
    revocations: Vec<Entry>,
    next_cursor: i64,
}

#[derive(Serialize)]
struct Entry {
    cursor: i64,
    client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_before: Option<i64>,
}

pub async fn feed(
    State(state): State<AppState>,
    OAuthQuery(params): OAuthQuery<FeedParams>,
    caller: BasicClient,
) -> Result<Response, OAuthError> {
    let now = state.tollgate.now();
    let since = match params.since {
        Some(s) if s < 0 => {
            return Err(OAuthError::invalid_request(
                "`since` must be a cursor from a previous answer",
            ));
        }
        s => s.unwrap_or(0),
    };
    let entries = state
        .tollgate
        .revocations_since(&caller.credentials, since, PAGE, now)
        .await
        .map_err(|e| OAuthError::from(e).by(caller.method))?;
    let next_cursor = entries.last().map_or(since, |e| e.cursor);
    let revocations = entries
        .into_iter()
        .map(|e| match e.revocation {
            Revocation::Token {
                jti,
                client_id,
                exp,
            } => Entry {
                cursor: e.cursor,
                client_id,
                jti: Some(jti),
                exp: Some(exp.0),
                issued_before: None,
            },
            Revocation::Client {
                client_id,
                issued_before,
            } => Entry {
                cursor: e.cursor,
                client_id,
                jti: None,
                exp: None,
                issued_before: Some(issued_before.0),
            },
        })
        .collect();
    Ok(Json(Feed {
        revocations,
        next_cursor,
    })
    .into_response())
}
