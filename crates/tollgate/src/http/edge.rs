//! The answers the listener gives itself, when a request outlives its time limit or its
//! handler panics: in the format of the endpoint asked (RFC 6749 §5.2 JSON on the OAuth
//! endpoints, problem+json elsewhere), with the security headers, and with no internals.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::admin::problem::Problem;
use super::headers::{Https, set_security_headers};
use super::oauth::error::{OAuthError, OAuthErrorCode};

/// Which error format a path's endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OAuth,
    Problem,
}

impl Dialect {
    pub fn of(path: &str) -> Dialect {
        if path.starts_with("/oauth2/") {
            Dialect::OAuth
        } else {
            Dialect::Problem
        }
    }
}

/// The request took longer than `request_timeout`.
pub fn timed_out(dialect: Dialect, https: Https) -> Response {
    let detail = "the request took longer than the server allows; try again shortly";
    let response = match dialect {
        Dialect::OAuth => {
            OAuthError::new(OAuthErrorCode::TemporarilyUnavailable, detail).into_response()
        }
        Dialect::Problem => {
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "request_timeout", detail).into_response()
        }
    };
    finish(response, https)
}

/// The handler panicked; the panic itself goes to the log only.
pub fn panicked(dialect: Dialect, https: Https) -> Response {
    let response = match dialect {
        Dialect::OAuth => OAuthError::new(
            OAuthErrorCode::ServerError,
            "the server could not complete the request",
        )
        .into_response(),
        Dialect::Problem => Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server could not complete the request; the cause is in its log",
        )
        .into_response(),
    };
    finish(response, https)
}

fn finish(mut response: Response, https: Https) -> Response {
    let headers = response.headers_mut();
    set_security_headers(headers, https);
    // Either answer may stand in for one that carried a token.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_speak_the_endpoint_s_format_with_the_security_headers() {
        assert_eq!(Dialect::of("/oauth2/token"), Dialect::OAuth);
        assert_eq!(Dialect::of("/admin/v1/clients"), Dialect::Problem);
        assert_eq!(Dialect::of("/oauth2"), Dialect::Problem);
        let r = timed_out(Dialect::OAuth, Https(true));
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
        assert!(r.headers().contains_key(header::STRICT_TRANSPORT_SECURITY));
        let r = timed_out(Dialect::Problem, Https(false));
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let r = panicked(Dialect::OAuth, Https(false));
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let r = panicked(Dialect::Problem, Https(false));
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}
