//! Bearer values handed to a person once: a one-time link's token, a session cookie.

use std::fmt;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::hex;
use crate::clock::{Rng, random_bytes};

/// A bearer value handed to a person once (a one-time link's token, a session cookie):
/// 256 random bits, base64url. Only its SHA-256 is stored, so the database cannot replay it.
#[derive(Clone)]
pub struct BearerValue(Zeroizing<String>);

impl BearerValue {
    pub fn generate(rng: &dyn Rng) -> BearerValue {
        let bytes = Zeroizing::new(random_bytes::<32>(rng));
        BearerValue(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
    }

    /// Accepts only what [`BearerValue::generate`] could have made.
    pub fn parse(s: &str) -> Option<BearerValue> {
        let ok = s.len() == 43
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| BearerValue(Zeroizing::new(s.to_owned())))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database stores: lowercase hex SHA-256.
    pub fn digest(&self) -> String {
        hex(digest::digest(&digest::SHA256, self.0.as_bytes()).as_ref())
    }
}

impl fmt::Debug for BearerValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerValue(<redacted>)")
    }
}
