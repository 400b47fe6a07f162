use super::*;
use crate::clock::SystemRng;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const NOW: UnixTime = UnixTime(1_800_000_000);

fn sso(auth_methods: serde_json::Value) -> Sso {
    let metadata: CoreProviderMetadata = serde_json::from_value(serde_json::json!({
        "issuer": "https://login.example.com/realms/x",
        "authorization_endpoint": "https://login.example.com/realms/x/auth",
        "token_endpoint": "https://login.example.com/realms/x/token",
        "userinfo_endpoint": "https://login.example.com/realms/x/userinfo",
        "jwks_uri": "https://login.example.com/realms/x/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["HS256", "RS256", "none", "ES256"],
        "token_endpoint_auth_methods_supported": auth_methods,
    }))
    .unwrap();
    let settings = SsoSettings {
        issuer: "https://login.example.com/realms/x".to_owned(),
        client_id: "tollgate-console".to_owned(),
        client_secret: SsoClientSecret::new("very-secret-value".to_owned()),
        role_claim: "groups".to_owned(),
        scopes: vec!["openid".to_owned(), "email".to_owned(), "groups".to_owned()],
    };
    let redirect = "https://tollgate.example.com/console/sso/callback".to_owned();
    Sso::configure(settings, redirect, metadata, HttpClient::new().unwrap()).unwrap()
}

fn query(start: &SsoStart, name: &str) -> Option<String> {
    url::Url::parse(&start.authorize_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[test]
fn the_authorize_url_carries_state_nonce_and_an_s256_challenge() {
    let sso = sso(serde_json::json!(["client_secret_basic"]));
    let start = sso.begin(KEY, &SystemRng, NOW);
    assert!(
        start
            .authorize_url
            .starts_with("https://login.example.com/realms/x/auth?")
    );
    assert_eq!(query(&start, "response_type").as_deref(), Some("code"));
    assert_eq!(
        query(&start, "client_id").as_deref(),
        Some("tollgate-console")
    );
    assert_eq!(
        query(&start, "scope").as_deref(),
        Some("openid email groups")
    );
    assert_eq!(
        query(&start, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let resumed = pending::resume(
        KEY,
        Some(&start.cookie),
        query(&start, "state").as_deref(),
        NOW,
    )
    .unwrap();
    assert_eq!(query(&start, "nonce"), Some(resumed.nonce.clone()));
    let verifier = PkceCodeVerifier::new(resumed.pkce_verifier.to_string());
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
    assert_eq!(
        query(&start, "code_challenge").as_deref(),
        Some(challenge.as_str())
    );
    // Two attempts share nothing.
    let other = sso.begin(KEY, &SystemRng, NOW);
    assert_ne!(query(&start, "state"), query(&other, "state"));
}

#[test]
fn only_public_key_algorithms_are_accepted() {
    let sso = sso(serde_json::json!(["client_secret_basic"]));
    assert_eq!(
        sso.algorithms,
        vec![
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256
        ]
    );
}

#[test]
fn client_secret_post_only_when_basic_is_not_offered() {
    let basic = sso(serde_json::json!([
        "client_secret_post",
        "client_secret_basic"
    ]));
    assert!(matches!(basic.client.auth_type(), AuthType::BasicAuth));
    let post = sso(serde_json::json!(["client_secret_post", "private_key_jwt"]));
    assert!(matches!(post.client.auth_type(), AuthType::RequestBody));
}

#[test]
fn debug_shows_no_secret() {
    let sso = sso(serde_json::json!(["client_secret_basic"]));
    let shown = format!("{sso:?}");
    assert!(shown.contains("tollgate-console"), "{shown}");
    assert!(!shown.contains("very-secret-value"), "{shown}");
    let settings = format!("{:?}", SsoClientSecret::new("very-secret-value".to_owned()));
    assert!(!settings.contains("very-secret-value"), "{settings}");
    let start = sso.begin(KEY, &SystemRng, NOW);
    assert!(!format!("{start:?}").contains(&start.cookie));
}

#[tokio::test]
async fn an_error_from_the_provider_is_a_provider_error() {
    let sso = sso(serde_json::json!(["client_secret_basic"]));
    let start = sso.begin(KEY, &SystemRng, NOW);
    let callback = CallbackQuery {
        state: query(&start, "state"),
        error: Some("access_denied".to_owned()),
        error_description: Some("The user said no\n".to_owned()),
        ..CallbackQuery::default()
    };
    match sso.finish(KEY, Some(&start.cookie), &callback, NOW).await {
        Err(SsoError::ProviderError(message)) => {
            assert_eq!(message, "access_denied: The user said no");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_callback_that_does_not_match_the_cookie_is_bad_state() {
    let sso = sso(serde_json::json!(["client_secret_basic"]));
    let start = sso.begin(KEY, &SystemRng, NOW);
    let good = CallbackQuery {
        state: query(&start, "state"),
        code: Some("code".to_owned()),
        ..CallbackQuery::default()
    };
    let tampered = CallbackQuery {
        state: Some(format!("{}x", good.state.clone().unwrap())),
        code: Some("code".to_owned()),
        ..CallbackQuery::default()
    };
    let mixed_up = CallbackQuery {
        iss: Some("https://other-provider.example".to_owned()),
        ..CallbackQuery {
            state: good.state.clone(),
            code: Some("code".to_owned()),
            ..CallbackQuery::default()
        }
    };
    let expired = NOW.plus_secs(601);
    let cases = [
        (Some(start.cookie.as_str()), &mixed_up, NOW),
        (None, &good, NOW),
        (Some(start.cookie.as_str()), &tampered, NOW),
        (Some(start.cookie.as_str()), &good, expired),
        (Some("garbage"), &good, NOW),
    ];
    for (cookie, callback, now) in cases {
        let outcome = sso.finish(KEY, cookie, callback, now).await;
        assert!(matches!(outcome, Err(SsoError::BadState)), "{outcome:?}");
    }
    // An error the browser did not bring back from this attempt is not shown as the provider's.
    let forged = CallbackQuery {
        error: Some("access_denied".to_owned()),
        ..CallbackQuery::default()
    };
    let outcome = sso.finish(KEY, Some(&start.cookie), &forged, NOW).await;
    assert!(matches!(outcome, Err(SsoError::BadState)), "{outcome:?}");
}

/// An ES256 key of a test provider, and ID tokens it (or someone else) signs.
struct Signer {
    key: aws_lc_rs::signature::EcdsaKeyPair,
}

impl Signer {
    fn new() -> Signer {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        Signer {
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .unwrap(),
        }
    }

    fn jwk(&self) -> serde_json::Value {
        use aws_lc_rs::signature::KeyPair;
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let point = self.key.public_key().as_ref();
        serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
            "x": b64.encode(&point[1..33]), "y": b64.encode(&point[33..65]),
        })
    }

    fn sign(&self, claims: &serde_json::Value) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(r#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#);
        let payload = b64.encode(claims.to_string());
        let input = format!("{header}.{payload}");
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let sig = self.key.sign(&rng, input.as_bytes()).unwrap();
        format!("{input}.{}", b64.encode(sig.as_ref()))
    }
}

fn id_claims(nonce: &str) -> serde_json::Value {
    serde_json::json!({
        "iss": "https://login.example.com/realms/x",
        "aud": "tollgate-console",
        "sub": "person-1",
        "email": "ada@example.com",
        "groups": ["tollgate-owners"],
        "nonce": nonce,
        "iat": NOW.0 - 10,
        "exp": NOW.0 + 300,
    })
}

#[tokio::test]
async fn forged_or_altered_id_tokens_are_refused() {
    let sso = sso(serde_json::json!(["client_secret_basic"]));
    let provider = Signer::new();
    *sso.jwks.write().unwrap() =
        serde_json::from_value(serde_json::json!({"keys": [provider.jwk()]})).unwrap();
    let nonce = openidconnect::Nonce::new("the-nonce".to_owned());
    let access = openidconnect::AccessToken::new("opaque".to_owned());
    let check = |jwt: String| {
        let sso = &sso;
        let (nonce, access) = (nonce.clone(), access.clone());
        async move {
            let token = jwt.parse().unwrap();
            sso.verified_claims(&token, &access, &nonce, NOW).await
        }
    };
    // The provider's own token passes: the refusals below are the checks' doing.
    let good = check(provider.sign(&id_claims("the-nonce"))).await.unwrap();
    assert_eq!(good.subject().as_str(), "person-1");

    let genuine = provider.sign(&id_claims("the-nonce"));
    let (head, rest) = genuine.split_once('.').unwrap();
    let signature = rest.split_once('.').unwrap().1;
    let mut altered = id_claims("the-nonce");
    altered["groups"] = serde_json::json!(["tollgate-owners", "admins"]);
    use base64::Engine;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(altered.to_string());
    let mut wrong_audience = id_claims("the-nonce");
    wrong_audience["aud"] = "someone-else".into();
    let mut wrong_issuer = id_claims("the-nonce");
    wrong_issuer["iss"] = "https://evil.example".into();
    let mut expired = id_claims("the-nonce");
    expired["exp"] = (NOW.0 - 120).into();
    let cases = [
        (
            "claims altered after signing",
            format!("{head}.{payload}.{signature}"),
        ),
        (
            "signed by another key",
            Signer::new().sign(&id_claims("the-nonce")),
        ),
        ("another audience", provider.sign(&wrong_audience)),
        ("another issuer", provider.sign(&wrong_issuer)),
        ("expired", provider.sign(&expired)),
        ("another nonce", provider.sign(&id_claims("someone-elses"))),
    ];
    for (what, jwt) in cases {
        let outcome = check(jwt).await;
        assert!(
            matches!(outcome, Err(SsoError::InvalidIdToken(_))),
            "{what}: {outcome:?}"
        );
    }
}
