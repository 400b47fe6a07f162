//! One way to talk to a running node, wherever it runs: a [`TestApp`](crate::helpers::TestApp)
//! in this process or a `tollgate serve` process of a cluster test (both dereference to
//! [`Node`]). Every request a test makes of the OAuth endpoints or the admin API goes through
//! here.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_ID, ADMIN_SECRET, basic_header, json_of};

/// The address of a node, the issuer it serves, and an HTTP client.
#[derive(Clone, Debug)]
pub struct Node {
    pub base: String,
    pub issuer: String,
    pub http: reqwest::Client,
}

impl Node {
    pub fn new(base: String, issuer: String, http: reqwest::Client) -> Node {
        Node { base, issuer, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn send_token_form(
        &self,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> reqwest::Result<Response> {
        let mut req = self.http.post(self.url("/oauth2/token")).form(form);
        if let Some((id, secret)) = basic {
            req = req.header("authorization", basic_header(id, secret));
        }
        req.send().await
    }

    /// POSTs a raw form to the token endpoint.
    pub async fn token_form(&self, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Response {
        self.send_token_form(form, basic)
            .await
            .expect("token request")
    }

    /// POSTs a form to another OAuth endpoint with HTTP Basic.
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        basic: (&str, &str),
    ) -> Response {
        self.http
            .post(self.url(path))
            .header("authorization", basic_header(basic.0, basic.1))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// Status and body of a client-credentials token request, whatever the outcome; a node
    /// that does not answer at all (gone, killed) reads as 502 with the error as the body.
    pub async fn try_token(&self, id: &str, secret: &str) -> (StatusCode, Value) {
        match self
            .send_token_form(&[("grant_type", "client_credentials")], Some((id, secret)))
            .await
        {
            Ok(r) => {
                let status = r.status();
                (status, r.json().await.unwrap_or(Value::Null))
            }
            Err(e) => (StatusCode::BAD_GATEWAY, Value::String(format!("{e:?}"))),
        }
    }

    /// A token for `client` with HTTP Basic; panics unless it succeeds.
    pub async fn token(&self, id: &str, secret: &str, extra: &[(&str, &str)]) -> Value {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(extra);
        let r = self.token_form(&form, Some((id, secret))).await;
        let status = r.status();
        let body: Value = r.json().await.expect("json");
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A token for the admin API, whose audience is the issuer.
    pub async fn admin_token(&self) -> String {
        let issuer = self.issuer.clone();
        self.token(ADMIN_ID, ADMIN_SECRET, &[("resource", &issuer)])
            .await["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// An admin API request (`path` below `/admin/v1`) with a fresh admin token.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let token = self.admin_token().await;
        self.admin_with(&token, method, path, body).await
    }

    /// An admin API request with the given bearer token.
    pub async fn admin_with(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .http
            .request(method, self.url(&format!("/admin/v1{path}")))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("admin request")
    }

    /// Registers an API with `permissions` (values; descriptions are made up) and returns its id.
    pub async fn create_api(&self, identifier: &str, name: &str, permissions: &[&str]) -> String {
        let permissions: Vec<Value> = permissions
            .iter()
            .map(|p| json!({"value": p, "description": format!("lets a client {p}")}))
            .collect();
        let r = self
            .admin(
                Method::POST,
                "/apis",
                Some(json!({"identifier": identifier, "name": name, "permissions": permissions})),
            )
            .await;
        let (status, _, body) = json_of(r).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["api_id"].as_str().expect("api id").to_owned()
    }

    /// Publishes `scopes` in the catalogue where no API does yet, as permissions of the
    /// built-in API (so tokens for them keep the issuer as their audience).
    pub async fn ensure_permissions(&self, scopes: &[&str]) {
        let (status, _, api) =
            json_of(self.admin(Method::GET, "/apis/api_tollgate", None).await).await;
        assert_eq!(status, StatusCode::OK, "{api}");
        let (_, _, all) = json_of(self.admin(Method::GET, "/apis?limit=200", None).await).await;
        let published: Vec<String> = all["apis"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["permissions"].as_array().unwrap().clone())
            .map(|p| p["value"].as_str().unwrap().to_owned())
            .collect();
        let mut own: Vec<Value> = api["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| !p["value"].as_str().unwrap().starts_with("tollgate:"))
            .cloned()
            .collect();
        let missing: Vec<&&str> = scopes
            .iter()
            .filter(|s| !published.iter().any(|p| p == **s))
            .collect();
        if missing.is_empty() {
            return;
        }
        own.extend(
            missing
                .iter()
                .map(|s| json!({"value": s, "description": "test"})),
        );
        let r = self
            .admin(
                Method::PATCH,
                "/apis/api_tollgate",
                Some(json!({"permissions": own})),
            )
            .await;
        let (status, _, body) = json_of(r).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Creates a client (publishing its scopes first if needed) and returns (client_id, secret).
    pub async fn create_client(&self, name: &str, scopes: &[&str]) -> (String, String) {
        self.ensure_permissions(scopes).await;
        let r = self
            .admin(
                Method::POST,
                "/clients",
                Some(json!({"name": name, "description": "test", "scopes": scopes})),
            )
            .await;
        let (status, _, body) = json_of(r).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["client"]["client_id"].as_str().expect("id").to_owned(),
            body["client_secret"].as_str().expect("secret").to_owned(),
        )
    }

    /// Introspects `token` as the admin client; panics unless the endpoint answers 200.
    pub async fn introspect(&self, token: &str) -> Value {
        let r = self
            .post_form(
                "/oauth2/introspect",
                &[("token", token)],
                (ADMIN_ID, ADMIN_SECRET),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.expect("json")
    }

    /// The key ids the node publishes.
    pub async fn jwks_kids(&self) -> Vec<String> {
        let jwks: Value = self
            .http
            .get(self.url("/oauth2/jwks"))
            .send()
            .await
            .expect("jwks request")
            .json()
            .await
            .expect("json");
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_owned())
            .collect()
    }

    /// The `kid` in the header of a token the node signs now; `None` if it issues none.
    pub async fn signing_kid(&self) -> Option<String> {
        let (status, body) = self.try_token(ADMIN_ID, ADMIN_SECRET).await;
        if status != StatusCode::OK {
            return None;
        }
        let (header, _) = crate::helpers::decode_jwt(body["access_token"].as_str()?);
        header["kid"].as_str().map(str::to_owned)
    }

    /// The actions of the audit trail, oldest first: of one client, or the first 500.
    pub async fn audit_actions(&self, client: Option<&str>) -> Vec<String> {
        let path = match client {
            Some(c) => format!("/audit?client_id={c}"),
            None => "/audit?limit=500".to_owned(),
        };
        let (s, _, page) = json_of(self.admin(Method::GET, &path, None).await).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        page["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["action"].as_str().expect("action").to_owned())
            .collect()
    }

    /// The status of `/readyz`; 502 when the node does not answer.
    pub async fn readyz(&self) -> StatusCode {
        match self.http.get(self.url("/readyz")).send().await {
            Ok(r) => r.status(),
            Err(_) => StatusCode::BAD_GATEWAY,
        }
    }
}
