//! JSON Web Keys (RFC 7517) parsed once into verification keys.
//!
//! A JWK Set is parsed when it is fetched, never per token: each usable key becomes an
//! aws-lc-rs [`ParsedPublicKey`], so verifying a token costs one signature check.

use std::fmt;

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;

use crate::algorithm::{Algorithm, AlgorithmSet};

/// The most keys taken from one JWK Set; the rest are ignored.
pub(crate) const MAX_KEYS: usize = 64;

/// RSA moduli outside 2048..=8192 bits are refused (RFC 7518 §3.3 asks for at least 2048).
const RSA_MIN_BYTES: usize = 256;
const RSA_MAX_BYTES: usize = 1024;

/// A public key ready to verify signatures of one algorithm.
pub(crate) struct VerificationKey {
    kid: Option<String>,
    alg: Algorithm,
    key: ParsedPublicKey,
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerificationKey {
    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// `true` when `signature` is a valid signature of `message` under this key.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }

    /// Parses one JWK. The algorithm follows from `kty` and `crv`; a JWK `alg`, if present,
    /// must name that same algorithm, so a key is only ever used with one algorithm.
    pub(crate) fn from_jwk(jwk: &Value) -> Result<VerificationKey, &'static str> {
        let obj = jwk.as_object().ok_or("not a JSON object")?;
        let text = |name: &'static str| -> Result<Option<&str>, &'static str> {
            match obj.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err("a member is not a string"),
            }
        };
        if let Some(u) = text("use")?
            && u != "sig"
        {
            return Err("not a signature key");
        }
        if let Some(ops) = obj.get("key_ops") {
            let ops = ops.as_array().ok_or("key_ops is not an array")?;
            if !ops.iter().any(|o| o.as_str() == Some("verify")) {
                return Err("key_ops does not allow verify");
            }
        }
        let bytes = |name: &'static str| -> Result<Vec<u8>, &'static str> {
            let s = text(name)?.ok_or("a key parameter is missing")?;
            B64.decode(s)
                .map_err(|_| "a key parameter is not base64url")
        };
        let (alg, key) = match (text("kty")?, text("crv")?) {
            (Some("EC"), Some("P-256")) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("P-256 coordinates must be 32 bytes");
                }
                let mut point = Vec::with_capacity(65);
                point.push(4); // Uncompressed SEC1 point: 0x04 || x || y.
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let key = ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .map_err(|_| "not a point on P-256")?;
                (Algorithm::Es256, key)
            }
            (Some("OKP"), Some("Ed25519")) => {
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err("Ed25519 keys must be 32 bytes");
                }
                let key = ParsedPublicKey::new(&signature::ED25519, x)
                    .map_err(|_| "not an Ed25519 key")?;
                (Algorithm::EdDsa, key)
            }
            (Some("RSA"), _) => {
                let n = bytes("n")?;
                let e = bytes("e")?;
                let n = strip_leading_zeros(&n);
                let e = strip_leading_zeros(&e);
                if !(RSA_MIN_BYTES..=RSA_MAX_BYTES).contains(&n.len()) {
                    return Err("RSA modulus must be 2048 to 8192 bits");
                }
                if e.is_empty() || e.len() > 8 {
                    return Err("RSA exponent out of range");
                }
                let key = RsaPublicKeyComponents { n, e }
                    .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
                    .map_err(|_| "not an RSA public key")?;
                (Algorithm::Rs256, key)
            }
            _ => return Err("unsupported key type or curve"),
        };
        if let Some(declared) = text("alg")?
            && declared != alg.as_str()
        {
            return Err("the key's alg is not the algorithm of its type");
        }
        let kid = text("kid")?.map(str::to_owned);
        Ok(VerificationKey { kid, alg, key })
    }
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

/// Parses a JWK Set, keeping the keys of the allowed algorithms and skipping keys it cannot
/// use (other types, encryption keys, malformed members) so that one odd key does not make
/// the whole set unusable. Fails if the document is not a JWK Set or no key is usable.
pub(crate) fn parse_jwks(
    body: &[u8],
    allowed: AlgorithmSet,
) -> Result<Vec<VerificationKey>, &'static str> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| "not JSON")?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no `keys` array")?;
    let mut usable = Vec::new();
    for jwk in keys.iter().take(MAX_KEYS) {
        match VerificationKey::from_jwk(jwk) {
            Ok(k) if allowed.contains(k.alg) => usable.push(k),
            Ok(_) => {}
            Err(reason) => {
                let kid = jwk.get("kid").and_then(|k| k.as_str()).unwrap_or("-");
                tracing::debug!(kid, reason, "skipping a JWK");
            }
        }
    }
    if usable.is_empty() {
        return Err("no usable key");
    }
    Ok(usable)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ec_jwk() -> Value {
        // RFC 7515 Appendix A.3's P-256 public key.
        json!({"kty": "EC", "crv": "P-256",
               "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
               "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kid": "ec"})
    }

    fn ed_jwk() -> Value {
        // RFC 8037 Appendix A.2.
        json!({"kty": "OKP", "crv": "Ed25519",
               "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "ed"})
    }

    #[test]
    fn parses_ec_and_ed25519_keys() {
        let k = VerificationKey::from_jwk(&ec_jwk()).unwrap();
        assert_eq!(k.algorithm(), Algorithm::Es256);
        assert_eq!(k.kid(), Some("ec"));
        let k = VerificationKey::from_jwk(&ed_jwk()).unwrap();
        assert_eq!(k.algorithm(), Algorithm::EdDsa);
    }

    #[test]
    fn refuses_keys_it_must_not_use() {
        let with = |mut v: Value, k: &str, val: Value| {
            v[k] = val;
            v
        };
        let cases = [
            with(ec_jwk(), "use", json!("enc")),
            with(ec_jwk(), "alg", json!("ES384")),
            with(ec_jwk(), "alg", json!("EdDSA")),
            with(ec_jwk(), "crv", json!("P-384")),
            with(ec_jwk(), "key_ops", json!(["sign"])),
            with(ec_jwk(), "x", json!("AAAA")),
            with(ec_jwk(), "x", json!(5)),
            // Not on the curve.
            with(
                ec_jwk(),
                "y",
                json!("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1"),
            ),
            with(
                ed_jwk(),
                "x",
                json!("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR"),
            ),
            json!({"kty": "oct", "k": "c2VjcmV0"}),
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
            json!("not an object"),
        ];
        for c in cases {
            assert!(VerificationKey::from_jwk(&c).is_err(), "{c}");
        }
    }

    #[test]
    fn a_set_skips_unusable_keys_and_filters_algorithms() {
        let set = json!({"keys": [ec_jwk(), {"kty": "oct", "k": "c2VjcmV0"}, ed_jwk()]});
        let body = set.to_string();
        let all: AlgorithmSet = Algorithm::ALL.into_iter().collect();
        assert_eq!(parse_jwks(body.as_bytes(), all).unwrap().len(), 2);
        let only_ed: AlgorithmSet = [Algorithm::EdDsa].into_iter().collect();
        let keys = parse_jwks(body.as_bytes(), only_ed).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid(), Some("ed"));
        let only_rsa: AlgorithmSet = [Algorithm::Rs256].into_iter().collect();
        assert!(parse_jwks(body.as_bytes(), only_rsa).is_err());
        assert!(parse_jwks(b"{}", all).is_err());
        assert!(parse_jwks(b"nope", all).is_err());
    }

    #[test]
    fn debug_shows_no_key_material() {
        let k = VerificationKey::from_jwk(&ec_jwk()).unwrap();
        let dbg = format!("{k:?}");
        assert!(dbg.contains("Es256") && !dbg.contains("f83OJ3D2"), "{dbg}");
    }
}
