//! ferrite-market: storage deals, from the client's proposal to the deal's
//! activation, over the protocols real clients speak.
//!
//! The node's market service (`node/src/market.rs`) drives these pieces:
//!
//! - [`wire`]: Boost's deal messages (`DealParams`, `DealResponse`, status
//!   and ask) in cbor-gen's map encoding, with the v18 `ClientDealProposal`
//!   embedded as the market actor sees it; decoding is tolerant the way Go
//!   clients need (1.2.1 fields over 1.2.0, unknown keys skipped).
//! - [`net`]: a libp2p host (TCP, Noise, Yamux, identify, ping) serving
//!   `/fil/storage/mk/1.2.0` and `1.2.1`, `/fil/storage/status/1.2.0` and
//!   `/fil/storage/ask/1.1.0` to a [`net::DealProtocols`] handler, reading one
//!   CBOR item per stream with Boost's deadlines; and the client side.
//! - [`checks`]: the pure checks before a deal is accepted, each
//!   [`checks::Rejection`] with its own reason; [`filter`]: the operator's
//!   external deal filter, with a timeout.
//! - [`deal`]: the pure deal state machine (transfer, CommP check, publish
//!   exactly once, sector, activation, expiry) and [`records`], its durable
//!   records in ferrite-store; [`publish`]: PublishStorageDeals batches.
//! - [`transfer`]: the HTTP pull (resumed with Range, bounded, with the
//!   client's headers) and the offline import, CommP computed as bytes arrive.
//! - [`index`]: the piece index (piece → deal, sector, offset) and, for CAR
//!   data, the block index (multihash → offset in the payload).
//! - [`config`]: `[market]`, validated once.
//!
//! Data flow: a `DealParams` arrives over libp2p →
//! [`checks::check_deal`] and the [`filter`] → a [`records::DealRecord`] in
//! Accepted → the transfer (HTTP pull or `deals import-data`) with CommP
//! computed as the bytes stream in → Staged → a [`publish::PublishBatch`] →
//! Published with its deal ID → `ferrite_sealing::Pipeline::add_piece` → the
//! sector's prove-commit activates it on chain (its piece manifest notifies
//! the market actor) → Active, paid over epochs, then Expired or Slashed.

pub mod checks;
pub mod config;
pub mod deal;
pub mod error;
pub mod filter;
pub mod index;
pub mod net;
pub mod publish;
pub mod records;
pub mod transfer;
pub mod wire;

pub use config::MarketConfig;
pub use deal::{DealAction, DealEvent, DealState, DealUuid};
pub use error::{DealTransitionError, MarketError};
