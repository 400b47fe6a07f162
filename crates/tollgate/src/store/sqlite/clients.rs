//! Clients and their secrets.

// Only the constant CLIENT_COLUMNS is ever interpolated into SQL; values are bound.
use sqlx::{AssertSqlSafe, SqlitePool};

use super::{begin_write, map_unique};
use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::client::{Client, ClientId, SecretId, SecretInfo};
use crate::domain::secret::SecretHash;
use crate::store::rows::{self, CLIENT_COLUMNS};
use crate::store::{ListCursor, SecretOwner, StoreError};

pub(super) async fn insert_client(pool: &SqlitePool, client: &Client) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO clients (client_id, name, description, scopes, access_token_lifetime, \
         signing_algorithm, tenants, claims, scopes_locked, created_at, updated_at, \
         quota_tokens, quota_per, quota_mode) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    tx.commit().await?;
    Ok(())
}

pub(super) async fn get_client(
    pool: &SqlitePool,
    id: &ClientId,
) -> Result<Option<Client>, StoreError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {CLIENT_COLUMNS} FROM clients c \
         LEFT JOIN client_secrets s ON s.client_id = c.client_id \
         WHERE c.client_id = ? ORDER BY s.created_at, s.secret_id"
    )))
    .bind(id.as_str())
    .fetch_all(pool)
    .await?;
    Ok(rows::clients(rows)?.into_iter().next())
}

pub(super) async fn list_clients(
    pool: &SqlitePool,
    after: Option<&ListCursor>,
    limit: u32,
    search: Option<&str>,
) -> Result<Vec<Client>, StoreError> {
    let (after_time, after_id) = match after {
        Some(c) => (c.created_at.0, c.client_id.as_str().to_owned()),
        None => (i64::MIN, String::new()),
    };
    // A search that few clients match is answered from the trigram index: it names the
    // candidates, and the page is read among them. One that many match is answered by reading
    // the clients in order, which finds a page of matches after a few rows.
    let candidates = match search {
        Some(q) if q.chars().count() >= 3 => few_matches(pool, q).await?,
        _ => None,
    };
    let filter = if candidates.is_some() {
        "c0.client_id IN (SELECT value FROM json_each(?))"
    } else {
        "(? IS NULL OR instr(lower(name), lower(?)) > 0 OR instr(client_id, ?) > 0)"
    };
    let query = format!(
        "SELECT {CLIENT_COLUMNS} FROM \
           (SELECT * FROM clients c0 WHERE (created_at, client_id) > (?, ?) AND {filter} \
            ORDER BY created_at, client_id LIMIT ?) c \
         LEFT JOIN client_secrets s ON s.client_id = c.client_id \
         ORDER BY c.created_at, c.client_id, s.created_at, s.secret_id"
    );
    let mut q = sqlx::query(AssertSqlSafe(query))
        .bind(after_time)
        .bind(after_id);
    q = match &candidates {
        Some(ids) => q.bind(serde_json::Value::from(ids.clone()).to_string()),
        None => q.bind(search).bind(search).bind(search),
    };
    let rows = q.bind(i64::from(limit)).fetch_all(pool).await?;
    rows::clients(rows)
}

/// How many candidates the trigram index may name before reading in order is the cheaper way.
const FEW: i64 = 1_000;

/// The ids of the clients whose name or id contains `q`, if there are at most [`FEW`].
async fn few_matches(pool: &SqlitePool, q: &str) -> Result<Option<Vec<String>>, StoreError> {
    // An FTS5 string is a phrase: the text in double quotes, quotes doubled.
    let phrase = format!("\"{}\"", q.replace('"', "\"\""));
    let ids: Vec<(String,)> =
        sqlx::query_as("SELECT client_id FROM clients_search WHERE clients_search MATCH ? LIMIT ?")
            .bind(phrase)
            .bind(FEW + 1)
            .fetch_all(pool)
            .await?;
    Ok((ids.len() as i64 <= FEW).then(|| ids.into_iter().map(|(id,)| id).collect()))
}

pub(super) async fn update_client(pool: &SqlitePool, client: &Client) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE clients SET name = ?, description = ?, scopes = ?, \
         access_token_lifetime = ?, signing_algorithm = ?, tenants = ?, claims = ?, \
         scopes_locked = ?, updated_at = ?, quota_tokens = ?, quota_per = ?, quota_mode = ? \
         WHERE client_id = ?",
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
    .bind(rows::quota_params(client).0)
    .bind(rows::quota_params(client).1)
    .bind(rows::quota_params(client).2)
    .bind(client.id.as_str())
    .execute(pool)
    .await
    .map_err(map_unique)?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn delete_client(pool: &SqlitePool, id: &ClientId) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM clients WHERE client_id = ?")
        .bind(id.as_str())
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn insert_secret(
    pool: &SqlitePool,
    client: &ClientId,
    secret: &SecretInfo,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    let exists = sqlx::query("SELECT 1 FROM clients WHERE client_id = ?")
        .bind(client.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !exists {
        return Ok(false);
    }
    insert_secret_row(&mut tx, client, secret).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn delete_secret(
    pool: &SqlitePool,
    client: &ClientId,
    secret: &SecretId,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM client_secrets WHERE client_id = ? AND secret_id = ?")
        .bind(client.as_str())
        .bind(secret.as_str())
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn find_secret(
    pool: &SqlitePool,
    hash: &SecretHash,
) -> Result<Option<SecretOwner>, StoreError> {
    let row = sqlx::query(
        "SELECT s.client_id, c.name, s.secret_id, s.disabled_at FROM client_secrets s \
         JOIN clients c ON c.client_id = s.client_id WHERE s.secret_hash = ?",
    )
    .bind(hash.0.as_slice())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(rows::secret_owner).transpose()
}

pub(super) async fn disable_secret(
    pool: &SqlitePool,
    client: &ClientId,
    secret: &SecretId,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE client_secrets SET disabled_at = ? \
         WHERE client_id = ? AND secret_id = ? AND disabled_at IS NULL",
    )
    .bind(now.0)
    .bind(client.as_str())
    .bind(secret.as_str())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn record_secret_use(
    pool: &SqlitePool,
    uses: &[(SecretHash, UnixTime)],
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    for (hash, at) in uses {
        sqlx::query(
            "UPDATE client_secrets SET last_used_at = ? \
             WHERE secret_hash = ? AND (last_used_at IS NULL OR last_used_at < ?)",
        )
        .bind(at.0)
        .bind(&hash.0[..])
        .bind(at.0)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn client_names(
    pool: &SqlitePool,
    ids: &[ClientId],
) -> Result<Vec<(ClientId, String)>, StoreError> {
    // The ids travel as one JSON array parameter, however many there are.
    let list: Vec<&str> = ids.iter().map(ClientId::as_str).collect();
    let list = serde_json::to_string(&list).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let rows = sqlx::query(
        "SELECT client_id, name FROM clients \
         WHERE client_id IN (SELECT value FROM json_each(?))",
    )
    .bind(list)
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::client_name).collect()
}

pub(super) async fn take_expired_secrets(
    pool: &SqlitePool,
    now: UnixTime,
) -> Result<Vec<(String, String, UnixTime)>, StoreError> {
    let rows = sqlx::query(
        "UPDATE client_secrets SET expiry_recorded = 1 \
         WHERE expires_at <= ? AND expiry_recorded = 0 \
         RETURNING client_id, secret_id, expires_at",
    )
    .bind(now.0)
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::expired_secret).collect()
}

async fn insert_secret_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    client: &ClientId,
    secret: &SecretInfo,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO client_secrets (secret_id, client_id, secret_hash, created_at, expires_at, \
         last_used_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(secret.id.as_str())
    .bind(client.as_str())
    .bind(secret.hash.0.as_slice())
    .bind(secret.created_at.0)
    .bind(secret.expires_at.map(|t| t.0))
    .bind(secret.last_used_at.map(|t| t.0))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::clock::UnixTime;
    use crate::domain::client::{Client, ClientId, ClientName, Description};
    use crate::domain::scope::ScopeSet;
    use crate::store::{SqliteStore, Store};

    #[tokio::test]
    async fn names_are_read_for_the_ids_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        for (id, name) in [("c1", "First"), ("c2", "Second"), ("c3", "Third")] {
            store
                .insert_client(&Client {
                    id: ClientId::parse(id).unwrap(),
                    name: ClientName::parse(name).unwrap(),
                    description: Description::default(),
                    scopes: ScopeSet::default(),
                    access_token_lifetime: None,
                    signing_algorithm: None,
                    tenants: Vec::new(),
                    claims: None,
                    scopes_locked: false,
                    quota: None,
                    secrets: Vec::new(),
                    created_at: UnixTime(0),
                    updated_at: UnixTime(0),
                })
                .await
                .unwrap();
        }
        let ids: Vec<ClientId> = ["c3", "gone", "c1"]
            .iter()
            .map(|i| ClientId::parse(i).unwrap())
            .collect();
        let mut names: Vec<(String, String)> = store
            .client_names(&ids)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, name)| (id.as_str().to_owned(), name))
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ("c1".to_owned(), "First".to_owned()),
                ("c3".to_owned(), "Third".to_owned())
            ]
        );
        assert!(store.client_names(&[]).await.unwrap().is_empty());
        store.close().await;
    }
}
