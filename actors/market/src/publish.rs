//! PublishStorageDeals: a provider's worker or control address publishes
//! client-signed proposals. As in v18 the batch may partly succeed: each
//! proposal is checked on its own (signature, bounds, funds, duplicates) and
//! dropped if bad; the good ones get deal IDs, lock funds and are scheduled
//! for cron at their start. The return lists the new IDs and, as a bitfield,
//! which input proposals they came from. Only if none is good does the call
//! fail.

use std::collections::{BTreeMap, BTreeSet};

use cid::Cid;
use ferrite_actor_rt::types::{Type, type_of_code};
use ferrite_actor_rt::{ActorError, ActorResult};
use ferrite_actor_types::market::{
    ClientDealProposal, DEAL_MAX_DURATION, DEAL_MAX_LABEL_SIZE, DEAL_MIN_DURATION,
    DEAL_UPDATES_INTERVAL, DealProposal, PublishStorageDealsParams, PublishStorageDealsReturn,
    next_update_epoch, provider_collateral_min, total_filecoin,
};
use fvm_ipld_bitfield::BitField;
use fvm_shared::ActorID;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::StoragePower;
use num_traits::Zero;

use crate::books::Books;
use crate::deals::{is_piece_cid, serialized_deal_cid};
use crate::{calls, log};

/// What collateral bounds depend on, read once per call.
struct Network {
    now: ChainEpoch,
    raw_power: StoragePower,
    baseline_power: StoragePower,
    circulating_supply: TokenAmount,
}

/// A proposal that passed every check.
struct Accepted {
    proposal: DealProposal,
    bytes: Vec<u8>,
    cid: Cid,
}

/// PublishStorageDeals (method 4 and its FRC-42 alias).
pub fn publish_storage_deals(
    p: PublishStorageDealsParams,
) -> ActorResult<PublishStorageDealsReturn> {
    let first = p
        .deals
        .first()
        .ok_or_else(|| ActorError::illegal_argument("no deals to publish"))?;
    let provider_raw = first.proposal.provider;
    let provider_id = fvm_sdk::actor::resolve_address(&provider_raw).ok_or_else(|| {
        ActorError::not_found(format!("cannot resolve provider address {provider_raw}"))
    })?;
    let provider = Address::new_id(provider_id);
    let code = fvm_sdk::actor::get_actor_code_cid(&provider)
        .ok_or_else(|| ActorError::not_found(format!("no code for provider {provider}")))?;
    if type_of_code(&code) != Some(Type::Miner) {
        return Err(ActorError::illegal_argument(
            "deal provider is not a storage miner actor",
        ));
    }
    check_publisher(provider_id)?;

    let net = Network {
        now: fvm_sdk::network::curr_epoch(),
        baseline_power: calls::baseline_power()?,
        raw_power: calls::network_raw_power()?,
        circulating_supply: fvm_sdk::network::total_fil_circ_supply(),
    };

    // The stateless checks come first, before the state is read, because
    // AuthenticateMessage calls out to the client's actor.
    let valid: Vec<bool> = p
        .deals
        .iter()
        .enumerate()
        .map(|(i, d)| match check_proposal(d, &net) {
            Ok(()) => true,
            Err(e) => {
                log(&format!("invalid deal {i}: {}", e.msg));
                false
            }
        })
        .collect();

    let mut b = Books::load()?;
    let mut accepted: Vec<Accepted> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut client_lockup: BTreeMap<ActorID, TokenAmount> = BTreeMap::new();
    let mut provider_lockup = TokenAmount::zero();
    let mut valid_deals = BitField::new();

    for (i, (deal, ok)) in p.deals.into_iter().zip(valid).enumerate() {
        if !ok {
            continue;
        }
        let mut proposal = deal.proposal;
        if proposal.provider != provider && proposal.provider != provider_raw {
            log(&format!(
                "invalid deal {i}: all deals of a batch must have one provider"
            ));
            continue;
        }
        let Some(client_id) = fvm_sdk::actor::resolve_address(&proposal.client) else {
            log(&format!(
                "invalid deal {i}: cannot resolve client {}",
                proposal.client
            ));
            continue;
        };
        let client = Address::new_id(client_id);

        let client_total = client_lockup.get(&client_id).cloned().unwrap_or_default()
            + proposal.client_balance_requirement();
        if !b.balance_covered(&client, &client_total)? {
            log(&format!(
                "invalid deal {i}: client escrow does not cover the deal"
            ));
            continue;
        }
        let provider_total = &provider_lockup + &proposal.provider_collateral;
        if !b.balance_covered(&provider, &provider_total)? {
            log(&format!(
                "invalid deal {i}: provider escrow does not cover the deal"
            ));
            continue;
        }

        // Stored proposals carry ID addresses; the CID is taken after that.
        proposal.provider = provider;
        proposal.client = client;
        let bytes = fvm_ipld_encoding::to_vec(&proposal)
            .map_err(|e| ActorError::serialization(format!("encode proposal {i}: {e}")))?;
        let cid = serialized_deal_cid(&bytes)?;
        if seen.contains(&cid) || b.pending.has(&cid)? {
            log(&format!("invalid deal {i}: duplicate proposal"));
            continue;
        }

        provider_lockup = provider_total;
        client_lockup.insert(client_id, client_total);
        seen.insert(cid);
        valid_deals.set(i as u64);
        accepted.push(Accepted {
            proposal,
            bytes,
            cid,
        });
    }

    if accepted.is_empty() {
        return Err(ActorError::illegal_argument(
            "all deal proposals are invalid",
        ));
    }

    let mut ids = Vec::with_capacity(accepted.len());
    for a in &accepted {
        b.lock_deal(&a.proposal)?;
        b.pending.put(&a.cid)?;
        let id = b.new_deal_id()?;
        b.proposals.set(id, a.proposal.clone())?;
        // The first look is at a per-ID offset no sooner than the start, so
        // that deals spread over cron ticks.
        let due = next_update_epoch(id, DEAL_UPDATES_INTERVAL, a.proposal.start_epoch);
        b.deal_ops.put_many(due, &[id])?;
        ids.push(id);
    }
    b.save()?;

    for (a, id) in accepted.into_iter().zip(&ids) {
        calls::notify_client(&a.proposal.client, a.bytes, *id)?;
    }
    // v18 also emits a "deal-published" actor event per deal; Ferrite's
    // bundle emits no events.
    Ok(PublishStorageDealsReturn { ids, valid_deals })
}

/// Ok if the caller is the provider's owner, worker or a control address
/// (v18 asks the miner's IsControllingAddress, which accepts the same set).
fn check_publisher(provider_id: ActorID) -> ActorResult<()> {
    let caller = Address::new_id(fvm_sdk::message::caller());
    let c = calls::control_addresses(provider_id)?;
    let ok = caller == c.owner || caller == c.worker || c.control_addresses.contains(&caller);
    if ok {
        Ok(())
    } else {
        Err(ActorError::forbidden(format!(
            "caller {caller} is not a control address of provider f0{provider_id}"
        )))
    }
}

/// The checks on one proposal that need no market state.
fn check_proposal(d: &ClientDealProposal, net: &Network) -> ActorResult<()> {
    let p = &d.proposal;
    // Ferrite's bundle has no verified registry or DataCap (their actors are
    // placeholders), so a verified deal could never get its allocation.
    if p.verified_deal {
        return Err(ActorError::illegal_argument(
            "verified deals are not supported by this network's actors",
        ));
    }
    let message = fvm_ipld_encoding::to_vec(p)
        .map_err(|e| ActorError::serialization(format!("encode proposal: {e}")))?;
    calls::authenticate(&p.client, d.client_signature.bytes.clone(), message)
        .map_err(|e| e.context("proposal authentication failed"))?;

    if p.label.len() > DEAL_MAX_LABEL_SIZE {
        return Err(ActorError::illegal_argument(format!(
            "deal label is {} bytes, the most is {DEAL_MAX_LABEL_SIZE}",
            p.label.len()
        )));
    }
    p.piece_size
        .validate()
        .map_err(|e| ActorError::illegal_argument(format!("bad piece size: {e}")))?;
    if !is_piece_cid(&p.piece_cid) {
        return Err(ActorError::illegal_argument(
            "piece CID is not a piece commitment",
        ));
    }
    if p.end_epoch <= p.start_epoch {
        return Err(ActorError::illegal_argument("deal ends before it starts"));
    }
    if net.now > p.start_epoch {
        return Err(ActorError::illegal_argument(
            "deal start epoch has already passed",
        ));
    }
    let duration = p.duration();
    if !(DEAL_MIN_DURATION..=DEAL_MAX_DURATION).contains(&duration) {
        return Err(ActorError::illegal_argument(format!(
            "deal duration {duration} is outside [{DEAL_MIN_DURATION}, {DEAL_MAX_DURATION}]"
        )));
    }
    let max = total_filecoin();
    if p.storage_price_per_epoch.is_negative() || p.storage_price_per_epoch > max {
        return Err(ActorError::illegal_argument("storage price out of bounds"));
    }
    let min_provider = provider_collateral_min(
        p.piece_size,
        &net.raw_power,
        &net.baseline_power,
        &net.circulating_supply,
    );
    if p.provider_collateral < min_provider || p.provider_collateral > max {
        return Err(ActorError::illegal_argument(format!(
            "provider collateral {} out of bounds [{min_provider}, {max}]",
            p.provider_collateral
        )));
    }
    if p.client_collateral.is_negative() || p.client_collateral > max {
        return Err(ActorError::illegal_argument(
            "client collateral out of bounds",
        ));
    }
    Ok(())
}
