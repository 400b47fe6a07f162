//! Clients and their secrets.

// Only the constant CLIENT_COLUMNS is ever interpolated into SQL; values are bound.
use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction};

use super::{map_unique, notify_client};
use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::client::{Client, ClientId, SecretId, SecretInfo};
use crate::domain::secret::SecretHash;
use crate::store::rows::{self, CLIENT_COLUMNS};
use crate::store::{ListCursor, SecretOwner, StoreError};

pub(super) async fn insert_client(pool: &PgPool, client: &Client) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO clients (client_id, name, description, scopes, access_token_lifetime, \
         signing_algorithm, tenants, claims, scopes_locked, created_at, updated_at, \
         quota_tokens, quota_per, quota_mode) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(client.id.as_str())
    .bind(client.name.as_str())
    .bind(client.description.as_str())
    .bind(client.scopes.to_delimited())
    .bind(rows::lifetime_param(client))
    .bind(client.signing_algorithm.map(Algorithm::as_str))
    .bind(rows::tenants_param(client))
    .bind(client.claims.as_ref().map(|c| c.as_json()))
    .bind(client.scopes_locked)
    .bind(client.created_at.0)
    .bind(client.updated_at.0)
    .bind(rows::quota_params(client).0)
    .bind(rows::quota_params(client).1)
    .bind(rows::quota_params(client).2)
    .execute(&mut *tx)
    .await
    .map_err(map_unique)?;
    for secret in &client.secrets {
        insert_secret_row(&mut tx, &client.id, secret).await?;
    }
    notify_client(&mut tx, &client.id).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn get_client(pool: &PgPool, id: &ClientId) -> Result<Option<Client>, StoreError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {CLIENT_COLUMNS} FROM clients c \
         LEFT JOIN client_secrets s ON s.client_id = c.client_id \
         WHERE c.client_id = $1 ORDER BY s.created_at, s.secret_id"
    )))
    .bind(id.as_str())
    .fetch_all(pool)
    .await?;
    Ok(rows::clients(rows)?.into_iter().next())
}

pub(super) async fn list_clients(
    pool: &PgPool,
    after: Option<&ListCursor>,
    limit: u32,
    search: Option<&str>,
) -> Result<Vec<Client>, StoreError> {
    let (after_time, after_id) = match after {
        Some(c) => (c.created_at.0, c.client_id.as_str().to_owned()),
        None => (i64::MIN, String::new()),
    };
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {CLIENT_COLUMNS} FROM \
           (SELECT * FROM clients WHERE (created_at, client_id) > ($1, $2) \
              AND ($4::text IS NULL OR lower(name) LIKE lower($4) OR client_id LIKE $4) \
            ORDER BY created_at, client_id LIMIT $3) c \
         LEFT JOIN client_secrets s ON s.client_id = c.client_id \
         ORDER BY c.created_at, c.client_id, s.created_at, s.secret_id"
    )))
    .bind(after_time)
    .bind(after_id)
    .bind(i64::from(limit))
    .bind(search.map(super::super::contains_pattern))
    .fetch_all(pool)
    .await?;
    rows::clients(rows)
}

pub(super) async fn update_client(pool: &PgPool, client: &Client) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE clients SET name = $1, description = $2, scopes = $3, \
         access_token_lifetime = $4, signing_algorithm = $5, tenants = $6, claims = $7, \
         scopes_locked = $8, updated_at = $9, quota_tokens = $11, quota_per = $12, \
         quota_mode = $13 WHERE client_id = $10",
    )
    .bind(client.name.as_str())
    .bind(client.description.as_str())
    .bind(client.scopes.to_delimited())
    .bind(rows::lifetime_param(client))
    .bind(client.signing_algorithm.map(Algorithm::as_str))
    .bind(rows::tenants_param(client))
    .bind(client.claims.as_ref().map(|c| c.as_json()))
    .bind(client.scopes_locked)
    .bind(client.updated_at.0)
    .bind(client.id.as_str())
    .bind(rows::quota_params(client).0)
    .bind(rows::quota_params(client).1)
    .bind(rows::quota_params(client).2)
    .execute(&mut *tx)
    .await
    .map_err(map_unique)?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    notify_client(&mut tx, &client.id).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn delete_client(pool: &PgPool, id: &ClientId) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    notify_client(&mut tx, id).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn insert_secret(
    pool: &PgPool,
    client: &ClientId,
    secret: &SecretInfo,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    // Locks the client row, so a concurrent delete waits for this insert or wins first.
    let exists = sqlx::query("SELECT 1 FROM clients WHERE client_id = $1 FOR UPDATE")
        .bind(client.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !exists {
        return Ok(false);
    }
    insert_secret_row(&mut tx, client, secret).await?;
    notify_client(&mut tx, client).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn delete_secret(
    pool: &PgPool,
    client: &ClientId,
    secret: &SecretId,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query("DELETE FROM client_secrets WHERE client_id = $1 AND secret_id = $2")
        .bind(client.as_str())
        .bind(secret.as_str())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    notify_client(&mut tx, client).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn find_secret(
    pool: &PgPool,
    hash: &SecretHash,
) -> Result<Option<SecretOwner>, StoreError> {
    let row = sqlx::query(
        "SELECT s.client_id, c.name, s.secret_id, s.disabled_at FROM client_secrets s \
         JOIN clients c ON c.client_id = s.client_id WHERE s.secret_hash = $1",
    )
    .bind(hash.0.as_slice())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(rows::secret_owner).transpose()
}

pub(super) async fn disable_secret(
    pool: &PgPool,
    client: &ClientId,
    secret: &SecretId,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE client_secrets SET disabled_at = $1 \
         WHERE client_id = $2 AND secret_id = $3 AND disabled_at IS NULL",
    )
    .bind(now.0)
    .bind(client.as_str())
    .bind(secret.as_str())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    // The client's usable secrets changed: every node drops the disabled one.
    notify_client(&mut tx, client).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn record_secret_use(
    pool: &PgPool,
    uses: &[(SecretHash, UnixTime)],
) -> Result<(), StoreError> {
    if uses.is_empty() {
        return Ok(());
    }
    let hashes: Vec<&[u8]> = uses.iter().map(|(hash, _)| &hash.0[..]).collect();
    let times: Vec<i64> = uses.iter().map(|(_, at)| at.0).collect();
    // One statement for the whole batch; several nodes write behind the same secrets, and
    // a time never moves backwards.
    sqlx::query(
        "UPDATE client_secrets s SET last_used_at = u.at \
         FROM (SELECT h, max(at) AS at FROM unnest($1::bytea[], $2::bigint[]) AS x(h, at) \
               GROUP BY h) u \
         WHERE s.secret_hash = u.h AND (s.last_used_at IS NULL OR s.last_used_at < u.at)",
    )
    .bind(hashes)
    .bind(times)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn client_names(
    pool: &PgPool,
    ids: &[ClientId],
) -> Result<Vec<(ClientId, String)>, StoreError> {
    let list: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
    let rows = sqlx::query("SELECT client_id, name FROM clients WHERE client_id = ANY($1)")
        .bind(list)
        .fetch_all(pool)
        .await?;
    rows.iter().map(rows::client_name).collect()
}

pub(super) async fn take_expired_secrets(
    pool: &PgPool,
    now: UnixTime,
) -> Result<Vec<(String, String, UnixTime)>, StoreError> {
    // One statement: a row is marked and returned by exactly one node, however many run
    // this at once (the second waits for the first's row locks, then finds it marked).
    let rows = sqlx::query(
        "UPDATE client_secrets SET expiry_recorded = TRUE \
         WHERE expires_at <= $1 AND NOT expiry_recorded \
         RETURNING client_id, secret_id, expires_at",
    )
    .bind(now.0)
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::expired_secret).collect()
}

async fn insert_secret_row(
    tx: &mut Transaction<'_, Postgres>,
    client: &ClientId,
    secret: &SecretInfo,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO client_secrets (secret_id, client_id, secret_hash, created_at, expires_at, \
         last_used_at, disabled_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(secret.id.as_str())
    .bind(client.as_str())
    .bind(secret.hash.0.as_slice())
    .bind(secret.created_at.0)
    .bind(secret.expires_at.map(|t| t.0))
    .bind(secret.last_used_at.map(|t| t.0))
    .bind(secret.disabled_at.map(|t| t.0))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
