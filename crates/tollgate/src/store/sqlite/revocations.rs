//! The revocation feed: revoked tokens and deleted clients, in cursor order.

use sqlx::SqlitePool;

use crate::clock::UnixTime;
use crate::domain::revocation::{Revocation, RevocationEntry};
use crate::store::StoreError;
use crate::store::rows;

pub(super) async fn insert_revocation(
    pool: &SqlitePool,
    r: &Revocation,
    now: UnixTime,
) -> Result<i64, StoreError> {
    let (jti, exp, issued_before) = match r {
        Revocation::Token { jti, exp, .. } => (Some(jti.as_str()), Some(exp.0), None),
        Revocation::Client { issued_before, .. } => (None, None, Some(issued_before.0)),
    };
    let mut tx = pool.begin().await?;
    if let Some(before) = issued_before {
        // The new entry covers these, and one entry per client keeps the feed bounded.
        sqlx::query(
            "DELETE FROM revocations WHERE client_id = ? AND jti IS NULL AND issued_before <= ?",
        )
        .bind(r.client_id())
        .bind(before)
        .execute(&mut *tx)
        .await?;
    }
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO revocations (client_id, jti, exp, issued_before, prune_after, created_at) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING cursor",
    )
    .bind(r.client_id())
    .bind(jti)
    .bind(exp)
    .bind(issued_before)
    .bind(r.prune_after().0)
    .bind(now.0)
    .fetch_optional(&mut *tx)
    .await?;
    let cursor = match inserted {
        Some(cursor) => cursor,
        None => {
            sqlx::query_scalar("SELECT cursor FROM revocations WHERE jti = ?")
                .bind(jti)
                .fetch_one(&mut *tx)
                .await?
        }
    };
    tx.commit().await?;
    Ok(cursor)
}

pub(super) async fn revocations_since(
    pool: &SqlitePool,
    cursor: i64,
    limit: u32,
) -> Result<Vec<RevocationEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT cursor, client_id, jti, exp, issued_before FROM revocations \
         WHERE cursor > ? ORDER BY cursor LIMIT ?",
    )
    .bind(cursor)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::revocation).collect()
}

pub(super) async fn live_revocations(
    pool: &SqlitePool,
    now: UnixTime,
) -> Result<Vec<RevocationEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT cursor, client_id, jti, exp, issued_before FROM revocations \
         WHERE prune_after > ? ORDER BY cursor",
    )
    .bind(now.0)
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::revocation).collect()
}

pub(super) async fn prune_revocations(pool: &SqlitePool, now: UnixTime) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM revocations WHERE prune_after <= ?")
        .bind(now.0)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn revocation(
    pool: &SqlitePool,
    cursor: i64,
) -> Result<Option<RevocationEntry>, StoreError> {
    let row = sqlx::query(
        "SELECT cursor, client_id, jti, exp, issued_before FROM revocations WHERE cursor = ?",
    )
    .bind(cursor)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(rows::revocation).transpose()
}
