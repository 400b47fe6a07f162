//! Serving the RFC 9728 protected resource metadata document over HTTP.

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::verifier::Verifier;

/// The document changes only when the API is redeployed with other scopes or another
/// issuer; an hour of caching spares clients a request per token without keeping a stale
/// copy around for long.
const CACHE: &str = "public, max-age=3600";

impl Verifier {
    /// A router serving the API's protected resource metadata (RFC 9728 §3) at its
    /// well-known path, to merge into the API's router: `GET` answers `200` with
    /// `Content-Type: application/json` and the JSON of
    /// [`protected_resource_metadata`](Verifier::protected_resource_metadata).
    ///
    /// The path is that of [`resource_metadata_url`](Verifier::resource_metadata_url):
    /// `/.well-known/oauth-protected-resource` for a resource identifier without a path,
    /// `/.well-known/oauth-protected-resource/v1` for `https://api.example.com/v1`, or the
    /// path of the URL set with
    /// [`VerifierBuilder::resource_metadata_url`](crate::VerifierBuilder::resource_metadata_url).
    /// The route is public: its layers are not those of the protected routes.
    ///
    /// Without a document (the first audience is no URL), the router is empty and a warning
    /// is logged.
    pub fn metadata_router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let Some(published) = self.published_metadata() else {
            tracing::warn!(
                audience = self.audiences().first().map(String::as_str),
                "no protected resource metadata to serve: the first audience is not an https URL"
            );
            return Router::new();
        };
        let json = published.json.clone();
        let handler = move || {
            let json = json.clone();
            async move {
                (
                    [
                        (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                        (CACHE_CONTROL, HeaderValue::from_static(CACHE)),
                    ],
                    json,
                )
                    .into_response()
            }
        };
        // The path comes from a URL, so `{` and `}` are percent-encoded; the version 0.7
        // checks would still refuse a literal segment starting with `:` or `*`, which a
        // resource path may well have.
        Router::new()
            .without_v07_checks()
            .route(&published.path, get(handler))
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower_service::Service;

    use super::*;

    async fn get_status(router: &mut Router, path: &str) -> (StatusCode, String, String) {
        let req = Request::get(path).body(Body::empty()).unwrap();
        let res = router.call(req).await.unwrap();
        let status = res.status();
        let cache = res
            .headers()
            .get(CACHE_CONTROL)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, cache, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn serves_the_document_at_the_path_suffixed_well_known_uri() {
        let verifier = Verifier::builder("https://auth.example.com")
            .audience("https://api.example.com/v1/:tenant")
            .scopes_supported(["a:read"])
            .build()
            .unwrap();
        let mut router = verifier.metadata_router();
        let (status, cache, body) = get_status(
            &mut router,
            "/.well-known/oauth-protected-resource/v1/:tenant",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(cache, CACHE);
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["resource"], "https://api.example.com/v1/:tenant");
        assert_eq!(doc["scopes_supported"], serde_json::json!(["a:read"]));
        let (status, _, _) = get_status(&mut router, "/.well-known/oauth-protected-resource").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn no_document_means_an_empty_router() {
        let verifier = Verifier::builder("https://auth.example.com")
            .audience("orders-api")
            .build()
            .unwrap();
        assert!(verifier.protected_resource_metadata().is_none());
        let mut router = verifier.metadata_router();
        let (status, _, _) = get_status(&mut router, "/.well-known/oauth-protected-resource").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
