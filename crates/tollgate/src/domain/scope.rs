//! Scopes (RFC 6749 §3.3).

use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::fmt;

/// One scope token: `1*( %x21 / %x23-5B / %x5D-7E )` (RFC 6749 §3.3), at most 128 bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

pub const MAX_SCOPE_LEN: usize = 128;
pub const MAX_SCOPES: usize = 100;

/// The scope that authorizes the admin API.
pub const ADMIN_SCOPE: &str = "tollgate:admin";
/// The scope that lets a client (typically an API) introspect tokens and read the
/// revocation feed.
pub const INTROSPECT_SCOPE: &str = "tollgate:introspect";
/// The fine-grained scopes of the admin API; `tollgate:admin` holds all of them.
pub const CLIENTS_READ_SCOPE: &str = "tollgate:clients:read";
pub const CLIENTS_WRITE_SCOPE: &str = "tollgate:clients:write";
pub const APIS_READ_SCOPE: &str = "tollgate:apis:read";
pub const APIS_WRITE_SCOPE: &str = "tollgate:apis:write";
pub const KEYS_READ_SCOPE: &str = "tollgate:keys:read";
pub const KEYS_WRITE_SCOPE: &str = "tollgate:keys:write";
pub const AUDIT_READ_SCOPE: &str = "tollgate:audit:read";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("a scope must not be empty")]
    Empty,
    #[error("scope is longer than {MAX_SCOPE_LEN} characters")]
    TooLong,
    #[error(
        "scope contains a character RFC 6749 section 3.3 does not allow (spaces, quotes, \
         backslashes and control characters are not allowed)"
    )]
    BadCharacter,
    #[error("at most {MAX_SCOPES} scopes are allowed")]
    TooMany,
}

impl Scope {
    pub fn parse(s: &str) -> Result<Scope, ScopeError> {
        if s.is_empty() {
            return Err(ScopeError::Empty);
        }
        if s.len() > MAX_SCOPE_LEN {
            return Err(ScopeError::TooLong);
        }
        let ok = s
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if !ok {
            return Err(ScopeError::BadCharacter);
        }
        Ok(Scope(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// A scope orders, compares and hashes as its text, so sets can be searched with a `&str`.
impl Borrow<str> for Scope {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of scopes, kept sorted so its space-delimited form is canonical.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Result<ScopeSet, ScopeError> {
        let set: BTreeSet<Scope> = scopes.into_iter().collect();
        if set.len() > MAX_SCOPES {
            return Err(ScopeError::TooMany);
        }
        Ok(ScopeSet(set))
    }

    pub fn parse_list<S: AsRef<str>>(items: &[S]) -> Result<ScopeSet, ScopeError> {
        let scopes = items
            .iter()
            .map(|s| Scope::parse(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        ScopeSet::new(scopes)
    }

    /// The `scope` request parameter: space-delimited tokens. Runs of spaces are tolerated
    /// because some client libraries produce them.
    pub fn parse_delimited(s: &str) -> Result<ScopeSet, ScopeError> {
        let items: Vec<&str> = s.split(' ').filter(|t| !t.is_empty()).collect();
        if items.is_empty() {
            return Err(ScopeError::Empty);
        }
        Self::parse_list(&items)
    }

    /// A tree search: token validation asks this for every scope of every token.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// The scopes of `self` that `granted` does not hold.
    pub fn not_in<'a>(&'a self, granted: &'a ScopeSet) -> impl Iterator<Item = &'a Scope> {
        self.0.difference(&granted.0)
    }

    pub fn to_delimited(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(s.as_str());
        }
        out
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.0.iter().map(|s| s.0.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6749_scope_token_syntax() {
        for ok in [
            "a",
            "reports:export",
            "https://api.example.com/read",
            "!#[]~",
        ] {
            assert!(Scope::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Scope::parse(""), Err(ScopeError::Empty));
        for bad in ["a b", "a\"b", "a\\b", "tab\t", "é", "\u{7f}"] {
            assert_eq!(Scope::parse(bad), Err(ScopeError::BadCharacter), "{bad:?}");
        }
        assert_eq!(Scope::parse(&"x".repeat(129)), Err(ScopeError::TooLong));
    }

    #[test]
    fn sets_are_sorted_and_deduplicated() {
        let s = ScopeSet::parse_delimited("b  a b").unwrap();
        assert_eq!(s.to_delimited(), "a b");
        assert_eq!(s.len(), 2);
        assert_eq!(ScopeSet::parse_delimited("   "), Err(ScopeError::Empty));
    }

    #[test]
    fn difference_names_missing_scopes() {
        let granted = ScopeSet::parse_delimited("a b").unwrap();
        let asked = ScopeSet::parse_delimited("b c d").unwrap();
        let missing: Vec<_> = asked.not_in(&granted).map(Scope::as_str).collect();
        assert_eq!(missing, ["c", "d"]);
    }

    #[test]
    fn too_many_scopes() {
        let many: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("s{i}")).collect();
        assert_eq!(ScopeSet::parse_list(&many), Err(ScopeError::TooMany));
    }
}
