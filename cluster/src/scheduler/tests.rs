//! One test per scheduling rule.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ferrite_types::{ActorId, SectorId, SectorNumber, SectorSize};

use crate::{
    ClusterError, ResourceTable, Resources, Scheduler, SchedulerConfig, Task, TaskId, TaskKind,
    TaskState, Usage, WorkerId, WorkerInfo,
};

const GIB: u64 = 1 << 30;

fn wid(name: &str) -> WorkerId {
    WorkerId(name.to_string())
}

fn worker(name: &str, cores: u32, memory: u64, gpus: u32, kinds: &[TaskKind]) -> WorkerInfo {
    WorkerInfo {
        id: wid(name),
        hostname: format!("{name}.local"),
        cores,
        memory,
        gpus,
        gpu_devices: vec![],
        kinds: kinds.iter().copied().collect(),
        max_running: BTreeMap::new(),
        paths: vec![],
    }
}

fn sector(n: u64) -> SectorId {
    SectorId::new(ActorId(1000), SectorNumber(n))
}

fn task(id: u64, kind: TaskKind, size: SectorSize) -> Task {
    Task {
        id: TaskId(id),
        kind,
        sector: sector(id),
        size,
        priority: 0,
    }
}

fn ids(assigned: &[crate::Assignment]) -> Vec<u64> {
    assigned.iter().map(|a| a.task.id.0).collect()
}

fn none() -> HashMap<SectorId, WorkerId> {
    HashMap::new()
}

#[test]
fn a_task_runs_only_where_its_memory_fits() {
    let t0 = Instant::now();
    let mut s = Scheduler::new(SchedulerConfig::default());
    // 32 GiB PC1 needs 56 GiB: a 64 GiB host takes one at a time.
    s.register(worker("small", 64, 64 * GIB, 0, &[TaskKind::Pc1]), t0);
    s.enqueue(task(1, TaskKind::Pc1, SectorSize::S32GiB))
        .unwrap();
    s.enqueue(task(2, TaskKind::Pc1, SectorSize::S32GiB))
        .unwrap();
    assert_eq!(ids(&s.assign(t0, &none())), vec![1]);
    assert_eq!(s.state(TaskId(2)), Some(TaskState::Queued));
    assert_eq!(s.usage(&wid("small")).map(|u| u.memory), Some(56 * GIB));

    s.complete(TaskId(1), &wid("small")).unwrap();
    assert_eq!(s.usage(&wid("small")), Some(Usage::default()));
    assert_eq!(ids(&s.assign(t0, &none())), vec![2]);
}

#[test]
fn a_task_too_big_for_every_worker_stays_queued_and_blocks_nothing() {
    let t0 = Instant::now();
    let mut s = Scheduler::new(SchedulerConfig::default());
    s.register(worker("w", 8, 16 * GIB, 0, &[TaskKind::Pc1]), t0);
    s.enqueue(task(1, TaskKind::Pc1, SectorSize::S64GiB))
        .unwrap();
    s.enqueue(task(2, TaskKind::Pc1, SectorSize::S2KiB))
        .unwrap();
    assert_eq!(ids(&s.assign(t0, &none())), vec![2]);
    assert_eq!(s.state(TaskId(1)), Some(TaskState::Queued));
}

#[test]
fn gpu_tasks_share_a_worker_by_its_gpus_and_cores() {
    let t0 = Instant::now();
    let mut s = Scheduler::new(SchedulerConfig::default());
    // One GPU: one 32 GiB C2 at a time, using 6 cores and the GPU.
    s.register(worker("gpu", 32, 512 * GIB, 1, &[TaskKind::C2]), t0);
    for id in 1..=2 {
        s.enqueue(task(id, TaskKind::C2, SectorSize::S32GiB))
            .unwrap();
    }
    assert_eq!(ids(&s.assign(t0, &none())), vec![1]);
    assert_eq!(
        s.usage(&wid("gpu")),
        Some(Usage {
            memory: 30 * GIB,
            cores: 6,
            gpus: 1
        })
    );
    // Without a GPU, a 32 GiB C2 runs on the CPU and takes every core.
    s.register(worker("cpu", 16, 512 * GIB, 0, &[TaskKind::C2]), t0);
    assert_eq!(ids(&s.assign(t0, &none())), vec![2]);
    assert_eq!(
        s.usage(&wid("cpu")).map(|u| (u.cores, u.gpus)),
        Some((16, 0))
    );
}

#[test]
fn gpu_tasks_go_to_a_free_gpu_before_the_holder_and_cpu_tasks_stay_put() {
    let t0 = Instant::now();
    let mut s = Scheduler::new(SchedulerConfig::default());
    // The CPU worker holds the sectors and has more of everything but GPUs.
    s.register(worker("cpu", 64, 1024 * GIB, 0, &TaskKind::ALL), t0);
    s.register(worker("gpu", 16, 256 * GIB, 1, &TaskKind::ALL), t0);
    let holders = HashMap::from([(sector(1), wid("cpu")), (sector(2), wid("cpu"))]);
    s.enqueue(task(1, TaskKind::C2, SectorSize::S2KiB)).unwrap();
    let a = s.assign(t0, &holders);
    assert_eq!(a[0].worker, wid("gpu"));
    assert_eq!(s.usage(&wid("gpu")).map(|u| u.gpus), Some(1));
    // The one GPU slot is taken: the next C2 runs on the holder's CPU
    // rather than wait.
    s.enqueue(task(2, TaskKind::C2, SectorSize::S2KiB)).unwrap();
    let a = s.assign(t0, &holders);
    assert_eq!(a[0].worker, wid("cpu"));
    assert_eq!(s.usage(&wid("cpu")).map(|u| u.gpus), Some(0));
    // A task with no use for a GPU stays with its sector's holder.
    s.enqueue(Task {
        sector: sector(1),
        ..task(3, TaskKind::C1, SectorSize::S2KiB)
    })
    .unwrap();
    assert_eq!(s.assign(t0, &holders)[0].worker, wid("cpu"));
}

#[test]
fn a_worker_gets_no_more_of_a_kind_than_it_runs_at_once() {
    let t0 = Instant::now();
    let mut s = Scheduler::new(SchedulerConfig::default());
    // Cores for eight 2 KiB C2s, but its prover takes two at once.
    let mut w = worker("w", 8, 64 * GIB, 0, &[TaskKind::C2, TaskKind::C1]);
    w.max_running = BTreeMap::from([(TaskKind::C2, 2)]);
    s.register(w, t0);
    for id in 1..=4 {
        s.enqueue(task(id, TaskKind::C2, SectorSize::S2KiB))
            .unwrap();
    }
    s.enqueue(task(5, TaskKind::C1, SectorSize::S2KiB)).unwrap();
    // Two C2s, and the C1, whose kind has no limit.
    assert_eq!(ids(&s.assign(t0, &none())), vec![1, 2, 5]);
    assert!(s.assign(t0, &none()).is_empty());
    s.complete(TaskId(1), &wid("w")).unwrap();
    assert_eq!(ids(&s.assign(t0, &none())), vec![3]);
}

#[test]
fn workers_get_only_the_kinds_they_accept() {
    let t0 = Instant::now();
    let mut s = Scheduler::new(SchedulerConfig::default());
    s.register(worker("pc1-only", 64, 512 * GIB, 0, &[TaskKind::Pc1]), t0);
    s.enqueue(task(1, TaskKind::Pc2, SectorSize::S2KiB))
        .unwrap();
    assert!(s.assign(t0, &none()).is_empty());
    s.register(worker("pc2", 64, 512 * GIB, 0, &[TaskKind::Pc2]), t0);
    let a = s.assign(t0, &none());
    assert_eq!(a[0].worker, wid("pc2"));
}

#[test]
fn per_kind_caps_hold_across_the_cluster() {
    let t0 = Instant::now();
    let config = SchedulerConfig {
        max_running: BTreeMap::from([(TaskKind::Pc1, 2)]),
        ..SchedulerConfig::default()
    };
    let mut s = Scheduler::new(config);
    s.register(
        worker("a", 64, 512 * GIB, 0, &[TaskKind::Pc1, TaskKind::AddPiece]),
        t0,
    );
    s.register(worker("b", 64, 512 * GIB, 0, &[TaskKind::Pc1]), t0);
    for id in 1..=4 {
        s.enqueue(task(id, TaskKind::Pc1, SectorSize::S2KiB))
            .unwrap();
    }
    s.enqueue(task(5, TaskKind::AddPiece, SectorSize::S2KiB))
        .unwrap();
    // The cap stops PC1 at two, but not AddPiece behind them.
    assert_eq!(ids(&s.assign(t0, &none())), vec![1, 2, 5]);
    assert_eq!(s.running_count(TaskKind::Pc1), 2);
    assert!(s.assign(t0, &none()).is_empty());
    let w = match s.state(TaskId(1)) {
        Some(TaskState::Running(w)) => w,
        other => panic!("task 1 is {other:?}"),
    };
    s.fail(TaskId(1), &w).unwrap();
    assert_eq!(ids(&s.assign(t0, &none())), vec![3]);
}

#[test]
fn the_worker_holding_the_sector_wins_when_it_has_room() {
    let t0 = Instant::now();
    let mut s = Scheduler::new(SchedulerConfig::default());
    s.register(worker("big", 64, 1024 * GIB, 0, &[TaskKind::Pc2]), t0);
    s.register(worker("holder", 64, 32 * GIB, 0, &[TaskKind::Pc2]), t0);
    s.enqueue(task(1, TaskKind::Pc2, SectorSize::S2KiB))
        .unwrap();
    s.enqueue(task(2, TaskKind::Pc2, SectorSize::S2KiB))
        .unwrap();
    let holders = HashMap::from([(sector(1), wid("holder")), (sector(2), wid("holder"))]);
    let a = s.assign(t0, &holders);
    // PC2 on a CPU takes every core: the holder has room for task 1 only,
    // and task 2 goes to the other worker rather than wait.
    assert_eq!(a[0].task.id, TaskId(1));
    assert_eq!(a[0].worker, wid("holder"));
    assert_eq!(a[1].task.id, TaskId(2));
    assert_eq!(a[1].worker, wid("big"));
}

#[test]
fn without_a_holder_the_worker_with_most_memory_left_wins() {
    let t0 = Instant::now();
    let mut s = Scheduler::new(SchedulerConfig::default());
    s.register(worker("a", 64, 128 * GIB, 0, &[TaskKind::Pc1]), t0);
    s.register(worker("b", 64, 256 * GIB, 0, &[TaskKind::Pc1]), t0);
    s.enqueue(task(1, TaskKind::Pc1, SectorSize::S2KiB))
        .unwrap();
    assert_eq!(s.assign(t0, &none())[0].worker, wid("b"));
}

#[test]
fn proving_goes_before_sealing_whatever_the_order_and_priority() {
    let t0 = Instant::now();
    let mut s = Scheduler::new(SchedulerConfig::default());
    // One GPU: room for one GPU task.
    s.register(
        worker(
            "gpu",
            32,
            512 * GIB,
            1,
            &[TaskKind::C2, TaskKind::WindowPost],
        ),
        t0,
    );
    let mut c2 = task(1, TaskKind::C2, SectorSize::S32GiB);
    c2.priority = 100;
    s.enqueue(c2).unwrap();
    s.enqueue(task(2, TaskKind::WindowPost, SectorSize::S32GiB))
        .unwrap();
    assert_eq!(ids(&s.assign(t0, &none())), vec![2]);
    assert_eq!(s.queued().map(|t| t.id.0).collect::<Vec<_>>(), vec![1]);
}

#[test]
fn within_a_class_higher_priority_then_arrival_order() {
    let t0 = Instant::now();
    let mut s = Scheduler::new(SchedulerConfig::default());
    for (id, prio) in [(1, 0), (2, 5), (3, 0), (4, 5)] {
        let mut t = task(id, TaskKind::AddPiece, SectorSize::S2KiB);
        t.priority = prio;
        s.enqueue(t).unwrap();
    }
    assert_eq!(
        s.queued().map(|t| t.id.0).collect::<Vec<_>>(),
        vec![2, 4, 1, 3]
    );
    s.register(worker("w", 2, GIB, 0, &[TaskKind::AddPiece]), t0);
    // Two cores: two AddPieces.
    assert_eq!(ids(&s.assign(t0, &none())), vec![2, 4]);
}

#[test]
fn a_silent_worker_is_expired_and_its_tasks_run_elsewhere() {
    let t0 = Instant::now();
    let timeout = SchedulerConfig::default().heartbeat_timeout();
    let mut s = Scheduler::new(SchedulerConfig::default());
    s.register(worker("a", 64, 512 * GIB, 0, &[TaskKind::Pc2]), t0);
    s.enqueue(task(1, TaskKind::Pc2, SectorSize::S2KiB))
        .unwrap();
    s.enqueue(task(2, TaskKind::Pc2, SectorSize::S2KiB))
        .unwrap();
    assert_eq!(ids(&s.assign(t0, &none())), vec![1]);

    // "b" keeps beating, "a" does not.
    let later = t0 + timeout + Duration::from_secs(1);
    s.register(worker("b", 64, 512 * GIB, 0, &[TaskKind::Pc2]), t0);
    s.heartbeat(&wid("b"), later).unwrap();
    let expired = s.expire(later);
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].worker, wid("a"));
    assert_eq!(expired[0].requeued, vec![TaskId(1)]);
    // Task 1 keeps its place ahead of task 2.
    assert_eq!(s.queued().map(|t| t.id.0).collect::<Vec<_>>(), vec![1, 2]);
    let a = s.assign(later, &HashMap::from([(sector(1), wid("a"))]));
    assert_eq!(ids(&a), vec![1]);
    assert_eq!(a[0].worker, wid("b"));

    // The expired worker must register again, and its late report is refused.
    assert!(matches!(
        s.heartbeat(&wid("a"), later),
        Err(ClusterError::UnknownWorker(_))
    ));
    assert!(matches!(
        s.complete(TaskId(1), &wid("a")),
        Err(ClusterError::WrongWorker { .. })
    ));
}

#[test]
fn a_stale_worker_gets_nothing_even_before_it_is_expired() {
    let t0 = Instant::now();
    let timeout = SchedulerConfig::default().heartbeat_timeout();
    let mut s = Scheduler::new(SchedulerConfig::default());
    s.register(worker("a", 64, 512 * GIB, 0, &[TaskKind::Pc1]), t0);
    s.enqueue(task(1, TaskKind::Pc1, SectorSize::S2KiB))
        .unwrap();
    assert!(s.assign(t0 + timeout * 2, &none()).is_empty());
    s.heartbeat(&wid("a"), t0 + timeout * 2).unwrap();
    assert_eq!(ids(&s.assign(t0 + timeout * 2, &none())), vec![1]);
}

#[test]
fn a_worker_that_registers_again_has_lost_its_tasks() {
    let t0 = Instant::now();
    let mut s = Scheduler::new(SchedulerConfig::default());
    s.register(worker("a", 64, 512 * GIB, 0, &[TaskKind::Pc1]), t0);
    s.enqueue(task(1, TaskKind::Pc1, SectorSize::S2KiB))
        .unwrap();
    s.assign(t0, &none());
    let requeued = s.register(worker("a", 64, 512 * GIB, 0, &[TaskKind::Pc1]), t0);
    assert_eq!(requeued, vec![TaskId(1)]);
    assert_eq!(s.usage(&wid("a")), Some(Usage::default()));
    assert_eq!(ids(&s.assign(t0, &none())), vec![1]);
    assert_eq!(s.deregister(&wid("a")).unwrap(), vec![TaskId(1)]);
    assert_eq!(s.state(TaskId(1)), Some(TaskState::Queued));
}

#[test]
fn bad_reports_and_duplicates_are_errors() {
    let t0 = Instant::now();
    let mut s = Scheduler::new(SchedulerConfig::default());
    s.enqueue(task(1, TaskKind::Pc1, SectorSize::S2KiB))
        .unwrap();
    assert!(matches!(
        s.enqueue(task(1, TaskKind::Pc2, SectorSize::S2KiB)),
        Err(ClusterError::DuplicateTask(TaskId(1)))
    ));
    assert!(matches!(
        s.complete(TaskId(1), &wid("a")),
        Err(ClusterError::TaskNotRunning(TaskId(1)))
    ));
    assert!(matches!(
        s.fail(TaskId(9), &wid("a")),
        Err(ClusterError::UnknownTask(TaskId(9)))
    ));
    assert!(matches!(
        s.heartbeat(&wid("nobody"), t0),
        Err(ClusterError::UnknownWorker(_))
    ));
    // A finished task is forgotten; its id may be enqueued again (a retry).
    s.register(worker("a", 64, 512 * GIB, 0, &[TaskKind::Pc1]), t0);
    s.assign(t0, &none());
    assert_eq!(s.fail(TaskId(1), &wid("a")).unwrap().id, TaskId(1));
    assert_eq!(s.state(TaskId(1)), None);
    s.enqueue(task(1, TaskKind::Pc1, SectorSize::S2KiB))
        .unwrap();
}

#[test]
fn a_task_without_a_resource_entry_is_refused() {
    let mut resources = ResourceTable::empty();
    resources.set(
        TaskKind::Pc1,
        SectorSize::S2KiB,
        Resources {
            memory: 1,
            cores: 1,
            gpu: false,
            gpu_cores: 0,
        },
    );
    let mut s = Scheduler::new(SchedulerConfig {
        resources,
        ..SchedulerConfig::default()
    });
    s.enqueue(task(1, TaskKind::Pc1, SectorSize::S2KiB))
        .unwrap();
    assert!(matches!(
        s.enqueue(task(2, TaskKind::Pc1, SectorSize::S8MiB)),
        Err(ClusterError::NoResources { .. })
    ));
}

#[test]
fn a_task_on_a_storage_path_goes_only_to_a_worker_that_mounts_it() {
    use crate::PathId;
    let mut s = Scheduler::new(SchedulerConfig::default());
    let now = Instant::now();
    let mut without = worker("a-without", 16, 64 * GIB, 0, &[TaskKind::Pc2]);
    without.paths = vec![PathId(1)];
    s.register(without, now);
    s.enqueue_on(task(1, TaskKind::Pc2, SectorSize::S2KiB), vec![PathId(2)])
        .unwrap();
    assert!(s.assign(now, &none()).is_empty(), "no worker mounts path 2");
    let mut with = worker("b-with", 16, 64 * GIB, 0, &[TaskKind::Pc2]);
    with.paths = vec![PathId(1), PathId(2)];
    s.register(with, now);
    let assigned = s.assign(now, &none());
    assert_eq!(assigned[0].worker, WorkerId("b-with".into()));
    // Requeued when its worker is lost, it still needs the path.
    s.deregister(&WorkerId("b-with".into())).unwrap();
    assert!(s.assign(now, &none()).is_empty());
    // A worker that mounts the path later gets it, without a restart.
    s.set_paths(&WorkerId("a-without".into()), vec![PathId(2)])
        .unwrap();
    assert_eq!(
        s.assign(now, &none())[0].worker,
        WorkerId("a-without".into())
    );
    assert!(s.set_paths(&WorkerId("nobody".into()), vec![]).is_err());
}
