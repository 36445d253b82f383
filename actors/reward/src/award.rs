//! `AwardBlockReward`: pays one block's producer from the reward actor's
//! balance and records the payout in the state.

use ferrite_actor_rt::{self as rt, ActorError, ActorResult};
use ferrite_actor_types::EXPECTED_LEADERS_PER_EPOCH;
use ferrite_actor_types::miner::{ApplyRewardParams, method::APPLY_REWARDS};
use ferrite_actor_types::reward::{AwardBlockRewardParams, PENALTY_MULTIPLIER, State};
use fvm_shared::address::Address;

/// Pays `this_epoch_reward * win_count / 5` plus the gas reward (capped at
/// the balance) to the miner with its penalty tripled; if the miner's
/// `ApplyRewards` fails, the payment is burnt instead.
pub(crate) fn award_block_reward(params: u32) -> ActorResult<u32> {
    let p: AwardBlockRewardParams = rt::send::decode_params(params)?;
    rt::send::check_caller(rt::SYSTEM_ACTOR)?;
    let prior_balance = rt::sdk::sself::current_balance();
    if p.penalty.is_negative() {
        return Err(ActorError::illegal_argument(format!(
            "negative penalty {}",
            p.penalty
        )));
    }
    if p.gas_reward.is_negative() {
        return Err(ActorError::illegal_argument(format!(
            "negative gas reward {}",
            p.gas_reward
        )));
    }
    if prior_balance < p.gas_reward {
        return Err(ActorError::illegal_state(format!(
            "actor current balance {prior_balance} insufficient to pay gas reward {}",
            p.gas_reward
        )));
    }
    if p.win_count <= 0 {
        return Err(ActorError::illegal_argument(format!(
            "invalid win count {}",
            p.win_count
        )));
    }
    let miner_id = rt::sdk::actor::resolve_address(&p.miner)
        .ok_or_else(|| ActorError::not_found("failed to resolve given owner address"))?;
    let penalty = &p.penalty * PENALTY_MULTIPLIER;

    let mut st: State = rt::load_state();
    let mut block_reward =
        (&st.this_epoch_reward * p.win_count).div_floor(EXPECTED_LEADERS_PER_EPOCH);
    let mut total_reward = &p.gas_reward + &block_reward;
    if total_reward > prior_balance {
        // The mined supply is running out: pay what is left.
        total_reward = prior_balance;
        block_reward = &total_reward - &p.gas_reward;
    }
    st.total_storage_power_reward += block_reward;
    rt::save_state(&st);

    // A miner that refuses its reward has only itself to blame: burn it
    // rather than fail the block.
    let apply = ApplyRewardParams {
        reward: total_reward.clone(),
        penalty,
    };
    let paid = rt::send::send(
        &Address::new_id(miner_id),
        APPLY_REWARDS,
        Some(&apply),
        total_reward.clone(),
    )
    .and_then(|r| r.ok("ApplyRewards"));
    if paid.is_err() {
        // v18 only logs a failed burn; so do we (it cannot fail for f099).
        let _ = rt::send::burn(total_reward);
    }
    Ok(rt::ret_nothing())
}
