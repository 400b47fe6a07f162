//! Encryption at rest of Tollgate's own keys (signing keys, the secret-hashing key) with a
//! key-encryption key (KEK) the operator supplies, AES-256-GCM.
//!
//! A sealed blob is `TGK1` || KEK id (8 bytes) || nonce (12 bytes) || ciphertext+tag. The KEK
//! id says which KEK sealed it, so a wrong KEK is reported as such rather than as corrupt
//! data, and a previous KEK can still open blobs while they are re-sealed under a new one.
//! The additional data names what the blob is (e.g. `signing-key:<kid>`), so a sealed
//! blob cannot be swapped into another row.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use zeroize::Zeroizing;

use crate::clock::{Rng, random_bytes};

const MAGIC: &[u8; 4] = b"TGK1";
const ID_LEN: usize = 8;
pub const KEK_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "it was encrypted with another key-encryption key (id {found}); the configured one \
         has id {expected}"
    )]
    WrongKek { found: String, expected: String },
    #[error("it is not an encrypted Tollgate key")]
    NotSealed,
    #[error("it failed authentication (damaged, or moved from another row)")]
    Damaged,
}

/// A key-encryption key.
pub struct Kek {
    id: [u8; ID_LEN],
    key: LessSafeKey,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek(id {})", self.id())
    }
}

impl Kek {
    pub fn new(material: &[u8; KEK_LEN]) -> Kek {
        let d = digest::digest(&digest::SHA256, material);
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&d.as_ref()[..ID_LEN]);
        // A 32-byte key is always valid for AES-256-GCM.
        #[allow(clippy::expect_used)]
        let unbound = UnboundKey::new(&AES_256_GCM, material).expect("32-byte AES-256 key");
        Kek {
            id,
            key: LessSafeKey::new(unbound),
        }
    }

    /// The KEK's public fingerprint, safe to log.
    pub fn id(&self) -> String {
        crate::domain::hex(&self.id)
    }

    pub fn seal(&self, plaintext: &[u8], aad: &str, rng: &dyn Rng) -> Vec<u8> {
        let nonce_bytes = random_bytes::<NONCE_LEN>(rng);
        let mut in_out = plaintext.to_vec();
        // Sealing cannot fail for inputs of this size with a valid key.
        #[allow(clippy::expect_used)]
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad.as_bytes()),
                &mut in_out,
            )
            .expect("AES-GCM seal");
        let mut out = Vec::with_capacity(MAGIC.len() + ID_LEN + NONCE_LEN + in_out.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&in_out);
        in_out.iter_mut().for_each(|b| *b = 0);
        out
    }

    /// True when `blob` was sealed by this KEK (it may still fail to open if damaged).
    pub fn sealed_this(&self, blob: &[u8]) -> bool {
        is_sealed(blob) && blob[MAGIC.len()..MAGIC.len() + ID_LEN] == self.id
    }

    pub fn open(&self, blob: &[u8], aad: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if !is_sealed(blob) {
            return Err(SealError::NotSealed);
        }
        let id = &blob[MAGIC.len()..MAGIC.len() + ID_LEN];
        if id != self.id {
            return Err(SealError::WrongKek {
                found: crate::domain::hex(id),
                expected: self.id(),
            });
        }
        let start = MAGIC.len() + ID_LEN;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&blob[start..start + NONCE_LEN]);
        let mut in_out = Zeroizing::new(blob[start + NONCE_LEN..].to_vec());
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| SealError::Damaged)?;
        Ok(Zeroizing::new(plain.to_vec()))
    }
}

/// True when `blob` has the sealed format (as opposed to a key stored before encryption at
/// rest existed, which is upgraded on start).
pub fn is_sealed(blob: &[u8]) -> bool {
    blob.len() > MAGIC.len() + ID_LEN + NONCE_LEN && blob.starts_with(MAGIC)
}

/// clear by a version without encryption at rest, is returned with its re-sealed form.
/// A key in clear, and its re-sealed form when it needs writing back.
pub type Opened = (zeroize::Zeroizing<Vec<u8>>, Option<Vec<u8>>);

pub fn open_or_upgrade(
    blob: &[u8],
    aad: &str,
    kek: &Kek,
    previous: Option<&Kek>,
    rng: &dyn Rng,
) -> Result<Opened, SealError> {
    if kek.sealed_this(blob) {
        return Ok((kek.open(blob, aad)?, None));
    }
    if !is_sealed(blob) {
        let plain = zeroize::Zeroizing::new(blob.to_vec());
        let resealed = kek.seal(&plain, aad, rng);
        return Ok((plain, Some(resealed)));
    }
    match previous {
        Some(p) if p.sealed_this(blob) => {
            let plain = p.open(blob, aad)?;
            let resealed = kek.seal(&plain, aad, rng);
            Ok((plain, Some(resealed)))
        }
        _ => kek.open(blob, aad).map(|p| (p, None)),
    }
}

pub fn signing_key_aad(kid: &str) -> String {
    format!("signing-key:{kid}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemRng;

    #[test]
    fn round_trip_and_binding() {
        let kek = Kek::new(&[1; KEK_LEN]);
        let blob = kek.seal(b"private key", "signing-key:a", &SystemRng);
        assert!(is_sealed(&blob) && kek.sealed_this(&blob));
        assert_eq!(
            kek.open(&blob, "signing-key:a").unwrap().as_slice(),
            b"private key"
        );
        assert_eq!(kek.open(&blob, "signing-key:b"), Err(SealError::Damaged));
        let mut flipped = blob.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(kek.open(&flipped, "signing-key:a"), Err(SealError::Damaged));
        assert_eq!(kek.open(b"plain pkcs8", "x"), Err(SealError::NotSealed));
        assert!(!blob.windows(11).any(|w| w == b"private key"));
    }

    #[test]
    fn a_wrong_kek_is_named() {
        let blob = Kek::new(&[1; KEK_LEN]).seal(b"k", "x", &SystemRng);
        let other = Kek::new(&[2; KEK_LEN]);
        assert!(!other.sealed_this(&blob));
        assert!(matches!(
            other.open(&blob, "x"),
            Err(SealError::WrongKek { .. })
        ));
        assert_eq!(format!("{other:?}"), format!("Kek(id {})", other.id()));
    }
}
