//! OnDeferredCronEvent (12): the power actor calls the miner back at the
//! last epoch of each of its proving deadlines (and at the next epoch when
//! early terminations are waiting).
//!
//! At a deadline's end the miner applies a due worker change, burns the
//! deposits of pre-commits that were never proven, closes the deadline
//! (partitions without a PoSt become faulty and lose power, sectors expire,
//! long faults terminate), charges the continued-fault fee and the daily
//! fee (FIP-0100), repays debt, vests funds, reports power and pledge
//! changes to the power actor, burns the penalties, and enrolls for its
//! next deadline. Early terminations are then paid off in batches (fees,
//! pledge release, the market told to terminate the deals).

use ferrite_actor_rt::types::STORAGE_POWER_ACTOR_ID;
use ferrite_actor_rt::{self as rt, ActorBlockstore, ActorError, ActorResult};
use ferrite_actor_types::EPOCHS_IN_DAY;
use ferrite_actor_types::miner::{
    CRON_EVENT_PROCESS_EARLY_TERMINATIONS, CRON_EVENT_PROVING_DEADLINE, CronEventPayload,
    DeferredCronEventParams,
};
use ferrite_actor_types::policy::{Policy, daily_proof_fee_payable, qa_power_for_sector};
use ferrite_actor_types::smooth::FilterEstimate;
use fvm_ipld_bitfield::BitField;
use fvm_shared::econ::TokenAmount;
use num_traits::{Signed, Zero};

use crate::control::{miner_info, process_pending_worker};
use crate::env;
use crate::ext;
use crate::funds::check_balance_invariants;
use crate::state::{
    Sectors, State, expected_reward_for_power, pledge_penalty_for_continued_fault,
    pledge_penalty_for_termination,
};

/// OnDeferredCronEvent (12), power actor only.
pub fn on_deferred_cron_event(p: DeferredCronEventParams) -> ActorResult<()> {
    rt::send::check_caller(STORAGE_POWER_ACTOR_ID)?;
    let payload: CronEventPayload = fvm_ipld_encoding::from_slice(&p.event_payload)
        .map_err(|e| ActorError::illegal_state(format!("decode cron payload: {e}")))?;
    match payload.event_type {
        CRON_EVENT_PROVING_DEADLINE => {
            handle_proving_deadline(&p.reward_smoothed, &p.quality_adj_power_smoothed)?
        }
        CRON_EVENT_PROCESS_EARLY_TERMINATIONS => {
            let more =
                process_early_terminations(&p.reward_smoothed, &p.quality_adj_power_smoothed)?;
            if more {
                ext::schedule_early_termination_work()?;
            }
        }
        // Unknown events are ignored (v18 logs them).
        _ => {}
    }
    check_balance_invariants()
}

/// Whether early terminations wait to be processed.
pub fn has_pending_early_terminations(st: &State) -> bool {
    !st.early_terminations.is_empty()
}

/// The end of the current proving deadline.
fn handle_proving_deadline(reward: &FilterEstimate, qa_power: &FilterEstimate) -> ActorResult<()> {
    let policy = Policy::devnet();
    let epoch = env::curr_epoch();
    let store = ActorBlockstore;
    let mut had_early_terminations = false;
    let (st, power_delta, penalty, pledge_delta, continue_cron) =
        env::transaction(|st: &mut State| {
            let mut info = miner_info(st)?;
            process_pending_worker(st, &mut info)?;

            let deposit_to_burn = st.cleanup_expired_pre_commits(&policy, &store, epoch)?;
            st.apply_penalty(&deposit_to_burn)?;

            had_early_terminations = has_pending_early_terminations(st);

            let result = st.advance_deadline(&policy, &store, epoch)?;
            // Faults found by this missed PoSt pay nothing now; sectors that
            // were already faulty and stay faulty pay the fault fee.
            let fault_fee = pledge_penalty_for_continued_fault(
                reward,
                qa_power,
                &result.previously_faulty_power.qa,
            );
            let power_delta = result.power_delta.clone();
            let mut pledge_delta = result.pledge_delta.clone();
            st.apply_penalty(&fault_fee)?;

            if result.daily_fee.is_positive() {
                // The daily fee, capped at a share of the expected daily
                // block reward of the deadline's live power.
                let day_reward = expected_reward_for_power(
                    reward,
                    qa_power,
                    &result.live_power.qa,
                    EPOCHS_IN_DAY,
                );
                let fee = daily_proof_fee_payable(&policy, &result.daily_fee, &day_reward);
                st.apply_penalty(&fee)?;
            }

            let (penalty, unlocked) =
                st.repay_partial_debt_in_priority_order(&store, epoch, &env::balance())?;
            pledge_delta -= &unlocked;
            let newly_vested = st.unlock_vested_funds(&store, epoch)?;
            pledge_delta -= &newly_vested;

            let continue_cron = st.continue_deadline_cron();
            if !continue_cron {
                st.deadline_cron_active = false;
            }
            Ok((
                st.clone(),
                power_delta,
                penalty,
                pledge_delta,
                continue_cron,
            ))
        })?;

    ext::update_power(&power_delta)?;
    ext::burn(&penalty)?;
    ext::update_pledge(&pledge_delta)?;
    if continue_cron {
        let next = st.deadline_info(&policy, epoch + 1);
        ext::enroll_cron(next.last(), CRON_EVENT_PROVING_DEADLINE)?;
    }
    // If early terminations appeared with this deadline, start on them now
    // and continue at the next epoch if there are too many. (If some were
    // already waiting, a callback is already scheduled.)
    if !had_early_terminations
        && has_pending_early_terminations(&st)
        && process_early_terminations(reward, qa_power)?
    {
        ext::schedule_early_termination_work()?;
    }
    Ok(())
}

/// Pays off one batch of early terminations: termination fees as penalty,
/// initial pledge released, debt repaid, penalties burnt, and the market
/// told to terminate the deals of sectors with data. Returns whether more
/// terminations remain.
pub fn process_early_terminations(
    reward: &FilterEstimate,
    qa_power: &FilterEstimate,
) -> ActorResult<bool> {
    let policy = Policy::devnet();
    let epoch = env::curr_epoch();
    let store = ActorBlockstore;
    let mut with_data = Vec::new();
    let (empty, more, penalty, pledge_delta) = env::transaction(|st: &mut State| {
        let (result, more) = st.pop_early_terminations(
            &policy,
            &store,
            policy.addressed_partitions_max,
            policy.addressed_sectors_max,
        )?;
        if result.is_empty() {
            return Ok((true, more, TokenAmount::zero(), TokenAmount::zero()));
        }
        let info = miner_info(st)?;
        let sectors = Sectors::load(&store, &st.sectors)?;
        let mut total_pledge = TokenAmount::zero();
        let mut total_penalty = TokenAmount::zero();
        for (term_epoch, numbers) in result.iter() {
            for sector in sectors.load_sectors(numbers)? {
                total_pledge += &sector.initial_pledge;
                let power = qa_power_for_sector(info.sector_size, &sector);
                let fault_fee = pledge_penalty_for_continued_fault(reward, qa_power, &power);
                total_penalty += pledge_penalty_for_termination(
                    &sector.initial_pledge,
                    term_epoch - sector.activation,
                    &fault_fee,
                );
                if sector.deal_weight.is_positive() || sector.verified_deal_weight.is_positive() {
                    with_data.push(sector.sector_number);
                }
            }
        }
        st.apply_penalty(&total_penalty)?;
        let mut pledge_delta = -total_pledge;
        st.add_initial_pledge(&pledge_delta)?;
        let (penalty, unlocked) =
            st.repay_partial_debt_in_priority_order(&store, epoch, &env::balance())?;
        pledge_delta -= &unlocked;
        Ok((false, more, penalty, pledge_delta))
    })?;
    if empty {
        return Ok(more);
    }
    ext::burn(&penalty)?;
    ext::update_pledge(&pledge_delta)?;
    let terminated = BitField::try_from_bits(with_data)
        .map_err(|e| ActorError::illegal_state(format!("invalid sector number: {e}")))?;
    ext::terminate_deals(epoch, terminated)?;
    Ok(more)
}
