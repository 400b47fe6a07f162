//! A setting's value as the file or the environment gives it ([`Raw`]), the readers its
//! parser uses, and what the parsers found ([`Given`]), from which `Config` is built.

use std::fmt::Display;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;

use super::values::{DatabaseUrl, Issuer, KekMaterial, LogFormat};
use crate::domain::algorithm::Algorithm;
use crate::domain::client::ClientId;
use crate::domain::secret::ClientSecret;

/// A setting's value as given, before parsing.
pub(super) enum Raw {
    Toml(toml::Value),
    /// From the environment, or a default.
    Text(String),
}

impl Raw {
    pub fn text(&self) -> Result<&str, String> {
        match self {
            Raw::Text(s) | Raw::Toml(toml::Value::String(s)) => Ok(s),
            Raw::Toml(other) => Err(format!("must be a string, not a {}", other.type_str())),
        }
    }

    pub fn list(&self) -> Result<Vec<String>, String> {
        let not_strings = || "must be an array of strings".to_owned();
        match self {
            Raw::Text(s) => Ok(s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()),
            Raw::Toml(toml::Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned).ok_or_else(not_strings))
                .collect(),
            Raw::Toml(_) => Err(not_strings()),
        }
    }

    /// `true` or `false` (also `1` and `0` in the environment).
    pub fn flag(&self) -> Result<bool, String> {
        match self {
            Raw::Text(s) => match s.trim() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                other => Err(format!("`{other}` is not `true` or `false`")),
            },
            Raw::Toml(toml::Value::Boolean(b)) => Ok(*b),
            Raw::Toml(other) => Err(format!("must be true or false, not a {}", other.type_str())),
        }
    }

    /// A whole number; `of` names its unit in the error, such as " of seconds".
    pub fn number<T: FromStr + TryFrom<i64>>(&self, of: &str) -> Result<T, String> {
        match self {
            Raw::Text(s) => s
                .trim()
                .parse()
                .map_err(|_| format!("`{s}` is not a whole number{of}")),
            Raw::Toml(toml::Value::Integer(i)) => {
                T::try_from(*i).map_err(|_| format!("{i} is not a whole number{of} in range"))
            }
            Raw::Toml(other) => Err(format!("a {} is not a whole number{of}", other.type_str())),
        }
    }

    pub fn seconds(&self, range: RangeInclusive<u64>) -> Result<u64, String> {
        in_range(self.number(" of seconds")?, range, " seconds")
    }
}

pub(super) fn in_range<T: PartialOrd + Display>(
    value: T,
    range: RangeInclusive<T>,
    unit: &str,
) -> Result<T, String> {
    if range.contains(&value) {
        Ok(value)
    } else {
        let (start, end) = range.into_inner();
        Err(format!("{value} is outside {start}..={end}{unit}"))
    }
}

pub(super) fn algorithm(name: &str) -> Result<Algorithm, String> {
    Algorithm::from_str(name).map_err(|_| format!("`{name}` is not one of ES256, EdDSA, RS256"))
}

/// What the parsers found; `Config` is built from it once every setting is parsed, which is
/// where the rules between settings are checked. A setting with a default is always `Some`.
#[derive(Default)]
pub(super) struct Given {
    pub listen: Option<SocketAddr>,
    pub issuer: Option<Issuer>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<DatabaseUrl>,
    pub database_pool_size: Option<u32>,
    pub cache_refresh_interval: Option<u64>,
    pub database_outage_grace: Option<u64>,
    pub access_token_lifetime: Option<u64>,
    pub signing_algorithm: Option<Algorithm>,
    pub audiences: Vec<String>,
    pub log_level: Option<String>,
    pub log_format: Option<LogFormat>,
    pub extra_signing_algorithms: Vec<Algorithm>,
    pub key_rotation_period: Option<u64>,
    pub key_announce_period: Option<u64>,
    pub max_secrets_per_client: Option<usize>,
    pub lock_client_scopes: Option<bool>,
    pub kek_from_file: Option<KekMaterial>,
    pub kek: Option<KekMaterial>,
    pub previous_kek: Option<KekMaterial>,
    pub previous_kek_from_file: Option<KekMaterial>,
    pub bootstrap_client_id: Option<ClientId>,
    pub bootstrap_client_secret: Option<ClientSecret>,
    pub console: super::console::ConsoleGiven,
    pub edge: super::edge::EdgeGiven,
    pub limits: super::limits::LimitsGiven,
    pub observability: super::observability::ObservabilityGiven,
}
