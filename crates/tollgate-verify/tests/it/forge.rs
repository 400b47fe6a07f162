//! Keys and tokens made by the tests themselves: to sign with keys Tollgate does not publish,
//! to forge headers, and for the benchmark. Shared with `benches/verify.rs` by `#[path]`.

#![allow(dead_code)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

enum Pair {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A signing key with its public JWK.
pub struct TestKey {
    pub alg: &'static str,
    pub kid: String,
    pub jwk: Value,
    pair: Pair,
}

impl TestKey {
    pub fn es256(kid: &str) -> TestKey {
        let k = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let p = k.public_key().as_ref().to_vec();
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": B64.encode(&p[1..33]),
                         "y": B64.encode(&p[33..65]), "kid": kid, "use": "sig", "alg": "ES256"});
        TestKey {
            alg: "ES256",
            kid: kid.into(),
            jwk,
            pair: Pair::Ec(k),
        }
    }

    pub fn ed25519(kid: &str) -> TestKey {
        let k = Ed25519KeyPair::generate().unwrap();
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(k.public_key().as_ref()),
                         "kid": kid, "use": "sig", "alg": "EdDSA"});
        TestKey {
            alg: "EdDSA",
            kid: kid.into(),
            jwk,
            pair: Pair::Ed(k),
        }
    }

    pub fn rs256(kid: &str) -> TestKey {
        let k = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let p = k.public_key();
        let jwk = json!({"kty": "RSA",
                         "n": B64.encode(p.modulus().big_endian_without_leading_zero()),
                         "e": B64.encode(p.exponent().big_endian_without_leading_zero()),
                         "kid": kid, "use": "sig", "alg": "RS256"});
        TestKey {
            alg: "RS256",
            kid: kid.into(),
            jwk,
            pair: Pair::Rsa(k),
        }
    }

    pub fn for_alg(alg: &str, kid: &str) -> TestKey {
        match alg {
            "ES256" => TestKey::es256(kid),
            "EdDSA" => TestKey::ed25519(kid),
            "RS256" => TestKey::rs256(kid),
            other => panic!("no test key for {other}"),
        }
    }

    /// The usual header: `{"alg", "typ": "at+jwt", "kid"}`.
    pub fn header(&self) -> Value {
        json!({"alg": self.alg, "typ": "at+jwt", "kid": self.kid})
    }

    /// Signs claims under the usual header.
    pub fn token(&self, claims: &Value) -> String {
        self.sign(&self.header(), claims)
    }

    /// Signs claims under any header.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let sig = self.signature(input.as_bytes());
        format!("{input}.{}", B64.encode(sig))
    }

    pub fn signature(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Ec(k) => k.sign(&rng, message).unwrap().as_ref().to_vec(),
            Pair::Ed(k) => k.sign(message).as_ref().to_vec(),
            Pair::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .unwrap();
                sig
            }
        }
    }
}

/// A JWK Set of these keys, as JSON text.
pub fn jwks(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

/// Claims like Tollgate's, valid for an hour from `now`.
pub fn claims(issuer: &str, audience: &str, now: i64, scope: &str) -> Value {
    json!({"iss": issuer, "sub": "tgc_test", "client_id": "tgc_test", "aud": audience,
           "scope": scope, "iat": now, "exp": now + 3600, "jti": format!("jti-{now}-{scope}")})
}

/// An unsigned token (`alg: none`).
pub fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    )
}

/// A token MACed with HS256 under `secret` (the algorithm-confusion attack).
pub fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", B64.encode(tag.as_ref()))
}

/// Decodes a token's header and claims without verifying anything.
pub fn decode(token: &str) -> (Value, Value, String) {
    let mut parts = token.split('.');
    let mut part = || -> Value {
        serde_json::from_slice(&B64.decode(parts.next().unwrap()).unwrap()).unwrap()
    };
    let (h, c) = (part(), part());
    let sig = token.rsplit('.').next().unwrap().to_owned();
    (h, c, sig)
}

/// Re-encodes a token with another header and claims, keeping its signature.
pub fn reassemble(header: &Value, claims: &Value, signature_b64: &str) -> String {
    format!(
        "{}.{}.{signature_b64}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    )
}

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub fn unb64(s: &str) -> Vec<u8> {
    B64.decode(s).unwrap()
}
