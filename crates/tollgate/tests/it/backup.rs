//! `tollgate backup` while the server serves, and `tollgate restore` after it stopped: the
//! restored installation gives tokens to the clients the backup held, and only to them.

use std::process::Command;
use std::sync::Arc;

use reqwest::StatusCode;

use crate::binary::BIN;
use crate::helpers::{TestApp, TestDir};

fn tollgate(dir: &TestDir, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(dir.env())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_the_clients_it_held() {
    let dir = Arc::new(TestDir::new());
    let app = TestApp::spawn_in(dir.clone(), &[]).await;
    let file = dir.path().join("tollgate-backup.db");
    let output = file.to_str().unwrap();
    if dir.database().is_some() {
        // PostgreSQL is backed up with its own tools.
        let (ok, _, err) = tollgate(&dir, &["backup", "--output", output]);
        assert!(!ok && err.contains("pg_dump"), "{err}");
        return;
    }
    let (kept, kept_secret) = app.create_client("kept", &["reports:read"]).await;
    // Taken while the server is up and answering.
    let (ok, out, err) = {
        let dir = dir.clone();
        let output = output.to_owned();
        tokio::task::spawn_blocking(move || tollgate(&dir, &["backup", "--output", &output]))
            .await
            .unwrap()
    };
    assert!(ok, "{err}");
    assert!(
        out.contains("2 clients") && out.contains("key-encryption key"),
        "{out}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a backup is private");
    }
    let (again, _, err) = tollgate(&dir, &["backup", "--output", output]);
    assert!(!again && err.contains("exists already"), "{err}");
    let (later, later_secret) = app
        .create_client("after the backup", &["reports:read"])
        .await;
    // Not while the server runs.
    let (ok, _, err) = tollgate(&dir, &["restore", "--input", output]);
    assert!(!ok && err.contains("stop the server"), "{err}");
    app.stop().await;

    let (ok, out, err) = tollgate(&dir, &["restore", "--input", output]);
    assert!(ok, "{err}");
    assert!(out.contains("before-restore"), "{out}");
    let app = TestApp::spawn_in(dir.clone(), &[]).await;
    assert_eq!(app.try_token(&kept, &kept_secret).await.0, StatusCode::OK);
    assert_eq!(
        app.try_token(&later, &later_secret).await.0,
        StatusCode::UNAUTHORIZED,
        "a client created after the backup is not in it"
    );
    app.stop().await;

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let (ok, _, err) = tollgate(&dir, &["restore", "--input", junk.to_str().unwrap()]);
    assert!(!ok && err.contains("not a Tollgate backup"), "{err}");
}
