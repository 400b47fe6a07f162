//! API clients: identifiers, names, validation of what an administrator submits.

use std::fmt;

use super::algorithm::Algorithm;
use super::claims::StaticClaims;
use super::grant::Tenant;
use super::hex;
use super::quota::Quota;
use super::scope::{ScopeError, ScopeSet};
use super::secret::SecretHash;
use super::token::{MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME};
use crate::clock::{Rng, UnixTime, random_bytes};

pub const CLIENT_ID_PREFIX: &str = "tgc_";
pub const MAX_NAME_LEN: usize = 100;
pub const MAX_DESCRIPTION_LEN: usize = 1000;

/// A client identifier: 1 to 128 characters from the URL-unreserved set, so it needs no
/// escaping in paths, forms or HTTP Basic credentials.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(s: &str) -> Result<ClientId, FieldError> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'));
        if ok {
            Ok(ClientId(s.to_owned()))
        } else {
            Err(FieldError::new(
                "client_id",
                "use 1 to 128 characters from A-Z a-z 0-9 . _ ~ -",
            ))
        }
    }

    /// `tgc_` + 96 random bits in hex.
    pub fn generate(rng: &dyn Rng) -> ClientId {
        ClientId(format!(
            "{CLIENT_ID_PREFIX}{}",
            hex(&random_bytes::<12>(rng))
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifies one of a client's secrets without revealing it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SecretId(Box<str>);

impl SecretId {
    pub fn generate(rng: &dyn Rng) -> SecretId {
        SecretId(format!("sec_{}", hex(&random_bytes::<8>(rng))).into_boxed_str())
    }

    /// An id as an administrator gives it (in a path): `sec_` and 1 to 64 ASCII letters or
    /// digits. Anything else was never generated, so cannot name a secret.
    pub fn parse(s: &str) -> Result<SecretId, FieldError> {
        let ok = s.strip_prefix("sec_").is_some_and(|rest| {
            (1..=64).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if ok {
            Ok(SecretId(s.into()))
        } else {
            Err(FieldError::new("secret_id", "is not a secret id (sec_…)"))
        }
    }

    pub fn from_stored(s: String) -> SecretId {
        SecretId(s.into_boxed_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One field the administrator got wrong, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Bidirectional formatting characters: embeddings and overrides (U+202A–U+202E), isolates
/// (U+2066–U+2069) and the implicit marks (U+200E, U+200F, U+061C). They are not control
/// characters to `char::is_control`, yet they reorder what a console or terminal shows, so a
/// name such as `pay\u{202e}lanretxe` would read as another client's ("Trojan Source").
pub(crate) fn is_bidi_format(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// A client's unique, human-readable name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientName(String);

impl ClientName {
    pub fn parse(s: &str) -> Result<ClientName, FieldError> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new("name", "must not be empty"));
        }
        if trimmed.chars().count() > MAX_NAME_LEN {
            return Err(FieldError::new(
                "name",
                format!("must be at most {MAX_NAME_LEN} characters"),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldError::new(
                "name",
                "must not contain control characters",
            ));
        }
        if trimmed.chars().any(is_bidi_format) {
            return Err(FieldError::new(
                "name",
                "must not contain bidirectional formatting characters (U+202A–U+202E, \
                 U+2066–U+2069, U+200E, U+200F, U+061C)",
            ));
        }
        Ok(ClientName(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    pub fn parse(s: &str) -> Result<Description, FieldError> {
        if s.chars().count() > MAX_DESCRIPTION_LEN {
            return Err(FieldError::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION_LEN} characters"),
            ));
        }
        // Newlines let a description have paragraphs; tabs and every other control character
        // (escape sequences, carriage returns that overwrite a line) stay out, as do
        // bidirectional formatting characters, which reorder what is shown.
        if s.chars().any(|c| c.is_control() && c != '\n') {
            return Err(FieldError::new(
                "description",
                "must not contain control characters other than newlines",
            ));
        }
        if s.chars().any(is_bidi_format) {
            return Err(FieldError::new(
                "description",
                "must not contain bidirectional formatting characters (U+202A–U+202E, \
                 U+2066–U+2069, U+200E, U+200F, U+061C)",
            ));
        }
        Ok(Description(s.trim().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Per-client access token lifetime, in seconds.
pub fn parse_token_lifetime(secs: u64) -> Result<u64, FieldError> {
    if (MIN_TOKEN_LIFETIME..=MAX_TOKEN_LIFETIME).contains(&secs) {
        Ok(secs)
    } else {
        Err(FieldError::new(
            "access_token_lifetime",
            format!("must be between {MIN_TOKEN_LIFETIME} and {MAX_TOKEN_LIFETIME} seconds"),
        ))
    }
}

pub fn parse_scopes(items: &[String]) -> Result<ScopeSet, FieldError> {
    for (i, item) in items.iter().enumerate() {
        if let Err(e) = super::scope::Scope::parse(item) {
            return Err(FieldError::new(format!("scopes[{i}]"), e.to_string()));
        }
    }
    ScopeSet::parse_list(items).map_err(|e: ScopeError| FieldError::new("scopes", e.to_string()))
}

/// For the audit trail of a client or API patch: the lifetime and algorithm it sets, or resets
/// to the server default (`Some(None)`).
pub(crate) fn describe_overrides(
    fields: &mut Vec<String>,
    lifetime: Option<Option<u64>>,
    algorithm: Option<Option<Algorithm>>,
) {
    if let Some(l) = lifetime {
        fields.push(match l {
            Some(l) => format!("access_token_lifetime {l}"),
            None => "access_token_lifetime default".to_owned(),
        });
    }
    if let Some(a) = algorithm {
        fields.push(match a {
            Some(a) => format!("signing_algorithm {a}"),
            None => "signing_algorithm default".to_owned(),
        });
    }
}

/// A stored client secret: its hash and lifecycle, never the secret itself.
#[derive(Clone, Debug)]
pub struct SecretInfo {
    pub id: SecretId,
    pub hash: SecretHash,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
    /// Set when the secret was found leaked and disabled.
    pub disabled_at: Option<UnixTime>,
}

impl SecretInfo {
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.disabled_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// An API client as stored.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: ClientId,
    pub name: ClientName,
    pub description: Description,
    pub scopes: ScopeSet,
    pub access_token_lifetime: Option<u64>,
    /// Signs this client's tokens instead of the server's default algorithm.
    pub signing_algorithm: Option<Algorithm>,
    /// The tenants whose tokens the client may get (see `grant`); sorted.
    pub tenants: Vec<Tenant>,
    /// Merged into each of the client's tokens.
    pub claims: Option<StaticClaims>,
    /// The scopes were fixed at creation and cannot change.
    pub scopes_locked: bool,
    pub quota: Option<Quota>,
    pub secrets: Vec<SecretInfo>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// What an administrator submits to create a client, validated.
#[derive(Clone, Debug)]
pub struct NewClient {
    pub name: ClientName,
    pub description: Description,
    pub scopes: ScopeSet,
    pub access_token_lifetime: Option<u64>,
    pub signing_algorithm: Option<Algorithm>,
    pub tenants: Vec<Tenant>,
    pub claims: Option<StaticClaims>,
    /// `None`: the server's default (the `lock_client_scopes` setting).
    pub scopes_locked: Option<bool>,
    pub quota: Option<Quota>,
}

/// A partial update; `None` leaves a field as it is. The lifetime is doubly optional so it
/// can be cleared back to the server default.
#[derive(Clone, Debug, Default)]
pub struct ClientPatch {
    pub name: Option<ClientName>,
    pub description: Option<Description>,
    pub scopes: Option<ScopeSet>,
    pub access_token_lifetime: Option<Option<u64>>,
    pub signing_algorithm: Option<Option<Algorithm>>,
    pub tenants: Option<Vec<Tenant>>,
    pub claims: Option<Option<StaticClaims>>,
    pub scopes_locked: Option<bool>,
    /// `Some(None)` removes the quota.
    pub quota: Option<Option<Quota>>,
}

impl ClientPatch {
    /// Which fields the patch changes, for the audit trail.
    pub fn describe(&self) -> String {
        let mut fields = Vec::new();
        if let Some(n) = &self.name {
            fields.push(format!("name {:?}", n.as_str()));
        }
        if self.description.is_some() {
            fields.push("description".to_owned());
        }
        if let Some(s) = &self.scopes {
            fields.push(format!("scopes {:?}", s.to_delimited()));
        }
        describe_overrides(
            &mut fields,
            self.access_token_lifetime,
            self.signing_algorithm,
        );
        if let Some(t) = &self.tenants {
            let t: Vec<&str> = t.iter().map(Tenant::as_str).collect();
            fields.push(format!("tenants {:?}", t.join(" ")));
        }
        if self.claims.is_some() {
            fields.push("claims".to_owned());
        }
        if let Some(l) = self.scopes_locked {
            fields.push(format!("scopes_locked {l}"));
        }
        if let Some(q) = &self.quota {
            fields.push(q.map_or_else(|| "quota none".to_owned(), |q| format!("quota {q}")));
        }
        fields.join(", ")
    }

    /// True when the patch would change nothing whatever the client.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.scopes.is_none()
            && self.access_token_lifetime.is_none()
            && self.signing_algorithm.is_none()
            && self.tenants.is_none()
            && self.claims.is_none()
            && self.scopes_locked.is_none()
            && self.quota.is_none()
    }

    /// The patch without the fields that would leave `client` as it is (a form sends every
    /// field, the audit trail names what changed); `None` when nothing would change.
    pub fn changes_to(mut self, client: &Client) -> Option<ClientPatch> {
        fn drop_same<T: PartialEq>(field: &mut Option<T>, current: &T) {
            if field.as_ref() == Some(current) {
                *field = None;
            }
        }
        drop_same(&mut self.name, &client.name);
        drop_same(&mut self.description, &client.description);
        drop_same(&mut self.scopes, &client.scopes);
        drop_same(
            &mut self.access_token_lifetime,
            &client.access_token_lifetime,
        );
        drop_same(&mut self.signing_algorithm, &client.signing_algorithm);
        drop_same(&mut self.tenants, &client.tenants);
        drop_same(&mut self.claims, &client.claims);
        drop_same(&mut self.scopes_locked, &client.scopes_locked);
        drop_same(&mut self.quota, &client.quota);
        (!self.is_empty()).then_some(self)
    }

    pub fn apply(&self, client: &mut Client, now: UnixTime) {
        if let Some(name) = &self.name {
            client.name = name.clone();
        }
        if let Some(d) = &self.description {
            client.description = d.clone();
        }
        if let Some(s) = &self.scopes {
            client.scopes = s.clone();
        }
        if let Some(l) = self.access_token_lifetime {
            client.access_token_lifetime = l;
        }
        if let Some(a) = self.signing_algorithm {
            client.signing_algorithm = a;
        }
        if let Some(t) = &self.tenants {
            client.tenants = t.clone();
        }
        if let Some(c) = &self.claims {
            client.claims = c.clone();
        }
        if let Some(l) = self.scopes_locked {
            client.scopes_locked = l;
        }
        if let Some(q) = self.quota {
            client.quota = q;
        }
        client.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemRng;

    #[test]
    fn secret_ids() {
        let generated = SecretId::generate(&SystemRng);
        assert_eq!(SecretId::parse(generated.as_str()), Ok(generated));
        for bad in [
            "",
            "sec_",
            "sec_a-b",
            "tgs_0123",
            "sec_0123 ",
            &format!("sec_{}", "a".repeat(65)),
        ] {
            assert!(SecretId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn client_ids() {
        let id = ClientId::generate(&SystemRng);
        assert!(id.as_str().starts_with("tgc_"));
        assert_eq!(id.as_str().len(), 4 + 24);
        assert!(ClientId::parse(id.as_str()).is_ok());
        for bad in ["", "a:b", "a b", "é", &"a".repeat(129)] {
            assert!(ClientId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ClientName::parse("  SCIM  ").unwrap().as_str(), "SCIM");
        assert!(ClientName::parse("   ").is_err());
        assert!(ClientName::parse("a\u{0}b").is_err());
        assert!(ClientName::parse(&"é".repeat(100)).is_ok());
        assert!(ClientName::parse(&"é".repeat(101)).is_err());
    }

    #[test]
    fn bidi_formatting_is_refused_right_to_left_letters_are_not() {
        for c in [
            '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}',
        ] {
            assert!(ClientName::parse(&format!("a{c}b")).is_err(), "{c:?}");
            assert!(Description::parse(&format!("a{c}b")).is_err(), "{c:?}");
        }
        assert!(ClientName::parse("תשלומים").is_ok());
        assert!(ClientName::parse("دفع").is_ok());
    }

    #[test]
    fn descriptions_allow_newlines_only() {
        assert!(Description::parse("line one\nline two").is_ok());
        assert!(Description::parse("bell\u{7}").is_err());
        assert!(Description::parse(&"d".repeat(1001)).is_err());
    }

    #[test]
    fn scope_errors_point_at_the_item() {
        let err = parse_scopes(&["ok".into(), "not ok".into()]).unwrap_err();
        assert_eq!(err.field, "scopes[1]");
    }

    #[test]
    fn secret_expiry_is_exclusive() {
        let s = SecretInfo {
            id: SecretId::from_stored("sec_1".into()),
            hash: SecretHash([0; 32]),
            created_at: UnixTime(0),
            expires_at: Some(UnixTime(100)),
            last_used_at: None,
            disabled_at: None,
        };
        assert!(s.is_live(UnixTime(99)));
        assert!(!s.is_live(UnixTime(100)));
        let disabled = SecretInfo {
            disabled_at: Some(UnixTime(1)),
            ..s
        };
        assert!(!disabled.is_live(UnixTime(2)));
    }

    #[test]
    fn a_patch_keeps_only_what_changes_the_client() {
        let client = Client {
            id: ClientId::parse("tgc_1").unwrap(),
            name: ClientName::parse("Exporter").unwrap(),
            description: Description::parse("d").unwrap(),
            scopes: ScopeSet::parse_list(&["a"]).unwrap(),
            access_token_lifetime: None,
            signing_algorithm: None,
            tenants: Vec::new(),
            claims: None,
            scopes_locked: false,
            quota: None,
            secrets: Vec::new(),
            created_at: UnixTime(0),
            updated_at: UnixTime(0),
        };
        let same = ClientPatch {
            name: Some(client.name.clone()),
            description: Some(client.description.clone()),
            scopes: Some(client.scopes.clone()),
            access_token_lifetime: Some(None),
            signing_algorithm: Some(None),
            tenants: Some(Vec::new()),
            claims: Some(None),
            scopes_locked: Some(false),
            quota: Some(None),
        };
        assert!(same.clone().changes_to(&client).is_none());
        let renamed = ClientPatch {
            name: Some(ClientName::parse("Importer").unwrap()),
            access_token_lifetime: Some(Some(600)),
            ..same
        }
        .changes_to(&client)
        .unwrap();
        assert_eq!(
            renamed.describe(),
            "name \"Importer\", access_token_lifetime 600"
        );
        assert!(ClientPatch::default().is_empty());
    }

    #[test]
    fn token_lifetime_bounds() {
        assert!(parse_token_lifetime(59).is_err());
        assert!(parse_token_lifetime(60).is_ok());
        assert!(parse_token_lifetime(86_400).is_ok());
        assert!(parse_token_lifetime(86_401).is_err());
    }
}
