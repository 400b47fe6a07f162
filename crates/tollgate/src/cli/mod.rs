//! The `tollgate` command line: `serve`, and commands that talk to a running server's admin
//! API (`clients …`) or token endpoint (`token`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod api;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::startup::{Application, shutdown_signal};

#[derive(Debug, Parser)]
#[command(
    name = "tollgate",
    version,
    about = "OAuth 2.0 authorization server for machine-to-machine access"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (embedded SQLite in ./tollgate-data unless configured otherwise).
    Serve {
        /// TOML configuration file; TOLLGATE_* environment variables override it.
        #[arg(long, env = "TOLLGATE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Manage API clients through the admin API.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Apply pending database migrations, then exit (`serve` also applies them at start).
    Migrate {
        /// TOML configuration file; TOLLGATE_* environment variables override it.
        #[arg(long, env = "TOLLGATE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Signing keys: list them, or rotate one.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Show the audit trail: who did what to which client, secret or key.
    Audit {
        #[command(flatten)]
        conn: Connection,
        /// Only events about this client.
        #[arg(long)]
        client: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Get an access token with the client credentials grant, as an integration would.
    Token {
        #[command(flatten)]
        conn: Connection,
        /// Narrow the token to these scopes (repeat the flag); default: all of the client's.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// The API the token is for (RFC 8707 resource indicator).
        #[arg(long)]
        resource: Option<String>,
        /// Print the whole token response as JSON instead of the bare token.
        #[arg(long)]
        json: bool,
    },
}

/// Where the server is and who is asking. Credentials come from the environment only, so
/// they never appear in a process listing or shell history.
#[derive(Debug, Args)]
struct Connection {
    /// Base URL of the Tollgate server.
    #[arg(
        long,
        env = "TOLLGATE_ENDPOINT",
        default_value = "http://127.0.0.1:8080"
    )]
    endpoint: String,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List the signing keys and their states (next, current, retired).
    List {
        #[command(flatten)]
        conn: Connection,
        #[arg(long)]
        json: bool,
    },
    /// Announce a successor key now; it signs after the announce period.
    Rotate {
        #[command(flatten)]
        conn: Connection,
        /// The algorithm whose key rotates (default: the server's default).
        #[arg(long)]
        algorithm: Option<String>,
        /// Make the new key sign at once (for a key believed compromised).
        #[arg(long)]
        immediate: bool,
        #[arg(long)]
        json: bool,
    },
}

/// How one-time credentials are printed.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Output {
    /// The admin API's JSON.
    Json,
    /// A .env file: OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAUTH_TOKEN_URL, OAUTH_ISSUER, OAUTH_SCOPE.
    Env,
    /// A Postman environment file to import.
    Postman,
}

impl Output {
    fn query(self) -> &'static str {
        match self {
            Output::Json => "json",
            Output::Env => "env",
            Output::Postman => "postman",
        }
    }
}

#[derive(Debug, Subcommand)]
enum ClientsCommand {
    /// Create a client; its secret is shown once.
    Create {
        #[command(flatten)]
        conn: Connection,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A scope the client may get (repeat the flag for several).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Access token lifetime in seconds for this client (default: the server's).
        #[arg(long, value_name = "SECONDS")]
        token_lifetime: Option<u64>,
        /// Sign this client's tokens with another active algorithm (ES256, EdDSA, RS256).
        #[arg(long)]
        signing_algorithm: Option<String>,
        #[arg(long)]
        json: bool,
        /// Print the credentials as a file to save: json, env or postman.
        #[arg(long, conflicts_with = "json")]
        output: Option<Output>,
    },
    /// List clients.
    List {
        #[command(flatten)]
        conn: Connection,
        /// Clients per request.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Get {
        #[command(flatten)]
        conn: Connection,
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a client's name, description, scopes or token lifetime.
    Update {
        #[command(flatten)]
        conn: Connection,
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Replace the client's scopes (repeat the flag); see --no-scopes to remove all.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Remove every scope from the client.
        #[arg(long, conflicts_with = "scopes")]
        no_scopes: bool,
        #[arg(long, value_name = "SECONDS")]
        token_lifetime: Option<u64>,
        /// Use the server's default token lifetime again.
        #[arg(long, conflicts_with = "token_lifetime")]
        default_token_lifetime: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete a client: it can get no more tokens.
    Delete {
        #[command(flatten)]
        conn: Connection,
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Add or remove a client's secrets (rotation without downtime).
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Add a secret; it is shown once.
    Add {
        #[command(flatten)]
        conn: Connection,
        client_id: String,
        /// When the secret stops working (RFC 3339, e.g. 2030-01-31T12:00:00Z).
        #[arg(long)]
        expires_at: Option<String>,
        #[arg(long)]
        json: bool,
        /// Print the credentials as a file to save: json, env or postman.
        #[arg(long, conflicts_with = "json")]
        output: Option<Output>,
    },
    /// Disable a secret found in the wild and revoke its client's tokens. Reads the secret
    /// from standard input, so it stays out of shell history and process listings.
    Leaked {
        #[command(flatten)]
        conn: Connection,
        #[arg(long)]
        json: bool,
    },
    /// Remove a secret: it stops working at once.
    Remove {
        #[command(flatten)]
        conn: Connection,
        client_id: String,
        secret_id: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { config } => serve(config).await,
            Command::Clients(cmd) => clients(cmd).await,
            Command::Migrate { config } => migrate(config).await,
            Command::Keys(KeysCommand::List { conn, json }) => {
                let api = api::Api::new(&conn.endpoint)?;
                let keys = api.send(reqwest::Method::GET, "/keys", None).await?;
                output::keys(&keys, json);
                Ok(())
            }
            Command::Keys(KeysCommand::Rotate {
                conn,
                algorithm,
                immediate,
                json,
            }) => {
                let api = api::Api::new(&conn.endpoint)?;
                let body = serde_json::json!({"algorithm": algorithm, "immediate": immediate});
                let key = api
                    .send(reqwest::Method::POST, "/keys/rotate", Some(body))
                    .await?;
                output::rotated(&key, json);
                Ok(())
            }
            Command::Audit { conn, client, json } => {
                let api = api::Api::new(&conn.endpoint)?;
                let mut events = Vec::new();
                let mut cursor: Option<i64> = None;
                loop {
                    let mut path = "/audit?limit=500".to_owned();
                    if let Some(c) = &client {
                        path.push_str(&format!("&client_id={}", api::segment(c)));
                    }
                    if let Some(c) = cursor {
                        path.push_str(&format!("&cursor={c}"));
                    }
                    let page = api.send(reqwest::Method::GET, &path, None).await?;
                    events.extend(page["events"].as_array().cloned().unwrap_or_default());
                    match page["next_cursor"].as_i64() {
                        Some(c) => cursor = Some(c),
                        None => break,
                    }
                }
                output::audit(&events, json);
                Ok(())
            }
            Command::Token {
                conn,
                scopes,
                resource,
                json,
            } => {
                let api = api::Api::new(&conn.endpoint)?;
                let token = api.client_token(&scopes, resource.as_deref()).await?;
                output::token(&token, json);
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config_path: Option<PathBuf>) -> Result<(), String> {
    let shutdown = shutdown_signal();
    let config = Config::load(config_path.as_deref()).map_err(|e| e.to_string())?;
    let logs = crate::telemetry::init(&config.log_level, config.log_format);
    let flusher = logs.spawn_flusher();
    let outcome = run_server(&config, shutdown).await;
    flusher.abort();
    // Whatever happened, what was logged reaches stdout.
    logs.flush();
    outcome
}

async fn run_server(
    config: &Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let app = Application::build(config)
        .await
        .map_err(|e| e.to_string())?;
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
    tracing::info!(
        addr = %app.local_addr(),
        issuer = app.issuer(),
        "Tollgate is listening"
    );
    app.run(shutdown)
        .await
        .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(config_path: Option<PathBuf>) -> Result<(), String> {
    let config = Config::load(config_path.as_deref()).map_err(|e| e.to_string())?;
    let logs = crate::telemetry::init(&config.log_level, config.log_format);
    let outcome = crate::startup::migrate(&config).await;
    logs.flush();
    outcome.map_err(|e| format!("migration failed: {e}"))?;
    println!("the database schema is up to date");
    Ok(())
}

async fn clients(cmd: ClientsCommand) -> Result<(), String> {
    match cmd {
        ClientsCommand::Create {
            conn,
            name,
            description,
            scopes,
            token_lifetime,
            signing_algorithm,
            json,
            output,
        } => {
            let api = api::Api::new(&conn.endpoint)?;
            let mut body = serde_json::json!({
                "name": name, "description": description, "scopes": scopes,
            });
            if let Some(l) = token_lifetime {
                body["access_token_lifetime"] = l.into();
            }
            if let Some(a) = signing_algorithm {
                body["signing_algorithm"] = a.into();
            }
            match output {
                Some(o) => {
                    let path = format!("/clients?format={}", o.query());
                    let text = api
                        .send_raw(reqwest::Method::POST, &path, Some(body))
                        .await?;
                    output::raw(&text);
                }
                None => {
                    let created = api
                        .send(reqwest::Method::POST, "/clients", Some(body))
                        .await?;
                    output::created_client(&created, json);
                }
            }
        }
        ClientsCommand::List { conn, limit, json } => {
            let api = api::Api::new(&conn.endpoint)?;
            let mut all = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("/clients?limit={limit}");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let page = api.send(reqwest::Method::GET, &path, None).await?;
                if let Some(items) = page["clients"].as_array() {
                    all.extend(items.iter().cloned());
                }
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            output::client_list(&all, json);
        }
        ClientsCommand::Get {
            conn,
            client_id,
            json,
        } => {
            let api = api::Api::new(&conn.endpoint)?;
            let client = api
                .send(reqwest::Method::GET, &api::client_path(&client_id), None)
                .await?;
            output::client(&client, json);
        }
        ClientsCommand::Update {
            conn,
            client_id,
            name,
            description,
            scopes,
            no_scopes,
            token_lifetime,
            default_token_lifetime,
            json,
        } => {
            let mut body = serde_json::Map::new();
            if let Some(n) = name {
                body.insert("name".into(), n.into());
            }
            if let Some(d) = description {
                body.insert("description".into(), d.into());
            }
            if !scopes.is_empty() || no_scopes {
                body.insert("scopes".into(), scopes.into());
            }
            if let Some(l) = token_lifetime {
                body.insert("access_token_lifetime".into(), l.into());
            }
            if default_token_lifetime {
                body.insert("access_token_lifetime".into(), serde_json::Value::Null);
            }
            if body.is_empty() {
                return Err("nothing to update: give --name, --description, --scope, \
                     --no-scopes, --token-lifetime or --default-token-lifetime"
                    .into());
            }
            let api = api::Api::new(&conn.endpoint)?;
            let client = api
                .send(
                    reqwest::Method::PATCH,
                    &api::client_path(&client_id),
                    Some(body.into()),
                )
                .await?;
            output::client(&client, json);
        }
        ClientsCommand::Delete {
            conn,
            client_id,
            json,
        } => {
            let api = api::Api::new(&conn.endpoint)?;
            api.send(reqwest::Method::DELETE, &api::client_path(&client_id), None)
                .await?;
            output::done(&format!("deleted client {client_id}"), json);
        }
        ClientsCommand::Secrets(SecretsCommand::Add {
            conn,
            client_id,
            expires_at,
            json,
            output,
        }) => {
            let api = api::Api::new(&conn.endpoint)?;
            let body = serde_json::json!({ "expires_at": expires_at });
            let path = format!("{}/secrets", api::client_path(&client_id));
            match output {
                Some(o) => {
                    let path = format!("{path}?format={}", o.query());
                    let text = api
                        .send_raw(reqwest::Method::POST, &path, Some(body))
                        .await?;
                    output::raw(&text);
                }
                None => {
                    let created = api.send(reqwest::Method::POST, &path, Some(body)).await?;
                    output::created_secret(&client_id, &created, json);
                }
            }
        }
        ClientsCommand::Secrets(SecretsCommand::Leaked { conn, json }) => {
            let mut secret = zeroize::Zeroizing::new(String::new());
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut secret)
                .map_err(|e| format!("cannot read the secret from standard input: {e}"))?;
            let secret = secret.trim();
            if secret.is_empty() {
                return Err("pipe the leaked secret into standard input, e.g. \
                     `tollgate clients secrets leaked < found.txt`"
                    .into());
            }
            let api = api::Api::new(&conn.endpoint)?;
            let report = api
                .send(
                    reqwest::Method::POST,
                    "/secrets/leaked",
                    Some(serde_json::json!({ "secret": secret })),
                )
                .await?;
            output::leak_report(&report, json);
        }
        ClientsCommand::Secrets(SecretsCommand::Remove {
            conn,
            client_id,
            secret_id,
            json,
        }) => {
            let api = api::Api::new(&conn.endpoint)?;
            api.send(
                reqwest::Method::DELETE,
                &format!(
                    "{}/secrets/{}",
                    api::client_path(&client_id),
                    api::segment(&secret_id)
                ),
                None,
            )
            .await?;
            output::done(
                &format!("removed secret {secret_id} from client {client_id}"),
                json,
            );
        }
    }
    Ok(())
}
