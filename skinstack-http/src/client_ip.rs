//! Which address a click came from.

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

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
