//! Every setting, declared once.
//!
//! An entry of [`CORE`] (or of the console's list) gives a setting's TOML key, its default, its meaning and its
//! parser; everything else follows from it. The environment variable is `TOLLGATE_` and the
//! key in capitals; the TOML file and the environment are looked up here, so an unknown key or
//! variable is refused; an error names `TOLLGATE_X / `x``; README.md's configuration table is
//! compared with this list by a test. A default is written as the environment would write it
//! and goes through the same parser, so it cannot disagree with what a user may type.

use std::path::PathBuf;

use url::Url;

use super::input::{Given, Raw, algorithm, in_range};
use super::values::{DatabaseUrl, Issuer, KekMaterial, LogFormat, check_bootstrap_secret};
use crate::domain::client::ClientId;
use crate::domain::secret::ClientSecret;
use crate::domain::token::{MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME};

pub use crate::cluster::freshness::DEFAULT_OUTAGE_GRACE;
const MAX_POOL_SIZE: u32 = 1000;
const MAX_CACHE_REFRESH_INTERVAL: u64 = 86_400;
const MAX_OUTAGE_GRACE: u64 = 86_400;
/// A key must be announced for longer than verifiers cache the JWKS (five minutes), twice over.
const MIN_ANNOUNCE_PERIOD: u64 = 600;
const MAX_ROTATION_PERIOD: u64 = 366 * 86_400;
const MAX_SECRETS_LIMIT: usize = 20;

/// How a setting is written, and where.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// One value, in the file or the environment (which wins).
    Value,
    /// A list: an array of strings in TOML, comma-separated in the environment.
    List,
    /// The environment only: secrets stay out of config files, and deployments inject these.
    EnvOnly,
}

/// A setting's default, as README.md shows it.
pub(super) enum DefaultValue {
    /// A value written as in the environment.
    Text(&'static str),
    Number(u64),
    /// Seconds; README adds the whole days, such as "(30 days)".
    Seconds(u64),
    /// No value: `Config` derives one, or the setting is optional. The text says which.
    Derived(
        #[cfg_attr(not(test), expect(dead_code, reason = "read by the README.md check"))]
        &'static str,
    ),
}

pub(super) struct Setting {
    /// The TOML key, from which the environment variable is named.
    pub key: &'static str,
    pub kind: Kind,
    pub default: DefaultValue,
    /// One line for README.md.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the README.md check"))]
    pub meaning: &'static str,
    /// Checks a value and records it; the error is shown after the setting's name.
    pub parse: fn(&Raw, &mut Given) -> Result<(), String>,
}

impl Setting {
    pub fn env_name(&self) -> String {
        format!("TOLLGATE_{}", self.key.to_ascii_uppercase())
    }

    /// How errors name the setting: both spellings a user might have written.
    pub fn name(&self) -> String {
        match self.kind {
            Kind::EnvOnly => self.env_name(),
            Kind::Value | Kind::List => format!("{} / `{}`", self.env_name(), self.key),
        }
    }

    /// The value used when neither the file nor the environment gives one.
    pub fn default_value(&self) -> Option<Raw> {
        match self.default {
            DefaultValue::Text(text) => Some(Raw::Text(text.to_owned())),
            DefaultValue::Number(n) | DefaultValue::Seconds(n) => Some(Raw::Text(n.to_string())),
            DefaultValue::Derived(_) => None,
        }
    }
}

/// The name errors use for the setting with this key (the key itself if there is none).
pub(super) fn name_of(key: &str) -> String {
    all()
        .find(|s| s.key == key)
        .map_or_else(|| key.to_owned(), Setting::name)
}

/// Every setting, in the order of README.md's table: these, then the console's, the edge's,
/// the rate limits', then metrics and traces.
pub(super) fn all() -> impl Iterator<Item = &'static Setting> {
    CORE.iter()
        .chain(super::console::CONSOLE.iter())
        .chain(super::edge::EDGE.iter())
        .chain(super::limits::LIMITS.iter())
        .chain(super::observability::OBSERVABILITY.iter())
}

/// The core settings (environment-only ones last).
pub(super) static CORE: &[Setting] = &[
    Setting {
        key: "listen",
        kind: Kind::Value,
        default: DefaultValue::Text("127.0.0.1:8080"),
        meaning: "address and port to listen on",
        parse: |raw, given| {
            let s = raw.text()?;
            let addr = s.trim().parse().map_err(|_| {
                format!("`{s}` is not an address:port such as 127.0.0.1:8080 or [::]:8080")
            })?;
            given.listen = Some(addr);
            Ok(())
        },
    },
    Setting {
        key: "issuer",
        kind: Kind::Value,
        default: DefaultValue::Derived("`http://` + listen address"),
        meaning: "the public URL clients use; `https` unless loopback; required when listening \
                  on `0.0.0.0`",
        parse: |raw, given| {
            given.issuer = Some(Issuer::parse(raw.text()?.trim())?);
            Ok(())
        },
    },
    Setting {
        key: "data_dir",
        kind: Kind::Value,
        default: DefaultValue::Text("./tollgate-data"),
        meaning: "where Tollgate keeps its files (created `0700`)",
        parse: |raw, given| match raw.text()? {
            "" => Err("must not be empty".into()),
            dir => {
                given.data_dir = Some(PathBuf::from(dir));
                Ok(())
            }
        },
    },
    Setting {
        key: "database_url",
        kind: Kind::Value,
        default: DefaultValue::Derived("`sqlite://<data_dir>/tollgate.db`"),
        meaning: "the database: `sqlite://<path>` or \
                  `postgres://user:password@host:5432/database`",
        parse: |raw, given| {
            given.database_url = Some(DatabaseUrl::parse(raw.text()?.trim())?);
            Ok(())
        },
    },
    Setting {
        key: "database_pool_size",
        kind: Kind::Value,
        default: DefaultValue::Derived("`4` (SQLite), `10` (PostgreSQL)"),
        meaning: "most database connections per node",
        parse: |raw, given| {
            let size = in_range(raw.number("")?, 1..=MAX_POOL_SIZE, " connections")?;
            given.database_pool_size = Some(size);
            Ok(())
        },
    },
    Setting {
        key: "cache_refresh_interval",
        kind: Kind::Value,
        default: DefaultValue::Seconds(60),
        meaning: "PostgreSQL: seconds between full reloads of the in-memory clients and \
                  revocations (a safety net; changes arrive by `LISTEN/NOTIFY` at once)",
        parse: |raw, given| {
            given.cache_refresh_interval = Some(raw.seconds(1..=MAX_CACHE_REFRESH_INTERVAL)?);
            Ok(())
        },
    },
    Setting {
        key: "database_outage_grace",
        kind: Kind::Value,
        default: DefaultValue::Seconds(DEFAULT_OUTAGE_GRACE),
        meaning: "PostgreSQL: seconds a node that lost the database keeps issuing tokens to \
                  cached clients before answering 503; `0` refuses at once (see \
                  [docs/deploy.md](docs/deploy.md#when-the-database-goes-away))",
        parse: |raw, given| {
            given.database_outage_grace = Some(raw.seconds(0..=MAX_OUTAGE_GRACE)?);
            Ok(())
        },
    },
    Setting {
        key: "access_token_lifetime",
        kind: Kind::Value,
        default: DefaultValue::Seconds(3600),
        meaning: "seconds, 60 to 86400; a client can override it",
        parse: |raw, given| {
            let secs = raw.seconds(MIN_TOKEN_LIFETIME..=MAX_TOKEN_LIFETIME)?;
            given.access_token_lifetime = Some(secs);
            Ok(())
        },
    },
    Setting {
        key: "signing_algorithm",
        kind: Kind::Value,
        default: DefaultValue::Text("ES256"),
        meaning: "`ES256`, `EdDSA` or `RS256`",
        parse: |raw, given| {
            given.signing_algorithm = Some(algorithm(raw.text()?.trim())?);
            Ok(())
        },
    },
    Setting {
        key: "audiences",
        kind: Kind::List,
        default: DefaultValue::Derived("`[issuer]`"),
        meaning: "superseded by the API catalogue: each is registered as an API at start, and \
                  the first receives the scopes clients held before the upgrade \
                  (docs/catalogue.md)",
        parse: |raw, given| {
            let audiences = raw.list()?;
            if let Some(bad) = audiences
                .iter()
                .find(|aud| Url::parse(aud).is_err() || aud.contains('#'))
            {
                return Err(format!(
                    "`{bad}` is not an absolute URI without a fragment (RFC 8707 §2)"
                ));
            }
            given.audiences = audiences;
            Ok(())
        },
    },
    Setting {
        key: "log_level",
        kind: Kind::Value,
        default: DefaultValue::Text("info"),
        meaning: "a level or a tracing filter such as `info,sqlx=warn`",
        parse: |raw, given| {
            let level = raw.text()?;
            if tracing_subscriber::EnvFilter::try_new(level).is_err() {
                return Err(format!(
                    "`{level}` is not a level (error, warn, info, debug, trace) or filter"
                ));
            }
            given.log_level = Some(level.to_owned());
            Ok(())
        },
    },
    Setting {
        key: "log_format",
        kind: Kind::Value,
        default: DefaultValue::Text("text"),
        meaning: "`text` or `json`, on stdout",
        parse: |raw, given| {
            given.log_format = Some(LogFormat::parse(raw.text()?)?);
            Ok(())
        },
    },
    Setting {
        key: "extra_signing_algorithms",
        kind: Kind::List,
        default: DefaultValue::Derived("none"),
        meaning: "more algorithms clients may have their tokens signed with",
        parse: |raw, given| {
            given.extra_signing_algorithms = raw
                .list()?
                .iter()
                .map(|name| algorithm(name))
                .collect::<Result<_, _>>()?;
            Ok(())
        },
    },
    Setting {
        key: "key_rotation_period",
        kind: Kind::Value,
        default: DefaultValue::Seconds(30 * 86_400),
        meaning: "seconds a signing key signs before its successor takes over",
        parse: |raw, given| {
            let secs = raw.number(" of seconds")?;
            if secs > MAX_ROTATION_PERIOD {
                return Err(format!(
                    "must be at most a year ({MAX_ROTATION_PERIOD} seconds)"
                ));
            }
            given.key_rotation_period = Some(secs);
            Ok(())
        },
    },
    Setting {
        key: "key_announce_period",
        kind: Kind::Value,
        default: DefaultValue::Seconds(86_400),
        meaning: "seconds a new key is published before it signs (at least 600)",
        parse: |raw, given| {
            let secs = raw.number(" of seconds")?;
            if secs < MIN_ANNOUNCE_PERIOD {
                return Err(format!(
                    "must be at least {MIN_ANNOUNCE_PERIOD} seconds, so verifiers that cache the \
                     JWKS for five minutes see a key before it signs"
                ));
            }
            given.key_announce_period = Some(secs);
            Ok(())
        },
    },
    Setting {
        key: "max_secrets_per_client",
        kind: Kind::Value,
        default: DefaultValue::Number(5),
        meaning: "1 to 20",
        parse: |raw, given| {
            let most = in_range(raw.number("")?, 1..=MAX_SECRETS_LIMIT, " secrets")?;
            given.max_secrets_per_client = Some(most);
            Ok(())
        },
    },
    Setting {
        key: "lock_client_scopes",
        kind: Kind::Value,
        default: DefaultValue::Text("false"),
        meaning: "`true`: new clients get `scopes_locked` unless created with it `false`",
        parse: |raw, given| {
            given.lock_client_scopes = Some(raw.flag()?);
            Ok(())
        },
    },
    Setting {
        key: "key_encryption_key_file",
        kind: Kind::Value,
        default: DefaultValue::Derived(
            "`<data_dir>/key-encryption.key`, generated on first start (SQLite); **required** \
             on PostgreSQL",
        ),
        meaning: "file holding the KEK (base64 of 32 bytes); or the key itself in \
                  `TOLLGATE_KEY_ENCRYPTION_KEY`; the same on every node",
        parse: |raw, given| {
            let path = PathBuf::from(raw.text()?);
            given.kek_from_file = Some(KekMaterial::read_file(&path)?);
            Ok(())
        },
    },
    Setting {
        key: "key_encryption_key",
        kind: Kind::EnvOnly,
        default: DefaultValue::Derived("none"),
        meaning: "the KEK itself, base64 of 32 bytes",
        parse: |raw, given| {
            given.kek = Some(KekMaterial::parse(raw.text()?)?);
            Ok(())
        },
    },
    Setting {
        key: "previous_key_encryption_key",
        kind: Kind::EnvOnly,
        default: DefaultValue::Derived("none"),
        meaning: "while rotating the KEK: the one being replaced",
        parse: |raw, given| {
            given.previous_kek = Some(KekMaterial::parse(raw.text()?)?);
            Ok(())
        },
    },
    Setting {
        key: "previous_key_encryption_key_file",
        kind: Kind::EnvOnly,
        default: DefaultValue::Derived("none"),
        meaning: "while rotating the KEK: a file holding the one being replaced",
        parse: |raw, given| {
            let path = PathBuf::from(raw.text()?);
            given.previous_kek_from_file = Some(KekMaterial::read_file(&path)?);
            Ok(())
        },
    },
    Setting {
        key: "bootstrap_client_id",
        kind: Kind::EnvOnly,
        default: DefaultValue::Derived("none"),
        meaning: "the administrator client the first start creates, instead of a generated one",
        parse: |raw, given| {
            let id = ClientId::parse(raw.text()?)
                .map_err(|_| "use 1 to 128 characters from A-Z a-z 0-9 . _ ~ -")?;
            given.bootstrap_client_id = Some(id);
            Ok(())
        },
    },
    Setting {
        key: "bootstrap_client_secret",
        kind: Kind::EnvOnly,
        default: DefaultValue::Derived("none"),
        meaning: "the secret of that administrator client",
        parse: |raw, given| {
            let secret = raw.text()?;
            check_bootstrap_secret(secret)?;
            given.bootstrap_client_secret = Some(ClientSecret::new(secret.to_owned()));
            Ok(())
        },
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"));

    /// README.md's configuration table as the declarations make it.
    fn table() -> String {
        let mut rows = vec![
            "| TOML key | environment variable | default | meaning |".to_owned(),
            "|---|---|---|---|".to_owned(),
        ];
        for s in all().filter(|s| s.kind != Kind::EnvOnly) {
            let env = match s.kind {
                Kind::List => format!("`{}` (comma-separated)", s.env_name()),
                Kind::Value | Kind::EnvOnly => format!("`{}`", s.env_name()),
            };
            let default = match s.default {
                DefaultValue::Text(text) => format!("`{text}`"),
                DefaultValue::Number(n) => format!("`{n}`"),
                DefaultValue::Seconds(n) => match n / 86_400 {
                    days @ 1.. if n % 86_400 == 0 => {
                        format!("`{n}` ({days} day{})", if days == 1 { "" } else { "s" })
                    }
                    _ => format!("`{n}`"),
                },
                DefaultValue::Derived(text) => text.to_owned(),
            };
            rows.push(format!(
                "| `{}` | {env} | {default} | {} |",
                s.key, s.meaning
            ));
        }
        rows.join("\n")
    }

    /// The table under `## Configuration` in `readme`: its lines from the header row on.
    fn readme_table(readme: &str) -> String {
        let section = readme
            .split_once("\n## Configuration\n")
            .map(|(_, rest)| rest.split("\n## ").next().unwrap_or(rest))
            .expect("README.md has a `## Configuration` section");
        section
            .lines()
            .skip_while(|line| !line.starts_with("| TOML key"))
            .take_while(|line| line.starts_with('|'))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn readme_lists_every_setting_as_declared() {
        let expected = table();
        assert_eq!(
            readme_table(README),
            expected,
            "README.md's configuration table differs from config/settings.rs; the declared \
             settings give this table:\n\n{expected}\n"
        );
    }

    #[test]
    fn the_readme_check_sees_drift() {
        let drifted = README.replace("`TOLLGATE_LOG_FORMAT`", "`TOLLGATE_LOGFORMAT`");
        assert_ne!(readme_table(&drifted), table());
        let missing = README.replace(
            "| `max_secrets_per_client` | `TOLLGATE_MAX_SECRETS_PER_CLIENT` | `5` | 1 to 20 |\n",
            "",
        );
        assert_ne!(missing.len(), README.len());
        assert_ne!(readme_table(&missing), table());
    }

    #[test]
    fn every_declared_default_parses() {
        for s in all() {
            if let Some(value) = s.default_value() {
                (s.parse)(&value, &mut Given::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", s.key));
            }
        }
    }

    #[test]
    fn keys_are_unique_and_lower_case() {
        let mut keys: Vec<_> = all().map(|s| s.key).collect();
        assert!(
            keys.iter()
                .all(|k| k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all().count());
    }
}
