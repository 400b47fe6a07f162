//! Backups of an SQLite installation taken while it serves, and putting one back.
//!
//! A backup is `VACUUM INTO`: one consistent snapshot of the database, written by SQLite from a
//! read transaction, so the server goes on answering (and writing) throughout. It holds what
//! the database holds: clients with the keyed hashes of their secrets, the catalogue, and the
//! signing keys and secret-hashing key sealed with the key-encryption key. The key-encryption
//! key itself is not in it, and without it a backup cannot be used: keep the two apart.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0} exists already; choose a new file (a backup never overwrites one)")]
    Exists(PathBuf),
    #[error("{path} is not a Tollgate backup: {why}")]
    NotABackup { path: PathBuf, why: String },
    #[error(
        "{path} comes from a newer Tollgate (schema version {version}, this one knows up to \
         {known}); restore it with that release"
    )]
    Newer {
        path: PathBuf,
        version: i64,
        known: i64,
    },
    #[error(
        "the database {0} looks in use (its write-ahead log is not empty): stop the server \
         first, or pass --force if it is stopped and did not shut down cleanly"
    )]
    InUse(PathBuf),
}

/// What a backup holds, to show the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub path: PathBuf,
    pub bytes: u64,
    pub clients: i64,
    pub apis: i64,
    pub schema_version: i64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The database file a `sqlite://` URL names.
pub fn database_file(url: &str) -> Result<PathBuf, BackupError> {
    Ok(SqliteConnectOptions::from_str(url)?
        .get_filename()
        .to_owned())
}

async fn open(path: &Path, read_only: bool) -> Result<SqliteConnection, BackupError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(5));
    Ok(SqliteConnection::connect_with(&options).await?)
}

/// Writes a consistent copy of the database `url` names to `output` (a new file, mode 0600).
pub async fn backup(url: &str, output: &Path) -> Result<Summary, BackupError> {
    if output.exists() {
        return Err(BackupError::Exists(output.to_owned()));
    }
    let source = database_file(url)?;
    if !source.exists() {
        return Err(BackupError::NotABackup {
            path: source,
            why: "no database here (is the data directory or database_url right?)".into(),
        });
    }
    // Written beside the target and renamed into place: a crash leaves no half backup under
    // the name asked for.
    let partial = output.with_extension(format!("partial-{}", std::process::id()));
    let mut conn = open(&source, true).await?;
    let written = sqlx::query("VACUUM INTO ?")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e.into());
    }
    private(&partial)?;
    std::fs::rename(&partial, output).map_err(io(output))?;
    inspect(output).await
}

/// Checks that `path` is a sound Tollgate database this release can open, and says what it
/// holds.
pub async fn inspect(path: &Path) -> Result<Summary, BackupError> {
    let not = |why: String| BackupError::NotABackup {
        path: path.to_owned(),
        why,
    };
    if !path.is_file() {
        return Err(not("no such file".into()));
    }
    let mut conn = open(path, true)
        .await
        .map_err(|e| not(format!("cannot be opened as SQLite ({e})")))?;
    let result = async {
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| not(format!("not an SQLite database ({e})")))?;
        if check != "ok" {
            return Err(not(format!("integrity check failed: {check}")));
        }
        let version: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
                .fetch_one(&mut conn)
                .await
                .map_err(|_| not("it has no Tollgate schema".into()))?;
        let known = super::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        if version > known {
            return Err(BackupError::Newer {
                path: path.to_owned(),
                version,
                known,
            });
        }
        let clients: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients")
            .fetch_one(&mut conn)
            .await
            .map_err(|_| not("it has no clients table".into()))?;
        // The catalogue arrived with schema version 4.
        let apis: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM apis")
            .fetch_one(&mut conn)
            .await
            .unwrap_or(0);
        Ok((version, clients, apis))
    }
    .await;
    let _ = conn.close().await;
    let (schema_version, clients, apis) = result?;
    let bytes = std::fs::metadata(path).map_err(io(path))?.len();
    Ok(Summary {
        path: path.to_owned(),
        bytes,
        clients,
        apis,
        schema_version,
    })
}

/// Puts the backup `input` in place of the database `url` names. The server must be stopped:
/// a database whose write-ahead log is not empty is refused unless `force`. The database it
/// replaces is kept beside it, renamed `….before-restore-<unix time>`.
pub async fn restore(
    url: &str,
    input: &Path,
    force: bool,
    now: i64,
) -> Result<(Summary, Option<PathBuf>), BackupError> {
    let summary = inspect(input).await?;
    let target = database_file(url)?;
    let sidecar = |suffix: &str| {
        let mut name = target.clone().into_os_string();
        name.push(suffix);
        PathBuf::from(name)
    };
    let (wal, shm) = (sidecar("-wal"), sidecar("-shm"));
    let in_use = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
    if in_use && !force {
        return Err(BackupError::InUse(target));
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let partial = sidecar(".restoring");
    std::fs::copy(input, &partial).map_err(io(&partial))?;
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io(&partial))?;
    private(&partial)?;
    let kept = if target.exists() {
        let kept = sidecar(&format!(".before-restore-{now}"));
        std::fs::rename(&target, &kept).map_err(io(&target))?;
        Some(kept)
    } else {
        None
    };
    // The old database's log and index would be replayed into the restored file.
    for stale in [&wal, &shm] {
        match std::fs::remove_file(stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(stale)(e)),
            _ => {}
        }
    }
    std::fs::rename(&partial, &target).map_err(io(&target))?;
    Ok((
        Summary {
            path: target,
            ..summary
        },
        kept,
    ))
}

/// Owner-only: a backup holds secret hashes and sealed keys.
fn private(path: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io(path))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_backup_restores_and_bad_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("data/tollgate.db");
        let url = format!("sqlite://{}", db.display());
        let store = crate::store::SqliteStore::open(&url).await.unwrap();
        let out = dir.path().join("backup.db");
        let summary = backup(&url, &out).await.unwrap();
        assert_eq!((summary.clients, summary.apis), (0, 0));
        assert!(summary.schema_version >= 4);
        assert!(matches!(
            backup(&url, &out).await,
            Err(BackupError::Exists(_))
        ));
        // The server still has it open: its log is in use.
        let _ = sqlx::query("CREATE TABLE IF NOT EXISTS scratch (x)")
            .execute(&store.pool)
            .await;
        let restored = restore(&url, &out, false, 1).await;
        assert!(
            matches!(restored, Err(BackupError::InUse(_))),
            "{restored:?}"
        );
        store.close().await;
        let (done, kept) = restore(&url, &out, false, 1).await.unwrap();
        assert_eq!(done.path, db);
        assert!(kept.unwrap().exists(), "the replaced database is kept");
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"not a database").unwrap();
        assert!(matches!(
            restore(&url, &junk, true, 2).await,
            Err(BackupError::NotABackup { .. })
        ));
        assert!(matches!(
            inspect(&dir.path().join("missing")).await,
            Err(BackupError::NotABackup { .. })
        ));
    }
}
