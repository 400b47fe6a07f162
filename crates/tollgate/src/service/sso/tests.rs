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
