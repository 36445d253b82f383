//! The constructor: checks the new miner's parameters, resolves its owner,
//! worker and control addresses to ID addresses, picks its proving period
//! offset, and writes its empty state.

use ferrite_actor_rt::types::INIT_ACTOR_ID;
use ferrite_actor_rt::{self as rt, ActorBlockstore, ActorError, ActorResult, WithCode};
use ferrite_actor_types::miner::MinerConstructorParams;
use ferrite_actor_types::policy::Policy;
use fvm_ipld_encoding::CborStore;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use multihash_codetable::Code;

use crate::control::{check_control_addresses, check_peer_info, check_post_proof_type};
use crate::env;
use crate::ext;
use crate::state::State;
use ferrite_actor_types::miner::MinerInfo;

/// Constructor (1): only the init actor, on the power actor's behalf.
///
/// Does less than v18: no create-miner deposit is locked (FIP-0077's
/// deposit is not part of the v18 state crate's monies).
pub fn constructor(p: MinerConstructorParams) -> ActorResult<()> {
    rt::send::check_caller(INIT_ACTOR_ID)?;
    let policy = Policy::devnet();
    check_control_addresses(&policy, &p.control_addresses)?;
    check_peer_info(&policy, &p.peer_id, &p.multi_addresses)?;
    check_post_proof_type(&policy, p.window_post_proof_type)?;

    let owner = env::resolve_id(&p.owner, "owner address")?;
    let worker = ext::resolve_worker(&p.worker)?;
    let control_addresses = p
        .control_addresses
        .iter()
        .map(|a| env::resolve_id(a, "control address"))
        .collect::<ActorResult<Vec<_>>>()?;

    let epoch = env::curr_epoch();
    let offset = proving_period_offset(&policy, &env::receiver(), epoch)?;
    let period_start = current_proving_period_start(&policy, epoch, offset);
    if period_start > epoch {
        return Err(ActorError::illegal_state(format!(
            "proving period start {period_start} after current epoch {epoch}"
        )));
    }
    let deadline_idx = current_deadline_index(&policy, epoch, period_start);
    if deadline_idx >= policy.wpost_period_deadlines {
        return Err(ActorError::illegal_state(format!("invalid proving deadline {deadline_idx}")));
    }

    let info = MinerInfo::new(
        owner,
        worker,
        control_addresses,
        p.peer_id,
        p.multi_addresses,
        p.window_post_proof_type,
    )
    .map_err(ActorError::illegal_argument)?;
    let store = ActorBlockstore;
    let info_cid = store.put_cbor(&info, Code::Blake2b256).state_err("write miner info")?;
    let st = State::new(&policy, &store, info_cid, period_start, deadline_idx)?;
    rt::save_state(&st);
    Ok(())
}

/// A proving period offset in `[0, proving period)` drawn from the miner's
/// address and the epoch: the first 8 bytes (big-endian) of
/// blake2b-256(CBOR(address) ++ BE i64 epoch), modulo the period.
fn proving_period_offset(
    policy: &Policy,
    addr: &Address,
    epoch: ChainEpoch,
) -> ActorResult<ChainEpoch> {
    let mut data = fvm_ipld_encoding::to_vec(addr)
        .map_err(|e| ActorError::serialization(format!("encode address: {e}")))?;
    data.extend_from_slice(&epoch.to_be_bytes());
    let digest = rt::sdk::crypto::hash_blake2b(&data);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let period = u64::try_from(policy.wpost_proving_period)
        .map_err(|_| ActorError::illegal_state("negative proving period"))?;
    let offset = u64::from_be_bytes(first) % period;
    // Below the period, which is an i64.
    Ok(offset as ChainEpoch)
}

/// The start of the proving period that contains `epoch`, for a miner
/// whose periods start at `offset` modulo the period length.
pub fn current_proving_period_start(
    policy: &Policy,
    epoch: ChainEpoch,
    offset: ChainEpoch,
) -> ChainEpoch {
    let into_period = epoch.rem_euclid(policy.wpost_proving_period);
    let progress = if into_period >= offset {
        into_period - offset
    } else {
        policy.wpost_proving_period - (offset - into_period)
    };
    epoch - progress
}

/// The index of the deadline that contains `epoch` in the period starting
/// at `period_start`.
pub fn current_deadline_index(policy: &Policy, epoch: ChainEpoch, period_start: ChainEpoch) -> u64 {
    ((epoch - period_start) / policy.wpost_challenge_window) as u64
}
