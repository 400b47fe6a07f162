//! Administrators: the people who sign in to the console, their roles, and the one-time links
//! and sessions that stand for them. Roles grant the same fine-grained admin permissions a
//! machine client's token carries, through [`permits`], so a role and a scope never disagree
//! about what an operation needs.

use std::fmt;

pub use super::bearer::BearerValue;
use super::client::FieldError;
use super::hex;
use super::scope::{
    ADMIN_SCOPE, APIS_READ_SCOPE, APIS_WRITE_SCOPE, AUDIT_READ_SCOPE, CLIENTS_READ_SCOPE,
    CLIENTS_WRITE_SCOPE, KEYS_READ_SCOPE,
};
use crate::clock::{Rng, UnixTime, random_bytes};

pub const ADMIN_ID_PREFIX: &str = "adm_";
pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_DISPLAY_NAME_LEN: usize = 100;
/// The actor of audit events a person causes through the console.
pub const PERSON_ACTOR_PREFIX: &str = "admin:";

/// Whether the permissions `held` allow an operation that needs `needed`: holding it, or
/// `tollgate:admin`, which allows every operation. Tokens and roles are both checked here.
pub fn permits<'a>(mut held: impl Iterator<Item = &'a str>, needed: &str) -> bool {
    held.any(|s| s == needed || s == ADMIN_SCOPE)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including administrators, signing keys and settings.
    Owner,
    /// APIs, clients and secrets; reads keys and the audit trail.
    Manager,
    /// Reads what a manager can change; changes nothing.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Manager, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Result<Role, FieldError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| FieldError::new("role", "must be one of owner, manager, viewer"))
    }

    /// The admin permissions the role holds: what a machine client's token would carry.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Role::Owner => &[ADMIN_SCOPE],
            Role::Manager => &[
                CLIENTS_READ_SCOPE,
                CLIENTS_WRITE_SCOPE,
                APIS_READ_SCOPE,
                APIS_WRITE_SCOPE,
                KEYS_READ_SCOPE,
                AUDIT_READ_SCOPE,
            ],
            Role::Viewer => &[
                CLIENTS_READ_SCOPE,
                APIS_READ_SCOPE,
                KEYS_READ_SCOPE,
                AUDIT_READ_SCOPE,
            ],
        }
    }

    pub fn allows(self, needed: &str) -> bool {
        permits(self.scopes().iter().copied(), needed)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `adm_` + 96 random bits in hex.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AdminId(String);

impl AdminId {
    pub fn generate(rng: &dyn Rng) -> AdminId {
        AdminId(format!(
            "{ADMIN_ID_PREFIX}{}",
            hex(&random_bytes::<12>(rng))
        ))
    }

    pub fn parse(s: &str) -> Result<AdminId, FieldError> {
        let ok = s.strip_prefix(ADMIN_ID_PREFIX).is_some_and(|rest| {
            rest.len() == 24 && rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if ok {
            Ok(AdminId(s.to_owned()))
        } else {
            Err(FieldError::new("admin_id", "is not an administrator id"))
        }
    }

    pub fn from_stored(s: String) -> AdminId {
        AdminId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AdminId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address as the person typed it; compared without regard to case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// A deliberately plain check (one `@`, a dot in the domain, no spaces or controls):
    /// Tollgate sends no mail, the address only names a person.
    pub fn parse(s: &str) -> Result<Email, FieldError> {
        let s = s.trim();
        let bad = |m: &str| Err(FieldError::new("email", m));
        if s.is_empty() {
            return bad("is required");
        }
        if s.chars().count() > MAX_EMAIL_LEN {
            return bad("must be at most 254 characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return bad("must be an email address such as ada@example.com");
        };
        let ok = !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(Email(s.to_owned()))
        } else {
            bad("must be an email address such as ada@example.com")
        }
    }

    pub fn from_stored(s: String) -> Email {
        Email(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What uniqueness and look-ups use.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    /// The actor this person leaves in the audit trail.
    pub fn actor(&self) -> String {
        format!("{PERSON_ACTOR_PREFIX}{}", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a person is shown: 1 to 100 characters, no control or bidirectional formatting
/// characters.
pub fn parse_display_name(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new("display_name", "is required"));
    }
    if s.chars().count() > MAX_DISPLAY_NAME_LEN {
        return Err(FieldError::new(
            "display_name",
            "must be at most 100 characters",
        ));
    }
    if s.chars()
        .any(|c| c.is_control() || super::client::is_bidi_format(c))
    {
        return Err(FieldError::new(
            "display_name",
            "must not contain control or formatting characters",
        ));
    }
    Ok(s.to_owned())
}

/// An administrator account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin {
    pub id: AdminId,
    pub email: Email,
    pub display_name: String,
    pub role: Role,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub last_sign_in_at: Option<UnixTime>,
    pub disabled_at: Option<UnixTime>,
    /// A TOTP second factor is enrolled.
    pub mfa_enrolled: bool,
    /// Created by single sign-on: `issuer` + ` ` + `sub` of the provider's ID token.
    pub sso_subject: Option<String>,
}

impl Admin {
    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none()
    }
}

/// What a one-time link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// The first owner of a fresh installation.
    Setup,
    /// A person invited with a role.
    Invite,
    /// A new password for a locked-out administrator.
    Reset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Setup => "setup",
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<LinkPurpose> {
        [LinkPurpose::Setup, LinkPurpose::Invite, LinkPurpose::Reset]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    /// How long a link stays usable.
    pub fn lifetime_secs(self) -> u64 {
        match self {
            LinkPurpose::Setup | LinkPurpose::Reset => 3600,
            LinkPurpose::Invite => 7 * 24 * 3600,
        }
    }

    /// The console page that takes the link.
    pub fn path(self) -> &'static str {
        match self {
            LinkPurpose::Setup => "/console/setup",
            LinkPurpose::Invite => "/console/invite",
            LinkPurpose::Reset => "/console/reset",
        }
    }
}

/// A pending one-time link as stored.
#[derive(Clone, Debug)]
pub struct OneTimeLink {
    pub digest: String,
    pub purpose: LinkPurpose,
    /// Invitations: the address and role the person gets.
    pub email: Option<Email>,
    pub role: Option<Role>,
    /// Reset links: whose password it sets.
    pub admin_id: Option<AdminId>,
    pub created_by: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// How far a session has got through sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStage {
    /// The password was right; the second factor is still to come.
    SecondFactor,
    /// The password was right and a second factor is required but none is enrolled: the person
    /// reaches the enrolment page and nothing else.
    Enrol,
    /// Signed in.
    Active,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::SecondFactor => "second_factor",
            SessionStage::Enrol => "enrol",
            SessionStage::Active => "active",
        }
    }

    pub fn parse(s: &str) -> Option<SessionStage> {
        [
            SessionStage::SecondFactor,
            SessionStage::Enrol,
            SessionStage::Active,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// A console session as stored (its cookie value is not: only its digest).
#[derive(Clone, Debug)]
pub struct Session {
    pub digest: String,
    pub admin_id: AdminId,
    pub stage: SessionStage,
    /// The role when the session began: a role change ends the session.
    pub role: Role,
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
    pub expires_at: UnixTime,
    pub address: String,
}

/// Lifetimes of console sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    pub absolute_secs: u64,
    pub idle_secs: u64,
}

impl Default for SessionPolicy {
    fn default() -> SessionPolicy {
        SessionPolicy {
            absolute_secs: 12 * 3600,
            idle_secs: 30 * 60,
        }
    }
}

/// A session not signed in fully yet lasts this long at most.
pub const PENDING_SESSION_SECS: u64 = 10 * 60;

impl Session {
    /// Whether the session may still be used at `now`.
    pub fn is_live(&self, policy: SessionPolicy, now: UnixTime) -> bool {
        let idle_limit = match self.stage {
            SessionStage::Active => policy.idle_secs,
            SessionStage::SecondFactor | SessionStage::Enrol => PENDING_SESSION_SECS,
        };
        now < self.expires_at && now < self.last_seen_at.plus_secs(idle_limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scope::KEYS_WRITE_SCOPE;

    #[test]
    fn roles_grant_the_permissions_the_issue_names() {
        for scope in [ADMIN_SCOPE, KEYS_WRITE_SCOPE, CLIENTS_WRITE_SCOPE] {
            assert!(Role::Owner.allows(scope));
        }
        assert!(Role::Manager.allows(CLIENTS_WRITE_SCOPE));
        assert!(Role::Manager.allows(APIS_WRITE_SCOPE));
        assert!(Role::Manager.allows(KEYS_READ_SCOPE));
        assert!(Role::Manager.allows(AUDIT_READ_SCOPE));
        assert!(!Role::Manager.allows(KEYS_WRITE_SCOPE));
        assert!(!Role::Manager.allows(ADMIN_SCOPE));
        for scope in [
            CLIENTS_READ_SCOPE,
            APIS_READ_SCOPE,
            KEYS_READ_SCOPE,
            AUDIT_READ_SCOPE,
        ] {
            assert!(Role::Viewer.allows(scope));
        }
        for scope in [
            CLIENTS_WRITE_SCOPE,
            APIS_WRITE_SCOPE,
            KEYS_WRITE_SCOPE,
            ADMIN_SCOPE,
        ] {
            assert!(!Role::Viewer.allows(scope));
        }
    }

    #[test]
    fn emails_are_checked_and_compared_without_case() {
        let e = Email::parse("  Ada@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ada@Example.COM");
        assert_eq!(e.key(), "ada@example.com");
        assert_eq!(e.actor(), "admin:Ada@Example.COM");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn display_names_refuse_controls_and_bidi() {
        assert_eq!(parse_display_name(" Ada ").unwrap(), "Ada");
        assert!(parse_display_name("").is_err());
        assert!(parse_display_name("a\u{202e}b").is_err());
        assert!(parse_display_name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn bearer_values_round_trip_and_hide() {
        struct Counter(std::sync::atomic::AtomicU8);
        impl fmt::Debug for Counter {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("Counter")
            }
        }
        impl Rng for Counter {
            fn fill(&self, buf: &mut [u8]) {
                for b in buf {
                    *b = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        let rng = Counter(std::sync::atomic::AtomicU8::new(0));
        let v = BearerValue::generate(&rng);
        assert_eq!(v.expose().len(), 43);
        let parsed = BearerValue::parse(v.expose()).unwrap();
        assert_eq!(parsed.digest(), v.digest());
        assert!(!format!("{v:?}").contains(v.expose()));
        assert!(BearerValue::parse("short").is_none());
        assert!(BearerValue::parse(&"a".repeat(42).replace('a', "!")).is_none());
        let id = AdminId::generate(&rng);
        assert_eq!(AdminId::parse(id.as_str()).unwrap(), id);
        assert!(AdminId::parse("adm_xyz").is_err());
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let policy = SessionPolicy::default();
        let s = Session {
            digest: String::new(),
            admin_id: AdminId::from_stored("adm_1".into()),
            stage: SessionStage::Active,
            role: Role::Viewer,
            created_at: UnixTime(0),
            last_seen_at: UnixTime(1000),
            expires_at: UnixTime(43_200),
            address: String::new(),
        };
        assert!(s.is_live(policy, UnixTime(1000 + 1799)));
        assert!(!s.is_live(policy, UnixTime(1000 + 1800)));
        let recent = Session {
            last_seen_at: UnixTime(43_000),
            ..s.clone()
        };
        assert!(!recent.is_live(policy, UnixTime(43_200)));
        let pending = Session {
            stage: SessionStage::SecondFactor,
            ..s
        };
        assert!(!pending.is_live(policy, UnixTime(1000 + 600)));
    }
}
