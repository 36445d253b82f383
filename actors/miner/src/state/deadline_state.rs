//! A proving deadline: the partitions proven together in one challenge
//! window, an index of which partitions have sectors expiring when, the
//! partitions already proven this period, partitions with early
//! terminations to process, live/total sector counts, faulty and live
//! power, the daily fee of its sectors, and the optimistic PoSt
//! submissions (with their snapshots, kept for disputes). [`Deadlines`] is
//! the array of all of a miner's deadlines.

use cid::Cid;
use ferrite_actor_rt::{ActorError, ActorResult, WithCode};
use ferrite_actor_types::miner::{PoStPartition, PowerPair, SectorOnChainInfo, WindowedPoSt};
use ferrite_actor_types::policy::Policy;
use fvm_ipld_bitfield::BitField;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::CborStore;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::{PoStProof, SectorSize};
use multihash_codetable::Code;
use num_traits::{Signed, Zero};

use super::{
    Array, BitFieldQueue, ExpirationSet, Partition, PartitionSectorMap, QuantSpec,
    SECTORS_AMT_BITWIDTH, Sectors, TerminationResult,
};

/// Bit width of a deadline's partitions AMT.
pub const DEADLINE_PARTITIONS_AMT_BITWIDTH: u32 = 3;
/// Bit width of a deadline's partition-expiration index.
pub const DEADLINE_EXPIRATIONS_AMT_BITWIDTH: u32 = 5;
/// Bit width of a deadline's optimistic PoSt submissions AMT.
pub const DEADLINE_OPTIMISTIC_POST_SUBMISSIONS_AMT_BITWIDTH: u32 = 2;

/// All deadlines of a miner: `[due: [Cid; wpost_period_deadlines]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Deadlines {
    /// The CID of each deadline.
    pub due: Vec<Cid>,
}

impl Deadlines {
    /// Deadlines all pointing at `empty_deadline_cid`.
    pub fn new(policy: &Policy, empty_deadline_cid: Cid) -> Self {
        Self {
            due: vec![empty_deadline_cid; policy.wpost_period_deadlines as usize],
        }
    }

    /// Loads deadline `idx` (`USR_ILLEGAL_ARGUMENT` if out of range).
    pub fn load_deadline<BS: Blockstore>(&self, store: &BS, idx: u64) -> ActorResult<Deadline> {
        let cid = usize::try_from(idx)
            .ok()
            .and_then(|i| self.due.get(i))
            .ok_or_else(|| {
                ActorError::illegal_argument(format!(
                    "invalid deadline index {idx} of {}",
                    self.due.len()
                ))
            })?;
        store
            .get_cbor(cid)
            .state_err("load deadline")?
            .ok_or_else(|| ActorError::illegal_state(format!("no deadline {idx}")))
    }

    /// Calls `f` with each deadline in order.
    pub fn for_each<BS: Blockstore>(
        &self,
        store: &BS,
        mut f: impl FnMut(u64, Deadline) -> ActorResult<()>,
    ) -> ActorResult<()> {
        for i in 0..self.due.len() as u64 {
            f(i, self.load_deadline(store, i)?)?;
        }
        Ok(())
    }

    /// Stores `deadline` as deadline `deadline_idx`.
    pub fn update_deadline<BS: Blockstore>(
        &mut self,
        policy: &Policy,
        store: &BS,
        deadline_idx: u64,
        deadline: &Deadline,
    ) -> ActorResult<()> {
        if deadline_idx >= policy.wpost_period_deadlines || deadline_idx as usize >= self.due.len()
        {
            return Err(ActorError::illegal_argument(format!(
                "invalid deadline {deadline_idx}"
            )));
        }
        deadline.validate_state()?;
        self.due[deadline_idx as usize] = store
            .put_cbor(deadline, Code::Blake2b256)
            .state_err("store deadline")?;
        Ok(())
    }

    /// The `(deadline, partition)` holding `sector_number`
    /// (`USR_NOT_FOUND` if none).
    pub fn find_sector<BS: Blockstore>(
        &self,
        store: &BS,
        sector_number: u64,
    ) -> ActorResult<(u64, u64)> {
        for d in 0..self.due.len() as u64 {
            let dl = self.load_deadline(store, d)?;
            let parts = dl.partitions_amt(store)?;
            let mut found = None;
            parts
                .for_each_while(|i, p| {
                    if p.sectors.get(sector_number) {
                        found = Some(i);
                        return Ok(false);
                    }
                    Ok(true)
                })
                .state_err("read partitions")?;
            if let Some(p) = found {
                return Ok((d, p));
            }
        }
        Err(ActorError::not_found(format!(
            "sector {sector_number} not due at any deadline"
        )))
    }
}

/// One deadline (v18 layout, 13 fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Deadline {
    /// AMT (bw 3): partition index → [`Partition`].
    pub partitions: Cid,
    /// AMT (bw 5): quantized epoch → bitfield of partitions with sectors
    /// expiring (on time or early) then.
    pub expirations_epochs: Cid,
    /// Partitions proven in the current period.
    pub partitions_posted: BitField,
    /// Partitions with early terminations to process.
    pub early_terminations: BitField,
    /// Live sectors.
    pub live_sectors: u64,
    /// All sectors, including terminated ones not yet compacted away.
    pub total_sectors: u64,
    /// Power of faulty sectors.
    pub faulty_power: PowerPair,
    /// AMT (bw 2) of [`WindowedPoSt`] accepted optimistically this period.
    pub optimistic_post_submissions: Cid,
    /// The sectors AMT root at the end of the last period (for disputes).
    pub sectors_snapshot: Cid,
    /// The partitions AMT root at the end of the last period.
    pub partitions_snapshot: Cid,
    /// The optimistic submissions of the last period.
    pub optimistic_post_submissions_snapshot: Cid,
    /// Power of all live sectors (FIP-0100).
    pub live_power: PowerPair,
    /// Daily fee of all live sectors (FIP-0100).
    pub daily_fee: TokenAmount,
}

/// What a Window PoSt changed in a deadline.
#[derive(Debug, Clone, Default)]
pub struct PoStResult {
    /// Net power change (recoveries and activations minus new faults).
    pub power_delta: PowerPair,
    /// Power newly faulty (skipped sectors).
    pub new_faulty_power: PowerPair,
    /// Power of recoveries retracted by skipping.
    pub retracted_recovery_power: PowerPair,
    /// Power recovered.
    pub recovered_power: PowerPair,
    /// All sectors of the proven partitions.
    pub sectors: BitField,
    /// Sectors not proven (faulty or terminated).
    pub ignored_sectors: BitField,
    /// The partitions proven.
    pub partitions: BitField,
}

fn empty_amt<BS: Blockstore>(store: &BS, bit_width: u32) -> ActorResult<Cid> {
    Array::<(), BS>::new_with_bit_width(store, bit_width)
        .flush()
        .state_err("create empty AMT")
}

fn sub_count(a: u64, b: u64, what: &str) -> ActorResult<u64> {
    a.checked_sub(b)
        .ok_or_else(|| ActorError::illegal_state(format!("{what} underflow")))
}

impl Deadline {
    /// An empty deadline.
    pub fn new<BS: Blockstore>(store: &BS) -> ActorResult<Self> {
        let partitions = empty_amt(store, DEADLINE_PARTITIONS_AMT_BITWIDTH)?;
        let posts = empty_amt(store, DEADLINE_OPTIMISTIC_POST_SUBMISSIONS_AMT_BITWIDTH)?;
        Ok(Self {
            partitions,
            expirations_epochs: empty_amt(store, DEADLINE_EXPIRATIONS_AMT_BITWIDTH)?,
            partitions_posted: BitField::new(),
            early_terminations: BitField::new(),
            live_sectors: 0,
            total_sectors: 0,
            faulty_power: PowerPair::zero(),
            optimistic_post_submissions: posts,
            sectors_snapshot: empty_amt(store, SECTORS_AMT_BITWIDTH)?,
            partitions_snapshot: partitions,
            optimistic_post_submissions_snapshot: posts,
            live_power: PowerPair::zero(),
            daily_fee: TokenAmount::zero(),
        })
    }

    /// The partitions AMT.
    pub fn partitions_amt<'db, BS: Blockstore>(
        &self,
        store: &'db BS,
    ) -> ActorResult<Array<'db, Partition, BS>> {
        Array::load(&self.partitions, store).state_err("load partitions")
    }

    /// The optimistic submissions AMT.
    pub fn optimistic_proofs_amt<'db, BS: Blockstore>(
        &self,
        store: &'db BS,
    ) -> ActorResult<Array<'db, WindowedPoSt, BS>> {
        Array::load(&self.optimistic_post_submissions, store).state_err("load optimistic proofs")
    }

    /// The partitions snapshot AMT.
    pub fn partitions_snapshot_amt<'db, BS: Blockstore>(
        &self,
        store: &'db BS,
    ) -> ActorResult<Array<'db, Partition, BS>> {
        Array::load(&self.partitions_snapshot, store).state_err("load partitions snapshot")
    }

    /// The optimistic submissions snapshot AMT.
    pub fn optimistic_proofs_snapshot_amt<'db, BS: Blockstore>(
        &self,
        store: &'db BS,
    ) -> ActorResult<Array<'db, WindowedPoSt, BS>> {
        Array::load(&self.optimistic_post_submissions_snapshot, store)
            .state_err("load proofs snapshot")
    }

    /// Partition `partition_idx` (`USR_NOT_FOUND` if absent).
    pub fn load_partition<BS: Blockstore>(
        &self,
        store: &BS,
        partition_idx: u64,
    ) -> ActorResult<Partition> {
        self.partitions_amt(store)?
            .get(partition_idx)
            .state_err("read partition")?
            .cloned()
            .ok_or_else(|| ActorError::not_found(format!("no partition {partition_idx}")))
    }

    /// Partition `partition_idx` as of the last period's end.
    pub fn load_partition_snapshot<BS: Blockstore>(
        &self,
        store: &BS,
        partition_idx: u64,
    ) -> ActorResult<Partition> {
        self.partitions_snapshot_amt(store)?
            .get(partition_idx)
            .state_err("read partition snapshot")?
            .cloned()
            .ok_or_else(|| ActorError::not_found(format!("no partition snapshot {partition_idx}")))
    }

    /// Notes that `partitions` have sectors expiring at `expiration_epoch`.
    pub fn add_expiration_partitions<BS: Blockstore>(
        &mut self,
        store: &BS,
        expiration_epoch: ChainEpoch,
        partitions: &[u64],
        quant: QuantSpec,
    ) -> ActorResult<()> {
        if partitions.is_empty() {
            return Ok(());
        }
        let mut queue = BitFieldQueue::new(store, &self.expirations_epochs, quant)?;
        queue.add_to_queue_values(expiration_epoch, partitions.iter().copied())?;
        self.expirations_epochs = queue.amt.flush().state_err("save deadline expirations")?;
        Ok(())
    }

    /// Pops the sectors of all partitions expiring at or before `until`,
    /// marking them terminated; returns the merged expiration set.
    pub fn pop_expired_sectors<BS: Blockstore>(
        &mut self,
        store: &BS,
        until: ChainEpoch,
        quant: QuantSpec,
    ) -> ActorResult<ExpirationSet> {
        let (expired_partitions, modified) = self.pop_expired_partitions(store, until, quant)?;
        if !modified {
            return Ok(ExpirationSet::empty());
        }
        let mut partitions = self.partitions_amt(store)?;
        let mut total = ExpirationSet::empty();
        let mut with_early = Vec::new();
        for idx in expired_partitions.iter() {
            let mut p = partitions
                .get(idx)
                .state_err("read partition")?
                .cloned()
                .ok_or_else(|| ActorError::illegal_state(format!("missing partition {idx}")))?;
            let popped = p.pop_expired_sectors(store, until, quant)?;
            if !popped.early_sectors.is_empty() {
                with_early.push(idx);
            }
            total.on_time_sectors |= &popped.on_time_sectors;
            total.early_sectors |= &popped.early_sectors;
            total.active_power += &popped.active_power;
            total.faulty_power += &popped.faulty_power;
            total.on_time_pledge += &popped.on_time_pledge;
            total.fee_deduction += &popped.fee_deduction;
            partitions.set(idx, p).state_err("write partition")?;
        }
        self.partitions = partitions.flush().state_err("save partitions")?;
        for idx in with_early {
            self.early_terminations.set(idx);
        }
        self.live_sectors = sub_count(self.live_sectors, total.len(), "live sectors")?;
        self.faulty_power -= &total.faulty_power;
        self.live_power -= &total.faulty_power;
        self.live_power -= &total.active_power;
        self.daily_fee -= &total.fee_deduction;
        Ok(total)
    }

    /// Adds sectors (sorted by number), filling the last partition and
    /// opening new ones of `partition_size`. `new_fees` adds their daily
    /// fee to the deadline's. Returns the power and daily fee added.
    #[allow(clippy::too_many_arguments)]
    pub fn add_sectors<BS: Blockstore>(
        &mut self,
        store: &BS,
        partition_size: u64,
        proven: bool,
        new_fees: bool,
        mut sectors: &[SectorOnChainInfo],
        sector_size: SectorSize,
        quant: QuantSpec,
    ) -> ActorResult<(PowerPair, TokenAmount)> {
        let mut total_power = PowerPair::zero();
        let mut total_fee = TokenAmount::zero();
        if sectors.is_empty() {
            return Ok((total_power, total_fee));
        }
        if partition_size == 0 {
            return Err(ActorError::illegal_state("zero partition size"));
        }
        self.live_sectors += sectors.len() as u64;
        self.total_sectors += sectors.len() as u64;

        let mut updates = Vec::<(ChainEpoch, u64)>::with_capacity(sectors.len());
        let mut partitions = self.partitions_amt(store)?;
        let mut idx = partitions.count().saturating_sub(1);
        while !sectors.is_empty() {
            let mut p = match partitions.get(idx).state_err("read partition")? {
                Some(p) => p.clone(),
                None => Partition::new(store)?,
            };
            let have = p.sectors.len();
            if have < partition_size {
                let n = (partition_size - have).min(sectors.len() as u64) as usize;
                let (now, rest) = sectors.split_at(n);
                sectors = rest;
                let (power, fee) = p.add_sectors(store, proven, now, sector_size, quant)?;
                total_power += &power;
                if new_fees {
                    total_fee += &fee;
                }
                partitions.set(idx, p).state_err("write partition")?;
                updates.extend(now.iter().map(|s| (s.expiration, idx)));
            }
            idx += 1;
        }
        self.partitions = partitions.flush().state_err("save partitions")?;

        let mut queue = BitFieldQueue::new(store, &self.expirations_epochs, quant)?;
        queue.add_many_to_queue_values(updates)?;
        self.expirations_epochs = queue.amt.flush().state_err("save deadline expirations")?;

        self.daily_fee += &total_fee;
        self.live_power += &total_power;
        Ok((total_power, total_fee))
    }

    /// Takes early-terminated sectors off partitions' queues, within the
    /// limits; the flag says whether more remain in this deadline.
    pub fn pop_early_terminations<BS: Blockstore>(
        &mut self,
        store: &BS,
        max_partitions: u64,
        max_sectors: u64,
    ) -> ActorResult<(TerminationResult, bool)> {
        let mut partitions = self.partitions_amt(store)?;
        let mut finished = Vec::new();
        let mut result = TerminationResult::new();
        for idx in self.early_terminations.iter() {
            let mut p = match partitions.get(idx).state_err("read partition")? {
                Some(p) => p.clone(),
                None => {
                    finished.push(idx);
                    continue;
                }
            };
            let (part, more) = p.pop_early_terminations(
                store,
                max_sectors.saturating_sub(result.sectors_processed),
            )?;
            result += part;
            if !more {
                finished.push(idx);
            }
            partitions.set(idx, p).state_err("write partition")?;
            if !result.below_limit(max_partitions, max_sectors) {
                break;
            }
        }
        for idx in finished {
            self.early_terminations.unset(idx);
        }
        self.partitions = partitions.flush().state_err("save partitions")?;
        Ok((result, !self.early_terminations.is_empty()))
    }

    /// Pops the partition indices with expirations at or before `until`.
    pub fn pop_expired_partitions<BS: Blockstore>(
        &mut self,
        store: &BS,
        until: ChainEpoch,
        quant: QuantSpec,
    ) -> ActorResult<(BitField, bool)> {
        let mut queue = BitFieldQueue::new(store, &self.expirations_epochs, quant)?;
        let (popped, modified) = queue.pop_until(until)?;
        if modified {
            self.expirations_epochs = queue.amt.flush().state_err("save deadline expirations")?;
        }
        Ok((popped, modified))
    }

    /// Terminates sectors at `epoch`; returns the active power lost.
    #[allow(clippy::too_many_arguments)]
    pub fn terminate_sectors<BS: Blockstore>(
        &mut self,
        policy: &Policy,
        store: &BS,
        sectors: &Sectors<'_, BS>,
        epoch: ChainEpoch,
        partition_sectors: &mut PartitionSectorMap,
        sector_size: SectorSize,
        quant: QuantSpec,
    ) -> ActorResult<PowerPair> {
        let mut partitions = self.partitions_amt(store)?;
        let mut power_lost = PowerPair::zero();
        for (idx, numbers) in partition_sectors.iter() {
            let mut p = partitions
                .get(idx)
                .state_err("read partition")?
                .cloned()
                .ok_or_else(|| ActorError::not_found(format!("no partition {idx}")))?;
            let (removed, removed_unproven) =
                p.terminate_sectors(policy, store, sectors, epoch, numbers, sector_size, quant)?;
            partitions.set(idx, p).state_err("write partition")?;
            if !removed.is_empty() {
                self.early_terminations.set(idx);
                self.live_sectors = sub_count(self.live_sectors, removed.len(), "live sectors")?;
            }
            self.faulty_power -= &removed.faulty_power;
            self.live_power -= &removed.active_power;
            self.live_power -= &removed.faulty_power;
            self.live_power -= &removed_unproven;
            self.daily_fee -= &removed.fee_deduction;
            power_lost += &removed.active_power;
        }
        self.partitions = partitions.flush().state_err("save partitions")?;
        Ok(power_lost)
    }

    /// Removes the partitions in `to_remove` (which must have no faults,
    /// no unproven sectors, and the deadline no pending early terminations)
    /// and re-adds their live sectors into fresh partitions at the end.
    /// Returns the dead (terminated) sectors removed, whose infos the
    /// caller deletes.
    pub fn compact_partitions<BS: Blockstore>(
        &mut self,
        store: &BS,
        sectors: &mut Sectors<'_, BS>,
        sector_size: SectorSize,
        window_post_partition_sectors: u64,
        to_remove: &BitField,
        quant: QuantSpec,
    ) -> ActorResult<BitField> {
        let old = self.partitions_amt(store)?;
        let count = old.count();
        let removing: std::collections::BTreeSet<u64> = to_remove
            .bounded_iter(count)
            .ok_or_else(|| ActorError::illegal_argument("partitions to remove exceeds total"))?
            .collect();
        match removing.last() {
            None => return Ok(BitField::new()),
            Some(&max) if max >= count => {
                return Err(ActorError::illegal_argument(format!(
                    "partition index {max} out of range [0, {count})"
                )));
            }
            Some(_) => {}
        }
        if !self.early_terminations.is_empty() {
            return Err(ActorError::illegal_argument(
                "cannot remove partitions from deadline with early terminations",
            ));
        }

        let mut kept =
            Array::<Partition, BS>::new_with_bit_width(store, DEADLINE_PARTITIONS_AMT_BITWIDTH);
        let mut dead_parts = Vec::new();
        let mut live_parts = Vec::new();
        let mut removed_power = PowerPair::zero();
        let mut bad: Option<ActorError> = None;
        old.for_each_while(|idx, p| {
            if !removing.contains(&idx) {
                kept.set(kept.count(), p.clone())?;
                return Ok(true);
            }
            if !p.faults.is_empty() {
                bad = Some(ActorError::illegal_argument(format!(
                    "cannot remove partition {idx}: has faults"
                )));
                return Ok(false);
            }
            if !p.unproven.is_empty() {
                bad = Some(ActorError::illegal_argument(format!(
                    "cannot remove partition {idx}: has unproven sectors"
                )));
                return Ok(false);
            }
            dead_parts.push(p.terminated.clone());
            live_parts.push(p.live_sectors());
            removed_power += &p.live_power;
            Ok(true)
        })
        .state_err("read partitions")?;
        if let Some(e) = bad {
            return Err(e);
        }
        self.partitions = kept.flush().state_err("save partitions")?;

        let dead = BitField::union(&dead_parts);
        let live = BitField::union(&live_parts);
        self.live_sectors = sub_count(self.live_sectors, live.len(), "live sectors")?;
        self.total_sectors =
            sub_count(self.total_sectors, live.len() + dead.len(), "total sectors")?;
        self.live_power -= &removed_power;

        let mut queue = BitFieldQueue::new(store, &self.expirations_epochs, quant)?;
        queue.cut(to_remove)?;
        self.expirations_epochs = queue.amt.flush().state_err("save deadline expirations")?;

        // The moved sectors are proven and keep their fees in the deadline.
        let live_infos = sectors.load_sectors(&live)?;
        let (added_power, added_fee) = self.add_sectors(
            store,
            window_post_partition_sectors,
            true,
            false,
            &live_infos,
            sector_size,
            quant,
        )?;
        if !added_fee.is_zero() || added_power != removed_power {
            return Err(ActorError::illegal_state(
                "power or fee changed while compacting partitions",
            ));
        }
        Ok(dead)
    }

    /// Declares faults; returns the power delta.
    pub fn record_faults<BS: Blockstore>(
        &mut self,
        store: &BS,
        sectors: &Sectors<'_, BS>,
        sector_size: SectorSize,
        quant: QuantSpec,
        fault_expiration_epoch: ChainEpoch,
        partition_sectors: &mut PartitionSectorMap,
    ) -> ActorResult<PowerPair> {
        let mut partitions = self.partitions_amt(store)?;
        let mut with_faults = Vec::new();
        let mut power_delta = PowerPair::zero();
        for (idx, numbers) in partition_sectors.iter() {
            let mut p = partitions
                .get(idx)
                .state_err("read partition")?
                .cloned()
                .ok_or_else(|| ActorError::not_found(format!("no such partition {idx}")))?;
            let (new_faults, delta, new_faulty) = p.record_faults(
                store,
                sectors,
                numbers,
                fault_expiration_epoch,
                sector_size,
                quant,
            )?;
            self.faulty_power += &new_faulty;
            power_delta += &delta;
            if !new_faults.is_empty() {
                with_faults.push(idx);
            }
            partitions.set(idx, p).state_err("write partition")?;
        }
        self.partitions = partitions.flush().state_err("save partitions")?;
        self.add_expiration_partitions(store, fault_expiration_epoch, &with_faults, quant)?;
        Ok(power_delta)
    }

    /// Declares faulty sectors recovered.
    pub fn declare_faults_recovered<BS: Blockstore>(
        &mut self,
        store: &BS,
        sectors: &Sectors<'_, BS>,
        sector_size: SectorSize,
        partition_sectors: &mut PartitionSectorMap,
    ) -> ActorResult<()> {
        let mut partitions = self.partitions_amt(store)?;
        for (idx, numbers) in partition_sectors.iter() {
            let mut p = partitions
                .get(idx)
                .state_err("read partition")?
                .cloned()
                .ok_or_else(|| ActorError::not_found(format!("no such partition {idx}")))?;
            p.declare_faults_recovered(sectors, sector_size, numbers)?;
            partitions.set(idx, p).state_err("write partition")?;
        }
        self.partitions = partitions.flush().state_err("save partitions")?;
        Ok(())
    }

    /// Ends the deadline's challenge window: every partition not proven
    /// (and not already wholly faulty) is marked faulty. Snapshots the
    /// partitions and proofs for disputes. Returns the power delta and the
    /// power to penalize.
    pub fn process_deadline_end<BS: Blockstore>(
        &mut self,
        store: &BS,
        quant: QuantSpec,
        fault_expiration_epoch: ChainEpoch,
        sectors: Cid,
    ) -> ActorResult<(PowerPair, PowerPair)> {
        let mut partitions = self.partitions_amt(store)?;
        let mut detected = false;
        let mut rescheduled = Vec::new();
        let mut power_delta = PowerPair::zero();
        let mut penalized = PowerPair::zero();
        for idx in 0..partitions.count() {
            if self.partitions_posted.get(idx) {
                continue;
            }
            let mut p = partitions
                .get(idx)
                .state_err("read partition")?
                .cloned()
                .ok_or_else(|| ActorError::illegal_state(format!("no partition {idx}")))?;
            if p.recovering_power.is_zero() && p.faulty_power == p.live_power {
                continue;
            }
            detected = true;
            let (delta, pen, new_faulty) =
                p.record_missed_post(store, fault_expiration_epoch, quant)?;
            if !new_faulty.is_zero() {
                rescheduled.push(idx);
            }
            partitions.set(idx, p).state_err("write partition")?;
            self.faulty_power += &new_faulty;
            power_delta += &delta;
            penalized += &pen;
        }
        if detected {
            self.partitions = partitions.flush().state_err("save partitions")?;
        }
        self.add_expiration_partitions(store, fault_expiration_epoch, &rescheduled, quant)?;

        self.partitions_posted = BitField::new();
        self.partitions_snapshot = self.partitions;
        self.optimistic_post_submissions_snapshot = self.optimistic_post_submissions;
        self.optimistic_post_submissions =
            empty_amt(store, DEADLINE_OPTIMISTIC_POST_SUBMISSIONS_AMT_BITWIDTH)?;
        // Keep the sectors only when there are proofs that could be disputed.
        self.sectors_snapshot =
            if self.optimistic_post_submissions != self.optimistic_post_submissions_snapshot {
                sectors
            } else {
                empty_amt(store, SECTORS_AMT_BITWIDTH)?
            };
        Ok((power_delta, penalized))
    }

    /// Calls `f` with each partition.
    pub fn for_each<BS: Blockstore>(
        &self,
        store: &BS,
        mut f: impl FnMut(u64, &Partition) -> ActorResult<()>,
    ) -> ActorResult<()> {
        let parts = self.partitions_amt(store)?;
        let mut err = None;
        parts
            .for_each_while(|i, p| match f(i, p) {
                Ok(()) => Ok(true),
                Err(e) => {
                    err = Some(e);
                    Ok(false)
                }
            })
            .state_err("read partitions")?;
        err.map_or(Ok(()), Err)
    }

    /// Checks the deadline's invariants.
    pub fn validate_state(&self) -> ActorResult<()> {
        if self.live_sectors > self.total_sectors {
            return Err(ActorError::illegal_state(
                "deadline with more live sectors than total",
            ));
        }
        if self.faulty_power.raw.is_negative() || self.faulty_power.qa.is_negative() {
            return Err(ActorError::illegal_state(
                "deadline with negative faulty power",
            ));
        }
        Ok(())
    }

    /// Whether the deadline has anything to process at its end.
    pub fn is_live(&self) -> bool {
        self.live_sectors > 0
            || !self.partitions_posted.is_empty()
            || self.partitions != self.partitions_snapshot
            || self.optimistic_post_submissions != self.optimistic_post_submissions_snapshot
    }

    /// Records a Window PoSt over `post_partitions`: faults skipped
    /// sectors, recovers declared recoveries, activates unproven sectors
    /// and marks the partitions posted. Partition indices must be distinct
    /// and not yet proven (`USR_ILLEGAL_ARGUMENT`).
    pub fn record_proven_sectors<BS: Blockstore>(
        &mut self,
        store: &BS,
        sectors: &Sectors<'_, BS>,
        sector_size: SectorSize,
        quant: QuantSpec,
        fault_expiration: ChainEpoch,
        post_partitions: &mut [PoStPartition],
    ) -> ActorResult<PoStResult> {
        let indexes = BitField::try_from_bits(post_partitions.iter().map(|p| p.index))
            .map_err(|_| ActorError::illegal_argument("partition index out of range"))?;
        if indexes.len() != post_partitions.len() as u64 {
            return Err(ActorError::illegal_argument("duplicate partitions proven"));
        }
        if self.partitions_posted.contains_any(&indexes) {
            return Err(ActorError::illegal_argument("partition already proven"));
        }
        let mut partitions = self.partitions_amt(store)?;
        let mut all_sectors = Vec::with_capacity(post_partitions.len());
        let mut all_ignored = Vec::with_capacity(post_partitions.len() * 2);
        let mut new_faulty_total = PowerPair::zero();
        let mut retracted_total = PowerPair::zero();
        let mut recovered_total = PowerPair::zero();
        let mut rescheduled = Vec::new();
        let mut power_delta = PowerPair::zero();
        for post in post_partitions.iter() {
            let mut p = partitions
                .get(post.index)
                .state_err("read partition")?
                .cloned()
                .ok_or_else(|| {
                    ActorError::not_found(format!("no such partition {}", post.index))
                })?;
            let (mut delta, new_faulty, retracted, has_new_faults) = p.record_skipped_faults(
                store,
                sectors,
                sector_size,
                quant,
                fault_expiration,
                &post.skipped,
            )?;
            if has_new_faults {
                rescheduled.push(post.index);
            }
            let recovered = p.recover_faults(store, sectors, sector_size, quant)?;
            delta += &p.activate_unproven();
            all_sectors.push(p.sectors.clone());
            all_ignored.push(p.faults.clone());
            all_ignored.push(p.terminated.clone());
            partitions.set(post.index, p).state_err("write partition")?;
            new_faulty_total += &new_faulty;
            retracted_total += &retracted;
            recovered_total += &recovered;
            power_delta += &delta;
            power_delta += &recovered;
            self.partitions_posted.set(post.index);
        }
        self.add_expiration_partitions(store, fault_expiration, &rescheduled, quant)?;
        self.faulty_power -= &recovered_total;
        self.faulty_power += &new_faulty_total;
        self.partitions = partitions.flush().state_err("save partitions")?;
        Ok(PoStResult {
            power_delta,
            new_faulty_power: new_faulty_total,
            retracted_recovery_power: retracted_total,
            recovered_power: recovered_total,
            sectors: BitField::union(&all_sectors),
            ignored_sectors: BitField::union(&all_ignored),
            partitions: indexes,
        })
    }

    /// Keeps an optimistically accepted proof for disputes.
    pub fn record_post_proofs<BS: Blockstore>(
        &mut self,
        store: &BS,
        partitions: &BitField,
        proofs: &[PoStProof],
    ) -> ActorResult<()> {
        let mut arr = self.optimistic_proofs_amt(store)?;
        let next = arr.count();
        arr.set(
            next,
            WindowedPoSt {
                partitions: partitions.clone(),
                proofs: proofs.to_vec(),
            },
        )
        .state_err("store proof")?;
        self.optimistic_post_submissions = arr.flush().state_err("save proofs")?;
        Ok(())
    }

    /// Removes and returns proof `idx` of the snapshot (disputes).
    pub fn take_post_proofs<BS: Blockstore>(
        &mut self,
        store: &BS,
        idx: u64,
    ) -> ActorResult<(BitField, Vec<PoStProof>)> {
        let mut arr = self.optimistic_proofs_snapshot_amt(store)?;
        let post = arr
            .delete(idx)
            .state_err("read proof")?
            .ok_or_else(|| ActorError::illegal_argument(format!("proof {idx} not found")))?;
        self.optimistic_post_submissions_snapshot = arr.flush().state_err("save proofs")?;
        Ok((post.partitions, post.proofs))
    }

    /// Moves the active sectors among `partition_sectors` to expire at
    /// `expiration`; returns the sectors moved.
    pub fn reschedule_sector_expirations<BS: Blockstore>(
        &mut self,
        store: &BS,
        sectors: &Sectors<'_, BS>,
        expiration: ChainEpoch,
        partition_sectors: &mut PartitionSectorMap,
        sector_size: SectorSize,
        quant: QuantSpec,
    ) -> ActorResult<Vec<SectorOnChainInfo>> {
        let mut partitions = self.partitions_amt(store)?;
        let mut rescheduled = Vec::new();
        let mut all = Vec::new();
        for (idx, numbers) in partition_sectors.iter() {
            let Some(mut p) = partitions.get(idx).state_err("read partition")?.cloned() else {
                continue;
            };
            let moved =
                p.reschedule_expirations(store, sectors, expiration, numbers, sector_size, quant)?;
            if moved.is_empty() {
                continue;
            }
            all.extend(moved);
            rescheduled.push(idx);
            partitions.set(idx, p).state_err("write partition")?;
        }
        if !rescheduled.is_empty() {
            self.partitions = partitions.flush().state_err("save partitions")?;
            self.add_expiration_partitions(store, expiration, &rescheduled, quant)?;
        }
        Ok(all)
    }
}
