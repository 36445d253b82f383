//! The miner's state and its bookkeeping structures, in builtin-actors
//! v18's layout: the [`State`] root, [`Deadlines`] of [`Deadline`]s holding
//! [`Partition`]s with their [`ExpirationQueue`]s, the sectors AMT
//! ([`Sectors`]), the inline [`VestingFunds`], the queues, and the money
//! math ([`monies`]). The method bodies in the crate root drive these.
//!
//! Errors: every fallible function returns [`ActorResult`]. Unreadable or
//! inconsistent state is `USR_ILLEGAL_STATE`; requests that address
//! sectors or partitions wrongly are `USR_ILLEGAL_ARGUMENT` (as v18's method
//! bodies classify them). Blockstores are generic (`ActorBlockstore` in the
//! actor, a memory store in tests); where v18 reads the runtime, callers
//! pass plain values (the current epoch).
//!
//! Left out of v18 (not needed by Ferrite): optimistic-PoSt disputes
//! beyond keeping the proofs, and moving partitions.

mod bitfield_queue;
mod deadline_assignment;
mod deadline_info;
mod deadline_state;
mod expiration_queue;
pub mod monies;
mod partition_state;
mod quantize;
mod sector_map;
mod sectors;
#[allow(clippy::module_inception)] // v18's file name
mod state;
mod termination;
mod vesting_state;

pub use bitfield_queue::*;
pub use deadline_assignment::*;
pub use deadline_info::*;
pub use deadline_state::*;
pub use expiration_queue::*;
pub use monies::*;
pub use partition_state::*;
pub use quantize::*;
pub use sector_map::*;
pub use sectors::*;
pub use state::*;
pub use termination::*;
pub use vesting_state::*;

pub use ferrite_actor_rt::ActorResult;

/// An AMT over a borrowed blockstore (v18's `Array`).
pub type Array<'db, V, BS> = fvm_ipld_amt::Amt<V, &'db BS>;

use ferrite_actor_types::miner::{PowerPair, SectorOnChainInfo};
use ferrite_actor_types::policy::qa_power_for_sector;
use fvm_shared::bigint::BigInt;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::SectorSize;

/// The power of one sector.
pub fn power_for_sector(sector_size: SectorSize, sector: &SectorOnChainInfo) -> PowerPair {
    PowerPair {
        raw: BigInt::from(sector_size as u64),
        qa: qa_power_for_sector(sector_size, sector),
    }
}

/// The total power of `sectors`.
pub fn power_for_sectors(sector_size: SectorSize, sectors: &[SectorOnChainInfo]) -> PowerPair {
    PowerPair {
        raw: BigInt::from(sector_size as u64) * BigInt::from(sectors.len()),
        qa: sectors
            .iter()
            .map(|s| qa_power_for_sector(sector_size, s))
            .sum(),
    }
}

/// The total FIP-0100 daily fee of `sectors`.
pub fn daily_fee_for_sectors(sectors: &[SectorOnChainInfo]) -> TokenAmount {
    sectors.iter().map(|s| &s.daily_fee).sum()
}
