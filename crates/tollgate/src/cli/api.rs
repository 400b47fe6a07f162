//! A small client of Tollgate's own HTTP API, for the CLI.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::http::oauth::TOKEN_PATH;

const ADMIN_PREFIX: &str = "/admin/v1";

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

impl Api {
    pub fn new(endpoint: &str) -> Result<Api, String> {
        let url = url::Url::parse(endpoint).map_err(|e| {
            format!("--endpoint `{endpoint}` is not a URL ({e}); use e.g. http://127.0.0.1:8080")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "--endpoint `{endpoint}` must be an http or https URL"
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("tollgate-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Api {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            http,
        })
    }

    fn unreachable(&self, e: reqwest::Error) -> String {
        format!(
            "cannot reach Tollgate at {} ({e}). Is the server running? Point --endpoint or \
             TOLLGATE_ENDPOINT at it.",
            self.endpoint
        )
    }

    /// The client credentials grant with the credentials in TOLLGATE_CLIENT_ID and
    /// TOLLGATE_CLIENT_SECRET; returns the token response.
    pub async fn client_token(
        &self,
        scopes: &[String],
        resource: Option<&str>,
    ) -> Result<Value, String> {
        let id = std::env::var("TOLLGATE_CLIENT_ID").ok();
        let secret = std::env::var("TOLLGATE_CLIENT_SECRET")
            .ok()
            .map(Zeroizing::new);
        let (Some(id), Some(secret)) = (id, secret) else {
            return Err(
                "set TOLLGATE_CLIENT_ID and TOLLGATE_CLIENT_SECRET to a client's \
                 credentials (the administrator's are printed when the server first starts)"
                    .into(),
            );
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
        let json: Value = response.json().await.map_err(|e| {
            format!("the token endpoint answered {status} with a body that is not JSON ({e})")
        })?;
        if status.is_success() {
            return Ok(json);
        }
        let code = json["error"].as_str().unwrap_or("error");
        let description = json["error_description"].as_str().unwrap_or("");
        let hint = if code == "invalid_client" {
            " (check TOLLGATE_CLIENT_ID and TOLLGATE_CLIENT_SECRET)"
        } else {
            ""
        };
        Err(format!(
            "token request refused: {code}: {description}{hint}"
        ))
    }

    async fn issuer(&self) -> Result<String, String> {
        let response = self
            .http
            .get(format!(
                "{}/.well-known/oauth-authorization-server",
                self.endpoint
            ))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let doc: Value = response.json().await.map_err(|e| {
            format!(
                "{} does not look like a Tollgate server ({e})",
                self.endpoint
            )
        })?;
        doc["issuer"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{} does not look like a Tollgate server", self.endpoint))
    }

    /// Calls the admin API with a fresh token for the admin API's audience (the issuer).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let response = self.request(method, path, body).await?;
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        let json: Value = response.json().await.map_err(|e| {
            format!("the admin API answered {status} with a body that is not JSON ({e})")
        })?;
        if status.is_success() {
            return Ok(json);
        }
        Err(problem_message(status, &json))
    }

    /// Like `send`, for answers that are not JSON (credential exports): the body as text.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<String, String> {
        let response = self.request(method, path, body).await?;
        let status = response.status();
        if status.is_success() {
            return response
                .text()
                .await
                .map_err(|e| format!("cannot read the answer: {e}"));
        }
        let json: Value = response.json().await.unwrap_or(Value::Null);
        Err(problem_message(status, &json))
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<reqwest::Response, String> {
        let issuer = self.issuer().await?;
        let token = self.client_token(&[], Some(&issuer)).await?;
        let access_token = Zeroizing::new(
            token["access_token"]
                .as_str()
                .ok_or("the token response has no access_token")?
                .to_owned(),
        );
        let mut request = self
            .http
            .request(method, format!("{}{ADMIN_PREFIX}{path}", self.endpoint))
            .bearer_auth(access_token.as_str());
        if let Some(b) = body {
            request = request.json(&b);
        }
        request.send().await.map_err(|e| self.unreachable(e))
    }
}

/// An admin API problem as a message that says what to do.
fn problem_message(status: StatusCode, json: &Value) -> String {
    let mut message = json["detail"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("the admin API answered {status}"));
    if let Some(errors) = json["errors"].as_array() {
        for e in errors {
            message.push_str(&format!(
                "\n  {}: {}",
                e["field"].as_str().unwrap_or("?"),
                e["message"].as_str().unwrap_or("?")
            ));
        }
    }
    if status == StatusCode::FORBIDDEN {
        message.push_str("\n  (TOLLGATE_CLIENT_ID must be a client with the scope tollgate:admin)");
    }
    message
}
