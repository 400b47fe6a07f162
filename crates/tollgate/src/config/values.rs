//! The value types of settings that the rest of the server reads: parsed once at startup, so
//! the code that uses them never meets a malformed issuer, database URL or key.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use url::Url;

use crate::keys::sealing::KEK_LEN;

/// How log lines are written on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(input: &str) -> Result<LogFormat, String> {
        match input.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("`{other}` is not `text` or `json`")),
        }
    }
}

/// 32 bytes of key-encryption key.
#[derive(Clone)]
pub struct KekMaterial(pub zeroize::Zeroizing<[u8; KEK_LEN]>);

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
        let mut key = zeroize::Zeroizing::new([0u8; KEK_LEN]);
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
    pub fn parse(input: &str) -> Result<DatabaseUrl, String> {
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

    /// The database when none is configured: a SQLite file in the data directory.
    pub fn default_in(data_dir: &Path) -> DatabaseUrl {
        DatabaseUrl::Sqlite(format!(
            "sqlite://{}",
            data_dir.join("tollgate.db").display()
        ))
    }
}

/// Refuses a bootstrap secret that is obviously weak: shorter than 32 characters, made of
/// fewer than [`MIN_DISTINCT`] distinct characters (`aaaa…`, `abab…`, a repeated word), or
/// worth less than 128 bits by a character-class estimate (length × log2 of the alphabet
/// of the classes it uses: digits 10, lower case 26, upper case 26, other printable 33).
/// Random text passes: 32 hex characters (128 bits) are refused for too few distinct
/// characters with a chance of about 1 in 10 000, 64 (`openssl rand -hex 32`) practically
/// never; Tollgate's own `tgs_…` secrets always pass.
pub(super) fn check_bootstrap_secret(secret: &str) -> Result<(), String> {
    const HOW: &str = "use at least 32 characters of random text, for example the output of \
                       `openssl rand -hex 32`";
    let len = secret.chars().count();
    if len < 32 {
        return Err(format!("is {len} characters long; {HOW}"));
    }
    let distinct = secret
        .chars()
        .collect::<std::collections::HashSet<_>>()
        .len();
    if distinct < MIN_DISTINCT {
        return Err(format!(
            "uses only {distinct} distinct characters (at least {MIN_DISTINCT} needed); {HOW}"
        ));
    }
    let has = |f: fn(&char) -> bool| secret.chars().any(|c| f(&c));
    let alphabet = [
        (has(char::is_ascii_digit), 10.0),
        (has(char::is_ascii_lowercase), 26.0),
        (has(char::is_ascii_uppercase), 26.0),
        (has(|c| !c.is_ascii_alphanumeric()), 33.0),
    ]
    .iter()
    .filter(|(present, _)| *present)
    .map(|(_, size)| size)
    .sum::<f64>();
    let bits = len as f64 * alphabet.log2();
    if bits < 128.0 {
        return Err(format!(
            "holds about {bits:.0} bits by its character classes (at least 128 needed); {HOW}"
        ));
    }
    Ok(())
}

/// Distinct characters a bootstrap secret must have at least.
const MIN_DISTINCT: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

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
}
