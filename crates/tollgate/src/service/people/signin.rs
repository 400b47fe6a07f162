//! Signing in with a password and a second factor (TOTP, or a recovery code), enrolling the
//! second factor, and the backoff that slows password guessing down.

use super::accounts::parse_password;
use super::sessions::Person;
use super::{MfaPolicy, People, PeopleError};
use crate::clock::{UnixTime, random_bytes};
use crate::domain::admin::{Admin, BearerValue, Email, SessionStage};
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::backoff::{ACCOUNT_LIMITS, ADDRESS_LIMITS, Limits};
use crate::domain::password::{
    Password, PasswordHash, dummy_hash, hash_password, needs_rehash, verify_password,
};
use crate::domain::recovery;
use crate::domain::totp::TotpSecret;

/// A session begun: the cookie to set, and how far signing in got.
#[derive(Debug)]
pub struct SignIn {
    pub cookie: BearerValue,
    pub stage: SessionStage,
    pub admin: Admin,
}

/// The anonymous actor of failed sign-ins for addresses no account has.
const UNKNOWN_ACTOR: &str = "anonymous";

impl People {
    /// Email and password. An unknown address, a wrong password, a disabled account and an
    /// account without a password give the same answer after the same work.
    pub async fn sign_in(
        &self,
        email: &str,
        password: String,
        address: &str,
        now: UnixTime,
    ) -> Result<SignIn, PeopleError> {
        let typed = email.trim().to_lowercase();
        let account_key = format!("account:{typed}");
        let address_key = format!("address:{address}");
        let keys: [(&str, Limits); 2] = [
            (&account_key, ACCOUNT_LIMITS),
            (&address_key, ADDRESS_LIMITS),
        ];
        self.backoff_check(&keys, now)?;
        let password = Password::parse(password).ok();
        let record = match Email::parse(email) {
            Ok(e) => self.store.find_admin_by_email(&e).await?,
            Err(_) => None,
        };
        let stored = record
            .as_ref()
            .and_then(|r| r.password_hash.clone())
            .map(PasswordHash::from_stored);
        let stored_hash = stored.clone();
        let fresh = password.clone();
        let verified = self.verify(password, stored).await;
        let admin = match record {
            Some(r) if verified && r.admin.is_active() => r.admin,
            other => {
                self.fail(&keys, now);
                let actor = other
                    .as_ref()
                    .map_or_else(|| UNKNOWN_ACTOR.to_owned(), |r| r.admin.email.actor());
                self.audit(
                    AuditEvent::new(now, &actor, AuditAction::SignInFailed)
                        .detail(format!("password, from {address}")),
                )
                .await;
                return Err(PeopleError::SignInFailed);
            }
        };
        self.succeed(&account_key);
        // Parameters raised since this password was set: store it at today's cost.
        if stored_hash.as_ref().is_some_and(needs_rehash)
            && let Some(p) = fresh
        {
            let rehashed = self.hash_password(p).await;
            self.store
                .set_password(&admin.id, rehashed.as_str(), now)
                .await?;
        }
        let stage = if admin.mfa_enrolled {
            SessionStage::SecondFactor
        } else if self.settings.mfa == MfaPolicy::Required {
            SessionStage::Enrol
        } else {
            SessionStage::Active
        };
        let cookie = self.start_session(&admin, stage, address, now).await?;
        if stage == SessionStage::Active {
            self.signed_in(&admin, "password", address, now).await?;
        }
        Ok(SignIn {
            cookie,
            stage,
            admin,
        })
    }

    /// The second step: a TOTP code, accepted once.
    pub async fn second_factor(
        &self,
        person: &Person,
        code: &str,
        now: UnixTime,
    ) -> Result<SignIn, PeopleError> {
        let accepted = async {
            let record = self
                .store
                .get_admin(&person.admin.id)
                .await?
                .ok_or(PeopleError::NotFound)?;
            let secret = record
                .totp_secret
                .as_deref()
                .and_then(|sealed| self.open_totp(&person.admin, sealed));
            Ok(match secret.and_then(|s| s.verify(code, now, None)) {
                Some(step) => self.store.use_totp_step(&person.admin.id, step).await?,
                None => false,
            })
        };
        self.second_step(person, "authentication code", now, accepted)
            .await?;
        self.finish(person, "password and authentication code", now)
            .await
    }

    /// The second step with a recovery code instead, each usable once.
    pub async fn recovery_code(
        &self,
        person: &Person,
        code: &str,
        now: UnixTime,
    ) -> Result<SignIn, PeopleError> {
        let accepted = async {
            Ok(match recovery::normalize(code) {
                Some(normal) => {
                    let digest = recovery::digest(self.keys.recovery.as_ref(), &normal);
                    self.store
                        .use_recovery_code(&person.admin.id, &digest, now)
                        .await?
                }
                None => false,
            })
        };
        self.second_step(person, "recovery code", now, accepted)
            .await?;
        let left = self.store.recovery_codes_left(&person.admin.id).await?;
        self.audit(
            AuditEvent::new(now, &person.actor(), AuditAction::RecoveryCodeUsed)
                .detail(format!("{left} left")),
        )
        .await;
        self.finish(person, "password and recovery code", now).await
    }

    /// A second step under the backoff: `accepted` runs only when the person may try now;
    /// a refusal counts as a failure and is audited.
    async fn second_step(
        &self,
        person: &Person,
        what: &str,
        now: UnixTime,
        accepted: impl Future<Output = Result<bool, PeopleError>>,
    ) -> Result<(), PeopleError> {
        let account = format!("account:{}", person.admin.email.key());
        let address = format!("address:{}", person.session.address);
        let keys = [
            (account.as_str(), ACCOUNT_LIMITS),
            (address.as_str(), ADDRESS_LIMITS),
        ];
        self.backoff_check(&keys, now)?;
        if !accepted.await? {
            self.fail(&keys, now);
            self.audit(
                AuditEvent::new(now, &person.actor(), AuditAction::SignInFailed)
                    .detail(format!("{what}, from {}", person.session.address)),
            )
            .await;
            return Err(PeopleError::CodeRejected);
        }
        self.succeed(&account);
        Ok(())
    }

    /// Changes the password of a signed-in person, who proves the current one. Wrong
    /// current passwords count against the same backoff as failed sign-ins (a session alone
    /// is not enough to guess the password), and an account without a password (single
    /// sign-on) gets none this way.
    pub async fn change_password(
        &self,
        person: &Person,
        current: String,
        new: String,
        now: UnixTime,
    ) -> Result<(), PeopleError> {
        let new = parse_password(new).map_err(|e| PeopleError::Validation(vec![e]))?;
        let account = format!("account:{}", person.admin.email.key());
        let address = format!("address:{}", person.session.address);
        let keys = [
            (account.as_str(), ACCOUNT_LIMITS),
            (address.as_str(), ADDRESS_LIMITS),
        ];
        self.backoff_check(&keys, now)?;
        let record = self
            .store
            .get_admin(&person.admin.id)
            .await?
            .ok_or(PeopleError::NotFound)?;
        let Some(stored) = record.password_hash.map(PasswordHash::from_stored) else {
            return Err(PeopleError::field(
                "current_password",
                "this account signs in with single sign-on and has no password",
            ));
        };
        if !self
            .verify(Password::parse(current).ok(), Some(stored))
            .await
        {
            self.fail(&keys, now);
            self.audit(
                AuditEvent::new(now, &person.actor(), AuditAction::SignInFailed).detail(format!(
                    "current password, to change it, from {}",
                    person.session.address
                )),
            )
            .await;
            return Err(PeopleError::field(
                "current_password",
                "is not your current password",
            ));
        }
        self.succeed(&account);
        let hash = self.hash_password(new).await;
        self.store
            .set_password(&person.admin.id, hash.as_str(), now)
            .await?;
        self.audit(AuditEvent::new(
            now,
            &person.actor(),
            AuditAction::PasswordChanged,
        ))
        .await;
        Ok(())
    }

    /// Argon2id, off the async runtime: it takes tens of milliseconds of CPU on purpose.
    pub(super) async fn hash_password(&self, password: Password) -> PasswordHash {
        let salt = random_bytes::<16>(self.rng.as_ref());
        match tokio::task::spawn_blocking(move || hash_password(&password, salt)).await {
            Ok(hash) => hash,
            // The blocking pool is gone only while the runtime shuts down.
            Err(_) => PasswordHash::from_stored(String::new()),
        }
    }

    /// Verifies against the stored hash, or against a dummy hash when there is none, so both
    /// cases take the same time.
    async fn verify(&self, password: Option<Password>, stored: Option<PasswordHash>) -> bool {
        let has_stored = stored.is_some();
        let result = tokio::task::spawn_blocking(move || {
            let hash = stored.unwrap_or_else(|| dummy_hash().clone());
            match password {
                Some(p) => verify_password(&p, &hash),
                None => {
                    // An out-of-bounds password cannot be right, but costs the same to refuse.
                    if let Ok(filler) = Password::parse("x".repeat(12)) {
                        std::hint::black_box(verify_password(&filler, &hash));
                    }
                    false
                }
            }
        })
        .await;
        has_stored && result.unwrap_or(false)
    }

    pub(super) async fn finish(
        &self,
        person: &Person,
        how: &str,
        now: UnixTime,
    ) -> Result<SignIn, PeopleError> {
        let cookie = self.promote(person, now).await?;
        self.signed_in(&person.admin, how, &person.session.address, now)
            .await?;
        Ok(SignIn {
            cookie,
            stage: SessionStage::Active,
            admin: person.admin.clone(),
        })
    }

    pub(super) async fn signed_in(
        &self,
        admin: &Admin,
        how: &str,
        address: &str,
        now: UnixTime,
    ) -> Result<(), PeopleError> {
        self.store.record_sign_in(&admin.id, now).await?;
        self.audit(
            AuditEvent::new(now, &admin.email.actor(), AuditAction::SignedIn)
                .detail(format!("{how}, from {address}")),
        )
        .await;
        Ok(())
    }

    fn open_totp(&self, admin: &Admin, sealed: &[u8]) -> Option<TotpSecret> {
        let plain = self.keys.totp.open(sealed, &totp_aad(admin)).ok()?;
        TotpSecret::from_bytes(plain.to_vec())
    }

    fn backoff_check(&self, keys: &[(&str, Limits)], now: UnixTime) -> Result<(), PeopleError> {
        let wait = match self.backoff.lock() {
            Ok(mut b) => b.wait(keys, now),
            Err(poisoned) => poisoned.into_inner().wait(keys, now),
        };
        if wait > 0 {
            return Err(PeopleError::TryLater(wait));
        }
        Ok(())
    }

    fn fail(&self, keys: &[(&str, Limits)], now: UnixTime) {
        match self.backoff.lock() {
            Ok(mut b) => b.fail(keys, now),
            Err(poisoned) => poisoned.into_inner().fail(keys, now),
        }
    }

    fn succeed(&self, account_key: &str) {
        match self.backoff.lock() {
            Ok(mut b) => b.succeed(account_key),
            Err(poisoned) => poisoned.into_inner().succeed(account_key),
        }
    }
}

pub(super) fn totp_aad(admin: &Admin) -> String {
    format!("totp-secret:{}", admin.id)
}
