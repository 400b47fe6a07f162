//! The pending sign-in, kept in the browser rather than on the server: any node can finish
//! what another began, and nothing needs cleaning up when a browser never comes back.
//!
//! The cookie holds only a random value R and when it was drawn. `state`, `nonce` and the
//! PKCE verifier are HMACs of both under the server's key, so the cookie alone lets the
//! server recompute them but lets nobody else forge a matching `state`, and the verifier
//! never travels through the browser's URL bar.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::SsoError;
use crate::clock::{Rng, UnixTime, random_bytes};

/// How long a browser has between leaving for the provider and coming back; the caller's
/// cookie lives as long.
pub(super) const LIFETIME_SECS: i64 = 600;
/// Clocks of the nodes may differ a little; a cookie from slightly in the future is fine.
const FUTURE_SKEW_SECS: i64 = 60;
const RANDOM_LEN: usize = 32;

const STATE_LABEL: &[u8] = b"tollgate sso state";
const NONCE_LABEL: &[u8] = b"tollgate sso nonce";
const PKCE_LABEL: &[u8] = b"tollgate sso pkce";

/// What one sign-in attempt sends to and expects back from the provider.
pub(super) struct Pending {
    pub(super) state: String,
    pub(super) nonce: String,
    pub(super) pkce_verifier: Zeroizing<String>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Draws a new attempt: the cookie value and what derives from it.
pub(super) fn begin(key: &[u8], rng: &dyn Rng, now: UnixTime) -> (String, Pending) {
    let random = Zeroizing::new(random_bytes::<RANDOM_LEN>(rng));
    let cookie = format!("{}.{}", URL_SAFE_NO_PAD.encode(random.as_ref()), now.0);
    (cookie, derive(key, random.as_ref(), now.0))
}

/// Recomputes the attempt from its cookie, refusing a missing, malformed or stale one and a
/// `state` that is not the one the cookie yields.
pub(super) fn resume(
    key: &[u8],
    cookie: Option<&str>,
    state: Option<&str>,
    now: UnixTime,
) -> Result<Pending, SsoError> {
    let (random, issued_at) = cookie.and_then(parse).ok_or(SsoError::BadState)?;
    let age = now.0.saturating_sub(issued_at);
    if !(-FUTURE_SKEW_SECS..=LIFETIME_SECS).contains(&age) {
        return Err(SsoError::BadState);
    }
    let pending = derive(key, random.as_ref(), issued_at);
    let state = state.ok_or(SsoError::BadState)?;
    if bool::from(state.as_bytes().ct_eq(pending.state.as_bytes())) {
        Ok(pending)
    } else {
        Err(SsoError::BadState)
    }
}

fn parse(cookie: &str) -> Option<(Zeroizing<Vec<u8>>, i64)> {
    let (random, issued_at) = cookie.split_once('.')?;
    let random = Zeroizing::new(URL_SAFE_NO_PAD.decode(random).ok()?);
    if random.len() != RANDOM_LEN || issued_at.starts_with('+') {
        return None;
    }
    Some((random, issued_at.parse().ok()?))
}

fn derive(key: &[u8], random: &[u8], issued_at: i64) -> Pending {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mac = |label: &[u8]| {
        let mut context = hmac::Context::with_key(&key);
        // Labels are fixed and issued_at fixed-width, so no two inputs run into each other.
        context.update(label);
        context.update(&issued_at.to_be_bytes());
        context.update(random);
        URL_SAFE_NO_PAD.encode(context.sign().as_ref())
    };
    Pending {
        state: mac(STATE_LABEL),
        nonce: mac(NONCE_LABEL),
        pkce_verifier: Zeroizing::new(mac(PKCE_LABEL)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Counting;
    impl Rng for Counting {
        fn fill(&self, buf: &mut [u8]) {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = u8::try_from(i).unwrap();
            }
        }
    }

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: UnixTime = UnixTime(1_800_000_000);

    #[test]
    fn the_cookie_yields_the_same_state_nonce_and_verifier() {
        let (cookie, started) = begin(KEY, &Counting, NOW);
        assert!(cookie.ends_with(".1800000000"), "{cookie}");
        let resumed = resume(KEY, Some(&cookie), Some(&started.state), NOW.plus_secs(599)).unwrap();
        assert_eq!(resumed.state, started.state);
        assert_eq!(resumed.nonce, started.nonce);
        assert_eq!(*resumed.pkce_verifier, *started.pkce_verifier);
        // RFC 7636: 43 to 128 unreserved characters.
        assert_eq!(started.pkce_verifier.len(), 43);
        let all = [&started.state, &started.nonce, &*started.pkce_verifier];
        assert!(all[0] != all[1] && all[1] != all[2] && all[0] != all[2]);
    }

    #[test]
    fn another_key_gives_another_state() {
        let (cookie, started) = begin(KEY, &Counting, NOW);
        let other = resume(b"another key", Some(&cookie), Some(&started.state), NOW);
        assert!(matches!(other, Err(SsoError::BadState)));
    }

    #[test]
    fn a_tampered_state_or_cookie_is_refused() {
        let (cookie, started) = begin(KEY, &Counting, NOW);
        let mut state = started.state.clone();
        state.replace_range(0..1, if state.starts_with('A') { "B" } else { "A" });
        assert!(matches!(
            resume(KEY, Some(&cookie), Some(&state), NOW),
            Err(SsoError::BadState)
        ));
        assert!(matches!(
            resume(KEY, Some(&cookie), None, NOW),
            Err(SsoError::BadState)
        ));
        // Moving the issue time forward to extend the attempt changes every derived value.
        let moved = cookie.replace(".1800000000", ".1800000100");
        let later = NOW.plus_secs(650);
        assert!(matches!(
            resume(KEY, Some(&moved), Some(&started.state), later),
            Err(SsoError::BadState)
        ));
        for malformed in [
            "",
            "abc",
            "abc.1",
            &cookie.replace('.', ""),
            &format!("{cookie}x"),
        ] {
            assert!(
                matches!(
                    resume(KEY, Some(malformed), Some(&started.state), NOW),
                    Err(SsoError::BadState)
                ),
                "{malformed}"
            );
        }
    }

    #[test]
    fn an_expired_or_missing_cookie_is_refused() {
        let (cookie, started) = begin(KEY, &Counting, NOW);
        let expired = resume(KEY, Some(&cookie), Some(&started.state), NOW.plus_secs(601));
        assert!(matches!(expired, Err(SsoError::BadState)));
        let missing = resume(KEY, None, Some(&started.state), NOW);
        assert!(matches!(missing, Err(SsoError::BadState)));
        let future = resume(
            KEY,
            Some(&cookie),
            Some(&started.state),
            UnixTime(NOW.0 - 61),
        );
        assert!(matches!(future, Err(SsoError::BadState)));
    }
}
