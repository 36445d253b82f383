//! Who controls the miner: owner, worker and control addresses, the peer
//! ID and multiaddresses, and the beneficiary (FIP-0029). Changes of worker
//! take effect after a delay; changes of owner and beneficiary need the
//! other side's confirmation.

use ferrite_actor_rt::{ActorBlockstore, ActorError, ActorResult};
use ferrite_actor_types::miner::{
    ActiveBeneficiary, ChangeBeneficiaryParams, ChangeMultiaddrsParams, ChangeOwnerAddressParams,
    ChangePeerIDParams, ChangeWorkerAddressParams, GetBeneficiaryReturn, GetControlAddressesReturn,
    MinerInfo, PendingBeneficiaryChange, WorkerKeyChange,
};
use ferrite_actor_types::policy::Policy;
use fvm_ipld_encoding::BytesDe;
use fvm_shared::address::{Address, Protocol};
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::RegisteredPoStProof;
use num_traits::Zero;

use crate::env;
use crate::ext;
use crate::state::State;

/// The miner's info, read from its state.
pub fn miner_info(st: &State) -> ActorResult<MinerInfo> {
    st.get_info(&ActorBlockstore)
}

/// Writes `info` as the miner's info.
pub fn save_info(st: &mut State, info: &MinerInfo) -> ActorResult<()> {
    st.save_info(&ActorBlockstore, info)
}

/// Ok if the caller is the owner, the worker or a control address.
pub fn check_control_caller(info: &MinerInfo) -> ActorResult<()> {
    env::check_caller_in(
        info.control_addresses
            .iter()
            .chain([&info.worker, &info.owner]),
    )
}

/// Refuses more control addresses than the policy allows.
pub fn check_control_addresses(policy: &Policy, addrs: &[Address]) -> ActorResult<()> {
    if addrs.len() > policy.max_control_addresses {
        return Err(ActorError::illegal_argument(format!(
            "{} control addresses exceed the maximum {}",
            addrs.len(),
            policy.max_control_addresses
        )));
    }
    Ok(())
}

/// Refuses a too long peer ID, empty multiaddresses, or too much
/// multiaddress data.
pub fn check_peer_info(policy: &Policy, peer_id: &[u8], multiaddrs: &[BytesDe]) -> ActorResult<()> {
    if peer_id.len() > policy.max_peer_id_length {
        return Err(ActorError::illegal_argument(format!(
            "peer ID of {} bytes exceeds the maximum {}",
            peer_id.len(),
            policy.max_peer_id_length
        )));
    }
    let mut total = 0usize;
    for ma in multiaddrs {
        if ma.0.is_empty() {
            return Err(ActorError::illegal_argument("invalid empty multiaddr"));
        }
        total = total.saturating_add(ma.0.len());
    }
    if total > policy.max_multiaddr_data {
        return Err(ActorError::illegal_argument(format!(
            "multiaddrs of {total} bytes exceed the maximum {}",
            policy.max_multiaddr_data
        )));
    }
    Ok(())
}

/// Refuses a Window PoSt proof type new miners may not use.
pub fn check_post_proof_type(policy: &Policy, proof: RegisteredPoStProof) -> ActorResult<()> {
    if policy.valid_post_proof_type.contains(proof) {
        Ok(())
    } else {
        Err(ActorError::illegal_argument(format!(
            "proof type {proof:?} not allowed for new miners"
        )))
    }
}

/// ControlAddresses (2): owner, worker and control addresses; any caller.
pub fn control_addresses() -> ActorResult<GetControlAddressesReturn> {
    let st: State = env::state();
    let info = miner_info(&st)?;
    Ok(GetControlAddressesReturn {
        owner: info.owner,
        worker: info.worker,
        control_addresses: info.control_addresses,
    })
}

/// ChangeWorkerAddress (3): the owner replaces the control addresses and
/// schedules a worker change, effective after the worker key change delay.
pub fn change_worker_address(p: ChangeWorkerAddressParams) -> ActorResult<()> {
    let policy = Policy::devnet();
    check_control_addresses(&policy, &p.new_control_addresses)?;
    let new_worker = Address::new_id(ext::resolve_worker(&p.new_worker)?);
    let control = p
        .new_control_addresses
        .iter()
        .map(|a| env::resolve_id(a, "control address").map(Address::new_id))
        .collect::<ActorResult<Vec<_>>>()?;
    env::transaction(|st: &mut State| {
        let mut info = miner_info(st)?;
        env::check_caller_in([&info.owner])?;
        info.control_addresses = control;
        if new_worker != info.worker && info.pending_worker_key.is_none() {
            info.pending_worker_key = Some(WorkerKeyChange {
                new_worker,
                effective_at: env::curr_epoch() + policy.worker_key_change_delay,
            });
        }
        save_info(st, &info)
    })
}

/// ConfirmChangeWorkerAddress (21): the owner applies a scheduled worker
/// change whose time has come.
pub fn confirm_change_worker_address() -> ActorResult<()> {
    env::transaction(|st: &mut State| {
        let mut info = miner_info(st)?;
        env::check_caller_in([&info.owner])?;
        process_pending_worker(st, &mut info)
    })
}

/// Applies a scheduled worker change if it is due.
pub fn process_pending_worker(st: &mut State, info: &mut MinerInfo) -> ActorResult<()> {
    let Some(change) = &info.pending_worker_key else {
        return Ok(());
    };
    if env::curr_epoch() < change.effective_at {
        return Ok(());
    }
    info.worker = change.new_worker;
    info.pending_worker_key = None;
    save_info(st, info)
}

/// ChangeOwnerAddress (23): the owner proposes a new owner (an ID
/// address); the proposed address confirms by calling with the same one.
pub fn change_owner_address(p: ChangeOwnerAddressParams) -> ActorResult<()> {
    let new_owner = p.new_owner;
    if new_owner.protocol() != Protocol::ID {
        return Err(ActorError::illegal_argument(
            "owner address must be an ID address",
        ));
    }
    env::transaction(|st: &mut State| {
        let mut info = miner_info(st)?;
        let caller = env::caller();
        match info.pending_owner_address {
            Some(pending) if caller != info.owner => {
                env::check_caller_in([&pending])?;
                if new_owner != pending {
                    return Err(ActorError::illegal_argument(format!(
                        "expected confirmation of {pending}, got {new_owner}"
                    )));
                }
                if info.beneficiary == info.owner {
                    info.beneficiary = pending;
                }
                info.pending_beneficiary_term = None;
                info.owner = pending;
            }
            _ => {
                env::check_caller_in([&info.owner])?;
                info.pending_owner_address = Some(new_owner);
            }
        }
        if info.pending_owner_address == Some(info.owner) {
            info.pending_owner_address = None;
        }
        save_info(st, &info)
    })
}

/// ChangePeerID (4): a controlling address sets the peer ID.
pub fn change_peer_id(p: ChangePeerIDParams) -> ActorResult<()> {
    check_peer_info(&Policy::devnet(), &p.new_id, &[])?;
    env::transaction(|st: &mut State| {
        let mut info = miner_info(st)?;
        check_control_caller(&info)?;
        info.peer_id = p.new_id;
        save_info(st, &info)
    })
}

/// ChangeMultiaddrs (18): a controlling address sets the multiaddresses.
pub fn change_multiaddrs(p: ChangeMultiaddrsParams) -> ActorResult<()> {
    check_peer_info(&Policy::devnet(), &[], &p.new_multi_addrs)?;
    env::transaction(|st: &mut State| {
        let mut info = miner_info(st)?;
        check_control_caller(&info)?;
        info.multi_address = p.new_multi_addrs;
        save_info(st, &info)
    })
}

/// ChangeBeneficiary (30): the owner proposes a beneficiary with a quota
/// and an expiration; the change takes effect once the nominee and the
/// current beneficiary (if its term is still running) have approved it.
pub fn change_beneficiary(p: ChangeBeneficiaryParams) -> ActorResult<()> {
    let caller = env::caller();
    let nominee = Address::new_id(env::resolve_id(&p.new_beneficiary, "beneficiary address")?);
    env::transaction(|st: &mut State| {
        let mut info = miner_info(st)?;
        let epoch = env::curr_epoch();
        if caller == info.owner {
            if nominee != info.owner {
                if !p.new_quota.is_positive() {
                    return Err(ActorError::illegal_argument(format!(
                        "beneficiary quota {} must be positive",
                        p.new_quota
                    )));
                }
            } else if !p.new_quota.is_zero() || p.new_expiration != 0 {
                return Err(ActorError::illegal_argument(
                    "quota and expiration must be zero when the owner is the beneficiary",
                ));
            }
            let mut pending =
                PendingBeneficiaryChange::new(nominee, p.new_quota.clone(), p.new_expiration);
            if info.beneficiary_term.available(epoch).is_zero() {
                pending.approved_by_beneficiary = true;
            }
            info.pending_beneficiary_term = Some(pending);
        } else {
            let Some(pending) = &info.pending_beneficiary_term else {
                return Err(ActorError::forbidden("no beneficiary change proposed"));
            };
            if caller != info.beneficiary && caller != pending.new_beneficiary {
                return Err(ActorError::forbidden(format!(
                    "caller {caller} is neither the nominee nor the beneficiary"
                )));
            }
            if pending.new_beneficiary != nominee
                || pending.new_quota != p.new_quota
                || pending.new_expiration != p.new_expiration
            {
                return Err(ActorError::illegal_argument(
                    "approval does not match the proposed beneficiary change",
                ));
            }
        }
        if let Some(pending) = info.pending_beneficiary_term.as_mut() {
            if caller == info.beneficiary {
                pending.approved_by_beneficiary = true;
            }
            if caller == nominee {
                pending.approved_by_nominee = true;
            }
            if pending.approved_by_beneficiary && pending.approved_by_nominee {
                if nominee != info.beneficiary {
                    info.beneficiary_term.used_quota = TokenAmount::zero();
                }
                info.beneficiary = nominee;
                info.beneficiary_term.quota = pending.new_quota.clone();
                info.beneficiary_term.expiration = pending.new_expiration;
                info.pending_beneficiary_term = None;
            }
        }
        save_info(st, &info)
    })
}

/// GetBeneficiary (31): the active beneficiary and any proposed change.
pub fn get_beneficiary() -> ActorResult<GetBeneficiaryReturn> {
    let st: State = env::state();
    let info = miner_info(&st)?;
    Ok(GetBeneficiaryReturn {
        active: ActiveBeneficiary {
            beneficiary: info.beneficiary,
            term: info.beneficiary_term,
        },
        proposed: info.pending_beneficiary_term,
    })
}
