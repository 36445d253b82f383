//! The storage power actor (f04): the registry of storage miners and of the
//! power each one claims, the network's power totals that consensus and the
//! reward actor use, and the scheduler of the miners' deferred cron
//! callbacks. Wire format, state layout and method numbers are
//! builtin-actors v18's (types in `ferrite_actor_types::power`).
//!
//! Methods:
//! - 1 `Constructor` (system only): empty claims table and cron queue, the
//!   smoothed QA power estimate at its genesis value.
//! - 2 `CreateMiner` (also FRC-42 exported; any caller): asks the init
//!   actor (f01, `Exec`) to create a miner actor with the value received,
//!   then gives it an empty claim.
//! - 3 `UpdateClaimedPower` (miners with a claim): adds signed raw and QA
//!   power deltas to the caller's claim and the totals.
//! - 4 `EnrollCronEvent` (miners): queues a callback at an epoch.
//! - 5 `OnEpochTickEnd` (cron, f03): reads the reward estimate from the
//!   reward actor (f02, `ThisEpochReward`), calls each due miner's
//!   `OnDeferredCronEvent` (removing the claim of a miner whose callback
//!   fails), freezes this epoch's totals, moves the smoothed QA power
//!   estimate on by one epoch and reports the raw power to the reward
//!   actor (`UpdateNetworkKPI`).
//! - 6 `UpdatePledgeTotal` (miners with a claim): adds a signed pledge delta.
//! - 9 `CurrentTotalPower` (any caller): the totals frozen at the last tick.
//! - FRC-42 getters: `NetworkRawPower`, `MinerRawPower`, `MinerCount`,
//!   `MinerConsensusCount`, `MinerPower`.
//!
//! v18's retired methods 7 (OnConsensusFault) and 8
//! (SubmitPoRepForBulkVerify) are refused like any unknown method, and the
//! retired `proof_validation_batch` stays null.
//!
//! Data flow: the miners push power and pledge changes in as their sectors
//! change; the cron tick turns the running totals into "this epoch" values,
//! which the miners (through `CurrentTotalPower`) and the reward actor read
//! during the next epoch. Whenever this actor calls out (to init, reward or
//! a miner) it saves its state first and reloads it afterwards, because the
//! callee may call back in.

mod claims;
mod cron_queue;

use cid::Cid;
use ferrite_actor_rt::send::{
    check_caller, check_caller_type, decode_params, no_params, return_value, send, send_empty,
};
use ferrite_actor_rt::types::{CRON_ACTOR_ID, INIT_ACTOR_ID, REWARD_ACTOR_ID, Type};
use ferrite_actor_rt::{self as rt, ActorError, ActorResult, WithCode};
use ferrite_actor_types::miner::{DeferredCronEventParams, MinerConstructorParams};
use ferrite_actor_types::power::{
    Claim, CreateMinerParams, CreateMinerReturn, CronEvent, CurrentTotalPowerReturn,
    EnrollCronEventParams, INITIAL_QA_POWER_ESTIMATE_POSITION, INITIAL_QA_POWER_ESTIMATE_VELOCITY,
    MinerConsensusCountReturn, MinerCountReturn, MinerPowerParams, MinerPowerReturn,
    MinerRawPowerParams, MinerRawPowerReturn, NetworkRawPowerReturn, State,
    UpdateClaimedPowerParams, UpdatePledgeTotalParams, method,
};
use ferrite_actor_types::reward::{self, ThisEpochRewardReturn, UpdateNetworkKPIParams};
use ferrite_actor_types::smooth::{FilterEstimate, next_default_estimate};
use fvm_ipld_encoding::RawBytes;
use fvm_shared::address::Address;
use fvm_shared::bigint::bigint_ser::BigIntDe;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use fvm_shared::sector::StoragePower;
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

use claims::Claims;
use cron_queue::CronQueue;

/// The init actor's `Exec` method.
const INIT_EXEC: u64 = 2;

/// Parameters of the init actor's `Exec` (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
struct ExecParams {
    code_cid: Cid,
    constructor_params: RawBytes,
}

/// Return value of the init actor's `Exec` (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
struct ExecReturn {
    id_address: Address,
    robust_address: Address,
}

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(params: u32) -> u32 {
    rt::sdk::initialize();
    rt::dispatch(|| match rt::sdk::message::method_number() {
        method::CONSTRUCTOR => constructor(params),
        method::CREATE_MINER | method::CREATE_MINER_EXPORTED => {
            create_miner(decode_params(params)?)
        }
        method::UPDATE_CLAIMED_POWER => update_claimed_power(decode_params(params)?),
        method::ENROLL_CRON_EVENT => enroll_cron_event(decode_params(params)?),
        method::ON_EPOCH_TICK_END => on_epoch_tick_end(params),
        method::UPDATE_PLEDGE_TOTAL => update_pledge_total(decode_params(params)?),
        method::CURRENT_TOTAL_POWER => current_total_power(params),
        method::NETWORK_RAW_POWER_EXPORTED => network_raw_power(params),
        method::MINER_RAW_POWER_EXPORTED => miner_raw_power(decode_params(params)?),
        method::MINER_COUNT_EXPORTED => miner_count(params),
        method::MINER_CONSENSUS_COUNT_EXPORTED => miner_consensus_count(params),
        method::MINER_POWER_EXPORTED => miner_power(decode_params(params)?),
        m => Err(ActorError::unhandled_message(format!(
            "power: unknown method {m}"
        ))),
    })
}

/// Like v18's dispatcher: a method without parameters refuses any.
fn expect_no_params(params: u32) -> ActorResult<()> {
    no_params(params).map_err(|_| ActorError::illegal_argument("method expects no arguments"))
}

/// The address of the calling actor, as an ID address (the claims key).
fn caller_address() -> Address {
    Address::new_id(rt::sdk::message::caller())
}

fn constructor(params: u32) -> ActorResult<u32> {
    check_caller(rt::SYSTEM_ACTOR)?;
    expect_no_params(params)?;
    let st = State {
        this_epoch_qa_power_smoothed: FilterEstimate::new(
            StoragePower::from(INITIAL_QA_POWER_ESTIMATE_POSITION),
            StoragePower::from(INITIAL_QA_POWER_ESTIMATE_VELOCITY),
        ),
        cron_event_queue: CronQueue::new().flush()?,
        claims: Claims::new().flush()?,
        ..State::default()
    };
    rt::save_state(&st);
    Ok(rt::ret_nothing())
}

fn create_miner(p: CreateMinerParams) -> ActorResult<u32> {
    // v18 accepts any caller here (builtin-actors dropped the signable-caller
    // check when user actors arrived), so contracts can create miners too.
    let proof = p.window_post_proof_type;
    let ctor = MinerConstructorParams {
        owner: p.owner,
        worker: p.worker,
        control_addresses: Vec::new(),
        window_post_proof_type: proof,
        peer_id: p.peer,
        multi_addresses: p.multiaddrs,
    };
    let exec = ExecParams {
        code_cid: rt::types::code_of(Type::Miner),
        constructor_params: RawBytes::serialize(&ctor).with_code(
            ExitCode::USR_SERIALIZATION,
            "encode miner constructor params",
        )?,
    };
    let created: ExecReturn = send(
        &Address::new_id(INIT_ACTOR_ID),
        INIT_EXEC,
        Some(&exec),
        rt::sdk::message::value_received(),
    )?
    .decode("create miner through init")?;

    let mut st: State = rt::load_state();
    let mut claims = Claims::load(&st.claims)?;
    let empty = Claim {
        window_post_proof_type: proof,
        raw_byte_power: StoragePower::default(),
        quality_adj_power: StoragePower::default(),
    };
    claims.set(&created.id_address, empty)?;
    st.miner_count += 1;
    st.count_new_miner(proof).map_err(|e| {
        ActorError::illegal_state(format!("count new miner {}: {e}", created.id_address))
    })?;
    st.claims = claims.flush()?;
    rt::save_state(&st);
    return_value(&CreateMinerReturn {
        id_address: created.id_address,
        robust_address: created.robust_address,
    })
}

fn update_claimed_power(p: UpdateClaimedPowerParams) -> ActorResult<u32> {
    check_caller_type(Type::Miner)?;
    let miner = caller_address();
    let mut st: State = rt::load_state();
    let mut claims = Claims::load(&st.claims)?;
    claims
        .add_to_claim(
            &mut st,
            &miner,
            &p.raw_byte_delta,
            &p.quality_adjusted_delta,
        )
        .map_err(|e| {
            e.context(&format!(
                "update power raw {}, qa {}",
                p.raw_byte_delta, p.quality_adjusted_delta
            ))
        })?;
    st.claims = claims.flush()?;
    rt::save_state(&st);
    Ok(rt::ret_nothing())
}

fn enroll_cron_event(p: EnrollCronEventParams) -> ActorResult<u32> {
    check_caller_type(Type::Miner)?;
    // A far negative epoch would make the next tick walk a huge range.
    if p.event_epoch < 0 {
        return Err(ActorError::illegal_argument(format!(
            "cron event epoch {} cannot be less than zero",
            p.event_epoch
        )));
    }
    let event = CronEvent {
        miner_addr: caller_address(),
        callback_payload: p.payload,
    };
    let mut st: State = rt::load_state();
    let mut queue = CronQueue::load(&st.cron_event_queue)?;
    queue.add(p.event_epoch, event)?;
    // An event enrolled for an epoch already past still runs at the next tick.
    st.first_cron_epoch = st.first_cron_epoch.min(p.event_epoch);
    st.cron_event_queue = queue.flush()?;
    rt::save_state(&st);
    Ok(rt::ret_nothing())
}

fn on_epoch_tick_end(params: u32) -> ActorResult<u32> {
    check_caller(CRON_ACTOR_ID)?;
    expect_no_params(params)?;
    let reward_addr = Address::new_id(REWARD_ACTOR_ID);
    let rewards: ThisEpochRewardReturn = send_empty(
        &reward_addr,
        reward::method::THIS_EPOCH_REWARD,
        TokenAmount::default(),
    )?
    .decode("read this epoch's reward")
    .map_err(|e| e.context("check epoch baseline power"))?;

    run_due_cron_events(&rewards.this_epoch_reward_smoothed)?;

    let mut st: State = rt::load_state();
    let (raw, qa) = st.current_total_power();
    st.this_epoch_pledge_collateral = st.total_pledge_collateral.clone();
    // The tick runs every epoch, so the estimate moves on by one.
    st.this_epoch_qa_power_smoothed =
        next_default_estimate(&st.this_epoch_qa_power_smoothed, &qa, 1);
    st.this_epoch_quality_adj_power = qa;
    st.this_epoch_raw_byte_power = raw.clone();
    rt::save_state(&st);

    let kpi = UpdateNetworkKPIParams {
        curr_realized_power: Some(BigIntDe(raw)),
    };
    send(
        &reward_addr,
        reward::method::UPDATE_NETWORK_KPI,
        Some(&kpi),
        TokenAmount::default(),
    )?
    .ok("update network KPI with reward actor")?;
    Ok(rt::ret_nothing())
}

/// Takes every event due from `first_cron_epoch` up to now off the queue
/// and calls back the miners that still have a claim. A miner whose
/// callback fails loses its claim (its power leaves the totals and it is
/// no longer counted); the other callbacks still run.
fn run_due_cron_events(reward_smoothed: &FilterEstimate) -> ActorResult<()> {
    let now = rt::sdk::network::curr_epoch();
    let mut st: State = rt::load_state();
    let mut queue = CronQueue::load(&st.cron_event_queue)?;
    let claims = Claims::load(&st.claims)?;
    let mut due = Vec::new();
    let mut epoch = st.first_cron_epoch;
    while epoch <= now {
        for event in queue.take(epoch)? {
            if claims.contains(&event.miner_addr)? {
                due.push(event);
            }
        }
        epoch += 1;
    }
    st.first_cron_epoch = now.saturating_add(1);
    st.cron_event_queue = queue.flush()?;
    rt::save_state(&st);

    let mut failed = Vec::new();
    for event in due {
        let params = DeferredCronEventParams {
            event_payload: event.callback_payload.to_vec(),
            reward_smoothed: reward_smoothed.clone(),
            quality_adj_power_smoothed: st.this_epoch_qa_power_smoothed.clone(),
        };
        let sent = send(
            &event.miner_addr,
            ferrite_actor_types::miner::method::ON_DEFERRED_CRON_EVENT,
            Some(&params),
            TokenAmount::default(),
        );
        let code = match sent {
            Ok(r) if r.exit_code.is_success() => continue,
            Ok(r) => r.exit_code,
            Err(e) => e.code,
        };
        log(&format!(
            "OnDeferredCronEvent of {} failed (exit {code})",
            event.miner_addr
        ));
        failed.push(event.miner_addr);
    }
    if failed.is_empty() {
        return Ok(());
    }

    let mut st: State = rt::load_state();
    let mut claims = Claims::load(&st.claims)?;
    for miner in failed {
        // v18 decrements the miner count even when a second failed event of
        // the same miner finds the claim already gone; we count each removed
        // claim once.
        match claims.delete_claim(&mut st, &miner) {
            Ok(true) => st.miner_count -= 1,
            Ok(false) => {}
            Err(e) => log(&format!("remove claim of {miner}: {}", e.msg)),
        }
    }
    st.claims = claims.flush()?;
    rt::save_state(&st);
    Ok(())
}

fn update_pledge_total(p: UpdatePledgeTotalParams) -> ActorResult<u32> {
    check_caller_type(Type::Miner)?;
    let miner = caller_address();
    let mut st: State = rt::load_state();
    if !Claims::load(&st.claims)?.contains(&miner)? {
        return Err(ActorError::forbidden(format!(
            "unknown miner {miner} forbidden to interact with power actor"
        )));
    }
    st.total_pledge_collateral += p.pledge_delta;
    if st.total_pledge_collateral.is_negative() {
        return Err(ActorError::illegal_state(format!(
            "negative total pledge collateral {}",
            st.total_pledge_collateral
        )));
    }
    rt::save_state(&st);
    Ok(rt::ret_nothing())
}

fn current_total_power(params: u32) -> ActorResult<u32> {
    expect_no_params(params)?;
    let st: State = rt::load_state();
    return_value(&CurrentTotalPowerReturn {
        raw_byte_power: st.this_epoch_raw_byte_power,
        quality_adj_power: st.this_epoch_quality_adj_power,
        pledge_collateral: st.this_epoch_pledge_collateral,
        quality_adj_power_smoothed: st.this_epoch_qa_power_smoothed,
        ramp_start_epoch: st.ramp_start_epoch,
        ramp_duration_epochs: st.ramp_duration_epochs,
    })
}

fn network_raw_power(params: u32) -> ActorResult<u32> {
    expect_no_params(params)?;
    let st: State = rt::load_state();
    return_value(&NetworkRawPowerReturn {
        raw_byte_power: st.this_epoch_raw_byte_power,
    })
}

fn miner_raw_power(p: MinerRawPowerParams) -> ActorResult<u32> {
    let st: State = rt::load_state();
    let claim = Claims::load(&st.claims)?
        .get(&Address::new_id(p.miner))?
        .ok_or_else(|| ActorError::illegal_argument(format!("no claim for actor {}", p.miner)))?;
    let meets_consensus_minimum = st
        .meets_consensus_minimum(&claim)
        .map_err(ActorError::illegal_state)?;
    return_value(&MinerRawPowerReturn {
        raw_byte_power: claim.raw_byte_power,
        meets_consensus_minimum,
    })
}

fn miner_count(params: u32) -> ActorResult<u32> {
    expect_no_params(params)?;
    let st: State = rt::load_state();
    return_value(&MinerCountReturn {
        miner_count: st.miner_count,
    })
}

fn miner_consensus_count(params: u32) -> ActorResult<u32> {
    expect_no_params(params)?;
    let st: State = rt::load_state();
    return_value(&MinerConsensusCountReturn {
        miner_consensus_count: st.miner_above_min_power_count,
    })
}

fn miner_power(p: MinerPowerParams) -> ActorResult<u32> {
    let st: State = rt::load_state();
    let claim = Claims::load(&st.claims)?
        .get(&Address::new_id(p.miner))?
        .ok_or_else(|| ActorError::not_found(format!("miner {} not found", p.miner)))?;
    return_value(&MinerPowerReturn {
        raw_byte_power: claim.raw_byte_power,
        quality_adj_power: claim.quality_adj_power,
    })
}

/// Writes `msg` to the FVM's debug log when debugging is on.
fn log(msg: &str) {
    if rt::sdk::debug::enabled() {
        rt::sdk::debug::log(format!("power: {msg}"));
    }
}
