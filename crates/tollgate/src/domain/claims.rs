//! Claims an administrator sets on a client, copied into each of its tokens.

use serde_json::Value;

use super::client::FieldError;

/// The longest serialized claims object of one client: each token carries it.
pub const MAX_CLAIMS_LEN: usize = 2048;

/// Claim names a client may not set: JWT's registered claims (RFC 7519 §4.1), those RFC 9068,
/// RFC 7800 and RFC 8693 give a meaning in access tokens, OpenID Connect's that resource
/// servers may read as such, and Tollgate's own.
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "scope",
    "client_id",
    "tenant",
    "cnf",
    "act",
    "may_act",
    "azp",
    "auth_time",
    "acr",
    "amr",
    "nonce",
    "sid",
    "typ",
];

/// A client's static claims: a JSON object, kept serialized.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StaticClaims(Box<str>);

impl StaticClaims {
    /// An object's claims; an empty object means none.
    pub fn parse(value: &Value) -> Result<Option<StaticClaims>, FieldError> {
        let Value::Object(map) = value else {
            return Err(FieldError::new(
                "claims",
                "must be a JSON object, such as {\"org\": \"acme\"}",
            ));
        };
        for name in map.keys() {
            if RESERVED_CLAIMS.contains(&name.as_str()) {
                return Err(FieldError::new(
                    format!("claims.{name}"),
                    format!(
                        "`{name}` is a registered or Tollgate-owned claim and cannot be set \
                         (reserved: {})",
                        RESERVED_CLAIMS.join(", ")
                    ),
                ));
            }
            if name.is_empty() || name.chars().any(char::is_control) {
                return Err(FieldError::new(
                    "claims",
                    "claim names must be non-empty and free of control characters",
                ));
            }
        }
        if map.is_empty() {
            return Ok(None);
        }
        let json = value.to_string();
        if json.len() > MAX_CLAIMS_LEN {
            return Err(FieldError::new(
                "claims",
                format!(
                    "is {} bytes serialized; at most {MAX_CLAIMS_LEN} are allowed",
                    json.len()
                ),
            ));
        }
        Ok(Some(StaticClaims(json.into_boxed_str())))
    }

    /// Claims as stored; checked again, so a row edited by hand cannot smuggle in `aud`.
    pub fn from_stored(s: &str) -> Result<Option<StaticClaims>, String> {
        let value: Value = serde_json::from_str(s).map_err(|e| e.to_string())?;
        StaticClaims::parse(&value).map_err(|e| format!("{}: {}", e.field, e.message))
    }

    pub fn as_json(&self) -> &str {
        &self.0
    }

    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// The members without the braces, to append to a token's own claims.
    pub fn members(&self) -> &str {
        self.0
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or("")
    }

    /// Appends the claims to a serialized JSON object (a token's payload).
    pub fn append_to(&self, payload: &mut Vec<u8>) {
        let members = self.members();
        if members.is_empty() || payload.last() != Some(&b'}') {
            return;
        }
        payload.pop();
        if payload.last() != Some(&b'{') {
            payload.push(b',');
        }
        payload.extend_from_slice(members.as_bytes());
        payload.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_of_unreserved_claims() {
        let c = StaticClaims::parse(&json!({"org": "acme", "env": {"tier": 1}}))
            .unwrap()
            .unwrap();
        assert_eq!(c.to_value(), json!({"org": "acme", "env": {"tier": 1}}));
        assert_eq!(StaticClaims::parse(&json!({})).unwrap(), None);
        assert_eq!(
            StaticClaims::parse(&json!([1])).unwrap_err().field,
            "claims"
        );
        assert_eq!(
            StaticClaims::parse(&json!("x")).unwrap_err().field,
            "claims"
        );
    }

    #[test]
    fn reserved_names_are_refused_by_name() {
        for name in ["aud", "iss", "client_id", "tenant", "cnf", "act", "scope"] {
            let err = StaticClaims::parse(&json!({ "org": "a", name: "x" })).unwrap_err();
            assert_eq!(err.field, format!("claims.{name}"));
        }
    }

    #[test]
    fn at_most_two_kib() {
        let fits = json!({"k": "v".repeat(MAX_CLAIMS_LEN - 10)});
        assert!(StaticClaims::parse(&fits).is_ok());
        let over = json!({"k": "v".repeat(MAX_CLAIMS_LEN)});
        assert_eq!(StaticClaims::parse(&over).unwrap_err().field, "claims");
    }

    #[test]
    fn appended_claims_make_one_object() {
        let c = StaticClaims::parse(&json!({"org": "acme", "n": 2}))
            .unwrap()
            .unwrap();
        let mut payload = br#"{"iss":"x"}"#.to_vec();
        c.append_to(&mut payload);
        let v: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(v, json!({"iss": "x", "org": "acme", "n": 2}));
        let mut empty = b"{}".to_vec();
        c.append_to(&mut empty);
        assert_eq!(
            serde_json::from_slice::<Value>(&empty).unwrap(),
            json!({"org": "acme", "n": 2})
        );
    }

    #[test]
    fn stored_claims_are_checked_again() {
        assert!(StaticClaims::from_stored(r#"{"aud":"x"}"#).is_err());
        assert!(StaticClaims::from_stored("not json").is_err());
        assert!(
            StaticClaims::from_stored(r#"{"org":"a"}"#)
                .unwrap()
                .is_some()
        );
    }
}
