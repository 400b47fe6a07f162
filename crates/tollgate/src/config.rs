//! Server configuration: a TOML file (`--config`) overlaid by `TOLLGATE_*` environment variables.
//!
//! Every setting, its TOML key, its environment variable and its default:
//!
//! | TOML key                | environment variable             | default                                  |
//! |-------------------------|----------------------------------|------------------------------------------|
//! | `listen`                | `TOLLGATE_LISTEN`                | `127.0.0.1:8080`                         |
//! | `issuer`                | `TOLLGATE_ISSUER`                | `http://` + the listen address           |
//! | `data_dir`              | `TOLLGATE_DATA_DIR`              | `./tollgate-data`                        |
//! | `database_url`          | `TOLLGATE_DATABASE_URL`          | `sqlite://<data_dir>/tollgate.db`        |
//! | `database_pool_size`    | `TOLLGATE_DATABASE_POOL_SIZE`    | `4` (SQLite), `10` (PostgreSQL)          |
//! | `cache_refresh_interval`| `TOLLGATE_CACHE_REFRESH_INTERVAL`| `60` (seconds; PostgreSQL only)          |
//! | `database_outage_grace` | `TOLLGATE_DATABASE_OUTAGE_GRACE` | `300` (seconds; PostgreSQL only)         |
//! | `access_token_lifetime` | `TOLLGATE_ACCESS_TOKEN_LIFETIME` | `3600` (seconds, 60 to 86400)            |
//! | `signing_algorithm`     | `TOLLGATE_SIGNING_ALGORITHM`     | `ES256` (or `EdDSA`, `RS256`)            |
//! | `audiences`             | `TOLLGATE_AUDIENCES` (commas)    | `[issuer]`; the first is the default     |
//! | `log_level`             | `TOLLGATE_LOG_LEVEL`             | `info` (a tracing filter directive)      |
//! | `log_format`            | `TOLLGATE_LOG_FORMAT`            | `text` (or `json`)                       |
//! | `extra_signing_algorithms` | `TOLLGATE_EXTRA_SIGNING_ALGORITHMS` (commas) | none: more algorithms clients may choose |
//! | `key_rotation_period`   | `TOLLGATE_KEY_ROTATION_PERIOD`   | `2592000` (30 days) a key signs          |
//! | `key_announce_period`   | `TOLLGATE_KEY_ANNOUNCE_PERIOD`   | `86400` (1 day) a key is published first |
//! | `max_secrets_per_client`| `TOLLGATE_MAX_SECRETS_PER_CLIENT`| `5`                                      |
//! | `key_encryption_key_file` | `TOLLGATE_KEY_ENCRYPTION_KEY_FILE` | `<data_dir>/key-encryption.key`, generated on first start (SQLite); required on PostgreSQL |
//!
//! `TOLLGATE_KEY_ENCRYPTION_KEY` (the key itself, base64) and, while rotating it,
//! `TOLLGATE_PREVIOUS_KEY_ENCRYPTION_KEY` / `TOLLGATE_PREVIOUS_KEY_ENCRYPTION_KEY_FILE` are read
//! from the environment only.
//!
//! `TOLLGATE_BOOTSTRAP_CLIENT_ID` and `TOLLGATE_BOOTSTRAP_CLIENT_SECRET` are read from the
//! environment only, so the bootstrap secret never sits in a config file.
//!
//! With PostgreSQL, several nodes share one database. Each keeps every client in memory and
//! follows the other nodes' changes as PostgreSQL notifies them, reloading everything every
//! `cache_refresh_interval` seconds as a safety net. When a node loses the database it cannot
//! be sure its cache is current; it keeps authenticating clients from the cache for
//! `database_outage_grace` seconds (0: not at all), then answers 503 until the database is back.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;
use url::Url;

use crate::domain::algorithm::Algorithm;
use crate::domain::secret::ClientSecret;

pub use crate::domain::token::{MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME};

/// Environment variables with the `TOLLGATE_` prefix that are not server settings but are
/// read by the bootstrap or the CLI; anything else with the prefix is a typo and is refused.
const OTHER_ENV_VARS: &[&str] = &[
    "TOLLGATE_BOOTSTRAP_CLIENT_ID",
    "TOLLGATE_BOOTSTRAP_CLIENT_SECRET",
    "TOLLGATE_CLIENT_ID",
    "TOLLGATE_CLIENT_SECRET",
    "TOLLGATE_ENDPOINT",
    "TOLLGATE_CONFIG",
    // Read by the test suite (which database it runs against), never by the server.
    "TOLLGATE_TEST_DATABASE",
    "TOLLGATE_TEST_POSTGRES_URL",
];

pub const MAX_POOL_SIZE: u32 = 1000;
pub const MAX_CACHE_REFRESH_INTERVAL: u64 = 86_400;
pub const MAX_OUTAGE_GRACE: u64 = 86_400;
pub const DEFAULT_ROTATION_PERIOD: u64 = 30 * 86_400;
pub const DEFAULT_ANNOUNCE_PERIOD: u64 = 86_400;
/// A key must be announced for longer than verifiers cache the JWKS (five minutes), twice over.
pub const MIN_ANNOUNCE_PERIOD: u64 = 600;
pub const MAX_SECRETS_LIMIT: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The configuration the server runs with, fully validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// `None` means "derive from the address actually bound", which matters with port 0.
    pub issuer: Option<Issuer>,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub access_token_lifetime: u64,
    pub signing_algorithm: Algorithm,
    /// Explicit audiences; empty means "the issuer only".
    pub audiences: Vec<String>,
    pub log_level: String,
    pub log_format: LogFormat,
    pub bootstrap: Option<BootstrapCredentials>,
    /// Most database connections; `None` means the store's default.
    pub database_pool_size: Option<u32>,
    /// Seconds between full reloads of the caches from the database (PostgreSQL).
    pub cache_refresh_interval: u64,
    /// Seconds a node keeps authenticating clients from its cache after it lost the database.
    pub database_outage_grace: u64,
    /// Algorithms besides `signing_algorithm` that clients may have their tokens signed with.
    pub extra_signing_algorithms: Vec<Algorithm>,
    pub key_rotation_period: u64,
    pub key_announce_period: u64,
    pub max_secrets_per_client: usize,
    /// The key-encryption key, when given; otherwise the default file in the data directory.
    pub kek: Option<KekMaterial>,
    /// The key-encryption key being replaced, while rotating it.
    pub previous_kek: Option<KekMaterial>,
}

/// 32 bytes of key-encryption key.
#[derive(Clone)]
pub struct KekMaterial(pub zeroize::Zeroizing<[u8; crate::keys::sealing::KEK_LEN]>);

impl fmt::Debug for KekMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KekMaterial(<redacted>)")
    }
}

impl KekMaterial {
    /// Base64 (standard alphabet) of exactly 32 bytes, surrounding white space ignored, as
    /// `openssl rand -base64 32` prints it.
    pub fn parse(text: &str) -> Result<KekMaterial, String> {
        use base64::Engine;
        let bytes = zeroize::Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| "is not base64 (create one with `openssl rand -base64 32`)")?,
        );
        let mut key = zeroize::Zeroizing::new([0u8; crate::keys::sealing::KEK_LEN]);
        if bytes.len() != key.len() {
            return Err(format!(
                "must be 32 bytes, base64-encoded; this is {} bytes",
                bytes.len()
            ));
        }
        key.copy_from_slice(&bytes);
        Ok(KekMaterial(key))
    }

    pub fn read_file(path: &Path) -> Result<KekMaterial, String> {
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        );
        KekMaterial::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Credentials for the administrator client, supplied by an automated deployment.
#[derive(Debug, Clone)]
pub struct BootstrapCredentials {
    pub client_id: String,
    pub client_secret: ClientSecret,
}

/// The issuer identifier (RFC 8414 §2): an absolute URL without query or fragment, kept
/// without a trailing slash so endpoint URLs can be appended to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    pub fn parse(input: &str) -> Result<Issuer, String> {
        let url = Url::parse(input).map_err(|e| format!("not an absolute URL ({e})"))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err("must not have a query or fragment (RFC 8414 §2)".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain user information".into());
        }
        let host = url.host_str().ok_or("must have a host")?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => {
                return Err(
                    "must use https (plain http is allowed for loopback addresses only)".into(),
                );
            }
            other => return Err(format!("scheme `{other}` is not http or https")),
        }
        Ok(Issuer(input.trim_end_matches('/').to_owned()))
    }

    pub fn for_addr(addr: SocketAddr) -> Issuer {
        Issuer(format!("http://{addr}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_loopback(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

// By hand: a PostgreSQL URL may carry a password.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(url) => f.debug_tuple("Sqlite").field(url).finish(),
            DatabaseUrl::Postgres(url) => {
                let shown = match Url::parse(url) {
                    Ok(mut u) if u.password().is_some() => {
                        let _ = u.set_password(Some("***"));
                        u.to_string()
                    }
                    Ok(u) => u.to_string(),
                    Err(_) => "<unparsable>".to_owned(),
                };
                f.debug_tuple("Postgres").field(&shown).finish()
            }
        }
    }
}

impl DatabaseUrl {
    fn parse(input: &str) -> Result<DatabaseUrl, String> {
        if input.starts_with("sqlite:") {
            if input.contains(":memory:") || input.contains("mode=memory") {
                return Err(
                    "an in-memory SQLite database would lose every client on restart; \
                     give a file path such as sqlite://./tollgate-data/tollgate.db"
                        .into(),
                );
            }
            Ok(DatabaseUrl::Sqlite(input.to_owned()))
        } else if input.starts_with("postgres:") || input.starts_with("postgresql:") {
            Url::parse(input).map_err(|e| {
                format!(
                    "not a valid PostgreSQL URL ({e}); use \
                     postgres://user:password@host:5432/database"
                )
            })?;
            Ok(DatabaseUrl::Postgres(input.to_owned()))
        } else {
            Err("must start with sqlite:// or postgres://".into())
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("invalid setting `{key}` ({env}): {message}")]
    Invalid {
        key: &'static str,
        env: &'static str,
        message: String,
    },
    #[error(
        "unknown environment variable {0}: Tollgate does not read it (check the spelling; \
         the settings are listed in README.md)"
    )]
    UnknownEnv(String),
}

/// Key-encryption keys from the environment, before validation.
#[derive(Default)]
struct KekSources {
    key: Option<String>,
    previous: Option<String>,
    previous_file: Option<PathBuf>,
}

/// The shape of the TOML file; every key is optional and unknown keys are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    issuer: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    access_token_lifetime: Option<u64>,
    signing_algorithm: Option<String>,
    audiences: Option<Vec<String>>,
    log_level: Option<String>,
    log_format: Option<String>,
    database_pool_size: Option<u32>,
    cache_refresh_interval: Option<u64>,
    database_outage_grace: Option<u64>,
    extra_signing_algorithms: Option<Vec<String>>,
    key_rotation_period: Option<u64>,
    key_announce_period: Option<u64>,
    max_secrets_per_client: Option<usize>,
    key_encryption_key_file: Option<PathBuf>,
}

fn invalid(key: &'static str, env: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        env,
        message: message.into(),
    }
}

/// A whole number from an environment variable.
fn env_number<T: FromStr>(
    value: &str,
    key: &'static str,
    env: &'static str,
    what: &str,
) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(key, env, format!("`{value}` is not a whole number{what}")))
}

/// Checks that a setting lies in `range`.
fn in_range<T: PartialOrd + fmt::Display>(
    value: T,
    range: std::ops::RangeInclusive<T>,
    key: &'static str,
    env: &'static str,
    unit: &str,
) -> Result<T, ConfigError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            key,
            env,
            format!(
                "{value} is outside {}..={}{unit}",
                range.start(),
                range.end()
            ),
        ))
    }
}

impl Config {
    /// Loads the file (if given) and overlays the process environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::from_sources(path, std::env::vars())
    }

    pub fn from_sources(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut file = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::File {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
            None => FileConfig::default(),
        };
        let env: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("TOLLGATE_"))
            .collect();
        let mut bootstrap_id = None;
        let mut bootstrap_secret = None;
        let mut keks = KekSources::default();
        let number = |key: &'static str, env: &'static str, value: &str| {
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| invalid(key, env, format!("`{value}` is not a whole number")))
        };
        for (key, value) in env {
            match key.as_str() {
                "TOLLGATE_LISTEN" => file.listen = Some(value),
                "TOLLGATE_ISSUER" => file.issuer = Some(value),
                "TOLLGATE_DATA_DIR" => file.data_dir = Some(value.into()),
                "TOLLGATE_DATABASE_URL" => file.database_url = Some(value),
                "TOLLGATE_ACCESS_TOKEN_LIFETIME" => {
                    let secs = value.trim().parse().map_err(|_| {
                        invalid(
                            "access_token_lifetime",
                            "TOLLGATE_ACCESS_TOKEN_LIFETIME",
                            format!("`{value}` is not a whole number of seconds"),
                        )
                    })?;
                    file.access_token_lifetime = Some(secs);
                }
                "TOLLGATE_SIGNING_ALGORITHM" => file.signing_algorithm = Some(value),
                "TOLLGATE_AUDIENCES" => {
                    file.audiences = Some(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    )
                }
                "TOLLGATE_LOG_LEVEL" => file.log_level = Some(value),
                "TOLLGATE_LOG_FORMAT" => file.log_format = Some(value),
                "TOLLGATE_DATABASE_POOL_SIZE" => {
                    file.database_pool_size = Some(env_number(
                        &value,
                        "database_pool_size",
                        "TOLLGATE_DATABASE_POOL_SIZE",
                        "",
                    )?)
                }
                "TOLLGATE_CACHE_REFRESH_INTERVAL" => {
                    file.cache_refresh_interval = Some(env_number(
                        &value,
                        "cache_refresh_interval",
                        "TOLLGATE_CACHE_REFRESH_INTERVAL",
                        " of seconds",
                    )?)
                }
                "TOLLGATE_DATABASE_OUTAGE_GRACE" => {
                    file.database_outage_grace = Some(env_number(
                        &value,
                        "database_outage_grace",
                        "TOLLGATE_DATABASE_OUTAGE_GRACE",
                        " of seconds",
                    )?)
                }
                "TOLLGATE_EXTRA_SIGNING_ALGORITHMS" => {
                    file.extra_signing_algorithms = Some(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    )
                }
                "TOLLGATE_KEY_ROTATION_PERIOD" => {
                    file.key_rotation_period = Some(number(
                        "key_rotation_period",
                        "TOLLGATE_KEY_ROTATION_PERIOD",
                        &value,
                    )?)
                }
                "TOLLGATE_KEY_ANNOUNCE_PERIOD" => {
                    file.key_announce_period = Some(number(
                        "key_announce_period",
                        "TOLLGATE_KEY_ANNOUNCE_PERIOD",
                        &value,
                    )?)
                }
                "TOLLGATE_MAX_SECRETS_PER_CLIENT" => {
                    let n = number(
                        "max_secrets_per_client",
                        "TOLLGATE_MAX_SECRETS_PER_CLIENT",
                        &value,
                    )?;
                    file.max_secrets_per_client = Some(usize::try_from(n).unwrap_or(usize::MAX));
                }
                "TOLLGATE_KEY_ENCRYPTION_KEY_FILE" => {
                    file.key_encryption_key_file = Some(value.into())
                }
                "TOLLGATE_KEY_ENCRYPTION_KEY" => keks.key = Some(value),
                "TOLLGATE_PREVIOUS_KEY_ENCRYPTION_KEY" => keks.previous = Some(value),
                "TOLLGATE_PREVIOUS_KEY_ENCRYPTION_KEY_FILE" => {
                    keks.previous_file = Some(value.into())
                }
                "TOLLGATE_BOOTSTRAP_CLIENT_ID" => bootstrap_id = Some(value),
                "TOLLGATE_BOOTSTRAP_CLIENT_SECRET" => bootstrap_secret = Some(value),
                other if OTHER_ENV_VARS.contains(&other) => {}
                other => return Err(ConfigError::UnknownEnv(other.to_owned())),
            }
        }
        Self::validate(file, bootstrap_id, bootstrap_secret, keks)
    }

    fn validate(
        file: FileConfig,
        bootstrap_id: Option<String>,
        bootstrap_secret: Option<String>,
        keks: KekSources,
    ) -> Result<Config, ConfigError> {
        let listen = match file.listen {
            Some(s) => s.trim().parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "listen",
                    "TOLLGATE_LISTEN",
                    format!("`{s}` is not an address:port such as 127.0.0.1:8080 or [::]:8080"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let issuer = file
            .issuer
            .map(|s| Issuer::parse(s.trim()).map_err(|m| invalid("issuer", "TOLLGATE_ISSUER", m)))
            .transpose()?;
        let data_dir = file
            .data_dir
            .unwrap_or_else(|| PathBuf::from("./tollgate-data"));
        if data_dir.as_os_str().is_empty() {
            return Err(invalid(
                "data_dir",
                "TOLLGATE_DATA_DIR",
                "must not be empty",
            ));
        }
        let database_url = match file.database_url {
            Some(s) => DatabaseUrl::parse(s.trim())
                .map_err(|m| invalid("database_url", "TOLLGATE_DATABASE_URL", m))?,
            None => DatabaseUrl::Sqlite(format!(
                "sqlite://{}",
                data_dir.join("tollgate.db").display()
            )),
        };
        let access_token_lifetime = file.access_token_lifetime.unwrap_or(3600);
        if !(MIN_TOKEN_LIFETIME..=MAX_TOKEN_LIFETIME).contains(&access_token_lifetime) {
            return Err(invalid(
                "access_token_lifetime",
                "TOLLGATE_ACCESS_TOKEN_LIFETIME",
                format!(
                    "{access_token_lifetime} is outside {MIN_TOKEN_LIFETIME}..={MAX_TOKEN_LIFETIME} seconds"
                ),
            ));
        }
        let signing_algorithm = match file.signing_algorithm {
            Some(s) => Algorithm::from_str(s.trim()).map_err(|_| {
                invalid(
                    "signing_algorithm",
                    "TOLLGATE_SIGNING_ALGORITHM",
                    format!("`{s}` is not one of ES256, EdDSA, RS256"),
                )
            })?,
            None => Algorithm::Es256,
        };
        let audiences = file.audiences.unwrap_or_default();
        for aud in &audiences {
            if Url::parse(aud).is_err() || aud.contains('#') {
                return Err(invalid(
                    "audiences",
                    "TOLLGATE_AUDIENCES",
                    format!("`{aud}` is not an absolute URI without a fragment (RFC 8707 §2)"),
                ));
            }
        }
        let log_level = file.log_level.unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            return Err(invalid(
                "log_level",
                "TOLLGATE_LOG_LEVEL",
                format!("`{log_level}` is not a level (error, warn, info, debug, trace) or filter"),
            ));
        }
        let log_format = match file.log_format.as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "log_format",
                    "TOLLGATE_LOG_FORMAT",
                    format!("`{other}` is not `text` or `json`"),
                ));
            }
        };
        let bootstrap = match (bootstrap_id, bootstrap_secret) {
            (None, None) => None,
            (Some(client_id), Some(secret)) => {
                if crate::domain::client::ClientId::parse(&client_id).is_err() {
                    return Err(invalid(
                        "bootstrap client id",
                        "TOLLGATE_BOOTSTRAP_CLIENT_ID",
                        "use 1 to 128 characters from A-Z a-z 0-9 . _ ~ -",
                    ));
                }
                if secret.len() < 32 {
                    return Err(invalid(
                        "bootstrap client secret",
                        "TOLLGATE_BOOTSTRAP_CLIENT_SECRET",
                        "must be at least 32 characters of high-entropy random text \
                         (for example the output of `openssl rand -hex 32`)",
                    ));
                }
                Some(BootstrapCredentials {
                    client_id,
                    client_secret: ClientSecret::new(secret),
                })
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(invalid(
                    "bootstrap credentials",
                    "TOLLGATE_BOOTSTRAP_CLIENT_ID/TOLLGATE_BOOTSTRAP_CLIENT_SECRET",
                    "set both variables or neither",
                ));
            }
        };
        let database_pool_size = file
            .database_pool_size
            .map(|n| {
                in_range(
                    n,
                    1..=MAX_POOL_SIZE,
                    "database_pool_size",
                    "TOLLGATE_DATABASE_POOL_SIZE",
                    " connections",
                )
            })
            .transpose()?;
        let cache_refresh_interval = in_range(
            file.cache_refresh_interval.unwrap_or(60),
            1..=MAX_CACHE_REFRESH_INTERVAL,
            "cache_refresh_interval",
            "TOLLGATE_CACHE_REFRESH_INTERVAL",
            " seconds",
        )?;
        let database_outage_grace = in_range(
            file.database_outage_grace.unwrap_or(300),
            0..=MAX_OUTAGE_GRACE,
            "database_outage_grace",
            "TOLLGATE_DATABASE_OUTAGE_GRACE",
            " seconds",
        )?;
        let mut extra_signing_algorithms = Vec::new();
        for a in file.extra_signing_algorithms.unwrap_or_default() {
            let alg = Algorithm::from_str(&a).map_err(|_| {
                invalid(
                    "extra_signing_algorithms",
                    "TOLLGATE_EXTRA_SIGNING_ALGORITHMS",
                    format!("`{a}` is not one of ES256, EdDSA, RS256"),
                )
            })?;
            if alg != signing_algorithm && !extra_signing_algorithms.contains(&alg) {
                extra_signing_algorithms.push(alg);
            }
        }
        let key_rotation_period = file.key_rotation_period.unwrap_or(DEFAULT_ROTATION_PERIOD);
        let key_announce_period = file.key_announce_period.unwrap_or(DEFAULT_ANNOUNCE_PERIOD);
        if key_announce_period < MIN_ANNOUNCE_PERIOD {
            return Err(invalid(
                "key_announce_period",
                "TOLLGATE_KEY_ANNOUNCE_PERIOD",
                format!(
                    "must be at least {MIN_ANNOUNCE_PERIOD} seconds, so verifiers that cache the \
                     JWKS for five minutes see a key before it signs"
                ),
            ));
        }
        if key_rotation_period <= key_announce_period || key_rotation_period > 366 * 86_400 {
            return Err(invalid(
                "key_rotation_period",
                "TOLLGATE_KEY_ROTATION_PERIOD",
                format!(
                    "must be longer than key_announce_period ({key_announce_period} s) and at \
                     most a year"
                ),
            ));
        }
        let max_secrets_per_client = file.max_secrets_per_client.unwrap_or(5);
        if !(1..=MAX_SECRETS_LIMIT).contains(&max_secrets_per_client) {
            return Err(invalid(
                "max_secrets_per_client",
                "TOLLGATE_MAX_SECRETS_PER_CLIENT",
                format!("must be between 1 and {MAX_SECRETS_LIMIT}"),
            ));
        }
        let kek = match (keks.key, file.key_encryption_key_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "key_encryption_key_file",
                    "TOLLGATE_KEY_ENCRYPTION_KEY/TOLLGATE_KEY_ENCRYPTION_KEY_FILE",
                    "give the key-encryption key one way, not both",
                ));
            }
            (Some(k), None) => Some(
                KekMaterial::parse(&k)
                    .map_err(|m| invalid("key encryption key", "TOLLGATE_KEY_ENCRYPTION_KEY", m))?,
            ),
            (None, Some(path)) => Some(KekMaterial::read_file(&path).map_err(|m| {
                invalid(
                    "key_encryption_key_file",
                    "TOLLGATE_KEY_ENCRYPTION_KEY_FILE",
                    m,
                )
            })?),
            (None, None) => None,
        };
        let previous_kek = match (keks.previous, keks.previous_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "previous key encryption key",
                    "TOLLGATE_PREVIOUS_KEY_ENCRYPTION_KEY/TOLLGATE_PREVIOUS_KEY_ENCRYPTION_KEY_FILE",
                    "give the previous key-encryption key one way, not both",
                ));
            }
            (Some(k), None) => Some(KekMaterial::parse(&k).map_err(|m| {
                invalid(
                    "previous key encryption key",
                    "TOLLGATE_PREVIOUS_KEY_ENCRYPTION_KEY",
                    m,
                )
            })?),
            (None, Some(path)) => Some(KekMaterial::read_file(&path).map_err(|m| {
                invalid(
                    "previous key encryption key",
                    "TOLLGATE_PREVIOUS_KEY_ENCRYPTION_KEY_FILE",
                    m,
                )
            })?),
            (None, None) => None,
        };
        Ok(Config {
            extra_signing_algorithms,
            key_rotation_period,
            key_announce_period,
            max_secrets_per_client,
            kek,
            previous_kek,
            listen,
            issuer,
            data_dir,
            database_url,
            access_token_lifetime,
            signing_algorithm,
            audiences,
            log_level,
            log_format,
            bootstrap,
            database_pool_size,
            cache_refresh_interval,
            database_outage_grace,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_the_product_brief() {
        let c = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./tollgate-data"));
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite("sqlite://./tollgate-data/tollgate.db".into())
        );
        assert_eq!(c.access_token_lifetime, 3600);
        assert_eq!(c.signing_algorithm, Algorithm::Es256);
        assert!(c.issuer.is_none());
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\naccess_token_lifetime = 600\n",
        )
        .unwrap();
        let c = Config::from_sources(Some(&path), env(&[("TOLLGATE_LISTEN", "127.0.0.1:9100")]))
            .unwrap();
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(c.access_token_lifetime, 600);
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        let err = Config::from_sources(Some(&path), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn unknown_env_vars_are_refused_by_name() {
        let err = Config::from_sources(None, env(&[("TOLLGATE_LISTN", "x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("TOLLGATE_LISTN"), "{err}");
    }

    #[test]
    fn bad_values_name_the_setting() {
        for (var, value, needle) in [
            ("TOLLGATE_LISTEN", "nope", "listen"),
            ("TOLLGATE_ISSUER", "http://example.com", "https"),
            ("TOLLGATE_ISSUER", "https://a.example/?q=1", "query"),
            (
                "TOLLGATE_ACCESS_TOKEN_LIFETIME",
                "10",
                "access_token_lifetime",
            ),
            ("TOLLGATE_ACCESS_TOKEN_LIFETIME", "1h", "whole number"),
            ("TOLLGATE_SIGNING_ALGORITHM", "HS256", "signing_algorithm"),
            ("TOLLGATE_LOG_FORMAT", "xml", "log_format"),
            ("TOLLGATE_DATABASE_URL", "mysql://x", "database_url"),
            ("TOLLGATE_DATABASE_URL", "postgres://[bad", "PostgreSQL URL"),
            ("TOLLGATE_DATABASE_POOL_SIZE", "0", "database_pool_size"),
            ("TOLLGATE_DATABASE_POOL_SIZE", "many", "whole number"),
            (
                "TOLLGATE_CACHE_REFRESH_INTERVAL",
                "0",
                "cache_refresh_interval",
            ),
            (
                "TOLLGATE_DATABASE_OUTAGE_GRACE",
                "1m",
                "database_outage_grace",
            ),
            ("TOLLGATE_DATABASE_URL", "sqlite::memory:", "in-memory"),
            ("TOLLGATE_AUDIENCES", "not a uri", "audiences"),
            ("TOLLGATE_BOOTSTRAP_CLIENT_ID", "admin", "neither"),
            ("TOLLGATE_KEY_ANNOUNCE_PERIOD", "60", "key_announce_period"),
            ("TOLLGATE_KEY_ROTATION_PERIOD", "600", "key_rotation_period"),
            (
                "TOLLGATE_MAX_SECRETS_PER_CLIENT",
                "0",
                "max_secrets_per_client",
            ),
            (
                "TOLLGATE_EXTRA_SIGNING_ALGORITHMS",
                "ES256,HS256",
                "extra_signing_algorithms",
            ),
            ("TOLLGATE_KEY_ENCRYPTION_KEY", "c2hvcnQ=", "32 bytes"),
            ("TOLLGATE_KEY_ENCRYPTION_KEY", "not base64!", "base64"),
            (
                "TOLLGATE_KEY_ENCRYPTION_KEY_FILE",
                "/nonexistent/kek",
                "cannot read",
            ),
        ] {
            let err = Config::from_sources(None, env(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{var}={value}: {err}");
        }
    }

    #[test]
    fn postgres_settings() {
        let c = Config::from_sources(
            None,
            env(&[
                (
                    "TOLLGATE_DATABASE_URL",
                    "postgres://tollgate:hunter2@db.internal:5432/tollgate",
                ),
                ("TOLLGATE_DATABASE_POOL_SIZE", "20"),
                ("TOLLGATE_CACHE_REFRESH_INTERVAL", "30"),
                ("TOLLGATE_DATABASE_OUTAGE_GRACE", "0"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.database_url,
            DatabaseUrl::Postgres("postgres://tollgate:hunter2@db.internal:5432/tollgate".into())
        );
        assert_eq!(c.database_pool_size, Some(20));
        assert_eq!(c.cache_refresh_interval, 30);
        assert_eq!(c.database_outage_grace, 0);
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.internal"), "{shown}");

        let d = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!(d.database_pool_size, None);
        assert_eq!(d.cache_refresh_interval, 60);
        assert_eq!(d.database_outage_grace, 300);
    }

    #[test]
    fn issuer_is_normalised_and_loopback_http_allowed() {
        assert_eq!(
            Issuer::parse("http://localhost:8080/").unwrap().as_str(),
            "http://localhost:8080"
        );
        assert!(Issuer::parse("http://[::1]:8080").is_ok());
        let i = Issuer::parse("https://auth.example.com/tenant1/").unwrap();
        assert_eq!(i.as_str(), "https://auth.example.com/tenant1");
    }

    #[test]
    fn bootstrap_secret_must_be_long() {
        let err = Config::from_sources(
            None,
            env(&[
                ("TOLLGATE_BOOTSTRAP_CLIENT_ID", "admin"),
                ("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", "short"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("TOLLGATE_BOOTSTRAP_CLIENT_SECRET"), "{err}");
    }
}
