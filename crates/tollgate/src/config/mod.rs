//! Server configuration: a TOML file (`--config`) overlaid by `TOLLGATE_*` environment variables.
//!
//! Every setting is declared once, in [`settings`]: its TOML key, default, meaning and parser.
//! Its environment variable is `TOLLGATE_` and the key in capitals (`listen`:
//! `TOLLGATE_LISTEN`), and README.md's configuration table lists them all (a test keeps the two
//! in step). Key-encryption keys (`TOLLGATE_KEY_ENCRYPTION_KEY`, and while rotating it
//! `TOLLGATE_PREVIOUS_KEY_ENCRYPTION_KEY[_FILE]`) and the bootstrap credentials
//! (`TOLLGATE_BOOTSTRAP_CLIENT_ID`, `TOLLGATE_BOOTSTRAP_CLIENT_SECRET`) are read from the
//! environment only, so no secret has to sit in a config file.
//!
//! With PostgreSQL, several nodes share one database. Each keeps every client in memory and
//! follows the other nodes' changes as PostgreSQL notifies them, reloading everything every
//! `cache_refresh_interval` seconds as a safety net. When a node loses the database it cannot
//! be sure its cache is current; it keeps authenticating clients from its cache for
//! `database_outage_grace` seconds (0: not at all), then answers 503 until the database is back.

mod console;
mod edge;
mod input;
mod limits;
mod observability;
mod settings;
mod values;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::domain::algorithm::Algorithm;
use crate::service::BootstrapCredentials;
use input::{Given, Raw};
use settings::{Kind, all as all_settings, name_of};

pub use console::ConsoleConfig;
pub use edge::EdgeConfig;
pub use observability::ObservabilityConfig;
pub use settings::DEFAULT_OUTAGE_GRACE;
pub use values::{DatabaseUrl, Issuer, KekMaterial, LogFormat};

/// Environment variables with the `TOLLGATE_` prefix that are not server settings but are
/// read by the CLI; anything else with the prefix that is not a setting is a typo and is refused.
const OTHER_ENV_VARS: &[&str] = &[
    "TOLLGATE_CLIENT_ID",
    "TOLLGATE_CLIENT_SECRET",
    "TOLLGATE_ENDPOINT",
    "TOLLGATE_INSECURE_HTTP",
    "TOLLGATE_CONFIG",
    // Read by the test suite (which database it runs against), never by the server.
    "TOLLGATE_TEST_DATABASE",
    "TOLLGATE_TEST_POSTGRES_URL",
];

/// The configuration the server runs with, fully validated. Each field is the setting of the
/// same name in [`settings`], which says what it means and what it defaults to.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// `None` means "derive from the address actually bound", which matters with port 0.
    pub issuer: Option<Issuer>,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub access_token_lifetime: u64,
    pub signing_algorithm: Algorithm,
    /// Audiences from before the catalogue, each registered as an API at start.
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
    pub lock_client_scopes: bool,
    /// The key-encryption key, when given; otherwise the default file in the data directory.
    pub kek: Option<KekMaterial>,
    /// The key-encryption key being replaced, while rotating it.
    pub previous_kek: Option<KekMaterial>,
    /// Sign-in, sessions, single sign-on and the first owner.
    pub console: ConsoleConfig,
    /// Connection, header, request and shutdown limits.
    pub edge: EdgeConfig,
    /// Rate limits, the backoff of failed client authentications, trusted proxies.
    pub limits: crate::service::limits::LimitSettings,
    /// Metrics and traces.
    pub observability: ObservabilityConfig,
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
    /// `setting` names it as the user may have written it: `TOLLGATE_X / `x``.
    #[error("{setting}: {message}")]
    Invalid { setting: String, message: String },
    #[error(
        "unknown environment variable {0}: Tollgate does not read it (check the spelling; \
         the settings are listed in README.md)"
    )]
    UnknownEnv(String),
    /// A setting with a declared default came out without a value: a mistake in
    /// `config/settings.rs`, which the tests of the defaults catch.
    #[error("setting `{0}` has a default but no value was parsed")]
    Unset(&'static str),
}

fn invalid(setting: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.into(),
        message: message.into(),
    }
}

/// The value of a setting that has a default, so always one.
macro_rules! defaulted {
    ($given:ident . $field:ident) => {
        $given
            .$field
            .ok_or(ConfigError::Unset(stringify!($field)))?
    };
}

/// Of a value given two ways, at most one.
fn at_most_one<T>(
    a: Option<T>,
    b: Option<T>,
    names: &str,
    what: &str,
) -> Result<Option<T>, ConfigError> {
    match (a, b) {
        (Some(_), Some(_)) => Err(invalid(names, format!("give {what} one way, not both"))),
        (a, b) => Ok(a.or(b)),
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
        let text = path.map(read_file).transpose()?;
        Self::from_text(path.zip(text.as_deref()), env)
    }

    /// [`Config::from_sources`] with the file's text already read: `file` is its path (named
    /// in errors) and its TOML body.
    pub fn from_text(
        file: Option<(&Path, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut raw: BTreeMap<&'static str, Raw> = BTreeMap::new();
        if let Some((path, text)) = file {
            let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::File {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            for (key, value) in table {
                let file_error = |message| ConfigError::File {
                    path: path.to_owned(),
                    message,
                };
                match all_settings().find(|s| s.key == key) {
                    Some(s) if s.kind == Kind::EnvOnly => {
                        return Err(file_error(format!(
                            "`{key}` is read from the environment only ({})",
                            s.env_name()
                        )));
                    }
                    Some(s) => {
                        raw.insert(s.key, Raw::Toml(value));
                    }
                    None => {
                        return Err(file_error(format!(
                            "unknown key `{key}` (the settings are listed in README.md)"
                        )));
                    }
                }
            }
        }
        for (name, value) in env {
            if !name.starts_with("TOLLGATE_") {
                continue;
            }
            match all_settings().find(|s| s.env_name() == name) {
                Some(s) => {
                    raw.insert(s.key, Raw::Text(value));
                }
                None if OTHER_ENV_VARS.contains(&name.as_str()) => {}
                None => return Err(ConfigError::UnknownEnv(name)),
            }
        }
        let mut given = Given::default();
        for setting in all_settings() {
            if let Some(value) = raw.remove(setting.key).or_else(|| setting.default_value()) {
                (setting.parse)(&value, &mut given).map_err(|m| invalid(setting.name(), m))?;
            }
        }
        Self::from_given(given)
    }

    /// Checks the rules between settings and fills in the defaults derived from others.
    fn from_given(given: Given) -> Result<Config, ConfigError> {
        let data_dir = defaulted!(given.data_dir);
        let database_url = given
            .database_url
            .unwrap_or_else(|| DatabaseUrl::default_in(&data_dir));
        let signing_algorithm = defaulted!(given.signing_algorithm);
        let mut extra_signing_algorithms = Vec::new();
        for alg in given.extra_signing_algorithms {
            if alg != signing_algorithm && !extra_signing_algorithms.contains(&alg) {
                extra_signing_algorithms.push(alg);
            }
        }
        let key_rotation_period = defaulted!(given.key_rotation_period);
        let key_announce_period = defaulted!(given.key_announce_period);
        if key_rotation_period <= key_announce_period {
            return Err(invalid(
                name_of("key_rotation_period"),
                format!("must be longer than key_announce_period ({key_announce_period} s)"),
            ));
        }
        let bootstrap = match (given.bootstrap_client_id, given.bootstrap_client_secret) {
            (None, None) => None,
            (Some(client_id), Some(client_secret)) => Some(BootstrapCredentials {
                client_id,
                client_secret,
            }),
            (Some(_), None) | (None, Some(_)) => {
                return Err(invalid(
                    "TOLLGATE_BOOTSTRAP_CLIENT_ID / TOLLGATE_BOOTSTRAP_CLIENT_SECRET",
                    "set both variables or neither",
                ));
            }
        };
        let kek = at_most_one(
            given.kek,
            given.kek_from_file,
            "TOLLGATE_KEY_ENCRYPTION_KEY / TOLLGATE_KEY_ENCRYPTION_KEY_FILE",
            "the key-encryption key",
        )?;
        let previous_kek = at_most_one(
            given.previous_kek,
            given.previous_kek_from_file,
            "TOLLGATE_PREVIOUS_KEY_ENCRYPTION_KEY / TOLLGATE_PREVIOUS_KEY_ENCRYPTION_KEY_FILE",
            "the previous key-encryption key",
        )?;
        let console = given
            .console
            .build()
            .map_err(|(name, m)| invalid(name, m))?;
        let edge = given.edge.build().map_err(|(name, m)| invalid(name, m))?;
        Ok(Config {
            listen: defaulted!(given.listen),
            issuer: given.issuer,
            data_dir,
            database_url,
            access_token_lifetime: defaulted!(given.access_token_lifetime),
            signing_algorithm,
            audiences: given.audiences,
            log_level: defaulted!(given.log_level),
            log_format: defaulted!(given.log_format),
            bootstrap,
            database_pool_size: given.database_pool_size,
            cache_refresh_interval: defaulted!(given.cache_refresh_interval),
            database_outage_grace: defaulted!(given.database_outage_grace),
            extra_signing_algorithms,
            key_rotation_period,
            key_announce_period,
            max_secrets_per_client: defaulted!(given.max_secrets_per_client),
            lock_client_scopes: defaulted!(given.lock_client_scopes),
            kek,
            previous_kek,
            console,
            edge,
            limits: given.limits.build(),
            observability: given.observability.build(),
        })
    }
}

fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
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
    fn a_file_body_reads_as_the_file_would() {
        let body = "listen = \"127.0.0.1:9000\"\nlog_format = \"json\"\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, body).unwrap();
        let overlay = || env(&[("TOLLGATE_ACCESS_TOKEN_LIFETIME", "600")]);
        let from_file = Config::from_sources(Some(&path), overlay()).unwrap();
        let from_text = Config::from_text(Some((&path, body)), overlay()).unwrap();
        assert_eq!(format!("{from_file:?}"), format!("{from_text:?}"));
        assert_eq!(from_text.access_token_lifetime, 600);
        let err = Config::from_text(Some((&path, "listen = ")), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("config file {}", path.display())),
            "{err}"
        );
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
    fn file_values_of_the_wrong_type_and_env_only_keys_name_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        for (line, needle) in [
            (
                "access_token_lifetime = \"600\"",
                "TOLLGATE_ACCESS_TOKEN_LIFETIME / `access_token_lifetime`",
            ),
            (
                "audiences = \"https://a.example\"",
                "`audiences`: must be an array",
            ),
            ("listen = 8080", "`listen`: must be a string"),
            (
                "bootstrap_client_secret = \"x\"",
                "environment only (TOLLGATE_BOOTSTRAP_CLIENT_SECRET)",
            ),
        ] {
            std::fs::write(&path, format!("{line}\n")).unwrap();
            let err = Config::from_sources(Some(&path), env(&[]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{line}: {err}");
        }
    }

    #[test]
    fn bootstrap_credentials_are_parsed() {
        let secret = "0123456789abcdef0123456789abcdef";
        let c = Config::from_sources(
            None,
            env(&[
                ("TOLLGATE_BOOTSTRAP_CLIENT_ID", "admin"),
                ("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", secret),
            ]),
        )
        .unwrap();
        assert_eq!(c.bootstrap.unwrap().client_id.as_str(), "admin");
        let err = Config::from_sources(
            None,
            env(&[
                ("TOLLGATE_BOOTSTRAP_CLIENT_ID", "not an id"),
                ("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", secret),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("TOLLGATE_BOOTSTRAP_CLIENT_ID: "), "{err}");
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
