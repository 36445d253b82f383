//! HTTP endpoints as multiaddrs, text and binary.
//!
//! go-libipni `maurl/convert.go` (`FromURL`) turns `scheme://host:port/path`
//! into `/ip4|ip6|dns/<host>/tcp/<port>/<http|https>/http-path/<escaped>`.
//! go-multiaddr's `http-path` transcoder (`transcoders.go`) keeps the raw
//! path (`/ipni-provider/12D3...`) in the binary form and shows it
//! `url.QueryEscape`d in the text form (`%2Fipni-provider%2F12D3...`).
//! Unlike `FromURL` the port is always written (the scheme's default when
//! the URL has none), as Curio's `FromURLWithPort` does for ad addresses.
//! rust-libp2p's `Multiaddr` (multiaddr 0.18) has no `http-path`, so the few
//! protocols needed are encoded here.

use std::net::IpAddr;

use libp2p::PeerId;
use reqwest::Url;

use super::IpniError;
use super::encoding::put_uvarint;

/// Multiaddr protocol codes (multicodec table).
mod code {
    pub const IP4: u64 = 0x04;
    pub const TCP: u64 = 0x06;
    pub const IP6: u64 = 0x29;
    pub const DNS: u64 = 0x35;
    pub const P2P: u64 = 0x01a5;
    pub const HTTPS: u64 = 0x01bb;
    pub const HTTP: u64 = 0x01e0;
    pub const HTTP_PATH: u64 = 0x01e1;
}

/// An HTTP or HTTPS endpoint: where the provider serves retrievals or its
/// advertisement chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAddr {
    tls: bool,
    host: Host,
    port: u16,
    /// Path without the trailing slash; empty for the root.
    path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    Dns(String),
}

impl HttpAddr {
    /// Parses `http://host[:port][/path]` or `https://...`.
    pub fn from_url(url: &str) -> Result<Self, IpniError> {
        const WHAT: &str = "http url";
        let u = Url::parse(url).map_err(|e| IpniError::malformed(WHAT, e))?;
        let tls = match u.scheme() {
            "http" => false,
            "https" => true,
            other => return Err(IpniError::malformed(WHAT, format!("scheme {other}"))),
        };
        let host = match u.host_str() {
            Some(h) if !h.is_empty() => {
                let bare = h.trim_start_matches('[').trim_end_matches(']');
                match bare.parse::<IpAddr>() {
                    Ok(ip) => Host::Ip(ip),
                    Err(_) => Host::Dns(h.to_owned()),
                }
            }
            _ => return Err(IpniError::malformed(WHAT, "no host")),
        };
        let port = u
            .port_or_known_default()
            .ok_or_else(|| IpniError::malformed(WHAT, "no port"))?;
        Ok(Self {
            tls,
            host,
            port,
            path: u.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The same endpoint with `segment` appended to its path.
    pub fn join(&self, segment: &str) -> Self {
        let mut out = self.clone();
        out.path = format!("{}/{}", self.path, segment.trim_matches('/'));
        out
    }

    /// The URL form, `scheme://host:port/path`.
    pub fn to_url(&self) -> String {
        let host = match &self.host {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
            Host::Ip(ip) => ip.to_string(),
            Host::Dns(d) => d.clone(),
        };
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{host}:{}{}", self.port, self.path)
    }

    /// Text multiaddr, e.g. `/ip4/127.0.0.1/tcp/2347/http`.
    pub fn to_multiaddr_string(&self) -> String {
        let mut s = match &self.host {
            Host::Ip(IpAddr::V4(ip)) => format!("/ip4/{ip}"),
            Host::Ip(IpAddr::V6(ip)) => format!("/ip6/{ip}"),
            Host::Dns(d) => format!("/dns/{d}"),
        };
        s.push_str(&format!("/tcp/{}", self.port));
        s.push_str(if self.tls { "/https" } else { "/http" });
        if !self.path.is_empty() {
            s.push_str("/http-path/");
            s.push_str(&query_escape(&self.path));
        }
        s
    }

    /// Binary multiaddr, optionally ending in `/p2p/<peer>` (what go-libipni's
    /// HTTP announce sender appends to every address).
    pub fn to_multiaddr_bytes(&self, peer: Option<&PeerId>) -> Vec<u8> {
        let mut b = Vec::with_capacity(64);
        match &self.host {
            Host::Ip(IpAddr::V4(ip)) => {
                put_uvarint(&mut b, code::IP4);
                b.extend(ip.octets());
            }
            Host::Ip(IpAddr::V6(ip)) => {
                put_uvarint(&mut b, code::IP6);
                b.extend(ip.octets());
            }
            Host::Dns(d) => {
                put_uvarint(&mut b, code::DNS);
                put_uvarint(&mut b, d.len() as u64);
                b.extend_from_slice(d.as_bytes());
            }
        }
        put_uvarint(&mut b, code::TCP);
        b.extend(self.port.to_be_bytes());
        put_uvarint(&mut b, if self.tls { code::HTTPS } else { code::HTTP });
        if !self.path.is_empty() {
            put_uvarint(&mut b, code::HTTP_PATH);
            put_uvarint(&mut b, self.path.len() as u64);
            b.extend_from_slice(self.path.as_bytes());
        }
        if let Some(peer) = peer {
            let id = peer.to_bytes();
            put_uvarint(&mut b, code::P2P);
            put_uvarint(&mut b, id.len() as u64);
            b.extend(id);
        }
        b
    }
}

/// Go's `url.QueryEscape`: keeps ASCII letters, digits and `-_.~`, writes a
/// space as `+` and every other byte (`/` included) as upper-case `%XX`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        let a = HttpAddr::from_url("http://127.0.0.1:2347").unwrap();
        assert_eq!(a.to_multiaddr_string(), "/ip4/127.0.0.1/tcp/2347/http");
        let b = HttpAddr::from_url("https://sp.example.com/").unwrap();
        assert_eq!(b.to_multiaddr_string(), "/dns/sp.example.com/tcp/443/https");
        let c = b.join("ipni-provider").join("12D3KooWAbc");
        assert_eq!(
            c.to_multiaddr_string(),
            "/dns/sp.example.com/tcp/443/https/http-path/%2Fipni-provider%2F12D3KooWAbc"
        );
        assert_eq!(
            c.to_url(),
            "https://sp.example.com:443/ipni-provider/12D3KooWAbc"
        );
        let d = HttpAddr::from_url("http://[::1]:80").unwrap();
        assert_eq!(d.to_multiaddr_string(), "/ip6/::1/tcp/80/http");
        assert!(HttpAddr::from_url("ftp://x").is_err());
    }

    #[test]
    fn bytes_agree_with_rust_multiaddr_where_it_can_say() {
        let key = libp2p::identity::Keypair::generate_ed25519();
        let peer = key.public().to_peer_id();
        for url in [
            "http://127.0.0.1:2347",
            "https://sp.example.com",
            "http://[::1]:8080",
        ] {
            let a = HttpAddr::from_url(url).unwrap();
            let text = format!("{}/p2p/{peer}", a.to_multiaddr_string());
            let ma: libp2p::Multiaddr = text.parse().unwrap();
            assert_eq!(ma.to_vec(), a.to_multiaddr_bytes(Some(&peer)), "{url}");
        }
    }

    #[test]
    fn http_path_component_bytes() {
        let a = HttpAddr::from_url("http://127.0.0.1:80/a").unwrap();
        let b = a.to_multiaddr_bytes(None);
        // ... 0xe0 0x03 (http), 0xe1 0x03 (http-path), len 2, the raw "/a"
        assert_eq!(&b[b.len() - 7..], &[0xe0, 0x03, 0xe1, 0x03, 2, b'/', b'a']);
        assert!(a.to_multiaddr_string().ends_with("/http/http-path/%2Fa"));
    }
}
