//! The market's calls to other actors: a miner's control addresses, the
//! network power (power actor) and baseline power (reward actor) that bound
//! provider collateral, a client's signature check through its account's
//! `AuthenticateMessage`, and the `MarketNotifyDeal` hook.

use ferrite_actor_rt::send::{send, send_empty, send_read_only};
use ferrite_actor_rt::types::{REWARD_ACTOR_ID, STORAGE_POWER_ACTOR_ID};
use ferrite_actor_rt::{ActorError, ActorResult};
use ferrite_actor_types::market::{AuthenticateMessageParams, MarketNotifyDealParams, methods};
use ferrite_actor_types::miner::ControlAddressesReturn;
use ferrite_actor_types::power::CurrentTotalPowerReturn;
use ferrite_actor_types::reward::ThisEpochRewardReturn;
use fvm_shared::ActorID;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::StoragePower;

/// A miner's `ControlAddresses` (method 2).
const MINER_CONTROL_ADDRESSES: u64 = 2;

/// The owner, worker and control addresses of miner `id`.
pub fn control_addresses(id: ActorID) -> ActorResult<ControlAddressesReturn> {
    send_empty(
        &Address::new_id(id),
        MINER_CONTROL_ADDRESSES,
        TokenAmount::default(),
    )?
    .decode("miner ControlAddresses")
}

/// The network's raw-byte power, from the power actor's `CurrentTotalPower`.
pub fn network_raw_power() -> ActorResult<StoragePower> {
    let r: CurrentTotalPowerReturn = send_empty(
        &Address::new_id(STORAGE_POWER_ACTOR_ID),
        ferrite_actor_types::power::method::CURRENT_TOTAL_POWER,
        TokenAmount::default(),
    )?
    .decode("power CurrentTotalPower")?;
    Ok(r.raw_byte_power)
}

/// This epoch's baseline power, from the reward actor's `ThisEpochReward`.
pub fn baseline_power() -> ActorResult<StoragePower> {
    let r: ThisEpochRewardReturn = send_empty(
        &Address::new_id(REWARD_ACTOR_ID),
        ferrite_actor_types::reward::method::THIS_EPOCH_REWARD,
        TokenAmount::default(),
    )?
    .decode("reward ThisEpochReward")?;
    Ok(r.this_epoch_baseline_power)
}

/// Checks `signature` over `message` with the client's account actor
/// (read-only `AuthenticateMessage`).
pub fn authenticate(client: &Address, signature: Vec<u8>, message: Vec<u8>) -> ActorResult<()> {
    let params = AuthenticateMessageParams { signature, message };
    let ok: bool = send_read_only(client, methods::ACCOUNT_AUTHENTICATE_MESSAGE, Some(&params))?
        .decode("AuthenticateMessage")?;
    if ok {
        Ok(())
    } else {
        Err(ActorError::illegal_argument(
            "proposal authentication failed",
        ))
    }
}

/// Tells the client of a new deal (`MarketNotifyDeal`); like v18, a
/// failure fails the whole publication.
pub fn notify_client(client: &Address, proposal: Vec<u8>, deal_id: u64) -> ActorResult<()> {
    let params = MarketNotifyDealParams { proposal, deal_id };
    send(
        client,
        methods::MARKET_NOTIFY_DEAL,
        Some(&params),
        TokenAmount::default(),
    )?
    .ok("MarketNotifyDeal")
    .map_err(|e| {
        ActorError::illegal_argument(format!("notify client of deal {deal_id}: {}", e.msg))
    })
}
