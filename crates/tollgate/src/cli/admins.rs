//! `tollgate admins …`: administrators through the admin API, and the recovery link written
//! straight to the database.

use std::path::PathBuf;

use super::api::{self, Api};
use super::args_admins::AdminsCommand;
use super::error::CliError;
use super::{output, output_admins};
use crate::clock::{Clock, SystemClock, SystemRng};
use crate::config::{Config, Issuer};
use crate::domain::admin::Email;
use crate::http::admin::admins::{
    AdminList, AdminView, Invitation, InviteRequest, UpdateAdminRequest,
};
use crate::service::people::recovery_link;

fn admin_path(id: &str) -> String {
    format!("/admins/{}", api::segment(id))
}

pub async fn run(cmd: AdminsCommand) -> Result<(), CliError> {
    match cmd {
        AdminsCommand::List { conn, json } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let list: AdminList = api.get("/admins").await?;
            output_admins::admins(&list, json);
        }
        AdminsCommand::Invite {
            conn,
            email,
            role,
            json,
        } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let made: Invitation = api.post("/admins", &InviteRequest { email, role }).await?;
            output_admins::invitation(&made, json);
        }
        AdminsCommand::Update {
            conn,
            admin_id,
            role,
            display_name,
            enable,
            json,
        } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let body = UpdateAdminRequest {
                display_name,
                role,
                disabled: enable.then_some(false),
            };
            let updated: AdminView = api.patch(&admin_path(&admin_id), &body).await?;
            output_admins::admin(&updated, json);
        }
        AdminsCommand::Disable {
            conn,
            admin_id,
            json,
        } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let body = UpdateAdminRequest {
                disabled: Some(true),
                ..Default::default()
            };
            let updated: AdminView = api.patch(&admin_path(&admin_id), &body).await?;
            output_admins::admin(&updated, json);
        }
        AdminsCommand::Delete {
            conn,
            admin_id,
            json,
        } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            api.delete(&admin_path(&admin_id)).await?;
            output::done(&format!("deleted administrator {admin_id}"), json);
        }
        AdminsCommand::Recover { config, email } => recover(config, &email).await?,
    }
    Ok(())
}

async fn recover(config_path: Option<PathBuf>, email: &str) -> Result<(), CliError> {
    let email =
        Email::parse(email).map_err(|e| CliError::Usage(format!("--email {}", e.message)))?;
    let config = Config::load(config_path.as_deref())?;
    let issuer = match &config.issuer {
        Some(i) => i.clone(),
        None if config.listen.ip().is_unspecified() => {
            return Err(CliError::Usage(
                "the configuration listens on all addresses without an issuer: set `issuer` \
                 (TOLLGATE_ISSUER) so the link can name the server"
                    .into(),
            ));
        }
        None => Issuer::for_addr(config.listen),
    };
    let store = crate::startup::open_store(&config)
        .await
        .map_err(|e| CliError::Usage(format!("cannot open the database: {e}")))?;
    let now = SystemClock.now();
    let result = recovery_link(store.as_ref(), &SystemRng, issuer.as_str(), &email, now).await;
    store.close().await;
    match result {
        Ok(url) => {
            println!(
                "Open this link within an hour to set a new password for {email} (it works \
                 once; the second factor is removed and set up again after signing in):\n\n  \
                 {url}"
            );
            Ok(())
        }
        Err(crate::service::people::PeopleError::NotFound) => Err(CliError::Usage(format!(
            "no administrator has the email address {email}"
        ))),
        Err(e) => Err(CliError::Usage(e.to_string())),
    }
}
