//! Tokens: client authentication, the client credentials grant, validation of our own tokens,
//! introspection (RFC 7662), revocation (RFC 7009) and the revocation feed.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use super::{BearerError, CallerError, Credentials, IssuedToken, TokenError, Tollgate};
use crate::cache::CachedClient;
use crate::clock::{UnixTime, random_bytes};
use crate::domain::grant::{self, ClientAccess, TokenRequest};
use crate::domain::revocation::{MAX_TOKEN_REVOCATIONS_PER_CLIENT, Revocation, RevocationEntry};
use crate::domain::scope::{ADMIN_SCOPE, INTROSPECT_SCOPE};
use crate::domain::secret::{ClientSecret, MAX_SECRET_LEN};
use crate::domain::token::{self, AccessTokenClaims, MAX_TOKEN_LEN};
use crate::domain::usage::Hour;
use crate::keys::{KeyError, VerifyError};
use crate::store::StoreError;

impl Tollgate {
    /// Client authentication (RFC 6749 §2.3.1) from the cache: no database access.
    ///
    /// An unknown client and a wrong secret must look the same, in the answer and in the
    /// time taken. The costly step, the keyed hash of the presented secret, is computed
    /// first, whatever the client id; then a known client's stored hashes are compared in
    /// constant time, and an unknown client's presented hash is compared with a dummy hash,
    /// as with a client holding one secret. The lookup itself is a hash-map probe in memory
    /// either way.
    pub fn authenticate(
        &self,
        creds: &Credentials,
        now: UnixTime,
    ) -> Result<Arc<CachedClient>, TokenError> {
        self.check_credentials(creds, now).map_err(|(e, _)| e)
    }

    /// [`Tollgate::authenticate`], with the client named on a refusal if it exists.
    fn check_credentials(
        &self,
        creds: &Credentials,
        now: UnixTime,
    ) -> Result<Arc<CachedClient>, (TokenError, Option<Arc<CachedClient>>)> {
        if !self.freshness.usable(now) {
            return Err((TokenError::Unavailable, None));
        }
        let secret = creds.secret.expose();
        let presented = if secret.len() <= MAX_SECRET_LEN {
            self.hasher.hash(&creds.secret)
        } else {
            // Still hash something so an over-long secret costs the same.
            self.hasher.hash(&ClientSecret::new(String::new()))
        };
        match self.cache.get(&creds.client_id) {
            Some(client) if secret.len() <= MAX_SECRET_LEN => {
                match client.matching_secret(&presented, now) {
                    Some(secret) => {
                        secret.touch(now);
                        Ok(client)
                    }
                    None => Err((TokenError::InvalidClient, Some(client))),
                }
            }
            named => {
                // The comparison a client with one secret would make.
                let _ = presented.ct_eq(&self.dummy_hash);
                Err((TokenError::InvalidClient, named))
            }
        }
    }

    /// The client credentials grant (RFC 6749 §4.4). Each outcome is counted in memory, under
    /// the client when it exists (see `usage`).
    pub fn issue_token(
        &self,
        creds: &Credentials,
        request: &TokenRequest,
        now: UnixTime,
    ) -> Result<IssuedToken, TokenError> {
        let hour = Hour::of(now);
        let client = self.check_credentials(creds, now).map_err(|(e, named)| {
            self.count_refusal(named.as_deref(), e.refusal(), hour);
            e
        })?;
        if let Err(refused) = self.check_quota(&client, now) {
            let e = TokenError::Quota(refused);
            client.usage.refused(e.refusal(), hour);
            return Err(e);
        }
        match self.sign_token(&client, request, now) {
            Ok(issued) => {
                client.usage.issued(hour);
                Ok(issued)
            }
            Err(e) => {
                client.usage.refused(e.refusal(), hour);
                crate::metrics::token_refused(e.refusal());
                Err(e)
            }
        }
    }

    fn sign_token(
        &self,
        client: &CachedClient,
        request: &TokenRequest,
        now: UnixTime,
    ) -> Result<IssuedToken, TokenError> {
        let access = ClientAccess {
            scopes: &client.access.scopes,
            tenants: &client.access.tenants,
            lifetime: client.access_token_lifetime(),
            algorithm: client.signing_algorithm,
        };
        let grant = grant::grant(
            &access,
            request,
            &self.catalogue(),
            self.policy.default_lifetime,
        )?;
        let jti = B64.encode(random_bytes::<16>(self.rng.as_ref()));
        let claims = token::claims(&client.id, &grant, &self.policy, now, jti);
        let mut payload = serde_json::to_vec(&claims).map_err(|_| KeyError::Sign)?;
        if let Some(extra) = &client.access.claims {
            extra.append_to(&mut payload);
        }
        let keys = self.keys();
        let key = match grant.algorithm {
            Some(alg) => keys.current_for(alg).unwrap_or(keys.current()),
            None => keys.current(),
        };
        let access_token = key.sign_jwt(&payload)?;
        crate::metrics::token_issued(key.algorithm(), &grant.audience);
        Ok(IssuedToken {
            access_token,
            expires_in: grant.lifetime,
            scope: grant.scope,
            client_id: client.id.to_string(),
        })
    }

    /// Validates one of this server's access tokens: length, signature, issuer, expiry, that
    /// its client still exists (and is the client it was issued to), and that it is not
    /// revoked. The scopes returned are the token's narrowed to those its client holds now;
    /// the audience and scopes are the caller's to check.
    pub fn validate_token(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<AccessTokenClaims, BearerError> {
        // Before any decoding, so an oversized header or form field costs nothing more.
        if token.len() > MAX_TOKEN_LEN {
            return Err(BearerError::InvalidToken("the token is too long"));
        }
        let payload = self.keys().verify(token).map_err(|e| {
            BearerError::InvalidToken(match e {
                VerifyError::Malformed => "the token is malformed",
                VerifyError::BadHeader => "the token header is not acceptable",
                VerifyError::UnknownKey => "the token was not signed by this server",
                VerifyError::BadSignature => "the token signature is invalid",
            })
        })?;
        let mut claims: AccessTokenClaims = serde_json::from_slice(&payload)
            .map_err(|_| BearerError::InvalidToken("the token claims are malformed"))?;
        if claims.iss != self.policy.issuer {
            return Err(BearerError::InvalidToken("the token has another issuer"));
        }
        if now.0 >= claims.exp {
            return Err(BearerError::InvalidToken("the token has expired"));
        }
        let iat = UnixTime(claims.iat);
        let client = match self.cache.get(&claims.client_id) {
            Some(c) if iat >= c.created_at => c,
            _ => {
                return Err(BearerError::InvalidToken(
                    "the token's client no longer exists",
                ));
            }
        };
        // The scopes a token carries were the client's when it was issued; a client that
        // has since lost one (a demoted administrator) must not keep it through its tokens.
        // The cache follows every node's changes, so this holds cluster-wide.
        claims.narrow_scopes(client.scopes());
        let revoked = self
            .revoked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_revoked(&claims.jti, &claims.client_id, iat);
        if revoked {
            return Err(BearerError::InvalidToken("the token has been revoked"));
        }
        Ok(claims)
    }

    /// Checks a bearer token issued by this server for use on its own admin API: it must
    /// carry `required_scope` or `tollgate:admin`, which allows everything.
    pub fn authorize_bearer(
        &self,
        token: &str,
        required_scope: &str,
        now: UnixTime,
    ) -> Result<AccessTokenClaims, BearerError> {
        let claims = self.validate_token(token, now)?;
        if !claims.aud.contains(&self.policy.issuer) {
            return Err(BearerError::InvalidToken(
                "the token is not meant for this API (audience)",
            ));
        }
        // The same check a console role goes through (`Role::allows`).
        if !crate::domain::admin::permits(claims.scopes(), required_scope) {
            return Err(BearerError::InsufficientScope);
        }
        Ok(claims)
    }

    /// Authenticates a client that asks about tokens, and checks it may
    /// (`tollgate:introspect` or `tollgate:admin`).
    fn token_inspector(
        &self,
        caller: &Credentials,
        now: UnixTime,
    ) -> Result<Arc<CachedClient>, CallerError> {
        let client = self
            .authenticate(caller, now)
            .map_err(CallerError::from_authentication)?;
        if may_inspect(&client) {
            Ok(client)
        } else {
            Err(CallerError::NotAllowed)
        }
    }

    /// Token introspection (RFC 7662): the claims of an active token, `None` for anything
    /// else (expired, revoked, malformed, foreign, unknown key, deleted client).
    ///
    /// A client without `tollgate:introspect` may introspect the tokens issued to itself;
    /// any other token is inactive to it (RFC 7662 §2.2: "the protected resource is not
    /// allowed to introspect this particular token"), so it learns nothing about them.
    pub fn introspect(
        &self,
        caller: &Credentials,
        token: &str,
        now: UnixTime,
    ) -> Result<Option<AccessTokenClaims>, CallerError> {
        let client = self
            .authenticate(caller, now)
            .map_err(CallerError::from_authentication)?;
        let claims = self.validate_token(token, now).ok();
        if may_inspect(&client) {
            return Ok(claims);
        }
        Ok(claims.filter(|c| *c.client_id == *client.id))
    }

    /// Token revocation (RFC 7009). A client revokes its own tokens; an administrator any.
    /// Tokens that are invalid already need nothing and succeed, as §2.2 says.
    ///
    /// Each revoked token is a row, an index entry on every node and a feed entry every
    /// resource server downloads, so a client may hold at most
    /// [`MAX_TOKEN_REVOCATIONS_PER_CLIENT`] live ones. Past that, revoking records a single
    /// client-wide revocation of every token the client got until now (which replaces the
    /// client's earlier one), so the feed holds at most that many entries plus one per client.
    /// This also revokes the client's other tokens issued until now, including any issued in
    /// the same second: a safe over-approximation, since the client can fetch new ones (a
    /// client that revokes this often has no use for its old tokens anyway). The answer is 200
    /// either way.
    pub async fn revoke(
        &self,
        caller: &Credentials,
        token: &str,
        now: UnixTime,
    ) -> Result<(), CallerError> {
        let client = self
            .authenticate(caller, now)
            .map_err(CallerError::from_authentication)?;
        let Ok(claims) = self.validate_token(token, now) else {
            return Ok(());
        };
        if *claims.client_id != *client.id && !client.scopes().contains(ADMIN_SCOPE) {
            return Err(CallerError::NotOwner);
        }
        let crowded = self
            .revoked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .live_tokens_of(&claims.client_id, now)
            >= MAX_TOKEN_REVOCATIONS_PER_CLIENT;
        let revocation = if crowded {
            Revocation::Client {
                client_id: claims.client_id,
                // At least the token's own `iat`, so the token itself is covered.
                issued_before: now.max(UnixTime(claims.iat)),
            }
        } else {
            Revocation::Token {
                jti: claims.jti,
                client_id: claims.client_id,
                exp: UnixTime(claims.exp),
            }
        };
        self.record_revocation(revocation, now).await?;
        Ok(())
    }

    pub(super) async fn record_revocation(
        &self,
        r: Revocation,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.store.insert_revocation(&r, now).await?;
        self.revoked
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(&r);
        Ok(())
    }

    /// The revocation feed after `cursor`, for resource servers that poll it.
    pub async fn revocations_since(
        &self,
        caller: &Credentials,
        cursor: i64,
        limit: u32,
        now: UnixTime,
    ) -> Result<Vec<RevocationEntry>, CallerError> {
        self.token_inspector(caller, now)?;
        Ok(self.store.revocations_since(cursor, limit).await?)
    }

    /// Forgets revocations whose tokens have all expired.
    pub async fn prune_revocations(&self, now: UnixTime) -> Result<u64, StoreError> {
        let pruned = self.store.prune_revocations(now).await?;
        self.revoked
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .prune(now);
        Ok(pruned)
    }
}

/// Whether a client may introspect any token and read the revocation feed.
fn may_inspect(client: &CachedClient) -> bool {
    client.scopes().contains(INTROSPECT_SCOPE) || client.scopes().contains(ADMIN_SCOPE)
}
