//! The reward actor (f02): mints the block reward and pays block producers,
//! following builtin-actors v18's model (simple plus baseline minting; see
//! `ferrite_actor_types::reward::math`).
//!
//! Methods (v18 numbers; no FRC-42 exports):
//! - 1 `Constructor(Option<BigInt>)`, from f00 at genesis: builds the state
//!   for the genesis network power (`null` is refused).
//! - 2 `AwardBlockReward([miner, penalty, gas_reward, win_count])`, from f00
//!   after each block: pays `this_epoch_reward * win_count / 5` plus the
//!   block's gas reward to the miner's `ApplyRewards` (miner method 14),
//!   with the penalty tripled; burns the payment if the miner refuses it.
//! - 3 `ThisEpochReward()`, from anyone: the smoothed reward estimate and
//!   the baseline power, read by the power and miner actors for pledge math.
//! - 4 `UpdateNetworkKPI(Option<BigInt>)`, from f04 at the end of every
//!   non-null epoch: catches up null rounds, computes the next epoch's
//!   reward, and feeds it into the smoothed estimate.
//!
//! Data flow: power's end-of-epoch cron reports the network's raw-byte power
//! here; the state (`ferrite_actor_types::reward::State`) turns it into the
//! next reward; the system actor's per-block award then pays from this
//! actor's balance (the mined supply plus the gas tips the FVM forwards).
//!
//! Not done (v18 does): `restrict_internal_api`, i.e. refusing non-builtin
//! callers (EVM contracts) on methods below the exported range.

mod award;

use ferrite_actor_rt::{self as rt, ActorError, ActorResult};
use ferrite_actor_types::reward::{
    ConstructorParams, State, ThisEpochRewardReturn, UpdateNetworkKPIParams, method,
};
use rt::types::STORAGE_POWER_ACTOR_ID;

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(params: u32) -> u32 {
    rt::sdk::initialize();
    let m = rt::sdk::message::method_number();
    rt::dispatch(|| match m {
        method::CONSTRUCTOR => constructor(params),
        method::AWARD_BLOCK_REWARD => award::award_block_reward(params),
        method::THIS_EPOCH_REWARD => this_epoch_reward(params),
        method::UPDATE_NETWORK_KPI => update_network_kpi(params),
        m => Err(ActorError::unknown_method(m)),
    })
}

/// Creates the state for the genesis network power.
fn constructor(params: u32) -> ActorResult<u32> {
    // As in v18, parameters are decoded before the caller is checked.
    let p: ConstructorParams = rt::send::decode_params(params)?;
    rt::send::check_caller(rt::SYSTEM_ACTOR)?;
    let power = p
        .power
        .ok_or_else(|| ActorError::illegal_argument("argument should not be nil"))?;
    rt::save_state(&State::new(&power.0));
    Ok(rt::ret_nothing())
}

/// The smoothed reward estimate and the current baseline power.
fn this_epoch_reward(params: u32) -> ActorResult<u32> {
    rt::send::no_params(params)?;
    let st: State = rt::load_state();
    rt::send::return_value(&ThisEpochRewardReturn {
        this_epoch_reward_smoothed: st.this_epoch_reward_smoothed,
        this_epoch_baseline_power: st.this_epoch_baseline_power,
    })
}

/// Advances the reward state to the current epoch with the network power
/// the power actor reports: null rounds since the last report are replayed
/// without reward, then the next reward is computed and smoothed over the
/// epochs that passed.
fn update_network_kpi(params: u32) -> ActorResult<u32> {
    let p: UpdateNetworkKPIParams = rt::send::decode_params(params)?;
    rt::send::check_caller(STORAGE_POWER_ACTOR_ID)?;
    let power = p
        .curr_realized_power
        .ok_or_else(|| ActorError::illegal_argument("argument cannot be None"))?
        .0;
    let curr_epoch = rt::sdk::network::curr_epoch();
    let mut st: State = rt::load_state();
    let prev = st.epoch;
    while st.epoch < curr_epoch {
        st.update_to_next_epoch(&power);
    }
    st.update_to_next_epoch_with_reward(&power);
    st.update_smoothed_estimates(st.epoch.saturating_sub(prev));
    rt::save_state(&st);
    Ok(rt::ret_nothing())
}
