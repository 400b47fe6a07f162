//! The limits at the edge: how many connections, how long a client may take to send its
//! headers or wait for an answer, how large the headers may be, and how long a stop waits for
//! requests in flight.

use std::time::Duration;

use super::input::{Given, in_range};
use super::settings::{DefaultValue, Kind, Setting};

/// The read buffer cannot be smaller than one page of headers (the HTTP library's minimum).
const MIN_HEADER_BYTES: usize = 8 * 1024;
const MAX_HEADER_BYTES: usize = 1024 * 1024;
const MAX_CONNECTIONS: usize = 1_000_000;
const MAX_TIMEOUT: u64 = 3600;

/// What the edge settings gave; each has a default, so each is `Some` once parsed.
#[derive(Default)]
pub(super) struct EdgeGiven {
    max_connections: Option<usize>,
    request_timeout: Option<u64>,
    header_read_timeout: Option<u64>,
    max_header_bytes: Option<usize>,
    shutdown_grace: Option<u64>,
}

/// The limits the listener applies to every connection and request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeConfig {
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long a request may take, from its headers to its answer (the body included).
    pub request_timeout: Duration,
    /// How long a client has to send a request's headers, counted from when the connection
    /// opened or its previous answer was sent: it also closes idle keep-alive connections.
    pub header_read_timeout: Duration,
    /// Most bytes of a request line and headers.
    pub max_header_bytes: usize,
    /// How long a stop waits for requests in flight before closing their connections.
    pub shutdown_grace: Duration,
}

impl EdgeGiven {
    pub(super) fn build(self) -> Result<EdgeConfig, (String, String)> {
        let unset = |key: &str| -> (String, String) {
            (
                key.to_owned(),
                "has a default but no value was parsed".into(),
            )
        };
        Ok(EdgeConfig {
            max_connections: self
                .max_connections
                .ok_or_else(|| unset("max_connections"))?,
            request_timeout: Duration::from_secs(
                self.request_timeout
                    .ok_or_else(|| unset("request_timeout"))?,
            ),
            header_read_timeout: Duration::from_secs(
                self.header_read_timeout
                    .ok_or_else(|| unset("header_read_timeout"))?,
            ),
            max_header_bytes: self
                .max_header_bytes
                .ok_or_else(|| unset("max_header_bytes"))?,
            shutdown_grace: Duration::from_secs(
                self.shutdown_grace.ok_or_else(|| unset("shutdown_grace"))?,
            ),
        })
    }
}

fn given(g: &mut Given) -> &mut EdgeGiven {
    &mut g.edge
}

pub(super) static EDGE: &[Setting] = &[
    Setting {
        key: "max_connections",
        kind: Kind::Value,
        default: DefaultValue::Number(10_000),
        meaning: "connections served at once; more wait to be accepted (keep it below the \
                  process's open-file limit)",
        parse: |raw, g| {
            given(g).max_connections = Some(in_range(
                raw.number("")?,
                1..=MAX_CONNECTIONS,
                " connections",
            )?);
            Ok(())
        },
    },
    Setting {
        key: "request_timeout",
        kind: Kind::Value,
        default: DefaultValue::Seconds(30),
        meaning: "seconds a request may take from its headers to its answer, body included; \
                  then a 503 (1 to 3600)",
        parse: |raw, g| {
            given(g).request_timeout = Some(raw.seconds(1..=MAX_TIMEOUT)?);
            Ok(())
        },
    },
    Setting {
        key: "header_read_timeout",
        kind: Kind::Value,
        default: DefaultValue::Seconds(75),
        meaning: "seconds a client has to send a request's headers, counted from when it \
                  connected or got its previous answer, so also how long an idle keep-alive \
                  connection stays open; keep it above a load balancer's idle timeout (1 to 3600)",
        parse: |raw, g| {
            given(g).header_read_timeout = Some(raw.seconds(1..=MAX_TIMEOUT)?);
            Ok(())
        },
    },
    Setting {
        key: "max_header_bytes",
        kind: Kind::Value,
        default: DefaultValue::Number(32_768),
        meaning: "most bytes of a request line and headers; more is answered 431 (8192 to \
                  1048576)",
        parse: |raw, g| {
            given(g).max_header_bytes = Some(in_range(
                raw.number("")?,
                MIN_HEADER_BYTES..=MAX_HEADER_BYTES,
                " bytes",
            )?);
            Ok(())
        },
    },
    Setting {
        key: "shutdown_grace",
        kind: Kind::Value,
        default: DefaultValue::Seconds(10),
        meaning: "seconds a stop (SIGTERM) waits for requests in flight before closing their \
                  connections (0 to 3600)",
        parse: |raw, g| {
            given(g).shutdown_grace = Some(raw.seconds(0..=MAX_TIMEOUT)?);
            Ok(())
        },
    },
];

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_sources(None, env(&[])).unwrap().edge;
        assert_eq!(c.max_connections, 10_000);
        assert_eq!(c.request_timeout.as_secs(), 30);
        assert_eq!(c.header_read_timeout.as_secs(), 75);
        assert_eq!(c.max_header_bytes, 32_768);
        assert_eq!(c.shutdown_grace.as_secs(), 10);
        let c = Config::from_sources(
            None,
            env(&[
                ("TOLLGATE_MAX_CONNECTIONS", "3"),
                ("TOLLGATE_SHUTDOWN_GRACE", "0"),
                ("TOLLGATE_MAX_HEADER_BYTES", "8192"),
            ]),
        )
        .unwrap()
        .edge;
        assert_eq!(c.max_connections, 3);
        assert_eq!(c.shutdown_grace.as_secs(), 0);
        assert_eq!(c.max_header_bytes, 8192);
    }

    #[test]
    fn out_of_range_values_name_the_setting() {
        for (var, value) in [
            ("TOLLGATE_MAX_CONNECTIONS", "0"),
            ("TOLLGATE_REQUEST_TIMEOUT", "0"),
            ("TOLLGATE_HEADER_READ_TIMEOUT", "soon"),
            ("TOLLGATE_MAX_HEADER_BYTES", "4096"),
            ("TOLLGATE_SHUTDOWN_GRACE", "3601"),
        ] {
            let err = Config::from_sources(None, env(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(var), "{var}={value}: {err}");
        }
    }
}
