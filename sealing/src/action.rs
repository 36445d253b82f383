//! What the driver does next for a sector.

use std::time::Duration;

use crate::Task;

/// The next step for a sector, from
/// [`SectorState::next_action`](crate::SectorState::next_action). Each step
/// is idempotent: after a crash the driver runs it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Wait for the market to assign pieces, and send `StartSealing` when the
    /// sector is full, its packing deadline comes, or it is a pledge.
    WaitPieces,
    /// Run the AddPiece task for the state's `adding` pieces.
    AddPiece,
    /// Draw a ticket from the chain and run PC1 with it.
    Pc1,
    /// Run PC2 on PC1's output.
    Pc2,
    /// Send the precommit, batched with other sectors. First check the chain:
    /// if the sector is already precommitted (a crash after sending), report
    /// `PreCommitLanded` instead.
    SendPreCommit,
    /// Wait for the precommit message to land (or fail, or vanish).
    WaitPreCommit,
    /// Wait for the seed epoch and draw the seed.
    WaitSeed,
    /// Run C1.
    C1,
    /// Run C2 (C1's output is in the sector's cache directory).
    C2,
    /// Verify the proof; if it is valid, send the prove-commit (or report
    /// `ProveCommitLanded` if the chain already has it).
    VerifyAndSendProveCommit,
    /// Wait for the prove-commit message to land (or fail, or vanish).
    WaitProveCommit,
    /// Run the Finalize task.
    Finalize,
    /// SnapDeals: run the encode task.
    UpdateEncode,
    /// SnapDeals: run the update-proof task.
    UpdateProve,
    /// SnapDeals: verify the update proof; if it is valid, send
    /// ProveReplicaUpdates3 once the sector's deadline may be changed (or
    /// report `UpdateLanded` if the chain already has the new CommR).
    VerifyAndSendUpdate,
    /// SnapDeals: wait for the update message to land (or fail).
    WaitUpdate,
    /// SnapDeals: drop the sector key and the update's data tree.
    FinalizeUpdate,
    /// Delete the sector's files on every path that holds them.
    RemoveData,
    /// Send `Retry` once this long has passed since the failure.
    Retry {
        /// The backoff for the failure's attempt count.
        after: Duration,
    },
    /// Retries are exhausted: the operator must restart or remove the sector.
    AwaitOperator,
    /// Nothing: the sector is proving, or removed.
    None,
}

impl Action {
    /// The worker task this action runs, if it is one.
    pub fn task(self) -> Option<Task> {
        match self {
            Action::AddPiece => Some(Task::AddPiece),
            Action::Pc1 => Some(Task::Pc1),
            Action::Pc2 => Some(Task::Pc2),
            Action::C1 => Some(Task::C1),
            Action::C2 => Some(Task::C2),
            Action::Finalize => Some(Task::Finalize),
            Action::RemoveData => Some(Task::RemoveData),
            Action::UpdateEncode => Some(Task::UpdateEncode),
            Action::UpdateProve => Some(Task::UpdateProve),
            Action::FinalizeUpdate => Some(Task::FinalizeUpdate),
            Action::WaitPieces
            | Action::VerifyAndSendUpdate
            | Action::WaitUpdate
            | Action::SendPreCommit
            | Action::WaitPreCommit
            | Action::WaitSeed
            | Action::VerifyAndSendProveCommit
            | Action::WaitProveCommit
            | Action::Retry { .. }
            | Action::AwaitOperator
            | Action::None => None,
        }
    }
}
