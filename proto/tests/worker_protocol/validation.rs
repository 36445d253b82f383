//! Every malformed message this crate refuses: the error is
//! `InvalidArgument` and names the field by its path.

use std::fmt::Debug;

use ferrite_cluster::{Task, TaskId, TaskKind, WorkerId, WorkerInfo};
use ferrite_proto::generated as pb;
use ferrite_proto::{
    AssignedTask, Completion, FetchTask, Heartbeat, ProgressReport, ProtoError, RegisterReply,
    TaskFailure, TaskOutcome, TaskPayload,
};
use pb::complete_request::Outcome as O;
use pb::task_assignment::Payload as P;
use prost::Message;
use tonic::{Code, Status};

use crate::fixtures::*;

/// `msg` does not convert to `T`; the error names `field`, and as a status
/// it is InvalidArgument with the field first in its message.
#[track_caller]
fn refused<T, M>(msg: M, field: &str) -> String
where
    T: TryFrom<M, Error = ProtoError> + Debug,
{
    let err = match T::try_from(msg) {
        Ok(v) => panic!("{field}: accepted as {v:?}"),
        Err(e) => e,
    };
    assert_eq!(err.field(), field, "{err}");
    let status = Status::from(err);
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with(&format!("{field}: ")),
        "{}",
        status.message()
    );
    status.message().to_string()
}

#[track_caller]
fn refused_task(payload: P, field: &str) -> String {
    refused::<AssignedTask, _>(assignment(payload), field)
}

#[track_caller]
fn refused_outcome(outcome: O, field: &str) -> String {
    refused::<Completion, _>(complete(outcome), field)
}

#[test]
fn the_fixtures_are_valid() {
    WorkerInfo::try_from(register()).unwrap();
    for p in every_payload() {
        let a =
            AssignedTask::try_from(assignment(p.clone())).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        assert_eq!(a.task().size, ferrite_types::SectorSize::S2KiB);
    }
    for o in every_outcome() {
        Completion::try_from(complete(o.clone())).unwrap_or_else(|e| panic!("{o:?}: {e}"));
    }
}

#[test]
fn register_refuses_bad_resources() {
    let r = register;
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            worker_id: String::new(),
            ..r()
        },
        "worker_id",
    );
    let msg = refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            worker_id: "host a".into(),
            ..r()
        },
        "worker_id",
    );
    assert!(msg.contains("printable ASCII"), "{msg}");
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            worker_id: "w".repeat(129),
            ..r()
        },
        "worker_id",
    );
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            hostname: String::new(),
            ..r()
        },
        "hostname",
    );
    refused::<WorkerInfo, _>(pb::RegisterRequest { cores: 0, ..r() }, "cores");
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            memory_bytes: 0,
            ..r()
        },
        "memory_bytes",
    );
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            task_kinds: vec![],
            ..r()
        },
        "task_kinds",
    );
    let card = |model: &str| pb::GpuDevice {
        model: model.into(),
        memory_bytes: 80 << 30,
    };
    let msg = refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            gpu_devices: vec![card("NVIDIA H100 80GB HBM3"), card("H100\n")],
            ..r()
        },
        "gpu_devices[1].model",
    );
    assert!(msg.contains("printable ASCII"), "{msg}");
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            gpu_devices: vec![card(" ")],
            ..r()
        },
        "gpu_devices[0].model",
    );
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            gpu_devices: vec![card(&"x".repeat(129))],
            ..r()
        },
        "gpu_devices[0].model",
    );
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            gpu_devices: vec![card("A100"); 65],
            ..r()
        },
        "gpu_devices",
    );
    let limit = |kind: pb::TaskKind, max_running| pb::TaskLimit {
        kind: kind as i32,
        max_running,
    };
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            task_limits: vec![limit(pb::TaskKind::C2, 0)],
            ..r()
        },
        "task_limits[0].max_running",
    );
    let msg = refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            task_limits: vec![limit(pb::TaskKind::WindowPost, 1)],
            ..r()
        },
        "task_limits[0].kind",
    );
    assert!(msg.contains("not among task_kinds"), "{msg}");
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            task_limits: vec![limit(pb::TaskKind::C2, 1), limit(pb::TaskKind::C2, 2)],
            ..r()
        },
        "task_limits[1].kind",
    );
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            task_limits: vec![pb::TaskLimit {
                kind: 99,
                max_running: 1,
            }],
            ..r()
        },
        "task_limits[0].kind",
    );
    let ok = WorkerInfo::try_from(pb::RegisterRequest {
        gpu_devices: vec![card("NVIDIA H100 80GB HBM3")],
        ..r()
    })
    .unwrap();
    assert_eq!(ok.gpu_devices[0].model, "NVIDIA H100 80GB HBM3");
    assert_eq!(ok.max_running.get(&TaskKind::C2), Some(&2));
}

#[test]
fn register_refuses_unknown_and_repeated_task_kinds() {
    let r = register;
    let msg = refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            task_kinds: vec![pb::TaskKind::Pc1 as i32, 99],
            ..r()
        },
        "task_kinds[1]",
    );
    assert!(msg.contains("unknown task kind 99"), "{msg}");
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            task_kinds: vec![pb::TaskKind::Unspecified as i32],
            ..r()
        },
        "task_kinds[0]",
    );
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            task_kinds: vec![-1],
            ..r()
        },
        "task_kinds[0]",
    );
    let msg = refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            task_kinds: vec![pb::TaskKind::C2 as i32, pb::TaskKind::C2 as i32],
            ..r()
        },
        "task_kinds[1]",
    );
    assert!(msg.contains("c2 listed twice"), "{msg}");
    refused::<WorkerInfo, _>(
        pb::RegisterRequest {
            storage_path_ids: vec![4, 5, 4],
            ..r()
        },
        "storage_path_ids[2]",
    );
}

#[test]
fn small_calls_refuse_bad_fields() {
    refused::<RegisterReply, _>(
        pb::RegisterResponse {
            heartbeat_interval_ms: 0,
        },
        "heartbeat_interval_ms",
    );
    refused::<Heartbeat, _>(
        pb::HeartbeatRequest {
            worker_id: String::new(),
            running_task_ids: vec![1],
        },
        "worker_id",
    );
    refused::<WorkerId, _>(
        pb::TasksRequest {
            worker_id: "\u{7f}".into(),
        },
        "worker_id",
    );
    let progress = || pb::ProgressRequest {
        worker_id: "host-a".into(),
        task_id: 1,
        done: 3,
        total: 11,
        note: "layer 3".into(),
    };
    ProgressReport::try_from(progress()).unwrap();
    refused::<ProgressReport, _>(
        pb::ProgressRequest {
            total: 0,
            done: 0,
            ..progress()
        },
        "total",
    );
    refused::<ProgressReport, _>(
        pb::ProgressRequest {
            done: 12,
            ..progress()
        },
        "done",
    );
    refused::<ProgressReport, _>(
        pb::ProgressRequest {
            note: "x".repeat(257),
            ..progress()
        },
        "note",
    );
    refused::<ProgressReport, _>(
        pb::ProgressRequest {
            worker_id: String::new(),
            ..progress()
        },
        "worker_id",
    );
}

#[test]
fn an_assignment_needs_a_sector_a_known_size_and_a_payload() {
    let a = || assignment(P::Pc1(pc1()));
    refused::<AssignedTask, _>(
        pb::TaskAssignment {
            sector: None,
            ..a()
        },
        "sector",
    );
    for bad in [0, 1, 2000, 4096, 3 << 30] {
        let msg = refused::<AssignedTask, _>(
            pb::TaskAssignment {
                sector_size: bad,
                ..a()
            },
            "sector_size",
        );
        assert!(msg.contains("unsupported sector size"), "{msg}");
    }
    refused::<AssignedTask, _>(
        pb::TaskAssignment {
            payload: None,
            ..a()
        },
        "payload",
    );
}

/// Field 25, length-delimited, empty: tag (25 << 3 | 2) = 202 as a varint
/// (0xca 0x01), then length 0.
const UNKNOWN_FIELD_25: [u8; 3] = [0xca, 0x01, 0x00];

#[test]
fn a_payload_of_a_kind_this_version_does_not_know_reads_as_missing() {
    // Field 25 (length-delimited, empty): a task kind added by a newer node.
    let mut bytes = pb::TaskAssignment {
        payload: None,
        ..assignment(P::Pc1(pc1()))
    }
    .encode_to_vec();
    bytes.extend_from_slice(&UNKNOWN_FIELD_25);
    let decoded = pb::TaskAssignment::decode(bytes.as_slice()).unwrap();
    refused::<AssignedTask, _>(decoded, "payload");
    // The same for a result of an unknown kind.
    let mut bytes = pb::CompleteRequest {
        outcome: None,
        ..complete(O::Finalize(pb::FinalizeResult {}))
    }
    .encode_to_vec();
    bytes.extend_from_slice(&UNKNOWN_FIELD_25);
    let decoded = pb::CompleteRequest::decode(bytes.as_slice()).unwrap();
    refused::<Completion, _>(decoded, "outcome");
}

#[test]
fn seal_proofs_must_be_present_supported_and_of_the_sector_size() {
    let msg = refused_task(
        P::Pc1(pb::Pc1Task {
            registered_seal_proof: None,
            ..pc1()
        }),
        "pc1.registered_seal_proof",
    );
    assert!(msg.ends_with("missing"), "{msg}");
    // 0 is StackedDrg2KiBV1, the superseded PoRep; 99 is no proof at all.
    for code in [0, 99, -1] {
        let msg = refused_task(
            P::Pc1(pb::Pc1Task {
                registered_seal_proof: Some(code),
                ..pc1()
            }),
            "pc1.registered_seal_proof",
        );
        assert!(msg.contains("unsupported proof type"), "{msg}");
    }
    let msg = refused_task(
        P::Pc1(pb::Pc1Task {
            registered_seal_proof: Some(SEAL_8MIB),
            ..pc1()
        }),
        "pc1.registered_seal_proof",
    );
    assert!(msg.contains("8MiB") && msg.contains("2KiB"), "{msg}");
    refused_task(
        P::C2(pb::C2Task {
            registered_seal_proof: Some(SEAL_8MIB),
            ..c2()
        }),
        "c2.registered_seal_proof",
    );
    refused_task(
        P::UpdateEncode(pb::UpdateEncodeTask {
            registered_seal_proof: None,
            ..update_encode()
        }),
        "update_encode.registered_seal_proof",
    );
    refused_task(
        P::UpdateProve(pb::UpdateProveTask {
            registered_seal_proof: Some(SEAL_8MIB),
            ..update_prove()
        }),
        "update_prove.registered_seal_proof",
    );
    refused_task(
        P::Finalize(pb::FinalizeTask {
            registered_seal_proof: None,
            ..finalize()
        }),
        "finalize.registered_seal_proof",
    );
}

#[test]
fn commitments_tickets_and_seeds_must_be_32_bytes() {
    let msg = refused_task(
        P::Pc1(pb::Pc1Task {
            ticket: vec![],
            ..pc1()
        }),
        "pc1.ticket",
    );
    assert!(msg.contains("must be 32 bytes, got 0"), "{msg}");
    refused_task(
        P::C1(pb::C1Task {
            seed: vec![0; 31],
            ..c1()
        }),
        "c1.seed",
    );
    refused_task(
        P::C1(pb::C1Task {
            comm_r: vec![],
            ..c1()
        }),
        "c1.comm_r",
    );
    refused_task(
        P::C1(pb::C1Task {
            comm_d: vec![0; 33],
            ..c1()
        }),
        "c1.comm_d",
    );
    refused_task(
        P::C1(pb::C1Task {
            ticket: vec![],
            ..c1()
        }),
        "c1.ticket",
    );
    refused_task(
        P::Unseal(pb::UnsealTask {
            comm_d: vec![],
            ..unseal()
        }),
        "unseal.comm_d",
    );
    refused_task(
        P::Unseal(pb::UnsealTask {
            ticket: vec![1],
            ..unseal()
        }),
        "unseal.ticket",
    );
    refused_task(
        P::UpdateProve(pb::UpdateProveTask {
            comm_r_old: vec![],
            ..update_prove()
        }),
        "update_prove.comm_r_old",
    );
    refused_task(
        P::UpdateProve(pb::UpdateProveTask {
            comm_r_new: vec![0; 31],
            ..update_prove()
        }),
        "update_prove.comm_r_new",
    );
    refused_task(
        P::UpdateProve(pb::UpdateProveTask {
            comm_d_new: vec![0; 33],
            ..update_prove()
        }),
        "update_prove.comm_d_new",
    );
    let mut p = pc1();
    p.pieces[1].comm_p = vec![0; 31];
    refused_task(P::Pc1(p), "pc1.pieces[1].comm_p");
    let mut u = update_encode();
    u.pieces[0].comm_p = vec![];
    refused_task(P::UpdateEncode(u), "update_encode.pieces[0].comm_p");
    let mut w = winning_post();
    w.sectors[0].comm_r = vec![];
    refused_task(P::WinningPost(w), "winning_post.sectors[0].comm_r");
}

#[test]
fn piece_sizes_must_be_powers_of_two_that_fill_or_fit_the_sector() {
    for bad in [0, 64, 127, 1000] {
        let mut p = pc1();
        p.pieces[2].padded_size = bad;
        let msg = refused_task(P::Pc1(p), "pc1.pieces[2].padded_size");
        assert!(msg.contains("power of two"), "{msg}");
    }
    let msg = refused_task(
        P::Pc1(pb::Pc1Task {
            pieces: vec![piece(1024)],
            ..pc1()
        }),
        "pc1.pieces",
    );
    assert!(msg.contains("must fill"), "{msg}");
    refused_task(
        P::Pc1(pb::Pc1Task {
            pieces: vec![],
            ..pc1()
        }),
        "pc1.pieces",
    );
    refused_task(
        P::C1(pb::C1Task {
            pieces: vec![piece(2048), piece(128)],
            ..c1()
        }),
        "c1.pieces",
    );
    let msg = refused_task(
        P::UpdateEncode(pb::UpdateEncodeTask {
            pieces: vec![piece(1024)],
            ..update_encode()
        }),
        "update_encode.pieces",
    );
    assert!(msg.contains("must fill"), "{msg}");

    refused_task(
        P::AddPiece(pb::AddPieceTask {
            adding: vec![],
            ..add_piece()
        }),
        "add_piece.adding",
    );
    let msg = refused_task(
        P::AddPiece(pb::AddPieceTask {
            existing_padded_sizes: vec![2048],
            ..add_piece()
        }),
        "add_piece.adding",
    );
    assert!(msg.contains("more than the 2KiB sector holds"), "{msg}");
    refused_task(
        P::AddPiece(pb::AddPieceTask {
            existing_padded_sizes: vec![128, 0],
            ..add_piece()
        }),
        "add_piece.existing_padded_sizes[1]",
    );
    let mut a = add_piece();
    a.adding[0].piece = Some(pb::piece_to_add::Piece::FillerPaddedSize(0));
    refused_task(P::AddPiece(a), "add_piece.adding[0].filler_padded_size");
}

#[test]
fn add_piece_sources_must_be_set_and_http() {
    let mut a = add_piece();
    a.adding[0].piece = None;
    refused_task(P::AddPiece(a), "add_piece.adding[0].piece");
    let deal = |f: &dyn Fn(&mut pb::DealPieceSource)| {
        let mut a = add_piece();
        if let Some(pb::piece_to_add::Piece::Deal(d)) = &mut a.adding[1].piece {
            f(d);
        }
        P::AddPiece(a)
    };
    refused_task(
        deal(&|d| d.source_url = "ftp://host/x".into()),
        "add_piece.adding[1].deal.source_url",
    );
    refused_task(
        deal(&|d| d.source_url = String::new()),
        "add_piece.adding[1].deal.source_url",
    );
    refused_task(deal(&|d| d.piece = None), "add_piece.adding[1].deal.piece");
    refused_task(
        deal(&|d| d.piece = Some(piece(100))),
        "add_piece.adding[1].deal.piece.padded_size",
    );
}

#[test]
fn paths_must_be_present_and_absolute() {
    refused_task(
        P::Pc1(pb::Pc1Task {
            paths: None,
            ..pc1()
        }),
        "pc1.paths",
    );
    let mut p = pc2();
    p.paths.as_mut().unwrap().sealed = "seal/s-t01000-1/sealed".into();
    let msg = refused_task(P::Pc2(p), "pc2.paths.sealed");
    assert!(msg.contains("not absolute"), "{msg}");
    let mut p = c1();
    p.paths.as_mut().unwrap().cache = String::new();
    refused_task(P::C1(p), "c1.paths.cache");
    let mut p = unseal();
    p.paths.as_mut().unwrap().unsealed = "/a\0b".into();
    refused_task(P::Unseal(p), "unseal.paths.unsealed");
    refused_task(
        P::Finalize(pb::FinalizeTask {
            to: None,
            ..finalize()
        }),
        "finalize.to",
    );
    refused_task(
        P::UpdateEncode(pb::UpdateEncodeTask {
            paths: None,
            ..update_encode()
        }),
        "update_encode.paths",
    );
    let mut p = update_prove();
    p.paths.as_mut().unwrap().sealed = "relative/sealed".into();
    refused_task(P::UpdateProve(p), "update_prove.paths.sealed");
    let mut w = window_post();
    w.sectors[1].sealed = "relative".into();
    refused_task(P::WindowPost(w), "window_post.sectors[1].sealed");
}

#[test]
fn proof_blobs_must_not_be_empty() {
    refused_task(
        P::Pc2(pb::Pc2Task {
            pc1_output: vec![],
            ..pc2()
        }),
        "pc2.pc1_output",
    );
    refused_task(
        P::C2(pb::C2Task {
            c1_output: vec![],
            ..c2()
        }),
        "c2.c1_output",
    );
}

#[test]
fn fetch_needs_files_of_a_known_kind() {
    refused_task(P::Fetch(pb::FetchTask { files: vec![] }), "fetch.files");
    for kind in [0, 9, -3] {
        let mut f = fetch();
        f.files[0].kind = kind;
        refused_task(P::Fetch(f), "fetch.files[0].kind");
    }
    let mut f = fetch();
    f.files[0].source_url = "http://".into();
    refused_task(P::Fetch(f), "fetch.files[0].source_url");
    let mut f = fetch();
    f.files[0].destination = "sealed".into();
    refused_task(P::Fetch(f), "fetch.files[0].destination");
    // A Fetch has no proof kind; the sector size alone says which sector.
    let mut a = assignment(P::Fetch(fetch()));
    a.sector_size = 8 << 20;
    let t = AssignedTask::try_from(a).unwrap();
    assert!(matches!(t.payload(), TaskPayload::Fetch(FetchTask { files }) if files.len() == 1));
}

#[test]
fn posts_refuse_wrong_kinds_randomness_epochs_and_sectors() {
    let msg = refused_task(
        P::WindowPost(pb::WindowPostTask {
            registered_post_proof: Some(WINNING_2KIB),
            ..window_post()
        }),
        "window_post.registered_post_proof",
    );
    assert!(msg.contains("not a Window PoSt kind"), "{msg}");
    refused_task(
        P::WinningPost(pb::WinningPostTask {
            registered_post_proof: Some(WINDOW_2KIB),
            ..winning_post()
        }),
        "winning_post.registered_post_proof",
    );
    refused_task(
        P::WindowPost(pb::WindowPostTask {
            registered_post_proof: None,
            ..window_post()
        }),
        "window_post.registered_post_proof",
    );
    refused_task(
        P::WindowPost(pb::WindowPostTask {
            registered_post_proof: Some(5),
            ..window_post()
        }),
        "window_post.registered_post_proof",
    );
    // Window 8MiB for a 2KiB sector.
    refused_task(
        P::WindowPost(pb::WindowPostTask {
            registered_post_proof: Some(11),
            ..window_post()
        }),
        "window_post.registered_post_proof",
    );
    let mut r = vec![5; 32];
    r[31] = 0x40;
    let msg = refused_task(
        P::WindowPost(pb::WindowPostTask {
            randomness: r,
            ..window_post()
        }),
        "window_post.randomness",
    );
    assert!(msg.contains("field element"), "{msg}");
    refused_task(
        P::WinningPost(pb::WinningPostTask {
            randomness: vec![],
            ..winning_post()
        }),
        "winning_post.randomness",
    );
    let msg = refused_task(
        P::WindowPost(pb::WindowPostTask {
            challenge_epoch: -1,
            ..window_post()
        }),
        "window_post.challenge_epoch",
    );
    assert!(msg.contains("negative"), "{msg}");
    refused_task(
        P::WinningPost(pb::WinningPostTask {
            challenge_epoch: i64::MIN,
            ..winning_post()
        }),
        "winning_post.challenge_epoch",
    );
    refused_task(
        P::WindowPost(pb::WindowPostTask {
            deadline: 48,
            ..window_post()
        }),
        "window_post.deadline",
    );
    refused_task(
        P::WindowPost(pb::WindowPostTask {
            partitions: vec![],
            ..window_post()
        }),
        "window_post.partitions",
    );
    refused_task(
        P::WindowPost(pb::WindowPostTask {
            sectors: vec![],
            ..window_post()
        }),
        "window_post.sectors",
    );
    refused_task(
        P::WinningPost(pb::WinningPostTask {
            sectors: vec![],
            ..winning_post()
        }),
        "winning_post.sectors",
    );
    refused_task(
        P::WindowPost(pb::WindowPostTask {
            sectors: vec![post_sector(1), post_sector(1)],
            ..window_post()
        }),
        "window_post.sectors[1].number",
    );
}

#[test]
fn unseal_ranges_lie_in_the_sector() {
    refused_task(
        P::Unseal(pb::UnsealTask {
            length: 0,
            ..unseal()
        }),
        "unseal.length",
    );
    // 2 KiB holds 2032 unpadded bytes.
    refused_task(
        P::Unseal(pb::UnsealTask {
            offset: 1,
            length: 2032,
            ..unseal()
        }),
        "unseal.length",
    );
    refused_task(
        P::Unseal(pb::UnsealTask {
            offset: u64::MAX,
            length: 2,
            ..unseal()
        }),
        "unseal.length",
    );
    AssignedTask::try_from(assignment(P::Unseal(pb::UnsealTask {
        offset: 2031,
        length: 1,
        ..unseal()
    })))
    .unwrap();
}

#[test]
fn a_payload_must_match_its_task() {
    let (task, payload) = pc1_assigned(1).unwrap().into_parts();
    let err = AssignedTask::new(
        Task {
            kind: TaskKind::C2,
            ..task.clone()
        },
        payload.clone(),
    )
    .unwrap_err();
    assert_eq!(err.field(), "payload");
    let err = AssignedTask::new(
        Task {
            size: ferrite_types::SectorSize::S8MiB,
            ..task.clone()
        },
        payload.clone(),
    )
    .unwrap_err();
    assert_eq!(err.field(), "pc1.registered_seal_proof");
    assert_eq!(Status::from(err).code(), Code::InvalidArgument);
    assert_eq!(
        AssignedTask::new(task, payload).unwrap().task().id,
        TaskId(1)
    );
}

#[test]
fn completions_need_a_worker_and_an_outcome() {
    refused::<Completion, _>(
        pb::CompleteRequest {
            worker_id: String::new(),
            ..complete(O::Finalize(pb::FinalizeResult {}))
        },
        "worker_id",
    );
    refused::<Completion, _>(
        pb::CompleteRequest {
            outcome: None,
            ..complete(O::Unseal(pb::UnsealResult {}))
        },
        "outcome",
    );
}

#[test]
fn results_refuse_bad_commitments_and_proofs() {
    let msg = refused_outcome(
        O::Pc2(pb::Pc2Result {
            comm_r: vec![],
            comm_d: vec![4; 32],
        }),
        "pc2.comm_r",
    );
    assert!(msg.contains("must be 32 bytes, got 0"), "{msg}");
    refused_outcome(
        O::Pc2(pb::Pc2Result {
            comm_r: vec![3; 32],
            comm_d: vec![4; 33],
        }),
        "pc2.comm_d",
    );
    refused_outcome(
        O::Pc1(pb::Pc1Result { pc1_output: vec![] }),
        "pc1.pc1_output",
    );
    refused_outcome(O::C1(pb::C1Result { c1_output: vec![] }), "c1.c1_output");
    for len in [0, 1, 191, 193, 500] {
        let msg = refused_outcome(
            O::C2(pb::C2Result {
                proof: vec![1; len],
            }),
            "c2.proof",
        );
        assert!(msg.contains("multiple of 192"), "{msg}");
        let msg = refused_outcome(
            O::UpdateProve(pb::UpdateProveResult {
                proof: vec![1; len],
            }),
            "update_prove.proof",
        );
        assert!(msg.contains("multiple of 192"), "{msg}");
    }
    refused_outcome(
        O::UpdateEncode(pb::UpdateEncodeResult {
            comm_r_new: vec![5; 31],
            comm_d_new: vec![4; 32],
        }),
        "update_encode.comm_r_new",
    );
    refused_outcome(
        O::UpdateEncode(pb::UpdateEncodeResult {
            comm_r_new: vec![5; 32],
            comm_d_new: vec![],
        }),
        "update_encode.comm_d_new",
    );
    refused_outcome(
        O::AddPiece(pb::AddPieceResult {
            pieces: vec![piece(128), piece(0)],
        }),
        "add_piece.pieces[1].padded_size",
    );
    refused_outcome(
        O::AddPiece(pb::AddPieceResult {
            pieces: vec![pb::PieceInfo {
                comm_p: vec![],
                padded_size: 128,
            }],
        }),
        "add_piece.pieces[0].comm_p",
    );
}

#[test]
fn post_results_refuse_wrong_kinds_and_empty_proofs() {
    let msg = refused_outcome(
        O::WindowPost(post_result(WINNING_2KIB)),
        "window_post.proofs[0].registered_post_proof",
    );
    assert!(msg.contains("not a Window PoSt kind"), "{msg}");
    refused_outcome(
        O::WinningPost(post_result(WINDOW_2KIB)),
        "winning_post.proofs[0].registered_post_proof",
    );
    refused_outcome(
        O::WinningPost(post_result(77)),
        "winning_post.proofs[0].registered_post_proof",
    );
    let mut r = post_result(WINDOW_2KIB);
    r.proofs[0].registered_post_proof = None;
    refused_outcome(
        O::WindowPost(r),
        "window_post.proofs[0].registered_post_proof",
    );
    let mut r = post_result(WINDOW_2KIB);
    r.proofs[0].proof = vec![];
    refused_outcome(O::WindowPost(r), "window_post.proofs[0].proof");
    refused_outcome(
        O::WindowPost(pb::PostResult {
            proofs: vec![],
            skipped_sectors: vec![],
        }),
        "window_post.proofs",
    );
    // Every sector skipped: no proof, and that is a valid report.
    let c = Completion::try_from(complete(O::WindowPost(pb::PostResult {
        proofs: vec![],
        skipped_sectors: vec![1, 2],
    })))
    .unwrap();
    assert!(matches!(c.outcome, TaskOutcome::Done(_)));
}

#[test]
fn failures_must_say_why() {
    refused_outcome(
        O::Failure(pb::TaskFailure {
            reason: String::new(),
            retryable: true,
        }),
        "failure.reason",
    );
    refused_outcome(
        O::Failure(pb::TaskFailure {
            reason: " \n".into(),
            retryable: true,
        }),
        "failure.reason",
    );
    refused_outcome(
        O::Failure(pb::TaskFailure {
            reason: "x".repeat(4097),
            retryable: false,
        }),
        "failure.reason",
    );
    // TaskFailure::new always makes a reason that passes.
    for reason in [String::new(), "é".repeat(3000), "disk full".into()] {
        let f = TaskFailure::new(&reason, true);
        let back = TaskFailure::try_from(pb::TaskFailure::from(f.clone())).unwrap();
        assert_eq!(back, f);
    }
}
