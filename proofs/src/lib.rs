//! Ferrite's boundary to `filecoin-proofs-api`: the only crate that links it.
//!
//! Every proof Ferrite makes or checks goes through here, as a typed function
//! per phase whose inputs and outputs are serde types, so that a phase can run
//! in another process (a worker on another host) and its output can be stored
//! between phases:
//!
//! ```text
//!  add_piece ─► pc1 ─► pc2 ─► (chain: precommit, seed) ─► c1 ─► c2 ─► verify_seal
//!   (staged)  (labels) (CommR)                          (vanilla) (SNARK)
//!       finalize: clear_cache ─► winning / window PoSt over the sealed replica
//!       retrieval: unseal_range ─► the original bytes
//!       SnapDeals (update): encode ─► prove ─► verify, into a proven CC sector
//!         (then PoSt proves the replica whose replica_comm_r is the chain's CommR)
//! ```
//!
//! - [`seal`] and [`post`]: the phases, as synchronous functions. They are CPU
//!   bound (C2 takes tens of seconds even at 2 KiB), so async code calls them
//!   only through [`Workers::run`], the one bridge off the runtime, which caps
//!   how many of each [`Stage`] run at once (STYLE R4).
//! - [`prover`]: the resident prover every C2, Window PoSt and Winning PoSt
//!   goes through: each proof kind's Groth16 parameters decoded once per
//!   process and kept in memory (capped by `[proofs.resident]`), C2s
//!   pipelined (synthesis of the next beside the proof of the current,
//!   [`prover::pipeline`]), every proof checked with `verify_seal`,
//!   `verify_window_post` or `verify_winning_post`.
//! - [`params`]: where the Groth16 parameters live, local generation for the
//!   test sizes with a fixed seed, and download of the official files with a
//!   digest check against the `parameters.json` that ships in filecoin-proofs.
//! - [`update`]: SnapDeals, the empty-sector-update phases.
//! - [`replica`]: which replica a cache belongs to ([`replica::replica_comm_r`]),
//!   so that a PoSt proves a snapped sector's replica the chain names.
//! - [`commp`]: streaming piece commitments in constant memory.
//! - [`selftest`]: the whole pipeline on one sector, checked and timed.
//! - [`gpu`]: the GPU backend the build has (the `cuda` feature, off
//!   by default), the cards it sees and `[proofs.gpu]`.
//! - [`ProofsConfig`] and [`init`]: the `[proofs]` config section, and the one
//!   place that sets the `FIL_PROOFS_*` (and GPU) variables the library reads.
//!
//! Nothing outside this crate sees a filecoin-proofs type: proof kinds, sizes
//! and commitments are `ferrite-types` values, and the library's phase outputs
//! travel inside opaque serde wrappers ([`seal::Pc1Output`], ...).
//!
//! ```no_run
//! use ferrite_proofs::{ProofsConfig, init, seal};
//! use ferrite_types::{SealProof, SectorSize};
//!
//! init(&ProofsConfig::default())?; // once, at startup, before threads start
//! let proof = SealProof::new(SectorSize::S2KiB);
//! let piece = seal::generate_piece_commitment(proof, std::io::repeat(0), 2032.try_into()?)?;
//! println!("{}", piece.comm_p);
//! # Ok::<(), anyhow::Error>(())
//! ```
#![warn(missing_docs)]

pub mod commp;
mod config;
mod error;
pub mod gpu;
mod guard;
pub mod params;
pub mod post;
pub mod prover;
mod registered;
pub mod replica;
pub mod seal;
pub mod selftest;
mod settings;
pub mod update;
mod workers;

pub use config::{ProofsConfig, ResidentConfig, StageLimits};
pub use error::ProofsError;
pub use settings::init;
pub use workers::{Stage, Workers};
