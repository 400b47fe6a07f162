//! Fetching and caching keys: the refetch rate limit, rotation, outages, max-age.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tollgate_verify::{Error, FetchError, Verifier};

use crate::forge::{self, TestKey};
use crate::helpers::{Stub, TestClock, Tollgate, eventually};

const AUD: &str = "https://api.example.com";

fn verifier_for(stub: &Stub, clock: &Arc<TestClock>) -> Verifier {
    Verifier::builder(&stub.base)
        .audience(AUD)
        .clock(clock.clone())
        .min_refetch_interval(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test]
async fn unknown_kids_trigger_at_most_one_refetch_per_interval() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(forge::jwks(&[&key])).await;
    let clock = TestClock::real();
    let verifier = verifier_for(&stub, &clock);
    let now = clock.now_secs();
    let claims = forge::claims(&stub.base, AUD, now, "a");
    verifier.verify(&key.token(&claims)).await.unwrap();
    assert_eq!(stub.jwks_requests(), 1);
    assert_eq!(stub.state.discovery_requests.load(Ordering::SeqCst), 1);

    // A flood of tokens naming made-up keys, concurrently and one after another.
    let flood = |round: usize| {
        let verifier = verifier.clone();
        let claims = claims.clone();
        async move {
            let tasks: Vec<_> = (0..50)
                .map(|i| {
                    let verifier = verifier.clone();
                    let token = TestKey::es256(&format!("random-{round}-{i}")).token(&claims);
                    tokio::spawn(async move { verifier.verify(&token).await })
                })
                .collect();
            for t in tasks {
                assert!(matches!(t.await.unwrap(), Err(Error::UnknownKey)));
            }
        }
    };
    flood(0).await;
    assert_eq!(
        stub.jwks_requests(),
        1,
        "the keys were fetched less than 30 s ago"
    );
    clock.advance(30);
    flood(1).await;
    assert_eq!(stub.jwks_requests(), 2, "one refetch for the whole flood");
    flood(2).await;
    assert_eq!(stub.jwks_requests(), 2, "still within the interval");
    // Known keys keep working throughout, without requests.
    verifier.verify(&key.token(&claims)).await.unwrap();

    clock.advance(29);
    flood(3).await;
    assert_eq!(stub.jwks_requests(), 2);
    clock.advance(1);
    flood(4).await;
    assert_eq!(stub.jwks_requests(), 3, "one more after the interval");
    assert_eq!(
        stub.state.discovery_requests.load(Ordering::SeqCst),
        1,
        "discovery once"
    );
}

#[tokio::test]
async fn a_new_key_is_found_by_refetching() {
    let old = TestKey::ed25519("old");
    let new = TestKey::ed25519("new");
    let stub = Stub::start(forge::jwks(&[&old])).await;
    let clock = TestClock::real();
    let verifier = verifier_for(&stub, &clock);
    let claims = forge::claims(&stub.base, AUD, clock.now_secs(), "a");
    verifier.verify(&old.token(&claims)).await.unwrap();

    stub.set_jwks(forge::jwks(&[&old, &new]));
    assert!(matches!(
        verifier.verify(&new.token(&claims)).await,
        Err(Error::UnknownKey)
    ));
    assert_eq!(
        stub.jwks_requests(),
        1,
        "rate-limited: fetched less than 30 s ago"
    );
    clock.advance(30);
    verifier.verify(&new.token(&claims)).await.unwrap();
    assert_eq!(stub.jwks_requests(), 2);
    verifier.verify(&old.token(&claims)).await.unwrap();
}

#[tokio::test]
async fn keys_stay_usable_when_the_issuer_goes_away() {
    let key = TestKey::rs256("k1");
    let mut stub = Stub::start(forge::jwks(&[&key])).await;
    let clock = TestClock::real();
    let verifier = verifier_for(&stub, &clock);
    let claims = forge::claims(&stub.base, AUD, clock.now_secs(), "a");
    let token = key.token(&claims);
    verifier.verify(&token).await.unwrap();

    // First it answers errors, then it is gone altogether.
    stub.state.down.store(true, Ordering::SeqCst);
    clock.advance(301); // Past max-age: verification triggers a background refresh.
    verifier.verify(&token).await.unwrap();
    eventually("the background refresh ran", || async {
        stub.jwks_requests() == 2
    })
    .await;
    verifier.verify(&token).await.unwrap();
    let unknown = TestKey::rs256("other").token(&claims);
    assert!(matches!(
        verifier.verify(&unknown).await,
        Err(Error::UnknownKey)
    ));

    stub.stop().await;
    clock.advance(600);
    for _ in 0..3 {
        verifier.verify(&token).await.unwrap();
    }
    assert!(matches!(
        verifier.verify(&unknown).await,
        Err(Error::UnknownKey)
    ));
    assert!(matches!(
        verifier.refresh().await,
        Err(FetchError::Transport { .. })
    ));
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn tollgate_going_down_after_keys_were_cached_does_not_break_validation() {
    let tg = Tollgate::start().await;
    let (id, secret) = tg.create_client("verify-it", &["enterprise:user"]).await;
    let token = tg.token(&id, &secret, &[]).await;
    let clock = TestClock::real();
    let verifier = tg.verifier().clock(clock.clone()).build().unwrap();
    verifier.refresh().await.unwrap();
    tg.stop().await;

    verifier.verify(&token).await.unwrap();
    clock.advance(301); // Stale: the background refresh fails, the keys stay.
    verifier.verify(&token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn max_age_drives_background_refresh_with_etags() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(forge::jwks(&[&key])).await;
    *stub.state.max_age.lock().unwrap() = Some(60);
    let clock = TestClock::real();
    let verifier = verifier_for(&stub, &clock);
    let claims = forge::claims(&stub.base, AUD, clock.now_secs(), "a");
    let token = key.token(&claims);
    verifier.verify(&token).await.unwrap();

    clock.advance(59);
    verifier.verify(&token).await.unwrap();
    assert_eq!(stub.jwks_requests(), 1, "still fresh");

    clock.advance(1);
    verifier.verify(&token).await.unwrap();
    eventually("a conditional refresh", || async {
        stub.state.jwks_not_modified.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(stub.jwks_requests(), 2);

    // Fresh again for max-age seconds after the 304.
    verifier.verify(&token).await.unwrap();
    clock.advance(30);
    verifier.verify(&token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(stub.jwks_requests(), 2);
}

#[tokio::test]
async fn static_keys_never_fetch() {
    let key = TestKey::ed25519("k1");
    let verifier = Verifier::builder("https://auth.example.com")
        .audience(AUD)
        .static_jwks(forge::jwks(&[&key]))
        .build()
        .unwrap();
    let now = TestClock::real().now_secs();
    let claims = forge::claims("https://auth.example.com", AUD, now, "a");
    verifier.verify(&key.token(&claims)).await.unwrap();
    let other = TestKey::ed25519("k2");
    assert!(matches!(
        verifier.verify(&other.token(&claims)).await,
        Err(Error::UnknownKey)
    ));
    verifier.refresh().await.unwrap();
}

#[tokio::test]
async fn wrong_typ_with_a_valid_signature_is_refused() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(forge::jwks(&[&key])).await;
    let clock = TestClock::real();
    let verifier = verifier_for(&stub, &clock);
    let claims = forge::claims(&stub.base, AUD, clock.now_secs(), "a");
    for typ in ["JWT", "at+jwt+x", "application/jwt"] {
        let header = serde_json::json!({"alg": "ES256", "typ": typ, "kid": "k1"});
        assert!(matches!(
            verifier.verify(&key.sign(&header, &claims)).await,
            Err(Error::InvalidType)
        ));
    }
    for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
        let header = serde_json::json!({"alg": "ES256", "typ": typ, "kid": "k1"});
        verifier.verify(&key.sign(&header, &claims)).await.unwrap();
    }
    // No fetch was needed to refuse them.
    assert_eq!(stub.jwks_requests(), 1);
}
