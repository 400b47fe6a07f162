//! `tollgate migrate`: applies the migrations and exits, creates the data directory privately
//! like `serve` does, and is idempotent. Runs in both passes.

use std::process::Command;

use crate::binary::BIN;
use crate::helpers::TestDir;

fn migrate(dir: &TestDir) -> (bool, String, String) {
    let out = Command::new(BIN)
        .arg("migrate")
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

#[test]
fn migrate_applies_the_schema_once_and_can_run_again() {
    let dir = TestDir::new();
    for _ in 0..2 {
        let (ok, out, err) = migrate(&dir);
        assert!(ok, "{err}");
        assert!(out.contains("up to date"), "{out}");
    }
    let data = dir
        .env()
        .into_iter()
        .find(|(k, _)| k == "TOLLGATE_DATA_DIR")
        .map(|(_, v)| v)
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "the data directory is private");
    }
}

#[test]
fn migrate_names_an_unreachable_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("migrate")
        .env_clear()
        .env("TOLLGATE_DATA_DIR", dir.path())
        .env(
            "TOLLGATE_DATABASE_URL",
            "postgres://tollgate:hunter2@127.0.0.1:1/tollgate",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("migration failed"), "{err}");
    assert!(
        !err.contains("hunter2"),
        "the password stays out of messages: {err}"
    );
}
