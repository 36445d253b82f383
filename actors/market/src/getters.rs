//! The FRC-42 read-only getters on deals. A proposal is readable from
//! publication until the deal is cleaned up; an ID that was used but is
//! gone answers `EX_DEAL_EXPIRED`, one never used `USR_NOT_FOUND`.

use ferrite_actor_rt::{ActorError, ActorResult};
use ferrite_actor_types::market::{
    DealProposal, DealQueryParams, EX_DEAL_EXPIRED, EX_DEAL_NOT_ACTIVATED, GetDealActivationReturn,
    GetDealDataCommitmentReturn, GetDealTermReturn, Label, State,
};
use fvm_shared::ActorID;
use fvm_shared::econ::TokenAmount;

use crate::deals::{DealStates, EPOCH_UNDEFINED, Proposals};

fn state() -> State {
    ferrite_actor_rt::load_state()
}

fn proposal(st: &State, id: u64) -> ActorResult<DealProposal> {
    Proposals::load(&st.proposals)?.get(id, st.next_id)
}

fn id_of(a: &fvm_shared::address::Address) -> ActorResult<ActorID> {
    a.id()
        .map_err(|_| ActorError::illegal_state(format!("stored address {a} is not an ID")))
}

/// GetDealDataCommitment: the piece CID and size.
pub fn data_commitment(p: DealQueryParams) -> ActorResult<GetDealDataCommitmentReturn> {
    let d = proposal(&state(), p.id)?;
    Ok(GetDealDataCommitmentReturn {
        data: d.piece_cid,
        size: d.piece_size,
    })
}

/// GetDealClient: the client's actor ID.
pub fn client(p: DealQueryParams) -> ActorResult<ActorID> {
    id_of(&proposal(&state(), p.id)?.client)
}

/// GetDealProvider: the provider's actor ID.
pub fn provider(p: DealQueryParams) -> ActorResult<ActorID> {
    id_of(&proposal(&state(), p.id)?.provider)
}

/// GetDealLabel: the label.
pub fn label(p: DealQueryParams) -> ActorResult<Label> {
    Ok(proposal(&state(), p.id)?.label)
}

/// GetDealTerm: start epoch and duration.
pub fn term(p: DealQueryParams) -> ActorResult<GetDealTermReturn> {
    let d = proposal(&state(), p.id)?;
    Ok(GetDealTermReturn {
        start: d.start_epoch,
        duration: d.duration(),
    })
}

/// GetDealTotalPrice: price per epoch times duration.
pub fn total_price(p: DealQueryParams) -> ActorResult<TokenAmount> {
    Ok(proposal(&state(), p.id)?.total_storage_fee())
}

/// GetDealClientCollateral.
pub fn client_collateral(p: DealQueryParams) -> ActorResult<TokenAmount> {
    Ok(proposal(&state(), p.id)?.client_collateral)
}

/// GetDealProviderCollateral.
pub fn provider_collateral(p: DealQueryParams) -> ActorResult<TokenAmount> {
    Ok(proposal(&state(), p.id)?.provider_collateral)
}

/// GetDealVerified (always false here, but read from the proposal).
pub fn verified(p: DealQueryParams) -> ActorResult<bool> {
    Ok(proposal(&state(), p.id)?.verified_deal)
}

/// GetDealActivation: activation epoch and termination epoch (-1 each
/// while not activated).
pub fn activation(p: DealQueryParams) -> ActorResult<GetDealActivationReturn> {
    let st = state();
    match DealStates::load(&st.states)?.find(p.id)? {
        // A terminated deal awaiting cleanup answers as if it were gone.
        Some(s) if s.slash_epoch != EPOCH_UNDEFINED => Err(ActorError::new(
            EX_DEAL_EXPIRED,
            format!("deal {} expired", p.id),
        )),
        Some(s) => Ok(GetDealActivationReturn {
            activated: s.sector_start_epoch,
            terminated: s.slash_epoch,
        }),
        None => {
            proposal(&st, p.id)?;
            Ok(GetDealActivationReturn {
                activated: EPOCH_UNDEFINED,
                terminated: EPOCH_UNDEFINED,
            })
        }
    }
}

/// GetDealSector: the sector holding an activated deal.
pub fn sector(p: DealQueryParams) -> ActorResult<u64> {
    let st = state();
    match DealStates::load(&st.states)?.find(p.id)? {
        Some(s) if s.slash_epoch != EPOCH_UNDEFINED => Err(ActorError::new(
            EX_DEAL_EXPIRED,
            format!("deal {} expired", p.id),
        )),
        Some(s) => Ok(s.sector_number),
        None => {
            proposal(&st, p.id)?;
            Err(ActorError::new(
                EX_DEAL_NOT_ACTIVATED,
                format!("deal {} is not activated", p.id),
            ))
        }
    }
}
