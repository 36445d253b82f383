//! Valid messages to break one field at a time.

use ferrite_cluster::{Task, TaskId, TaskKind};
use ferrite_proto::generated as pb;
use ferrite_proto::{AssignedTask, HostPath, Pc1Task, ProtoError, SectorPaths, TaskPayload};
use ferrite_types::{
    ActorId, CommP, PaddedPieceSize, PieceInfo, SealProof, SectorId, SectorNumber, SectorSize,
    Ticket,
};

/// RegisteredSealProof code of StackedDrg2KiBV1_1.
pub const SEAL_2KIB: i64 = 5;
/// RegisteredSealProof code of StackedDrg8MiBV1_1.
pub const SEAL_8MIB: i64 = 6;
/// RegisteredPoStProof code of StackedDrgWinning2KiBV1.
pub const WINNING_2KIB: i64 = 0;
/// RegisteredPoStProof code of StackedDrgWindow2KiBV1_2.
pub const WINDOW_2KIB: i64 = 10;

pub fn register() -> pb::RegisterRequest {
    pb::RegisterRequest {
        worker_id: "host-a".into(),
        hostname: "host-a.local".into(),
        cores: 16,
        memory_bytes: 64 << 30,
        gpus: 1,
        gpu_devices: vec![pb::GpuDevice {
            model: "NVIDIA H100 80GB HBM3".into(),
            memory_bytes: 80 << 30,
        }],
        task_kinds: vec![pb::TaskKind::Pc1 as i32, pb::TaskKind::C2 as i32],
        task_limits: vec![pb::TaskLimit {
            kind: pb::TaskKind::C2 as i32,
            max_running: 2,
        }],
        storage_path_ids: vec![1, 2],
    }
}

pub fn paths() -> pb::SectorPaths {
    pb::SectorPaths {
        unsealed: "/seal/s-t01000-1/unsealed".into(),
        sealed: "/seal/s-t01000-1/sealed".into(),
        cache: "/seal/s-t01000-1/cache".into(),
    }
}

pub fn piece(size: u64) -> pb::PieceInfo {
    pb::PieceInfo {
        comm_p: vec![7; 32],
        padded_size: size,
    }
}

pub fn post_sector(number: u64) -> pb::PostSector {
    pb::PostSector {
        number,
        comm_r: vec![3; 32],
        sealed: format!("/store/s-t01000-{number}/sealed"),
        cache: format!("/store/s-t01000-{number}/cache"),
    }
}

/// A TaskAssignment of a 2 KiB sector with `payload`.
pub fn assignment(payload: pb::task_assignment::Payload) -> pb::TaskAssignment {
    pb::TaskAssignment {
        task_id: 42,
        sector: Some(pb::SectorRef {
            miner: 1000,
            number: 1,
        }),
        sector_size: 2048,
        priority: 0,
        payload: Some(payload),
    }
}

pub fn add_piece() -> pb::AddPieceTask {
    pb::AddPieceTask {
        registered_seal_proof: Some(SEAL_2KIB),
        paths: Some(paths()),
        existing_padded_sizes: vec![128],
        adding: vec![
            pb::PieceToAdd {
                piece: Some(pb::piece_to_add::Piece::FillerPaddedSize(128)),
            },
            pb::PieceToAdd {
                piece: Some(pb::piece_to_add::Piece::Deal(pb::DealPieceSource {
                    deal_id: 9,
                    piece: Some(piece(256)),
                    source_url: "http://127.0.0.1:2347/staging/9".into(),
                })),
            },
        ],
    }
}

pub fn pc1() -> pb::Pc1Task {
    pb::Pc1Task {
        registered_seal_proof: Some(SEAL_2KIB),
        paths: Some(paths()),
        ticket: vec![1; 32],
        pieces: vec![piece(1024), piece(512), piece(512)],
    }
}

pub fn pc2() -> pb::Pc2Task {
    pb::Pc2Task {
        registered_seal_proof: Some(SEAL_2KIB),
        paths: Some(paths()),
        pc1_output: vec![0xa0; 100],
    }
}

pub fn c1() -> pb::C1Task {
    pb::C1Task {
        registered_seal_proof: Some(SEAL_2KIB),
        paths: Some(paths()),
        ticket: vec![1; 32],
        seed: vec![2; 32],
        comm_r: vec![3; 32],
        comm_d: vec![4; 32],
        pieces: vec![piece(2048)],
    }
}

pub fn c2() -> pb::C2Task {
    pb::C2Task {
        registered_seal_proof: Some(SEAL_2KIB),
        c1_output: vec![0xc1; 300],
    }
}

pub fn finalize() -> pb::FinalizeTask {
    pb::FinalizeTask {
        registered_seal_proof: Some(SEAL_2KIB),
        from: Some(paths()),
        to: Some(pb::SectorPaths {
            unsealed: "/store/s-t01000-1/unsealed".into(),
            sealed: "/store/s-t01000-1/sealed".into(),
            cache: "/store/s-t01000-1/cache".into(),
        }),
        keep_unsealed: true,
    }
}

pub fn fetch() -> pb::FetchTask {
    pb::FetchTask {
        files: vec![pb::FetchFile {
            kind: pb::FileKind::Sealed as i32,
            source_url: "http://host-b:2347/sector/s-t01000-1/sealed".into(),
            destination: "/seal/s-t01000-1/sealed".into(),
        }],
    }
}

pub fn window_post() -> pb::WindowPostTask {
    pb::WindowPostTask {
        registered_post_proof: Some(WINDOW_2KIB),
        randomness: vec![5; 32],
        challenge_epoch: 1200,
        deadline: 3,
        partitions: vec![0],
        sectors: vec![post_sector(1), post_sector(2)],
    }
}

pub fn winning_post() -> pb::WinningPostTask {
    pb::WinningPostTask {
        registered_post_proof: Some(WINNING_2KIB),
        randomness: vec![6; 32],
        challenge_epoch: 1201,
        sectors: vec![post_sector(1)],
    }
}

pub fn unseal() -> pb::UnsealTask {
    pb::UnsealTask {
        registered_seal_proof: Some(SEAL_2KIB),
        paths: Some(paths()),
        comm_d: vec![4; 32],
        ticket: vec![1; 32],
        offset: 0,
        length: 2032,
    }
}

pub fn update_encode() -> pb::UpdateEncodeTask {
    pb::UpdateEncodeTask {
        registered_seal_proof: Some(SEAL_2KIB),
        paths: Some(paths()),
        pieces: vec![piece(1024), piece(1024)],
    }
}

pub fn update_prove() -> pb::UpdateProveTask {
    pb::UpdateProveTask {
        registered_seal_proof: Some(SEAL_2KIB),
        paths: Some(paths()),
        comm_r_old: vec![3; 32],
        comm_r_new: vec![5; 32],
        comm_d_new: vec![4; 32],
    }
}

/// One valid payload of every kind.
pub fn every_payload() -> Vec<pb::task_assignment::Payload> {
    use pb::task_assignment::Payload as P;
    vec![
        P::AddPiece(add_piece()),
        P::Pc1(pc1()),
        P::Pc2(pc2()),
        P::C1(c1()),
        P::C2(c2()),
        P::Finalize(finalize()),
        P::Fetch(fetch()),
        P::WindowPost(window_post()),
        P::WinningPost(winning_post()),
        P::Unseal(unseal()),
        P::UpdateEncode(update_encode()),
        P::UpdateProve(update_prove()),
    ]
}

pub fn complete(outcome: pb::complete_request::Outcome) -> pb::CompleteRequest {
    pb::CompleteRequest {
        worker_id: "host-a".into(),
        task_id: 42,
        outcome: Some(outcome),
    }
}

pub fn post_result(code: i64) -> pb::PostResult {
    pb::PostResult {
        proofs: vec![pb::PostProof {
            registered_post_proof: Some(code),
            proof: vec![9; 192],
        }],
        skipped_sectors: vec![],
    }
}

/// One valid outcome of every kind, and a failure.
pub fn every_outcome() -> Vec<pb::complete_request::Outcome> {
    use pb::complete_request::Outcome as O;
    vec![
        O::AddPiece(pb::AddPieceResult {
            pieces: vec![piece(128), piece(256)],
        }),
        O::Pc1(pb::Pc1Result {
            pc1_output: vec![1; 10],
        }),
        O::Pc2(pb::Pc2Result {
            comm_r: vec![3; 32],
            comm_d: vec![4; 32],
        }),
        O::C1(pb::C1Result {
            c1_output: vec![2; 10],
        }),
        O::C2(pb::C2Result {
            proof: vec![8; 192],
        }),
        O::Finalize(pb::FinalizeResult {}),
        O::Fetch(pb::FetchResult { bytes: 2048 }),
        O::WindowPost(post_result(WINDOW_2KIB)),
        O::WinningPost(post_result(WINNING_2KIB)),
        O::Unseal(pb::UnsealResult {}),
        O::UpdateEncode(pb::UpdateEncodeResult {
            comm_r_new: vec![5; 32],
            comm_d_new: vec![4; 32],
        }),
        O::UpdateProve(pb::UpdateProveResult {
            proof: vec![8; 192],
        }),
        O::Failure(pb::TaskFailure {
            reason: "sealed file unreadable".into(),
            retryable: false,
        }),
    ]
}

/// A domain PC1 task for sector f01000/1 (2 KiB).
pub fn pc1_assigned(id: u64) -> Result<AssignedTask, ProtoError> {
    let path = |p: &str| HostPath::new(p);
    AssignedTask::new(
        Task {
            id: TaskId(id),
            kind: TaskKind::Pc1,
            sector: SectorId::new(ActorId(1000), SectorNumber(1)),
            size: SectorSize::S2KiB,
            priority: 0,
        },
        TaskPayload::Pc1(Pc1Task {
            proof: SealProof::new(SectorSize::S2KiB),
            paths: SectorPaths {
                unsealed: path("/seal/s-t01000-1/unsealed")?,
                sealed: path("/seal/s-t01000-1/sealed")?,
                cache: path("/seal/s-t01000-1/cache")?,
            },
            ticket: Ticket([1; 32]),
            pieces: vec![PieceInfo {
                comm_p: CommP([7; 32]),
                size: PaddedPieceSize::from(SectorSize::S2KiB),
            }],
        }),
    )
}
