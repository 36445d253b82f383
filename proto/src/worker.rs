//! The per-call messages around tasks: the registration reply, heartbeats
//! and progress. (Registration itself is ferrite-cluster's
//! [`WorkerInfo`](ferrite_cluster::WorkerInfo).)

use std::time::Duration;

use ferrite_cluster::{TaskId, WorkerId};

/// Longest progress note accepted.
pub const MAX_NOTE_BYTES: usize = 256;

/// The node's answer to `Register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterReply {
    /// How often the worker must beat. It travels in whole milliseconds
    /// (rounded down, at least 1 ms).
    pub heartbeat_interval: Duration,
}

/// A worker's `Heartbeat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// The worker, as registered.
    pub worker: WorkerId,
    /// The tasks it is running now.
    pub running: Vec<TaskId>,
}

/// How far a running task got, as `Progress` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressReport {
    /// The worker reporting.
    pub worker: WorkerId,
    /// The task.
    pub task: TaskId,
    /// Units done, at most `total`.
    pub done: u64,
    /// Units in all (layers, bytes...), at least 1.
    pub total: u64,
    /// A short note for the operator, at most [`MAX_NOTE_BYTES`] bytes.
    pub note: String,
}
