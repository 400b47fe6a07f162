//! The audit trail (the SQL is shared with SQLite: `store/audit.rs`).

use sqlx::PgPool;
use sqlx::postgres::PgArguments;

use crate::domain::audit::AuditEvent;
use crate::store::audit::{self as shared, Arg};
use crate::store::{AuditCursor, AuditFilter, StoreError, rows};

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, PgArguments>;

fn bind<'q>(q: Query<'q>, arg: Option<&Arg<'q>>) -> Query<'q> {
    match arg {
        Some(Arg::Int(i)) => q.bind(*i),
        Some(Arg::Text(s)) => q.bind(*s),
        None => q.bind(None::<String>),
    }
}

pub(super) async fn insert_audit(pool: &PgPool, e: &AuditEvent) -> Result<i64, StoreError> {
    let mut q = sqlx::query(shared::INSERT);
    for arg in shared::insert_args(e) {
        q = bind(q, arg.as_ref());
    }
    let row = q.fetch_one(pool).await?;
    Ok(rows::Columns::int(&row, "id")?)
}

pub(super) async fn audit_events(
    pool: &PgPool,
    filter: &AuditFilter,
    cursor: AuditCursor,
    limit: u32,
) -> Result<Vec<AuditEvent>, StoreError> {
    let (sql, args) = shared::select(filter, cursor, limit);
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for arg in &args {
        q = bind(q, Some(arg));
    }
    let rows = q.fetch_all(pool).await?;
    rows.iter().map(rows::audit_event).collect()
}
