//! `tollgate apis …`: the arguments of the catalogue commands.

use clap::Subcommand;

use super::args::Connection;
use crate::domain::api::Permission;
use crate::http::admin::api_types::PermissionBody;

#[derive(Debug, Subcommand)]
pub enum ApisCommand {
    /// Register an API: tokens for it carry its identifier in `aud`.
    Create {
        #[command(flatten)]
        conn: Connection,
        /// An absolute URI: what clients send as `resource`, and the tokens' `aud`.
        #[arg(long)]
        identifier: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A permission the API publishes (repeat the flag for several).
        #[arg(long = "permission", value_name = "VALUE=DESCRIPTION", value_parser = parse_permission)]
        permissions: Vec<PermissionBody>,
        /// Access token lifetime in seconds for this API (a client's own lifetime wins).
        #[arg(long, value_name = "SECONDS")]
        token_lifetime: Option<u64>,
        /// Sign tokens for this API with another active algorithm (ES256, EdDSA, RS256).
        #[arg(long)]
        signing_algorithm: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List the catalogue, the built-in admin API first.
    List {
        #[command(flatten)]
        conn: Connection,
        #[arg(long)]
        json: bool,
    },
    /// Show one API and its permissions.
    Get {
        #[command(flatten)]
        conn: Connection,
        api_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change an API's identifier, name, description, permissions or token lifetime.
    Update {
        #[command(flatten)]
        conn: Connection,
        api_id: String,
        #[arg(long)]
        identifier: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Replace the API's permissions (repeat the flag).
        #[arg(
            long = "permission",
            value_name = "VALUE=DESCRIPTION",
            value_parser = parse_permission,
            conflicts_with_all = ["add_permissions", "remove_permissions"]
        )]
        permissions: Vec<PermissionBody>,
        /// Add a permission, or change its description (repeat the flag).
        #[arg(long = "add-permission", value_name = "VALUE=DESCRIPTION", value_parser = parse_permission)]
        add_permissions: Vec<PermissionBody>,
        /// Remove a permission (repeat the flag).
        #[arg(long = "remove-permission", value_name = "VALUE")]
        remove_permissions: Vec<String>,
        /// Also take removed permissions from the clients holding them.
        #[arg(long)]
        take_from_clients: bool,
        #[arg(long, value_name = "SECONDS")]
        token_lifetime: Option<u64>,
        /// Use the server's default token lifetime again.
        #[arg(long, conflicts_with = "token_lifetime")]
        default_token_lifetime: bool,
        #[arg(long)]
        json: bool,
    },
    /// Remove an API: its permissions leave the catalogue.
    Delete {
        #[command(flatten)]
        conn: Connection,
        api_id: String,
        /// Also take its permissions from the clients holding them.
        #[arg(long)]
        take_from_clients: bool,
        #[arg(long)]
        json: bool,
    },
}

/// `VALUE=DESCRIPTION`, or a bare `VALUE` with no description, checked as the server will.
fn parse_permission(s: &str) -> Result<PermissionBody, String> {
    let (value, description) = s.split_once('=').unwrap_or((s, ""));
    let p = Permission::parse(value, description, "permission").map_err(|e| {
        format!(
            "{} (write VALUE=DESCRIPTION, e.g. reports:export=\"Export reports\")",
            e.message
        )
    })?;
    Ok(PermissionBody {
        value: p.value.to_string(),
        description: p.description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permission_is_value_equals_description() {
        let p = parse_permission("reports:export=Export reports").unwrap();
        assert_eq!(
            (p.value.as_str(), p.description.as_str()),
            ("reports:export", "Export reports")
        );
        let p = parse_permission("reports:read").unwrap();
        assert_eq!(
            (p.value.as_str(), p.description.as_str()),
            ("reports:read", "")
        );
        let p = parse_permission("a=b=c").unwrap();
        assert_eq!(p.description, "b=c");
        for bad in ["=no value", "two words=x", ""] {
            let e = parse_permission(bad).unwrap_err();
            assert!(e.contains("VALUE=DESCRIPTION"), "{bad}: {e}");
        }
    }
}
