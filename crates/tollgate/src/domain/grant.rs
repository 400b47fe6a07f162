//! What a client gets from the token endpoint: its scopes, the audience they are for (the API
//! of the catalogue they belong to, RFC 8707 and RFC 9068 §3), the lifetime, the signing
//! algorithm and the tenant.

use super::algorithm::Algorithm;
use super::catalogue::Catalogue;
use super::scope::{Scope, ScopeSet};
use super::token::Audience;

/// The most tenants one client may be bound to.
pub const MAX_TENANTS: usize = 100;

/// What the client asked for, already parsed.
#[derive(Clone, Debug, Default)]
pub struct TokenRequest {
    pub scope: Option<ScopeSet>,
    /// RFC 8707 `resource` values, or the single `audience` value.
    pub resources: Vec<String>,
    pub tenant: Option<Tenant>,
}

/// A tenant identifier, carried in the `tenant` claim for tenant-level policies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tenant(Box<str>);

impl Tenant {
    pub fn parse(s: &str) -> Option<Tenant> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'));
        ok.then(|| Tenant(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's tenants as an administrator gives them: sorted, each once.
pub fn parse_tenants<S: AsRef<str>>(items: &[S]) -> Result<Vec<Tenant>, super::client::FieldError> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let t = Tenant::parse(item.as_ref()).ok_or_else(|| {
            super::client::FieldError::new(
                format!("tenants[{i}]"),
                "a tenant id is 1 to 64 characters from A-Z a-z 0-9 . _ ~ -",
            )
        })?;
        out.push(t);
    }
    out.sort();
    out.dedup();
    if out.len() > MAX_TENANTS {
        return Err(super::client::FieldError::new(
            "tenants",
            format!("a client may be bound to at most {MAX_TENANTS} tenants"),
        ));
    }
    Ok(out)
}

/// What the grant needs to know of the client.
#[derive(Clone, Copy, Debug)]
pub struct ClientAccess<'a> {
    pub scopes: &'a ScopeSet,
    pub tenants: &'a [Tenant],
    pub lifetime: Option<u64>,
    pub algorithm: Option<Algorithm>,
}

/// What a client gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub scope: ScopeSet,
    pub audience: Audience,
    pub lifetime: u64,
    /// `None`: the server's default algorithm.
    pub algorithm: Option<Algorithm>,
    pub tenant: Option<Tenant>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// RFC 6749 §5.2 `invalid_scope`.
    #[error("{0}")]
    InvalidScope(String),
    /// RFC 8707 §2 `invalid_target`.
    #[error("{0}")]
    InvalidTarget(String),
    /// RFC 6749 §5.2 `invalid_request`: a tenant the client is not bound to, or none where
    /// one must be chosen.
    #[error("{0}")]
    InvalidTenant(String),
}

fn list(scopes: &[&Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Decides a token for an authenticated client. Requested scopes must be the client's; with
/// `resource`, they must belong to the APIs named (all the client's permissions on them when
/// `scope` is omitted); without, they must belong to one API, which becomes the audience.
pub fn grant(
    client: &ClientAccess<'_>,
    request: &TokenRequest,
    catalogue: &Catalogue,
    default_lifetime: u64,
) -> Result<Grant, GrantError> {
    let tenant = choose_tenant(client.tenants, request.tenant.as_ref())?;
    if let Some(asked) = &request.scope {
        let missing: Vec<&Scope> = asked.not_in(client.scopes).collect();
        if !missing.is_empty() {
            return Err(GrantError::InvalidScope(format!(
                "the client is not allowed the scope(s): {}",
                list(&missing)
            )));
        }
    }
    let mut apis: Vec<usize> = Vec::with_capacity(1);
    let (scope, audience) = if request.resources.is_empty() {
        let candidates = request.scope.as_ref().unwrap_or(client.scopes);
        let mut orphans = Vec::new();
        for s in candidates.iter() {
            match catalogue.api_index(s.as_str()) {
                Some(i) if !apis.contains(&i) => apis.push(i),
                Some(_) => {}
                None => orphans.push(s),
            }
        }
        if request.scope.is_some() && !orphans.is_empty() {
            return Err(GrantError::InvalidScope(format!(
                "the scope(s) {} are no longer in the catalogue",
                list(&orphans)
            )));
        }
        let audience = match apis.as_slice() {
            [one] => catalogue.at(*one).identifier.as_str().to_owned(),
            [] => match catalogue.apis().first().filter(|a| a.is_builtin()) {
                // A client without permissions gets a token for the issuer that allows
                // nothing, as it always has.
                Some(builtin) => builtin.identifier.as_str().to_owned(),
                None => {
                    return Err(GrantError::InvalidScope(
                        "the client holds no permission".into(),
                    ));
                }
            },
            several => {
                let named: Vec<String> = several
                    .iter()
                    .map(|i| catalogue.at(*i).identifier.as_str().to_owned())
                    .collect();
                return Err(GrantError::InvalidTarget(format!(
                    "the scopes belong to several APIs ({}); send `resource` with the \
                     identifier of one of them, or ask for the scopes of one API only",
                    named.join(", ")
                )));
            }
        };
        let scope = if orphans.is_empty() {
            candidates.clone()
        } else {
            let orphans: Vec<Scope> = orphans.into_iter().cloned().collect();
            ScopeSet::new(candidates.iter().filter(|s| !orphans.contains(s)).cloned())
                .unwrap_or_default()
        };
        (scope, Audience::One(audience))
    } else {
        for r in &request.resources {
            let Some(index) = catalogue.identifier_index(r) else {
                return Err(GrantError::InvalidTarget(format!(
                    "no API with the identifier {r} is registered"
                )));
            };
            let holds = client
                .scopes
                .iter()
                .any(|s| catalogue.api_index(s.as_str()) == Some(index));
            if !holds {
                return Err(GrantError::InvalidTarget(format!(
                    "the client holds no permission on {r}"
                )));
            }
            apis.push(index);
        }
        let on_target = |s: &&Scope| {
            catalogue
                .api_index(s.as_str())
                .is_some_and(|i| apis.contains(&i))
        };
        let scope = match &request.scope {
            None => {
                ScopeSet::new(client.scopes.iter().filter(on_target).cloned()).unwrap_or_default()
            }
            Some(asked) => {
                let elsewhere: Vec<&Scope> = asked.iter().filter(|s| !on_target(s)).collect();
                if !elsewhere.is_empty() {
                    return Err(GrantError::InvalidScope(format!(
                        "the scope(s) {} do not belong to the requested resource",
                        list(&elsewhere)
                    )));
                }
                asked.clone()
            }
        };
        let audience = match request.resources.as_slice() {
            [one] => Audience::One(one.clone()),
            many => Audience::Many(many.to_vec()),
        };
        (scope, audience)
    };
    // The shortest lifetime any of the APIs asks for: a token lives no longer than each
    // audience wants.
    let api_lifetime = apis
        .iter()
        .filter_map(|i| catalogue.at(*i).access_token_lifetime)
        .min();
    let api_algorithm = apis.iter().find_map(|i| catalogue.at(*i).signing_algorithm);
    Ok(Grant {
        scope,
        audience,
        lifetime: client.lifetime.or(api_lifetime).unwrap_or(default_lifetime),
        algorithm: client.algorithm.or(api_algorithm),
        tenant,
    })
}

/// A client bound to one tenant always carries it; one bound to several must name one; one
/// bound to none carries none. Any other tenant is refused, never passed through.
fn choose_tenant(bound: &[Tenant], asked: Option<&Tenant>) -> Result<Option<Tenant>, GrantError> {
    match (bound, asked) {
        ([], None) => Ok(None),
        ([], Some(t)) => Err(GrantError::InvalidTenant(format!(
            "the client is not bound to the tenant {}; an administrator binds clients to \
             tenants",
            t.as_str()
        ))),
        ([only], None) => Ok(Some(only.clone())),
        (_, None) => Err(GrantError::InvalidTenant(
            "the client is bound to several tenants; send `tenant` with one of them".into(),
        )),
        (bound, Some(t)) if bound.contains(t) => Ok(Some(t.clone())),
        (_, Some(t)) => Err(GrantError::InvalidTenant(format!(
            "the client is not bound to the tenant {}",
            t.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::Catalogue;
    use crate::domain::catalogue::tests::{api, catalogue};

    fn scopes(s: &str) -> ScopeSet {
        ScopeSet::parse_delimited(s).unwrap()
    }

    fn access(scopes: &ScopeSet) -> ClientAccess<'_> {
        ClientAccess {
            scopes,
            tenants: &[],
            lifetime: None,
            algorithm: None,
        }
    }

    fn ask(scope: Option<&str>, resources: &[&str]) -> TokenRequest {
        TokenRequest {
            scope: scope.map(scopes),
            resources: resources.iter().map(|r| (*r).to_owned()).collect(),
            tenant: None,
        }
    }

    #[test]
    fn one_api_needs_no_resource() {
        let held = scopes("reports:read reports:export");
        let g = grant(&access(&held), &ask(None, &[]), &catalogue(), 3600).unwrap();
        assert_eq!(g.scope, held);
        assert_eq!(g.audience, Audience::One("https://reports.example".into()));
        assert_eq!(g.lifetime, 3600);
        let narrowed = grant(
            &access(&held),
            &ask(Some("reports:read"), &[]),
            &catalogue(),
            3600,
        )
        .unwrap();
        assert_eq!(narrowed.scope, scopes("reports:read"));
    }

    #[test]
    fn several_apis_need_a_resource() {
        let held = scopes("reports:read enterprise:user");
        let err = grant(&access(&held), &ask(None, &[]), &catalogue(), 60).unwrap_err();
        let GrantError::InvalidTarget(why) = err else {
            panic!("{err:?}")
        };
        assert!(why.contains("https://reports.example") && why.contains("https://scim.example/v2"));
        assert!(why.contains("resource"), "{why}");
        // Asking for the scopes of one API is enough.
        let one = grant(
            &access(&held),
            &ask(Some("enterprise:user"), &[]),
            &catalogue(),
            60,
        )
        .unwrap();
        assert_eq!(
            one.audience,
            Audience::One("https://scim.example/v2".into())
        );
        // So is naming one: all the client's permissions on it.
        let named = grant(
            &access(&held),
            &ask(None, &["https://reports.example"]),
            &catalogue(),
            60,
        )
        .unwrap();
        assert_eq!(named.scope, scopes("reports:read"));
        assert_eq!(
            named.audience,
            Audience::One("https://reports.example".into())
        );
    }

    #[test]
    fn resources_must_be_apis_the_client_holds_permissions_on() {
        let held = scopes("reports:read");
        let unknown = grant(
            &access(&held),
            &ask(None, &["https://evil.example"]),
            &catalogue(),
            60,
        );
        assert!(matches!(unknown, Err(GrantError::InvalidTarget(m)) if m.contains("no API")));
        let not_held = grant(
            &access(&held),
            &ask(None, &["https://scim.example/v2"]),
            &catalogue(),
            60,
        );
        assert!(
            matches!(not_held, Err(GrantError::InvalidTarget(m)) if m.contains("no permission"))
        );
        let held = scopes("reports:read enterprise:user");
        let wrong_api = grant(
            &access(&held),
            &ask(Some("enterprise:user"), &["https://reports.example"]),
            &catalogue(),
            60,
        );
        assert!(matches!(wrong_api, Err(GrantError::InvalidScope(_))));
        let both = grant(
            &access(&held),
            &ask(
                None,
                &["https://reports.example", "https://scim.example/v2"],
            ),
            &catalogue(),
            60,
        )
        .unwrap();
        assert_eq!(both.scope, held);
        assert!(matches!(both.audience, Audience::Many(v) if v.len() == 2));
    }

    #[test]
    fn scopes_beyond_the_clients_are_invalid_scope() {
        let held = scopes("reports:read");
        let err = grant(
            &access(&held),
            &ask(Some("reports:read reports:export"), &[]),
            &catalogue(),
            60,
        )
        .unwrap_err();
        assert_eq!(
            err,
            GrantError::InvalidScope(
                "the client is not allowed the scope(s): reports:export".into()
            )
        );
    }

    #[test]
    fn lifetime_and_algorithm_client_then_api_then_default() {
        let mut reports = api("api_reports", "https://reports.example", &["r"]);
        reports.access_token_lifetime = Some(300);
        reports.signing_algorithm = Some(Algorithm::Rs256);
        let c = Catalogue::new(vec![reports]);
        let held = scopes("r");
        let from_api = grant(&access(&held), &ask(None, &[]), &c, 3600).unwrap();
        assert_eq!(from_api.lifetime, 300);
        assert_eq!(from_api.algorithm, Some(Algorithm::Rs256));
        let own = ClientAccess {
            lifetime: Some(120),
            algorithm: Some(Algorithm::EdDsa),
            ..access(&held)
        };
        let from_client = grant(&own, &ask(None, &[]), &c, 3600).unwrap();
        assert_eq!(from_client.lifetime, 120);
        assert_eq!(from_client.algorithm, Some(Algorithm::EdDsa));
        let plain = Catalogue::new(vec![api("api_x", "https://x.example", &["r"])]);
        let default = grant(&access(&held), &ask(None, &[]), &plain, 3600).unwrap();
        assert_eq!((default.lifetime, default.algorithm), (3600, None));
    }

    #[test]
    fn a_client_without_permissions_gets_the_issuer() {
        let none = ScopeSet::default();
        let g = grant(&access(&none), &ask(None, &[]), &catalogue(), 60).unwrap();
        assert_eq!(g.audience, Audience::One("https://auth.example".into()));
        assert!(g.scope.is_empty());
    }

    #[test]
    fn scopes_gone_from_the_catalogue_are_not_granted() {
        let held = scopes("reports:read retired");
        let g = grant(&access(&held), &ask(None, &[]), &catalogue(), 60).unwrap();
        assert_eq!(g.scope, scopes("reports:read"));
        let asked = grant(&access(&held), &ask(Some("retired"), &[]), &catalogue(), 60);
        assert!(matches!(asked, Err(GrantError::InvalidScope(_))));
    }

    #[test]
    fn tenants_are_bound_not_passed_through() {
        let t = |s: &str| Tenant::parse(s).unwrap();
        assert_eq!(choose_tenant(&[], None), Ok(None));
        assert!(matches!(
            choose_tenant(&[], Some(&t("acme"))),
            Err(GrantError::InvalidTenant(_))
        ));
        assert_eq!(choose_tenant(&[t("acme")], None), Ok(Some(t("acme"))));
        assert_eq!(
            choose_tenant(&[t("acme")], Some(&t("acme"))),
            Ok(Some(t("acme")))
        );
        assert!(choose_tenant(&[t("acme")], Some(&t("other"))).is_err());
        let two = [t("a"), t("b")];
        assert!(
            matches!(choose_tenant(&two, None), Err(GrantError::InvalidTenant(m)) if m.contains("several"))
        );
        assert_eq!(choose_tenant(&two, Some(&t("b"))), Ok(Some(t("b"))));
        assert!(choose_tenant(&two, Some(&t("c"))).is_err());
    }

    #[test]
    fn tenant_syntax_and_lists() {
        assert!(Tenant::parse("acme-prod_1").is_some());
        assert!(Tenant::parse("").is_none());
        assert!(Tenant::parse("a b").is_none());
        assert!(Tenant::parse(&"t".repeat(65)).is_none());
        let list = parse_tenants(&["b", "a", "b"]).unwrap();
        assert_eq!(
            list,
            [Tenant::parse("a").unwrap(), Tenant::parse("b").unwrap()]
        );
        assert_eq!(
            parse_tenants(&["ok", "not ok"]).unwrap_err().field,
            "tenants[1]"
        );
    }
}
