//! The expiration queue of a partition: an AMT from quantized epoch to the
//! [`ExpirationSet`] of sectors that leave the partition then, either on
//! time (their committed expiration) or early (faulty for too long).
//! Power, pledge and the FIP-0100 daily fee travel with the sectors, so a
//! pop yields exactly what the miner must release or penalize.

use std::collections::{BTreeMap, BTreeSet};

use cid::Cid;
use ferrite_actor_rt::{ActorError, ActorResult, WithCode};
use ferrite_actor_types::miner::{PowerPair, SectorOnChainInfo};
use ferrite_actor_types::policy::Policy;
use fvm_ipld_bitfield::BitField;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::{SectorNumber, SectorSize};
use num_traits::{Signed, Zero};

use super::bitfield_queue::epoch_key;
use super::{Array, QuantSpec, power_for_sector};

/// Largest expiration entry expanded when removing faulty sectors.
const ENTRY_SECTORS_MAX: u64 = 10_000;

/// The sectors of a partition that expire at one (quantized) epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ExpirationSet {
    /// Sectors expiring at their committed expiration.
    pub on_time_sectors: BitField,
    /// Sectors terminating early (faulty too long).
    pub early_sectors: BitField,
    /// Pledge of the on-time sectors.
    pub on_time_pledge: TokenAmount,
    /// Power of the non-faulty sectors.
    pub active_power: PowerPair,
    /// Power of the faulty sectors.
    pub faulty_power: PowerPair,
    /// FIP-0100 daily fee of all the sectors (old data may lack it).
    #[serde(default)]
    pub fee_deduction: TokenAmount,
}

fn bad(msg: String) -> ActorError {
    ActorError::illegal_state(msg)
}

fn bits(values: impl IntoIterator<Item = u64>) -> ActorResult<BitField> {
    BitField::try_from_bits(values).map_err(|e| bad(format!("sector numbers: {e}")))
}

impl ExpirationSet {
    /// An empty set.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds sectors and their totals.
    pub fn add(
        &mut self,
        on_time_sectors: &BitField,
        early_sectors: &BitField,
        on_time_pledge: &TokenAmount,
        active_power: &PowerPair,
        faulty_power: &PowerPair,
        fee_deduction: &TokenAmount,
    ) -> ActorResult<()> {
        self.on_time_sectors |= on_time_sectors;
        self.early_sectors |= early_sectors;
        self.on_time_pledge += on_time_pledge;
        self.active_power += active_power;
        self.faulty_power += faulty_power;
        self.fee_deduction += fee_deduction;
        self.validate_state()
    }

    /// Removes sectors (which must be present) and their totals.
    pub fn remove(
        &mut self,
        on_time_sectors: &BitField,
        early_sectors: &BitField,
        on_time_pledge: &TokenAmount,
        active_power: &PowerPair,
        faulty_power: &PowerPair,
        fee_deduction: &TokenAmount,
    ) -> ActorResult<()> {
        if !self.on_time_sectors.contains_all(on_time_sectors) {
            return Err(bad(
                "removing on-time sectors not in the expiration set".into()
            ));
        }
        if !self.early_sectors.contains_all(early_sectors) {
            return Err(bad(
                "removing early sectors not in the expiration set".into()
            ));
        }
        self.on_time_sectors -= on_time_sectors;
        self.early_sectors -= early_sectors;
        self.on_time_pledge -= on_time_pledge;
        self.active_power -= active_power;
        self.faulty_power -= faulty_power;
        self.fee_deduction -= fee_deduction;
        self.validate_state()
    }

    /// Whether it holds no sectors.
    pub fn is_empty(&self) -> bool {
        self.on_time_sectors.is_empty() && self.early_sectors.is_empty()
    }

    /// Number of sectors.
    pub fn len(&self) -> u64 {
        self.on_time_sectors.len() + self.early_sectors.len()
    }

    /// Fails if any total went negative.
    pub fn validate_state(&self) -> ActorResult<()> {
        let negative = self.on_time_pledge.is_negative()
            || self.active_power.raw.is_negative()
            || self.active_power.qa.is_negative()
            || self.faulty_power.raw.is_negative()
            || self.faulty_power.qa.is_negative()
            || self.fee_deduction.is_negative();
        if negative {
            return Err(bad(format!(
                "expiration set with a negative total: {self:?}"
            )));
        }
        Ok(())
    }
}

/// A partition's expiration queue over an AMT.
pub struct ExpirationQueue<'db, BS> {
    /// The AMT (quantized epoch → set).
    pub amt: Array<'db, ExpirationSet, BS>,
    /// The quantization of its epochs.
    pub quant: QuantSpec,
}

/// Sectors of one queue entry selected for an operation, with their totals.
struct EpochGroup {
    epoch: ChainEpoch,
    sectors: Vec<u64>,
    power: PowerPair,
    pledge: TokenAmount,
    daily_fee: TokenAmount,
}

impl EpochGroup {
    fn new(epoch: ChainEpoch) -> Self {
        Self {
            epoch,
            sectors: Vec::new(),
            power: PowerPair::zero(),
            pledge: TokenAmount::zero(),
            daily_fee: TokenAmount::zero(),
        }
    }
    fn push(&mut self, sector_size: SectorSize, s: &SectorOnChainInfo) {
        self.sectors.push(s.sector_number);
        self.power += &power_for_sector(sector_size, s);
        self.pledge += &s.initial_pledge;
        self.daily_fee += &s.daily_fee;
    }
}

impl<'db, BS: Blockstore> ExpirationQueue<'db, BS> {
    /// Loads the queue at `root`.
    pub fn new(store: &'db BS, root: &Cid, quant: QuantSpec) -> ActorResult<Self> {
        let amt = Array::load(root, store).state_err("load expiration queue")?;
        Ok(Self { amt, quant })
    }

    /// Queues new active sectors at their expirations; returns their
    /// numbers, power, pledge and daily fee.
    pub fn add_active_sectors<'a>(
        &mut self,
        sectors: impl IntoIterator<Item = &'a SectorOnChainInfo>,
        sector_size: SectorSize,
    ) -> ActorResult<(BitField, PowerPair, TokenAmount, TokenAmount)> {
        let mut groups = BTreeMap::<ChainEpoch, EpochGroup>::new();
        for s in sectors {
            let epoch = self.quant.quantize_up(s.expiration);
            groups
                .entry(epoch)
                .or_insert_with(|| EpochGroup::new(epoch))
                .push(sector_size, s);
        }
        let mut all = Vec::new();
        let mut power = PowerPair::zero();
        let mut pledge = TokenAmount::zero();
        let mut fee = TokenAmount::zero();
        for g in groups.into_values() {
            let numbers = bits(g.sectors.iter().copied())?;
            self.add(
                g.epoch,
                &numbers,
                &BitField::new(),
                &g.power,
                &PowerPair::zero(),
                &g.pledge,
                &g.daily_fee,
            )?;
            all.extend(g.sectors);
            power += &g.power;
            pledge += &g.pledge;
            fee += &g.daily_fee;
        }
        Ok((bits(all)?, power, pledge, fee))
    }

    /// Moves active sectors to `new_expiration` (on time).
    pub fn reschedule_expirations(
        &mut self,
        new_expiration: ChainEpoch,
        sectors: &[SectorOnChainInfo],
        sector_size: SectorSize,
    ) -> ActorResult<()> {
        if sectors.is_empty() {
            return Ok(());
        }
        let (numbers, power, pledge, fee) = self.remove_active_sectors(sectors, sector_size)?;
        self.add(
            new_expiration,
            &numbers,
            &BitField::new(),
            &power,
            &PowerPair::zero(),
            &pledge,
            &fee,
        )
    }

    /// Marks sectors faulty: those expiring on time by `new_expiration`
    /// stay where they are with their power moved to faulty; the others
    /// move to `new_expiration` as early expirations. Returns the power
    /// that became faulty.
    pub fn reschedule_as_faults(
        &mut self,
        new_expiration: ChainEpoch,
        sectors: &[SectorOnChainInfo],
        sector_size: SectorSize,
    ) -> ActorResult<PowerPair> {
        let groups = self.find_sectors_by_expiration(sector_size, sectors)?;
        let new_q = self.quant.quantize_up(new_expiration);
        let mut moved = Vec::new();
        let mut expiring_power = PowerPair::zero();
        let mut moved_power = PowerPair::zero();
        let mut moved_fee = TokenAmount::zero();
        for (g, mut set) in groups {
            if g.epoch <= new_q {
                // Expires on time before the fault would terminate it.
                set.active_power -= &g.power;
                set.faulty_power += &g.power;
                expiring_power += &g.power;
            } else {
                set.on_time_sectors -= &bits(g.sectors.iter().copied())?;
                set.on_time_pledge -= &g.pledge;
                set.active_power -= &g.power;
                set.fee_deduction -= &g.daily_fee;
                moved.extend_from_slice(&g.sectors);
                moved_power += &g.power;
                moved_fee += &g.daily_fee;
            }
            set.validate_state()?;
            self.must_update_or_delete(g.epoch, set)?;
        }
        if !moved.is_empty() {
            let early = bits(moved)?;
            self.add(
                new_expiration,
                &BitField::new(),
                &early,
                &PowerPair::zero(),
                &moved_power,
                &TokenAmount::zero(),
                &moved_fee,
            )?;
        }
        Ok(&moved_power + &expiring_power)
    }

    /// Marks every sector faulty (a missed PoSt): entries up to
    /// `fault_expiration` keep their sectors with all power faulty; later
    /// entries move to `fault_expiration` as early expirations.
    pub fn reschedule_all_as_faults(&mut self, fault_expiration: ChainEpoch) -> ActorResult<()> {
        let q_fault = self.quant.quantize_up(fault_expiration);
        let mut later_epochs = Vec::new();
        let mut moved_sectors = BitField::new();
        let mut moved_power = PowerPair::zero();
        let mut moved_fee = TokenAmount::zero();
        let mut updated = Vec::new();
        let mut early_conflict = false;
        self.amt
            .for_each(|e, set| {
                if e as ChainEpoch <= q_fault {
                    let mut set = set.clone();
                    let active = std::mem::take(&mut set.active_power);
                    set.faulty_power += &active;
                    updated.push((e, set));
                } else {
                    if !set.early_sectors.is_empty() {
                        early_conflict = true;
                    }
                    later_epochs.push(e);
                    moved_sectors |= &set.on_time_sectors;
                    moved_power += &set.active_power;
                    moved_power += &set.faulty_power;
                    moved_fee += &set.fee_deduction;
                }
                Ok(())
            })
            .state_err("read expiration queue")?;
        if early_conflict {
            return Err(bad(
                "cannot move early expirations to an earlier epoch".into()
            ));
        }
        for (e, set) in updated {
            set.validate_state()?;
            self.amt.set(e, set).state_err("write expiration queue")?;
        }
        if later_epochs.is_empty() {
            return Ok(());
        }
        self.add(
            fault_expiration,
            &BitField::new(),
            &moved_sectors,
            &PowerPair::zero(),
            &moved_power,
            &TokenAmount::zero(),
            &moved_fee,
        )?;
        self.amt
            .batch_delete(later_epochs, true)
            .state_err("delete expiration entries")?;
        Ok(())
    }

    /// Marks faulty sectors recovered: on-time ones get their power back
    /// as active; early ones return to their committed expiration. Returns
    /// the power recovered.
    pub fn reschedule_recovered(
        &mut self,
        sectors: Vec<SectorOnChainInfo>,
        sector_size: SectorSize,
    ) -> ActorResult<PowerPair> {
        let mut remaining: BTreeMap<SectorNumber, &SectorOnChainInfo> =
            sectors.iter().map(|s| (s.sector_number, s)).collect();
        let mut back_on_time = Vec::<&SectorOnChainInfo>::new();
        let mut recovered = PowerPair::zero();
        let mut emptied = Vec::new();
        self.amt
            .for_each_while_mut(|e, set| {
                let mut faulty_delta = PowerPair::zero();
                let mut active_delta = PowerPair::zero();
                let mut fee_delta = TokenAmount::zero();
                for n in set.on_time_sectors.iter() {
                    if let Some(s) = remaining.remove(&n) {
                        let p = power_for_sector(sector_size, s);
                        faulty_delta -= &p;
                        active_delta += &p;
                        recovered += &p;
                    }
                }
                let mut early_unset = Vec::new();
                for n in set.early_sectors.iter() {
                    if let Some(s) = remaining.remove(&n) {
                        early_unset.push(n);
                        let p = power_for_sector(sector_size, s);
                        faulty_delta -= &p;
                        fee_delta -= &s.daily_fee;
                        recovered += &p;
                        back_on_time.push(s);
                    }
                }
                if !early_unset.is_empty() || !faulty_delta.is_zero() || !active_delta.is_zero() {
                    set.active_power += &active_delta;
                    set.faulty_power += &faulty_delta;
                    set.fee_deduction += &fee_delta;
                    set.early_sectors -= &BitField::try_from_bits(early_unset)?;
                }
                if set.validate_state().is_err() {
                    anyhow::bail!("expiration set at {e} went negative on recovery");
                }
                if set.is_empty() {
                    emptied.push(e);
                }
                Ok(!remaining.is_empty())
            })
            .state_err("reschedule recovered sectors")?;
        self.amt
            .batch_delete(emptied, true)
            .state_err("delete expiration entries")?;
        if !remaining.is_empty() {
            return Err(bad(format!(
                "sectors not in the expiration queue: {:?}",
                remaining.keys().collect::<Vec<_>>()
            )));
        }
        self.add_active_sectors(back_on_time, sector_size)?;
        Ok(recovered)
    }

    /// Replaces sectors by others (same partition); returns old numbers,
    /// new numbers, power delta, pledge delta and daily fee delta.
    pub fn replace_sectors(
        &mut self,
        old_sectors: &[SectorOnChainInfo],
        new_sectors: &[SectorOnChainInfo],
        sector_size: SectorSize,
    ) -> ActorResult<(BitField, BitField, PowerPair, TokenAmount, TokenAmount)> {
        let (old_n, old_p, old_pl, old_f) = self.remove_active_sectors(old_sectors, sector_size)?;
        let (new_n, new_p, new_pl, new_f) = self.add_active_sectors(new_sectors, sector_size)?;
        Ok((
            old_n,
            new_n,
            &new_p - &old_p,
            new_pl - old_pl,
            new_f - old_f,
        ))
    }

    /// Removes sectors wherever they are queued (terminations). `faults`
    /// and `recovering` say which are faulty and recovering. Returns what
    /// was removed and the power of the removed recovering sectors.
    pub fn remove_sectors(
        &mut self,
        policy: &Policy,
        sectors: &[SectorOnChainInfo],
        faults: &BitField,
        recovering: &BitField,
        sector_size: SectorSize,
    ) -> ActorResult<(ExpirationSet, PowerPair)> {
        let faulty: BTreeSet<u64> = faults
            .bounded_iter(policy.addressed_sectors_max)
            .ok_or_else(|| bad("too many faults to expand".into()))?
            .collect();
        let recovering_set: BTreeSet<u64> = recovering
            .bounded_iter(policy.addressed_sectors_max)
            .ok_or_else(|| bad("too many recoveries to expand".into()))?
            .collect();

        let (healthy, sick): (Vec<&SectorOnChainInfo>, Vec<&SectorOnChainInfo>) = sectors
            .iter()
            .partition(|s| !faulty.contains(&s.sector_number));
        let healthy: Vec<SectorOnChainInfo> = healthy.into_iter().cloned().collect();

        // Non-faulty sectors are on time at their expiration.
        let (numbers, power, pledge, fee) = self.remove_active_sectors(&healthy, sector_size)?;
        let mut removed = ExpirationSet {
            on_time_sectors: numbers,
            active_power: power,
            on_time_pledge: pledge,
            fee_deduction: fee,
            ..ExpirationSet::default()
        };
        let mut recovering_power = PowerPair::zero();
        if sick.is_empty() {
            return Ok((removed, recovering_power));
        }

        // Faulty sectors may be on time or early anywhere in the queue.
        let mut remaining: BTreeSet<u64> = sick.iter().map(|s| s.sector_number).collect();
        let mut emptied = Vec::new();
        self.amt
            .for_each_while_mut(|e, set| {
                let on_time: BTreeSet<u64> = set
                    .on_time_sectors
                    .bounded_iter(ENTRY_SECTORS_MAX)
                    .ok_or_else(|| anyhow::anyhow!("too many on-time sectors to expand"))?
                    .collect();
                let early: BTreeSet<u64> = set
                    .early_sectors
                    .bounded_iter(ENTRY_SECTORS_MAX)
                    .ok_or_else(|| anyhow::anyhow!("too many early sectors to expand"))?
                    .collect();
                for s in &sick {
                    let n = s.sector_number;
                    if on_time.contains(&n) {
                        set.on_time_sectors.unset(n);
                        removed.on_time_sectors.set(n);
                        set.on_time_pledge -= &s.initial_pledge;
                        removed.on_time_pledge += &s.initial_pledge;
                    } else if early.contains(&n) {
                        set.early_sectors.unset(n);
                        removed.early_sectors.set(n);
                    } else {
                        continue;
                    }
                    let p = power_for_sector(sector_size, s);
                    if faulty.contains(&n) {
                        set.faulty_power -= &p;
                        removed.faulty_power += &p;
                    } else {
                        set.active_power -= &p;
                        removed.active_power += &p;
                    }
                    if recovering_set.contains(&n) {
                        recovering_power += &p;
                    }
                    set.fee_deduction -= &s.daily_fee;
                    removed.fee_deduction += &s.daily_fee;
                    remaining.remove(&n);
                }
                if set.validate_state().is_err() {
                    anyhow::bail!("expiration set at {e} went negative on removal");
                }
                if set.is_empty() {
                    emptied.push(e);
                }
                Ok(!remaining.is_empty())
            })
            .state_err("remove sectors from expiration queue")?;
        self.amt
            .batch_delete(emptied, true)
            .state_err("delete expiration entries")?;
        if !remaining.is_empty() {
            return Err(bad(format!(
                "sectors not in the expiration queue: {remaining:?}"
            )));
        }
        Ok((removed, recovering_power))
    }

    /// Removes and merges every entry at or before `until`.
    pub fn pop_until(&mut self, until: ChainEpoch) -> ActorResult<ExpirationSet> {
        let mut popped = ExpirationSet::empty();
        let mut keys = Vec::new();
        self.amt
            .for_each_while(|e, set| {
                if e as ChainEpoch > until {
                    return Ok(false);
                }
                keys.push(e);
                popped.on_time_sectors |= &set.on_time_sectors;
                popped.early_sectors |= &set.early_sectors;
                popped.active_power += &set.active_power;
                popped.faulty_power += &set.faulty_power;
                popped.on_time_pledge += &set.on_time_pledge;
                popped.fee_deduction += &set.fee_deduction;
                Ok(true)
            })
            .state_err("read expiration queue")?;
        self.amt
            .batch_delete(keys, true)
            .state_err("pop expiration queue")?;
        Ok(popped)
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        raw_epoch: ChainEpoch,
        on_time: &BitField,
        early: &BitField,
        active_power: &PowerPair,
        faulty_power: &PowerPair,
        pledge: &TokenAmount,
        daily_fee: &TokenAmount,
    ) -> ActorResult<()> {
        let epoch = self.quant.quantize_up(raw_epoch);
        let mut set = self.may_get(epoch)?;
        set.add(
            on_time,
            early,
            pledge,
            active_power,
            faulty_power,
            daily_fee,
        )
        .map_err(|e| e.context(&format!("add expirations at {epoch}")))?;
        self.amt
            .set(epoch_key(epoch)?, set)
            .state_err("write expiration queue")
    }

    /// Removes active on-time sectors from their (declared) entries.
    fn remove_active_sectors(
        &mut self,
        sectors: &[SectorOnChainInfo],
        sector_size: SectorSize,
    ) -> ActorResult<(BitField, PowerPair, TokenAmount, TokenAmount)> {
        let mut numbers = Vec::new();
        let mut power = PowerPair::zero();
        let mut pledge = TokenAmount::zero();
        let mut fee = TokenAmount::zero();
        for (g, mut set) in self.find_sectors_by_expiration(sector_size, sectors)? {
            let on_time = bits(g.sectors.iter().copied())?;
            set.remove(
                &on_time,
                &BitField::new(),
                &g.pledge,
                &g.power,
                &PowerPair::zero(),
                &g.daily_fee,
            )
            .map_err(|e| e.context(&format!("remove expirations at {}", g.epoch)))?;
            self.must_update_or_delete(g.epoch, set)?;
            numbers.extend(g.sectors);
            power += &g.power;
            pledge += &g.pledge;
            fee += &g.daily_fee;
        }
        Ok((bits(numbers)?, power, pledge, fee))
    }

    fn may_get(&self, epoch: ChainEpoch) -> ActorResult<ExpirationSet> {
        Ok(self
            .amt
            .get(epoch_key(epoch)?)
            .state_err("read expiration queue")?
            .cloned()
            .unwrap_or_default())
    }

    fn must_update_or_delete(&mut self, epoch: ChainEpoch, set: ExpirationSet) -> ActorResult<()> {
        let key = epoch_key(epoch)?;
        if set.is_empty() {
            self.amt.delete(key).state_err("delete expiration entry")?;
        } else {
            self.amt.set(key, set).state_err("write expiration queue")?;
        }
        Ok(())
    }

    /// Finds the entries holding `sectors` on time: first at their declared
    /// (quantized) expirations, then anywhere else in the queue (sectors
    /// whose expiration was moved). Fails if a sector is queued early or
    /// not at all. Groups come in epoch order, with their current sets.
    fn find_sectors_by_expiration(
        &self,
        sector_size: SectorSize,
        sectors: &[SectorOnChainInfo],
    ) -> ActorResult<Vec<(EpochGroup, ExpirationSet)>> {
        let by_number: BTreeMap<u64, &SectorOnChainInfo> =
            sectors.iter().map(|s| (s.sector_number, s)).collect();
        let mut remaining: BTreeSet<u64> = by_number.keys().copied().collect();
        let declared: BTreeSet<ChainEpoch> = sectors
            .iter()
            .map(|s| self.quant.quantize_up(s.expiration))
            .collect();

        let mut groups = Vec::new();
        let take = |epoch: ChainEpoch, set: &ExpirationSet, remaining: &mut BTreeSet<u64>| {
            let mut g = EpochGroup::new(epoch);
            for n in set.on_time_sectors.iter() {
                if remaining.remove(&n)
                    && let Some(s) = by_number.get(&n)
                {
                    g.push(sector_size, s);
                }
            }
            g
        };
        for &epoch in &declared {
            let set = self.may_get(epoch)?;
            let g = take(epoch, &set, &mut remaining);
            if !g.sectors.is_empty() {
                groups.push((g, set));
            }
        }
        if !remaining.is_empty() {
            let mut early_conflict = false;
            self.amt
                .for_each_while(|e, set| {
                    let epoch = e as ChainEpoch;
                    if declared.contains(&epoch) {
                        return Ok(true);
                    }
                    if set.early_sectors.iter().any(|n| remaining.contains(&n)) {
                        early_conflict = true;
                        return Ok(false);
                    }
                    let g = take(epoch, set, &mut remaining);
                    if !g.sectors.is_empty() {
                        groups.push((g, set.clone()));
                    }
                    Ok(!remaining.is_empty())
                })
                .state_err("read expiration queue")?;
            if early_conflict {
                return Err(bad("sector is queued as an early expiration".into()));
            }
        }
        if !remaining.is_empty() {
            return Err(bad(format!(
                "sectors not in the expiration queue: {remaining:?}"
            )));
        }
        groups.sort_by_key(|(g, _)| g.epoch);
        Ok(groups)
    }
}
