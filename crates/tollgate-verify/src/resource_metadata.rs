//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document an API publishes about
//! itself, so that a client holding only the API's URL (or a `401` from it) can find which
//! authorization server issues its tokens and which scopes it knows.
//!
//! The document is built once, by [`VerifierBuilder::build`](crate::VerifierBuilder::build),
//! from the verifier's configuration: it cannot drift from the issuer and audience the
//! verifier enforces. Serving it over HTTP is the axum integration's part (`web/metadata.rs`).

use serde::Serialize;
use url::Url;

use crate::error::BuildError;
use crate::fetch;

/// The well-known URI suffix of RFC 9728 §3, registered with IANA.
pub const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// An RFC 9728 §2 protected resource metadata document, as
/// [`Verifier::protected_resource_metadata`](crate::Verifier::protected_resource_metadata)
/// returns it. It serializes to the JSON the well-known URI serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProtectedResourceMetadata {
    /// The resource identifier: the verifier's first audience, exactly as configured.
    pub resource: String,
    /// The issuer of the tokens the API accepts (one: a verifier trusts one issuer).
    pub authorization_servers: Vec<String>,
    /// The scopes the API's routes need, as declared with
    /// [`VerifierBuilder::scopes_supported`](crate::VerifierBuilder::scopes_supported);
    /// left out of the JSON when none were declared.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How tokens may be sent: only `header` (RFC 6750 §2.1), the one method the axum
    /// integration reads.
    pub bearer_methods_supported: Vec<String>,
    /// A human-readable name of the API, if one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
}

/// What the application declared for its metadata document on the builder.
#[derive(Clone, Debug, Default)]
pub(crate) struct MetadataOptions {
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) resource_name: Option<String>,
    pub(crate) url: Option<String>,
}

impl MetadataOptions {
    /// Whether the application asked for anything that only makes sense with a document.
    fn any(&self) -> bool {
        !self.scopes_supported.is_empty() || self.resource_name.is_some() || self.url.is_some()
    }
}

/// The document of a verifier, with where it is published.
// Without axum nothing serves the document, so `json` and `path` go unread.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
#[derive(Debug)]
pub(crate) struct Published {
    pub(crate) document: ProtectedResourceMetadata,
    /// The document as JSON, serialized once rather than per request.
    pub(crate) json: String,
    /// The absolute URL challenges point to (`resource_metadata`, RFC 9728 §5.1).
    pub(crate) url: String,
    /// The path of `url`, where the axum router serves the document.
    pub(crate) path: String,
}

/// Builds the document for a verifier of `issuer` whose first audience is `audience`.
///
/// An audience that is not a usable resource identifier (say, a bare name such as
/// `orders-api`) means no document, unless the application declared metadata options: then
/// it clearly wanted one, and the build fails rather than silently publishing nothing.
pub(crate) fn publish(
    options: MetadataOptions,
    issuer: &str,
    audience: &str,
    accept_http: bool,
) -> Result<Option<Published>, BuildError> {
    let resource = match resource_identifier(audience, accept_http) {
        Ok(url) => url,
        Err(_) if !options.any() => return Ok(None),
        Err(reason) => {
            return Err(BuildError::InvalidResource {
                audience: audience.to_owned(),
                reason,
            });
        }
    };
    for scope in &options.scopes_supported {
        if !is_scope_token(scope) {
            return Err(BuildError::InvalidScope(scope.clone()));
        }
    }
    let url = match &options.url {
        Some(u) => {
            let url = fetch::configured_url("resource metadata", u, accept_http)?;
            if url.fragment().is_some() {
                return Err(BuildError::InvalidUrl {
                    what: "resource metadata",
                    url: u.clone(),
                    reason: "a URL that is fetched has no fragment",
                });
            }
            url
        }
        None => well_known_url(&resource),
    };
    let mut scopes: Vec<String> = Vec::new();
    for s in options.scopes_supported {
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    let document = ProtectedResourceMetadata {
        // As configured, not as `Url` prints it: RFC 9728 §3.3 wants the very identifier
        // the client started from, and `Url` adds a `/` to a bare origin.
        resource: audience.to_owned(),
        authorization_servers: vec![issuer.to_owned()],
        scopes_supported: scopes,
        bearer_methods_supported: vec!["header".to_owned()],
        resource_name: options.resource_name,
    };
    let json = serde_json::to_string(&document).map_err(|_| BuildError::InvalidResource {
        audience: audience.to_owned(),
        reason: "the metadata document cannot be serialized",
    })?;
    Ok(Some(Published {
        document,
        json,
        path: url.path().to_owned(),
        url: url.into(),
    }))
}

/// Checks that an audience can be a resource identifier (RFC 9728 §1.2): an absolute
/// `https` URL (or `http` where the verifier accepts it) with a host and no fragment.
fn resource_identifier(audience: &str, accept_http: bool) -> Result<Url, &'static str> {
    let url = Url::parse(audience).map_err(|_| "the first audience is not an absolute URL")?;
    if url.host().is_none() {
        return Err("the first audience is not a URL with a host");
    }
    if !fetch::is_acceptable(&url, accept_http) {
        return Err("the first audience is not an https URL");
    }
    if url.fragment().is_some() {
        return Err("a resource identifier has no fragment");
    }
    Ok(url)
}

/// The well-known URL of a resource's metadata (RFC 9728 §3.1): the suffix goes between the
/// host and the path, so `https://api.example.com/v1` has its document at
/// `https://api.example.com/.well-known/oauth-protected-resource/v1`. A lone `/` after the
/// host is dropped first; a query stays at the end.
pub(crate) fn well_known_url(resource: &Url) -> Url {
    let mut url = resource.clone();
    let path = match resource.path() {
        "/" => "",
        p => p,
    };
    url.set_path(&format!("{RESOURCE_METADATA_PATH}{path}"));
    url
}

/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )` (RFC 6749 §3.3).
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(resource: &str) -> String {
        well_known_url(&Url::parse(resource).unwrap()).to_string()
    }

    #[test]
    fn the_well_known_suffix_goes_between_host_and_path() {
        let base = "https://api.example.com/.well-known/oauth-protected-resource";
        assert_eq!(known("https://api.example.com"), base);
        assert_eq!(known("https://api.example.com/"), base);
        assert_eq!(known("https://api.example.com/v1"), format!("{base}/v1"));
        assert_eq!(known("https://api.example.com/v1/"), format!("{base}/v1/"));
        assert_eq!(
            known("https://api.example.com/a/b?tenant=x"),
            format!("{base}/a/b?tenant=x")
        );
        assert_eq!(
            known("http://127.0.0.1:3000/v2"),
            "http://127.0.0.1:3000/.well-known/oauth-protected-resource/v2"
        );
    }

    fn options(scopes: &[&str]) -> MetadataOptions {
        MetadataOptions {
            scopes_supported: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ..MetadataOptions::default()
        }
    }

    #[test]
    fn the_document_names_the_issuer_and_the_exact_identifier() {
        let p = publish(
            options(&["b:read", "a:write", "b:read"]),
            "https://auth.example.com",
            "https://api.example.com",
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&p.json).unwrap(),
            serde_json::json!({
                "resource": "https://api.example.com",
                "authorization_servers": ["https://auth.example.com"],
                "scopes_supported": ["b:read", "a:write"],
                "bearer_methods_supported": ["header"],
            })
        );
        assert_eq!(p.path, RESOURCE_METADATA_PATH);
        assert_eq!(
            p.url,
            "https://api.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn unusable_identifiers_mean_no_document_unless_one_was_asked_for() {
        for audience in [
            "orders-api",
            "urn:example:api",
            "http://api.example.com",
            "https://api.example.com/#x",
        ] {
            let none = publish(
                MetadataOptions::default(),
                "https://a.example",
                audience,
                false,
            );
            assert!(none.unwrap().is_none(), "{audience}");
            let err = publish(options(&["x"]), "https://a.example", audience, false);
            assert!(
                matches!(err, Err(BuildError::InvalidResource { .. })),
                "{audience}"
            );
        }
        let err = publish(
            options(&["ok", "not ok"]),
            "https://a.example",
            "https://api.example.com",
            false,
        );
        assert!(matches!(err, Err(BuildError::InvalidScope(s)) if s == "not ok"));
    }

    #[test]
    fn the_url_can_be_overridden() {
        let opts = MetadataOptions {
            url: Some("https://gw.example.net/orders/.well-known/oauth-protected-resource".into()),
            ..MetadataOptions::default()
        };
        let p = publish(opts, "https://a.example", "https://api.example.com", false)
            .unwrap()
            .unwrap();
        assert_eq!(
            p.url,
            "https://gw.example.net/orders/.well-known/oauth-protected-resource"
        );
        assert_eq!(p.path, "/orders/.well-known/oauth-protected-resource");
        assert_eq!(p.document.resource, "https://api.example.com");
        for bad in [
            "http://gw.example.net/x",
            "https://gw.example.net/x#y",
            "/x",
        ] {
            let opts = MetadataOptions {
                url: Some(bad.into()),
                ..MetadataOptions::default()
            };
            let r = publish(opts, "https://a.example", "https://api.example.com", false);
            assert!(r.is_err(), "{bad}");
        }
    }
}
