//! Domain → wire → bytes → wire → domain is the identity, for every message
//! this crate converts (proptest over valid domain values).

use std::fmt::Debug;
use std::time::Duration;

use ferrite_cluster::{FileKind, GpuDevice, PathId, Task, TaskId, TaskKind, WorkerId, WorkerInfo};
use ferrite_proto::generated as pb;
use ferrite_proto::{
    AddPieceTask, AssignedTask, C1Output, C1Task, C2Task, Completion, DealPieceSource, FetchFile,
    FetchTask, FinalizeTask, Heartbeat, HostPath, HttpUrl, Pc1Output, Pc1Task, Pc2Task, PieceToAdd,
    PostOutput, PostProofBytes, PostSector, ProgressReport, ProtoError, RegisterReply,
    SealProofBytes, SectorPaths, TaskFailure, TaskOutcome, TaskOutput, TaskPayload, UnsealTask,
    UpdateEncodeTask, UpdateProofBytes, UpdateProveTask, WPOST_PERIOD_DEADLINES, WindowPostTask,
    WinningPostTask,
};
use ferrite_types::{
    ActorId, ChainEpoch, CommD, CommP, CommR, DealId, PaddedPieceSize, PieceInfo, PostKind,
    PostProof, PostRandomness, SealProof, SectorId, SectorNumber, SectorSize, Seed, Ticket,
};
use proptest::collection::{btree_set, vec};
use proptest::prelude::*;
use prost::Message;

/// `d` survives the trip through its wire message and its encoding.
fn round_trip<D, W>(d: D)
where
    W: From<D> + Message + Default,
    D: TryFrom<W, Error = ProtoError> + Clone + PartialEq + Debug,
{
    let bytes = W::from(d.clone()).encode_to_vec();
    let wire = W::decode(bytes.as_slice()).unwrap();
    let back = D::try_from(wire).unwrap_or_else(|e| panic!("{d:?}: {e}"));
    assert_eq!(back, d);
}

fn b32() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

fn blob() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 1..64)
}

fn groth() -> impl Strategy<Value = Vec<u8>> {
    (1usize..4, any::<u8>()).prop_map(|(n, b)| vec![b; n * ferrite_proto::GROTH16_PROOF_BYTES])
}

fn sector_size() -> impl Strategy<Value = SectorSize> {
    prop::sample::select(SectorSize::ALL.to_vec())
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._:-]{1,24}"
}

fn host_path() -> impl Strategy<Value = HostPath> {
    "/[a-zA-Z0-9_./ -]{0,40}".prop_map(|p| HostPath::new(p).unwrap())
}

fn http_url() -> impl Strategy<Value = HttpUrl> {
    (
        "https?",
        "[a-z][a-z0-9.-]{0,20}(:[0-9]{1,5})?",
        "(/[a-zA-Z0-9._~%-]{0,12}){0,3}",
    )
        .prop_map(|(s, h, p)| HttpUrl::new(format!("{s}://{h}{p}")).unwrap())
}

fn sector_paths() -> impl Strategy<Value = SectorPaths> {
    (host_path(), host_path(), host_path()).prop_map(|(unsealed, sealed, cache)| SectorPaths {
        unsealed,
        sealed,
        cache,
    })
}

fn piece_info() -> impl Strategy<Value = PieceInfo> {
    (b32(), 7u32..=36).prop_map(|(c, shift)| PieceInfo {
        comm_p: CommP(c),
        size: PaddedPieceSize::new(1 << shift).unwrap(),
    })
}

/// Padded sizes that add up to the sector: the sector halved at random.
fn filling_sizes(size: SectorSize) -> impl Strategy<Value = Vec<PaddedPieceSize>> {
    vec(any::<usize>(), 0..8).prop_map(move |splits| {
        let mut sizes = vec![size.bytes()];
        for s in splits {
            let i = s % sizes.len();
            if sizes[i] >= 256 {
                let half = sizes[i] / 2;
                sizes[i] = half;
                sizes.insert(i + 1, half);
            }
        }
        sizes
            .into_iter()
            .map(|s| PaddedPieceSize::new(s).unwrap())
            .collect()
    })
}

fn filling_pieces(size: SectorSize) -> impl Strategy<Value = Vec<PieceInfo>> {
    (filling_sizes(size), vec(b32(), 16)).prop_map(|(sizes, comms)| {
        sizes
            .into_iter()
            .zip(comms.into_iter().cycle())
            .map(|(size, c)| PieceInfo {
                comm_p: CommP(c),
                size,
            })
            .collect()
    })
}

fn add_piece(size: SectorSize) -> impl Strategy<Value = TaskPayload> {
    (
        filling_sizes(size),
        any::<usize>(),
        vec((any::<bool>(), any::<u64>(), b32(), http_url()), 16),
        sector_paths(),
    )
        .prop_map(move |(sizes, cut, sources, paths)| {
            let cut = cut % sizes.len();
            let adding = sizes[cut..]
                .iter()
                .zip(sources)
                .map(|(s, (deal, id, c, source))| {
                    if deal {
                        PieceToAdd::Deal(DealPieceSource {
                            deal: DealId(id),
                            piece: PieceInfo {
                                comm_p: CommP(c),
                                size: *s,
                            },
                            source,
                        })
                    } else {
                        PieceToAdd::Filler(*s)
                    }
                })
                .collect();
            TaskPayload::AddPiece(AddPieceTask {
                proof: SealProof::new(size),
                paths,
                existing: sizes[..cut].to_vec(),
                adding,
            })
        })
}

fn post_sectors() -> impl Strategy<Value = Vec<PostSector>> {
    btree_set(any::<u64>(), 1..5)
        .prop_flat_map(|numbers| {
            let n = numbers.len();
            (Just(numbers), vec((b32(), host_path(), host_path()), n))
        })
        .prop_map(|(numbers, rest)| {
            numbers
                .into_iter()
                .zip(rest)
                .map(|(number, (c, sealed, cache))| PostSector {
                    number: SectorNumber(number),
                    comm_r: CommR(c),
                    sealed,
                    cache,
                })
                .collect()
        })
}

fn file_kind() -> impl Strategy<Value = FileKind> {
    prop::sample::select(vec![
        FileKind::Unsealed,
        FileKind::Sealed,
        FileKind::SealingCache,
        FileKind::FinalizedCache,
    ])
}

fn payload(size: SectorSize) -> BoxedStrategy<TaskPayload> {
    let proof = SealProof::new(size);
    let capacity = PaddedPieceSize::from(size).unpadded().bytes();
    prop_oneof![
        add_piece(size),
        (sector_paths(), b32(), filling_pieces(size)).prop_map(move |(paths, t, pieces)| {
            TaskPayload::Pc1(Pc1Task {
                proof,
                paths,
                ticket: Ticket(t),
                pieces,
            })
        }),
        (sector_paths(), blob()).prop_map(move |(paths, b)| TaskPayload::Pc2(Pc2Task {
            proof,
            paths,
            pc1_output: Pc1Output(b),
        })),
        (
            sector_paths(),
            b32(),
            b32(),
            b32(),
            b32(),
            filling_pieces(size)
        )
            .prop_map(move |(paths, t, s, r, d, pieces)| TaskPayload::C1(C1Task {
                proof,
                paths,
                ticket: Ticket(t),
                seed: Seed(s),
                comm_r: CommR(r),
                comm_d: CommD(d),
                pieces,
            })),
        blob().prop_map(move |b| TaskPayload::C2(C2Task {
            proof,
            c1_output: C1Output(b),
        })),
        (sector_paths(), sector_paths(), any::<bool>()).prop_map(move |(from, to, keep)| {
            TaskPayload::Finalize(FinalizeTask {
                proof,
                from,
                to,
                keep_unsealed: keep,
            })
        }),
        vec((file_kind(), http_url(), host_path()), 1..4).prop_map(|files| {
            TaskPayload::Fetch(FetchTask {
                files: files
                    .into_iter()
                    .map(|(kind, source, destination)| FetchFile {
                        kind,
                        source,
                        destination,
                    })
                    .collect(),
            })
        }),
        (
            b32(),
            0..=i64::MAX,
            0..WPOST_PERIOD_DEADLINES,
            vec(any::<u64>(), 1..4),
            post_sectors()
        )
            .prop_map(move |(r, epoch, deadline, partitions, sectors)| {
                TaskPayload::WindowPost(WindowPostTask {
                    proof: proof.window_post(),
                    randomness: PostRandomness::new(r),
                    challenge_epoch: ChainEpoch(epoch),
                    deadline,
                    partitions,
                    sectors,
                })
            }),
        (b32(), 0..=i64::MAX, post_sectors()).prop_map(move |(r, epoch, sectors)| {
            TaskPayload::WinningPost(WinningPostTask {
                proof: proof.winning_post(),
                randomness: PostRandomness::new(r),
                challenge_epoch: ChainEpoch(epoch),
                sectors,
            })
        }),
        (sector_paths(), b32(), b32(), 0..capacity)
            .prop_flat_map(move |(paths, d, t, offset)| {
                (Just((paths, d, t, offset)), 1..=capacity - offset)
            })
            .prop_map(move |((paths, d, t, offset), length)| {
                TaskPayload::Unseal(UnsealTask {
                    proof,
                    paths,
                    comm_d: CommD(d),
                    ticket: Ticket(t),
                    offset,
                    length,
                })
            }),
        (sector_paths(), filling_pieces(size)).prop_map(move |(paths, pieces)| {
            TaskPayload::UpdateEncode(UpdateEncodeTask {
                proof,
                paths,
                pieces,
            })
        }),
        (sector_paths(), b32(), b32(), b32()).prop_map(move |(paths, old, new, d)| {
            TaskPayload::UpdateProve(UpdateProveTask {
                proof,
                paths,
                comm_r_old: CommR(old),
                comm_r_new: CommR(new),
                comm_d_new: CommD(d),
            })
        }),
    ]
    .boxed()
}

fn assigned_task() -> impl Strategy<Value = AssignedTask> {
    sector_size()
        .prop_flat_map(|size| {
            (
                Just(size),
                payload(size),
                any::<u64>(),
                any::<u64>(),
                any::<u64>(),
                any::<i32>(),
            )
        })
        .prop_map(|(size, payload, id, miner, number, priority)| {
            let task = Task {
                id: TaskId(id),
                kind: payload.kind(),
                sector: SectorId::new(ActorId(miner), SectorNumber(number)),
                size,
                priority,
            };
            AssignedTask::new(task, payload).unwrap()
        })
}

fn post_output(kind: PostKind) -> impl Strategy<Value = PostOutput> {
    (vec((sector_size(), groth()), 0..3), vec(any::<u64>(), 0..3))
        .prop_filter("a proof or a skipped sector", |(p, s)| {
            !p.is_empty() || !s.is_empty()
        })
        .prop_map(move |(proofs, skipped)| PostOutput {
            proofs: proofs
                .into_iter()
                .map(|(size, bytes)| PostProofBytes {
                    proof: PostProof { kind, size },
                    bytes,
                })
                .collect(),
            skipped: skipped.into_iter().map(SectorNumber).collect(),
        })
}

fn outcome() -> impl Strategy<Value = TaskOutcome> {
    let done = prop_oneof![
        vec(piece_info(), 0..4).prop_map(TaskOutput::AddPiece),
        blob().prop_map(|b| TaskOutput::Pc1(Pc1Output(b))),
        (b32(), b32()).prop_map(|(r, d)| TaskOutput::Pc2 {
            comm_r: CommR(r),
            comm_d: CommD(d),
        }),
        blob().prop_map(|b| TaskOutput::C1(C1Output(b))),
        groth().prop_map(|b| TaskOutput::C2(SealProofBytes(b))),
        Just(TaskOutput::Finalize),
        any::<u64>().prop_map(|bytes| TaskOutput::Fetch { bytes }),
        post_output(PostKind::Window).prop_map(TaskOutput::WindowPost),
        post_output(PostKind::Winning).prop_map(TaskOutput::WinningPost),
        Just(TaskOutput::Unseal),
        (b32(), b32()).prop_map(|(r, d)| TaskOutput::UpdateEncode {
            comm_r_new: CommR(r),
            comm_d_new: CommD(d),
        }),
        groth().prop_map(|b| TaskOutput::UpdateProve(UpdateProofBytes(b))),
    ];
    prop_oneof![
        done.prop_map(TaskOutcome::Done),
        ("[a-zA-Z][ -~]{0,80}", any::<bool>())
            .prop_map(|(r, retry)| TaskOutcome::Failed(TaskFailure::new(r, retry))),
    ]
}

fn worker_info() -> impl Strategy<Value = WorkerInfo> {
    (
        name(),
        name(),
        1u32..,
        1u64..,
        any::<u32>(),
        prop::collection::vec(("[ -~]{0,20}[!-~]", any::<u64>()), 0..3),
        prop::sample::subsequence(TaskKind::ALL.to_vec(), 1..=TaskKind::ALL.len()),
        prop::collection::vec(prop::option::of(1u32..), TaskKind::ALL.len()),
        btree_set(any::<u64>(), 0..5)
            .prop_map(|s| s.into_iter().collect::<Vec<_>>())
            .prop_shuffle(),
    )
        .prop_map(
            |(id, hostname, cores, memory, gpus, cards, kinds, limits, paths)| WorkerInfo {
                id: WorkerId(id),
                hostname,
                cores,
                memory,
                gpus,
                gpu_devices: cards
                    .into_iter()
                    .map(|(model, memory)| GpuDevice { model, memory })
                    .collect(),
                max_running: kinds
                    .iter()
                    .zip(limits)
                    .filter_map(|(k, n)| n.map(|n| (*k, n)))
                    .collect(),
                kinds: kinds.into_iter().collect(),
                paths: paths.into_iter().map(PathId).collect(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn assigned_tasks_round_trip(task in assigned_task()) {
        round_trip::<_, pb::TaskAssignment>(task);
    }

    #[test]
    fn completions_round_trip(worker in name(), task in any::<u64>(), outcome in outcome()) {
        round_trip::<_, pb::CompleteRequest>(Completion {
            worker: WorkerId(worker),
            task: TaskId(task),
            outcome,
        });
    }

    #[test]
    fn registrations_round_trip(info in worker_info()) {
        round_trip::<_, pb::RegisterRequest>(info);
    }

    #[test]
    fn small_calls_round_trip(
        worker in name(),
        running in vec(any::<u64>(), 0..5),
        ms in 1u64..=u64::from(u32::MAX),
        (done, total) in (1u64..).prop_flat_map(|t| (0..=t, Just(t))),
        note in "[ -~]{0,100}",
        task in any::<u64>(),
    ) {
        round_trip::<_, pb::HeartbeatRequest>(Heartbeat {
            worker: WorkerId(worker.clone()),
            running: running.into_iter().map(TaskId).collect(),
        });
        round_trip::<_, pb::TasksRequest>(WorkerId(worker.clone()));
        round_trip::<_, pb::RegisterResponse>(RegisterReply {
            heartbeat_interval: Duration::from_millis(ms),
        });
        round_trip::<_, pb::ProgressRequest>(ProgressReport {
            worker: WorkerId(worker),
            task: TaskId(task),
            done,
            total,
            note,
        });
    }
}

#[test]
fn sub_millisecond_intervals_travel_as_at_least_one_millisecond() {
    let wire = pb::RegisterResponse::from(RegisterReply {
        heartbeat_interval: Duration::from_micros(1500),
    });
    assert_eq!(wire.heartbeat_interval_ms, 1);
    let wire = pb::RegisterResponse::from(RegisterReply {
        heartbeat_interval: Duration::from_micros(10),
    });
    assert_eq!(wire.heartbeat_interval_ms, 1);
}

#[test]
fn proof_kinds_travel_as_filecoin_chain_codes() {
    let task = crate::fixtures::pc1_assigned(7).unwrap();
    let wire = pb::TaskAssignment::from(task);
    let Some(pb::task_assignment::Payload::Pc1(p)) = wire.payload else {
        panic!("not a PC1 payload: {wire:?}");
    };
    // StackedDrg2KiBV1_1 is 5 on chain.
    assert_eq!(p.registered_seal_proof, Some(5));
    assert_eq!(wire.sector_size, 2048);
    let w = pb::WindowPostTask::from(WindowPostTask {
        proof: SealProof::new(SectorSize::S32GiB).window_post(),
        randomness: PostRandomness::new([0; 32]),
        challenge_epoch: ChainEpoch(0),
        deadline: 0,
        partitions: vec![0],
        sectors: vec![],
    });
    // StackedDrgWindow32GiBV1_2 is 13 on chain.
    assert_eq!(w.registered_post_proof, Some(13));
}
