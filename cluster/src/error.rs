//! The crate's one error type.

use std::path::PathBuf;

use ferrite_store::StoreError;
use ferrite_types::SectorSize;

use crate::storage::{PathId, PathKind, ReservationId};
use crate::task::{TaskId, TaskKind};
use crate::worker::WorkerId;

/// Why a cluster operation failed. Each variant names the path, task or
/// worker it is about, so the CLI can print it as is. Only [`StoreError`]
/// converts implicitly; everything else is a decision written down here.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// `storage attach` on a path that does not exist.
    #[error("storage path {} does not exist", .0.display())]
    PathMissing(PathBuf),
    /// A directory a worker was given that no node attached: it has no
    /// path marker.
    #[error(
        "{} is not an attached storage path: it has no ferrite-path.json (attach it on the node with `ferrite storage attach`)",
        .0.display()
    )]
    NotAttached(PathBuf),
    /// `storage attach` on a file, not a directory.
    #[error("storage path {} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// `storage attach` on a directory where a probe file cannot be created
    /// and removed (read-only mount, permissions, full disk).
    #[error("storage path {} is not writable: {source}", path.display())]
    NotWritable {
        /// The directory.
        path: PathBuf,
        /// What creating or removing the probe file returned.
        source: std::io::Error,
    },
    /// `storage attach` on a directory that is already attached.
    #[error("storage path {} is already attached as path {id}", path.display())]
    AlreadyAttached {
        /// The directory (canonical form).
        path: PathBuf,
        /// The id it is attached under.
        id: PathId,
    },
    /// A storage path id that is not attached.
    #[error("storage path {0} is not attached")]
    UnknownPath(PathId),
    /// `storage detach` of a path that still holds reservations.
    #[error(
        "storage path {id} has {reservations} active reservation(s); let the tasks finish or release them first"
    )]
    PathBusy {
        /// The path.
        id: PathId,
        /// How many reservations it holds.
        reservations: usize,
    },
    /// Reading a path or its capacity failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done, as a short verb phrase.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No attached path can be used for this kind of file at all.
    #[error("no {0} storage path is attached")]
    NoPathOfKind(PathKind),
    /// Every path of the right kind is too full for the reservation.
    #[error(
        "no storage path has {needed} bytes free; the best has {best_available} bytes (after reservations and max-size limits)"
    )]
    NoSpace {
        /// Bytes asked for.
        needed: u64,
        /// The most any eligible path could give.
        best_available: u64,
    },
    /// A reservation id that does not exist (already released?).
    #[error("reservation {0} does not exist")]
    UnknownReservation(ReservationId),
    /// A task id that the scheduler already holds.
    #[error("task {0} is already queued or running")]
    DuplicateTask(TaskId),
    /// A task id the scheduler does not know.
    #[error("task {0} is not queued or running")]
    UnknownTask(TaskId),
    /// A completion or failure reported for a task that is queued, not running.
    #[error("task {0} is not running")]
    TaskNotRunning(TaskId),
    /// A completion or failure reported by a worker the task is not assigned
    /// to (a worker that was expired and came back late).
    #[error("task {task} runs on worker {running_on}, not on {reported_by}")]
    WrongWorker {
        /// The task.
        task: TaskId,
        /// Where the scheduler runs it.
        running_on: WorkerId,
        /// Who reported.
        reported_by: WorkerId,
    },
    /// A heartbeat from a worker that is not registered (or was expired):
    /// it must register again.
    #[error("worker {0} is not registered")]
    UnknownWorker(WorkerId),
    /// A task whose kind and sector size have no entry in the resource table.
    #[error("no resource entry for {kind} tasks on {size} sectors")]
    NoResources {
        /// The task kind.
        kind: TaskKind,
        /// The sector size.
        size: SectorSize,
    },
    /// A setting that is out of range.
    #[error("invalid config: {0}")]
    Config(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
