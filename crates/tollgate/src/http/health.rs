//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{AppState, InternalError};

/// The process is up and serving HTTP.
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// The process can serve requests that need the database.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.tollgate.ready().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => {
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "reason": "database unreachable"})),
            )
                .into_response();
            r.extensions_mut().insert(InternalError(e.to_string()));
            r
        }
    }
}
