//! Token signing keys: generation, persistence format (PKCS#8), JWS signing and verification,
//! and their public JWK form.
//!
//! Keys are parsed once and kept as aws-lc-rs key pairs, so signing a token costs one
//! signature and no key parsing.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Es256,
    EdDsa,
    Rs256,
}

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256];

    /// The JWA name (RFC 7518 §3.1, RFC 8037 §3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Rs256 => "RS256",
        }
    }
}

impl FromStr for Algorithm {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or(())
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate a {0} key")]
    Generate(Algorithm),
    #[error("stored {0} key could not be parsed: {1}")]
    Parse(Algorithm, String),
    #[error("signing failed")]
    Sign,
}

enum Pair {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A private signing key with everything precomputed that every token needs.
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    pair: Pair,
    public_jwk: serde_json::Value,
    /// base64url of the JOSE header, identical for every token this key signs.
    header_b64: String,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a key and returns it with its PKCS#8 encoding for storage.
    pub fn generate(alg: Algorithm) -> Result<(SigningKey, Zeroizing<Vec<u8>>), KeyError> {
        let der: Vec<u8> = match alg {
            Algorithm::Es256 => EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map_err(|_| KeyError::Generate(alg))?
                .as_ref()
                .to_vec(),
            Algorithm::EdDsa => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8())
                .map_err(|_| KeyError::Generate(alg))?
                .as_ref()
                .to_vec(),
            Algorithm::Rs256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|k| k.as_der())
                .map_err(|_| KeyError::Generate(alg))?
                .as_ref()
                .to_vec(),
        };
        let der = Zeroizing::new(der);
        let key = SigningKey::from_pkcs8(alg, &der)?;
        Ok((key, der))
    }

    pub fn from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<SigningKey, KeyError> {
        let parse_err = |e: aws_lc_rs::error::KeyRejected| KeyError::Parse(alg, e.to_string());
        let (pair, jwk) = match alg {
            Algorithm::Es256 => {
                let k = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(parse_err)?;
                // Uncompressed SEC1 point: 0x04 || x || y.
                let point = k.public_key().as_ref();
                if point.len() != 65 {
                    return Err(KeyError::Parse(alg, "unexpected public key size".into()));
                }
                let jwk = json!({
                    "crv": "P-256",
                    "kty": "EC",
                    "x": B64.encode(&point[1..33]),
                    "y": B64.encode(&point[33..65]),
                });
                (Pair::Ec(k), jwk)
            }
            Algorithm::EdDsa => {
                let k = Ed25519KeyPair::from_pkcs8(der).map_err(parse_err)?;
                let jwk = json!({
                    "crv": "Ed25519",
                    "kty": "OKP",
                    "x": B64.encode(k.public_key().as_ref()),
                });
                (Pair::Ed(k), jwk)
            }
            Algorithm::Rs256 => {
                let k = RsaKeyPair::from_pkcs8(der).map_err(parse_err)?;
                let public = k.public_key();
                let jwk = json!({
                    "e": B64.encode(public.exponent().big_endian_without_leading_zero()),
                    "kty": "RSA",
                    "n": B64.encode(public.modulus().big_endian_without_leading_zero()),
                });
                (Pair::Rsa(k), jwk)
            }
        };
        let kid = thumbprint(&jwk);
        let mut public_jwk = jwk;
        public_jwk["kid"] = json!(kid);
        public_jwk["use"] = json!("sig");
        public_jwk["alg"] = json!(alg.as_str());
        let header = json!({"alg": alg.as_str(), "typ": "at+jwt", "kid": kid});
        let header_b64 = B64.encode(header.to_string());
        Ok(SigningKey {
            kid,
            alg,
            pair,
            public_jwk,
            header_b64,
            rng: SystemRandom::new(),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The public key as a JWK (RFC 7517) with `kid`, `use` and `alg`.
    pub fn public_jwk(&self) -> &serde_json::Value {
        &self.public_jwk
    }

    /// Signs `claims` (a JSON object) into a compact JWS with header
    /// `{"alg", "typ": "at+jwt", "kid"}`.
    pub fn sign_jwt(&self, claims_json: &[u8]) -> Result<String, KeyError> {
        let payload_len = claims_json.len().div_ceil(3) * 4;
        let mut token = String::with_capacity(self.header_b64.len() + payload_len + 400);
        token.push_str(&self.header_b64);
        token.push('.');
        B64.encode_string(claims_json, &mut token);
        let signature = self.sign(token.as_bytes())?;
        token.push('.');
        B64.encode_string(&signature, &mut token);
        Ok(token)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.pair {
            Pair::Ec(k) => k
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Sign),
            Pair::Ed(k) => Ok(k.sign(message).as_ref().to_vec()),
            Pair::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
                    .map_err(|_| KeyError::Sign)?;
                Ok(sig)
            }
        }
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        let (alg, public): (&dyn signature::VerificationAlgorithm, Vec<u8>) = match &self.pair {
            Pair::Ec(k) => (
                &signature::ECDSA_P256_SHA256_FIXED,
                k.public_key().as_ref().to_vec(),
            ),
            Pair::Ed(k) => (&signature::ED25519, k.public_key().as_ref().to_vec()),
            Pair::Rsa(k) => (
                &signature::RSA_PKCS1_2048_8192_SHA256,
                k.public_key().as_ref().to_vec(),
            ),
        };
        signature::UnparsedPublicKey::new(alg, public)
            .verify(message, sig)
            .is_ok()
    }
}

/// JWK thumbprint (RFC 7638): SHA-256 over the required members in lexicographic order. `jwk`
/// holds exactly those members, and serde_json keeps object keys sorted here.
fn thumbprint(jwk: &serde_json::Value) -> String {
    let canonical = jwk.to_string();
    B64.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    ))
}

/// The keys the server holds at one moment: one current key per active algorithm signs (the
/// first is the default), and every published key (announced, current, retired) is in the
/// JWKS and accepted.
#[derive(Debug, Clone)]
pub struct KeyRing {
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

impl KeyRing {
    /// `default` signs unless a client asks for another active algorithm, whose current key
    /// is in `others`. Signing keys are published even if `published` omits them.
    pub fn new(
        default: Arc<SigningKey>,
        others: Vec<Arc<SigningKey>>,
        published: Vec<Arc<SigningKey>>,
    ) -> KeyRing {
        let mut published = published;
        for key in others.iter().rev().chain(std::iter::once(&default)) {
            if !published.iter().any(|k| k.kid == key.kid) {
                published.insert(0, key.clone());
            }
        }
        KeyRing {
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
            .find(|k| k.alg == alg)
    }

    /// The algorithms tokens can be signed with, the default first.
    pub fn signing_algorithms(&self) -> Vec<Algorithm> {
        std::iter::once(&self.default)
            .chain(&self.others)
            .map(|k| k.alg)
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
            .find(|k| k.kid == kid)
            .ok_or(VerifyError::UnknownKey)?;
        // The algorithm comes from the key, never from the token; a mismatch is refused.
        if header.alg != key.alg.as_str() {
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
            let ring = KeyRing::new(Arc::new(reloaded), vec![], vec![]);
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
        let ring = KeyRing::new(Arc::new(key), vec![], vec![]);
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

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 §3.1 example key.
        let jwk = json!({
            "e": "AQAB",
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        });
        assert_eq!(
            thumbprint(&jwk),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
