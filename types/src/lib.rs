//! Ferrite's domain types: identifiers, units, proof kinds and commitments.
//!
//! Every other crate speaks in these types instead of bare integers and byte
//! arrays, so that a padded size cannot be passed where an unpadded one is
//! expected, nor a sector number where a deal id is. The crate does no I/O.
//!
//! - [`ids`]: [`ActorId`], [`SectorNumber`], [`SectorId`], [`DealId`], [`ChainEpoch`].
//! - [`size`]: [`PaddedPieceSize`] and [`UnpaddedPieceSize`] with checked
//!   conversions (a padded size is a power of two of at least 128 bytes, and
//!   the unpadded size is 127/128 of it), and [`SectorSize`].
//! - [`proof`]: [`SealProof`] and [`PostProof`], with mappings to and from
//!   `fvm_shared`'s registered proofs. The mapping to filecoin-proofs-api lives
//!   in `ferrite-proofs`, the only crate that links that library.
//! - [`commitment`]: [`CommD`], [`CommP`] and [`CommR`] and their CIDs
//!   (`fil-commitment-unsealed` with `sha2-256-trunc254-padded`, and
//!   `fil-commitment-sealed` with `poseidon-bls12_381-a2-fc1`).
//! - [`piece`]: [`PieceInfo`], a piece's commitment and padded size.
//! - [`piece_cid`]: [`PieceCidV2`], the FRC-0069 v2 piece CID (`bafkzcib…`):
//!   commitment, padded size and payload size in one CID.
//! - [`randomness`]: [`Ticket`], [`Seed`], [`PostRandomness`] and [`ProverId`].
//! - [`address`]: [`address::parse`], Filecoin addresses from text, refused
//!   and accepted exactly as go-address (and so Lotus) does.
//!
//! Data flows in from the edges (CLI flags, config, chain, gRPC), gets parsed
//! here once, and travels as these types from then on:
//!
//! ```
//! use ferrite_types::{PaddedPieceSize, SectorSize, CommP};
//!
//! let padded: PaddedPieceSize = "2KiB".parse::<SectorSize>()?.into();
//! assert_eq!(padded.unpadded().bytes(), 2032);
//! let cid = "baga6ea4seaqeyrcxtl5ys6wjkwpb7jtv2vpl4lsrgw6uwkxg7cxnx2crdkvbjpy";
//! assert!(cid.parse::<CommP>().is_ok());
//! assert!("not-a-cid".parse::<CommP>().is_err());
//! # Ok::<(), ferrite_types::TypesError>(())
//! ```
#![warn(missing_docs)]

pub mod address;
pub mod commitment;
mod error;
pub mod ids;
pub mod piece;
pub mod piece_cid;
pub mod proof;
pub mod randomness;
pub mod size;

pub use commitment::{CommD, CommP, CommR};
pub use error::TypesError;
pub use ids::{ActorId, ChainEpoch, DealId, SectorId, SectorNumber};
pub use piece::PieceInfo;
pub use piece_cid::PieceCidV2;
pub use proof::{PostKind, PostProof, SealProof};
pub use randomness::{PostRandomness, ProverId, Seed, Ticket};
pub use size::{PaddedPieceSize, SectorSize, UnpaddedPieceSize};
