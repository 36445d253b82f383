//! The node's side of the cluster: the gRPC `WorkerService` that workers
//! call, the task scheduler it drives, and the [`Executor`] the sealing
//! pipeline hands its jobs to.
//!
//! A job becomes a ferrite-cluster [`Task`] queued on the storage paths its
//! files are on, with its payload kept here until a worker takes it. A
//! worker `Register`s (its resources), opens its `Tasks` stream (from then
//! on the scheduler may place tasks on it), `Heartbeat`s, and `Complete`s
//! each task; the outcome wakes the pipeline step that awaits it. A worker
//! whose stream closes (the process died, the host went away) or whose
//! beats stop is dropped at once, and its running tasks are queued again,
//! to run on another worker: every sealing job is idempotent. A completion
//! from a worker that no longer holds the task (it was reassigned) is
//! refused with `FAILED_PRECONDITION`.
//!
//! Everything here is in memory: after a node restart the pipeline replays
//! each sector's step, which queues its task again.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ferrite_cluster::{
    ClusterError, PathId, Scheduler, SchedulerConfig, StorageRegistry, Task, TaskId, TaskKind,
    WorkerId, WorkerInfo,
};
use ferrite_proto::generated as pb;
use ferrite_proto::generated::worker_service_server::WorkerService;
use ferrite_proto::{
    AssignedTask, Completion, Heartbeat, ProgressReport, RegisterReply, TaskFailure, TaskOutcome,
    TaskPayload,
};
use ferrite_sealing::tasks::{SectorFiles, TaskError};
use ferrite_sealing::{Executor, Job, JobOutput};
use ferrite_types::SectorId;
use futures_util::Stream;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tonic::{Request, Response, Status};
use tracing::{debug, info, warn};

/// How often workers beat; the scheduler's timeout is a multiple of it.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);
/// How often the scheduler looks for expired workers and free room, besides
/// the wake-ups on every change.
const TICK: Duration = Duration::from_secs(1);
/// Assignments buffered per worker stream.
const STREAM_BUFFER: usize = 64;

type Assignments = mpsc::Sender<Result<pb::TaskAssignment, Status>>;

struct Pending {
    payload: TaskPayload,
    reply: oneshot::Sender<TaskOutcome>,
}

struct Stream_ {
    generation: u64,
    tx: Assignments,
}

struct State {
    scheduler: Scheduler,
    /// Registered workers, by id; they get tasks once their stream is open.
    known: HashMap<WorkerId, WorkerInfo>,
    streams: HashMap<WorkerId, Stream_>,
    pending: HashMap<TaskId, Pending>,
    /// The worker that last ran a task of each sector: its page cache holds
    /// the files, so the scheduler prefers it.
    holders: HashMap<SectorId, WorkerId>,
    progress: HashMap<TaskId, ProgressReport>,
    /// When each running task was assigned.
    assigned_at: HashMap<TaskId, Instant>,
    next_generation: u64,
}

/// The cluster's Prometheus metrics (STYLE R9: registered on the node's
/// registry). Label values are fixed: `kind` is a task kind's name, `state`
/// is `queued` or `running`, `result` is `done` or `failed`.
#[derive(Debug, Clone)]
pub struct ClusterMetrics {
    /// `ferrite_cluster_workers`: workers connected now.
    workers: IntGauge,
    /// `ferrite_cluster_tasks{kind,state}`: tasks the scheduler holds.
    tasks: IntGaugeVec,
    /// `ferrite_cluster_task_seconds{kind,result}`: assignment to completion.
    task_seconds: HistogramVec,
    /// `ferrite_cluster_workers_lost_total`: workers dropped (connection
    /// closed, heartbeats stopped, stream unreachable).
    lost: IntCounter,
}

impl ClusterMetrics {
    /// Creates the metrics and registers them on `r`.
    pub fn register(r: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            workers: IntGauge::new("ferrite_cluster_workers", "Workers connected to the node")?,
            tasks: IntGaugeVec::new(
                Opts::new(
                    "ferrite_cluster_tasks",
                    "Tasks held by the scheduler, by kind and state",
                ),
                &["kind", "state"],
            )?,
            task_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "ferrite_cluster_task_seconds",
                    "Time from a task's assignment to its completion",
                )
                .buckets(vec![
                    0.1,
                    1.0,
                    5.0,
                    30.0,
                    60.0,
                    300.0,
                    900.0,
                    1800.0,
                    3600.0,
                    3.0 * 3600.0,
                    6.0 * 3600.0,
                ]),
                &["kind", "result"],
            )?,
            lost: IntCounter::new(
                "ferrite_cluster_workers_lost_total",
                "Workers dropped because their connection closed or their heartbeats stopped",
            )?,
        };
        r.register(Box::new(m.workers.clone()))?;
        r.register(Box::new(m.tasks.clone()))?;
        r.register(Box::new(m.task_seconds.clone()))?;
        r.register(Box::new(m.lost.clone()))?;
        // Every series exists from the start, at zero.
        for kind in crate::worker::RUNNABLE {
            for result in ["done", "failed"] {
                m.task_seconds.with_label_values(&[kind.name(), result]);
            }
        }
        Ok(m)
    }
}

/// The scheduler, the workers' streams and the jobs awaiting them.
pub struct Cluster {
    state: Mutex<State>,
    registry: Arc<StorageRegistry>,
    /// The node's in-process worker, which mounts every attached path.
    local: Option<WorkerId>,
    metrics: ClusterMetrics,
    next_task: AtomicU64,
    wake: Notify,
    /// Where workers download deal data from.
    piece_urls: Option<crate::staging::PieceUrls>,
    /// Set when the node stops: no task is handed out any more.
    draining: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").finish_non_exhaustive()
    }
}

fn status_of(e: ClusterError) -> Status {
    match e {
        ClusterError::UnknownWorker(w) => {
            Status::not_found(format!("worker {w} is not registered: register again"))
        }
        ClusterError::UnknownTask(t) => Status::not_found(format!("task {t} is not held")),
        e @ (ClusterError::WrongWorker { .. } | ClusterError::TaskNotRunning(_)) => {
            Status::failed_precondition(e.to_string())
        }
        e => Status::internal(e.to_string()),
    }
}

impl Cluster {
    /// A cluster with no workers yet, over the node's storage `registry`.
    pub fn new(
        config: SchedulerConfig,
        registry: Arc<StorageRegistry>,
        metrics: ClusterMetrics,
    ) -> Self {
        Self {
            state: Mutex::new(State {
                scheduler: Scheduler::new(config),
                known: HashMap::new(),
                streams: HashMap::new(),
                pending: HashMap::new(),
                holders: HashMap::new(),
                progress: HashMap::new(),
                assigned_at: HashMap::new(),
                next_generation: 0,
            }),
            registry,
            local: None,
            metrics,
            next_task: AtomicU64::new(1),
            wake: Notify::new(),
            piece_urls: None,
            draining: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Sends deal data to workers as URLs of the node's staging route.
    pub fn with_piece_urls(mut self, urls: crate::staging::PieceUrls) -> Self {
        self.piece_urls = Some(urls);
        self
    }

    /// Names the node's in-process worker: its storage paths follow the
    /// registry's (`storage attach` and `detach`) without a restart.
    pub fn with_local_worker(mut self, id: WorkerId) -> Self {
        self.local = Some(id);
        self
    }

    /// The ids of every attached path, for the in-process worker.
    pub fn attached_paths(&self) -> anyhow::Result<Vec<PathId>> {
        Ok(self.registry.paths()?.into_iter().map(|p| p.id).collect())
    }

    /// Gives the in-process worker the paths attached now.
    async fn refresh_local_paths(self: &Arc<Self>) {
        let Some(local) = self.local.clone() else {
            return;
        };
        let cluster = Arc::clone(self);
        let paths = match tokio::task::spawn_blocking(move || cluster.attached_paths()).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                warn!("read the storage paths: {e:#}");
                return;
            }
            Err(_) => return,
        };
        let mut st = self.lock();
        let changed = st.known.get(&local).is_some_and(|i| i.paths != paths);
        if changed {
            if let Some(info) = st.known.get_mut(&local) {
                info.paths = paths.clone();
            }
            let _ = st.scheduler.set_paths(&local, paths);
            drop(st);
            self.wake.notify_one();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Assigns queued tasks on every change and every [`TICK`], and drops
    /// workers whose beats stopped, until `stop`.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            self.refresh_local_paths().await;
            self.tick();
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Hands out no more tasks (the node is stopping); those running go on.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// How many tasks workers are running now.
    pub fn running_tasks(&self) -> usize {
        self.lock().scheduler.running().count()
    }

    fn tick(&self) {
        let now = Instant::now();
        let mut st = self.lock();
        if self.draining.load(Ordering::Relaxed) {
            // Beats are still checked: a worker lost now frees its tasks.
            for expired in st.scheduler.expire(now) {
                st.streams.remove(&expired.worker);
                self.metrics.lost.inc();
            }
            return;
        }
        for expired in st.scheduler.expire(now) {
            st.streams.remove(&expired.worker);
            self.metrics.lost.inc();
            warn!(
                worker = %expired.worker,
                requeued = expired.requeued.len(),
                "a worker stopped beating: dropped, its tasks are queued again"
            );
        }
        let holders = st.holders.clone();
        for a in st.scheduler.assign(now, &holders) {
            let id = a.task.id;
            let Some(payload) = st.pending.get(&id).map(|p| p.payload.clone()) else {
                // Nobody awaits it any more (cannot happen: pending entries
                // leave only with the task).
                let _ = st.scheduler.fail(id, &a.worker);
                continue;
            };
            let assigned = match AssignedTask::new(a.task.clone(), payload) {
                Ok(t) => t,
                Err(e) => {
                    let _ = st.scheduler.fail(id, &a.worker);
                    if let Some(p) = st.pending.remove(&id) {
                        let _ = p.reply.send(TaskOutcome::Failed(TaskFailure::new(
                            format!("the node built an invalid task: {e}"),
                            false,
                        )));
                    }
                    continue;
                }
            };
            let sent = st.streams.get(&a.worker).is_some_and(|s| {
                s.tx.try_send(Ok(pb::TaskAssignment::from(assigned)))
                    .is_ok()
            });
            match sent {
                true => {
                    st.assigned_at.insert(id, now);
                    info!(task = %id, kind = %a.task.kind, sector = %a.task.sector, worker = %a.worker, "assigned");
                }
                false => {
                    // Its stream is gone or full: take the worker out, and
                    // the task (with any others it had) goes back.
                    st.streams.remove(&a.worker);
                    let requeued = st.scheduler.deregister(&a.worker).unwrap_or_default();
                    self.metrics.lost.inc();
                    warn!(worker = %a.worker, requeued = requeued.len(), "cannot reach the worker's task stream: dropped");
                }
            }
        }
        self.export(&st);
    }

    /// The workers and the tasks, for `ferrite workers list|jobs`.
    pub fn snapshot(&self) -> serde_json::Value {
        use serde_json::json;
        let st = self.lock();
        let now = Instant::now();
        let workers: Vec<_> = st
            .scheduler
            .workers()
            .map(|w| {
                let running: Vec<u64> = st
                    .scheduler
                    .running()
                    .filter(|(_, on)| *on == &w.id)
                    .map(|(t, _)| t.id.0)
                    .collect();
                json!({
                    "ID": w.id.0,
                    "Host": w.hostname,
                    "Cores": w.cores,
                    "Memory": w.memory,
                    "Gpus": w.gpus,
                    "GpuDevices": w.gpu_devices.iter().map(|d| json!({
                        "Model": d.model,
                        "Memory": d.memory,
                    })).collect::<Vec<_>>(),
                    "Kinds": w.kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
                    "MaxRunning": w
                        .max_running
                        .iter()
                        .map(|(k, n)| (k.name().to_string(), json!(n)))
                        .collect::<serde_json::Map<_, _>>(),
                    "Paths": w.paths.iter().map(|p| p.0).collect::<Vec<_>>(),
                    "Running": running,
                    "Local": self.local.as_ref() == Some(&w.id),
                })
            })
            .collect();
        let mut jobs: Vec<_> = st
            .scheduler
            .running()
            .map(|(t, w)| {
                let progress = st.progress.get(&t.id).map(|p| {
                    json!({"Done": p.done, "Total": p.total, "Note": p.note})
                });
                json!({
                    "Task": t.id.0,
                    "Kind": t.kind.name(),
                    "Sector": t.sector.to_string(),
                    "State": "running",
                    "Worker": w.0,
                    "Secs": st.assigned_at.get(&t.id).map(|a| now.saturating_duration_since(*a).as_secs()),
                    "Progress": progress,
                })
            })
            .collect();
        jobs.extend(st.scheduler.queued().map(|t| {
            json!({
                "Task": t.id.0,
                "Kind": t.kind.name(),
                "Sector": t.sector.to_string(),
                "State": "queued",
            })
        }));
        json!({"Workers": workers, "Jobs": jobs})
    }

    /// Sets the gauges from the scheduler's state.
    fn export(&self, st: &State) {
        self.metrics
            .workers
            .set(st.scheduler.workers().count() as i64);
        let mut queued: HashMap<TaskKind, i64> = HashMap::new();
        let mut running: HashMap<TaskKind, i64> = HashMap::new();
        for t in st.scheduler.queued() {
            *queued.entry(t.kind).or_default() += 1;
        }
        for (t, _) in st.scheduler.running() {
            *running.entry(t.kind).or_default() += 1;
        }
        for kind in crate::worker::RUNNABLE {
            for (state, counts) in [("queued", &queued), ("running", &running)] {
                self.metrics
                    .tasks
                    .with_label_values(&[kind.name(), state])
                    .set(counts.get(&kind).copied().unwrap_or(0));
            }
        }
    }

    fn register(&self, info: WorkerInfo) -> RegisterReply {
        let mut st = self.lock();
        // A worker that registers again restarted: what it ran is lost.
        st.streams.remove(&info.id);
        if let Ok(requeued) = st.scheduler.deregister(&info.id)
            && !requeued.is_empty()
        {
            warn!(worker = %info.id, requeued = requeued.len(), "a worker restarted: its tasks are queued again");
        }
        info!(worker = %info.id, host = %info.hostname, cores = info.cores, memory = info.memory, kinds = ?info.kinds, paths = ?info.paths, "worker registered");
        st.known.insert(info.id.clone(), info);
        drop(st);
        self.wake.notify_one();
        RegisterReply {
            heartbeat_interval: HEARTBEAT_INTERVAL,
        }
    }

    fn open_stream(
        self: &Arc<Self>,
        worker: WorkerId,
    ) -> Result<mpsc::Receiver<Result<pb::TaskAssignment, Status>>, Status> {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let mut st = self.lock();
        let info = st
            .known
            .get(&worker)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("worker {worker} is not registered")))?;
        let generation = st.next_generation;
        st.next_generation += 1;
        st.streams.insert(
            worker.clone(),
            Stream_ {
                generation,
                tx: tx.clone(),
            },
        );
        let requeued = st.scheduler.register(info, Instant::now());
        if !requeued.is_empty() {
            warn!(%worker, requeued = requeued.len(), "a worker reopened its stream: its tasks are queued again");
        }
        drop(st);
        self.wake.notify_one();
        // When the worker goes away its stream's receiver is dropped: take
        // it out at once rather than after the heartbeat timeout.
        let cluster = Arc::clone(self);
        tokio::spawn(async move {
            tx.closed().await;
            let mut st = cluster.lock();
            if st
                .streams
                .get(&worker)
                .is_some_and(|s| s.generation == generation)
            {
                st.streams.remove(&worker);
                let requeued = st.scheduler.deregister(&worker).unwrap_or_default();
                cluster.metrics.lost.inc();
                warn!(%worker, requeued = requeued.len(), "a worker's task stream closed: dropped, its tasks are queued again");
                drop(st);
                cluster.wake.notify_one();
            }
        });
        Ok(rx)
    }

    fn heartbeat(&self, beat: &Heartbeat) -> Result<(), Status> {
        let mut st = self.lock();
        st.scheduler
            .heartbeat(&beat.worker, Instant::now())
            .map_err(status_of)
    }

    fn complete(&self, c: Completion) -> Result<(), Status> {
        let mut st = self.lock();
        let kind = st
            .scheduler
            .running()
            .find(|(t, _)| t.id == c.task)
            .map(|(t, _)| t.kind);
        let wrong_kind = match (&c.outcome, kind) {
            (TaskOutcome::Done(out), Some(k)) => out.kind() != k,
            _ => false,
        };
        let task = st
            .scheduler
            .complete(c.task, &c.worker)
            .map_err(status_of)?;
        st.progress.remove(&c.task);
        st.holders.insert(task.sector, c.worker.clone());
        let pending = st.pending.remove(&c.task);
        drop(st);
        self.wake.notify_one();
        let outcome = if wrong_kind {
            TaskOutcome::Failed(TaskFailure::new(
                format!(
                    "worker {} answered a {} task with another kind's output",
                    c.worker, task.kind
                ),
                true,
            ))
        } else {
            c.outcome
        };
        match &outcome {
            TaskOutcome::Done(_) => {
                info!(task = %task.id, kind = %task.kind, sector = %task.sector, worker = %c.worker, "done");
            }
            TaskOutcome::Failed(f) => {
                warn!(task = %task.id, kind = %task.kind, sector = %task.sector, worker = %c.worker, "failed: {}", f.reason);
            }
        }
        if let Some(p) = pending {
            let _ = p.reply.send(outcome);
        }
        if wrong_kind {
            return Err(Status::invalid_argument(format!(
                "outcome: task {} is a {} task",
                task.id, task.kind
            )));
        }
        Ok(())
    }

    /// The storage paths (ids) whose directories hold `files` (the registry
    /// is read off the runtime).
    async fn paths_of(&self, files: &[&SectorFiles]) -> Result<Vec<PathId>, TaskError> {
        let registry = Arc::clone(&self.registry);
        let attached = tokio::task::spawn_blocking(move || registry.paths())
            .await
            .map_err(|e| TaskError::Worker(format!("read the storage paths: {e}")))?
            .map_err(|e| TaskError::Worker(format!("read the storage paths: {e}")))?;
        let mut ids = Vec::new();
        for f in files {
            let Some(p) = attached
                .iter()
                .find(|p| f.dir.parent() == Some(p.path.as_path()))
            else {
                return Err(TaskError::Worker(format!(
                    "{} is on no attached storage path",
                    f.dir.display()
                )));
            };
            if !ids.contains(&p.id) {
                ids.push(p.id);
            }
        }
        Ok(ids)
    }
}

#[async_trait]
impl Executor for Cluster {
    async fn run(&self, sector: SectorId, job: Job) -> Result<JobOutput, TaskError> {
        let payload = crate::jobs::payload_of(&job, self.piece_urls.as_ref())
            .map_err(|e| TaskError::Worker(format!("build the task: {e}")))?;
        let files: Vec<&SectorFiles> = match &job {
            Job::AddPiece { files, .. }
            | Job::Pc1 { files, .. }
            | Job::Pc2 { files, .. }
            | Job::C1 { files, .. }
            | Job::UpdateEncode { files, .. }
            | Job::UpdateProve { files, .. }
            | Job::Unseal { files, .. } => vec![files],
            Job::C2 { .. } => vec![],
            Job::Finalize { from, to, .. } => vec![from, to],
        };
        let paths = self.paths_of(&files).await?;
        let id = TaskId(self.next_task.fetch_add(1, Ordering::Relaxed));
        let task = Task {
            id,
            kind: job.kind(),
            sector,
            size: job.proof().sector_size(),
            priority: 0,
        };
        let (tx, rx) = oneshot::channel();
        {
            let mut st = self.lock();
            st.scheduler
                .enqueue_on(task, paths)
                .map_err(|e| TaskError::Worker(format!("queue the task: {e}")))?;
            st.pending.insert(id, Pending { payload, reply: tx });
        }
        debug!(task = %id, kind = %job.kind(), %sector, "queued");
        self.wake.notify_one();
        match rx.await {
            Ok(TaskOutcome::Done(out)) => crate::jobs::job_output_of(out)
                .ok_or_else(|| TaskError::Worker(format!("task {id} returned no sealing output"))),
            Ok(TaskOutcome::Failed(f)) => Err(TaskError::Worker(f.reason)),
            Err(_) => Err(TaskError::Worker(format!("task {id} was dropped"))),
        }
    }
}

/// The gRPC service over a [`Cluster`].
#[derive(Debug, Clone)]
pub struct Service(pub Arc<Cluster>);

type TaskStream = Pin<Box<dyn Stream<Item = Result<pb::TaskAssignment, Status>> + Send>>;

#[tonic::async_trait]
impl WorkerService for Service {
    async fn register(
        &self,
        request: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::RegisterResponse>, Status> {
        let info = WorkerInfo::try_from(request.into_inner())?;
        Ok(Response::new(self.0.register(info).into()))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let beat = Heartbeat::try_from(request.into_inner())?;
        self.0.heartbeat(&beat)?;
        Ok(Response::new(pb::HeartbeatResponse {}))
    }

    type TasksStream = TaskStream;

    async fn tasks(
        &self,
        request: Request<pb::TasksRequest>,
    ) -> Result<Response<TaskStream>, Status> {
        let worker = WorkerId::try_from(request.into_inner())?;
        let rx = self.0.open_stream(worker)?;
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn progress(
        &self,
        request: Request<pb::ProgressRequest>,
    ) -> Result<Response<pb::ProgressResponse>, Status> {
        let report = ProgressReport::try_from(request.into_inner())?;
        debug!(task = %report.task, done = report.done, total = report.total, note = %report.note, "progress");
        self.0.lock().progress.insert(report.task, report);
        Ok(Response::new(pb::ProgressResponse {}))
    }

    async fn complete(
        &self,
        request: Request<pb::CompleteRequest>,
    ) -> Result<Response<pb::CompleteResponse>, Status> {
        let completion = Completion::try_from(request.into_inner())?;
        self.0.complete(completion)?;
        Ok(Response::new(pb::CompleteResponse {}))
    }
}

/// `Ferrite.WorkersList []`: the connected workers and the tasks, queued and
/// running (read permission).
pub const WORKERS_LIST: &str = "Ferrite.WorkersList";

/// The `Ferrite.Workers*` JSON-RPC methods.
#[derive(Debug)]
pub struct ClusterApi(pub Arc<Cluster>);

#[async_trait]
impl ferrite_chain::rpc::server::RpcExtension for ClusterApi {
    fn permission(&self, method: &str) -> Option<ferrite_chain::auth::Permission> {
        (method == WORKERS_LIST).then_some(ferrite_chain::auth::Permission::Read)
    }

    async fn call(
        &self,
        method: &str,
        _params: Vec<serde_json::Value>,
    ) -> Result<serde_json::Value, (i64, String)> {
        match method {
            WORKERS_LIST => Ok(self.0.snapshot()),
            _ => Err((-32601, format!("method '{method}' not found"))),
        }
    }
}
