//! What the client's page shows, as text ready for the template (dates in RFC 3339 UTC).

use std::collections::VecDeque;

use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::audit::AuditEvent;
use crate::domain::catalogue::Catalogue;
use crate::domain::client::{Client, ClientId, SecretInfo};
use crate::domain::quota::QuotaMode;
use crate::service::Tollgate;
use crate::store::StoreError;

/// The client's header and settings.
pub struct ClientView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created: String,
    pub updated: String,
    /// "3600 seconds" or "server default (3600 seconds)".
    pub lifetime: String,
    pub algorithm: String,
    /// The algorithms a client may choose: the server's active ones, the default first.
    pub algorithms: Vec<&'static str>,
    pub default_algorithm: &'static str,
    pub default_lifetime: u64,
    pub tenants: Vec<String>,
    /// The claims as indented JSON.
    pub claims: Option<String>,
    pub scopes_locked: bool,
    pub scopes: Vec<String>,
    /// "1000 tokens per hour, enforced".
    pub quota: Option<String>,
}

impl ClientView {
    pub fn new(client: &Client, default_lifetime: u64, active: &[Algorithm]) -> ClientView {
        let mut algorithms: Vec<&'static str> = active.iter().map(|a| a.as_str()).collect();
        if let Some(own) = client.signing_algorithm
            && !algorithms.contains(&own.as_str())
        {
            algorithms.push(own.as_str());
        }
        let default_algorithm = active.first().map_or("", |a| a.as_str());
        ClientView {
            id: client.id.as_str().to_owned(),
            name: client.name.as_str().to_owned(),
            description: client.description.as_str().to_owned(),
            created: client.created_at.to_rfc3339(),
            updated: client.updated_at.to_rfc3339(),
            lifetime: match client.access_token_lifetime {
                Some(l) => format!("{l} seconds"),
                None => {
                    format!("Default ({default_lifetime} seconds, unless its API sets one)")
                }
            },
            algorithm: match client.signing_algorithm {
                Some(a) => a.as_str().to_owned(),
                None => format!("Default ({default_algorithm}, unless its API sets one)"),
            },
            algorithms,
            default_algorithm,
            default_lifetime,
            tenants: client
                .tenants
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            claims: client.claims.as_ref().map(|c| pretty(&c.to_value())),
            scopes_locked: client.scopes_locked,
            scopes: client.scopes.to_vec(),
            quota: client.quota.map(|q| {
                let mode = match q.mode {
                    QuotaMode::Enforce => "enforced: refused beyond it",
                    QuotaMode::Monitor => "monitored: flagged beyond it",
                };
                format!("{} tokens per {}, {mode}", q.tokens, q.per.as_str())
            }),
        }
    }
}

/// Indented JSON, for reading and editing.
pub fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// One of the client's secrets, in the table.
pub struct SecretRow {
    pub id: String,
    pub created: String,
    pub expires: Option<String>,
    pub last_used: Option<String>,
    /// "active", "expired" or "disabled (reported leaked)".
    pub status: &'static str,
    pub live: bool,
}

impl SecretRow {
    pub fn new(s: &SecretInfo, now: UnixTime) -> SecretRow {
        SecretRow {
            id: s.id.as_str().to_owned(),
            created: s.created_at.to_rfc3339(),
            expires: s.expires_at.map(UnixTime::to_rfc3339),
            last_used: s.last_used_at.map(UnixTime::to_rfc3339),
            status: if s.disabled_at.is_some() {
                "disabled (reported leaked)"
            } else if s.is_live(now) {
                "active"
            } else {
                "expired"
            },
            live: s.is_live(now),
        }
    }
}

/// One API of the catalogue with its permissions, those the client holds (or the form has)
/// ticked.
pub struct PermissionGroup {
    pub name: String,
    pub identifier: String,
    pub permissions: Vec<PermissionRow>,
}

pub struct PermissionRow {
    /// A unique element id for the checkbox.
    pub key: String,
    pub value: String,
    pub description: String,
    /// The client holds it now.
    pub held: bool,
    /// Ticked in the form (as held, or as typed in a form sent back with errors).
    pub ticked: bool,
}

/// The catalogue's APIs with their permissions, and the scopes the client holds that no API
/// publishes any more.
pub fn permission_groups(
    catalogue: &Catalogue,
    client: &Client,
    ticked: &[String],
) -> (Vec<PermissionGroup>, Vec<String>) {
    let mut n = 0;
    let groups = catalogue
        .apis()
        .iter()
        .map(|api| PermissionGroup {
            name: api.name.as_str().to_owned(),
            identifier: api.identifier.as_str().to_owned(),
            permissions: api
                .all_permissions()
                .into_iter()
                .map(|p| {
                    n += 1;
                    PermissionRow {
                        key: format!("scope-{n}"),
                        held: client.scopes.contains(p.value.as_str()),
                        ticked: ticked.iter().any(|t| t == p.value.as_str()),
                        value: p.value.as_str().to_owned(),
                        description: p.description,
                    }
                })
                .collect(),
        })
        .collect();
    let orphans = client
        .scopes
        .iter()
        .filter(|s| catalogue.api_of(s.as_str()).is_none())
        .map(|s| s.as_str().to_owned())
        .collect();
    (groups, orphans)
}

/// One event of the client's audit trail.
pub struct EventRow {
    pub at: String,
    pub actor: String,
    pub action: &'static str,
    pub secret: Option<String>,
    pub detail: String,
}

impl From<AuditEvent> for EventRow {
    fn from(e: AuditEvent) -> EventRow {
        EventRow {
            at: e.at.to_rfc3339(),
            actor: e.actor,
            action: e.action.as_str(),
            secret: e.secret_id,
            detail: e.detail,
        }
    }
}

/// Audit events read per query while looking for the newest.
const EVENT_PAGE: u32 = 500;

/// The client's newest `limit` audit events, newest first, and whether there are older ones.
/// The store lists a client's events oldest first (by its index on client and id), so this
/// reads them forward and keeps the last `limit`: a client's trail holds administrators'
/// actions only, never its token requests, so it stays short.
pub async fn latest_events(
    tollgate: &Tollgate,
    client: &ClientId,
    limit: usize,
) -> Result<(Vec<EventRow>, bool), StoreError> {
    let mut newest: VecDeque<AuditEvent> = VecDeque::with_capacity(limit + 1);
    let mut more = false;
    let mut after = 0;
    loop {
        let page = tollgate
            .audit_events(after, EVENT_PAGE, Some(client.as_str()))
            .await?;
        let full = page.len() == EVENT_PAGE as usize;
        if let Some(last) = page.last() {
            after = last.id;
        }
        for event in page {
            newest.push_back(event);
            if newest.len() > limit {
                newest.pop_front();
                more = true;
            }
        }
        if !full {
            break;
        }
    }
    Ok((newest.into_iter().rev().map(EventRow::from).collect(), more))
}
