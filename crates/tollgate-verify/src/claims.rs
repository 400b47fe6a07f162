//! The claims of a verified access token, and scope requirements.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::error::InsufficientScope;

/// The claims of an access token that passed every check.
///
/// Only the verifier creates these, so holding one means the token was valid when it was
/// checked. Times are seconds since the Unix epoch.
#[derive(Clone, Debug)]
pub struct Claims {
    pub(crate) issuer: String,
    pub(crate) subject: String,
    pub(crate) client_id: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) scopes: BTreeSet<String>,
    pub(crate) tenant: Option<String>,
    pub(crate) issued_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) not_before: Option<i64>,
    pub(crate) jti: String,
    pub(crate) raw: Map<String, Value>,
}

impl Claims {
    /// `client_id`: the API client the token was issued to.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// `sub`: for client credentials tokens, the client id too.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// `iss`: the issuer, equal to the configured one.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `aud`, as a list even when the token holds a single string.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The granted scopes (`scope`, split on spaces); empty when the claim is absent.
    pub fn scopes(&self) -> &BTreeSet<String> {
        &self.scopes
    }

    /// `true` when `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// `tenant`, when the client asked for one.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// `iat`.
    pub fn issued_at(&self) -> i64 {
        self.issued_at
    }

    /// `exp`.
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// `nbf`, if present.
    pub fn not_before(&self) -> Option<i64> {
        self.not_before
    }

    /// `jti`: the token's unique id.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// Any claim by name, including ones this type has no accessor for.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.raw.get(name)
    }

    /// Every claim, as the token carried them.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// Succeeds if every scope in `scopes` was granted (or `scopes` is empty).
    pub fn require_all<I, S>(&self, scopes: I) -> Result<(), InsufficientScope>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ScopeRequirement::all(scopes).check(self)
    }

    /// Succeeds if at least one scope in `scopes` was granted (or `scopes` is empty).
    pub fn require_any<I, S>(&self, scopes: I) -> Result<(), InsufficientScope>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ScopeRequirement::any(scopes).check(self)
    }
}

/// Scopes an operation needs: all of a list, or any one of it.
///
/// An empty requirement is always met.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeRequirement {
    scopes: Vec<String>,
    all: bool,
}

impl ScopeRequirement {
    /// Every one of `scopes` is needed.
    pub fn all<I, S>(scopes: I) -> ScopeRequirement
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ScopeRequirement {
            scopes: scopes.into_iter().map(|s| s.as_ref().to_owned()).collect(),
            all: true,
        }
    }

    /// Any one of `scopes` is enough.
    pub fn any<I, S>(scopes: I) -> ScopeRequirement
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ScopeRequirement {
            scopes: scopes.into_iter().map(|s| s.as_ref().to_owned()).collect(),
            all: false,
        }
    }

    /// The scopes named.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Checks the requirement against a token's scopes.
    pub fn check(&self, claims: &Claims) -> Result<(), InsufficientScope> {
        let met = self.scopes.is_empty()
            || if self.all {
                self.scopes.iter().all(|s| claims.has_scope(s))
            } else {
                self.scopes.iter().any(|s| claims.has_scope(s))
            };
        if met {
            Ok(())
        } else {
            Err(InsufficientScope {
                required: self.scopes.clone(),
                all: self.all,
            })
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn claims_with_scopes(scopes: &[&str]) -> Claims {
        Claims {
            issuer: "https://auth.example.com".into(),
            subject: "tgc_1".into(),
            client_id: "tgc_1".into(),
            audiences: vec!["https://api.example.com".into()],
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            tenant: None,
            issued_at: 0,
            expires_at: 1,
            not_before: None,
            jti: "j".into(),
            raw: Map::new(),
        }
    }

    #[test]
    fn all_and_any() {
        let c = claims_with_scopes(&["a", "b"]);
        assert!(c.require_all(["a", "b"]).is_ok());
        assert!(c.require_all::<[&str; 0], &str>([]).is_ok());
        let e = c.require_all(["a", "c"]).unwrap_err();
        assert_eq!(e.required(), ["a", "c"]);
        assert!(e.needs_all());
        assert!(c.require_any(["c", "b"]).is_ok());
        let e = c.require_any(["c", "d"]).unwrap_err();
        assert!(!e.needs_all());
        assert_eq!(e.scope_string(), "c d");
        assert!(
            ScopeRequirement::any(Vec::<String>::new())
                .check(&c)
                .is_ok()
        );
    }
}
