//! Several nodes on one database (PostgreSQL): what each node needs to stay in step with the
//! others.
//!
//! - `change`: the [`Change`]s a store announces on its [`ChangeFeed`], and the
//!   [`ClusterLock`]s that let one node at a time start up or rotate keys
//! - `follow`: the loop that applies other nodes' changes to this node's caches, through the
//!   [`Follower`] the service implements (`service/follow.rs`)
//! - `freshness`: whether the caches are known to be current, and the outage grace
//!
//! The store implements the feed and the locks; the service implements [`Follower`]; startup
//! wires them together. Nothing here depends on either.

pub mod change;
pub mod follow;
pub mod freshness;

pub use change::{Change, ChangeFeed, ClusterLock, NoLock};
pub use follow::Follower;
pub use freshness::Freshness;
