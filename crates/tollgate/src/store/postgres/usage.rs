//! [`crate::store::usage::UsageStore`] on PostgreSQL: the SQL shared with SQLite.

use sqlx::{PgPool, Postgres, Transaction};

use super::PostgresStore;
use crate::clock::UnixTime;
use crate::store::StoreError;

async fn begin_write(pool: &PgPool) -> Result<Transaction<'static, Postgres>, StoreError> {
    Ok(pool.begin().await?)
}

crate::store::usage::usage_store!(PostgresStore, Postgres, begin_write);
