//! Signing keys and instance keys (such as the secret-hashing key).

use sqlx::SqlitePool;
use zeroize::Zeroizing;

use crate::clock::UnixTime;
use crate::store::rows;
use crate::store::{StoreError, StoredKey};

pub(super) async fn signing_keys(pool: &SqlitePool) -> Result<Vec<StoredKey>, StoreError> {
    let rows = sqlx::query(
        "SELECT rowid AS seq, kid, algorithm, private_key, created_at, activates_at \
         FROM signing_keys ORDER BY activates_at, rowid",
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::signing_key).collect()
}

pub(super) async fn insert_signing_key(
    pool: &SqlitePool,
    key: &StoredKey,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, algorithm, private_key, created_at, activates_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&key.kid)
    .bind(key.algorithm.as_str())
    .bind(key.private_key.as_slice())
    .bind(key.created_at.0)
    .bind(key.activates_at.0)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn set_signing_key_material(
    pool: &SqlitePool,
    kid: &str,
    sealed: &[u8],
) -> Result<(), StoreError> {
    sqlx::query("UPDATE signing_keys SET private_key = ? WHERE kid = ?")
        .bind(sealed)
        .bind(kid)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn delete_signing_key(pool: &SqlitePool, kid: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM signing_keys WHERE kid = ?")
        .bind(kid)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn has_keys(pool: &SqlitePool) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM signing_keys) + (SELECT COUNT(*) FROM instance_keys)",
    )
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

pub(super) async fn instance_key(
    pool: &SqlitePool,
    name: &str,
    candidate: &[u8],
    now: UnixTime,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    sqlx::query(
        "INSERT INTO instance_keys (name, material, created_at) VALUES (?, ?, ?) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(candidate)
    .bind(now.0)
    .execute(pool)
    .await?;
    let material: Vec<u8> = sqlx::query_scalar("SELECT material FROM instance_keys WHERE name = ?")
        .bind(name)
        .fetch_one(pool)
        .await?;
    Ok(Zeroizing::new(material))
}

pub(super) async fn set_instance_key(
    pool: &SqlitePool,
    name: &str,
    material: &[u8],
) -> Result<(), StoreError> {
    sqlx::query("UPDATE instance_keys SET material = ? WHERE name = ?")
        .bind(material)
        .bind(name)
        .execute(pool)
        .await?;
    Ok(())
}
