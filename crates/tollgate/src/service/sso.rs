//! TEMPORARY STUB (replaced by the real module before commit).
#![allow(dead_code, unused_variables, missing_docs)]
use crate::clock::{Rng, UnixTime};
use serde::Deserialize;
#[derive(Clone)]
pub struct SsoClientSecret(String);
impl SsoClientSecret {
    pub fn new(s: String) -> Self {
        Self(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl std::fmt::Debug for SsoClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("x")
    }
}
#[derive(Clone, Debug)]
pub struct SsoSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SsoClientSecret,
    pub role_claim: String,
    pub scopes: Vec<String>,
}
#[derive(Debug)]
pub struct Sso;
pub struct SsoStart {
    pub authorize_url: String,
    pub cookie: String,
}
#[derive(Debug, Clone)]
pub struct SsoIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub role_values: Vec<String>,
}
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("d {0}")]
    Discovery(String),
    #[error("b")]
    BadState,
    #[error("p {0}")]
    ProviderError(String),
    #[error("e {0}")]
    Exchange(String),
    #[error("i {0}")]
    InvalidIdToken(String),
}
#[derive(Debug, Deserialize, Default)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}
impl Sso {
    pub async fn discover(settings: SsoSettings, redirect_uri: String) -> Result<Sso, SsoError> {
        Err(SsoError::BadState)
    }
    pub fn begin(&self, key: &[u8], rng: &dyn Rng, now: UnixTime) -> SsoStart {
        SsoStart {
            authorize_url: String::new(),
            cookie: String::new(),
        }
    }
    pub async fn finish(
        &self,
        key: &[u8],
        cookie: Option<&str>,
        query: &CallbackQuery,
        now: UnixTime,
    ) -> Result<SsoIdentity, SsoError> {
        Err(SsoError::BadState)
    }
}
