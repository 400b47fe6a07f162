//! The HTTP client openidconnect talks to the provider through. openidconnect is built
//! without its own reqwest (it would bring a second reqwest into the build), so this adapts
//! the reqwest the server already uses.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};

/// A slow or hung provider must not hold a sign-in (and its browser) for long.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Metadata, key sets, tokens and user info are small; a provider sending more is broken or
/// hostile, and reading it all would only cost memory.
const MAX_BODY: usize = 1024 * 1024;

/// Redirects are never followed: the provider's metadata names the URLs this client calls,
/// and following a redirect would let whoever controls one of them point the server at
/// internal addresses (SSRF).
#[derive(Debug, Clone)]
pub(super) struct HttpClient(reqwest::Client);

impl HttpClient {
    pub(super) fn new() -> Result<HttpClient, reqwest::Error> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()
            .map(HttpClient)
    }
}

impl<'c> AsyncHttpClient<'c> for HttpClient {
    type Error = HttpClientError<reqwest::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(Box::new)?;
            let mut response = self.0.execute(request).await.map_err(Box::new)?;
            let mut builder = openidconnect::http::Response::builder()
                .status(response.status())
                .version(response.version());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(Box::new)? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(HttpClientError::Other(format!(
                        "the response is larger than {MAX_BODY} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(HttpClientError::Http)
        })
    }
}
