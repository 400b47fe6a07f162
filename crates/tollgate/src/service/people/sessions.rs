//! Console sessions: stored by digest, checked on every request, so deleting a row (sign out,
//! a disabled or deleted administrator, a role change) ends it on every node at once.

use crate::domain::actor::Actor;
use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;

use super::{People, PeopleError};
use crate::clock::UnixTime;
use crate::domain::admin::{Admin, BearerValue, Session, SessionStage};
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::hex;
use crate::store::StoreError;

/// How often a session's last activity is written: an idle timeout of minutes needs no
/// write per page view.
const TOUCH_EVERY_SECS: i64 = 60;

/// A person signed in (or part way through signing in) to the console.
#[derive(Debug, Clone)]
pub struct Person {
    pub admin: Admin,
    pub session: Session,
    csrf: String,
}

impl Person {
    /// The actor of what this person does, in the audit trail.
    pub fn actor(&self) -> String {
        self.admin.email.actor()
    }

    /// This person as the actor of a change, with the permissions of their role.
    pub fn acting(&self) -> Actor {
        Actor::new(self.actor(), self.admin.role.scopes().iter().copied())
    }

    /// The anti-forgery token the console's forms carry.
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }

    pub fn csrf_matches(&self, presented: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(presented.as_bytes()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No cookie, a forged one, or a session that ended or expired.
    #[error("you are not signed in, or your session has ended")]
    NotSignedIn,
    /// Signed in part way: the second factor is still to come, or must be enrolled.
    #[error("finish signing in first")]
    Unfinished(SessionStage),
    #[error("your role does not allow this")]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl People {
    /// The person a session cookie stands for, at any stage of signing in.
    pub async fn authenticate(
        &self,
        cookie: Option<&str>,
        now: UnixTime,
    ) -> Result<Person, SessionError> {
        let value = cookie
            .and_then(BearerValue::parse)
            .ok_or(SessionError::NotSignedIn)?;
        let digest = value.digest();
        let session = self
            .store
            .get_session(&digest)
            .await?
            .ok_or(SessionError::NotSignedIn)?;
        if !session.is_live(self.settings.sessions, now) {
            self.store.delete_session(&digest).await?;
            return Err(SessionError::NotSignedIn);
        }
        let admin = match self.store.get_admin(&session.admin_id).await? {
            Some(record) if record.admin.is_active() && record.admin.role == session.role => {
                record.admin
            }
            _ => {
                self.store.delete_session(&digest).await?;
                return Err(SessionError::NotSignedIn);
            }
        };
        if now.0 - session.last_seen_at.0 >= TOUCH_EVERY_SECS {
            self.store.touch_session(&digest, now).await?;
        }
        let csrf = self.csrf_for(&digest);
        Ok(Person {
            admin,
            session,
            csrf,
        })
    }

    /// The person a session cookie stands for, fully signed in, whose role holds `scope`:
    /// the same permission a machine client's token would need for the operation.
    pub async fn authorize(
        &self,
        cookie: Option<&str>,
        scope: &str,
        now: UnixTime,
    ) -> Result<Person, SessionError> {
        let person = self.authenticate(cookie, now).await?;
        if person.session.stage != SessionStage::Active {
            return Err(SessionError::Unfinished(person.session.stage));
        }
        if !person.admin.role.allows(scope) {
            return Err(SessionError::Forbidden);
        }
        Ok(person)
    }

    /// Ends this session.
    pub async fn sign_out(&self, person: &Person) -> Result<(), PeopleError> {
        self.store.delete_session(&person.session.digest).await?;
        Ok(())
    }

    /// Ends every session of the person, on every node.
    pub async fn sign_out_everywhere(
        &self,
        person: &Person,
        now: UnixTime,
    ) -> Result<u64, PeopleError> {
        let ended = self.end_sessions_of(&person.admin.id).await?;
        self.audit(
            AuditEvent::new(now, &person.actor(), AuditAction::SessionsRevoked)
                .detail(format!("{ended} sessions of {}", person.admin.email)),
        )
        .await;
        Ok(ended)
    }

    /// Starts a session at `stage`; the cookie value is returned, only its digest stored.
    pub(super) async fn start_session(
        &self,
        admin: &Admin,
        stage: SessionStage,
        address: &str,
        now: UnixTime,
    ) -> Result<BearerValue, PeopleError> {
        let value = BearerValue::generate(self.rng.as_ref());
        let lifetime = match stage {
            SessionStage::Active => self.settings.sessions.absolute_secs,
            _ => crate::domain::admin::PENDING_SESSION_SECS,
        };
        let session = Session {
            digest: value.digest(),
            admin_id: admin.id.clone(),
            stage,
            role: admin.role,
            created_at: now,
            last_seen_at: now,
            expires_at: now.plus_secs(lifetime),
            address: address.chars().take(64).collect(),
        };
        self.store.insert_session(&session).await?;
        Ok(value)
    }

    /// Replaces a session part way through signing in with a new, fully signed-in one: the
    /// cookie changes when the privilege does.
    pub(super) async fn promote(
        &self,
        person: &Person,
        now: UnixTime,
    ) -> Result<BearerValue, PeopleError> {
        self.store.delete_session(&person.session.digest).await?;
        let value = self
            .start_session(
                &person.admin,
                SessionStage::Active,
                &person.session.address,
                now,
            )
            .await?;
        self.store.record_sign_in(&person.admin.id, now).await?;
        Ok(value)
    }

    fn csrf_for(&self, digest: &str) -> String {
        let tag = hmac::sign(&self.keys.csrf, digest.as_bytes());
        hex(&tag.as_ref()[..16])
    }

    /// Removes sessions past their absolute lifetime (upkeep).
    pub async fn prune_sessions(&self, now: UnixTime) -> Result<u64, PeopleError> {
        Ok(self.store.prune_sessions(now).await?)
    }
}
