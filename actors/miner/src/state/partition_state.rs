//! A partition: up to `window_post_partition_sectors` sectors proven
//! together in one Window PoSt. It tracks which sectors are unproven
//! (newly added), faulty, recovering or terminated, their power in each
//! state, the expiration queue of its live sectors and the queue of its
//! early terminations awaiting penalty processing.

use cid::Cid;
use ferrite_actor_rt::{ActorError, ActorResult, WithCode};
use ferrite_actor_types::miner::{PowerPair, SectorOnChainInfo};
use ferrite_actor_types::policy::Policy;
use fvm_ipld_bitfield::BitField;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::SectorSize;
use num_traits::Signed;

use super::{
    Array, BitFieldQueue, ExpirationQueue, ExpirationSet, NO_QUANTIZATION, QuantSpec, Sectors,
    TerminationResult, power_for_sectors, select_sectors,
};

/// Bit width of a partition's expiration AMT.
pub const PARTITION_EXPIRATION_AMT_BITWIDTH: u32 = 4;
/// Bit width of a partition's early-termination AMT.
pub const PARTITION_EARLY_TERMINATION_ARRAY_AMT_BITWIDTH: u32 = 3;

/// A partition (v18 layout, 11 fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Partition {
    /// All sectors ever added (including terminated ones).
    pub sectors: BitField,
    /// Sectors added but not yet proven by a Window PoSt.
    pub unproven: BitField,
    /// Faulty sectors (including recovering ones).
    pub faults: BitField,
    /// Faulty sectors declared recovered, awaiting proof.
    pub recoveries: BitField,
    /// Terminated (or expired) sectors.
    pub terminated: BitField,
    /// AMT (bw 4): quantized epoch → [`ExpirationSet`].
    pub expirations_epochs: Cid,
    /// AMT (bw 3): epoch → sectors terminated early then.
    pub early_terminated: Cid,
    /// Power of all live sectors.
    pub live_power: PowerPair,
    /// Power of unproven sectors.
    pub unproven_power: PowerPair,
    /// Power of faulty sectors.
    pub faulty_power: PowerPair,
    /// Power of recovering sectors.
    pub recovering_power: PowerPair,
}

fn arg(msg: impl Into<String>) -> ActorError {
    ActorError::illegal_argument(msg)
}

impl Partition {
    /// An empty partition.
    pub fn new<BS: Blockstore>(store: &BS) -> ActorResult<Self> {
        let expirations =
            Array::<ExpirationSet, _>::new_with_bit_width(store, PARTITION_EXPIRATION_AMT_BITWIDTH)
                .flush()
                .state_err("create partition expirations")?;
        let early = Array::<BitField, _>::new_with_bit_width(
            store,
            PARTITION_EARLY_TERMINATION_ARRAY_AMT_BITWIDTH,
        )
        .flush()
        .state_err("create partition early terminations")?;
        Ok(Self {
            sectors: BitField::new(),
            unproven: BitField::new(),
            faults: BitField::new(),
            recoveries: BitField::new(),
            terminated: BitField::new(),
            expirations_epochs: expirations,
            early_terminated: early,
            live_power: PowerPair::zero(),
            unproven_power: PowerPair::zero(),
            faulty_power: PowerPair::zero(),
            recovering_power: PowerPair::zero(),
        })
    }

    /// Sectors not terminated.
    pub fn live_sectors(&self) -> BitField {
        &self.sectors - &self.terminated
    }

    /// Live sectors that are proven and not faulty.
    pub fn active_sectors(&self) -> BitField {
        &(&self.live_sectors() - &self.faults) - &self.unproven
    }

    /// Power of the active sectors.
    pub fn active_power(&self) -> PowerPair {
        &(&self.live_power - &self.faulty_power) - &self.unproven_power
    }

    /// Adds new sectors (unproven unless `proven`); returns their power and
    /// daily fee.
    pub fn add_sectors<BS: Blockstore>(
        &mut self,
        store: &BS,
        proven: bool,
        sectors: &[SectorOnChainInfo],
        sector_size: SectorSize,
        quant: QuantSpec,
    ) -> ActorResult<(PowerPair, TokenAmount)> {
        let mut queue = ExpirationQueue::new(store, &self.expirations_epochs, quant)?;
        let (numbers, power, _, daily_fee) = queue.add_active_sectors(sectors, sector_size)?;
        self.expirations_epochs = queue.amt.flush().state_err("save partition expirations")?;
        if self.sectors.contains_any(&numbers) {
            return Err(arg("not all added sectors are new"));
        }
        self.sectors |= &numbers;
        self.live_power += &power;
        if !proven {
            self.unproven_power += &power;
            self.unproven |= &numbers;
        }
        self.validate_state()?;
        Ok((power, daily_fee))
    }

    /// Marks sectors faulty; returns the power delta (negative: power that
    /// stops counting, offset by unproven power that never counted) and the
    /// new faulty power.
    pub fn add_faults<BS: Blockstore>(
        &mut self,
        store: &BS,
        sector_numbers: &BitField,
        sectors: &[SectorOnChainInfo],
        fault_expiration: ChainEpoch,
        sector_size: SectorSize,
        quant: QuantSpec,
    ) -> ActorResult<(PowerPair, PowerPair)> {
        let mut queue = ExpirationQueue::new(store, &self.expirations_epochs, quant)?;
        let new_faulty = queue.reschedule_as_faults(fault_expiration, sectors, sector_size)?;
        self.expirations_epochs = queue.amt.flush().state_err("save partition expirations")?;

        self.faults |= sector_numbers;
        self.faulty_power += &new_faulty;

        let unproven = sector_numbers & &self.unproven;
        self.unproven -= &unproven;
        let mut power_delta = -&new_faulty;
        let unproven_infos = select_sectors(sectors, &unproven)?;
        if !unproven_infos.is_empty() {
            let lost = power_for_sectors(sector_size, &unproven_infos);
            self.unproven_power -= &lost;
            power_delta += &lost;
        }
        self.validate_state()?;
        Ok((power_delta, new_faulty))
    }

    /// Declares sectors faulty: retracts pending recoveries among them and
    /// faults the rest that are not yet faulty. Returns the new faults, the
    /// power delta and the new faulty power.
    pub fn record_faults<BS: Blockstore>(
        &mut self,
        store: &BS,
        sectors: &Sectors<'_, BS>,
        sector_numbers: &BitField,
        fault_expiration_epoch: ChainEpoch,
        sector_size: SectorSize,
        quant: QuantSpec,
    ) -> ActorResult<(BitField, PowerPair, PowerPair)> {
        if !self.sectors.contains_all(sector_numbers) {
            return Err(arg(
                "failed fault declaration: sectors not in the partition",
            ));
        }
        let retracted = &self.recoveries & sector_numbers;
        let new_faults = &(&(sector_numbers - &retracted) - &self.terminated) - &self.faults;
        let new_fault_sectors = sectors.load_sectors(&new_faults)?;
        let (power_delta, new_faulty_power) = if new_fault_sectors.is_empty() {
            (PowerPair::zero(), PowerPair::zero())
        } else {
            self.add_faults(
                store,
                &new_faults,
                &new_fault_sectors,
                fault_expiration_epoch,
                sector_size,
                quant,
            )?
        };
        let retracted_sectors = sectors.load_sectors(&retracted)?;
        if !retracted_sectors.is_empty() {
            let p = power_for_sectors(sector_size, &retracted_sectors);
            self.remove_recoveries(&retracted, &p);
        }
        self.validate_state()?;
        Ok((new_faults, power_delta, new_faulty_power))
    }

    /// Turns all declared recoveries back into healthy sectors (after a
    /// successful PoSt); returns the power recovered.
    pub fn recover_faults<BS: Blockstore>(
        &mut self,
        store: &BS,
        sectors: &Sectors<'_, BS>,
        sector_size: SectorSize,
        quant: QuantSpec,
    ) -> ActorResult<PowerPair> {
        let recovered = sectors.load_sectors(&self.recoveries)?;
        let mut queue = ExpirationQueue::new(store, &self.expirations_epochs, quant)?;
        let power = queue.reschedule_recovered(recovered, sector_size)?;
        self.expirations_epochs = queue.amt.flush().state_err("save partition expirations")?;
        self.faults -= &self.recoveries;
        self.recoveries = BitField::new();
        self.faulty_power -= &power;
        self.recovering_power -= &power;
        self.validate_state()?;
        Ok(power)
    }

    /// Marks all unproven sectors proven; returns their power.
    pub fn activate_unproven(&mut self) -> PowerPair {
        self.unproven = BitField::new();
        std::mem::take(&mut self.unproven_power)
    }

    /// Declares faulty sectors recovered (they must be in the partition);
    /// they count again once proven.
    pub fn declare_faults_recovered<BS: Blockstore>(
        &mut self,
        sectors: &Sectors<'_, BS>,
        sector_size: SectorSize,
        sector_numbers: &BitField,
    ) -> ActorResult<()> {
        if !self.sectors.contains_all(sector_numbers) {
            return Err(arg(
                "failed recovery declaration: sectors not in the partition",
            ));
        }
        let recoveries = &(sector_numbers & &self.faults) - &self.recoveries;
        let infos = sectors.load_sectors(&recoveries)?;
        self.recoveries |= &recoveries;
        self.recovering_power += &power_for_sectors(sector_size, &infos);
        self.validate_state()
    }

    /// Forgets declared recoveries.
    pub fn remove_recoveries(&mut self, sector_numbers: &BitField, power: &PowerPair) {
        if sector_numbers.is_empty() {
            return;
        }
        self.recoveries -= sector_numbers;
        self.recovering_power -= power;
    }

    /// Moves the active sectors among `sector_numbers` to expire at
    /// `new_expiration`; returns the sectors moved.
    pub fn reschedule_expirations<BS: Blockstore>(
        &mut self,
        store: &BS,
        sectors: &Sectors<'_, BS>,
        new_expiration: ChainEpoch,
        sector_numbers: &BitField,
        sector_size: SectorSize,
        quant: QuantSpec,
    ) -> ActorResult<Vec<SectorOnChainInfo>> {
        let active = &(&(sector_numbers & &self.sectors) - &self.terminated) - &self.faults;
        let infos = sectors.load_sectors(&active)?;
        let mut queue = ExpirationQueue::new(store, &self.expirations_epochs, quant)?;
        queue.reschedule_expirations(new_expiration, &infos, sector_size)?;
        self.expirations_epochs = queue.amt.flush().state_err("save partition expirations")?;
        self.validate_state()?;
        Ok(infos)
    }

    /// Replaces active sectors by new versions (extensions); returns the
    /// power, pledge and daily fee deltas.
    pub fn replace_sectors<BS: Blockstore>(
        &mut self,
        store: &BS,
        old_sectors: &[SectorOnChainInfo],
        new_sectors: &[SectorOnChainInfo],
        sector_size: SectorSize,
        quant: QuantSpec,
    ) -> ActorResult<(PowerPair, TokenAmount, TokenAmount)> {
        let mut queue = ExpirationQueue::new(store, &self.expirations_epochs, quant)?;
        let (old_n, new_n, power_delta, pledge_delta, fee_delta) =
            queue.replace_sectors(old_sectors, new_sectors, sector_size)?;
        self.expirations_epochs = queue.amt.flush().state_err("save partition expirations")?;
        if !self.active_sectors().contains_all(&old_n) {
            return Err(arg("refusing to replace inactive sectors"));
        }
        self.sectors -= &old_n;
        self.sectors |= &new_n;
        self.live_power += &power_delta;
        self.validate_state()?;
        Ok((power_delta, pledge_delta, fee_delta))
    }

    /// Queues sectors as terminated early at `epoch`.
    pub fn record_early_termination<BS: Blockstore>(
        &mut self,
        store: &BS,
        epoch: ChainEpoch,
        sectors: &BitField,
    ) -> ActorResult<()> {
        let mut queue = BitFieldQueue::new(store, &self.early_terminated, NO_QUANTIZATION)?;
        queue.add_to_queue(epoch, sectors)?;
        self.early_terminated = queue.amt.flush().state_err("save early terminations")?;
        Ok(())
    }

    /// Terminates live sectors at `epoch`: removes them from the expiration
    /// queue and records them for penalty processing. Returns what was
    /// removed (active power excludes unproven power) and the removed
    /// unproven power.
    #[allow(clippy::too_many_arguments)]
    pub fn terminate_sectors<BS: Blockstore>(
        &mut self,
        policy: &Policy,
        store: &BS,
        sectors: &Sectors<'_, BS>,
        epoch: ChainEpoch,
        sector_numbers: &BitField,
        sector_size: SectorSize,
        quant: QuantSpec,
    ) -> ActorResult<(ExpirationSet, PowerPair)> {
        if !self.live_sectors().contains_all(sector_numbers) {
            return Err(arg("can only terminate live sectors"));
        }
        let infos = sectors.load_sectors(sector_numbers)?;
        let mut queue = ExpirationQueue::new(store, &self.expirations_epochs, quant)?;
        let (mut removed, removed_recovering) =
            queue.remove_sectors(policy, &infos, &self.faults, &self.recoveries, sector_size)?;
        self.expirations_epochs = queue.amt.flush().state_err("save partition expirations")?;

        let removed_sectors = &removed.on_time_sectors | &removed.early_sectors;
        self.record_early_termination(store, epoch, &removed_sectors)?;

        let unproven = &removed_sectors & &self.unproven;
        self.faults -= &removed_sectors;
        self.recoveries -= &removed_sectors;
        self.terminated |= &removed_sectors;
        self.live_power -= &removed.active_power;
        self.live_power -= &removed.faulty_power;
        self.faulty_power -= &removed.faulty_power;
        self.recovering_power -= &removed_recovering;
        self.unproven -= &unproven;

        let unproven_infos = select_sectors(&infos, &unproven)?;
        let unproven_power = power_for_sectors(sector_size, &unproven_infos);
        self.unproven_power -= &unproven_power;
        removed.active_power -= &unproven_power;
        self.validate_state()?;
        Ok((removed, unproven_power))
    }

    /// Pops the sectors expiring at or before `until` and marks them
    /// terminated (early ones are queued for penalties).
    pub fn pop_expired_sectors<BS: Blockstore>(
        &mut self,
        store: &BS,
        until: ChainEpoch,
        quant: QuantSpec,
    ) -> ActorResult<ExpirationSet> {
        if !self.unproven.is_empty() {
            return Err(ActorError::illegal_state(
                "cannot pop expirations with unproven sectors",
            ));
        }
        let mut queue = ExpirationQueue::new(store, &self.expirations_epochs, quant)?;
        let popped = queue.pop_until(until)?;
        self.expirations_epochs = queue.amt.flush().state_err("save partition expirations")?;

        let expired = &popped.on_time_sectors | &popped.early_sectors;
        if !self.recoveries.is_empty() || !self.recovering_power.is_zero() {
            return Err(ActorError::illegal_state(
                "unexpected recoveries while expiring sectors",
            ));
        }
        if self.terminated.contains_any(&expired) {
            return Err(ActorError::illegal_state(
                "expiring sectors already terminated",
            ));
        }
        self.terminated |= &expired;
        self.faults -= &expired;
        self.live_power -= &(&popped.active_power + &popped.faulty_power);
        self.faulty_power -= &popped.faulty_power;
        self.record_early_termination(store, until, &popped.early_sectors)?;
        self.validate_state()?;
        Ok(popped)
    }

    /// Marks every live sector faulty after a missed Window PoSt. Returns
    /// the power delta, the power to penalize (new faults and failed
    /// recoveries) and the newly faulty power.
    pub fn record_missed_post<BS: Blockstore>(
        &mut self,
        store: &BS,
        fault_expiration: ChainEpoch,
        quant: QuantSpec,
    ) -> ActorResult<(PowerPair, PowerPair, PowerPair)> {
        let mut queue = ExpirationQueue::new(store, &self.expirations_epochs, quant)?;
        queue.reschedule_all_as_faults(fault_expiration)?;
        self.expirations_epochs = queue.amt.flush().state_err("save partition expirations")?;

        let new_faulty = &self.live_power - &self.faulty_power;
        let penalized = &self.recovering_power + &new_faulty;
        // Unproven power never counted, so only proven new faults are lost.
        let power_delta = &self.unproven_power - &new_faulty;

        self.faults = self.live_sectors();
        self.recoveries = BitField::new();
        self.unproven = BitField::new();
        self.faulty_power = self.live_power.clone();
        self.recovering_power = PowerPair::zero();
        self.unproven_power = PowerPair::zero();
        self.validate_state()?;
        Ok((power_delta, penalized, new_faulty))
    }

    /// Takes up to `max_sectors` early-terminated sectors off the queue;
    /// the flag says whether more remain.
    pub fn pop_early_terminations<BS: Blockstore>(
        &mut self,
        store: &BS,
        max_sectors: u64,
    ) -> ActorResult<(TerminationResult, bool)> {
        let mut queue = BitFieldQueue::new(store, &self.early_terminated, NO_QUANTIZATION)?;
        let mut done_keys = Vec::new();
        let mut rest: Option<(u64, BitField)> = None;
        let mut result = TerminationResult::new();
        result.partitions_processed = 1;
        queue
            .amt
            .for_each_while(|key, sectors| {
                let count = sectors.len();
                let limit = max_sectors.saturating_sub(result.sectors_processed);
                let taken = if limit < count {
                    let part = sectors
                        .slice(0, limit)
                        .ok_or_else(|| anyhow::anyhow!("bitfield shorter than its length"))?;
                    rest = Some((key, sectors - &part));
                    result.sectors_processed += limit;
                    part
                } else {
                    done_keys.push(key);
                    result.sectors_processed += count;
                    sectors.clone()
                };
                result.sectors.insert(key as ChainEpoch, taken);
                Ok(result.sectors_processed < max_sectors)
            })
            .state_err("walk early terminations")?;
        queue
            .amt
            .batch_delete(done_keys, true)
            .state_err("remove early terminations")?;
        if let Some((key, left)) = rest {
            queue
                .amt
                .set(key, left)
                .state_err("update early terminations")?;
        }
        self.early_terminated = queue.amt.flush().state_err("save early terminations")?;
        self.validate_state()?;
        Ok((result, queue.amt.count() > 0))
    }

    /// Faults the sectors a Window PoSt skipped. Returns the power delta,
    /// the new faulty power, the retracted recovery power, and whether any
    /// new faults were recorded.
    pub fn record_skipped_faults<BS: Blockstore>(
        &mut self,
        store: &BS,
        sectors: &Sectors<'_, BS>,
        sector_size: SectorSize,
        quant: QuantSpec,
        fault_expiration: ChainEpoch,
        skipped: &BitField,
    ) -> ActorResult<(PowerPair, PowerPair, PowerPair, bool)> {
        if skipped.is_empty() {
            return Ok((
                PowerPair::zero(),
                PowerPair::zero(),
                PowerPair::zero(),
                false,
            ));
        }
        if !self.sectors.contains_all(skipped) {
            return Err(arg("skipped faults contains sectors outside partition"));
        }
        let retracted = &self.recoveries & skipped;
        let retracted_power = power_for_sectors(sector_size, &sectors.load_sectors(&retracted)?);
        let new_faults = &(skipped - &self.terminated) - &self.faults;
        let new_fault_sectors = sectors.load_sectors(&new_faults)?;
        let (power_delta, new_fault_power) = self.add_faults(
            store,
            &new_faults,
            &new_fault_sectors,
            fault_expiration,
            sector_size,
            quant,
        )?;
        self.remove_recoveries(&retracted, &retracted_power);
        self.validate_state()?;
        Ok((
            power_delta,
            new_fault_power,
            retracted_power,
            !new_fault_sectors.is_empty(),
        ))
    }

    /// Checks the power invariants.
    pub fn validate_power_state(&self) -> ActorResult<()> {
        let neg = |p: &PowerPair| p.raw.is_negative() || p.qa.is_negative();
        if neg(&self.live_power)
            || neg(&self.unproven_power)
            || neg(&self.faulty_power)
            || neg(&self.recovering_power)
        {
            return Err(ActorError::illegal_state(
                "partition left with negative power",
            ));
        }
        if self.unproven_power.raw > self.live_power.raw
            || self.faulty_power.raw > self.live_power.raw
            || self.recovering_power.raw > self.faulty_power.raw
        {
            return Err(ActorError::illegal_state(
                "partition left with inconsistent power",
            ));
        }
        Ok(())
    }

    /// Checks the bitfield invariants.
    pub fn validate_bf_state(&self) -> ActorResult<()> {
        let mut merged = &self.unproven | &self.faults;
        if self.terminated.contains_any(&merged) {
            return Err(ActorError::illegal_state(
                "terminated sectors in several states",
            ));
        }
        merged |= &self.terminated;
        if !self.sectors.contains_all(&merged) {
            return Err(ActorError::illegal_state(
                "partition sector states outside its sectors",
            ));
        }
        if !self.faults.contains_all(&self.recoveries) {
            return Err(ActorError::illegal_state("recoveries that are not faults"));
        }
        Ok(())
    }

    /// Checks all invariants.
    pub fn validate_state(&self) -> ActorResult<()> {
        self.validate_power_state()?;
        self.validate_bf_state()
    }
}
