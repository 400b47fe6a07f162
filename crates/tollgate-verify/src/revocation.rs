//! Opt-in revocation polling: a background task reads Tollgate's revocation list
//! (`GET {issuer}/oauth2/revocations?since=<cursor>`) so that tokens of deleted clients, and
//! single revoked tokens, are refused within seconds without a call per request.

use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock, Weak};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::Deserialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::claims::Claims;
use crate::error::{Error, FetchError};
use crate::verifier::Inner;

/// Entries per page of the list; a full page means there is more.
pub(crate) const PAGE_SIZE: usize = 1000;
/// The most pages read in one poll, so a misbehaving server cannot keep a poll going forever.
const MAX_PAGES: usize = 100;
/// Tollgate's longest access token lifetime: a deleted client's entry is kept this long after
/// its `issued_before`, after which every token it covers has expired.
pub(crate) const MAX_TOKEN_LIFETIME: i64 = 24 * 60 * 60;
/// The default poll interval.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Settings for revocation polling; see
/// [`VerifierBuilder::revocation_polling`](crate::VerifierBuilder::revocation_polling).
///
/// The client must have the scope `tollgate:introspect`. Its secret is zeroized on drop and
/// never printed by `Debug`.
#[derive(Clone)]
pub struct RevocationPolling {
    pub(crate) client_id: String,
    pub(crate) client_secret: Zeroizing<String>,
    pub(crate) interval: Duration,
    pub(crate) endpoint: Option<String>,
    pub(crate) fail_closed_after: Option<Duration>,
}

impl RevocationPolling {
    /// Polls with these client credentials (HTTP Basic), every
    /// [`DEFAULT_POLL_INTERVAL`] unless told otherwise.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        RevocationPolling {
            client_id: client_id.into(),
            client_secret: Zeroizing::new(client_secret.into()),
            interval: DEFAULT_POLL_INTERVAL,
            endpoint: None,
            fail_closed_after: None,
        }
    }

    /// How often to poll (at least one second).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The revocation list URL, when discovery does not advertise one
    /// (`revocation_list_endpoint`) or the verifier is not configured through discovery.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Refuse every token ([`Error::RevocationListStale`]) when the list has not been read
    /// successfully for longer than `max_staleness`, including before the first successful
    /// poll. By default the verifier fails open: it keeps accepting tokens that are not known
    /// to be revoked while Tollgate is unreachable.
    pub fn fail_closed_after(mut self, max_staleness: Duration) -> Self {
        self.fail_closed_after = Some(max_staleness);
        self
    }

    /// The `Authorization` header value: RFC 6749 §2.3.1 form-encodes both parts.
    pub(crate) fn authorization(&self) -> Option<HeaderValue> {
        let enc = |s: &str| -> Zeroizing<String> {
            Zeroizing::new(url::form_urlencoded::byte_serialize(s.as_bytes()).collect())
        };
        let pair = Zeroizing::new(format!(
            "{}:{}",
            *enc(&self.client_id),
            *enc(&self.client_secret)
        ));
        let value = Zeroizing::new(format!("Basic {}", STANDARD.encode(pair.as_bytes())));
        let mut header = HeaderValue::from_str(&value).ok()?;
        header.set_sensitive(true);
        Some(header)
    }
}

impl fmt::Debug for RevocationPolling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationPolling")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("interval", &self.interval)
            .field("endpoint", &self.endpoint)
            .field("fail_closed_after", &self.fail_closed_after)
            .finish()
    }
}

/// What is known to be revoked, and where to resume reading the list.
#[derive(Debug, Default)]
pub(crate) struct RevocationState {
    pub(crate) cursor: i64,
    /// `jti` → `exp` of single revoked tokens.
    tokens: HashMap<String, i64>,
    /// `client_id` → `issued_before` of deleted clients.
    clients: HashMap<String, i64>,
    pub(crate) last_success: Option<i64>,
}

#[derive(Deserialize)]
struct Page {
    revocations: Vec<Value>,
    next_cursor: Option<i64>,
}

#[derive(Deserialize)]
struct Entry {
    jti: Option<String>,
    client_id: Option<String>,
    exp: Option<i64>,
    issued_before: Option<i64>,
}

impl RevocationState {
    pub(crate) fn is_revoked(&self, claims: &Claims) -> bool {
        self.tokens.contains_key(claims.jti())
            || self
                .clients
                .get(claims.client_id())
                .is_some_and(|before| claims.issued_at() <= *before)
    }

    /// Applies one page of the list; returns how many entries it held.
    pub(crate) fn apply_page(&mut self, body: &[u8], now: i64) -> Result<usize, String> {
        let page: Page =
            serde_json::from_slice(body).map_err(|e| format!("not a revocation list page: {e}"))?;
        let count = page.revocations.len();
        for raw in page.revocations {
            // An entry this version does not understand is skipped, not fatal: otherwise
            // one odd entry would stop the list from advancing for good.
            let Ok(entry) = serde_json::from_value::<Entry>(raw) else {
                tracing::warn!("skipping an unreadable revocation list entry");
                continue;
            };
            match entry {
                Entry {
                    jti: Some(jti),
                    exp,
                    ..
                } => {
                    let until = exp.unwrap_or(now.saturating_add(MAX_TOKEN_LIFETIME));
                    self.tokens.insert(jti, until);
                }
                Entry {
                    client_id: Some(client_id),
                    issued_before: Some(before),
                    ..
                } => {
                    let e = self.clients.entry(client_id).or_insert(before);
                    *e = (*e).max(before);
                }
                _ => tracing::warn!("skipping a revocation list entry without jti or client_id"),
            }
        }
        if let Some(next) = page.next_cursor {
            self.cursor = self.cursor.max(next);
        }
        Ok(count)
    }

    /// Forgets entries whose tokens have all expired.
    pub(crate) fn prune(&mut self, now: i64, leeway: i64) {
        self.tokens
            .retain(|_, exp| exp.saturating_add(leeway) >= now);
        self.clients.retain(|_, before| {
            before
                .saturating_add(MAX_TOKEN_LIFETIME)
                .saturating_add(leeway)
                >= now
        });
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> (usize, usize) {
        (self.tokens.len(), self.clients.len())
    }
}

/// The revocation list a verifier keeps.
#[derive(Debug)]
pub(crate) struct Revocations {
    pub(crate) options: RevocationPolling,
    pub(crate) state: RwLock<RevocationState>,
    /// One poll at a time (the background task, and [`crate::Verifier::refresh`]).
    pub(crate) poll: tokio::sync::Mutex<()>,
}

impl Revocations {
    pub(crate) fn new(options: RevocationPolling) -> Self {
        Revocations {
            options,
            state: RwLock::new(RevocationState::default()),
            poll: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn check(&self, claims: &Claims, now: i64) -> Result<(), Error> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        if state.is_revoked(claims) {
            return Err(Error::Revoked);
        }
        if let Some(max) = self.options.fail_closed_after {
            let max = i64::try_from(max.as_secs()).unwrap_or(i64::MAX);
            let fresh = state
                .last_success
                .is_some_and(|t| now.saturating_sub(t) <= max);
            if !fresh {
                return Err(Error::RevocationListStale);
            }
        }
        Ok(())
    }

    pub(crate) fn with_state<T>(&self, f: impl FnOnce(&mut RevocationState) -> T) -> T {
        f(&mut self.state.write().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Reads every page after the stored cursor; called with the poll lock held.
pub(crate) async fn poll_once(
    revocations: &Revocations,
    http: &reqwest::Client,
    endpoint: &url::Url,
    now: i64,
    leeway: i64,
) -> Result<(), FetchError> {
    let auth = revocations.options.authorization();
    for _ in 0..MAX_PAGES {
        let since = revocations.with_state(|s| s.cursor);
        let mut url = endpoint.clone();
        url.query_pairs_mut()
            .append_pair("since", &since.to_string());
        let fetched = crate::fetch::get(http, &url, None, |req| match &auth {
            Some(a) => req.header(AUTHORIZATION, a.clone()),
            None => req,
        })
        .await?;
        let body = fetched.body.unwrap_or_default();
        let count = revocations
            .with_state(|s| s.apply_page(&body, now))
            .map_err(|reason| FetchError::InvalidDocument {
                url: endpoint.to_string(),
                reason,
            })?;
        let advanced = revocations.with_state(|s| s.cursor) > since;
        if count < PAGE_SIZE || !advanced {
            break;
        }
    }
    revocations.with_state(|s| {
        s.last_success = Some(now);
        s.prune(now, leeway);
    });
    Ok(())
}

impl Inner {
    /// One poll of the revocation list (the background task, or [`crate::Verifier::refresh`]),
    /// once its endpoint is known; does nothing without revocation polling.
    pub(crate) async fn poll_revocations(&self) -> Result<(), FetchError> {
        let Some(revocations) = &self.revocations else {
            return Ok(());
        };
        let _one_at_a_time = revocations.poll.lock().await;
        let endpoint = self
            .endpoints()
            .await?
            .revocations
            .as_ref()
            .ok_or(FetchError::NoRevocationEndpoint)?;
        poll_once(
            revocations,
            &self.http,
            endpoint,
            self.clock.now(),
            self.policy.leeway,
        )
        .await
    }
}

/// The background task of revocation polling. It holds the verifier weakly and ends when
/// the last clone of the verifier is dropped.
pub(crate) async fn poll_forever(inner: Weak<Inner>, interval: Duration) {
    loop {
        {
            let Some(inner) = inner.upgrade() else {
                return;
            };
            if let Err(e) = inner.poll_revocations().await {
                tracing::warn!(error = %e, "could not read the revocation list; keeping the entries known so far");
            }
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::claims::tests::claims_with_scopes;

    #[test]
    fn entries_revoke_tokens_and_clients() {
        let mut st = RevocationState::default();
        let page = json!({"revocations": [
            {"cursor": 1, "jti": "j-revoked", "client_id": "tgc_a", "exp": 2000},
            {"cursor": 2, "client_id": "tgc_gone", "issued_before": 1500},
            {"cursor": 3, "client_id": "tgc_gone", "issued_before": 1400},
            {"cursor": 4, "jti": 17},
            {"cursor": 5, "something": "new"},
        ], "next_cursor": 5});
        assert_eq!(st.apply_page(page.to_string().as_bytes(), 1000), Ok(5));
        assert_eq!(st.cursor, 5);
        assert_eq!(st.len(), (1, 1));

        let mut c = claims_with_scopes(&[]);
        c.jti = "j-revoked".into();
        assert!(st.is_revoked(&c));
        c.jti = "j-other".into();
        assert!(!st.is_revoked(&c));
        c.client_id = "tgc_gone".into();
        c.issued_at = 1500;
        assert!(st.is_revoked(&c), "iat <= issued_before");
        c.issued_at = 1501;
        assert!(
            !st.is_revoked(&c),
            "a later token of a re-created client id"
        );

        assert!(st.apply_page(b"[]", 1000).is_err());
        assert!(
            st.apply_page(br#"{"revocations": [], "next_cursor": 2}"#, 1000)
                .is_ok()
        );
        assert_eq!(st.cursor, 5, "the cursor never goes back");
    }

    #[test]
    fn pruning_forgets_what_has_expired() {
        let mut st = RevocationState::default();
        let page = json!({"revocations": [
            {"cursor": 1, "jti": "j", "client_id": "c", "exp": 2000},
            {"cursor": 2, "client_id": "c", "issued_before": 2000},
        ], "next_cursor": 2});
        st.apply_page(page.to_string().as_bytes(), 1000).unwrap();
        st.prune(2030, 30);
        assert_eq!(st.len(), (1, 1));
        st.prune(2031, 30);
        assert_eq!(st.len(), (0, 1));
        st.prune(2000 + MAX_TOKEN_LIFETIME + 31, 30);
        assert_eq!(st.len(), (0, 0));
    }

    #[test]
    fn fail_closed_only_when_asked() {
        let open = Revocations::new(RevocationPolling::new("id", "secret"));
        let c = claims_with_scopes(&[]);
        assert!(open.check(&c, 1000).is_ok());
        let closed = Revocations::new(
            RevocationPolling::new("id", "secret").fail_closed_after(Duration::from_secs(60)),
        );
        assert!(matches!(
            closed.check(&c, 1000),
            Err(Error::RevocationListStale)
        ));
        closed.with_state(|s| s.last_success = Some(1000));
        assert!(closed.check(&c, 1060).is_ok());
        assert!(matches!(
            closed.check(&c, 1061),
            Err(Error::RevocationListStale)
        ));
    }

    #[test]
    fn credentials_are_form_encoded_and_never_printed() {
        let p = RevocationPolling::new("tgc_1", "s3cr:t+/");
        let h = p.authorization().unwrap();
        assert!(h.is_sensitive());
        let b64 = h.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap();
        assert_eq!(decoded, "tgc_1:s3cr%3At%2B%2F");
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("s3cr") && dbg.contains("redacted"), "{dbg}");
    }
}
