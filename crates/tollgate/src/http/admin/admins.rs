//! `/admin/v1/admins`: the people who administer Tollgate. Owners only (`tollgate:admin`):
//! invite (a one-time link, shown once), list, change role or name, disable, delete.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Admin, Owner};
use super::extract::{AdminJson, AdminPath};
use super::problem::Problem;
use crate::domain::admin::{self, AdminId, Email, OneTimeLink, Role};
use crate::domain::client::FieldError;
use crate::http::AppState;
use crate::service::people::{AdminPatch, PeopleError};

/// An administrator.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdminView {
    #[schema(example = "adm_5f0c8e2a9b1d4c7e3a6f8b2d")]
    pub admin_id: String,
    #[schema(example = "ada@example.com")]
    pub email: String,
    pub display_name: String,
    /// `owner`, `manager` or `viewer`.
    pub role: String,
    /// RFC 3339.
    pub created_at: String,
    pub last_sign_in_at: Option<String>,
    /// Set while the account is disabled.
    pub disabled_at: Option<String>,
    /// A second factor (TOTP) is enrolled.
    pub mfa_enrolled: bool,
    /// The account was created by single sign-on.
    pub sso: bool,
}

impl From<&admin::Admin> for AdminView {
    fn from(a: &admin::Admin) -> AdminView {
        AdminView {
            admin_id: a.id.to_string(),
            email: a.email.to_string(),
            display_name: a.display_name.clone(),
            role: a.role.as_str().to_owned(),
            created_at: a.created_at.to_rfc3339(),
            last_sign_in_at: a.last_sign_in_at.map(|t| t.to_rfc3339()),
            disabled_at: a.disabled_at.map(|t| t.to_rfc3339()),
            mfa_enrolled: a.mfa_enrolled,
            sso: a.sso_subject.is_some(),
        }
    }
}

/// An invitation not accepted yet (its link is not shown again).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PendingInvitation {
    pub email: String,
    pub role: String,
    pub invited_by: String,
    pub expires_at: String,
}

impl From<&OneTimeLink> for PendingInvitation {
    fn from(l: &OneTimeLink) -> PendingInvitation {
        PendingInvitation {
            email: l
                .email
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            role: l.role.map(|r| r.as_str().to_owned()).unwrap_or_default(),
            invited_by: l.created_by.clone(),
            expires_at: l.expires_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdminList {
    pub admins: Vec<AdminView>,
    pub invitations: Vec<PendingInvitation>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// `owner`, `manager` or `viewer`.
    #[schema(example = "manager")]
    pub role: String,
}

impl InviteRequest {
    /// The address and role, or every field that is not right (the console's invitation form
    /// is read by the same rules).
    pub fn parse(&self) -> Result<(Email, Role), Vec<FieldError>> {
        let mut errors: Vec<FieldError> = Vec::new();
        let email = Email::parse(&self.email).map_err(|e| errors.push(e)).ok();
        let role = Role::parse(&self.role).map_err(|e| errors.push(e)).ok();
        match (email, role) {
            (Some(email), Some(role)) => Ok((email, role)),
            _ => Err(errors),
        }
    }
}

/// The invitation: send `invite_url` to the person yourself (Tollgate sends no mail). It works
/// once, until `expires_at`, and is shown only in this answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    pub email: String,
    pub role: String,
    pub invite_url: String,
    pub expires_at: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAdminRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `owner`, `manager` or `viewer`; a change ends the person's sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `true` disables the account (and ends its sessions), `false` enables it again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

impl TryFrom<UpdateAdminRequest> for AdminPatch {
    type Error = Vec<FieldError>;

    fn try_from(req: UpdateAdminRequest) -> Result<AdminPatch, Vec<FieldError>> {
        let role = req
            .role
            .as_deref()
            .map(Role::parse)
            .transpose()
            .map_err(|e| vec![e])?;
        Ok(AdminPatch {
            display_name: req.display_name,
            role,
            disabled: req.disabled,
        })
    }
}

/// `{admin_id}` from the path; an id that cannot be valid answers like an unknown one.
fn admin_id(raw: &str) -> Result<AdminId, Problem> {
    AdminId::parse(raw).map_err(|_| not_found())
}

fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "admin_not_found",
        "no administrator with this id; GET /admin/v1/admins lists them",
    )
}

impl From<PeopleError> for Problem {
    fn from(e: PeopleError) -> Problem {
        match e {
            PeopleError::Validation(errors) => Problem::validation(errors),
            PeopleError::EmailTaken => Problem::new(
                StatusCode::CONFLICT,
                "email_taken",
                "an administrator with this email address already exists",
            ),
            PeopleError::NotFound => not_found(),
            PeopleError::LastOwner => Problem::new(
                StatusCode::CONFLICT,
                "last_owner",
                "this would leave no active owner: make another administrator an owner first",
            ),
            PeopleError::Store(e) if e.is_unavailable() => Problem::unavailable(e),
            PeopleError::Store(e) => Problem::internal(e),
            other => Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                other.to_string(),
            ),
        }
    }
}

#[utoipa::path(get, path = "/admins", tag = "admins",
    responses((status = 200, description = "Every administrator, and the invitations not accepted yet", body = AdminList)),
    security(("bearer" = ["tollgate:admin"])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin<Owner>,
) -> Result<Json<AdminList>, Problem> {
    let now = state.people.now();
    let admins = state.people.list_admins().await?;
    let invitations = state.people.pending_invitations(now).await?;
    Ok(Json(AdminList {
        admins: admins.iter().map(AdminView::from).collect(),
        invitations: invitations.iter().map(PendingInvitation::from).collect(),
    }))
}

#[utoipa::path(post, path = "/admins", tag = "admins",
    request_body = InviteRequest,
    responses(
        (status = 201, description = "Invited; the link is shown this once", body = Invitation),
        (status = 400, description = "Invalid email or role", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An administrator has this email already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:admin"])))]
pub async fn invite(
    State(state): State<AppState>,
    admin: Admin<Owner>,
    AdminJson(req): AdminJson<InviteRequest>,
) -> Result<Response, Problem> {
    let (email, role) = req.parse().map_err(Problem::validation)?;
    let now = state.people.now();
    let made = state.people.invite(&admin.actor, email, role, now).await?;
    let body = Invitation {
        email: made.email.to_string(),
        role: made.role.as_str().to_owned(),
        invite_url: made.url,
        expires_at: made.expires_at.to_rfc3339(),
    };
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response())
}

#[utoipa::path(get, path = "/admins/{admin_id}", tag = "admins",
    params(("admin_id" = String, Path)),
    responses(
        (status = 200, description = "The administrator", body = AdminView),
        (status = 404, description = "No such administrator", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:admin"])))]
pub async fn get(
    State(state): State<AppState>,
    _admin: Admin<Owner>,
    AdminPath(raw): AdminPath<String>,
) -> Result<Json<AdminView>, Problem> {
    let id = admin_id(&raw)?;
    let found = state.people.get_admin(&id).await?;
    Ok(Json(AdminView::from(&found)))
}

#[utoipa::path(patch, path = "/admins/{admin_id}", tag = "admins",
    params(("admin_id" = String, Path)),
    request_body = UpdateAdminRequest,
    responses(
        (status = 200, description = "The updated administrator", body = AdminView),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It would leave no active owner", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:admin"])))]
pub async fn update(
    State(state): State<AppState>,
    admin: Admin<Owner>,
    AdminPath(raw): AdminPath<String>,
    AdminJson(req): AdminJson<UpdateAdminRequest>,
) -> Result<Json<AdminView>, Problem> {
    let id = admin_id(&raw)?;
    let patch = AdminPatch::try_from(req).map_err(Problem::validation)?;
    let now = state.people.now();
    let updated = state
        .people
        .update_admin(&admin.actor, &id, patch, now)
        .await?;
    Ok(Json(AdminView::from(&updated)))
}

#[utoipa::path(delete, path = "/admins/{admin_id}", tag = "admins",
    params(("admin_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted; the person's sessions ended with it"),
        (status = 404, description = "No such administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It would leave no active owner", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tollgate:admin"])))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin<Owner>,
    AdminPath(raw): AdminPath<String>,
) -> Result<StatusCode, Problem> {
    let id = admin_id(&raw)?;
    let now = state.people.now();
    state.people.delete_admin(&admin.actor, &id, now).await?;
    Ok(StatusCode::NO_CONTENT)
}
