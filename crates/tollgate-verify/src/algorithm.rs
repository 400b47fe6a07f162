//! The JWS algorithms a token may be signed with.

use std::fmt;

/// A JWS signature algorithm (RFC 7518 §3.1, RFC 8037 §3.1) that tokens may be signed with.
///
/// Only asymmetric algorithms exist here: `none` and the HMAC family (`HS256`, …) cannot be
/// expressed, so they can never be allowed by mistake, and a public key can never be misused
/// as an HMAC secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA with the P-256 curve and SHA-256 (`ES256`); the key is an `EC` JWK on `P-256`.
    Es256,
    /// EdDSA with Ed25519 (`EdDSA`); the key is an `OKP` JWK on `Ed25519`.
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`RS256`); the key is an `RSA` JWK of 2048 to 8192 bits.
    Rs256,
}

impl Algorithm {
    /// Every algorithm this library supports, which is also the default allowed set.
    pub const ALL: [Algorithm; 3] = [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256];

    /// The JWA name, as in a JOSE header's `alg`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Rs256 => "RS256",
        }
    }

    /// Parses a JWA name. Names are case-sensitive (RFC 7515 §4.1.1).
    pub(crate) fn from_jose(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == name)
    }

    fn bit(self) -> u8 {
        match self {
            Algorithm::Es256 => 1,
            Algorithm::EdDsa => 2,
            Algorithm::Rs256 => 4,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of algorithms, as a bit mask.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AlgorithmSet(u8);

impl AlgorithmSet {
    pub(crate) fn insert(&mut self, alg: Algorithm) {
        self.0 |= alg.bit();
    }

    pub(crate) fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        let mut set = AlgorithmSet::default();
        for alg in iter {
            set.insert(alg);
        }
        set
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_sensitive_and_closed() {
        assert_eq!(Algorithm::from_jose("ES256"), Some(Algorithm::Es256));
        assert_eq!(Algorithm::from_jose("EdDSA"), Some(Algorithm::EdDsa));
        assert_eq!(Algorithm::from_jose("RS256"), Some(Algorithm::Rs256));
        for name in ["es256", "none", "None", "HS256", "PS256", "ES384", ""] {
            assert_eq!(Algorithm::from_jose(name), None, "{name}");
        }
    }

    #[test]
    fn set_operations() {
        let set: AlgorithmSet = [Algorithm::EdDsa, Algorithm::Rs256].into_iter().collect();
        assert!(!set.contains(Algorithm::Es256));
        assert!(set.contains(Algorithm::EdDsa));
        assert_eq!(set.iter().count(), 2);
        assert!(AlgorithmSet::default().is_empty());
        assert_eq!(format!("{set:?}"), "{EdDsa, Rs256}");
    }
}
