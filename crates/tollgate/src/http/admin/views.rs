//! What the admin API answers about clients and secrets. The CLI reads the same types, so a
//! renamed field breaks the build rather than the CLI.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::requests::QuotaBody;
use crate::clock::UnixTime;
use crate::domain::client::{Client, SecretInfo};
use crate::domain::secret::ClientSecret;
use crate::service::UsageReport;

/// An API client. Never includes a secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientView {
    #[schema(example = "tgc_5f0c8e2a9b1d4c7e3a6f8b2d")]
    pub client_id: String,
    #[schema(example = "User Provisioning")]
    pub name: String,
    pub description: String,
    #[schema(example = json!(["enterprise:user"]))]
    pub scopes: Vec<String>,
    /// Seconds; `null` means the server default.
    pub access_token_lifetime: Option<u64>,
    /// `ES256`, `EdDSA` or `RS256`; `null` means the server default.
    pub signing_algorithm: Option<String>,
    /// Tenant ids the client may get tokens for.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Claims merged into each of the client's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub claims: Option<serde_json::Value>,
    /// The scopes were fixed at creation and cannot change.
    #[serde(default)]
    pub scopes_locked: bool,
    /// At most so many tokens per fixed UTC window; `null`: none.
    #[serde(default)]
    pub quota: Option<QuotaBody>,
    pub secrets: Vec<SecretView>,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
    /// Tokens the client got. Counted in memory by each node and written behind every minute,
    /// so another node's latest requests may be missing for up to a minute.
    #[serde(default)]
    pub usage: UsageView,
}

/// A client's token usage, summed over every node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UsageView {
    /// Tokens issued in the last 24 hours (counted by the hour: this hour and the 23 before).
    pub tokens_last_24h: u64,
    /// Tokens issued in the last 30 days.
    pub tokens_last_30d: u64,
    /// The client asks for far more tokens than its token lifetime needs, i.e. it fetches a new
    /// token instead of reusing one until it expires: over the last 24 hours it got more than
    /// 10 times the tokens one caching caller needs in the hours it was active (one per token
    /// lifetime), and at least 25.
    pub not_caching_tokens: bool,
    /// Tokens used in the quota's current window (left out without a quota): the cluster's
    /// counts as of this node's last read after its write-behind, plus this node's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_used: Option<u64>,
    /// An enforced quota is used up (requests are refused until the window ends), or a
    /// monitored one was gone beyond (left out without a quota).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_exceeded: Option<bool>,
}

impl From<UsageReport> for UsageView {
    fn from(u: UsageReport) -> UsageView {
        UsageView {
            tokens_last_24h: u.last_24h,
            tokens_last_30d: u.last_30d,
            not_caching_tokens: u.not_caching,
            quota_used: u.quota.map(|q| q.0),
            quota_exceeded: u.quota.map(|q| q.1),
        }
    }
}

impl ClientView {
    /// The view with the client's usage (the plain conversion shows none).
    pub fn with_usage(mut self, usage: UsageReport) -> ClientView {
        self.usage = usage.into();
        self
    }
}

/// One of a client's secrets, described without the secret itself.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SecretView {
    pub secret_id: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// Written behind: may lag real use by up to a minute.
    pub last_used_at: Option<String>,
    /// Set when the secret was reported leaked and disabled.
    pub disabled_at: Option<String>,
}

impl From<&SecretInfo> for SecretView {
    fn from(s: &SecretInfo) -> SecretView {
        SecretView {
            secret_id: s.id.as_str().to_owned(),
            created_at: s.created_at.to_rfc3339(),
            expires_at: s.expires_at.map(UnixTime::to_rfc3339),
            last_used_at: s.last_used_at.map(UnixTime::to_rfc3339),
            disabled_at: s.disabled_at.map(UnixTime::to_rfc3339),
        }
    }
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> ClientView {
        ClientView {
            client_id: c.id.as_str().to_owned(),
            name: c.name.as_str().to_owned(),
            description: c.description.as_str().to_owned(),
            scopes: c.scopes.to_vec(),
            access_token_lifetime: c.access_token_lifetime,
            signing_algorithm: c.signing_algorithm.map(|a| a.as_str().to_owned()),
            tenants: c.tenants.iter().map(|t| t.as_str().to_owned()).collect(),
            claims: c.claims.as_ref().map(|c| c.to_value()),
            scopes_locked: c.scopes_locked,
            quota: c.quota.as_ref().map(QuotaBody::from),
            secrets: c.secrets.iter().map(SecretView::from).collect(),
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
            usage: UsageView::default(),
        }
    }
}

/// Shown once: the only response that carries the secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedClient {
    pub client: ClientView,
    #[serde(with = "plain_secret")]
    #[schema(value_type = String)]
    pub client_secret: ClientSecret,
}

/// Shown once: the only response that carries the secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedSecret {
    pub secret: SecretView,
    #[serde(with = "plain_secret")]
    #[schema(value_type = String)]
    pub client_secret: ClientSecret,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A secret in clear on the wire, held in memory as [`ClientSecret`] (zeroized on drop, redacted
/// by `Debug`) on both ends.
pub mod plain_secret {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::domain::secret::ClientSecret;

    pub fn serialize<S: Serializer>(secret: &ClientSecret, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(secret.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ClientSecret, D::Error> {
        String::deserialize(d).map(ClientSecret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> ClientView {
        ClientView {
            client_id: "tgc_1".into(),
            name: "n".into(),
            description: String::new(),
            scopes: vec!["a".into()],
            access_token_lifetime: None,
            signing_algorithm: None,
            tenants: Vec::new(),
            claims: None,
            scopes_locked: false,
            quota: None,
            secrets: Vec::new(),
            created_at: "2030-01-01T00:00:00Z".into(),
            updated_at: "2030-01-01T00:00:00Z".into(),
            usage: UsageView::default(),
        }
    }

    fn secret_view() -> SecretView {
        SecretView {
            secret_id: "sec_1".into(),
            created_at: "2030-01-01T00:00:00Z".into(),
            expires_at: None,
            last_used_at: None,
            disabled_at: None,
        }
    }

    const SECRET: &str = "tgs_0123456789abcdef0123456789abcdef";

    #[test]
    fn debug_of_created_credentials_hides_the_secret() {
        let client = CreatedClient {
            client: view(),
            client_secret: ClientSecret::new(SECRET.into()),
        };
        let secret = CreatedSecret {
            secret: secret_view(),
            client_secret: ClientSecret::new(SECRET.into()),
        };
        for shown in [format!("{client:?}"), format!("{secret:?}")] {
            assert!(!shown.contains(&SECRET[4..]), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }

    #[test]
    fn the_secret_serialises_in_clear_and_back() {
        let created = CreatedSecret {
            secret: secret_view(),
            client_secret: ClientSecret::new(SECRET.into()),
        };
        let json = serde_json::to_value(&created).unwrap();
        assert_eq!(json["client_secret"], SECRET);
        let back: CreatedSecret = serde_json::from_value(json).unwrap();
        assert_eq!(back.client_secret.expose(), SECRET);
    }
}
