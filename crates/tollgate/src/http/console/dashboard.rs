//! The dashboard at `/console`: where a person lands after signing in. Counts of clients and
//! APIs, the token requests of the last 24 hours, secrets expiring soon, the signing keys'
//! ages, and what needs attention (a client that does not cache its tokens, a rotation left
//! half done). Read-only for every role: it has links, no actions.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Active;
use super::pages::{Layout, Page, Section};
use crate::clock::UnixTime;
use crate::domain::quota::QuotaMode;
use crate::domain::usage::{
    EXPIRING_SOON_SECS, IDLE_SECRET_SECS, IdleSecret, NOT_CACHING_FACTOR, NOT_CACHING_FLOOR,
};
use crate::http::AppState;
use crate::service::{Dashboard, NotCaching, OverQuota};

pub fn routes() -> Router<AppState> {
    Router::new().route("/console", get(show))
}

/// The rule behind "not caching tokens", as the page states it.
pub fn caching_rule() -> String {
    format!(
        "A client is flagged as not caching its tokens when, over the last 24 hours, it got \
         more than {NOT_CACHING_FACTOR} times the tokens one caller needs that reuses each \
         token until it expires (one per token lifetime in the hours it was active), and at \
         least {NOT_CACHING_FLOOR} tokens."
    )
}

/// The rule behind an unused secret, as the page states it.
pub fn idle_rule() -> String {
    format!(
        "A secret is flagged when it has not been used for {} days while another secret of the \
         same client has been.",
        IDLE_SECRET_SECS / 86_400
    )
}

/// One item of "Needs attention"; each names the client and links to it.
pub enum Attention {
    NotCaching {
        client_id: String,
        client_name: String,
        tokens: String,
        needed: String,
        lifetime: String,
    },
    /// A newer secret not used while an older one still is.
    RotationUnfinished {
        client_id: String,
        client_name: String,
        new_secret: String,
        added: String,
        old_secret: String,
        old_used: String,
    },
    /// A client over its token quota in the current window.
    OverQuota {
        client_id: String,
        client_name: String,
        used: String,
        tokens: String,
        per: &'static str,
        enforced: bool,
    },
    /// An older secret not used since a newer one took over.
    OldSecretUnused {
        client_id: String,
        client_name: String,
        old_secret: String,
        last_used: Option<String>,
        added: String,
        new_secret: String,
    },
}

impl From<&NotCaching> for Attention {
    fn from(n: &NotCaching) -> Attention {
        Attention::NotCaching {
            client_id: n.client_id.clone(),
            client_name: n.client_name.clone(),
            tokens: thousands(n.last_24h),
            needed: thousands(n.needed),
            lifetime: span(n.lifetime),
        }
    }
}

impl From<&OverQuota> for Attention {
    fn from(o: &OverQuota) -> Attention {
        Attention::OverQuota {
            client_id: o.client_id.clone(),
            client_name: o.client_name.clone(),
            used: thousands(o.used),
            tokens: thousands(u64::from(o.quota.tokens)),
            per: o.quota.per.as_str(),
            enforced: o.quota.mode == QuotaMode::Enforce,
        }
    }
}

impl From<&IdleSecret> for Attention {
    fn from(i: &IdleSecret) -> Attention {
        let used = |t: Option<UnixTime>| t.map(UnixTime::to_rfc3339);
        if i.rotation_unfinished() {
            Attention::RotationUnfinished {
                client_id: i.client_id.clone(),
                client_name: i.client_name.clone(),
                new_secret: i.idle.secret_id.clone(),
                added: i.idle.created_at.to_rfc3339(),
                old_secret: i.used.secret_id.clone(),
                old_used: used(i.used.last_used_at).unwrap_or_default(),
            }
        } else {
            Attention::OldSecretUnused {
                client_id: i.client_id.clone(),
                client_name: i.client_name.clone(),
                old_secret: i.idle.secret_id.clone(),
                last_used: used(i.idle.last_used_at),
                added: i.idle.created_at.to_rfc3339(),
                new_secret: i.used.secret_id.clone(),
            }
        }
    }
}

pub struct Expiring {
    pub client_id: String,
    pub client_name: String,
    pub secret_id: String,
    pub expires: String,
    pub within: String,
}

pub struct KeyRow {
    pub algorithm: &'static str,
    pub kid: String,
    pub since: String,
    pub age: String,
    pub next: String,
    pub next_in: String,
    pub announced: bool,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
pub struct DashboardPage<'a> {
    pub layout: Layout,
    pub name: &'a str,
    pub clients: String,
    pub apis: String,
    pub issued: String,
    pub refused: String,
    /// Error code and count, most first.
    pub refused_by_code: Vec<(&'static str, String)>,
    pub attention: Vec<Attention>,
    pub expiring: Vec<Expiring>,
    pub expiring_days: i64,
    pub keys: Vec<KeyRow>,
    pub caching_rule: String,
    pub idle_rule: String,
}

pub async fn show(State(state): State<AppState>, Active(person): Active) -> Response {
    let now = state.tollgate.now();
    let board = match state.tollgate.dashboard(now).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "console: the dashboard cannot be read");
            return Page::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again shortly",
                "The dashboard cannot read the database right now.",
            )
            .into_response();
        }
    };
    Page::ok(&page(
        Layout::at(&person, Section::Dashboard),
        &person.admin.display_name,
        &board,
        now,
    ))
    .into_response()
}

fn page<'a>(layout: Layout, name: &'a str, board: &Dashboard, now: UnixTime) -> DashboardPage<'a> {
    let refused: u64 = board.refused_24h.iter().map(|(_, n)| n).sum();
    let mut attention: Vec<Attention> = board.over_quota.iter().map(Attention::from).collect();
    attention.extend(board.not_caching.iter().map(Attention::from));
    attention.extend(board.idle_secrets.iter().map(Attention::from));
    DashboardPage {
        layout,
        name,
        clients: thousands(board.clients as u64),
        apis: thousands(board.apis as u64),
        issued: thousands(board.issued_24h),
        refused: thousands(refused),
        refused_by_code: board
            .refused_24h
            .iter()
            .map(|(r, n)| (r.as_str(), thousands(*n)))
            .collect(),
        attention,
        expiring: board
            .expiring
            .iter()
            .map(|e| Expiring {
                client_id: e.client_id.clone(),
                client_name: e.client_name.clone(),
                secret_id: e.secret_id.clone(),
                expires: e.expires_at.to_rfc3339(),
                within: span(e.expires_at.0.abs_diff(now.0)),
            })
            .collect(),
        expiring_days: EXPIRING_SOON_SECS / 86_400,
        keys: board
            .keys
            .iter()
            .map(|k| KeyRow {
                algorithm: k.algorithm.as_str(),
                kid: k.kid.clone(),
                since: k.signing_since.to_rfc3339(),
                age: span(now.0.abs_diff(k.signing_since.0)),
                next: k.next_rotation.to_rfc3339(),
                next_in: if k.next_rotation <= now {
                    "due now".to_owned()
                } else {
                    format!("in {}", span(k.next_rotation.0.abs_diff(now.0)))
                },
                announced: k.successor_announced,
            })
            .collect(),
        caching_rule: caching_rule(),
        idle_rule: idle_rule(),
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration in the largest unit that reads well, rounded to the nearest: "45 seconds",
/// "5 minutes", "3 hours", "12 days" (2 days 23 hours 59 minutes is "3 days").
pub fn span(secs: u64) -> String {
    let nearest = |unit: u64| (secs + unit / 2) / unit;
    let (n, unit) = match secs {
        0..60 => (secs, "second"),
        60..3_600 => (nearest(60), "minute"),
        3_600..172_800 => (nearest(3_600), "hour"),
        _ => (nearest(86_400), "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_durations_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(span(1), "1 second");
        assert_eq!(span(300), "5 minutes");
        assert_eq!(span(3_600), "1 hour");
        assert_eq!(span(86_400), "24 hours");
        assert_eq!(span(90 * 86_400), "90 days");
        assert_eq!(span(3 * 86_400 - 5), "3 days");
        assert_eq!(span(2 * 86_400 + 3_600), "2 days");
    }

    #[test]
    fn the_rules_are_one_sentence_each() {
        for rule in [caching_rule(), idle_rule()] {
            assert_eq!(rule.matches(". ").count(), 0, "{rule}");
            assert!(rule.ends_with('.'));
        }
        assert!(caching_rule().contains("10 times"));
        assert!(idle_rule().contains("14 days"));
    }
}
