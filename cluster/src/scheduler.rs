//! The scheduler: a pure state machine over queued tasks, registered workers
//! and what runs where. No I/O and no clock: the driver (the gRPC service)
//! passes `now` in and carries out the assignments it returns.
//!
//! ```text
//!             enqueue                 assign (fits, cap, locality)
//!   (none) ───────────▶ Queued ─────────────────────────────▶ Running(worker)
//!                         ▲                                    │    │
//!                         │ expire / worker re-registers        │    │ complete / fail
//!                         └─────────────────────────────────────┘    ▼
//!                                                                 (forgotten)
//! ```
//!
//! Rules, in the order [`Scheduler::assign`] applies them:
//! 1. Proving tasks (WindowPoSt, WinningPoSt) go first, then the others;
//!    within a class, higher `priority` first, then first come first served.
//!    A task that cannot be placed does not hold back the ones behind it.
//! 2. A kind at its `max_running` cap is skipped.
//! 3. A worker is a candidate if it is alive (heartbeat within the timeout),
//!    accepts the kind, runs fewer of the kind than it takes at once
//!    ([`WorkerInfo::max_running`](crate::WorkerInfo), its
//!    `[proofs.limits]`), and the task's [`Resources`](crate::Resources) fit in
//!    what its running tasks leave free, and it mounts every storage path
//!    the task was queued with ([`Scheduler::enqueue_on`]).
//! 4. Among candidates, a task that wants a GPU (C2, PoSt, PC2, SnapDeals
//!    proofs: [`Resources::gpu`](crate::Resources)) goes where it gets a free
//!    GPU slot, if any worker has one; then the worker that holds the
//!    sector's files wins; otherwise the one with the most memory left after
//!    the task.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use ferrite_types::SectorId;

use crate::config::SchedulerConfig;
use crate::error::ClusterError;
use crate::resources::Usage;
use crate::storage::PathId;
use crate::task::{Task, TaskId, TaskKind, TaskState};
use crate::worker::{WorkerId, WorkerInfo};

/// A task handed to a worker by [`Scheduler::assign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The task.
    pub task: Task,
    /// The worker that runs it.
    pub worker: WorkerId,
}

/// A worker dropped by [`Scheduler::expire`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// The worker.
    pub worker: WorkerId,
    /// Its running tasks, now queued again.
    pub requeued: Vec<TaskId>,
}

/// Queue order: proving class first, then higher priority, then arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct QueueKey {
    sealing: bool,
    priority: Reverse<i32>,
    seq: u64,
}

#[derive(Debug)]
struct Running {
    task: Task,
    key: QueueKey,
    worker: WorkerId,
    usage: Usage,
}

#[derive(Debug)]
struct Slot {
    info: WorkerInfo,
    last_seen: Instant,
    used: Usage,
}

/// Tasks, workers and the assignment of one to the other. See the module
/// documentation for the rules.
#[derive(Debug)]
pub struct Scheduler {
    config: SchedulerConfig,
    queue: BTreeMap<QueueKey, Task>,
    queued: HashMap<TaskId, QueueKey>,
    running: BTreeMap<TaskId, Running>,
    workers: BTreeMap<WorkerId, Slot>,
    /// The storage paths a held task's files are on (see `enqueue_on`).
    needs: HashMap<TaskId, Vec<PathId>>,
    next_seq: u64,
}

impl Scheduler {
    /// An empty scheduler.
    pub fn new(config: SchedulerConfig) -> Self {
        Self {
            config,
            queue: BTreeMap::new(),
            queued: HashMap::new(),
            running: BTreeMap::new(),
            workers: BTreeMap::new(),
            needs: HashMap::new(),
            next_seq: 0,
        }
    }

    /// Its settings.
    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// Queues `task`. Refused if a task with its id is queued or running, or
    /// if the resource table has no entry for its kind and sector size (it
    /// could never be placed).
    pub fn enqueue(&mut self, task: Task) -> Result<(), ClusterError> {
        if self.queued.contains_key(&task.id) || self.running.contains_key(&task.id) {
            return Err(ClusterError::DuplicateTask(task.id));
        }
        if self.config.resources.get(task.kind, task.size).is_none() {
            return Err(ClusterError::NoResources {
                kind: task.kind,
                size: task.size,
            });
        }
        let key = QueueKey {
            sealing: !task.kind.is_proving(),
            priority: Reverse(task.priority),
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.queued.insert(task.id, key);
        self.queue.insert(key, task);
        Ok(())
    }

    /// Queues `task`, whose files are on the storage `paths`: only a worker
    /// that mounts all of them (its [`WorkerInfo::paths`]) takes it.
    /// Otherwise as [`Scheduler::enqueue`].
    pub fn enqueue_on(&mut self, task: Task, paths: Vec<PathId>) -> Result<(), ClusterError> {
        let id = task.id;
        self.enqueue(task)?;
        if !paths.is_empty() {
            self.needs.insert(id, paths);
        }
        Ok(())
    }

    /// Adds a worker, seen at `now`. A worker that registers again under a
    /// known id has restarted and lost its work: its running tasks go back to
    /// the queue, and are returned.
    pub fn register(&mut self, info: WorkerInfo, now: Instant) -> Vec<TaskId> {
        let requeued = self.drop_worker(&info.id);
        self.workers.insert(
            info.id.clone(),
            Slot {
                info,
                last_seen: now,
                used: Usage::default(),
            },
        );
        requeued
    }

    /// Replaces the storage paths a registered worker mounts (a path was
    /// attached or detached); its running tasks go on.
    pub fn set_paths(&mut self, worker: &WorkerId, paths: Vec<PathId>) -> Result<(), ClusterError> {
        let slot = self
            .workers
            .get_mut(worker)
            .ok_or_else(|| ClusterError::UnknownWorker(worker.clone()))?;
        slot.info.paths = paths;
        Ok(())
    }

    /// Records a heartbeat. A worker that is not registered (never, or
    /// expired since) must register again.
    pub fn heartbeat(&mut self, worker: &WorkerId, now: Instant) -> Result<(), ClusterError> {
        let slot = self
            .workers
            .get_mut(worker)
            .ok_or_else(|| ClusterError::UnknownWorker(worker.clone()))?;
        slot.last_seen = slot.last_seen.max(now);
        Ok(())
    }

    /// Removes a worker that leaves on purpose; its running tasks go back to
    /// the queue, and are returned.
    pub fn deregister(&mut self, worker: &WorkerId) -> Result<Vec<TaskId>, ClusterError> {
        if !self.workers.contains_key(worker) {
            return Err(ClusterError::UnknownWorker(worker.clone()));
        }
        Ok(self.drop_worker(worker))
    }

    /// Drops every worker whose last heartbeat is older than the timeout and
    /// puts its running tasks back in the queue, in their old place.
    pub fn expire(&mut self, now: Instant) -> Vec<Expired> {
        let stale: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|(_, slot)| !self.is_alive(slot, now))
            .map(|(id, _)| id.clone())
            .collect();
        stale
            .into_iter()
            .map(|worker| {
                let requeued = self.drop_worker(&worker);
                Expired { worker, requeued }
            })
            .collect()
    }

    /// Assigns queued tasks to workers by the rules of the module
    /// documentation. `holders` says which worker holds each sector's files.
    /// The caller must deliver each assignment, and report back with
    /// [`Scheduler::complete`] or [`Scheduler::fail`].
    pub fn assign(
        &mut self,
        now: Instant,
        holders: &HashMap<SectorId, WorkerId>,
    ) -> Vec<Assignment> {
        let mut out = Vec::new();
        let mut per_kind = self.running_per_kind();
        let keys: Vec<QueueKey> = self.queue.keys().copied().collect();
        for key in keys {
            let Some(task) = self.queue.get(&key) else {
                continue;
            };
            let kind = task.kind;
            let count = per_kind.get(&kind).copied().unwrap_or(0);
            if self
                .config
                .max_running
                .get(&kind)
                .is_some_and(|cap| count >= *cap)
            {
                continue;
            }
            let Some((worker, usage)) = self.choose_worker(task, now, holders) else {
                continue;
            };
            let Some(task) = self.queue.remove(&key) else {
                continue;
            };
            self.queued.remove(&task.id);
            if let Some(slot) = self.workers.get_mut(&worker) {
                slot.used = slot.used.plus(usage);
            }
            *per_kind.entry(kind).or_default() += 1;
            out.push(Assignment {
                task: task.clone(),
                worker: worker.clone(),
            });
            self.running.insert(
                task.id,
                Running {
                    task,
                    key,
                    worker,
                    usage,
                },
            );
        }
        out
    }

    /// Marks a running task done and frees its resources; returns it.
    pub fn complete(&mut self, task: TaskId, worker: &WorkerId) -> Result<Task, ClusterError> {
        self.finish(task, worker)
    }

    /// Marks a running task failed and frees its resources; returns it. The
    /// caller owns the retry policy: to retry, it enqueues the task again.
    pub fn fail(&mut self, task: TaskId, worker: &WorkerId) -> Result<Task, ClusterError> {
        self.finish(task, worker)
    }

    /// Where a task stands, or `None` if it is not held (never enqueued, or
    /// completed or failed).
    pub fn state(&self, task: TaskId) -> Option<TaskState> {
        if self.queued.contains_key(&task) {
            return Some(TaskState::Queued);
        }
        self.running
            .get(&task)
            .map(|r| TaskState::Running(r.worker.clone()))
    }

    /// The queued tasks, in the order they will be considered.
    pub fn queued(&self) -> impl Iterator<Item = &Task> {
        self.queue.values()
    }

    /// The running tasks and their workers.
    pub fn running(&self) -> impl Iterator<Item = (&Task, &WorkerId)> {
        self.running.values().map(|r| (&r.task, &r.worker))
    }

    /// The registered workers.
    pub fn workers(&self) -> impl Iterator<Item = &WorkerInfo> {
        self.workers.values().map(|s| &s.info)
    }

    /// What the tasks running on `worker` hold, or `None` if it is not registered.
    pub fn usage(&self, worker: &WorkerId) -> Option<Usage> {
        self.workers.get(worker).map(|s| s.used)
    }

    /// How many tasks of `kind` run now.
    pub fn running_count(&self, kind: TaskKind) -> usize {
        self.running
            .values()
            .filter(|r| r.task.kind == kind)
            .count()
    }

    fn running_per_kind(&self) -> HashMap<TaskKind, usize> {
        let mut m = HashMap::new();
        for r in self.running.values() {
            *m.entry(r.task.kind).or_default() += 1;
        }
        m
    }

    /// Tasks of `kind` running on `worker`.
    fn running_on(&self, worker: &WorkerId, kind: TaskKind) -> u32 {
        let n = self
            .running
            .values()
            .filter(|r| &r.worker == worker && r.task.kind == kind)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn is_alive(&self, slot: &Slot, now: Instant) -> bool {
        now.saturating_duration_since(slot.last_seen) <= self.config.heartbeat_timeout()
    }

    fn choose_worker(
        &self,
        task: &Task,
        now: Instant,
        holders: &HashMap<SectorId, WorkerId>,
    ) -> Option<(WorkerId, Usage)> {
        let res = self.config.resources.get(task.kind, task.size)?;
        // What the task would hold on a candidate, and what it would leave free.
        let fit = |slot: &Slot| -> Option<(Usage, Usage)> {
            if !self.is_alive(slot, now) || !slot.info.accepts(task.kind) {
                return None;
            }
            if let Some(max) = slot.info.max_running.get(&task.kind)
                && self.running_on(&slot.info.id, task.kind) >= *max
            {
                return None;
            }
            if let Some(paths) = self.needs.get(&task.id)
                && !paths.iter().all(|p| slot.info.paths.contains(p))
            {
                return None;
            }
            let capacity = Usage::capacity_of(&slot.info);
            let usage = res.on(&slot.info);
            let after = slot.used.plus(usage);
            after
                .within(capacity)
                .then(|| (usage, capacity.minus(after)))
        };
        // A task that wants a GPU goes to a worker where it gets one, if any
        // has a slot free now; the sector's holder is preferred among equals.
        let best = self
            .workers
            .iter()
            .filter_map(|(id, slot)| {
                fit(slot).map(|(usage, left)| {
                    let on_gpu = usage.gpus > 0;
                    let holds = holders.get(&task.sector) == Some(id);
                    ((on_gpu, holds, left.memory, left.cores, Reverse(id)), usage)
                })
            })
            .max_by(|a, b| a.0.cmp(&b.0));
        best.map(|((_, _, _, _, Reverse(id)), usage)| (id.clone(), usage))
    }

    fn finish(&mut self, task: TaskId, worker: &WorkerId) -> Result<Task, ClusterError> {
        let Some(run) = self.running.get(&task) else {
            return Err(if self.queued.contains_key(&task) {
                ClusterError::TaskNotRunning(task)
            } else {
                ClusterError::UnknownTask(task)
            });
        };
        if &run.worker != worker {
            return Err(ClusterError::WrongWorker {
                task,
                running_on: run.worker.clone(),
                reported_by: worker.clone(),
            });
        }
        let run = self
            .running
            .remove(&task)
            .ok_or(ClusterError::UnknownTask(task))?;
        self.needs.remove(&task);
        if let Some(slot) = self.workers.get_mut(&run.worker) {
            slot.used = slot.used.minus(run.usage);
        }
        Ok(run.task)
    }

    /// Removes `worker` (if present) and requeues its running tasks.
    fn drop_worker(&mut self, worker: &WorkerId) -> Vec<TaskId> {
        self.workers.remove(worker);
        let ids: Vec<TaskId> = self
            .running
            .iter()
            .filter(|(_, r)| &r.worker == worker)
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            if let Some(run) = self.running.remove(id) {
                self.queued.insert(run.task.id, run.key);
                self.queue.insert(run.key, run.task);
            }
        }
        ids
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
