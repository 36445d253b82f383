//! DeclareFaults (10) and DeclareFaultsRecovered (11): the miner announces
//! sectors it cannot prove (they lose power at once; the fee is charged at
//! deadline ends) or that it can prove again (power returns with the next
//! successful PoSt). Declarations must come before the deadline's fault
//! cutoff.

use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult};
use ferrite_actor_types::miner::{DeclareFaultsParams, DeclareFaultsRecoveredParams, PowerPair};
use ferrite_actor_types::policy::Policy;
use fvm_ipld_bitfield::BitField;
use fvm_shared::clock::ChainEpoch;

use crate::control::{check_control_caller, miner_info};
use crate::env;
use crate::ext;
use crate::funds::{check_balance_invariants, repay_debts_or_abort};
use crate::precommit::consensus_fault_active;
use crate::state::{DeadlineInfo, DeadlineSectorMap, Sectors, State, new_deadline_info};

/// Groups `(deadline, partition, sectors)` declarations and checks them
/// against the addressing limits.
pub fn sector_map(
    policy: &Policy,
    decls: impl IntoIterator<Item = (u64, u64, BitField)>,
) -> ActorResult<DeadlineSectorMap> {
    let mut map = DeadlineSectorMap::new();
    for (deadline, partition, sectors) in decls {
        map.add(policy, deadline, partition, sectors).map_err(|e| {
            ActorError::illegal_argument(format!(
                "failed to process deadline {deadline}, partition {partition}: {}",
                e.msg
            ))
        })?;
    }
    map.check(
        policy.addressed_partitions_max,
        policy.addressed_sectors_max,
    )
    .map_err(|e| {
        ActorError::illegal_argument(format!("cannot process requested parameters: {}", e.msg))
    })?;
    Ok(map)
}

/// The deadline a fault or recovery declaration for `idx` is about: this
/// period's if it has not ended yet, else the next period's; refused after
/// its fault cutoff.
fn declaration_deadline(
    policy: &Policy,
    period_start: ChainEpoch,
    idx: u64,
    epoch: ChainEpoch,
) -> ActorResult<DeadlineInfo> {
    if idx >= policy.wpost_period_deadlines {
        return Err(ActorError::illegal_argument(format!(
            "invalid deadline {idx}, must be < {}",
            policy.wpost_period_deadlines
        )));
    }
    let dl = new_deadline_info(policy, period_start, idx, epoch).next_not_elapsed();
    if dl.fault_cutoff_passed() {
        return Err(ActorError::illegal_argument(format!(
            "late fault or recovery declaration at deadline {idx}"
        )));
    }
    Ok(dl)
}

/// DeclareFaults (10), from a controlling address.
pub fn declare_faults(p: DeclareFaultsParams) -> ActorResult<()> {
    let policy = Policy::devnet();
    let mut map = sector_map(
        &policy,
        p.faults
            .into_iter()
            .map(|f| (f.deadline, f.partition, f.sectors)),
    )?;
    let store = ActorBlockstore;
    let power_delta = env::transaction(|st: &mut State| {
        let info = miner_info(st)?;
        check_control_caller(&info)?;
        let epoch = env::curr_epoch();
        let mut deadlines = st.load_deadlines(&store)?;
        let sectors = Sectors::load(&store, &st.sectors)?;
        let mut total = PowerPair::zero();
        for (idx, partitions) in map.iter() {
            let target = declaration_deadline(
                &policy,
                st.current_proving_period_start(&policy, epoch),
                idx,
                epoch,
            )?;
            let mut deadline = deadlines.load_deadline(&store, idx)?;
            let fault_expiration = target.last() + policy.fault_max_age;
            let delta = deadline.record_faults(
                &store,
                &sectors,
                info.sector_size,
                target.quant_spec(),
                fault_expiration,
                partitions,
            )?;
            deadlines.update_deadline(&policy, &store, idx, &deadline)?;
            total += &delta;
        }
        st.save_deadlines(&store, deadlines)?;
        Ok(total)
    })?;
    // Faulty power is lost at once; the fee is charged at deadline ends.
    ext::update_power(&power_delta)
}

/// DeclareFaultsRecovered (11), from a controlling address; fee debt must
/// be repaid first.
pub fn declare_faults_recovered(p: DeclareFaultsRecoveredParams) -> ActorResult<()> {
    let policy = Policy::devnet();
    let mut map = sector_map(
        &policy,
        p.recoveries
            .into_iter()
            .map(|r| (r.deadline, r.partition, r.sectors)),
    )?;
    let store = ActorBlockstore;
    let fee_to_burn = env::transaction(|st: &mut State| {
        let fee_to_burn = repay_debts_or_abort(st)?;
        let info = miner_info(st)?;
        check_control_caller(&info)?;
        let epoch = env::curr_epoch();
        if consensus_fault_active(&info, epoch) {
            return Err(ActorError::forbidden(
                "recovery not allowed during active consensus fault",
            ));
        }
        let mut deadlines = st.load_deadlines(&store)?;
        let sectors = Sectors::load(&store, &st.sectors)?;
        for (idx, partitions) in map.iter() {
            declaration_deadline(
                &policy,
                st.current_proving_period_start(&policy, epoch),
                idx,
                epoch,
            )?;
            let mut deadline = deadlines.load_deadline(&store, idx)?;
            deadline.declare_faults_recovered(&store, &sectors, info.sector_size, partitions)?;
            deadlines.update_deadline(&policy, &store, idx, &deadline)?;
        }
        st.save_deadlines(&store, deadlines)?;
        Ok(fee_to_burn)
    })?;
    ext::burn(&fee_to_burn)?;
    // Power returns when the sectors are next proven.
    check_balance_invariants()
}
