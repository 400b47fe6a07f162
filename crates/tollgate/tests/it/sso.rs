//! Single sign-on against a real OpenID Connect provider: node-oidc-provider, started per
//! test from `interop/oidc-provider` (installed with `npm ci` on first use), with a browser
//! played by a reqwest client that carries the provider's cookies by hand.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use tollgate::clock::{Clock, SystemClock, SystemRng};
use tollgate::service::sso::{CallbackQuery, Sso, SsoClientSecret, SsoError, SsoSettings};

const CLIENT_ID: &str = "tollgate-console";
const CLIENT_SECRET: &str = "it-sso-client-secret-0123456789";
const REDIRECT_URI: &str = "http://127.0.0.1:9/console/sso/callback";
const KEY: &[u8] = b"it-sso-cookie-key-0123456789abcdef";

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/oidc-provider")
}

/// `npm ci` once, under a lock: tests run side by side, in one process or many.
fn install_provider() {
    let dir = provider_dir();
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "the single sign-on tests need Node.js 20.19+ and npm on PATH to run the test \
             OpenID Connect provider in interop/oidc-provider"
        ),
    }
    let lock = std::fs::File::create(std::env::temp_dir().join("tollgate-oidc-provider-npm.lock"))
        .expect("create the npm lock file");
    lock.lock().expect("lock the npm lock file");
    if !dir.join("node_modules/oidc-provider/package.json").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .status()
            .expect("run npm ci (is npm installed?)");
        assert!(status.success(), "npm ci in {} failed", dir.display());
    }
    lock.unlock().expect("unlock the npm lock file");
}

/// The provider process; killed when dropped.
pub struct Provider {
    child: Child,
    pub issuer: String,
}

impl Provider {
    fn start() -> Provider {
        Provider::start_for(REDIRECT_URI)
    }

    fn start_for(redirect_uri: &str) -> Provider {
        Provider::start_for_client(redirect_uri, CLIENT_ID, CLIENT_SECRET)
    }

    /// A provider with the client `client_id` registered for `redirect_uri`.
    pub fn start_for_client(redirect_uri: &str, client_id: &str, secret: &str) -> Provider {
        install_provider();
        let mut child = Command::new("node")
            .arg(provider_dir().join("provider.mjs"))
            .args([
                "--port",
                "0",
                "--client-id",
                client_id,
                "--client-secret",
                secret,
            ])
            .args(["--redirect-uri", redirect_uri])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let issuer = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("oidc-provider listening on ") {
                        break url.trim().to_owned();
                    }
                }
                _ => {
                    let status = child.wait();
                    panic!("the OpenID Connect provider exited before listening: {status:?}");
                }
            }
        };
        Provider { child, issuer }
    }

    async fn sso(&self, role_claim: &str) -> Sso {
        let settings = SsoSettings {
            issuer: self.issuer.clone(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: SsoClientSecret::new(CLIENT_SECRET.to_owned()),
            role_claim: role_claim.to_owned(),
            scopes: vec![
                "email".to_owned(),
                "profile".to_owned(),
                "groups".to_owned(),
            ],
        };
        Sso::discover(settings, REDIRECT_URI.to_owned())
            .await
            .expect("discover the provider")
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser at the provider: follows redirects itself, keeps cookies by name (the provider's
/// paths only keep its cookies apart, and each sign-in here needs only the latest of each),
/// and fills in the provider's login and consent forms.
pub struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    redirect_uri: String,
}

impl Browser {
    fn new() -> Browser {
        Browser::for_redirect(REDIRECT_URI)
    }

    /// A browser that stops when the provider sends it to `redirect_uri`.
    pub fn for_redirect(redirect_uri: &str) -> Browser {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            http,
            cookies: BTreeMap::new(),
            redirect_uri: redirect_uri.to_owned(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let request = if cookie.is_empty() {
            request
        } else {
            request.header(reqwest::header::COOKIE, cookie.join("; "))
        };
        let response = request.send().await.expect("request to the provider");
        for set in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let expired = set
                .to_ascii_lowercase()
                .contains("expires=thu, 01 jan 1970");
            if value.is_empty() || expired {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.to_owned());
            }
        }
        response
    }

    /// Signs in as `login` from the authorize URL until the provider sends the browser to
    /// the redirect URI; returns that callback's query.
    async fn sign_in(&mut self, authorize_url: &str, login: &str) -> CallbackQuery {
        callback_query(&self.sign_in_url(authorize_url, login).await)
    }

    /// Signs in as `login` and returns the URL the provider sends the browser back to.
    pub async fn sign_in_url(&mut self, authorize_url: &str, login: &str) -> url::Url {
        let mut response = self.send(self.http.get(authorize_url)).await;
        for _ in 0..20 {
            let url = response.url().clone();
            if response.status().is_redirection() {
                let location = response.headers()[reqwest::header::LOCATION]
                    .to_str()
                    .unwrap();
                let next = url.join(location).unwrap();
                if next.as_str().starts_with(&self.redirect_uri) {
                    return next;
                }
                response = self.send(self.http.get(next)).await;
                continue;
            }
            let status = response.status();
            let page = response.text().await.unwrap();
            assert!(status.is_success(), "{status} at {url}: {page}");
            let action = html_attribute(&page, "action").expect("a form on the provider's page");
            let action = url.join(&action.replace("&amp;", "&")).unwrap();
            let prompt = between(&page, "name=\"prompt\" value=\"", "\"").expect("a prompt field");
            let form: Vec<(&str, &str)> = match prompt {
                "login" => vec![
                    ("prompt", "login"),
                    ("login", login),
                    ("password", "anything"),
                ],
                "consent" => vec![("prompt", "consent")],
                other => panic!("unexpected prompt {other}: {page}"),
            };
            response = self.send(self.http.post(action).form(&form)).await;
        }
        panic!("the provider never sent the browser back");
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

fn html_attribute(page: &str, name: &str) -> Option<String> {
    between(page, &format!("{name}=\""), "\"").map(str::to_owned)
}

fn callback_query(url: &url::Url) -> CallbackQuery {
    let mut query = CallbackQuery::default();
    for (k, v) in url.query_pairs() {
        let v = Some(v.into_owned());
        match k.as_ref() {
            "code" => query.code = v,
            "state" => query.state = v,
            "error" => query.error = v,
            "error_description" => query.error_description = v,
            "iss" => query.iss = v,
            _ => {}
        }
    }
    query
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

fn param(url: &str, name: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test]
async fn an_owner_signs_in_with_the_provider() {
    let provider = Provider::start();
    let sso = provider.sso("groups").await;
    let start = sso.begin(KEY, &SystemRng, SystemClock.now());
    let callback = Browser::new()
        .sign_in(&start.authorize_url, "owner@example.com")
        .await;
    let identity = sso
        .finish(KEY, Some(&start.cookie), &callback, SystemClock.now())
        .await
        .expect("sign-in");
    assert_eq!(identity.issuer, provider.issuer);
    assert_eq!(identity.subject, "owner@example.com");
    assert_eq!(identity.email.as_deref(), Some("owner@example.com"));
    assert_eq!(identity.email_verified, Some(true));
    assert_eq!(identity.name.as_deref(), Some("owner"));
    assert_eq!(identity.role_values, vec!["tollgate-owners".to_owned()]);
}

#[tokio::test]
async fn someone_outside_tollgate_groups_gets_their_own_groups() {
    let provider = Provider::start();
    let sso = provider.sso("groups").await;
    let start = sso.begin(KEY, &SystemRng, SystemClock.now());
    let callback = Browser::new()
        .sign_in(&start.authorize_url, "nobody@example.com")
        .await;
    let identity = sso
        .finish(KEY, Some(&start.cookie), &callback, SystemClock.now())
        .await
        .unwrap();
    assert_eq!(identity.role_values, vec!["sales".to_owned()]);
}

#[tokio::test]
async fn roles_only_in_user_info_are_read_from_there() {
    let provider = Provider::start();
    let sso = provider.sso("userinfo_groups").await;
    let start = sso.begin(KEY, &SystemRng, SystemClock.now());
    let callback = Browser::new()
        .sign_in(&start.authorize_url, "manager@example.com")
        .await;
    let identity = sso
        .finish(KEY, Some(&start.cookie), &callback, SystemClock.now())
        .await
        .unwrap();
    assert_eq!(identity.role_values, vec!["tollgate-managers".to_owned()]);
}

#[tokio::test]
async fn a_tampered_state_is_refused() {
    let provider = Provider::start();
    let sso = provider.sso("groups").await;
    let start = sso.begin(KEY, &SystemRng, SystemClock.now());
    let mut callback = Browser::new()
        .sign_in(&start.authorize_url, "owner@example.com")
        .await;
    // Another last character, whatever it was (a fixed one would match one state in 64).
    callback.state = callback.state.map(|s| {
        let last = if s.ends_with('A') { 'B' } else { 'A' };
        format!("{}{last}", &s[..s.len() - 1])
    });
    let outcome = sso
        .finish(KEY, Some(&start.cookie), &callback, SystemClock.now())
        .await;
    assert!(matches!(outcome, Err(SsoError::BadState)), "{outcome:?}");
    // Another attempt's cookie does not fit this callback either.
    let other = sso.begin(KEY, &SystemRng, SystemClock.now());
    let callback = Browser::new()
        .sign_in(&start.authorize_url, "owner@example.com")
        .await;
    let outcome = sso
        .finish(KEY, Some(&other.cookie), &callback, SystemClock.now())
        .await;
    assert!(matches!(outcome, Err(SsoError::BadState)), "{outcome:?}");
}

#[tokio::test]
async fn a_code_is_used_once() {
    let provider = Provider::start();
    let sso = provider.sso("groups").await;
    let start = sso.begin(KEY, &SystemRng, SystemClock.now());
    let callback = Browser::new()
        .sign_in(&start.authorize_url, "viewer@example.com")
        .await;
    let now = SystemClock.now();
    let first = sso
        .finish(KEY, Some(&start.cookie), &callback, now)
        .await
        .unwrap();
    assert_eq!(first.role_values, vec!["tollgate-viewers".to_owned()]);
    let again = sso.finish(KEY, Some(&start.cookie), &callback, now).await;
    match again {
        Err(SsoError::Exchange(message)) => assert!(message.contains("invalid_grant"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_id_token_for_another_nonce_is_refused() {
    let provider = Provider::start();
    let sso = provider.sso("groups").await;
    let a = sso.begin(KEY, &SystemRng, SystemClock.now());
    let b = sso.begin(KEY, &SystemRng, SystemClock.now());
    let swapped = with_param(&b.authorize_url, "nonce", &param(&a.authorize_url, "nonce"));
    let callback = Browser::new().sign_in(&swapped, "owner@example.com").await;
    let outcome = sso
        .finish(KEY, Some(&b.cookie), &callback, SystemClock.now())
        .await;
    match outcome {
        Err(SsoError::InvalidIdToken(message)) => assert!(message.contains("once"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_code_sent_with_another_verifier_is_refused() {
    let provider = Provider::start();
    let sso = provider.sso("groups").await;
    let a = sso.begin(KEY, &SystemRng, SystemClock.now());
    let b = sso.begin(KEY, &SystemRng, SystemClock.now());
    // The browser brings back B's state, but the provider bound the code to A's challenge.
    let swapped = with_param(
        &b.authorize_url,
        "code_challenge",
        &param(&a.authorize_url, "code_challenge"),
    );
    let callback = Browser::new().sign_in(&swapped, "owner@example.com").await;
    let outcome = sso
        .finish(KEY, Some(&b.cookie), &callback, SystemClock.now())
        .await;
    assert!(matches!(outcome, Err(SsoError::Exchange(_))), "{outcome:?}");
}

#[tokio::test]
async fn an_unreachable_provider_fails_discovery() {
    let port = crate::binary::free_port();
    let settings = SsoSettings {
        issuer: format!("http://127.0.0.1:{port}"),
        client_id: CLIENT_ID.to_owned(),
        client_secret: SsoClientSecret::new(CLIENT_SECRET.to_owned()),
        role_claim: "groups".to_owned(),
        scopes: SsoSettings::default_scopes(),
    };
    let outcome = Sso::discover(settings, REDIRECT_URI.to_owned()).await;
    match outcome {
        Err(SsoError::Discovery(message)) => assert!(!message.contains(CLIENT_SECRET)),
        other => panic!("{other:?}"),
    }
}
