//! The miner's calls to other actors: the reward and power actors' network
//! figures, power and pledge updates and cron enrolment at the power actor,
//! deal checks and termination at the market, the worker's public key at
//! its account, and burning funds.

use ferrite_actor_rt::types::{
    REWARD_ACTOR_ID, STORAGE_MARKET_ACTOR_ID, STORAGE_POWER_ACTOR_ID, SYSTEM_ACTOR_ID,
};
use ferrite_actor_rt::{self as rt, ActorError, ActorResult};
use ferrite_actor_types::market::methods as market_method;
use ferrite_actor_types::market::{
    OnMinerSectorsTerminateParams, SectorDeals, VerifyDealsForActivationParams,
    VerifyDealsForActivationReturn,
};
use ferrite_actor_types::miner::PowerPair;
use ferrite_actor_types::miner::{CRON_EVENT_PROCESS_EARLY_TERMINATIONS, CronEventPayload};
use ferrite_actor_types::power::method as power_method;
use ferrite_actor_types::power::{
    CurrentTotalPowerReturn, EnrollCronEventParams, UpdateClaimedPowerParams,
    UpdatePledgeTotalParams,
};
use ferrite_actor_types::reward::ThisEpochRewardReturn;
use ferrite_actor_types::reward::method as reward_method;
use fvm_ipld_bitfield::BitField;
use fvm_ipld_encoding::RawBytes;
use fvm_shared::ActorID;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use num_traits::Zero;

use crate::env;

/// The account actor's `PubkeyAddress` method.
const ACCOUNT_PUBKEY_ADDRESS: u64 = 2;

fn power() -> Address {
    Address::new_id(STORAGE_POWER_ACTOR_ID)
}

/// The reward actor's figures for this epoch (smoothed reward, baseline).
pub fn this_epoch_reward() -> ActorResult<ThisEpochRewardReturn> {
    rt::send::send_empty(
        &Address::new_id(REWARD_ACTOR_ID),
        reward_method::THIS_EPOCH_REWARD,
        TokenAmount::zero(),
    )?
    .decode("reward ThisEpochReward")
}

/// The power actor's network totals (smoothed QA power, pledge ramp).
pub fn current_total_power() -> ActorResult<CurrentTotalPowerReturn> {
    rt::send::send_empty(
        &power(),
        power_method::CURRENT_TOTAL_POWER,
        TokenAmount::zero(),
    )?
    .decode("power CurrentTotalPower")
}

/// Tells the power actor that the miner's claimed power changed by
/// `delta`; nothing is sent for a zero change.
pub fn update_power(delta: &PowerPair) -> ActorResult<()> {
    if delta.is_zero() {
        return Ok(());
    }
    let params = UpdateClaimedPowerParams {
        raw_byte_delta: delta.raw.clone(),
        quality_adjusted_delta: delta.qa.clone(),
    };
    rt::send::send(
        &power(),
        power_method::UPDATE_CLAIMED_POWER,
        Some(&params),
        TokenAmount::zero(),
    )?
    .ok("power UpdateClaimedPower")
}

/// Tells the power actor that the miner's locked pledge changed by
/// `delta`; nothing is sent for a zero change.
pub fn update_pledge(delta: &TokenAmount) -> ActorResult<()> {
    if delta.is_zero() {
        return Ok(());
    }
    let params = UpdatePledgeTotalParams {
        pledge_delta: delta.clone(),
    };
    rt::send::send(
        &power(),
        power_method::UPDATE_PLEDGE_TOTAL,
        Some(&params),
        TokenAmount::zero(),
    )?
    .ok("power UpdatePledgeTotal")
}

/// Asks the power actor to call `OnDeferredCronEvent` at `epoch` with an
/// event of type `event_type`.
pub fn enroll_cron(epoch: ChainEpoch, event_type: i64) -> ActorResult<()> {
    let payload = fvm_ipld_encoding::to_vec(&CronEventPayload { event_type })
        .map_err(|e| ActorError::serialization(format!("encode cron payload: {e}")))?;
    let params = EnrollCronEventParams {
        event_epoch: epoch,
        payload: RawBytes::new(payload),
    };
    rt::send::send(
        &power(),
        power_method::ENROLL_CRON_EVENT,
        Some(&params),
        TokenAmount::zero(),
    )?
    .ok("power EnrollCronEvent")
}

/// Asks for a cron callback at the next epoch to go on with early
/// terminations.
pub fn schedule_early_termination_work() -> ActorResult<()> {
    enroll_cron(env::curr_epoch() + 1, CRON_EVENT_PROCESS_EARLY_TERMINATIONS)
}

/// Burns `amount` (if positive).
pub fn burn(amount: &TokenAmount) -> ActorResult<()> {
    if amount.is_positive() {
        rt::send::burn(amount.clone())
    } else {
        Ok(())
    }
}

/// The unsealed CIDs the market computes for each sector's deals (`None`
/// for a sector without deals); the market is not called when no sector
/// has deals.
pub fn verify_deals(sectors: Vec<SectorDeals>) -> ActorResult<VerifyDealsForActivationReturn> {
    if sectors.iter().all(|s| s.deal_ids.is_empty()) {
        return Ok(VerifyDealsForActivationReturn {
            unsealed_cids: vec![None; sectors.len()],
        });
    }
    let params = VerifyDealsForActivationParams { sectors };
    rt::send::send(
        &Address::new_id(STORAGE_MARKET_ACTOR_ID),
        market_method::VERIFY_DEALS_FOR_ACTIVATION,
        Some(&params),
        TokenAmount::zero(),
    )?
    .decode("market VerifyDealsForActivation")
}

/// Tells the market that the sectors `sectors` (those holding data) were
/// terminated at `epoch`. In a cron context (origin f00) a failure is
/// swallowed, so that a broken market cannot freeze the miner's cron.
pub fn terminate_deals(epoch: ChainEpoch, sectors: BitField) -> ActorResult<()> {
    if sectors.is_empty() {
        return Ok(());
    }
    let params = OnMinerSectorsTerminateParams { epoch, sectors };
    let res = rt::send::send(
        &Address::new_id(STORAGE_MARKET_ACTOR_ID),
        market_method::ON_MINER_SECTORS_TERMINATE,
        Some(&params),
        TokenAmount::zero(),
    )
    .and_then(|r| r.ok("market OnMinerSectorsTerminate"));
    if rt::sdk::message::origin() == SYSTEM_ACTOR_ID {
        return Ok(());
    }
    res
}

/// Resolves `raw` to the ID of an account actor whose key is BLS: the
/// worker signs with a BLS key because it is used alongside a BLS VRF.
pub fn resolve_worker(raw: &Address) -> ActorResult<ActorID> {
    let id = env::resolve(raw)
        .ok_or_else(|| ActorError::illegal_argument(format!("unable to resolve address {raw}")))?;
    let code = rt::sdk::actor::get_actor_code_cid(&Address::new_id(id))
        .ok_or_else(|| ActorError::illegal_argument(format!("no code for address f0{id}")))?;
    if rt::types::type_of_code(&code) != Some(rt::types::Type::Account) {
        return Err(ActorError::illegal_argument(format!(
            "worker actor type must be an account, was {code}"
        )));
    }
    if raw.protocol() != fvm_shared::address::Protocol::BLS {
        let key: Address = rt::send::send_empty(
            &Address::new_id(id),
            ACCOUNT_PUBKEY_ADDRESS,
            TokenAmount::zero(),
        )?
        .decode("account PubkeyAddress")?;
        if key.protocol() != fvm_shared::address::Protocol::BLS {
            return Err(ActorError::illegal_argument(format!(
                "worker account f0{id} must have a BLS key, was {}",
                key.protocol()
            )));
        }
    }
    Ok(id)
}
