//! [`crate::store::usage::UsageStore`] on SQLite: the SQL shared with PostgreSQL.

use super::{SqliteStore, begin_write};
use crate::clock::UnixTime;
use crate::store::StoreError;

crate::store::usage::usage_store!(SqliteStore, sqlx::Sqlite, begin_write);

#[cfg(test)]
mod tests {
    use crate::clock::UnixTime;
    use crate::domain::client::{Client, ClientId, ClientName, Description, SecretId, SecretInfo};
    use crate::domain::scope::ScopeSet;
    use crate::domain::secret::SecretHash;
    use crate::domain::usage::{ClientUsage, Hour, Outcome, Refusal, UsageCount};
    use crate::store::usage::UsageStore;
    use crate::store::{SqliteStore, Store};

    fn count(hour: Hour, client: Option<&str>, outcome: Outcome, n: u64) -> UsageCount {
        UsageCount {
            hour,
            client_id: client.map(str::to_owned),
            outcome,
            count: n,
        }
    }

    fn secret(n: u8, created: i64, used: Option<i64>, expires: Option<i64>) -> SecretInfo {
        SecretInfo {
            id: SecretId::from_stored(format!("sec_{n}")),
            hash: SecretHash([n; 32]),
            created_at: UnixTime(created),
            expires_at: expires.map(UnixTime),
            last_used_at: used.map(UnixTime),
            disabled_at: None,
        }
    }

    fn client(id: &str, secrets: Vec<SecretInfo>) -> Client {
        Client {
            id: ClientId::parse(id).unwrap(),
            name: ClientName::parse(&format!("name of {id}")).unwrap(),
            description: Description::default(),
            scopes: ScopeSet::default(),
            access_token_lifetime: None,
            signing_algorithm: None,
            tenants: Vec::new(),
            claims: None,
            scopes_locked: false,
            quota: None,
            secrets,
            created_at: UnixTime(0),
            updated_at: UnixTime(0),
        }
    }

    #[tokio::test]
    async fn counts_add_up_and_are_read_by_window_and_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let now = Hour(500_000);
        let issued = Outcome::Issued;
        let bad = Outcome::Refused(Refusal::InvalidClient);
        // Two nodes write the same hour: the counts add up.
        for _ in 0..2 {
            store
                .add_usage(&[
                    count(now, Some("a"), issued, 30),
                    count(now, None, bad, 2),
                    count(now.minus(30), Some("a"), issued, 5),
                    count(now.minus(100), Some("a"), issued, 7),
                    count(now.minus(800), Some("a"), issued, 1000),
                    count(now, Some("b"), issued, 3),
                    count(now, Some("b"), bad, 1),
                ])
                .await
                .unwrap();
        }
        let mut totals = store.usage_by_outcome(now.day_start()).await.unwrap();
        totals.sort();
        assert_eq!(totals, [(issued, 66), (bad, 6)]);
        let mut usage = store
            .clients_usage(&["a", "b", "c"], now.day_start(), now.kept_from())
            .await
            .unwrap();
        usage.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(
            usage,
            [
                (
                    "a".to_owned(),
                    ClientUsage {
                        last_24h: 60,
                        last_30d: 84,
                        active_hours_24h: 1
                    }
                ),
                (
                    "b".to_owned(),
                    ClientUsage {
                        last_24h: 6,
                        last_30d: 6,
                        active_hours_24h: 1
                    }
                ),
            ]
        );
        let busiest = store
            .busiest_clients(now.day_start(), 25, 10)
            .await
            .unwrap();
        assert_eq!(busiest.len(), 1, "b got too few: {busiest:?}");
        assert_eq!((busiest[0].0.as_str(), busiest[0].1.last_24h), ("a", 60));
        assert_eq!(store.prune_usage(now.kept_from()).await.unwrap(), 1);
        store.close().await;
    }

    #[tokio::test]
    async fn secrets_expiring_soon_and_idle_beside_a_used_one() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let day = 86_400;
        let now = 100 * day;
        let idle_since = UnixTime(now - 14 * day);
        // c1: a rotation started 20 days ago; the new secret was never used.
        store
            .insert_client(&client(
                "c1",
                vec![
                    secret(1, 0, Some(now - 60), None),
                    secret(2, now - 20 * day, None, Some(now + 3 * day)),
                ],
            ))
            .await
            .unwrap();
        // c2: the old secret fell silent 30 days ago; the new one is used.
        store
            .insert_client(&client(
                "c2",
                vec![
                    secret(3, 0, Some(now - 30 * day), None),
                    secret(4, now - 40 * day, Some(now - 5), None),
                ],
            ))
            .await
            .unwrap();
        // c3: two secrets in use, one expired long ago and one expiring in a month: nothing.
        store
            .insert_client(&client(
                "c3",
                vec![
                    secret(5, 0, Some(now - 5), Some(now + 30 * day)),
                    secret(6, 0, Some(now - 5), None),
                    secret(7, 0, None, Some(now - day)),
                ],
            ))
            .await
            .unwrap();
        let expiring = store
            .expiring_secrets(UnixTime(now), UnixTime(now + 14 * day), 10)
            .await
            .unwrap();
        let ids: Vec<&str> = expiring.iter().map(|e| e.secret_id.as_str()).collect();
        assert_eq!(ids, ["sec_2"]);
        assert_eq!(expiring[0].client_name, "name of c1");
        let idle = store
            .idle_secrets(UnixTime(now), idle_since, 10)
            .await
            .unwrap();
        let found: Vec<(&str, &str, &str, bool)> = idle
            .iter()
            .map(|i| {
                (
                    i.client_id.as_str(),
                    i.idle.secret_id.as_str(),
                    i.used.secret_id.as_str(),
                    i.rotation_unfinished(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("c1", "sec_2", "sec_1", true),
                ("c2", "sec_3", "sec_4", false)
            ]
        );
        store.close().await;
    }
}
