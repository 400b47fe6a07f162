//! The accept loop: HTTP/1.1 connections with the limits of [`EdgeConfig`], and a drain with
//! a deadline when the server stops.
//!
//! What it adds per request to what the router does is one timer (the request's time limit)
//! and a panic guard, which costs nothing until a handler panics; the rest is per connection.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use std::convert::Infallible;

use axum::body::{Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;
use axum::{BoxError, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower_service::Service;

use crate::config::EdgeConfig;
use crate::http::edge::{Dialect, panicked, timed_out};
use crate::http::headers::Https;

/// How long to wait before accepting again after the listener failed (out of file
/// descriptors, most likely), so the loop does not spin while the failure lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets
/// requests in flight finish (idle keep-alive connections close at once), and after
/// `shutdown_grace` closes the connections still open.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    edge: EdgeConfig,
    https: Https,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(edge.header_read_timeout)
        .max_buf_size(edge.max_header_bytes);
    let slots = Arc::new(Semaphore::new(edge.max_connections));
    let graceful = GracefulShutdown::new();
    // Every connection's task: aborting them is the deadline's last resort. A set rather
    // than a signal each connection listens for, which would be polled on every wake-up.
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        // Beyond the bound, new connections wait in the listen backlog; those served go on.
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.map_err(std::io::Error::other)?,
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        let service = RequestService {
            router: router.clone(),
            peer,
            request_timeout: edge.request_timeout,
            https,
        };
        let connection = graceful.watch(http.serve_connection(
            TokioIo::new(stream),
            hyper::service::service_fn(move |r: Request<hyper::body::Incoming>| service.call(r)),
        ));
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    // New connections are refused from here on.
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(edge.shutdown_grace) => {
            tracing::warn!(
                "requests still running after the shutdown grace period; closing their connections"
            );
            connections.abort_all();
        }
    }
    Ok(())
}

/// What a connection does with each request: the peer address for handlers (as
/// `ConnectInfo<SocketAddr>`), the request's time limit, and an answer if the handler panics.
#[derive(Clone)]
struct RequestService {
    router: Router,
    peer: SocketAddr,
    request_timeout: Duration,
    https: Https,
}

impl RequestService {
    fn call<B>(
        &self,
        mut request: Request<B>,
    ) -> impl Future<Output = Result<Response, Infallible>> + use<B>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let dialect = Dialect::of(request.uri().path());
        let (https, limit) = (self.https, self.request_timeout);
        let mut router = self.router.clone();
        let handled = router.call(request);
        async move {
            let mut handled = pin!(handled);
            let guarded =
                poll_fn(
                    |cx| match catch_unwind(AssertUnwindSafe(|| handled.as_mut().poll(cx))) {
                        Ok(Poll::Ready(answered)) => Poll::Ready(Some(answered)),
                        Ok(Poll::Pending) => Poll::Pending,
                        Err(_) => Poll::Ready(None),
                    },
                );
            Ok(match tokio::time::timeout(limit, guarded).await {
                Ok(Some(Ok(response))) => response,
                Ok(Some(Err(never))) => match never {},
                Ok(None) => {
                    tracing::error!(
                        ?dialect,
                        "a request handler panicked; answered 500 (the panic message is above)"
                    );
                    panicked(dialect, https)
                }
                Err(_) => {
                    tracing::warn!(
                        limit_s = limit.as_secs(),
                        "a request outlived request_timeout; answered 503"
                    );
                    timed_out(dialect, https)
                }
            })
        }
    }
}

impl std::fmt::Debug for RequestService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestService")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    // A client that gave up between connecting and being accepted: nothing to do.
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept connections; retrying");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;

    use super::*;

    fn service(router: Router, request_timeout: Duration) -> RequestService {
        RequestService {
            router,
            peer: SocketAddr::from(([192, 0, 2, 7], 4242)),
            request_timeout,
            https: Https(false),
        }
    }

    fn get_request(path: &str) -> Request<Body> {
        Request::get(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn handlers_see_the_peer_address() {
        let router = Router::new().route(
            "/who",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        );
        let r = service(router, Duration::from_secs(30))
            .call(get_request("/who"))
            .await
            .unwrap();
        let body = axum::body::to_bytes(r.into_body(), 100).await.unwrap();
        assert_eq!(&body[..], b"192.0.2.7:4242");
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_in_the_endpoint_s_format() {
        async fn boom() -> &'static str {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            "unreachable"
        }
        let router = Router::new()
            .route("/oauth2/token", get(boom))
            .route("/admin/v1/x", get(boom));
        let s = service(router, Duration::from_secs(30));
        let r = s.call(get_request("/oauth2/token")).await.unwrap();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(r.into_body(), 1000).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"], "server_error");
        assert!(!body.to_string().contains("boom"), "{body}");
        let r = s.call(get_request("/admin/v1/x")).await.unwrap();
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }

    #[tokio::test]
    async fn a_request_that_outlives_its_limit_is_a_503() {
        let router = Router::new().route(
            "/oauth2/token",
            get(|| async {
                std::future::pending::<()>().await;
                "unreachable"
            }),
        );
        let r = service(router, Duration::from_millis(20))
            .call(get_request("/oauth2/token"))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        let body = axum::body::to_bytes(r.into_body(), 1000).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
    }
}
