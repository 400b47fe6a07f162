//! The service's errors, one enum per kind of operation; the HTTP layer maps each to its
//! standard's answer in one place.

use crate::domain::client::FieldError;
use crate::domain::grant::GrantError;
use crate::keys::{KeyError, KeyLifecycleError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Unknown client, wrong, expired or disabled secret: deliberately one case.
    #[error("client authentication failed")]
    InvalidClient,
    #[error(transparent)]
    Grant(#[from] GrantError),
    #[error(transparent)]
    Signing(#[from] KeyError),
    /// The node lost the database longer ago than the outage grace: its cache may be stale.
    #[error("the client cache may be out of date: the database is unreachable")]
    Unavailable,
    /// The client's enforced quota is used up until its window ends.
    #[error("the client's token quota is used up")]
    Quota(crate::domain::quota::QuotaRefusal),
}

#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    #[error("{0}")]
    InvalidToken(&'static str),
    #[error("the token lacks the required scope")]
    InsufficientScope,
}

/// Why a caller of introspection, revocation or the revocation feed was turned away.
#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    #[error("client authentication failed")]
    InvalidClient,
    #[error("the client may not use this endpoint")]
    NotAllowed,
    #[error("the token belongs to another client")]
    NotOwner,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the client cache may be out of date: the database is unreachable")]
    Unavailable,
}

impl CallerError {
    pub(super) fn from_authentication(e: TokenError) -> CallerError {
        match e {
            TokenError::Unavailable => CallerError::Unavailable,
            _ => CallerError::InvalidClient,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the request is invalid")]
    Validation(Vec<FieldError>),
    #[error("a client with this name already exists")]
    NameTaken,
    #[error("no client with this id")]
    NotFound,
    #[error("the client has no secret with this id")]
    SecretNotFound,
    #[error("the client already holds {0} secrets; remove one first")]
    TooManySecrets(usize),
    #[error(
        "the client's scopes were locked when it was created and cannot change; create a new \
         client with the scopes it needs"
    )]
    ScopesLocked,
    #[error(
        "only someone who holds {} may give it to a client or change a client that holds it",
        .0.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
    )]
    BeyondYourPermissions(Vec<String>),
    #[error("removing the last secret would lock the client out; add a new secret first")]
    LastSecret,
    #[error("this is not a secret Tollgate generated (its prefix or checksum is wrong)")]
    NotATollgateSecret,
    #[error("no client holds this secret")]
    UnknownSecret,
    #[error(transparent)]
    Keys(#[from] KeyLifecycleError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ClientError {
    fn from(e: StoreError) -> ClientError {
        match e {
            StoreError::NameTaken => ClientError::NameTaken,
            other => ClientError::Store(other),
        }
    }
}

/// A client holding permissions that a catalogue change would remove.
#[derive(Debug, Clone)]
pub struct ClientHolding {
    pub client_id: crate::domain::client::ClientId,
    pub scopes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("the request is invalid")]
    Validation(Vec<FieldError>),
    #[error("no API with this id")]
    NotFound,
    #[error("{0}")]
    BuiltIn(&'static str),
    /// Clients hold permissions the change would remove.
    #[error("clients hold permissions this change removes")]
    InUse(Vec<ClientHolding>),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CatalogueError {
    fn from(e: StoreError) -> CatalogueError {
        match e {
            StoreError::ApiConflict(field) => {
                CatalogueError::Validation(vec![FieldError::new(field, "is another API's already")])
            }
            other => CatalogueError::Store(other),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Keys(#[from] KeyLifecycleError),
    #[error("the secret-hashing key cannot be decrypted: {0}")]
    HashKey(crate::keys::SealError),
    #[error("bootstrap: {0}")]
    Bootstrap(String),
}
