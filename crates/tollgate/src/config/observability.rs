//! The operations settings: where Prometheus scrapes metrics, and where traces are sent.

use std::net::SocketAddr;

use url::Url;

use super::input::Given;
use super::settings::{DefaultValue, Kind, Setting};

/// What the observability settings gave.
#[derive(Default)]
pub(super) struct ObservabilityGiven {
    metrics_listen: Option<SocketAddr>,
    otlp_endpoint: Option<Url>,
}

/// Metrics and traces, both off unless configured.
#[derive(Debug, Clone, Default)]
pub struct ObservabilityConfig {
    /// Where `GET /metrics` is served, apart from the main listener.
    pub metrics_listen: Option<SocketAddr>,
    /// The OTLP/HTTP collector's base URL; spans go to `<endpoint>/v1/traces`.
    pub otlp_endpoint: Option<Url>,
}

impl ObservabilityGiven {
    pub(super) fn build(self) -> ObservabilityConfig {
        ObservabilityConfig {
            metrics_listen: self.metrics_listen,
            otlp_endpoint: self.otlp_endpoint,
        }
    }
}

fn given(g: &mut Given) -> &mut ObservabilityGiven {
    &mut g.observability
}

pub(super) static OBSERVABILITY: &[Setting] = &[
    Setting {
        key: "metrics_listen",
        kind: Kind::Value,
        default: DefaultValue::Derived("none (no metrics)"),
        meaning: "address and port of a second listener that serves Prometheus metrics at \
                  `GET /metrics`, such as `127.0.0.1:9464`; keep it off the public network",
        parse: |raw, g| {
            let s = raw.text()?;
            let addr = s
                .trim()
                .parse()
                .map_err(|_| format!("`{s}` is not an address:port such as 127.0.0.1:9464"))?;
            given(g).metrics_listen = Some(addr);
            Ok(())
        },
    },
    Setting {
        key: "otlp_endpoint",
        kind: Kind::Value,
        default: DefaultValue::Derived("none (no traces)"),
        meaning: "an OpenTelemetry collector's OTLP/HTTP base URL, such as \
                  `http://127.0.0.1:4318`: spans of requests and database calls are sent to \
                  its `/v1/traces`",
        parse: |raw, g| {
            let s = raw.text()?.trim();
            let url = Url::parse(s).map_err(|e| format!("`{s}` is not a URL: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err("must be an http or https URL with a host".into());
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err("must not have a query or a fragment".into());
            }
            given(g).otlp_endpoint = Some(url);
            Ok(())
        },
    },
];

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, String> {
        let env = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::from_sources(None, env).map_err(|e| e.to_string())
    }

    #[test]
    fn metrics_and_traces_are_off_by_default() {
        let c = load(&[]).unwrap();
        assert!(c.observability.metrics_listen.is_none());
        assert!(c.observability.otlp_endpoint.is_none());
    }

    #[test]
    fn settings_are_parsed_and_bad_values_named() {
        let c = load(&[
            ("TOLLGATE_METRICS_LISTEN", "127.0.0.1:9464"),
            ("TOLLGATE_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
        ])
        .unwrap();
        assert_eq!(c.observability.metrics_listen.unwrap().port(), 9464);
        assert_eq!(
            c.observability.otlp_endpoint.unwrap().as_str(),
            "http://127.0.0.1:4318/"
        );
        let err = load(&[("TOLLGATE_METRICS_LISTEN", "9464")]).unwrap_err();
        assert!(err.contains("TOLLGATE_METRICS_LISTEN"), "{err}");
        let err = load(&[("TOLLGATE_OTLP_ENDPOINT", "grpc://collector:4317")]).unwrap_err();
        assert!(err.contains("TOLLGATE_OTLP_ENDPOINT"), "{err}");
    }
}
