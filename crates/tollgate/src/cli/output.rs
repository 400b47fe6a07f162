//! Human output (tables, key-value lines) and `--json` output for scripts, from the admin
//! API's own view types.

use serde::Serialize;
use serde_json::Value;

use crate::http::admin::audit::AuditEventView;
use crate::http::admin::keys::{KeyList, KeyView};
use crate::http::admin::leaked::LeakedSecretResponse;
use crate::http::admin::views::{ClientView, CreatedClient, CreatedSecret};

/// A text cell: `-` when empty.
pub(super) fn text(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_owned()
    }
}

/// An optional text cell: `-` when absent or empty.
pub(super) fn opt(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "-".into(), text)
}

/// A list cell: the items separated by spaces, `-` when there are none.
pub(super) fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "-".into();
    }
    items.iter().map(|i| text(i)).collect::<Vec<_>>().join(" ")
}

/// Pretty JSON with the keys in alphabetical order, as scripts have always had it.
pub(super) fn json_out(v: &impl Serialize) {
    let value = serde_json::to_value(v).unwrap_or_default();
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
}

/// A table with a header row, columns padded to their widest cell.
pub(super) fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        line(row.clone());
    }
}

fn client_fields(c: &ClientView) {
    let lifetime = match c.access_token_lifetime {
        None => "server default".to_owned(),
        Some(l) => format!("{l} s"),
    };
    let pairs = [
        ("client_id", text(&c.client_id)),
        ("name", text(&c.name)),
        ("description", text(&c.description)),
        ("scopes", list(&c.scopes)),
        (
            "scopes locked",
            if c.scopes_locked { "yes" } else { "no" }.to_owned(),
        ),
        ("tenants", list(&c.tenants)),
        (
            "claims",
            c.claims
                .as_ref()
                .map_or_else(|| "-".into(), Value::to_string),
        ),
        ("token lifetime", lifetime),
        (
            "quota",
            c.quota.as_ref().map_or_else(
                || "-".into(),
                |q| {
                    format!(
                        "{}/{} {}, {} used{}",
                        q.tokens,
                        q.per,
                        q.mode,
                        c.usage.quota_used.unwrap_or(0),
                        if c.usage.quota_exceeded == Some(true) {
                            " (exceeded)"
                        } else {
                            ""
                        }
                    )
                },
            ),
        ),
        (
            "tokens",
            format!(
                "{} in 24 h, {} in 30 days{}",
                c.usage.tokens_last_24h,
                c.usage.tokens_last_30d,
                if c.usage.not_caching_tokens {
                    " (not caching tokens)"
                } else {
                    ""
                }
            ),
        ),
        ("created", text(&c.created_at)),
        ("updated", text(&c.updated_at)),
    ];
    for (k, v) in pairs {
        println!("{k:<15} {v}");
    }
    println!();
    table(
        &["SECRET ID", "CREATED", "EXPIRES", "LAST USED"],
        &c.secrets
            .iter()
            .map(|x| {
                vec![
                    text(&x.secret_id),
                    text(&x.created_at),
                    opt(&x.expires_at),
                    opt(&x.last_used_at),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

pub fn client(c: &ClientView, json: bool) {
    if json {
        json_out(c);
    } else {
        client_fields(c);
    }
}

pub fn created_client(v: &CreatedClient, json: bool) {
    if json {
        json_out(v);
        return;
    }
    client_fields(&v.client);
    println!();
    println!("client_secret   {}", text(v.client_secret.expose()));
    println!();
    println!("The secret is shown only this once: store it now.");
}

pub fn created_secret(client_id: &str, v: &CreatedSecret, json: bool) {
    if json {
        json_out(v);
        return;
    }
    println!("client_id       {client_id}");
    println!("secret_id       {}", text(&v.secret.secret_id));
    println!("expires         {}", opt(&v.secret.expires_at));
    println!("client_secret   {}", text(v.client_secret.expose()));
    println!();
    println!("The secret is shown only this once: store it now.");
}

pub fn client_list(clients: &[ClientView], json: bool) {
    if json {
        json_out(&clients);
        return;
    }
    table(
        &["CLIENT ID", "NAME", "SCOPES", "SECRETS", "CREATED"],
        &clients
            .iter()
            .map(|c| {
                vec![
                    text(&c.client_id),
                    text(&c.name),
                    list(&c.scopes),
                    c.secrets.len().to_string(),
                    text(&c.created_at),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

/// The token endpoint's answer (not an admin API type: it is RFC 6749 §5.1's).
pub fn token(v: &Value, json: bool) {
    if json {
        json_out(v);
    } else {
        let token = match &v["access_token"] {
            Value::String(s) => text(s),
            Value::Null => "-".into(),
            other => other.to_string(),
        };
        println!("{token}");
    }
}

pub fn done(message: &str, json: bool) {
    if json {
        json_out(&serde_json::json!({"ok": true, "message": message}));
    } else {
        println!("{message}");
    }
}

pub fn raw(text: &str) {
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
}

pub fn keys(v: &KeyList, json: bool) {
    if json {
        json_out(v);
        return;
    }
    table(
        &["KID", "ALG", "STATE", "SIGNS FROM", "RETIRES", "REMOVED"],
        &v.keys
            .iter()
            .map(|k| {
                vec![
                    text(&k.kid),
                    text(&k.algorithm),
                    text(&k.state),
                    text(&k.activates_at),
                    opt(&k.retires_at),
                    opt(&k.removed_at),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

pub fn rotated(k: &KeyView, json: bool) {
    if json {
        json_out(k);
    } else {
        println!(
            "new {} key {} is {}; it signs from {}",
            text(&k.algorithm),
            text(&k.kid),
            text(&k.state),
            text(&k.activates_at)
        );
    }
}

pub fn audit(events: &[AuditEventView], json: bool) {
    if json {
        json_out(&events);
        return;
    }
    table(
        &["AT", "ACTOR", "ACTION", "CLIENT", "SECRET/KEY", "DETAIL"],
        &events
            .iter()
            .map(|e| {
                let target = if e.secret_id.is_some() {
                    &e.secret_id
                } else {
                    &e.kid
                };
                vec![
                    text(&e.at),
                    text(&e.actor),
                    text(&e.action),
                    opt(&e.client_id),
                    opt(target),
                    text(&e.detail),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

pub fn leak_report(v: &LeakedSecretResponse, json: bool) {
    if json {
        json_out(v);
        return;
    }
    if v.already_disabled {
        println!(
            "this secret was already disabled at {}",
            text(&v.disabled_at)
        );
    } else {
        println!(
            "disabled secret {} at {}",
            text(&v.secret_id),
            text(&v.disabled_at)
        );
    }
    println!(
        "client          {} ({})",
        text(&v.client_id),
        text(&v.client_name)
    );
    println!("tokens revoked  every token the client held");
    println!();
    println!("The client's other secrets still work; if the integration used this one, give it");
    println!(
        "a new secret with `tollgate clients secrets add {}`.",
        text(&v.client_id)
    );
}
