//! `tollgate backup` and `tollgate restore`: SQLite installations, offline from the admin API
//! (they work on the database file the configuration names).

use std::path::{Path, PathBuf};

use super::error::CliError;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, DatabaseUrl};
use crate::store::sqlite::backup::{self, Summary};

fn sqlite_url(config: Option<PathBuf>) -> Result<String, CliError> {
    let config = Config::load(config.as_deref())?;
    match config.database_url {
        DatabaseUrl::Sqlite(url) => Ok(url),
        DatabaseUrl::Postgres(_) => Err(CliError::BackupPostgres),
    }
}

fn describe(s: &Summary) -> String {
    format!(
        "{} ({} bytes, schema version {}, {} clients, {} APIs)",
        s.path.display(),
        s.bytes,
        s.schema_version,
        s.clients,
        s.apis
    )
}

pub async fn backup(config: Option<PathBuf>, output: &Path) -> Result<(), CliError> {
    let url = sqlite_url(config)?;
    let summary = backup::backup(&url, output).await?;
    println!("backup written: {}", describe(&summary));
    println!(
        "the key-encryption key is not in the backup: without it the backup cannot be used; \
         keep a copy of it apart from the backups"
    );
    Ok(())
}

pub async fn restore(config: Option<PathBuf>, input: &Path, force: bool) -> Result<(), CliError> {
    let url = sqlite_url(config)?;
    let now = SystemClock.now().0;
    let (summary, kept) = backup::restore(&url, input, force, now).await?;
    println!("restored: {}", describe(&summary));
    if let Some(kept) = kept {
        println!("the database it replaced is kept as {}", kept.display());
    }
    println!(
        "start the server with the key-encryption key the backup was made under; it applies \
         any newer migrations at start"
    );
    Ok(())
}
