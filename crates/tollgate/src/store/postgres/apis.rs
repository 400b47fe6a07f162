//! The catalogue: APIs and their permissions. Mirrors `sqlite/apis.rs`.

// Only the constant API_COLUMNS is ever interpolated into SQL; values are bound.
use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction};

use super::{notify, notify_client};
use crate::domain::algorithm::Algorithm;
use crate::domain::api::{Api, ApiId};
use crate::store::Change;
use crate::store::rows::{self, API_COLUMNS};
use crate::store::{ScopeChange, StoreError};

/// Which of an API's unique constraints a violation concerns.
fn map_conflict(e: sqlx::Error) -> StoreError {
    if let Some(db) = e.as_database_error()
        && db.is_unique_violation()
    {
        match db.constraint() {
            Some("apis_identifier_key") => return StoreError::ApiConflict("identifier"),
            Some("apis_name_key") => return StoreError::ApiConflict("name"),
            Some("api_permissions_pkey") => return StoreError::ApiConflict("permissions"),
            Some("apis_pkey") => return StoreError::ApiConflict("api_id"),
            _ => {}
        }
    }
    StoreError::Database(e)
}

pub(super) async fn list_apis(pool: &PgPool) -> Result<Vec<Api>, StoreError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {API_COLUMNS} FROM apis a \
         LEFT JOIN api_permissions p ON p.api_id = a.api_id \
         ORDER BY a.created_at, a.api_id, p.position"
    )))
    .fetch_all(pool)
    .await?;
    rows::apis(rows)
}

pub(super) async fn insert_api(pool: &PgPool, api: &Api) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO apis (api_id, identifier, name, description, access_token_lifetime, \
         signing_algorithm, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(api.id.as_str())
    .bind(api.identifier.as_str())
    .bind(api.name.as_str())
    .bind(api.description.as_str())
    .bind(rows::api_lifetime_param(api))
    .bind(api.signing_algorithm.map(Algorithm::as_str))
    .bind(api.created_at.0)
    .bind(api.updated_at.0)
    .execute(&mut *tx)
    .await
    .map_err(map_conflict)?;
    insert_permissions(&mut tx, api).await?;
    notify(&mut tx, Change::CATALOGUE_PAYLOAD).await?;
    tx.commit().await?;
    Ok(())
}

async fn insert_permissions(
    tx: &mut Transaction<'static, Postgres>,
    api: &Api,
) -> Result<(), StoreError> {
    for (position, p) in api.permissions.iter().enumerate() {
        sqlx::query(
            "INSERT INTO api_permissions (value, api_id, description, position) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(p.value.as_str())
        .bind(api.id.as_str())
        .bind(&p.description)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .execute(&mut **tx)
        .await
        .map_err(map_conflict)?;
    }
    Ok(())
}

async fn take_scopes(
    tx: &mut Transaction<'static, Postgres>,
    taken: &[ScopeChange],
) -> Result<(), StoreError> {
    for change in taken {
        sqlx::query("UPDATE clients SET scopes = $1, updated_at = $2 WHERE client_id = $3")
            .bind(change.scopes.to_delimited())
            .bind(change.updated_at.0)
            .bind(change.client_id.as_str())
            .execute(&mut **tx)
            .await?;
        notify_client(tx, &change.client_id).await?;
    }
    Ok(())
}

pub(super) async fn update_api(
    pool: &PgPool,
    api: &Api,
    taken: &[ScopeChange],
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE apis SET identifier = $1, name = $2, description = $3, access_token_lifetime = $4, \
         signing_algorithm = $5, updated_at = $6 WHERE api_id = $7",
    )
    .bind(api.identifier.as_str())
    .bind(api.name.as_str())
    .bind(api.description.as_str())
    .bind(rows::api_lifetime_param(api))
    .bind(api.signing_algorithm.map(Algorithm::as_str))
    .bind(api.updated_at.0)
    .bind(api.id.as_str())
    .execute(&mut *tx)
    .await
    .map_err(map_conflict)?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM api_permissions WHERE api_id = $1")
        .bind(api.id.as_str())
        .execute(&mut *tx)
        .await?;
    insert_permissions(&mut tx, api).await?;
    take_scopes(&mut tx, taken).await?;
    notify(&mut tx, Change::CATALOGUE_PAYLOAD).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn delete_api(
    pool: &PgPool,
    id: &ApiId,
    taken: &[ScopeChange],
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query("DELETE FROM apis WHERE api_id = $1")
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    take_scopes(&mut tx, taken).await?;
    notify(&mut tx, Change::CATALOGUE_PAYLOAD).await?;
    tx.commit().await?;
    Ok(true)
}
