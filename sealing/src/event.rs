//! What happens to a sector: task results, chain observations and operator
//! commands.

use ferrite_types::{ChainEpoch, CommD, CommR, PieceInfo, Seed, Ticket};
use serde::{Deserialize, Serialize};

use crate::{DealPiece, MessageCid, Pc1Output, PoRepProof, UpdateProof};

/// A task that a worker runs for a sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Task {
    /// Write pieces (deal data or zeros) into the unsealed sector file.
    AddPiece,
    /// PreCommit phase 1: the SDR layers.
    Pc1,
    /// PreCommit phase 2: the column and replica trees, CommR and CommD.
    Pc2,
    /// Commit phase 1: the challenged Merkle paths.
    C1,
    /// Commit phase 2: the SNARK.
    C2,
    /// Move the sealed sector to a store path and drop its PC1 layers.
    Finalize,
    /// SnapDeals: encode the new pieces into the CC sector's replica.
    UpdateEncode,
    /// SnapDeals: prove the update.
    UpdateProve,
    /// SnapDeals: drop the sector key and the update's data tree once the
    /// update is on chain.
    FinalizeUpdate,
    /// Delete every file of a removed sector.
    RemoveData,
}

impl Task {
    /// The task's name, as logs and metrics label it.
    pub fn name(self) -> &'static str {
        match self {
            Task::AddPiece => "AddPiece",
            Task::Pc1 => "PC1",
            Task::Pc2 => "PC2",
            Task::C1 => "C1",
            Task::C2 => "C2",
            Task::Finalize => "Finalize",
            Task::UpdateEncode => "UpdateEncode",
            Task::UpdateProve => "UpdateProve",
            Task::FinalizeUpdate => "FinalizeUpdate",
            Task::RemoveData => "RemoveData",
        }
    }
}

/// Something that happened to a sector. Apply it with
/// [`SectorState::apply`](crate::SectorState::apply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// The market assigned a deal's piece to this sector (in Packing, or,
    /// for SnapDeals, a proven committed-capacity sector).
    AssignPiece {
        /// The piece and its deal.
        piece: DealPiece,
    },
    /// Close the sector to new pieces and seal it: it is full, its deadline
    /// came, or it is a committed-capacity pledge.
    StartSealing,
    /// The AddPiece task wrote the pieces it was given, in order.
    PieceAdded {
        /// The commitment and size of each piece written.
        pieces: Vec<PieceInfo>,
    },
    /// PC1 finished with the ticket the driver drew for it.
    Pc1Done {
        /// The sealing ticket.
        ticket: Ticket,
        /// The epoch the ticket was drawn at.
        ticket_epoch: ChainEpoch,
        /// PC1's output, the input of PC2.
        output: Pc1Output,
    },
    /// PC2 finished.
    Pc2Done {
        /// The sealed replica's commitment.
        comm_r: CommR,
        /// The data commitment.
        comm_d: CommD,
    },
    /// The precommit message (or the batch holding it) is in the mpool.
    PreCommitSent {
        /// The message's CID.
        message: MessageCid,
    },
    /// The chain shows the sector precommitted.
    PreCommitLanded {
        /// The epoch of the precommit.
        epoch: ChainEpoch,
    },
    /// The precommit could not be sent, or its message failed on chain.
    PreCommitFailed {
        /// Why, for the operator.
        reason: String,
    },
    /// The ticket is too old to precommit with: seal again with a new one.
    TicketExpired,
    /// The interactive seed is available.
    SeedReady {
        /// The seed.
        seed: Seed,
        /// The epoch it was drawn at.
        epoch: ChainEpoch,
    },
    /// C1 finished; its output is in the sector's cache directory.
    C1Done,
    /// C2 finished.
    C2Done {
        /// The proof, not yet verified.
        proof: PoRepProof,
    },
    /// The proof did not verify (the driver checks it before sending).
    ProofInvalid {
        /// What the verifier said.
        reason: String,
    },
    /// The prove-commit message is in the mpool.
    ProveCommitSent {
        /// The message's CID.
        message: MessageCid,
    },
    /// The chain shows the sector proven (active).
    ProveCommitLanded {
        /// The epoch the prove-commit landed at.
        epoch: ChainEpoch,
    },
    /// The prove-commit could not be sent, or its message failed on chain.
    ProveCommitFailed {
        /// Why, for the operator.
        reason: String,
    },
    /// Finalize finished: the sector is on long-term storage (or, after an
    /// update, the sector key is dropped).
    Finalized,
    /// SnapDeals: the new pieces are encoded into a new replica.
    UpdateEncoded {
        /// The new replica's commitment.
        comm_r: CommR,
        /// The new data's commitment.
        comm_d: CommD,
    },
    /// SnapDeals: the update proof is computed.
    UpdateProved {
        /// The proof, not yet verified.
        proof: UpdateProof,
    },
    /// SnapDeals: the ProveReplicaUpdates3 message is in the mpool.
    UpdateSent {
        /// The message's CID.
        message: MessageCid,
    },
    /// SnapDeals: the chain holds the sector with the new replica's CommR.
    UpdateLanded {
        /// The epoch the update was seen on chain.
        epoch: ChainEpoch,
    },
    /// SnapDeals: the update could not be sent, or its message failed.
    UpdateFailed {
        /// Why, for the operator.
        reason: String,
    },
    /// A task failed.
    TaskFailed {
        /// The task, so that a stale failure of an earlier task is refused.
        task: Task,
        /// The error, for the operator.
        reason: String,
    },
    /// The backoff of a failure state has passed: try again.
    Retry,
    /// The operator restarts a failed sector: its failure count for that
    /// stage is cleared and the stage runs again now.
    Restart,
    /// The operator removes the sector.
    Remove,
    /// The files of a removed sector are gone.
    DataRemoved,
}

impl Event {
    /// The event's name, for errors and the sector log.
    pub fn name(&self) -> &'static str {
        match self {
            Event::AssignPiece { .. } => "AssignPiece",
            Event::StartSealing => "StartSealing",
            Event::PieceAdded { .. } => "PieceAdded",
            Event::Pc1Done { .. } => "Pc1Done",
            Event::Pc2Done { .. } => "Pc2Done",
            Event::PreCommitSent { .. } => "PreCommitSent",
            Event::PreCommitLanded { .. } => "PreCommitLanded",
            Event::PreCommitFailed { .. } => "PreCommitFailed",
            Event::TicketExpired => "TicketExpired",
            Event::SeedReady { .. } => "SeedReady",
            Event::C1Done => "C1Done",
            Event::C2Done { .. } => "C2Done",
            Event::ProofInvalid { .. } => "ProofInvalid",
            Event::ProveCommitSent { .. } => "ProveCommitSent",
            Event::ProveCommitLanded { .. } => "ProveCommitLanded",
            Event::ProveCommitFailed { .. } => "ProveCommitFailed",
            Event::Finalized => "Finalized",
            Event::UpdateEncoded { .. } => "UpdateEncoded",
            Event::UpdateProved { .. } => "UpdateProved",
            Event::UpdateSent { .. } => "UpdateSent",
            Event::UpdateLanded { .. } => "UpdateLanded",
            Event::UpdateFailed { .. } => "UpdateFailed",
            Event::TaskFailed { .. } => "TaskFailed",
            Event::Retry => "Retry",
            Event::Restart => "Restart",
            Event::Remove => "Remove",
            Event::DataRemoved => "DataRemoved",
        }
    }
}
