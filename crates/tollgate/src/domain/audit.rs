//! The audit trail: who did what to which client, secret or key, and when.

use crate::clock::UnixTime;

/// The actor of events the server causes by itself (expiry, automatic rotation).
pub const SYSTEM_ACTOR: &str = "tollgate";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    ClientCreated,
    ClientUpdated,
    ClientDeleted,
    SecretAdded,
    SecretRemoved,
    SecretExpired,
    SecretLeakDisabled,
    KeyGenerated,
    KeyRotated,
    KeyRemoved,
    ApiCreated,
    ApiUpdated,
    ApiDeleted,
    PermissionAdded,
    PermissionRemoved,
    PermissionTaken,
    AdminCreated,
    AdminUpdated,
    AdminRoleChanged,
    AdminDisabled,
    AdminEnabled,
    AdminDeleted,
    AdminInvited,
    InvitationAccepted,
    ResetLinkCreated,
    PasswordChanged,
    SignedIn,
    SignInFailed,
    MfaEnrolled,
    MfaRemoved,
    RecoveryCodeUsed,
    SessionsRevoked,
}

impl AuditAction {
    pub const ALL: [AuditAction; 32] = [
        AuditAction::ClientCreated,
        AuditAction::ClientUpdated,
        AuditAction::ClientDeleted,
        AuditAction::SecretAdded,
        AuditAction::SecretRemoved,
        AuditAction::SecretExpired,
        AuditAction::SecretLeakDisabled,
        AuditAction::KeyGenerated,
        AuditAction::KeyRotated,
        AuditAction::KeyRemoved,
        AuditAction::ApiCreated,
        AuditAction::ApiUpdated,
        AuditAction::ApiDeleted,
        AuditAction::PermissionAdded,
        AuditAction::PermissionRemoved,
        AuditAction::PermissionTaken,
        AuditAction::AdminCreated,
        AuditAction::AdminUpdated,
        AuditAction::AdminRoleChanged,
        AuditAction::AdminDisabled,
        AuditAction::AdminEnabled,
        AuditAction::AdminDeleted,
        AuditAction::AdminInvited,
        AuditAction::InvitationAccepted,
        AuditAction::ResetLinkCreated,
        AuditAction::PasswordChanged,
        AuditAction::SignedIn,
        AuditAction::SignInFailed,
        AuditAction::MfaEnrolled,
        AuditAction::MfaRemoved,
        AuditAction::RecoveryCodeUsed,
        AuditAction::SessionsRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::ClientCreated => "client.created",
            AuditAction::ClientUpdated => "client.updated",
            AuditAction::ClientDeleted => "client.deleted",
            AuditAction::SecretAdded => "secret.added",
            AuditAction::SecretRemoved => "secret.removed",
            AuditAction::SecretExpired => "secret.expired",
            AuditAction::SecretLeakDisabled => "secret.leaked_disabled",
            AuditAction::KeyGenerated => "key.generated",
            AuditAction::KeyRotated => "key.rotated",
            AuditAction::KeyRemoved => "key.removed",
            AuditAction::ApiCreated => "api.created",
            AuditAction::ApiUpdated => "api.updated",
            AuditAction::ApiDeleted => "api.deleted",
            AuditAction::PermissionAdded => "permission.added",
            AuditAction::PermissionRemoved => "permission.removed",
            AuditAction::PermissionTaken => "permission.taken_from_client",
            AuditAction::AdminCreated => "admin.created",
            AuditAction::AdminUpdated => "admin.updated",
            AuditAction::AdminRoleChanged => "admin.role_changed",
            AuditAction::AdminDisabled => "admin.disabled",
            AuditAction::AdminEnabled => "admin.enabled",
            AuditAction::AdminDeleted => "admin.deleted",
            AuditAction::AdminInvited => "admin.invited",
            AuditAction::InvitationAccepted => "admin.invitation_accepted",
            AuditAction::ResetLinkCreated => "admin.reset_link_created",
            AuditAction::PasswordChanged => "admin.password_changed",
            AuditAction::SignedIn => "admin.signed_in",
            AuditAction::SignInFailed => "admin.sign_in_failed",
            AuditAction::MfaEnrolled => "admin.mfa_enrolled",
            AuditAction::MfaRemoved => "admin.mfa_removed",
            AuditAction::RecoveryCodeUsed => "admin.recovery_code_used",
            AuditAction::SessionsRevoked => "admin.sessions_revoked",
        }
    }

    pub fn parse(s: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Position in the trail; 0 until stored.
    pub id: i64,
    pub at: UnixTime,
    pub actor: String,
    pub action: AuditAction,
    pub client_id: Option<String>,
    pub secret_id: Option<String>,
    pub kid: Option<String>,
    /// The API of the catalogue the event is about (its id), if any.
    pub api_id: Option<String>,
    pub detail: String,
}

impl AuditEvent {
    pub fn new(at: UnixTime, actor: &str, action: AuditAction) -> AuditEvent {
        AuditEvent {
            id: 0,
            at,
            actor: actor.to_owned(),
            action,
            client_id: None,
            secret_id: None,
            kid: None,
            api_id: None,
            detail: String::new(),
        }
    }

    pub fn client(mut self, id: &str) -> AuditEvent {
        self.client_id = Some(id.to_owned());
        self
    }

    pub fn secret(mut self, id: &str) -> AuditEvent {
        self.secret_id = Some(id.to_owned());
        self
    }

    pub fn kid(mut self, kid: &str) -> AuditEvent {
        self.kid = Some(kid.to_owned());
        self
    }

    pub fn api(mut self, id: &str) -> AuditEvent {
        self.api_id = Some(id.to_owned());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> AuditEvent {
        self.detail = detail.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(AuditAction::parse("nope"), None);
    }
}
