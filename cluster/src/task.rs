//! Tasks: what the scheduler hands to workers.

use std::fmt;
use std::str::FromStr;

use ferrite_types::{SectorId, SectorSize};
use serde::{Deserialize, Serialize};

/// A task's identity, chosen by whoever enqueues it (sealing, proving,
/// retrieval), unique among the tasks the scheduler holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The kinds of work a worker can accept. The names (`pc1`, `wdpost`, …) are
/// those of `ferrite worker --tasks` and of the config tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// Write a piece into the unsealed file.
    AddPiece,
    /// PreCommit1: SDR layer generation (CPU, memory-heavy).
    Pc1,
    /// PreCommit2: tree C and tree R (GPU when there is one).
    Pc2,
    /// Commit1: vanilla proofs (short).
    C1,
    /// Commit2: the SNARK (GPU when there is one).
    C2,
    /// Move the sector to long-term storage and drop the PC1 layers.
    Finalize,
    /// SnapDeals: encode new data into a proven CC sector's replica.
    #[serde(rename = "update-encode")]
    UpdateEncode,
    /// SnapDeals: prove the update (the SNARK, GPU when there is one).
    #[serde(rename = "update-prove")]
    UpdateProve,
    /// Copy sector files between hosts.
    Fetch,
    /// WindowPoSt for a partition; has a chain deadline.
    #[serde(rename = "wdpost")]
    WindowPost,
    /// WinningPoSt for an election; has a block deadline.
    #[serde(rename = "wnpost")]
    WinningPost,
    /// Recreate an unsealed copy for retrieval.
    Unseal,
}

impl TaskKind {
    /// Every kind, in declaration order.
    pub const ALL: [TaskKind; 12] = [
        TaskKind::AddPiece,
        TaskKind::Pc1,
        TaskKind::Pc2,
        TaskKind::C1,
        TaskKind::C2,
        TaskKind::Finalize,
        TaskKind::UpdateEncode,
        TaskKind::UpdateProve,
        TaskKind::Fetch,
        TaskKind::WindowPost,
        TaskKind::WinningPost,
        TaskKind::Unseal,
    ];

    /// The short name, as in `--tasks pc1,pc2`.
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::AddPiece => "addpiece",
            TaskKind::Pc1 => "pc1",
            TaskKind::Pc2 => "pc2",
            TaskKind::C1 => "c1",
            TaskKind::C2 => "c2",
            TaskKind::Finalize => "finalize",
            TaskKind::UpdateEncode => "update-encode",
            TaskKind::UpdateProve => "update-prove",
            TaskKind::Fetch => "fetch",
            TaskKind::WindowPost => "wdpost",
            TaskKind::WinningPost => "wnpost",
            TaskKind::Unseal => "unseal",
        }
    }

    /// Whether the task proves existing sectors on a chain deadline. Proving
    /// tasks are assigned before any sealing task: a missed WindowPoSt costs
    /// a fault fee, a late PC1 costs nothing.
    pub fn is_proving(self) -> bool {
        matches!(self, TaskKind::WindowPost | TaskKind::WinningPost)
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A task kind name that is not one of [`TaskKind::name`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown task kind {0:?} (expected one of addpiece, pc1, pc2, c1, c2, finalize, update-encode, update-prove, fetch, wdpost, wnpost, unseal)"
)]
pub struct UnknownTaskKind(pub String);

impl FromStr for TaskKind {
    type Err = UnknownTaskKind;
    fn from_str(s: &str) -> Result<Self, UnknownTaskKind> {
        let lower = s.trim().to_ascii_lowercase();
        TaskKind::ALL
            .into_iter()
            .find(|k| k.name() == lower)
            .ok_or_else(|| UnknownTaskKind(s.to_string()))
    }
}

/// One unit of work for one sector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Unique among queued and running tasks.
    pub id: TaskId,
    /// What to do.
    pub kind: TaskKind,
    /// The sector it works on (for PoSt tasks, the first sector of the
    /// partition: it only steers the choice towards the host with the files).
    pub sector: SectorId,
    /// The sector size, which selects the resource entry.
    pub size: SectorSize,
    /// Higher runs first within the same class (proving or sealing). Default 0.
    pub priority: i32,
}

/// Where a task the scheduler holds stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for a worker with room.
    Queued,
    /// Assigned to this worker.
    Running(crate::worker::WorkerId),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_match_the_serde_names() {
        for kind in TaskKind::ALL {
            assert_eq!(kind.name().parse::<TaskKind>(), Ok(kind));
            assert_eq!(kind.name().to_uppercase().parse::<TaskKind>(), Ok(kind));
            let bytes = ferrite_store::codec::encode("t", &kind).unwrap();
            let as_string: String = ferrite_store::codec::decode("t", &bytes).unwrap();
            assert_eq!(as_string, kind.name());
        }
        assert!("pc3".parse::<TaskKind>().is_err());
    }

    #[test]
    fn only_post_kinds_are_proving() {
        let proving: Vec<TaskKind> = TaskKind::ALL
            .into_iter()
            .filter(|k| k.is_proving())
            .collect();
        assert_eq!(proving, vec![TaskKind::WindowPost, TaskKind::WinningPost]);
    }
}
