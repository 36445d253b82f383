//! What a worker reports when a task ends: its output, or why it failed.

use std::fmt;

use ferrite_cluster::{TaskId, TaskKind, WorkerId};
use ferrite_types::{CommD, CommR, PieceInfo, PostProof, SectorNumber};

use crate::{C1Output, Pc1Output};

/// Size of one Groth16 proof (BLS12-381, compressed). A PoRep or PoSt proof
/// is one per partition, so its length is a non-zero multiple of this.
pub const GROTH16_PROOF_BYTES: usize = 192;

/// Longest failure reason accepted; [`TaskFailure::new`] truncates to it.
pub const MAX_REASON_BYTES: usize = 4096;

/// The end of a task, as `Complete` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The worker reporting.
    pub worker: WorkerId,
    /// The task.
    pub task: TaskId,
    /// Its output, or its failure.
    pub outcome: TaskOutcome,
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// It ran; this is what it produced. The node checks that the output's
    /// kind is the task's.
    Done(TaskOutput),
    /// It did not.
    Failed(TaskFailure),
}

/// Why a task failed, and whether running it again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// For the operator and the logs: not empty, at most
    /// [`MAX_REASON_BYTES`] bytes.
    pub reason: String,
    /// A lost transfer is retryable; a corrupt replica is not.
    pub retryable: bool,
}

impl TaskFailure {
    /// A failure with `reason`, cut to [`MAX_REASON_BYTES`] at a character
    /// boundary (and `"unknown error"` if it is blank), so it always passes
    /// validation.
    pub fn new(reason: impl fmt::Display, retryable: bool) -> Self {
        let mut reason = reason.to_string();
        if reason.len() > MAX_REASON_BYTES {
            let mut cut = MAX_REASON_BYTES;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
        }
        if reason.trim().is_empty() {
            reason = "unknown error".to_string();
        }
        Self { reason, retryable }
    }
}

/// A task's output, one case per [`TaskKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutput {
    /// The pieces written, in the order asked, with their CommPs.
    AddPiece(Vec<PieceInfo>),
    /// PC1's output, for PC2.
    Pc1(Pc1Output),
    /// The commitments that go into the precommit.
    Pc2 {
        /// The replica commitment.
        comm_r: CommR,
        /// The data commitment.
        comm_d: CommD,
    },
    /// C1's output, for C2.
    C1(C1Output),
    /// The PoRep proof for the prove-commit.
    C2(SealProofBytes),
    /// The sector is in long-term storage.
    Finalize,
    /// The files are here.
    Fetch {
        /// Bytes downloaded.
        bytes: u64,
    },
    /// The WindowPoSt.
    WindowPost(PostOutput),
    /// The WinningPoSt.
    WinningPost(PostOutput),
    /// The range is unsealed.
    Unseal,
    /// The updated sector's commitments, for the update proof and
    /// ProveReplicaUpdates3.
    UpdateEncode {
        /// The new replica's CommR.
        comm_r_new: CommR,
        /// The new data's CommD.
        comm_d_new: CommD,
    },
    /// The update proof.
    UpdateProve(UpdateProofBytes),
}

impl TaskOutput {
    /// The task kind that produces this output.
    pub fn kind(&self) -> TaskKind {
        match self {
            TaskOutput::AddPiece(_) => TaskKind::AddPiece,
            TaskOutput::Pc1(_) => TaskKind::Pc1,
            TaskOutput::Pc2 { .. } => TaskKind::Pc2,
            TaskOutput::C1(_) => TaskKind::C1,
            TaskOutput::C2(_) => TaskKind::C2,
            TaskOutput::Finalize => TaskKind::Finalize,
            TaskOutput::Fetch { .. } => TaskKind::Fetch,
            TaskOutput::WindowPost(_) => TaskKind::WindowPost,
            TaskOutput::WinningPost(_) => TaskKind::WinningPost,
            TaskOutput::Unseal => TaskKind::Unseal,
            TaskOutput::UpdateEncode { .. } => TaskKind::UpdateEncode,
            TaskOutput::UpdateProve(_) => TaskKind::UpdateProve,
        }
    }
}

/// A PoRep proof, as the prove-commit message carries it: a non-zero
/// multiple of [`GROTH16_PROOF_BYTES`] on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct SealProofBytes(pub Vec<u8>);

impl fmt::Debug for SealProofBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealProofBytes({} bytes)", self.0.len())
    }
}

/// A SnapDeals update proof, as ProveReplicaUpdates3 carries it: a non-zero
/// multiple of [`GROTH16_PROOF_BYTES`] on the wire (one per partition).
#[derive(Clone, PartialEq, Eq)]
pub struct UpdateProofBytes(pub Vec<u8>);

impl fmt::Debug for UpdateProofBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UpdateProofBytes({} bytes)", self.0.len())
    }
}

/// What a PoSt task produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostOutput {
    /// The proofs, of the task's PoSt kind; empty only if every sector was
    /// skipped.
    pub proofs: Vec<PostProofBytes>,
    /// Sectors that could not be read and were left out (to declare faulty).
    pub skipped: Vec<SectorNumber>,
}

/// One PoSt proof and its kind.
#[derive(Clone, PartialEq, Eq)]
pub struct PostProofBytes {
    /// Its kind.
    pub proof: PostProof,
    /// The proof: a non-zero multiple of [`GROTH16_PROOF_BYTES`] on the wire.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for PostProofBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PostProofBytes({}, {} bytes)",
            self.proof,
            self.bytes.len()
        )
    }
}
