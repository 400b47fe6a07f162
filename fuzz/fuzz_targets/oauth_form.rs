//! The OAuth endpoints' form parser (RFC 6749 §3.1, §3.2) and `client_secret_post`: what
//! the form keeps is exactly the non-empty parameters of the body, a single-valued
//! parameter is never held twice, and body credentials need both the id and the secret.

#![no_main]

use std::collections::HashMap;

use axum::http::HeaderMap;
use libfuzzer_sys::fuzz_target;
use tollgate::http::oauth::client_auth::{AuthMethod, Form, client_credentials};
use tollgate::http::oauth::extract::FormEndpoint;
use tollgate::http::oauth::introspect::TokenForm;
use tollgate::http::oauth::token::TokenEndpoint;

fuzz_target!(|body: &[u8]| {
    check(body, TokenEndpoint::SINGLE);
    check(body, TokenForm::SINGLE);
});

fn check(body: &[u8], single: &[&str]) {
    // The oracle: RFC 6749 §3.1 treats a parameter without a value as omitted.
    let mut given: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        if !value.is_empty() {
            given
                .entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
    }
    let repeated = single
        .iter()
        .any(|n| given.get(*n).is_some_and(|v| v.len() > 1));
    let form = match Form::parse(body, single) {
        Ok(form) => form,
        Err(error) => {
            assert!(
                repeated,
                "refused a form without a repeated parameter: {error:?}"
            );
            return;
        }
    };
    assert!(!repeated, "accepted a repeated single-valued parameter");
    for name in single {
        assert!(form.all(name).len() <= 1, "`{name}` held twice");
    }
    for (name, values) in &given {
        assert_eq!(form.all(name), values.as_slice(), "values of `{name}`");
        assert_eq!(form.one(name), values.first().map(String::as_str));
    }

    // Its Debug shows parameter names only: it may hold a client secret.
    let mut names: Vec<&str> = given.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        format!("{form:?}"),
        format!("Form {{ parameters: {names:?}, .. }}")
    );

    let body_credentials = (form.one("client_id"), form.one("client_secret"));
    match client_credentials(&HeaderMap::new(), &form) {
        Ok((credentials, method)) => {
            assert_eq!(method, AuthMethod::Post);
            assert_eq!(Some(credentials.client_id.as_str()), body_credentials.0);
            assert!(body_credentials.1.is_some());
        }
        Err(_) => assert!(body_credentials.0.is_none() || body_credentials.1.is_none()),
    }
}
