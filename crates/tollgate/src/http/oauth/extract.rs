//! The extractors of the OAuth endpoints a client calls: each reads the form, the client's
//! credentials and how they were sent, once, and rejects a bad request with the RFC 6749
//! §5.2 error the handler would give, so handlers see only parsed requests.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::client_auth::{AuthMethod, Form, client_credentials};
use super::error::{OAuthError, OAuthErrorCode};
use crate::http::{AppState, ClientSlot};
use crate::service::Credentials;
use crate::service::limits::{Admitted, ClientEndpoint};

/// An OAuth endpoint that takes a form: the parameters that must not repeat (RFC 6749 §3.2;
/// parameters Tollgate does not know are ignored, §3.1), and the rate limits it counts under.
pub trait FormEndpoint: Send + Sync {
    const SINGLE: &'static [&'static str];
    const LIMITS: ClientEndpoint;
}

/// A client's form request to an OAuth endpoint, authenticated by `client_secret_basic` or
/// `client_secret_post` (the secret is checked by the service, not here), and admitted by the
/// rate limits: a request over them is refused with 429 before its secret is looked at.
#[derive(Debug)]
pub struct ClientForm<E> {
    pub form: Form,
    pub credentials: Credentials,
    pub method: AuthMethod,
    admitted: Admitted,
    endpoint: PhantomData<fn() -> E>,
}

impl<E: FormEndpoint> FromRequest<AppState> for ClientForm<E> {
    type Rejection = OAuthError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, OAuthError> {
        let (parts, body) = request.into_parts();
        let form = Form::read(&parts.headers, body, E::SINGLE).await?;
        let (credentials, method) = client_credentials(&parts.headers, &form)?;
        ClientSlot::record(&parts.extensions, &credentials.client_id);
        let address = crate::http::limits::client_ip(&parts, &state.limits);
        let admitted = state
            .limits
            .admit_client(E::LIMITS, &credentials.client_id, address)
            .map_err(OAuthError::rate_limited)?;
        Ok(ClientForm {
            form,
            credentials,
            method,
            admitted,
            endpoint: PhantomData,
        })
    }
}

impl<E> ClientForm<E> {
    /// The answer to a refusal by the service: how the client authenticated decides its
    /// status, and a failed authentication counts towards the backoff.
    pub fn refused(&self, state: &AppState, e: OAuthError) -> OAuthError {
        if e.code == OAuthErrorCode::InvalidClient {
            state.limits.client_failed(&self.admitted);
        }
        e.by(self.method)
    }

    /// The client authenticated: its id's past failures are forgotten.
    pub fn authenticated(&self, state: &AppState) {
        state.limits.client_succeeded(&self.admitted);
    }
}

/// A client's GET request: credentials by HTTP Basic only, since there is no body.
#[derive(Debug)]
pub struct BasicClient {
    pub credentials: Credentials,
    pub method: AuthMethod,
}

impl<S: Send + Sync> FromRequestParts<S> for BasicClient {
    type Rejection = OAuthError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, OAuthError> {
        let (credentials, method) = client_credentials(&parts.headers, &Form::default())?;
        ClientSlot::record(&parts.extensions, &credentials.client_id);
        Ok(BasicClient {
            credentials,
            method,
        })
    }
}

/// A query string, rejected as `invalid_request`.
#[derive(Debug)]
pub struct OAuthQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for OAuthQuery<T> {
    type Rejection = OAuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, OAuthError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| OAuthQuery(q))
            .map_err(|e| OAuthError::invalid_request(format!("bad query: {}", e.body_text())))
    }
}
