//! Workers: the hosts that run tasks, and what they declare about themselves.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::storage::PathId;
use crate::task::TaskKind;

/// A worker's name, stable across its restarts (a worker that registers again
/// under the same id is taken to have restarted).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkerId(pub String);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a worker declares when it registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Its name.
    pub id: WorkerId,
    /// The host it runs on, for display and for file transfers.
    pub hostname: String,
    /// CPU cores the scheduler may fill.
    pub cores: u32,
    /// Bytes of RAM the scheduler may fill.
    pub memory: u64,
    /// GPU slots the scheduler may fill: a task that wants a GPU takes one
    /// (0 for a CPU-only worker). A worker offers a slot per card by default,
    /// more where cards are shared (`[proofs.gpu] tasks_per_gpu`).
    pub gpus: u32,
    /// The cards behind those slots, for display.
    #[serde(default)]
    pub gpu_devices: Vec<GpuDevice>,
    /// The task kinds it takes (`--tasks`).
    pub kinds: BTreeSet<TaskKind>,
    /// How many tasks of a kind it runs at once (its `[proofs.limits]`): the
    /// scheduler sends no more. A kind not listed is bounded by resources
    /// alone.
    #[serde(default)]
    pub max_running: BTreeMap<TaskKind, u32>,
    /// The storage paths it has attached locally.
    pub paths: Vec<PathId>,
}

/// A card a worker proves on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuDevice {
    /// Its model, as the driver names it.
    pub model: String,
    /// Its memory in bytes.
    pub memory: u64,
}

impl WorkerInfo {
    /// Whether it takes tasks of `kind`.
    pub fn accepts(&self, kind: TaskKind) -> bool {
        self.kinds.contains(&kind)
    }
}
