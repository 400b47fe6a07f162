//! The catalogue's entries: the APIs (resource servers) a platform publishes, each with the
//! permissions a client may be given on it.

use std::fmt;

use super::algorithm::Algorithm;
use super::client::{ClientName, Description, FieldError, describe_overrides};
use super::hex;
use super::scope::{
    ADMIN_SCOPE, APIS_READ_SCOPE, APIS_WRITE_SCOPE, AUDIT_READ_SCOPE, CLIENTS_READ_SCOPE,
    CLIENTS_WRITE_SCOPE, INTROSPECT_SCOPE, KEYS_READ_SCOPE, KEYS_WRITE_SCOPE, Scope,
};
use crate::clock::{Rng, UnixTime, random_bytes};

pub const API_ID_PREFIX: &str = "api_";
/// The id of Tollgate's own admin API, which every catalogue holds.
pub const BUILTIN_API_ID: &str = "api_tollgate";
pub const BUILTIN_API_NAME: &str = "Tollgate admin API";
/// Permission values under this prefix name Tollgate's own operations only.
pub const RESERVED_PREFIX: &str = "tollgate:";
/// The most permissions one API may publish.
pub const MAX_PERMISSIONS: usize = 200;
/// The longest API identifier: it is the `aud` of every token for the API.
pub const MAX_IDENTIFIER_LEN: usize = 512;
/// The longest description of one permission.
pub const MAX_PERMISSION_DESCRIPTION_LEN: usize = 300;

/// The permissions of the built-in admin API: value, what it allows.
pub const BUILTIN_PERMISSIONS: &[(&str, &str)] = &[
    (ADMIN_SCOPE, "Everything the admin API offers"),
    (CLIENTS_READ_SCOPE, "List and read API clients"),
    (
        CLIENTS_WRITE_SCOPE,
        "Create, change and delete API clients and their secrets",
    ),
    (APIS_READ_SCOPE, "List and read the API catalogue"),
    (APIS_WRITE_SCOPE, "Register, change and remove APIs"),
    (KEYS_READ_SCOPE, "List the token signing keys"),
    (KEYS_WRITE_SCOPE, "Rotate the token signing keys"),
    (AUDIT_READ_SCOPE, "Read the audit trail"),
    (
        INTROSPECT_SCOPE,
        "Introspect any client's tokens and read the revocation feed (resource servers)",
    ),
];

/// An API's id: `api_` and 1 to 64 ASCII letters, digits or underscores.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiId(String);

impl ApiId {
    pub fn parse(s: &str) -> Result<ApiId, FieldError> {
        let ok = s.strip_prefix(API_ID_PREFIX).is_some_and(|rest| {
            (1..=64).contains(&rest.len())
                && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
        if ok {
            Ok(ApiId(s.to_owned()))
        } else {
            Err(FieldError::new("api_id", "is not an API id (api_…)"))
        }
    }

    /// `api_` + 96 random bits in hex.
    pub fn generate(rng: &dyn Rng) -> ApiId {
        ApiId(format!("{API_ID_PREFIX}{}", hex(&random_bytes::<12>(rng))))
    }

    pub fn builtin() -> ApiId {
        ApiId(BUILTIN_API_ID.to_owned())
    }

    pub fn from_stored(s: String) -> ApiId {
        ApiId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_builtin(&self) -> bool {
        self.0 == BUILTIN_API_ID
    }
}

impl fmt::Display for ApiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a client names an API by in `resource`, and what the API's tokens carry in `aud`:
/// an absolute URI without a fragment (RFC 8707 §2), kept exactly as registered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApiIdentifier(String);

impl ApiIdentifier {
    pub fn parse(s: &str) -> Result<ApiIdentifier, FieldError> {
        let err = |m: &str| Err(FieldError::new("identifier", m));
        if s.is_empty() {
            return err("must not be empty");
        }
        if s.len() > MAX_IDENTIFIER_LEN {
            return err(&format!("must be at most {MAX_IDENTIFIER_LEN} characters"));
        }
        // The URL parser forgives spaces and control characters by dropping or escaping them;
        // an identifier is compared byte for byte, so it must need no forgiving.
        if s.bytes().any(|b| b <= b' ' || b == 0x7f || !b.is_ascii()) {
            return err("must not contain spaces, control or non-ASCII characters");
        }
        match url::Url::parse(s) {
            Err(_) => err("must be an absolute URI, such as https://api.example.com/"),
            Ok(u) if u.fragment().is_some() || s.contains('#') => {
                err("must not contain a fragment (#…) (RFC 8707 section 2)")
            }
            Ok(_) => Ok(ApiIdentifier(s.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One thing a client may be allowed to do on an API: a scope value (RFC 6749 §3.3) and what
/// it lets a client do, for the administrator who chooses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permission {
    pub value: Scope,
    pub description: String,
}

impl Permission {
    /// `field` is where the permission sits in the request (`permissions[2]`), for errors.
    pub fn parse(value: &str, description: &str, field: &str) -> Result<Permission, FieldError> {
        let value = Scope::parse(value)
            .map_err(|e| FieldError::new(format!("{field}.value"), e.to_string()))?;
        let description = Description::parse(description)
            .map_err(|e| FieldError::new(format!("{field}.description"), e.message))?;
        if description.as_str().chars().count() > MAX_PERMISSION_DESCRIPTION_LEN {
            return Err(FieldError::new(
                format!("{field}.description"),
                format!("must be at most {MAX_PERMISSION_DESCRIPTION_LEN} characters"),
            ));
        }
        Ok(Permission {
            value,
            description: description.as_str().to_owned(),
        })
    }
}

/// Checks a list of permissions as one API publishes them: at most [`MAX_PERMISSIONS`], each
/// value once, none under Tollgate's reserved prefix.
pub fn check_permissions(list: &[Permission]) -> Result<(), FieldError> {
    if list.len() > MAX_PERMISSIONS {
        return Err(FieldError::new(
            "permissions",
            format!("an API may publish at most {MAX_PERMISSIONS} permissions"),
        ));
    }
    for (i, p) in list.iter().enumerate() {
        if p.value.as_str().starts_with(RESERVED_PREFIX) {
            return Err(FieldError::new(
                format!("permissions[{i}].value"),
                format!("permissions starting with `{RESERVED_PREFIX}` are Tollgate's own"),
            ));
        }
        if list[..i].iter().any(|q| q.value == p.value) {
            return Err(FieldError::new(
                format!("permissions[{i}].value"),
                format!("`{}` is listed twice", p.value),
            ));
        }
    }
    Ok(())
}

/// An API (resource server) in the catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Api {
    pub id: ApiId,
    pub identifier: ApiIdentifier,
    pub name: ClientName,
    pub description: Description,
    /// For the built-in API: the permissions an administrator added beside Tollgate's own
    /// (see [`Api::all_permissions`]).
    pub permissions: Vec<Permission>,
    pub access_token_lifetime: Option<u64>,
    pub signing_algorithm: Option<Algorithm>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl Api {
    pub fn is_builtin(&self) -> bool {
        self.id.is_builtin()
    }

    /// The built-in admin API, whose identifier is the issuer.
    pub fn builtin(issuer: &str, now: UnixTime) -> Result<Api, FieldError> {
        Ok(Api {
            id: ApiId::builtin(),
            identifier: ApiIdentifier::parse(issuer)?,
            name: ClientName::parse(BUILTIN_API_NAME)?,
            description: Description::parse(
                "Tollgate's own admin API and token introspection. Built in: it cannot be \
                 removed, and its identifier is the issuer.",
            )?,
            permissions: Vec::new(),
            access_token_lifetime: None,
            signing_algorithm: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// Every permission the API publishes: for the built-in API, Tollgate's own first.
    pub fn all_permissions(&self) -> Vec<Permission> {
        let mut out = Vec::with_capacity(self.permissions.len() + BUILTIN_PERMISSIONS.len());
        if self.is_builtin() {
            for (value, description) in BUILTIN_PERMISSIONS {
                if let Ok(value) = Scope::parse(value) {
                    out.push(Permission {
                        value,
                        description: (*description).to_owned(),
                    });
                }
            }
        }
        out.extend(self.permissions.iter().cloned());
        out
    }
}

/// What an administrator submits to register an API, validated.
#[derive(Clone, Debug)]
pub struct NewApi {
    pub identifier: ApiIdentifier,
    pub name: ClientName,
    pub description: Description,
    pub permissions: Vec<Permission>,
    pub access_token_lifetime: Option<u64>,
    pub signing_algorithm: Option<Algorithm>,
}

/// A partial update; `None` leaves a field as it is. `permissions` replaces the whole list.
#[derive(Clone, Debug, Default)]
pub struct ApiPatch {
    pub identifier: Option<ApiIdentifier>,
    pub name: Option<ClientName>,
    pub description: Option<Description>,
    pub permissions: Option<Vec<Permission>>,
    pub access_token_lifetime: Option<Option<u64>>,
    pub signing_algorithm: Option<Option<Algorithm>>,
}

impl ApiPatch {
    pub fn is_empty(&self) -> bool {
        self.identifier.is_none()
            && self.name.is_none()
            && self.description.is_none()
            && self.permissions.is_none()
            && self.access_token_lifetime.is_none()
            && self.signing_algorithm.is_none()
    }

    /// Which fields the patch changes, for the audit trail.
    pub fn describe(&self) -> String {
        let mut fields = Vec::new();
        if let Some(i) = &self.identifier {
            fields.push(format!("identifier {:?}", i.as_str()));
        }
        if let Some(n) = &self.name {
            fields.push(format!("name {:?}", n.as_str()));
        }
        if self.description.is_some() {
            fields.push("description".to_owned());
        }
        if self.permissions.is_some() {
            fields.push("permissions".to_owned());
        }
        describe_overrides(
            &mut fields,
            self.access_token_lifetime,
            self.signing_algorithm,
        );
        fields.join(", ")
    }

    pub fn apply(&self, api: &mut Api, now: UnixTime) {
        if let Some(i) = &self.identifier {
            api.identifier = i.clone();
        }
        if let Some(n) = &self.name {
            api.name = n.clone();
        }
        if let Some(d) = &self.description {
            api.description = d.clone();
        }
        if let Some(p) = &self.permissions {
            api.permissions = p.clone();
        }
        if let Some(l) = self.access_token_lifetime {
            api.access_token_lifetime = l;
        }
        if let Some(a) = self.signing_algorithm {
            api.signing_algorithm = a;
        }
        api.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemRng;

    #[test]
    fn api_ids() {
        let id = ApiId::generate(&SystemRng);
        assert!(id.as_str().starts_with("api_"));
        assert_eq!(ApiId::parse(id.as_str()), Ok(id));
        assert!(ApiId::parse(BUILTIN_API_ID).unwrap().is_builtin());
        for bad in [
            "",
            "api_",
            "tgc_1",
            "api_a-b",
            "api_ä",
            &format!("api_{}", "a".repeat(65)),
        ] {
            assert!(ApiId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn identifiers_are_absolute_uris_without_fragments() {
        for ok in [
            "https://api.example.com",
            "https://api.example.com/v1/",
            "urn:example:reports",
            "http://localhost:8080/",
        ] {
            assert_eq!(ApiIdentifier::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "/relative",
            "api.example.com",
            "https://api.example.com/#frag",
            "https://api.example.com/#",
            "https://api.example.com/ x",
            "https://api.example.com/\u{7f}",
            "https://bücher.example/",
            &format!("https://a.example/{}", "a".repeat(600)),
        ] {
            let err = ApiIdentifier::parse(bad).unwrap_err();
            assert_eq!(err.field, "identifier", "{bad:?}");
        }
    }

    #[test]
    fn permissions_are_checked_as_a_list() {
        let p = |v: &str| Permission::parse(v, "d", "permissions[0]").unwrap();
        assert!(check_permissions(&[p("a"), p("b")]).is_ok());
        let twice = check_permissions(&[p("a"), p("b"), p("a")]).unwrap_err();
        assert_eq!(twice.field, "permissions[2].value");
        let reserved = check_permissions(&[p("tollgate:x")]).unwrap_err();
        assert_eq!(reserved.field, "permissions[0].value");
        let bad = Permission::parse("a b", "", "permissions[3]").unwrap_err();
        assert_eq!(bad.field, "permissions[3].value");
        let long = Permission::parse("a", &"d".repeat(301), "permissions[1]").unwrap_err();
        assert_eq!(long.field, "permissions[1].description");
        let many: Vec<Permission> = (0..=MAX_PERMISSIONS).map(|i| p(&format!("s{i}"))).collect();
        assert_eq!(check_permissions(&many).unwrap_err().field, "permissions");
    }

    #[test]
    fn the_builtin_api_lists_tollgates_permissions_first() {
        let mut api = Api::builtin("https://auth.example", UnixTime(0)).unwrap();
        api.permissions
            .push(Permission::parse("reports:read", "", "p").unwrap());
        let all: Vec<String> = api
            .all_permissions()
            .into_iter()
            .map(|p| p.value.to_string())
            .collect();
        assert_eq!(all[0], ADMIN_SCOPE);
        assert_eq!(all.len(), BUILTIN_PERMISSIONS.len() + 1);
        assert_eq!(all.last().map(String::as_str), Some("reports:read"));
    }
}
