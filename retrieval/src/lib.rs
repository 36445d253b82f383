//! ferrite-retrieval: serving stored data back to clients over HTTP.
//!
//! ```text
//!  GET /piece/{pieceCid} ─► piece: PieceName ─► market PieceIndex::locations ─► sector, offset
//!  GET /ipfs/{cid}       ─► gateway: PieceIndex::find_block ─► piece, offset in its payload
//!        ─► Retrieval::unsealed(sector): SectorAccess (the copy there is)
//!                                        or Unseals (one Unsealer task per sector, shared)
//!        ─► unpad::UnpaddedReader (Fr32 unpadded, a chunk at a time, on a blocking thread)
//!        ─► body::stream (paced per client, counted) ─► the client
//!  /piece/ with [retrieval.cache] on: cache::PieceCache::get ─ hit ─► slices of a mapped
//!        unpadded file ─► body::stream ─► sendfile::SendfileStream sends them with sendfile(2)
//!                                       └ miss ─► as above, and PieceCache::fill in the background
//! ```
//!
//! - [`server`]: the routes, the shared [`Retrieval`] state, `/info`, `/health`.
//! - [`piece`]: `/piece/{cid}` (v1 and v2 piece CIDs) with Range ([`range`]).
//! - [`gateway`]: the IPFS trustless gateway (raw blocks and CARs) over
//!   [`dag`]: request parsing, the verified DFS walk (dag-scope,
//!   entity-bytes) and CAR framing.
//! - [`unseal`]: unsealing on demand, once per sector, and dropping idle copies.
//! - [`source`]: what the node provides: [`SectorAccess`] (where unsealed
//!   copies are) and [`Unsealer`] (the cluster's unseal task). This crate
//!   imports neither sealing nor the scheduler.
//! - [`ipni`]: IPNI advertisements (signed, chained, with entry chunks),
//!   served at `/ipni-provider/{peerId}/ipni/v1/ad/…` and announced to
//!   indexers, so that clients find the provider by CID or piece CID.
//! - [`advertise`]: keeps the ad chain in step with the piece index (a
//!   pass every few seconds: new pieces advertised, gone ones withdrawn),
//!   stored in RocksDB, served over HTTP and announced.
//! - [`cache`]: the unpadded-piece cache (LRU under a size cap, swept of
//!   removed pieces); [`sendfile`]: the server's sockets, which send bytes
//!   of a mapped cache file with sendfile(2) instead of copying them.
//! - [`limits`]: the transfer cap (429) and the per-client pace;
//!   [`metrics`]: what Prometheus scrapes; [`config`]: `[retrieval]`.

#![warn(missing_docs)]

pub mod advertise;
pub mod body;
pub mod cache;
pub mod config;
pub mod dag;
pub mod error;
pub mod gateway;
pub mod ipni;
pub mod limits;
pub mod metrics;
pub mod piece;
pub mod range;
pub mod sendfile;
pub mod server;
pub mod source;
pub mod unpad;
pub mod unseal;

pub use config::RetrievalConfig;
pub use error::RetrievalError;
pub use metrics::RetrievalMetrics;
pub use server::Retrieval;
pub use source::{SectorAccess, Unsealer};
