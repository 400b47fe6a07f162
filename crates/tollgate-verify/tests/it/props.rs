//! No input makes the verifier panic: arbitrary strings, and JWS-shaped tokens with arbitrary
//! headers, claims and signatures. Correctly signed tokens with valid claims always pass.

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Value, json};
use tollgate_verify::{Error, Verifier};

use crate::forge::{self, TestKey};

const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";

struct Fixture {
    keys: Vec<TestKey>,
    verifier: Verifier,
    runtime: tokio::runtime::Runtime,
    now: i64,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let keys = vec![
            TestKey::es256("es"),
            TestKey::ed25519("ed"),
            TestKey::rs256("rs"),
        ];
        let refs: Vec<&TestKey> = keys.iter().collect();
        let verifier = Verifier::builder(ISS)
            .audience(AUD)
            .static_jwks(forge::jwks(&refs))
            .build()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let now = crate::helpers::TestClock::real().now_secs();
        Fixture {
            keys,
            verifier,
            runtime,
            now,
        }
    })
}

fn verify(token: &str) -> Result<tollgate_verify::Claims, Error> {
    let f = fixture();
    f.runtime.block_on(f.verifier.verify(token))
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A claim value: usually plausible, sometimes anything.
fn claim(
    plausible: impl Strategy<Value = Value> + 'static,
) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => plausible.prop_map(Some),
        1 => Just(None),
        1 => json_value().prop_map(Some),
    ]
}

fn claims() -> impl Strategy<Value = Value> {
    let now = fixture().now;
    let time = prop_oneof![
        (-100_000i64..100_000).prop_map(move |d| json!(now + d)),
        any::<i64>().prop_map(|t| json!(t)),
        any::<f64>().prop_map(|t| json!(t)),
    ];
    (
        claim(prop_oneof![
            Just(json!(ISS)),
            ".{0,30}".prop_map(Value::from)
        ]),
        claim(prop_oneof![
            Just(json!(AUD)),
            Just(json!([AUD, "other"])),
            Just(json!([])),
            ".{0,30}".prop_map(Value::from)
        ]),
        claim(time.clone()),
        claim(time.clone()),
        claim(time),
        claim("[a-z:]{0,10}( [a-z:]{0,10}){0,3}".prop_map(Value::from)),
        claim(".{0,20}".prop_map(Value::from)),
        claim(".{0,20}".prop_map(Value::from)),
        prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..3),
    )
        .prop_map(|(iss, aud, exp, iat, nbf, scope, sub, jti, extra)| {
            let mut m: serde_json::Map<String, Value> = extra.into_iter().collect();
            for (k, v) in [
                ("iss", iss),
                ("aud", aud),
                ("exp", exp),
                ("iat", iat),
                ("nbf", nbf),
                ("scope", scope),
                ("sub", sub.clone()),
                ("client_id", sub),
                ("jti", jti),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            }
            Value::Object(m)
        })
}

fn header() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just(json!("ES256")),
            Just(json!("EdDSA")),
            Just(json!("RS256")),
            Just(json!("none")),
            Just(json!("HS256")),
            json_value(),
        ],
        prop_oneof![
            Just(json!("at+jwt")),
            Just(json!("application/at+jwt")),
            json_value()
        ],
        prop_oneof![
            Just(json!("es")),
            Just(json!("ed")),
            Just(json!("rs")),
            Just(Value::Null),
            json_value()
        ],
        prop::option::of(json_value()),
    )
        .prop_map(|(alg, typ, kid, crit)| {
            let mut h = json!({"alg": alg, "typ": typ});
            if !kid.is_null() {
                h["kid"] = kid;
            }
            if let Some(c) = crit {
                h["crit"] = c;
            }
            h
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,400}") {
        prop_assert!(verify(&s).is_err());
    }

    #[test]
    fn arbitrary_dotted_base64ish_never_panics(
        parts in prop::collection::vec("[A-Za-z0-9_=+/-]{0,80}", 0..6)
    ) {
        prop_assert!(verify(&parts.join(".")).is_err());
    }

    #[test]
    fn structured_jws_with_garbage_signatures_never_panics(
        h in header(),
        c in claims(),
        sig in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let token = forge::reassemble(&h, &c, &forge::b64(&sig));
        // A random signature essentially never verifies; whatever happens, no panic.
        let _ = verify(&token);
    }

    #[test]
    fn correctly_signed_tokens_with_arbitrary_claims_never_panic(
        key_index in 0usize..3,
        c in claims(),
    ) {
        let key = &fixture().keys[key_index];
        let token = key.token(&c);
        if let Ok(claims) = verify(&token) {
            // Anything accepted really is valid.
            prop_assert_eq!(claims.issuer(), ISS);
            prop_assert!(claims.audiences().iter().any(|a| a == AUD));
            prop_assert!(claims.expires_at() > fixture().now - 60);
        }
    }

    #[test]
    fn valid_tokens_always_pass(
        key_index in 0usize..3,
        scope in "[a-z:]{1,10}( [a-z:]{1,10}){0,3}",
        age in 0i64..3000,
        tenant in prop::option::of("[a-z]{1,8}"),
    ) {
        let f = fixture();
        let key = &f.keys[key_index];
        let mut c = forge::claims(ISS, AUD, f.now - age, &scope);
        if let Some(t) = &tenant {
            c["tenant"] = json!(t);
        }
        let claims = verify(&key.token(&c)).unwrap();
        prop_assert_eq!(claims.tenant(), tenant.as_deref());
        for s in scope.split(' ') {
            prop_assert!(claims.has_scope(s));
        }
    }

    /// The signature covers the header and the payload as encoded, so one flipped bit in any of
    /// the three parts must cost the token its validity. The bit is flipped in the decoded
    /// bytes, so the part stays well-formed base64url and the check reaches the signature.
    #[test]
    fn any_single_bit_flip_is_refused(
        key_index in 0usize..3,
        part in 0usize..3,
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let f = fixture();
        let token = f.keys[key_index].token(&forge::claims(ISS, AUD, f.now, "a"));
        let mut parts: Vec<Vec<u8>> = token.split('.').map(forge::unb64).collect();
        prop_assert_eq!(parts.len(), 3);
        let i = position.index(parts[part].len());
        parts[part][i] ^= 1 << bit;
        let encoded: Vec<String> = parts.iter().map(|p| forge::b64(p)).collect();
        let result = verify(&encoded.join("."));
        match part {
            // A changed header may be refused before the signature is looked at: unreadable,
            // another `alg`, `typ` or `kid`. Whatever the reason, it must be refused.
            0 => prop_assert!(result.is_err(), "header flip accepted: {:?}", result),
            // The claims are read only once the signature verified, and the signature part is
            // the signature: either way the refusal must be the signature check's.
            _ => prop_assert!(
                matches!(result, Err(Error::InvalidSignature)),
                "part {} flip: {:?}",
                part,
                result
            ),
        }
    }

    /// The same at the level of the token's text: a flip anywhere, including one that leaves
    /// base64url's unused trailing bits different (which this library does not ignore), or
    /// that makes a `.`, is refused.
    #[test]
    fn any_single_bit_flip_in_the_text_is_refused(
        key_index in 0usize..3,
        position in any::<prop::sample::Index>(),
        bit in 0u8..7,
    ) {
        let f = fixture();
        let token = f.keys[key_index].token(&forge::claims(ISS, AUD, f.now, "a"));
        let signature_starts = token.rfind('.').map_or(0, |dot| dot + 1);
        let mut bytes = token.into_bytes();
        let i = position.index(bytes.len());
        bytes[i] ^= 1 << bit;
        // Bits 0 to 6 of an ASCII byte: the result is still ASCII, so still a string.
        let tampered = String::from_utf8(bytes).unwrap();
        let result = verify(&tampered);
        prop_assert!(result.is_err(), "flip at {} accepted: {:?}", i, result);
        let signature = &tampered[signature_starts..];
        let still_base64url = !signature.contains('.')
            && base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
                .is_ok();
        if i >= signature_starts && still_base64url {
            prop_assert!(
                matches!(result, Err(Error::InvalidSignature)),
                "signature flip at {}: {:?}",
                i,
                result
            );
        }
    }
}
