//! ferrite-cluster: the hosts that do the work, and the disks they write to.
//!
//! Sealing, proving and retrieval all turn their next step into a [`Task`]
//! and hand it here; none of them knows which host will run it.
//!
//! - [`scheduler`]: the [`Scheduler`], a pure state machine (no I/O, no
//!   clock) over queued tasks and registered workers ([`WorkerInfo`]). It
//!   places a task only where its [`Resources`] fit, keeps per-kind caps,
//!   prefers the worker holding the sector's files, runs proving before
//!   sealing, and requeues the tasks of a worker whose heartbeats stop.
//! - [`resources`]: RAM, cores and GPU per task kind and sector size (the
//!   [`ResourceTable`], Lotus's numbers by default), part of [`SchedulerConfig`].
//! - [`storage`]: the [`StorageRegistry`] of attached [`StoragePath`]s and
//!   [`Reservation`]s of their space, persisted in ferrite-store.
//! - [`space`]: how many bytes each task writes, per sector size.
//! - [`transfer`]: sector files between hosts over HTTP: the
//!   [`transfer::sector_files_router`] that serves a host's seal and store
//!   paths, and the [`transfer::Fetcher`] that downloads them with `Range`
//!   resume, size and SHA-256 checks, and an atomic rename into place.
//!
//! Data flow: a pipeline [`Scheduler::enqueue`]s a task. The node's worker
//! service (gRPC, in `ferrite`) feeds [`Scheduler::register`] and
//! [`Scheduler::heartbeat`] from workers, calls [`Scheduler::expire`] and
//! [`Scheduler::assign`] on a timer with the sector-file index, delivers the
//! assignments, and reports [`Scheduler::complete`] or [`Scheduler::fail`].
//! Before a task that writes sector files starts, its driver reserves
//! [`space::task_bytes`] with [`StorageRegistry::reserve`] (a full disk is a
//! [`ClusterError::NoSpace`] then, not a half-written sector) and releases
//! the reservation when the task ends. Registry calls block on disk and
//! database I/O: async callers use `spawn_blocking`.
//!
//! ```
//! use std::collections::HashMap;
//! use std::time::Instant;
//! use ferrite_cluster::{Scheduler, SchedulerConfig, Task, TaskId, TaskKind, WorkerId, WorkerInfo};
//! use ferrite_types::{ActorId, SectorId, SectorNumber, SectorSize};
//!
//! let mut sched = Scheduler::new(SchedulerConfig::default());
//! let now = Instant::now();
//! sched.register(WorkerInfo {
//!     id: WorkerId("host-a".into()),
//!     hostname: "host-a".into(),
//!     cores: 16,
//!     memory: 64 << 30,
//!     gpus: 0,
//!     gpu_devices: vec![],
//!     kinds: [TaskKind::Pc1].into(),
//!     max_running: Default::default(),
//!     paths: vec![],
//! }, now);
//! let sector = SectorId::new(ActorId(1000), SectorNumber(1));
//! sched.enqueue(Task { id: TaskId(1), kind: TaskKind::Pc1, sector, size: SectorSize::S2KiB, priority: 0 })?;
//! let assigned = sched.assign(now, &HashMap::new());
//! assert_eq!(assigned[0].worker, WorkerId("host-a".into()));
//! sched.complete(TaskId(1), &assigned[0].worker)?;
//! # Ok::<(), ferrite_cluster::ClusterError>(())
//! ```
#![warn(missing_docs)]

mod config;
mod error;
pub mod resources;
pub mod scheduler;
pub mod space;
pub mod storage;
mod task;
pub mod transfer;
mod worker;

pub use config::SchedulerConfig;
pub use error::ClusterError;
pub use resources::{ALL_CORES, ResourceTable, Resources, Usage};
pub use scheduler::{Assignment, Expired, Scheduler};
pub use space::FileKind;
pub use storage::{
    AttachPath, DiskSpace, PATH_MARKER, PathId, PathKind, PathMarker, PathStat, Reservation,
    ReservationId, StoragePath, StorageRegistry, read_marker,
};
pub use task::{Task, TaskId, TaskKind, TaskState, UnknownTaskKind};
pub use worker::{GpuDevice, WorkerId, WorkerInfo};
