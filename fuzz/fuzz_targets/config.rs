//! The configuration parser: a TOML file body, then `TOLLGATE_*` variables over it. The
//! input is the file's text, a NUL byte, then `NAME=value` lines. Parsing is deterministic,
//! a configuration it accepts keeps the rules between settings, and a valid variable wins
//! over the file.

#![no_main]

use std::net::SocketAddr;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tollgate::config::Config;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (file, env) = text.split_once('\0').unwrap_or((&*text, ""));
    // `*_FILE` settings read the named file: `/dev/zero` would never end.
    if file.contains("_file") || env.contains("_FILE") {
        return;
    }
    let env: Vec<(String, String)> = env
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let path = Path::new("fuzz.toml");
    let config = Config::from_text(Some((path, file)), env.clone());
    let again = Config::from_text(Some((path, file)), env.clone());
    assert_eq!(
        format!("{config:?}"),
        format!("{again:?}"),
        "not deterministic"
    );
    let Ok(config) = config else {
        return;
    };
    assert!(config.key_rotation_period > config.key_announce_period);
    let extra = &config.extra_signing_algorithms;
    assert!(!extra.contains(&config.signing_algorithm));
    assert!(
        extra
            .iter()
            .enumerate()
            .all(|(i, a)| !extra[..i].contains(a))
    );
    assert!(
        config.bootstrap.is_some() == env.iter().any(|(k, _)| k == "TOLLGATE_BOOTSTRAP_CLIENT_ID")
    );
    // The last TOLLGATE_LISTEN given is the one read.
    if let Some((_, listen)) = env.iter().rev().find(|(k, _)| k == "TOLLGATE_LISTEN") {
        assert_eq!(Ok(config.listen), listen.trim().parse::<SocketAddr>());
    }
});
