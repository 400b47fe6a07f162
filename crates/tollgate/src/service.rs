//! The Tollgate service: the operations the HTTP layer and the bootstrap call. Time is always
//! a parameter; nothing here knows of HTTP.

use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

use crate::cache::{CachedClient, ClientCache};
use crate::clock::{Clock, Rng, UnixTime, random_bytes};
use crate::config::BootstrapCredentials;
use crate::domain::client::{
    Client, ClientId, ClientName, ClientPatch, Description, FieldError, NewClient, SecretId,
    SecretInfo,
};
use crate::domain::revocation::{Revocation, RevocationEntry, RevocationIndex};
use crate::domain::scope::{ADMIN_SCOPE, INTROSPECT_SCOPE, ScopeSet};
use crate::domain::secret::{ClientSecret, MAX_SECRET_LEN, SecretHash, SecretHasher};
use crate::domain::token::{self, AccessTokenClaims, GrantError, TokenPolicy, TokenRequest};
use crate::freshness::Freshness;
use crate::keys::{Algorithm, KeyError, KeyRing, SigningKey, VerifyError};
use crate::store::{ListCursor, Store, StoreError, StoredKey};

/// Most secrets one client may hold at once.
pub const MAX_SECRETS_PER_CLIENT: usize = 5;
pub const BOOTSTRAP_CLIENT_NAME: &str = "tollgate-admin";
const SECRET_HASH_KEY: &str = "secret_hash_key";
const BOOTSTRAPPED: &str = "bootstrapped";

/// Client credentials as presented at the token endpoint.
#[derive(Debug)]
pub struct Credentials {
    pub client_id: String,
    pub secret: ClientSecret,
}

#[derive(Debug)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
    pub scope: ScopeSet,
    pub client_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Unknown client, wrong or expired secret: deliberately one case.
    #[error("client authentication failed")]
    InvalidClient,
    #[error(transparent)]
    Grant(#[from] GrantError),
    #[error(transparent)]
    Signing(#[from] KeyError),
    /// The node lost the database longer ago than the outage grace: its cache may be stale.
    #[error("the client cache may be out of date: the database is unreachable")]
    Unavailable,
}

#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    #[error("{0}")]
    InvalidToken(&'static str),
    #[error("the token lacks the required scope")]
    InsufficientScope,
}

/// Why a caller of introspection, revocation or the revocation feed was turned away.
#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    #[error("client authentication failed")]
    InvalidClient,
    #[error("the client may not use this endpoint")]
    NotAllowed,
    #[error("the token belongs to another client")]
    NotOwner,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the client cache may be out of date: the database is unreachable")]
    Unavailable,
}

impl CallerError {
    fn from_authentication(e: TokenError) -> CallerError {
        match e {
            TokenError::Unavailable => CallerError::Unavailable,
            _ => CallerError::InvalidClient,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the request is invalid")]
    Validation(Vec<FieldError>),
    #[error("a client with this name already exists")]
    NameTaken,
    #[error("no client with this id")]
    NotFound,
    #[error("the client has no secret with this id")]
    SecretNotFound,
    #[error("the client already holds {MAX_SECRETS_PER_CLIENT} secrets; remove one first")]
    TooManySecrets,
    #[error("removing the last secret would lock the client out; add a new secret first")]
    LastSecret,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ClientError {
    fn from(e: StoreError) -> ClientError {
        match e {
            StoreError::NameTaken => ClientError::NameTaken,
            other => ClientError::Store(other),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("bootstrap: {0}")]
    Bootstrap(String),
}

/// A client as the bootstrap created it, with its secret when Tollgate generated it.
#[derive(Debug)]
pub struct Bootstrapped {
    pub client_id: ClientId,
    pub generated_secret: Option<ClientSecret>,
}

#[derive(Debug)]
pub struct Tollgate {
    store: Arc<dyn Store>,
    cache: ClientCache,
    hasher: SecretHasher,
    keys: RwLock<Arc<KeyRing>>,
    policy: TokenPolicy,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    /// Unknown clients are checked against this, so they cost what a wrong secret costs.
    dummy_hash: SecretHash,
    /// Admin writes are rare; serialising them keeps the cache in the database's order.
    write_lock: Mutex<()>,
    revoked: RwLock<RevocationIndex>,
    /// Whether the caches follow the database (several nodes); see [`Freshness`].
    freshness: Freshness,
}

impl Tollgate {
    /// Loads (or creates, on first start) the hashing key and signing key, and fills the
    /// client cache.
    pub async fn start(
        store: Arc<dyn Store>,
        policy: TokenPolicy,
        algorithm: Algorithm,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Result<Tollgate, StartError> {
        let now = clock.now();
        let candidate = Zeroizing::new(random_bytes::<{ SecretHasher::KEY_LEN }>(rng.as_ref()));
        let hash_key = store
            .instance_key(SECRET_HASH_KEY, candidate.as_ref(), now)
            .await?;
        let hasher = SecretHasher::new(&hash_key);
        let keys = load_keys(store.as_ref(), algorithm, now).await?;
        let cache = ClientCache::default();
        cache.replace_all(&store.all_clients().await?);
        let dummy_hash = SecretHash(random_bytes::<32>(rng.as_ref()));
        let mut revoked = RevocationIndex::default();
        for entry in store.live_revocations(now).await? {
            revoked.insert(&entry.revocation);
        }
        Ok(Tollgate {
            store,
            cache,
            hasher,
            keys: RwLock::new(Arc::new(keys)),
            policy,
            clock,
            rng,
            dummy_hash,
            write_lock: Mutex::new(()),
            revoked: RwLock::new(revoked),
            freshness: Freshness::default(),
        })
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn scopes_in_use(&self) -> Vec<String> {
        self.cache.all_scopes().into_iter().collect()
    }

    pub async fn ready(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// Client authentication (RFC 6749 §2.3.1) from the cache: no database access.
    pub fn authenticate(
        &self,
        creds: &Credentials,
        now: UnixTime,
    ) -> Result<Arc<CachedClient>, TokenError> {
        if !self.freshness.usable(now) {
            return Err(TokenError::Unavailable);
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
                    Some(_) => Ok(client),
                    None => Err(TokenError::InvalidClient),
                }
            }
            _ => {
                let _ = presented.ct_eq(&self.dummy_hash);
                Err(TokenError::InvalidClient)
            }
        }
    }

    /// The client credentials grant (RFC 6749 §4.4).
    pub fn issue_token(
        &self,
        creds: &Credentials,
        request: &TokenRequest,
        now: UnixTime,
    ) -> Result<IssuedToken, TokenError> {
        let client = self.authenticate(creds, now)?;
        let grant = token::grant(
            &client.scopes,
            client.access_token_lifetime,
            request,
            &self.policy,
        )?;
        let jti = B64.encode(random_bytes::<16>(self.rng.as_ref()));
        let claims = token::claims(
            &client.id,
            &grant,
            request.tenant.as_ref(),
            &self.policy,
            now,
            jti,
        );
        let payload = serde_json::to_vec(&claims).map_err(|_| KeyError::Sign)?;
        let access_token = self.keys().current().sign_jwt(&payload)?;
        Ok(IssuedToken {
            access_token,
            expires_in: grant.lifetime,
            scope: grant.scope,
            client_id: client.id.clone(),
        })
    }

    /// Validates one of this server's access tokens: signature, issuer, expiry, that its
    /// client still exists (and is the client it was issued to), and that it is not revoked.
    /// The audience and scopes are the caller's to check.
    pub fn validate_token(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<AccessTokenClaims, BearerError> {
        let payload = self.keys().verify(token).map_err(|e| {
            BearerError::InvalidToken(match e {
                VerifyError::Malformed => "the token is malformed",
                VerifyError::BadHeader => "the token header is not acceptable",
                VerifyError::UnknownKey => "the token was not signed by this server",
                VerifyError::BadSignature => "the token signature is invalid",
            })
        })?;
        let claims: AccessTokenClaims = serde_json::from_slice(&payload)
            .map_err(|_| BearerError::InvalidToken("the token claims are malformed"))?;
        if claims.iss != self.policy.issuer {
            return Err(BearerError::InvalidToken("the token has another issuer"));
        }
        if now.0 >= claims.exp {
            return Err(BearerError::InvalidToken("the token has expired"));
        }
        let iat = UnixTime(claims.iat);
        match self.cache.get(&claims.client_id) {
            Some(c) if iat >= c.created_at => {}
            _ => {
                return Err(BearerError::InvalidToken(
                    "the token's client no longer exists",
                ));
            }
        }
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

    /// Checks a bearer token issued by this server for use on its own admin API.
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
        if !claims.scopes().any(|s| s == required_scope) {
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
        if client.scopes.contains(INTROSPECT_SCOPE) || client.scopes.contains(ADMIN_SCOPE) {
            Ok(client)
        } else {
            Err(CallerError::NotAllowed)
        }
    }

    /// Token introspection (RFC 7662): the claims of an active token, `None` for anything
    /// else (expired, revoked, malformed, foreign, unknown key, deleted client).
    pub fn introspect(
        &self,
        caller: &Credentials,
        token: &str,
        now: UnixTime,
    ) -> Result<Option<AccessTokenClaims>, CallerError> {
        self.token_inspector(caller, now)?;
        Ok(self.validate_token(token, now).ok())
    }

    /// Token revocation (RFC 7009). A client revokes its own tokens; an administrator any.
    /// Tokens that are invalid already need nothing and succeed, as §2.2 says.
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
        if claims.client_id != client.id && !client.scopes.contains(ADMIN_SCOPE) {
            return Err(CallerError::NotOwner);
        }
        self.record_revocation(
            Revocation::Token {
                jti: claims.jti,
                client_id: claims.client_id,
                exp: UnixTime(claims.exp),
            },
            now,
        )
        .await?;
        Ok(())
    }

    async fn record_revocation(&self, r: Revocation, now: UnixTime) -> Result<(), StoreError> {
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

    pub async fn create_client(
        &self,
        new: NewClient,
        now: UnixTime,
    ) -> Result<(Client, ClientSecret), ClientError> {
        self.create_client_with(ClientId::generate(self.rng.as_ref()), new, None, now)
            .await
    }

    async fn create_client_with(
        &self,
        id: ClientId,
        new: NewClient,
        secret: Option<ClientSecret>,
        now: UnixTime,
    ) -> Result<(Client, ClientSecret), ClientError> {
        let secret = secret.unwrap_or_else(|| ClientSecret::generate(self.rng.as_ref()));
        let client = Client {
            id,
            name: new.name,
            description: new.description,
            scopes: new.scopes,
            access_token_lifetime: new.access_token_lifetime,
            secrets: vec![self.secret_info(&secret, None, now)],
            created_at: now,
            updated_at: now,
        };
        let _guard = self.write_lock.lock().await;
        self.store.insert_client(&client).await?;
        self.cache.put(&client);
        Ok((client, secret))
    }

    fn secret_info(
        &self,
        secret: &ClientSecret,
        expires_at: Option<UnixTime>,
        now: UnixTime,
    ) -> SecretInfo {
        SecretInfo {
            id: SecretId::generate(self.rng.as_ref()),
            hash: self.hasher.hash(secret),
            created_at: now,
            expires_at,
            last_used_at: None,
        }
    }

    pub async fn get_client(&self, id: &ClientId) -> Result<Client, ClientError> {
        self.store
            .get_client(id)
            .await?
            .ok_or(ClientError::NotFound)
    }

    /// One page of clients and the cursor of the next page, if there is one.
    pub async fn list_clients(
        &self,
        after: Option<&ListCursor>,
        limit: u32,
    ) -> Result<(Vec<Client>, Option<ListCursor>), ClientError> {
        let mut page = self
            .store
            .list_clients(after, limit.saturating_add(1))
            .await?;
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        let next = more.then(|| page.last()).flatten().map(|c| ListCursor {
            created_at: c.created_at,
            client_id: c.id.clone(),
        });
        Ok((page, next))
    }

    pub async fn update_client(
        &self,
        id: &ClientId,
        patch: &ClientPatch,
        now: UnixTime,
    ) -> Result<Client, ClientError> {
        let _guard = self.write_lock.lock().await;
        let mut client = self.get_client(id).await?;
        patch.apply(&mut client, now);
        if !self.store.update_client(&client).await? {
            return Err(ClientError::NotFound);
        }
        self.cache.put(&client);
        Ok(client)
    }

    /// Deletes a client: it gets no more tokens, and every token it holds is revoked.
    pub async fn delete_client(&self, id: &ClientId, now: UnixTime) -> Result<(), ClientError> {
        let _guard = self.write_lock.lock().await;
        let deleted = self.store.delete_client(id).await?;
        self.cache.remove(id.as_str());
        if !deleted {
            return Err(ClientError::NotFound);
        }
        self.record_revocation(
            Revocation::Client {
                client_id: id.as_str().to_owned(),
                issued_before: now,
            },
            now,
        )
        .await?;
        Ok(())
    }

    pub async fn add_secret(
        &self,
        id: &ClientId,
        expires_at: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<(SecretInfo, ClientSecret), ClientError> {
        if expires_at.is_some_and(|e| e <= now) {
            return Err(ClientError::Validation(vec![FieldError::new(
                "expires_at",
                "must be in the future",
            )]));
        }
        let _guard = self.write_lock.lock().await;
        let mut client = self.get_client(id).await?;
        if client.secrets.len() >= MAX_SECRETS_PER_CLIENT {
            return Err(ClientError::TooManySecrets);
        }
        let secret = ClientSecret::generate(self.rng.as_ref());
        let info = self.secret_info(&secret, expires_at, now);
        if !self.store.insert_secret(id, &info).await? {
            return Err(ClientError::NotFound);
        }
        client.secrets.push(info.clone());
        self.cache.put(&client);
        Ok((info, secret))
    }

    pub async fn remove_secret(
        &self,
        id: &ClientId,
        secret_id: &SecretId,
    ) -> Result<(), ClientError> {
        let _guard = self.write_lock.lock().await;
        let mut client = self.get_client(id).await?;
        if !client.secrets.iter().any(|s| &s.id == secret_id) {
            return Err(ClientError::SecretNotFound);
        }
        if client.secrets.len() == 1 {
            return Err(ClientError::LastSecret);
        }
        if !self.store.delete_secret(id, secret_id).await? {
            return Err(ClientError::SecretNotFound);
        }
        client.secrets.retain(|s| &s.id != secret_id);
        self.cache.put(&client);
        Ok(())
    }

    /// Creates the administrator client on first start (or from deployment-supplied
    /// credentials). Returns what was created, if anything.
    pub async fn bootstrap(
        &self,
        supplied: Option<&BootstrapCredentials>,
        now: UnixTime,
    ) -> Result<Option<Bootstrapped>, StartError> {
        let admin = NewClient {
            name: ClientName::parse(BOOTSTRAP_CLIENT_NAME)
                .map_err(|e| StartError::Bootstrap(e.message))?,
            description: Description::parse("Administrator client created at first start")
                .map_err(|e| StartError::Bootstrap(e.message))?,
            scopes: ScopeSet::parse_list(&[ADMIN_SCOPE])
                .map_err(|e| StartError::Bootstrap(e.to_string()))?,
            access_token_lifetime: None,
        };
        let result = match supplied {
            Some(creds) => {
                let id = ClientId::parse(&creds.client_id)
                    .map_err(|e| StartError::Bootstrap(e.message))?;
                if self.cache.get(id.as_str()).is_some() {
                    let matches = self
                        .authenticate(
                            &Credentials {
                                client_id: creds.client_id.clone(),
                                secret: creds.client_secret.clone(),
                            },
                            now,
                        )
                        .is_ok();
                    if !matches {
                        tracing::warn!(
                            client_id = %id,
                            "TOLLGATE_BOOTSTRAP_CLIENT_SECRET is not a secret of the existing \
                             bootstrap client; the client was left unchanged"
                        );
                    }
                    None
                } else {
                    let mut new = admin;
                    if self.store.meta(BOOTSTRAPPED).await?.is_some() {
                        // The generated admin client may hold the default name already.
                        new.name = ClientName::parse(&format!("{BOOTSTRAP_CLIENT_NAME}-{id}"))
                            .map_err(|e| StartError::Bootstrap(e.message))?;
                    }
                    self.create_client_with(
                        id.clone(),
                        new,
                        Some(creds.client_secret.clone()),
                        now,
                    )
                    .await
                    .map_err(|e| StartError::Bootstrap(e.to_string()))?;
                    Some(Bootstrapped {
                        client_id: id,
                        generated_secret: None,
                    })
                }
            }
            None if self.store.meta(BOOTSTRAPPED).await?.is_none() && self.cache.is_empty() => {
                let (client, secret) = self
                    .create_client(admin, now)
                    .await
                    .map_err(|e| StartError::Bootstrap(e.to_string()))?;
                Some(Bootstrapped {
                    client_id: client.id,
                    generated_secret: Some(secret),
                })
            }
            None => None,
        };
        self.store
            .set_meta(BOOTSTRAPPED, &now.0.to_string())
            .await?;
        Ok(result)
    }
}

/// Keeping the caches in step with the database when other nodes write to it too. The
/// change feed loop (`crate::sync`) calls these.
impl Tollgate {
    pub fn freshness(&self) -> &Freshness {
        &self.freshness
    }

    /// Reloads one client from the database into the cache, or drops it if it is gone.
    pub async fn refresh_client(&self, client_id: &str) -> Result<(), StoreError> {
        let Ok(id) = ClientId::parse(client_id) else {
            // Not a valid id, so not a client anyone can authenticate as.
            self.cache.remove(client_id);
            return Ok(());
        };
        // Serialised with this node's own writes, so a reload never overtakes one.
        let _guard = self.write_lock.lock().await;
        match self.store.get_client(&id).await? {
            Some(client) => self.cache.put(&client),
            None => self.cache.remove(client_id),
        }
        Ok(())
    }

    /// Learns a revocation recorded by another node.
    pub async fn learn_revocation(&self, cursor: i64) -> Result<(), StoreError> {
        if let Some(entry) = self.store.revocation(cursor).await? {
            self.revoked
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(&entry.revocation);
        }
        Ok(())
    }

    /// Reloads every client and every live revocation. Revocations are only ever added (they
    /// expire through pruning), so they are merged into what the node knows.
    pub async fn refresh_all(&self, now: UnixTime) -> Result<(), StoreError> {
        let revocations = self.store.live_revocations(now).await?;
        {
            let _guard = self.write_lock.lock().await;
            let clients = self.store.all_clients().await?;
            self.cache.replace_all(&clients);
        }
        let mut index = self.revoked.write().unwrap_or_else(|p| p.into_inner());
        for entry in &revocations {
            index.insert(&entry.revocation);
        }
        Ok(())
    }
}

/// The newest stored key of `algorithm` signs; a key is generated on first start or when the
/// configured algorithm has none yet. Every stored key is published.
async fn load_keys(
    store: &dyn Store,
    algorithm: Algorithm,
    now: UnixTime,
) -> Result<KeyRing, StartError> {
    let mut published = Vec::new();
    for stored in store.signing_keys().await? {
        published.push(Arc::new(SigningKey::from_pkcs8(
            stored.algorithm,
            &stored.private_key,
        )?));
    }
    let current = match published.iter().find(|k| k.algorithm() == algorithm) {
        Some(k) => k.clone(),
        None => {
            let (key, der) = SigningKey::generate(algorithm)?;
            store
                .insert_signing_key(&StoredKey {
                    kid: key.kid().to_owned(),
                    algorithm,
                    private_key: der,
                    created_at: now,
                })
                .await?;
            tracing::info!(kid = key.kid(), alg = %algorithm, "generated a new signing key");
            Arc::new(key)
        }
    };
    Ok(KeyRing::new(current, published))
}
