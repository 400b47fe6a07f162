//! `tollgate serve` and `tollgate admins …` as processes: the setup link on stderr (never in
//! the log), invitations from the CLI, and the recovery link written to the database.

use std::process::Command;

use serde_json::Value;

use crate::binary::{BIN, Server, cli};
use crate::helpers::{ADMIN_ID, ADMIN_SECRET, TestDir};

const PASSWORD: &str = "a long enough passphrase";

/// Posts a console form as a browser on the console's own origin would.
fn post_form(base: &str, path: &str, form: &[(&str, &str)]) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        http.post(format!("{base}{path}"))
            .header("origin", base)
            .form(form)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

fn token_of(link: &str) -> String {
    link.split_once("token=").unwrap().1.trim().to_owned()
}

#[test]
fn the_setup_link_invitations_and_recovery_work_from_the_command_line() {
    let dir = TestDir::new();
    let creds = [
        ("TOLLGATE_BOOTSTRAP_CLIENT_ID", ADMIN_ID),
        ("TOLLGATE_BOOTSTRAP_CLIENT_SECRET", ADMIN_SECRET),
    ];
    let server = Server::start(&dir, &creds);
    let base = server.base.clone();
    let (ok, log, err) = server.terminate();
    assert!(ok);
    let link = err
        .lines()
        .map(str::trim)
        .find(|l| l.contains("/console/setup?token="))
        .expect("the setup link on stderr")
        .to_owned();
    assert!(
        link.starts_with(&format!("{base}/console/setup?token=")),
        "{link}"
    );
    assert!(
        !log.contains(&token_of(&link)),
        "the link is not in the log"
    );

    // The link printed by the previous start still works (for an hour).
    let server = Server::start(&dir, &creds);
    let base = server.base.clone();
    let status = post_form(
        &base,
        "/console/setup",
        &[
            ("token", &token_of(&link)),
            ("email", "owner@example.com"),
            ("display_name", "Owner"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(status, 303);

    let (ok, out, e) = cli(
        &base,
        ADMIN_ID,
        ADMIN_SECRET,
        &[
            "admins",
            "invite",
            "--email",
            "ada@example.com",
            "--role",
            "manager",
        ],
    );
    assert!(ok, "{e}");
    let invite = out
        .lines()
        .map(str::trim)
        .find(|l| l.contains("/console/invite?token="))
        .expect("the invitation link")
        .to_owned();
    let status = post_form(
        &base,
        "/console/invite",
        &[
            ("token", &token_of(&invite)),
            ("display_name", "Ada"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(status, 303);
    let (ok, out, e) = cli(&base, ADMIN_ID, ADMIN_SECRET, &["admins", "list", "--json"]);
    assert!(ok, "{e}");
    let list: Value = serde_json::from_str(&out).unwrap();
    let ada = list["admins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "ada@example.com")
        .expect("Ada accepted")["admin_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out, e) = cli(
        &base,
        ADMIN_ID,
        ADMIN_SECRET,
        &["admins", "update", &ada, "--role", "viewer", "--json"],
    );
    assert!(ok, "{e}");
    assert!(out.contains("\"viewer\""), "{out}");
    let (ok, out, _) = cli(&base, ADMIN_ID, ADMIN_SECRET, &["admins", "disable", &ada]);
    assert!(ok);
    assert!(out.contains("disabled"), "{out}");
    let (ok, _, e) = cli(&base, ADMIN_ID, ADMIN_SECRET, &["admins", "delete", &ada]);
    assert!(ok, "{e}");
    let owner = list["admins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "owner@example.com")
        .unwrap()["admin_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, _, e) = cli(&base, ADMIN_ID, ADMIN_SECRET, &["admins", "delete", &owner]);
    assert!(!ok);
    assert!(e.contains("no active owner"), "{e}");

    // Locked out: recover against the database, with the server's own settings.
    let recover = |email: &str| {
        Command::new(BIN)
            .args(["admins", "recover", "--email", email])
            .env_clear()
            .envs(dir.env())
            .env("TOLLGATE_ISSUER", &base)
            .output()
            .unwrap()
    };
    let out = recover("nobody@example.com");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no administrator has the email"));
    let out = recover("OWNER@example.com");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reset = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.contains("/console/reset?token="))
        .expect("the reset link")
        .to_owned();
    let status = post_form(
        &base,
        "/console/reset",
        &[
            ("token", &token_of(&reset)),
            ("password", "another long passphrase"),
        ],
    );
    assert_eq!(status, 303);
    let (ok, out, _) = cli(&base, ADMIN_ID, ADMIN_SECRET, &["audit", "--json"]);
    assert!(ok);
    assert!(out.contains("admin.reset_link_created"), "audited");
    server.terminate();
}
