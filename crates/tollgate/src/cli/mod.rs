//! The `tollgate` command line: `serve`, and commands that talk to a running server's admin
//! API (`clients …`, `apis …`, `keys …`, `audit`) or token endpoint (`token`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod admins;
mod api;
mod apis;
mod args;
mod args_admins;
mod args_apis;
mod backup;
mod clients;
mod error;
mod keys;
mod output;
mod output_admins;
mod output_apis;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

pub use self::args::Cli;
use self::args::Command;
pub use self::error::CliError;
use crate::config::Config;
use crate::startup::{Application, shutdown_signal};

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { config } => serve(config).await,
            Command::Clients(cmd) => clients::run(cmd).await,
            Command::Apis(cmd) => apis::run(cmd).await,
            Command::Migrate { config } => migrate(config).await,
            Command::Backup { config, output } => backup::backup(config, &output).await,
            Command::Restore {
                config,
                input,
                force,
            } => backup::restore(config, &input, force).await,
            Command::Keys(cmd) => keys::run(cmd).await,
            Command::Admins(cmd) => admins::run(cmd).await,
            Command::Audit { conn, client, json } => keys::audit(conn, client, json).await,
            Command::Token {
                conn,
                scopes,
                resource,
                json,
            } => {
                let api = api::Api::new(&conn.endpoint, conn.insecure_http)?;
                let token = api.client_token(&scopes, resource.as_deref()).await?;
                output::token(&token, json);
                Ok(())
            }
        }
    })
}

async fn serve(config_path: Option<PathBuf>) -> Result<(), CliError> {
    let shutdown = shutdown_signal();
    let config = Config::load(config_path.as_deref())?;
    let (logs, traces) = crate::telemetry::init_with_traces(
        &config.log_level,
        config.log_format,
        config.observability.otlp_endpoint.as_ref(),
    )
    .map_err(CliError::Traces)?;
    let flusher = logs.spawn_flusher();
    let outcome = run_server(&config, shutdown).await;
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
    flusher.abort();
    // Whatever happened, what was logged reaches stdout.
    logs.flush();
    outcome
}

async fn run_server(
    config: &Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), CliError> {
    let app = Application::build(config).await?;
    if let Some(b) = &app.bootstrapped {
        match &b.generated_secret {
            Some(secret) => {
                // Deliberately not a log line: logs never carry secrets. This is the one
                // time the administrator secret exists in plain text.
                eprintln!(
                    "\n  Created the administrator client (scope tollgate:admin).\n  \
                     Store these now; the secret is shown only this once.\n\n    \
                     TOLLGATE_CLIENT_ID={}\n    TOLLGATE_CLIENT_SECRET={}\n",
                    b.client_id,
                    secret.expose()
                );
            }
            None => {
                tracing::info!(client_id = %b.client_id, "created the bootstrap administrator client from TOLLGATE_BOOTSTRAP_CLIENT_ID")
            }
        }
    }
    if let Some(link) = &app.setup_link {
        // Not a log line either: whoever holds the link becomes the owner, once.
        eprintln!(
            "\n  No administrator yet. Open this link within an hour to create the first owner\n  \
             (it works once):\n\n    {link}\n"
        );
    }
    tracing::info!(
        addr = %app.local_addr(),
        issuer = app.issuer(),
        "Tollgate is listening"
    );
    app.run(shutdown).await.map_err(CliError::Server)?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(config_path: Option<PathBuf>) -> Result<(), CliError> {
    let config = Config::load(config_path.as_deref())?;
    let logs = crate::telemetry::init(&config.log_level, config.log_format);
    let outcome = crate::startup::migrate(&config).await;
    logs.flush();
    outcome.map_err(CliError::Migration)?;
    println!("the database schema is up to date");
    Ok(())
}
