//! Tollgate: an OAuth 2.0 authorization server for machine-to-machine access.
//!
//! The crate is a library with a thin binary (`tollgate`). [`startup::Application`] builds and
//! runs the HTTP server; [`cli`] holds the command-line front end. Domain logic lives in
//! [`domain`] and knows nothing of HTTP; storage sits behind [`store::Store`]; signing keys in
//! [`keys`]; following other nodes in [`cluster`]; the operations everything calls in
//! [`service`]; handlers in [`http`].
//!
//! Top-level modules form layers, lowest first: `clock`, `domain`, `metrics`, `cluster`, `store`,
//! `keys`, `cache`, `service`, `config`, `telemetry`, `http`, `startup`, `cli`. A module
//! imports only from modules before it (the `layout` test checks it).

pub mod cache;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;

/// The crate's map stays walkable: top-level modules form layers (no import cycle between
/// them), and no source file grows past what one reads in a sitting.
#[cfg(test)]
mod layout {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    /// Lines of code before a file's tests.
    const MAX_LINES: usize = 400;
    /// The top-level modules, lowest layer first: each imports only from those before it.
    const LAYERS: &[&str] = &[
        "clock",
        "domain",
        "metrics",
        "cluster",
        "store",
        "keys",
        "cache",
        "service",
        "config",
        "telemetry",
        "http",
        "startup",
        "cli",
    ];

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The code of a file before its `#[cfg(test)]` module, without comments.
    fn code(path: &Path) -> Vec<String> {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines()
            .take_while(|l| l.trim() != "#[cfg(test)]")
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(str::to_owned)
            .collect()
    }

    /// The top-level modules that `line` names through `crate::`.
    fn named_modules(line: &str, out: &mut BTreeSet<String>) {
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                for item in group.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    out.insert(name);
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        }
    }

    fn top_level(src: &Path, path: &Path) -> String {
        let rel = path.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        first.trim_end_matches(".rs").to_owned()
    }

    #[test]
    fn top_level_modules_are_layers_without_import_cycles() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let from = top_level(&src, file);
            if from == "lib" || from == "main" {
                continue;
            }
            let mut named = BTreeSet::new();
            for line in code(file) {
                named_modules(&line, &mut named);
            }
            let edges = graph.entry(from.clone()).or_default();
            edges.extend(named.into_iter().filter(|m| *m != from && !m.is_empty()));
        }
        // Depth-first search for a back edge; report the cycle it closes.
        fn visit(
            m: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(at) = path.iter().position(|p| p == m) {
                let mut cycle = path[at..].to_vec();
                cycle.push(m.to_owned());
                return Some(cycle);
            }
            if done.contains(m) {
                return None;
            }
            path.push(m.to_owned());
            for next in graph.get(m).into_iter().flatten() {
                if let Some(cycle) = visit(next, graph, path, done) {
                    return Some(cycle);
                }
            }
            path.pop();
            done.insert(m.to_owned());
            None
        }
        let layer = |m: &str| LAYERS.iter().position(|l| *l == m);
        for (from, to) in graph
            .iter()
            .flat_map(|(f, ts)| ts.iter().map(move |t| (f, t)))
        {
            let (Some(f), Some(t)) = (layer(from), layer(to)) else {
                panic!("`{from}` or `{to}` is not in LAYERS: place it in a layer");
            };
            assert!(
                t < f,
                "`{from}` imports `{to}`, a layer above it (LAYERS, lowest first: {LAYERS:?})"
            );
        }
        let mut done = BTreeSet::new();
        for m in graph.keys() {
            if let Some(cycle) = visit(m, &graph, &mut Vec::new(), &mut done) {
                panic!(
                    "import cycle between top-level modules: {}",
                    cycle.join(" -> ")
                );
            }
        }
    }

    #[test]
    fn no_source_file_is_too_long_to_read() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let long: Vec<String> = files
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                let lines = text
                    .lines()
                    .take_while(|l| l.trim() != "#[cfg(test)]")
                    .count();
                (f, lines)
            })
            .filter(|(_, n)| *n > MAX_LINES)
            .map(|(f, n)| format!("{} ({n} lines)", f.display()))
            .collect();
        assert!(
            long.is_empty(),
            "files over {MAX_LINES} lines before their tests: {long:?}"
        );
    }

    #[test]
    fn the_cycle_check_sees_grouped_imports() {
        let mut named = BTreeSet::new();
        named_modules("use crate::{http::AppState, store::Store};", &mut named);
        named_modules("let x = crate::keys::sealing::KEK_LEN;", &mut named);
        assert_eq!(
            named.into_iter().collect::<Vec<_>>(),
            ["http", "keys", "store"]
        );
    }
}
