//! IPNI advertisements, published over HTTP the way Curio does it.
//!
//! An indexer (cid.contact and its peers) learns what a storage provider
//! serves by walking the provider's *advertisement chain*: signed
//! [`Advertisement`] blocks, each linking to the one before, each naming a
//! chain of [`EntryChunk`] blocks that list multihashes. This module builds
//! that chain and the bytes the indexer fetches; it does no I/O except the
//! optional [`announce`] call.
//!
//! Data flow:
//!
//! ```text
//! deal sealed / piece stored ─► AdRequest::deal / AdRequest::piece
//! deal expired / piece gone  ─► AdRequest::removal
//!          │
//!          ▼
//!   AdChain::publish(store) ── entries (DAG-CBOR chunks) + ad (DAG-JSON, signed)
//!          │                    └► AdStore::put(blocks, prev head, new head)
//!          ▼
//!   AnnounceMessage::new(head, publisher url, peer) ─► PUT {indexer}/announce
//!          ▼
//!   indexer: GET /ipni-provider/{peer}/ipni/v1/ad/head   ─► head_response
//!            GET /ipni-provider/{peer}/ipni/v1/ad/{cid}  ─► block_response
//! ```
//!
//! Wire choices follow go-libipni (`ingest/schema`, `metadata`,
//! `dagsync/ipnisync`, `announce`) and Curio (`tasks/indexing/task_ipni.go`,
//! `market/ipni`): advertisements are DAG-JSON, entry chunks DAG-CBOR, both
//! CIDv1 with sha2-256; each submodule names its source.
//!
//! ```
//! use ferrite_retrieval::ipni::{AdChain, AdRequest, HttpAddr, MemAdStore, block_response};
//! use libp2p::identity::Keypair;
//! use cid::Cid;
//! use cid::multihash::Multihash;
//!
//! let key = Keypair::generate_ed25519();
//! let addr = HttpAddr::from_url("http://127.0.0.1:2347")?;
//! let chain = AdChain::new(key, vec![addr.to_multiaddr_string()]);
//! let store = MemAdStore::default();
//! let block = Multihash::wrap(0x12, &[7; 32])?;
//! let piece: Cid = "baga6ea4seaqes3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi".parse()?;
//! let size = ferrite_types::PaddedPieceSize::new(512)?;
//! let info = ferrite_types::PieceInfo { comm_p: ferrite_types::CommP::from_cid(&piece)?, size };
//! let ad = chain.publish(&store, AdRequest::deal(&info, vec![block], false)?)?;
//! let served = block_response(&store, &chain.peer_id().to_string(), &chain.peer_id().to_string(), &ad.head.to_string())?;
//! assert_eq!(served.content_type, "application/json");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod ad;
mod addr;
mod announce;
mod chain;
mod context;
mod encoding;
mod entries;
mod envelope;
mod metadata;
mod publish;

pub use ad::{Advertisement, MAX_CONTEXT_ID_LEN, MAX_METADATA_LEN, no_entries_cid};
pub use addr::HttpAddr;
pub use announce::{ANNOUNCE_CONTENT_TYPE, ANNOUNCE_PATH, AnnounceMessage, announce, announce_url};
pub use chain::{AdChain, AdRequest, AdStore, MemAdStore, NewAd, PutOutcome};
pub use context::ContextId;
pub use entries::{DEFAULT_CHUNK_SIZE, EntryChunk, chunk_entries};
pub use envelope::{AD_SIGNATURE_CODEC, AD_SIGNATURE_DOMAIN, sign_ad, verify_ad};
pub use metadata::Metadata;
pub use publish::{
    BLOCK_CACHE_CONTROL, HEAD_CACHE_CONTROL, HttpPayload, IPNI_PATH, PublishError, SignedHead,
    block_response, head_response, provider_path,
};

use cid::Cid;
use cid::multihash::Multihash;

/// Multicodec of DAG-JSON, the codec of advertisements and the signed head.
pub const DAG_JSON: u64 = 0x0129;
/// Multicodec of DAG-CBOR, the codec of entry chunks (Curio's `EntryLinkproto`).
pub const DAG_CBOR: u64 = 0x71;
/// Multicodec of raw bytes (the `NoEntries` sentinel's codec).
pub const RAW: u64 = 0x55;
/// Multihash code of sha2-256.
pub const SHA2_256: u64 = 0x12;

/// A content-addressed block: what the chain stores and the publisher serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// CIDv1 of `data` (sha2-256, codec DAG-JSON or DAG-CBOR).
    pub cid: Cid,
    /// The encoded node.
    pub data: Vec<u8>,
}

impl Block {
    /// Hashes `data` with sha2-256 and names it with `codec`.
    pub fn new(codec: u64, data: Vec<u8>) -> Self {
        Self {
            cid: sha256_cid(codec, &data),
            data,
        }
    }
}

/// CIDv1 with a sha2-256 multihash of `data`.
pub(crate) fn sha256_cid(codec: u64, data: &[u8]) -> Cid {
    Cid::new_v1(codec, sha256_multihash(data))
}

/// The sha2-256 multihash of `data`.
pub(crate) fn sha256_multihash(data: &[u8]) -> Multihash<64> {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data);
    // A 32-byte digest always fits the 64-byte multihash.
    Multihash::wrap(SHA2_256, &digest).unwrap_or_default()
}

/// Everything that can go wrong building, signing or decoding IPNI data.
#[derive(Debug, thiserror::Error)]
pub enum IpniError {
    /// Bytes that are not the node they claim to be (bad DAG-JSON, DAG-CBOR,
    /// metadata, context id, envelope ...).
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        detail: String,
    },
    /// A field over the limit the indexer enforces.
    #[error("{what} is {len} bytes, more than the {max} allowed")]
    TooLong {
        /// Which field.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An announce for no multihashes at all (an indexer would reject it).
    #[error("an advertisement needs at least one multihash")]
    NoMultihashes,
    /// A signature that does not verify, or signs other bytes.
    #[error("invalid advertisement signature: {0}")]
    BadSignature(String),
    /// The key could not sign (only for key types libp2p cannot sign with).
    #[error("sign: {0}")]
    Sign(String),
    /// Another writer moved the head between read and write; build again.
    #[error("ad chain head moved (expected {expected}, found {found}); retry")]
    HeadMoved {
        /// The head this ad was built on (CID text, or `none`).
        expected: String,
        /// The head the store holds now (CID text, or `none`).
        found: String,
    },
    /// The block store failed.
    #[error("ad store: {0:#}")]
    Store(anyhow::Error),
    /// An indexer refused the announce or could not be reached.
    #[error("announce to {url}: {detail}")]
    Announce {
        /// The announce URL.
        url: String,
        /// Status and body, or the transport error.
        detail: String,
    },
}

impl IpniError {
    pub(crate) fn malformed(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}
