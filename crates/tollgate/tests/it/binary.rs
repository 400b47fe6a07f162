//! The `tollgate` binary itself: startup errors, the bootstrap print, request logs that never
//! carry a secret, graceful shutdown on SIGTERM, and the CLI against a running server.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use crate::helpers::TestDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_tollgate");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A bare HTTP/1.0 request (a request line, or a whole request ending in its body); returns
/// the raw response ("" when nothing answers).
fn raw_request(port: u16, request_line: &str) -> String {
    use std::io::Write;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let request = if request_line.contains("\r\n") {
        request_line.to_owned()
    } else {
        format!("{request_line} HTTP/1.0\r\n\r\n")
    };
    if s.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    response
}

/// True once `GET /healthz` answers 200.
pub fn healthy(port: u16) -> bool {
    let r = raw_request(port, "GET /healthz");
    r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200")
}

pub struct Server {
    child: Child,
    pub base: String,
    port: u16,
}

impl Server {
    /// Starts `tollgate serve` and waits for its "listening" log line.
    pub fn start(data: &TestDir, env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env_clear()
            .envs(data.env())
            .env("TOLLGATE_LISTEN", format!("127.0.0.1:{port}"))
            .env("TOLLGATE_LOG_FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("tollgate starts");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !healthy(port) {
            assert!(Instant::now() < deadline, "server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, base, port }
    }

    /// Sends SIGTERM and returns (exit success, stdout, stderr).
    pub fn terminate(mut self) -> (bool, String, String) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let mut out = String::new();
        let mut err = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status.success(), out, err)
    }
}

pub fn cli(base: &str, id: &str, secret: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_clear()
        .env("TOLLGATE_ENDPOINT", base)
        .env("TOLLGATE_CLIENT_ID", id)
        .env("TOLLGATE_CLIENT_SECRET", secret)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_setting_stops_startup_with_a_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("TOLLGATE_LISTEN", "nowhere"),
        ("TOLLGATE_SIGNING_ALGORITHM", "HS256"),
        ("TOLLGATE_LISTNE", "127.0.0.1:1"),
    ] {
        let out = Command::new(BIN)
            .arg("serve")
            .env_clear()
            .env("TOLLGATE_DATA_DIR", dir.path())
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(var), "{var}: {err}");
    }
    let toml = dir.path().join("t.toml");
    std::fs::write(&toml, "listen = \"127.0.0.1:0\"\ntoken_lifetime = 5\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&toml)
        .env_clear()
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("token_lifetime"));
}

#[test]
fn first_start_prints_the_admin_credentials_once_and_logs_never_hold_secrets() {
    let dir = TestDir::new();
    let server = Server::start(&dir, &[]);
    // The bootstrap banner is on stderr before the listener is up.
    let (ok, out, err) = server.terminate();
    assert!(ok, "clean exit on SIGTERM");
    let id = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("TOLLGATE_CLIENT_ID="))
        .expect("id printed")
        .to_owned();
    let secret = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("TOLLGATE_CLIENT_SECRET="))
        .expect("secret printed")
        .to_owned();
    assert!(secret.starts_with("tgs_"));
    assert!(!out.contains(&secret), "the secret is not in the log");

    // Second start: nothing printed, the same credentials work, and no log line ever holds a
    // secret, a token or an Authorization header. Headers of up to 128 KiB, so the over-long
    // path below reaches the request log.
    let server = Server::start(&dir, &[("TOLLGATE_MAX_HEADER_BYTES", "131072")]);
    let base = server.base.clone();
    let (ok, token_json, e) = cli(&base, &id, &secret, &["token", "--json"]);
    assert!(ok, "{e}");
    let token: Value = serde_json::from_str(&token_json).unwrap();
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    register_reports_api(&base, &id, &secret);
    let (ok, created, e) = cli(
        &base,
        &id,
        &secret,
        &[
            "clients",
            "create",
            "--name",
            "exporter",
            "--scope",
            "reports:export",
            "--json",
        ],
    );
    assert!(ok, "{e}");
    let created: Value = serde_json::from_str(&created).unwrap();
    let client_secret = created["client_secret"].as_str().unwrap().to_owned();
    let client_id = created["client"]["client_id"].as_str().unwrap().to_owned();
    let (ok, listed, _) = cli(&base, &id, &secret, &["clients", "list"]);
    assert!(
        ok && listed.contains("exporter") && listed.contains("CLIENT ID"),
        "{listed}"
    );
    let (ok, _, e) = cli(
        &base,
        &client_id,
        &client_secret,
        &["token", "--scope", "reports:export"],
    );
    assert!(ok, "{e}");
    let (ok, _, e) = cli(&base, &client_id, "tgs_wrong", &["token"]);
    assert!(!ok && e.contains("invalid_client"), "{e}");
    let (ok, _, e) = cli(&base, &client_id, &client_secret, &["clients", "list"]);
    assert!(!ok && e.contains("tollgate:admin"), "{e}");
    let (ok, _, e) = cli(
        &base,
        &id,
        &secret,
        &["clients", "create", "--name", "exporter"],
    );
    assert!(!ok && e.contains("already exists"), "{e}");
    let (ok, _, e) = cli("http://127.0.0.1:1", &id, &secret, &["clients", "list"]);
    assert!(!ok && e.contains("cannot reach Tollgate"), "{e}");
    let (ok, _, e) = cli(&base, &id, &secret, &["clients", "delete", &client_id]);
    assert!(ok, "{e}");
    // A secret in the query string and a body with a secret must not reach the log either.
    let answer = raw_request(
        server.port,
        &format!("POST /oauth2/token?client_secret={client_secret}"),
    );
    assert!(answer.contains("invalid_request"), "{answer}");
    // A secret pasted into the client id field, in the body and in HTTP Basic.
    let body = format!("grant_type=client_credentials&client_id={client_secret}&client_secret=x");
    let answer = raw_request(
        server.port,
        &format!(
            "POST /oauth2/token HTTP/1.0\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(answer.contains("invalid_client"), "{answer}");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_secret}:x"));
    let body = "grant_type=client_credentials";
    let answer = raw_request(
        server.port,
        &format!(
            "POST /oauth2/token HTTP/1.0\r\nauthorization: Basic {basic}\r\n\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(answer.contains("invalid_client"), "{answer}");
    // A long path makes a short log line.
    let long_path = format!("/{}", "p".repeat(60_000));
    let answer = raw_request(server.port, &format!("GET {long_path}"));
    assert!(
        answer.contains("404"),
        "{}",
        &answer[..answer.len().min(200)]
    );

    let (ok, out, err) = server.terminate();
    assert!(ok, "clean exit on SIGTERM");
    assert!(
        !err.contains("TOLLGATE_CLIENT_SECRET="),
        "printed only on the first start"
    );
    let all = format!("{out}{err}");
    for needle in [
        secret.as_str(),
        client_secret.as_str(),
        access_token.as_str(),
        &access_token[access_token.len() - 20..],
        "Basic ",
        "Bearer ",
        "authorization:",
        "\"authorization\"",
    ] {
        assert!(
            !all.to_lowercase().contains(&needle.to_lowercase()),
            "log holds {needle:?}"
        );
    }
    // Request lines: method, path, status, latency, client id.
    let lines: Vec<Value> = BufReader::new(out.as_bytes())
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .filter(|v: &Value| v["message"] == "request")
        .collect();
    assert!(lines.len() >= 8, "{out}");
    assert!(
        out.lines().all(|l| l.len() < 2_000),
        "a request line stays short whatever the path"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["client_id"] == tollgate::http::log::REDACTED_SECRET)
            .count(),
        2,
        "a secret typed as a client id is logged redacted"
    );
    let token_ok = lines
        .iter()
        .find(|l| {
            l["path"] == "/oauth2/token"
                && l["status"] == 200
                && l["client_id"] == client_id.as_str()
        })
        .expect("token request logged with its client id");
    assert_eq!(token_ok["method"], "POST");
    assert!(token_ok["latency_us"].is_u64());
    assert!(
        lines
            .iter()
            .any(|l| l["path"] == "/admin/v1/clients" && l["client_id"] == id.as_str())
    );
}

/// Registers `https://api.example.com` with the permissions `reports:export` and
/// `reports:read`; returns its `api_id`.
fn register_reports_api(base: &str, id: &str, secret: &str) -> String {
    let (ok, out, e) = cli(
        base,
        id,
        secret,
        &[
            "apis",
            "create",
            "--identifier",
            "https://api.example.com",
            "--name",
            "Reports API",
            "--permission",
            "reports:export=Export reports as CSV",
            "--permission",
            "reports:read",
            "--json",
        ],
    );
    assert!(ok, "{e}");
    let api: Value = serde_json::from_str(&out).unwrap();
    api["api_id"].as_str().unwrap().to_owned()
}

/// The claims of a JWT, unverified.
fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn cli_with_stdin(
    base: &str,
    id: &str,
    secret: &str,
    args: &[&str],
    input: &str,
) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .env_clear()
        .env("TOLLGATE_ENDPOINT", base)
        .env("TOLLGATE_CLIENT_ID", id)
        .env("TOLLGATE_CLIENT_SECRET", secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_manages_keys_exports_leaks_and_shows_the_audit_trail() {
    let dir = TestDir::new();
    let (id, secret) = ("cli-admin", "cli-admin-secret-0123456789abcdef0123456789");
    let server = Server::start(
        &dir,
        &[
            ("TOLLGATE_BOOTSTRAP_CLIENT_ID", id),
            ("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", secret),
        ],
    );
    let base = server.base.clone();
    register_reports_api(&base, id, secret);

    let (ok, env, e) = cli(
        &base,
        id,
        secret,
        &[
            "clients",
            "create",
            "--name",
            "exporter",
            "--scope",
            "reports:export",
            "--output",
            "env",
        ],
    );
    assert!(ok, "{e}");
    let var = |name: &str| -> String {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {env}"))
            .trim_matches('"')
            .to_owned()
    };
    let (client_id, client_secret) = (var("OAUTH_CLIENT_ID"), var("OAUTH_CLIENT_SECRET"));
    let (ok, _, e) = cli(&base, &client_id, &client_secret, &["token"]);
    assert!(ok, "exported credentials work: {e}");

    let (ok, postman, e) = cli(
        &base,
        id,
        secret,
        &[
            "clients", "secrets", "add", &client_id, "--output", "postman",
        ],
    );
    assert!(ok, "{e}");
    let postman: Value = serde_json::from_str(&postman).unwrap();
    assert_eq!(postman["_postman_variable_scope"], "environment");

    let (ok, report, e) = cli_with_stdin(
        &base,
        id,
        secret,
        &["clients", "secrets", "leaked", "--json"],
        &format!("{client_secret}\n"),
    );
    assert!(ok, "{e}");
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["client_id"], client_id.as_str());
    let (ok, _, e) = cli(&base, &client_id, &client_secret, &["token"]);
    assert!(!ok && e.contains("invalid_client"), "{e}");
    let (ok, _, e) = cli_with_stdin(&base, id, secret, &["clients", "secrets", "leaked"], "");
    assert!(!ok && e.contains("standard input"), "{e}");

    let (ok, keys, e) = cli(&base, id, secret, &["keys", "list"]);
    assert!(
        ok && keys.contains("current") && keys.contains("ES256"),
        "{keys}{e}"
    );
    let (ok, rotated, e) = cli(&base, id, secret, &["keys", "rotate"]);
    assert!(ok && rotated.contains("is next"), "{rotated}{e}");
    let (ok, _, e) = cli(&base, id, secret, &["keys", "rotate"]);
    assert!(!ok && e.contains("already announced"), "{e}");
    let (ok, keys, _) = cli(&base, id, secret, &["keys", "list", "--json"]);
    assert!(ok);
    let keys: Value = serde_json::from_str(&keys).unwrap();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);

    let (ok, audit, e) = cli(&base, id, secret, &["audit", "--client", &client_id]);
    assert!(ok, "{e}");
    for action in ["client.created", "secret.added", "secret.leaked_disabled"] {
        assert!(audit.contains(action), "{action} in {audit}");
    }
    let (ok, _, _) = server.terminate();
    assert!(ok);
}

#[test]
fn the_cli_refuses_plain_http_to_a_remote_host_unless_told_it_is_insecure() {
    // `.invalid` never resolves, so reaching the network at all shows as "cannot reach".
    let (ok, _, e) = cli(
        "http://tollgate.invalid:8080",
        "id",
        "secret",
        &["clients", "list"],
    );
    assert!(!ok);
    assert!(e.contains("--insecure-http"), "{e}");
    assert!(!e.contains("cannot reach"), "{e}");

    // The flag, or its environment variable, lets it try (and fail to resolve).
    let (ok, _, e) = cli(
        "http://tollgate.invalid:8080",
        "id",
        "secret",
        &["clients", "list", "--insecure-http"],
    );
    assert!(!ok);
    assert!(e.contains("cannot reach"), "{e}");
    let out = Command::new(BIN)
        .args(["clients", "list"])
        .env_clear()
        .env("TOLLGATE_ENDPOINT", "http://tollgate.invalid:8080")
        .env("TOLLGATE_INSECURE_HTTP", "1")
        .env("TOLLGATE_CLIENT_ID", "id")
        .env("TOLLGATE_CLIENT_SECRET", "secret")
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("cannot reach"), "{e}");

    // https anywhere, and http to this machine, need no flag.
    for endpoint in [
        "https://tollgate.invalid",
        "http://localhost:1",
        "http://[::1]:1",
        "http://127.0.0.1:1",
    ] {
        let (ok, _, e) = cli(endpoint, "id", "secret", &["clients", "list"]);
        assert!(!ok);
        assert!(e.contains("cannot reach"), "{endpoint}: {e}");
    }
}

#[test]
fn the_cli_manages_the_catalogue_and_reports_permissions_in_use() {
    let dir = TestDir::new();
    let (id, secret) = ("cli-admin", "cli-admin-secret-0123456789abcdef0123456789");
    let server = Server::start(
        &dir,
        &[
            ("TOLLGATE_BOOTSTRAP_CLIENT_ID", id),
            ("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", secret),
        ],
    );
    let base = server.base.clone();

    let api_id = register_reports_api(&base, id, secret);
    assert!(api_id.starts_with("api_"), "{api_id}");
    // A permission without a value never reaches the server.
    let (ok, _, e) = cli(
        &base,
        id,
        secret,
        &[
            "apis",
            "create",
            "--identifier",
            "https://other.example.com",
            "--name",
            "Other",
            "--permission",
            "=no value",
        ],
    );
    assert!(!ok && e.contains("VALUE=DESCRIPTION"), "{e}");

    let (ok, listed, e) = cli(&base, id, secret, &["apis", "list"]);
    assert!(ok, "{e}");
    for needle in [
        "API ID",
        "api_tollgate",
        api_id.as_str(),
        "https://api.example.com",
    ] {
        assert!(listed.contains(needle), "{needle} in {listed}");
    }
    let (ok, shown, e) = cli(&base, id, secret, &["apis", "get", &api_id]);
    assert!(ok, "{e}");
    for needle in [
        "PERMISSION",
        "reports:export",
        "Export reports as CSV",
        "reports:read",
    ] {
        assert!(shown.contains(needle), "{needle} in {shown}");
    }

    // A client with both permissions, a tenant and a static claim.
    let (ok, created, e) = cli(
        &base,
        id,
        secret,
        &[
            "clients",
            "create",
            "--name",
            "exporter",
            "--scope",
            "reports:export",
            "--scope",
            "reports:read",
            "--tenant",
            "acme",
            "--claims",
            r#"{"org": "acme"}"#,
            "--json",
        ],
    );
    assert!(ok, "{e}");
    let created: Value = serde_json::from_str(&created).unwrap();
    let client_id = created["client"]["client_id"].as_str().unwrap().to_owned();
    let client_secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(created["client"]["tenants"], serde_json::json!(["acme"]));
    let (ok, token, e) = cli(&base, &client_id, &client_secret, &["token"]);
    assert!(ok, "{e}");
    let claims = jwt_claims(token.trim());
    assert_eq!(claims["aud"], "https://api.example.com");
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["org"], "acme");
    let (ok, _, e) = cli(
        &base,
        id,
        secret,
        &["clients", "create", "--name", "x", "--claims", "[1]"],
    );
    assert!(!ok && e.contains("JSON object"), "{e}");
    let (ok, locked, e) = cli(
        &base,
        id,
        secret,
        &[
            "clients",
            "create",
            "--name",
            "locked",
            "--lock-scopes",
            "--json",
        ],
    );
    assert!(ok, "{e}");
    let locked: Value = serde_json::from_str(&locked).unwrap();
    assert_eq!(locked["client"]["scopes_locked"], true);

    // Removing a permission a client holds is refused, naming the client, until told to
    // take it from clients too.
    let remove = [
        "apis",
        "update",
        api_id.as_str(),
        "--remove-permission",
        "reports:export",
    ];
    let (ok, _, e) = cli(&base, id, secret, &remove);
    assert!(!ok, "refused");
    assert!(
        e.contains(&client_id) && e.contains("--take-from-clients"),
        "{e}"
    );
    let (ok, updated, e) = cli(
        &base,
        id,
        secret,
        &[&remove[..], &["--take-from-clients", "--json"][..]].concat(),
    );
    assert!(ok, "{e}");
    let updated: Value = serde_json::from_str(&updated).unwrap();
    assert_eq!(
        updated["permissions"],
        serde_json::json!([{"value": "reports:read", "description": ""}])
    );
    let (ok, client, e) = cli(&base, id, secret, &["clients", "get", &client_id, "--json"]);
    assert!(ok, "{e}");
    let client: Value = serde_json::from_str(&client).unwrap();
    assert_eq!(client["scopes"], serde_json::json!(["reports:read"]));
    let (ok, client, e) = cli(
        &base,
        id,
        secret,
        &["clients", "update", &client_id, "--no-claims", "--json"],
    );
    assert!(ok, "{e}");
    let client: Value = serde_json::from_str(&client).unwrap();
    assert!(client["claims"].is_null(), "{client}");

    // Deleting the API: the same refusal while the client holds reports:read.
    let (ok, _, e) = cli(&base, id, secret, &["apis", "delete", &api_id]);
    assert!(!ok && e.contains(&client_id), "{e}");
    let (ok, _, e) = cli(
        &base,
        id,
        secret,
        &["apis", "delete", &api_id, "--take-from-clients"],
    );
    assert!(ok, "{e}");
    let (ok, _, _) = cli(&base, id, secret, &["apis", "get", &api_id]);
    assert!(!ok, "gone");
    let (ok, _, _) = server.terminate();
    assert!(ok);
}
