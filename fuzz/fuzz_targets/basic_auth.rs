//! HTTP Basic client credentials (RFC 6749 §2.3.1: form-urlencoded id and secret, joined by
//! `:`, in base64): any pair survives encoding then decoding, and whatever a header decodes
//! to, encoded again, decodes to the same.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use tollgate::http::oauth::client_auth::decode_basic;

fuzz_target!(|data: &[u8]| {
    // As a header value.
    if let Ok(header) = std::str::from_utf8(data)
        && let Some((id, secret)) = decode_basic(header)
    {
        assert!(!id.is_empty(), "an empty client id was accepted");
        assert_eq!(
            decode_basic(&encode(&id, &secret)),
            Some((id, secret)),
            "re-encoded credentials decode differently"
        );
    }

    // As a pair: the id up to the first NUL byte, the secret after it.
    let (id, secret) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let (id, secret) = (String::from_utf8_lossy(id), String::from_utf8_lossy(secret));
    let decoded = decode_basic(&encode(&id, &secret));
    if id.is_empty() {
        assert_eq!(decoded, None, "an empty client id was accepted");
    } else {
        assert_eq!(decoded, Some((id.into_owned(), secret.into_owned())));
    }
});

/// What a client sends: `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn encode(id: &str, secret: &str) -> String {
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let secret: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}
