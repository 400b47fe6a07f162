//! The ceiling for `bench/run.sh`: the smallest useful HTTP endpoint on the same stack as
//! Tollgate (tokio multi-thread runtime, hyper through axum), answering a form POST with a
//! small JSON body. Whatever the token endpoint costs beyond this is Tollgate's own work.
//!
//! `cargo run --release -p tollgate --example bench_hello -- 127.0.0.1:18081`

#![allow(clippy::print_stderr)]

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;

async fn hello(body: Bytes) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"hello\":\"world\",\"read\":{}}}", body.len()),
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("bench_hello listening on {addr}");
    axum::serve(listener, Router::new().route("/hello", post(hello))).await
}
