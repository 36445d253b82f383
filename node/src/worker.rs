//! A worker: dials the node's gRPC `WorkerService`, registers its resources,
//! beats, takes the tasks streamed to it, runs each in this process (on
//! ferrite-proofs' `Workers` bridge, with its per-stage caps) and reports
//! the outcome. `ferrite worker` runs one; `ferrite devnet` runs one in its
//! own process unless told not to.
//!
//! The session with the node is redone from `Register` whenever it breaks
//! (the node restarted, a heartbeat got `NOT_FOUND`, the stream closed), so a
//! worker outlives node restarts. Tasks already running go on, and their
//! outcome is still reported: the node refuses it if it no longer holds the
//! task, and its pipeline will have queued the same idempotent job again.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use ferrite_cluster::{TaskId, WorkerId, WorkerInfo};
use ferrite_proofs::Workers;
use ferrite_proto::generated as pb;
use ferrite_proto::{
    AssignedTask, BearerToken, Completion, Heartbeat, RegisterReply, TaskFailure, TaskOutcome,
    TaskPayload, WorkerClient,
};
use ferrite_sealing::{Executor, LocalExecutor};
use ferrite_types::DealId;
use tokio::sync::watch;
use tracing::{info, warn};

/// Wait before dialling again after the session broke.
const RECONNECT: Duration = Duration::from_secs(1);
/// Tries to report an outcome while the node is unreachable.
const REPORT_TRIES: u32 = 30;

/// What a worker needs to run.
#[derive(Clone)]
pub struct WorkerSpec {
    /// The node's gRPC URL, `http://host:2346`.
    pub node: String,
    /// The node's worker token.
    pub token: BearerToken,
    /// What it registers.
    pub info: WorkerInfo,
    /// Where its tasks run.
    pub workers: Workers,
}

/// The in-process worker of `ferrite devnet`: every sealing kind, this
/// host's cores, memory and GPUs, and the node's storage `paths`.
pub fn local_info(
    id: WorkerId,
    paths: Vec<ferrite_cluster::PathId>,
    proofs: &ferrite_proofs::ProofsConfig,
) -> WorkerInfo {
    let (gpus, gpu_devices) = gpu_slots(proofs);
    let kinds = RUNNABLE.into_iter().collect();
    WorkerInfo {
        id,
        hostname: hostname(),
        cores: host_cores(),
        memory: host_memory().unwrap_or(u64::MAX / 2),
        gpus,
        gpu_devices,
        max_running: max_running(&kinds, &proofs.limits),
        kinds,
        paths,
    }
}

/// How many tasks of each of `kinds` this process runs at once: the
/// `[proofs.limits]` of the stage each kind runs in (C2 and SnapDeals'
/// prove share `c2`, PC2 and SnapDeals' encode share `pc2`; the scheduler
/// caps each kind by its stage's limit, and the bridge makes any overlap
/// wait). Fetch is a file copy, limited by resources alone.
pub fn max_running(
    kinds: &std::collections::BTreeSet<ferrite_cluster::TaskKind>,
    limits: &ferrite_proofs::StageLimits,
) -> std::collections::BTreeMap<ferrite_cluster::TaskKind, u32> {
    use ferrite_cluster::TaskKind as K;
    kinds
        .iter()
        .filter_map(|&k| {
            let n = match k {
                K::AddPiece => limits.add_piece,
                K::Pc1 => limits.pc1,
                K::Pc2 | K::UpdateEncode => limits.pc2,
                K::C1 => limits.c1,
                K::C2 | K::UpdateProve => limits.c2,
                K::Finalize => limits.verify,
                K::WindowPost | K::WinningPost => limits.post,
                K::Unseal => limits.unseal,
                K::Fetch => return None,
            };
            Some((k, u32::try_from(n).unwrap_or(u32::MAX)))
        })
        .collect()
}

/// The GPU slots this process offers the scheduler, and the cards behind
/// them: `tasks_per_gpu` slots per card that `ferrite_proofs::init` chose
/// (none in a build without GPU support, or with `[proofs.gpu] mode = "off"`).
pub fn gpu_slots(proofs: &ferrite_proofs::ProofsConfig) -> (u32, Vec<ferrite_cluster::GpuDevice>) {
    let cards: Vec<_> = ferrite_proofs::gpu::in_use()
        .iter()
        .map(|d| ferrite_cluster::GpuDevice {
            model: d.model.clone(),
            memory: d.memory,
        })
        .collect();
    let per_card = proofs.gpu.tasks_per_gpu.max(1);
    let slots = u32::try_from(cards.len())
        .unwrap_or(u32::MAX)
        .saturating_mul(per_card);
    (slots, cards)
}

/// The kinds a worker can run today.
pub const RUNNABLE: [ferrite_cluster::TaskKind; 9] = [
    ferrite_cluster::TaskKind::AddPiece,
    ferrite_cluster::TaskKind::Pc1,
    ferrite_cluster::TaskKind::Pc2,
    ferrite_cluster::TaskKind::C1,
    ferrite_cluster::TaskKind::C2,
    ferrite_cluster::TaskKind::Finalize,
    ferrite_cluster::TaskKind::UpdateEncode,
    ferrite_cluster::TaskKind::UpdateProve,
    ferrite_cluster::TaskKind::Unseal,
];

/// This host's name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "worker".to_string())
}

/// This host's cores.
pub fn host_cores() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1)
}

/// MemTotal from /proc/meminfo, in bytes.
pub fn host_memory() -> anyhow::Result<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").context("read /proc/meminfo")?;
    let line = text
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .context("no MemTotal in /proc/meminfo")?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .context("MemTotal has no value")?
        .parse()
        .context("MemTotal is not a number")?;
    Ok(kib * 1024)
}

/// The node's worker token in `file` (mode 0600), created with 128 random
/// bits on the first start.
pub fn load_or_create_token(file: &std::path::Path) -> anyhow::Result<BearerToken> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::io::Read;
            let mut bytes = [0u8; 16];
            std::fs::File::open("/dev/urandom")
                .and_then(|mut f| f.read_exact(&mut bytes))
                .context("read /dev/urandom")?;
            let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            ferrite_chain::wallet::write_private(file, format!("{token}\n").as_bytes())?;
            token
        }
        Err(e) => return Err(e).with_context(|| format!("read {}", file.display())),
    };
    BearerToken::new(text.trim()).with_context(|| format!("the token in {}", file.display()))
}

/// Serves the node until `stop`.
pub async fn run(spec: WorkerSpec, mut stop: watch::Receiver<bool>) {
    let executor = Arc::new(LocalExecutor::new(spec.workers.clone()));
    let running: Arc<Mutex<HashSet<TaskId>>> = Arc::default();
    loop {
        match session(&spec, &executor, &running, &mut stop).await {
            Ok(()) => return,
            Err(e) => {
                warn!(worker = %spec.info.id, "session with the node at {}: {e:#}; dialling again", spec.node)
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(RECONNECT) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One session: `Ok` when stopped, `Err` when it broke.
async fn session(
    spec: &WorkerSpec,
    executor: &Arc<LocalExecutor>,
    running: &Arc<Mutex<HashSet<TaskId>>>,
    stop: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut client = ferrite_proto::connect(spec.node.clone(), &spec.token)
        .await
        .context("connect")?;
    let reply = client
        .register(pb::RegisterRequest::from(spec.info.clone()))
        .await
        .context("register")?;
    let reply = RegisterReply::try_from(reply.into_inner()).context("the node's reply")?;
    let mut tasks = client
        .tasks(pb::TasksRequest::from(spec.info.id.clone()))
        .await
        .context("open the task stream")?
        .into_inner();
    info!(worker = %spec.info.id, node = %spec.node, "registered with the node");
    let mut beat = tokio::time::interval(reply.heartbeat_interval);
    loop {
        tokio::select! {
            _ = stop.changed() => return Ok(()),
            _ = beat.tick() => {
                let running: Vec<TaskId> = lock(running).iter().copied().collect();
                client
                    .heartbeat(pb::HeartbeatRequest::from(Heartbeat {
                        worker: spec.info.id.clone(),
                        running,
                    }))
                    .await
                    .context("heartbeat")?;
            }
            message = tasks.message() => {
                let Some(assignment) = message.context("the task stream")? else {
                    anyhow::bail!("the node closed the task stream");
                };
                let task_id = TaskId(assignment.task_id);
                lock(running).insert(task_id);
                let (client, executor, running, token) =
                    (client.clone(), executor.clone(), running.clone(), spec.token.clone());
                let worker = spec.info.id.clone();
                tokio::spawn(async move {
                    let outcome = run_task(&executor, &token, assignment).await;
                    report(client, worker, task_id, outcome).await;
                    lock(&running).remove(&task_id);
                });
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Validates and runs one assignment. The data of deal pieces is fetched
/// from the node first, next to the sector's unsealed file, and removed
/// after the task.
async fn run_task(
    executor: &LocalExecutor,
    token: &BearerToken,
    assignment: pb::TaskAssignment,
) -> TaskOutcome {
    let assigned = match AssignedTask::try_from(assignment) {
        Ok(a) => a,
        Err(e) => {
            return TaskOutcome::Failed(TaskFailure::new(
                format!("invalid task from the node: {e}"),
                false,
            ));
        }
    };
    let (task, payload) = assigned.into_parts();
    let mut fetched: HashMap<DealId, PathBuf> = HashMap::new();
    if let TaskPayload::AddPiece(t) = &payload {
        let dir = t
            .paths
            .unsealed
            .as_path()
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| PathBuf::from("/"));
        for piece in &t.adding {
            if let ferrite_proto::PieceToAdd::Deal(d) = piece {
                let dest = dir.join(format!("deal-{}.piece", d.deal));
                if let Err(e) = crate::staging::fetch(&d.source, token, &dest).await {
                    remove_fetched(&fetched).await;
                    return TaskOutcome::Failed(TaskFailure::new(
                        format!("fetch the data of deal {}: {e:#}", d.deal),
                        true,
                    ));
                }
                fetched.insert(d.deal, dest);
            }
        }
    }
    let job = match crate::jobs::job_of(task.sector, payload, &fetched) {
        Ok(job) => job,
        Err(reason) => {
            remove_fetched(&fetched).await;
            return TaskOutcome::Failed(TaskFailure::new(reason, false));
        }
    };
    info!(task = %task.id, kind = %task.kind, sector = %task.sector, "running");
    let outcome = match executor.run(task.sector, job).await {
        Ok(out) => TaskOutcome::Done(crate::jobs::output_of(out)),
        Err(e) => {
            warn!(task = %task.id, kind = %task.kind, sector = %task.sector, "failed: {e:#}");
            TaskOutcome::Failed(TaskFailure::new(format!("{e:#}"), true))
        }
    };
    remove_fetched(&fetched).await;
    outcome
}

async fn remove_fetched(fetched: &HashMap<DealId, PathBuf>) {
    for path in fetched.values() {
        if let Err(e) = tokio::fs::remove_file(path).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            warn!("remove {}: {e}", path.display());
        }
    }
}

/// Sends the outcome, trying again for a while if the node is unreachable.
async fn report(mut client: WorkerClient, worker: WorkerId, task: TaskId, outcome: TaskOutcome) {
    let request = pb::CompleteRequest::from(Completion {
        worker,
        task,
        outcome,
    });
    for attempt in 1..=REPORT_TRIES {
        match client.complete(request.clone()).await {
            Ok(_) => return,
            Err(s) if s.code() == tonic::Code::Unavailable && attempt < REPORT_TRIES => {
                tokio::time::sleep(RECONNECT).await;
            }
            Err(s) => {
                warn!(task = %task, "the node refused the outcome: {}", s.message());
                return;
            }
        }
    }
}
