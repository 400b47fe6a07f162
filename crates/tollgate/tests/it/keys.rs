//! Signing keys: scheduled rotation (announced, then signing, then retired), manual and
//! immediate rotation, several algorithms at once, and rotation on several nodes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_ID, ADMIN_SECRET, TestApp, decode_jwt, json_of, two_nodes, within_a_second,
};

#[tokio::test]
async fn a_whole_key_rotation_cycle_without_sleeping() {
    // Rotation every 2 days, announced 1 day ahead; the test clock starts at 1_900_000_000.
    let app = TestApp::spawn_with(&[
        ("TOLLGATE_KEY_ROTATION_PERIOD", "172800"),
        ("TOLLGATE_KEY_ANNOUNCE_PERIOD", "86400"),
    ])
    .await;
    let (id, secret) = app.create_client("c", &["a"]).await;
    let old_token = app.token(&id, &secret, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let key_a = decode_jwt(&old_token).0["kid"].as_str().unwrap().to_owned();
    assert_eq!(app.jwks_kids().await, std::slice::from_ref(&key_a));

    // A day later the successor is announced: published, not signing.
    app.clock.advance(86_400);
    app.tollgate
        .rotate_keys_if_due(app.tollgate.now())
        .await
        .unwrap();
    let kids = app.jwks_kids().await;
    assert_eq!(kids.len(), 2, "{kids:?}");
    let key_b = kids.iter().find(|k| **k != key_a).unwrap().clone();
    let t = app.token(&id, &secret, &[]).await;
    assert_eq!(
        decode_jwt(t["access_token"].as_str().unwrap()).0["kid"],
        key_a.as_str()
    );
    let (_, _, keys) = json_of(app.admin(Method::GET, "/keys", None).await).await;
    let states: Vec<(&str, &str)> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kid"].as_str().unwrap(), k["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [(key_a.as_str(), "current"), (key_b.as_str(), "next")]
    );

    // Another day: B signs, A is retired but still published.
    app.clock.advance(86_400);
    app.tollgate
        .rotate_keys_if_due(app.tollgate.now())
        .await
        .unwrap();
    let t = app.token(&id, &secret, &[]).await;
    assert_eq!(
        decode_jwt(t["access_token"].as_str().unwrap()).0["kid"],
        key_b.as_str()
    );
    assert!(
        app.jwks_kids().await.contains(&key_a),
        "retired keys stay published"
    );
    // A token A signed before the rotation still verifies against the JWKS (expired or not,
    // its signature is checked with A's published key).
    let jwks: Value = app
        .http
        .get(app.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let a_jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == key_a.as_str())
        .unwrap()
        .clone();
    assert!(crate::helpers::verify_es256(&old_token, &a_jwk));

    // Once every token A could have signed has expired (24 h after retiring), A is gone.
    app.clock.advance(86_400);
    app.tollgate
        .rotate_keys_if_due(app.tollgate.now())
        .await
        .unwrap();
    let kids = app.jwks_kids().await;
    assert!(!kids.contains(&key_a), "{kids:?}");
    assert!(kids.contains(&key_b));

    let actions = app.audit_actions(None).await;
    for a in ["key.generated", "key.removed"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn manual_rotation_announced_or_immediate() {
    let app = TestApp::spawn().await;
    let before = decode_jwt(&app.admin_token().await).0["kid"].clone();
    let r = app
        .admin(Method::POST, "/keys/rotate", Some(json!({})))
        .await;
    let (s, _, announced) = json_of(r).await;
    assert_eq!(s, StatusCode::CREATED, "{announced}");
    assert_eq!(announced["state"], "next");
    assert_eq!(
        decode_jwt(&app.admin_token().await).0["kid"],
        before,
        "announced keys do not sign yet"
    );
    let (s, _, again) = json_of(
        app.admin(Method::POST, "/keys/rotate", Some(json!({})))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{again}");
    assert_eq!(again["code"], "key_already_announced");

    let r = app
        .admin(
            Method::POST,
            "/keys/rotate",
            Some(json!({"immediate": true})),
        )
        .await;
    let (s, _, now_key) = json_of(r).await;
    assert_eq!(s, StatusCode::CREATED, "{now_key}");
    assert_eq!(now_key["state"], "current");
    assert_eq!(
        decode_jwt(&app.admin_token().await).0["kid"],
        now_key["kid"]
    );

    let (s, _, bad) = json_of(
        app.admin(
            Method::POST,
            "/keys/rotate",
            Some(json!({"algorithm": "RS256"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, bad["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("inactive_algorithm"))
    );
    assert!(
        app.audit_actions(None)
            .await
            .iter()
            .filter(|a| *a == "key.rotated")
            .count()
            == 2
    );
}

#[tokio::test]
async fn several_algorithms_at_once_chosen_per_client() {
    let app = TestApp::spawn_with(&[("TOLLGATE_EXTRA_SIGNING_ALGORITHMS", "RS256,EdDSA")]).await;
    let algs: Vec<String> = {
        let jwks: Value = app
            .http
            .get(app.url("/oauth2/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut a: Vec<String> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["alg"].as_str().unwrap().to_owned())
            .collect();
        a.sort();
        a
    };
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    app.ensure_permissions(&["a"]).await;
    let r = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({"name": "legacy", "scopes": ["a"], "signing_algorithm": "RS256"})),
        )
        .await;
    let (s, _, created) = json_of(r).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["client"]["signing_algorithm"], "RS256");
    let id = created["client"]["client_id"].as_str().unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    let t = app.token(id, secret, &[]).await;
    assert_eq!(
        decode_jwt(t["access_token"].as_str().unwrap()).0["alg"],
        "RS256"
    );
    // Introspection and the admin API accept every published algorithm.
    let r = app
        .post_form(
            "/oauth2/introspect",
            &[("token", t["access_token"].as_str().unwrap())],
            (ADMIN_ID, ADMIN_SECRET),
        )
        .await;
    assert_eq!(json_of(r).await.2["active"], true);
    let r = app
        .admin(
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(json!({"signing_algorithm": null})),
        )
        .await;
    assert_eq!(json_of(r).await.2["signing_algorithm"], Value::Null);
    let t = app.token(id, secret, &[]).await;
    assert_eq!(
        decode_jwt(t["access_token"].as_str().unwrap()).0["alg"],
        "ES256"
    );

    let other = TestApp::spawn().await;
    let r = other
        .admin(
            Method::POST,
            "/clients",
            Some(json!({"name": "x", "signing_algorithm": "RS256"})),
        )
        .await;
    let (s, _, b) = json_of(r).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["errors"][0]["field"], "signing_algorithm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_at_a_time_rotates_and_every_node_follows() {
    if !crate::pg::required("one_node_at_a_time_rotates_and_every_node_follows") {
        return;
    }
    let settings = [
        ("TOLLGATE_KEY_ROTATION_PERIOD", "172800"),
        ("TOLLGATE_KEY_ANNOUNCE_PERIOD", "86400"),
        ("TOLLGATE_ISSUER", "http://localhost:9"),
    ];
    let (a, b) = two_nodes(&settings).await;
    let key_a = a.signing_kid().await.unwrap();
    assert_eq!(
        b.signing_kid().await.unwrap(),
        key_a,
        "the second node found the first's key"
    );

    // A day later a successor is due. Both nodes run their upkeep at the same moment: one
    // generates it, the other does not.
    for app in [&a, &b] {
        app.clock.advance(86_400);
    }
    let now = a.tollgate.now();
    let (ra, rb) = tokio::join!(
        a.tollgate.rotate_keys_if_due(now),
        b.tollgate.rotate_keys_if_due(now)
    );
    ra.unwrap();
    rb.unwrap();
    let (_, _, keys) = json_of(a.admin(Method::GET, "/keys", None).await).await;
    let keys = keys["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2, "exactly one successor: {keys:?}");
    let key_b = keys
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .find(|k| *k != key_a)
        .unwrap();
    let generated = a
        .audit_actions(None)
        .await
        .iter()
        .filter(|a| *a == "key.generated")
        .count();
    assert_eq!(generated, 1, "recorded once, by the node that generated it");
    let (ra, rb, kb_ref) = (&a, &b, &key_b);
    assert!(
        within_a_second(|| async move {
            let (mut ka, mut kb) = (ra.jwks_kids().await, rb.jwks_kids().await);
            ka.sort();
            kb.sort();
            ka == kb && ka.contains(kb_ref)
        })
        .await,
        "both nodes publish the successor"
    );

    // When it takes over, every node signs with it after its upkeep, generating nothing.
    for app in [&a, &b] {
        app.clock.advance(86_400);
        app.tollgate.upkeep(app.tollgate.now()).await;
    }
    assert_eq!(a.signing_kid().await.unwrap(), key_b);
    assert_eq!(b.signing_kid().await.unwrap(), key_b);

    // A rotation asked of one node reaches the other through the change feed alone.
    let (s, _, rotated) = json_of(
        b.admin(
            Method::POST,
            "/keys/rotate",
            Some(json!({"immediate": true})),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{rotated}");
    let key_c = rotated["kid"].as_str().unwrap().to_owned();
    let (ra, kc) = (&a, &key_c);
    assert!(
        within_a_second(|| async move { ra.signing_kid().await.unwrap() == *kc }).await,
        "the other node signs with the new key within a second"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_compromised_key_is_removed_and_its_tokens_are_refused() {
    let app = TestApp::spawn().await;
    // A routine early rotation first: the first key is retired, the second signs.
    let (s, _, routine) = json_of(
        app.admin(
            Method::POST,
            "/keys/rotate",
            Some(json!({"immediate": true})),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{routine}");
    assert_eq!(
        app.jwks_kids().await.len(),
        2,
        "a routine rotation keeps the old key"
    );
    let (id, secret) = app.create_client("c", &["a"]).await;
    let old_client_token = app.token(&id, &secret, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_admin_token = app.admin_token().await;
    let old_kid = decode_jwt(&old_admin_token).0["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(old_kid, routine["kid"].as_str().unwrap());

    let r = app
        .admin_with(
            &old_admin_token,
            Method::POST,
            "/keys/rotate",
            Some(json!({"compromised": true})),
        )
        .await;
    let (s, _, fresh) = json_of(r).await;
    assert_eq!(s, StatusCode::CREATED, "{fresh}");
    assert_eq!(fresh["state"], "current");
    let fresh_kid = fresh["kid"].as_str().unwrap().to_owned();

    // Only the new key is published; it signs at once.
    assert_eq!(app.jwks_kids().await, std::slice::from_ref(&fresh_kid));
    assert_eq!(
        decode_jwt(&app.admin_token().await).0["kid"],
        fresh_kid.as_str()
    );
    // Tokens the compromised key signed are refused by Tollgate itself.
    let r = app
        .admin_with(&old_admin_token, Method::GET, "/keys", None)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.introspect(&old_client_token).await["active"], false);
    // The client just fetches a new token.
    let new_token = app.token(&id, &secret, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.introspect(&new_token).await["active"], true);

    let (_, _, keys) = json_of(app.admin(Method::GET, "/keys", None).await).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1, "{keys}");
    let (_, _, page) = json_of(app.admin(Method::GET, "/audit?limit=500", None).await).await;
    let events = page["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["action"] == "key.rotated"
            && e["kid"] == fresh_kid.as_str()
            && e["detail"].as_str().unwrap().contains("compromised")),
        "{page}"
    );
    assert!(
        events.iter().any(|e| e["action"] == "key.removed"
            && e["kid"] == old_kid.as_str()
            && e["detail"].as_str().unwrap().contains("compromised")),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compromised_key_is_refused_by_every_node() {
    if !crate::pg::required("a_compromised_key_is_refused_by_every_node") {
        return;
    }
    let (a, b) = two_nodes(&[("TOLLGATE_ISSUER", "http://localhost:9")]).await;
    let old_admin_token = b.admin_token().await;
    let (s, _, fresh) = json_of(
        a.admin(
            Method::POST,
            "/keys/rotate",
            Some(json!({"compromised": true})),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{fresh}");
    let (rb, t) = (&b, &old_admin_token);
    assert!(
        within_a_second(|| async move {
            rb.admin_with(t, Method::GET, "/keys", None).await.status() == StatusCode::UNAUTHORIZED
        })
        .await,
        "the other node refuses the compromised key's tokens within a second"
    );
    assert_eq!(b.jwks_kids().await, [fresh["kid"].as_str().unwrap()]);
    assert_eq!(b.introspect(&old_admin_token).await["active"], false);
    a.stop().await;
    b.stop().await;
}
