//! Inbound: wire messages to domain types, checking every field (STYLE R6).
//!
//! Each `TryFrom` reports the first problem as a [`ProtoError`] naming the
//! field by its path in the message; the conversions of nested messages name
//! fields relative to themselves and their callers prefix the path.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ferrite_cluster::{FileKind, GpuDevice, PathId, Task, TaskId, TaskKind, WorkerId, WorkerInfo};
use ferrite_types::{
    ActorId, ChainEpoch, CommD, CommP, CommR, DealId, PaddedPieceSize, PieceInfo, PostKind,
    PostProof, PostRandomness, SealProof, SectorId, SectorNumber, SectorSize, Seed, Ticket,
};
use fvm_shared::sector::{RegisteredPoStProof, RegisteredSealProof};

use crate::generated as pb;
use crate::output::{GROTH16_PROOF_BYTES, MAX_REASON_BYTES};
use crate::task::case_name;
use crate::worker::MAX_NOTE_BYTES;
use crate::{
    AddPieceTask, AssignedTask, C1Output, C1Task, C2Task, Completion, DealPieceSource, FetchFile,
    FetchTask, FinalizeTask, Heartbeat, HostPath, HttpUrl, Pc1Output, Pc1Task, Pc2Task, PieceToAdd,
    PostOutput, PostProofBytes, PostSector, ProgressReport, ProtoError, RegisterReply,
    SealProofBytes, SectorPaths, TaskFailure, TaskOutcome, TaskOutput, TaskPayload, UnsealTask,
    UpdateEncodeTask, UpdateProofBytes, UpdateProveTask, WindowPostTask, WinningPostTask,
};

/// Longest worker id accepted.
const MAX_WORKER_ID_BYTES: usize = 128;
/// Longest hostname accepted (DNS's limit).
const MAX_HOSTNAME_BYTES: usize = 253;
/// Cards a worker may list.
const MAX_GPU_DEVICES: usize = 64;
/// A card's model name.
const MAX_GPU_MODEL_BYTES: usize = 128;

// ------------------------------------------------------------------ fields

fn required<T>(field: &str, value: Option<T>) -> Result<T, ProtoError> {
    value.ok_or_else(|| ProtoError::missing(field))
}

fn bytes32(field: &str, bytes: &[u8]) -> Result<[u8; 32], ProtoError> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| ProtoError::invalid(field, format!("must be 32 bytes, got {}", bytes.len())))
}

fn blob(field: &str, bytes: Vec<u8>) -> Result<Vec<u8>, ProtoError> {
    if bytes.is_empty() {
        return Err(ProtoError::invalid(field, "empty"));
    }
    Ok(bytes)
}

fn groth_proofs(field: &str, bytes: Vec<u8>) -> Result<Vec<u8>, ProtoError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(GROTH16_PROOF_BYTES) {
        return Err(ProtoError::invalid(
            field,
            format!(
                "{} bytes; a proof is a non-zero multiple of {GROTH16_PROOF_BYTES} bytes",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

/// A card's model: printable ASCII (spaces too), not empty, at most
/// [`MAX_GPU_MODEL_BYTES`].
fn gpu_model(field: &str, value: String) -> Result<String, ProtoError> {
    if value.trim().is_empty() {
        return Err(ProtoError::invalid(field, "empty"));
    }
    if value.len() > MAX_GPU_MODEL_BYTES {
        return Err(ProtoError::invalid(
            field,
            format!("{} bytes; at most {MAX_GPU_MODEL_BYTES}", value.len()),
        ));
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        return Err(ProtoError::invalid(
            field,
            format!("{value:?} contains {c:?}; only printable ASCII"),
        ));
    }
    Ok(value)
}

/// Printable ASCII without spaces, not empty, at most `max` bytes.
fn name(field: &str, value: String, max: usize) -> Result<String, ProtoError> {
    if value.is_empty() {
        return Err(ProtoError::invalid(field, "empty"));
    }
    if value.len() > max {
        return Err(ProtoError::invalid(
            field,
            format!("{} bytes; at most {max}", value.len()),
        ));
    }
    if let Some(c) = value.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(ProtoError::invalid(
            field,
            format!("{value:?} contains {c:?}; only printable ASCII without spaces"),
        ));
    }
    Ok(value)
}

fn worker_id(field: &str, value: String) -> Result<WorkerId, ProtoError> {
    name(field, value, MAX_WORKER_ID_BYTES).map(WorkerId)
}

fn host_path(field: &str, value: String) -> Result<HostPath, ProtoError> {
    HostPath::new(value).map_err(|e| e.at(field))
}

fn http_url(field: &str, value: String) -> Result<HttpUrl, ProtoError> {
    HttpUrl::new(value).map_err(|e| e.at(field))
}

fn padded_size(field: &str, bytes: u64) -> Result<PaddedPieceSize, ProtoError> {
    PaddedPieceSize::new(bytes).map_err(|e| ProtoError::invalid(field, e))
}

fn seal_proof(field: &str, code: Option<i64>) -> Result<SealProof, ProtoError> {
    let code = required(field, code)?;
    SealProof::try_from(RegisteredSealProof::from(code))
        .map_err(|e| ProtoError::invalid(field, format!("code {code}: {e}")))
}

fn post_proof(field: &str, code: Option<i64>) -> Result<PostProof, ProtoError> {
    let code = required(field, code)?;
    PostProof::try_from(RegisteredPoStProof::from(code))
        .map_err(|e| ProtoError::invalid(field, format!("code {code}: {e}")))
}

fn post_randomness(field: &str, bytes: &[u8]) -> Result<PostRandomness, ProtoError> {
    let raw = bytes32(field, bytes)?;
    let masked = PostRandomness::new(raw);
    if masked.as_bytes() != &raw {
        return Err(ProtoError::invalid(
            field,
            "not a field element: the top two bits of byte 31 must be clear",
        ));
    }
    Ok(masked)
}

fn epoch(field: &str, value: i64) -> Result<ChainEpoch, ProtoError> {
    if value < 0 {
        return Err(ProtoError::invalid(
            field,
            format!("negative epoch {value}"),
        ));
    }
    Ok(ChainEpoch(value))
}

/// Each element of `items` converted, errors named `field[i]...`.
fn each<T, U>(field: &str, items: Vec<T>) -> Result<Vec<U>, ProtoError>
where
    U: TryFrom<T, Error = ProtoError>,
{
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| U::try_from(item).map_err(|e| e.at_index(field, i)))
        .collect()
}

fn task_kind(field: &str, value: i32) -> Result<TaskKind, ProtoError> {
    let kind = pb::TaskKind::try_from(value)
        .map_err(|_| ProtoError::invalid(field, format!("unknown task kind {value}")))?;
    TaskKind::try_from(kind).map_err(|e| e.at(field))
}

// ------------------------------------------------------------------- enums

impl TryFrom<pb::TaskKind> for TaskKind {
    type Error = ProtoError;
    fn try_from(k: pb::TaskKind) -> Result<Self, ProtoError> {
        Ok(match k {
            pb::TaskKind::Unspecified => {
                return Err(ProtoError::invalid("", "task kind UNSPECIFIED"));
            }
            pb::TaskKind::AddPiece => TaskKind::AddPiece,
            pb::TaskKind::Pc1 => TaskKind::Pc1,
            pb::TaskKind::Pc2 => TaskKind::Pc2,
            pb::TaskKind::C1 => TaskKind::C1,
            pb::TaskKind::C2 => TaskKind::C2,
            pb::TaskKind::Finalize => TaskKind::Finalize,
            pb::TaskKind::Fetch => TaskKind::Fetch,
            pb::TaskKind::WindowPost => TaskKind::WindowPost,
            pb::TaskKind::WinningPost => TaskKind::WinningPost,
            pb::TaskKind::Unseal => TaskKind::Unseal,
            pb::TaskKind::UpdateEncode => TaskKind::UpdateEncode,
            pb::TaskKind::UpdateProve => TaskKind::UpdateProve,
        })
    }
}

impl TryFrom<pb::FileKind> for FileKind {
    type Error = ProtoError;
    fn try_from(k: pb::FileKind) -> Result<Self, ProtoError> {
        Ok(match k {
            pb::FileKind::Unspecified => {
                return Err(ProtoError::invalid("", "file kind UNSPECIFIED"));
            }
            pb::FileKind::Unsealed => FileKind::Unsealed,
            pb::FileKind::Sealed => FileKind::Sealed,
            pb::FileKind::SealingCache => FileKind::SealingCache,
            pb::FileKind::FinalizedCache => FileKind::FinalizedCache,
        })
    }
}

// ----------------------------------------------------------------- workers

impl TryFrom<pb::RegisterRequest> for WorkerInfo {
    type Error = ProtoError;
    fn try_from(m: pb::RegisterRequest) -> Result<Self, ProtoError> {
        let id = worker_id("worker_id", m.worker_id)?;
        let hostname = name("hostname", m.hostname, MAX_HOSTNAME_BYTES)?;
        if m.cores == 0 {
            return Err(ProtoError::invalid("cores", "must be at least 1"));
        }
        if m.memory_bytes == 0 {
            return Err(ProtoError::invalid("memory_bytes", "must be at least 1"));
        }
        if m.task_kinds.is_empty() {
            return Err(ProtoError::invalid(
                "task_kinds",
                "empty: a worker takes at least one task kind",
            ));
        }
        let mut kinds = BTreeSet::new();
        for (i, k) in m.task_kinds.into_iter().enumerate() {
            let field = format!("task_kinds[{i}]");
            let kind = task_kind(&field, k)?;
            if !kinds.insert(kind) {
                return Err(ProtoError::invalid(field, format!("{kind} listed twice")));
            }
        }
        let mut seen = BTreeSet::new();
        let mut paths = Vec::with_capacity(m.storage_path_ids.len());
        for (i, p) in m.storage_path_ids.into_iter().enumerate() {
            if !seen.insert(p) {
                return Err(ProtoError::invalid(
                    format!("storage_path_ids[{i}]"),
                    format!("path {p} listed twice"),
                ));
            }
            paths.push(PathId(p));
        }
        if m.gpu_devices.len() > MAX_GPU_DEVICES {
            return Err(ProtoError::invalid(
                "gpu_devices",
                format!("{} cards; at most {MAX_GPU_DEVICES}", m.gpu_devices.len()),
            ));
        }
        let mut gpu_devices = Vec::with_capacity(m.gpu_devices.len());
        for (i, d) in m.gpu_devices.into_iter().enumerate() {
            gpu_devices.push(GpuDevice {
                model: gpu_model(&format!("gpu_devices[{i}].model"), d.model)?,
                memory: d.memory_bytes,
            });
        }
        let mut max_running = BTreeMap::new();
        for (i, l) in m.task_limits.into_iter().enumerate() {
            let field = format!("task_limits[{i}]");
            let kind = task_kind(&format!("{field}.kind"), l.kind)?;
            if !kinds.contains(&kind) {
                return Err(ProtoError::invalid(
                    format!("{field}.kind"),
                    format!("{kind} is not among task_kinds"),
                ));
            }
            if l.max_running == 0 {
                return Err(ProtoError::invalid(
                    format!("{field}.max_running"),
                    "must be at least 1",
                ));
            }
            if max_running.insert(kind, l.max_running).is_some() {
                return Err(ProtoError::invalid(
                    format!("{field}.kind"),
                    format!("{kind} listed twice"),
                ));
            }
        }
        Ok(WorkerInfo {
            id,
            hostname,
            cores: m.cores,
            memory: m.memory_bytes,
            gpus: m.gpus,
            gpu_devices,
            max_running,
            kinds,
            paths,
        })
    }
}

impl TryFrom<pb::RegisterResponse> for RegisterReply {
    type Error = ProtoError;
    fn try_from(m: pb::RegisterResponse) -> Result<Self, ProtoError> {
        if m.heartbeat_interval_ms == 0 {
            return Err(ProtoError::invalid(
                "heartbeat_interval_ms",
                "must be at least 1",
            ));
        }
        Ok(RegisterReply {
            heartbeat_interval: Duration::from_millis(m.heartbeat_interval_ms),
        })
    }
}

impl TryFrom<pb::HeartbeatRequest> for Heartbeat {
    type Error = ProtoError;
    fn try_from(m: pb::HeartbeatRequest) -> Result<Self, ProtoError> {
        Ok(Heartbeat {
            worker: worker_id("worker_id", m.worker_id)?,
            running: m.running_task_ids.into_iter().map(TaskId).collect(),
        })
    }
}

impl TryFrom<pb::TasksRequest> for WorkerId {
    type Error = ProtoError;
    fn try_from(m: pb::TasksRequest) -> Result<Self, ProtoError> {
        worker_id("worker_id", m.worker_id)
    }
}

impl TryFrom<pb::ProgressRequest> for ProgressReport {
    type Error = ProtoError;
    fn try_from(m: pb::ProgressRequest) -> Result<Self, ProtoError> {
        let worker = worker_id("worker_id", m.worker_id)?;
        if m.total == 0 {
            return Err(ProtoError::invalid("total", "must be at least 1"));
        }
        if m.done > m.total {
            return Err(ProtoError::invalid(
                "done",
                format!("{} is more than the total {}", m.done, m.total),
            ));
        }
        if m.note.len() > MAX_NOTE_BYTES {
            return Err(ProtoError::invalid(
                "note",
                format!("{} bytes; at most {MAX_NOTE_BYTES}", m.note.len()),
            ));
        }
        Ok(ProgressReport {
            worker,
            task: TaskId(m.task_id),
            done: m.done,
            total: m.total,
            note: m.note,
        })
    }
}

// ------------------------------------------------------------------- tasks

impl TryFrom<pb::SectorRef> for SectorId {
    type Error = ProtoError;
    fn try_from(m: pb::SectorRef) -> Result<Self, ProtoError> {
        Ok(SectorId::new(ActorId(m.miner), SectorNumber(m.number)))
    }
}

impl TryFrom<pb::PieceInfo> for PieceInfo {
    type Error = ProtoError;
    fn try_from(m: pb::PieceInfo) -> Result<Self, ProtoError> {
        Ok(PieceInfo {
            comm_p: CommP(bytes32("comm_p", &m.comm_p)?),
            size: padded_size("padded_size", m.padded_size)?,
        })
    }
}

impl TryFrom<pb::SectorPaths> for SectorPaths {
    type Error = ProtoError;
    fn try_from(m: pb::SectorPaths) -> Result<Self, ProtoError> {
        Ok(SectorPaths {
            unsealed: host_path("unsealed", m.unsealed)?,
            sealed: host_path("sealed", m.sealed)?,
            cache: host_path("cache", m.cache)?,
        })
    }
}

fn paths(field: &str, m: Option<pb::SectorPaths>) -> Result<SectorPaths, ProtoError> {
    SectorPaths::try_from(required(field, m)?).map_err(|e| e.at(field))
}

impl TryFrom<pb::TaskAssignment> for AssignedTask {
    type Error = ProtoError;
    fn try_from(m: pb::TaskAssignment) -> Result<Self, ProtoError> {
        let sector = SectorId::try_from(required("sector", m.sector)?)?;
        let size = SectorSize::from_bytes(m.sector_size)
            .map_err(|e| ProtoError::invalid("sector_size", e))?;
        let payload = TaskPayload::try_from(required("payload", m.payload)?)?;
        let task = Task {
            id: TaskId(m.task_id),
            kind: payload.kind(),
            sector,
            size,
            priority: m.priority,
        };
        AssignedTask::new(task, payload)
    }
}

impl TryFrom<pb::task_assignment::Payload> for TaskPayload {
    type Error = ProtoError;
    /// Field paths start with the `oneof` case (`pc1.ticket`).
    fn try_from(m: pb::task_assignment::Payload) -> Result<Self, ProtoError> {
        use pb::task_assignment::Payload as P;
        let (kind, payload) = match m {
            P::AddPiece(t) => (TaskKind::AddPiece, t.try_into().map(TaskPayload::AddPiece)),
            P::Pc1(t) => (TaskKind::Pc1, t.try_into().map(TaskPayload::Pc1)),
            P::Pc2(t) => (TaskKind::Pc2, t.try_into().map(TaskPayload::Pc2)),
            P::C1(t) => (TaskKind::C1, t.try_into().map(TaskPayload::C1)),
            P::C2(t) => (TaskKind::C2, t.try_into().map(TaskPayload::C2)),
            P::Finalize(t) => (TaskKind::Finalize, t.try_into().map(TaskPayload::Finalize)),
            P::Fetch(t) => (TaskKind::Fetch, t.try_into().map(TaskPayload::Fetch)),
            P::WindowPost(t) => (
                TaskKind::WindowPost,
                t.try_into().map(TaskPayload::WindowPost),
            ),
            P::WinningPost(t) => (
                TaskKind::WinningPost,
                t.try_into().map(TaskPayload::WinningPost),
            ),
            P::Unseal(t) => (TaskKind::Unseal, t.try_into().map(TaskPayload::Unseal)),
            P::UpdateEncode(t) => (
                TaskKind::UpdateEncode,
                t.try_into().map(TaskPayload::UpdateEncode),
            ),
            P::UpdateProve(t) => (
                TaskKind::UpdateProve,
                t.try_into().map(TaskPayload::UpdateProve),
            ),
        };
        payload.map_err(|e| e.at(case_name(kind)))
    }
}

impl TryFrom<pb::PieceToAdd> for PieceToAdd {
    type Error = ProtoError;
    fn try_from(m: pb::PieceToAdd) -> Result<Self, ProtoError> {
        use pb::piece_to_add::Piece;
        match required("piece", m.piece)? {
            Piece::FillerPaddedSize(size) => {
                Ok(PieceToAdd::Filler(padded_size("filler_padded_size", size)?))
            }
            Piece::Deal(d) => Ok(PieceToAdd::Deal(
                DealPieceSource::try_from(d).map_err(|e| e.at("deal"))?,
            )),
        }
    }
}

impl TryFrom<pb::DealPieceSource> for DealPieceSource {
    type Error = ProtoError;
    fn try_from(m: pb::DealPieceSource) -> Result<Self, ProtoError> {
        Ok(DealPieceSource {
            deal: DealId(m.deal_id),
            piece: PieceInfo::try_from(required("piece", m.piece)?).map_err(|e| e.at("piece"))?,
            source: http_url("source_url", m.source_url)?,
        })
    }
}

impl TryFrom<pb::AddPieceTask> for AddPieceTask {
    type Error = ProtoError;
    fn try_from(m: pb::AddPieceTask) -> Result<Self, ProtoError> {
        Ok(AddPieceTask {
            proof: seal_proof("registered_seal_proof", m.registered_seal_proof)?,
            paths: paths("paths", m.paths)?,
            existing: m
                .existing_padded_sizes
                .into_iter()
                .enumerate()
                .map(|(i, s)| padded_size(&format!("existing_padded_sizes[{i}]"), s))
                .collect::<Result<_, _>>()?,
            adding: each("adding", m.adding)?,
        })
    }
}

impl TryFrom<pb::Pc1Task> for Pc1Task {
    type Error = ProtoError;
    fn try_from(m: pb::Pc1Task) -> Result<Self, ProtoError> {
        Ok(Pc1Task {
            proof: seal_proof("registered_seal_proof", m.registered_seal_proof)?,
            paths: paths("paths", m.paths)?,
            ticket: Ticket(bytes32("ticket", &m.ticket)?),
            pieces: each("pieces", m.pieces)?,
        })
    }
}

impl TryFrom<pb::Pc2Task> for Pc2Task {
    type Error = ProtoError;
    fn try_from(m: pb::Pc2Task) -> Result<Self, ProtoError> {
        Ok(Pc2Task {
            proof: seal_proof("registered_seal_proof", m.registered_seal_proof)?,
            paths: paths("paths", m.paths)?,
            pc1_output: Pc1Output(blob("pc1_output", m.pc1_output)?),
        })
    }
}

impl TryFrom<pb::C1Task> for C1Task {
    type Error = ProtoError;
    fn try_from(m: pb::C1Task) -> Result<Self, ProtoError> {
        Ok(C1Task {
            proof: seal_proof("registered_seal_proof", m.registered_seal_proof)?,
            paths: paths("paths", m.paths)?,
            ticket: Ticket(bytes32("ticket", &m.ticket)?),
            seed: Seed(bytes32("seed", &m.seed)?),
            comm_r: CommR(bytes32("comm_r", &m.comm_r)?),
            comm_d: CommD(bytes32("comm_d", &m.comm_d)?),
            pieces: each("pieces", m.pieces)?,
        })
    }
}

impl TryFrom<pb::C2Task> for C2Task {
    type Error = ProtoError;
    fn try_from(m: pb::C2Task) -> Result<Self, ProtoError> {
        Ok(C2Task {
            proof: seal_proof("registered_seal_proof", m.registered_seal_proof)?,
            c1_output: C1Output(blob("c1_output", m.c1_output)?),
        })
    }
}

impl TryFrom<pb::FinalizeTask> for FinalizeTask {
    type Error = ProtoError;
    fn try_from(m: pb::FinalizeTask) -> Result<Self, ProtoError> {
        Ok(FinalizeTask {
            proof: seal_proof("registered_seal_proof", m.registered_seal_proof)?,
            from: paths("from", m.from)?,
            to: paths("to", m.to)?,
            keep_unsealed: m.keep_unsealed,
        })
    }
}

impl TryFrom<pb::FetchFile> for FetchFile {
    type Error = ProtoError;
    fn try_from(m: pb::FetchFile) -> Result<Self, ProtoError> {
        let kind = pb::FileKind::try_from(m.kind)
            .map_err(|_| ProtoError::invalid("kind", format!("unknown file kind {}", m.kind)))?;
        Ok(FetchFile {
            kind: FileKind::try_from(kind).map_err(|e| e.at("kind"))?,
            source: http_url("source_url", m.source_url)?,
            destination: host_path("destination", m.destination)?,
        })
    }
}

impl TryFrom<pb::FetchTask> for FetchTask {
    type Error = ProtoError;
    fn try_from(m: pb::FetchTask) -> Result<Self, ProtoError> {
        Ok(FetchTask {
            files: each("files", m.files)?,
        })
    }
}

impl TryFrom<pb::PostSector> for PostSector {
    type Error = ProtoError;
    fn try_from(m: pb::PostSector) -> Result<Self, ProtoError> {
        Ok(PostSector {
            number: SectorNumber(m.number),
            comm_r: CommR(bytes32("comm_r", &m.comm_r)?),
            sealed: host_path("sealed", m.sealed)?,
            cache: host_path("cache", m.cache)?,
        })
    }
}

impl TryFrom<pb::WindowPostTask> for WindowPostTask {
    type Error = ProtoError;
    fn try_from(m: pb::WindowPostTask) -> Result<Self, ProtoError> {
        Ok(WindowPostTask {
            proof: post_proof("registered_post_proof", m.registered_post_proof)?,
            randomness: post_randomness("randomness", &m.randomness)?,
            challenge_epoch: epoch("challenge_epoch", m.challenge_epoch)?,
            deadline: m.deadline,
            partitions: m.partitions,
            sectors: each("sectors", m.sectors)?,
        })
    }
}

impl TryFrom<pb::WinningPostTask> for WinningPostTask {
    type Error = ProtoError;
    fn try_from(m: pb::WinningPostTask) -> Result<Self, ProtoError> {
        Ok(WinningPostTask {
            proof: post_proof("registered_post_proof", m.registered_post_proof)?,
            randomness: post_randomness("randomness", &m.randomness)?,
            challenge_epoch: epoch("challenge_epoch", m.challenge_epoch)?,
            sectors: each("sectors", m.sectors)?,
        })
    }
}

impl TryFrom<pb::UnsealTask> for UnsealTask {
    type Error = ProtoError;
    fn try_from(m: pb::UnsealTask) -> Result<Self, ProtoError> {
        Ok(UnsealTask {
            proof: seal_proof("registered_seal_proof", m.registered_seal_proof)?,
            paths: paths("paths", m.paths)?,
            comm_d: CommD(bytes32("comm_d", &m.comm_d)?),
            ticket: Ticket(bytes32("ticket", &m.ticket)?),
            offset: m.offset,
            length: m.length,
        })
    }
}

impl TryFrom<pb::UpdateEncodeTask> for UpdateEncodeTask {
    type Error = ProtoError;
    fn try_from(m: pb::UpdateEncodeTask) -> Result<Self, ProtoError> {
        Ok(UpdateEncodeTask {
            proof: seal_proof("registered_seal_proof", m.registered_seal_proof)?,
            paths: paths("paths", m.paths)?,
            pieces: each("pieces", m.pieces)?,
        })
    }
}

impl TryFrom<pb::UpdateProveTask> for UpdateProveTask {
    type Error = ProtoError;
    fn try_from(m: pb::UpdateProveTask) -> Result<Self, ProtoError> {
        Ok(UpdateProveTask {
            proof: seal_proof("registered_seal_proof", m.registered_seal_proof)?,
            paths: paths("paths", m.paths)?,
            comm_r_old: CommR(bytes32("comm_r_old", &m.comm_r_old)?),
            comm_r_new: CommR(bytes32("comm_r_new", &m.comm_r_new)?),
            comm_d_new: CommD(bytes32("comm_d_new", &m.comm_d_new)?),
        })
    }
}

// ----------------------------------------------------------------- results

impl TryFrom<pb::CompleteRequest> for Completion {
    type Error = ProtoError;
    fn try_from(m: pb::CompleteRequest) -> Result<Self, ProtoError> {
        Ok(Completion {
            worker: worker_id("worker_id", m.worker_id)?,
            task: TaskId(m.task_id),
            outcome: TaskOutcome::try_from(required("outcome", m.outcome)?)?,
        })
    }
}

impl TryFrom<pb::complete_request::Outcome> for TaskOutcome {
    type Error = ProtoError;
    /// Field paths start with the `oneof` case (`pc2.comm_r`, `failure.reason`).
    fn try_from(m: pb::complete_request::Outcome) -> Result<Self, ProtoError> {
        use pb::complete_request::Outcome as O;
        let (case, output) = match m {
            O::Failure(f) => {
                return TaskFailure::try_from(f)
                    .map(TaskOutcome::Failed)
                    .map_err(|e| e.at("failure"));
            }
            O::AddPiece(r) => (
                TaskKind::AddPiece,
                each("pieces", r.pieces).map(TaskOutput::AddPiece),
            ),
            O::Pc1(r) => (
                TaskKind::Pc1,
                blob("pc1_output", r.pc1_output).map(|b| TaskOutput::Pc1(Pc1Output(b))),
            ),
            O::Pc2(r) => (TaskKind::Pc2, pc2_output(r)),
            O::C1(r) => (
                TaskKind::C1,
                blob("c1_output", r.c1_output).map(|b| TaskOutput::C1(C1Output(b))),
            ),
            O::C2(r) => (
                TaskKind::C2,
                groth_proofs("proof", r.proof).map(|b| TaskOutput::C2(SealProofBytes(b))),
            ),
            O::Finalize(pb::FinalizeResult {}) => (TaskKind::Finalize, Ok(TaskOutput::Finalize)),
            O::Fetch(r) => (TaskKind::Fetch, Ok(TaskOutput::Fetch { bytes: r.bytes })),
            O::WindowPost(r) => (
                TaskKind::WindowPost,
                post_output(r, PostKind::Window).map(TaskOutput::WindowPost),
            ),
            O::WinningPost(r) => (
                TaskKind::WinningPost,
                post_output(r, PostKind::Winning).map(TaskOutput::WinningPost),
            ),
            O::Unseal(pb::UnsealResult {}) => (TaskKind::Unseal, Ok(TaskOutput::Unseal)),
            O::UpdateEncode(r) => (TaskKind::UpdateEncode, update_encode_output(r)),
            O::UpdateProve(r) => (
                TaskKind::UpdateProve,
                groth_proofs("proof", r.proof)
                    .map(|b| TaskOutput::UpdateProve(UpdateProofBytes(b))),
            ),
        };
        output
            .map(TaskOutcome::Done)
            .map_err(|e| e.at(case_name(case)))
    }
}

fn pc2_output(r: pb::Pc2Result) -> Result<TaskOutput, ProtoError> {
    Ok(TaskOutput::Pc2 {
        comm_r: CommR(bytes32("comm_r", &r.comm_r)?),
        comm_d: CommD(bytes32("comm_d", &r.comm_d)?),
    })
}

fn update_encode_output(r: pb::UpdateEncodeResult) -> Result<TaskOutput, ProtoError> {
    Ok(TaskOutput::UpdateEncode {
        comm_r_new: CommR(bytes32("comm_r_new", &r.comm_r_new)?),
        comm_d_new: CommD(bytes32("comm_d_new", &r.comm_d_new)?),
    })
}

fn post_output(r: pb::PostResult, want: PostKind) -> Result<PostOutput, ProtoError> {
    let proofs: Vec<PostProofBytes> = each("proofs", r.proofs)?;
    for (i, p) in proofs.iter().enumerate() {
        if p.proof.kind != want {
            return Err(ProtoError::invalid(
                format!("proofs[{i}].registered_post_proof"),
                format!("{} is not a {want:?} PoSt kind", p.proof),
            ));
        }
    }
    if proofs.is_empty() && r.skipped_sectors.is_empty() {
        return Err(ProtoError::invalid(
            "proofs",
            "empty, yet no sector was skipped",
        ));
    }
    Ok(PostOutput {
        proofs,
        skipped: r.skipped_sectors.into_iter().map(SectorNumber).collect(),
    })
}

impl TryFrom<pb::PostProof> for PostProofBytes {
    type Error = ProtoError;
    fn try_from(m: pb::PostProof) -> Result<Self, ProtoError> {
        Ok(PostProofBytes {
            proof: post_proof("registered_post_proof", m.registered_post_proof)?,
            bytes: groth_proofs("proof", m.proof)?,
        })
    }
}

impl TryFrom<pb::TaskFailure> for TaskFailure {
    type Error = ProtoError;
    fn try_from(m: pb::TaskFailure) -> Result<Self, ProtoError> {
        if m.reason.trim().is_empty() {
            return Err(ProtoError::invalid(
                "reason",
                "empty: say why the task failed",
            ));
        }
        if m.reason.len() > MAX_REASON_BYTES {
            return Err(ProtoError::invalid(
                "reason",
                format!("{} bytes; at most {MAX_REASON_BYTES}", m.reason.len()),
            ));
        }
        Ok(TaskFailure {
            reason: m.reason,
            retryable: m.retryable,
        })
    }
}
