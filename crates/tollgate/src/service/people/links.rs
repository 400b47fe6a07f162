//! One-time links: the first owner's setup (and the environment's owner), invitations,
//! password resets.

use super::accounts::{BootstrapOwner, parse_password};
use super::{People, PeopleError};
use crate::clock::{Rng, UnixTime};
use crate::domain::admin::{
    Admin, AdminId, BearerValue, Email, LinkPurpose, OneTimeLink, Role, parse_display_name,
};
use crate::domain::audit::{AuditAction, AuditEvent, SYSTEM_ACTOR};
use crate::store::Store;
use crate::store::sessions::LinkUse;

impl People {
    /// On start: the owner from the environment if there is one and it does not exist yet,
    /// otherwise, while there is no administrator at all, a fresh setup link (returned, to be
    /// shown beside the bootstrap client). Callers hold the store's startup lock.
    pub async fn bootstrap(
        &self,
        owner: Option<&BootstrapOwner>,
        now: UnixTime,
    ) -> Result<Option<String>, PeopleError> {
        if let Some(owner) = owner {
            if self
                .store
                .find_admin_by_email(&owner.email)
                .await?
                .is_none()
            {
                let hash = self.hash_password(owner.password.clone()).await;
                let admin = self.new_admin(owner.email.clone(), "Owner", Role::Owner, now);
                self.store.insert_admin(&admin, Some(hash.as_str())).await?;
                self.audit(
                    AuditEvent::new(now, SYSTEM_ACTOR, AuditAction::AdminCreated).detail(format!(
                        "{} as owner, from TOLLGATE_BOOTSTRAP_ADMIN_EMAIL",
                        admin.email
                    )),
                )
                .await;
                tracing::info!(admin_id = %admin.id, "created the owner from TOLLGATE_BOOTSTRAP_ADMIN_EMAIL");
            }
            return Ok(None);
        }
        if self.store.count_admins().await? > 0 {
            return Ok(None);
        }
        let (url, _) = self
            .issue_link(LinkPurpose::Setup, None, None, None, SYSTEM_ACTOR, now)
            .await?;
        Ok(Some(url))
    }

    /// The link behind a setup, invitation or reset page, if it can still be used.
    pub async fn check_link(
        &self,
        purpose: LinkPurpose,
        token: &str,
        now: UnixTime,
    ) -> Result<OneTimeLink, PeopleError> {
        let token = BearerValue::parse(token).ok_or(PeopleError::LinkInvalid)?;
        match self.store.find_link(&token.digest(), now).await? {
            Some(link) if link.purpose == purpose => Ok(link),
            _ => Err(PeopleError::LinkInvalid),
        }
    }

    /// The first owner, from the setup link.
    pub async fn complete_setup(
        &self,
        token: &str,
        email: &str,
        display_name: &str,
        password: String,
        now: UnixTime,
    ) -> Result<Admin, PeopleError> {
        self.check_link(LinkPurpose::Setup, token, now).await?;
        let mut errors = Vec::new();
        let email = Email::parse(email).map_err(|e| errors.push(e)).ok();
        let name = parse_display_name(display_name)
            .map_err(|e| errors.push(e))
            .ok();
        let password = parse_password(password).map_err(|e| errors.push(e)).ok();
        let (Some(email), Some(name), Some(password)) = (email, name, password) else {
            return Err(PeopleError::Validation(errors));
        };
        let admin = self.new_admin(email, &name, Role::Owner, now);
        let hash = self.hash_password(password).await;
        self.consume(
            token,
            LinkPurpose::Setup,
            now,
            LinkUse::CreateAdmin {
                admin: &admin,
                password_hash: hash.as_str(),
                first_owner: true,
            },
        )
        .await?;
        self.audit(
            AuditEvent::new(now, &admin.email.actor(), AuditAction::AdminCreated)
                .detail(format!("{} as owner, from the setup link", admin.email)),
        )
        .await;
        Ok(admin)
    }

    /// An invited person's account, from their invitation.
    pub async fn accept_invitation(
        &self,
        token: &str,
        display_name: &str,
        password: String,
        now: UnixTime,
    ) -> Result<Admin, PeopleError> {
        let link = self.check_link(LinkPurpose::Invite, token, now).await?;
        let (Some(email), Some(role)) = (link.email.clone(), link.role) else {
            return Err(PeopleError::LinkInvalid);
        };
        let mut errors = Vec::new();
        let name = parse_display_name(display_name)
            .map_err(|e| errors.push(e))
            .ok();
        let password = parse_password(password).map_err(|e| errors.push(e)).ok();
        let (Some(name), Some(password)) = (name, password) else {
            return Err(PeopleError::Validation(errors));
        };
        let admin = self.new_admin(email, &name, role, now);
        let hash = self.hash_password(password).await;
        self.consume(
            token,
            LinkPurpose::Invite,
            now,
            LinkUse::CreateAdmin {
                admin: &admin,
                password_hash: hash.as_str(),
                first_owner: false,
            },
        )
        .await?;
        self.audit(
            AuditEvent::new(now, &admin.email.actor(), AuditAction::InvitationAccepted).detail(
                format!(
                    "{} as {} (invited by {})",
                    admin.email, role, link.created_by
                ),
            ),
        )
        .await;
        Ok(admin)
    }

    /// A new password from a reset link; the second factor is removed and every session
    /// ends, so the person enrols again at their next sign-in.
    pub async fn reset_password(
        &self,
        token: &str,
        password: String,
        now: UnixTime,
    ) -> Result<AdminId, PeopleError> {
        self.check_link(LinkPurpose::Reset, token, now).await?;
        let password = parse_password(password).map_err(|e| PeopleError::Validation(vec![e]))?;
        let hash = self.hash_password(password).await;
        let link = self
            .consume(
                token,
                LinkPurpose::Reset,
                now,
                LinkUse::ResetPassword {
                    password_hash: hash.as_str(),
                },
            )
            .await?;
        let id = link.admin_id.ok_or(PeopleError::LinkInvalid)?;
        let admin = self.get_admin(&id).await?;
        self.audit(
            AuditEvent::new(now, &admin.email.actor(), AuditAction::PasswordChanged)
                .detail("from a reset link; second factor removed, sessions ended"),
        )
        .await;
        Ok(id)
    }

    async fn consume(
        &self,
        token: &str,
        purpose: LinkPurpose,
        now: UnixTime,
        what: LinkUse<'_>,
    ) -> Result<OneTimeLink, PeopleError> {
        let token = BearerValue::parse(token).ok_or(PeopleError::LinkInvalid)?;
        self.store
            .use_link(&token.digest(), purpose, now, what)
            .await?
            .ok_or(PeopleError::LinkInvalid)
    }

    pub(super) async fn issue_link(
        &self,
        purpose: LinkPurpose,
        email: Option<Email>,
        role: Option<Role>,
        admin_id: Option<AdminId>,
        actor: &str,
        now: UnixTime,
    ) -> Result<(String, OneTimeLink), PeopleError> {
        let spec = LinkSpec {
            purpose,
            email,
            role,
            admin_id,
            actor,
        };
        issue_link(
            self.store.as_ref(),
            self.rng.as_ref(),
            &self.settings.issuer,
            spec,
            now,
        )
        .await
    }
}

struct LinkSpec<'a> {
    purpose: LinkPurpose,
    email: Option<Email>,
    role: Option<Role>,
    admin_id: Option<AdminId>,
    actor: &'a str,
}

async fn issue_link(
    store: &dyn Store,
    rng: &dyn Rng,
    issuer: &str,
    spec: LinkSpec<'_>,
    now: UnixTime,
) -> Result<(String, OneTimeLink), PeopleError> {
    let token = BearerValue::generate(rng);
    let link = OneTimeLink {
        digest: token.digest(),
        purpose: spec.purpose,
        email: spec.email,
        role: spec.role,
        admin_id: spec.admin_id,
        created_by: spec.actor.to_owned(),
        created_at: now,
        expires_at: now.plus_secs(spec.purpose.lifetime_secs()),
    };
    store.insert_link(&link).await?;
    let url = format!(
        "{}{}?token={}",
        issuer.trim_end_matches('/'),
        spec.purpose.path(),
        token.expose()
    );
    Ok((url, link))
}

/// A one-time link that sets a new password for `email` and removes their second factor:
/// `tollgate admins recover`, run on the server host against its database. Audited.
pub async fn recovery_link(
    store: &dyn Store,
    rng: &dyn Rng,
    issuer: &str,
    email: &Email,
    now: UnixTime,
) -> Result<String, PeopleError> {
    let record = store
        .find_admin_by_email(email)
        .await?
        .ok_or(PeopleError::NotFound)?;
    let (url, _) =
        reset_link_for(store, rng, issuer, &record.admin, "cli:admins recover", now).await?;
    Ok(url)
}

impl People {
    /// A one-time link, valid an hour, that sets a new password for another administrator
    /// and removes their second factor; the owner who asks passes it on. Accounts of single
    /// sign-on have no password to reset. Audited.
    pub async fn reset_link(
        &self,
        actor: &str,
        id: &AdminId,
        now: UnixTime,
    ) -> Result<(String, UnixTime), PeopleError> {
        let admin = self.get_admin(id).await?;
        if admin.sso_subject.is_some() {
            return Err(PeopleError::field(
                "admin_id",
                "this administrator signs in with single sign-on and has no password to reset",
            ));
        }
        let (url, link) = reset_link_for(
            self.store.as_ref(),
            self.rng.as_ref(),
            &self.settings.issuer,
            &admin,
            actor,
            now,
        )
        .await?;
        Ok((url, link.expires_at))
    }
}

async fn reset_link_for(
    store: &dyn Store,
    rng: &dyn Rng,
    issuer: &str,
    admin: &Admin,
    actor: &str,
    now: UnixTime,
) -> Result<(String, OneTimeLink), PeopleError> {
    let spec = LinkSpec {
        purpose: LinkPurpose::Reset,
        email: None,
        role: None,
        admin_id: Some(admin.id.clone()),
        actor,
    };
    let (url, link) = issue_link(store, rng, issuer, spec, now).await?;
    let event = AuditEvent::new(now, actor, AuditAction::ResetLinkCreated).detail(format!(
        "for {}, valid until {}",
        admin.email, link.expires_at
    ));
    store.insert_audit(&event).await?;
    Ok((url, link))
}
