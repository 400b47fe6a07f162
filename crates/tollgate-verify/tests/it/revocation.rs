//! Revocation polling: against a stub serving the revocation list contract, and end to end
//! against a real Tollgate.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use tollgate_verify::{Error, FetchError, RevocationPolling, Verifier};

use crate::forge::{self, TestKey};
use crate::helpers::{Stub, TestClock, Tollgate, eventually};

const AUD: &str = "https://api.example.com";

fn polling() -> RevocationPolling {
    RevocationPolling::new("tgc_poller", "poller-secret")
}

fn claims_for(stub: &Stub, client: &str, jti: &str, iat: i64) -> serde_json::Value {
    json!({"iss": stub.base, "sub": client, "client_id": client, "aud": AUD,
           "scope": "a", "iat": iat, "exp": iat + 3600, "jti": jti})
}

#[tokio::test]
async fn revoked_tokens_and_deleted_clients_are_refused() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(forge::jwks(&[&key])).await;
    let clock = TestClock::real();
    let now = clock.now_secs();
    let verifier = Verifier::builder(&stub.base)
        .audience(AUD)
        .clock(clock.clone())
        .revocation_polling(polling().poll_interval(Duration::from_secs(3600)))
        .build()
        .unwrap();
    let revoked = key.token(&claims_for(&stub, "tgc_a", "jti-revoked", now - 10));
    let other = key.token(&claims_for(&stub, "tgc_a", "jti-other", now - 10));
    let old_of_deleted = key.token(&claims_for(&stub, "tgc_gone", "jti-old", now - 100));
    let new_of_deleted = key.token(&claims_for(&stub, "tgc_gone", "jti-new", now - 5));
    for t in [&revoked, &other, &old_of_deleted, &new_of_deleted] {
        verifier.verify(t).await.unwrap();
    }

    *stub.state.revocations.lock().unwrap() = vec![
        json!({"cursor": 12, "jti": "jti-revoked", "client_id": "tgc_a", "exp": now + 3590}),
        json!({"cursor": 13, "client_id": "tgc_gone", "issued_before": now - 50}),
    ];
    verifier.refresh().await.unwrap();
    assert!(matches!(
        verifier.verify(&revoked).await,
        Err(Error::Revoked)
    ));
    assert!(matches!(
        verifier.verify(&old_of_deleted).await,
        Err(Error::Revoked)
    ));
    verifier.verify(&other).await.unwrap();
    verifier.verify(&new_of_deleted).await.unwrap();

    // The poller authenticated with HTTP Basic, and resumed from the cursor.
    verifier.refresh().await.unwrap();
    let auth = stub.state.revocation_auth.lock().unwrap().clone();
    assert!(
        auth.iter()
            .all(|a| a == &crate::helpers::basic("tgc_poller", "poller-secret"))
    );
    assert!(matches!(
        verifier.verify(&revoked).await,
        Err(Error::Revoked)
    ));
}

#[tokio::test]
async fn full_pages_are_followed() {
    let key = TestKey::ed25519("k1");
    let stub = Stub::start(forge::jwks(&[&key])).await;
    let clock = TestClock::real();
    let now = clock.now_secs();
    let entries: Vec<_> = (1..=2500)
        .map(|i| json!({"cursor": i, "jti": format!("j{i}"), "client_id": "c", "exp": now + 600}))
        .collect();
    *stub.state.revocations.lock().unwrap() = entries;
    let verifier = Verifier::builder(&stub.base)
        .audience(AUD)
        .clock(clock.clone())
        .revocation_polling(polling().poll_interval(Duration::from_secs(3600)))
        .build()
        .unwrap();
    verifier.refresh().await.unwrap();
    // The background task's first poll and this refresh, one after the other: one reads
    // 1000 + 1000 + 500 entries, the other finds nothing after the cursor.
    eventually("both polls ran", || async {
        stub.state.revocation_requests.load(Ordering::SeqCst) == 4
    })
    .await;
    for jti in ["j1", "j1000", "j1001", "j2500"] {
        let t = key.token(&claims_for(&stub, "c", jti, now));
        assert!(
            matches!(verifier.verify(&t).await, Err(Error::Revoked)),
            "{jti}"
        );
    }
    let t = key.token(&claims_for(&stub, "c", "j2501", now));
    verifier.verify(&t).await.unwrap();
}

#[tokio::test]
async fn the_background_task_polls() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(forge::jwks(&[&key])).await;
    let now = TestClock::real().now_secs();
    let verifier = Verifier::builder(&stub.base)
        .audience(AUD)
        .revocation_polling(polling().poll_interval(Duration::from_secs(1)))
        .build()
        .unwrap();
    let token = key.token(&claims_for(&stub, "tgc_a", "jti-1", now));
    verifier.verify(&token).await.unwrap();
    stub.state
        .revocations
        .lock()
        .unwrap()
        .push(json!({"cursor": 1, "jti": "jti-1", "client_id": "tgc_a", "exp": now + 3600}));
    eventually("the poller sees the revocation", || async {
        matches!(verifier.verify(&token).await, Err(Error::Revoked))
    })
    .await;

    // The task ends with the verifier.
    drop(verifier);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let count = stub.state.revocation_requests.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(stub.state.revocation_requests.load(Ordering::SeqCst), count);
}

#[tokio::test]
async fn failing_open_by_default_and_closed_when_asked() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(forge::jwks(&[&key])).await;
    let clock = TestClock::real();
    let now = clock.now_secs();
    let token = key.token(&claims_for(&stub, "tgc_a", "jti-1", now));
    let build = |p: RevocationPolling| {
        Verifier::builder(&stub.base)
            .audience(AUD)
            .clock(clock.clone())
            .revocation_polling(p.poll_interval(Duration::from_secs(3600)))
            .build()
            .unwrap()
    };
    let open = build(polling());
    let closed = build(polling().fail_closed_after(Duration::from_secs(60)));
    open.refresh().await.unwrap();
    closed.refresh().await.unwrap();
    open.verify(&token).await.unwrap();
    closed.verify(&token).await.unwrap();

    stub.state.down.store(true, Ordering::SeqCst);
    assert!(matches!(
        closed.refresh().await,
        Err(FetchError::Status { status: 503, .. })
    ));
    clock.advance(61);
    open.verify(&token).await.unwrap();
    let err = closed.verify(&token).await.unwrap_err();
    assert!(matches!(err, Error::RevocationListStale) && !err.is_token_error());

    // Wrong credentials are reported, not ignored.
    stub.state.down.store(false, Ordering::SeqCst);
    let wrong = build(RevocationPolling::new("tgc_poller", "wrong"));
    assert!(matches!(
        wrong.refresh().await,
        Err(FetchError::Status { status: 401, .. })
    ));
}

/// The real thing: Tollgate's `GET /oauth2/revocations`, advertised in discovery as
/// `revocation_list_endpoint`.
#[tokio::test]
async fn end_to_end_a_deleted_clients_tokens_are_refused() {
    let tg = Tollgate::start().await;
    let (poller_id, poller_secret) = tg
        .create_client("api-poller", &["tollgate:introspect"])
        .await;
    let (id, secret) = tg.create_client("doomed", &["enterprise:user"]).await;
    let (other_id, other_secret) = tg.create_client("survivor", &["enterprise:user"]).await;
    let token = tg.token(&id, &secret, &[]).await;
    let other = tg.token(&other_id, &other_secret, &[]).await;

    let verifier = tg
        .verifier()
        .revocation_polling(
            RevocationPolling::new(&poller_id, &poller_secret)
                .poll_interval(Duration::from_secs(3600)),
        )
        .build()
        .unwrap();
    verifier.refresh().await.unwrap();
    verifier.verify(&token).await.unwrap();

    tg.delete_client(&id).await;
    verifier.refresh().await.unwrap();
    assert!(matches!(verifier.verify(&token).await, Err(Error::Revoked)));
    verifier.verify(&other).await.unwrap();

    // And without calling refresh: the background poller picks it up.
    let polled = tg
        .verifier()
        .revocation_polling(
            RevocationPolling::new(&poller_id, &poller_secret)
                .poll_interval(Duration::from_secs(1)),
        )
        .build()
        .unwrap();
    polled.verify(&other).await.unwrap();
    tg.delete_client(&other_id).await;
    eventually("the poller sees the deletion", || async {
        matches!(polled.verify(&other).await, Err(Error::Revoked))
    })
    .await;
}

#[tokio::test]
async fn end_to_end_a_client_without_the_introspect_scope_cannot_poll() {
    let tg = Tollgate::start().await;
    let (id, secret) = tg.create_client("not-a-poller", &["enterprise:user"]).await;
    let verifier = tg
        .verifier()
        .revocation_polling(RevocationPolling::new(&id, &secret))
        .build()
        .unwrap();
    let err = verifier.refresh().await.unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 403, .. }),
        "{err}"
    );
    // The server's explanation is kept for the logs.
    assert!(err.to_string().contains("tollgate:introspect"), "{err}");
}
