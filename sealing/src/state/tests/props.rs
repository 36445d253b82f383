//! Property tests: random event sequences from every kind of state.

use super::*;

/// One state of every kind, as the machine itself produces them: every state
/// on the path of a sector with a deal, and every failure reachable from it.
pub(super) fn catalog() -> Vec<SectorState> {
    let mut path = vec![step(
        &cc_sector(),
        Event::AssignPiece {
            piece: deal(1, 512),
        },
    )];
    loop {
        let last = &path[path.len() - 1];
        let Some(ev) = progress(last) else { break };
        let next = step(last, ev);
        path.push(next);
    }
    let mut all = Vec::new();
    for s in path {
        for ev in sample_events() {
            if let Ok(n) = s.apply(ev, &POLICY)
                && n.failure().is_some()
            {
                all.push(n);
            }
        }
        all.push(s);
    }
    all.push(SectorState::Removing);
    all.push(SectorState::Removed);
    all
}

/// One event of every kind, with plausible data.
pub(super) fn sample_events() -> Vec<Event> {
    let mut evs = vec![
        Event::AssignPiece {
            piece: deal(2, 256),
        },
        Event::StartSealing,
        Event::PieceAdded {
            pieces: vec![zero_piece(padded(2048))],
        },
        Event::Pc1Done {
            ticket: Ticket([1; 32]),
            ticket_epoch: ChainEpoch(10),
            output: Pc1Output(vec![1]),
        },
        Event::Pc2Done {
            comm_r: CommR([1; 32]),
            comm_d: CommD([1; 32]),
        },
        Event::PreCommitSent {
            message: MessageCid("m".to_string()),
        },
        Event::PreCommitLanded {
            epoch: ChainEpoch(200),
        },
        Event::PreCommitFailed {
            reason: "r".to_string(),
        },
        Event::TicketExpired,
        Event::SeedReady {
            seed: Seed([1; 32]),
            epoch: ChainEpoch(500),
        },
        Event::C1Done,
        Event::C2Done {
            proof: PoRepProof(vec![1]),
        },
        Event::ProofInvalid {
            reason: "r".to_string(),
        },
        Event::ProveCommitSent {
            message: MessageCid("m".to_string()),
        },
        Event::ProveCommitLanded {
            epoch: ChainEpoch(900),
        },
        Event::ProveCommitFailed {
            reason: "r".to_string(),
        },
        Event::Finalized,
        Event::Retry,
        Event::Restart,
        Event::Remove,
        Event::DataRemoved,
    ];
    for task in TASKS {
        evs.push(Event::TaskFailed {
            task,
            reason: "r".to_string(),
        });
    }
    evs
}

const TASKS: [Task; 7] = [
    Task::AddPiece,
    Task::Pc1,
    Task::Pc2,
    Task::C1,
    Task::C2,
    Task::Finalize,
    Task::RemoveData,
];

fn arb_size() -> impl Strategy<Value = PaddedPieceSize> {
    (7u32..=12).prop_map(|bits| padded(1 << bits))
}

fn arb_epoch() -> impl Strategy<Value = ChainEpoch> {
    (-5i64..1200).prop_map(ChainEpoch)
}

fn arb_piece() -> impl Strategy<Value = PieceInfo> {
    (0u8..3, arb_size()).prop_map(|(c, size)| PieceInfo {
        comm_p: CommP([c; 32]),
        size,
    })
}

fn arb_event() -> impl Strategy<Value = Event> {
    let text = "[a-z ]{0,8}";
    prop_oneof![
        (0u64..3, arb_size()).prop_map(|(id, size)| Event::AssignPiece {
            piece: deal(id, size.bytes())
        }),
        Just(Event::StartSealing),
        prop::collection::vec(arb_piece(), 0..4).prop_map(|pieces| Event::PieceAdded { pieces }),
        (
            any::<u8>(),
            arb_epoch(),
            prop::collection::vec(any::<u8>(), 0..4)
        )
            .prop_map(|(t, ticket_epoch, output)| Event::Pc1Done {
                ticket: Ticket([t; 32]),
                ticket_epoch,
                output: Pc1Output(output),
            }),
        (any::<u8>(), any::<u8>()).prop_map(|(r, d)| Event::Pc2Done {
            comm_r: CommR([r; 32]),
            comm_d: CommD([d; 32]),
        }),
        text.prop_map(|m| Event::PreCommitSent {
            message: MessageCid(m)
        }),
        arb_epoch().prop_map(|epoch| Event::PreCommitLanded { epoch }),
        text.prop_map(|reason| Event::PreCommitFailed { reason }),
        Just(Event::TicketExpired),
        (any::<u8>(), arb_epoch()).prop_map(|(s, epoch)| Event::SeedReady {
            seed: Seed([s; 32]),
            epoch,
        }),
        Just(Event::C1Done),
        prop::collection::vec(any::<u8>(), 0..3).prop_map(|p| Event::C2Done {
            proof: PoRepProof(p)
        }),
        text.prop_map(|reason| Event::ProofInvalid { reason }),
        text.prop_map(|m| Event::ProveCommitSent {
            message: MessageCid(m)
        }),
        arb_epoch().prop_map(|epoch| Event::ProveCommitLanded { epoch }),
        text.prop_map(|reason| Event::ProveCommitFailed { reason }),
        Just(Event::Finalized),
        (prop::sample::select(TASKS.to_vec()), text)
            .prop_map(|(task, reason)| Event::TaskFailed { task, reason }),
        Just(Event::Retry),
        Just(Event::Restart),
        Just(Event::Remove),
        Just(Event::DataRemoved),
    ]
}

/// A step of a sequence: the event that moves the sector forward (so that
/// long sequences get deep into the pipeline), a failure or a chain
/// recovery that fits the state (so that retries run up to the limit), a deal piece, or any event.
#[derive(Debug, Clone)]
enum Step {
    Progress,
    Detour(usize),
    Assign(DealPiece),
    Random(Event),
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Progress),
        2 => any::<usize>().prop_map(Step::Detour),
        2 => (0u64..3, arb_size()).prop_map(|(id, size)| Step::Assign(deal(id, size.bytes()))),
        3 => arb_event().prop_map(Step::Random),
    ]
}

/// The failures a sector in `s` can meet, and the chain's answers to a
/// message sent before a crash.
fn detours(s: &SectorState) -> Vec<Event> {
    use SectorState as S;
    let reason = || "boom".to_string();
    let task_failed = |task| Event::TaskFailed {
        task,
        reason: reason(),
    };
    match s {
        S::AddPiece { .. } => vec![
            task_failed(Task::AddPiece),
            Event::PieceAdded { pieces: vec![] },
        ],
        S::Pc1 { .. } => vec![task_failed(Task::Pc1)],
        S::Pc2 { .. } => vec![task_failed(Task::Pc2)],
        S::PreCommitReady { sealed, .. } => vec![
            Event::PreCommitFailed { reason: reason() },
            Event::TicketExpired,
            Event::PreCommitLanded {
                epoch: sealed.ticket.epoch.plus(5),
            },
        ],
        S::PreCommitting { .. } => vec![
            Event::PreCommitFailed { reason: reason() },
            Event::TicketExpired,
        ],
        S::C1 { .. } => vec![task_failed(Task::C1)],
        S::C2 { .. } => vec![
            task_failed(Task::C2),
            Event::C2Done {
                proof: PoRepProof(vec![]),
            },
        ],
        S::ProveCommitReady { challenge, .. } => vec![
            Event::ProofInvalid { reason: reason() },
            Event::ProveCommitFailed { reason: reason() },
            Event::ProveCommitLanded {
                epoch: challenge.seed_epoch.plus(5),
            },
        ],
        S::ProveCommitting { .. } => vec![Event::ProveCommitFailed { reason: reason() }],
        S::Finalizing { .. } => vec![task_failed(Task::Finalize)],
        S::Removing => vec![task_failed(Task::RemoveData)],
        _ => vec![Event::Restart, Event::Remove],
    }
}

fn arb_policy() -> impl Strategy<Value = RetryPolicy> {
    (1u32..5, 0u64..100, 0u64..1000).prop_map(|(max_attempts, backoff_secs, max_backoff_secs)| {
        RetryPolicy {
            max_attempts,
            backoff_secs,
            max_backoff_secs,
        }
    })
}

fn is_working(s: &SectorState) -> bool {
    s.base().is_some()
}

/// The states only a landed prove-commit leads to.
fn is_proven(s: &SectorState) -> bool {
    matches!(
        s,
        SectorState::Finalizing { .. }
            | SectorState::Proving { .. }
            | SectorState::FinalizeFailed(_)
    )
}

const KINDS: [FailureKind; 5] = [
    FailureKind::Seal,
    FailureKind::PreCommit,
    FailureKind::ComputeProof,
    FailureKind::ProveCommit,
    FailureKind::Finalize,
];

/// Everything that must hold of a state the machine produced.
fn check_state(s: &SectorState, policy: &RetryPolicy) -> Result<(), TestCaseError> {
    // A retried stage has failed fewer times than the limit (or the operator
    // cleared its count); a failure has counted itself.
    if let Some(base) = s.base() {
        for kind in KINDS {
            prop_assert!(
                base.attempts.get(kind) < policy.max_attempts,
                "{kind:?} count {} in {} with limit {}",
                base.attempts.get(kind),
                s.name(),
                policy.max_attempts
            );
        }
    }
    // Pieces sit back to back, each aligned to its size, within the sector;
    // from PC1 on they fill it exactly.
    if let Some(base) = s.base() {
        let sector = PaddedPieceSize::from(base.proof.sector_size()).bytes();
        let mut offset = 0;
        for p in &base.pieces {
            let size = p.info().size.bytes();
            prop_assert_eq!(offset % size, 0, "piece of {} at {}", size, offset);
            offset += size;
        }
        prop_assert!(offset <= sector);
        let packing = matches!(
            s,
            SectorState::Packing { .. } | SectorState::AddPiece { .. }
        );
        prop_assert!(
            packing || offset == sector,
            "{} with {} of {} bytes",
            s.name(),
            offset,
            sector
        );
        if let SectorState::AddPiece { adding, .. } = s {
            for a in adding {
                let size = a.size().bytes();
                prop_assert_eq!(offset % size, 0, "adding {} at {}", size, offset);
                offset += size;
            }
            prop_assert!(offset <= sector);
        }
    }
    if let Some((kind, f)) = s.failure() {
        prop_assert!(
            is_working(&f.retry_from),
            "retry from {}",
            f.retry_from.name()
        );
        let base = f
            .retry_from
            .base()
            .ok_or_else(|| TestCaseError::fail("no base"))?;
        let attempts = base.attempts.get(kind);
        prop_assert!(attempts >= 1 && attempts <= policy.max_attempts);
        for other in KINDS.into_iter().filter(|k| *k != kind) {
            prop_assert!(base.attempts.get(other) < policy.max_attempts);
        }
    }

    // next_action agrees with the events the state accepts.
    let action = s.next_action(policy);
    if let Some(task) = action.task() {
        let failed = s.apply(
            Event::TaskFailed {
                task,
                reason: "x".to_string(),
            },
            policy,
        );
        prop_assert!(failed.is_ok(), "{} refuses a {task:?} failure", s.name());
    }
    match action {
        Action::Retry { after } => {
            let attempts = s
                .failed_attempts()
                .ok_or_else(|| TestCaseError::fail("no failure"))?;
            prop_assert!(policy.allows_retry(attempts));
            prop_assert_eq!(after, policy.backoff(attempts));
            let retried = s.apply(Event::Retry, policy);
            prop_assert!(retried.is_ok(), "{:?}", retried);
        }
        Action::AwaitOperator => {
            prop_assert!(s.failure().is_some());
            let retried = s.apply(Event::Retry, policy);
            prop_assert!(
                matches!(retried, Err(TransitionError::RetriesExhausted { .. })),
                "{retried:?}"
            );
            prop_assert!(s.apply(Event::Restart, policy).is_ok());
        }
        Action::None => prop_assert!(
            matches!(s, SectorState::Proving { .. } | SectorState::Removed),
            "{} has nothing to do",
            s.name()
        ),
        _ => prop_assert!(s.failure().is_none()),
    }
    // Every state but the terminal ones has a way forward, and a well-behaved
    // worker's report of the action's result is accepted.
    if let Some(ev) = progress(s) {
        let exhausted = matches!(action, Action::AwaitOperator);
        let next = s.apply(ev, policy);
        prop_assert!(
            next.is_ok() || exhausted,
            "{} refuses progress: {next:?}",
            s.name()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_sequences_keep_the_machine_well_formed(
        start in prop::sample::select(catalog()),
        steps in prop::collection::vec(arb_step(), 0..80),
        policy in arb_policy(),
    ) {
        // The catalog's counts were made under POLICY; a stricter random
        // policy would judge them as if they came from elsewhere.
        let policy = RetryPolicy { max_attempts: policy.max_attempts.max(POLICY.max_attempts), ..policy };
        check_state(&start, &policy)?;
        let mut s = start.clone();
        let mut landed = is_proven(&start);
        for st in steps {
            let ev = match st {
                Step::Progress => match progress(&s) {
                    Some(ev) => ev,
                    None => continue,
                },
                Step::Detour(i) => {
                    let evs = detours(&s);
                    evs[i % evs.len()].clone()
                }
                Step::Assign(piece) => Event::AssignPiece { piece },
                Step::Random(ev) => ev,
            };
            let name = ev.name();
            let before = s.clone();
            match s.apply(ev, &policy) {
                Err(_) => {
                    // refused: nothing changed
                    prop_assert_eq!(&s, &before);
                }
                Ok(next) => {
                    prop_assert!(!matches!(before, SectorState::Removed), "{} left Removed", name);
                    prop_assert!(SectorState::NAMES.contains(&next.name()), "{} is not in NAMES", next.name());
                    if name == "ProveCommitLanded" {
                        landed = true;
                    }
                    if is_proven(&next) {
                        prop_assert!(landed, "{} reached without ProveCommitLanded", next.name());
                    }
                    if matches!(next, SectorState::Proving { .. })
                        && !matches!(before, SectorState::Proving { .. })
                    {
                        prop_assert!(
                            matches!(before, SectorState::Finalizing { .. }),
                            "Proving from {}",
                            before.name()
                        );
                        prop_assert_eq!(name, "Finalized");
                    }
                    check_state(&next, &policy)?;
                    s = next;
                }
            }
        }
    }
}
