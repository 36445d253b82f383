//! Notifying data consumers of newly activated pieces: pieces nominate
//! receivers (with a payload, e.g. a deal ID for the market); the miner
//! regroups them per receiver and per sector and sends one
//! `SectorContentChanged` call per receiver. Only the builtin market may be
//! notified. With `require_success`, a failed call, a malformed answer or a
//! rejected piece fails the whole method with exit codes 1001-1004.

use std::collections::BTreeMap;

use ferrite_actor_rt::types::STORAGE_MARKET_ACTOR_ID;
use ferrite_actor_rt::{self as rt, ActorError, ActorResult};
use ferrite_actor_types::market::{
    PieceChange, SectorChanges, SectorContentChangedParams, SectorContentChangedReturn,
};
use ferrite_actor_types::miner::PieceActivationManifest;
use ferrite_actor_types::miner::exit::{
    ERR_NOTIFICATION_RECEIVER_ABORTED, ERR_NOTIFICATION_REJECTED,
    ERR_NOTIFICATION_RESPONSE_INVALID, ERR_NOTIFICATION_SEND_FAILED,
};
use ferrite_actor_types::miner::method::SECTOR_CONTENT_CHANGED;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::SectorNumber;
use num_traits::Zero;

/// One activated sector's pieces, with the sector's expiration (the
/// minimum commitment the receivers are told).
pub struct SectorActivation<'a> {
    /// The sector.
    pub sector_number: SectorNumber,
    /// Its expiration.
    pub expiration: ChainEpoch,
    /// Its pieces, with their notification requests.
    pub pieces: &'a [PieceActivationManifest],
}

/// Sends the notifications of `activations`, one call per receiver.
pub fn notify_data_consumers(
    activations: &[SectorActivation],
    require_success: bool,
) -> ActorResult<()> {
    let mut by_receiver = BTreeMap::<Address, BTreeMap<SectorNumber, SectorChanges>>::new();
    for a in activations {
        for piece in a.pieces {
            for n in &piece.notify {
                by_receiver
                    .entry(n.address)
                    .or_default()
                    .entry(a.sector_number)
                    .or_insert_with(|| SectorChanges {
                        sector: a.sector_number,
                        minimum_commitment_epoch: a.expiration,
                        added: Vec::new(),
                    })
                    .added
                    .push(PieceChange {
                        data: piece.cid,
                        size: piece.size,
                        payload: n.payload.clone(),
                    });
            }
        }
    }
    let market = Address::new_id(STORAGE_MARKET_ACTOR_ID);
    for (receiver, sectors) in by_receiver {
        if receiver != market {
            if require_success {
                return Err(ActorError::illegal_argument(format!(
                    "disallowed notification receiver {receiver}"
                )));
            }
            continue;
        }
        let params = SectorContentChangedParams {
            sectors: sectors.into_values().collect(),
        };
        let answer = send(&receiver, &params);
        if require_success {
            check_answer(&receiver, &params, &answer?)?;
        }
    }
    Ok(())
}

/// One notification call and its decoded answer.
fn send(
    receiver: &Address,
    params: &SectorContentChangedParams,
) -> ActorResult<SectorContentChangedReturn> {
    let resp = rt::send::send(
        receiver,
        SECTOR_CONTENT_CHANGED,
        Some(params),
        TokenAmount::zero(),
    )
    .map_err(|e| {
        ActorError::new(
            ERR_NOTIFICATION_SEND_FAILED,
            format!("send error: {}", e.msg),
        )
    })?;
    if !resp.exit_code.is_success() {
        return Err(ActorError::new(
            ERR_NOTIFICATION_RECEIVER_ABORTED,
            format!("receiver aborted with {}", resp.exit_code),
        ));
    }
    let block = resp
        .ret
        .ok_or_else(|| ActorError::new(ERR_NOTIFICATION_RESPONSE_INVALID, "no return data"))?;
    block.deserialize().map_err(|e| {
        ActorError::new(
            ERR_NOTIFICATION_RESPONSE_INVALID,
            format!("invalid return data: {e}"),
        )
    })
}

/// Fails unless the answer has the request's shape and accepts every
/// piece.
fn check_answer(
    receiver: &Address,
    req: &SectorContentChangedParams,
    resp: &SectorContentChangedReturn,
) -> ActorResult<()> {
    if resp.sectors.len() != req.sectors.len() {
        return Err(ActorError::new(
            ERR_NOTIFICATION_RESPONSE_INVALID,
            "sector change response mismatched sectors",
        ));
    }
    for (sreq, sresp) in req.sectors.iter().zip(&resp.sectors) {
        if sresp.added.len() != sreq.added.len() {
            return Err(ActorError::new(
                ERR_NOTIFICATION_RESPONSE_INVALID,
                format!(
                    "sector change response mismatched pieces for sector {}",
                    sreq.sector
                ),
            ));
        }
        for (preq, presp) in sreq.added.iter().zip(&sresp.added) {
            if !presp.accepted {
                return Err(ActorError::new(
                    ERR_NOTIFICATION_REJECTED,
                    format!(
                        "sector change rejected by {receiver} for sector {} piece {}",
                        sreq.sector, preq.data
                    ),
                ));
            }
        }
    }
    Ok(())
}
