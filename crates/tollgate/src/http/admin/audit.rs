//! `/admin/v1/audit`: the audit trail, oldest first, with a cursor and filters (the
//! console's audit log accepts the same filters through [`AuditFilterParams`]).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Admin, AuditRead};
use super::extract::AdminQuery;
use super::problem::Problem;
use crate::clock::UnixTime;
use crate::domain::api::ApiId;
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::client::{ClientId, FieldError};
use crate::http::AppState;
use crate::store::{AuditCursor, AuditFilter};

/// The longest actor a filter takes (`admin:` and an email address, or a client id).
const MAX_ACTOR: usize = 320;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only events after this id (the `next_cursor` of the previous page).
    pub cursor: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Only events about this client.
    pub client_id: Option<String>,
    /// Only events about this API of the catalogue.
    pub api_id: Option<String>,
    /// Only events of this actor: `admin:<email>` for a person, an admin client's id, or
    /// `tollgate` for the server itself.
    pub actor: Option<String>,
    /// Only events of this type (`action`), such as `secret.added`.
    pub action: Option<String>,
    /// Only events at or after this time: RFC 3339, or a date and time without an offset
    /// (`2030-03-17T09:30`), which is read as UTC.
    pub from: Option<String>,
    /// Only events before this time (the same forms as `from`).
    pub to: Option<String>,
}

/// The audit trail's filters as they come (from the admin API's query or the console's form);
/// empty values are left out. One parser, so the console and the API accept the same values.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuditFilterParams {
    pub client_id: Option<String>,
    pub api_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl AuditFilterParams {
    /// The filter, or every field that is not right.
    pub fn parse(&self) -> Result<AuditFilter, Vec<FieldError>> {
        let mut errors = Vec::new();
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let mut check = |r: Result<(), FieldError>| {
            if let Err(e) = r {
                errors.push(e);
            }
        };
        let client_id = given(&self.client_id);
        if let Some(v) = &client_id {
            check(ClientId::parse(v).map(|_| ()));
        }
        let api_id = given(&self.api_id);
        if let Some(v) = &api_id {
            check(ApiId::parse(v).map(|_| ()));
        }
        let actor = given(&self.actor);
        if let Some(v) = &actor
            && (v.chars().count() > MAX_ACTOR || v.chars().any(char::is_control))
        {
            check(Err(FieldError::new(
                "actor",
                format!("must be at most {MAX_ACTOR} characters, without control characters"),
            )));
        }
        let mut action = None;
        if let Some(v) = given(&self.action) {
            action = AuditAction::parse(&v);
            if action.is_none() {
                check(Err(FieldError::new(
                    "action",
                    "is not an event type (such as client.created or secret.added)",
                )));
            }
        }
        let mut time = |field: &str, v: &Option<String>| {
            let v = given(v)?;
            let t = parse_time(&v);
            if t.is_none() {
                check(Err(FieldError::new(
                    field,
                    "must be a date and time such as 2030-03-17T09:30 (UTC) or \
                     2030-03-17T09:30:00+01:00",
                )));
            }
            t
        };
        let from = time("from", &self.from);
        let to = time("to", &self.to);
        if let (Some(f), Some(t)) = (from, to)
            && t <= f
        {
            errors.push(FieldError::new("to", "must be later than from"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AuditFilter {
            client_id,
            api_id,
            actor,
            action,
            from,
            to,
        })
    }
}

/// RFC 3339, or the `YYYY-MM-DDTHH:MM[:SS]` of a form's `datetime-local` field read as UTC.
fn parse_time(s: &str) -> Option<UnixTime> {
    UnixTime::parse_rfc3339(s).or_else(|| {
        let plain = s.len() <= 19
            && s.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b':' | b'T'));
        if !plain {
            return None;
        }
        UnixTime::parse_rfc3339(&format!("{s}Z"))
            .or_else(|| UnixTime::parse_rfc3339(&format!("{s}:00Z")))
    })
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEventView {
    pub id: i64,
    pub at: String,
    /// Who acted: `admin:<email>` for a person, an admin client's id, `anonymous` for a
    /// failed sign-in to no account, or `tollgate` for the server itself.
    pub actor: String,
    /// The event type, such as `client.created`, `secret.added`, `key.rotated`,
    /// `api.updated`, `admin.invited` or `admin.signed_in`.
    pub action: String,
    pub client_id: Option<String>,
    pub secret_id: Option<String>,
    pub kid: Option<String>,
    /// The API of the catalogue the event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_id: Option<String>,
    pub detail: String,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> AuditEventView {
        AuditEventView {
            id: e.id,
            at: e.at.to_rfc3339(),
            actor: e.actor,
            action: e.action.as_str().to_owned(),
            client_id: e.client_id,
            secret_id: e.secret_id,
            kid: e.kid,
            api_id: e.api_id,
            detail: e.detail,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<i64>,
}

/// Which events to list, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Events after this id.
    pub after: i64,
    pub limit: u32,
    pub filter: AuditFilter,
}

impl TryFrom<AuditParams> for AuditQuery {
    type Error = Problem;

    fn try_from(p: AuditParams) -> Result<AuditQuery, Problem> {
        let limit = p.limit.unwrap_or(100);
        let filter = AuditFilterParams {
            client_id: p.client_id,
            api_id: p.api_id,
            actor: p.actor,
            action: p.action,
            from: p.from,
            to: p.to,
        }
        .parse();
        let mut errors = filter.as_ref().err().cloned().unwrap_or_default();
        if !(1..=500).contains(&limit) {
            errors.insert(0, FieldError::new("limit", "must be between 1 and 500"));
        }
        match filter {
            Ok(filter) if errors.is_empty() => Ok(AuditQuery {
                after: p.cursor.unwrap_or(0),
                limit,
                filter,
            }),
            _ => Err(Problem::validation(errors)),
        }
    }
}

#[utoipa::path(get, path = "/audit", tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "Audit events, oldest first", body = AuditPage),
        (status = 400, description = "Invalid filters", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:audit:read"]), ("bearer" = ["tollgate:admin"])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin<AuditRead>,
    AdminQuery(params): AdminQuery<AuditParams>,
) -> Result<Json<AuditPage>, Problem> {
    let q = AuditQuery::try_from(params)?;
    let mut events = state
        .tollgate
        .find_audit_events(&q.filter, AuditCursor::After(q.after), q.limit + 1)
        .await
        .map_err(crate::service::ClientError::Store)?;
    let more = events.len() > q.limit as usize;
    events.truncate(q.limit as usize);
    let next_cursor = more.then(|| events.last().map(|e| e.id)).flatten();
    Ok(Json(AuditPage {
        events: events.into_iter().map(AuditEventView::from).collect(),
        next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> AuditFilterParams {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        };
        AuditFilterParams {
            client_id: get("client_id"),
            api_id: get("api_id"),
            actor: get("actor"),
            action: get("action"),
            from: get("from"),
            to: get("to"),
        }
    }

    fn fields(p: AuditFilterParams) -> Vec<String> {
        p.parse()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn filters_are_parsed_and_empty_ones_left_out() {
        let f = params(&[
            ("client_id", " tgc_1 "),
            ("api_id", ""),
            ("actor", "admin:a@example.com"),
            ("action", "secret.added"),
            ("from", "2030-03-17T09:30"),
            ("to", "2030-03-17T11:00:00+01:00"),
        ])
        .parse()
        .unwrap();
        assert_eq!(f.client_id.as_deref(), Some("tgc_1"));
        assert_eq!(f.api_id, None);
        assert_eq!(f.action, Some(AuditAction::SecretAdded));
        assert_eq!(f.from, UnixTime::parse_rfc3339("2030-03-17T09:30:00Z"));
        assert_eq!(f.to, UnixTime::parse_rfc3339("2030-03-17T10:00:00Z"));
        assert_eq!(
            params(&[("from", "2030-03-17T09:30:15")])
                .parse()
                .unwrap()
                .from,
            UnixTime::parse_rfc3339("2030-03-17T09:30:15Z")
        );
        assert_eq!(params(&[]).parse().unwrap(), AuditFilter::default());
    }

    #[test]
    fn every_bad_filter_is_named() {
        let bad = params(&[
            ("client_id", "no spaces"),
            ("api_id", "tgc_1"),
            ("actor", &"x".repeat(321)),
            ("action", "client.exploded"),
            ("from", "yesterday"),
            ("to", "2030-13-01T00:00"),
        ]);
        assert_eq!(
            fields(bad),
            ["client_id", "api_id", "actor", "action", "from", "to"]
        );
        let backwards = params(&[("from", "2030-03-17T10:00"), ("to", "2030-03-17T09:00")]);
        assert_eq!(fields(backwards), ["to"]);
    }
}
