//! The key-encryption key at start: configured, or generated in the data directory on the
//! first start of a new SQLite installation.

use super::{BuildError, KEK_FILE};
use crate::clock::{Rng, random_bytes};
use crate::config::{Config, DatabaseUrl, KekMaterial};
use crate::keys::Kek;
use crate::service::StartError;
use crate::store::Store;

/// Where the key-encryption key comes from: the configuration, or the default file in the data
/// directory, generated on the first start of a new installation. An installation that has
/// keys but no key-encryption key refuses to start.
///
/// Nodes sharing a PostgreSQL database must all hold the same key-encryption key, and a file
/// each node generated in its own data directory would differ from node to node: on
/// PostgreSQL the key must be configured explicitly.
pub(super) async fn resolve_kek(
    config: &Config,
    store: &dyn Store,
    rng: &dyn Rng,
) -> Result<Kek, BuildError> {
    if let Some(m) = &config.kek {
        return Ok(Kek::new(&m.0));
    }
    if matches!(config.database_url, DatabaseUrl::Postgres(_)) {
        return Err(BuildError::Kek(
            "a PostgreSQL database is shared by every node, and every node must encrypt and \
             decrypt its keys with the same key-encryption key: set \
             TOLLGATE_KEY_ENCRYPTION_KEY_FILE (or TOLLGATE_KEY_ENCRYPTION_KEY) to the same \
             32-byte base64 key on every node (e.g. from `openssl rand -base64 32`), kept apart \
             from the database. Tollgate does not generate one in the data directory on \
             PostgreSQL, since each node would make a different one"
                .to_owned(),
        ));
    }
    let path = config.data_dir.join(KEK_FILE);
    if path.exists() {
        return KekMaterial::read_file(&path)
            .map(|m| Kek::new(&m.0))
            .map_err(BuildError::Kek);
    }
    if store.has_keys().await.map_err(StartError::from)? {
        return Err(BuildError::Kek(format!(
            "the database holds encrypted keys but no key-encryption key was found: set \
             TOLLGATE_KEY_ENCRYPTION_KEY_FILE (or TOLLGATE_KEY_ENCRYPTION_KEY) to the key this \
             installation was started with, or restore {}",
            path.display()
        )));
    }
    let material = zeroize::Zeroizing::new(random_bytes::<{ crate::keys::sealing::KEK_LEN }>(rng));
    use base64::Engine;
    let text = zeroize::Zeroizing::new(format!(
        "{}\n",
        base64::engine::general_purpose::STANDARD.encode(material.as_ref())
    ));
    write_private_file(&path, text.as_bytes())
        .map_err(|e| BuildError::Kek(format!("cannot write {}: {e}", path.display())))?;
    tracing::warn!(
        path = %path.display(),
        "generated a key-encryption key: it encrypts the signing keys and the secret-hashing key \
         in the database. Back it up apart from the database, or move it to a secret store and \
         point TOLLGATE_KEY_ENCRYPTION_KEY_FILE at it"
    );
    Ok(Kek::new(&material))
}

/// Creates `path` readable by its owner only (0600), failing if it exists.
fn write_private_file(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}
