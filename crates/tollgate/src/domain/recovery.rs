//! Recovery codes: single-use codes a person writes down when enrolling a second factor, to sign
//! in when the authenticator is lost. Shown once; the database keeps only a keyed hash of each.
//!
//! A code is `xxxxx-xxxxx`: ten characters of Crockford's base32 in lower case (digits and
//! letters without `i`, `l`, `o` and `u`), 50 bits of randomness. People may type it in any
//! case, with or without the dash and spaces, and with `o` for zero or `i`/`l` for one.

use std::fmt;

use aws_lc_rs::hmac;
use zeroize::Zeroizing;

use super::hex;
use crate::clock::{Rng, random_bytes};

/// Codes generated per enrolment.
pub const RECOVERY_CODE_COUNT: usize = 10;

/// Crockford's base32 alphabet in lower case: no two characters look alike.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters of a code, not counting the dash; 5 bits each.
const CODE_CHARS: usize = 10;
/// Where the dash goes when a code is shown.
const DASH_AT: usize = 5;
/// Longest input [`normalize`] looks at; anything longer cannot be a code.
const MAX_INPUT: usize = 64;
/// Draws allowed to find [`RECOVERY_CODE_COUNT`] distinct codes. With 50 bits per code a
/// repeat practically never happens; the bound only keeps a broken `Rng` from looping forever.
const MAX_DRAWS: usize = RECOVERY_CODE_COUNT * 100;

/// A recovery code in plain text, as shown to the person once. Zeroed when dropped, never
/// printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(Zeroizing<String>);

impl RecoveryCode {
    /// The code as shown: `xxxxx-xxxxx`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn random(rng: &dyn Rng) -> RecoveryCode {
        let bytes = Zeroizing::new(random_bytes::<8>(rng));
        let mut bits = Zeroizing::new(u64::from_be_bytes(*bytes));
        let mut code = Zeroizing::new(String::with_capacity(CODE_CHARS + 1));
        for i in 0..CODE_CHARS {
            if i == DASH_AT {
                code.push('-');
            }
            // The low five bits pick a character; 10 of them use 50 of the 64 random bits.
            let index = usize::try_from(*bits & 0x1f).unwrap_or(0);
            code.push(char::from(ALPHABET[index]));
            *bits >>= 5;
        }
        RecoveryCode(code)
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

/// [`RECOVERY_CODE_COUNT`] distinct codes from the injected random number generator.
///
/// Fewer only if `rng` keeps repeating itself (a broken generator), never in practice.
pub fn generate_codes(rng: &dyn Rng) -> Vec<RecoveryCode> {
    let mut codes: Vec<RecoveryCode> = Vec::with_capacity(RECOVERY_CODE_COUNT);
    for _ in 0..MAX_DRAWS {
        if codes.len() == RECOVERY_CODE_COUNT {
            break;
        }
        let code = RecoveryCode::random(rng);
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// The canonical form of what a person typed: ten lower-case characters of the alphabet,
/// without the dash. Case is ignored, spaces and dashes are dropped, and the look-alikes `o`
/// (zero) and `i`, `l` (one) are read as the digits. `None` when the input cannot be a code.
pub fn normalize(input: &str) -> Option<String> {
    if input.len() > MAX_INPUT {
        return None;
    }
    let mut out = String::with_capacity(CODE_CHARS);
    for c in input.chars() {
        let c = match c.to_ascii_lowercase() {
            ' ' | '-' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c if u8::try_from(c).is_ok_and(|b| ALPHABET.contains(&b)) => c,
            _ => return None,
        };
        if out.len() == CODE_CHARS {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_CHARS).then_some(out)
}

/// What the database stores for a code: HMAC-SHA-256 of its canonical form (see [`normalize`])
/// under a server key, in lowercase hex. The key lives apart from the database, so a copy of
/// the table alone cannot be used to test the 2^50 possible codes.
pub fn digest(key: &[u8], normalized: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hex(hmac::sign(&key, normalized.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU8, Ordering};

    use super::*;
    use crate::clock::SystemRng;

    /// Fills each buffer with consecutive bytes from a counter: predictable, never repeating
    /// within a test.
    #[derive(Debug, Default)]
    struct CounterRng(AtomicU8);

    impl Rng for CounterRng {
        fn fill(&self, buf: &mut [u8]) {
            for b in buf {
                *b = self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// Always the same bytes: a broken generator.
    #[derive(Debug)]
    struct StuckRng;

    impl Rng for StuckRng {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(0x42);
        }
    }

    fn has_code_shape(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 11
            && b[5] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 5 || ALPHABET.contains(c))
    }

    #[test]
    fn ten_distinct_codes_of_the_documented_shape() {
        let codes = generate_codes(&SystemRng);
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        for c in &codes {
            assert!(has_code_shape(c.expose()), "{}", c.expose());
            assert_eq!(normalize(c.expose()).unwrap(), c.expose().replace('-', ""));
        }
        for (i, a) in codes.iter().enumerate() {
            assert!(codes[i + 1..].iter().all(|b| a != b));
        }
    }

    #[test]
    fn a_fixed_rng_gives_fixed_codes() {
        let a: Vec<String> = generate_codes(&CounterRng::default())
            .iter()
            .map(|c| c.expose().to_owned())
            .collect();
        let b: Vec<String> = generate_codes(&CounterRng::default())
            .iter()
            .map(|c| c.expose().to_owned())
            .collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), RECOVERY_CODE_COUNT);
        // Bytes 00..07 read big-endian, five bits at a time from the low end.
        assert_eq!(a[0], "7g1a0-2c028");
        assert!(a.iter().all(|c| has_code_shape(c)));
    }

    #[test]
    fn a_stuck_rng_cannot_loop_forever() {
        assert_eq!(generate_codes(&StuckRng).len(), 1);
    }

    #[test]
    fn alphabet_has_32_distinct_unambiguous_characters() {
        let mut sorted = ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 32);
        for c in b"ilou" {
            assert!(!ALPHABET.contains(c));
        }
    }

    #[test]
    fn normalize_accepts_what_people_type() {
        for typed in [
            "abcde-fgh23",
            "abcdefgh23",
            "ABCDE-FGH23",
            "  abcde fgh23 ",
            "ab cde-fg h23",
            "Abcde - Fgh23",
        ] {
            assert_eq!(normalize(typed).as_deref(), Some("abcdefgh23"), "{typed}");
        }
        assert_eq!(normalize("o0iIl-L1234").as_deref(), Some("0011111234"));
        for bad in [
            "",
            "abcde-fgh2",
            "abcde-fgh234",
            "abcde-fghu3",
            "abcde_fgh23",
            "abcde-fgh2é",
            "abcdé-fgh23",
            "-----------",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
        assert_eq!(normalize(&format!("abcde{}fgh23", " ".repeat(60))), None);
    }

    #[test]
    fn digest_is_keyed_hex_of_the_canonical_form() {
        let d = digest(&[1; 32], "abcdefgh23");
        assert_eq!(d.len(), 64);
        assert!(
            d.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(d, digest(&[1; 32], "abcdefgh23"));
        assert_ne!(d, digest(&[2; 32], "abcdefgh23"));
        assert_ne!(d, digest(&[1; 32], "abcdefgh24"));
        // RFC 4231 test case 2.
        assert_eq!(
            digest(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn debug_never_shows_a_code() {
        let c = &generate_codes(&SystemRng)[0];
        assert_eq!(format!("{c:?}"), "RecoveryCode(<redacted>)");
    }
}
