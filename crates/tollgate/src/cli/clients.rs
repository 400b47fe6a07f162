//! `tollgate clients …`: clients and their secrets, through the admin API.

use super::api::{self, Api};
use super::args::{ClientsCommand, SecretsCommand};
use super::error::CliError;
use super::output;
use crate::domain::secret::ClientSecret;
use crate::http::admin::leaked::{LeakedSecretRequest, LeakedSecretResponse};
use crate::http::admin::requests::{
    CreateClientRequest, CreateSecretRequest, QuotaBody, UpdateClientRequest,
};
use crate::http::admin::views::{ClientList, ClientView, CreatedClient, CreatedSecret};

pub async fn run(cmd: ClientsCommand) -> Result<(), CliError> {
    match cmd {
        ClientsCommand::Create {
            conn,
            name,
            description,
            scopes,
            token_lifetime,
            signing_algorithm,
            tenants,
            claims,
            lock_scopes,
            quota,
            json,
            output,
        } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let body = CreateClientRequest {
                name,
                description,
                scopes,
                access_token_lifetime: token_lifetime,
                signing_algorithm,
                tenants,
                claims,
                scopes_locked: lock_scopes.then_some(true),
                quota: quota.body(),
            };
            match output {
                Some(o) => {
                    let path = format!("/clients?format={}", o.query());
                    output::raw(&api.post_raw(&path, &body).await?);
                }
                None => {
                    let created: CreatedClient = api.post("/clients", &body).await?;
                    output::created_client(&created, json);
                }
            }
        }
        ClientsCommand::List { conn, limit, json } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let mut all = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("/clients?limit={limit}");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let page: ClientList = api.get(&path).await?;
                all.extend(page.clients);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            output::client_list(&all, json);
        }
        ClientsCommand::Get {
            conn,
            client_id,
            json,
        } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let client: ClientView = api.get(&api::client_path(&client_id)).await?;
            output::client(&client, json);
        }
        ClientsCommand::Update {
            conn,
            client_id,
            name,
            description,
            scopes,
            no_scopes,
            tenants,
            no_tenants,
            claims,
            no_claims,
            token_lifetime,
            default_token_lifetime,
            quota,
            no_quota,
            json,
        } => {
            let body = UpdateClientRequest {
                name,
                description,
                scopes: (!scopes.is_empty() || no_scopes).then_some(scopes),
                access_token_lifetime: if default_token_lifetime {
                    Some(None)
                } else {
                    token_lifetime.map(Some)
                },
                signing_algorithm: None,
                tenants: (!tenants.is_empty() || no_tenants).then_some(tenants),
                claims: if no_claims {
                    Some(None)
                } else {
                    claims.map(Some)
                },
                scopes_locked: None,
                quota: if no_quota {
                    Some(None)
                } else {
                    quota.body().map(Some)
                },
            };
            if body.is_empty() {
                return Err(CliError::NothingToUpdate);
            }
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let client: ClientView = api.patch(&api::client_path(&client_id), &body).await?;
            output::client(&client, json);
        }
        ClientsCommand::Delete {
            conn,
            client_id,
            json,
        } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            api.delete(&api::client_path(&client_id)).await?;
            output::done(&format!("deleted client {client_id}"), json);
        }
        ClientsCommand::Secrets(cmd) => secrets(cmd).await?,
    }
    Ok(())
}

impl super::args::QuotaArgs {
    fn body(self) -> Option<QuotaBody> {
        let mode = self.quota_mode;
        self.quota
            .map(|(tokens, per)| QuotaBody { tokens, per, mode })
    }
}

async fn secrets(cmd: SecretsCommand) -> Result<(), CliError> {
    match cmd {
        SecretsCommand::Add {
            conn,
            client_id,
            expires_at,
            json,
            output,
        } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let body = CreateSecretRequest { expires_at };
            let path = format!("{}/secrets", api::client_path(&client_id));
            match output {
                Some(o) => {
                    let path = format!("{path}?format={}", o.query());
                    output::raw(&api.post_raw(&path, &body).await?);
                }
                None => {
                    let created: CreatedSecret = api.post(&path, &body).await?;
                    output::created_secret(&client_id, &created, json);
                }
            }
        }
        SecretsCommand::Leaked { conn, json } => {
            let mut secret = zeroize::Zeroizing::new(String::new());
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut secret)
                .map_err(CliError::Stdin)?;
            let secret = secret.trim();
            if secret.is_empty() {
                return Err(CliError::NoLeakedSecret);
            }
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let body = LeakedSecretRequest {
                secret: ClientSecret::new(secret.to_owned()),
            };
            let report: LeakedSecretResponse = api.post("/secrets/leaked", &body).await?;
            output::leak_report(&report, json);
        }
        SecretsCommand::Remove {
            conn,
            client_id,
            secret_id,
            json,
        } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let path = format!(
                "{}/secrets/{}",
                api::client_path(&client_id),
                api::segment(&secret_id)
            );
            api.delete(&path).await?;
            output::done(
                &format!("removed secret {secret_id} from client {client_id}"),
                json,
            );
        }
    }
    Ok(())
}
