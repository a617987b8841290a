//! Which address a click came from.

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The key every per-address limiter counts `ip` under: an IPv4 address as it is (an
/// IPv4-mapped IPv6 address as its IPv4 address), an IPv6 address by its /64. One IPv6
/// subscriber, or one cloud VM, is handed a whole /64 and can pick any of its 2^64 addresses
/// per request; counted one by one, they would each get a fresh budget.
pub fn limiter_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !(u128::from(u64::MAX));
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Where the client's address is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientIpSource {
    /// The TCP peer (serve with `into_make_service_with_connect_info::<SocketAddr>()`).
    #[default]
    Peer,
    /// The right-most `X-Forwarded-For` entry, as appended by the one reverse proxy in front of
    /// the server. Only use it behind such a proxy: otherwise a client can claim any address.
    RightmostForwardedFor,
}

impl ClientIpSource {
    /// The client's address, if it can be known.
    pub fn client_ip(
        self,
        headers: &HeaderMap,
        peer: Option<&ConnectInfo<SocketAddr>>,
    ) -> Option<IpAddr> {
        match self {
            ClientIpSource::Peer => peer.map(|ConnectInfo(addr)| addr.ip()),
            ClientIpSource::RightmostForwardedFor => headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|ip| ip.trim().parse().ok())
                .or_else(|| peer.map(|ConnectInfo(addr)| addr.ip())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ip: &str) -> IpAddr {
        limiter_key(ip.parse().unwrap())
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_key_and_ipv4_addresses_keep_their_own() {
        assert_eq!(
            key("2001:db8:1:2:aaaa::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), key("2001:db8:1:2::"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("2001:db8:1:2:3:4:5:6").to_string(), "2001:db8:1:2::");
        assert_eq!(key("203.0.113.9").to_string(), "203.0.113.9");
        assert_ne!(key("203.0.113.9"), key("203.0.113.10"));
        // The same IPv4 client reached over a dual-stack socket is the same client.
        assert_eq!(key("::ffff:203.0.113.9"), key("203.0.113.9"));
    }

    #[test]
    fn peer_ignores_forwarded_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "1.2.3.4".parse().unwrap());
        let peer = ConnectInfo("10.0.0.7:5555".parse::<SocketAddr>().unwrap());
        assert_eq!(
            ClientIpSource::Peer.client_ip(&headers, Some(&peer)),
            Some("10.0.0.7".parse().unwrap())
        );
        assert_eq!(ClientIpSource::Peer.client_ip(&headers, None), None);
    }

    #[test]
    fn forwarded_for_takes_the_entry_the_proxy_appended() {
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "6.6.6.6, 203.0.113.9".parse().unwrap());
        let peer = ConnectInfo("10.0.0.7:5555".parse::<SocketAddr>().unwrap());
        let source = ClientIpSource::RightmostForwardedFor;
        assert_eq!(
            source.client_ip(&headers, Some(&peer)),
            Some("203.0.113.9".parse().unwrap())
        );
        assert_eq!(
            source.client_ip(&HeaderMap::new(), Some(&peer)),
            Some("10.0.0.7".parse().unwrap())
        );
    }
}
