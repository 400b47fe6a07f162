//! People's passwords for the console: length rules, Argon2id hashing in the PHC string format,
//! verification with the parameters a hash was made with, and a dummy hash that makes an unknown
//! email cost as much as a wrong password.
//!
//! Hashing and verifying are blocking CPU work (about 15 ms in a release build); callers run
//! them off the async executor (`spawn_blocking`). They stay synchronous here.

use std::fmt;
use std::sync::OnceLock;

use argon2::password_hash::phc;
use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version,
};
use zeroize::Zeroizing;

/// Shortest password accepted, in characters. Length is what makes a password hard to guess;
/// no composition rules are imposed (NIST SP 800-63B).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted, in characters: enough for any passphrase or password manager, and
/// a bound on the work an attacker can make one hash cost.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Argon2id parameters: OWASP's recommended minimum (19 MiB of memory, 2 passes, 1 lane).
/// Memory hardness makes guessing on GPUs expensive while one hash stays around 15 ms on a
/// server. Every hash records its own parameters, so raising these later keeps old hashes
/// verifiable; [`needs_rehash`] tells the caller when to store a new one.
const PARAMS: Params = match Params::new(19_456, 2, 1, None) {
    Ok(params) => params,
    Err(_) => panic!("the Argon2 parameters are out of range"),
};

/// The Argon2 version written in new hashes (0x13 = 19, the current one).
const VERSION: Version = Version::V0x13;

/// Output length of a hash, in bytes (Argon2's default).
const OUTPUT_LEN: usize = Params::DEFAULT_OUTPUT_LEN;

/// What [`hash_password`] returns if Argon2 ever refused to hash: not a PHC string, so it never
/// verifies (as `!` does in `/etc/shadow`).
const UNUSABLE_HASH: &str = "!unusable";

/// A password in plain text, as a person typed it. Zeroed when dropped, never printed by `Debug`.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

/// Why a password was refused when it was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("must be at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
}

impl Password {
    /// Accepts 12 to 1024 characters (Unicode scalar values, not bytes). Nothing is trimmed: a
    /// space is part of the password like any other character.
    pub fn parse(s: String) -> Result<Password, PasswordError> {
        let s = Zeroizing::new(s);
        let chars = s.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            Err(PasswordError::TooShort)
        } else if chars > MAX_PASSWORD_CHARS {
            Err(PasswordError::TooLong)
        } else {
            Ok(Password(s))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password hash as stored: a PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`.
/// `Debug` hides it: a hash is what an attacker tests guesses against offline.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash read from storage. Not checked here: a malformed one simply never verifies.
    pub fn from_stored(s: String) -> PasswordHash {
        PasswordHash(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Argon2id of the password under `salt` (16 random bytes from the injected `Rng`), with
/// [`PARAMS`].
///
/// Infallible: Argon2 only fails for out-of-range parameters, a salt shorter than 8 bytes or a
/// password over 4 GiB, none of which can happen here. Should it fail anyway, the result is a
/// hash that never verifies, so the failure locks the account rather than panicking or opening
/// it.
pub fn hash_password(password: &Password, salt: [u8; 16]) -> PasswordHash {
    Argon2::new(Algorithm::Argon2id, VERSION, PARAMS)
        .hash_password_with_salt(password.expose().as_bytes(), &salt)
        .map(|hash| PasswordHash(hash.to_string()))
        .unwrap_or_else(|_| PasswordHash(UNUSABLE_HASH.to_owned()))
}

/// Whether `password` matches `hash`, computed with the algorithm, version and parameters stored
/// in the hash (so hashes made before a change of [`PARAMS`] keep working). The final comparison
/// is constant-time. False for a hash that does not parse.
pub fn verify_password(password: &Password, hash: &PasswordHash) -> bool {
    let Ok(parsed) = phc::PasswordHash::new(hash.as_str()) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok()
}

/// Whether a hash was made otherwise than new hashes are (another Argon2 variant, version,
/// parameters or output length), so the caller should store a fresh hash of the password it
/// has just verified. True as well for a hash that does not parse.
pub fn needs_rehash(hash: &PasswordHash) -> bool {
    let Ok(parsed) = phc::PasswordHash::new(hash.as_str()) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm != ARGON2ID_IDENT
        || parsed.version != Some(u32::from(VERSION))
        || params.m_cost() != PARAMS.m_cost()
        || params.t_cost() != PARAMS.t_cost()
        || params.p_cost() != PARAMS.p_cost()
        || params.output_len() != Some(OUTPUT_LEN)
}

/// A valid hash with the current parameters, of a password nobody types. When a sign-in names
/// an unknown email, the service verifies the password against this, so an unknown email takes
/// as long as a wrong password and response time does not reveal which emails exist. Computed
/// once, on first use.
pub fn dummy_hash() -> &'static PasswordHash {
    static DUMMY: OnceLock<PasswordHash> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let password = Password(Zeroizing::new(
            "tollgate dummy password: never a real one".to_owned(),
        ));
        hash_password(&password, *b"tollgate-dummy-s")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(s: &str) -> Password {
        Password::parse(s.to_owned()).unwrap()
    }

    #[test]
    fn length_is_counted_in_characters_and_nothing_is_trimmed() {
        assert_eq!(
            Password::parse("a".repeat(11)).unwrap_err(),
            PasswordError::TooShort
        );
        assert!(Password::parse("a".repeat(12)).is_ok());
        // 11 characters, 22 bytes: still too short.
        assert_eq!(
            Password::parse("é".repeat(11)).unwrap_err(),
            PasswordError::TooShort
        );
        // 1024 characters, 2048 bytes: accepted.
        assert!(Password::parse("é".repeat(1024)).is_ok());
        assert_eq!(
            Password::parse("a".repeat(1025)).unwrap_err(),
            PasswordError::TooLong
        );
        let spaced = Password::parse("  twelve ch  ".to_owned()).unwrap();
        assert_eq!(spaced.expose(), "  twelve ch  ");
        assert_eq!(
            PasswordError::TooShort.to_string(),
            "must be at least 12 characters"
        );
        assert_eq!(
            PasswordError::TooLong.to_string(),
            "must be at most 1024 characters"
        );
    }

    #[test]
    fn debug_never_shows_the_password_or_hash() {
        let p = password("correct horse battery");
        let h = hash_password(&p, [7; 16]);
        let shown = format!("{p:?} {h:?}");
        assert_eq!(shown, "Password(<redacted>) PasswordHash(<redacted>)");
    }

    #[test]
    fn hash_verifies_the_right_password_only() {
        let p = password("correct horse battery");
        let h = hash_password(&p, [7; 16]);
        assert!(
            h.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            h.as_str()
        );
        assert!(verify_password(&p, &h));
        assert!(!verify_password(&password("correct horse batterY"), &h));
        assert!(!needs_rehash(&h));
        // Same password and salt, same hash; another salt, another hash.
        assert_eq!(hash_password(&p, [7; 16]), h);
        assert_ne!(hash_password(&p, [8; 16]), h);
    }

    #[test]
    fn malformed_hashes_never_verify() {
        let p = password("correct horse battery");
        for stored in [
            "",
            UNUSABLE_HASH,
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$2b$12$abcdefghijklmnopqrstuuLi7x1DcvQW8mV1TfYWH5m0a1Oq3YD7u",
            "plain text",
        ] {
            let h = PasswordHash::from_stored(stored.to_owned());
            assert!(!verify_password(&p, &h), "{stored}");
            assert!(needs_rehash(&h), "{stored}");
        }
    }

    #[test]
    fn old_parameters_still_verify_and_ask_for_a_rehash() {
        let p = password("correct horse battery");
        let weak = Params::new(1024, 1, 1, None).unwrap();
        let old = Argon2::new(Algorithm::Argon2id, VERSION, weak)
            .hash_password_with_salt(p.expose().as_bytes(), &[9; 16])
            .unwrap()
            .to_string();
        let old = PasswordHash::from_stored(old);
        assert!(old.as_str().contains("m=1024,t=1,p=1"));
        assert!(verify_password(&p, &old));
        assert!(!verify_password(&password("wrong horse battery"), &old));
        assert!(needs_rehash(&old));
    }

    #[test]
    fn dummy_hash_is_a_current_hash_that_matches_nothing_typed() {
        let d = dummy_hash();
        assert!(std::ptr::eq(d, dummy_hash()), "computed once");
        assert!(!needs_rehash(d));
        assert!(!verify_password(&password("correct horse battery"), d));
    }
}
