//! Integration tests: a real in-process Tollgate on port 0 (fresh database each), stub issuers
//! whose requests are counted, and property tests. One test binary for the crate, to keep link
//! time down.

// Tests unwrap freely and wait on real servers with deadlines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod forge;
mod helpers;
mod keys;
mod metadata;
mod props;
mod revocation;
mod tokens;
mod web;
