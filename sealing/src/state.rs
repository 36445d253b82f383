//! The sector state machine: [`SectorState`], [`SectorState::apply`] and
//! [`SectorState::next_action`]. Pure: no I/O, no clock.

use ferrite_types::{
    ChainEpoch, CommD, CommR, PaddedPieceSize, PieceInfo, SealProof, Seed, Ticket,
};
use serde::{Deserialize, Serialize};

use crate::piece::{fillers, place, place_all, planned, used_bytes};
use crate::{
    Action, Attempts, DealPiece, Event, FailureKind, MessageCid, Pc1Output, PieceToAdd, PoRepProof,
    RetryPolicy, SectorPiece, Task, TransitionError, UpdateProof,
};

mod update;
pub use update::{SectorKey, Target, Update};

/// What every live sector carries, whatever its stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectorBase {
    /// The PoRep kind, which fixes the sector size.
    pub proof: SealProof,
    /// The pieces written into the sector so far, in order.
    pub pieces: Vec<SectorPiece>,
    /// Failures per kind of stage, checked against the retry policy.
    pub attempts: Attempts,
}

impl SectorBase {
    /// An empty sector sealed with `proof`.
    pub fn new(proof: SealProof) -> Self {
        Self {
            proof,
            pieces: Vec::new(),
            attempts: Attempts::default(),
        }
    }

    fn sector_bytes(&self) -> u64 {
        PaddedPieceSize::from(self.proof.sector_size()).bytes()
    }
}

/// The sealing ticket and the epoch it was drawn at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketInfo {
    /// The ticket.
    pub ticket: Ticket,
    /// Its epoch; the precommit must land before the ticket expires.
    pub epoch: ChainEpoch,
}

/// What PC2 produced: everything the precommit message states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The ticket the replica is bound to.
    pub ticket: TicketInfo,
    /// The replica's commitment.
    pub comm_r: CommR,
    /// The data commitment.
    pub comm_d: CommD,
}

/// The interactive challenge: the precommit and the seed drawn after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The epoch the precommit landed at; it expires some epochs later.
    pub precommit_epoch: ChainEpoch,
    /// The seed.
    pub seed: Seed,
    /// The epoch the seed was drawn at.
    pub seed_epoch: ChainEpoch,
}

/// What Packing does once AddPiece has written its pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AfterAddPiece {
    /// Back to Packing, for more pieces (a deal piece was written).
    Packing,
    /// On to PC1 (the fillers that close the sector were written).
    Seal,
}

/// A failure: what went wrong, and the state to go back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The error, for the operator.
    pub reason: String,
    /// The state a retry resumes, with the failure already counted in its
    /// [`SectorBase::attempts`]. Always a working state, never a failure.
    pub retry_from: Box<SectorState>,
}

/// A sector's state. Each variant holds what its stage needs and nothing is
/// optional, so the driver never has to ask whether a field is set yet.
///
/// ```text
///  new -> Packing --AssignPiece--> AddPiece --PieceAdded (a deal piece)--> Packing
///           |                   (AssignPiece queues a piece for the next AddPiece)
///           |                        ^    |
///           +--StartSealing----------+    +--PieceAdded (closing fillers)--> Pc1
///           +--StartSealing (already full)---------------------------------> Pc1
///
///  Pc1 --Pc1Done--> Pc2 --Pc2Done--> PreCommitReady --PreCommitSent--> PreCommitting
///                                         |                               |
///                                         | PreCommitLanded               | PreCommitLanded
///                                         +-----------> WaitSeed <--------+
///
///  WaitSeed --SeedReady--> C1 --C1Done--> C2 --C2Done--> ProveCommitReady --ProveCommitSent--> ProveCommitting
///                                                               |                                  |
///                                                               | ProveCommitLanded                | ProveCommitLanded
///                                                               +----------> Finalizing <----------+
///
///  Finalizing --Finalized--> Proving
///
///  A reorganisation that moves the precommit to another epoch changes the
///  seed: WaitSeed, C1, C2 and ProveCommitReady go back to WaitSeed on
///  PreCommitLanded with the new epoch (the driver checks the precommit's
///  epoch before it draws the seed and before it sends the prove-commit).
///
///  SnapDeals (a proven committed-capacity sector takes deal pieces):
///  Proving --AssignPiece--> AddPiece (target Snap) ... Packing (target Snap) as above, then
///  UpdateEncode --UpdateEncoded--> UpdateProve --UpdateProved--> UpdateReady --UpdateSent--> Updating
///                                                                     |                         |
///                                                                     | UpdateLanded            | UpdateLanded
///                                                                     +--> UpdateFinalizing <---+
///  UpdateFinalizing --Finalized--> Proving (the new CommR and CommD, the new pieces)
///
///  Failures keep the state to retry from. `Retry` resumes it after the
///  backoff while the kind's attempts are below max_attempts; past that the
///  sector waits for the operator's `Restart` (which clears the count).
///
///  from                                event                  failure state         Retry/Restart resumes
///  AddPiece, Pc1, Pc2                  TaskFailed             SealFailed            the same state
///  AddPiece                            PieceAdded (mismatch)  SealFailed            AddPiece
///  PreCommitReady, PreCommitting       PreCommitFailed        PreCommitFailed       PreCommitReady
///  PreCommitReady, PreCommitting       TicketExpired          PreCommitFailed       Pc1 (new ticket)
///  C1, C2                              TaskFailed             ComputeProofFailed    C1
///  C2                                  C2Done (empty proof)   ComputeProofFailed    C1
///  ProveCommitReady                    ProofInvalid           ComputeProofFailed    C1
///  ProveCommitReady, ProveCommitting   ProveCommitFailed      ProveCommitFailed     ProveCommitReady
///  Finalizing                          TaskFailed             FinalizeFailed        Finalizing
///  UpdateEncode, UpdateProve,          TaskFailed             UpdateFailed          the same state
///    UpdateFinalizing
///  UpdateProve                         UpdateProved (empty)   UpdateFailed          UpdateProve
///  UpdateReady                         ProofInvalid           UpdateFailed          UpdateProve
///  UpdateReady, Updating               UpdateFailed           UpdateFailed          UpdateReady
///
///  any state but Removing, Removed --Remove--> Removing --DataRemoved--> Removed
///  (Removing --TaskFailed--> Removing: deleting files is simply tried again)
/// ```
///
/// Proving is reached only through `ProveCommitLanded` (and Finalizing), and
/// Removed is terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SectorState {
    /// Open for deal pieces. The first state of every sector, and of a
    /// SnapDeals update.
    Packing {
        /// The sector so far.
        base: SectorBase,
        /// What the pieces are packed for: a new sector, or an update.
        #[serde(default)]
        target: Target,
    },
    /// Writing pieces into the unsealed sector file.
    AddPiece {
        /// The sector, without the pieces being written.
        base: SectorBase,
        /// The pieces to write, in order.
        adding: Vec<PieceToAdd>,
        /// Where the sector goes once they are written.
        then: AfterAddPiece,
        /// Deal pieces assigned while this AddPiece ran, written by the
        /// next one (largest first).
        #[serde(default)]
        queued: Vec<DealPiece>,
        /// What the pieces are packed for: a new sector, or an update.
        #[serde(default)]
        target: Target,
    },
    /// Running PC1 (with a fresh ticket).
    Pc1 {
        /// The packed sector.
        base: SectorBase,
    },
    /// Running PC2.
    Pc2 {
        /// The packed sector.
        base: SectorBase,
        /// The ticket PC1 used.
        ticket: TicketInfo,
        /// PC1's output.
        pc1: Pc1Output,
    },
    /// Sealed; the precommit is to be sent.
    PreCommitReady {
        /// The packed sector.
        base: SectorBase,
        /// PC2's commitments.
        sealed: Sealed,
    },
    /// The precommit is sent and waiting to land.
    PreCommitting {
        /// The packed sector.
        base: SectorBase,
        /// PC2's commitments.
        sealed: Sealed,
        /// The message that carries it.
        message: MessageCid,
    },
    /// Precommitted; waiting for the seed epoch.
    WaitSeed {
        /// The packed sector.
        base: SectorBase,
        /// PC2's commitments.
        sealed: Sealed,
        /// The epoch the precommit landed at.
        precommit_epoch: ChainEpoch,
    },
    /// Running C1.
    C1 {
        /// The packed sector.
        base: SectorBase,
        /// PC2's commitments.
        sealed: Sealed,
        /// The precommit and its seed.
        challenge: Challenge,
    },
    /// Running C2.
    C2 {
        /// The packed sector.
        base: SectorBase,
        /// PC2's commitments.
        sealed: Sealed,
        /// The precommit and its seed.
        challenge: Challenge,
    },
    /// The proof is computed; it is to be verified and sent.
    ProveCommitReady {
        /// The packed sector.
        base: SectorBase,
        /// PC2's commitments.
        sealed: Sealed,
        /// The precommit and its seed.
        challenge: Challenge,
        /// C2's proof.
        proof: PoRepProof,
    },
    /// The prove-commit is sent and waiting to land.
    ProveCommitting {
        /// The packed sector.
        base: SectorBase,
        /// PC2's commitments.
        sealed: Sealed,
        /// The precommit and its seed.
        challenge: Challenge,
        /// The proof sent, kept for a resend.
        proof: PoRepProof,
        /// The message that carries it.
        message: MessageCid,
    },
    /// Active on chain; moving the files to long-term storage.
    Finalizing {
        /// The packed sector.
        base: SectorBase,
        /// PC2's commitments.
        sealed: Sealed,
        /// The epoch the prove-commit landed at.
        activation: ChainEpoch,
    },
    /// Active, on long-term storage, proven every proving period.
    Proving {
        /// The packed sector.
        base: SectorBase,
        /// PC2's commitments.
        sealed: Sealed,
        /// The epoch the prove-commit landed at.
        activation: ChainEpoch,
    },
    /// SnapDeals: encoding the new pieces into the CC sector's replica.
    UpdateEncode {
        /// The new pieces, filling the sector.
        base: SectorBase,
        /// The CC sector being updated.
        key: SectorKey,
    },
    /// SnapDeals: proving the update.
    UpdateProve {
        /// The new pieces.
        base: SectorBase,
        /// The CC sector being updated.
        key: SectorKey,
        /// The encode's commitments.
        update: Update,
    },
    /// SnapDeals: the update proof is computed; it is to be verified and
    /// sent once the sector's deadline may be changed.
    UpdateReady {
        /// The new pieces.
        base: SectorBase,
        /// The CC sector being updated.
        key: SectorKey,
        /// The encode's commitments.
        update: Update,
        /// The update proof.
        proof: UpdateProof,
    },
    /// SnapDeals: ProveReplicaUpdates3 is sent and waiting to land.
    Updating {
        /// The new pieces.
        base: SectorBase,
        /// The CC sector being updated.
        key: SectorKey,
        /// The encode's commitments.
        update: Update,
        /// The proof sent, kept for a resend.
        proof: UpdateProof,
        /// The message that carries it.
        message: MessageCid,
    },
    /// SnapDeals: the update is on chain; the sector key is being dropped.
    UpdateFinalizing {
        /// The new pieces.
        base: SectorBase,
        /// The CC sector that was updated.
        key: SectorKey,
        /// The new commitments, now on chain.
        update: Update,
    },
    /// AddPiece, PC1 or PC2 failed.
    SealFailed(Failure),
    /// The precommit failed, or its ticket expired.
    PreCommitFailed(Failure),
    /// C1 or C2 failed, or the proof did not verify.
    ComputeProofFailed(Failure),
    /// The prove-commit failed.
    ProveCommitFailed(Failure),
    /// Finalize failed.
    FinalizeFailed(Failure),
    /// A SnapDeals stage failed.
    UpdateFailed(Failure),
    /// Removed by the operator; its files are being deleted.
    Removing,
    /// Gone. Terminal.
    Removed,
}

impl SectorState {
    /// A new, empty sector sealed with `proof`.
    pub fn new(proof: SealProof) -> Self {
        SectorState::Packing {
            base: SectorBase::new(proof),
            target: Target::Seal,
        }
    }

    /// Every [`SectorState::name`], in the order of the diagram.
    pub const NAMES: [&'static str; 26] = [
        "Packing",
        "AddPiece",
        "PC1",
        "PC2",
        "PreCommitReady",
        "PreCommitting",
        "WaitSeed",
        "C1",
        "C2",
        "ProveCommitReady",
        "ProveCommitting",
        "Finalizing",
        "Proving",
        "UpdateEncode",
        "UpdateProve",
        "UpdateReady",
        "Updating",
        "UpdateFinalizing",
        "SealFailed",
        "PreCommitFailed",
        "ComputeProofFailed",
        "ProveCommitFailed",
        "FinalizeFailed",
        "UpdateFailed",
        "Removing",
        "Removed",
    ];

    /// The state's name, for logs, metrics and the CLI.
    pub fn name(&self) -> &'static str {
        match self {
            SectorState::Packing { .. } => "Packing",
            SectorState::AddPiece { .. } => "AddPiece",
            SectorState::Pc1 { .. } => "PC1",
            SectorState::Pc2 { .. } => "PC2",
            SectorState::PreCommitReady { .. } => "PreCommitReady",
            SectorState::PreCommitting { .. } => "PreCommitting",
            SectorState::WaitSeed { .. } => "WaitSeed",
            SectorState::C1 { .. } => "C1",
            SectorState::C2 { .. } => "C2",
            SectorState::ProveCommitReady { .. } => "ProveCommitReady",
            SectorState::ProveCommitting { .. } => "ProveCommitting",
            SectorState::Finalizing { .. } => "Finalizing",
            SectorState::Proving { .. } => "Proving",
            SectorState::UpdateEncode { .. } => "UpdateEncode",
            SectorState::UpdateProve { .. } => "UpdateProve",
            SectorState::UpdateReady { .. } => "UpdateReady",
            SectorState::Updating { .. } => "Updating",
            SectorState::UpdateFinalizing { .. } => "UpdateFinalizing",
            SectorState::SealFailed(_) => "SealFailed",
            SectorState::PreCommitFailed(_) => "PreCommitFailed",
            SectorState::ComputeProofFailed(_) => "ComputeProofFailed",
            SectorState::ProveCommitFailed(_) => "ProveCommitFailed",
            SectorState::FinalizeFailed(_) => "FinalizeFailed",
            SectorState::UpdateFailed(_) => "UpdateFailed",
            SectorState::Removing => "Removing",
            SectorState::Removed => "Removed",
        }
    }

    /// The sector's base data; `None` for failure states (see
    /// [`Failure::retry_from`]) and removed sectors.
    pub fn base(&self) -> Option<&SectorBase> {
        match self {
            SectorState::Packing { base, .. }
            | SectorState::AddPiece { base, .. }
            | SectorState::Pc1 { base }
            | SectorState::Pc2 { base, .. }
            | SectorState::PreCommitReady { base, .. }
            | SectorState::PreCommitting { base, .. }
            | SectorState::WaitSeed { base, .. }
            | SectorState::C1 { base, .. }
            | SectorState::C2 { base, .. }
            | SectorState::ProveCommitReady { base, .. }
            | SectorState::ProveCommitting { base, .. }
            | SectorState::Finalizing { base, .. }
            | SectorState::Proving { base, .. }
            | SectorState::UpdateEncode { base, .. }
            | SectorState::UpdateProve { base, .. }
            | SectorState::UpdateReady { base, .. }
            | SectorState::Updating { base, .. }
            | SectorState::UpdateFinalizing { base, .. } => Some(base),
            _ => None,
        }
    }

    fn base_mut(&mut self) -> Option<&mut SectorBase> {
        match self {
            SectorState::Packing { base, .. }
            | SectorState::AddPiece { base, .. }
            | SectorState::Pc1 { base }
            | SectorState::Pc2 { base, .. }
            | SectorState::PreCommitReady { base, .. }
            | SectorState::PreCommitting { base, .. }
            | SectorState::WaitSeed { base, .. }
            | SectorState::C1 { base, .. }
            | SectorState::C2 { base, .. }
            | SectorState::ProveCommitReady { base, .. }
            | SectorState::ProveCommitting { base, .. }
            | SectorState::Finalizing { base, .. }
            | SectorState::Proving { base, .. }
            | SectorState::UpdateEncode { base, .. }
            | SectorState::UpdateProve { base, .. }
            | SectorState::UpdateReady { base, .. }
            | SectorState::Updating { base, .. }
            | SectorState::UpdateFinalizing { base, .. } => Some(base),
            _ => None,
        }
    }

    /// The sealing the chain knows the sector by (its ticket, CommR and
    /// CommD), once PC2 has produced it; during an update, the CC sector's
    /// until the update lands.
    pub fn sealed(&self) -> Option<&Sealed> {
        match self {
            SectorState::PreCommitReady { sealed, .. }
            | SectorState::PreCommitting { sealed, .. }
            | SectorState::WaitSeed { sealed, .. }
            | SectorState::C1 { sealed, .. }
            | SectorState::C2 { sealed, .. }
            | SectorState::ProveCommitReady { sealed, .. }
            | SectorState::ProveCommitting { sealed, .. }
            | SectorState::Finalizing { sealed, .. }
            | SectorState::Proving { sealed, .. } => Some(sealed),
            SectorState::UpdateEncode { key, .. }
            | SectorState::UpdateProve { key, .. }
            | SectorState::UpdateReady { key, .. }
            | SectorState::Updating { key, .. }
            | SectorState::UpdateFinalizing { key, .. } => Some(&key.sealed),
            SectorState::Packing { target, .. } | SectorState::AddPiece { target, .. } => {
                match target {
                    Target::Snap(key) => Some(&key.sealed),
                    Target::Seal => None,
                }
            }
            _ => None,
        }
    }

    /// The failure and its kind, if this is a failure state.
    pub fn failure(&self) -> Option<(FailureKind, &Failure)> {
        match self {
            SectorState::SealFailed(f) => Some((FailureKind::Seal, f)),
            SectorState::PreCommitFailed(f) => Some((FailureKind::PreCommit, f)),
            SectorState::ComputeProofFailed(f) => Some((FailureKind::ComputeProof, f)),
            SectorState::ProveCommitFailed(f) => Some((FailureKind::ProveCommit, f)),
            SectorState::FinalizeFailed(f) => Some((FailureKind::Finalize, f)),
            SectorState::UpdateFailed(f) => Some((FailureKind::Update, f)),
            _ => None,
        }
    }

    /// For a failure state: how many times its kind of stage has failed.
    pub fn failed_attempts(&self) -> Option<u32> {
        let (kind, f) = self.failure()?;
        Some(f.retry_from.base().map_or(0, |b| b.attempts.get(kind)))
    }

    /// Whether the chain knows the sector (its precommit has landed): removing
    /// it then leaves a precommit or a sector on chain, which the CLI should
    /// make the operator confirm.
    pub fn is_on_chain(&self) -> bool {
        match self {
            SectorState::WaitSeed { .. }
            | SectorState::C1 { .. }
            | SectorState::C2 { .. }
            | SectorState::ProveCommitReady { .. }
            | SectorState::ProveCommitting { .. }
            | SectorState::Finalizing { .. }
            | SectorState::Proving { .. }
            | SectorState::UpdateEncode { .. }
            | SectorState::UpdateProve { .. }
            | SectorState::UpdateReady { .. }
            | SectorState::Updating { .. }
            | SectorState::UpdateFinalizing { .. } => true,
            SectorState::Packing { target, .. } | SectorState::AddPiece { target, .. } => {
                matches!(target, Target::Snap(_))
            }
            _ => self
                .failure()
                .is_some_and(|(_, f)| f.retry_from.is_on_chain()),
        }
    }

    /// The worker task running in this state, if any.
    fn task(&self) -> Option<Task> {
        match self {
            SectorState::AddPiece { .. } => Some(Task::AddPiece),
            SectorState::Pc1 { .. } => Some(Task::Pc1),
            SectorState::Pc2 { .. } => Some(Task::Pc2),
            SectorState::C1 { .. } => Some(Task::C1),
            SectorState::C2 { .. } => Some(Task::C2),
            SectorState::Finalizing { .. } => Some(Task::Finalize),
            SectorState::UpdateEncode { .. } => Some(Task::UpdateEncode),
            SectorState::UpdateProve { .. } => Some(Task::UpdateProve),
            SectorState::UpdateFinalizing { .. } => Some(Task::FinalizeUpdate),
            SectorState::Removing => Some(Task::RemoveData),
            _ => None,
        }
    }

    /// What the driver does next in this state.
    pub fn next_action(&self, policy: &RetryPolicy) -> Action {
        match self {
            SectorState::Packing { .. } => Action::WaitPieces,
            SectorState::AddPiece { .. } => Action::AddPiece,
            SectorState::Pc1 { .. } => Action::Pc1,
            SectorState::Pc2 { .. } => Action::Pc2,
            SectorState::PreCommitReady { .. } => Action::SendPreCommit,
            SectorState::PreCommitting { .. } => Action::WaitPreCommit,
            SectorState::WaitSeed { .. } => Action::WaitSeed,
            SectorState::C1 { .. } => Action::C1,
            SectorState::C2 { .. } => Action::C2,
            SectorState::ProveCommitReady { .. } => Action::VerifyAndSendProveCommit,
            SectorState::ProveCommitting { .. } => Action::WaitProveCommit,
            SectorState::Finalizing { .. } => Action::Finalize,
            SectorState::UpdateEncode { .. } => Action::UpdateEncode,
            SectorState::UpdateProve { .. } => Action::UpdateProve,
            SectorState::UpdateReady { .. } => Action::VerifyAndSendUpdate,
            SectorState::Updating { .. } => Action::WaitUpdate,
            SectorState::UpdateFinalizing { .. } => Action::FinalizeUpdate,
            SectorState::Proving { .. } | SectorState::Removed => Action::None,
            SectorState::Removing => Action::RemoveData,
            SectorState::SealFailed(_)
            | SectorState::PreCommitFailed(_)
            | SectorState::ComputeProofFailed(_)
            | SectorState::ProveCommitFailed(_)
            | SectorState::FinalizeFailed(_)
            | SectorState::UpdateFailed(_) => {
                let attempts = self.failed_attempts().unwrap_or(0);
                if policy.allows_retry(attempts) {
                    Action::Retry {
                        after: policy.backoff(attempts),
                    }
                } else {
                    Action::AwaitOperator
                }
            }
        }
    }

    /// The state after `event`, or why the event does not fit. `self` is left
    /// as it was either way: the driver persists the new state, then acts.
    pub fn apply(
        &self,
        event: Event,
        policy: &RetryPolicy,
    ) -> Result<SectorState, TransitionError> {
        use SectorState as S;

        let event_name = event.name();
        let illegal = || TransitionError::Illegal {
            state: self.name(),
            event: event_name,
        };
        let invalid = |reason: String| TransitionError::Invalid {
            state: self.name(),
            event: event_name,
            reason,
        };

        // Operator commands and task failures first: they apply across states.
        match &event {
            Event::Remove => {
                return match self {
                    S::Removing | S::Removed => Err(illegal()),
                    _ => Ok(S::Removing),
                };
            }
            Event::Retry => {
                let (_, f) = self.failure().ok_or_else(illegal)?;
                let attempts = self.failed_attempts().unwrap_or(0);
                return if policy.allows_retry(attempts) {
                    Ok((*f.retry_from).clone())
                } else {
                    Err(TransitionError::RetriesExhausted {
                        state: self.name(),
                        attempts,
                        max: policy.max_attempts,
                    })
                };
            }
            Event::Restart => {
                let (kind, f) = self.failure().ok_or_else(illegal)?;
                let mut resumed = (*f.retry_from).clone();
                if let Some(base) = resumed.base_mut() {
                    base.attempts.clear(kind);
                }
                return Ok(resumed);
            }
            Event::TaskFailed { task, reason } => {
                let running = self.task().ok_or_else(illegal)?;
                if running != *task {
                    return Err(invalid(format!(
                        "a {} failure, but the sector runs {}",
                        task.name(),
                        running.name()
                    )));
                }
                let reason = format!("{} failed: {reason}", task.name());
                return Ok(match self {
                    S::AddPiece { .. } | S::Pc1 { .. } | S::Pc2 { .. } => {
                        fail(FailureKind::Seal, reason, self.clone())
                    }
                    S::C1 {
                        base,
                        sealed,
                        challenge,
                    }
                    | S::C2 {
                        base,
                        sealed,
                        challenge,
                    } => fail(
                        FailureKind::ComputeProof,
                        reason,
                        retry_c1(base, sealed, challenge),
                    ),
                    S::Finalizing { .. } => fail(FailureKind::Finalize, reason, self.clone()),
                    S::UpdateEncode { .. } | S::UpdateProve { .. } | S::UpdateFinalizing { .. } => {
                        fail(FailureKind::Update, reason, self.clone())
                    }
                    // Deleting files has no failure state: the driver tries again.
                    _ => self.clone(),
                });
            }
            _ => {}
        }

        match (self, event) {
            // Packing and AddPiece.
            (S::Packing { base, target }, Event::AssignPiece { piece }) => {
                let adding = place(&base.pieces, piece, base.sector_bytes())?;
                Ok(S::AddPiece {
                    base: base.clone(),
                    adding,
                    then: AfterAddPiece::Packing,
                    queued: Vec::new(),
                    target: target.clone(),
                })
            }
            (
                S::Proving {
                    base,
                    sealed,
                    activation,
                },
                Event::AssignPiece { piece },
            ) => update::open(base, sealed, *activation, piece).map_err(invalid),
            (
                S::AddPiece {
                    base,
                    adding,
                    then: AfterAddPiece::Packing,
                    queued,
                    target,
                },
                Event::AssignPiece { piece },
            ) => {
                let mut more = queued.clone();
                more.push(piece);
                // Refused, and nothing changes, if the pieces would not fit
                // after those being written.
                place_all(&planned(base, adding), &more, base.sector_bytes())?;
                Ok(S::AddPiece {
                    base: base.clone(),
                    adding: adding.clone(),
                    then: AfterAddPiece::Packing,
                    queued: more,
                    target: target.clone(),
                })
            }
            (S::Packing { base, target }, Event::StartSealing) => {
                let adding: Vec<PieceToAdd> =
                    fillers(used_bytes(&base.pieces), base.sector_bytes())?
                        .into_iter()
                        .map(PieceToAdd::Filler)
                        .collect();
                if adding.is_empty() {
                    Ok(packed(base.clone(), target))
                } else {
                    Ok(S::AddPiece {
                        base: base.clone(),
                        adding,
                        then: AfterAddPiece::Seal,
                        queued: Vec::new(),
                        target: target.clone(),
                    })
                }
            }
            (
                S::AddPiece {
                    base,
                    adding,
                    then,
                    queued,
                    target,
                },
                Event::PieceAdded { pieces },
            ) => match written(adding, &pieces) {
                Err(reason) => Ok(fail(FailureKind::Seal, reason, self.clone())),
                Ok(new) => {
                    let mut base = base.clone();
                    base.pieces.extend(new);
                    Ok(match then {
                        AfterAddPiece::Packing if !queued.is_empty() => S::AddPiece {
                            adding: place_all(&base.pieces, queued, base.sector_bytes())?,
                            base,
                            then: AfterAddPiece::Packing,
                            queued: Vec::new(),
                            target: target.clone(),
                        },
                        AfterAddPiece::Packing => S::Packing {
                            base,
                            target: target.clone(),
                        },
                        AfterAddPiece::Seal => packed(base, target),
                    })
                }
            },

            // PreCommit.
            (
                S::Pc1 { base },
                Event::Pc1Done {
                    ticket,
                    ticket_epoch,
                    output,
                },
            ) => Ok(S::Pc2 {
                base: base.clone(),
                ticket: TicketInfo {
                    ticket,
                    epoch: ticket_epoch,
                },
                pc1: output,
            }),
            (S::Pc2 { base, ticket, .. }, Event::Pc2Done { comm_r, comm_d }) => {
                Ok(S::PreCommitReady {
                    base: base.clone(),
                    sealed: Sealed {
                        ticket: *ticket,
                        comm_r,
                        comm_d,
                    },
                })
            }
            (S::PreCommitReady { base, sealed }, Event::PreCommitSent { message }) => {
                Ok(S::PreCommitting {
                    base: base.clone(),
                    sealed: *sealed,
                    message,
                })
            }
            // From WaitSeed to ProveCommitReady: a reorganisation moved the
            // precommit to another epoch, so its seed changes and the commit
            // starts again from the wait.
            (
                S::PreCommitReady { base, sealed }
                | S::PreCommitting { base, sealed, .. }
                | S::WaitSeed { base, sealed, .. }
                | S::C1 { base, sealed, .. }
                | S::C2 { base, sealed, .. }
                | S::ProveCommitReady { base, sealed, .. },
                Event::PreCommitLanded { epoch },
            ) => {
                if epoch < sealed.ticket.epoch {
                    return Err(invalid(format!(
                        "landed at epoch {epoch}, before its ticket's epoch {}",
                        sealed.ticket.epoch
                    )));
                }
                Ok(S::WaitSeed {
                    base: base.clone(),
                    sealed: *sealed,
                    precommit_epoch: epoch,
                })
            }
            (
                S::PreCommitReady { base, sealed } | S::PreCommitting { base, sealed, .. },
                Event::PreCommitFailed { reason },
            ) => Ok(fail(
                FailureKind::PreCommit,
                reason,
                S::PreCommitReady {
                    base: base.clone(),
                    sealed: *sealed,
                },
            )),
            (
                S::PreCommitReady { base, .. } | S::PreCommitting { base, .. },
                Event::TicketExpired,
            ) => Ok(fail(
                FailureKind::PreCommit,
                "ticket expired: sealing again with a new ticket".to_string(),
                S::Pc1 { base: base.clone() },
            )),

            // Commit.
            (
                S::WaitSeed {
                    base,
                    sealed,
                    precommit_epoch,
                },
                Event::SeedReady { seed, epoch },
            ) => {
                if epoch <= *precommit_epoch {
                    return Err(invalid(format!(
                        "seed epoch {epoch} is not after the precommit epoch {precommit_epoch}"
                    )));
                }
                Ok(S::C1 {
                    base: base.clone(),
                    sealed: *sealed,
                    challenge: Challenge {
                        precommit_epoch: *precommit_epoch,
                        seed,
                        seed_epoch: epoch,
                    },
                })
            }
            (
                S::C1 {
                    base,
                    sealed,
                    challenge,
                },
                Event::C1Done,
            ) => Ok(S::C2 {
                base: base.clone(),
                sealed: *sealed,
                challenge: *challenge,
            }),
            (
                S::C2 {
                    base,
                    sealed,
                    challenge,
                },
                Event::C2Done { proof },
            ) => {
                if proof.0.is_empty() {
                    return Ok(fail(
                        FailureKind::ComputeProof,
                        "C2 returned an empty proof".to_string(),
                        retry_c1(base, sealed, challenge),
                    ));
                }
                Ok(S::ProveCommitReady {
                    base: base.clone(),
                    sealed: *sealed,
                    challenge: *challenge,
                    proof,
                })
            }
            (
                S::ProveCommitReady {
                    base,
                    sealed,
                    challenge,
                    ..
                },
                Event::ProofInvalid { reason },
            ) => Ok(fail(
                FailureKind::ComputeProof,
                format!("proof did not verify: {reason}"),
                retry_c1(base, sealed, challenge),
            )),
            (
                S::ProveCommitReady {
                    base,
                    sealed,
                    challenge,
                    proof,
                },
                Event::ProveCommitSent { message },
            ) => Ok(S::ProveCommitting {
                base: base.clone(),
                sealed: *sealed,
                challenge: *challenge,
                proof: proof.clone(),
                message,
            }),
            (
                S::ProveCommitReady {
                    base,
                    sealed,
                    challenge,
                    ..
                }
                | S::ProveCommitting {
                    base,
                    sealed,
                    challenge,
                    ..
                },
                Event::ProveCommitLanded { epoch },
            ) => {
                if epoch <= challenge.precommit_epoch {
                    return Err(invalid(format!(
                        "landed at epoch {epoch}, not after the precommit epoch {}",
                        challenge.precommit_epoch
                    )));
                }
                Ok(S::Finalizing {
                    base: base.clone(),
                    sealed: *sealed,
                    activation: epoch,
                })
            }
            (
                S::ProveCommitReady {
                    base,
                    sealed,
                    challenge,
                    proof,
                }
                | S::ProveCommitting {
                    base,
                    sealed,
                    challenge,
                    proof,
                    ..
                },
                Event::ProveCommitFailed { reason },
            ) => Ok(fail(
                FailureKind::ProveCommit,
                reason,
                S::ProveCommitReady {
                    base: base.clone(),
                    sealed: *sealed,
                    challenge: *challenge,
                    proof: proof.clone(),
                },
            )),

            // Finalize and removal.
            (
                S::Finalizing {
                    base,
                    sealed,
                    activation,
                },
                Event::Finalized,
            ) => Ok(S::Proving {
                base: base.clone(),
                sealed: *sealed,
                activation: *activation,
            }),
            (S::Removing, Event::DataRemoved) => Ok(S::Removed),

            // SnapDeals.
            (s, event) => match update::apply(s, event) {
                Some(Ok(next)) => Ok(next),
                Some(Err(reason)) => Err(invalid(reason)),
                None => Err(illegal()),
            },
        }
    }
}

/// Where a packed sector goes: PC1 for a new sector, the encode for an
/// update.
fn packed(base: SectorBase, target: &Target) -> SectorState {
    match target {
        Target::Seal => SectorState::Pc1 { base },
        Target::Snap(key) => SectorState::UpdateEncode {
            base,
            key: key.clone(),
        },
    }
}

/// The failure of `kind`, counted in `retry_from`'s attempts.
pub(crate) fn fail(kind: FailureKind, reason: String, mut retry_from: SectorState) -> SectorState {
    if let Some(base) = retry_from.base_mut() {
        base.attempts.record(kind);
    }
    let f = Failure {
        reason,
        retry_from: Box::new(retry_from),
    };
    match kind {
        FailureKind::Seal => SectorState::SealFailed(f),
        FailureKind::PreCommit => SectorState::PreCommitFailed(f),
        FailureKind::ComputeProof => SectorState::ComputeProofFailed(f),
        FailureKind::ProveCommit => SectorState::ProveCommitFailed(f),
        FailureKind::Finalize => SectorState::FinalizeFailed(f),
        FailureKind::Update => SectorState::UpdateFailed(f),
    }
}

/// C1 again: a failed C2 or a bad proof may come from a lost or bad C1 output,
/// and C1 is cheap next to C2.
fn retry_c1(base: &SectorBase, sealed: &Sealed, challenge: &Challenge) -> SectorState {
    SectorState::C1 {
        base: base.clone(),
        sealed: *sealed,
        challenge: *challenge,
    }
}

/// The pieces AddPiece wrote, checked against those it was given.
fn written(adding: &[PieceToAdd], reported: &[PieceInfo]) -> Result<Vec<SectorPiece>, String> {
    if adding.len() != reported.len() {
        return Err(format!(
            "AddPiece reported {} pieces where {} were asked",
            reported.len(),
            adding.len()
        ));
    }
    adding
        .iter()
        .zip(reported)
        .map(|(a, r)| a.written(*r))
        .collect()
}

#[cfg(test)]
mod tests;
