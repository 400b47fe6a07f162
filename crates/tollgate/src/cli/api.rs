//! A small client of Tollgate's own HTTP API, for the CLI. Admin API bodies are the server's own
//! request and view types (`http::admin`), so both ends agree on every field name.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode, header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use super::error::{ApiProblem, CliError};
use crate::http::admin::problem::{ProblemClient, ProblemField};
use crate::http::oauth::TOKEN_PATH;

const ADMIN_PREFIX: &str = "/admin/v1";

#[derive(Debug)]
pub struct Api {
    endpoint: String,
    http: reqwest::Client,
}

pub fn segment(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn client_path(client_id: &str) -> String {
    format!("/clients/{}", segment(client_id))
}

pub fn api_path(api_id: &str) -> String {
    format!("/apis/{}", segment(api_id))
}

/// The parts of an admin API problem (RFC 9457) the CLI shows.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ProblemBody {
    detail: Option<String>,
    code: Option<String>,
    errors: Vec<ProblemField>,
    clients: Vec<ProblemClient>,
}

impl ProblemBody {
    fn into_error(self, status: StatusCode) -> CliError {
        CliError::Api(ApiProblem {
            status,
            detail: self.detail,
            code: self.code,
            errors: self.errors,
            clients: self.clients,
        })
    }
}

/// Whether `url` names this machine: traffic to it never crosses a network.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// No request body: for `GET` and `DELETE`.
const NO_BODY: Option<&()> = None;

impl Api {
    /// `insecure_http` allows plain `http://` to another host: every request carries the
    /// client's secret or an admin token, so by default only loopback may go unencrypted.
    pub fn new(endpoint: &str, insecure_http: bool) -> Result<Api, CliError> {
        let url = url::Url::parse(endpoint).map_err(|source| CliError::EndpointNotUrl {
            endpoint: endpoint.to_owned(),
            source,
        })?;
        match url.scheme() {
            "https" => {}
            "http" if insecure_http || is_loopback(&url) => {}
            "http" => return Err(CliError::InsecureEndpoint(endpoint.to_owned())),
            _ => return Err(CliError::EndpointScheme(endpoint.to_owned())),
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("tollgate-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(CliError::HttpClient)?;
        Ok(Api {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            http,
        })
    }

    fn unreachable(&self, source: reqwest::Error) -> CliError {
        CliError::Unreachable {
            endpoint: self.endpoint.clone(),
            source,
        }
    }

    /// The client credentials grant with the credentials in TOLLGATE_CLIENT_ID and
    /// TOLLGATE_CLIENT_SECRET; returns the token response.
    pub async fn client_token(
        &self,
        scopes: &[String],
        resource: Option<&str>,
    ) -> Result<Value, CliError> {
        let id = std::env::var("TOLLGATE_CLIENT_ID").ok();
        let secret = std::env::var("TOLLGATE_CLIENT_SECRET")
            .ok()
            .map(Zeroizing::new);
        let (Some(id), Some(secret)) = (id, secret) else {
            return Err(CliError::NoCredentials);
        };
        // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
        let pair = Zeroizing::new(format!("{}:{}", segment(&id), segment(&secret)));
        let authorization = Zeroizing::new(format!("Basic {}", STANDARD.encode(pair.as_bytes())));
        let mut form: Vec<(&str, String)> = vec![("grant_type", "client_credentials".into())];
        if !scopes.is_empty() {
            form.push(("scope", scopes.join(" ")));
        }
        if let Some(r) = resource {
            form.push(("resource", r.to_owned()));
        }
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .http
            .post(format!("{}{TOKEN_PATH}", self.endpoint))
            .header(header::AUTHORIZATION, authorization.as_str())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let json: Value = response
            .json()
            .await
            .map_err(|source| CliError::TokenNotJson { status, source })?;
        if status.is_success() {
            return Ok(json);
        }
        Err(CliError::TokenRefused {
            code: json["error"].as_str().unwrap_or("error").to_owned(),
            description: json["error_description"].as_str().unwrap_or("").to_owned(),
        })
    }

    async fn issuer(&self) -> Result<String, CliError> {
        let response = self
            .http
            .get(format!(
                "{}/.well-known/oauth-authorization-server",
                self.endpoint
            ))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let doc: Value = response
            .json()
            .await
            .map_err(|source| CliError::NotTollgate {
                endpoint: self.endpoint.clone(),
                source,
            })?;
        doc["issuer"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| CliError::NoIssuer(self.endpoint.clone()))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        let response = self.request(Method::GET, path, NO_BODY).await?;
        json_answer(response).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CliError> {
        let response = self.request(Method::POST, path, Some(body)).await?;
        json_answer(response).await
    }

    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CliError> {
        let response = self.request(Method::PATCH, path, Some(body)).await?;
        json_answer(response).await
    }

    /// A `DELETE` that answers 204 No Content.
    pub async fn delete(&self, path: &str) -> Result<(), CliError> {
        let response = self.request(Method::DELETE, path, NO_BODY).await?;
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            return Ok(());
        }
        json_answer::<serde::de::IgnoredAny>(response)
            .await
            .map(drop)
    }

    /// A `POST` whose answer is not JSON (a credential export): the body as text.
    pub async fn post_raw<B: Serialize>(&self, path: &str, body: &B) -> Result<String, CliError> {
        let response = self.request(Method::POST, path, Some(body)).await?;
        let status = response.status();
        if status.is_success() {
            return response.text().await.map_err(CliError::Read);
        }
        let problem: ProblemBody = response.json().await.unwrap_or_default();
        Err(problem.into_error(status))
    }

    /// Calls the admin API with a fresh token for the admin API's audience (the issuer).
    async fn request<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<reqwest::Response, CliError> {
        let issuer = self.issuer().await?;
        // A client with no permission on the admin API is refused a token for it at all.
        let token = self
            .client_token(&[], Some(&issuer))
            .await
            .map_err(|e| match e {
                CliError::TokenRefused { code, description } if code == "invalid_target" => {
                    CliError::NotAnAdmin(description)
                }
                e => e,
            })?;
        let access_token = Zeroizing::new(
            token["access_token"]
                .as_str()
                .ok_or(CliError::NoAccessToken)?
                .to_owned(),
        );
        let mut request = self
            .http
            .request(method, format!("{}{ADMIN_PREFIX}{path}", self.endpoint))
            .bearer_auth(access_token.as_str());
        if let Some(b) = body {
            request = request.json(b);
        }
        request.send().await.map_err(|e| self.unreachable(e))
    }
}

/// The answer as `T` when the call succeeded, else the problem the admin API reported.
async fn json_answer<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, CliError> {
    let status = response.status();
    let body = response.bytes().await.map_err(CliError::Read)?;
    if status.is_success() {
        return serde_json::from_slice(&body)
            .map_err(|source| CliError::UnexpectedAnswer { status, source });
    }
    let problem: ProblemBody =
        serde_json::from_slice(&body).map_err(|source| CliError::NotJson { status, source })?;
    Err(problem.into_error(status))
}
