//! Token revocation (RFC 7009): parse, call the service, map.

use axum::extract::State;
use axum::http::StatusCode;

use super::error::OAuthError;
use super::extract::ClientForm;
use super::introspect::TokenForm;
use crate::http::AppState;

/// RFC 7009 §2.2: 200 whether or not the token was known, so a caller learns nothing from it.
pub async fn revoke(
    State(state): State<AppState>,
    request: ClientForm<TokenForm>,
) -> Result<StatusCode, OAuthError> {
    let now = state.tollgate.now();
    let token = request.form.required("token")?;
    state
        .tollgate
        .revoke(&request.credentials, token, now)
        .await
        .map_err(|e| request.refused(&state, OAuthError::from(e)))?;
    request.authenticated(&state);
    Ok(StatusCode::OK)
}
