//! Human and `--json` output of administrators, from the admin API's own view types.

use super::output::{json_out, opt, table, text};
use crate::http::admin::admins::{AdminList, AdminView, Invitation};

pub fn admins(v: &AdminList, json: bool) {
    if json {
        json_out(v);
        return;
    }
    table(
        &[
            "ADMIN ID",
            "EMAIL",
            "NAME",
            "ROLE",
            "2FA",
            "LAST SIGN-IN",
            "DISABLED",
        ],
        &v.admins
            .iter()
            .map(|a| {
                vec![
                    text(&a.admin_id),
                    text(&a.email),
                    text(&a.display_name),
                    text(&a.role),
                    if a.sso {
                        "sso".to_owned()
                    } else if a.mfa_enrolled {
                        "yes".to_owned()
                    } else {
                        "no".to_owned()
                    },
                    opt(&a.last_sign_in_at),
                    opt(&a.disabled_at),
                ]
            })
            .collect::<Vec<_>>(),
    );
    if !v.invitations.is_empty() {
        println!();
        table(
            &["INVITED", "ROLE", "BY", "EXPIRES"],
            &v.invitations
                .iter()
                .map(|i| {
                    vec![
                        text(&i.email),
                        text(&i.role),
                        text(&i.invited_by),
                        text(&i.expires_at),
                    ]
                })
                .collect::<Vec<_>>(),
        );
    }
}

pub fn admin(a: &AdminView, json: bool) {
    if json {
        json_out(a);
        return;
    }
    let pairs = [
        ("admin_id", text(&a.admin_id)),
        ("email", text(&a.email)),
        ("name", text(&a.display_name)),
        ("role", text(&a.role)),
        ("2fa", if a.mfa_enrolled { "yes" } else { "no" }.to_owned()),
        ("sso", if a.sso { "yes" } else { "no" }.to_owned()),
        ("created", text(&a.created_at)),
        ("last sign-in", opt(&a.last_sign_in_at)),
        ("disabled", opt(&a.disabled_at)),
    ];
    for (k, v) in pairs {
        println!("{k:<15} {v}");
    }
}

pub fn invitation(i: &Invitation, json: bool) {
    if json {
        json_out(i);
        return;
    }
    println!(
        "Invited {} as {}. Send them this link (it works once, until {}):",
        text(&i.email),
        text(&i.role),
        text(&i.expires_at)
    );
    println!();
    println!("  {}", i.invite_url);
    println!();
    println!("Tollgate sends no mail, and the link is shown only this once.");
}
