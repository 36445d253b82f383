//! `/fil/retrieval/transports/1.0.0`: no request; [`QueryResponse`] out.
//!
//! A retrieval client (lassie's direct-provider path, Boost's
//! `TransportsClient`) opens the stream on the provider's on-chain peer and
//! only reads: the provider writes one [`QueryResponse`] and closes. Each
//! [`TransportProtocol`] names a way to retrieve (`"http"`,
//! `"libp2p"` = Graphsync, `"bitswap"`) and the binary multiaddrs to use it
//! at, e.g. `/dns/sp.example.com/tcp/443/https`.
//!
//! Wire form (Curio `market/mk12/legacytypes`, `cbor-gen-for --map-encoding
//! Protocol QueryResponse`; Boost writes the same bytes with go-ipld-prime's
//! DAG-CBOR, whose canonical key order is cbor-gen's):
//!
//! ```text
//! QueryResponse {"Protocols": [Protocol, ...]}
//! Protocol      {"Name": text, "Addresses": [bytes (binary multiaddr), ...]}
//! ```
//!
//! Addresses stay raw bytes, as in Go: a multiaddr with a protocol our
//! `multiaddr` crate lacks (`http-path`) still goes through;
//! [`TransportProtocol::multiaddrs`] parses them when needed.

use libp2p::Multiaddr;

use super::cbor::{Decoder, Encoder, MapWriter};
use super::{CborMap, WireError, decode_nested, wire_message};

/// The `Name` Boost and Curio give HTTP retrieval (trustless gateway and
/// `/piece`).
pub const TRANSPORT_HTTP: &str = "http";
/// The `Name` of Graphsync retrieval over the provider's libp2p host.
pub const TRANSPORT_LIBP2P: &str = "libp2p";
/// The `Name` of Bitswap retrieval.
pub const TRANSPORT_BITSWAP: &str = "bitswap";

/// `types.QueryResponse`: the transports a provider retrieves over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryResponse {
    /// `Protocols`: one entry per transport, in the provider's order.
    pub protocols: Vec<TransportProtocol>,
}

/// `types.Protocol`: one transport and where to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransportProtocol {
    /// `Name`: `"http"`, `"libp2p"` or `"bitswap"` ([`TRANSPORT_HTTP`] ...).
    pub name: String,
    /// `Addresses`: binary multiaddrs, as Go's `Multiaddr.Bytes()`.
    pub addresses: Vec<Vec<u8>>,
}

impl TransportProtocol {
    /// A transport reached at `addrs`.
    pub fn new<'a>(name: &str, addrs: impl IntoIterator<Item = &'a Multiaddr>) -> Self {
        Self {
            name: name.to_owned(),
            addresses: addrs.into_iter().map(Multiaddr::to_vec).collect(),
        }
    }

    /// The addresses as multiaddrs; fails on the first one that does not
    /// parse (or uses a protocol the `multiaddr` crate does not know).
    pub fn multiaddrs(&self) -> Result<Vec<Multiaddr>, libp2p::multiaddr::Error> {
        self.addresses
            .iter()
            .map(|b| Multiaddr::try_from(b.clone()))
            .collect()
    }
}

impl CborMap for QueryResponse {
    const NAME: &'static str = "QueryResponse";

    fn encode(&self, enc: &mut Encoder, path: &str) -> Result<(), WireError> {
        let mut m = MapWriter::new();
        m.field("Protocols", |e| {
            let path = format!("{path}.Protocols");
            e.array(&path, self.protocols.len())?;
            for (i, p) in self.protocols.iter().enumerate() {
                p.encode(e, &format!("{path}.{i}"))?;
            }
            Ok(())
        })?;
        m.finish(enc);
        Ok(())
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, WireError> {
        let mut out = Self::default();
        dec.map(|d, key| {
            match key {
                "Protocols" => out.protocols = d.array(decode_nested)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(out)
    }
}

impl CborMap for TransportProtocol {
    const NAME: &'static str = "Protocol";

    fn encode(&self, enc: &mut Encoder, path: &str) -> Result<(), WireError> {
        let mut m = MapWriter::new();
        m.field("Name", |e| e.text(&format!("{path}.Name"), &self.name))?;
        m.field("Addresses", |e| {
            let path = format!("{path}.Addresses");
            e.array(&path, self.addresses.len())?;
            for (i, a) in self.addresses.iter().enumerate() {
                e.bytes(&format!("{path}.{i}"), a)?;
            }
            Ok(())
        })?;
        m.finish(enc);
        Ok(())
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, WireError> {
        let mut out = Self::default();
        dec.map(|d, key| {
            match key {
                "Name" => out.name = d.text()?,
                "Addresses" => out.addresses = d.array(Decoder::bytes)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(out)
    }
}

wire_message!(QueryResponse);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::wire::WireMessage;

    fn http() -> Multiaddr {
        "/ip4/127.0.0.1/tcp/2347/http".parse().unwrap()
    }

    /// `/ip4/127.0.0.1/tcp/2347/http` by hand: ip4 (0x04) + 4 bytes, tcp
    /// (0x06) + port 0x092b, http (0x01e0 as the varint e0 03).
    const HTTP_MA: [u8; 10] = [0x04, 127, 0, 0, 1, 0x06, 0x09, 0x2b, 0xe0, 0x03];

    /// The bytes cbor-gen writes for
    /// `QueryResponse{Protocols: []Protocol{{Name: "http", Addresses: [][]byte{HTTP_MA}}}}`:
    /// each struct a map, keys in cbor-gen's order (shorter first, so
    /// `Name` before `Addresses`), minimal headers.
    fn go_bytes() -> Vec<u8> {
        let mut b = vec![0xa1]; // map(1)
        b.push(0x69); // text(9)
        b.extend_from_slice(b"Protocols");
        b.push(0x81); // array(1)
        b.push(0xa2); // map(2)
        b.push(0x64); // text(4)
        b.extend_from_slice(b"Name");
        b.push(0x64); // text(4)
        b.extend_from_slice(b"http");
        b.push(0x69); // text(9)
        b.extend_from_slice(b"Addresses");
        b.push(0x81); // array(1)
        b.push(0x4a); // bytes(10)
        b.extend_from_slice(&HTTP_MA);
        b
    }

    #[test]
    fn multiaddr_bytes_match_the_hand_encoding() {
        assert_eq!(http().to_vec(), HTTP_MA);
    }

    #[test]
    fn encodes_the_go_bytes() {
        let r = QueryResponse {
            protocols: vec![TransportProtocol::new(TRANSPORT_HTTP, [&http()])],
        };
        assert_eq!(r.to_cbor().unwrap(), go_bytes());
        assert_eq!(QueryResponse::from_cbor(&go_bytes()).unwrap(), r);
    }

    #[test]
    fn round_trips_several_transports() {
        let p2p: Multiaddr =
            "/ip4/10.0.0.1/tcp/24001/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"
                .parse()
                .unwrap();
        let r = QueryResponse {
            protocols: vec![
                TransportProtocol::new(TRANSPORT_LIBP2P, [&p2p, &http()]),
                TransportProtocol::new(TRANSPORT_HTTP, [&http()]),
                TransportProtocol::new(TRANSPORT_BITSWAP, []),
            ],
        };
        let bytes = r.to_cbor().unwrap();
        let back = QueryResponse::from_cbor(&bytes).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.protocols[0].multiaddrs().unwrap(), vec![p2p, http()]);
        let empty = QueryResponse::default();
        assert_eq!(empty.to_cbor().unwrap(), b"\xa1\x69Protocols\x80");
        assert_eq!(
            QueryResponse::from_cbor(&empty.to_cbor().unwrap()).unwrap(),
            empty
        );
    }

    #[test]
    fn decoding_is_lenient_like_cbor_gen() {
        // Keys in the other order, an unknown key, and a nil slice.
        let mut b = vec![0xa2, 0x65];
        b.extend_from_slice(b"Extra");
        b.push(0x01);
        b.push(0x69);
        b.extend_from_slice(b"Protocols");
        b.extend_from_slice(&[0x81, 0xa2, 0x69]);
        b.extend_from_slice(b"Addresses");
        b.push(0xf6);
        b.push(0x64);
        b.extend_from_slice(b"Name");
        b.push(0x66);
        b.extend_from_slice(b"libp2p");
        let r = QueryResponse::from_cbor(&b).unwrap();
        assert_eq!(
            r.protocols,
            vec![TransportProtocol {
                name: "libp2p".into(),
                addresses: vec![]
            }]
        );
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        let mut b = go_bytes();
        // The address becomes a text string.
        let at = b.len() - HTTP_MA.len() - 1;
        b[at] = 0x6a;
        let err = QueryResponse::from_cbor(&b).unwrap_err().to_string();
        assert!(
            err.contains("QueryResponse.Protocols.0.Addresses.0"),
            "{err}"
        );
        let err = QueryResponse::from_cbor(&go_bytes()[..20])
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn too_many_addresses_are_refused_on_encode() {
        let r = QueryResponse {
            protocols: vec![TransportProtocol {
                name: "http".into(),
                addresses: vec![Vec::new(); 8193],
            }],
        };
        let err = r.to_cbor().unwrap_err().to_string();
        assert!(err.contains("QueryResponse.Protocols.0.Addresses"), "{err}");
    }
}
