//! Enrolling (and removing) the TOTP second factor, with its recovery codes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::sessions::Person;
use super::signin::{SignIn, totp_aad};
use super::{MfaPolicy, People, PeopleError};
use crate::clock::UnixTime;
use crate::domain::admin::SessionStage;
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::recovery::{self, RecoveryCode};
use crate::domain::totp::TotpSecret;

/// How authenticator apps name the account.
const TOTP_ISSUER: &str = "Tollgate";

/// A second factor being enrolled: what the person's authenticator app needs, and the secret
/// sealed for the form that confirms it (it is stored only once a code proves the app has it).
#[derive(Debug)]
pub struct Enrolment {
    pub setup_key: String,
    pub qr_svg: String,
    pub pending: String,
}

impl People {
    /// A new TOTP secret to enrol (the first time, or to replace the authenticator).
    pub fn begin_enrolment(&self, person: &Person) -> Enrolment {
        let secret = TotpSecret::generate(self.rng.as_ref());
        let account = person.admin.email.as_str();
        let sealed = self.keys.totp.seal(
            secret.as_bytes(),
            &pending_aad(&person.session.digest),
            self.rng.as_ref(),
        );
        Enrolment {
            setup_key: secret.setup_key(),
            qr_svg: secret.qr_svg(TOTP_ISSUER, account),
            pending: URL_SAFE_NO_PAD.encode(sealed),
        }
    }

    /// The same enrolment again (its code was wrong), from the form's sealed secret.
    pub fn reopen_enrolment(&self, person: &Person, pending: &str) -> Option<Enrolment> {
        let secret = self.open_pending(person, pending)?;
        Some(Enrolment {
            setup_key: secret.setup_key(),
            qr_svg: secret.qr_svg(TOTP_ISSUER, person.admin.email.as_str()),
            pending: pending.to_owned(),
        })
    }

    fn open_pending(&self, person: &Person, pending: &str) -> Option<TotpSecret> {
        let sealed = URL_SAFE_NO_PAD.decode(pending).ok()?;
        let plain = self
            .keys
            .totp
            .open(&sealed, &pending_aad(&person.session.digest))
            .ok()?;
        TotpSecret::from_bytes(plain.to_vec())
    }

    /// Confirms an enrolment with a code from the app: stores the secret, replaces the
    /// recovery codes and returns them (shown once). A session at the enrolment stage is
    /// signed in fully with it.
    pub async fn finish_enrolment(
        &self,
        person: &Person,
        pending: &str,
        code: &str,
        now: UnixTime,
    ) -> Result<(Vec<RecoveryCode>, Option<SignIn>), PeopleError> {
        let secret = self
            .open_pending(person, pending)
            .ok_or(PeopleError::CodeRejected)?;
        let Some(step) = secret.verify(code, now, None) else {
            return Err(PeopleError::CodeRejected);
        };
        let codes = recovery::generate_codes(self.rng.as_ref());
        let digests: Vec<String> = codes
            .iter()
            .filter_map(|c| recovery::normalize(c.expose()))
            .map(|n| recovery::digest(self.keys.recovery.as_ref(), &n))
            .collect();
        let sealed = self.keys.totp.seal(
            secret.as_bytes(),
            &totp_aad(&person.admin),
            self.rng.as_ref(),
        );
        if !self
            .store
            .set_second_factor(&person.admin.id, Some(&sealed), &digests, now)
            .await?
        {
            return Err(PeopleError::NotFound);
        }
        // The code that proved the enrolment is used up.
        self.store.use_totp_step(&person.admin.id, step).await?;
        self.audit(AuditEvent::new(
            now,
            &person.actor(),
            AuditAction::MfaEnrolled,
        ))
        .await;
        let signed_in = if person.session.stage == SessionStage::Enrol {
            Some(
                self.finish(person, "password, then enrolled a second factor", now)
                    .await?,
            )
        } else {
            None
        };
        Ok((codes, signed_in))
    }

    /// Removes the second factor, where the policy lets people go without one.
    pub async fn remove_second_factor(
        &self,
        person: &Person,
        now: UnixTime,
    ) -> Result<(), PeopleError> {
        if self.settings.mfa == MfaPolicy::Required {
            return Err(PeopleError::field(
                "second_factor",
                "this installation requires a second factor: enrol a new one instead",
            ));
        }
        self.store
            .set_second_factor(&person.admin.id, None, &[], now)
            .await?;
        self.audit(AuditEvent::new(
            now,
            &person.actor(),
            AuditAction::MfaRemoved,
        ))
        .await;
        Ok(())
    }
}

fn pending_aad(session_digest: &str) -> String {
    format!("totp-enrolment:{session_digest}")
}
