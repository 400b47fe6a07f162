//! Integration tests: the real server on port 0 against a fresh database per test (SQLite,
//! or PostgreSQL with `TOLLGATE_TEST_DATABASE=postgres`; see `pg.rs`), spoken to over HTTP.
//! One test binary for the crate, to keep link time down.

// Tests wait on real servers with deadlines, and unwrap freely.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod admin;
mod audit;
mod backup;
mod binary;
mod binary_admins;
mod bootstrap;
mod catalogue;
mod cluster;
mod console_catalogue;
mod console_create;
mod console_dashboard;
mod console_details;
mod console_pages;
mod console_people;
mod console_sso;
mod contracts;
mod edge;
mod exports;
mod grants;
mod hardening;
mod helpers;
mod introspection;
mod kek;
mod keys;
mod leaked;
mod metadata;
mod metrics;
mod migrate;
mod node;
mod outage;
mod people;
mod people_roles;
mod pg;
mod quotas;
mod rate_limits;
mod schema;
mod secrets;
mod sso;
mod token;
mod traces;
mod upgrade;
