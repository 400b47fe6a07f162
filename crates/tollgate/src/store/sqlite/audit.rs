//! The audit trail.

use sqlx::SqlitePool;

use crate::domain::audit::AuditEvent;
use crate::store::StoreError;
use crate::store::rows;

pub(super) async fn insert_audit(pool: &SqlitePool, e: &AuditEvent) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO audit_events (at, actor, action, client_id, secret_id, kid, detail) \
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(e.at.0)
    .bind(&e.actor)
    .bind(e.action.as_str())
    .bind(e.client_id.as_deref())
    .bind(e.secret_id.as_deref())
    .bind(e.kid.as_deref())
    .bind(&e.detail)
    .fetch_one(pool)
    .await?)
}

pub(super) async fn audit_events(
    pool: &SqlitePool,
    after: i64,
    limit: u32,
    client: Option<&str>,
) -> Result<Vec<AuditEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, at, actor, action, client_id, secret_id, kid, detail FROM audit_events \
         WHERE id > ? AND (? IS NULL OR client_id = ?) ORDER BY id LIMIT ?",
    )
    .bind(after)
    .bind(client)
    .bind(client)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::audit_event).collect()
}
