//! Administrators over HTTP, as a browser and as the admin API see them: the first owner (setup
//! link and environment), sign-in with a password and TOTP, recovery codes, sessions,
//! invitations, roles on every admin operation, the last owner, backoff, recovery links.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use tollgate::domain::totp::TotpSecret;

use crate::helpers::{TestApp, json_of};

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "correct horse battery staple";

/// A browser, by hand: no redirects followed, the session cookie kept, `Origin` sent on posts.
#[derive(Debug)]
pub struct Browser {
    base: String,
    http: reqwest::Client,
    pub session: Option<String>,
    /// The cookie that binds a single sign-on attempt to this browser.
    pub sso: Option<String>,
}

/// A page as the browser got it.
#[derive(Debug)]
pub struct Got {
    pub status: StatusCode,
    pub location: String,
    pub body: String,
    pub headers: header::HeaderMap,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            session: None,
            sso: None,
        }
    }

    fn keep(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            if let Some(rest) = v.strip_prefix("tollgate_session=") {
                let value = rest.split(';').next().unwrap();
                self.session = (!value.is_empty()).then(|| value.to_owned());
            }
            if let Some(rest) = v.strip_prefix("tollgate_sso=") {
                let value = rest.split(';').next().unwrap();
                self.sso = (!value.is_empty()).then(|| value.to_owned());
            }
        }
    }

    async fn got(&mut self, r: reqwest::Response) -> Got {
        self.keep(&r);
        let status = r.status();
        let headers = r.headers().clone();
        let location = headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Got {
            status,
            location,
            body: r.text().await.unwrap(),
            headers,
        }
    }

    fn with_cookie(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let mut cookies = Vec::new();
        if let Some(s) = &self.session {
            cookies.push(format!("tollgate_session={s}"));
        }
        if let Some(s) = &self.sso {
            cookies.push(format!("tollgate_sso={s}"));
        }
        if cookies.is_empty() {
            req
        } else {
            req.header(header::COOKIE, cookies.join("; "))
        }
    }

    pub async fn get(&mut self, path: &str) -> Got {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let r = self.with_cookie(self.http.get(url)).send().await.unwrap();
        self.got(r).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Got {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::ORIGIN, self.base.clone())
            .form(form);
        let r = self.with_cookie(req).send().await.unwrap();
        self.got(r).await
    }

    /// An admin API call with the session cookie (and the CSRF token when given).
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        csrf: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.with_cookie(
            self.http
                .request(method, format!("{}/admin/v1{path}", self.base)),
        );
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let (status, _, body) = json_of(req.send().await.unwrap()).await;
        (status, body)
    }

    /// Signs in with a password; returns where the server sent the browser next.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Got {
        self.post(
            "/console/sign-in",
            &[("email", email), ("password", password)],
        )
        .await
    }
}

/// The value of `<input ... name="NAME" value="...">` in a page.
pub fn field(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {body}"))
        + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

/// The text of the element with `id`.
pub fn by_id(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let start = at + body[at..].find('>').unwrap() + 1;
    body[start..start + body[start..].find('<').unwrap()].to_owned()
}

fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in s.bytes().filter(|c| *c != b' ' && *c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .unwrap() as u32;
        value = (value << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

/// The authenticator app: the code for `setup_key` at the app's clock.
pub fn code(setup_key: &str, app: &TestApp) -> String {
    let secret = TotpSecret::from_bytes(base32_decode(setup_key)).unwrap();
    secret.code_at(app.tollgate.now().0 / 30)
}

/// Creates the first owner through the setup link.
/// The owner from the environment (see `people_roles::spawn_with_owner`), signed in.
pub async fn signed_in_owner(app: &TestApp) -> Browser {
    let mut b = Browser::new(app);
    assert_eq!(b.sign_in(OWNER_EMAIL, PASSWORD).await.location, "/console");
    b
}

pub async fn setup_owner(app: &TestApp, b: &mut Browser) {
    let link = app.setup_link.clone().expect("a setup link");
    let page = b.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let token = field(&page.body, "token");
    let done = b
        .post(
            "/console/setup",
            &[
                ("token", &token),
                ("email", OWNER_EMAIL),
                ("display_name", "Olivia Owner"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location, "/console/sign-in?done=setup");
}

#[tokio::test]
async fn the_first_owner_signs_up_with_the_setup_link_and_signs_in_with_a_second_factor() {
    let app = TestApp::spawn().await;
    let mut b = Browser::new(&app);
    let link = app
        .setup_link
        .clone()
        .expect("a fresh installation prints a setup link");
    assert!(link.starts_with(&format!("{}/console/setup?token=", app.issuer)));

    // Bad input changes nothing: the link still works afterwards.
    let page = b.get(&link).await;
    assert!(page.body.contains("Create the first owner"));
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    let token = field(&page.body, "token");
    let bad = b
        .post(
            "/console/setup",
            &[
                ("token", &token),
                ("email", "not-an-email"),
                ("display_name", ""),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("Email: must be an email address"),
        "{}",
        bad.body
    );
    assert!(
        bad.body
            .contains("Password: must be at least 12 characters"),
        "{}",
        bad.body
    );
    setup_owner(&app, &mut b).await;
    // Used once.
    let again = b.get(&link).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("This link cannot be used"));

    // A wrong password and an unknown address get the same answer.
    let wrong = b.sign_in(OWNER_EMAIL, "not the password at all").await;
    let unknown = b.sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .body
            .contains("The email address or password is not right.")
    );
    assert_eq!(
        wrong.body.replace(OWNER_EMAIL, "X"),
        unknown.body.replace("nobody@example.com", "X")
    );

    // A second factor is required: until it is enrolled, nothing else is reachable.
    let next = b.sign_in(OWNER_EMAIL, PASSWORD).await;
    assert_eq!(next.location, "/console/enrol");
    assert_eq!(b.get("/console").await.location, "/console/enrol");
    let (status, body) = b.api(Method::GET, "/clients", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let page = b.get("/console/enrol").await;
    let key = by_id(&page.body, "setup-key");
    let (csrf, pending) = (field(&page.body, "csrf"), field(&page.body, "pending"));
    let wrong = b
        .post(
            "/console/enrol",
            &[("csrf", &csrf), ("pending", &pending), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        by_id(&wrong.body, "setup-key"),
        key,
        "the same secret is offered again"
    );
    let pending_cookie = b.session.clone();
    let done = b
        .post(
            "/console/enrol",
            &[
                ("csrf", &csrf),
                ("pending", &pending),
                ("code", &code(&key, &app)),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_ne!(
        b.session, pending_cookie,
        "a new session once signed in fully"
    );
    let codes: Vec<String> = done
        .body
        .split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    let home = b.get("/console/account").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.body
            .contains("Signed in as <strong>owner@example.com</strong>")
    );

    // The session works on the admin API too; changes need the anti-forgery token.
    let csrf = field(&home.body, "csrf");
    let (status, _) = b.api(Method::GET, "/clients", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let api =
        json!({"identifier": "https://api.example.com", "name": "Example", "permissions": []});
    let (status, body) = b.api(Method::POST, "/apis", Some(api.clone()), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "csrf_failed");
    let (status, body) = b.api(Method::POST, "/apis", Some(api), Some(&csrf)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, _, audit) = json_of(app.admin(Method::GET, "/audit?limit=200", None).await).await;
    let actors: Vec<(&str, &str)> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    for expected in [
        ("admin.created", "admin:owner@example.com"),
        ("admin.mfa_enrolled", "admin:owner@example.com"),
        ("admin.signed_in", "admin:owner@example.com"),
        ("admin.sign_in_failed", "admin:owner@example.com"),
        ("admin.sign_in_failed", "anonymous"),
        ("api.created", "admin:owner@example.com"),
    ] {
        assert!(actors.contains(&expected), "{expected:?} in {actors:?}");
    }

    // Sign out; the old cookie is worth nothing.
    let old = b.session.clone();
    let out = b.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.location, "/console/sign-in?done=signed-out");
    assert_eq!(b.session, None);
    b.session = old;
    assert_eq!(b.get("/console").await.location, "/console/sign-in");

    // The next sign-in asks for a code; the one used to enrol is spent, the next one works
    // once.
    let next = b.sign_in(OWNER_EMAIL, PASSWORD).await;
    assert_eq!(next.location, "/console/second-factor");
    let page = b.get("/console/second-factor").await;
    let csrf = field(&page.body, "csrf");
    let replay = b
        .post(
            "/console/second-factor",
            &[("csrf", &csrf), ("code", &code(&key, &app))],
        )
        .await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "a code is accepted once"
    );
    app.clock.advance(30);
    let ok = b
        .post(
            "/console/second-factor",
            &[("csrf", &csrf), ("code", &code(&key, &app))],
        )
        .await;
    assert_eq!(ok.location, "/console", "{}", ok.body);
    assert_eq!(b.get("/console").await.status, StatusCode::OK);

    // A recovery code signs in once.
    let mut other = Browser::new(&app);
    other.sign_in(OWNER_EMAIL, PASSWORD).await;
    let page = other.get("/console/second-factor").await;
    let csrf = field(&page.body, "csrf");
    let ok = other
        .post(
            "/console/recovery-code",
            &[("csrf", &csrf), ("code", &codes[0].to_uppercase())],
        )
        .await;
    assert_eq!(ok.location, "/console", "{}", ok.body);
    let mut third = Browser::new(&app);
    third.sign_in(OWNER_EMAIL, PASSWORD).await;
    let page = third.get("/console/second-factor").await;
    let csrf = field(&page.body, "csrf");
    let reused = third
        .post(
            "/console/recovery-code",
            &[("csrf", &csrf), ("code", &codes[0])],
        )
        .await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);

    // Sign out everywhere ends the other sessions too.
    let home = b.get("/console").await;
    let csrf = field(&home.body, "csrf");
    b.post("/console/sign-out-everywhere", &[("csrf", &csrf)])
        .await;
    assert_eq!(other.get("/console").await.location, "/console/sign-in");
}
