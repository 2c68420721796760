//! The real client's address, for the per-address limits.
//!
//! The peer of the TCP connection is the client unless it is one of the
//! operator's trusted proxies (`--trusted-proxy`). Only then are
//! `X-Forwarded-For` (or `Forwarded: for=`) read, from the right: each proxy
//! appends the address it saw, so the rightmost entry that is not a trusted
//! proxy is the first one nobody we trust can have made up. Anything left of
//! it is the client's own text. As in kanidm's `trust_x_forward_for`, a header
//! from an untrusted peer changes nothing.
//!
//! IPv6 clients are keyed by their /64: one subscriber usually has a whole
//! /64 and could otherwise take a new bucket for every request.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};

/// The operator's reverse proxies (load balancers, TLS fronts).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(nets)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&canonical(ip)))
    }

    /// The client behind `peer`, given the forwarding headers of the request.
    pub fn client(&self, peer: IpAddr, forwarded: Option<&str>, x_forwarded_for: Option<&str>) -> IpAddr {
        if !self.trusts(peer) {
            return canonical(peer);
        }
        let hops: Vec<IpAddr> = match (forwarded, x_forwarded_for) {
            (Some(f), _) => forwarded_for(f),
            (None, Some(x)) => x.split(',').filter_map(|hop| parse_hop(hop.trim())).collect(),
            (None, None) => Vec::new(),
        };
        // A hop that does not parse ends the list we can believe: what is
        // left of it was written by the client.
        hops.into_iter().rev().map(canonical).find(|hop| !self.trusts(*hop)).unwrap_or(canonical(peer))
    }
}

/// The `for=` values of a `Forwarded` header (RFC 7239), in order.
fn forwarded_for(header: &str) -> Vec<IpAddr> {
    header
        .split(',')
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then(|| parse_hop(value.trim().trim_matches('"'))).flatten()
            })
        })
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:567`, `2001:db8::1`, `[2001:db8::1]:567`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    hop.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

/// IPv4-mapped IPv6 addresses are the IPv4 address they map.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The bucket of a client: its IPv4 address, or its IPv6 /64.
pub fn rate_limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::new(vec!["127.0.0.1/32".parse().unwrap(), "10.0.0.0/8".parse().unwrap()])
    }

    #[test]
    fn headers_from_an_untrusted_peer_change_nothing() {
        let p = proxies();
        assert_eq!(p.client(ip("203.0.113.7"), None, Some("198.51.100.1")), ip("203.0.113.7"));
        assert_eq!(p.client(ip("203.0.113.7"), Some("for=198.51.100.1"), None), ip("203.0.113.7"));
        assert_eq!(TrustedProxies::default().client(ip("127.0.0.1"), None, Some("198.51.100.1")), ip("127.0.0.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let p = proxies();
        assert_eq!(p.client(ip("127.0.0.1"), None, Some("198.51.100.1")), ip("198.51.100.1"));
        // The client wrote the left part itself: it cannot pick its bucket.
        assert_eq!(p.client(ip("127.0.0.1"), None, Some("6.6.6.6, 198.51.100.1")), ip("198.51.100.1"));
        // Two proxies of ours: the inner one is skipped.
        assert_eq!(p.client(ip("127.0.0.1"), None, Some("198.51.100.1, 10.1.2.3")), ip("198.51.100.1"));
        assert_eq!(p.client(ip("127.0.0.1"), None, Some("garbage, 198.51.100.1:4444")), ip("198.51.100.1"));
        assert_eq!(
            p.client(ip("127.0.0.1"), Some(r#"for=6.6.6.6, for="[2001:db8::1]:80";proto=https"#), None),
            ip("2001:db8::1")
        );
        // Nothing usable: the proxy itself.
        assert_eq!(p.client(ip("127.0.0.1"), None, Some("10.0.0.1")), ip("127.0.0.1"));
        assert_eq!(p.client(ip("127.0.0.1"), None, None), ip("127.0.0.1"));
        assert_eq!(p.client(ip("::ffff:127.0.0.1"), None, Some("198.51.100.1")), ip("198.51.100.1"));
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        assert_eq!(rate_limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(rate_limit_key(ip("2001:db8:1:2:ffff::9")), rate_limit_key(ip("2001:db8:1:2::1")));
        assert_ne!(rate_limit_key(ip("2001:db8:1:3::1")), rate_limit_key(ip("2001:db8:1:2::1")));
        assert_eq!(rate_limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(rate_limit_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}
