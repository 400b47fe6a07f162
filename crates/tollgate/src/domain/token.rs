//! Access tokens (RFC 9068): what a client may be granted, and the claims of the JWT.

use serde::{Deserialize, Serialize};

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
    /// Audiences a client may ask for; the first is used when it asks for none.
    pub audiences: Vec<String>,
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

/// What the client asked for, already parsed.
#[derive(Clone, Debug, Default)]
pub struct TokenRequest {
    pub scope: Option<ScopeSet>,
    /// RFC 8707 `resource` values, or the single `audience` value.
    pub resources: Vec<String>,
    pub tenant: Option<Tenant>,
}

/// A tenant identifier passed through to the `tenant` claim for tenant-level policies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant(String);

impl Tenant {
    pub fn parse(s: &str) -> Option<Tenant> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'));
        ok.then(|| Tenant(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a client gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub scope: ScopeSet,
    pub audience: Audience,
    pub lifetime: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// RFC 6749 §5.2 `invalid_scope`.
    #[error("{0}")]
    InvalidScope(String),
    /// RFC 8707 §2 `invalid_target`.
    #[error("{0}")]
    InvalidTarget(String),
}

/// Decides the scopes, audience and lifetime of a token for an authenticated client.
/// Requested scopes must be a subset of the client's; omitted scope means all of them.
pub fn grant(
    client_scopes: &ScopeSet,
    client_lifetime: Option<u64>,
    request: &TokenRequest,
    policy: &TokenPolicy,
) -> Result<Grant, GrantError> {
    let scope = match &request.scope {
        None => client_scopes.clone(),
        Some(asked) => {
            let missing: Vec<&str> = asked.not_in(client_scopes).map(|s| s.as_str()).collect();
            if !missing.is_empty() {
                return Err(GrantError::InvalidScope(format!(
                    "the client is not allowed the scope(s): {}",
                    missing.join(" ")
                )));
            }
            asked.clone()
        }
    };
    let audience = match request.resources.as_slice() {
        [] => Audience::One(policy.audiences.first().cloned().unwrap_or_default()),
        resources => {
            for r in resources {
                if !policy.audiences.iter().any(|a| a == r) {
                    return Err(GrantError::InvalidTarget(
                        "the requested resource is not served by this authorization server".into(),
                    ));
                }
            }
            match resources {
                [one] => Audience::One(one.clone()),
                many => Audience::Many(many.to_vec()),
            }
        }
    };
    Ok(Grant {
        scope,
        audience,
        lifetime: client_lifetime.unwrap_or(policy.default_lifetime),
    })
}

pub fn claims(
    client_id: &str,
    grant: &Grant,
    tenant: Option<&Tenant>,
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
        tenant: tenant.map(|t| t.as_str().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> TokenPolicy {
        TokenPolicy {
            issuer: "https://auth.example".into(),
            audiences: vec!["https://auth.example".into(), "https://api.example".into()],
            default_lifetime: 3600,
        }
    }

    fn scopes(s: &str) -> ScopeSet {
        ScopeSet::parse_delimited(s).unwrap()
    }

    #[test]
    fn omitted_scope_grants_all_of_the_clients_scopes() {
        let g = grant(&scopes("a b"), None, &TokenRequest::default(), &policy()).unwrap();
        assert_eq!(g.scope, scopes("a b"));
        assert_eq!(g.audience, Audience::One("https://auth.example".into()));
        assert_eq!(g.lifetime, 3600);
    }

    #[test]
    fn requested_scope_narrows() {
        let req = TokenRequest {
            scope: Some(scopes("b")),
            ..Default::default()
        };
        assert_eq!(
            grant(&scopes("a b"), None, &req, &policy()).unwrap().scope,
            scopes("b")
        );
    }

    #[test]
    fn scope_outside_the_clients_is_invalid_scope() {
        let req = TokenRequest {
            scope: Some(scopes("b c")),
            ..Default::default()
        };
        let err = grant(&scopes("a b"), None, &req, &policy()).unwrap_err();
        assert_eq!(
            err,
            GrantError::InvalidScope("the client is not allowed the scope(s): c".into())
        );
    }

    #[test]
    fn resources_must_be_known_audiences() {
        let mut req = TokenRequest {
            resources: vec!["https://api.example".into()],
            ..Default::default()
        };
        let g = grant(&scopes("a"), Some(600), &req, &policy()).unwrap();
        assert_eq!(g.audience, Audience::One("https://api.example".into()));
        assert_eq!(g.lifetime, 600);
        req.resources.push("https://auth.example".into());
        assert!(matches!(
            grant(&scopes("a"), None, &req, &policy()).unwrap().audience,
            Audience::Many(v) if v.len() == 2
        ));
        req.resources.push("https://evil.example".into());
        assert!(matches!(
            grant(&scopes("a"), None, &req, &policy()),
            Err(GrantError::InvalidTarget(_))
        ));
    }

    #[test]
    fn claims_follow_rfc_9068() {
        let g = grant(&scopes("b a"), None, &TokenRequest::default(), &policy()).unwrap();
        let tenant = Tenant::parse("acme").unwrap();
        let c = claims(
            "tgc_1",
            &g,
            Some(&tenant),
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
        let empty = grant(
            &ScopeSet::default(),
            None,
            &TokenRequest::default(),
            &policy(),
        )
        .unwrap();
        let v = serde_json::to_value(claims(
            "c",
            &empty,
            None,
            &policy(),
            UnixTime(0),
            "j".into(),
        ))
        .unwrap();
        assert!(v.get("scope").is_none() && v.get("tenant").is_none());
    }

    #[test]
    fn scopes_narrow_to_what_the_client_holds() {
        let g = grant(&scopes("a b c"), None, &TokenRequest::default(), &policy()).unwrap();
        let mut c = claims("c", &g, None, &policy(), UnixTime(0), "j".into());
        c.narrow_scopes(&scopes("a b c d"));
        assert_eq!(c.scope.as_deref(), Some("a b c"));
        c.narrow_scopes(&scopes("c a"));
        assert_eq!(c.scope.as_deref(), Some("a c"));
        c.narrow_scopes(&ScopeSet::default());
        assert_eq!(c.scope, None);
    }

    #[test]
    fn tenants() {
        assert!(Tenant::parse("acme-prod_1").is_some());
        assert!(Tenant::parse("").is_none());
        assert!(Tenant::parse("a b").is_none());
        assert!(Tenant::parse(&"t".repeat(65)).is_none());
    }
}
