//! Putting deals into sectors. The v18 onboarding path is
//! `SectorContentChanged`, which a miner calls after ProveCommitSectors3
//! with one piece per deal (payload: the CBOR deal ID); each piece is
//! accepted or refused on its own. `VerifyDealsForActivation` (pre-commit
//! with deal IDs) checks deals and computes the sector's CommD, and
//! `BatchActivateDeals` (legacy paths) activates whole sectors' deals.
//! Activating a deal writes its [`DealState`] and records it under the
//! provider's sector.

use std::collections::BTreeSet;

use ferrite_actor_rt::send::check_caller_type;
use ferrite_actor_rt::types::Type;
use ferrite_actor_rt::{ActorError, ActorResult, WithCode};
use ferrite_actor_types::market::{
    ActivatedDeal, BatchActivateDealsParams, BatchActivateDealsResult, BatchReturnBuilder,
    DealProposal, EX_DEAL_EXPIRED, NO_ALLOCATION_ID, PieceReturn, SectorContentChangedParams,
    SectorContentChangedReturn, SectorDealActivation, SectorReturn, VerifyDealsForActivationParams,
    VerifyDealsForActivationReturn,
};
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::deal::DealID;
use fvm_shared::error::ExitCode;
use fvm_shared::piece::PieceInfo;
use fvm_shared::sector::{RegisteredSealProof, SectorNumber};

use crate::books::Books;
use crate::deals::{Proposals, check_can_activate, deal_cid, new_deal_state};
use crate::log;

/// The calling miner, after checking that it is a miner.
fn calling_miner() -> ActorResult<(u64, Address)> {
    check_caller_type(Type::Miner)?;
    let id = fvm_sdk::message::caller();
    Ok((id, Address::new_id(id)))
}

/// The proposals of `ids`; duplicates are an error.
fn proposals_of(
    proposals: &Proposals,
    ids: &[DealID],
    next_id: DealID,
) -> ActorResult<Vec<DealProposal>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if !seen.insert(*id) {
            return Err(ActorError::illegal_argument(format!(
                "duplicate deal {id} in sector"
            )));
        }
        out.push(proposals.get(*id, next_id)?);
    }
    Ok(out)
}

/// The unsealed CID (CommD) of a sector of `kind` holding `deals`' pieces in order.
fn data_commitment(kind: RegisteredSealProof, deals: &[DealProposal]) -> ActorResult<cid::Cid> {
    let pieces: Vec<PieceInfo> = deals
        .iter()
        .map(|d| PieceInfo {
            cid: d.piece_cid,
            size: d.piece_size,
        })
        .collect();
    fvm_sdk::crypto::compute_unsealed_sector_cid(kind, &pieces).with_code(
        ExitCode::USR_ILLEGAL_ARGUMENT,
        "compute unsealed sector CID",
    )
}

/// VerifyDealsForActivation: checks each sector's deals (provider, start,
/// end before the sector's expiry, total size within the sector) and
/// returns each sector's CommD (`None` for a sector without deals).
pub fn verify_deals_for_activation(
    p: VerifyDealsForActivationParams,
) -> ActorResult<VerifyDealsForActivationReturn> {
    let (_, miner) = calling_miner()?;
    let now = fvm_sdk::network::curr_epoch();
    let st: ferrite_actor_types::market::State = ferrite_actor_rt::load_state();
    let proposals = Proposals::load(&st.proposals)?;

    let mut unsealed_cids = Vec::with_capacity(p.sectors.len());
    for s in &p.sectors {
        let deals = proposals_of(&proposals, &s.deal_ids, st.next_id)?;
        let sector_size = s
            .sector_type
            .sector_size()
            .map_err(|e| ActorError::illegal_argument(format!("unknown sector size: {e}")))?
            as u64;
        let mut space: u64 = 0;
        for (id, d) in s.deal_ids.iter().zip(&deals) {
            check_can_activate(d, &miner, s.sector_expiry, now)
                .map_err(|e| e.context(&format!("cannot activate deal {id}")))?;
            space = space.saturating_add(d.piece_size.0);
        }
        if space > sector_size {
            return Err(ActorError::illegal_argument(format!(
                "deals too large to fit in sector: {space} > {sector_size}"
            )));
        }
        unsealed_cids.push(if deals.is_empty() {
            None
        } else {
            Some(data_commitment(s.sector_type, &deals)?)
        });
    }
    Ok(VerifyDealsForActivationReturn { unsealed_cids })
}

/// Checks that deal `id` can be activated now by `provider` in a sector
/// committed until `commitment`. The outer error aborts the call (broken
/// state); the inner one fails only this deal.
fn preactivate(
    b: &Books,
    id: DealID,
    provider: &Address,
    commitment: ChainEpoch,
    now: ChainEpoch,
) -> ActorResult<Result<DealProposal, ActorError>> {
    let p = match b.proposals.get(id, b.next_id) {
        Ok(p) => p,
        Err(e) if e.code == ExitCode::USR_NOT_FOUND || e.code == EX_DEAL_EXPIRED => {
            return Ok(Err(e));
        }
        Err(e) => return Err(e),
    };
    if let Err(e) = check_can_activate(&p, provider, commitment, now) {
        return Ok(Err(e.context(&format!("cannot activate deal {id}"))));
    }
    if b.states.find(id)?.is_some() {
        return Ok(Err(ActorError::illegal_argument(format!(
            "deal {id} is already activated"
        ))));
    }
    // A proposal without state that is not pending would be a broken invariant.
    let dcid = deal_cid(&p)?;
    if !b.pending.has(&dcid)? {
        return Ok(Err(ActorError::illegal_state(format!(
            "deal {id} ({dcid}) is not pending"
        ))));
    }
    Ok(Ok(p))
}

/// BatchActivateDeals: activates each sector's deals, all or none per
/// sector; other sectors go on when one fails.
pub fn batch_activate_deals(p: BatchActivateDealsParams) -> ActorResult<BatchActivateDealsResult> {
    let (miner_id, miner) = calling_miner()?;
    let now = fvm_sdk::network::curr_epoch();
    let mut b = Books::load()?;

    let mut results = BatchReturnBuilder::default();
    let mut activations = Vec::new();
    let mut activated: BTreeSet<DealID> = BTreeSet::new();
    let mut sector_deals: Vec<(SectorNumber, Vec<DealID>)> = Vec::new();
    let mut new_states = Vec::new();

    'sector: for s in p.sectors {
        let mut sorted = s.deal_ids.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
            log(&format!("sector {}: duplicate deal", s.sector_number));
            results.add_fail(ExitCode::USR_ILLEGAL_ARGUMENT);
            continue;
        }
        let mut deals = Vec::with_capacity(s.deal_ids.len());
        for id in &s.deal_ids {
            if activated.contains(id) {
                log(&format!(
                    "sector {}: deal {id} is in another sector",
                    s.sector_number
                ));
                results.add_fail(ExitCode::USR_ILLEGAL_ARGUMENT);
                continue 'sector;
            }
            match preactivate(&b, *id, &miner, s.sector_expiry, now)? {
                Ok(d) => deals.push(d),
                Err(e) => {
                    log(&format!("cannot activate deal {id}: {}", e.msg));
                    results.add_fail(e.code);
                    continue 'sector;
                }
            }
        }

        let mut done = Vec::with_capacity(deals.len());
        for (id, d) in s.deal_ids.iter().zip(&deals) {
            activated.insert(*id);
            let client = d
                .client
                .id()
                .map_err(|_| ActorError::illegal_state(format!("deal {id} client is not an ID")))?;
            done.push(ActivatedDeal {
                client,
                // No verified deals, hence never an allocation.
                allocation_id: NO_ALLOCATION_ID,
                data: d.piece_cid,
                size: d.piece_size,
            });
            new_states.push((*id, new_deal_state(s.sector_number, now)));
        }
        let unsealed_cid = if p.compute_cid && !deals.is_empty() {
            Some(data_commitment(s.sector_type, &deals)?)
        } else {
            None
        };
        sector_deals.push((s.sector_number, s.deal_ids.clone()));
        activations.push(SectorDealActivation {
            activated: done,
            unsealed_cid,
        });
        results.add_success();
    }

    for (id, st) in new_states {
        b.states.set(id, st)?;
    }
    b.provider_sectors.add(miner_id, &sector_deals)?;
    b.save()?;
    Ok(BatchActivateDealsResult {
        activation_results: results.build(),
        activations,
    })
}

/// SectorContentChanged: for each added piece whose payload names a deal
/// that this miner may activate now, with the same piece CID and size,
/// activates the deal in that sector; answers per piece.
pub fn sector_content_changed(
    p: SectorContentChangedParams,
) -> ActorResult<SectorContentChangedReturn> {
    let (miner_id, miner) = calling_miner()?;
    let now = fvm_sdk::network::curr_epoch();
    let mut b = Books::load()?;

    let mut activated: BTreeSet<DealID> = BTreeSet::new();
    let mut sector_deals: Vec<(SectorNumber, Vec<DealID>)> = Vec::new();
    let mut sectors = Vec::with_capacity(p.sectors.len());
    let mut new_states = Vec::new();

    for s in &p.sectors {
        let mut ids = Vec::new();
        let mut added = Vec::with_capacity(s.added.len());
        for piece in &s.added {
            let accepted = match fvm_ipld_encoding::from_slice::<DealID>(piece.payload.bytes()) {
                Err(e) => {
                    log(&format!(
                        "sector {}: payload is not a deal ID: {e}",
                        s.sector
                    ));
                    false
                }
                Ok(id) if activated.contains(&id) => {
                    log(&format!("deal {id} appears twice"));
                    false
                }
                Ok(id) => match preactivate(&b, id, &miner, s.minimum_commitment_epoch, now)? {
                    Err(e) => {
                        log(&format!("cannot activate deal {id}: {}", e.msg));
                        false
                    }
                    Ok(d) if d.piece_cid != piece.data || d.piece_size != piece.size => {
                        log(&format!("deal {id}: piece {} does not match", piece.data));
                        false
                    }
                    Ok(_) => {
                        activated.insert(id);
                        new_states.push((id, new_deal_state(s.sector, now)));
                        ids.push(id);
                        true
                    }
                },
            };
            added.push(PieceReturn { accepted });
        }
        sector_deals.push((s.sector, ids));
        sectors.push(SectorReturn { added });
    }

    for (id, st) in new_states {
        b.states.set(id, st)?;
    }
    b.provider_sectors.add(miner_id, &sector_deals)?;
    b.save()?;
    Ok(SectorContentChangedReturn { sectors })
}
