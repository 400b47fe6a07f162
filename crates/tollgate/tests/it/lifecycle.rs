//! Credential and key lifecycle: secrets (last use, leaks, exports), signing-key rotation,
//! keys encrypted at rest, the audit trail.

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_ID, ADMIN_SECRET, TestApp, decode_jwt, json_of};

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app
        .http
        .get(app.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn audit_actions(app: &TestApp, client: Option<&str>) -> Vec<String> {
    let path = match client {
        Some(c) => format!("/audit?client_id={c}"),
        None => "/audit?limit=500".to_owned(),
    };
    let (s, _, page) = json_of(app.admin(Method::GET, &path, None).await).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

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
    assert_eq!(jwks_kids(&app).await, std::slice::from_ref(&key_a));

    // A day later the successor is announced: published, not signing.
    app.clock.advance(86_400);
    app.tollgate
        .rotate_keys_if_due(app.tollgate.now())
        .await
        .unwrap();
    let kids = jwks_kids(&app).await;
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
        jwks_kids(&app).await.contains(&key_a),
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
    let kids = jwks_kids(&app).await;
    assert!(!kids.contains(&key_a), "{kids:?}");
    assert!(kids.contains(&key_b));

    let actions = audit_actions(&app, None).await;
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
        audit_actions(&app, None)
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

#[tokio::test]
async fn last_use_is_recorded_without_a_write_per_request() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("c", &["a"]).await;
    let (_, _, c) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(c["secrets"][0]["last_used_at"], Value::Null);
    app.clock.advance(30);
    for _ in 0..3 {
        app.token(&id, &secret, &[]).await;
    }
    // Shown at once from memory, before it is written behind.
    let (_, _, c) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(c["secrets"][0]["last_used_at"], "2030-03-17T17:47:10Z");
    let written = app.tollgate.flush_secret_use().await.unwrap();
    assert!(written >= 1, "the admin client and this one were used");
    assert_eq!(
        app.tollgate.flush_secret_use().await.unwrap(),
        0,
        "nothing new to write"
    );
    // Survives a restart, so it was written to the database.
    let dir = app.dir.clone();
    app.stop().await;
    let app = TestApp::spawn_in(dir, &[]).await;
    let (_, _, c) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert_eq!(c["secrets"][0]["last_used_at"], "2030-03-17T17:47:10Z");
}

#[tokio::test]
async fn a_leaked_secret_is_found_disabled_and_its_tokens_revoked() {
    let app = TestApp::spawn().await;
    let (id, leaked) = app.create_client("leaky", &["a"]).await;
    let (_, _, added) = json_of(
        app.admin(Method::POST, &format!("/clients/{id}/secrets"), None)
            .await,
    )
    .await;
    let spare = added["client_secret"].as_str().unwrap().to_owned();
    let token = app.token(&id, &leaked, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = app
        .admin(
            Method::POST,
            "/secrets/leaked",
            Some(json!({"secret": leaked})),
        )
        .await;
    let (s, _, report) = json_of(r).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["client_id"], id.as_str());
    assert_eq!(report["client_name"], "leaky");
    assert_eq!(report["already_disabled"], false);
    assert_eq!(report["tokens_revoked"], true);

    let r = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some((&id, &leaked)),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the leaked secret is refused"
    );
    let r = app
        .post_form(
            "/oauth2/introspect",
            &[("token", &token)],
            (ADMIN_ID, ADMIN_SECRET),
        )
        .await;
    assert_eq!(
        json_of(r).await.2,
        json!({"active": false}),
        "tokens it may have got are revoked"
    );
    app.clock.advance(1);
    app.token(&id, &spare, &[]).await;

    let (_, _, c) = json_of(
        app.admin(Method::GET, &format!("/clients/{id}"), None)
            .await,
    )
    .await;
    assert!(
        c["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["disabled_at"].is_string())
    );
    let r = app
        .admin(
            Method::POST,
            "/secrets/leaked",
            Some(json!({"secret": leaked})),
        )
        .await;
    assert_eq!(json_of(r).await.2["already_disabled"], true);

    let mut wrong = leaked.clone();
    wrong.replace_range(10..11, if &leaked[10..11] == "0" { "1" } else { "0" });
    let (s, _, b) = json_of(
        app.admin(
            Method::POST,
            "/secrets/leaked",
            Some(json!({"secret": wrong})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("not_a_tollgate_secret"))
    );
    let unknown = {
        let other = TestApp::spawn().await;
        other.create_client("elsewhere", &[]).await.1
    };
    let (s, _, b) = json_of(
        app.admin(
            Method::POST,
            "/secrets/leaked",
            Some(json!({"secret": unknown})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("secret_not_found"))
    );
    assert!(
        audit_actions(&app, Some(&id))
            .await
            .contains(&"secret.leaked_disabled".to_owned())
    );
}

#[tokio::test]
async fn credentials_export_as_env_and_postman() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let r = app
        .http
        .post(app.url("/admin/v1/clients?format=env"))
        .bearer_auth(&admin)
        .json(&json!({"name": "Report exporter", "scopes": ["reports:export"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/x-dotenv")
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("report-exporter.env")
    );
    let env = r.text().await.unwrap();
    let var = |name: &str| -> String {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .trim_matches('"')
            .to_owned()
    };
    assert_eq!(
        var("OAUTH_TOKEN_URL"),
        format!("{}/oauth2/token", app.issuer)
    );
    assert_eq!(var("OAUTH_ISSUER"), app.issuer);
    assert_eq!(var("OAUTH_SCOPE"), "reports:export");
    // The exported credentials work.
    let t = app
        .token(&var("OAUTH_CLIENT_ID"), &var("OAUTH_CLIENT_SECRET"), &[])
        .await;
    assert_eq!(t["scope"], "reports:export");

    // Rotation time, as a Postman environment chosen by the Accept header.
    let id = var("OAUTH_CLIENT_ID");
    let r = app
        .http
        .post(app.url(&format!("/admin/v1/clients/{id}/secrets")))
        .bearer_auth(&admin)
        .header("accept", "application/vnd.postman.environment+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let postman: Value = r.json().await.unwrap();
    assert_eq!(postman["_postman_variable_scope"], "environment");
    let value = |k: &str| {
        postman["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == k)
            .unwrap()["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(value("client_id"), id);
    assert_eq!(value("token_url"), format!("{}/oauth2/token", app.issuer));
    app.token(&id, &value("client_secret"), &[]).await;

    let r = app
        .http
        .post(app.url("/admin/v1/clients?format=xml"))
        .bearer_auth(&admin)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_audit_trail_records_who_did_what() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_client("audited", &["a"]).await;
    app.admin(
        Method::PATCH,
        &format!("/clients/{id}"),
        Some(json!({"name": "renamed"})),
    )
    .await;
    let (_, _, added) = json_of(
        app.admin(
            Method::POST,
            &format!("/clients/{id}/secrets"),
            Some(json!({"expires_at": "2030-03-17T18:00:00Z"})),
        )
        .await,
    )
    .await;
    let sid = added["secret"]["secret_id"].as_str().unwrap().to_owned();
    app.clock.advance(3600);
    app.tollgate
        .record_expired_secrets(app.tollgate.now())
        .await
        .unwrap();
    app.admin(
        Method::DELETE,
        &format!("/clients/{id}/secrets/{sid}"),
        None,
    )
    .await;
    app.admin(Method::DELETE, &format!("/clients/{id}"), None)
        .await;
    assert_eq!(
        audit_actions(&app, Some(&id)).await,
        [
            "client.created",
            "client.updated",
            "secret.added",
            "secret.expired",
            "secret.removed",
            "client.deleted"
        ]
    );
    let (_, _, page) = json_of(
        app.admin(Method::GET, &format!("/audit?client_id={id}&limit=2"), None)
            .await,
    )
    .await;
    let first = &page["events"][0];
    assert_eq!(first["actor"], ADMIN_ID);
    assert_eq!(first["at"], "2030-03-17T17:46:40Z");
    assert!(page["next_cursor"].is_i64());
    let (_, _, rest) = json_of(
        app.admin(
            Method::GET,
            &format!("/audit?client_id={id}&cursor={}", page["next_cursor"]),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(rest["events"].as_array().unwrap().len(), 4);
    let expired = &rest["events"][1];
    assert_eq!(expired["actor"], "tollgate");
    assert_eq!(expired["secret_id"], sid.as_str());
}

fn db_bytes(app: &TestApp) -> Vec<u8> {
    if let Some(db) = app.dir.database() {
        return pg_bytes(&db.url);
    }
    // The WAL holds recent writes: read both files as an attacker with a copy would.
    let data = app.dir.path().join("data");
    let mut bytes = std::fs::read(data.join("tollgate.db")).unwrap();
    if let Ok(wal) = std::fs::read(data.join("tollgate.db-wal")) {
        bytes.extend(wal);
    }
    bytes
}

/// Every stored value of every Tollgate table, as an attacker with a dump would see it: byte
/// columns raw, every row also as text.
fn pg_bytes(url: &str) -> Vec<u8> {
    let url = url.to_owned();
    crate::pg::block_on(async move {
        use sqlx::{Connection, Row};
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut out = Vec::new();
        for q in [
            "SELECT private_key FROM signing_keys",
            "SELECT material FROM instance_keys",
            "SELECT secret_hash FROM client_secrets",
        ] {
            for row in sqlx::query(q).fetch_all(&mut conn).await.unwrap() {
                out.extend(row.get::<Vec<u8>, _>(0));
            }
        }
        for table in [
            "clients",
            "client_secrets",
            "signing_keys",
            "instance_keys",
            "meta",
            "revocations",
            "audit_events",
        ] {
            let q = format!("SELECT t::text FROM {table} t");
            for row in sqlx::query(sqlx::AssertSqlSafe(q))
                .fetch_all(&mut conn)
                .await
                .unwrap()
            {
                out.extend(row.get::<String, _>(0).into_bytes());
            }
        }
        let _ = conn.close().await;
        out
    })
}

#[tokio::test]
async fn the_database_holds_no_private_key_or_secret_in_clear() {
    let app = TestApp::spawn_with(&[("TOLLGATE_EXTRA_SIGNING_ALGORITHMS", "EdDSA,RS256")]).await;
    let (_, secret) = app.create_client("c", &["a"]).await;
    let bytes = db_bytes(&app);
    for s in [secret.as_str(), crate::helpers::ADMIN_SECRET] {
        assert!(
            !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
            "a client secret is in the file"
        );
    }
    // A PKCS#8 private key starts with SEQUENCE, INTEGER version, then the algorithm's OID.
    // Look for the OIDs of every algorithm: they appear in a DER private key, never in a
    // sealed one.
    let oids: [(&str, &[u8]); 3] = [
        ("P-256", &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
        ("Ed25519", &[0x06, 0x03, 0x2b, 0x65, 0x70]),
        (
            "RSA",
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
        ),
    ];
    for (name, oid) in oids {
        assert!(
            !bytes.windows(oid.len()).any(|w| w == oid),
            "a {name} private key is in clear"
        );
    }
    // The key-encryption key is apart from the database (with SQLite, generated beside it,
    // 0600), and not in it.
    let kek_path = app.dir.kek_path();
    let kek_text = std::fs::read_to_string(&kek_path).unwrap();
    let kek = base64::engine::general_purpose::STANDARD
        .decode(kek_text.trim())
        .unwrap();
    assert_eq!(kek.len(), 32);
    assert!(!bytes.windows(32).any(|w| w == kek.as_slice()));
    assert!(
        !bytes
            .windows(kek_text.trim().len())
            .any(|w| w == kek_text.trim().as_bytes())
    );
    if app.dir.database().is_none() {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&kek_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[tokio::test]
async fn a_missing_or_wrong_key_encryption_key_stops_startup() {
    let app = TestApp::spawn().await;
    let dir = app.dir.clone();
    app.stop().await;
    let kek_path = dir.kek_path();
    let original = std::fs::read_to_string(&kek_path).unwrap();

    std::fs::remove_file(&kek_path).unwrap();
    let err = crate::helpers::try_spawn_in(dir.clone(), &[])
        .await
        .unwrap_err();
    if dir.database().is_some() {
        // PostgreSQL: never a generated key, whatever the database holds.
        assert!(err.contains("same key-encryption key"), "{err}");
    } else {
        assert!(err.contains("no key-encryption key was found"), "{err}");
    }

    let wrong = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let err = crate::helpers::try_spawn_in(dir.clone(), &[("TOLLGATE_KEY_ENCRYPTION_KEY", &wrong)])
        .await
        .unwrap_err();
    assert!(err.contains("another key-encryption key"), "{err}");

    // Rotating the key-encryption key: the new one, with the previous one beside it for one
    // start, re-encrypts everything; after that the new one alone suffices.
    let app = crate::helpers::try_spawn_in(
        dir.clone(),
        &[
            ("TOLLGATE_KEY_ENCRYPTION_KEY", &wrong),
            ("TOLLGATE_PREVIOUS_KEY_ENCRYPTION_KEY", original.trim()),
        ],
    )
    .await
    .unwrap();
    app.admin_token().await;
    app.stop().await;
    let app = crate::helpers::try_spawn_in(dir.clone(), &[("TOLLGATE_KEY_ENCRYPTION_KEY", &wrong)])
        .await
        .unwrap();
    app.admin_token().await;
    app.stop().await;
    let err =
        crate::helpers::try_spawn_in(dir, &[("TOLLGATE_KEY_ENCRYPTION_KEY", original.trim())])
            .await
            .unwrap_err();
    assert!(
        err.contains("another key-encryption key"),
        "the old key no longer opens them: {err}"
    );
}

/// Two nodes on one PostgreSQL database, in this process, each with its own test clock.
async fn two_nodes(settings: &[(&str, &str)]) -> (TestApp, TestApp) {
    let a = TestApp::spawn_with(settings).await;
    let b = TestApp::spawn_in(a.dir.clone(), settings).await;
    (a, b)
}

async fn signing_kid(app: &TestApp) -> String {
    decode_jwt(&app.admin_token().await).0["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Polls `check` for up to a second (the cluster's propagation bound).
async fn within_a_second<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
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
    let key_a = signing_kid(&a).await;
    assert_eq!(
        signing_kid(&b).await,
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
    let generated = audit_actions(&a, None)
        .await
        .iter()
        .filter(|a| *a == "key.generated")
        .count();
    assert_eq!(generated, 1, "recorded once, by the node that generated it");
    let (ra, rb, kb_ref) = (&a, &b, &key_b);
    assert!(
        within_a_second(|| async move {
            let (mut ka, mut kb) = (jwks_kids(ra).await, jwks_kids(rb).await);
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
    assert_eq!(signing_kid(&a).await, key_b);
    assert_eq!(signing_kid(&b).await, key_b);

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
        within_a_second(|| async move { signing_kid(ra).await == *kc }).await,
        "the other node signs with the new key within a second"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_secret_is_refused_by_every_node() {
    if !crate::pg::required("a_leaked_secret_is_refused_by_every_node") {
        return;
    }
    let (a, b) = two_nodes(&[]).await;
    let (id, secret) = a.create_client("c", &["a"]).await;
    let (rb, rid, rsecret) = (&b, id.as_str(), secret.as_str());
    assert!(
        within_a_second(|| async move {
            rb.token_form(
                &[("grant_type", "client_credentials")],
                Some((rid, rsecret)),
            )
            .await
            .status()
                == StatusCode::OK
        })
        .await
    );
    let (s, _, body) = json_of(
        a.admin(
            Method::POST,
            "/secrets/leaked",
            Some(json!({"secret": secret})),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        within_a_second(|| async move {
            rb.token_form(
                &[("grant_type", "client_credentials")],
                Some((rid, rsecret)),
            )
            .await
            .status()
                == StatusCode::UNAUTHORIZED
        })
        .await,
        "the other node refuses the disabled secret within a second"
    );
    a.stop().await;
    b.stop().await;
}
