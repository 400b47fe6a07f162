//! The claim that carries roles. Providers differ: Entra ID and Okta send `groups` or
//! `roles` as an array, some send a single string, Keycloak nests realm roles under
//! `realm_access.roles`; the operator names the claim and this reads whichever shape comes.

use openidconnect::AdditionalClaims;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Every claim of an ID token or user info response, to find the configured one among them.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub(super) struct RoleClaims {
    #[serde(flatten)]
    claims: Map<String, Value>,
}

impl AdditionalClaims for RoleClaims {}

impl RoleClaims {
    /// The claim's values, or `None` when the claim is absent (and user info may have it).
    /// A dotted name that is not itself a claim walks into nested objects.
    pub(super) fn role_values(&self, claim: &str) -> Option<Vec<String>> {
        let value = match self.claims.get(claim) {
            Some(value) => Some(value),
            None if claim.contains('.') => {
                let mut parts = claim.split('.');
                let first = parts.next().and_then(|p| self.claims.get(p));
                parts.fold(first, |value, part| value.and_then(|v| v.get(part)))
            }
            None => None,
        };
        match value? {
            Value::Null => None,
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect(),
            ),
            // A number or an object names no role.
            _ => Some(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(value: serde_json::Value) -> RoleClaims {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_string_claim_gives_one_value() {
        let c = claims(serde_json::json!({"sub": "x", "role": "tollgate-owners"}));
        assert_eq!(
            c.role_values("role"),
            Some(vec!["tollgate-owners".to_owned()])
        );
    }

    #[test]
    fn an_array_claim_gives_each_string() {
        let c = claims(serde_json::json!({"groups": ["a", 7, "b", null]}));
        assert_eq!(
            c.role_values("groups"),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(c.role_values("roles"), None);
    }

    #[test]
    fn a_dotted_name_reads_a_nested_claim() {
        let c = claims(serde_json::json!({"realm_access": {"roles": ["admin"]}, "a.b": "flat"}));
        assert_eq!(
            c.role_values("realm_access.roles"),
            Some(vec!["admin".to_owned()])
        );
        assert_eq!(c.role_values("a.b"), Some(vec!["flat".to_owned()]));
        assert_eq!(c.role_values("realm_access.groups"), None);
    }

    #[test]
    fn null_is_absent_and_other_shapes_give_nothing() {
        let c = claims(serde_json::json!({"groups": null, "level": 3}));
        assert_eq!(c.role_values("groups"), None);
        assert_eq!(c.role_values("level"), Some(Vec::new()));
    }
}
