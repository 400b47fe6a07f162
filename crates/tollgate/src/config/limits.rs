//! The settings of the rate limits, the backoff of failed client authentications and the
//! trusted proxies (see docs/deploy.md, "Rate limits").

use super::input::{Given, Raw};
use super::settings::{DefaultValue, Kind, Setting};
use crate::domain::backoff::Limits;
use crate::domain::limits::Rate;
use crate::domain::proxies::{Cidr, TrustedProxies};
use crate::service::limits::LimitSettings;

/// The longest backoff a setting may ask for: a day.
const MAX_BACKOFF: u64 = 86_400;

/// What the limits' settings gave; every one has a default.
#[derive(Default)]
pub(super) struct LimitsGiven {
    token_client: Option<Rate>,
    token_address: Option<Rate>,
    introspect_client: Option<Rate>,
    introspect_address: Option<Rate>,
    signin_account: Option<Rate>,
    signin_address: Option<Rate>,
    client_free: Option<u32>,
    client_max_wait: Option<u64>,
    address_free: Option<u32>,
    address_max_wait: Option<u64>,
    trusted_proxies: Vec<Cidr>,
}

impl LimitsGiven {
    pub(super) fn build(self) -> LimitSettings {
        let d = LimitSettings::default();
        LimitSettings {
            token_client: self.token_client.unwrap_or(d.token_client),
            token_address: self.token_address.unwrap_or(d.token_address),
            introspect_client: self.introspect_client.unwrap_or(d.introspect_client),
            introspect_address: self.introspect_address.unwrap_or(d.introspect_address),
            signin_account: self.signin_account.unwrap_or(d.signin_account),
            signin_address: self.signin_address.unwrap_or(d.signin_address),
            client_failures: Limits {
                free: self.client_free.unwrap_or(d.client_failures.free),
                max_wait_secs: self
                    .client_max_wait
                    .unwrap_or(d.client_failures.max_wait_secs),
            },
            address_failures: Limits {
                free: self.address_free.unwrap_or(d.address_failures.free),
                max_wait_secs: self
                    .address_max_wait
                    .unwrap_or(d.address_failures.max_wait_secs),
            },
            trusted_proxies: TrustedProxies(self.trusted_proxies),
        }
    }
}

fn given(g: &mut Given) -> &mut LimitsGiven {
    &mut g.limits
}

fn rate(raw: &Raw) -> Result<Rate, String> {
    Rate::parse(raw.text()?)
}

pub(super) static LIMITS: &[Setting] = &[
    Setting {
        key: "rate_limit_token_client",
        kind: Kind::Value,
        default: DefaultValue::Text("20/s burst 40"),
        meaning: "token requests per client id, per node: `N/s`, `N/min` or `N/h`, optionally \
                  `burst M`; `0` turns it off (docs/deploy.md#rate-limits)",
        parse: |raw, g| {
            given(g).token_client = Some(rate(raw)?);
            Ok(())
        },
    },
    Setting {
        key: "rate_limit_token_address",
        kind: Kind::Value,
        default: DefaultValue::Text("200/s burst 400"),
        meaning: "token requests per client address (an IPv6 address by its /64), per node",
        parse: |raw, g| {
            given(g).token_address = Some(rate(raw)?);
            Ok(())
        },
    },
    Setting {
        key: "rate_limit_introspection_client",
        kind: Kind::Value,
        default: DefaultValue::Text("1000/s burst 2000"),
        meaning: "introspection and revocation requests per client id, per node",
        parse: |raw, g| {
            given(g).introspect_client = Some(rate(raw)?);
            Ok(())
        },
    },
    Setting {
        key: "rate_limit_introspection_address",
        kind: Kind::Value,
        default: DefaultValue::Text("2000/s burst 4000"),
        meaning: "introspection and revocation requests per client address, per node",
        parse: |raw, g| {
            given(g).introspect_address = Some(rate(raw)?);
            Ok(())
        },
    },
    Setting {
        key: "rate_limit_sign_in_account",
        kind: Kind::Value,
        default: DefaultValue::Text("10/min"),
        meaning: "console sign-in attempts per email address typed, per node",
        parse: |raw, g| {
            given(g).signin_account = Some(rate(raw)?);
            Ok(())
        },
    },
    Setting {
        key: "rate_limit_sign_in_address",
        kind: Kind::Value,
        default: DefaultValue::Text("60/min burst 30"),
        meaning: "console sign-in attempts per client address, per node",
        parse: |raw, g| {
            given(g).signin_address = Some(rate(raw)?);
            Ok(())
        },
    },
    Setting {
        key: "client_auth_free_failures",
        kind: Kind::Value,
        default: DefaultValue::Number(5),
        meaning: "failed client authentications per client id before it backs off \
                  (1 s, doubling per failure)",
        parse: |raw, g| {
            given(g).client_free = Some(raw.number("")?);
            Ok(())
        },
    },
    Setting {
        key: "client_auth_max_backoff",
        kind: Kind::Value,
        default: DefaultValue::Seconds(60),
        meaning: "seconds a client id backs off at most; `0` turns its backoff off",
        parse: |raw, g| {
            given(g).client_max_wait = Some(raw.seconds(0..=MAX_BACKOFF)?);
            Ok(())
        },
    },
    Setting {
        key: "address_auth_free_failures",
        kind: Kind::Value,
        default: DefaultValue::Number(20),
        meaning: "failed client authentications per client address before it backs off",
        parse: |raw, g| {
            given(g).address_free = Some(raw.number("")?);
            Ok(())
        },
    },
    Setting {
        key: "address_auth_max_backoff",
        kind: Kind::Value,
        default: DefaultValue::Seconds(900),
        meaning: "seconds a client address backs off at most; `0` turns its backoff off",
        parse: |raw, g| {
            given(g).address_max_wait = Some(raw.seconds(0..=MAX_BACKOFF)?);
            Ok(())
        },
    },
    Setting {
        key: "trusted_proxies",
        kind: Kind::List,
        default: DefaultValue::Derived("none"),
        meaning: "address blocks (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`) of reverse proxies \
                  whose `Forwarded` / `X-Forwarded-For` name the client address",
        parse: |raw, g| {
            given(g).trusted_proxies = raw
                .list()?
                .iter()
                .map(|c| Cidr::parse(c))
                .collect::<Result<_, _>>()?;
            Ok(())
        },
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_defaults_are_the_default_settings() {
        let mut g = Given::default();
        for s in LIMITS {
            if let Some(value) = s.default_value() {
                (s.parse)(&value, &mut g).unwrap();
            }
        }
        assert_eq!(g.limits.build(), LimitSettings::default());
    }

    #[test]
    fn values_are_checked() {
        let parse = |key: &str, value: &str| {
            let s = LIMITS.iter().find(|s| s.key == key).unwrap();
            let mut g = Given::default();
            (s.parse)(&Raw::Text(value.into()), &mut g).map(|()| g.limits.build())
        };
        let l = parse("rate_limit_token_client", "0").unwrap();
        assert!(l.token_client.is_off());
        assert!(parse("rate_limit_token_client", "20 per second").is_err());
        let l = parse("trusted_proxies", "10.0.0.0/8, fd00::/8").unwrap();
        assert_eq!(l.trusted_proxies.0.len(), 2);
        let e = parse("trusted_proxies", "10.0.0.0/8, proxy.internal").unwrap_err();
        assert!(e.contains("proxy.internal"), "{e}");
        assert!(parse("client_auth_max_backoff", "86401").is_err());
    }
}
