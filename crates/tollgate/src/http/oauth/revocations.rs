//! The revocation feed: what was revoked since a cursor, so an API that validates JWTs
//! locally can drop revoked tokens within seconds. Beyond the RFCs; opt-in for APIs.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::client_auth::{Form, client_credentials};
use super::error::OAuthError;
use crate::domain::revocation::Revocation;
use crate::http::{AppState, LoggedClient};

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
    headers: HeaderMap,
    query: Result<Query<FeedParams>, QueryRejection>,
) -> Response {
    let now = state.tollgate.now();
    let since = match query {
        Ok(Query(FeedParams { since: Some(s) })) if s < 0 => {
            return OAuthError::invalid_request("`since` must be a cursor from a previous answer")
                .into_response();
        }
        Ok(Query(p)) => p.since.unwrap_or(0),
        Err(e) => {
            return OAuthError::invalid_request(format!("bad query: {}", e.body_text()))
                .into_response();
        }
    };
    // A GET has no body: credentials come by HTTP Basic only.
    let (caller, method) = match client_credentials(&headers, &Form::default()) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let mut response = match state
        .tollgate
        .revocations_since(&caller, since, PAGE, now)
        .await
    {
        Ok(entries) => {
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
            let mut r = Json(Feed {
                revocations,
                next_cursor,
            })
            .into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => method.shape(OAuthError::from(e)).into_response(),
    };
    response
        .extensions_mut()
        .insert(LoggedClient(caller.client_id));
    response
}
