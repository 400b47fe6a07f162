//! The people who administer Tollgate: accounts and roles (`accounts`), one-time links
//! (`links`), console sign-in with a password and a second factor (`signin`), sessions
//! (`sessions`) and single sign-on (`single_sign_on`). Nothing here knows of HTTP.

mod accounts;
mod enrolment;
mod links;
mod sessions;
mod signin;
mod single_sign_on;

use std::sync::{Arc, Mutex};

use aws_lc_rs::hmac;
use zeroize::Zeroizing;

pub use accounts::{AdminPatch, BootstrapOwner, NewInvitation};
pub use enrolment::Enrolment;
pub use links::recovery_link;
pub use sessions::{Person, SessionError};
pub use signin::SignIn;
pub use single_sign_on::{CALLBACK_PATH as SSO_CALLBACK_PATH, SsoConfig, SsoRoles};

use crate::clock::{Clock, Rng, UnixTime, random_bytes};
use crate::domain::admin::SessionPolicy;
use crate::domain::audit::AuditEvent;
use crate::domain::backoff::Backoff;
use crate::domain::client::FieldError;
use crate::keys::sealing::{KEK_LEN, open_or_upgrade};
use crate::keys::{Kek, SealError};
use crate::store::{Store, StoreError};

const CONSOLE_KEY: &str = "console_key";

/// Whether a second factor is required of people who sign in with a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MfaPolicy {
    #[default]
    Required,
    Optional,
}

impl MfaPolicy {
    pub fn parse(s: &str) -> Option<MfaPolicy> {
        match s {
            "required" => Some(MfaPolicy::Required),
            "optional" => Some(MfaPolicy::Optional),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ConsoleSettings {
    /// The issuer URL: links and cookies are built from it.
    pub issuer: String,
    pub mfa: MfaPolicy,
    pub sessions: SessionPolicy,
    pub sso: Option<SsoConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    #[error("the request is invalid")]
    Validation(Vec<FieldError>),
    #[error("an administrator with this email address already exists")]
    EmailTaken,
    #[error("no administrator with this id")]
    NotFound,
    #[error("this would leave no active owner: make another administrator an owner first")]
    LastOwner,
    #[error("this link is not valid: it was used already, has expired, or was never issued")]
    LinkInvalid,
    /// Wrong email, password or code: deliberately one case.
    #[error("the email address or password is not right")]
    SignInFailed,
    #[error("the code is not right, or was used already")]
    CodeRejected,
    #[error("too many failed attempts: try again in {0} s")]
    TryLater(u64),
    #[error("single sign-on: {0}")]
    Sso(String),
    #[error("your single sign-on account has no role in Tollgate")]
    NoRole,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for PeopleError {
    fn from(e: StoreError) -> PeopleError {
        match e {
            StoreError::EmailTaken => PeopleError::EmailTaken,
            other => PeopleError::Store(other),
        }
    }
}

impl PeopleError {
    fn field(field: &str, message: &str) -> PeopleError {
        PeopleError::Validation(vec![FieldError::new(field, message)])
    }
}

/// Keys derived from the console key, each for one purpose.
struct ConsoleKeys {
    /// Binds a form's anti-forgery token to its session.
    csrf: hmac::Key,
    /// Binds a single sign-on attempt to its browser.
    sso: Zeroizing<[u8; 32]>,
    /// Keys the hashes of recovery codes.
    recovery: Zeroizing<[u8; 32]>,
    /// Seals TOTP secrets at rest, and an enrolment's secret between its two pages.
    totp: Kek,
}

impl std::fmt::Debug for ConsoleKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleKeys(<redacted>)")
    }
}

fn derive(root: &[u8], label: &str) -> Zeroizing<[u8; 32]> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, root);
    let tag = hmac::sign(&key, label.as_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(tag.as_ref());
    out
}

impl ConsoleKeys {
    fn new(root: &[u8]) -> ConsoleKeys {
        let csrf = derive(root, "tollgate console csrf");
        let totp = derive(root, "tollgate console totp");
        ConsoleKeys {
            csrf: hmac::Key::new(hmac::HMAC_SHA256, csrf.as_ref()),
            sso: derive(root, "tollgate console sso"),
            recovery: derive(root, "tollgate console recovery"),
            totp: Kek::new(&totp),
        }
    }
}

/// The console key, sealed under the key-encryption key like the secret-hashing key, created
/// on the first start (concurrent first starts agree on one).
pub async fn console_key(
    store: &dyn Store,
    kek: &Kek,
    previous: Option<&Kek>,
    rng: &dyn Rng,
    now: UnixTime,
) -> Result<Zeroizing<Vec<u8>>, ConsoleKeyError> {
    let aad = format!("instance-key:{CONSOLE_KEY}");
    let fresh = Zeroizing::new(random_bytes::<KEK_LEN>(rng));
    let candidate = kek.seal(fresh.as_ref(), &aad, rng);
    let stored = store.instance_key(CONSOLE_KEY, &candidate, now).await?;
    let (key, resealed) = open_or_upgrade(&stored, &aad, kek, previous, rng)?;
    if let Some(blob) = resealed {
        store.set_instance_key(CONSOLE_KEY, &blob).await?;
    }
    Ok(key)
}

#[derive(Debug, thiserror::Error)]
pub enum ConsoleKeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the console key cannot be decrypted: {0}")]
    Seal(#[from] SealError),
}

/// The administrators' service.
#[derive(Debug)]
pub struct People {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    keys: ConsoleKeys,
    settings: ConsoleSettings,
    backoff: Mutex<Backoff>,
    sso: single_sign_on::Provider,
    /// Changes that must keep an active owner are serialised on this node.
    write_lock: tokio::sync::Mutex<()>,
}

impl People {
    pub fn new(
        store: Arc<dyn Store>,
        console_key: &[u8],
        settings: ConsoleSettings,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> People {
        let sso = single_sign_on::Provider::new(settings.sso.clone(), &settings.issuer);
        People {
            store,
            clock,
            rng,
            keys: ConsoleKeys::new(console_key),
            settings,
            backoff: Mutex::new(Backoff::default()),
            sso,
            write_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub fn settings(&self) -> &ConsoleSettings {
        &self.settings
    }

    /// Whether the console cookie must be `Secure` and `__Host-` prefixed.
    pub fn https(&self) -> bool {
        self.settings.issuer.starts_with("https:")
    }

    /// Records an event; a failure to record is logged, never fatal to the operation.
    async fn audit(&self, event: AuditEvent) {
        if let Err(e) = self.store.insert_audit(&event).await {
            tracing::error!(error = %e, action = event.action.as_str(), "could not record an audit event");
        }
    }
}
