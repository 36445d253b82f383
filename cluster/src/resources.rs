//! What a task needs from a worker: RAM, cores and a GPU, per task kind and
//! sector size, as a table the operator can override in the config.
//!
//! The defaults are Lotus's `ResourceTable` (lotus
//! `storage/sealer/storiface/resources.go`, which Curio inherited for its
//! sealing tasks), mapped as follows:
//! - `memory` is Lotus's `MinMemory`, the RAM that must be free for the task
//!   to run at a decent speed. Lotus's `BaseMinMemory` (parameters shared by
//!   the tasks of a kind on one host) is not modelled separately.
//! - `cores` is `MaxParallelism`: 1 and 0 stay as they are, and -1
//!   (multithreaded) becomes [`ALL_CORES`], so the task takes the whole CPU.
//! - `gpu` is `GPUUtilization > 0`. As in Lotus, a GPU task on a worker with
//!   GPUs takes one whole GPU and `gpu_cores` cores (`MaxParallelismGPU`); on a
//!   worker without GPUs it runs on the CPU and takes `cores`.
//! - Lotus has no entry for Finalize; it moves files, so it gets Fetch's.
//!   Unseal gets PC1's, as in Lotus.
//! - SnapDeals: UpdateEncode (Lotus's ReplicaUpdate) builds trees over the
//!   whole sector as PC2 does, and gets PC2's entry; UpdateProve (Lotus's
//!   ProveReplicaUpdate2, whose entry Lotus copied from Commit2) gets C2's.

use std::collections::BTreeMap;

use ferrite_types::SectorSize;
use serde::{Deserialize, Deserializer, Serialize};

use crate::task::TaskKind;
use crate::worker::WorkerInfo;

/// "As many cores as the worker has" (Lotus's `MaxParallelism: -1`).
pub const ALL_CORES: u32 = u32::MAX;

/// The resources one task holds on a worker while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Bytes of RAM.
    pub memory: u64,
    /// Cores when running on the CPU; [`ALL_CORES`] for the whole CPU.
    pub cores: u32,
    /// Whether it uses a GPU when the worker has one.
    #[serde(default)]
    pub gpu: bool,
    /// Cores while it runs on a GPU (it still feeds the GPU from the CPU).
    #[serde(default)]
    pub gpu_cores: u32,
}

/// What a task holds on one particular worker: [`Resources`] resolved
/// against the worker's hardware.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of RAM.
    pub memory: u64,
    /// Cores.
    pub cores: u32,
    /// Whole GPUs.
    pub gpus: u32,
}

impl Usage {
    /// `self + other`, saturating.
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            memory: self.memory.saturating_add(other.memory),
            cores: self.cores.saturating_add(other.cores),
            gpus: self.gpus.saturating_add(other.gpus),
        }
    }

    /// `self - other`, saturating at zero.
    pub fn minus(self, other: Usage) -> Usage {
        Usage {
            memory: self.memory.saturating_sub(other.memory),
            cores: self.cores.saturating_sub(other.cores),
            gpus: self.gpus.saturating_sub(other.gpus),
        }
    }

    /// Whether every component is at most `capacity`'s.
    pub fn within(self, capacity: Usage) -> bool {
        self.memory <= capacity.memory && self.cores <= capacity.cores && self.gpus <= capacity.gpus
    }

    /// A worker's whole capacity.
    pub fn capacity_of(worker: &WorkerInfo) -> Usage {
        Usage {
            memory: worker.memory,
            cores: worker.cores,
            gpus: worker.gpus,
        }
    }
}

impl Resources {
    /// What the task holds on `worker`.
    pub fn on(&self, worker: &WorkerInfo) -> Usage {
        let on_gpu = self.gpu && worker.gpus > 0;
        let cores = if on_gpu && self.gpu_cores > 0 {
            self.gpu_cores
        } else {
            self.cores
        };
        Usage {
            memory: self.memory,
            cores: cores.min(worker.cores),
            gpus: u32::from(on_gpu),
        }
    }
}

/// Resources per task kind and sector size. In the config, entries given
/// under `[cluster.resources.<kind>.<size>]` replace the default entry and
/// leave the others as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ResourceTable(BTreeMap<TaskKind, BTreeMap<SectorSize, Resources>>);

impl ResourceTable {
    /// A table with no entry; every task is refused until entries are [`set`](Self::set).
    pub fn empty() -> Self {
        ResourceTable(BTreeMap::new())
    }

    /// The entry for `kind` on `size` sectors.
    pub fn get(&self, kind: TaskKind, size: SectorSize) -> Option<&Resources> {
        self.0.get(&kind).and_then(|m| m.get(&size))
    }

    /// Sets the entry for `kind` on `size` sectors.
    pub fn set(&mut self, kind: TaskKind, size: SectorSize, res: Resources) {
        self.0.entry(kind).or_default().insert(size, res);
    }
}

impl<'de> Deserialize<'de> for ResourceTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let overrides = BTreeMap::<TaskKind, BTreeMap<SectorSize, Resources>>::deserialize(d)?;
        let mut table = ResourceTable::default();
        for (kind, sizes) in overrides {
            for (size, res) in sizes {
                table.set(kind, size, res);
            }
        }
        Ok(table)
    }
}

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

fn cpu(memory: u64, cores: u32) -> Resources {
    Resources {
        memory,
        cores,
        gpu: false,
        gpu_cores: 0,
    }
}

fn gpu(memory: u64, cores: u32, gpu_cores: u32) -> Resources {
    Resources {
        memory,
        cores,
        gpu: true,
        gpu_cores,
    }
}

/// One row of the default table: the entries for 2 KiB, 8 MiB, 512 MiB,
/// 32 GiB and 64 GiB sectors, in [`SectorSize::ALL`]'s order.
type Row = [Resources; 5];

fn default_row(kind: TaskKind) -> Row {
    let fetch = cpu(MIB, 0);
    match kind {
        TaskKind::AddPiece => [
            cpu(2 * KIB, 1),
            cpu(8 * MIB, 1),
            cpu(GIB, 1),
            cpu(4 * GIB, 1),
            cpu(8 * GIB, 1),
        ],
        TaskKind::Pc1 | TaskKind::Unseal => [
            cpu(2 * KIB, 1),
            cpu(8 * MIB, 1),
            cpu(768 * MIB, 1),
            cpu(56 * GIB, 1),
            cpu(112 * GIB, 1),
        ],
        TaskKind::Pc2 | TaskKind::UpdateEncode => [
            cpu(2 * KIB, ALL_CORES),
            cpu(8 * MIB, ALL_CORES),
            cpu(GIB, ALL_CORES),
            gpu(15 * GIB, ALL_CORES, 6),
            gpu(30 * GIB, ALL_CORES, 6),
        ],
        // Commit1 takes ~100 ms: no core is reserved for it.
        TaskKind::C1 => [
            cpu(2 * KIB, 0),
            cpu(8 * MIB, 0),
            cpu(GIB, 0),
            cpu(GIB, 0),
            cpu(GIB, 0),
        ],
        TaskKind::C2 | TaskKind::UpdateProve => [
            gpu(2 * KIB, 1, 0),
            gpu(8 * MIB, 1, 0),
            gpu(GIB, 1, 0),
            gpu(30 * GIB, ALL_CORES, 6),
            gpu(60 * GIB, ALL_CORES, 6),
        ],
        TaskKind::Finalize | TaskKind::Fetch => [fetch; 5],
        TaskKind::WindowPost => [
            gpu(2 * KIB, 1, 0),
            gpu(8 * MIB, 1, 0),
            gpu(GIB, 1, 0),
            gpu(30 * GIB, ALL_CORES, 6),
            gpu(60 * GIB, ALL_CORES, 6),
        ],
        TaskKind::WinningPost => [
            gpu(2 * KIB, 1, 0),
            gpu(8 * MIB, 1, 0),
            gpu(2 * KIB, 1, 0),
            gpu(GIB, ALL_CORES, 6),
            gpu(GIB, ALL_CORES, 6),
        ],
    }
}

impl Default for ResourceTable {
    /// Lotus's table; see the module documentation.
    fn default() -> Self {
        let mut table = ResourceTable::empty();
        for kind in TaskKind::ALL {
            for (size, res) in SectorSize::ALL.into_iter().zip(default_row(kind)) {
                table.set(kind, size, res);
            }
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(cores: u32, gpus: u32) -> WorkerInfo {
        WorkerInfo {
            id: crate::WorkerId("w".into()),
            hostname: "h".into(),
            cores,
            memory: 256 * GIB,
            gpus,
            gpu_devices: vec![],
            kinds: TaskKind::ALL.into_iter().collect(),
            max_running: Default::default(),
            paths: vec![],
        }
    }

    #[test]
    fn defaults_cover_every_kind_and_size() {
        let t = ResourceTable::default();
        for kind in TaskKind::ALL {
            for size in SectorSize::ALL {
                assert!(t.get(kind, size).is_some(), "{kind} {size}");
            }
        }
        assert_eq!(
            t.get(TaskKind::Pc1, SectorSize::S32GiB).map(|r| r.memory),
            Some(56 * GIB)
        );
    }

    #[test]
    fn gpu_tasks_take_a_gpu_only_where_there_is_one() {
        let c2 = ResourceTable::default()
            .get(TaskKind::C2, SectorSize::S32GiB)
            .copied()
            .unwrap();
        assert_eq!(
            c2.on(&worker(32, 1)),
            Usage {
                memory: 30 * GIB,
                cores: 6,
                gpus: 1
            }
        );
        assert_eq!(
            c2.on(&worker(32, 0)),
            Usage {
                memory: 30 * GIB,
                cores: 32,
                gpus: 0
            }
        );
    }

    #[test]
    fn snap_deal_kinds_default_to_pc2_and_c2() {
        let t = ResourceTable::default();
        for size in SectorSize::ALL {
            assert_eq!(
                t.get(TaskKind::UpdateEncode, size),
                t.get(TaskKind::Pc2, size)
            );
            assert_eq!(
                t.get(TaskKind::UpdateProve, size),
                t.get(TaskKind::C2, size)
            );
        }
        let prove = t
            .get(TaskKind::UpdateProve, SectorSize::S32GiB)
            .copied()
            .unwrap();
        assert_eq!(prove.on(&worker(32, 1)).gpus, 1);
    }

    #[test]
    fn config_entries_override_single_defaults() {
        // The config loader deserializes a map of overrides; CBOR (the
        // store's codec) goes through the same serde data model.
        let mut overrides: BTreeMap<TaskKind, BTreeMap<SectorSize, Resources>> = BTreeMap::new();
        overrides
            .entry(TaskKind::Pc1)
            .or_default()
            .insert(SectorSize::S32GiB, cpu(1, 2));
        let bytes = ferrite_store::codec::encode("t", &overrides).unwrap();
        let t: ResourceTable = ferrite_store::codec::decode("t", &bytes).unwrap();
        assert_eq!(t.get(TaskKind::Pc1, SectorSize::S32GiB), Some(&cpu(1, 2)));
        assert_eq!(
            t.get(TaskKind::Pc1, SectorSize::S64GiB).map(|r| r.memory),
            Some(112 * GIB)
        );
    }
}
