//! Outbound: domain types to wire messages. These cannot fail: the domain
//! types already hold only valid values (an [`AssignedTask`] was checked when
//! it was made), so what they produce passes the other side's validation.
//! The exceptions are values a caller builds field by field with bad
//! contents (an empty [`Pc1Output`], a progress note over the limit): those
//! go out as they are and the receiver refuses them.

use ferrite_cluster::{FileKind, TaskKind, WorkerId, WorkerInfo};
use ferrite_types::{PieceInfo, PostProof, SealProof, SectorId};
use fvm_shared::sector::{RegisteredPoStProof, RegisteredSealProof};

use crate::generated as pb;
use crate::{
    AddPieceTask, AssignedTask, C1Task, C2Task, Completion, DealPieceSource, FetchFile, FetchTask,
    FinalizeTask, Heartbeat, Pc1Task, Pc2Task, PieceToAdd, PostOutput, PostProofBytes, PostSector,
    ProgressReport, RegisterReply, SectorPaths, TaskFailure, TaskOutcome, TaskOutput, TaskPayload,
    UnsealTask, UpdateEncodeTask, UpdateProveTask, WindowPostTask, WinningPostTask,
};

fn seal_code(p: SealProof) -> Option<i64> {
    Some(i64::from(RegisteredSealProof::from(p)))
}

fn post_code(p: PostProof) -> Option<i64> {
    Some(i64::from(RegisteredPoStProof::from(p)))
}

fn pieces(p: Vec<PieceInfo>) -> Vec<pb::PieceInfo> {
    p.into_iter().map(pb::PieceInfo::from).collect()
}

impl From<TaskKind> for pb::TaskKind {
    fn from(k: TaskKind) -> Self {
        match k {
            TaskKind::AddPiece => pb::TaskKind::AddPiece,
            TaskKind::Pc1 => pb::TaskKind::Pc1,
            TaskKind::Pc2 => pb::TaskKind::Pc2,
            TaskKind::C1 => pb::TaskKind::C1,
            TaskKind::C2 => pb::TaskKind::C2,
            TaskKind::Finalize => pb::TaskKind::Finalize,
            TaskKind::Fetch => pb::TaskKind::Fetch,
            TaskKind::WindowPost => pb::TaskKind::WindowPost,
            TaskKind::WinningPost => pb::TaskKind::WinningPost,
            TaskKind::Unseal => pb::TaskKind::Unseal,
            TaskKind::UpdateEncode => pb::TaskKind::UpdateEncode,
            TaskKind::UpdateProve => pb::TaskKind::UpdateProve,
        }
    }
}

impl From<FileKind> for pb::FileKind {
    fn from(k: FileKind) -> Self {
        match k {
            FileKind::Unsealed => pb::FileKind::Unsealed,
            FileKind::Sealed => pb::FileKind::Sealed,
            FileKind::SealingCache => pb::FileKind::SealingCache,
            FileKind::FinalizedCache => pb::FileKind::FinalizedCache,
        }
    }
}

// ----------------------------------------------------------------- workers

impl From<WorkerInfo> for pb::RegisterRequest {
    fn from(w: WorkerInfo) -> Self {
        pb::RegisterRequest {
            worker_id: w.id.0,
            hostname: w.hostname,
            cores: w.cores,
            memory_bytes: w.memory,
            gpus: w.gpus,
            gpu_devices: w
                .gpu_devices
                .into_iter()
                .map(|d| pb::GpuDevice {
                    model: d.model,
                    memory_bytes: d.memory,
                })
                .collect(),
            task_limits: w
                .max_running
                .iter()
                .map(|(k, n)| pb::TaskLimit {
                    kind: pb::TaskKind::from(*k) as i32,
                    max_running: *n,
                })
                .collect(),
            task_kinds: w
                .kinds
                .into_iter()
                .map(|k| pb::TaskKind::from(k) as i32)
                .collect(),
            storage_path_ids: w.paths.into_iter().map(|p| p.0).collect(),
        }
    }
}

impl From<RegisterReply> for pb::RegisterResponse {
    /// Whole milliseconds, rounded down, at least 1.
    fn from(r: RegisterReply) -> Self {
        let ms = u64::try_from(r.heartbeat_interval.as_millis()).unwrap_or(u64::MAX);
        pb::RegisterResponse {
            heartbeat_interval_ms: ms.max(1),
        }
    }
}

impl From<Heartbeat> for pb::HeartbeatRequest {
    fn from(h: Heartbeat) -> Self {
        pb::HeartbeatRequest {
            worker_id: h.worker.0,
            running_task_ids: h.running.into_iter().map(|t| t.0).collect(),
        }
    }
}

impl From<WorkerId> for pb::TasksRequest {
    fn from(w: WorkerId) -> Self {
        pb::TasksRequest { worker_id: w.0 }
    }
}

impl From<ProgressReport> for pb::ProgressRequest {
    fn from(p: ProgressReport) -> Self {
        pb::ProgressRequest {
            worker_id: p.worker.0,
            task_id: p.task.0,
            done: p.done,
            total: p.total,
            note: p.note,
        }
    }
}

// ------------------------------------------------------------------- tasks

impl From<SectorId> for pb::SectorRef {
    fn from(s: SectorId) -> Self {
        pb::SectorRef {
            miner: s.miner.0,
            number: s.number.0,
        }
    }
}

impl From<PieceInfo> for pb::PieceInfo {
    fn from(p: PieceInfo) -> Self {
        pb::PieceInfo {
            comm_p: p.comm_p.0.to_vec(),
            padded_size: p.size.bytes(),
        }
    }
}

impl From<SectorPaths> for pb::SectorPaths {
    fn from(p: SectorPaths) -> Self {
        pb::SectorPaths {
            unsealed: p.unsealed.into(),
            sealed: p.sealed.into(),
            cache: p.cache.into(),
        }
    }
}

impl From<AssignedTask> for pb::TaskAssignment {
    fn from(a: AssignedTask) -> Self {
        let (task, payload) = a.into_parts();
        pb::TaskAssignment {
            task_id: task.id.0,
            sector: Some(task.sector.into()),
            sector_size: task.size.bytes(),
            priority: task.priority,
            payload: Some(payload.into()),
        }
    }
}

impl From<TaskPayload> for pb::task_assignment::Payload {
    fn from(p: TaskPayload) -> Self {
        use pb::task_assignment::Payload as P;
        match p {
            TaskPayload::AddPiece(t) => P::AddPiece(t.into()),
            TaskPayload::Pc1(t) => P::Pc1(t.into()),
            TaskPayload::Pc2(t) => P::Pc2(t.into()),
            TaskPayload::C1(t) => P::C1(t.into()),
            TaskPayload::C2(t) => P::C2(t.into()),
            TaskPayload::Finalize(t) => P::Finalize(t.into()),
            TaskPayload::Fetch(t) => P::Fetch(t.into()),
            TaskPayload::WindowPost(t) => P::WindowPost(t.into()),
            TaskPayload::WinningPost(t) => P::WinningPost(t.into()),
            TaskPayload::Unseal(t) => P::Unseal(t.into()),
            TaskPayload::UpdateEncode(t) => P::UpdateEncode(t.into()),
            TaskPayload::UpdateProve(t) => P::UpdateProve(t.into()),
        }
    }
}

impl From<PieceToAdd> for pb::PieceToAdd {
    fn from(p: PieceToAdd) -> Self {
        use pb::piece_to_add::Piece;
        pb::PieceToAdd {
            piece: Some(match p {
                PieceToAdd::Filler(size) => Piece::FillerPaddedSize(size.bytes()),
                PieceToAdd::Deal(d) => Piece::Deal(d.into()),
            }),
        }
    }
}

impl From<DealPieceSource> for pb::DealPieceSource {
    fn from(d: DealPieceSource) -> Self {
        pb::DealPieceSource {
            deal_id: d.deal.0,
            piece: Some(d.piece.into()),
            source_url: d.source.into(),
        }
    }
}

impl From<AddPieceTask> for pb::AddPieceTask {
    fn from(t: AddPieceTask) -> Self {
        pb::AddPieceTask {
            registered_seal_proof: seal_code(t.proof),
            paths: Some(t.paths.into()),
            existing_padded_sizes: t.existing.into_iter().map(|s| s.bytes()).collect(),
            adding: t.adding.into_iter().map(pb::PieceToAdd::from).collect(),
        }
    }
}

impl From<Pc1Task> for pb::Pc1Task {
    fn from(t: Pc1Task) -> Self {
        pb::Pc1Task {
            registered_seal_proof: seal_code(t.proof),
            paths: Some(t.paths.into()),
            ticket: t.ticket.0.to_vec(),
            pieces: pieces(t.pieces),
        }
    }
}

impl From<Pc2Task> for pb::Pc2Task {
    fn from(t: Pc2Task) -> Self {
        pb::Pc2Task {
            registered_seal_proof: seal_code(t.proof),
            paths: Some(t.paths.into()),
            pc1_output: t.pc1_output.0,
        }
    }
}

impl From<C1Task> for pb::C1Task {
    fn from(t: C1Task) -> Self {
        pb::C1Task {
            registered_seal_proof: seal_code(t.proof),
            paths: Some(t.paths.into()),
            ticket: t.ticket.0.to_vec(),
            seed: t.seed.0.to_vec(),
            comm_r: t.comm_r.0.to_vec(),
            comm_d: t.comm_d.0.to_vec(),
            pieces: pieces(t.pieces),
        }
    }
}

impl From<C2Task> for pb::C2Task {
    fn from(t: C2Task) -> Self {
        pb::C2Task {
            registered_seal_proof: seal_code(t.proof),
            c1_output: t.c1_output.0,
        }
    }
}

impl From<FinalizeTask> for pb::FinalizeTask {
    fn from(t: FinalizeTask) -> Self {
        pb::FinalizeTask {
            registered_seal_proof: seal_code(t.proof),
            from: Some(t.from.into()),
            to: Some(t.to.into()),
            keep_unsealed: t.keep_unsealed,
        }
    }
}

impl From<FetchFile> for pb::FetchFile {
    fn from(f: FetchFile) -> Self {
        pb::FetchFile {
            kind: pb::FileKind::from(f.kind) as i32,
            source_url: f.source.into(),
            destination: f.destination.into(),
        }
    }
}

impl From<FetchTask> for pb::FetchTask {
    fn from(t: FetchTask) -> Self {
        pb::FetchTask {
            files: t.files.into_iter().map(pb::FetchFile::from).collect(),
        }
    }
}

impl From<PostSector> for pb::PostSector {
    fn from(s: PostSector) -> Self {
        pb::PostSector {
            number: s.number.0,
            comm_r: s.comm_r.0.to_vec(),
            sealed: s.sealed.into(),
            cache: s.cache.into(),
        }
    }
}

fn post_sectors(s: Vec<PostSector>) -> Vec<pb::PostSector> {
    s.into_iter().map(pb::PostSector::from).collect()
}

impl From<WindowPostTask> for pb::WindowPostTask {
    fn from(t: WindowPostTask) -> Self {
        pb::WindowPostTask {
            registered_post_proof: post_code(t.proof),
            randomness: t.randomness.as_bytes().to_vec(),
            challenge_epoch: t.challenge_epoch.0,
            deadline: t.deadline,
            partitions: t.partitions,
            sectors: post_sectors(t.sectors),
        }
    }
}

impl From<WinningPostTask> for pb::WinningPostTask {
    fn from(t: WinningPostTask) -> Self {
        pb::WinningPostTask {
            registered_post_proof: post_code(t.proof),
            randomness: t.randomness.as_bytes().to_vec(),
            challenge_epoch: t.challenge_epoch.0,
            sectors: post_sectors(t.sectors),
        }
    }
}

impl From<UnsealTask> for pb::UnsealTask {
    fn from(t: UnsealTask) -> Self {
        pb::UnsealTask {
            registered_seal_proof: seal_code(t.proof),
            paths: Some(t.paths.into()),
            comm_d: t.comm_d.0.to_vec(),
            ticket: t.ticket.0.to_vec(),
            offset: t.offset,
            length: t.length,
        }
    }
}

impl From<UpdateEncodeTask> for pb::UpdateEncodeTask {
    fn from(t: UpdateEncodeTask) -> Self {
        pb::UpdateEncodeTask {
            registered_seal_proof: seal_code(t.proof),
            paths: Some(t.paths.into()),
            pieces: pieces(t.pieces),
        }
    }
}

impl From<UpdateProveTask> for pb::UpdateProveTask {
    fn from(t: UpdateProveTask) -> Self {
        pb::UpdateProveTask {
            registered_seal_proof: seal_code(t.proof),
            paths: Some(t.paths.into()),
            comm_r_old: t.comm_r_old.0.to_vec(),
            comm_r_new: t.comm_r_new.0.to_vec(),
            comm_d_new: t.comm_d_new.0.to_vec(),
        }
    }
}

// ----------------------------------------------------------------- results

impl From<Completion> for pb::CompleteRequest {
    fn from(c: Completion) -> Self {
        pb::CompleteRequest {
            worker_id: c.worker.0,
            task_id: c.task.0,
            outcome: Some(c.outcome.into()),
        }
    }
}

impl From<TaskOutcome> for pb::complete_request::Outcome {
    fn from(o: TaskOutcome) -> Self {
        use pb::complete_request::Outcome as O;
        match o {
            TaskOutcome::Failed(f) => O::Failure(f.into()),
            TaskOutcome::Done(out) => match out {
                TaskOutput::AddPiece(p) => O::AddPiece(pb::AddPieceResult { pieces: pieces(p) }),
                TaskOutput::Pc1(b) => O::Pc1(pb::Pc1Result { pc1_output: b.0 }),
                TaskOutput::Pc2 { comm_r, comm_d } => O::Pc2(pb::Pc2Result {
                    comm_r: comm_r.0.to_vec(),
                    comm_d: comm_d.0.to_vec(),
                }),
                TaskOutput::C1(b) => O::C1(pb::C1Result { c1_output: b.0 }),
                TaskOutput::C2(p) => O::C2(pb::C2Result { proof: p.0 }),
                TaskOutput::Finalize => O::Finalize(pb::FinalizeResult {}),
                TaskOutput::Fetch { bytes } => O::Fetch(pb::FetchResult { bytes }),
                TaskOutput::WindowPost(p) => O::WindowPost(p.into()),
                TaskOutput::WinningPost(p) => O::WinningPost(p.into()),
                TaskOutput::Unseal => O::Unseal(pb::UnsealResult {}),
                TaskOutput::UpdateEncode {
                    comm_r_new,
                    comm_d_new,
                } => O::UpdateEncode(pb::UpdateEncodeResult {
                    comm_r_new: comm_r_new.0.to_vec(),
                    comm_d_new: comm_d_new.0.to_vec(),
                }),
                TaskOutput::UpdateProve(p) => O::UpdateProve(pb::UpdateProveResult { proof: p.0 }),
            },
        }
    }
}

impl From<PostOutput> for pb::PostResult {
    fn from(p: PostOutput) -> Self {
        pb::PostResult {
            proofs: p.proofs.into_iter().map(pb::PostProof::from).collect(),
            skipped_sectors: p.skipped.into_iter().map(|s| s.0).collect(),
        }
    }
}

impl From<PostProofBytes> for pb::PostProof {
    fn from(p: PostProofBytes) -> Self {
        pb::PostProof {
            registered_post_proof: post_code(p.proof),
            proof: p.bytes,
        }
    }
}

impl From<TaskFailure> for pb::TaskFailure {
    fn from(f: TaskFailure) -> Self {
        pb::TaskFailure {
            reason: f.reason,
            retryable: f.retryable,
        }
    }
}
