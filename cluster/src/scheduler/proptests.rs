//! Random sequences of scheduler operations, checking its invariants after
//! every step: no worker over capacity, no cap exceeded, no task in two
//! places, every task held exactly until it finishes, and an expired
//! worker's tasks back in the queue.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use ferrite_types::{ActorId, SectorId, SectorNumber, SectorSize};
use proptest::prelude::*;

use crate::{
    Scheduler, SchedulerConfig, Task, TaskId, TaskKind, TaskState, Usage, WorkerId, WorkerInfo,
};

const SIZES: [SectorSize; 3] = [SectorSize::S2KiB, SectorSize::S8MiB, SectorSize::S32GiB];
const WORKERS: u8 = 4;

#[derive(Debug, Clone)]
enum Op {
    Enqueue {
        kind: usize,
        size: usize,
        priority: i32,
        sector: u64,
    },
    Register {
        w: u8,
        cores: u32,
        memory_gib: u64,
        gpus: u32,
        kinds: u16,
    },
    Heartbeat {
        w: u8,
    },
    Advance {
        secs: u64,
    },
    Assign {
        holders: Vec<(u64, u8)>,
    },
    Complete {
        pick: usize,
    },
    Fail {
        pick: usize,
    },
    Expire,
    Deregister {
        w: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..TaskKind::ALL.len(), 0..SIZES.len(), -2i32..3, 0u64..6).prop_map(
            |(kind, size, priority, sector)| Op::Enqueue { kind, size, priority, sector }
        ),
        2 => (0..WORKERS, 0u32..40, 0u64..300, 0u32..3, any::<u16>()).prop_map(
            |(w, cores, memory_gib, gpus, kinds)| Op::Register { w, cores, memory_gib, gpus, kinds }
        ),
        2 => (0..WORKERS).prop_map(|w| Op::Heartbeat { w }),
        1 => (0u64..40).prop_map(|secs| Op::Advance { secs }),
        4 => proptest::collection::vec((0u64..6, 0..WORKERS), 0..4)
            .prop_map(|holders| Op::Assign { holders }),
        2 => any::<usize>().prop_map(|pick| Op::Complete { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Fail { pick }),
        1 => Just(Op::Expire),
        1 => (0..WORKERS).prop_map(|w| Op::Deregister { w }),
    ]
}

fn wid(w: u8) -> WorkerId {
    WorkerId(format!("w{w}"))
}

fn sector(n: u64) -> SectorId {
    SectorId::new(ActorId(1000), SectorNumber(n))
}

/// What the test expects the scheduler to hold.
#[derive(Default)]
struct Model {
    held: BTreeSet<TaskId>,
    last_seen: HashMap<WorkerId, Instant>,
    finished: BTreeSet<TaskId>,
    next_id: u64,
}

fn check(s: &Scheduler, model: &Model, caps: &BTreeMap<TaskKind, usize>) {
    let queued: Vec<TaskId> = s.queued().map(|t| t.id).collect();
    let running: Vec<TaskId> = s.running().map(|(t, _)| t.id).collect();
    let mut all: Vec<TaskId> = queued.iter().chain(&running).copied().collect();
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(before, all.len(), "a task is in two places");
    assert_eq!(
        all.into_iter().collect::<BTreeSet<_>>(),
        model.held,
        "held tasks are not exactly the enqueued, unfinished ones"
    );
    for id in &model.finished {
        assert_eq!(s.state(*id), None);
    }

    let mut per_worker: HashMap<WorkerId, Usage> = HashMap::new();
    for (task, w) in s.running() {
        let info = s
            .workers()
            .find(|i| &i.id == w)
            .unwrap_or_else(|| panic!("task {} runs on unregistered {w}", task.id));
        assert!(info.accepts(task.kind));
        let res = s.config().resources.get(task.kind, task.size).unwrap();
        let e = per_worker.entry(w.clone()).or_default();
        *e = e.plus(res.on(info));
    }
    for info in s.workers() {
        let used = s.usage(&info.id).unwrap();
        assert_eq!(used, per_worker.get(&info.id).copied().unwrap_or_default());
        assert!(
            used.within(Usage::capacity_of(info)),
            "{} over capacity",
            info.id
        );
    }
    for (kind, cap) in caps {
        assert!(s.running_count(*kind) <= *cap, "{kind} over its cap");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn invariants_hold_for_any_sequence(
        ops in proptest::collection::vec(op(), 1..80),
        pc1_cap in 0usize..3,
        c2_cap in 1usize..3,
    ) {
        let caps = BTreeMap::from([(TaskKind::Pc1, pc1_cap), (TaskKind::C2, c2_cap)]);
        let config = SchedulerConfig { max_running: caps.clone(), ..SchedulerConfig::default() };
        let timeout = config.heartbeat_timeout();
        let mut s = Scheduler::new(config);
        let mut m = Model::default();
        let mut now = Instant::now();
        for op in ops {
            match op {
                Op::Enqueue { kind, size, priority, sector: n } => {
                    let id = TaskId(m.next_id);
                    m.next_id += 1;
                    s.enqueue(Task { id, kind: TaskKind::ALL[kind], sector: sector(n), size: SIZES[size], priority }).unwrap();
                    m.held.insert(id);
                }
                Op::Register { w, cores, memory_gib, gpus, kinds } => {
                    let kinds = TaskKind::ALL.into_iter().enumerate()
                        .filter(|(i, _)| kinds & (1 << i) != 0).map(|(_, k)| k).collect();
                    let info = WorkerInfo { id: wid(w), hostname: "h".into(), cores,
                        memory: memory_gib << 30, gpus, gpu_devices: vec![], kinds,
                        max_running: Default::default(), paths: vec![] };
                    let was_running: Vec<TaskId> = s.running().filter(|(_, x)| **x == wid(w)).map(|(t, _)| t.id).collect();
                    let requeued = s.register(info, now);
                    m.last_seen.insert(wid(w), now);
                    prop_assert_eq!(&requeued, &was_running);
                    for id in requeued {
                        prop_assert_eq!(s.state(id), Some(TaskState::Queued));
                    }
                }
                Op::Heartbeat { w } => {
                    let known = s.workers().any(|i| i.id == wid(w));
                    prop_assert_eq!(s.heartbeat(&wid(w), now).is_ok(), known);
                    if known {
                        m.last_seen.insert(wid(w), now);
                    }
                }
                Op::Advance { secs } => now += Duration::from_secs(secs),
                Op::Assign { holders } => {
                    let holders: HashMap<SectorId, WorkerId> =
                        holders.into_iter().map(|(n, w)| (sector(n), wid(w))).collect();
                    let queued_before: BTreeSet<TaskId> = s.queued().map(|t| t.id).collect();
                    let out = s.assign(now, &holders);
                    let mut seen = BTreeSet::new();
                    for a in &out {
                        prop_assert!(seen.insert(a.task.id), "task assigned twice in one round");
                        prop_assert!(queued_before.contains(&a.task.id), "assigned a task that was not queued");
                        prop_assert_eq!(s.state(a.task.id), Some(TaskState::Running(a.worker.clone())));
                    }
                }
                Op::Complete { pick } | Op::Fail { pick } if s.running().count() > 0 => {
                    let n = s.running().count();
                    let (id, w) = s.running().nth(pick % n).map(|(t, w)| (t.id, w.clone())).unwrap();
                    let done = if matches!(op, Op::Complete { .. }) { s.complete(id, &w) } else { s.fail(id, &w) };
                    prop_assert_eq!(done.unwrap().id, id);
                    m.held.remove(&id);
                    m.finished.insert(id);
                }
                Op::Complete { .. } | Op::Fail { .. } => {}
                Op::Expire => {
                    let stale: BTreeSet<WorkerId> = s
                        .workers()
                        .map(|i| i.id.clone())
                        .filter(|w| now.saturating_duration_since(m.last_seen[w]) > timeout)
                        .collect();
                    let running_before: Vec<(TaskId, WorkerId)> = s.running().map(|(t, w)| (t.id, w.clone())).collect();
                    let expired = s.expire(now);
                    for e in &expired {
                        m.last_seen.remove(&e.worker);
                    }
                    prop_assert_eq!(
                        expired.iter().map(|e| e.worker.clone()).collect::<BTreeSet<_>>(),
                        stale.clone(),
                        "expired exactly the workers silent for longer than the timeout"
                    );
                    for e in &expired {
                        prop_assert!(stale.contains(&e.worker));
                        prop_assert!(s.workers().all(|i| i.id != e.worker));
                        for (id, w) in &running_before {
                            if *w == e.worker {
                                prop_assert!(e.requeued.contains(id));
                                prop_assert_eq!(s.state(*id), Some(TaskState::Queued));
                            }
                        }
                    }
                    prop_assert!(s.running().all(|(_, w)| !stale.contains(w)));
                }
                Op::Deregister { w } => {
                    let known = s.workers().any(|i| i.id == wid(w));
                    m.last_seen.remove(&wid(w));
                    prop_assert_eq!(s.deregister(&wid(w)).is_ok(), known);
                }
            }
            check(&s, &m, &caps);
        }
    }
}
