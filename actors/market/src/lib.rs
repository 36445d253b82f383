//! The storage market actor (f05), compatible with builtin-actors v18: it
//! holds clients' and providers' escrow, records published deals, activates
//! them when miners put their pieces into sectors, moves payments from
//! clients to providers, and slashes providers whose deals fail.
//!
//! Methods (v18 numbers; FRC-42 aliases in
//! [`ferrite_actor_types::market::methods`]):
//! - 1 Constructor (f00): empty state.
//! - 2 AddBalance, 3 WithdrawBalance (+ exported): escrow in and out.
//! - 4 PublishStorageDeals (+ exported): provider's control address
//!   publishes client-signed proposals; partial success as in v18.
//! - 5 VerifyDealsForActivation, 6 BatchActivateDeals, 2034386435
//!   SectorContentChanged (miners only): deals into sectors.
//! - 7 OnMinerSectorsTerminate (miners only): deals of terminated sectors.
//! - 9 CronTick (f03): deals due this epoch (time-outs, first look after
//!   activation, legacy payments).
//! - Exported: SettleDealPayments, GetBalance and the GetDeal* getters.
//!
//! Data flow: a client and a provider AddBalance; the provider's worker
//! publishes the deal (funds locked in [`books::Books`], deal scheduled for
//! cron at its start); the miner proves the sector and calls
//! SectorContentChanged (deal state written, deal recorded under the
//! sector); payments are then settled with SettleDealPayments until the end,
//! when collaterals unlock. A deal not activated by its start times out at
//! its cron epoch and its provider collateral is burnt; a terminated sector
//! ends its deals the same way.
//!
//! Simplifications against v18: verified deals are refused (the bundle has
//! no verified registry or DataCap), so `pending_deal_allocation_ids` stays
//! empty; no actor events are emitted.

pub mod activate;
pub mod balance_table;
pub mod books;
pub mod calls;
pub mod deals;
pub mod escrow;
pub mod getters;
pub mod lifecycle;
pub mod pending;
pub mod publish;
pub mod schedule;
pub mod sector_index;
pub mod settle;

use ferrite_actor_rt as rt;
use ferrite_actor_rt::ActorResult;
use ferrite_actor_rt::send::{check_caller, decode_params, return_value};
use ferrite_actor_rt::types::SYSTEM_ACTOR_ID;
use ferrite_actor_types::market::methods as m;

/// Writes `msg` to the debug log when the FVM runs with debugging on.
pub(crate) fn log(msg: &str) {
    if fvm_sdk::debug::enabled() {
        fvm_sdk::debug::log(format!("market: {msg}"));
    }
}

fn constructor() -> ActorResult<u32> {
    check_caller(SYSTEM_ACTOR_ID)?;
    books::Books::empty()?.save()?;
    Ok(rt::ret_nothing())
}

fn nothing(r: ActorResult<()>) -> ActorResult<u32> {
    r.map(|()| rt::ret_nothing())
}

fn route(method: u64, params: u32) -> ActorResult<u32> {
    match method {
        m::CONSTRUCTOR => constructor(),
        m::ADD_BALANCE | m::ADD_BALANCE_EXPORTED => {
            nothing(escrow::add_balance(decode_params(params)?))
        }
        m::WITHDRAW_BALANCE | m::WITHDRAW_BALANCE_EXPORTED => {
            return_value(&escrow::withdraw_balance(decode_params(params)?)?)
        }
        m::PUBLISH_STORAGE_DEALS | m::PUBLISH_STORAGE_DEALS_EXPORTED => {
            return_value(&publish::publish_storage_deals(decode_params(params)?)?)
        }
        m::VERIFY_DEALS_FOR_ACTIVATION => return_value(&activate::verify_deals_for_activation(
            decode_params(params)?,
        )?),
        m::BATCH_ACTIVATE_DEALS => {
            return_value(&activate::batch_activate_deals(decode_params(params)?)?)
        }
        m::ON_MINER_SECTORS_TERMINATE => {
            nothing(settle::on_miner_sectors_terminate(decode_params(params)?))
        }
        m::CRON_TICK => nothing(settle::cron_tick()),
        m::SECTOR_CONTENT_CHANGED => {
            return_value(&activate::sector_content_changed(decode_params(params)?)?)
        }
        m::SETTLE_DEAL_PAYMENTS => {
            return_value(&settle::settle_deal_payments(decode_params(params)?)?)
        }
        m::GET_BALANCE => return_value(&escrow::get_balance(decode_params(params)?)?),
        m::GET_DEAL_DATA_COMMITMENT => {
            return_value(&getters::data_commitment(decode_params(params)?)?)
        }
        m::GET_DEAL_CLIENT => return_value(&getters::client(decode_params(params)?)?),
        m::GET_DEAL_PROVIDER => return_value(&getters::provider(decode_params(params)?)?),
        m::GET_DEAL_LABEL => return_value(&getters::label(decode_params(params)?)?),
        m::GET_DEAL_TERM => return_value(&getters::term(decode_params(params)?)?),
        m::GET_DEAL_TOTAL_PRICE => return_value(&getters::total_price(decode_params(params)?)?),
        m::GET_DEAL_CLIENT_COLLATERAL => {
            return_value(&getters::client_collateral(decode_params(params)?)?)
        }
        m::GET_DEAL_PROVIDER_COLLATERAL => {
            return_value(&getters::provider_collateral(decode_params(params)?)?)
        }
        m::GET_DEAL_VERIFIED => return_value(&getters::verified(decode_params(params)?)?),
        m::GET_DEAL_ACTIVATION => return_value(&getters::activation(decode_params(params)?)?),
        m::GET_DEAL_SECTOR => return_value(&getters::sector(decode_params(params)?)?),
        other => Err(rt::ActorError::unknown_method(other)),
    }
}

/// The FVM entry point.
#[unsafe(no_mangle)]
pub fn invoke(params: u32) -> u32 {
    rt::sdk::initialize();
    let method = rt::sdk::message::method_number();
    rt::dispatch(|| route(method, params))
}
