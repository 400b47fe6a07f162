//! One token signing key: generation, persistence format (PKCS#8), JWS signing and
//! verification, and its public JWK form.
//!
//! Keys are parsed once and kept as aws-lc-rs key pairs, so signing a token costs one
//! signature and no key parsing.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::json;
use zeroize::Zeroizing;

use crate::domain::algorithm::Algorithm;

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

    pub(super) fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
