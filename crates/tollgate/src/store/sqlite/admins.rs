//! [`crate::store::admins::AdminStore`] on SQLite: the SQL shared with PostgreSQL.

use super::{SqliteStore, begin_write};
use crate::clock::UnixTime;
use crate::store::StoreError;

crate::store::admins::admin_store!(SqliteStore, sqlx::Sqlite, begin_write);
crate::store::sessions::session_store!(SqliteStore, sqlx::Sqlite, begin_write);
