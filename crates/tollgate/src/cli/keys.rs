//! `tollgate keys …` and `tollgate audit`: signing keys and the audit trail, through the admin
//! API.

use super::api::{self, Api};
use super::args::{Connection, KeysCommand};
use super::error::CliError;
use super::output;
use crate::http::admin::audit::AuditPage;
use crate::http::admin::keys::{KeyList, KeyView, RotateRequest};

pub async fn run(cmd: KeysCommand) -> Result<(), CliError> {
    match cmd {
        KeysCommand::List { conn, json } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let keys: KeyList = api.get("/keys").await?;
            output::keys(&keys, json);
        }
        KeysCommand::Rotate {
            conn,
            algorithm,
            immediate,
            compromised,
            json,
        } => {
            let api = Api::new(&conn.endpoint, conn.insecure_http)?;
            let body = RotateRequest {
                algorithm,
                immediate,
                compromised,
            };
            let key: KeyView = api.post("/keys/rotate", &body).await?;
            output::rotated(&key, json);
        }
    }
    Ok(())
}

/// Every audit event, optionally only those about one client, fetched page by page.
pub async fn audit(conn: Connection, client: Option<String>, json: bool) -> Result<(), CliError> {
    let api = Api::new(&conn.endpoint, conn.insecure_http)?;
    let mut events = Vec::new();
    let mut cursor: Option<i64> = None;
    loop {
        let mut path = "/audit?limit=500".to_owned();
        if let Some(c) = &client {
            path.push_str(&format!("&client_id={}", api::segment(c)));
        }
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: AuditPage = api.get(&path).await?;
        events.extend(page.events);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    output::audit(&events, json);
    Ok(())
}
