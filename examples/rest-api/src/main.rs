//! `cargo run -p example-rest-api`: serves the example REST API (see README.md).

use std::process::ExitCode;

use example_rest_api::{Config, app};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::from_env("127.0.0.1:3000");
    let verifier = match config.verifier() {
        Ok(v) => v,
        Err(e) => {
            tracing::error!("invalid configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Not fatal: the keys are fetched again on the first request.
    if let Err(e) = verifier.refresh().await {
        tracing::warn!("cannot reach Tollgate at {} yet: {e}", config.issuer);
    }
    let listener = match tokio::net::TcpListener::bind(&config.listen).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("cannot listen on {}: {e}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        "example REST API on http://{} (issuer {}, audience {})",
        config.listen,
        config.issuer,
        config.audience
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, app(&verifier))
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}
