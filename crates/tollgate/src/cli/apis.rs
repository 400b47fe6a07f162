//! `tollgate apis …`: the API catalogue, through the admin API.

use super::api::{self, Api};
use super::args::ApisCommand;
use super::error::CliError;
use super::{output, output_apis};
use crate::domain::api::RESERVED_PREFIX;
use crate::http::admin::api_types::{
    ApiList, ApiView, CreateApiRequest, PermissionBody, UpdateApiRequest,
};

pub async fn run(cmd: ApisCommand) -> Result<(), CliError> {
    match cmd {
        ApisCommand::Create {
            conn,
            identifier,
            name,
            description,
            permissions,
            token_lifetime,
            signing_algorithm,
            json,
        } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let body = CreateApiRequest {
                identifier,
                name,
                description,
                permissions,
                access_token_lifetime: token_lifetime,
                signing_algorithm,
            };
            let created: ApiView = api.post("/apis", &body).await?;
            output_apis::api(&created, json);
        }
        ApisCommand::List { conn, json } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let mut all = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = "/apis?limit=200".to_owned();
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={}", api::segment(c)));
                }
                let page: ApiList = api.get(&path).await?;
                all.extend(page.apis);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            output_apis::api_list(&all, json);
        }
        ApisCommand::Get { conn, api_id, json } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let view: ApiView = api.get(&api::api_path(&api_id)).await?;
            output_apis::api(&view, json);
        }
        ApisCommand::Update {
            conn,
            api_id,
            identifier,
            name,
            description,
            permissions,
            add_permissions,
            remove_permissions,
            take_from_clients,
            token_lifetime,
            default_token_lifetime,
            json,
        } => {
            let mut body = UpdateApiRequest {
                identifier,
                name,
                description,
                permissions: (!permissions.is_empty()).then_some(permissions),
                access_token_lifetime: if default_token_lifetime {
                    Some(None)
                } else {
                    token_lifetime.map(Some)
                },
                signing_algorithm: None,
            };
            let edits = !add_permissions.is_empty() || !remove_permissions.is_empty();
            if body_is_empty(&body) && !edits {
                return Err(CliError::NothingToUpdateApi);
            }
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let path = api::api_path(&api_id);
            if edits {
                // The admin API replaces the whole list, so adding or removing one
                // permission starts from the list as it is now.
                let current: ApiView = api.get(&path).await?;
                body.permissions = Some(edited(&current, add_permissions, &remove_permissions)?);
            }
            let path = with_removal(path, take_from_clients);
            let updated: ApiView = api.patch(&path, &body).await?;
            output_apis::api(&updated, json);
        }
        ApisCommand::Delete {
            conn,
            api_id,
            take_from_clients,
            json,
        } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let path = with_removal(api::api_path(&api_id), take_from_clients);
            api.delete(&path).await?;
            output::done(&format!("deleted API {api_id}"), json);
        }
    }
    Ok(())
}

fn body_is_empty(b: &UpdateApiRequest) -> bool {
    b.identifier.is_none()
        && b.name.is_none()
        && b.description.is_none()
        && b.permissions.is_none()
        && b.access_token_lifetime.is_none()
        && b.signing_algorithm.is_none()
}

fn with_removal(path: String, take_from_clients: bool) -> String {
    if take_from_clients {
        format!("{path}?take_from_clients=true")
    } else {
        path
    }
}

/// The API's permissions with `add` added (a value it has already takes the new description)
/// and `remove` removed. Tollgate's own permissions of the built-in API are left out: they
/// are not the administrator's to send, and stay whatever is sent.
fn edited(
    current: &ApiView,
    add: Vec<PermissionBody>,
    remove: &[String],
) -> Result<Vec<PermissionBody>, CliError> {
    let mut list: Vec<PermissionBody> = current
        .permissions
        .iter()
        .filter(|p| !(current.built_in && p.value.starts_with(RESERVED_PREFIX)))
        .cloned()
        .collect();
    for value in remove {
        let before = list.len();
        list.retain(|p| &p.value != value);
        if list.len() == before {
            return Err(CliError::NoSuchPermission {
                api_id: current.api_id.clone(),
                value: value.clone(),
            });
        }
    }
    for p in add {
        match list.iter_mut().find(|q| q.value == p.value) {
            Some(q) => q.description = p.description,
            None => list.push(p),
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(value: &str, description: &str) -> PermissionBody {
        PermissionBody {
            value: value.into(),
            description: description.into(),
        }
    }

    fn view(built_in: bool, values: &[&str]) -> ApiView {
        ApiView {
            api_id: "api_x".into(),
            identifier: "https://api.example.com".into(),
            name: "x".into(),
            description: String::new(),
            permissions: values.iter().map(|v| perm(v, "")).collect(),
            access_token_lifetime: None,
            signing_algorithm: None,
            built_in,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn values(list: &[PermissionBody]) -> Vec<&str> {
        list.iter().map(|p| p.value.as_str()).collect()
    }

    #[test]
    fn edits_start_from_the_current_list() {
        let v = view(false, &["a", "b"]);
        let out = edited(&v, vec![perm("c", "C"), perm("a", "A")], &["b".into()]).unwrap();
        assert_eq!(values(&out), ["a", "c"]);
        assert_eq!(out[0].description, "A");
        assert!(matches!(
            edited(&v, vec![], &["z".into()]),
            Err(CliError::NoSuchPermission { .. })
        ));
    }

    #[test]
    fn tollgate_s_own_permissions_are_never_sent() {
        let v = view(true, &["tollgate:admin", "extra"]);
        let out = edited(&v, vec![perm("more", "")], &[]).unwrap();
        assert_eq!(values(&out), ["extra", "more"]);
    }
}
