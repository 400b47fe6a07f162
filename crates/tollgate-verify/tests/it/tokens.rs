//! Tokens from a real Tollgate: accepted when valid, refused with the right error otherwise.

use serde_json::json;
use tollgate_verify::{Algorithm, Error, FetchError, Verifier};

use crate::forge::{self, TestKey};
use crate::helpers::Tollgate;

/// A server signing with `alg`, a client with two scopes, and one of its tokens.
async fn server_and_token(alg: &str) -> (Tollgate, String) {
    let tg = Tollgate::with_algorithm(alg).await;
    let (id, secret) = tg
        .create_client("verify-it", &["enterprise:user", "reports:export"])
        .await;
    let token = tg.token(&id, &secret, &[]).await;
    (tg, token)
}

#[tokio::test]
async fn valid_tokens_of_every_algorithm_are_accepted() {
    for alg in ["ES256", "EdDSA", "RS256"] {
        let (tg, token) = server_and_token(alg).await;
        let (header, raw, _) = forge::decode(&token);
        assert_eq!(header["alg"], alg);
        let verifier = tg.verifier().build().unwrap();
        let claims = verifier
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(claims.client_id(), raw["client_id"].as_str().unwrap());
        assert_eq!(claims.subject(), claims.client_id());
        assert_eq!(claims.issuer(), tg.issuer);
        assert_eq!(claims.audiences(), std::slice::from_ref(&tg.issuer));
        assert!(claims.has_scope("enterprise:user") && claims.has_scope("reports:export"));
        assert_eq!(claims.scopes().len(), 2);
        assert_eq!(claims.jti(), raw["jti"].as_str().unwrap());
        assert_eq!(claims.expires_at(), raw["exp"].as_i64().unwrap());
        assert_eq!(claims.issued_at(), raw["iat"].as_i64().unwrap());
        assert_eq!(claims.tenant(), None);
        assert!(
            claims
                .require_all(["enterprise:user", "reports:export"])
                .is_ok()
        );
        assert!(claims.require_all(["tollgate:admin"]).is_err());
        // Cached keys: a second verification makes no request (the server is gone).
        tg.stop().await;
        assert!(verifier.verify(&token).await.is_ok(), "{alg}");
    }
}

#[tokio::test]
async fn narrowed_scope_tenant_and_several_audiences() {
    let tg = Tollgate::start().await;
    tg.create_api("https://api.example.com", &["enterprise:user"])
        .await;
    tg.create_api("https://reports.example.com", &["reports:export"])
        .await;
    let (id, secret) = tg
        .create_client("verify-it", &["enterprise:user", "reports:export"])
        .await;
    tg.bind_tenants(&id, &["acme", "globex"]).await;
    let verifier = Verifier::builder(&tg.issuer)
        .audience("https://reports.example.com")
        .build()
        .unwrap();

    // A token for the other API's scope is for the other API.
    let token = tg
        .token(
            &id,
            &secret,
            &[("scope", "enterprise:user"), ("tenant", "acme")],
        )
        .await;
    assert!(matches!(
        verifier.verify(&token).await,
        Err(Error::InvalidAudience)
    ));

    let token = tg
        .token(
            &id,
            &secret,
            &[
                ("resource", "https://api.example.com"),
                ("resource", "https://reports.example.com"),
                ("scope", "reports:export"),
                ("tenant", "acme"),
            ],
        )
        .await;
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(claims.audiences().len(), 2);
    assert_eq!(
        claims.scopes().iter().collect::<Vec<_>>(),
        ["reports:export"]
    );
    assert_eq!(claims.tenant(), Some("acme"));
    assert_eq!(claims.get("tenant"), Some(&json!("acme")));
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    // Two hours ago, Tollgate issued a one-hour token.
    let tg = Tollgate::start_with(&[], -2 * 3600).await;
    let (id, secret) = tg.create_client("verify-it", &["enterprise:user"]).await;
    let token = tg.token(&id, &secret, &[]).await;
    let verifier = tg.verifier().build().unwrap();
    assert!(matches!(verifier.verify(&token).await, Err(Error::Expired)));
}

#[tokio::test]
async fn tampering_is_detected() {
    let (tg, token) = server_and_token("ES256").await;
    let verifier = tg.verifier().build().unwrap();
    let (header, mut claims, sig) = forge::decode(&token);

    claims["scope"] = json!("enterprise:user reports:export tollgate:admin");
    let payload_tampered = forge::reassemble(&header, &claims, &sig);
    assert!(matches!(
        verifier.verify(&payload_tampered).await,
        Err(Error::InvalidSignature)
    ));

    let mut sig_bytes = forge::unb64(&sig);
    sig_bytes[10] ^= 1;
    let (_, claims, _) = forge::decode(&token);
    let sig_tampered = forge::reassemble(&header, &claims, &forge::b64(&sig_bytes));
    assert!(matches!(
        verifier.verify(&sig_tampered).await,
        Err(Error::InvalidSignature)
    ));

    let truncated = &token[..token.len() - 4];
    assert!(verifier.verify(truncated).await.is_err());
    assert!(verifier.verify(&token).await.is_ok());
}

#[tokio::test]
async fn tokens_signed_with_a_key_tollgate_does_not_publish_are_refused() {
    for alg in ["ES256", "EdDSA", "RS256"] {
        let (tg, token) = server_and_token(alg).await;
        let verifier = tg.verifier().build().unwrap();
        let (header, claims, _) = forge::decode(&token);
        let kid = header["kid"].as_str().unwrap();

        // The attacker's key, claiming to be Tollgate's.
        let evil = TestKey::for_alg(alg, kid);
        assert!(
            matches!(
                verifier.verify(&evil.token(&claims)).await,
                Err(Error::InvalidSignature)
            ),
            "{alg}"
        );
        // The attacker's key under its own kid.
        let evil = TestKey::for_alg(alg, "evil-key");
        assert!(
            matches!(
                verifier.verify(&evil.token(&claims)).await,
                Err(Error::UnknownKey)
            ),
            "{alg}"
        );
        // Another algorithm under Tollgate's kid.
        let other = if alg == "ES256" { "EdDSA" } else { "ES256" };
        let evil = TestKey::for_alg(other, kid);
        assert!(
            matches!(
                verifier.verify(&evil.token(&claims)).await,
                Err(Error::KeyMismatch)
            ),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn alg_none_and_hmac_confusion_are_refused() {
    let (tg, token) = server_and_token("ES256").await;
    let verifier = tg.verifier().build().unwrap();
    let (header, claims, _) = forge::decode(&token);
    let kid = header["kid"].clone();

    for alg in ["none", "None", "NONE"] {
        let h = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
        assert!(matches!(
            verifier.verify(&forge::unsigned(&h, &claims)).await,
            Err(Error::DisallowedAlgorithm)
        ));
    }

    // HS256 with the public key as the HMAC secret, in every form an attacker might try.
    let jwks = tg.jwks().await;
    let jwk = &jwks["keys"][0];
    let mut point = vec![4u8];
    point.extend(forge::unb64(jwk["x"].as_str().unwrap()));
    point.extend(forge::unb64(jwk["y"].as_str().unwrap()));
    let secrets: Vec<Vec<u8>> = vec![
        jwk.to_string().into_bytes(),
        jwks.to_string().into_bytes(),
        point,
        forge::unb64(jwk["x"].as_str().unwrap()),
    ];
    for alg in ["HS256", "HS384", "HS512"] {
        for secret in &secrets {
            let h = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
            assert!(matches!(
                verifier.verify(&forge::hs256(&h, &claims, secret)).await,
                Err(Error::DisallowedAlgorithm)
            ));
        }
    }
}

#[tokio::test]
async fn wrong_typ_is_refused() {
    let (tg, token) = server_and_token("EdDSA").await;
    let verifier = tg.verifier().build().unwrap();
    let (mut header, claims, sig) = forge::decode(&token);
    for typ in [
        json!("JWT"),
        json!("jwt"),
        json!("application/jwt"),
        json!(null),
    ] {
        header["typ"] = typ.clone();
        assert!(
            matches!(
                verifier
                    .verify(&forge::reassemble(&header, &claims, &sig))
                    .await,
                Err(Error::InvalidType)
            ),
            "{typ}"
        );
    }
    header.as_object_mut().unwrap().remove("typ");
    assert!(matches!(
        verifier
            .verify(&forge::reassemble(&header, &claims, &sig))
            .await,
        Err(Error::InvalidType)
    ));
}

#[tokio::test]
async fn wrong_issuer_is_refused() {
    let (tg, token) = server_and_token("ES256").await;
    let jwks_url = tg.url("/oauth2/jwks");

    // Same keys, another expected issuer: the token's `iss` does not match.
    let verifier = Verifier::builder("http://127.0.0.1:9/other")
        .audience(&tg.issuer)
        .jwks_url(&jwks_url)
        .build()
        .unwrap();
    assert!(matches!(
        verifier.verify(&token).await,
        Err(Error::InvalidIssuer)
    ));

    // Through discovery, the document's issuer must match the configured one exactly.
    let with_slash = format!("{}/", tg.issuer);
    let verifier = Verifier::builder(&with_slash)
        .audience(&tg.issuer)
        .build()
        .unwrap();
    match verifier.verify(&token).await {
        Err(Error::KeysUnavailable(e)) => {
            assert!(matches!(*e, FetchError::IssuerMismatch { .. }), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let err = verifier.refresh().await.unwrap_err();
    assert!(matches!(err, FetchError::IssuerMismatch { .. }), "{err}");
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let tg = Tollgate::start().await;
    tg.create_api("https://api.example.com", &["enterprise:user"])
        .await;
    let (id, secret) = tg
        .create_client("verify-it", &["enterprise:user", "tollgate:clients:read"])
        .await;
    let token = tg
        .token(&id, &secret, &[("scope", "enterprise:user")])
        .await;
    let for_other = Verifier::builder(&tg.issuer)
        .audience("https://other.example.com")
        .build()
        .unwrap();
    assert!(matches!(
        for_other.verify(&token).await,
        Err(Error::InvalidAudience)
    ));
    let for_api = Verifier::builder(&tg.issuer)
        .audiences(["https://other.example.com", "https://api.example.com"])
        .build()
        .unwrap();
    assert!(for_api.verify(&token).await.is_ok());
    // A token for the admin API (audience: the issuer) is not one for this API.
    let issuer = tg.issuer.clone();
    let admin_token = tg.token(&id, &secret, &[("resource", &issuer)]).await;
    assert!(matches!(
        for_api.verify(&admin_token).await,
        Err(Error::InvalidAudience)
    ));
}

#[tokio::test]
async fn restricting_algorithms_refuses_the_others() {
    let (tg, token) = server_and_token("RS256").await;
    let verifier = tg
        .verifier()
        .algorithms([Algorithm::Es256, Algorithm::EdDsa])
        .build()
        .unwrap();
    assert!(matches!(
        verifier.verify(&token).await,
        Err(Error::DisallowedAlgorithm)
    ));
}

#[tokio::test]
async fn refresh_reports_an_unreachable_issuer_and_verification_says_unavailable() {
    let tg = Tollgate::start().await;
    let issuer = tg.issuer.clone();
    tg.stop().await;
    let verifier = Verifier::builder(&issuer)
        .audience(&issuer)
        .build()
        .unwrap();
    assert!(matches!(
        verifier.refresh().await,
        Err(FetchError::Transport { .. })
    ));
    let key = TestKey::es256("k");
    let token = key.token(&forge::claims(&issuer, &issuer, 1, "x"));
    let err = verifier.verify(&token).await.unwrap_err();
    assert!(matches!(err, Error::KeysUnavailable(_)), "{err}");
    assert!(!err.is_token_error());
}
