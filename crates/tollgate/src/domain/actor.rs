//! Who changes something through the admin API or the console, and which of the admin API's
//! permissions they hold: a client's token scopes, or a person's role.
//!
//! The admin API's permissions are themselves scopes a client can be given. Without a check,
//! a manager (who may create clients but holds no `tollgate:admin`) could create a client
//! with `tollgate:admin`, or add a secret to an owner's client, and act as an owner with its
//! token. So a client holding an admin permission can be given it, changed, given secrets or
//! deleted only by someone who holds that permission too.

use super::admin::permits;
use super::audit::SYSTEM_ACTOR;
use super::scope::{
    ADMIN_SCOPE, APIS_READ_SCOPE, APIS_WRITE_SCOPE, AUDIT_READ_SCOPE, CLIENTS_READ_SCOPE,
    CLIENTS_WRITE_SCOPE, KEYS_READ_SCOPE, KEYS_WRITE_SCOPE,
};

/// The permissions of the admin API (`tollgate:introspect` is not one: it lets a resource
/// server check tokens and changes nothing).
pub const ADMIN_PERMISSIONS: [&str; 8] = [
    ADMIN_SCOPE,
    CLIENTS_READ_SCOPE,
    CLIENTS_WRITE_SCOPE,
    APIS_READ_SCOPE,
    APIS_WRITE_SCOPE,
    KEYS_READ_SCOPE,
    KEYS_WRITE_SCOPE,
    AUDIT_READ_SCOPE,
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// As the audit trail names them: a client id, `admin:<email>`, or `tollgate`.
    name: String,
    held: Vec<String>,
}

impl Actor {
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        held: impl IntoIterator<Item = S>,
    ) -> Actor {
        Actor {
            name: name.into(),
            held: held.into_iter().map(Into::into).collect(),
        }
    }

    /// The server itself (start-up, upkeep): it holds everything.
    pub fn system() -> Actor {
        Actor::new(SYSTEM_ACTOR, [ADMIN_SCOPE])
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this actor may give a client `scope`: any scope outside the admin API, or an
    /// admin permission it holds itself.
    pub fn may_grant(&self, scope: &str) -> bool {
        !ADMIN_PERMISSIONS.contains(&scope) || permits(self.held.iter().map(String::as_str), scope)
    }

    /// Of `scopes`, those this actor may not give (nor manage a client that holds them).
    pub fn beyond<'a>(&self, scopes: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        scopes
            .into_iter()
            .filter(|s| !self.may_grant(s))
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::admin::Role;

    #[test]
    fn only_holders_give_admin_permissions() {
        let manager = Actor::new(
            "admin:m@example.com",
            Role::Manager.scopes().iter().copied(),
        );
        assert!(manager.may_grant("reports:read"));
        assert!(manager.may_grant("tollgate:introspect"));
        assert!(manager.may_grant(CLIENTS_WRITE_SCOPE));
        assert!(!manager.may_grant(ADMIN_SCOPE));
        assert!(!manager.may_grant(KEYS_WRITE_SCOPE));
        assert_eq!(
            manager.beyond(["reports:read", ADMIN_SCOPE, KEYS_WRITE_SCOPE]),
            vec![ADMIN_SCOPE.to_owned(), KEYS_WRITE_SCOPE.to_owned()]
        );
        let owner = Actor::new("admin:o@example.com", Role::Owner.scopes().iter().copied());
        assert!(ADMIN_PERMISSIONS.iter().all(|s| owner.may_grant(s)));
        assert!(Actor::system().beyond(ADMIN_PERMISSIONS).is_empty());
        let reader = Actor::new("reader", [CLIENTS_READ_SCOPE]);
        assert!(reader.may_grant(CLIENTS_READ_SCOPE));
        assert!(!reader.may_grant(CLIENTS_WRITE_SCOPE));
    }
}
