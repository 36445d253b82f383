//! The wire and state types of Ferrite's storage actors, in builtin-actors
//! v18's layout: method numbers, parameters and return values, and the state
//! structures of the power, miner, market and reward actors, plus the policy
//! constants of v18's `devnet` network build and the smoothing math they
//! share. Every actor crate of the bundle depends on this one, so a call
//! from one actor to another encodes exactly what the callee decodes; the
//! chain's native tests check these types against the v18 crates.

pub mod market;
pub mod miner;
pub mod policy;
pub mod power;
pub mod reward;
pub mod smooth;

/// Seconds per epoch (the actors' notion of time, whatever the block time).
pub const EPOCH_DURATION_SECONDS: i64 = 30;
/// Epochs per hour.
pub const EPOCHS_IN_HOUR: i64 = 3600 / EPOCH_DURATION_SECONDS;
/// Epochs per day.
pub const EPOCHS_IN_DAY: i64 = 24 * EPOCHS_IN_HOUR;
/// Epochs per year (a year of 31,556,925 seconds, as builtin-actors counts).
pub const EPOCHS_IN_YEAR: i64 = 31_556_925 / EPOCH_DURATION_SECONDS;
/// Chain finality, in epochs.
pub const CHAIN_FINALITY: i64 = 900;
/// The expected number of block producers per epoch.
pub const EXPECTED_LEADERS_PER_EPOCH: u64 = 5;
