//! The audit trail's query, written once for both databases: the SQL uses `$n` parameters
//! (which SQLite reads too) and names only the conditions a filter sets, each of which has an
//! index (`migrations/*/0006_audit_filters.sql`); each store binds the arguments in order.

use crate::clock::UnixTime;
use crate::domain::audit::{AuditAction, AuditEvent};

/// Which events to read; `None` leaves a property free. Values are compared exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events about this client.
    pub client_id: Option<String>,
    /// Events about this API of the catalogue.
    pub api_id: Option<String>,
    /// Events of this actor (`admin:<email>`, an admin client's id, `tollgate`).
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    /// Events at or after this time.
    pub from: Option<UnixTime>,
    /// Events before this time.
    pub to: Option<UnixTime>,
}

/// Where a page of the trail starts, and which way it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditCursor {
    /// Events with a greater id, oldest first.
    After(i64),
    /// Events with a smaller id, newest first.
    Before(i64),
}

impl AuditCursor {
    /// The newest events first.
    pub const NEWEST: AuditCursor = AuditCursor::Before(i64::MAX);
}

/// An argument of the query, in the order of its `$n`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Arg<'a> {
    Int(i64),
    Text(&'a str),
}

pub(crate) const INSERT: &str = "INSERT INTO audit_events \
    (at, actor, action, client_id, secret_id, kid, api_id, detail) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";

/// The arguments of [`INSERT`], in order.
pub(crate) fn insert_args(e: &AuditEvent) -> Vec<Option<Arg<'_>>> {
    fn text(v: &Option<String>) -> Option<Arg<'_>> {
        v.as_deref().map(Arg::Text)
    }
    vec![
        Some(Arg::Int(e.at.0)),
        Some(Arg::Text(&e.actor)),
        Some(Arg::Text(e.action.as_str())),
        text(&e.client_id),
        text(&e.secret_id),
        text(&e.kid),
        text(&e.api_id),
        Some(Arg::Text(&e.detail)),
    ]
}

/// The SELECT for a page of events, with its arguments.
pub(crate) fn select(
    filter: &AuditFilter,
    cursor: AuditCursor,
    limit: u32,
) -> (String, Vec<Arg<'_>>) {
    let mut wanted: Vec<(&str, Arg<'_>)> = Vec::new();
    let order = match cursor {
        AuditCursor::After(id) => {
            wanted.push(("id >", Arg::Int(id)));
            "ASC"
        }
        AuditCursor::Before(id) => {
            wanted.push(("id <", Arg::Int(id)));
            "DESC"
        }
    };
    let text = [
        ("client_id =", filter.client_id.as_deref()),
        ("api_id =", filter.api_id.as_deref()),
        ("actor =", filter.actor.as_deref()),
        ("action =", filter.action.map(AuditAction::as_str)),
    ];
    wanted.extend(
        text.into_iter()
            .filter_map(|(sql, v)| v.map(|v| (sql, Arg::Text(v)))),
    );
    let times = [("at >=", filter.from), ("at <", filter.to)];
    wanted.extend(
        times
            .into_iter()
            .filter_map(|(sql, t)| t.map(|t| (sql, Arg::Int(t.0)))),
    );
    let conditions: Vec<String> = wanted
        .iter()
        .enumerate()
        .map(|(i, (sql, _))| format!("{sql} ${}", i + 1))
        .collect();
    let mut args: Vec<Arg<'_>> = wanted.into_iter().map(|(_, a)| a).collect();
    args.push(Arg::Int(i64::from(limit)));
    let sql = format!(
        "SELECT id, at, actor, action, client_id, secret_id, kid, api_id, detail \
         FROM audit_events WHERE {} ORDER BY id {order} LIMIT ${}",
        conditions.join(" AND "),
        args.len()
    );
    (sql, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_conditions_a_filter_sets_are_in_the_query() {
        let none = AuditFilter::default();
        let (sql, args) = select(&none, AuditCursor::After(7), 10);
        assert_eq!(
            sql,
            "SELECT id, at, actor, action, client_id, secret_id, kid, api_id, detail \
             FROM audit_events WHERE id > $1 ORDER BY id ASC LIMIT $2"
        );
        assert_eq!(args, [Arg::Int(7), Arg::Int(10)]);

        let filter = AuditFilter {
            client_id: Some("tgc_1".into()),
            api_id: Some("api_2".into()),
            actor: Some("admin:a@example.com".into()),
            action: Some(AuditAction::SecretAdded),
            from: Some(UnixTime(100)),
            to: Some(UnixTime(200)),
        };
        let (sql, args) = select(&filter, AuditCursor::NEWEST, 50);
        assert!(
            sql.ends_with(
                "WHERE id < $1 AND client_id = $2 AND api_id = $3 AND actor = $4 \
                 AND action = $5 AND at >= $6 AND at < $7 ORDER BY id DESC LIMIT $8"
            ),
            "{sql}"
        );
        assert_eq!(
            args,
            [
                Arg::Int(i64::MAX),
                Arg::Text("tgc_1"),
                Arg::Text("api_2"),
                Arg::Text("admin:a@example.com"),
                Arg::Text("secret.added"),
                Arg::Int(100),
                Arg::Int(200),
                Arg::Int(50),
            ]
        );
    }

    #[test]
    fn an_event_is_inserted_with_every_column() {
        let e = AuditEvent::new(UnixTime(5), "tollgate", AuditAction::ApiCreated)
            .api("api_1")
            .detail("d");
        let args = insert_args(&e);
        assert_eq!(args.len(), INSERT.matches('$').count());
        assert_eq!(args[6], Some(Arg::Text("api_1")));
        assert_eq!(args[3], None);
    }
}
