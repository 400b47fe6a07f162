//! Single sign-on to the admin console with the organisation's OpenID Connect provider
//! (Entra ID, Okta, Google, Keycloak...), so administrators use the accounts, second factors
//! and off-boarding the organisation already has.
//!
//! The authorization code flow with PKCE, `state` and `nonce`; nothing is stored on the
//! server between [`Sso::begin`] and [`Sso::finish`] (see `pending`), so a sign-in may start
//! on one node and finish on another. Only the ID token, verified against the provider's
//! keys, says who signed in; the access token is used for nothing but user info.

mod claims;
mod http_client;
mod pending;
mod verify;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim,
    CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AuthType, AuthenticationFlow, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl,
    JsonWebKeySetUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
    UserInfoClaims,
};
use serde::Deserialize;
use zeroize::Zeroizing;

use self::claims::RoleClaims;
use self::http_client::HttpClient;
use crate::clock::{Rng, UnixTime};

/// The provider-issued secret of Tollgate's client registration. Kept out of logs and wiped
/// from memory when dropped.
#[derive(Clone)]
pub struct SsoClientSecret(Zeroizing<String>);

impl SsoClientSecret {
    pub fn new(secret: String) -> SsoClientSecret {
        SsoClientSecret(Zeroizing::new(secret))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SsoClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SsoClientSecret(<redacted>)")
    }
}

/// What the operator configures.
#[derive(Clone, Debug)]
pub struct SsoSettings {
    /// The provider's issuer, e.g. `https://login.example.com/realms/x`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SsoClientSecret,
    /// The claim whose values map to roles, e.g. `groups`.
    pub role_claim: String,
    /// Scopes beyond `openid`; see [`SsoSettings::default_scopes`].
    pub scopes: Vec<String>,
}

impl SsoSettings {
    /// Enough for an e-mail address and a name with every provider; the role claim may need
    /// one more (`groups` with Okta, for instance).
    pub fn default_scopes() -> Vec<String> {
        vec!["email".to_owned(), "profile".to_owned()]
    }
}

/// A sign-in begun: where to send the browser, and the value of the short-lived cookie that
/// binds that browser to this attempt.
pub struct SsoStart {
    pub authorize_url: String,
    pub cookie: String,
}

impl std::fmt::Debug for SsoStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoStart")
            .field("authorize_url", &self.authorize_url)
            .field("cookie", &"<redacted>")
            .finish()
    }
}

/// Who signed in, as the provider vouches in its ID token (and user info, for the roles).
#[derive(Debug, Clone)]
pub struct SsoIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    /// The values of the role claim: one for a string claim, each string of an array.
    pub role_values: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The provider is unreachable or its metadata unusable. The message holds no secrets.
    #[error("the identity provider cannot be used: {0}")]
    Discovery(String),
    /// No, a stale or a malformed attempt cookie, or a `state` that does not match it.
    #[error("the sign-in attempt is unknown, expired or was tampered with")]
    BadState,
    /// The provider sent the browser back with an error: its code and description.
    #[error("the identity provider refused the sign-in: {0}")]
    ProviderError(String),
    #[error("the authorization code could not be exchanged: {0}")]
    Exchange(String),
    /// Signature, issuer, audience, expiry or nonce.
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
}

/// The callback's query string.
#[derive(Debug, Deserialize, Default)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The provider that answered (RFC 9207), when it says.
    pub iss: Option<String>,
}

type IdFields = IdTokenFields<
    RoleClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type OidcTokenResponse = StandardTokenResponse<IdFields, CoreTokenType>;
type OidcClient = Client<
    RoleClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    OidcTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The discovered provider and Tollgate's client registration with it.
pub struct Sso {
    client: OidcClient,
    client_id: ClientId,
    issuer: IssuerUrl,
    jwks_uri: JsonWebKeySetUrl,
    /// Replaced when a token names a key the set lacks (the provider rotated its keys).
    jwks: std::sync::RwLock<CoreJsonWebKeySet>,
    algorithms: Vec<CoreJwsSigningAlgorithm>,
    scopes: Vec<String>,
    role_claim: String,
    has_userinfo: bool,
    http: HttpClient,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id.as_str())
            .field(
                "redirect_uri",
                &self.client.redirect_uri().map(|u| u.as_str()),
            )
            .field("algorithms", &self.algorithms)
            .field("scopes", &self.scopes)
            .field("role_claim", &self.role_claim)
            .finish_non_exhaustive()
    }
}

impl Sso {
    /// Reads the provider's metadata and keys from `{issuer}/.well-known/openid-configuration`.
    pub async fn discover(settings: SsoSettings, redirect_uri: String) -> Result<Sso, SsoError> {
        let http = HttpClient::new()
            .map_err(|e| SsoError::Discovery(format!("no HTTP client: {}", chain(&e))))?;
        let issuer = IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| SsoError::Discovery(format!("the issuer is not a URL: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| SsoError::Discovery(chain(&e)))?;
        Sso::configure(settings, redirect_uri, metadata, http)
    }

    fn configure(
        settings: SsoSettings,
        redirect_uri: String,
        metadata: CoreProviderMetadata,
        http: HttpClient,
    ) -> Result<Sso, SsoError> {
        let redirect = RedirectUrl::new(redirect_uri)
            .map_err(|e| SsoError::Discovery(format!("the redirect URI is not a URL: {e}")))?;
        if metadata.token_endpoint().is_none() {
            return Err(SsoError::Discovery(
                "the provider has no token endpoint".to_owned(),
            ));
        }
        let algorithms: Vec<CoreJwsSigningAlgorithm> = metadata
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|alg| verify::asymmetric(alg))
            .cloned()
            .collect();
        if algorithms.is_empty() {
            return Err(SsoError::Discovery(
                "the provider signs ID tokens with no public-key algorithm".to_owned(),
            ));
        }
        let auth_type = match metadata.token_endpoint_auth_methods_supported() {
            Some(methods)
                if methods.contains(&CoreClientAuthMethod::ClientSecretPost)
                    && !methods.contains(&CoreClientAuthMethod::ClientSecretBasic) =>
            {
                AuthType::RequestBody
            }
            _ => AuthType::BasicAuth,
        };
        let client_id = ClientId::new(settings.client_id);
        let issuer = metadata.issuer().clone();
        let jwks_uri = metadata.jwks_uri().clone();
        let jwks = std::sync::RwLock::new(metadata.jwks().clone());
        let has_userinfo = metadata.userinfo_endpoint().is_some();
        let secret = ClientSecret::new(settings.client_secret.expose().to_owned());
        let client = OidcClient::from_provider_metadata(metadata, client_id.clone(), Some(secret))
            .set_redirect_uri(redirect)
            .set_auth_type(auth_type);
        Ok(Sso {
            client,
            client_id,
            issuer,
            jwks_uri,
            jwks,
            algorithms,
            scopes: settings
                .scopes
                .into_iter()
                .filter(|s| s != "openid")
                .collect(),
            role_claim: settings.role_claim,
            has_userinfo,
            http,
        })
    }

    /// Starts a sign-in: the URL to send the browser to, and a value for a short-lived cookie
    /// (the caller sets it HttpOnly, SameSite=Lax, 10 minutes) that binds the browser to this
    /// attempt.
    pub fn begin(&self, key: &[u8], rng: &dyn Rng, now: UnixTime) -> SsoStart {
        let (cookie, pending) = pending::begin(key, rng, now);
        let verifier = PkceCodeVerifier::new(pending.pkce_verifier.to_string());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let pending::Pending { state, nonce, .. } = pending;
        let mut request = self
            .client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = request.url();
        SsoStart {
            authorize_url: url.to_string(),
            cookie,
        }
    }

    /// Completes a sign-in from the callback's query and the cookie [`Sso::begin`] made.
    ///
    /// The `state` is checked before anything else, an `error` included: an error the
    /// browser did not bring back from this attempt is someone else's text.
    pub async fn finish(
        &self,
        key: &[u8],
        cookie: Option<&str>,
        query: &CallbackQuery,
        now: UnixTime,
    ) -> Result<SsoIdentity, SsoError> {
        let pending = pending::resume(key, cookie, query.state.as_deref(), now)?;
        // RFC 9207: an answer that names another issuer is a mix-up attack's, whatever it holds.
        if query
            .iss
            .as_deref()
            .is_some_and(|iss| iss != self.issuer.as_str())
        {
            return Err(SsoError::BadState);
        }
        if let Some(error) = &query.error {
            return Err(SsoError::ProviderError(provider_error(
                error,
                query.error_description.as_deref(),
            )));
        }
        let code = match query.code.as_deref() {
            Some(code) if !code.is_empty() => code,
            _ => return Err(SsoError::Exchange("the callback has no code".to_owned())),
        };
        let response = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SsoError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(exchange_error)?;
        let id_token = response.id_token().ok_or_else(|| {
            SsoError::InvalidIdToken("the token response has no ID token".to_owned())
        })?;
        let nonce = Nonce::new(pending.nonce.clone());
        let claims = self
            .verified_claims(id_token, response.access_token(), &nonce, now)
            .await?;
        let mut role_values = claims.additional_claims().role_values(&self.role_claim);
        if role_values.is_none() && self.has_userinfo {
            let info: UserInfoClaims<RoleClaims, CoreGenderClaim> = self
                .client
                .user_info(
                    response.access_token().clone(),
                    Some(claims.subject().clone()),
                )
                .map_err(|e| SsoError::Exchange(format!("user info: {e}")))?
                .request_async(&self.http)
                .await
                .map_err(|e| SsoError::Exchange(format!("user info: {}", chain(&e))))?;
            role_values = info.additional_claims().role_values(&self.role_claim);
        }
        Ok(SsoIdentity {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified(),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            role_values: role_values.unwrap_or_default(),
        })
    }
}

/// The provider's error code and description, cut short and stripped of control characters:
/// they arrive in a URL anyone can craft, and end up in logs and on a page.
fn provider_error(error: &str, description: Option<&str>) -> String {
    let clean = |s: &str| -> String { s.chars().filter(|c| !c.is_control()).take(200).collect() };
    match description {
        Some(description) => format!("{}: {}", clean(error), clean(description)),
        None => clean(error),
    }
}

fn exchange_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, StandardErrorResponse<CoreErrorResponseType>>,
) -> SsoError {
    match e {
        RequestTokenError::ServerResponse(response) => SsoError::Exchange(provider_error(
            response.error().as_ref(),
            response.error_description().map(String::as_str),
        )),
        other => SsoError::Exchange(chain(&other)),
    }
}

/// An error and its causes on one line: openidconnect's errors say little without them.
fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests;
