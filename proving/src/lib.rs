//! ferrite-proving: proofs of spacetime on schedule.
//!
//! It owns the WindowPoSt deadline loop ([`window::WindowPoster`]: fault
//! checks, fault and recovery declarations, the proof, SubmitWindowedPoSt
//! before the deadline closes) and WinningPoSt for block production.
//!
//! Data flow: the chain (through `ferrite_chain::api::Chain`, the devnet or
//! a Lotus node) gives the miner's current deadline and its partitions;
//! [`plan`] decides, without I/O, what to declare and which sectors each
//! partition's proof covers; [`Replicas`] says where each sector's sealed
//! file and cache are; ferrite-proofs checks the replicas and generates the
//! proofs on its PoSt slots, which sealing never takes; [`messages`] turns
//! the result into builtin-actors v18 messages for the chain.

mod error;
pub mod messages;
pub mod metrics;
pub mod plan;
pub mod replicas;
pub mod report;
pub mod window;
pub mod winning;

pub use error::ProvingError;
pub use metrics::ProvingMetrics;
pub use replicas::{Replica, Replicas};
pub use window::{CheckRecord, PostRecord, ProverConfig, WindowPoster};
