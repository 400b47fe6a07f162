//! Rows to domain values, written once for both databases: the two schemas keep the same
//! column names, nullability and type families (`tests/it/schema.rs` applies both migration
//! directories and compares the columns).

use std::str::FromStr;

use sqlx::Row;
use zeroize::Zeroizing;

use super::{SecretOwner, StoreError, StoredKey};
use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::api::{Api, ApiId, ApiIdentifier, Permission};
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::claims::StaticClaims;
use crate::domain::client::{Client, ClientId, ClientName, Description, SecretId, SecretInfo};
use crate::domain::grant::{Tenant, parse_tenants};
use crate::domain::quota::Quota;
use crate::domain::revocation::{Revocation, RevocationEntry};
use crate::domain::scope::ScopeSet;
use crate::domain::secret::SecretHash;

/// The columns a client query selects, joined with its secrets (`c` and `s`).
pub const CLIENT_COLUMNS: &str = "c.client_id, c.name, c.description, c.scopes, \
    c.access_token_lifetime, c.signing_algorithm, c.tenants, c.claims, c.scopes_locked, \
    c.quota_tokens, c.quota_per, c.quota_mode, c.created_at, c.updated_at, s.secret_id, \
    s.secret_hash, s.created_at AS s_created_at, s.expires_at, s.last_used_at, s.disabled_at";

/// Typed column access, the same for a row of either database.
pub trait Columns {
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>, sqlx::Error>;
    fn opt_bytes(&self, column: &str) -> Result<Option<Vec<u8>>, sqlx::Error>;
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
}

macro_rules! columns {
    ($row:ty) => {
        impl Columns for $row {
            fn text(&self, column: &str) -> Result<String, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(column)
            }
            fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(column)
            }
            fn bytes(&self, column: &str) -> Result<Vec<u8>, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_bytes(&self, column: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
                self.try_get(column)
            }
            fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
                self.try_get(column)
            }
        }
    };
}

columns!(sqlx::sqlite::SqliteRow);
columns!(sqlx::postgres::PgRow);

/// Folds client rows left-joined with their secrets (ordered by client) into clients.
pub fn clients<R: Columns>(rows: Vec<R>) -> Result<Vec<Client>, StoreError> {
    let mut out: Vec<Client> = Vec::new();
    for row in rows {
        let id = row.text("client_id")?;
        if out.last().is_none_or(|c| c.id.as_str() != id) {
            out.push(client(&row, &id)?);
        }
        let secret_id = row.opt_text("secret_id")?;
        if let (Some(secret_id), Some(client)) = (secret_id, out.last_mut()) {
            let hash = row.bytes("secret_hash")?;
            client.secrets.push(SecretInfo {
                id: SecretId::from_stored(secret_id),
                hash: SecretHash::from_slice(&hash)
                    .ok_or_else(|| StoreError::Corrupt(format!("secret hash of client {id}")))?,
                created_at: UnixTime(row.int("s_created_at")?),
                expires_at: row.opt_int("expires_at")?.map(UnixTime),
                last_used_at: row.opt_int("last_used_at")?.map(UnixTime),
                disabled_at: row.opt_int("disabled_at")?.map(UnixTime),
            });
        }
    }
    Ok(out)
}

fn client<R: Columns>(row: &R, id: &str) -> Result<Client, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("{what} of client {id}"));
    let name = row.text("name")?;
    let description = row.text("description")?;
    let scopes = row.text("scopes")?;
    let lifetime = row.opt_int("access_token_lifetime")?;
    let alg = row.opt_text("signing_algorithm")?;
    let tenants = row.text("tenants")?;
    let claims = row.opt_text("claims")?;
    Ok(Client {
        id: ClientId::parse(id).map_err(|_| corrupt("id"))?,
        name: ClientName::parse(&name).map_err(|_| corrupt("name"))?,
        description: Description::parse(&description).map_err(|_| corrupt("description"))?,
        scopes: if scopes.is_empty() {
            ScopeSet::default()
        } else {
            ScopeSet::parse_delimited(&scopes).map_err(|_| corrupt("scopes"))?
        },
        access_token_lifetime: lifetime.map(|l| u64::try_from(l).unwrap_or(0)),
        signing_algorithm: alg
            .map(|a| Algorithm::from_str(&a).map_err(|_| corrupt("signing algorithm")))
            .transpose()?,
        tenants: parse_tenants(
            &tenants
                .split(' ')
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>(),
        )
        .map_err(|_| corrupt("tenants"))?,
        claims: claims
            .map(|c| StaticClaims::from_stored(&c).map_err(|_| corrupt("claims")))
            .transpose()?
            .flatten(),
        scopes_locked: row.flag("scopes_locked")?,
        quota: quota(row).map_err(|_| corrupt("quota"))?,
        secrets: Vec::new(),
        created_at: UnixTime(row.int("created_at")?),
        updated_at: UnixTime(row.int("updated_at")?),
    })
}

/// A client's quota: three columns, all set or all NULL.
fn quota<R: Columns>(row: &R) -> Result<Option<Quota>, StoreError> {
    let tokens = row.opt_int("quota_tokens")?;
    let per = row.opt_text("quota_per")?;
    let mode = row.opt_text("quota_mode")?;
    match (tokens, per, mode) {
        (None, None, None) => Ok(None),
        (Some(t), Some(p), Some(m)) => Quota::parse(t, &p, &m)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(e.message)),
        _ => Err(StoreError::Corrupt("partial quota".into())),
    }
}

/// A client's quota as the databases store it: tokens, per, mode.
pub fn quota_params(client: &Client) -> (Option<i64>, Option<&'static str>, Option<&'static str>) {
    client.quota.map_or((None, None, None), |q| {
        (
            Some(i64::from(q.tokens)),
            Some(q.per.as_str()),
            Some(q.mode.as_str()),
        )
    })
}

/// A client's token lifetime as the databases store it.
pub fn lifetime_param(client: &Client) -> Option<i64> {
    client
        .access_token_lifetime
        .map(|l| i64::try_from(l).unwrap_or(i64::MAX))
}

/// A client's tenants as the databases store them: space-delimited.
pub fn tenants_param(client: &Client) -> String {
    client
        .tenants
        .iter()
        .map(Tenant::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The columns an API query selects, joined with its permissions (`a` and `p`).
pub const API_COLUMNS: &str = "a.api_id, a.identifier, a.name, a.description, \
    a.access_token_lifetime, a.signing_algorithm, a.created_at, a.updated_at, \
    p.value, p.description AS p_description";

/// Folds API rows left-joined with their permissions (ordered by API, then position).
pub fn apis<R: Columns>(rows: Vec<R>) -> Result<Vec<Api>, StoreError> {
    let mut out: Vec<Api> = Vec::new();
    for row in rows {
        let id = row.text("api_id")?;
        let corrupt = |what: &str| StoreError::Corrupt(format!("{what} of API {id}"));
        if out.last().is_none_or(|a| a.id.as_str() != id) {
            let alg = row.opt_text("signing_algorithm")?;
            out.push(Api {
                id: ApiId::parse(&id).map_err(|_| corrupt("id"))?,
                identifier: ApiIdentifier::parse(&row.text("identifier")?)
                    .map_err(|_| corrupt("identifier"))?,
                name: ClientName::parse(&row.text("name")?).map_err(|_| corrupt("name"))?,
                description: Description::parse(&row.text("description")?)
                    .map_err(|_| corrupt("description"))?,
                permissions: Vec::new(),
                access_token_lifetime: row
                    .opt_int("access_token_lifetime")?
                    .map(|l| u64::try_from(l).unwrap_or(0)),
                signing_algorithm: alg
                    .map(|a| Algorithm::from_str(&a).map_err(|_| corrupt("signing algorithm")))
                    .transpose()?,
                created_at: UnixTime(row.int("created_at")?),
                updated_at: UnixTime(row.int("updated_at")?),
            });
        }
        if let (Some(value), Some(api)) = (row.opt_text("value")?, out.last_mut()) {
            let description = row.opt_text("p_description")?.unwrap_or_default();
            api.permissions.push(
                Permission::parse(&value, &description, "permission")
                    .map_err(|_| corrupt("permission"))?,
            );
        }
    }
    Ok(out)
}

/// An API's token lifetime as the databases store it.
pub fn api_lifetime_param(api: &Api) -> Option<i64> {
    api.access_token_lifetime
        .map(|l| i64::try_from(l).unwrap_or(i64::MAX))
}

pub fn signing_key<R: Columns>(row: &R) -> Result<StoredKey, StoreError> {
    let kid = row.text("kid")?;
    let alg = row.text("algorithm")?;
    Ok(StoredKey {
        algorithm: Algorithm::from_str(&alg)
            .map_err(|_| StoreError::Corrupt(format!("algorithm `{alg}` of key {kid}")))?,
        kid,
        private_key: Zeroizing::new(row.bytes("private_key")?),
        created_at: UnixTime(row.int("created_at")?),
        activates_at: UnixTime(row.int("activates_at")?),
        seq: row.int("seq")?,
    })
}

pub fn secret_owner<R: Columns>(row: &R) -> Result<SecretOwner, StoreError> {
    let id = row.text("client_id")?;
    Ok(SecretOwner {
        client_id: ClientId::parse(&id)
            .map_err(|_| StoreError::Corrupt(format!("client id {id}")))?,
        client_name: row.text("name")?,
        secret_id: SecretId::from_stored(row.text("secret_id")?),
        disabled_at: row.opt_int("disabled_at")?.map(UnixTime),
    })
}

/// `(client id, name)` of a client.
pub fn client_name<R: Columns>(row: &R) -> Result<(ClientId, String), StoreError> {
    let id = row.text("client_id")?;
    Ok((
        ClientId::parse(&id).map_err(|_| StoreError::Corrupt(format!("client id {id:?}")))?,
        row.text("name")?,
    ))
}

/// `(client id, secret id, expiry)` of a secret whose expiry is being recorded.
pub fn expired_secret<R: Columns>(row: &R) -> Result<(String, String, UnixTime), StoreError> {
    Ok((
        row.text("client_id")?,
        row.text("secret_id")?,
        UnixTime(row.int("expires_at")?),
    ))
}

pub fn audit_event<R: Columns>(row: &R) -> Result<AuditEvent, StoreError> {
    let action = row.text("action")?;
    Ok(AuditEvent {
        id: row.int("id")?,
        at: UnixTime(row.int("at")?),
        actor: row.text("actor")?,
        action: AuditAction::parse(&action)
            .ok_or_else(|| StoreError::Corrupt(format!("audit action {action}")))?,
        client_id: row.opt_text("client_id")?,
        secret_id: row.opt_text("secret_id")?,
        kid: row.opt_text("kid")?,
        api_id: row.opt_text("api_id")?,
        detail: row.text("detail")?,
    })
}

pub fn revocation<R: Columns>(row: &R) -> Result<RevocationEntry, StoreError> {
    let cursor = row.int("cursor")?;
    let client_id = row.text("client_id")?;
    let jti = row.opt_text("jti")?;
    let exp = row.opt_int("exp")?;
    let issued_before = row.opt_int("issued_before")?;
    let revocation = match (jti, exp, issued_before) {
        (Some(jti), Some(exp), _) => Revocation::Token {
            jti,
            client_id,
            exp: UnixTime(exp),
        },
        (None, _, Some(before)) => Revocation::Client {
            client_id,
            issued_before: UnixTime(before),
        },
        _ => return Err(StoreError::Corrupt(format!("revocation {cursor}"))),
    };
    Ok(RevocationEntry { cursor, revocation })
}
