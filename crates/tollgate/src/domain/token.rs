//! Access tokens (RFC 9068): what a client may be granted, and the claims of the JWT.

use serde::{Deserialize, Serialize};

use super::grant::Grant;
use super::scope::ScopeSet;
use crate::clock::UnixTime;

/// The shortest access-token lifetime, in seconds: below a minute a client spends more time
/// fetching tokens than using them.
pub const MIN_TOKEN_LIFETIME: u64 = 60;
/// The longest access-token lifetime, in seconds. Revocations and retired signing keys are kept
/// this long, since no token they concern can outlive it.
pub const MAX_TOKEN_LIFETIME: u64 = 86_400;
/// The longest token this server will look at, in bytes, checked before any decoding: its own
/// tokens are a few hundred bytes, and `tollgate-verify` stops at the same length.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// The most distinct audiences (RFC 8707 `resource` values) one token may carry: each one
/// lengthens every request the client makes with it.
pub const MAX_RESOURCES: usize = 10;

/// The `aud` claim: one audience as a string, several as an array (RFC 7519 §4.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(v) => v.iter().any(|a| a == aud),
        }
    }
}

/// The payload of a Tollgate access token (RFC 9068 §2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub client_id: String,
    pub aud: Audience,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

impl AccessTokenClaims {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    /// Keeps only the scopes the client still holds: a token is worth no more than its
    /// client may do now, so removing a scope from a client takes it from its live tokens
    /// too. Allocates only when something is taken away.
    pub fn narrow_scopes(&mut self, allowed: &ScopeSet) {
        if self.scopes().all(|s| allowed.contains(s)) {
            return;
        }
        let kept: Vec<&str> = self.scopes().filter(|s| allowed.contains(s)).collect();
        self.scope = (!kept.is_empty()).then(|| kept.join(" "));
    }
}

/// Server-wide rules for issuing tokens.
#[derive(Clone, Debug)]
pub struct TokenPolicy {
    pub issuer: String,
    pub default_lifetime: u64,
}

impl TokenPolicy {
    /// The issuer's URL path ("" when it has none), where the well-known documents also live.
    pub fn issuer_path(&self) -> String {
        url::Url::parse(&self.issuer)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default()
    }
}

pub fn claims(
    client_id: &str,
    grant: &Grant,
    policy: &TokenPolicy,
    now: UnixTime,
    jti: String,
) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: policy.issuer.clone(),
        sub: client_id.to_owned(),
        client_id: client_id.to_owned(),
        aud: grant.audience.clone(),
        scope: (!grant.scope.is_empty()).then(|| grant.scope.to_delimited()),
        iat: now.0,
        exp: now.plus_secs(grant.lifetime).0,
        jti,
        tenant: grant.tenant.as_ref().map(|t| t.as_str().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::grant::Tenant;

    fn policy() -> TokenPolicy {
        TokenPolicy {
            issuer: "https://auth.example".into(),
            default_lifetime: 3600,
        }
    }

    fn scopes(s: &str) -> ScopeSet {
        ScopeSet::parse_delimited(s).unwrap()
    }

    fn grant(scope: &str, tenant: Option<&str>) -> Grant {
        Grant {
            scope: if scope.is_empty() {
                ScopeSet::default()
            } else {
                scopes(scope)
            },
            audience: Audience::One("https://auth.example".into()),
            lifetime: 3600,
            algorithm: None,
            tenant: tenant.and_then(Tenant::parse),
        }
    }

    #[test]
    fn claims_follow_rfc_9068() {
        let c = claims(
            "tgc_1",
            &grant("b a", Some("acme")),
            &policy(),
            UnixTime(1000),
            "j1".into(),
        );
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["iss"], "https://auth.example");
        assert_eq!(v["sub"], "tgc_1");
        assert_eq!(v["client_id"], "tgc_1");
        assert_eq!(v["aud"], "https://auth.example");
        assert_eq!(v["scope"], "a b");
        assert_eq!(v["iat"], 1000);
        assert_eq!(v["exp"], 4600);
        assert_eq!(v["jti"], "j1");
        assert_eq!(v["tenant"], "acme");
        let v = serde_json::to_value(claims(
            "c",
            &grant("", None),
            &policy(),
            UnixTime(0),
            "j".into(),
        ))
        .unwrap();
        assert!(v.get("scope").is_none() && v.get("tenant").is_none());
    }

    #[test]
    fn scopes_narrow_to_what_the_client_holds() {
        let mut c = claims(
            "c",
            &grant("a b c", None),
            &policy(),
            UnixTime(0),
            "j".into(),
        );
        c.narrow_scopes(&scopes("a b c d"));
        assert_eq!(c.scope.as_deref(), Some("a b c"));
        c.narrow_scopes(&scopes("c a"));
        assert_eq!(c.scope.as_deref(), Some("a c"));
        c.narrow_scopes(&ScopeSet::default());
        assert_eq!(c.scope, None);
    }
}
