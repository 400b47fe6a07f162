//! Administrator accounts: the first owner, invitations, role changes, disabling, deleting.

use super::{People, PeopleError};
use crate::clock::UnixTime;
use crate::domain::admin::{
    Admin, AdminId, Email, LinkPurpose, OneTimeLink, Role, parse_display_name,
};
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::client::FieldError;
use crate::domain::password::Password;
use crate::store::admins::AdminWrite;

/// The first owner from the environment (`TOLLGATE_BOOTSTRAP_ADMIN_EMAIL`,
/// `TOLLGATE_BOOTSTRAP_ADMIN_PASSWORD`), parsed by the configuration.
#[derive(Debug, Clone)]
pub struct BootstrapOwner {
    pub email: Email,
    pub password: Password,
}

/// An invitation as made: the link is shown to the owner who made it, once.
#[derive(Debug)]
pub struct NewInvitation {
    pub email: Email,
    pub role: Role,
    pub url: String,
    pub expires_at: UnixTime,
}

/// What an owner changes about an administrator; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct AdminPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// `Some(true)` disables, `Some(false)` enables again.
    pub disabled: Option<bool>,
}

impl People {
    pub async fn list_admins(&self) -> Result<Vec<Admin>, PeopleError> {
        Ok(self.store.list_admins().await?)
    }

    pub async fn get_admin(&self, id: &AdminId) -> Result<Admin, PeopleError> {
        self.store
            .get_admin(id)
            .await?
            .map(|r| r.admin)
            .ok_or(PeopleError::NotFound)
    }

    pub async fn pending_invitations(
        &self,
        now: UnixTime,
    ) -> Result<Vec<OneTimeLink>, PeopleError> {
        Ok(self.store.pending_invitations(now).await?)
    }

    /// Invites a person by email with a role: a one-time link valid seven days.
    pub async fn invite(
        &self,
        actor: &str,
        email: Email,
        role: Role,
        now: UnixTime,
    ) -> Result<NewInvitation, PeopleError> {
        if self.store.find_admin_by_email(&email).await?.is_some() {
            return Err(PeopleError::EmailTaken);
        }
        let (url, link) = self
            .issue_link(
                LinkPurpose::Invite,
                Some(email.clone()),
                Some(role),
                None,
                actor,
                now,
            )
            .await?;
        self.audit(
            AuditEvent::new(now, actor, AuditAction::AdminInvited).detail(format!(
                "{email} as {role}, valid until {}",
                link.expires_at
            )),
        )
        .await;
        Ok(NewInvitation {
            email,
            role,
            url,
            expires_at: link.expires_at,
        })
    }

    pub async fn update_admin(
        &self,
        actor: &str,
        id: &AdminId,
        patch: AdminPatch,
        now: UnixTime,
    ) -> Result<Admin, PeopleError> {
        let display_name = patch
            .display_name
            .as_deref()
            .map(parse_display_name)
            .transpose()
            .map_err(|e| PeopleError::Validation(vec![e]))?;
        let _guard = self.write_lock.lock().await;
        let before = self.get_admin(id).await?;
        let mut after = before.clone();
        if let Some(name) = display_name {
            after.display_name = name;
        }
        if let Some(role) = patch.role {
            after.role = role;
        }
        match patch.disabled {
            Some(true) if after.disabled_at.is_none() => after.disabled_at = Some(now),
            Some(false) => after.disabled_at = None,
            _ => {}
        }
        if after == before {
            return Ok(after);
        }
        after.updated_at = now;
        match self.store.update_admin(&after).await? {
            AdminWrite::Done => {}
            AdminWrite::NotFound => return Err(PeopleError::NotFound),
            AdminWrite::LastOwner => return Err(PeopleError::LastOwner),
        }
        let who = &after.email;
        if after.role != before.role {
            self.end_sessions_of(id).await?;
            self.audit(
                AuditEvent::new(now, actor, AuditAction::AdminRoleChanged)
                    .detail(format!("{who}: {} to {}", before.role, after.role)),
            )
            .await;
        }
        if after.disabled_at != before.disabled_at {
            let action = if after.disabled_at.is_some() {
                self.end_sessions_of(id).await?;
                AuditAction::AdminDisabled
            } else {
                AuditAction::AdminEnabled
            };
            self.audit(AuditEvent::new(now, actor, action).detail(who.to_string()))
                .await;
        }
        if after.display_name != before.display_name {
            self.audit(
                AuditEvent::new(now, actor, AuditAction::AdminUpdated)
                    .detail(format!("{who}: display name {:?}", after.display_name)),
            )
            .await;
        }
        Ok(after)
    }

    pub async fn delete_admin(
        &self,
        actor: &str,
        id: &AdminId,
        now: UnixTime,
    ) -> Result<(), PeopleError> {
        let _guard = self.write_lock.lock().await;
        let admin = self.get_admin(id).await?;
        match self.store.delete_admin(id).await? {
            AdminWrite::Done => {}
            AdminWrite::NotFound => return Err(PeopleError::NotFound),
            AdminWrite::LastOwner => return Err(PeopleError::LastOwner),
        }
        // Sessions went with the row (ON DELETE CASCADE).
        self.audit(
            AuditEvent::new(now, actor, AuditAction::AdminDeleted)
                .detail(format!("{} ({})", admin.email, admin.role)),
        )
        .await;
        Ok(())
    }

    pub(super) fn new_admin(&self, email: Email, name: &str, role: Role, now: UnixTime) -> Admin {
        Admin {
            id: AdminId::generate(self.rng.as_ref()),
            email,
            display_name: name.to_owned(),
            role,
            created_at: now,
            updated_at: now,
            last_sign_in_at: None,
            disabled_at: None,
            mfa_enrolled: false,
            sso_subject: None,
        }
    }

    pub(super) async fn end_sessions_of(&self, id: &AdminId) -> Result<u64, PeopleError> {
        Ok(self.store.delete_sessions(id).await?)
    }
}

pub(super) fn parse_password(password: String) -> Result<Password, FieldError> {
    Password::parse(password).map_err(|e| FieldError::new("password", e.to_string()))
}
