//! Administrators, their one-time links, recovery codes and console sessions.
//!
//! The SQL is the same for both databases (`$n` parameters, which SQLite reads too), so one
//! implementation, written once by [`admin_store!`], serves both. Every check that must hold
//! across nodes (a link used once, a TOTP step accepted once, the last owner kept) sits in
//! the statement that writes, not in a read before it.

use async_trait::async_trait;

use super::StoreError;
use super::rows::Columns;
use crate::clock::UnixTime;
use crate::domain::admin::{Admin, AdminId, Email, Role};

/// An administrator with what signing in needs.
#[derive(Clone, Debug)]
pub struct AdminRecord {
    pub admin: Admin,
    pub password_hash: Option<String>,
    /// Sealed.
    pub totp_secret: Option<Vec<u8>>,
}

/// How a change to an administrator that could remove the last active owner went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminWrite {
    Done,
    NotFound,
    /// It would leave no active owner.
    LastOwner,
}

#[async_trait]
pub trait AdminStore: Send + Sync {
    async fn count_admins(&self) -> Result<i64, StoreError>;
    /// Fails with [`StoreError::EmailTaken`] when the address (in any case) or the single
    /// sign-on subject is another administrator's.
    async fn insert_admin(
        &self,
        admin: &Admin,
        password_hash: Option<&str>,
    ) -> Result<(), StoreError>;
    async fn get_admin(&self, id: &AdminId) -> Result<Option<AdminRecord>, StoreError>;
    async fn find_admin_by_email(&self, email: &Email) -> Result<Option<AdminRecord>, StoreError>;
    async fn find_admin_by_sso(&self, subject: &str) -> Result<Option<AdminRecord>, StoreError>;
    async fn list_admins(&self) -> Result<Vec<Admin>, StoreError>;
    /// Writes display name, role and `disabled_at`, unless that leaves no active owner.
    async fn update_admin(&self, admin: &Admin) -> Result<AdminWrite, StoreError>;
    async fn delete_admin(&self, id: &AdminId) -> Result<AdminWrite, StoreError>;
    async fn set_password(
        &self,
        id: &AdminId,
        hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    async fn record_sign_in(&self, id: &AdminId, now: UnixTime) -> Result<(), StoreError>;

    /// Enrols (sealed secret and recovery code digests) or removes (`None`, no codes) the
    /// second factor.
    async fn set_second_factor(
        &self,
        id: &AdminId,
        sealed: Option<&[u8]>,
        codes: &[String],
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Records `step` as used; false when it, or a later one, was used already.
    async fn use_totp_step(&self, id: &AdminId, step: i64) -> Result<bool, StoreError>;
    /// Marks a recovery code used; false when unknown or used already.
    async fn use_recovery_code(
        &self,
        id: &AdminId,
        digest: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    async fn recovery_codes_left(&self, id: &AdminId) -> Result<i64, StoreError>;
}

pub(crate) const ADMIN_COLUMNS: &str = "admin_id, email, display_name, role, password_hash, totp_secret, \
    sso_subject, created_at, updated_at, last_sign_in_at, disabled_at";
/// Another active owner than `$1` exists.
pub(crate) const OTHER_OWNER: &str = "EXISTS (SELECT 1 FROM admins o WHERE o.role = 'owner' \
    AND o.disabled_at IS NULL AND o.admin_id <> $1)";

pub(super) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} `{value}`"))
}

pub(super) fn admin_record<R: Columns>(row: &R) -> Result<AdminRecord, StoreError> {
    let role = row.text("role")?;
    let totp_secret = row.opt_bytes("totp_secret")?;
    Ok(AdminRecord {
        admin: Admin {
            id: AdminId::from_stored(row.text("admin_id")?),
            email: Email::from_stored(row.text("email")?),
            display_name: row.text("display_name")?,
            role: Role::parse(&role).map_err(|_| corrupt("role", &role))?,
            created_at: UnixTime(row.int("created_at")?),
            updated_at: UnixTime(row.int("updated_at")?),
            last_sign_in_at: row.opt_int("last_sign_in_at")?.map(UnixTime),
            disabled_at: row.opt_int("disabled_at")?.map(UnixTime),
            mfa_enrolled: totp_secret.is_some(),
            sso_subject: row.opt_text("sso_subject")?,
        },
        password_hash: row.opt_text("password_hash")?,
        totp_secret,
    })
}

pub(super) fn map_admin_conflict(e: sqlx::Error) -> StoreError {
    match e.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::EmailTaken,
        _ => StoreError::Database(e),
    }
}

/// Implements [`AdminStore`] for a store with a `pool` field, given its database and the
/// function that begins a write transaction.
macro_rules! admin_store {
    ($store:ty, $db:ty, $begin:path) => {
        #[async_trait::async_trait]
        impl $crate::store::admins::AdminStore for $store {
            async fn count_admins(&self) -> Result<i64, StoreError> {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM admins")
                    .fetch_one(&self.pool)
                    .await?;
                Ok($crate::store::rows::Columns::int(&row, "n")?)
            }

            async fn insert_admin(
                &self,
                admin: &$crate::domain::admin::Admin,
                password_hash: Option<&str>,
            ) -> Result<(), StoreError> {
                let mut tx = $begin(&self.pool).await?;
                insert_admin_in(&mut tx, admin, password_hash).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_admin(
                &self,
                id: &$crate::domain::admin::AdminId,
            ) -> Result<Option<$crate::store::admins::AdminRecord>, StoreError> {
                self.admin_where("admin_id = $1", id.as_str()).await
            }

            async fn find_admin_by_email(
                &self,
                email: &$crate::domain::admin::Email,
            ) -> Result<Option<$crate::store::admins::AdminRecord>, StoreError> {
                self.admin_where("email_key = $1", &email.key()).await
            }

            async fn find_admin_by_sso(
                &self,
                subject: &str,
            ) -> Result<Option<$crate::store::admins::AdminRecord>, StoreError> {
                self.admin_where("sso_subject = $1", subject).await
            }

            async fn list_admins(
                &self,
            ) -> Result<Vec<$crate::domain::admin::Admin>, StoreError> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM admins ORDER BY created_at, admin_id",
                    $crate::store::admins::ADMIN_COLUMNS
                )))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| $crate::store::admins::admin_record(r).map(|a| a.admin))
                    .collect()
            }

            async fn update_admin(
                &self,
                admin: &$crate::domain::admin::Admin,
            ) -> Result<$crate::store::admins::AdminWrite, StoreError> {
                let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE admins SET display_name = $2, role = $3, disabled_at = $4, \
                     updated_at = $5 WHERE admin_id = $1 AND \
                     (($3 = 'owner' AND $4 IS NULL) OR {})",
                    $crate::store::admins::OTHER_OWNER
                )))
                .bind(admin.id.as_str())
                .bind(&admin.display_name)
                .bind(admin.role.as_str())
                .bind(admin.disabled_at.map(|t| t.0))
                .bind(admin.updated_at.0)
                .execute(&self.pool)
                .await?
                .rows_affected();
                self.admin_write(done, &admin.id).await
            }

            async fn delete_admin(
                &self,
                id: &$crate::domain::admin::AdminId,
            ) -> Result<$crate::store::admins::AdminWrite, StoreError> {
                let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM admins WHERE admin_id = $1 AND \
                     (role <> 'owner' OR disabled_at IS NOT NULL OR {})",
                    $crate::store::admins::OTHER_OWNER
                )))
                .bind(id.as_str())
                .execute(&self.pool)
                .await?
                .rows_affected();
                self.admin_write(done, id).await
            }

            async fn set_password(
                &self,
                id: &$crate::domain::admin::AdminId,
                hash: &str,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE admins SET password_hash = $2, updated_at = $3 WHERE admin_id = $1",
                )
                .bind(id.as_str())
                .bind(hash)
                .bind(now.0)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(done == 1)
            }

            async fn record_sign_in(
                &self,
                id: &$crate::domain::admin::AdminId,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                sqlx::query("UPDATE admins SET last_sign_in_at = $2 WHERE admin_id = $1")
                    .bind(id.as_str())
                    .bind(now.0)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_second_factor(
                &self,
                id: &$crate::domain::admin::AdminId,
                sealed: Option<&[u8]>,
                codes: &[String],
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                let mut tx = $begin(&self.pool).await?;
                let done = sqlx::query(
                    "UPDATE admins SET totp_secret = $2, totp_last_step = NULL, \
                     updated_at = $3 WHERE admin_id = $1",
                )
                .bind(id.as_str())
                .bind(sealed)
                .bind(now.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                replace_codes_in(&mut tx, id, codes).await?;
                tx.commit().await?;
                Ok(done == 1)
            }

            async fn use_totp_step(
                &self,
                id: &$crate::domain::admin::AdminId,
                step: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE admins SET totp_last_step = $2 WHERE admin_id = $1 \
                     AND (totp_last_step IS NULL OR totp_last_step < $2)",
                )
                .bind(id.as_str())
                .bind(step)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(done == 1)
            }

            async fn use_recovery_code(
                &self,
                id: &$crate::domain::admin::AdminId,
                digest: &str,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE admin_recovery_codes SET used_at = $3 \
                     WHERE admin_id = $1 AND digest = $2 AND used_at IS NULL",
                )
                .bind(id.as_str())
                .bind(digest)
                .bind(now.0)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(done == 1)
            }

            async fn recovery_codes_left(
                &self,
                id: &$crate::domain::admin::AdminId,
            ) -> Result<i64, StoreError> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS n FROM admin_recovery_codes \
                     WHERE admin_id = $1 AND used_at IS NULL",
                )
                .bind(id.as_str())
                .fetch_one(&self.pool)
                .await?;
                Ok($crate::store::rows::Columns::int(&row, "n")?)
            }
        }

        impl $store {
            async fn admin_where(
                &self,
                condition: &'static str,
                value: &str,
            ) -> Result<Option<$crate::store::admins::AdminRecord>, StoreError> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM admins WHERE {condition}",
                    $crate::store::admins::ADMIN_COLUMNS
                )))
                .bind(value)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map($crate::store::admins::admin_record).transpose()
            }

            async fn admin_write(
                &self,
                done: u64,
                id: &$crate::domain::admin::AdminId,
            ) -> Result<$crate::store::admins::AdminWrite, StoreError> {
                use $crate::store::admins::AdminWrite;
                if done == 1 {
                    return Ok(AdminWrite::Done);
                }
                Ok(match self.admin_where("admin_id = $1", id.as_str()).await? {
                    Some(_) => AdminWrite::LastOwner,
                    None => AdminWrite::NotFound,
                })
            }
        }

        async fn insert_admin_in<'c>(
            tx: &mut sqlx::Transaction<'c, $db>,
            admin: &$crate::domain::admin::Admin,
            password_hash: Option<&str>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO admins (admin_id, email, email_key, display_name, role, \
                 password_hash, sso_subject, created_at, updated_at, last_sign_in_at, disabled_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(admin.id.as_str())
            .bind(admin.email.as_str())
            .bind(admin.email.key())
            .bind(&admin.display_name)
            .bind(admin.role.as_str())
            .bind(password_hash)
            .bind(admin.sso_subject.as_deref())
            .bind(admin.created_at.0)
            .bind(admin.updated_at.0)
            .bind(admin.last_sign_in_at.map(|t| t.0))
            .bind(admin.disabled_at.map(|t| t.0))
            .execute(&mut **tx)
            .await
            .map_err($crate::store::admins::map_admin_conflict)?;
            Ok(())
        }

        async fn replace_codes_in<'c>(
            tx: &mut sqlx::Transaction<'c, $db>,
            id: &$crate::domain::admin::AdminId,
            codes: &[String],
        ) -> Result<(), StoreError> {
            sqlx::query("DELETE FROM admin_recovery_codes WHERE admin_id = $1")
                .bind(id.as_str())
                .execute(&mut **tx)
                .await?;
            for digest in codes {
                sqlx::query("INSERT INTO admin_recovery_codes (admin_id, digest) VALUES ($1, $2)")
                    .bind(id.as_str())
                    .bind(digest)
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        }
    };
}

pub(super) use admin_store;
