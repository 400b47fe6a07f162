//! Bearer authorization of the admin API (RFC 6750 §2.1, §3).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};

use super::problem::Problem;
use std::marker::PhantomData;

use crate::domain::actor::Actor;
use crate::domain::scope::{
    ADMIN_SCOPE, APIS_READ_SCOPE, APIS_WRITE_SCOPE, AUDIT_READ_SCOPE, CLIENTS_READ_SCOPE,
    CLIENTS_WRITE_SCOPE, KEYS_READ_SCOPE, KEYS_WRITE_SCOPE,
};
use crate::http::AppState;
use crate::http::ClientSlot;
use crate::service::BearerError;
use crate::service::people::SessionError;

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
    // `tollgate:admin` itself: administrators are managed by owners only.
    Owner => ADMIN_SCOPE,
}

/// Proof that the request carries a valid Tollgate token for the admin API with the scope
/// `N` needs, or `tollgate:admin`; or, without an `Authorization` header, a console session
/// whose administrator's role holds that scope (state-changing requests then also carry the
/// session's anti-forgery token in `X-CSRF-Token`).
#[derive(Debug, Clone)]
pub struct Admin<N> {
    /// Who acts, for the audit trail: the client id, or `admin:<email>` for a person.
    pub actor: String,
    /// The admin permissions behind the request: the token's scopes, or the person's role's.
    held: Vec<String>,
    needs: PhantomData<N>,
}

impl<N> Admin<N> {
    /// The actor with what they hold, for changes that must not give more than that.
    pub fn acting(&self) -> Actor {
        Actor::new(self.actor.clone(), self.held.iter().cloned())
    }
}

impl<N: Needs> FromRequestParts<AppState> for Admin<N> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin<N>, Problem> {
        let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
        let value = match (values.next(), values.next()) {
            (None, _) => {
                return match crate::http::console::session_cookie(&parts.headers, &state.people) {
                    Some(cookie) => by_session::<N>(parts, state, cookie).await,
                    None => Err(missing(N::SCOPE)),
                };
            }
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
                let held = claims
                    .scope
                    .as_deref()
                    .unwrap_or("")
                    .split_ascii_whitespace()
                    .map(str::to_owned)
                    .collect();
                Ok(Admin {
                    actor: claims.client_id,
                    held,
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

/// A console session in place of a bearer token: the role's permissions decide, the same
/// check a token's scopes go through.
async fn by_session<N: Needs>(
    parts: &Parts,
    state: &AppState,
    cookie: String,
) -> Result<Admin<N>, Problem> {
    let now = state.people.now();
    match state.people.authorize(Some(&cookie), N::SCOPE, now).await {
        Ok(person) => {
            let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            let token = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !safe && !person.csrf_matches(token) {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "csrf_failed",
                    "a request made with a console session must carry the session's \
                     anti-forgery token in `X-CSRF-Token`",
                ));
            }
            Ok(Admin {
                actor: person.actor(),
                held: person
                    .admin
                    .role
                    .scopes()
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                needs: PhantomData,
            })
        }
        Err(SessionError::NotSignedIn | SessionError::Unfinished(_)) => Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "session_invalid",
            "the console session has ended or is not signed in fully; sign in again",
        )),
        Err(SessionError::Forbidden) => Err(Problem::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!(
                "your role does not allow this operation: it needs `{}`",
                N::SCOPE
            ),
        )),
        Err(SessionError::Store(e)) if e.is_unavailable() => Err(Problem::unavailable(e)),
        Err(SessionError::Store(e)) => Err(Problem::internal(e)),
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
