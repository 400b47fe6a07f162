//! Bearer authorization of the admin API (RFC 6750 §2.1, §3).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use super::problem::Problem;
use crate::domain::scope::ADMIN_SCOPE;
use crate::http::AppState;
use crate::http::ClientSlot;
use crate::service::BearerError;

const REALM: &str = "tollgate-admin";

/// Proof that the request carries a valid Tollgate token with `tollgate:admin`.
#[derive(Debug, Clone)]
pub struct Admin {
    pub client_id: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin, Problem> {
        let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
        let value = match (values.next(), values.next()) {
            (None, _) => return Err(missing()),
            (Some(_), Some(_)) => {
                return Err(invalid_request("the Authorization header is repeated"));
            }
            (Some(v), None) => v,
        };
        let Some((scheme, token)) = value.to_str().ok().and_then(|v| v.split_once(' ')) else {
            return Err(missing());
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(missing());
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(invalid_request("the bearer token is empty"));
        }
        let now = state.tollgate.now();
        match state.tollgate.authorize_bearer(token, ADMIN_SCOPE, now) {
            Ok(claims) => {
                ClientSlot::record(&parts.extensions, &claims.client_id);
                Ok(Admin {
                    client_id: claims.client_id,
                })
            }
            Err(BearerError::InvalidToken(why)) => Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                format!("{why}; get a new token from the token endpoint"),
            )
            .with_challenge(format!(
                "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{why}\""
            ))),
            Err(BearerError::InsufficientScope) => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("the admin API needs a token with the scope `{ADMIN_SCOPE}`"),
            )
            .with_challenge(format!(
                "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{ADMIN_SCOPE}\""
            ))),
        }
    }
}

/// RFC 6750 §3.1: no error code when the request carries no credentials.
fn missing() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "missing_token",
        "the admin API needs `Authorization: Bearer <token>` with a token carrying \
         `tollgate:admin`",
    )
    .with_challenge(format!("Bearer realm=\"{REALM}\", scope=\"{ADMIN_SCOPE}\""))
}

fn invalid_request(why: &'static str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_request", why).with_challenge(format!(
        "Bearer realm=\"{REALM}\", error=\"invalid_request\", error_description=\"{why}\""
    ))
}
