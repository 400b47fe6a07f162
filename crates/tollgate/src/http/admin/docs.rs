//! `/admin/v1/docs`: an interactive reference of the admin API. Swagger UI, vendored under
//! `assets/vendor/swagger-ui` (Apache-2.0) and embedded in the binary, reads the OpenAPI
//! document; its "Authorize" dialog gets a token with the client credentials grant from this
//! server's token endpoint and "Try it out" calls the API with it. Nothing is fetched from
//! anywhere else.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::AppState;
use crate::http::oauth::TOKEN_PATH;

/// The vendored Swagger UI's version (`assets/vendor/swagger-ui`, from npm `swagger-ui-dist`).
macro_rules! swagger_ui_version {
    () => {
        "5.35.0"
    };
}
const BUNDLE: &str = include_str!("../../../assets/vendor/swagger-ui/swagger-ui-bundle.js");
const STYLESHEET: &str = include_str!("../../../assets/vendor/swagger-ui/swagger-ui.css");
const INIT: &str = include_str!("../../../assets/api-docs.js");
const FRAME: &str = include_str!("../../../assets/api-docs.css");

/// Asset names carry Swagger UI's and Tollgate's versions, so browsers may keep them a year.
macro_rules! asset_path {
    ($name:literal, $ext:literal) => {
        concat!(
            "/admin/v1/docs/",
            $name,
            "-",
            swagger_ui_version!(),
            "-",
            env!("CARGO_PKG_VERSION"),
            ".",
            $ext
        )
    };
}
const BUNDLE_PATH: &str = asset_path!("swagger-ui-bundle", "js");
const STYLESHEET_PATH: &str = asset_path!("swagger-ui", "css");
const INIT_PATH: &str = asset_path!("api-docs", "js");
const FRAME_PATH: &str = asset_path!("api-docs", "css");

/// Swagger UI runs from this server only; it sets some styles through the DOM, which a
/// `style-src 'self'` policy allows, and calls this server's token endpoint and API.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/docs", get(page))
        .route(
            BUNDLE_PATH.trim_start_matches("/admin/v1"),
            get(|| asset("text/javascript; charset=utf-8", BUNDLE)),
        )
        .route(
            STYLESHEET_PATH.trim_start_matches("/admin/v1"),
            get(|| asset("text/css; charset=utf-8", STYLESHEET)),
        )
        .route(
            INIT_PATH.trim_start_matches("/admin/v1"),
            get(|| asset("text/javascript; charset=utf-8", INIT)),
        )
        .route(
            FRAME_PATH.trim_start_matches("/admin/v1"),
            get(|| asset("text/css; charset=utf-8", FRAME)),
        )
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

async fn page(State(state): State<AppState>) -> Response {
    let issuer = state.tollgate.policy().issuer.as_str();
    let token_url = html_attribute(&format!("{issuer}{TOKEN_PATH}"));
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Admin API reference · Tollgate</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{STYLESHEET_PATH}">
<link rel="stylesheet" href="{FRAME_PATH}">
<script src="{BUNDLE_PATH}" defer></script>
<script src="{INIT_PATH}" defer></script>
</head>
<body>
<header class="docs-top">
<h1>Tollgate admin API reference</h1>
<p>"Authorize" gets a token with an API client's id and secret (client credentials); "Try it out" then calls this server with it.</p>
<a href="/console">Back to the console</a>
</header>
<main>
<div id="swagger-ui" data-spec-url="/admin/v1/openapi.json" data-token-url="{token_url}">Loading the admin API reference (this page needs JavaScript; the document itself is at <a href="/admin/v1/openapi.json">/admin/v1/openapi.json</a>).</div>
</main>
</body>
</html>
"#
    );
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    );
    response
}

fn html_attribute(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_paths_name_the_vendored_version() {
        assert!(BUNDLE_PATH.contains(swagger_ui_version!()));
        assert!(
            BUNDLE.contains(concat!("\"", swagger_ui_version!(), "\"")),
            "the vendored bundle is the version its URL names"
        );
        assert!(STYLESHEET_PATH.starts_with("/admin/v1/docs/"));
        assert!(
            BUNDLE.len() > 100_000,
            "the vendored Swagger UI bundle is there"
        );
    }

    #[test]
    fn attribute_values_are_escaped() {
        assert_eq!(html_attribute(r#"a"&<b>"#), "a&quot;&amp;&lt;b&gt;");
    }
}
