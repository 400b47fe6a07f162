//! The limits at the edge, spoken to over raw TCP: slow and oversized headers, oversized and
//! slow bodies, the bound on connections, the drain at shutdown, and garbage on the wire.
//! Outcomes are asserted with generous deadlines, never durations.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::helpers::{TestApp, basic_header, json_of};

/// Long enough for a busy 2-core machine to do what a test waits for.
const PATIENCE: Duration = Duration::from_secs(20);

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

async fn connect(addr: &str) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

/// Reads one response (headers and a `Content-Length` body); `None` if the connection closes
/// first. Keeps the connection usable for the next request.
async fn read_response(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() >= end + 4 + length {
                return Some(String::from_utf8_lossy(&buf[..end + 4 + length]).into_owned());
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// True once the peer has closed the connection (whatever it sent before).
async fn closed(stream: &mut TcpStream) -> bool {
    let mut sink = Vec::new();
    timeout(PATIENCE, stream.read_to_end(&mut sink))
        .await
        .is_ok()
}

fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a response: {response:?}"))
}

fn body_of(response: &str) -> serde_json::Value {
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
}

/// A token request whose body is announced in full but of which only `sent` bytes are sent.
fn partial_token_request(id: &str, secret: &str, sent: usize) -> (String, String) {
    let body = "grant_type=client_credentials";
    let head = format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: t\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        basic_header(id, secret),
        body.len()
    );
    (format!("{head}{}", &body[..sent]), body[sent..].to_owned())
}

#[tokio::test]
async fn a_slowloris_connection_is_closed_while_other_clients_get_tokens() {
    let app = TestApp::spawn_with(&[("TOLLGATE_HEADER_READ_TIMEOUT", "1")]).await;
    let (id, secret) = app.create_client("busy", &[]).await;
    let mut slow = connect(&addr(&app)).await;
    slow.write_all(b"POST /oauth2/token HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let (mut reader, mut writer) = slow.into_split();
    // A header line every 200 ms: the headers never end unless the server ends them.
    let trickle = tokio::spawn(async move {
        for i in 0.. {
            if writer
                .write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    for _ in 0..3 {
        let (status, body) = app.try_token(&id, &secret).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let mut answer = Vec::new();
    let ended = timeout(PATIENCE, reader.read_to_end(&mut answer)).await;
    trickle.abort();
    assert!(ended.is_ok(), "the slow connection is still open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || status_of(&answer) == 408, "{answer}");
    let response = token_on_a_new_connection(&app, &id, &secret).await;
    assert_eq!(status_of(&response), 200, "{response}");
}

/// A token request on a connection of its own. After a test has waited longer than a short
/// `header_read_timeout`, the HTTP client's pooled connection may be closing at the very
/// moment it is reused (the same timeout ends idle keep-alive connections), which would be a
/// transport error, not an answer.
async fn token_on_a_new_connection(app: &TestApp, id: &str, secret: &str) -> String {
    let (head, body) = partial_token_request(id, secret, 0);
    let mut s = connect(&addr(app)).await;
    s.write_all(format!("{head}{body}").as_bytes())
        .await
        .unwrap();
    timeout(PATIENCE, read_response(&mut s))
        .await
        .unwrap()
        .expect("an answer on a new connection")
}

#[tokio::test]
async fn headers_over_the_limit_are_answered_431() {
    let app = TestApp::spawn_with(&[("TOLLGATE_MAX_HEADER_BYTES", "8192")]).await;
    for (size, expected) in [(4_000, 200), (10_000, 431), (100_000, 431)] {
        let mut s = connect(&addr(&app)).await;
        let request = format!(
            "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
            "a".repeat(size)
        );
        // The server may answer and close before it has read everything.
        let _ = s.write_all(request.as_bytes()).await;
        let answer = timeout(PATIENCE, read_response(&mut s)).await.unwrap();
        let answer = answer.unwrap_or_else(|| panic!("no answer to {size} bytes of header"));
        assert_eq!(status_of(&answer), expected, "{size}: {answer}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_413_in_each_endpoint_s_format() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.create_client("big", &[]).await;
    let big = format!("grant_type=client_credentials&pad={}", "x".repeat(20_000));
    let request = app
        .http
        .post(app.url("/oauth2/token"))
        .header("authorization", basic_header(&id, &secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big.clone());
    let (status, headers, body) = json_of(request.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-frame-options"], "DENY");
    // Without a Content-Length the limit is found while reading.
    let mut s = connect(&addr(&app)).await;
    let (half, other) = big.split_at(big.len() / 2);
    let chunked = format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: t\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{half}\r\n{:x}\r\n{other}\r\n0\r\n\r\n",
        basic_header(&id, &secret),
        half.len(),
        other.len()
    );
    let _ = s.write_all(chunked.as_bytes()).await;
    let answer = timeout(PATIENCE, read_response(&mut s))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status_of(&answer), 413, "{answer}");
    assert_eq!(body_of(&answer)["error"], "invalid_request");

    let name = "x".repeat(100_000);
    let r = app
        .admin(Method::POST, "/clients", Some(json!({"name": name})))
        .await;
    let (status, headers, body) = json_of(r).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["x-content-type-options"], "nosniff");

    // Another method on an OAuth endpoint: its format, with the headers.
    let r = app.http.get(app.url("/oauth2/token")).send().await.unwrap();
    let (status, headers, body) = json_of(r).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(headers["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn a_request_that_outlives_the_time_limit_is_503_in_its_endpoint_s_format() {
    let app = TestApp::spawn_with(&[("TOLLGATE_REQUEST_TIMEOUT", "1")]).await;
    let (id, secret) = app.create_client("slow", &[]).await;
    let (head, _rest) = partial_token_request(&id, &secret, 5);
    let mut s = connect(&addr(&app)).await;
    s.write_all(head.as_bytes()).await.unwrap();
    let answer = timeout(PATIENCE, read_response(&mut s))
        .await
        .unwrap()
        .expect("an answer");
    assert_eq!(status_of(&answer), 503, "{answer}");
    assert_eq!(body_of(&answer)["error"], "temporarily_unavailable");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-frame-options: deny"),
        "{answer}"
    );

    let token = app.admin_token().await;
    let mut s = connect(&addr(&app)).await;
    s.write_all(
        format!(
            "POST /admin/v1/clients HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{{\"name\""
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let answer = timeout(PATIENCE, read_response(&mut s))
        .await
        .unwrap()
        .expect("an answer");
    assert_eq!(status_of(&answer), 503, "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert_eq!(body_of(&answer)["code"], "request_timeout", "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_bound_wait_and_are_served_once_others_close() {
    let app = TestApp::spawn_with(&[("TOLLGATE_MAX_CONNECTIONS", "2")]).await;
    let addr = addr(&app);
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect(&addr).await;
        s.write_all(get("/healthz").as_bytes()).await.unwrap();
        let answer = timeout(PATIENCE, read_response(&mut s)).await.unwrap();
        assert_eq!(status_of(&answer.unwrap()), 200);
        held.push(s);
    }
    // The kernel completes the handshake; the server does not take the connection yet.
    let mut waiting = connect(&addr).await;
    waiting.write_all(get("/healthz").as_bytes()).await.unwrap();
    let early = timeout(Duration::from_millis(500), read_response(&mut waiting)).await;
    assert!(early.is_err(), "answered beyond the bound: {early:?}");
    // The connections being served go on being served.
    for s in &mut held {
        s.write_all(get("/healthz").as_bytes()).await.unwrap();
        let answer = timeout(PATIENCE, read_response(s)).await.unwrap();
        assert_eq!(status_of(&answer.unwrap()), 200);
    }
    drop(held.pop());
    let answer = timeout(PATIENCE, read_response(&mut waiting))
        .await
        .expect("served once another connection closed");
    assert_eq!(status_of(&answer.unwrap()), 200);
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight_refuses_new_ones_and_ends_by_the_deadline() {
    let app = TestApp::spawn_with(&[
        ("TOLLGATE_SHUTDOWN_GRACE", "4"),
        ("TOLLGATE_REQUEST_TIMEOUT", "600"),
    ])
    .await;
    let addr = addr(&app);
    let (id, secret) = app.create_client("drain", &[]).await;
    let mut idle = connect(&addr).await;
    idle.write_all(get("/healthz").as_bytes()).await.unwrap();
    assert!(
        timeout(PATIENCE, read_response(&mut idle))
            .await
            .unwrap()
            .is_some()
    );
    let (head, rest) = partial_token_request(&id, &secret, 5);
    let mut finishing = connect(&addr).await;
    finishing.write_all(head.as_bytes()).await.unwrap();
    // A request that never completes: only the deadline ends it.
    let mut stuck = connect(&addr).await;
    stuck.write_all(head.as_bytes()).await.unwrap();
    // Both requests reach their handlers before the stop.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stopping = tokio::spawn(app.stop());
    let refused = timeout(PATIENCE, async {
        while TcpStream::connect(&addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(refused.is_ok(), "new connections are still accepted");

    finishing.write_all(rest.as_bytes()).await.unwrap();
    let answer = timeout(PATIENCE, read_response(&mut finishing))
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(body_of(&answer)["access_token"].is_string());
    assert!(closed(&mut idle).await, "the idle connection stays open");

    timeout(PATIENCE, stopping)
        .await
        .expect("the server stops by the deadline")
        .unwrap();
    assert!(closed(&mut stuck).await, "the stuck connection stays open");
}

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn garbage(i: usize, rng: &mut XorShift) -> Vec<u8> {
    let len = (rng.next() % 600) as usize + 1;
    match i % 6 {
        0 => rng.bytes(len),
        1 => [b"GET /".as_slice(), &rng.bytes(len), b" HTTP/1.1\r\n\r\n"].concat(),
        2 => [
            b"POST /oauth2/token HTTP/1.1\r\nHost: t\r\nContent-Type: \
                application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
                .as_slice(),
            &rng.bytes(len),
            b"\r\n0\r\n\r\n",
        ]
        .concat(),
        3 => b"POST /oauth2/token HTTP/1.1\r\nHost: t\r\nContent-Type: \
               application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
               zz\r\nabc\r\n0\r\n\r\n"
            .to_vec(),
        4 => [
            b"POST /admin/v1/clients HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n".as_slice(),
            b"Content-Length: 7\r\n\r\n",
            &rng.bytes(len),
        ]
        .concat(),
        _ => [
            rng.bytes(8).as_slice(),
            b" / HTTP/1.1\r\nHost: t\r\n",
            &rng.bytes(len),
        ]
        .concat(),
    }
}

#[tokio::test]
async fn garbage_on_the_wire_gets_4xx_or_a_close_never_5xx() {
    let app = TestApp::spawn_with(&[("TOLLGATE_HEADER_READ_TIMEOUT", "1")]).await;
    let addr = addr(&app);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let inputs: Vec<Vec<u8>> = (0..300).map(|i| garbage(i, &mut rng)).collect();
    for batch in inputs.chunks(20) {
        let mut sent = tokio::task::JoinSet::new();
        for input in batch.iter().cloned() {
            let addr = addr.clone();
            sent.spawn(async move {
                let mut s = TcpStream::connect(&addr).await.unwrap();
                let _ = s.write_all(&input).await;
                let _ = s.shutdown().await;
                let mut answer = Vec::new();
                let read = timeout(PATIENCE, s.read_to_end(&mut answer)).await;
                (
                    input,
                    read.is_ok(),
                    String::from_utf8_lossy(&answer).into_owned(),
                )
            });
        }
        while let Some(done) = sent.join_next().await {
            let (input, ended, answer) = done.unwrap();
            let shown = String::from_utf8_lossy(&input);
            assert!(ended, "connection left open after {shown:?}");
            for status in answer.match_indices("HTTP/1.1 ").filter_map(|(at, _)| {
                answer[at + 9..]
                    .get(..3)
                    .and_then(|s| s.parse::<u16>().ok())
            }) {
                assert!(status < 500, "{status} for {shown:?}: {answer}");
            }
        }
    }
    let response =
        token_on_a_new_connection(&app, crate::helpers::ADMIN_ID, crate::helpers::ADMIN_SECRET)
            .await;
    assert_eq!(status_of(&response), 200, "{response}");
}
