//! Entry points for the fuzz targets in `fuzz/` (compiled only with `--cfg fuzzing`, which
//! `cargo fuzz` sets): the token parser and the claims check without a verifier, its key
//! fetching or its clock, and without making the crate-private types public.

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::claims::Claims;
use crate::error::Error;
use crate::token::{Jws, MAX_TOKEN_LEN, Policy};

/// Longer tokens are refused unread.
pub const MAX_LEN: usize = MAX_TOKEN_LEN;

/// What [`parse`] read from a token's header and signature.
#[derive(Debug)]
pub struct Parsed {
    /// The header's `alg`.
    pub alg: Algorithm,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
}

/// [`Jws::parse`] with the given algorithms allowed; with a key set that is empty, the
/// signature check must then answer `UnknownKey`, never accept.
pub fn parse(token: &str, allowed: &[Algorithm]) -> Result<Parsed, Error> {
    let jws = Jws::parse(token, set(allowed))?;
    let unverified = jws.verify_signature(&[]);
    assert!(
        matches!(unverified, Err(Error::UnknownKey)),
        "no key, yet the signature check said {unverified:?}"
    );
    Ok(Parsed {
        alg: jws.alg,
        kid: jws.kid.clone(),
    })
}

/// Parses the token and validates its claims against `issuer` and `audiences` at `now`,
/// skipping the signature (which needs a key): what stands between a forged but
/// well-signed token and a resource server.
pub fn claims(
    token: &str,
    issuer: &str,
    audiences: &[&str],
    leeway: i64,
    now: i64,
) -> Result<Claims, Error> {
    let jws = Jws::parse(token, set(&Algorithm::ALL))?;
    let policy = Policy {
        issuer: issuer.to_owned(),
        audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
        leeway,
        algorithms: set(&Algorithm::ALL),
    };
    jws.claims(&policy, now)
}

fn set(algs: &[Algorithm]) -> AlgorithmSet {
    let mut set = AlgorithmSet::default();
    for alg in algs {
        set.insert(*alg);
    }
    set
}
