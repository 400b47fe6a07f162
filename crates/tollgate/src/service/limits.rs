//! The rate limits of this node: token buckets on the endpoints clients call (per client id
//! and per address) and on console sign-in (per account and per address), and the backoff
//! of failed client authentications. Nothing is shared between nodes: each node enforces its
//! own limits.
//!
//! Client ids and accounts are keyed by a keyed hash of what the request carries, so a key
//! costs the same few bytes however long the id an attacker sends, and an IPv6 address by its
//! /64 ([`proxies::limit_key`]).

use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::domain::backoff::{FORGET_AFTER_SECS, Limits, Shared};
use crate::domain::limits::{Bucket, Rate, Refusal};
use crate::domain::proxies::{self, TrustedProxies};

/// How often the keys of full buckets are forgotten: often enough that a flood of invented
/// client ids holds memory for seconds, not minutes.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// The limits as configured; `config::limits` declares the settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitSettings {
    pub token_client: Rate,
    pub token_address: Rate,
    /// Introspection and revocation.
    pub introspect_client: Rate,
    pub introspect_address: Rate,
    pub signin_account: Rate,
    pub signin_address: Rate,
    /// Failed client authentications per client id; `max_wait_secs == 0` turns it off.
    pub client_failures: Limits,
    pub address_failures: Limits,
    pub trusted_proxies: TrustedProxies,
}

impl Default for LimitSettings {
    /// The defaults `config::limits` declares (a test there checks that they agree).
    fn default() -> Self {
        let rate = |count, per_secs, burst| Rate {
            count,
            per_secs,
            burst,
        };
        LimitSettings {
            token_client: rate(20, 1, 40),
            token_address: rate(200, 1, 400),
            introspect_client: rate(1000, 1, 2000),
            introspect_address: rate(2000, 1, 4000),
            signin_account: rate(10, 60, 10),
            signin_address: rate(60, 60, 30),
            client_failures: Limits {
                free: 5,
                max_wait_secs: 60,
            },
            address_failures: Limits {
                free: 20,
                max_wait_secs: 900,
            },
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// The endpoints a client calls with its credentials, by the limits they share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientEndpoint {
    Token,
    /// Introspection and revocation.
    Introspection,
}

/// What a limit is kept per, for the refusal counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    TokenClient,
    TokenAddress,
    IntrospectClient,
    IntrospectAddress,
    SigninAccount,
    SigninAddress,
    ClientFailures,
    AddressFailures,
}

impl LimitKind {
    pub const ALL: [LimitKind; 8] = [
        LimitKind::TokenClient,
        LimitKind::TokenAddress,
        LimitKind::IntrospectClient,
        LimitKind::IntrospectAddress,
        LimitKind::SigninAccount,
        LimitKind::SigninAddress,
        LimitKind::ClientFailures,
        LimitKind::AddressFailures,
    ];

    /// The policy's name in the `RateLimit-Policy` header, and a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::TokenClient => "token-client",
            LimitKind::TokenAddress => "token-address",
            LimitKind::IntrospectClient => "introspect-client",
            LimitKind::IntrospectAddress => "introspect-address",
            LimitKind::SigninAccount => "signin-account",
            LimitKind::SigninAddress => "signin-address",
            LimitKind::ClientFailures => "client-failures",
            LimitKind::AddressFailures => "address-failures",
        }
    }
}

/// A request let through to client authentication, and the keys its outcome counts under.
#[derive(Clone, Copy, Debug)]
pub struct Admitted {
    client: u64,
    address: Option<IpAddr>,
}

#[derive(Debug)]
pub struct RateLimits {
    token_client: Bucket<u64>,
    token_address: Bucket<IpAddr>,
    introspect_client: Bucket<u64>,
    introspect_address: Bucket<IpAddr>,
    signin_account: Bucket<u64>,
    signin_address: Bucket<IpAddr>,
    client_failures: Shared<u64>,
    address_failures: Shared<IpAddr>,
    client_limits: Limits,
    address_limits: Limits,
    client_backoffs: AtomicU64,
    address_backoffs: AtomicU64,
    trusted_proxies: TrustedProxies,
    hasher: RandomState,
    clock: Arc<dyn Clock>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::new(LimitSettings::default(), Arc::new(SystemClock))
    }
}

impl RateLimits {
    pub fn new(s: LimitSettings, clock: Arc<dyn Clock>) -> RateLimits {
        fn bucket<K: Hash + Eq + Clone>(
            kind: LimitKind,
            rate: Rate,
            clock: &Arc<dyn Clock>,
        ) -> Bucket<K> {
            Bucket::new(kind.as_str(), rate, clock.clone())
        }
        RateLimits {
            token_client: bucket(LimitKind::TokenClient, s.token_client, &clock),
            token_address: bucket(LimitKind::TokenAddress, s.token_address, &clock),
            introspect_client: bucket(LimitKind::IntrospectClient, s.introspect_client, &clock),
            introspect_address: bucket(LimitKind::IntrospectAddress, s.introspect_address, &clock),
            signin_account: bucket(LimitKind::SigninAccount, s.signin_account, &clock),
            signin_address: bucket(LimitKind::SigninAddress, s.signin_address, &clock),
            client_failures: Shared::default(),
            address_failures: Shared::default(),
            client_limits: s.client_failures,
            address_limits: s.address_failures,
            client_backoffs: AtomicU64::new(0),
            address_backoffs: AtomicU64::new(0),
            trusted_proxies: s.trusted_proxies,
            hasher: RandomState::new(),
            clock,
        }
    }

    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.trusted_proxies
    }

    /// A request to a client endpoint, before its secret is looked at: refused while the
    /// address or the client id is over its rate, or backing off after failures.
    pub fn admit_client(
        &self,
        endpoint: ClientEndpoint,
        client_id: &str,
        address: Option<IpAddr>,
    ) -> Result<Admitted, Refusal> {
        let (per_client, per_address) = match endpoint {
            ClientEndpoint::Token => (&self.token_client, &self.token_address),
            ClientEndpoint::Introspection => (&self.introspect_client, &self.introspect_address),
        };
        let address = address.map(proxies::limit_key);
        if let Some(a) = &address {
            per_address.check(a)?;
        }
        let client = self.hasher.hash_one(client_id);
        per_client.check(&client)?;
        let now = self.clock.now();
        let backoff = |wait: u64, kind: LimitKind, limits: Limits, count: &AtomicU64| {
            if wait == 0 {
                return Ok(());
            }
            count.fetch_add(1, Ordering::Relaxed);
            Err(Refusal {
                policy: kind.as_str(),
                quota: limits.free,
                window_secs: FORGET_AFTER_SECS,
                retry_after_secs: wait,
            })
        };
        if self.client_limits.max_wait_secs > 0 {
            let wait = self.client_failures.wait(&client, self.client_limits, now);
            backoff(
                wait,
                LimitKind::ClientFailures,
                self.client_limits,
                &self.client_backoffs,
            )?;
        }
        if let (Some(a), true) = (&address, self.address_limits.max_wait_secs > 0) {
            let wait = self.address_failures.wait(a, self.address_limits, now);
            backoff(
                wait,
                LimitKind::AddressFailures,
                self.address_limits,
                &self.address_backoffs,
            )?;
        }
        Ok(Admitted { client, address })
    }

    /// The client's authentication failed: its id and address back off.
    pub fn client_failed(&self, admitted: &Admitted) {
        let now = self.clock.now();
        if self.client_limits.max_wait_secs > 0 {
            self.client_failures
                .fail(&admitted.client, self.client_limits, now);
        }
        if let (Some(a), true) = (&admitted.address, self.address_limits.max_wait_secs > 0) {
            self.address_failures.fail(a, self.address_limits, now);
        }
    }

    /// The client authenticated: its id's failures are forgotten (not its address's, so one
    /// good client cannot wash away the guesses made at others from the same address).
    pub fn client_succeeded(&self, admitted: &Admitted) {
        if self.client_limits.max_wait_secs > 0 {
            self.client_failures.succeed(&admitted.client);
        }
    }

    /// A console sign-in attempt, before the password is looked at.
    pub fn admit_sign_in(&self, email: &str, address: Option<IpAddr>) -> Result<(), Refusal> {
        if let Some(a) = address {
            self.signin_address.check(&proxies::limit_key(a))?;
        }
        let account = self.hasher.hash_one(email.trim().to_lowercase());
        self.signin_account.check(&account)
    }

    /// Requests refused under this kind of limit since the start.
    pub fn refusals(&self, kind: LimitKind) -> u64 {
        match kind {
            LimitKind::TokenClient => self.token_client.refusals(),
            LimitKind::TokenAddress => self.token_address.refusals(),
            LimitKind::IntrospectClient => self.introspect_client.refusals(),
            LimitKind::IntrospectAddress => self.introspect_address.refusals(),
            LimitKind::SigninAccount => self.signin_account.refusals(),
            LimitKind::SigninAddress => self.signin_address.refusals(),
            LimitKind::ClientFailures => self.client_backoffs.load(Ordering::Relaxed),
            LimitKind::AddressFailures => self.address_backoffs.load(Ordering::Relaxed),
        }
    }

    /// Forgets the keys with nothing left to remember.
    pub fn sweep(&self) {
        self.token_client.sweep();
        self.token_address.sweep();
        self.introspect_client.sweep();
        self.introspect_address.sweep();
        self.signin_account.sweep();
        self.signin_address.sweep();
        let now = self.clock.now();
        self.client_failures.sweep(now);
        self.address_failures.sweep(now);
    }

    /// Sweeps every [`SWEEP_EVERY`] for as long as the limits are in use.
    pub fn spawn_sweeper(self: &Arc<Self>) {
        let limits: Weak<RateLimits> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match limits.upgrade() {
                    Some(l) => l.sweep(),
                    None => break,
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, UnixTime};

    fn settings() -> LimitSettings {
        LimitSettings {
            token_client: Rate::parse("1/min burst 2").unwrap(),
            token_address: Rate::parse("1/min burst 5").unwrap(),
            client_failures: Limits {
                free: 2,
                max_wait_secs: 60,
            },
            address_failures: Limits {
                free: 3,
                max_wait_secs: 600,
            },
            ..LimitSettings::default()
        }
    }

    fn limits(s: LimitSettings) -> (RateLimits, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(UnixTime(1_000)));
        (RateLimits::new(s, clock.clone()), clock)
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_client_and_the_address_have_buckets_of_their_own() {
        let (l, _) = limits(settings());
        let token = ClientEndpoint::Token;
        l.admit_client(token, "a", ip("192.0.2.1")).unwrap();
        l.admit_client(token, "a", ip("192.0.2.1")).unwrap();
        let r = l.admit_client(token, "a", ip("192.0.2.1")).unwrap_err();
        assert_eq!((r.policy, r.quota, r.window_secs), ("token-client", 2, 120));
        assert_eq!(l.refusals(LimitKind::TokenClient), 1);
        l.admit_client(token, "b", ip("192.0.2.1")).unwrap();
        l.admit_client(token, "b", ip("192.0.2.1")).unwrap();
        let r = l.admit_client(token, "c", ip("192.0.2.1")).unwrap_err();
        assert_eq!(r.policy, "token-address", "five from one address");
        l.admit_client(token, "c", ip("192.0.2.2")).unwrap();
        l.admit_client(ClientEndpoint::Introspection, "a", ip("192.0.2.1"))
            .expect("introspection is limited apart");
    }

    #[test]
    fn failures_back_off_the_client_until_the_wait_is_over() {
        let (l, clock) = limits(LimitSettings {
            token_client: Rate::OFF,
            token_address: Rate::OFF,
            ..settings()
        });
        let token = ClientEndpoint::Token;
        for _ in 0..2 {
            let a = l.admit_client(token, "a", ip("192.0.2.1")).unwrap();
            l.client_failed(&a);
        }
        let r = l.admit_client(token, "a", ip("192.0.2.1")).unwrap_err();
        assert_eq!((r.policy, r.retry_after_secs), ("client-failures", 1));
        let r = l.admit_client(token, "a", ip("192.0.2.9")).unwrap_err();
        assert_eq!(r.policy, "client-failures", "from any address");
        clock.advance(1);
        let a = l.admit_client(token, "a", ip("192.0.2.1")).unwrap();
        l.client_failed(&a);
        clock.advance(1);
        let r = l.admit_client(token, "a", ip("192.0.2.1")).unwrap_err();
        assert_eq!(
            r.retry_after_secs, 1,
            "2 s after the third failure: doubled"
        );
        clock.advance(1);
        let a = l.admit_client(token, "a", ip("192.0.2.1")).unwrap();
        l.client_succeeded(&a);
        l.admit_client(token, "a", ip("192.0.2.1"))
            .expect("a success forgets");
        let a = l.admit_client(token, "z", ip("192.0.2.1")).unwrap();
        l.client_failed(&a);
        let r = l.admit_client(token, "y", ip("192.0.2.1")).unwrap_err();
        assert_eq!(
            r.policy, "address-failures",
            "four failures from that address"
        );
        assert_eq!(r.retry_after_secs, 2);
        assert_eq!(l.refusals(LimitKind::ClientFailures), 3);
        assert_eq!(l.refusals(LimitKind::AddressFailures), 1);
        l.admit_client(token, "z", None)
            .expect("no address known: no address limit");
    }

    #[test]
    fn a_zero_wait_turns_the_backoff_off() {
        let (l, _) = limits(LimitSettings {
            token_client: Rate::OFF,
            token_address: Rate::OFF,
            client_failures: Limits {
                free: 0,
                max_wait_secs: 0,
            },
            address_failures: Limits {
                free: 0,
                max_wait_secs: 0,
            },
            ..settings()
        });
        for _ in 0..50 {
            let a = l
                .admit_client(ClientEndpoint::Token, "a", ip("192.0.2.1"))
                .unwrap();
            l.client_failed(&a);
        }
    }

    #[test]
    fn sign_in_is_limited_per_account_whatever_its_case() {
        let (l, _) = limits(LimitSettings {
            signin_account: Rate::parse("1/min burst 2").unwrap(),
            ..settings()
        });
        l.admit_sign_in("Ada@example.com", ip("192.0.2.1")).unwrap();
        l.admit_sign_in(" ada@example.com", ip("192.0.2.2"))
            .unwrap();
        let r = l
            .admit_sign_in("ada@EXAMPLE.com", ip("192.0.2.3"))
            .unwrap_err();
        assert_eq!(r.policy, "signin-account");
        l.admit_sign_in("bob@example.com", ip("192.0.2.1")).unwrap();
        assert_eq!(l.refusals(LimitKind::SigninAccount), 1);
    }
}
