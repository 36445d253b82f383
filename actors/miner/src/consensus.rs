//! Reports against the miner: ReportConsensusFault (15), where anyone
//! proves with two block headers that the miner misbehaved in consensus
//! (the miner pays a penalty, the reporter gets a share, and the miner is
//! barred from consensus for a while), and DisputeWindowedPoSt (24).

use ferrite_actor_rt::{self as rt, ActorError, ActorResult};
use ferrite_actor_types::miner::{DisputeWindowedPoStParams, ReportConsensusFaultParams};
use ferrite_actor_types::policy::{Policy, reward_for_consensus_slash_report};
use fvm_shared::econ::TokenAmount;

use crate::control::{miner_info, save_info};
use crate::env;
use crate::ext;
use crate::funds::check_balance_invariants;
use crate::state::{
    State, consensus_fault_penalty, deadline_available_for_optimistic_post_dispute,
};

/// ReportConsensusFault (15), from anyone.
pub fn report_consensus_fault(p: ReportConsensusFaultParams) -> ActorResult<()> {
    let policy = Policy::devnet();
    let reporter = env::caller();
    let fault = rt::sdk::crypto::verify_consensus_fault(&p.header1, &p.header2, &p.header_extra)
        .map_err(|e| ActorError::illegal_argument(format!("fault not verified: {e:?}")))?
        .ok_or_else(|| ActorError::illegal_argument("no consensus fault found"))?;
    if fault.target != env::receiver() {
        return Err(ActorError::illegal_argument(format!(
            "fault by {} reported to miner {}",
            fault.target,
            env::receiver()
        )));
    }
    let epoch = env::curr_epoch();
    if epoch - fault.epoch <= 0 {
        return Err(ActorError::illegal_argument(format!(
            "invalid fault epoch {} ahead of current {epoch}",
            fault.epoch
        )));
    }
    let reward = ext::this_epoch_reward()?;
    let this_epoch_reward = TokenAmount::from_atto(reward.this_epoch_reward_smoothed.estimate());
    let penalty = consensus_fault_penalty(this_epoch_reward.clone());
    let slasher_reward = reward_for_consensus_slash_report(&this_epoch_reward);

    let (burn, reporter_share, pledge_delta) = env::transaction(|st: &mut State| {
        let mut info = miner_info(st)?;
        if fault.epoch < info.consensus_fault_elapsed {
            return Err(ActorError::forbidden(format!(
                "fault epoch {} is too old, last exclusion period ended at {}",
                fault.epoch, info.consensus_fault_elapsed
            )));
        }
        st.apply_penalty(&penalty)?;
        let (mut burn, unlocked) =
            st.repay_partial_debt_in_priority_order(&rt::ActorBlockstore, epoch, &env::balance())?;
        // The reporter's share comes out of what was actually paid.
        let share = std::cmp::min(&burn, &slasher_reward).clone();
        burn -= &share;
        info.consensus_fault_elapsed = epoch + policy.consensus_fault_ineligibility_duration;
        save_info(st, &info)?;
        Ok((burn, share, -unlocked))
    })?;
    // A failed reward transfer is ignored, as in v18.
    let _ = rt::send::transfer(&reporter, reporter_share);
    ext::burn(&burn)?;
    ext::update_pledge(&pledge_delta)?;
    check_balance_invariants()
}

/// DisputeWindowedPoSt (24), from anyone.
///
/// Less than v18, on purpose: Ferrite verifies every Window PoSt when it is
/// submitted ([`crate::post::ALWAYS_VERIFY_POST`]), so no accepted proof can
/// be invalid and every dispute fails as v18's does for a valid proof
/// (`USR_ILLEGAL_ARGUMENT`, after the same deadline and dispute window
/// checks). Were that switch turned off, disputes would still not be
/// examined.
pub fn dispute_windowed_post(p: DisputeWindowedPoStParams) -> ActorResult<()> {
    let policy = Policy::devnet();
    if p.deadline >= policy.wpost_period_deadlines {
        return Err(ActorError::illegal_argument(format!(
            "invalid deadline {} of {}",
            p.deadline, policy.wpost_period_deadlines
        )));
    }
    let epoch = env::curr_epoch();
    let st: State = env::state();
    let dl = st.deadline_info(&policy, epoch);
    if !deadline_available_for_optimistic_post_dispute(&policy, dl.period_start, p.deadline, epoch)
    {
        return Err(ActorError::forbidden(format!(
            "can only dispute window posts during the dispute window ({} epochs after the challenge window closes)",
            policy.wpost_dispute_window
        )));
    }
    Err(ActorError::illegal_argument(
        "failed to dispute valid post (window posts are verified on submission)",
    ))
}
