//! Reading a compact JWS and validating a JWT access token per RFC 9068 §4.
//!
//! Everything here is synchronous and free of I/O: the verifier fetches keys, then calls
//! [`Jws::parse`], [`Jws::verify_signature`] and [`Jws::claims`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::claims::Claims;
use crate::error::Error;
use crate::jwk::VerificationKey;

/// Longer tokens are refused before any decoding. Tollgate's tokens are well under 2 KiB.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What a token is checked against.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: i64,
    pub(crate) algorithms: AlgorithmSet,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    crit: Option<Value>,
}

/// A compact JWS whose header has been read and checked, and whose signature has been
/// decoded; the payload is still encoded.
#[derive(Debug)]
pub(crate) struct Jws<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    signing_input: &'a str,
    payload_b64: &'a str,
    signature: Vec<u8>,
}

impl<'a> Jws<'a> {
    /// Splits and decodes the token and checks its header: `alg` allowed, `typ` an access
    /// token, no `crit`. Nothing here needs a key, so garbage is refused before any key
    /// lookup (and so before any refetch).
    pub(crate) fn parse(token: &'a str, allowed: AlgorithmSet) -> Result<Jws<'a>, Error> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::Malformed("too long"));
        }
        let (signing_input, signature_b64) = token
            .rsplit_once('.')
            .ok_or(Error::Malformed("not a JWS"))?;
        let (header_b64, payload_b64) = signing_input
            .split_once('.')
            .ok_or(Error::Malformed("not a JWS"))?;
        if payload_b64.contains('.') {
            return Err(Error::Malformed("not a JWS"));
        }
        let header_json = B64
            .decode(header_b64)
            .map_err(|_| Error::Malformed("header is not base64url"))?;
        let header: Header = serde_json::from_slice(&header_json)
            .map_err(|_| Error::Malformed("header is not a JOSE header"))?;
        let alg = Algorithm::from_jose(&header.alg)
            .filter(|a| allowed.contains(*a))
            .ok_or(Error::DisallowedAlgorithm)?;
        if header.crit.is_some() {
            // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
            return Err(Error::Malformed("unsupported critical header"));
        }
        if !header.typ.as_deref().is_some_and(is_access_token_type) {
            return Err(Error::InvalidType);
        }
        let signature = B64
            .decode(signature_b64)
            .map_err(|_| Error::Malformed("signature is not base64url"))?;
        if signature.is_empty() {
            return Err(Error::InvalidSignature);
        }
        Ok(Jws {
            alg,
            kid: header.kid,
            signing_input,
            payload_b64,
            signature,
        })
    }

    /// Finds the key and checks the signature. [`Error::UnknownKey`] means the caller may
    /// refetch the keys and try again.
    pub(crate) fn verify_signature(&self, keys: &[VerificationKey]) -> Result<(), Error> {
        let candidates: Vec<&VerificationKey> = match &self.kid {
            Some(kid) => keys.iter().filter(|k| k.kid() == Some(kid)).collect(),
            // Without a kid, only an unambiguous key is tried: trying every key would let
            // one token cost many signature checks.
            None => {
                let same_alg: Vec<&VerificationKey> =
                    keys.iter().filter(|k| k.algorithm() == self.alg).collect();
                if same_alg.len() != 1 {
                    return Err(Error::UnknownKey);
                }
                same_alg
            }
        };
        if candidates.is_empty() {
            return Err(Error::UnknownKey);
        }
        let mut matching = candidates
            .into_iter()
            .filter(|k| k.algorithm() == self.alg)
            .peekable();
        if matching.peek().is_none() {
            return Err(Error::KeyMismatch);
        }
        let message = self.signing_input.as_bytes();
        if matching.any(|k| k.verify(message, &self.signature)) {
            Ok(())
        } else {
            Err(Error::InvalidSignature)
        }
    }

    /// Decodes the claims and validates them (call after [`Jws::verify_signature`]).
    pub(crate) fn claims(&self, policy: &Policy, now: i64) -> Result<Claims, Error> {
        let payload = B64
            .decode(self.payload_b64)
            .map_err(|_| Error::Malformed("payload is not base64url"))?;
        let raw = parse_object(&payload)?;
        validate(raw, policy, now)
    }
}

/// RFC 9068 §4: `at+jwt`, or `application/at+jwt`, compared case-insensitively (RFC 7515
/// §4.1.9: media types are case-insensitive).
fn is_access_token_type(typ: &str) -> bool {
    let typ = typ
        .get(..12)
        .filter(|p| p.eq_ignore_ascii_case("application/"))
        .map_or(typ, |_| &typ[12..]);
    typ.eq_ignore_ascii_case("at+jwt")
}

/// Parses a JSON object, refusing duplicate member names (RFC 7519 §4: a JWT with duplicate
/// claim names must be rejected or take the last; rejecting leaves no room for two parsers
/// to disagree about which `aud` counts).
fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, Error> {
    struct Unique(Map<String, Value>);
    impl<'de> Deserialize<'de> for Unique {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Unique;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut access: A,
                ) -> Result<Unique, A::Error> {
                    let mut map = Map::new();
                    while let Some((k, v)) = access.next_entry::<String, Value>()? {
                        if map.insert(k, v).is_some() {
                            return Err(serde::de::Error::custom("duplicate claim"));
                        }
                    }
                    Ok(Unique(map))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_slice::<Unique>(bytes)
        .map(|u| u.0)
        .map_err(|_| Error::InvalidClaim("claims"))
}

fn validate(raw: Map<String, Value>, policy: &Policy, now: i64) -> Result<Claims, Error> {
    let string = |name: &'static str| -> Result<String, Error> {
        match raw.get(name) {
            None => Err(Error::MissingClaim(name)),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(Error::InvalidClaim(name)),
        }
    };
    let date = |name: &'static str| -> Result<Option<i64>, Error> {
        raw.get(name)
            .map(|v| numeric_date(v).ok_or(Error::InvalidClaim(name)))
            .transpose()
    };

    let issuer = string("iss")?;
    if issuer != policy.issuer {
        return Err(Error::InvalidIssuer);
    }
    let leeway = policy.leeway;
    let expires_at = date("exp")?.ok_or(Error::MissingClaim("exp"))?;
    if now >= expires_at.saturating_add(leeway) {
        return Err(Error::Expired);
    }
    let not_before = date("nbf")?;
    if not_before.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(Error::NotYetValid);
    }
    let issued_at = date("iat")?.ok_or(Error::MissingClaim("iat"))?;
    if issued_at > now.saturating_add(leeway) {
        return Err(Error::IssuedInFuture);
    }

    let audiences: Vec<String> = match raw.get("aud") {
        None => return Err(Error::MissingClaim("aud")),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|a| a.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or(Error::InvalidClaim("aud"))?,
        Some(_) => return Err(Error::InvalidClaim("aud")),
    };
    if !audiences.iter().any(|a| policy.audiences.contains(a)) {
        return Err(Error::InvalidAudience);
    }

    let subject = string("sub")?;
    let client_id = string("client_id")?;
    let jti = string("jti")?;
    let scopes = match raw.get("scope") {
        None => Default::default(),
        Some(Value::String(s)) => s
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(_) => return Err(Error::InvalidClaim("scope")),
    };
    let tenant = match raw.get("tenant") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Error::InvalidClaim("tenant")),
    };
    Ok(Claims {
        issuer,
        subject,
        client_id,
        audiences,
        scopes,
        tenant,
        issued_at,
        expires_at,
        not_before,
        jti,
        raw,
    })
}

/// A JWT `NumericDate`: seconds since the epoch, possibly fractional (RFC 7519 §2).
fn numeric_date(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = v.as_f64()?;
    // Beyond ±2^62 seconds no real date lives; the bound keeps the cast exact.
    const LIMIT: f64 = 4_611_686_018_427_387_904.0;
    (f.is_finite() && f.abs() < LIMIT).then(|| f.floor() as i64)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn b64(v: &Value) -> String {
        B64.encode(v.to_string())
    }

    fn policy() -> Policy {
        Policy {
            issuer: "https://auth.example.com".into(),
            audiences: vec!["https://api.example.com".into()],
            leeway: 30,
            algorithms: Algorithm::ALL.into_iter().collect(),
        }
    }

    fn claims() -> Value {
        json!({"iss": "https://auth.example.com", "sub": "tgc_1", "client_id": "tgc_1",
               "aud": "https://api.example.com", "scope": "a b", "iat": 1000, "exp": 2000,
               "jti": "j1"})
    }

    fn check(c: Value, now: i64) -> Result<Claims, Error> {
        let bytes = c.to_string();
        validate(parse_object(bytes.as_bytes())?, &policy(), now)
    }

    fn header_of(h: Value) -> Result<(), Error> {
        let token = format!("{}.{}.c2ln", b64(&h), b64(&claims()));
        Jws::parse(&token, Algorithm::ALL.into_iter().collect()).map(|_| ())
    }

    #[test]
    fn accepts_the_access_token_types() {
        for typ in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/At+Jwt",
        ] {
            assert!(is_access_token_type(typ), "{typ}");
        }
        for typ in [
            "JWT",
            "jwt",
            "",
            "application/jwt",
            "at+jwt ",
            "xapplication/at+jwt",
        ] {
            assert!(!is_access_token_type(typ), "{typ}");
        }
    }

    #[test]
    fn header_checks() {
        assert!(header_of(json!({"alg": "ES256", "typ": "at+jwt", "kid": "k"})).is_ok());
        let bad = [
            (
                json!({"alg": "none", "typ": "at+jwt"}),
                "DisallowedAlgorithm",
            ),
            (
                json!({"alg": "HS256", "typ": "at+jwt"}),
                "DisallowedAlgorithm",
            ),
            (
                json!({"alg": "es256", "typ": "at+jwt"}),
                "DisallowedAlgorithm",
            ),
            (json!({"alg": "ES256", "typ": "JWT"}), "InvalidType"),
            (json!({"alg": "ES256"}), "InvalidType"),
            (
                json!({"alg": "ES256", "typ": "at+jwt", "crit": ["b64"]}),
                "Malformed",
            ),
            (json!({"alg": 5, "typ": "at+jwt"}), "Malformed"),
            (json!({"typ": "at+jwt"}), "Malformed"),
        ];
        for (h, want) in bad {
            let got = format!("{:?}", header_of(h.clone()).unwrap_err());
            assert!(got.starts_with(want), "{h}: {got}");
        }
        // Duplicate members: refused rather than guessing which one counts.
        let dup = B64.encode(r#"{"alg":"ES256","typ":"at+jwt","alg":"none"}"#);
        let token = format!("{dup}.{}.c2ln", b64(&claims()));
        assert!(matches!(
            Jws::parse(&token, Algorithm::ALL.into_iter().collect()),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn disallowed_algorithms_are_refused_before_anything_else() {
        let token = format!(
            "{}.{}.c2ln",
            b64(&json!({"alg": "EdDSA", "typ": "at+jwt"})),
            b64(&claims())
        );
        let only_es: AlgorithmSet = [Algorithm::Es256].into_iter().collect();
        assert!(matches!(
            Jws::parse(&token, only_es),
            Err(Error::DisallowedAlgorithm)
        ));
    }

    #[test]
    fn shapes_that_are_not_a_jws() {
        let all: AlgorithmSet = Algorithm::ALL.into_iter().collect();
        let h = b64(&json!({"alg": "ES256", "typ": "at+jwt"}));
        for t in [
            String::new(),
            "a".into(),
            "a.b".into(),
            format!("{h}.e30.c2ln.x"),
            format!("{h}.e30.c2ln.x.y"),
            format!("{h}=.e30.c2ln"),
            format!("{h}.e30.c2ln="),
            "a".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(
                matches!(Jws::parse(&t, all), Err(Error::Malformed(_))),
                "{t:.40}"
            );
        }
        assert!(matches!(
            Jws::parse(&format!("{h}.e30."), all),
            Err(Error::InvalidSignature)
        ));
    }

    #[test]
    fn valid_claims_are_typed() {
        let mut c = claims();
        c["tenant"] = json!("acme");
        c["extra"] = json!({"x": 1});
        let got = check(c, 1500).unwrap();
        assert_eq!(got.client_id(), "tgc_1");
        assert_eq!(got.subject(), "tgc_1");
        assert_eq!(got.tenant(), Some("acme"));
        assert!(got.has_scope("a") && got.has_scope("b") && !got.has_scope("c"));
        assert_eq!(got.issued_at(), 1000);
        assert_eq!(got.expires_at(), 2000);
        assert_eq!(got.jti(), "j1");
        assert_eq!(got.get("extra"), Some(&json!({"x": 1})));
    }

    #[test]
    fn time_claims_with_leeway() {
        assert!(check(claims(), 2029).is_ok());
        assert!(matches!(check(claims(), 2030), Err(Error::Expired)));
        let mut c = claims();
        c["iat"] = json!(1530);
        assert!(check(c.clone(), 1500).is_ok());
        c["iat"] = json!(1531);
        assert!(matches!(check(c, 1500), Err(Error::IssuedInFuture)));
        let mut c = claims();
        c["nbf"] = json!(1531);
        assert!(matches!(check(c, 1500), Err(Error::NotYetValid)));
        let mut c = claims();
        c["exp"] = json!(2000.9);
        assert_eq!(check(c, 1500).unwrap().expires_at(), 2000);
        let mut c = claims();
        c["exp"] = json!(1e300);
        assert!(matches!(check(c, 1500), Err(Error::InvalidClaim("exp"))));
        let mut c = claims();
        c["exp"] = json!(u64::MAX);
        assert!(matches!(check(c, 1500), Err(Error::InvalidClaim("exp"))));
        let mut c = claims();
        c["exp"] = json!(i64::MAX);
        assert!(check(c, 1500).is_ok());
    }

    #[test]
    fn issuer_and_audience() {
        let mut c = claims();
        c["iss"] = json!("https://auth.example.com/");
        assert!(matches!(check(c, 1500), Err(Error::InvalidIssuer)));
        let mut c = claims();
        c["aud"] = json!(["https://other.example.com", "https://api.example.com"]);
        assert_eq!(check(c, 1500).unwrap().audiences().len(), 2);
        for aud in [json!("https://other"), json!([]), json!(["x"])] {
            let mut c = claims();
            c["aud"] = aud;
            assert!(matches!(check(c, 1500), Err(Error::InvalidAudience)));
        }
        for aud in [json!(5), json!([5]), json!(null)] {
            let mut c = claims();
            c["aud"] = aud;
            assert!(matches!(check(c, 1500), Err(Error::InvalidClaim("aud"))));
        }
    }

    #[test]
    fn required_claims_and_types() {
        for name in ["iss", "exp", "iat", "aud", "sub", "client_id", "jti"] {
            let mut c = claims();
            c.as_object_mut().unwrap().remove(name);
            assert!(
                matches!(check(c, 1500), Err(Error::MissingClaim(n)) if n == name),
                "{name}"
            );
        }
        let mut c = claims();
        c.as_object_mut().unwrap().remove("scope");
        assert!(check(c, 1500).unwrap().scopes().is_empty());
        for (name, v) in [
            ("scope", json!(["a"])),
            ("tenant", json!(1)),
            ("sub", json!(1)),
        ] {
            let mut c = claims();
            c[name] = v;
            assert!(matches!(check(c, 1500), Err(Error::InvalidClaim(n)) if n == name));
        }
        assert!(matches!(
            validate_bytes(br#"{"iss": "a", "iss": "b"}"#),
            Err(Error::InvalidClaim("claims"))
        ));
        assert!(matches!(
            validate_bytes(b"[1]"),
            Err(Error::InvalidClaim("claims"))
        ));
    }

    fn validate_bytes(b: &[u8]) -> Result<Claims, Error> {
        validate(parse_object(b)?, &policy(), 1500)
    }
}
