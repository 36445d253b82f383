//! SnapDeals in the sector state machine: a proven committed-capacity sector
//! takes deal pieces, packed as a new sector's are (Packing and AddPiece
//! with [`Target::Snap`]), then its replica is updated in place: encode,
//! prove, ProveReplicaUpdates3, and the sector key dropped. The sector keeps
//! proving its old replica until the update is on chain.

use ferrite_types::{ChainEpoch, CommD, CommR};
use serde::{Deserialize, Serialize};

use super::{Sealed, SectorBase, SectorState, fail};
use crate::piece::place;
use crate::{AfterAddPiece, DealPiece, Event, FailureKind, SectorPiece};

/// What the pieces of a sector in Packing or AddPiece are packed for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// A new sector, sealed once packed.
    #[default]
    Seal,
    /// An update of this proven committed-capacity sector (SnapDeals).
    Snap(SectorKey),
}

/// The committed-capacity sector an update fills: what it was before, to
/// prove the update against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectorKey {
    /// Its filler pieces.
    pub pieces: Vec<SectorPiece>,
    /// Its sealing: the ticket and the CommR on chain until the update.
    pub sealed: Sealed,
    /// The epoch it was activated.
    pub activation: ChainEpoch,
}

/// The commitments of an updated replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// The new replica's CommR.
    pub comm_r: CommR,
    /// The new data's CommD.
    pub comm_d: CommD,
}

/// A proven sector taking its first deal piece: refused, with the reason,
/// unless it is committed capacity (only fillers).
pub(super) fn open(
    base: &SectorBase,
    sealed: &Sealed,
    activation: ChainEpoch,
    piece: DealPiece,
) -> Result<SectorState, String> {
    if base
        .pieces
        .iter()
        .any(|p| matches!(p, SectorPiece::Deal(_)))
    {
        return Err("the sector holds deals already: only committed capacity is updated".into());
    }
    let fresh = SectorBase::new(base.proof);
    let adding = place(&fresh.pieces, piece, fresh.sector_bytes()).map_err(|e| e.to_string())?;
    Ok(SectorState::AddPiece {
        base: fresh,
        adding,
        then: AfterAddPiece::Packing,
        queued: Vec::new(),
        target: Target::Snap(SectorKey {
            pieces: base.pieces.clone(),
            sealed: *sealed,
            activation,
        }),
    })
}

/// The SnapDeals transitions after packing; `None` if `event` does not fit
/// `state` here, `Some(Err)` if it fits but is invalid.
pub(super) fn apply(state: &SectorState, event: Event) -> Option<Result<SectorState, String>> {
    use SectorState as S;
    Some(Ok(match (state, event) {
        (S::UpdateEncode { base, key }, Event::UpdateEncoded { comm_r, comm_d }) => {
            if comm_r == key.sealed.comm_r {
                return Some(Err(
                    "the encode returned the sector key's own CommR".to_string()
                ));
            }
            S::UpdateProve {
                base: base.clone(),
                key: key.clone(),
                update: Update { comm_r, comm_d },
            }
        }
        (S::UpdateProve { base, key, update }, Event::UpdateProved { proof }) => {
            if proof.0.is_empty() {
                fail(
                    FailureKind::Update,
                    "the update prover returned an empty proof".to_string(),
                    state.clone(),
                )
            } else {
                S::UpdateReady {
                    base: base.clone(),
                    key: key.clone(),
                    update: *update,
                    proof,
                }
            }
        }
        (
            S::UpdateReady {
                base, key, update, ..
            },
            Event::ProofInvalid { reason },
        ) => fail(
            FailureKind::Update,
            format!("the update proof did not verify: {reason}"),
            S::UpdateProve {
                base: base.clone(),
                key: key.clone(),
                update: *update,
            },
        ),
        (
            S::UpdateReady {
                base,
                key,
                update,
                proof,
            },
            Event::UpdateSent { message },
        ) => S::Updating {
            base: base.clone(),
            key: key.clone(),
            update: *update,
            proof: proof.clone(),
            message,
        },
        (
            S::UpdateReady {
                base, key, update, ..
            }
            | S::Updating {
                base, key, update, ..
            },
            Event::UpdateLanded { epoch },
        ) => {
            if epoch < key.activation {
                return Some(Err(format!(
                    "landed at epoch {epoch}, before the sector's activation at {}",
                    key.activation
                )));
            }
            S::UpdateFinalizing {
                base: base.clone(),
                key: key.clone(),
                update: *update,
            }
        }
        (
            S::UpdateReady {
                base,
                key,
                update,
                proof,
            }
            | S::Updating {
                base,
                key,
                update,
                proof,
                ..
            },
            Event::UpdateFailed { reason },
        ) => fail(
            FailureKind::Update,
            reason,
            S::UpdateReady {
                base: base.clone(),
                key: key.clone(),
                update: *update,
                proof: proof.clone(),
            },
        ),
        (S::UpdateFinalizing { base, key, update }, Event::Finalized) => S::Proving {
            base: base.clone(),
            sealed: Sealed {
                ticket: key.sealed.ticket,
                comm_r: update.comm_r,
                comm_d: update.comm_d,
            },
            activation: key.activation,
        },
        _ => return None,
    }))
}
