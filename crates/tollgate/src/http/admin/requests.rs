//! What the admin API accepts about clients and secrets, and its conversion into domain types:
//! each `TryFrom` collects every bad field into one `validation_failed` problem. The CLI sends
//! the same types.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problem::Problem;
use crate::clock::UnixTime;
use crate::domain::algorithm::Algorithm;
use crate::domain::claims::StaticClaims;
use crate::domain::client::{
    ClientId, ClientName, ClientPatch, Description, FieldError, NewClient, parse_scopes,
    parse_token_lifetime,
};
use crate::domain::grant::parse_tenants;
use crate::domain::quota::Quota;
use crate::store::ListCursor;

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 200;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientRequest {
    /// Unique, 1 to 100 characters.
    #[schema(example = "User Provisioning")]
    pub name: String,
    #[serde(default)]
    #[schema(example = "Provisions users from Entra ID via SCIM")]
    pub description: String,
    /// Scope tokens per RFC 6749 §3.3.
    #[serde(default)]
    #[schema(example = json!(["enterprise:user"]))]
    pub scopes: Vec<String>,
    /// Seconds (60 to 86400); omitted means the server default.
    #[schema(minimum = 60, maximum = 86400)]
    pub access_token_lifetime: Option<u64>,
    /// One of the server's active algorithms; omitted means the server default.
    pub signing_algorithm: Option<String>,
    /// Tenant ids the client may get tokens for; one is always carried in `tenant`, several
    /// must be asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["acme"]))]
    pub tenants: Vec<String>,
    /// Claims merged into each of the client's tokens (at most 2 KiB; registered and
    /// Tollgate-owned claim names are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, example = json!({"org": "acme"}))]
    pub claims: Option<serde_json::Value>,
    /// `true` fixes the scopes for good; omitted means the server's `lock_client_scopes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_locked: Option<bool>,
    /// At most so many tokens per fixed UTC window; omitted or `null` means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaBody>,
}

/// A per-client token quota.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaBody {
    /// Tokens per window, 1 to 1,000,000,000.
    #[schema(example = 1000)]
    pub tokens: i64,
    /// `hour` (the current clock hour, UTC) or `day` (the current UTC day).
    #[schema(example = "hour")]
    pub per: String,
    /// `enforce` (the default): refused with 429 once used up, until the window ends;
    /// `monitor`: tokens are still issued, and going over is logged and flagged.
    #[serde(default = "QuotaBody::enforce")]
    #[schema(example = "enforce")]
    pub mode: String,
}

impl QuotaBody {
    fn enforce() -> String {
        "enforce".to_owned()
    }

    pub fn parse(&self) -> Result<Quota, FieldError> {
        Quota::parse(self.tokens, &self.per, &self.mode)
    }
}

impl From<&Quota> for QuotaBody {
    fn from(q: &Quota) -> QuotaBody {
        QuotaBody {
            tokens: i64::from(q.tokens),
            per: q.per.as_str().to_owned(),
            mode: q.mode.as_str().to_owned(),
        }
    }
}

// Fields left out (`None`) stay as they are; the doubly optional ones take `null` to go back
// to the server default, and are left out of what the CLI sends when `None`. (A doc comment
// here would become the schema's description in the OpenAPI document.)
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClientRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Seconds; `null` resets to the server default.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<u64>, minimum = 60, maximum = 86400)]
    pub access_token_lifetime: Option<Option<u64>>,
    /// `null` resets to the server default.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub signing_algorithm: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenants: Option<Vec<String>>,
    /// An object replaces the claims; `{}` or `null` removes them.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Object>)]
    pub claims: Option<Option<serde_json::Value>>,
    /// Only `true` once locked: a locked client stays locked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes_locked: Option<bool>,
    /// A quota replaces the client's; `null` removes it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<QuotaBody>)]
    pub quota: Option<Option<QuotaBody>>,
}

impl UpdateClientRequest {
    /// True when the request would change nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.scopes.is_none()
            && self.access_token_lifetime.is_none()
            && self.signing_algorithm.is_none()
            && self.tenants.is_none()
            && self.claims.is_none()
            && self.scopes_locked.is_none()
            && self.quota.is_none()
    }
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecretRequest {
    /// RFC 3339; omitted means the secret does not expire.
    pub expires_at: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (of the same search).
    pub cursor: Option<String>,
    /// Only clients whose name (without regard to case) or id contains this text.
    pub q: Option<String>,
}

impl TryFrom<CreateClientRequest> for NewClient {
    type Error = Problem;

    fn try_from(req: CreateClientRequest) -> Result<NewClient, Problem> {
        let mut errors = Vec::new();
        let name = collect(&mut errors, ClientName::parse(&req.name));
        let description = collect(&mut errors, Description::parse(&req.description));
        let scopes = collect(&mut errors, parse_scopes(&req.scopes));
        let lifetime = req
            .access_token_lifetime
            .map(|l| collect(&mut errors, parse_token_lifetime(l)));
        let signing_algorithm = req
            .signing_algorithm
            .map(|a| collect(&mut errors, parse_algorithm("signing_algorithm", &a)));
        let tenants = collect(&mut errors, parse_tenants(&req.tenants));
        let quota = req.quota.map(|q| collect(&mut errors, q.parse()));
        let claims = match &req.claims {
            None | Some(serde_json::Value::Null) => Some(None),
            Some(v) => collect(&mut errors, StaticClaims::parse(v)),
        };
        let (Some(name), Some(description), Some(scopes), Some(tenants), Some(claims), true) = (
            name,
            description,
            scopes,
            tenants,
            claims,
            errors.is_empty(),
        ) else {
            return Err(Problem::validation(errors));
        };
        Ok(NewClient {
            name,
            description,
            scopes,
            access_token_lifetime: lifetime.flatten(),
            signing_algorithm: signing_algorithm.flatten(),
            tenants,
            claims,
            scopes_locked: req.scopes_locked,
            quota: quota.flatten(),
        })
    }
}

impl TryFrom<UpdateClientRequest> for ClientPatch {
    type Error = Problem;

    fn try_from(req: UpdateClientRequest) -> Result<ClientPatch, Problem> {
        let mut errors = Vec::new();
        let patch = ClientPatch {
            name: req
                .name
                .and_then(|n| collect(&mut errors, ClientName::parse(&n))),
            description: req
                .description
                .and_then(|d| collect(&mut errors, Description::parse(&d))),
            scopes: req
                .scopes
                .and_then(|s| collect(&mut errors, parse_scopes(&s))),
            access_token_lifetime: match req.access_token_lifetime {
                None => None,
                Some(None) => Some(None),
                Some(Some(l)) => collect(&mut errors, parse_token_lifetime(l)).map(Some),
            },
            signing_algorithm: match req.signing_algorithm {
                None => None,
                Some(None) => Some(None),
                Some(Some(a)) => {
                    collect(&mut errors, parse_algorithm("signing_algorithm", &a)).map(Some)
                }
            },
            tenants: req
                .tenants
                .and_then(|t| collect(&mut errors, parse_tenants(&t))),
            claims: match req.claims {
                None => None,
                Some(None) => Some(None),
                Some(Some(v)) => collect(&mut errors, StaticClaims::parse(&v)),
            },
            scopes_locked: req.scopes_locked,
            quota: match req.quota {
                None => None,
                Some(None) => Some(None),
                Some(Some(q)) => collect(&mut errors, q.parse()).map(Some),
            },
        };
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(Problem::validation(errors))
        }
    }
}

/// A secret to add, validated.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewSecret {
    pub expires_at: Option<UnixTime>,
}

impl TryFrom<CreateSecretRequest> for NewSecret {
    type Error = Problem;

    fn try_from(req: CreateSecretRequest) -> Result<NewSecret, Problem> {
        let expires_at = req
            .expires_at
            .map(|e| {
                UnixTime::parse_rfc3339(&e).ok_or_else(|| {
                    Problem::validation(vec![FieldError::new(
                        "expires_at",
                        "must be an RFC 3339 timestamp such as 2030-01-31T12:00:00Z",
                    )])
                })
            })
            .transpose()?;
        Ok(NewSecret { expires_at })
    }
}

/// One page to list, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub cursor: Option<ListCursor>,
    pub limit: u32,
    /// Trimmed; `None` when empty.
    pub search: Option<String>,
}

/// Longest search text: longer than any name or id.
pub const MAX_SEARCH: usize = 128;

impl TryFrom<ListParams> for Page {
    type Error = Problem;

    fn try_from(params: ListParams) -> Result<Page, Problem> {
        let limit = params.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Problem::validation(vec![FieldError::new(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            )]));
        }
        let cursor = params
            .cursor
            .as_deref()
            .map(|c| {
                decode_cursor(c).ok_or_else(|| {
                    Problem::validation(vec![FieldError::new(
                        "cursor",
                        "is not a cursor this server returned",
                    )])
                })
            })
            .transpose()?;
        let search = params
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
        if search
            .as_ref()
            .is_some_and(|q| q.chars().count() > MAX_SEARCH)
        {
            return Err(Problem::validation(vec![FieldError::new(
                "q",
                format!("must be at most {MAX_SEARCH} characters"),
            )]));
        }
        Ok(Page {
            cursor,
            limit,
            search,
        })
    }
}

pub(super) fn collect<T>(errors: &mut Vec<FieldError>, r: Result<T, FieldError>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// An algorithm name as a request gives it, for the field `field`.
pub fn parse_algorithm(field: &str, value: &str) -> Result<Algorithm, FieldError> {
    Algorithm::from_str(value).map_err(|_| {
        FieldError::new(
            field,
            format!("`{value}` is not one of ES256, EdDSA, RS256"),
        )
    })
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(super) fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(de).map(Some)
}

pub fn encode_cursor(c: &ListCursor) -> String {
    B64.encode(format!("{}:{}", c.created_at.0, c.client_id))
}

fn decode_cursor(s: &str) -> Option<ListCursor> {
    let raw = String::from_utf8(B64.decode(s).ok()?).ok()?;
    let (t, id) = raw.split_once(':')?;
    Some(ListCursor {
        created_at: UnixTime(t.parse().ok()?),
        client_id: ClientId::parse(id).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip() {
        let c = ListCursor {
            created_at: UnixTime(1_700_000_000),
            client_id: ClientId::parse("tgc_abc").unwrap(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
        assert_eq!(decode_cursor("!!"), None);
        assert_eq!(decode_cursor(&B64.encode("x:tgc_abc")), None);
    }

    fn fields(p: Problem) -> Vec<String> {
        p.errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_create_request_names_every_bad_field() {
        let req = CreateClientRequest {
            name: " ".into(),
            description: String::new(),
            scopes: vec!["ok".into(), "not ok".into()],
            access_token_lifetime: Some(5),
            signing_algorithm: Some("HS256".into()),
            tenants: vec!["ok".into(), "not ok".into()],
            claims: Some(serde_json::json!({"aud": "x"})),
            scopes_locked: None,
            quota: None,
        };
        let err = NewClient::try_from(req).unwrap_err();
        assert_eq!(
            fields(err),
            [
                "name",
                "scopes[1]",
                "access_token_lifetime",
                "signing_algorithm",
                "tenants[1]",
                "claims.aud"
            ]
        );
    }

    #[test]
    fn an_update_request_keeps_null_apart_from_absent() {
        let req: UpdateClientRequest =
            serde_json::from_str(r#"{"access_token_lifetime": null}"#).unwrap();
        let patch = ClientPatch::try_from(req).unwrap();
        assert_eq!(patch.access_token_lifetime, Some(None));
        assert_eq!(patch.signing_algorithm, None);

        let reset = UpdateClientRequest {
            access_token_lifetime: Some(None),
            ..UpdateClientRequest::default()
        };
        assert!(!reset.is_empty());
        assert_eq!(
            serde_json::to_string(&reset).unwrap(),
            r#"{"access_token_lifetime":null}"#
        );
        assert!(UpdateClientRequest::default().is_empty());
    }

    #[test]
    fn a_page_needs_a_sane_limit_and_a_real_cursor() {
        let page = |limit, cursor: Option<&str>| {
            Page::try_from(ListParams {
                limit,
                cursor: cursor.map(str::to_owned),
                q: None,
            })
        };
        assert_eq!(page(None, None).unwrap().limit, DEFAULT_PAGE);
        let search = |q: &str| {
            Page::try_from(ListParams {
                limit: None,
                cursor: None,
                q: Some(q.to_owned()),
            })
        };
        assert_eq!(
            search("  exporter ").unwrap().search.as_deref(),
            Some("exporter")
        );
        assert_eq!(search("   ").unwrap().search, None);
        assert_eq!(fields(search(&"x".repeat(129)).unwrap_err()), ["q"]);
        assert_eq!(fields(page(Some(0), None).unwrap_err()), ["limit"]);
        assert_eq!(fields(page(Some(10), Some("!!")).unwrap_err()), ["cursor"]);
    }

    #[test]
    fn a_secret_expiry_must_be_rfc_3339() {
        let at = |e: &str| {
            NewSecret::try_from(CreateSecretRequest {
                expires_at: Some(e.into()),
            })
        };
        assert!(at("2030-01-31T12:00:00Z").unwrap().expires_at.is_some());
        assert_eq!(fields(at("yesterday").unwrap_err()), ["expires_at"]);
    }
}
