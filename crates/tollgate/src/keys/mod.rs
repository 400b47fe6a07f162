//! Token signing keys.
//!
//! - `signing_key`: one key, parsed once: generation, PKCS#8, JWS signing, its public JWK
//! - `signing_keys`: the keys that sign now and the published ones ([`SigningKeys`]), which
//!   also check the signature of Tollgate's own tokens
//! - `schedule`: when a key is next, current, retired or removed ([`RotationPolicy`])
//! - `lifecycle`: [`KeyLifecycle`] stores keys, rotates them on schedule or on demand, and
//!   rebuilds the signing set when they change
//! - `sealing`: encryption at rest of keys under the key-encryption key ([`Kek`])

mod lifecycle;
mod schedule;
pub mod sealing;
mod signing_key;
mod signing_keys;

pub use lifecycle::{KeyLifecycle, KeyLifecycleError};
pub use schedule::{
    KeyEvent, KeyState, KeyStatus, RotationMode, RotationPolicy, rotation_due, statuses,
};
pub use sealing::{Kek, SealError};
pub use signing_key::{KeyError, SigningKey};
pub use signing_keys::{SigningKeys, VerifyError};
