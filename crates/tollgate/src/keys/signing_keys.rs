//! The keys that sign now: one current key per active algorithm, and every published key
//! (announced, current, retired) in the JWKS and accepted on Tollgate's own tokens.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde_json::json;

use super::signing_key::SigningKey;
use crate::domain::algorithm::Algorithm;

/// first is the default), and every published key (announced, current, retired) is in the
/// JWKS and accepted.
#[derive(Debug, Clone)]
pub struct SigningKeys {
    default: Arc<SigningKey>,
    /// Current keys of the other active algorithms.
    others: Vec<Arc<SigningKey>>,
    published: Vec<Arc<SigningKey>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the token is not a compact JWS")]
    Malformed,
    #[error("the token header is not acceptable")]
    BadHeader,
    #[error("the token was not signed by a key this server holds")]
    UnknownKey,
    #[error("the token signature is invalid")]
    BadSignature,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

impl SigningKeys {
    /// `default` signs unless a client asks for another active algorithm, whose current key
    /// is in `others`. Signing keys are published even if `published` omits them.
    pub fn new(
        default: Arc<SigningKey>,
        others: Vec<Arc<SigningKey>>,
        published: Vec<Arc<SigningKey>>,
    ) -> SigningKeys {
        let mut published = published;
        for key in others.iter().rev().chain(std::iter::once(&default)) {
            if !published.iter().any(|k| k.kid() == key.kid()) {
                published.insert(0, key.clone());
            }
        }
        SigningKeys {
            default,
            others,
            published,
        }
    }

    /// The key that signs with the default algorithm.
    pub fn current(&self) -> &Arc<SigningKey> {
        &self.default
    }

    /// The key that signs with `alg`, if that algorithm is active.
    pub fn current_for(&self, alg: Algorithm) -> Option<&Arc<SigningKey>> {
        std::iter::once(&self.default)
            .chain(&self.others)
            .find(|k| k.algorithm() == alg)
    }

    /// The algorithms tokens can be signed with, the default first.
    pub fn signing_algorithms(&self) -> Vec<Algorithm> {
        std::iter::once(&self.default)
            .chain(&self.others)
            .map(|k| k.algorithm())
            .collect()
    }

    pub fn published(&self) -> &[Arc<SigningKey>] {
        &self.published
    }

    /// The JWK Set document (RFC 7517 §5).
    pub fn jwks(&self) -> serde_json::Value {
        json!({"keys": self.published.iter().map(|k| k.public_jwk()).collect::<Vec<_>>()})
    }

    /// Checks the signature of one of our own access tokens and returns its payload bytes.
    /// Claims are the caller's to check.
    pub fn verify(&self, token: &str) -> Result<Vec<u8>, VerifyError> {
        let mut parts = token.splitn(3, '.');
        let (Some(h), Some(p), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(VerifyError::Malformed);
        };
        if s.contains('.') {
            return Err(VerifyError::Malformed);
        }
        let header_bytes = B64.decode(h).map_err(|_| VerifyError::Malformed)?;
        let header: Header =
            serde_json::from_slice(&header_bytes).map_err(|_| VerifyError::Malformed)?;
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(VerifyError::BadHeader);
        }
        let kid = header.kid.ok_or(VerifyError::BadHeader)?;
        let key = self
            .published
            .iter()
            .find(|k| k.kid() == kid)
            .ok_or(VerifyError::UnknownKey)?;
        // The algorithm comes from the key, never from the token; a mismatch is refused.
        if header.alg != key.algorithm().as_str() {
            return Err(VerifyError::BadHeader);
        }
        let sig = B64.decode(s).map_err(|_| VerifyError::Malformed)?;
        let signing_input_len = h.len() + 1 + p.len();
        if !key.verify(&token.as_bytes()[..signing_input_len], &sig) {
            return Err(VerifyError::BadSignature);
        }
        B64.decode(p).map_err(|_| VerifyError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::signing_key::SigningKey;

    #[test]
    fn every_algorithm_signs_and_verifies_and_survives_a_pkcs8_round_trip() {
        for alg in Algorithm::ALL {
            let (key, der) = SigningKey::generate(alg).unwrap();
            let reloaded = SigningKey::from_pkcs8(alg, &der).unwrap();
            assert_eq!(
                key.kid(),
                reloaded.kid(),
                "{alg}: kid must survive a restart"
            );
            let ring = SigningKeys::new(Arc::new(reloaded), vec![], vec![]);
            let token = key.sign_jwt(br#"{"sub":"x"}"#).unwrap();
            assert_eq!(ring.verify(&token).unwrap(), br#"{"sub":"x"}"#, "{alg}");
            let jwk = key.public_jwk();
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(jwk["kid"], key.kid());
        }
    }

    #[test]
    fn tampering_and_foreign_keys_are_refused() {
        let (key, _) = SigningKey::generate(Algorithm::Es256).unwrap();
        let (other, _) = SigningKey::generate(Algorithm::Es256).unwrap();
        let ring = SigningKeys::new(Arc::new(key), vec![], vec![]);
        let good = ring.current().sign_jwt(br#"{"a":1}"#).unwrap();
        let parts: Vec<&str> = good.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], B64.encode(br#"{"a":2}"#), parts[2]);
        assert_eq!(ring.verify(&forged), Err(VerifyError::BadSignature));
        assert_eq!(
            ring.verify(&other.sign_jwt(b"{}").unwrap()),
            Err(VerifyError::UnknownKey)
        );
        assert_eq!(ring.verify("a.b"), Err(VerifyError::Malformed));
        assert_eq!(
            ring.verify(&format!("{good}.x")),
            Err(VerifyError::Malformed)
        );
        let none_header = B64.encode(format!(
            r#"{{"alg":"none","typ":"at+jwt","kid":"{}"}}"#,
            ring.current().kid()
        ));
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert_eq!(ring.verify(&unsigned), Err(VerifyError::BadHeader));
    }
}
