//! Signing keys and instance keys (such as the secret-hashing key).

use sqlx::PgPool;
use zeroize::Zeroizing;

use super::notify;
use crate::clock::UnixTime;
use crate::store::rows;
use crate::store::{Change, StoreError, StoredKey};

pub(super) async fn signing_keys(pool: &PgPool) -> Result<Vec<StoredKey>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, kid, algorithm, private_key, created_at, activates_at \
         FROM signing_keys ORDER BY activates_at, seq",
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::signing_key).collect()
}

pub(super) async fn insert_signing_key(pool: &PgPool, key: &StoredKey) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO signing_keys (kid, algorithm, private_key, created_at, activates_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&key.kid)
    .bind(key.algorithm.as_str())
    .bind(key.private_key.as_slice())
    .bind(key.created_at.0)
    .bind(key.activates_at.0)
    .execute(&mut *tx)
    .await?;
    notify(&mut tx, Change::KEYS_PAYLOAD).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn set_signing_key_material(
    pool: &PgPool,
    kid: &str,
    sealed: &[u8],
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE signing_keys SET private_key = $1 WHERE kid = $2")
        .bind(sealed)
        .bind(kid)
        .execute(&mut *tx)
        .await?;
    notify(&mut tx, Change::KEYS_PAYLOAD).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn delete_signing_key(pool: &PgPool, kid: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
        .bind(kid)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() > 0 {
        notify(&mut tx, Change::KEYS_PAYLOAD).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn has_keys(pool: &PgPool) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM signing_keys) OR EXISTS (SELECT 1 FROM instance_keys)",
    )
    .fetch_one(pool)
    .await?)
}

pub(super) async fn instance_key(
    pool: &PgPool,
    name: &str,
    candidate: &[u8],
    now: UnixTime,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    sqlx::query(
        "INSERT INTO instance_keys (name, material, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(candidate)
    .bind(now.0)
    .execute(pool)
    .await?;
    let material: Vec<u8> =
        sqlx::query_scalar("SELECT material FROM instance_keys WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await?;
    Ok(Zeroizing::new(material))
}

pub(super) async fn set_instance_key(
    pool: &PgPool,
    name: &str,
    material: &[u8],
) -> Result<(), StoreError> {
    sqlx::query("UPDATE instance_keys SET material = $1 WHERE name = $2")
        .bind(material)
        .bind(name)
        .execute(pool)
        .await?;
    Ok(())
}
