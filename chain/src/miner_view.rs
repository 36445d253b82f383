//! A storage miner's proving state, read from builtin-actors v18 state with
//! the `fil_actor_miner_state` types: deadlines, partitions, sectors, power.
//! Shared by [`crate::api::DevnetChain`] and the Lotus-compatible State*
//! methods, which only change the shape of the answer.

use fil_actor_miner_state::v18 as miner;
use fil_actor_power_state::v18 as power;
use fil_actors_shared::fvm_ipld_bitfield::BitField;
use fvm_ipld_blockstore::Blockstore;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;

use crate::api::{DeadlineProofs, DeadlineWindow, PartitionSectors, PowerSummary, ProvenSector};

/// The deadline that is open at `epoch`, or the next one to open (Lotus's
/// `StateMinerProvingDeadline`).
pub fn proving_deadline(
    st: &miner::State,
    policy: &fil_actors_shared::v18::runtime::Policy,
    epoch: ChainEpoch,
) -> DeadlineWindow {
    let d = st.deadline_info(policy, epoch).next_not_elapsed();
    DeadlineWindow {
        current_epoch: d.current_epoch,
        period_start: d.period_start,
        index: d.index,
        open: d.open,
        close: d.close,
        challenge: d.challenge,
        fault_cutoff: d.fault_cutoff,
    }
}

/// Every deadline of the miner, in index order.
pub fn deadline_list(
    bs: &impl Blockstore,
    st: &miner::State,
) -> anyhow::Result<Vec<miner::Deadline>> {
    let deadlines = st
        .load_deadlines(bs)
        .map_err(|e| anyhow::anyhow!("load deadlines: {e}"))?;
    let mut out = Vec::new();
    deadlines
        .for_each(bs, |_, d| {
            out.push(d);
            Ok(())
        })
        .map_err(|e| anyhow::anyhow!("load deadlines: {e}"))?;
    Ok(out)
}

/// Every partition of a deadline, in index order.
pub fn partition_list(
    bs: &impl Blockstore,
    d: &miner::Deadline,
) -> anyhow::Result<Vec<miner::Partition>> {
    let amt = d
        .partitions_amt(bs)
        .map_err(|e| anyhow::anyhow!("load partitions: {e}"))?;
    let mut out = Vec::new();
    amt.for_each(|_, p| {
        out.push(p.clone());
        Ok(())
    })
    .map_err(|e| anyhow::anyhow!("read partitions: {e}"))?;
    Ok(out)
}

/// Deadline `index`'s partitions as sector sets.
pub fn partitions(
    bs: &impl Blockstore,
    st: &miner::State,
    index: u64,
) -> anyhow::Result<Vec<PartitionSectors>> {
    let deadlines = st
        .load_deadlines(bs)
        .map_err(|e| anyhow::anyhow!("load deadlines: {e}"))?;
    let d = deadlines
        .load_deadline(bs, index)
        .map_err(|e| anyhow::anyhow!("failed to load the deadline: {e}"))?;
    Ok(partition_list(bs, &d)?
        .iter()
        .map(|p| PartitionSectors {
            all: p.sectors.clone(),
            faulty: p.faults.clone(),
            recovering: p.recoveries.clone(),
            live: p.live_sectors(),
            active: p.active_sectors(),
        })
        .collect())
}

/// Which partitions of each deadline have a PoSt in this proving period.
pub fn deadline_proofs(
    bs: &impl Blockstore,
    st: &miner::State,
) -> anyhow::Result<Vec<DeadlineProofs>> {
    deadline_list(bs, st)?
        .iter()
        .map(|d| {
            let disputable = d
                .optimistic_proofs_snapshot_amt(bs)
                .map_err(|e| anyhow::anyhow!("load proofs snapshot: {e}"))?
                .count();
            Ok(DeadlineProofs {
                posted: d.partitions_posted.clone(),
                disputable_proofs: disputable,
            })
        })
        .collect()
}

/// The on-chain records of the sectors in `numbers`; an error names the
/// first one that does not exist (as Lotus's StateMinerSectors with a filter).
pub fn sectors(
    bs: &impl Blockstore,
    st: &miner::State,
    numbers: &BitField,
) -> anyhow::Result<Vec<ProvenSector>> {
    let sectors =
        miner::Sectors::load(bs, &st.sectors).map_err(|e| anyhow::anyhow!("load sectors: {e}"))?;
    let mut out = Vec::new();
    for n in numbers.iter() {
        let s = sectors
            .get(n)
            .map_err(|e| anyhow::anyhow!("load sector {n}: {e}"))?
            .ok_or_else(|| anyhow::anyhow!("sector not found: {n}"))?;
        out.push(ProvenSector {
            number: s.sector_number,
            seal_proof: s.seal_proof,
            sealed_cid: s.sealed_cid,
            activation: s.activation,
            expiration: s.expiration,
        });
    }
    Ok(out)
}

/// `miner`'s claim and the network's total (zero for an address without one).
pub fn power(
    bs: &impl Blockstore,
    st: &power::State,
    miner: Option<&Address>,
) -> anyhow::Result<PowerSummary> {
    let claim = match miner {
        Some(m) => st
            .miner_power(bs, m)
            .map_err(|e| anyhow::anyhow!("load power claim: {e}"))?,
        None => None,
    };
    let (raw, qa) = claim
        .map(|c| (c.raw_byte_power, c.quality_adj_power))
        .unwrap_or_default();
    Ok(PowerSummary {
        raw,
        quality_adjusted: qa,
        total_raw: st.total_raw_byte_power.clone(),
        total_quality_adjusted: st.total_quality_adj_power.clone(),
    })
}
