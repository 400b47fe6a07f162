//! Extractors for the admin API whose rejections are RFC 9457 problem details, as axum's own
//! examples do it: a malformed body, query or path gets our error format, and a handler never
//! sees a rejection. Ids in the path come out parsed into their types.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::problem::Problem;
use crate::domain::client::{ClientId, SecretId};

/// A JSON body (`Content-Type: application/json` or `application/…+json`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AdminJson<T>(pub T);

impl<T, S> FromRequest<S> for AdminJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<AdminJson<T>, Problem> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(AdminJson(value))
    }
}

/// A JSON body that may be left out: an empty body is `T::default()`. A body that is there
/// must be JSON, as for [`AdminJson`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalAdminJson<T>(pub T);

impl<T, S> FromRequest<S> for OptionalAdminJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<OptionalAdminJson<T>, Problem> {
        let is_json = json_content_type(req.headers());
        let body = Bytes::from_request(req, state)
            .await
            .map_err(JsonRejection::from)?;
        if body.is_empty() {
            return Ok(OptionalAdminJson(T::default()));
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&body)?;
        if !is_json {
            return Err(JsonRejection::MissingJsonContentType(Default::default()).into());
        }
        Ok(OptionalAdminJson(value))
    }
}

/// A query string.
#[derive(Debug, Clone, Copy, Default)]
pub struct AdminQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AdminQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<AdminQuery<T>, Problem> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(AdminQuery(value))
    }
}

/// Path parameters, as they come (see [`ClientPath`] and [`SecretPath`] for parsed ids).
#[derive(Debug, Clone, Copy, Default)]
pub struct AdminPath<T>(pub T);

impl<T, S> FromRequestParts<S> for AdminPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<AdminPath<T>, Problem> {
        let Path(value) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(AdminPath(value))
    }
}

/// `{client_id}` from the path. An id that cannot be valid cannot exist either: it answers
/// like an unknown one, 404 `client_not_found`.
#[derive(Debug, Clone)]
pub struct ClientPath(pub ClientId);

impl<S: Send + Sync> FromRequestParts<S> for ClientPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ClientPath, Problem> {
        let AdminPath(raw) = AdminPath::<String>::from_request_parts(parts, state).await?;
        parse_client_id(&raw).map(ClientPath)
    }
}

/// `{client_id}` and `{secret_id}` from the path, each answering like an unknown one when it
/// cannot be valid: 404 `client_not_found`, then 404 `secret_not_found`.
#[derive(Debug, Clone)]
pub struct SecretPath {
    pub client_id: ClientId,
    pub secret_id: SecretId,
}

impl<S: Send + Sync> FromRequestParts<S> for SecretPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<SecretPath, Problem> {
        let AdminPath((client_id, secret_id)) =
            AdminPath::<(String, String)>::from_request_parts(parts, state).await?;
        Ok(SecretPath {
            client_id: parse_client_id(&client_id)?,
            secret_id: SecretId::parse(&secret_id).map_err(|_| Problem::secret_not_found())?,
        })
    }
}

fn parse_client_id(raw: &str) -> Result<ClientId, Problem> {
    ClientId::parse(raw).map_err(|_| Problem::client_not_found())
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Problem {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ),
            JsonRejection::BytesRejection(_) => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is larger than {} bytes", super::MAX_BODY),
            ),
            other => Problem::new(StatusCode::BAD_REQUEST, "invalid_json", other.body_text()),
        }
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            rejection.body_text(),
        )
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Problem {
        let status = rejection.status();
        if status.is_server_error() {
            // A route whose parameters do not match its extractor: our bug, not the caller's.
            Problem::internal(rejection.body_text())
        } else {
            Problem::new(status, "invalid_path", rejection.body_text())
        }
    }
}

/// `application/json`, or any `application/…+json`.
fn json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::Request as HttpRequest;
    use axum::response::IntoResponse;
    use axum::routing::{delete, get, post};
    use serde::Deserialize;
    use serde_json::Value;
    use tower_service::Service;

    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body1 {
        name: String,
    }

    #[derive(Debug, Deserialize)]
    struct Params {
        limit: u32,
    }

    fn app() -> Router {
        Router::new()
            .route(
                "/json",
                post(|AdminJson(b): AdminJson<Body1>| async move { b.name }),
            )
            .route(
                "/optional",
                post(|OptionalAdminJson(b): OptionalAdminJson<Body1>| async move { b.name }),
            )
            .route(
                "/query",
                get(|AdminQuery(p): AdminQuery<Params>| async move { p.limit.to_string() }),
            )
            .route(
                "/clients/{client_id}",
                get(|ClientPath(id): ClientPath| async move { id.to_string() }),
            )
            .route(
                "/clients/{client_id}/secrets/{secret_id}",
                delete(|p: SecretPath| async move { p.secret_id.as_str().to_owned() }),
            )
            .route(
                "/numbers/{n}",
                get(|AdminPath(n): AdminPath<u32>| async move { n.to_string() }),
            )
            .layer(axum::extract::DefaultBodyLimit::max(super::super::MAX_BODY))
    }

    async fn call(request: Request) -> (StatusCode, String, Value) {
        let response = app()
            .call(request)
            .await
            .unwrap_or_else(|e| match e {})
            .into_response();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, content_type, json)
    }

    fn post_to(path: &str, content_type: Option<&str>, body: &str) -> Request {
        let mut b = HttpRequest::post(path);
        if let Some(c) = content_type {
            b = b.header(header::CONTENT_TYPE, c);
        }
        b.body(Body::from(body.to_owned())).unwrap()
    }

    fn get_from(path: &str) -> Request {
        HttpRequest::get(path).body(Body::empty()).unwrap()
    }

    #[track_caller]
    fn assert_problem(got: (StatusCode, String, Value), status: u16, code: &str) -> Value {
        let (s, content_type, body) = got;
        assert_eq!(s.as_u16(), status, "{body}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["status"], status);
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["type"], "about:blank");
        body
    }

    #[tokio::test]
    async fn json_rejections_are_problems() {
        let json = Some("application/json");
        let ok = call(post_to("/json", json, r#"{"name":"x"}"#)).await;
        assert_eq!(ok.0, StatusCode::OK);

        let malformed = call(post_to("/json", json, r#"{"name": "#)).await;
        assert_problem(malformed, 400, "invalid_json");
        let unknown = call(post_to("/json", json, r#"{"name":"x","nam":1}"#)).await;
        let body = assert_problem(unknown, 400, "invalid_json");
        assert!(
            body["detail"].as_str().unwrap().contains("unknown field"),
            "{body}"
        );
        let missing = call(post_to("/json", None, r#"{"name":"x"}"#)).await;
        assert_problem(missing, 415, "unsupported_media_type");
        let wrong = call(post_to("/json", Some("text/plain"), r#"{"name":"x"}"#)).await;
        assert_problem(wrong, 415, "unsupported_media_type");
        let vendor = call(post_to(
            "/json",
            Some("application/x+json"),
            r#"{"name":"x"}"#,
        ))
        .await;
        assert_eq!(vendor.0, StatusCode::OK);
        let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(super::super::MAX_BODY));
        assert_problem(
            call(post_to("/json", json, &big)).await,
            413,
            "payload_too_large",
        );
    }

    #[tokio::test]
    async fn an_optional_body_may_be_empty_but_not_malformed() {
        let empty = call(post_to("/optional", None, "")).await;
        assert_eq!(empty.0, StatusCode::OK);
        let given = call(post_to(
            "/optional",
            Some("application/json"),
            r#"{"name":"x"}"#,
        ))
        .await;
        assert_eq!(given.0, StatusCode::OK);
        let malformed = call(post_to("/optional", Some("application/json"), "{")).await;
        assert_problem(malformed, 400, "invalid_json");
        let untyped = call(post_to("/optional", None, r#"{"name":"x"}"#)).await;
        assert_problem(untyped, 415, "unsupported_media_type");
        let big = "x".repeat(super::super::MAX_BODY + 1);
        let big = call(post_to("/optional", Some("application/json"), &big)).await;
        assert_problem(big, 413, "payload_too_large");
    }

    #[tokio::test]
    async fn query_rejections_are_problems() {
        assert_eq!(call(get_from("/query?limit=3")).await.0, StatusCode::OK);
        assert_problem(call(get_from("/query?limit=x")).await, 400, "invalid_query");
        assert_problem(call(get_from("/query")).await, 400, "invalid_query");
    }

    #[tokio::test]
    async fn path_ids_are_parsed_and_bad_ones_are_problems() {
        assert_eq!(call(get_from("/clients/tgc_1")).await.0, StatusCode::OK);
        let bad = call(get_from("/clients/bad%20id")).await;
        assert_problem(bad, 404, "client_not_found");
        let not_utf8 = call(get_from("/clients/%FF")).await;
        assert_problem(not_utf8, 400, "invalid_path");

        let remove = |path: &str| HttpRequest::delete(path).body(Body::empty()).unwrap();
        let ok = call(remove("/clients/tgc_1/secrets/sec_0123456789abcdef")).await;
        assert_eq!(ok.0, StatusCode::OK);
        let bad_secret = call(remove("/clients/tgc_1/secrets/not-a-secret-id")).await;
        assert_problem(bad_secret, 404, "secret_not_found");
        let bad_client = call(remove("/clients/bad%20id/secrets/sec_1")).await;
        assert_problem(bad_client, 404, "client_not_found");

        assert_problem(call(get_from("/numbers/x")).await, 400, "invalid_path");
    }
}
