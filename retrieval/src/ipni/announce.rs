//! Telling indexers that the head moved.
//!
//! go-libipni `announce/message` (encoding as storetheindex's hand-adapted
//! cbor-gen `cbor_message.go`) and `announce/httpsender/sender.go`:
//!
//! - body: a CBOR array `[Cid, Addrs, ExtraData]`, or with a fourth text
//!   element `OrigPeer` only when set (indexers re-publishing set it). `Cid`
//!   is a tag-42 link, `Addrs` a list of binary multiaddrs, `ExtraData` bytes
//!   (empty here).
//! - each address ends in `/p2p/<publisher peer id>`: the HTTP sender appends
//!   it, since over HTTP it is the only way to name the publisher.
//! - `PUT` to the indexer's announce URL (`/announce` when the URL has no
//!   path; cid.contact's is `/ingest/announce`) with
//!   `Content-Type: application/octet-stream`; 200 and 204 mean accepted.

use cid::Cid;
use libp2p::PeerId;

use super::encoding::{
    cbor_bytes, cbor_cid, cbor_head, cbor_text, cid_from_cbor, decode_cbor, major,
};
use super::{HttpAddr, IpniError};

/// `Content-Type` of a CBOR announce.
pub const ANNOUNCE_CONTENT_TYPE: &str = "application/octet-stream";
/// Path used when an indexer URL has none (`httpsender.DefaultAnnouncePath`).
pub const ANNOUNCE_PATH: &str = "/announce";

/// An announce message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceMessage {
    /// The new head advertisement.
    pub cid: Cid,
    /// Binary multiaddrs of the publisher, each ending in `/p2p/<peer>`.
    pub addrs: Vec<Vec<u8>>,
    /// Opaque data for particular indexers; empty by default.
    pub extra_data: Vec<u8>,
    /// Set only by indexers that relay announces.
    pub orig_peer: Option<String>,
}

impl AnnounceMessage {
    /// Announces `head`, fetchable from `publisher` (the base URL the
    /// indexer appends `/ipni/v1/ad/...` to, for Curio-style routes
    /// `https://host/ipni-provider/{peer}`), published by `peer`.
    pub fn new(head: Cid, publisher: &HttpAddr, peer: &PeerId) -> Self {
        Self {
            cid: head,
            addrs: vec![publisher.to_multiaddr_bytes(Some(peer))],
            extra_data: Vec::new(),
            orig_peer: None,
        }
    }

    /// The CBOR body.
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(128);
        cbor_head(
            &mut b,
            major::ARRAY,
            if self.orig_peer.is_some() { 4 } else { 3 },
        );
        cbor_cid(&mut b, &self.cid);
        cbor_head(&mut b, major::ARRAY, self.addrs.len() as u64);
        for a in &self.addrs {
            cbor_bytes(&mut b, a);
        }
        cbor_bytes(&mut b, &self.extra_data);
        if let Some(p) = &self.orig_peer {
            cbor_text(&mut b, p);
        }
        b
    }

    /// Decodes a CBOR announce body.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, IpniError> {
        const WHAT: &str = "announce message";
        let v = decode_cbor(bytes, WHAT)?;
        let items = v
            .as_array()
            .filter(|a| a.len() == 3 || a.len() == 4)
            .ok_or_else(|| IpniError::malformed(WHAT, "expected a 3- or 4-element array"))?;
        let addrs = items[1]
            .as_array()
            .ok_or_else(|| IpniError::malformed(WHAT, "Addrs is not a list"))?
            .iter()
            .map(|a| {
                a.as_bytes()
                    .cloned()
                    .ok_or_else(|| IpniError::malformed(WHAT, "address is not bytes"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            cid: cid_from_cbor(&items[0], WHAT)?,
            addrs,
            extra_data: items[2]
                .as_bytes()
                .cloned()
                .ok_or_else(|| IpniError::malformed(WHAT, "ExtraData is not bytes"))?,
            orig_peer: match items.get(3) {
                Some(p) => Some(
                    p.as_text()
                        .ok_or_else(|| IpniError::malformed(WHAT, "OrigPeer is not text"))?
                        .to_owned(),
                ),
                None => None,
            },
        })
    }
}

/// The URL to `PUT` announces to: `indexer` itself, or `indexer/announce`
/// when it has no path.
pub fn announce_url(indexer: &str) -> Result<reqwest::Url, IpniError> {
    let mut url =
        reqwest::Url::parse(indexer).map_err(|e| IpniError::malformed("indexer url", e))?;
    if url.path().is_empty() || url.path() == "/" {
        url.set_path(ANNOUNCE_PATH);
    }
    Ok(url)
}

/// Sends `msg` to one indexer, as go-libipni's HTTP sender does.
pub async fn announce(
    client: &reqwest::Client,
    indexer_url: &str,
    msg: &AnnounceMessage,
) -> Result<(), IpniError> {
    let url = announce_url(indexer_url)?;
    let failed = |detail: String| IpniError::Announce {
        url: url.to_string(),
        detail,
    };
    let resp = client
        .put(url.clone())
        .header(reqwest::header::CONTENT_TYPE, ANNOUNCE_CONTENT_TYPE)
        .body(msg.to_cbor())
        .send()
        .await
        .map_err(|e| failed(format!("{e:#}")))?;
    let status = resp.status();
    if status == reqwest::StatusCode::OK || status == reqwest::StatusCode::NO_CONTENT {
        return Ok(());
    }
    let body = resp.text().await.unwrap_or_default();
    Err(failed(format!("{status}: {}", body.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::identity::Keypair;

    #[test]
    fn three_elements_without_orig_peer() {
        let peer = Keypair::generate_ed25519().public().to_peer_id();
        let head = crate::ipni::sha256_cid(crate::ipni::DAG_JSON, b"ad");
        let publisher = HttpAddr::from_url("https://sp.example.com")
            .unwrap()
            .join(&crate::ipni::provider_path(&peer));
        let msg = AnnounceMessage::new(head, &publisher, &peer);
        let b = msg.to_cbor();
        assert_eq!(b[0], 0x83);
        assert_eq!(&b[1..3], &[0xd8, 0x2a]);
        assert_eq!(AnnounceMessage::from_cbor(&b).unwrap(), msg);
        // The address decodes with rust-libp2p up to the http-path it lacks,
        // and ends with the peer id.
        assert!(msg.addrs[0].ends_with(&peer.to_bytes()));

        let relayed = AnnounceMessage {
            orig_peer: Some(peer.to_string()),
            ..msg
        };
        let b = relayed.to_cbor();
        assert_eq!(b[0], 0x84);
        assert_eq!(AnnounceMessage::from_cbor(&b).unwrap(), relayed);
    }

    #[test]
    fn announce_urls() {
        assert_eq!(
            announce_url("https://indexer.example").unwrap().as_str(),
            "https://indexer.example/announce"
        );
        assert_eq!(
            announce_url("https://indexer.example/ingest/announce")
                .unwrap()
                .as_str(),
            "https://indexer.example/ingest/announce"
        );
        assert!(announce_url("not a url").is_err());
    }
}
