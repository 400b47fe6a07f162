//! What a store offers when several nodes share one database: a feed of the changes other
//! nodes make (so every node's in-memory caches follow the database), a lock that
//! serialises node start-up (so concurrent first starts agree on keys and the bootstrap), and
//! a lock that lets one node at a time generate and remove signing keys.

use std::fmt::Debug;

use async_trait::async_trait;

/// One change to shared state, announced by the node that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The client was created, changed, lost or gained a secret, or was deleted: reload it.
    Client(String),
    /// A revocation was recorded with this cursor: learn it.
    Revocation(i64),
    /// A signing key was generated, removed or re-encrypted: reload the keys.
    Keys,
    /// An API was registered, changed or removed: reload the catalogue.
    Catalogue,
    /// The feed lost its connection: changes are being missed until [`Change::Resync`].
    Lost,
    /// The feed is (again) connected. Changes may have been missed before this point: reload
    /// everything. Also the first item of every feed, since the node loaded its caches before
    /// it started listening.
    Resync,
}

impl Change {
    /// The wire form carried by the database's notifications.
    pub fn client_payload(client_id: &str) -> String {
        format!("client:{client_id}")
    }

    pub fn revocation_payload(cursor: i64) -> String {
        format!("revocation:{cursor}")
    }

    pub const KEYS_PAYLOAD: &'static str = "keys";
    pub const CATALOGUE_PAYLOAD: &'static str = "catalogue";

    /// Reads a notification payload. Anything unknown (say, from a newer version of
    /// Tollgate) asks for a full reload rather than being ignored.
    pub fn parse(payload: &str) -> Change {
        if payload == Change::KEYS_PAYLOAD {
            return Change::Keys;
        }
        if payload == Change::CATALOGUE_PAYLOAD {
            return Change::Catalogue;
        }
        match payload.split_once(':') {
            Some(("client", id)) if !id.is_empty() => Change::Client(id.to_owned()),
            Some(("revocation", cursor)) => match cursor.parse() {
                Ok(c) => Change::Revocation(c),
                Err(_) => Change::Resync,
            },
            _ => Change::Resync,
        }
    }
}

/// A stream of [`Change`]s. It reconnects by itself after a lost connection, announcing
/// [`Change::Lost`] when the connection goes and [`Change::Resync`] when it is back.
#[async_trait]
pub trait ChangeFeed: Send + Debug {
    /// Waits for the next change. Not cancel-safe: drive it from one task to completion.
    async fn next(&mut self) -> Change;
}

/// A lock held by one node of the cluster at a time (a PostgreSQL advisory lock on a
/// connection of its own, so it is released if the node dies). Release it explicitly.
#[async_trait]
pub trait ClusterLock: Send + Debug {
    async fn release(self: Box<Self>);
}

/// The lock of a store that has a single node (SQLite): there is nobody to wait for.
#[derive(Debug)]
pub struct NoLock;

#[async_trait]
impl ClusterLock for NoLock {
    async fn release(self: Box<Self>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        assert_eq!(
            Change::parse(&Change::client_payload("tgc_1")),
            Change::Client("tgc_1".into())
        );
        assert_eq!(
            Change::parse(&Change::client_payload("a:b")),
            Change::Client("a:b".into()),
            "a colon in a client id is kept"
        );
        assert_eq!(
            Change::parse(&Change::revocation_payload(42)),
            Change::Revocation(42)
        );
        assert_eq!(Change::parse(Change::KEYS_PAYLOAD), Change::Keys);
        assert_eq!(Change::parse(Change::CATALOGUE_PAYLOAD), Change::Catalogue);
        for unknown in ["", "client:", "revocation:x", "keys:rotated", "nonsense"] {
            assert_eq!(Change::parse(unknown), Change::Resync, "{unknown}");
        }
    }
}
