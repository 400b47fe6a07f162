//! Finding the issuer's endpoints: the RFC 8414 discovery document names the JWK Set and
//! Tollgate's revocation list, unless the configuration named them already.

use serde_json::Value;
use url::Url;

use crate::error::FetchError;
use crate::fetch;
use crate::verifier::Inner;

/// Where the keys and the revocation list are.
#[derive(Debug)]
pub(crate) struct Endpoints {
    /// `None` for static keys.
    pub(crate) jwks: Option<Url>,
    pub(crate) revocations: Option<Url>,
}

impl Inner {
    /// The endpoints, read from the discovery document on first use.
    pub(crate) async fn endpoints(&self) -> Result<&Endpoints, FetchError> {
        self.endpoints.get_or_try_init(|| self.discover()).await
    }

    /// `true` when there is nothing to fetch the keys from: they were given at build.
    pub(crate) fn endpoints_are_static(&self) -> bool {
        self.endpoints.get().is_some_and(|e| e.jwks.is_none())
    }

    /// Reads the RFC 8414 metadata: `issuer` must match exactly (§3.3), then `jwks_uri` and
    /// Tollgate's `revocation_list_endpoint`.
    async fn discover(&self) -> Result<Endpoints, FetchError> {
        let Some(url) = &self.discovery_url else {
            // Unreachable by construction: without a discovery URL, `endpoints` is set at build.
            return Err(FetchError::InvalidDocument {
                url: String::new(),
                reason: "no discovery URL".into(),
            });
        };
        let fetched = fetch::get(&self.http, url, None, |r| r).await?;
        let invalid = |reason: &str| FetchError::InvalidDocument {
            url: url.to_string(),
            reason: reason.into(),
        };
        let doc: Value = serde_json::from_slice(&fetched.body.unwrap_or_default())
            .map_err(|_| invalid("not JSON"))?;
        let issuer = doc
            .get("issuer")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("no issuer"))?;
        if issuer != self.policy.issuer {
            return Err(FetchError::IssuerMismatch {
                expected: self.policy.issuer.clone(),
                found: issuer.to_owned(),
            });
        }
        let jwks = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("no jwks_uri"))?;
        let jwks = fetch::learnt_url(jwks, url, self.accept_http)?;
        let configured = self
            .revocations
            .as_ref()
            .and_then(|r| r.options.endpoint.as_deref());
        let revocations = match configured
            .or_else(|| doc.get("revocation_list_endpoint").and_then(Value::as_str))
        {
            Some(r) => Some(fetch::learnt_url(r, url, self.accept_http)?),
            None => None,
        };
        Ok(Endpoints {
            jwks: Some(jwks),
            revocations,
        })
    }
}

/// RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
pub(crate) fn discovery_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let path = issuer.path().trim_end_matches('/');
    url.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_url_follows_rfc_8414() {
        let u = |s: &str| discovery_url(&Url::parse(s).unwrap()).to_string();
        assert_eq!(
            u("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            u("https://auth.example.com/"),
            "https://auth.example.com/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            u("https://example.com/tenant/a"),
            "https://example.com/.well-known/oauth-authorization-server/tenant/a"
        );
    }
}
