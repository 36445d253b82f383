//! The pure core of the IPFS trustless gateway's block and CAR answers: no
//! HTTP, no async.
//!
//! ```text
//!  Accept + query + path ──parse_request──▶ GatewayRequest ──response_headers──▶ headers
//!                                                │
//!  BlockSource ──load_block (hash checked)──▶ walk(root, path, scope, bytes) ──emit──▶ car_section ‖ …
//! ```
//!
//! - [`parse_request`] reads `format`, `Accept` (with the CAR `version`,
//!   `order` and `dups` parameters and q-values), `dag-scope`, `entity-bytes`
//!   and the content path after the CID; what cannot be served is a precise
//!   [`RequestError`] whose [`RequestError::http_status`] is 400 or 406.
//! - [`walk`] resolves the path through UnixFS directories and then emits the
//!   terminal entity's blocks per [`DagScope`], depth-first and without
//!   duplicates (`order=dfs; dups=n`), every block checked against its CID.
//!   Its [`WalkError`] says how many blocks were already emitted: none means
//!   the HTTP layer may still answer 404, any means it must abort the stream.
//! - [`car_header`] and [`car_section`] frame the emitted blocks as CARv1.
//! - [`response_headers`] lists the headers the specs require.
//!
//! The walker is synchronous; the HTTP layer runs it on a blocking thread and
//! forwards each emitted section to the response body.
//!
//! ```
//! use ferrite_retrieval::dag::{self, BlockSource, DagError, DagScope};
//! use cid::Cid;
//!
//! struct Empty;
//! impl BlockSource for Empty {
//!     fn get(&self, _cid: &Cid) -> Result<Option<Vec<u8>>, DagError> {
//!         Ok(None)
//!     }
//! }
//! // The trustless gateway's probe CID: the identity CID of no bytes.
//! let root: Cid = "bafkqaaa".parse().unwrap();
//! let mut car = dag::car_header(&[root]).unwrap();
//! let sent = dag::walk(&Empty, &root, &[], DagScope::All, None, |cid, data| {
//!     car.extend(dag::car_section(cid, data));
//!     Ok(())
//! })
//! .unwrap();
//! assert_eq!(sent, 0); // identity blocks never go into a CAR
//! ```

mod block;
mod car;
mod headers;
mod links;
mod request;
mod unixfs;
mod walk;

#[cfg(test)]
mod fixture;

use cid::Cid;

pub use block::load_block;
pub use car::{car_header, car_section};
pub use headers::response_headers;
pub use request::{
    DagScope, EntityBytes, GatewayRequest, RangeEnd, RequestError, ResponseFormat,
    parse_content_path, parse_request,
};
pub use walk::walk;

/// Where the walker reads blocks from: the piece index and unsealed pieces in
/// the daemon, a map in tests.
///
/// Blocking: the caller runs the walk on a blocking thread. The walker checks
/// every block it gets against its CID, so a source need not.
pub trait BlockSource {
    /// The block's bytes, or `None` if this source does not hold it.
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, DagError>;
}

/// Why a block could not be loaded, resolved or walked.
#[derive(Debug, thiserror::Error)]
pub enum DagError {
    /// The source does not hold the block.
    #[error("block {0} not found")]
    BlockNotFound(Cid),
    /// A content path segment names no link of its directory.
    #[error("no link named {segment:?} in directory {parent}")]
    PathNotFound {
        /// The directory searched.
        parent: Cid,
        /// The segment not found.
        segment: String,
    },
    /// A content path segment follows a block that is not a UnixFS directory.
    #[error("cannot resolve {segment:?} under {cid}: it is not a UnixFS directory")]
    NotADirectory {
        /// The block that was to be traversed.
        cid: Cid,
        /// The segment that was to be resolved in it.
        segment: String,
    },
    /// Path resolution through a HAMT-sharded directory needs its
    /// murmur3 name hashing, which this gateway lacks.
    #[error("cannot resolve {segment:?} under {cid}: HAMT-sharded directories are not supported")]
    ShardedDirectory {
        /// The sharded directory.
        cid: Cid,
        /// The segment that was to be resolved in it.
        segment: String,
    },
    /// The block's bytes do not hash to the digest in its CID.
    #[error("block {0} does not match its CID's hash")]
    HashMismatch(Cid),
    /// The CID's multihash is not one the gateway can verify.
    #[error("block {cid} uses multihash code {code:#x}, which cannot be verified here")]
    UnsupportedHash {
        /// The block.
        cid: Cid,
        /// Its multihash code.
        code: u64,
    },
    /// The block's codec is not one whose links the walker can read.
    #[error("block {cid} has codec {codec:#x}, whose links cannot be read here")]
    UnsupportedCodec {
        /// The block.
        cid: Cid,
        /// Its multicodec.
        codec: u64,
    },
    /// The block does not decode as its codec, or as the UnixFS it must be.
    #[error("block {cid} is malformed: {reason}")]
    Malformed {
        /// The block.
        cid: Cid,
        /// What is wrong with it.
        reason: String,
    },
    /// Encoding a CAR header failed (only allocation can fail).
    #[error("encode CAR header: {0}")]
    Encode(String),
    /// The block source failed (I/O, unsealing); not the data's fault.
    #[error("read block: {0:#}")]
    Source(anyhow::Error),
    /// The emit callback failed, e.g. because the client went away.
    #[error("send block: {0:#}")]
    Sink(anyhow::Error),
}

/// A walk that stopped, with how far it got.
///
/// `emitted == 0` means nothing was sent: the HTTP layer can still answer
/// with a status for `error` (404 for [`DagError::BlockNotFound`] and
/// [`DagError::PathNotFound`]). Otherwise the 200 is already out and the
/// stream must be aborted so the client sees an incomplete CAR.
#[derive(Debug, thiserror::Error)]
#[error("walk stopped after {emitted} emitted blocks")]
pub struct WalkError {
    /// Blocks handed to the emit callback before the failure.
    pub emitted: u64,
    /// What stopped the walk (boxed: a CID and a reason make it large).
    #[source]
    pub error: Box<DagError>,
}

impl WalkError {
    /// Whether any block was emitted before the failure.
    pub fn has_emitted(&self) -> bool {
        self.emitted > 0
    }
}
