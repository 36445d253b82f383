//! Read-only methods (FRC-42 getters and CheckSectorProven): any caller may
//! ask, nothing changes.

use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult};
use ferrite_actor_types::EPOCHS_IN_DAY;
use ferrite_actor_types::miner::{
    CheckSectorProvenParams, GetAvailableBalanceReturn, GetMultiaddrsReturn, GetOwnerReturn,
    GetPeerIDReturn, GetSectorSizeReturn, GetVestingFundsReturn, InitialPledgeReturn,
    IsControllingAddressParam, IsControllingAddressReturn, MaxTerminationFeeParams,
    MaxTerminationFeeReturn,
};
use fvm_shared::address::Address;

use crate::control::miner_info;
use crate::env;
use crate::ext;
use crate::state::{
    State, TERMINATION_LIFETIME_CAP, pledge_penalty_for_continued_fault,
    pledge_penalty_for_termination,
};

/// The largest sector number (2^63 - 1).
pub const MAX_SECTOR_NUMBER: u64 = i64::MAX as u64;

/// GetOwner: the owner and any proposed new owner.
pub fn get_owner() -> ActorResult<GetOwnerReturn> {
    let info = miner_info(&env::state())?;
    Ok(GetOwnerReturn {
        owner: info.owner,
        proposed: info.pending_owner_address,
    })
}

/// IsControllingAddress: whether `address` is the owner, the worker or a
/// control address.
pub fn is_controlling_address(
    p: IsControllingAddressParam,
) -> ActorResult<IsControllingAddressReturn> {
    let Some(id) = env::resolve(&p.address) else {
        return Ok(IsControllingAddressReturn {
            is_controlling: false,
        });
    };
    let input = Address::new_id(id);
    let info = miner_info(&env::state())?;
    let is_controlling = info
        .control_addresses
        .iter()
        .chain([&info.worker, &info.owner])
        .any(|a| *a == input);
    Ok(IsControllingAddressReturn { is_controlling })
}

/// GetSectorSize: the miner's sector size.
pub fn get_sector_size() -> ActorResult<GetSectorSizeReturn> {
    let info = miner_info(&env::state())?;
    Ok(GetSectorSizeReturn {
        sector_size: info.sector_size,
    })
}

/// GetAvailableBalance: balance minus locked funds, deposits, pledge and
/// fee debt (negative when the miner is in debt).
pub fn get_available_balance() -> ActorResult<GetAvailableBalanceReturn> {
    let st: State = env::state();
    let available_balance = st.get_available_balance(&env::balance())?;
    Ok(GetAvailableBalanceReturn { available_balance })
}

/// GetVestingFunds: the (epoch, amount) entries still vesting.
pub fn get_vesting_funds() -> ActorResult<GetVestingFundsReturn> {
    let st: State = env::state();
    let funds = st.vesting_funds.load(&ActorBlockstore)?;
    Ok(GetVestingFundsReturn {
        vesting_funds: funds.into_iter().map(|f| (f.epoch, f.amount)).collect(),
    })
}

/// GetPeerID: the miner's libp2p peer ID.
pub fn get_peer_id() -> ActorResult<GetPeerIDReturn> {
    let info = miner_info(&env::state())?;
    Ok(GetPeerIDReturn {
        peer_id: info.peer_id,
    })
}

/// GetMultiaddrs: the miner's multiaddresses.
pub fn get_multiaddrs() -> ActorResult<GetMultiaddrsReturn> {
    let info = miner_info(&env::state())?;
    Ok(GetMultiaddrsReturn {
        multi_addrs: info.multi_address,
    })
}

/// InitialPledge: the miner's total initial pledge.
pub fn initial_pledge() -> ActorResult<InitialPledgeReturn> {
    let st: State = env::state();
    Ok(InitialPledgeReturn {
        initial_pledge: st.initial_pledge,
    })
}

/// CheckSectorProven (13): Ok if the sector is proven (in the sectors
/// array), `USR_NOT_FOUND` if not.
pub fn check_sector_proven(p: CheckSectorProvenParams) -> ActorResult<()> {
    if p.sector_number > MAX_SECTOR_NUMBER {
        return Err(ActorError::illegal_argument("sector number out of range"));
    }
    let st: State = env::state();
    match st.get_sector(&ActorBlockstore, p.sector_number)? {
        Some(_) => Ok(()),
        None => Err(ActorError::not_found(format!(
            "sector {} not proven",
            p.sector_number
        ))),
    }
}

/// MaxTerminationFee: the largest termination fee a sector of `power` and
/// `initial_pledge` can pay (at the termination lifetime cap).
pub fn max_termination_fee(p: MaxTerminationFeeParams) -> ActorResult<MaxTerminationFeeReturn> {
    let reward = ext::this_epoch_reward()?;
    let power = ext::current_total_power()?;
    let fault_fee = pledge_penalty_for_continued_fault(
        &reward.this_epoch_reward_smoothed,
        &power.quality_adj_power_smoothed,
        &p.power,
    );
    let max_fee = pledge_penalty_for_termination(
        &p.initial_pledge,
        TERMINATION_LIFETIME_CAP * EPOCHS_IN_DAY,
        &fault_fee,
    );
    Ok(MaxTerminationFeeReturn { max_fee })
}
