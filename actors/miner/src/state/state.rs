//! The miner's state root (v18 layout, 15 fields) and the operations the
//! methods perform on it: sector number allocation, pre-commitments and
//! their cleanup queue, committed sectors, assignment of new sectors to
//! deadlines, the end-of-deadline processing, and the funds ledger (pre-
//! commit deposits, initial pledge, locked rewards vesting, fee debt).

use std::borrow::Borrow;

use cid::Cid;
use ferrite_actor_rt::keys::u64_key;
use ferrite_actor_rt::{ActorError, ActorResult, WithCode};
use ferrite_actor_types::miner::{
    MinerInfo, PowerPair, SectorOnChainInfo, SectorPreCommitOnChainInfo,
};
use ferrite_actor_types::policy::constants::MAX_SECTOR_NUMBER;
use ferrite_actor_types::policy::{Policy, VestSpec};
use fvm_ipld_bitfield::BitField;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::CborStore;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};
use fvm_ipld_hamt::Hamt;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::{SectorNumber, SectorSize};
use multihash_codetable::Code;
use num_traits::Zero;

use super::{
    Array, BitFieldQueue, Deadline, DeadlineInfo, DeadlineSectorMap, Deadlines, QuantSpec,
    SECTORS_AMT_BITWIDTH, Sectors, TerminationResult, VestingFunds, assign_deadlines,
    deadline_is_mutable, new_deadline_info, new_deadline_info_from_offset_and_epoch,
    quant_spec_for_deadline,
};

/// Bit width of the pre-committed sectors HAMT.
pub const PRECOMMIT_HAMT_BITWIDTH: u32 = 5;
/// Bit width of the pre-commit cleanup queue AMT.
pub const PRECOMMIT_EXPIRY_AMT_BITWIDTH: u32 = 6;

/// The pre-committed sectors HAMT (uvarint sector number keys).
pub type PreCommitMap<'db, BS> = Hamt<&'db BS, SectorPreCommitOnChainInfo>;

/// Whether sector number allocation may reuse numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollisionPolicy {
    /// Numbers already allocated are accepted (masking).
    AllowCollisions,
    /// Numbers already allocated are rejected.
    DenyCollisions,
}

/// The miner's state root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct State {
    /// CID of the [`MinerInfo`] block.
    pub info: Cid,
    /// Total deposits of pre-committed sectors.
    pub pre_commit_deposits: TokenAmount,
    /// Locked rewards not yet vested.
    pub locked_funds: TokenAmount,
    /// The vesting schedule of the locked funds.
    pub vesting_funds: VestingFunds,
    /// Penalties not yet paid.
    pub fee_debt: TokenAmount,
    /// Total initial pledge of committed sectors.
    pub initial_pledge: TokenAmount,
    /// HAMT (bw 5): sector number → [`SectorPreCommitOnChainInfo`].
    pub pre_committed_sectors: Cid,
    /// AMT (bw 6): cleanup epoch → pre-committed sector numbers.
    pub pre_committed_sectors_cleanup: Cid,
    /// CID of the bitfield of allocated sector numbers.
    pub allocated_sectors: Cid,
    /// AMT (bw 5): sector number → [`SectorOnChainInfo`].
    pub sectors: Cid,
    /// First epoch of the current proving period.
    pub proving_period_start: ChainEpoch,
    /// The deadline cron will process next.
    pub current_deadline: u64,
    /// CID of the [`Deadlines`] block.
    pub deadlines: Cid,
    /// Deadlines with early terminations to process.
    pub early_terminations: BitField,
    /// Whether the deadline cron is enrolled.
    pub deadline_cron_active: bool,
}

/// What ending a deadline changed.
#[derive(Debug, Clone, Default)]
pub struct AdvanceDeadlineResult {
    /// Pledge released by expired sectors (negative).
    pub pledge_delta: TokenAmount,
    /// Power change (missed PoSt, expirations).
    pub power_delta: PowerPair,
    /// Faulty power before the deadline ended (to charge the fault fee on).
    pub previously_faulty_power: PowerPair,
    /// Power newly detected faulty (missed PoSt).
    pub detected_faulty_power: PowerPair,
    /// Faulty power after the deadline ended.
    pub total_faulty_power: PowerPair,
    /// The deadline's daily fee (FIP-0100).
    pub daily_fee: TokenAmount,
    /// The deadline's live power.
    pub live_power: PowerPair,
}

impl State {
    /// A new miner's state, with empty collections.
    pub fn new<BS: Blockstore>(
        policy: &Policy,
        store: &BS,
        info_cid: Cid,
        period_start: ChainEpoch,
        deadline_idx: u64,
    ) -> ActorResult<Self> {
        let precommits = PreCommitMap::new_with_bit_width(store, PRECOMMIT_HAMT_BITWIDTH)
            .flush()
            .state_err("create precommits map")?;
        let cleanup =
            Array::<BitField, BS>::new_with_bit_width(store, PRECOMMIT_EXPIRY_AMT_BITWIDTH)
                .flush()
                .state_err("create precommit cleanup queue")?;
        let sectors =
            Array::<SectorOnChainInfo, BS>::new_with_bit_width(store, SECTORS_AMT_BITWIDTH)
                .flush()
                .state_err("create sectors array")?;
        let allocated = store
            .put_cbor(&BitField::new(), Code::Blake2b256)
            .state_err("store empty bitfield")?;
        let empty_deadline = store
            .put_cbor(&Deadline::new(store)?, Code::Blake2b256)
            .state_err("store empty deadline")?;
        let deadlines = store
            .put_cbor(&Deadlines::new(policy, empty_deadline), Code::Blake2b256)
            .state_err("store deadlines")?;
        Ok(Self {
            info: info_cid,
            pre_commit_deposits: TokenAmount::zero(),
            locked_funds: TokenAmount::zero(),
            vesting_funds: VestingFunds::new(),
            fee_debt: TokenAmount::zero(),
            initial_pledge: TokenAmount::zero(),
            pre_committed_sectors: precommits,
            pre_committed_sectors_cleanup: cleanup,
            allocated_sectors: allocated,
            sectors,
            proving_period_start: period_start,
            current_deadline: deadline_idx,
            deadlines,
            early_terminations: BitField::new(),
            deadline_cron_active: false,
        })
    }

    /// The miner's info.
    pub fn get_info<BS: Blockstore>(&self, store: &BS) -> ActorResult<MinerInfo> {
        store
            .get_cbor(&self.info)
            .state_err("load miner info")?
            .ok_or_else(|| ActorError::not_found("miner info not found"))
    }

    /// Stores the miner's info.
    pub fn save_info<BS: Blockstore>(&mut self, store: &BS, info: &MinerInfo) -> ActorResult<()> {
        self.info = store
            .put_cbor(info, Code::Blake2b256)
            .state_err("store miner info")?;
        Ok(())
    }

    /// The deadline current at `current_epoch` (from the proving period
    /// offset, whatever cron has processed).
    pub fn deadline_info(&self, policy: &Policy, current_epoch: ChainEpoch) -> DeadlineInfo {
        new_deadline_info_from_offset_and_epoch(policy, self.proving_period_start, current_epoch)
    }

    /// The deadline cron processes next, as recorded in state.
    pub fn recorded_deadline_info(
        &self,
        policy: &Policy,
        current_epoch: ChainEpoch,
    ) -> DeadlineInfo {
        new_deadline_info(
            policy,
            self.proving_period_start,
            self.current_deadline,
            current_epoch,
        )
    }

    /// The start of the proving period current at `current_epoch`.
    pub fn current_proving_period_start(
        &self,
        policy: &Policy,
        current_epoch: ChainEpoch,
    ) -> ChainEpoch {
        self.deadline_info(policy, current_epoch).period_start
    }

    /// The expiration quantization of deadline `deadline_idx`.
    pub fn quant_spec_for_deadline(&self, policy: &Policy, deadline_idx: u64) -> QuantSpec {
        new_deadline_info(policy, self.proving_period_start, deadline_idx, 0).quant_spec()
    }

    /// Marks sector numbers allocated (`USR_ILLEGAL_ARGUMENT` on a
    /// collision unless allowed).
    pub fn allocate_sector_numbers<BS: Blockstore>(
        &mut self,
        store: &BS,
        sector_numbers: &BitField,
        policy: CollisionPolicy,
    ) -> ActorResult<()> {
        let prior: BitField = store
            .get_cbor(&self.allocated_sectors)
            .state_err("load allocated sectors")?
            .ok_or_else(|| ActorError::illegal_state("allocated sectors bitfield not found"))?;
        if policy != CollisionPolicy::AllowCollisions {
            let collisions = &prior & sector_numbers;
            if !collisions.is_empty() {
                let first: Vec<u64> = collisions.iter().take(10).collect();
                return Err(ActorError::illegal_argument(format!(
                    "sector numbers {first:?} already allocated"
                )));
            }
        }
        let next = &prior | sector_numbers;
        self.allocated_sectors = store
            .put_cbor(&next, Code::Blake2b256)
            .state_err("store allocated sectors")?;
        Ok(())
    }

    fn precommits<'db, BS: Blockstore>(
        &self,
        store: &'db BS,
    ) -> ActorResult<PreCommitMap<'db, BS>> {
        PreCommitMap::load_with_bit_width(
            &self.pre_committed_sectors,
            store,
            PRECOMMIT_HAMT_BITWIDTH,
        )
        .state_err("load precommits")
    }

    /// Stores new pre-commitments (`USR_ILLEGAL_ARGUMENT` if one exists).
    pub fn put_precommitted_sectors<BS: Blockstore>(
        &mut self,
        store: &BS,
        precommits: Vec<SectorPreCommitOnChainInfo>,
    ) -> ActorResult<()> {
        let mut map = self.precommits(store)?;
        for pc in precommits {
            let n = pc.info.sector_number;
            if !map
                .set_if_absent(u64_key(n), pc)
                .state_err("store precommit")?
            {
                return Err(ActorError::illegal_argument(format!(
                    "sector {n} already pre-committed"
                )));
            }
        }
        self.pre_committed_sectors = map.flush().state_err("save precommits")?;
        Ok(())
    }

    /// A pre-commitment, if present.
    pub fn get_precommitted_sector<BS: Blockstore>(
        &self,
        store: &BS,
        sector_num: SectorNumber,
    ) -> ActorResult<Option<SectorPreCommitOnChainInfo>> {
        Ok(self
            .precommits(store)?
            .get(&u64_key(sector_num))
            .state_err("read precommit")?
            .cloned())
    }

    /// The pre-commitments present among `sector_numbers` (missing ones are
    /// skipped).
    pub fn find_precommitted_sectors<BS: Blockstore>(
        &self,
        store: &BS,
        sector_numbers: &[SectorNumber],
    ) -> ActorResult<Vec<SectorPreCommitOnChainInfo>> {
        let map = self.precommits(store)?;
        let mut out = Vec::with_capacity(sector_numbers.len());
        for n in sector_numbers {
            if let Some(pc) = map.get(&u64_key(*n)).state_err("read precommit")? {
                out.push(pc.clone());
            }
        }
        Ok(out)
    }

    /// The pre-commitments of `sector_nos`, all of which must exist
    /// (`USR_NOT_FOUND` otherwise).
    pub fn get_precommitted_sectors<BS: Blockstore>(
        &self,
        store: &BS,
        sector_nos: impl IntoIterator<Item = impl Borrow<SectorNumber>>,
    ) -> ActorResult<Vec<SectorPreCommitOnChainInfo>> {
        let map = self.precommits(store)?;
        let mut out = Vec::new();
        for n in sector_nos {
            let n = *n.borrow();
            if n > MAX_SECTOR_NUMBER {
                return Err(ActorError::illegal_argument(
                    "sector number greater than maximum",
                ));
            }
            let pc = map
                .get(&u64_key(n))
                .state_err("read precommit")?
                .ok_or_else(|| ActorError::not_found(format!("sector {n} not found")))?;
            out.push(pc.clone());
        }
        Ok(out)
    }

    /// Deletes pre-commitments (`USR_ILLEGAL_STATE` if one is missing).
    pub fn delete_precommitted_sectors<BS: Blockstore>(
        &mut self,
        store: &BS,
        sector_nums: &[SectorNumber],
    ) -> ActorResult<()> {
        let mut map = self.precommits(store)?;
        for n in sector_nums {
            if map
                .delete(&u64_key(*n))
                .state_err("delete precommit")?
                .is_none()
            {
                return Err(ActorError::illegal_state(format!(
                    "sector {n} not pre-committed"
                )));
            }
        }
        self.pre_committed_sectors = map.flush().state_err("save precommits")?;
        Ok(())
    }

    /// Whether a committed sector with this number exists.
    pub fn has_sector_number<BS: Blockstore>(
        &self,
        store: &BS,
        sector_num: SectorNumber,
    ) -> ActorResult<bool> {
        Ok(Sectors::load(store, &self.sectors)?
            .get(sector_num)?
            .is_some())
    }

    /// Stores committed sectors (new or updated).
    pub fn put_sectors<BS: Blockstore>(
        &mut self,
        store: &BS,
        new_sectors: Vec<SectorOnChainInfo>,
    ) -> ActorResult<()> {
        let mut sectors = Sectors::load(store, &self.sectors)?;
        sectors.store(new_sectors)?;
        self.sectors = sectors.amt.flush().state_err("save sectors")?;
        Ok(())
    }

    /// A committed sector, if present.
    pub fn get_sector<BS: Blockstore>(
        &self,
        store: &BS,
        sector_num: SectorNumber,
    ) -> ActorResult<Option<SectorOnChainInfo>> {
        Sectors::load(store, &self.sectors)?.get(sector_num)
    }

    /// Calls `f` with every committed sector.
    pub fn for_each_sector<BS: Blockstore, F>(&self, store: &BS, mut f: F) -> ActorResult<()>
    where
        F: FnMut(&SectorOnChainInfo) -> ActorResult<()>,
    {
        let sectors = Sectors::load(store, &self.sectors)?;
        let mut err = None;
        sectors
            .amt
            .for_each_while(|_, s| match f(s) {
                Ok(()) => Ok(true),
                Err(e) => {
                    err = Some(e);
                    Ok(false)
                }
            })
            .state_err("read sectors")?;
        err.map_or(Ok(()), Err)
    }

    /// The `(deadline, partition)` of a sector.
    pub fn find_sector<BS: Blockstore>(
        &self,
        store: &BS,
        sector_number: SectorNumber,
    ) -> ActorResult<(u64, u64)> {
        self.load_deadlines(store)?
            .find_sector(store, sector_number)
    }

    /// Moves the active sectors in `deadline_sectors` to expire at the end
    /// of their deadline's next occurrence; returns the sectors moved.
    pub fn reschedule_sector_expirations<BS: Blockstore>(
        &mut self,
        policy: &Policy,
        store: &BS,
        current_epoch: ChainEpoch,
        sector_size: SectorSize,
        mut deadline_sectors: DeadlineSectorMap,
    ) -> ActorResult<Vec<SectorOnChainInfo>> {
        let mut deadlines = self.load_deadlines(store)?;
        let sectors = Sectors::load(store, &self.sectors)?;
        let period_start = self.current_proving_period_start(policy, current_epoch);
        let mut all = Vec::new();
        for (idx, partition_sectors) in deadline_sectors.iter() {
            let di = new_deadline_info(policy, period_start, idx, current_epoch).next_not_elapsed();
            let mut dl = deadlines.load_deadline(store, idx)?;
            let moved = dl.reschedule_sector_expirations(
                store,
                &sectors,
                di.last(),
                partition_sectors,
                sector_size,
                di.quant_spec(),
            )?;
            all.extend(moved);
            deadlines.update_deadline(policy, store, idx, &dl)?;
        }
        self.save_deadlines(store, deadlines)?;
        Ok(all)
    }

    /// Assigns new (activated) sectors to the mutable deadlines, v18's
    /// balancing (see [`assign_deadlines`]), adding them unproven.
    pub fn assign_sectors_to_deadlines<BS: Blockstore>(
        &mut self,
        policy: &Policy,
        store: &BS,
        current_epoch: ChainEpoch,
        mut sectors: Vec<SectorOnChainInfo>,
        partition_size: u64,
        sector_size: SectorSize,
    ) -> ActorResult<()> {
        let mut deadlines = self.load_deadlines(store)?;
        sectors.sort_by_key(|s| s.sector_number);
        let period_start = self.current_proving_period_start(policy, current_epoch);

        let mut loaded: Vec<Option<Deadline>> =
            Vec::with_capacity(policy.wpost_period_deadlines as usize);
        for idx in 0..policy.wpost_period_deadlines {
            loaded.push(
                if deadline_is_mutable(policy, period_start, idx, current_epoch) {
                    Some(deadlines.load_deadline(store, idx)?)
                } else {
                    None
                },
            );
        }
        let assigned = assign_deadlines(
            policy,
            policy.max_partitions_per_deadline,
            partition_size,
            &loaded,
            sectors,
        )?;
        for (idx, new_sectors) in assigned.into_iter().enumerate() {
            if new_sectors.is_empty() {
                continue;
            }
            let quant = self.quant_spec_for_deadline(policy, idx as u64);
            let dl = loaded
                .get_mut(idx)
                .and_then(Option::as_mut)
                .ok_or_else(|| ActorError::illegal_state(format!("deadline {idx} not loaded")))?;
            dl.add_sectors(
                store,
                partition_size,
                false,
                true,
                &new_sectors,
                sector_size,
                quant,
            )?;
            deadlines.update_deadline(policy, store, idx as u64, dl)?;
        }
        self.save_deadlines(store, deadlines)
    }

    /// Assigns new sectors to one chosen deadline, which must be mutable
    /// (`USR_ILLEGAL_ARGUMENT` otherwise).
    #[allow(clippy::too_many_arguments)]
    pub fn assign_sectors_to_deadline<BS: Blockstore>(
        &mut self,
        policy: &Policy,
        store: &BS,
        current_epoch: ChainEpoch,
        mut sectors: Vec<SectorOnChainInfo>,
        partition_size: u64,
        sector_size: SectorSize,
        deadline_idx: u64,
    ) -> ActorResult<()> {
        let mut deadlines = self.load_deadlines(store)?;
        let mut dl = deadlines.load_deadline(store, deadline_idx)?;
        sectors.sort_by_key(|s| s.sector_number);
        let period_start = self.current_proving_period_start(policy, current_epoch);
        if !deadline_is_mutable(policy, period_start, deadline_idx, current_epoch) {
            return Err(ActorError::illegal_argument(format!(
                "proving deadline {deadline_idx} must not be the current or next deadline"
            )));
        }
        let quant = self.quant_spec_for_deadline(policy, deadline_idx);
        dl.add_sectors(
            store,
            partition_size,
            false,
            true,
            &sectors,
            sector_size,
            quant,
        )?;
        deadlines.update_deadline(policy, store, deadline_idx, &dl)?;
        self.save_deadlines(store, deadlines)
    }

    /// Takes early-terminated sectors off the deadlines' queues, within the
    /// limits; the flag says whether more remain.
    pub fn pop_early_terminations<BS: Blockstore>(
        &mut self,
        policy: &Policy,
        store: &BS,
        max_partitions: u64,
        max_sectors: u64,
    ) -> ActorResult<(TerminationResult, bool)> {
        if self.early_terminations.is_empty() {
            return Ok((TerminationResult::new(), false));
        }
        let mut deadlines = self.load_deadlines(store)?;
        let mut result = TerminationResult::new();
        let mut finished = Vec::new();
        for idx in self.early_terminations.iter() {
            let mut dl = deadlines.load_deadline(store, idx)?;
            let (part, more) = dl.pop_early_terminations(
                store,
                max_partitions.saturating_sub(result.partitions_processed),
                max_sectors.saturating_sub(result.sectors_processed),
            )?;
            result += part;
            if !more {
                finished.push(idx);
            }
            deadlines.update_deadline(policy, store, idx, &dl)?;
            if !result.below_limit(max_partitions, max_sectors) {
                break;
            }
        }
        for idx in finished {
            self.early_terminations.unset(idx);
        }
        self.save_deadlines(store, deadlines)?;
        Ok((result, !self.early_terminations.is_empty()))
    }

    /// Whether a sector is active (not faulty, not terminated, and proven
    /// if `require_proven`); `USR_NOT_FOUND` if it is not in the partition.
    pub fn check_sector_active<BS: Blockstore>(
        &self,
        store: &BS,
        deadline_idx: u64,
        partition_idx: u64,
        sector_number: SectorNumber,
        require_proven: bool,
    ) -> ActorResult<bool> {
        let p = self
            .load_deadlines(store)?
            .load_deadline(store, deadline_idx)?
            .load_partition(store, partition_idx)?;
        if !p.sectors.get(sector_number) {
            return Err(ActorError::not_found(format!(
                "sector {sector_number} not a member of partition {partition_idx}, deadline {deadline_idx}"
            )));
        }
        if p.faults.get(sector_number) || p.terminated.get(sector_number) {
            return Ok(false);
        }
        Ok(!(require_proven && p.unproven.get(sector_number)))
    }

    /// Fails unless the sector is in the partition (`USR_NOT_FOUND`), not
    /// faulty (`USR_FORBIDDEN`) and not terminated (`USR_NOT_FOUND`).
    pub fn check_sector_health<BS: Blockstore>(
        &self,
        store: &BS,
        deadline_idx: u64,
        partition_idx: u64,
        sector_number: SectorNumber,
    ) -> ActorResult<()> {
        let p = self
            .load_deadlines(store)?
            .load_deadline(store, deadline_idx)?
            .load_partition(store, partition_idx)?;
        let at =
            format!("sector {sector_number} of partition {partition_idx}, deadline {deadline_idx}");
        if !p.sectors.get(sector_number) {
            return Err(ActorError::not_found(format!("{at}: not a member")));
        }
        if p.faults.get(sector_number) {
            return Err(ActorError::forbidden(format!("{at}: faulty")));
        }
        if p.terminated.get(sector_number) {
            return Err(ActorError::not_found(format!("{at}: terminated")));
        }
        Ok(())
    }

    /// The committed sectors in `sectors` (`USR_NOT_FOUND` if one is
    /// missing).
    pub fn load_sector_infos<BS: Blockstore>(
        &self,
        store: &BS,
        sectors: &BitField,
    ) -> ActorResult<Vec<SectorOnChainInfo>> {
        Sectors::load(store, &self.sectors)?.load_sectors(sectors)
    }

    /// The deadlines block.
    pub fn load_deadlines<BS: Blockstore>(&self, store: &BS) -> ActorResult<Deadlines> {
        store
            .get_cbor(&self.deadlines)
            .state_err("load deadlines")?
            .ok_or_else(|| {
                ActorError::illegal_state(format!("deadlines {} not found", self.deadlines))
            })
    }

    /// Stores the deadlines block.
    pub fn save_deadlines<BS: Blockstore>(
        &mut self,
        store: &BS,
        deadlines: Deadlines,
    ) -> ActorResult<()> {
        self.deadlines = store
            .put_cbor(&deadlines, Code::Blake2b256)
            .state_err("store deadlines")?;
        Ok(())
    }

    /// Whether the deadline cron must keep running (any funds at stake).
    pub fn continue_deadline_cron(&self) -> bool {
        !self.pre_commit_deposits.is_zero()
            || !self.initial_pledge.is_zero()
            || !self.locked_funds.is_zero()
    }

    /// Adds (or, negative, removes) pre-commit deposit.
    pub fn add_pre_commit_deposit(&mut self, amount: &TokenAmount) -> ActorResult<()> {
        let total = &self.pre_commit_deposits + amount;
        if total.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "negative pre-commit deposit {total} after adding {amount}"
            )));
        }
        self.pre_commit_deposits = total;
        Ok(())
    }

    /// Adds (or, negative, removes) initial pledge.
    pub fn add_initial_pledge(&mut self, amount: &TokenAmount) -> ActorResult<()> {
        let total = &self.initial_pledge + amount;
        if total.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "negative initial pledge {total} after adding {amount}"
            )));
        }
        self.initial_pledge = total;
        Ok(())
    }

    /// Adds a penalty to the fee debt.
    pub fn apply_penalty(&mut self, penalty: &TokenAmount) -> ActorResult<()> {
        if penalty.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "negative penalty {penalty}"
            )));
        }
        self.fee_debt += penalty;
        Ok(())
    }

    /// Locks `vesting_sum` to vest per `spec`; returns the funds that
    /// vested meanwhile (already unlocked from `locked_funds`).
    pub fn add_locked_funds<BS: Blockstore>(
        &mut self,
        store: &BS,
        current_epoch: ChainEpoch,
        vesting_sum: &TokenAmount,
        spec: &VestSpec,
    ) -> ActorResult<TokenAmount> {
        if vesting_sum.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "negative vesting sum {vesting_sum}"
            )));
        }
        let unlocked = self.vesting_funds.add_locked_funds(
            store,
            current_epoch,
            vesting_sum,
            self.proving_period_start,
            spec,
        )?;
        self.locked_funds -= &unlocked;
        if self.locked_funds.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "negative locked funds {} after unlocking {unlocked}",
                self.locked_funds
            )));
        }
        self.locked_funds += vesting_sum;
        Ok(unlocked)
    }

    /// Repays fee debt from locked funds first (vested, then unvested),
    /// then from the rest of the unlocked balance. Returns `(to_burn,
    /// total_unlocked)`: `to_burn` is the debt repaid (burn it; it already
    /// includes what came out of vesting), `total_unlocked` how much
    /// `locked_funds` dropped (a negative pledge delta for power).
    pub fn repay_partial_debt_in_priority_order<BS: Blockstore>(
        &mut self,
        store: &BS,
        current_epoch: ChainEpoch,
        curr_balance: &TokenAmount,
    ) -> ActorResult<(TokenAmount, TokenAmount)> {
        let debt = self.fee_debt.clone();
        let (from_vesting, total_unlocked) =
            self.unlock_vested_and_unvested_funds(store, current_epoch, &debt)?;
        if from_vesting > self.fee_debt {
            return Err(ActorError::illegal_state("unlocked more than the debt"));
        }
        let unlocked_balance = self.get_unlocked_balance(curr_balance)?;
        let to_burn = std::cmp::min(&unlocked_balance, &self.fee_debt).clone();
        self.fee_debt -= &to_burn;
        Ok((to_burn, total_unlocked))
    }

    /// Takes the whole fee debt from the unlocked balance
    /// (`USR_INSUFFICIENT_FUNDS` if it does not cover it); returns it.
    pub fn repay_debts(&mut self, curr_balance: &TokenAmount) -> ActorResult<TokenAmount> {
        let unlocked = self.get_unlocked_balance(curr_balance)?;
        if unlocked < self.fee_debt {
            return Err(ActorError::insufficient_funds(format!(
                "unlocked balance can not repay fee debt ({unlocked} < {})",
                self.fee_debt
            )));
        }
        Ok(std::mem::take(&mut self.fee_debt))
    }

    /// Unlocks up to `target` of unvested funds plus whatever vested.
    /// Returns `(unvested unlocked, total unlocked)`.
    pub fn unlock_vested_and_unvested_funds<BS: Blockstore>(
        &mut self,
        store: &BS,
        current_epoch: ChainEpoch,
        target: &TokenAmount,
    ) -> ActorResult<(TokenAmount, TokenAmount)> {
        if target.is_zero() || self.locked_funds.is_zero() {
            return Ok((TokenAmount::zero(), TokenAmount::zero()));
        }
        let (vested, unvested) =
            self.vesting_funds
                .unlock_vested_and_unvested_funds(store, current_epoch, target)?;
        let total = &vested + &unvested;
        self.locked_funds -= &total;
        if self.locked_funds.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "negative locked funds {} after unlocking {total}",
                self.locked_funds
            )));
        }
        Ok((unvested, total))
    }

    /// Unlocks the funds vested before `current_epoch`; returns them.
    pub fn unlock_vested_funds<BS: Blockstore>(
        &mut self,
        store: &BS,
        current_epoch: ChainEpoch,
    ) -> ActorResult<TokenAmount> {
        if self.locked_funds.is_zero() {
            return Ok(TokenAmount::zero());
        }
        let unlocked = self
            .vesting_funds
            .unlock_vested_funds(store, current_epoch)?;
        self.locked_funds -= &unlocked;
        if self.locked_funds.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "vesting made locked funds negative: {}",
                self.locked_funds
            )));
        }
        Ok(unlocked)
    }

    /// The funds that would vest before `current_epoch` (read-only).
    pub fn check_vested_funds<BS: Blockstore>(
        &self,
        store: &BS,
        current_epoch: ChainEpoch,
    ) -> ActorResult<TokenAmount> {
        Ok(self
            .vesting_funds
            .load(store)?
            .iter()
            .take_while(|f| f.epoch < current_epoch)
            .map(|f| &f.amount)
            .sum())
    }

    /// Balance not locked, deposited or pledged (may cover debt).
    pub fn get_unlocked_balance(&self, actor_balance: &TokenAmount) -> ActorResult<TokenAmount> {
        let unlocked =
            actor_balance - &self.locked_funds - &self.pre_commit_deposits - &self.initial_pledge;
        if unlocked.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "negative unlocked balance {unlocked}"
            )));
        }
        Ok(unlocked)
    }

    /// Unlocked balance minus fee debt (may be negative).
    pub fn get_available_balance(&self, actor_balance: &TokenAmount) -> ActorResult<TokenAmount> {
        Ok(self.get_unlocked_balance(actor_balance)? - &self.fee_debt)
    }

    /// Fails (`USR_ILLEGAL_STATE`) if a ledger total is negative or the
    /// balance does not cover deposits, locked funds and pledge. Callers
    /// report it with `ERR_BALANCE_INVARIANTS_BROKEN` as v18 does.
    pub fn check_balance_invariants(&self, balance: &TokenAmount) -> ActorResult<()> {
        for (name, v) in [
            ("pre-commit deposit", &self.pre_commit_deposits),
            ("locked funds", &self.locked_funds),
            ("initial pledge", &self.initial_pledge),
            ("fee debt", &self.fee_debt),
        ] {
            if v.is_negative() {
                return Err(ActorError::illegal_state(format!(
                    "{name} is negative: {v}"
                )));
            }
        }
        let min_balance = &self.pre_commit_deposits + &self.locked_funds + &self.initial_pledge;
        if balance < &min_balance {
            return Err(ActorError::illegal_state(format!(
                "balance {balance} below minimum {min_balance}"
            )));
        }
        Ok(())
    }

    /// The quantization of the pre-commit cleanup queue: every deadline.
    pub fn quant_spec_every_deadline(&self, policy: &Policy) -> QuantSpec {
        QuantSpec {
            unit: policy.wpost_challenge_window,
            offset: self.proving_period_start,
        }
    }

    /// Queues pre-committed sectors for cleanup at the given epochs.
    pub fn add_pre_commit_clean_ups<BS: Blockstore>(
        &mut self,
        policy: &Policy,
        store: &BS,
        cleanup_events: Vec<(ChainEpoch, u64)>,
    ) -> ActorResult<()> {
        let quant = self.quant_spec_every_deadline(policy);
        let mut queue = BitFieldQueue::new(store, &self.pre_committed_sectors_cleanup, quant)?;
        queue.add_many_to_queue_values(cleanup_events)?;
        self.pre_committed_sectors_cleanup = queue
            .amt
            .flush()
            .state_err("save precommit cleanup queue")?;
        Ok(())
    }

    /// Deletes pre-commitments whose cleanup epoch has come and that were
    /// never proven; returns their deposits, to burn.
    pub fn cleanup_expired_pre_commits<BS: Blockstore>(
        &mut self,
        policy: &Policy,
        store: &BS,
        current_epoch: ChainEpoch,
    ) -> ActorResult<TokenAmount> {
        let quant = self.quant_spec_every_deadline(policy);
        let mut queue = BitFieldQueue::new(store, &self.pre_committed_sectors_cleanup, quant)?;
        let (sectors, modified) = queue.pop_until(current_epoch)?;
        if modified {
            self.pre_committed_sectors_cleanup = queue
                .amt
                .flush()
                .state_err("save precommit cleanup queue")?;
        }
        let map = self.precommits(store)?;
        let mut to_delete = Vec::new();
        let mut to_burn = TokenAmount::zero();
        for n in sectors.iter() {
            if let Some(pc) = map.get(&u64_key(n)).state_err("read precommit")? {
                to_delete.push(n);
                to_burn += &pc.pre_commit_deposit;
            }
        }
        if !to_delete.is_empty() {
            self.delete_precommitted_sectors(store, &to_delete)?;
        }
        self.pre_commit_deposits -= &to_burn;
        if self.pre_commit_deposits.is_negative() {
            return Err(ActorError::illegal_state(format!(
                "pre-commit cleanup made deposits negative: {}",
                self.pre_commit_deposits
            )));
        }
        Ok(to_burn)
    }

    /// Ends the deadline current at `current_epoch` (cron): advances the
    /// recorded deadline (and the proving period after the last), detects
    /// partitions that missed their PoSt, and pops expired sectors,
    /// releasing their pledge.
    pub fn advance_deadline<BS: Blockstore>(
        &mut self,
        policy: &Policy,
        store: &BS,
        current_epoch: ChainEpoch,
    ) -> ActorResult<AdvanceDeadlineResult> {
        let di = self.deadline_info(policy, current_epoch);
        if !di.period_started() {
            return Ok(AdvanceDeadlineResult::default());
        }
        self.current_deadline = (di.index + 1) % policy.wpost_period_deadlines;
        if self.current_deadline == 0 {
            self.proving_period_start = di.period_start + policy.wpost_proving_period;
        }

        let mut deadlines = self.load_deadlines(store)?;
        let mut dl = deadlines.load_deadline(store, di.index)?;
        let previously_faulty_power = dl.faulty_power.clone();
        if !dl.is_live() {
            return Ok(AdvanceDeadlineResult {
                previously_faulty_power,
                total_faulty_power: dl.faulty_power,
                ..AdvanceDeadlineResult::default()
            });
        }

        let quant = quant_spec_for_deadline(policy, &di);
        let fault_expiration = di.last() + policy.fault_max_age;
        let (mut power_delta, detected_faulty_power) =
            dl.process_deadline_end(store, quant, fault_expiration, self.sectors)?;
        let total_faulty_power = dl.faulty_power.clone();

        let expired = dl.pop_expired_sectors(store, di.last(), quant)?;
        let pledge_delta = -&expired.on_time_pledge;
        self.add_initial_pledge(&pledge_delta)?;
        power_delta -= &expired.active_power;
        if !expired.early_sectors.is_empty() {
            self.early_terminations.set(di.index);
        }

        deadlines.update_deadline(policy, store, di.index, &dl)?;
        self.save_deadlines(store, deadlines)?;
        Ok(AdvanceDeadlineResult {
            pledge_delta,
            power_delta,
            previously_faulty_power,
            detected_faulty_power,
            total_faulty_power,
            daily_fee: dl.daily_fee,
            live_power: dl.live_power,
        })
    }
}
