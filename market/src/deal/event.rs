//! What can happen to a deal: the inputs of [`DealState::apply`](crate::deal::DealState::apply).

use std::path::PathBuf;

use ferrite_types::{ChainEpoch, CommP, DealId, SectorNumber};
use serde::{Deserialize, Serialize};

use crate::deal::MessageCid;

/// An event: a driver step's result, a chain observation or an operator
/// command. Each names the states it applies to; anywhere else it is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DealEvent {
    /// Accepted (online) → Transferring: the driver starts the HTTP pull.
    TransferStarted,
    /// Transferring → Transferring: bytes received so far.
    TransferProgress {
        /// Payload bytes written to the staging file.
        received: u64,
    },
    /// Transferring → Staged (or Failed when the data does not match): the
    /// pull finished; CommP was computed while the bytes streamed in.
    TransferDone(StagedPiece),
    /// Transferring → TransferRetry (retryable, below the limit) or Failed.
    TransferFailed {
        /// Whether trying again may help (a timeout, a 5xx, a reset
        /// connection); a 4xx, a refused URL or a full disk is fatal.
        retryable: bool,
        /// What went wrong, for the client's status and the operator.
        reason: String,
    },
    /// TransferRetry → Transferring, once the backoff has passed.
    RetryTransfer,
    /// Accepted (offline) → Staged (or Failed when the data does not match):
    /// `deals import-data` read the file and computed its CommP.
    Imported(StagedPiece),
    /// Staged → WaitPublish: the deal goes into the publish batcher.
    PublishQueued,
    /// WaitPublish → Publishing: the PublishStorageDeals message carrying the
    /// deal is signed, and its CID is recorded *before* it is pushed to the
    /// mpool, so a crash cannot send it twice unseen.
    PublishSigned {
        /// The signed message's CID.
        message: MessageCid,
    },
    /// Publishing → Published: the message landed and the market actor
    /// gave the deal this id (from the return's `ids`, see
    /// [`crate::publish::outcomes`]).
    PublishLanded {
        /// The deal's on-chain id.
        deal_id: DealId,
    },
    /// Publishing → WaitPublish: the message is neither on chain nor in the
    /// mpool, and the market actor does not hold the proposal (a crash after
    /// recording the message and before pushing it, or a dropped message).
    PublishMessageLost,
    /// Publishing → WaitPublish (retryable, below the limit) or Failed: the
    /// message failed, or the actor refused this deal (not in
    /// `valid_deals`).
    PublishFailed {
        /// Whether a new message may succeed (out of gas, a nonce race); a
        /// deal the actor refused is never retried.
        retryable: bool,
        /// What went wrong.
        reason: String,
    },
    /// Published → AddingToSector: sealing took the piece into a sector.
    SectorAssigned {
        /// The sector.
        sector: SectorNumber,
        /// The piece's offset in the sector, in padded bytes.
        offset: u64,
    },
    /// AddingToSector → Sealing: AddPiece wrote the piece into the sector,
    /// so the staged file is no longer needed.
    PieceAdded,
    /// AddingToSector or Sealing → Active: the market actor activated the
    /// deal (the sector's prove-commit landed).
    Activated {
        /// The activation epoch.
        epoch: ChainEpoch,
    },
    /// Active → Expired: the deal reached its end epoch.
    Expired {
        /// The epoch it was seen expired.
        epoch: ChainEpoch,
    },
    /// Active → Slashed: the sector was terminated before the deal ended.
    Slashed {
        /// The slash epoch from the deal's on-chain state.
        epoch: ChainEpoch,
    },
    /// Any state before Active but Publishing → Failed: the chain reached
    /// the proposal's start epoch first. (Publishing waits for its message:
    /// the actor refuses a late deal itself, reported as `PublishFailed`.)
    StartEpochMissed {
        /// The head epoch that passed the start epoch.
        head: ChainEpoch,
    },
    /// Accepted, Transferring, TransferRetry, Staged or WaitPublish →
    /// Failed: the operator (or the client) cancelled the deal. Refused once
    /// a publish message may exist.
    Abort {
        /// Why.
        reason: String,
    },
}

/// The data of a deal, staged on local disk: what a transfer or an import
/// reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedPiece {
    /// The CommP computed over the bytes as they were written.
    pub comm_p: CommP,
    /// Payload bytes (unpadded), at most the piece's unpadded size.
    pub bytes: u64,
    /// The staging file.
    pub path: PathBuf,
}

impl DealEvent {
    /// Every [`DealEvent::name`].
    pub const NAMES: [&'static str; 18] = [
        "TransferStarted",
        "TransferProgress",
        "TransferDone",
        "TransferFailed",
        "RetryTransfer",
        "Imported",
        "PublishQueued",
        "PublishSigned",
        "PublishLanded",
        "PublishMessageLost",
        "PublishFailed",
        "SectorAssigned",
        "PieceAdded",
        "Activated",
        "Expired",
        "Slashed",
        "StartEpochMissed",
        "Abort",
    ];

    /// The event's name, for logs and the deal's history.
    pub fn name(&self) -> &'static str {
        match self {
            DealEvent::TransferStarted => "TransferStarted",
            DealEvent::TransferProgress { .. } => "TransferProgress",
            DealEvent::TransferDone(_) => "TransferDone",
            DealEvent::TransferFailed { .. } => "TransferFailed",
            DealEvent::RetryTransfer => "RetryTransfer",
            DealEvent::Imported(_) => "Imported",
            DealEvent::PublishQueued => "PublishQueued",
            DealEvent::PublishSigned { .. } => "PublishSigned",
            DealEvent::PublishLanded { .. } => "PublishLanded",
            DealEvent::PublishMessageLost => "PublishMessageLost",
            DealEvent::PublishFailed { .. } => "PublishFailed",
            DealEvent::SectorAssigned { .. } => "SectorAssigned",
            DealEvent::PieceAdded => "PieceAdded",
            DealEvent::Activated { .. } => "Activated",
            DealEvent::Expired { .. } => "Expired",
            DealEvent::Slashed { .. } => "Slashed",
            DealEvent::StartEpochMissed { .. } => "StartEpochMissed",
            DealEvent::Abort { .. } => "Abort",
        }
    }
}
