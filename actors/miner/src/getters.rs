//! Read-only methods (FRC-42 getters and CheckSectorProven): any caller may
//! ask, nothing changes.

use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult};
use ferrite_actor_types::EPOCHS_IN_DAY;
use ferrite_actor_types::miner::{
    CheckSectorProvenParams, GenerateSectorLocationParams, GenerateSectorLocationReturn,
    GetAvailableBalanceReturn, GetMultiaddrsReturn, GetNominalSectorExpirationParams,
    GetNominalSectorExpirationReturn, GetOwnerReturn, GetPeerIDReturn, GetSectorSizeReturn,
    GetVestingFundsReturn, InitialPledgeReturn, IsControllingAddressParam,
    IsControllingAddressReturn, MaxTerminationFeeParams, MaxTerminationFeeReturn, NO_DEADLINE,
    NO_PARTITION, SectorLocation, SectorStatusCode, ValidateSectorStatusParams,
    ValidateSectorStatusReturn,
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

/// GenerateSectorLocation: where a sector is and its status. A sector not
/// in the sectors array (never committed, or terminated and compacted
/// away) is `Dead` at no location. Searches every deadline: meant to be
/// called off chain.
pub fn generate_sector_location(
    p: GenerateSectorLocationParams,
) -> ActorResult<GenerateSectorLocationReturn> {
    let st: State = env::state();
    let store = ActorBlockstore;
    if st.get_sector(&store, p.sector_number)?.is_none() {
        return location_return(SectorStatusCode::Dead, NO_DEADLINE, NO_PARTITION);
    }
    // Every sector in the array is in some partition.
    let (dl, part) = st.find_sector(&store, p.sector_number).map_err(|e| {
        ActorError::illegal_state(format!("failed to find sector location: {}", e.msg))
    })?;
    let partition = st
        .load_deadlines(&store)?
        .load_deadline(&store, dl)?
        .load_partition(&store, part)?;
    let status = if partition.terminated.get(p.sector_number) {
        SectorStatusCode::Dead
    } else if partition.faults.get(p.sector_number) {
        SectorStatusCode::Faulty
    } else {
        SectorStatusCode::Active
    };
    location_return(status, dl as i64, part as i64)
}

fn location_return(
    status: SectorStatusCode,
    deadline: i64,
    partition: i64,
) -> ActorResult<GenerateSectorLocationReturn> {
    let aux_data = fvm_ipld_encoding::to_vec(&SectorLocation {
        deadline,
        partition,
    })
    .map_err(|e| ActorError::illegal_state(format!("encode sector location: {e}")))?;
    Ok(GenerateSectorLocationReturn { status, aux_data })
}

/// ValidateSectorStatus: whether a sector has `status` at the location in
/// `aux_data` (as GenerateSectorLocation gave it). Reads one partition.
pub fn validate_sector_status(
    p: ValidateSectorStatusParams,
) -> ActorResult<ValidateSectorStatusReturn> {
    let st: State = env::state();
    let store = ActorBlockstore;
    let at: SectorLocation = fvm_ipld_encoding::from_slice(&p.aux_data)
        .map_err(|e| ActorError::illegal_argument(format!("invalid aux_data: {e}")))?;
    let no_deadline = at.deadline == NO_DEADLINE;
    if no_deadline != (at.partition == NO_PARTITION) {
        return Err(ActorError::illegal_argument(
            "invalid sector location: deadline and partition must both be NO or both be set",
        ));
    }
    if no_deadline {
        // No location proves a sector dead only if it is gone.
        if st.get_sector(&store, p.sector_number)?.is_none() {
            return Ok(ValidateSectorStatusReturn {
                valid: p.status == SectorStatusCode::Dead,
            });
        }
        return Err(ActorError::not_found(format!(
            "sector {} not found at NO_DEADLINE, NO_PARTITION",
            p.sector_number
        )));
    }
    // Negative indices wrap to out-of-range ones, refused by the loads.
    let partition = st
        .load_deadlines(&store)?
        .load_deadline(&store, at.deadline as u64)?
        .load_partition(&store, at.partition as u64)?;
    if !partition.sectors.get(p.sector_number) {
        return Err(ActorError::not_found(format!(
            "sector {} not found at deadline {} partition {}",
            p.sector_number, at.deadline, at.partition
        )));
    }
    let terminated = partition.terminated.get(p.sector_number);
    let faulty = partition.faults.get(p.sector_number);
    let valid = match p.status {
        SectorStatusCode::Active => !terminated && !faulty,
        SectorStatusCode::Dead => terminated,
        SectorStatusCode::Faulty => faulty,
    };
    Ok(ValidateSectorStatusReturn { valid })
}

/// GetNominalSectorExpiration: the expiration in the sector's record
/// (`USR_NOT_FOUND` if there is none). A terminated sector not yet
/// compacted away still answers its original expiration.
pub fn get_nominal_sector_expiration(
    p: GetNominalSectorExpirationParams,
) -> ActorResult<GetNominalSectorExpirationReturn> {
    let st: State = env::state();
    let sector = st
        .get_sector(&ActorBlockstore, p.sector_number)?
        .ok_or_else(|| ActorError::not_found(format!("sector {} not found", p.sector_number)))?;
    Ok(GetNominalSectorExpirationReturn {
        expiration: sector.expiration,
    })
}
