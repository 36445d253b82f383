//! The storage miner actor: one per storage provider, created by the power
//! actor (through init). It holds the provider's sectors, funds and proving
//! schedule, in builtin-actors v18's state layout.
//!
//! Data flow: the worker pre-commits sectors (deposit locked, market deals
//! checked) and proves them (seal proofs verified, initial pledge locked,
//! pieces announced to the market); the first Window PoSt of a sector
//! activates its power, which the miner reports to the power actor. Each
//! proving deadline the power actor calls the miner back (cron): missed
//! proofs become faults, sectors expire, fees and penalties are burnt, and
//! pledge changes are reported. Block rewards arrive from the reward actor
//! and vest over 180 days; the owner (or beneficiary) withdraws what is
//! available.
//!
//! Methods (v18 numbers; FRC-42 aliases in [`ferrite_actor_types::miner::method`]):
//! 1 Constructor, 2 ControlAddresses, 3 ChangeWorkerAddress, 4 ChangePeerID,
//! 5 SubmitWindowedPoSt, 9 TerminateSectors, 10 DeclareFaults,
//! 11 DeclareFaultsRecovered, 12 OnDeferredCronEvent, 13 CheckSectorProven,
//! 14 ApplyRewards, 15 ReportConsensusFault, 16 WithdrawBalance,
//! 17 InternalSectorSetupForPreseal (genesis), 18 ChangeMultiaddrs,
//! 19 CompactPartitions, 20 CompactSectorNumbers,
//! 21 ConfirmChangeWorkerAddress, 22 RepayDebt, 23 ChangeOwnerAddress,
//! 24 DisputeWindowedPoSt (always fails: our PoSts are verified on
//! submission), 28 PreCommitSectorBatch2, 30 ChangeBeneficiary,
//! 31 GetBeneficiary, 32 ExtendSectorExpiration2, 34 ProveCommitSectors3,
//! 35 ProveReplicaUpdates3 (SnapDeals, with real update proof
//! verification), 36 ProveCommitSectorsNI, and the getters GetOwner,
//! IsControllingAddress, GetSectorSize, GetAvailableBalance,
//! GetVestingFunds, GetPeerID, GetMultiaddrs, InitialPledge,
//! MaxTerminationFee, GenerateSectorLocation, ValidateSectorStatus and
//! GetNominalSectorExpiration.
//!
//! As in builtin-actors, internal methods (below the FRC-42 range) refuse
//! callers that are not builtin actors (or are EVM actors), a method
//! without its parameters fails with `USR_ILLEGAL_ARGUMENT`, and an unknown
//! method with `USR_UNHANDLED_MESSAGE`.

mod commd;
mod compaction;
mod consensus;
mod control;
mod cron;
mod ctor;
mod env;
mod ext;
mod extend;
mod faults;
mod funds;
mod getters;
mod ni;
mod notify;
mod post;
mod precommit;
mod preseal;
mod provecommit;
mod snap;
pub mod state;
mod terminate;

use ferrite_actor_rt::{self as rt, ActorError, ActorResult};
use ferrite_actor_types::miner::method as m;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The FVM entry point: the dispatch table.
#[unsafe(no_mangle)]
pub fn invoke(params: u32) -> u32 {
    rt::sdk::initialize();
    let method = rt::sdk::message::method_number();
    rt::dispatch(|| {
        restrict_internal_api(method)?;
        dispatch(method, params)
    })
}

/// Runs method `method` with the parameter block `params`.
fn dispatch(method: u64, params: u32) -> ActorResult<u32> {
    match method {
        m::CONSTRUCTOR => none(ctor::constructor(args(params)?)),
        m::CONTROL_ADDRESSES => getter(params, control::control_addresses),
        m::CHANGE_WORKER_ADDRESS | m::CHANGE_WORKER_ADDRESS_EXPORTED => {
            none(control::change_worker_address(args(params)?))
        }
        m::CHANGE_PEER_ID | m::CHANGE_PEER_ID_EXPORTED => {
            none(control::change_peer_id(args(params)?))
        }
        m::SUBMIT_WINDOWED_POST => none(post::submit_windowed_post(args(params)?)),
        m::TERMINATE_SECTORS => value(terminate::terminate_sectors(rt::send::decode_params(
            params,
        )?)),
        m::DECLARE_FAULTS => none(faults::declare_faults(args(params)?)),
        m::DECLARE_FAULTS_RECOVERED => none(faults::declare_faults_recovered(args(params)?)),
        m::ON_DEFERRED_CRON_EVENT => none(cron::on_deferred_cron_event(rt::send::decode_params(
            params,
        )?)),
        m::CHECK_SECTOR_PROVEN => none(getters::check_sector_proven(rt::send::decode_params(
            params,
        )?)),
        m::APPLY_REWARDS => none(funds::apply_rewards(args(params)?)),
        m::INTERNAL_SECTOR_SETUP_FOR_PRESEAL => {
            none(preseal::internal_sector_setup_for_preseal(args(params)?))
        }
        m::WITHDRAW_BALANCE | m::WITHDRAW_BALANCE_EXPORTED => {
            value(funds::withdraw_balance(args(params)?))
        }
        m::REPORT_CONSENSUS_FAULT => none(consensus::report_consensus_fault(args(params)?)),
        m::CHANGE_MULTIADDRS | m::CHANGE_MULTIADDRS_EXPORTED => {
            none(control::change_multiaddrs(args(params)?))
        }
        m::COMPACT_PARTITIONS => none(compaction::compact_partitions(args(params)?)),
        m::COMPACT_SECTOR_NUMBERS => none(precommit::compact_sector_numbers(args(params)?)),
        m::CONFIRM_CHANGE_WORKER_ADDRESS | m::CONFIRM_CHANGE_WORKER_ADDRESS_EXPORTED => {
            no_args(params)?;
            none(control::confirm_change_worker_address())
        }
        m::REPAY_DEBT | m::REPAY_DEBT_EXPORTED => {
            no_args(params)?;
            none(funds::repay_debt())
        }
        m::CHANGE_OWNER_ADDRESS | m::CHANGE_OWNER_ADDRESS_EXPORTED => {
            none(control::change_owner_address(args(params)?))
        }
        m::DISPUTE_WINDOWED_POST => none(consensus::dispute_windowed_post(args(params)?)),
        m::PRE_COMMIT_SECTOR_BATCH2 => none(precommit::pre_commit_sector_batch2(args(params)?)),
        m::CHANGE_BENEFICIARY | m::CHANGE_BENEFICIARY_EXPORTED => {
            none(control::change_beneficiary(args(params)?))
        }
        m::GET_BENEFICIARY | m::GET_BENEFICIARY_EXPORTED => {
            getter(params, control::get_beneficiary)
        }
        m::EXTEND_SECTOR_EXPIRATION2 => none(extend::extend_sector_expiration2(args(params)?)),
        m::PROVE_COMMIT_SECTORS3 => value(provecommit::prove_commit_sectors3(args(params)?)),
        m::PROVE_REPLICA_UPDATES3 => value(snap::prove_replica_updates3(args(params)?)),
        m::PROVE_COMMIT_SECTORS_NI => value(ni::prove_commit_sectors_ni(args(params)?)),
        m::GET_OWNER_EXPORTED => getter(params, getters::get_owner),
        m::IS_CONTROLLING_ADDRESS_EXPORTED => value(getters::is_controlling_address(args(params)?)),
        m::GET_SECTOR_SIZE_EXPORTED => getter(params, getters::get_sector_size),
        m::GET_AVAILABLE_BALANCE_EXPORTED => getter(params, getters::get_available_balance),
        m::GET_VESTING_FUNDS_EXPORTED => getter(params, getters::get_vesting_funds),
        m::GET_PEER_ID_EXPORTED => getter(params, getters::get_peer_id),
        m::GET_MULTIADDRS_EXPORTED => getter(params, getters::get_multiaddrs),
        m::INITIAL_PLEDGE_EXPORTED => getter(params, getters::initial_pledge),
        m::MAX_TERMINATION_FEE_EXPORTED => value(getters::max_termination_fee(args(params)?)),
        m::GENERATE_SECTOR_LOCATION_EXPORTED => {
            value(getters::generate_sector_location(args(params)?))
        }
        m::VALIDATE_SECTOR_STATUS_EXPORTED => value(getters::validate_sector_status(args(params)?)),
        m::GET_NOMINAL_SECTOR_EXPIRATION_EXPORTED => {
            value(getters::get_nominal_sector_expiration(args(params)?))
        }
        other => Err(ActorError::unhandled_message(format!(
            "invalid method: {other}"
        ))),
    }
}

/// Internal (non-exported) methods may be called only by builtin actors
/// other than the EVM (accounts, multisigs, other system actors), as in
/// builtin-actors.
fn restrict_internal_api(method: u64) -> ActorResult<()> {
    if method >= rt::FIRST_EXPORTED_METHOD {
        return Ok(());
    }
    let caller = rt::sdk::message::caller();
    match rt::types::actor_type(caller) {
        None | Some(rt::types::Type::Evm) => Err(ActorError::forbidden(format!(
            "caller f0{caller} may not call internal method {method}"
        ))),
        Some(_) => Ok(()),
    }
}

/// The method's parameters: `USR_ILLEGAL_ARGUMENT` if there are none,
/// `USR_SERIALIZATION` if they do not decode (as builtin-actors answers).
fn args<T: DeserializeOwned>(params: u32) -> ActorResult<T> {
    match rt::sdk::message::params_raw(params) {
        Ok(Some(block)) => block
            .deserialize()
            .map_err(|e| ActorError::serialization(format!("decode parameters: {e}"))),
        Ok(None) => Err(ActorError::illegal_argument("method expects arguments")),
        Err(e) => Err(ActorError::serialization(format!("read parameters: {e:?}"))),
    }
}

/// Ok if the call has no parameters; else `USR_ILLEGAL_ARGUMENT`.
fn no_args(params: u32) -> ActorResult<()> {
    match rt::sdk::message::params_raw(params) {
        Ok(None) => Ok(()),
        Ok(Some(_)) => Err(ActorError::illegal_argument("method expects no arguments")),
        Err(e) => Err(ActorError::serialization(format!("read parameters: {e:?}"))),
    }
}

/// A method without a return value.
fn none(r: ActorResult<()>) -> ActorResult<u32> {
    r.map(|()| rt::ret_nothing())
}

/// A method's return value, as its CBOR block.
fn value<T: Serialize>(r: ActorResult<T>) -> ActorResult<u32> {
    rt::send::return_value(&r?)
}

/// A method without parameters and with a return value.
fn getter<T: Serialize>(params: u32, f: impl FnOnce() -> ActorResult<T>) -> ActorResult<u32> {
    no_args(params)?;
    value(f())
}
