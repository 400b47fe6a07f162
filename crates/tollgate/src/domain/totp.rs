//! Time-based one-time passwords (RFC 6238) as a second factor: HMAC-SHA-1, 6 digits, 30-second
//! steps, which every authenticator app supports. Codes are accepted for the current step or
//! one step either side (clock drift), and each step at most once (no replay).
//!
//! The algorithm and the `otpauth://` URI come from `totp-rs`; the QR code from `qrcode`. Time
//! is a parameter: nothing here reads the clock.

use std::fmt;

use qrcode::QrCode;
use qrcode::render::svg;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Totp};
use zeroize::Zeroizing;

use crate::clock::{Rng, UnixTime, random_bytes};

/// Bytes of a generated secret: 160 bits, RFC 4226's recommendation (and SHA-1's output size).
const SECRET_BYTES: usize = 20;
/// Shortest secret accepted from storage: RFC 4226's minimum of 128 bits.
const MIN_SECRET_BYTES: usize = 16;
/// Seconds per step (RFC 6238's default, the only value all apps honour).
const STEP_SECS: i64 = 30;
/// Digits per code.
const DIGITS: u8 = 6;
/// Steps accepted either side of the current one: one, as RFC 6238 section 5.2 recommends.
const SKEW: i64 = 1;
/// Longest input [`TotpSecret::verify`] looks at; anything longer is not a code.
const MAX_CODE_INPUT: usize = 32;
/// Smallest width and height of the QR code, in SVG user units; it scales with its `viewBox`.
const QR_MIN_SIZE: u32 = 200;

/// A shared TOTP secret. Zeroed when dropped, never printed by `Debug`.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// 20 random bytes from the injected random number generator.
    pub fn generate(rng: &dyn Rng) -> TotpSecret {
        let bytes = Zeroizing::new(random_bytes::<SECRET_BYTES>(rng));
        TotpSecret(Zeroizing::new(bytes.to_vec()))
    }

    /// A secret read from storage; `None` when shorter than 16 bytes (128 bits).
    pub fn from_bytes(bytes: Vec<u8>) -> Option<TotpSecret> {
        let bytes = Zeroizing::new(bytes);
        (bytes.len() >= MIN_SECRET_BYTES).then_some(TotpSecret(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret as people type it into an authenticator app: RFC 4648 base32, upper case,
    /// without padding.
    pub fn setup_key(&self) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::with_capacity(self.0.len().div_ceil(5) * 8);
        let mut buffer: u16 = 0;
        let mut bits = 0u32;
        for &byte in self.0.iter() {
            // At most 4 unread bits remain, so 12 bits of the buffer are ever in use.
            buffer = ((buffer << 8) | u16::from(byte)) & 0x0fff;
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(ALPHABET[usize::from((buffer >> bits) & 0x1f)]));
            }
        }
        if bits > 0 {
            out.push(char::from(
                ALPHABET[usize::from((buffer << (5 - bits)) & 0x1f)],
            ));
        }
        out
    }

    /// `otpauth://totp/Issuer:account?secret=...&issuer=...`, percent-encoded, for the QR code.
    /// The label format forbids a colon in either part, so a colon is replaced by a dash; an
    /// empty account becomes the issuer's name.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let issuer = issuer.replace(':', "-");
        let mut account = account.replace(':', "-");
        if account.is_empty() {
            account = if issuer.is_empty() {
                "account".to_owned()
            } else {
                issuer.clone()
            };
        }
        let issuer = (!issuer.is_empty()).then_some(issuer);
        self.totp(issuer, account)
            .and_then(|totp| totp.to_url().ok())
            .unwrap_or_default()
    }

    /// An SVG document showing the QR code of [`Self::otpauth_uri`]: dark modules on white,
    /// with the quiet zone scanners need, at least 200 units square and scalable (it has a
    /// `viewBox`). Plain shapes only: no script, no external reference. Should the URI be too
    /// long for a QR code (an issuer or account of thousands of characters), the document is
    /// a blank square and the setup key remains the way in.
    pub fn qr_svg(&self, issuer: &str, account: &str) -> String {
        let uri = self.otpauth_uri(issuer, account);
        match QrCode::new(uri.as_bytes()) {
            Ok(code) => code
                .render::<svg::Color<'_>>()
                .dark_color(svg::Color("#000000"))
                .light_color(svg::Color("#ffffff"))
                .quiet_zone(true)
                .min_dimensions(QR_MIN_SIZE, QR_MIN_SIZE)
                .build(),
            Err(_) => format!(
                concat!(
                    r#"<svg xmlns="http://www.w3.org/2000/svg" width="{s}" height="{s}""#,
                    r##" viewBox="0 0 {s} {s}"><rect width="{s}" height="{s}" fill="#ffffff"/></svg>"##,
                ),
                s = QR_MIN_SIZE
            ),
        }
    }

    /// The TOTP step `now` falls in: whole 30-second periods since the Unix epoch.
    pub fn step(now: UnixTime) -> i64 {
        now.0.div_euclid(STEP_SECS)
    }

    /// The 6-digit code of `step`, zero-padded. For tests: production only verifies. Steps
    /// before the epoch have no code; for them this returns an empty string.
    pub fn code_at(&self, step: i64) -> String {
        self.code(step).map(|c| c.to_string()).unwrap_or_default()
    }

    /// Checks a code a person typed at `now`. Accepts exactly 6 ASCII digits, with spaces
    /// allowed around and between them ("123 456"), matching the current step or one step
    /// either side. Returns the matched step, which the caller stores and passes back as
    /// `last_used_step`: a code for that step or an earlier one is refused, so each code works
    /// once. The three candidates are always all computed and compared in constant time.
    pub fn verify(&self, code: &str, now: UnixTime, last_used_step: Option<i64>) -> Option<i64> {
        let typed = normalize_code(code)?;
        let current = TotpSecret::step(now);
        let mut matched: Option<i64> = None;
        for step in current.saturating_sub(SKEW)..=current.saturating_add(SKEW) {
            let Some(expected) = self.code(step) else {
                continue;
            };
            let expected = Zeroizing::new(expected.to_string());
            let equal: bool = expected.as_bytes().ct_eq(typed.as_bytes()).into();
            let fresh = last_used_step.is_none_or(|last| step > last);
            if equal && fresh && matched.is_none() {
                matched = Some(step);
            }
        }
        matched
    }

    /// The code of `step`, via `totp-rs` (which takes a time in seconds); `None` before the
    /// epoch or past the end of time.
    fn code(&self, step: i64) -> Option<totp_rs::Token> {
        let time = u64::try_from(step.checked_mul(STEP_SECS)?).ok()?;
        Some(self.totp(None, String::new())?.generate(time))
    }

    /// The `totp-rs` view of this secret. Fails only for a colon in the issuer or account,
    /// which the callers rule out.
    fn totp(&self, issuer: Option<String>, account: String) -> Option<Totp> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_step_duration(STEP_SECS.unsigned_abs())
            .with_secret(self.0.to_vec())
            .with_issuer(issuer)
            .with_account_name(account)
            .build()
            .ok()
    }
}

/// The digits of a typed code: surrounding whitespace and inner spaces dropped, then exactly
/// six ASCII digits, or `None`.
fn normalize_code(input: &str) -> Option<Zeroizing<String>> {
    if input.len() > MAX_CODE_INPUT {
        return None;
    }
    let digits: Zeroizing<String> = Zeroizing::new(
        input
            .trim()
            .chars()
            .filter(|c| *c != ' ')
            .collect::<String>(),
    );
    (digits.len() == usize::from(DIGITS) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemRng;

    /// RFC 6238 Appendix B's SHA-1 secret.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap()
    }

    #[test]
    fn rfc_6238_sha1_vectors() {
        let s = rfc_secret();
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            let step = TotpSecret::step(UnixTime(t));
            assert_eq!(s.code_at(step), code, "T={t}");
            assert_eq!(s.verify(code, UnixTime(t), None), Some(step), "T={t}");
        }
    }

    #[test]
    fn step_is_time_over_thirty() {
        assert_eq!(TotpSecret::step(UnixTime(0)), 0);
        assert_eq!(TotpSecret::step(UnixTime(29)), 0);
        assert_eq!(TotpSecret::step(UnixTime(30)), 1);
        assert_eq!(TotpSecret::step(UnixTime(59)), 1);
        assert_eq!(TotpSecret::step(UnixTime(-1)), -1);
        assert_eq!(rfc_secret().code_at(-1), "");
    }

    #[test]
    fn one_step_of_drift_either_side_is_accepted() {
        let s = TotpSecret::generate(&SystemRng);
        let now = UnixTime(1_700_000_015);
        let current = TotpSecret::step(now);
        for offset in [-1, 0, 1] {
            let code = s.code_at(current + offset);
            assert_eq!(s.verify(&code, now, None), Some(current + offset));
        }
        for offset in [-2, 2] {
            let code = s.code_at(current + offset);
            // A code two steps away may collide with a nearby one once in 10^6; not here.
            if [-1, 0, 1].iter().all(|o| s.code_at(current + o) != code) {
                assert_eq!(s.verify(&code, now, None), None, "offset {offset}");
            }
        }
    }

    #[test]
    fn a_code_is_accepted_once() {
        let s = rfc_secret();
        let now = UnixTime(1_234_567_890);
        let step = TotpSecret::step(now);
        let code = s.code_at(step);
        assert_eq!(s.verify(&code, now, None), Some(step));
        assert_eq!(s.verify(&code, now, Some(step)), None, "replay");
        assert_eq!(s.verify(&code, now, Some(step + 1)), None);
        // A code of the previous step is refused once the current one was used...
        assert_eq!(s.verify(&s.code_at(step - 1), now, Some(step)), None);
        // ...but the next step's code is still good.
        assert_eq!(
            s.verify(&s.code_at(step + 1), now, Some(step)),
            Some(step + 1)
        );
        assert_eq!(s.verify(&code, now, Some(step - 1)), Some(step));
    }

    #[test]
    fn typed_variants_and_malformed_codes() {
        let s = rfc_secret();
        let now = UnixTime(59);
        assert_eq!(s.verify("287 082", now, None), Some(1));
        assert_eq!(s.verify(" 287082\n", now, None), Some(1));
        for bad in [
            "",
            "28708",
            "2870820",
            "28708a",
            "+28708",
            "287-082",
            "２８７０８２",
            "287\t082",
            "94287082",
        ] {
            assert_eq!(s.verify(bad, now, None), None, "{bad:?}");
        }
        assert_eq!(
            s.verify(&format!("287{}082", " ".repeat(40)), now, None),
            None
        );
        assert_eq!(s.verify("287083", now, None), None);
    }

    #[test]
    fn secrets_are_random_long_enough_and_hidden() {
        let a = TotpSecret::generate(&SystemRng);
        assert_eq!(a.as_bytes().len(), 20);
        assert_ne!(a.as_bytes(), TotpSecret::generate(&SystemRng).as_bytes());
        assert!(TotpSecret::from_bytes(vec![1; 15]).is_none());
        assert!(TotpSecret::from_bytes(vec![1; 16]).is_some());
        assert_eq!(format!("{a:?}"), "TotpSecret(<redacted>)");
    }

    #[test]
    fn setup_key_is_unpadded_upper_case_base32() {
        let s = rfc_secret();
        assert_eq!(s.setup_key(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let odd = TotpSecret::from_bytes(b"0123456789abcdefg".to_vec()).unwrap();
        // 17 bytes = 136 bits = 27.2 characters, rounded up, no '='.
        assert_eq!(odd.setup_key().len(), 28);
        assert_eq!(odd.setup_key(), "GAYTEMZUGU3DOOBZMFRGGZDFMZTQ");
    }

    #[test]
    fn otpauth_uri_has_the_standard_shape() {
        let s = rfc_secret();
        let uri = s.otpauth_uri("Tollgate Example", "ada@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Tollgate%20Example:ada%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Tollgate%20Example"
        );
        let colons = s.otpauth_uri("A:B", "c:d");
        assert!(colons.starts_with("otpauth://totp/A-B:c-d?"), "{colons}");
        assert!(
            s.otpauth_uri("Tollgate", "")
                .starts_with("otpauth://totp/Tollgate:Tollgate?")
        );
        assert!(s.otpauth_uri("", "").starts_with("otpauth://totp/account?"));
    }

    #[test]
    fn qr_svg_is_a_plain_svg_document() {
        let svg = rfc_secret().qr_svg("Tollgate", "ada@example.com");
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("viewBox"));
        assert!(svg.contains("#000000") && svg.contains("#ffffff"));
        let lower = svg.to_ascii_lowercase();
        for forbidden in ["<script", "href", "<image", "<foreignobject", "javascript:"] {
            assert!(!lower.contains(forbidden), "{forbidden}");
        }
        let huge = rfc_secret().qr_svg("Tollgate", &"a".repeat(5000));
        assert!(huge.starts_with("<svg") && !huge.contains("<path"));
    }
}
