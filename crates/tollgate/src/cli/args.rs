//! The command line as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

pub use super::args_admins::AdminsCommand;
pub use super::args_apis::ApisCommand;

#[derive(Debug, Parser)]
#[command(
    name = "tollgate",
    version,
    about = "OAuth 2.0 authorization server for machine-to-machine access"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (embedded SQLite in ./tollgate-data unless configured otherwise).
    Serve {
        /// TOML configuration file; TOLLGATE_* environment variables override it.
        #[arg(long, env = "TOLLGATE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Manage API clients through the admin API.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Manage the API catalogue (the APIs tokens are for, and their permissions).
    #[command(subcommand)]
    Apis(ApisCommand),
    /// Apply pending database migrations, then exit (`serve` also applies them at start).
    Migrate {
        /// TOML configuration file; TOLLGATE_* environment variables override it.
        #[arg(long, env = "TOLLGATE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Write a consistent copy of the SQLite database while the server runs (PostgreSQL: use
    /// pg_dump). The key-encryption key is not in it: back that up separately.
    Backup {
        #[arg(long, env = "TOLLGATE_CONFIG")]
        config: Option<PathBuf>,
        /// The backup file to create (never overwritten).
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Put a backup made by `tollgate backup` in place of the SQLite database. Stop the server
    /// first; the database it replaces is kept beside it.
    Restore {
        #[arg(long, env = "TOLLGATE_CONFIG")]
        config: Option<PathBuf>,
        /// The backup file.
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// Restore even though the database looks in use (a server that did not stop cleanly).
        #[arg(long)]
        force: bool,
    },
    /// The people who administer Tollgate in the console: invite, list, change, disable,
    /// delete; `recover` when locked out.
    #[command(subcommand)]
    Admins(AdminsCommand),
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
pub struct Connection {
    /// Base URL of the Tollgate server.
    #[arg(
        long,
        env = "TOLLGATE_ENDPOINT",
        default_value = "http://127.0.0.1:8080"
    )]
    pub endpoint: String,
    /// Allow a plain `http://` endpoint on another host. The admin credentials and tokens then
    /// cross the network readable by anyone on the path; only for a network you trust.
    /// `https://` anywhere, and `http://` to 127.0.0.1, localhost or [::1], need no flag.
    // Boolish so the variable reads as people write it: 1/0, true/false, yes/no, on/off.
    #[arg(
        long,
        env = "TOLLGATE_INSECURE_HTTP",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub insecure_http: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
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
        /// Make the new key sign at once: a routine early rotation (the old key stays
        /// published, and its tokens valid, until they expire).
        #[arg(long)]
        immediate: bool,
        /// The key is believed compromised: the new key signs at once and every other key of
        /// the algorithm is removed, so the tokens they signed are refused at once.
        #[arg(long)]
        compromised: bool,
        #[arg(long)]
        json: bool,
    },
}

/// How one-time credentials are printed.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Output {
    /// The admin API's JSON.
    Json,
    /// A .env file: OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAUTH_TOKEN_URL, OAUTH_ISSUER, OAUTH_SCOPE.
    Env,
    /// A Postman environment file to import.
    Postman,
}

impl Output {
    pub fn query(self) -> &'static str {
        match self {
            Output::Json => "json",
            Output::Env => "env",
            Output::Postman => "postman",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
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
        /// A tenant the client is bound to (repeat the flag for several).
        #[arg(long = "tenant", value_name = "TENANT")]
        tenants: Vec<String>,
        /// Claims copied into each of the client's tokens: a JSON object.
        #[arg(long, value_name = "JSON", value_parser = parse_claims)]
        claims: Option<Value>,
        /// Fix the client's scopes for good (default: the server's lock_client_scopes).
        #[arg(long)]
        lock_scopes: bool,
        #[command(flatten)]
        quota: QuotaArgs,
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
    /// Change a client's name, description, scopes, tenants, claims or token lifetime.
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
        /// Replace the client's tenants (repeat the flag); see --no-tenants to remove all.
        #[arg(long = "tenant", value_name = "TENANT")]
        tenants: Vec<String>,
        /// Unbind the client from every tenant.
        #[arg(long, conflicts_with = "tenants")]
        no_tenants: bool,
        /// Replace the claims copied into the client's tokens: a JSON object.
        #[arg(long, value_name = "JSON", value_parser = parse_claims)]
        claims: Option<Value>,
        /// Remove the client's claims.
        #[arg(long, conflicts_with = "claims")]
        no_claims: bool,
        #[arg(long, value_name = "SECONDS")]
        token_lifetime: Option<u64>,
        /// Use the server's default token lifetime again.
        #[arg(long, conflicts_with = "token_lifetime")]
        default_token_lifetime: bool,
        #[command(flatten)]
        quota: QuotaArgs,
        /// Remove the client's quota.
        #[arg(long, conflicts_with = "quota")]
        no_quota: bool,
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
pub enum SecretsCommand {
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

/// Claims must be a JSON object: say so here rather than after a round trip.
fn parse_claims(s: &str) -> Result<Value, String> {
    match serde_json::from_str(s) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("must be a JSON object, such as '{\"org\": \"acme\"}'".into()),
        Err(e) => Err(format!("is not JSON ({e})")),
    }
}

/// A client's quota on the command line, the same for `create` and `update`.
#[derive(Debug, clap::Args)]
pub struct QuotaArgs {
    /// At most this many tokens per UTC hour or day, such as 1000/hour or 50000/day.
    #[arg(long, value_name = "TOKENS/PER", value_parser = parse_quota)]
    pub quota: Option<(i64, String)>,
    /// What the quota does: enforce (refuse beyond it) or monitor (flag only).
    #[arg(
        long,
        value_name = "MODE",
        default_value = "enforce",
        requires = "quota"
    )]
    pub quota_mode: String,
}

/// `TOKENS/PER`; the server checks the values.
fn parse_quota(s: &str) -> Result<(i64, String), String> {
    let (tokens, per) = s
        .split_once('/')
        .ok_or("must be TOKENS/PER, such as 1000/hour or 50000/day")?;
    let tokens = tokens
        .trim()
        .parse()
        .map_err(|_| format!("`{tokens}` is not a number of tokens"))?;
    Ok((tokens, per.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_are_tokens_per_window() {
        assert_eq!(parse_quota("1000/hour"), Ok((1000, "hour".into())));
        assert!(parse_quota("1000").is_err());
        assert!(parse_quota("many/day").is_err());
    }

    #[test]
    fn claims_must_be_an_object() {
        assert!(parse_claims(r#"{"org": "acme"}"#).is_ok());
        assert!(parse_claims("[1]").unwrap_err().contains("object"));
        assert!(parse_claims("{").unwrap_err().contains("not JSON"));
    }
}
