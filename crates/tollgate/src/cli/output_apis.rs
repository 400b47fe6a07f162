//! Human and `--json` output of the API catalogue, from the admin API's own view types.

use super::output::{json_out, list, opt, table, text};
use crate::http::admin::api_types::ApiView;

pub fn api(a: &ApiView, json: bool) {
    if json {
        json_out(a);
        return;
    }
    let lifetime = match a.access_token_lifetime {
        None => "server default".to_owned(),
        Some(l) => format!("{l} s"),
    };
    let pairs = [
        ("api_id", text(&a.api_id)),
        ("identifier", text(&a.identifier)),
        ("name", text(&a.name)),
        ("description", text(&a.description)),
        ("built in", if a.built_in { "yes" } else { "no" }.to_owned()),
        ("token lifetime", lifetime),
        ("signing alg", opt(&a.signing_algorithm)),
        ("created", text(&a.created_at)),
        ("updated", text(&a.updated_at)),
    ];
    for (k, v) in pairs {
        println!("{k:<15} {v}");
    }
    println!();
    table(
        &["PERMISSION", "DESCRIPTION"],
        &a.permissions
            .iter()
            .map(|p| vec![text(&p.value), text(&p.description)])
            .collect::<Vec<_>>(),
    );
}

pub fn api_list(apis: &[ApiView], json: bool) {
    if json {
        json_out(&apis);
        return;
    }
    table(
        &["API ID", "IDENTIFIER", "NAME", "PERMISSIONS"],
        &apis
            .iter()
            .map(|a| {
                let values: Vec<String> = a.permissions.iter().map(|p| p.value.clone()).collect();
                vec![
                    text(&a.api_id),
                    text(&a.identifier),
                    text(&a.name),
                    list(&values),
                ]
            })
            .collect::<Vec<_>>(),
    );
}
