//! What the HTTP publisher answers; the daemon mounts these on axum.
//!
//! Routes (Curio `market/ipni/ipni-provider/ipni-provider.go`):
//! `GET /ipni-provider/{peerId}/ipni/v1/ad/head` and
//! `GET /ipni-provider/{peerId}/ipni/v1/ad/{cid}`; the announced publisher
//! address carries the `/ipni-provider/{peerId}` prefix as its http-path and
//! the indexer appends `/ipni/v1/ad/...` (IPNI HTTP provider spec).
//!
//! - head: go-libipni `dagsync/ipnisync/head/signedhead.go`, DAG-JSON
//!   `{"head":<link>,"pubkey":<bytes>,"sig":<bytes>[,"topic":".."]}`; `sig`
//!   is the key's plain signature over the head CID's bytes followed by the
//!   topic, `pubkey` the protobuf public key. No head yet: 204 No Content
//!   (ipnisync `publisher.go`).
//! - blocks: the stored bytes as they are (their CID must match), with
//!   `application/json` for DAG-JSON ads and `application/cbor` for
//!   DAG-CBOR entry chunks (what Curio sends; the spec treats them as the
//!   dag-json and dag-cbor types), and the spec's immutable cache header.
//! - errors, as ipnisync's publisher: a path segment that is not a CID is
//!   400 `invalid request: not a cid`, an unknown CID 404 `cid not found`.
//!   A peer id this publisher does not serve is 404 as well.

use cid::Cid;
use libp2p::PeerId;
use libp2p::identity::{Keypair, PublicKey};

use super::encoding::{bytes_from_json, json_bytes, json_link, json_string, link_from_json};
use super::{AdStore, DAG_CBOR, DAG_JSON, IpniError};

/// The ipnisync path under a publisher address (`ipnisync.IPNIPath`).
pub const IPNI_PATH: &str = "/ipni/v1/ad";
/// `Cache-Control` for the head: always revalidate (IPNI HTTP provider spec).
pub const HEAD_CACHE_CONTROL: &str = "no-cache, no-store, must-revalidate";
/// `Cache-Control` for ads and entries: immutable (IPNI HTTP provider spec).
pub const BLOCK_CACHE_CONTROL: &str = "public, max-age=29030400, immutable";

/// Curio's per-provider path prefix: `/ipni-provider/{peer}`.
pub fn provider_path(peer: &PeerId) -> String {
    format!("/ipni-provider/{peer}")
}

/// A 200 response body with its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPayload {
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Cache-Control`.
    pub cache_control: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

/// Why the publisher does not answer 200.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The chain is empty: 204 with an empty body.
    #[error("no advertisement published yet")]
    NoHead,
    /// The path names a peer this publisher does not serve: 404.
    #[error("unknown provider {0}")]
    UnknownProvider(String),
    /// The last path segment is not a CID: 400.
    #[error("invalid request: not a cid")]
    NotACid,
    /// No such block: 404.
    #[error("cid not found")]
    NotFound,
    /// The store failed or the head could not be signed: 500.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl PublishError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::NoHead => 204,
            Self::UnknownProvider(_) | Self::NotFound => 404,
            Self::NotACid => 400,
            Self::Internal(_) => 500,
        }
    }
}

/// The signed head message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHead {
    /// The newest advertisement.
    pub head: Cid,
    /// Gossip topic; absent means `/indexer/ingest/mainnet`. Curio omits it.
    pub topic: Option<String>,
    /// The publisher's public key, libp2p protobuf encoding.
    pub pubkey: Vec<u8>,
    /// Signature over `head` CID bytes ‖ topic.
    pub sig: Vec<u8>,
}

impl SignedHead {
    fn signed_bytes(head: &Cid, topic: Option<&str>) -> Vec<u8> {
        let mut b = head.to_bytes();
        b.extend_from_slice(topic.unwrap_or_default().as_bytes());
        b
    }

    /// Signs `head` (and `topic`) with `key`.
    pub fn new(head: Cid, topic: Option<String>, key: &Keypair) -> Result<Self, IpniError> {
        let sig = key
            .sign(&Self::signed_bytes(&head, topic.as_deref()))
            .map_err(|e| IpniError::Sign(e.to_string()))?;
        Ok(Self {
            head,
            topic,
            pubkey: key.public().encode_protobuf(),
            sig,
        })
    }

    /// DAG-JSON, keys in byte order as go-ipld-prime writes them.
    pub fn to_dag_json(&self) -> Vec<u8> {
        let mut s = format!(
            r#"{{"head":{},"pubkey":{},"sig":{}"#,
            json_link(&self.head),
            json_bytes(&self.pubkey),
            json_bytes(&self.sig)
        );
        if let Some(topic) = &self.topic {
            s.push_str(&format!(r#","topic":{}"#, json_string(topic)));
        }
        s.push('}');
        s.into_bytes()
    }

    /// Decodes a head message.
    pub fn from_dag_json(bytes: &[u8]) -> Result<Self, IpniError> {
        const WHAT: &str = "signed head";
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| IpniError::malformed(WHAT, e))?;
        let get = |k: &'static str| {
            v.get(k)
                .ok_or_else(|| IpniError::malformed(WHAT, format!("missing {k}")))
        };
        Ok(Self {
            head: link_from_json(get("head")?, WHAT)?,
            topic: v.get("topic").and_then(|t| t.as_str()).map(str::to_owned),
            pubkey: bytes_from_json(get("pubkey")?, WHAT)?,
            sig: bytes_from_json(get("sig")?, WHAT)?,
        })
    }

    /// Checks the signature (ipnisync `SignedHead.Validate`); returns the signer.
    pub fn verify(&self) -> Result<PeerId, IpniError> {
        let key = PublicKey::try_decode_protobuf(&self.pubkey)
            .map_err(|e| IpniError::BadSignature(format!("head pubkey: {e}")))?;
        if !key.verify(
            &Self::signed_bytes(&self.head, self.topic.as_deref()),
            &self.sig,
        ) {
            return Err(IpniError::BadSignature("head signature".into()));
        }
        Ok(key.to_peer_id())
    }
}

/// `GET /ipni-provider/{requested_peer}/ipni/v1/ad/head`.
pub fn head_response(
    store: &dyn AdStore,
    key: &Keypair,
    requested_peer: &str,
) -> Result<HttpPayload, PublishError> {
    check_peer(key, requested_peer)?;
    let head = store
        .head()
        .map_err(PublishError::Internal)?
        .ok_or(PublishError::NoHead)?;
    let signed = SignedHead::new(head, None, key).map_err(|e| PublishError::Internal(e.into()))?;
    Ok(HttpPayload {
        content_type: "application/json",
        cache_control: HEAD_CACHE_CONTROL,
        body: signed.to_dag_json(),
    })
}

/// `GET /ipni-provider/{requested_peer}/ipni/v1/ad/{cid}`; `own_peer` is the
/// publisher's peer id as text.
pub fn block_response(
    store: &dyn AdStore,
    own_peer: &str,
    requested_peer: &str,
    cid: &str,
) -> Result<HttpPayload, PublishError> {
    if own_peer != requested_peer {
        return Err(PublishError::UnknownProvider(requested_peer.to_owned()));
    }
    let cid: Cid = cid.parse().map_err(|_| PublishError::NotACid)?;
    let content_type = match cid.codec() {
        DAG_JSON => "application/json",
        DAG_CBOR => "application/cbor",
        _ => return Err(PublishError::NotFound),
    };
    let body = store
        .get(&cid)
        .map_err(PublishError::Internal)?
        .ok_or(PublishError::NotFound)?;
    Ok(HttpPayload {
        content_type,
        cache_control: BLOCK_CACHE_CONTROL,
        body,
    })
}

fn check_peer(key: &Keypair, requested: &str) -> Result<(), PublishError> {
    if key.public().to_peer_id().to_string() == requested {
        Ok(())
    } else {
        Err(PublishError::UnknownProvider(requested.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipni::{AdChain, AdRequest, ContextId, MemAdStore, Metadata};

    fn published() -> (AdChain, MemAdStore, crate::ipni::NewAd) {
        let chain = AdChain::new(Keypair::generate_ed25519(), vec![]);
        let store = MemAdStore::default();
        let req = AdRequest::custom(
            ContextId::from_bytes(vec![1]).unwrap(),
            Metadata::IpfsGatewayHttp,
            vec![crate::ipni::sha256_multihash(b"x")],
        )
        .unwrap();
        let new = chain.publish(&store, req).unwrap();
        (chain, store, new)
    }

    #[test]
    fn head_is_signed_dag_json() {
        let (chain, store, new) = published();
        let peer = chain.peer_id().to_string();
        let p = head_response(&store, chain.key(), &peer).unwrap();
        let text = String::from_utf8(p.body.clone()).unwrap();
        assert!(text.starts_with(&format!(r#"{{"head":{{"/":"{}"}},"pubkey":"#, new.head)));
        let head = SignedHead::from_dag_json(&p.body).unwrap();
        assert_eq!(head.head, new.head);
        assert_eq!(head.verify().unwrap(), chain.peer_id());
        let mut bad = head.clone();
        bad.head = new.ad.entries;
        assert!(bad.verify().is_err());
        let topical = SignedHead::new(
            new.head,
            Some("/indexer/ingest/mainnet".into()),
            chain.key(),
        )
        .unwrap();
        let back = SignedHead::from_dag_json(&topical.to_dag_json()).unwrap();
        assert_eq!(back, topical);
        assert!(back.verify().is_ok());
    }

    #[test]
    fn statuses() {
        let (chain, store, new) = published();
        let peer = chain.peer_id().to_string();
        let empty = MemAdStore::default();
        assert_eq!(
            head_response(&empty, chain.key(), &peer)
                .unwrap_err()
                .status(),
            204
        );
        let other = Keypair::generate_ed25519()
            .public()
            .to_peer_id()
            .to_string();
        assert_eq!(
            head_response(&store, chain.key(), &other)
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            block_response(&store, &peer, &other, &new.head.to_string())
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            block_response(&store, &peer, &peer, "head-not-cid")
                .unwrap_err()
                .status(),
            400
        );
        let missing = crate::ipni::sha256_cid(DAG_JSON, b"nothing");
        assert_eq!(
            block_response(&store, &peer, &peer, &missing.to_string())
                .unwrap_err()
                .status(),
            404
        );

        let ad = block_response(&store, &peer, &peer, &new.head.to_string()).unwrap();
        assert_eq!(ad.content_type, "application/json");
        assert_eq!(crate::ipni::sha256_cid(DAG_JSON, &ad.body), new.head);
        let entry = block_response(&store, &peer, &peer, &new.ad.entries.to_string()).unwrap();
        assert_eq!(entry.content_type, "application/cbor");
        assert_eq!(entry.cache_control, BLOCK_CACHE_CONTROL);
    }
}
