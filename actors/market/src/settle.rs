//! Deal payments and endings: the cron tick, SettleDealPayments and
//! OnMinerSectorsTerminate. Slashed provider collateral is burnt after the
//! state is saved.
//!
//! As in v18, cron looks at each deal once at its scheduled epoch (at or
//! after its start): a deal not yet activated times out, an activated one
//! leaves the schedule and from then on is paid only when someone calls
//! SettleDealPayments for it. (A deal already settled before its turn has
//! `last_updated_epoch` set; cron then settles it and reschedules it every
//! DEAL_UPDATES_INTERVAL, v18's path for deals from before v13.)

use std::collections::BTreeMap;

use ferrite_actor_rt::send::burn;
use ferrite_actor_rt::send::{check_caller, check_caller_type};
use ferrite_actor_rt::types::{CRON_ACTOR_ID, Type};
use ferrite_actor_rt::{ActorError, ActorResult};
use ferrite_actor_types::market::{
    BatchReturnBuilder, DEAL_UPDATES_INTERVAL, DealSettlementSummary, EX_DEAL_EXPIRED,
    OnMinerSectorsTerminateParams, SettleDealPaymentsParams, SettleDealPaymentsReturn,
    next_update_epoch,
};
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::deal::DealID;
use fvm_shared::econ::TokenAmount;
use num_traits::Zero;

use crate::books::Books;
use crate::deals::{EPOCH_UNDEFINED, deal_cid};
use crate::lifecycle::Loaded;
use crate::log;
use crate::sector_index::DealsToRemove;

/// The provider ID of a stored proposal (always an ID address).
fn provider_id(provider: &Address) -> ActorResult<u64> {
    provider
        .id()
        .map_err(|_| ActorError::illegal_state(format!("stored provider {provider} is not an ID")))
}

fn burn_if_any(amount: TokenAmount) -> ActorResult<()> {
    if amount.is_zero() {
        Ok(())
    } else {
        burn(amount)
    }
}

/// CronTick (caller f03): processes the deals due in every epoch since the
/// last tick, up to now.
pub fn cron_tick() -> ActorResult<()> {
    check_caller(CRON_ACTOR_ID)?;
    let now = fvm_sdk::network::curr_epoch();
    let mut b = Books::load()?;
    let mut slashed = TokenAmount::zero();
    let mut to_remove = DealsToRemove::new();
    let mut rescheduled: BTreeMap<ChainEpoch, Vec<DealID>> = BTreeMap::new();
    let mut done_epochs = Vec::new();

    let first = b.last_cron.saturating_add(1);
    for epoch in first..=now {
        for id in b.deal_ops.deals_at(epoch)? {
            // Settled or terminated before its turn: nothing left to do.
            let Some(p) = b.proposals.find(id)? else {
                continue;
            };
            let dcid = deal_cid(&p)?;
            let mut state = match b.active_or_time_out(now, id, &p, &dcid)? {
                Loaded::Active(s) => s,
                Loaded::TimedOut(penalty) => {
                    slashed += penalty;
                    continue;
                }
                Loaded::TooEarly => {
                    return Err(ActorError::illegal_state(format!(
                        "deal {id} processed before its start {}",
                        p.start_epoch
                    )));
                }
            };
            if state.last_updated_epoch == EPOCH_UNDEFINED {
                // Newly activated: leaves the pending set and the schedule;
                // its payments are settled through SettleDealPayments.
                if !b.pending.delete(&dcid)? {
                    return Err(ActorError::illegal_state(format!(
                        "deal {id} is not pending"
                    )));
                }
                continue;
            }

            let s = b.settle(&state, &p, &dcid, now)?;
            if s.remove {
                slashed += s.slashed;
                b.remove_deal(id)?;
                to_remove
                    .entry(provider_id(&p.provider)?)
                    .or_default()
                    .entry(state.sector_number)
                    .or_default()
                    .push(id);
            } else {
                if !s.slashed.is_zero() {
                    return Err(ActorError::illegal_state(format!(
                        "continuing deal {id} was slashed"
                    )));
                }
                state.last_updated_epoch = now;
                b.states.set(id, state)?;
                let next = next_update_epoch(id, DEAL_UPDATES_INTERVAL, now.saturating_add(1));
                rescheduled.entry(next).or_default().push(id);
            }
        }
        done_epochs.push(epoch);
    }

    b.provider_sectors.remove(&to_remove)?;
    for e in done_epochs {
        b.deal_ops.remove_all(e)?;
    }
    b.deal_ops.put_all(&rescheduled)?;
    b.last_cron = now;
    b.save()?;
    burn_if_any(slashed)
}

/// SettleDealPayments (anyone): pays each listed deal up to now, finishing
/// deals that have ended; times out deals never activated.
pub fn settle_deal_payments(p: SettleDealPaymentsParams) -> ActorResult<SettleDealPaymentsReturn> {
    let now = fvm_sdk::network::curr_epoch();
    let mut b = Books::load()?;
    let mut results = BatchReturnBuilder::default();
    let mut settlements = Vec::new();
    let mut slashed = TokenAmount::zero();
    let mut to_remove = DealsToRemove::new();

    for id in p.deal_ids.iter() {
        let Ok(proposal) = b.proposals.get(id, b.next_id) else {
            results.add_fail(EX_DEAL_EXPIRED);
            continue;
        };
        let dcid = match deal_cid(&proposal) {
            Ok(c) => c,
            Err(e) => {
                results.add_fail(e.code);
                continue;
            }
        };
        let mut state = match b.active_or_time_out(now, id, &proposal, &dcid) {
            Err(e) => {
                results.add_fail(e.code);
                continue;
            }
            Ok(Loaded::TooEarly) => {
                settlements.push(DealSettlementSummary {
                    payment: TokenAmount::zero(),
                    completed: false,
                });
                results.add_success();
                continue;
            }
            Ok(Loaded::TimedOut(penalty)) => {
                slashed += penalty;
                results.add_fail(EX_DEAL_EXPIRED);
                continue;
            }
            Ok(Loaded::Active(s)) => s,
        };
        if state.slash_epoch != EPOCH_UNDEFINED {
            return Err(ActorError::illegal_argument(format!(
                "deal {id} is marked for termination and cannot be settled"
            )));
        }
        let s = match b.settle(&state, &proposal, &dcid, now) {
            Ok(s) => s,
            Err(e) => {
                results.add_fail(e.code);
                continue;
            }
        };
        if s.remove {
            b.remove_deal(id)?;
            to_remove
                .entry(provider_id(&proposal.provider)?)
                .or_default()
                .entry(state.sector_number)
                .or_default()
                .push(id);
        } else {
            state.last_updated_epoch = now;
            b.states.set(id, state)?;
        }
        settlements.push(DealSettlementSummary {
            payment: s.payment,
            completed: s.remove,
        });
        results.add_success();
    }

    b.provider_sectors.remove(&to_remove)?;
    b.save()?;
    burn_if_any(slashed)?;
    Ok(SettleDealPaymentsReturn {
        results: results.build(),
        settlements,
    })
}

/// OnMinerSectorsTerminate (caller: a miner): ends the deals of the
/// miner's terminated sectors at `epoch`, slashing provider collateral.
/// Deals already past their end are left for settlement.
pub fn on_miner_sectors_terminate(p: OnMinerSectorsTerminateParams) -> ActorResult<()> {
    check_caller_type(Type::Miner)?;
    let miner_id = fvm_sdk::message::caller();
    let miner = Address::new_id(miner_id);
    let mut b = Books::load()?;
    let mut slashed = TokenAmount::zero();

    let ids = b.provider_sectors.pop(miner_id, p.sectors.iter())?;
    for id in ids {
        // It may have ended and been settled already.
        let Some(proposal) = b.proposals.find(id)? else {
            log(&format!("terminated deal {id} is already gone"));
            continue;
        };
        if proposal.provider != miner {
            return Err(ActorError::illegal_state(format!(
                "caller {miner} is not the provider {} of deal {id}",
                proposal.provider
            )));
        }
        if proposal.end_epoch <= p.epoch {
            continue;
        }
        let mut state = b
            .states
            .find(id)?
            .ok_or_else(|| ActorError::illegal_argument(format!("no state for deal {id}")))?;
        if state.last_updated_epoch == EPOCH_UNDEFINED {
            let dcid = deal_cid(&proposal)?;
            b.pending.delete(&dcid)?;
        }
        state.slash_epoch = p.epoch;
        slashed += b.terminate(&proposal, &state)?;
        b.remove_deal(id)?;
    }

    b.save()?;
    burn_if_any(slashed)
}
