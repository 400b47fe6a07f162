//! Checking the ID token: the one thing in the flow that says who signed in.

use openidconnect::core::{
    CoreGenderClaim, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AccessToken, AccessTokenHash, ClaimsVerificationError, IdToken, IdTokenClaims, JsonWebKeySet,
    Nonce, SignatureVerificationError,
};
use serde::de::DeserializeOwned;

use super::claims::RoleClaims;
use super::{Sso, SsoError, chain};
use crate::clock::UnixTime;

/// How far the provider's clock may be from this node's.
const CLOCK_SKEW_SECS: i64 = 60;

type OidcIdToken = IdToken<
    RoleClaims,
    CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Claims = IdTokenClaims<RoleClaims, CoreGenderClaim>;

/// Public-key algorithms only: with an HMAC the client secret would be the key, so anyone
/// holding it (the operator, a leaked config) could mint tokens; `none` signs nothing.
pub(super) fn asymmetric(alg: &CoreJwsSigningAlgorithm) -> bool {
    use CoreJwsSigningAlgorithm as A;
    matches!(
        alg,
        A::RsaSsaPkcs1V15Sha256
            | A::RsaSsaPkcs1V15Sha384
            | A::RsaSsaPkcs1V15Sha512
            | A::EcdsaP256Sha256
            | A::EcdsaP384Sha384
            | A::EcdsaP521Sha512
            | A::RsaSsaPssSha256
            | A::RsaSsaPssSha384
            | A::RsaSsaPssSha512
            | A::EdDsa
    )
}

enum Failure {
    /// The token names a key the cached set lacks.
    UnknownKey,
    Invalid(String),
}

impl Sso {
    /// The token's claims once signature, issuer, audience, expiry, nonce and `at_hash` hold.
    /// A key the cached set lacks makes it fetch the set once more: providers rotate keys,
    /// and a token signed with the new key may arrive before this node has seen it.
    pub(super) async fn verified_claims(
        &self,
        id_token: &OidcIdToken,
        access_token: &AccessToken,
        nonce: &Nonce,
        now: UnixTime,
    ) -> Result<Claims, SsoError> {
        match self.check(id_token, access_token, nonce, now) {
            Ok(claims) => return Ok(claims),
            Err(Failure::Invalid(message)) => return Err(SsoError::InvalidIdToken(message)),
            Err(Failure::UnknownKey) => {}
        }
        let fresh = JsonWebKeySet::fetch_async(&self.jwks_uri, &self.http)
            .await
            .map_err(|e| {
                SsoError::InvalidIdToken(format!("cannot fetch the provider's keys: {}", chain(&e)))
            })?;
        tracing::info!(
            issuer = self.issuer.as_str(),
            "fetched the identity provider's new keys"
        );
        if let Ok(mut jwks) = self.jwks.write() {
            *jwks = fresh;
        }
        self.check(id_token, access_token, nonce, now)
            .map_err(|failure| match failure {
                Failure::UnknownKey => SsoError::InvalidIdToken(
                    "signed with a key the provider does not publish".to_owned(),
                ),
                Failure::Invalid(message) => SsoError::InvalidIdToken(message),
            })
    }

    fn check(
        &self,
        id_token: &OidcIdToken,
        access_token: &AccessToken,
        nonce: &Nonce,
        now: UnixTime,
    ) -> Result<Claims, Failure> {
        let jwks: CoreJsonWebKeySet = match self.jwks.read() {
            Ok(jwks) => jwks.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        // The verifier rejects a token once its clock reaches `exp`; running it a minute
        // behind grants the skew.
        let clock = chrono_time(UnixTime(now.0.saturating_sub(CLOCK_SKEW_SECS)))
            .map_err(Failure::Invalid)?;
        let latest_issue = now.0.saturating_add(CLOCK_SKEW_SECS);
        let verifier = CoreIdTokenVerifier::new_public_client(
            self.client_id.clone(),
            self.issuer.clone(),
            jwks,
        )
        .set_allowed_algs(self.algorithms.iter().cloned())
        .set_time_fn(move || clock)
        .set_issue_time_verifier_fn(move |issued| {
            if issued.timestamp() > latest_issue {
                Err(format!("issued in the future ({issued})"))
            } else {
                Ok(())
            }
        });
        let claims = id_token.claims(&verifier, nonce).map_err(|e| match e {
            ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            ) => Failure::UnknownKey,
            other => Failure::Invalid(chain(&other)),
        })?;
        if let Some(expected) = claims.access_token_hash() {
            let invalid = |e: &dyn std::error::Error| {
                Failure::Invalid(format!("cannot check at_hash: {}", chain(e)))
            };
            let alg = id_token.signing_alg().map_err(|e| invalid(&e))?;
            let key = id_token.signing_key(&verifier).map_err(|e| invalid(&e))?;
            let actual =
                AccessTokenHash::from_token(access_token, alg, key).map_err(|e| invalid(&e))?;
            if actual != *expected {
                return Err(Failure::Invalid(
                    "at_hash does not match the access token".to_owned(),
                ));
            }
        }
        Ok(claims.clone())
    }
}

/// openidconnect measures time in chrono's `DateTime<Utc>`, a type Tollgate does not
/// otherwise depend on; going through its RFC 3339 form builds one without naming it.
fn chrono_time<T: DeserializeOwned>(t: UnixTime) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(t.to_rfc3339()))
        .map_err(|e| format!("cannot express {} as a time: {e}", t.0))
}
