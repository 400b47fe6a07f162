//! What the admin API accepts and answers about the catalogue (`/admin/v1/apis`), and the
//! conversion of requests into domain types. The CLI sends and reads the same types.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problem::Problem;
use super::requests::{DEFAULT_PAGE, MAX_PAGE, collect, double_option, parse_algorithm};
use crate::domain::api::{Api, ApiId, ApiIdentifier, ApiPatch, NewApi, Permission};
use crate::domain::client::{ClientName, Description, FieldError, parse_token_lifetime};

/// One permission an API publishes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionBody {
    /// A scope (RFC 6749 §3.3), unique across the whole catalogue.
    #[schema(example = "enterprise:user")]
    pub value: String,
    /// What the permission lets a client do, for the administrator choosing it.
    #[serde(default)]
    #[schema(example = "Manage users within the enterprise (SCIM user provisioning)")]
    pub description: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiRequest {
    /// An absolute URI without a fragment: what clients send as `resource` and tokens carry
    /// in `aud`. Unique.
    #[schema(example = "https://scim.example.com/v2")]
    pub identifier: String,
    /// Unique, 1 to 100 characters.
    #[schema(example = "SCIM API")]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<PermissionBody>,
    /// Seconds (60 to 86400) for tokens for this API; a client's own lifetime wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 60, maximum = 86400)]
    pub access_token_lifetime: Option<u64>,
    /// One of the server's active algorithms; a client's own algorithm wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_algorithm: Option<String>,
}

// Fields left out stay as they are; `permissions` replaces the whole list. Permissions that
// clients hold can only be removed with `take_from_clients=true`.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateApiRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<PermissionBody>>,
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
}

#[derive(Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RemovalParams {
    /// `true` also takes the removed permissions from the clients holding them (audited);
    /// otherwise the request is refused (409) while any client holds one.
    pub take_from_clients: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ApiListParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An API in the catalogue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiView {
    #[schema(example = "api_5f0c8e2a9b1d4c7e3a6f8b2d")]
    pub api_id: String,
    #[schema(example = "https://scim.example.com/v2")]
    pub identifier: String,
    pub name: String,
    pub description: String,
    /// For the built-in admin API, Tollgate's own permissions come first and cannot change.
    pub permissions: Vec<PermissionBody>,
    pub access_token_lifetime: Option<u64>,
    pub signing_algorithm: Option<String>,
    /// Tollgate's own admin API: it cannot be removed, its identifier is the issuer.
    pub built_in: bool,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiList {
    pub apis: Vec<ApiView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<&Api> for ApiView {
    fn from(a: &Api) -> ApiView {
        ApiView {
            api_id: a.id.as_str().to_owned(),
            identifier: a.identifier.as_str().to_owned(),
            name: a.name.as_str().to_owned(),
            description: a.description.as_str().to_owned(),
            permissions: a
                .all_permissions()
                .into_iter()
                .map(|p| PermissionBody {
                    value: p.value.to_string(),
                    description: p.description,
                })
                .collect(),
            access_token_lifetime: a.access_token_lifetime,
            signing_algorithm: a.signing_algorithm.map(|s| s.as_str().to_owned()),
            built_in: a.is_builtin(),
            created_at: a.created_at.to_rfc3339(),
            updated_at: a.updated_at.to_rfc3339(),
        }
    }
}

fn permissions(errors: &mut Vec<FieldError>, list: &[PermissionBody]) -> Vec<Permission> {
    list.iter()
        .enumerate()
        .filter_map(|(i, p)| {
            collect(
                errors,
                Permission::parse(&p.value, &p.description, &format!("permissions[{i}]")),
            )
        })
        .collect()
}

fn lifetime(errors: &mut Vec<FieldError>, secs: u64) -> Option<u64> {
    collect(errors, parse_token_lifetime(secs))
}

impl TryFrom<CreateApiRequest> for NewApi {
    type Error = Problem;

    fn try_from(req: CreateApiRequest) -> Result<NewApi, Problem> {
        let mut errors = Vec::new();
        let identifier = collect(&mut errors, ApiIdentifier::parse(req.identifier.trim()));
        let name = collect(&mut errors, ClientName::parse(&req.name));
        let description = collect(&mut errors, Description::parse(&req.description));
        let permissions = permissions(&mut errors, &req.permissions);
        let access_token_lifetime = req.access_token_lifetime.map(|l| lifetime(&mut errors, l));
        let signing_algorithm = req
            .signing_algorithm
            .map(|a| collect(&mut errors, parse_algorithm("signing_algorithm", &a)));
        let (Some(identifier), Some(name), Some(description), true) =
            (identifier, name, description, errors.is_empty())
        else {
            return Err(Problem::validation(errors));
        };
        Ok(NewApi {
            identifier,
            name,
            description,
            permissions,
            access_token_lifetime: access_token_lifetime.flatten(),
            signing_algorithm: signing_algorithm.flatten(),
        })
    }
}

impl TryFrom<UpdateApiRequest> for ApiPatch {
    type Error = Problem;

    fn try_from(req: UpdateApiRequest) -> Result<ApiPatch, Problem> {
        let mut errors = Vec::new();
        let patch = ApiPatch {
            identifier: req
                .identifier
                .and_then(|i| collect(&mut errors, ApiIdentifier::parse(i.trim()))),
            name: req
                .name
                .and_then(|n| collect(&mut errors, ClientName::parse(&n))),
            description: req
                .description
                .and_then(|d| collect(&mut errors, Description::parse(&d))),
            permissions: req.permissions.map(|p| permissions(&mut errors, &p)),
            access_token_lifetime: match req.access_token_lifetime {
                None => None,
                Some(None) => Some(None),
                Some(Some(l)) => lifetime(&mut errors, l).map(Some),
            },
            signing_algorithm: match req.signing_algorithm {
                None => None,
                Some(None) => Some(None),
                Some(Some(a)) => {
                    collect(&mut errors, parse_algorithm("signing_algorithm", &a)).map(Some)
                }
            },
        };
        if !errors.is_empty() {
            return Err(Problem::validation(errors));
        }
        Ok(patch)
    }
}

/// One page to list, validated: the cursor is the id of the last API of the previous page.
pub fn page(params: ApiListParams) -> Result<(Option<ApiId>, u32), Problem> {
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::validation(vec![FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )]));
    }
    let cursor = params
        .cursor
        .map(|c| {
            ApiId::parse(&c).map_err(|_| {
                Problem::validation(vec![FieldError::new(
                    "cursor",
                    "is not a cursor this server returned",
                )])
            })
        })
        .transpose()?;
    Ok((cursor, limit))
}
