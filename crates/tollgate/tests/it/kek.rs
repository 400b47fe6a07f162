//! Keys and secrets at rest: nothing in clear in the database, and the key-encryption key
//! (missing, wrong, rotated).

use base64::Engine;

use crate::helpers::TestApp;

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
