//! One-time links and console sessions, beside the administrators of `admins.rs`; the same SQL
//! for both databases, written once by [`session_store!`].

use async_trait::async_trait;

use super::StoreError;
use super::admins::corrupt;
use super::rows::Columns;
use crate::clock::UnixTime;
use crate::domain::admin::{
    Admin, AdminId, Email, LinkPurpose, OneTimeLink, Role, Session, SessionStage,
};

pub(crate) const LINK_COLUMNS: &str =
    "digest, purpose, email, role, admin_id, created_by, created_at, expires_at";
pub(crate) const SESSION_COLUMNS: &str =
    "digest, admin_id, stage, role, created_at, last_seen_at, expires_at, address";
pub(super) fn link<R: Columns>(row: &R) -> Result<OneTimeLink, StoreError> {
    let purpose = row.text("purpose")?;
    let role = row
        .opt_text("role")?
        .map(|r| Role::parse(&r).map_err(|_| corrupt("role", &r)))
        .transpose()?;
    Ok(OneTimeLink {
        digest: row.text("digest")?,
        purpose: LinkPurpose::parse(&purpose).ok_or_else(|| corrupt("link purpose", &purpose))?,
        email: row.opt_text("email")?.map(Email::from_stored),
        role,
        admin_id: row.opt_text("admin_id")?.map(AdminId::from_stored),
        created_by: row.text("created_by")?,
        created_at: UnixTime(row.int("created_at")?),
        expires_at: UnixTime(row.int("expires_at")?),
    })
}

pub(super) fn session<R: Columns>(row: &R) -> Result<Session, StoreError> {
    let stage = row.text("stage")?;
    let role = row.text("role")?;
    Ok(Session {
        digest: row.text("digest")?,
        admin_id: AdminId::from_stored(row.text("admin_id")?),
        stage: SessionStage::parse(&stage).ok_or_else(|| corrupt("session stage", &stage))?,
        role: Role::parse(&role).map_err(|_| corrupt("role", &role))?,
        created_at: UnixTime(row.int("created_at")?),
        last_seen_at: UnixTime(row.int("last_seen_at")?),
        expires_at: UnixTime(row.int("expires_at")?),
        address: row.text("address")?,
    })
}

/// What using a one-time link does, in the transaction that uses it.
#[derive(Debug)]
pub enum LinkUse<'a> {
    /// Creates an administrator (setup, invitation). `first_owner` refuses when any
    /// administrator exists already.
    CreateAdmin {
        admin: &'a Admin,
        password_hash: &'a str,
        first_owner: bool,
    },
    /// Sets the password of the link's administrator and removes their second factor.
    ResetPassword { password_hash: &'a str },
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_link(&self, link: &OneTimeLink) -> Result<(), StoreError>;
    /// A link still usable at `now`.
    async fn find_link(
        &self,
        digest: &str,
        now: UnixTime,
    ) -> Result<Option<OneTimeLink>, StoreError>;
    /// Uses a link: removes it and does `what`, in one transaction. `None` (and nothing
    /// written) when it is gone, expired or of another purpose, or `what` cannot be done.
    async fn use_link(
        &self,
        digest: &str,
        purpose: LinkPurpose,
        now: UnixTime,
        what: LinkUse<'_>,
    ) -> Result<Option<OneTimeLink>, StoreError>;
    /// Invitations not used or expired yet.
    async fn pending_invitations(&self, now: UnixTime) -> Result<Vec<OneTimeLink>, StoreError>;

    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn get_session(&self, digest: &str) -> Result<Option<Session>, StoreError>;
    async fn touch_session(&self, digest: &str, now: UnixTime) -> Result<(), StoreError>;
    async fn set_session_stage(
        &self,
        digest: &str,
        stage: SessionStage,
    ) -> Result<bool, StoreError>;
    async fn delete_session(&self, digest: &str) -> Result<(), StoreError>;
    /// Ends every session of an administrator; returns how many.
    async fn delete_sessions(&self, id: &AdminId) -> Result<u64, StoreError>;
    async fn prune_sessions(&self, before: UnixTime) -> Result<u64, StoreError>;
}

/// Implements [`SessionStore`] for a store that [`super::admins::admin_store!`] was invoked
/// for in the same module (it uses that macro's transaction helpers).
macro_rules! session_store {
    ($store:ty, $db:ty, $begin:path) => {
        #[async_trait::async_trait]
        impl $crate::store::sessions::SessionStore for $store {
            async fn insert_link(
                &self,
                link: &$crate::domain::admin::OneTimeLink,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO admin_links (digest, purpose, email, role, admin_id, \
                     created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&link.digest)
                .bind(link.purpose.as_str())
                .bind(link.email.as_ref().map(|e| e.as_str()))
                .bind(link.role.map(|r| r.as_str()))
                .bind(link.admin_id.as_ref().map(|a| a.as_str()))
                .bind(&link.created_by)
                .bind(link.created_at.0)
                .bind(link.expires_at.0)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn find_link(
                &self,
                digest: &str,
                now: UnixTime,
            ) -> Result<Option<$crate::domain::admin::OneTimeLink>, StoreError> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM admin_links WHERE digest = $1 AND expires_at > $2",
                    $crate::store::sessions::LINK_COLUMNS
                )))
                .bind(digest)
                .bind(now.0)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map($crate::store::sessions::link).transpose()
            }

            async fn use_link(
                &self,
                digest: &str,
                purpose: $crate::domain::admin::LinkPurpose,
                now: UnixTime,
                what: $crate::store::sessions::LinkUse<'_>,
            ) -> Result<Option<$crate::domain::admin::OneTimeLink>, StoreError> {
                use $crate::store::sessions::LinkUse;
                let mut tx = $begin(&self.pool).await?;
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM admin_links WHERE digest = $1 AND purpose = $2 \
                     AND expires_at > $3 RETURNING {}",
                    $crate::store::sessions::LINK_COLUMNS
                )))
                .bind(digest)
                .bind(purpose.as_str())
                .bind(now.0)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(link) = row.as_ref().map($crate::store::sessions::link).transpose()? else {
                    return Ok(None);
                };
                match what {
                    LinkUse::CreateAdmin { admin, password_hash, first_owner } => {
                        if first_owner {
                            let row = sqlx::query("SELECT COUNT(*) AS n FROM admins")
                                .fetch_one(&mut *tx)
                                .await?;
                            if $crate::store::rows::Columns::int(&row, "n")? > 0 {
                                return Ok(None);
                            }
                            // Any other setup link is void once there is an owner.
                            sqlx::query("DELETE FROM admin_links WHERE purpose = 'setup'")
                                .execute(&mut *tx)
                                .await?;
                        }
                        insert_admin_in(&mut tx, admin, Some(password_hash)).await?;
                    }
                    LinkUse::ResetPassword { password_hash } => {
                        let Some(id) = &link.admin_id else {
                            return Ok(None);
                        };
                        let done = sqlx::query(
                            "UPDATE admins SET password_hash = $2, totp_secret = NULL, \
                             totp_last_step = NULL, updated_at = $3 WHERE admin_id = $1",
                        )
                        .bind(id.as_str())
                        .bind(password_hash)
                        .bind(now.0)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if done != 1 {
                            return Ok(None);
                        }
                        replace_codes_in(&mut tx, id, &[]).await?;
                        sqlx::query("DELETE FROM admin_sessions WHERE admin_id = $1")
                            .bind(id.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(Some(link))
            }

            async fn pending_invitations(
                &self,
                now: UnixTime,
            ) -> Result<Vec<$crate::domain::admin::OneTimeLink>, StoreError> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM admin_links WHERE purpose = 'invite' AND expires_at > $1 \
                     ORDER BY created_at",
                    $crate::store::sessions::LINK_COLUMNS
                )))
                .bind(now.0)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::store::sessions::link).collect()
            }

            async fn insert_session(
                &self,
                s: &$crate::domain::admin::Session,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO admin_sessions (digest, admin_id, stage, role, created_at, \
                     last_seen_at, expires_at, address) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&s.digest)
                .bind(s.admin_id.as_str())
                .bind(s.stage.as_str())
                .bind(s.role.as_str())
                .bind(s.created_at.0)
                .bind(s.last_seen_at.0)
                .bind(s.expires_at.0)
                .bind(&s.address)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn get_session(
                &self,
                digest: &str,
            ) -> Result<Option<$crate::domain::admin::Session>, StoreError> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM admin_sessions WHERE digest = $1",
                    $crate::store::sessions::SESSION_COLUMNS
                )))
                .bind(digest)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map($crate::store::sessions::session).transpose()
            }

            async fn touch_session(&self, digest: &str, now: UnixTime) -> Result<(), StoreError> {
                sqlx::query("UPDATE admin_sessions SET last_seen_at = $2 WHERE digest = $1")
                    .bind(digest)
                    .bind(now.0)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_session_stage(
                &self,
                digest: &str,
                stage: $crate::domain::admin::SessionStage,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE admin_sessions SET stage = $2 WHERE digest = $1")
                    .bind(digest)
                    .bind(stage.as_str())
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(done == 1)
            }

            async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM admin_sessions WHERE digest = $1")
                    .bind(digest)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_sessions(
                &self,
                id: &$crate::domain::admin::AdminId,
            ) -> Result<u64, StoreError> {
                Ok(sqlx::query("DELETE FROM admin_sessions WHERE admin_id = $1")
                    .bind(id.as_str())
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn prune_sessions(&self, before: UnixTime) -> Result<u64, StoreError> {
                Ok(sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= $1")
                    .bind(before.0)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }
        }
    };
}

pub(super) use session_store;
