//! Human output (tables, key-value lines) and `--json` output for scripts.

use serde_json::Value;

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) => a.iter().map(s).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

fn json_out(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// A table with a header row, columns padded to their widest cell.
fn table(header: &[&str], rows: &[Vec<String>]) {
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

fn client_fields(c: &Value) {
    let lifetime = match &c["access_token_lifetime"] {
        Value::Null => "server default".to_owned(),
        v => format!("{} s", s(v)),
    };
    let pairs = [
        ("client_id", s(&c["client_id"])),
        ("name", s(&c["name"])),
        ("description", s(&c["description"])),
        ("scopes", s(&c["scopes"])),
        ("token lifetime", lifetime),
        ("created", s(&c["created_at"])),
        ("updated", s(&c["updated_at"])),
    ];
    for (k, v) in pairs {
        println!("{k:<15} {v}");
    }
    let secrets = c["secrets"].as_array().cloned().unwrap_or_default();
    println!();
    table(
        &["SECRET ID", "CREATED", "EXPIRES", "LAST USED"],
        &secrets
            .iter()
            .map(|x| {
                vec![
                    s(&x["secret_id"]),
                    s(&x["created_at"]),
                    s(&x["expires_at"]),
                    s(&x["last_used_at"]),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

pub fn client(c: &Value, json: bool) {
    if json {
        json_out(c);
    } else {
        client_fields(c);
    }
}

pub fn created_client(v: &Value, json: bool) {
    if json {
        json_out(v);
        return;
    }
    client_fields(&v["client"]);
    println!();
    println!("client_secret   {}", s(&v["client_secret"]));
    println!();
    println!("The secret is shown only this once: store it now.");
}

pub fn created_secret(client_id: &str, v: &Value, json: bool) {
    if json {
        json_out(v);
        return;
    }
    println!("client_id       {client_id}");
    println!("secret_id       {}", s(&v["secret"]["secret_id"]));
    println!("expires         {}", s(&v["secret"]["expires_at"]));
    println!("client_secret   {}", s(&v["client_secret"]));
    println!();
    println!("The secret is shown only this once: store it now.");
}

pub fn client_list(clients: &[Value], json: bool) {
    if json {
        json_out(&Value::Array(clients.to_vec()));
        return;
    }
    table(
        &["CLIENT ID", "NAME", "SCOPES", "SECRETS", "CREATED"],
        &clients
            .iter()
            .map(|c| {
                vec![
                    s(&c["client_id"]),
                    s(&c["name"]),
                    s(&c["scopes"]),
                    c["secrets"].as_array().map_or(0, Vec::len).to_string(),
                    s(&c["created_at"]),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

pub fn token(v: &Value, json: bool) {
    if json {
        json_out(v);
    } else {
        println!("{}", s(&v["access_token"]));
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

pub fn keys(v: &Value, json: bool) {
    if json {
        json_out(v);
        return;
    }
    let keys = v["keys"].as_array().cloned().unwrap_or_default();
    table(
        &["KID", "ALG", "STATE", "SIGNS FROM", "RETIRES", "REMOVED"],
        &keys
            .iter()
            .map(|k| {
                vec![
                    s(&k["kid"]),
                    s(&k["algorithm"]),
                    s(&k["state"]),
                    s(&k["activates_at"]),
                    s(&k["retires_at"]),
                    s(&k["removed_at"]),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

pub fn rotated(k: &Value, json: bool) {
    if json {
        json_out(k);
    } else {
        println!(
            "new {} key {} is {}; it signs from {}",
            s(&k["algorithm"]),
            s(&k["kid"]),
            s(&k["state"]),
            s(&k["activates_at"])
        );
    }
}

pub fn audit(events: &[Value], json: bool) {
    if json {
        json_out(&Value::Array(events.to_vec()));
        return;
    }
    table(
        &["AT", "ACTOR", "ACTION", "CLIENT", "SECRET/KEY", "DETAIL"],
        &events
            .iter()
            .map(|e| {
                let target = if e["secret_id"].is_string() {
                    &e["secret_id"]
                } else {
                    &e["kid"]
                };
                vec![
                    s(&e["at"]),
                    s(&e["actor"]),
                    s(&e["action"]),
                    s(&e["client_id"]),
                    s(target),
                    s(&e["detail"]),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

pub fn leak_report(v: &Value, json: bool) {
    if json {
        json_out(v);
        return;
    }
    if v["already_disabled"] == Value::Bool(true) {
        println!(
            "this secret was already disabled at {}",
            s(&v["disabled_at"])
        );
    } else {
        println!(
            "disabled secret {} at {}",
            s(&v["secret_id"]),
            s(&v["disabled_at"])
        );
    }
    println!(
        "client          {} ({})",
        s(&v["client_id"]),
        s(&v["client_name"])
    );
    println!("tokens revoked  every token the client held");
    println!();
    println!("The client's other secrets still work; if the integration used this one, give it");
    println!(
        "a new secret with `tollgate clients secrets add {}`.",
        s(&v["client_id"])
    );
}
