//! Tollgate: an OAuth 2.0 authorization server for machine-to-machine access.
//!
//! The crate is a library with a thin binary (`tollgate`). [`startup::Application`] builds and
//! runs the HTTP server; [`cli`] holds the command-line front end. Domain logic lives in
//! [`domain`] and knows nothing of HTTP; storage sits behind [`store::Store`].

pub mod cache;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod http;
pub mod keys;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
