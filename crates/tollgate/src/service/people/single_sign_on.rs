//! Single sign-on with the organisation's OpenID Connect provider: the provider's claims decide
//! the role, and an account is created (marked as single sign-on) at the first sign-in.

use std::sync::Arc;

use super::signin::SignIn;
use super::{People, PeopleError};
use crate::clock::UnixTime;
use crate::domain::admin::{Email, Role, SessionStage, parse_display_name};
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::service::sso::{CallbackQuery, Sso, SsoError, SsoIdentity, SsoSettings, SsoStart};

/// The claim values that give each role; the highest role any value gives wins.
#[derive(Clone, Debug, Default)]
pub struct SsoRoles {
    pub owner: Vec<String>,
    pub manager: Vec<String>,
    pub viewer: Vec<String>,
}

impl SsoRoles {
    pub fn role_for(&self, values: &[String]) -> Option<Role> {
        let has = |wanted: &[String]| values.iter().any(|v| wanted.contains(v));
        if has(&self.owner) {
            Some(Role::Owner)
        } else if has(&self.manager) {
            Some(Role::Manager)
        } else if has(&self.viewer) {
            Some(Role::Viewer)
        } else {
            None
        }
    }
}

#[derive(Clone, Debug)]
pub struct SsoConfig {
    pub settings: SsoSettings,
    pub roles: SsoRoles,
    /// What the sign-in button says, e.g. "Sign in with Okta".
    pub label: String,
}

/// The provider, discovered at the first sign-in that needs it (and again after a failure),
/// so a provider that is down does not stop Tollgate from starting.
#[derive(Debug)]
pub(super) struct Provider {
    config: Option<SsoConfig>,
    redirect_uri: String,
    discovered: tokio::sync::Mutex<Option<Arc<Sso>>>,
}

/// Where the provider sends the browser back.
pub const CALLBACK_PATH: &str = "/console/sso/callback";

impl Provider {
    pub(super) fn new(config: Option<SsoConfig>, issuer: &str) -> Provider {
        Provider {
            config,
            redirect_uri: format!("{}{CALLBACK_PATH}", issuer.trim_end_matches('/')),
            discovered: tokio::sync::Mutex::new(None),
        }
    }

    async fn get(&self) -> Result<(Arc<Sso>, &SsoConfig), PeopleError> {
        let config = self
            .config
            .as_ref()
            .ok_or_else(|| PeopleError::Sso("single sign-on is not configured".into()))?;
        let mut slot = self.discovered.lock().await;
        if let Some(sso) = slot.as_ref() {
            return Ok((sso.clone(), config));
        }
        let sso = Sso::discover(config.settings.clone(), self.redirect_uri.clone())
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "single sign-on: the provider cannot be discovered");
                PeopleError::Sso("the sign-in provider cannot be reached; try again shortly".into())
            })?;
        let sso = Arc::new(sso);
        *slot = Some(sso.clone());
        Ok((sso, config))
    }
}

impl People {
    /// The label of the single sign-on button, when single sign-on is configured.
    pub fn sso_label(&self) -> Option<&str> {
        self.settings.sso.as_ref().map(|c| c.label.as_str())
    }

    /// Where to send the browser, and the cookie that binds it to this attempt.
    pub async fn sso_begin(&self, now: UnixTime) -> Result<SsoStart, PeopleError> {
        let (sso, _) = self.sso.get().await?;
        Ok(sso.begin(self.keys.sso.as_ref(), self.rng.as_ref(), now))
    }

    /// Completes a single sign-on: validates the provider's answer, maps its claims to a
    /// role, creates or updates the account, and starts a session.
    pub async fn sso_finish(
        &self,
        cookie: Option<&str>,
        query: &CallbackQuery,
        address: &str,
        now: UnixTime,
    ) -> Result<SignIn, PeopleError> {
        let (sso, config) = self.sso.get().await?;
        let identity = match sso.finish(self.keys.sso.as_ref(), cookie, query, now).await {
            Ok(identity) => identity,
            Err(e) => {
                self.audit(
                    AuditEvent::new(now, "anonymous", AuditAction::SignInFailed).detail(format!(
                        "single sign-on ({}), from {address}",
                        sso_reason(&e)
                    )),
                )
                .await;
                return Err(PeopleError::Sso(e.to_string()));
            }
        };
        let Some(role) = config.roles.role_for(&identity.role_values) else {
            self.audit(
                AuditEvent::new(now, &actor_of(&identity), AuditAction::SignInFailed).detail(
                    format!("single sign-on: no role for its claims, from {address}"),
                ),
            )
            .await;
            return Err(PeopleError::NoRole);
        };
        let admin = self.sso_account(&identity, role, now).await?;
        if !admin.is_active() {
            self.audit(
                AuditEvent::new(now, &admin.email.actor(), AuditAction::SignInFailed).detail(
                    format!("single sign-on: the account is disabled, from {address}"),
                ),
            )
            .await;
            return Err(PeopleError::SignInFailed);
        }
        let cookie = self
            .start_session(&admin, SessionStage::Active, address, now)
            .await?;
        self.signed_in(&admin, "single sign-on", address, now)
            .await?;
        Ok(SignIn {
            cookie,
            stage: SessionStage::Active,
            admin,
        })
    }

    /// The account for a provider identity: found by its subject, else by a verified email
    /// address (and linked), else created. The provider's role is authoritative.
    async fn sso_account(
        &self,
        identity: &SsoIdentity,
        role: Role,
        now: UnixTime,
    ) -> Result<crate::domain::admin::Admin, PeopleError> {
        let subject = format!("{} {}", identity.issuer, identity.subject);
        let email = identity
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|_| PeopleError::Sso("the provider gave an invalid email address".into()))?
            .ok_or_else(|| PeopleError::Sso("the provider gave no email address".into()))?;
        let mut found = self.store.find_admin_by_sso(&subject).await?;
        if found.is_none() && identity.email_verified == Some(true) {
            found = self.store.find_admin_by_email(&email).await?;
        }
        let actor = email.actor();
        match found {
            Some(record) => {
                let admin = record.admin;
                if admin.role == role || !admin.is_active() {
                    return Ok(admin);
                }
                let patch = super::AdminPatch {
                    role: Some(role),
                    ..Default::default()
                };
                self.update_admin(&format!("{actor} (single sign-on)"), &admin.id, patch, now)
                    .await
            }
            None => {
                let name = identity
                    .name
                    .as_deref()
                    .and_then(|n| parse_display_name(n).ok())
                    .unwrap_or_else(|| email.as_str().to_owned());
                let mut admin = self.new_admin(email, &name, role, now);
                admin.sso_subject = Some(subject);
                self.store.insert_admin(&admin, None).await?;
                self.audit(
                    AuditEvent::new(now, &actor, AuditAction::AdminCreated)
                        .detail(format!("{} as {role}, by single sign-on", admin.email)),
                )
                .await;
                Ok(admin)
            }
        }
    }
}

fn actor_of(identity: &SsoIdentity) -> String {
    identity.email.as_deref().map_or_else(
        || format!("sso:{}", identity.subject),
        |e| format!("admin:{e}"),
    )
}

fn sso_reason(e: &SsoError) -> &'static str {
    match e {
        SsoError::Discovery(_) => "provider unreachable",
        SsoError::BadState => "state or cookie invalid",
        SsoError::ProviderError(_) => "the provider refused",
        SsoError::Exchange(_) => "code exchange failed",
        SsoError::InvalidIdToken(_) => "ID token invalid",
    }
}
