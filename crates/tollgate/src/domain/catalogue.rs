//! The catalogue as a whole: every API, found by id, by identifier and by permission. The
//! token endpoint asks it which API a scope belongs to, so lookups are hash-map probes.

use std::collections::HashMap;

use super::api::{Api, Permission};
use super::client::FieldError;
use super::scope::{Scope, ScopeSet};

#[derive(Debug, Default)]
pub struct Catalogue {
    /// In creation order, the built-in API first.
    apis: Vec<Api>,
    by_id: HashMap<String, usize>,
    by_identifier: HashMap<String, usize>,
    /// Every permission value, with the API publishing it (values are unique catalogue-wide).
    by_permission: HashMap<String, usize>,
}

impl Catalogue {
    pub fn new(mut apis: Vec<Api>) -> Catalogue {
        apis.sort_by(|a, b| {
            (!a.is_builtin(), a.created_at, &a.id).cmp(&(!b.is_builtin(), b.created_at, &b.id))
        });
        let mut c = Catalogue {
            apis,
            ..Catalogue::default()
        };
        for (i, api) in c.apis.iter().enumerate() {
            c.by_id.insert(api.id.as_str().to_owned(), i);
            c.by_identifier
                .insert(api.identifier.as_str().to_owned(), i);
            for p in api.all_permissions() {
                c.by_permission.insert(p.value.as_str().to_owned(), i);
            }
        }
        c
    }

    pub fn apis(&self) -> &[Api] {
        &self.apis
    }

    pub fn get(&self, id: &str) -> Option<&Api> {
        self.by_id.get(id).map(|&i| &self.apis[i])
    }

    pub fn by_identifier(&self, identifier: &str) -> Option<&Api> {
        self.by_identifier.get(identifier).map(|&i| &self.apis[i])
    }

    /// The API publishing `scope`, if any.
    pub fn api_of(&self, scope: &str) -> Option<&Api> {
        self.by_permission.get(scope).map(|&i| &self.apis[i])
    }

    /// Index of the API publishing `scope` (cheaper than [`Catalogue::api_of`] to compare).
    pub(crate) fn api_index(&self, scope: &str) -> Option<usize> {
        self.by_permission.get(scope).copied()
    }

    /// Index of the API with this identifier.
    pub(crate) fn identifier_index(&self, identifier: &str) -> Option<usize> {
        self.by_identifier.get(identifier).copied()
    }

    pub(crate) fn at(&self, index: usize) -> &Api {
        &self.apis[index]
    }

    /// Every permission value in the catalogue, sorted: discovery's `scopes_supported`.
    pub fn permission_values(&self) -> Vec<String> {
        let mut out: Vec<String> = self.by_permission.keys().cloned().collect();
        out.sort();
        out
    }

    /// The scopes of `scopes` that no API publishes.
    pub fn unknown<'a>(&self, scopes: &'a ScopeSet) -> Vec<&'a Scope> {
        scopes
            .iter()
            .filter(|s| !self.by_permission.contains_key(s.as_str()))
            .collect()
    }

    /// What `candidate` would clash with if it joined the catalogue (replacing the API with
    /// its id, if there is one): identifier, name or a permission value another API has.
    pub fn conflicts(&self, candidate: &Api) -> Vec<FieldError> {
        let other = |i: &usize| self.apis[*i].id != candidate.id;
        let mut errors = Vec::new();
        if let Some(i) = self
            .by_identifier
            .get(candidate.identifier.as_str())
            .filter(|i| other(i))
        {
            errors.push(FieldError::new(
                "identifier",
                format!(
                    "is the identifier of the API {:?} ({}) already",
                    self.apis[*i].name.as_str(),
                    self.apis[*i].id
                ),
            ));
        }
        if let Some(api) = self
            .apis
            .iter()
            .find(|a| a.id != candidate.id && a.name.as_str() == candidate.name.as_str())
        {
            errors.push(FieldError::new(
                "name",
                format!("is the name of the API {} already", api.id),
            ));
        }
        for (n, p) in candidate.permissions.iter().enumerate() {
            if let Some(i) = self
                .by_permission
                .get(p.value.as_str())
                .filter(|i| other(i))
            {
                errors.push(FieldError::new(
                    format!("permissions[{n}].value"),
                    format!(
                        "`{}` is a permission of the API {:?} ({}) already; a scope names one \
                         API only",
                        p.value,
                        self.apis[*i].name.as_str(),
                        self.apis[*i].id
                    ),
                ));
            }
        }
        errors
    }
}

/// The permissions in `before` that `after` no longer has.
pub fn removed_permissions(before: &[Permission], after: &[Permission]) -> Vec<Scope> {
    before
        .iter()
        .filter(|p| !after.iter().any(|q| q.value == p.value))
        .map(|p| p.value.clone())
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::clock::UnixTime;
    use crate::domain::api::{ApiId, ApiIdentifier, BUILTIN_PERMISSIONS};
    use crate::domain::client::{ClientName, Description};

    pub(crate) fn api(id: &str, identifier: &str, permissions: &[&str]) -> Api {
        Api {
            id: ApiId::parse(id).unwrap(),
            identifier: ApiIdentifier::parse(identifier).unwrap(),
            name: ClientName::parse(id).unwrap(),
            description: Description::default(),
            permissions: permissions
                .iter()
                .map(|v| Permission::parse(v, "", "p").unwrap())
                .collect(),
            access_token_lifetime: None,
            signing_algorithm: None,
            created_at: UnixTime(1),
            updated_at: UnixTime(1),
        }
    }

    pub(crate) fn catalogue() -> Catalogue {
        let mut builtin = Api::builtin("https://auth.example", UnixTime(0)).unwrap();
        builtin.created_at = UnixTime(5);
        Catalogue::new(vec![
            api(
                "api_reports",
                "https://reports.example",
                &["reports:read", "reports:export"],
            ),
            api("api_scim", "https://scim.example/v2", &["enterprise:user"]),
            builtin,
        ])
    }

    #[test]
    fn lookups() {
        let c = catalogue();
        assert!(c.apis()[0].is_builtin(), "the built-in API comes first");
        assert_eq!(c.api_of("reports:read").unwrap().id.as_str(), "api_reports");
        assert_eq!(
            c.api_of("tollgate:admin").unwrap().id.as_str(),
            "api_tollgate"
        );
        assert!(c.api_of("nope").is_none());
        assert_eq!(
            c.by_identifier("https://scim.example/v2")
                .unwrap()
                .id
                .as_str(),
            "api_scim"
        );
        assert!(
            c.by_identifier("https://scim.example/v2/").is_none(),
            "exact match"
        );
        assert_eq!(c.permission_values().len(), 3 + BUILTIN_PERMISSIONS.len());
        let asked = ScopeSet::parse_delimited("reports:read x y").unwrap();
        let unknown: Vec<&str> = c.unknown(&asked).iter().map(|s| s.as_str()).collect();
        assert_eq!(unknown, ["x", "y"]);
    }

    #[test]
    fn conflicts_name_the_field_and_the_other_api() {
        let c = catalogue();
        let mut clash = api(
            "api_new",
            "https://reports.example",
            &["ok", "enterprise:user"],
        );
        clash.name = ClientName::parse("api_scim").unwrap();
        let fields: Vec<String> = c.conflicts(&clash).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["identifier", "name", "permissions[1].value"]);
        let issuer = api("api_new", "https://auth.example", &["tollgate:admin"]);
        assert_eq!(
            c.conflicts(&issuer).len(),
            2,
            "the issuer and admin scope are taken"
        );
        // An API does not clash with itself.
        let same = api("api_reports", "https://reports.example", &["reports:read"]);
        assert!(c.conflicts(&same).is_empty());
    }

    #[test]
    fn removed() {
        let before = api("api_a", "https://a.example", &["a", "b", "c"]).permissions;
        let after = api("api_a", "https://a.example", &["c", "d"]).permissions;
        let gone: Vec<String> = removed_permissions(&before, &after)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(gone, ["a", "b"]);
    }
}
