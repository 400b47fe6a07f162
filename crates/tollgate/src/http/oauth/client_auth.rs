//! What every OAuth endpoint that a client calls shares: reading an
//! `application/x-www-form-urlencoded` body (RFC 6749 §3.1, §3.2) and client authentication
//! by `client_secret_basic` or `client_secret_post` (RFC 6749 §2.3.1).

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use super::error::OAuthError;
use crate::domain::secret::ClientSecret;
use crate::service::Credentials;

/// Largest request body an OAuth endpoint reads.
pub const MAX_BODY: usize = 16 * 1024;

const BASIC_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A parsed form body. It may hold a `client_secret`, so its `Debug` shows parameter names
/// only.
#[derive(Default)]
pub struct Form {
    params: HashMap<String, Vec<String>>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.params.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Form")
            .field("parameters", &names)
            .finish_non_exhaustive()
    }
}

impl Form {
    /// Reads and parses the body. `single` names the parameters that must not repeat
    /// (RFC 6749 §3.2); unknown parameters are kept but never looked at (§3.1).
    pub async fn read(
        headers: &HeaderMap,
        body: Body,
        single: &[&str],
    ) -> Result<Form, OAuthError> {
        let form_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|essence| {
                essence
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_type {
            return Err(OAuthError::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
            if e.into_inner().is::<http_body_util::LengthLimitError>() {
                OAuthError::too_large(format!("the request body is larger than {MAX_BODY} bytes"))
            } else {
                OAuthError::invalid_request("the request body could not be read")
            }
        })?;
        Form::parse(&bytes, single)
    }

    /// Parses a form body already read.
    pub fn parse(bytes: &[u8], single: &[&str]) -> Result<Form, OAuthError> {
        let mut params: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in form_urlencoded::parse(bytes) {
            // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
            if !v.is_empty() {
                params
                    .entry(k.into_owned())
                    .or_default()
                    .push(v.into_owned());
            }
        }
        for name in single {
            if params.get(*name).is_some_and(|v| v.len() > 1) {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter `{name}` is repeated"
                )));
            }
        }
        Ok(Form { params })
    }

    pub fn one(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    pub fn all(&self, name: &str) -> &[String] {
        self.params.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn required(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.one(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("the parameter `{name}` is missing"))
        })
    }
}

/// How the client authenticated (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_secret_basic`
    Basic,
    /// `client_secret_post`
    Post,
}

/// The client's credentials from the Authorization header or, failing that, the form body.
pub fn client_credentials(
    headers: &HeaderMap,
    form: &Form,
) -> Result<(Credentials, AuthMethod), OAuthError> {
    credentials(headers, form.one("client_id"), form.one("client_secret"))
}

/// Client authentication by `client_secret_basic` or `client_secret_post`, never both
/// (RFC 6749 §2.3).
fn credentials(
    headers: &HeaderMap,
    body_id: Option<&str>,
    body_secret: Option<&str>,
) -> Result<(Credentials, AuthMethod), OAuthError> {
    let mut auth = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (auth.next(), auth.next()) else {
        // No Authorization header (or, below, several): credentials must be in the body.
        if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
            return Err(OAuthError::invalid_request(
                "the Authorization header is repeated",
            ));
        }
        return match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok((
                Credentials {
                    client_id: id.to_owned(),
                    secret: ClientSecret::new(secret.to_owned()),
                },
                AuthMethod::Post,
            )),
            _ => Err(OAuthError::invalid_client()),
        };
    };
    let (id, secret) = parse_basic(value).ok_or_else(OAuthError::invalid_client)?;
    if body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "use one client authentication method: HTTP Basic or client_secret in the body, \
             not both",
        ));
    }
    if body_id.is_some_and(|b| b != id) {
        return Err(OAuthError::invalid_request(
            "`client_id` in the body differs from the one in the Authorization header",
        ));
    }
    Ok((
        Credentials {
            client_id: id,
            secret: ClientSecret::new(secret),
        },
        AuthMethod::Basic,
    ))
}

fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    decode_basic(value.to_str().ok()?)
}

/// The client id and secret of an Authorization header's value
/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1); `None` for any
/// other scheme or a malformed value. Free of HTTP types so it can be fuzzed on its own.
pub fn decode_basic(value: &str) -> Option<(String, String)> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASIC_B64.decode(rest.trim()).ok()?;
    let decoded = zeroize::Zeroizing::new(decoded);
    let text = std::str::from_utf8(&decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let id = form_decode(id)?;
    let secret = form_decode(secret)?;
    if id.is_empty() {
        return None;
    }
    Some((id, secret))
}

/// The application/x-www-form-urlencoded decoding of one value: `+` is a space, `%XX` a byte.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                // Two hex digits exactly: `from_str_radix` alone would take a sign (`%+f`).
                let hex = bytes.get(i + 1..i + 3)?;
                let digit = |b: u8| char::from(b).to_digit(16);
                let (hi, lo) = (digit(hex[0])?, digit(hex[1])?);
                out.push(u8::try_from(hi * 16 + lo).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose;

    use super::*;
    use crate::http::oauth::error::OAuthErrorCode;

    fn basic(raw: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Basic {}", general_purpose::STANDARD.encode(raw))).unwrap()
    }

    #[test]
    fn basic_credentials_are_form_url_decoded() {
        assert_eq!(
            parse_basic(&basic("my%3Aclient:a+b%26c%2B")),
            Some(("my:client".into(), "a b&c+".into()))
        );
        assert_eq!(parse_basic(&basic("id:")), Some(("id".into(), "".into())));
        assert_eq!(parse_basic(&basic("nocolon")), None);
        assert_eq!(parse_basic(&basic(":secret")), None);
        assert_eq!(parse_basic(&basic("id:%zz")), None);
        // A sign is not a hex digit, though `u8::from_str_radix("+f", 16)` takes it.
        assert_eq!(parse_basic(&basic("id:%+f")), None);
        assert_eq!(parse_basic(&basic("id:%-1")), None);
        assert_eq!(parse_basic(&basic("id:%4")), None);
        assert_eq!(
            parse_basic(&basic("id:%4A")),
            Some(("id".into(), "J".into()))
        );
        assert_eq!(parse_basic(&HeaderValue::from_static("Bearer abc")), None);
        assert_eq!(parse_basic(&HeaderValue::from_static("Basic !!!")), None);
        let unpadded = general_purpose::STANDARD_NO_PAD.encode("id:s");
        assert!(
            parse_basic(&HeaderValue::from_str(&format!("basic {unpadded}")).unwrap()).is_some()
        );
    }

    #[test]
    fn one_authentication_method_only() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, basic("id:secret"));
        assert!(credentials(&h, None, Some("secret")).is_err());
        assert!(credentials(&h, Some("other"), None).is_err());
        let (c, m) = credentials(&h, Some("id"), None).unwrap();
        assert_eq!((c.client_id.as_str(), m), ("id", AuthMethod::Basic));
        let none = HeaderMap::new();
        assert_eq!(
            credentials(&none, Some("id"), None).unwrap_err().code,
            OAuthErrorCode::InvalidClient
        );
        let (c, m) = credentials(&none, Some("id"), Some("s")).unwrap();
        assert_eq!((c.client_id.as_str(), m), ("id", AuthMethod::Post));
    }

    #[test]
    fn a_form_does_not_show_its_values() {
        let form = Form::parse(b"client_id=me&client_secret=tgs_hunter2", &[]).unwrap();
        let shown = format!("{form:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("client_secret"), "{shown}");
    }
}
