//! Reading the audit trail (events are written by each operation as it happens).

use super::Tollgate;
use crate::domain::audit::AuditEvent;
use crate::store::{AuditCursor, AuditFilter, StoreError};

impl Tollgate {
    /// Events after `after`, oldest first, optionally for one client only.
    pub async fn audit_events(
        &self,
        after: i64,
        limit: u32,
        client: Option<&str>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let filter = AuditFilter {
            client_id: client.map(str::to_owned),
            ..Default::default()
        };
        self.store
            .audit_events(&filter, AuditCursor::After(after), limit)
            .await
    }

    /// Up to `limit` events that match `filter`, from `cursor` on in its direction.
    pub async fn find_audit_events(
        &self,
        filter: &AuditFilter,
        cursor: AuditCursor,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.store.audit_events(filter, cursor, limit).await
    }
}
