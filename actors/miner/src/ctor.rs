//! The constructor: checks the new miner's parameters, resolves its owner,
//! worker and control addresses to ID addresses, checks the value sent
//! covers the create-miner deposit, picks its proving period offset, and
//! writes its initial state with that deposit locked.

use ferrite_actor_rt::types::INIT_ACTOR_ID;
use ferrite_actor_rt::{self as rt, ActorBlockstore, ActorError, ActorResult, WithCode};
use ferrite_actor_types::miner::MinerConstructorParams;
use ferrite_actor_types::policy::constants::CREATE_MINER_DEPOSIT_POWER;
use ferrite_actor_types::policy::{Policy, REWARD_VESTING_SPEC};
use fvm_ipld_encoding::CborStore;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::StoragePower;
use multihash_codetable::Code;

use crate::control::{check_control_addresses, check_peer_info, check_post_proof_type};
use crate::env;
use crate::ext;
use crate::provecommit::PledgeInputs;
use crate::state::State;
use ferrite_actor_types::miner::MinerInfo;

/// Constructor (1): only the init actor, on the power actor's behalf.
///
/// The value sent with CreateMiner arrives here; it must cover the
/// create-miner deposit (FIP-0077), which is locked on the reward vesting
/// schedule in the new state.
pub fn constructor(p: MinerConstructorParams) -> ActorResult<()> {
    rt::send::check_caller(INIT_ACTOR_ID)?;
    let policy = Policy::devnet();
    check_control_addresses(&policy, &p.control_addresses)?;
    check_peer_info(&policy, &p.peer_id, &p.multi_addresses)?;
    check_post_proof_type(&policy, p.window_post_proof_type)?;

    let balance = env::balance();
    let deposit = create_miner_deposit()?;
    if balance < deposit {
        return Err(ActorError::insufficient_funds(format!(
            "not enough balance to lock for create miner deposit: sent balance {} < deposit {}",
            balance.atto(),
            deposit.atto()
        )));
    }

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
        return Err(ActorError::illegal_state(format!(
            "invalid proving deadline {deadline_idx}"
        )));
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
    let info_cid = store
        .put_cbor(&info, Code::Blake2b256)
        .state_err("write miner info")?;
    let mut st = State::new(&policy, &store, info_cid, period_start, deadline_idx)?;
    // Nothing is vesting yet, so nothing comes back unlocked.
    st.add_locked_funds(&store, epoch, &deposit, &REWARD_VESTING_SPEC)?;
    rt::save_state(&st);
    Ok(())
}

/// The create-miner deposit (FIP-0077): the initial pledge that
/// `CREATE_MINER_DEPOSIT_POWER` of QA power would need now. It asks the
/// reward and power actors for the network figures; the power actor is
/// mid-CreateMiner here, and answers from its state as it was before.
fn create_miner_deposit() -> ActorResult<TokenAmount> {
    let inputs = PledgeInputs::current()?;
    Ok(inputs.initial_pledge(&StoragePower::from(CREATE_MINER_DEPOSIT_POWER)))
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
