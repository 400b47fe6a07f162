//! How clients use Tollgate: token requests counted per client, hour and outcome, and their
//! secrets by expiry and last use (what the dashboard shows).
//!
//! The counts arrive from each node's write-behind and are added to what is stored (an
//! upsert that adds), so the nodes of a cluster sum up in one row per hour, client and
//! outcome. As in `admins.rs`, the SQL is the same for both databases and written once by
//! [`usage_store!`].

use async_trait::async_trait;

use super::StoreError;
use super::rows::Columns;
use crate::clock::UnixTime;
use crate::domain::usage::{
    ClientUsage, ExpiringSecret, Hour, IdleSecret, Outcome, SecretUse, UsageCount,
};

/// Rows written per statement: four parameters each, well below either database's limit.
pub(crate) const ROWS_PER_INSERT: usize = 500;

#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds `counts` to the stored counts, in one transaction. Callers merge counts of the
    /// same hour, client and outcome first.
    async fn add_usage(&self, counts: &[UsageCount]) -> Result<(), StoreError>;
    /// Requests since `since` (every client, and none), summed by outcome.
    async fn usage_by_outcome(&self, since: Hour) -> Result<Vec<(Outcome, u64)>, StoreError>;
    /// Tokens issued to each of `client_ids` since `day` and since `month` (clients without
    /// any are left out).
    async fn clients_usage(
        &self,
        client_ids: &[&str],
        day: Hour,
        month: Hour,
    ) -> Result<Vec<(String, ClientUsage)>, StoreError>;
    /// The clients that got at least `at_least` tokens since `day`, most first, with what
    /// they got since then (`last_30d` is left at zero).
    async fn busiest_clients(
        &self,
        day: Hour,
        at_least: u64,
        limit: u32,
    ) -> Result<Vec<(String, ClientUsage)>, StoreError>;
    /// Forgets the counts of hours before `before`; returns how many rows went.
    async fn prune_usage(&self, before: Hour) -> Result<u64, StoreError>;
    /// Live secrets expiring after `now` and at or before `until`, soonest first.
    async fn expiring_secrets(
        &self,
        now: UnixTime,
        until: UnixTime,
        limit: u32,
    ) -> Result<Vec<ExpiringSecret>, StoreError>;
    /// Live secrets not used since `idle_since` (or never, and created before it) beside a
    /// live secret of the same client used since, by client name.
    async fn idle_secrets(
        &self,
        now: UnixTime,
        idle_since: UnixTime,
        limit: u32,
    ) -> Result<Vec<IdleSecret>, StoreError>;
}

pub(crate) const ADD: &str = "INSERT INTO token_usage (hour_start, client_id, outcome, requests) ";
pub(crate) const ON_CONFLICT_ADD: &str = " ON CONFLICT (hour_start, client_id, outcome) \
    DO UPDATE SET requests = token_usage.requests + excluded.requests";

pub(crate) const BY_OUTCOME: &str = "SELECT outcome, CAST(SUM(requests) AS BIGINT) AS n \
    FROM token_usage WHERE hour_start >= $1 GROUP BY outcome";

/// The query of [`UsageStore::clients_usage`], in the pieces around its parameters: the
/// day's first hour (twice), the month's, then the client ids.
pub(crate) const CLIENTS_USAGE: [&str; 4] = [
    "SELECT client_id, CAST(SUM(CASE WHEN hour_start >= ",
    " THEN requests ELSE 0 END) AS BIGINT) AS day, CAST(SUM(requests) AS BIGINT) AS month, \
     CAST(SUM(CASE WHEN hour_start >= ",
    " THEN 1 ELSE 0 END) AS BIGINT) AS hours FROM token_usage \
     WHERE outcome = 'issued' AND hour_start >= ",
    " AND client_id IN (",
];

pub(crate) const BUSIEST: &str = "SELECT client_id, CAST(SUM(requests) AS BIGINT) AS day, \
    CAST(0 AS BIGINT) AS month, COUNT(*) AS hours FROM token_usage \
    WHERE outcome = 'issued' AND hour_start >= $1 AND client_id <> '' \
    GROUP BY client_id HAVING SUM(requests) >= $2 ORDER BY day DESC, client_id LIMIT $3";

pub(crate) const PRUNE: &str = "DELETE FROM token_usage WHERE hour_start < $1";

/// The secret `t` counts: neither disabled nor expired at `$1`.
fn live(t: &str) -> String {
    format!("{t}.disabled_at IS NULL AND ({t}.expires_at IS NULL OR {t}.expires_at > $1)")
}

pub(crate) fn expiring_sql() -> String {
    let live = live("s");
    format!(
        "SELECT s.client_id, c.name, s.secret_id, s.expires_at FROM client_secrets s \
         JOIN clients c ON c.client_id = s.client_id \
         WHERE {live} AND s.expires_at <= $2 \
         ORDER BY s.expires_at, s.secret_id LIMIT $3"
    )
}

pub(crate) fn idle_sql() -> String {
    let (s_live, u_live) = (live("s"), live("u"));
    format!(
        "SELECT s.client_id, c.name, s.secret_id, s.created_at, s.last_used_at, \
         u.secret_id AS used_id, u.created_at AS used_created_at, \
         u.last_used_at AS used_last_used_at \
         FROM client_secrets s JOIN clients c ON c.client_id = s.client_id \
         JOIN client_secrets u ON u.client_id = s.client_id AND u.secret_id <> s.secret_id \
         WHERE {s_live} AND {u_live} AND COALESCE(s.last_used_at, s.created_at) < $2 \
         AND u.last_used_at >= $2 \
         ORDER BY c.name, s.client_id, s.secret_id, u.last_used_at DESC LIMIT $3"
    )
}

/// What a count query row holds.
pub(crate) fn client_usage<R: Columns>(row: &R) -> Result<(String, ClientUsage), StoreError> {
    let n = |column: &str| -> Result<u64, StoreError> {
        Ok(u64::try_from(row.int(column)?).unwrap_or(0))
    };
    Ok((
        row.text("client_id")?,
        ClientUsage {
            last_24h: n("day")?,
            last_30d: n("month")?,
            active_hours_24h: u32::try_from(n("hours")?).unwrap_or(u32::MAX),
        },
    ))
}

pub(crate) fn outcome_total<R: Columns>(row: &R) -> Result<(Outcome, u64), StoreError> {
    let outcome = row.text("outcome")?;
    Ok((
        Outcome::parse(&outcome).ok_or_else(|| super::admins::corrupt("outcome", &outcome))?,
        u64::try_from(row.int("n")?).unwrap_or(0),
    ))
}

pub(crate) fn expiring<R: Columns>(row: &R) -> Result<ExpiringSecret, StoreError> {
    Ok(ExpiringSecret {
        client_id: row.text("client_id")?,
        client_name: row.text("name")?,
        secret_id: row.text("secret_id")?,
        expires_at: UnixTime(row.int("expires_at")?),
    })
}

/// Folds rows of [`idle_sql`] into one item per idle secret, with the secret beside it used
/// last.
pub(crate) fn idle<R: Columns>(rows: &[R]) -> Result<Vec<IdleSecret>, StoreError> {
    let mut out: Vec<IdleSecret> = Vec::new();
    for row in rows {
        let idle = SecretUse {
            secret_id: row.text("secret_id")?,
            created_at: UnixTime(row.int("created_at")?),
            last_used_at: row.opt_int("last_used_at")?.map(UnixTime),
        };
        if out
            .last()
            .is_some_and(|i| i.idle.secret_id == idle.secret_id)
        {
            continue;
        }
        out.push(IdleSecret {
            client_id: row.text("client_id")?,
            client_name: row.text("name")?,
            idle,
            used: SecretUse {
                secret_id: row.text("used_id")?,
                created_at: UnixTime(row.int("used_created_at")?),
                last_used_at: row.opt_int("used_last_used_at")?.map(UnixTime),
            },
        });
    }
    Ok(out)
}

/// The stored form of a count's client: the empty string for none (a key column is never
/// NULL).
pub(crate) fn client_key(count: &UsageCount) -> &str {
    count.client_id.as_deref().unwrap_or("")
}

/// Implements [`UsageStore`] for a store with a `pool` field, given its database and the
/// function that begins a write transaction.
macro_rules! usage_store {
    ($store:ty, $db:ty, $begin:path) => {
        #[async_trait::async_trait]
        impl $crate::store::usage::UsageStore for $store {
            async fn add_usage(
                &self,
                counts: &[$crate::domain::usage::UsageCount],
            ) -> Result<(), StoreError> {
                use $crate::store::usage as sql;
                if counts.is_empty() {
                    return Ok(());
                }
                let mut tx = $begin(&self.pool).await?;
                for chunk in counts.chunks(sql::ROWS_PER_INSERT) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(sql::ADD);
                    q.push_values(chunk, |mut row, c| {
                        row.push_bind(c.hour.start().0)
                            .push_bind(sql::client_key(c).to_owned())
                            .push_bind(c.outcome.as_str())
                            .push_bind(i64::try_from(c.count).unwrap_or(i64::MAX));
                    });
                    q.push(sql::ON_CONFLICT_ADD);
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn usage_by_outcome(
                &self,
                since: $crate::domain::usage::Hour,
            ) -> Result<Vec<($crate::domain::usage::Outcome, u64)>, StoreError> {
                let rows = sqlx::query($crate::store::usage::BY_OUTCOME)
                    .bind(since.start().0)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map($crate::store::usage::outcome_total)
                    .collect()
            }

            async fn clients_usage(
                &self,
                client_ids: &[&str],
                day: $crate::domain::usage::Hour,
                month: $crate::domain::usage::Hour,
            ) -> Result<Vec<(String, $crate::domain::usage::ClientUsage)>, StoreError> {
                if client_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let [head, day_again, month_at, ids_at] = $crate::store::usage::CLIENTS_USAGE;
                let mut q = sqlx::QueryBuilder::<$db>::new(head);
                q.push_bind(day.start().0)
                    .push(day_again)
                    .push_bind(day.start().0)
                    .push(month_at)
                    .push_bind(month.start().0)
                    .push(ids_at);
                let mut ids = q.separated(", ");
                for id in client_ids {
                    ids.push_bind(id.to_string());
                }
                q.push(") GROUP BY client_id");
                let rows = q.build().fetch_all(&self.pool).await?;
                rows.iter()
                    .map($crate::store::usage::client_usage)
                    .collect()
            }

            async fn busiest_clients(
                &self,
                day: $crate::domain::usage::Hour,
                at_least: u64,
                limit: u32,
            ) -> Result<Vec<(String, $crate::domain::usage::ClientUsage)>, StoreError> {
                let rows = sqlx::query($crate::store::usage::BUSIEST)
                    .bind(day.start().0)
                    .bind(i64::try_from(at_least).unwrap_or(i64::MAX))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map($crate::store::usage::client_usage)
                    .collect()
            }

            async fn prune_usage(
                &self,
                before: $crate::domain::usage::Hour,
            ) -> Result<u64, StoreError> {
                Ok(sqlx::query($crate::store::usage::PRUNE)
                    .bind(before.start().0)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn expiring_secrets(
                &self,
                now: UnixTime,
                until: UnixTime,
                limit: u32,
            ) -> Result<Vec<$crate::domain::usage::ExpiringSecret>, StoreError> {
                let rows = sqlx::query(sqlx::AssertSqlSafe($crate::store::usage::expiring_sql()))
                    .bind(now.0)
                    .bind(until.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map($crate::store::usage::expiring).collect()
            }

            async fn idle_secrets(
                &self,
                now: UnixTime,
                idle_since: UnixTime,
                limit: u32,
            ) -> Result<Vec<$crate::domain::usage::IdleSecret>, StoreError> {
                let rows = sqlx::query(sqlx::AssertSqlSafe($crate::store::usage::idle_sql()))
                    .bind(now.0)
                    .bind(idle_since.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                $crate::store::usage::idle(&rows)
            }
        }
    };
}

pub(super) use usage_store;
