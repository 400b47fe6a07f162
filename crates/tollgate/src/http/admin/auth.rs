//! Bearer authorization of the admin API (RFC 6750 §2.1, §3).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use super::problem::Problem;
use std::marker::PhantomData;

use crate::domain::scope::{
    ADMIN_SCOPE, APIS_READ_SCOPE, APIS_WRITE_SCOPE, AUDIT_READ_SCOPE, CLIENTS_READ_SCOPE,
    CLIENTS_WRITE_SCOPE, KEYS_READ_SCOPE, KEYS_WRITE_SCOPE,
};
use crate::http::AppState;
use crate::http::ClientSlot;
use crate::service::BearerError;

const REALM: &str = "tollgate-admin";

/// The scope an admin operation needs (beside `tollgate:admin`, which allows every one).
pub trait Needs: Send + Sync + 'static {
    const SCOPE: &'static str;
}

macro_rules! needs {
    ($($name:ident => $scope:ident),* $(,)?) => {
        $(
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl Needs for $name {
                const SCOPE: &'static str = $scope;
            }
        )*
    };
}

needs! {
    ClientsRead => CLIENTS_READ_SCOPE,
    ClientsWrite => CLIENTS_WRITE_SCOPE,
    ApisRead => APIS_READ_SCOPE,
    ApisWrite => APIS_WRITE_SCOPE,
    KeysRead => KEYS_READ_SCOPE,
    KeysWrite => KEYS_WRITE_SCOPE,
    AuditRead => AUDIT_READ_SCOPE,
}

/// Proof that the request carries a valid Tollgate token for the admin API with the scope
/// `N` needs, or `tollgate:admin`.
#[derive(Debug, Clone)]
pub struct Admin<N> {
    pub client_id: String,
    needs: PhantomData<N>,
}

impl<N: Needs> FromRequestParts<AppState> for Admin<N> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin<N>, Problem> {
        let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
        let value = match (values.next(), values.next()) {
            (None, _) => return Err(missing(N::SCOPE)),
            (Some(_), Some(_)) => {
                return Err(invalid_request("the Authorization header is repeated"));
            }
            (Some(v), None) => v,
        };
        let Some((scheme, token)) = value.to_str().ok().and_then(|v| v.split_once(' ')) else {
            return Err(missing(N::SCOPE));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(missing(N::SCOPE));
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(invalid_request("the bearer token is empty"));
        }
        let now = state.tollgate.now();
        match state.tollgate.authorize_bearer(token, N::SCOPE, now) {
            Ok(claims) => {
                ClientSlot::record(&parts.extensions, &claims.client_id);
                Ok(Admin {
                    client_id: claims.client_id,
                    needs: PhantomData,
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
                format!(
                    "this operation needs a token with the scope `{}` (or `{ADMIN_SCOPE}`)",
                    N::SCOPE
                ),
            )
            .with_challenge(format!(
                "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{}\"",
                N::SCOPE
            ))),
        }
    }
}

/// RFC 6750 §3.1: no error code when the request carries no credentials.
fn missing(scope: &str) -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "missing_token",
        "the admin API needs `Authorization: Bearer <token>` with a token from this server's \
         token endpoint carrying the operation's scope or `tollgate:admin`",
    )
    .with_challenge(format!("Bearer realm=\"{REALM}\", scope=\"{scope}\""))
}

fn invalid_request(why: &'static str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_request", why).with_challenge(format!(
        "Bearer realm=\"{REALM}\", error=\"invalid_request\", error_description=\"{why}\""
    ))
}
