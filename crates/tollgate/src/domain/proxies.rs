//! Which address a request came from, when reverse proxies stand in front (RFC 7239
//! `Forwarded`, or `X-Forwarded-For`).
//!
//! Anyone can write those headers, so they are believed only when the TCP peer is a trusted
//! proxy (RFC 9700 §4.13): then the chain is read from the right, and the first address that
//! is not itself a trusted proxy is the client's. A chain with anything but addresses in it
//! (`unknown`, an obfuscated name, garbage) is ignored as a whole: the peer is then the
//! address, which is no worse than having no proxy at all.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// An address block such as `10.0.0.0/8` or `2001:db8::/32`; a bare address is a block of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let bad = || format!("`{text}` is not an address block such as 10.0.0.0/8 or fd00::/8");
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        if masked(network, prefix) != network {
            return Err(format!(
                "`{text}` has bits set after the prefix; the block is {}/{prefix}",
                masked(network, prefix)
            ));
        }
        Ok(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.network.is_ipv4() && masked(ip, self.prefix) == self.network
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// An IPv4 address written as IPv6 (`::ffff:192.0.2.1`, as a dual-stack socket reports it)
/// is the IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn masked(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// The key an address is limited under: an IPv6 address by its /64, since one host is
/// commonly given a whole /64 and could otherwise take a fresh address per request.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(_) => masked(canonical(ip), 64),
        v4 => v4,
    }
}

/// The proxies whose forwarding headers are believed; none by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<Cidr>);

/// The forwarding headers of a request, as text.
#[derive(Debug, Default)]
pub struct Forwarding<'a> {
    /// Every `Forwarded` field line, in order.
    pub forwarded: Vec<&'a str>,
    /// Every `X-Forwarded-For` field line, in order (used when there is no `Forwarded`).
    pub x_forwarded_for: Vec<&'a str>,
}

impl TrustedProxies {
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy and says who it
    /// forwards for.
    pub fn client(&self, peer: IpAddr, headers: &Forwarding<'_>) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let chain = if headers.forwarded.is_empty() {
            x_forwarded_for(&headers.x_forwarded_for)
        } else {
            forwarded(&headers.forwarded)
        };
        let Some(chain) = chain else {
            return peer;
        };
        let mut client = peer;
        for hop in chain.into_iter().rev() {
            client = canonical(hop);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The `for=` addresses of RFC 7239 `Forwarded` lines, or `None` if any element lacks one or
/// names no address.
fn forwarded(lines: &[&str]) -> Option<Vec<IpAddr>> {
    let mut chain = Vec::new();
    for element in lines.iter().flat_map(|l| l.split(',')) {
        let mut found = None;
        for pair in element.split(';') {
            let (name, value) = pair.split_once('=')?;
            if name.trim().eq_ignore_ascii_case("for") {
                if found.is_some() {
                    return None;
                }
                found = Some(node(value.trim())?);
            }
        }
        chain.push(found?);
    }
    (!chain.is_empty()).then_some(chain)
}

/// A `Forwarded` node (RFC 7239 §6): `192.0.2.1`, `"192.0.2.1:8080"`, `"[2001:db8::1]"` or
/// `"[2001:db8::1]:8080"`; `unknown` and obfuscated names are not addresses.
fn node(value: &str) -> Option<IpAddr> {
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if let Some(rest) = value.strip_prefix('[') {
        let (v6, port) = rest.split_once(']')?;
        if !(port.is_empty() || port.strip_prefix(':').is_some_and(valid_port)) {
            return None;
        }
        return v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    match value.split_once(':') {
        Some((v4, port)) if valid_port(port) => v4.parse().ok().filter(IpAddr::is_ipv4),
        Some(_) => None,
        None => value.parse().ok(),
    }
}

fn valid_port(port: &str) -> bool {
    port.parse::<u16>().is_ok()
}

/// The addresses of `X-Forwarded-For` lines, or `None` if any entry is not an address.
fn x_forwarded_for(lines: &[&str]) -> Option<Vec<IpAddr>> {
    let chain = lines
        .iter()
        .flat_map(|l| l.split(','))
        .map(|entry| entry.trim().parse::<IpAddr>().ok())
        .collect::<Option<Vec<_>>>()?;
    (!chain.is_empty()).then_some(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted(blocks: &[&str]) -> TrustedProxies {
        TrustedProxies(blocks.iter().map(|b| Cidr::parse(b).unwrap()).collect())
    }

    fn xff<'a>(lines: &[&'a str]) -> Forwarding<'a> {
        Forwarding {
            forwarded: vec![],
            x_forwarded_for: lines.to_vec(),
        }
    }

    fn fwd<'a>(lines: &[&'a str]) -> Forwarding<'a> {
        Forwarding {
            forwarded: lines.to_vec(),
            x_forwarded_for: vec![],
        }
    }

    #[test]
    fn blocks_parse_and_contain() {
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(c.contains(ip("10.1.200.3")));
        assert!(!c.contains(ip("10.2.0.1")));
        assert!(c.contains(ip("::ffff:10.1.0.9")), "an IPv4-mapped peer");
        assert!(!c.contains(ip("::1")));
        let one = Cidr::parse("192.0.2.7").unwrap();
        assert_eq!(one.to_string(), "192.0.2.7/32");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("203.0.113.1"))
        );
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "fd00::/129",
            "example.com",
            "10/8",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let t = trusted(&["10.0.0.0/8"]);
        let spoofed = xff(&["198.51.100.1"]);
        assert_eq!(t.client(ip("203.0.113.9"), &spoofed), ip("203.0.113.9"));
        let spoofed = fwd(&["for=198.51.100.1"]);
        assert_eq!(t.client(ip("203.0.113.9"), &spoofed), ip("203.0.113.9"));
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("10.0.0.1"), &spoofed), ip("10.0.0.1"));
    }

    #[test]
    fn the_rightmost_untrusted_address_is_the_client() {
        let t = trusted(&["10.0.0.0/8"]);
        // The client wrote the first entry itself; only what the proxies added counts.
        let h = xff(&["1.2.3.4, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("198.51.100.7"));
        let h = fwd(&[
            "for=1.2.3.4, for=\"[2001:db8:cafe::17]:4711\";proto=https",
            "For=10.0.0.3;by=10.0.0.1",
        ]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let all_proxies = xff(&["10.0.0.5"]);
        assert_eq!(t.client(ip("10.0.0.1"), &all_proxies), ip("10.0.0.5"));
        assert_eq!(t.client(ip("10.0.0.1"), &xff(&[])), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for() {
        let t = trusted(&["127.0.0.1"]);
        let h = Forwarding {
            forwarded: vec!["for=192.0.2.60;proto=http"],
            x_forwarded_for: vec!["198.51.100.1"],
        };
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("192.0.2.60"));
    }

    #[test]
    fn malformed_chains_are_ignored_whole() {
        let t = trusted(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.1");
        for bad in [
            xff(&["198.51.100.7, not-an-address"]),
            xff(&["198.51.100.7,"]),
            xff(&["198.51.100.7:80"]),
            fwd(&["for=unknown"]),
            fwd(&["for=_hidden, for=198.51.100.7"]),
            fwd(&["proto=https"]),
            fwd(&["for=198.51.100.7;for=1.2.3.4"]),
            fwd(&["for=\"[2001:db8::1\""]),
            fwd(&["for=\"[2001:db8::1]:x\""]),
            fwd(&["garbage"]),
        ] {
            assert_eq!(t.client(peer, &bad), peer, "{bad:?}");
        }
        assert_eq!(
            t.client(peer, &fwd(&["for=\"198.51.100.7:8080\""])),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn ipv6_addresses_are_limited_by_their_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            limit_key(ip("2001:db8:1:2:ffff::9")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:3::1")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(limit_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}
