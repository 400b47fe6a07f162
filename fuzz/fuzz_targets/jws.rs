//! The JWS / JWT access-token parser of tollgate-verify (RFC 7515 compact form, RFC 9068 §4
//! claims): a token it reads has the compact form and an allowed algorithm, and claims it
//! accepts satisfy the policy they were checked against. The seeds are tokens a Tollgate
//! server issued with `ISSUER` as issuer and audience, around `NOW`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_verify::fuzzing::{self, MAX_LEN};
use tollgate_verify::{Algorithm, Error};

const ISSUER: &str = "https://auth.fuzz.example";
const NOW: i64 = 1_796_295_400;
const LEEWAY: i64 = 60;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = fuzzing::parse(token, &Algorithm::ALL) {
        assert!(token.len() <= MAX_LEN, "an over-long token was read");
        assert_eq!(token.matches('.').count(), 2, "not three parts");
        // The same token with its algorithm no longer allowed is refused as such.
        let others: Vec<Algorithm> = Algorithm::ALL
            .into_iter()
            .filter(|a| *a != parsed.alg)
            .collect();
        assert!(matches!(
            fuzzing::parse(token, &others),
            Err(Error::DisallowedAlgorithm)
        ));
    }
    if let Ok(claims) = fuzzing::claims(token, ISSUER, &[ISSUER], LEEWAY, NOW) {
        assert_eq!(claims.issuer(), ISSUER);
        assert!(claims.audiences().iter().any(|a| a == ISSUER));
        assert!(NOW < claims.expires_at().saturating_add(LEEWAY), "expired");
        assert!(claims.issued_at() <= NOW + LEEWAY, "issued in the future");
        assert!(claims.not_before().is_none_or(|nbf| nbf <= NOW + LEEWAY));
        assert!(
            claims
                .scopes()
                .iter()
                .all(|s| !s.is_empty() && !s.contains(' '))
        );
        assert!(!claims.raw().is_empty());
    }
});
