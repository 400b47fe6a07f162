//! `tollgate admins …` as clap parses it.

use std::path::PathBuf;

use clap::Subcommand;

use super::args::Connection;

#[derive(Debug, Subcommand)]
pub enum AdminsCommand {
    /// List the administrators and the invitations not accepted yet.
    List {
        #[command(flatten)]
        conn: Connection,
        #[arg(long)]
        json: bool,
    },
    /// Invite a person with a role; prints the one-time link (7 days) to send them.
    Invite {
        #[command(flatten)]
        conn: Connection,
        #[arg(long)]
        email: String,
        /// owner, manager or viewer.
        #[arg(long)]
        role: String,
        #[arg(long)]
        json: bool,
    },
    /// Change an administrator's role or name, or enable a disabled one.
    Update {
        #[command(flatten)]
        conn: Connection,
        admin_id: String,
        /// owner, manager or viewer; a change ends the person's sessions.
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Enable a disabled account again.
        #[arg(long)]
        enable: bool,
        #[arg(long)]
        json: bool,
    },
    /// Disable an administrator: their sessions end and they cannot sign in.
    Disable {
        #[command(flatten)]
        conn: Connection,
        admin_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete an administrator.
    Delete {
        #[command(flatten)]
        conn: Connection,
        admin_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Locked out: prints a one-time link (1 hour) that sets a new password for EMAIL. Run it
    /// on the server host: it reads the same configuration as `serve` and writes to the
    /// database directly.
    Recover {
        #[arg(long, env = "TOLLGATE_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long)]
        email: String,
    },
}
