//! Tasks as a worker receives them: the scheduler's [`Task`] and, per task
//! kind, everything the worker needs to run it without asking again.
//!
//! The payloads mirror ferrite-proofs' inputs (`Pc1Input`, `C1Input`,
//! `PostInput`...), with the sector's files given as paths on the worker's
//! host and piece data or remote files as URLs.

use std::fmt;

use ferrite_cluster::{FileKind, Task, TaskKind};
use ferrite_types::{
    ChainEpoch, CommD, CommR, DealId, PaddedPieceSize, PieceInfo, PostKind, PostProof,
    PostRandomness, SealProof, SectorNumber, SectorSize, Seed, Ticket,
};

use crate::{HostPath, HttpUrl, ProtoError};

/// The deadlines in a WindowPoSt proving period (Filecoin's
/// `WPoStPeriodDeadlines`); a deadline index is below it.
pub const WPOST_PERIOD_DEADLINES: u64 = 48;

/// A task assigned to a worker: the scheduler's task and what to do. The
/// payload's kind is the task's kind and its proof kind is for the task's
/// sector size; [`AssignedTask::new`] checks that, and the other rules of
/// each payload, so a node cannot send what a worker would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignedTask {
    task: Task,
    payload: TaskPayload,
}

impl AssignedTask {
    /// Pairs `task` with its payload, checking that they agree and that the
    /// payload is well formed (pieces fill the sector, a PoSt proves at
    /// least one sector...). The error names the field as on the wire.
    pub fn new(task: Task, payload: TaskPayload) -> Result<Self, ProtoError> {
        if payload.kind() != task.kind {
            return Err(ProtoError::invalid(
                "payload",
                format!(
                    "a {} payload for a {} task",
                    payload.kind().name(),
                    task.kind.name()
                ),
            ));
        }
        payload.check(task.size)?;
        Ok(Self { task, payload })
    }

    /// The scheduler's task: id, kind, sector, size, priority.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// What to do.
    pub fn payload(&self) -> &TaskPayload {
        &self.payload
    }

    /// Both parts.
    pub fn into_parts(self) -> (Task, TaskPayload) {
        (self.task, self.payload)
    }
}

/// What a task does, one case per [`TaskKind`]; the sector is the task's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskPayload {
    /// Write pieces into the unsealed file.
    AddPiece(AddPieceTask),
    /// PreCommit1.
    Pc1(Pc1Task),
    /// PreCommit2.
    Pc2(Pc2Task),
    /// Commit1.
    C1(C1Task),
    /// Commit2.
    C2(C2Task),
    /// Move to long-term storage, drop the layers.
    Finalize(FinalizeTask),
    /// Copy sector files from another host.
    Fetch(FetchTask),
    /// WindowPoSt for a deadline's partitions.
    WindowPost(WindowPostTask),
    /// WinningPoSt for a block.
    WinningPost(WinningPostTask),
    /// Unseal a range of the sector.
    Unseal(UnsealTask),
    /// SnapDeals: encode new data into a CC sector.
    UpdateEncode(UpdateEncodeTask),
    /// SnapDeals: prove the update.
    UpdateProve(UpdateProveTask),
}

impl TaskPayload {
    /// The task kind this payload is for.
    pub fn kind(&self) -> TaskKind {
        match self {
            TaskPayload::AddPiece(_) => TaskKind::AddPiece,
            TaskPayload::Pc1(_) => TaskKind::Pc1,
            TaskPayload::Pc2(_) => TaskKind::Pc2,
            TaskPayload::C1(_) => TaskKind::C1,
            TaskPayload::C2(_) => TaskKind::C2,
            TaskPayload::Finalize(_) => TaskKind::Finalize,
            TaskPayload::Fetch(_) => TaskKind::Fetch,
            TaskPayload::WindowPost(_) => TaskKind::WindowPost,
            TaskPayload::WinningPost(_) => TaskKind::WinningPost,
            TaskPayload::Unseal(_) => TaskKind::Unseal,
            TaskPayload::UpdateEncode(_) => TaskKind::UpdateEncode,
            TaskPayload::UpdateProve(_) => TaskKind::UpdateProve,
        }
    }

    /// The name of the payload's `oneof` case on the wire, which prefixes
    /// the field paths of its errors.
    pub fn case_name(&self) -> &'static str {
        case_name(self.kind())
    }

    /// The sector size the payload's proof kind is for; `None` for Fetch,
    /// which has no proof kind.
    pub fn sector_size(&self) -> Option<SectorSize> {
        match self {
            TaskPayload::AddPiece(t) => Some(t.proof.sector_size()),
            TaskPayload::Pc1(t) => Some(t.proof.sector_size()),
            TaskPayload::Pc2(t) => Some(t.proof.sector_size()),
            TaskPayload::C1(t) => Some(t.proof.sector_size()),
            TaskPayload::C2(t) => Some(t.proof.sector_size()),
            TaskPayload::Finalize(t) => Some(t.proof.sector_size()),
            TaskPayload::Unseal(t) => Some(t.proof.sector_size()),
            TaskPayload::UpdateEncode(t) => Some(t.proof.sector_size()),
            TaskPayload::UpdateProve(t) => Some(t.proof.sector_size()),
            TaskPayload::WindowPost(t) => Some(t.proof.size),
            TaskPayload::WinningPost(t) => Some(t.proof.size),
            TaskPayload::Fetch(_) => None,
        }
    }

    /// The rules a payload must follow for a sector of `size`.
    fn check(&self, size: SectorSize) -> Result<(), ProtoError> {
        self.check_inner(size).map_err(|e| e.at(self.case_name()))
    }

    fn check_inner(&self, size: SectorSize) -> Result<(), ProtoError> {
        if let Some(proof_size) = self.sector_size()
            && proof_size != size
        {
            let field = match self {
                TaskPayload::WindowPost(_) | TaskPayload::WinningPost(_) => "registered_post_proof",
                _ => "registered_seal_proof",
            };
            return Err(ProtoError::invalid(
                field,
                format!("a proof for {proof_size} sectors, but the task's sector is {size}"),
            ));
        }
        match self {
            TaskPayload::AddPiece(t) => {
                if t.adding.is_empty() {
                    return Err(ProtoError::invalid("adding", "no piece to add"));
                }
                let total = t
                    .existing
                    .iter()
                    .map(|s| s.bytes())
                    .chain(t.adding.iter().map(|p| p.size().bytes()))
                    .fold(0u64, u64::saturating_add);
                if total > size.bytes() {
                    return Err(ProtoError::invalid(
                        "adding",
                        format!("the pieces take {total} bytes, more than the {size} sector holds"),
                    ));
                }
                Ok(())
            }
            TaskPayload::Pc1(t) => check_fills(&t.pieces, size),
            TaskPayload::C1(t) => check_fills(&t.pieces, size),
            TaskPayload::UpdateEncode(t) => check_fills(&t.pieces, size),
            TaskPayload::UpdateProve(_) => Ok(()),
            TaskPayload::Pc2(t) => check_blob("pc1_output", &t.pc1_output.0),
            TaskPayload::C2(t) => check_blob("c1_output", &t.c1_output.0),
            TaskPayload::Finalize(_) => Ok(()),
            TaskPayload::Fetch(t) => {
                if t.files.is_empty() {
                    return Err(ProtoError::invalid("files", "no file to fetch"));
                }
                Ok(())
            }
            TaskPayload::WindowPost(t) => {
                check_post_kind(t.proof, PostKind::Window)?;
                check_epoch(t.challenge_epoch)?;
                if t.deadline >= WPOST_PERIOD_DEADLINES {
                    return Err(ProtoError::invalid(
                        "deadline",
                        format!(
                            "deadline {} does not exist; a proving period has {WPOST_PERIOD_DEADLINES}",
                            t.deadline
                        ),
                    ));
                }
                if t.partitions.is_empty() {
                    return Err(ProtoError::invalid("partitions", "no partition to prove"));
                }
                check_post_sectors(&t.sectors)
            }
            TaskPayload::WinningPost(t) => {
                check_post_kind(t.proof, PostKind::Winning)?;
                check_epoch(t.challenge_epoch)?;
                check_post_sectors(&t.sectors)
            }
            TaskPayload::Unseal(t) => {
                if t.length == 0 {
                    return Err(ProtoError::invalid("length", "must be at least 1"));
                }
                let capacity = PaddedPieceSize::from(size).unpadded().bytes();
                match t.offset.checked_add(t.length) {
                    Some(end) if end <= capacity => Ok(()),
                    _ => Err(ProtoError::invalid(
                        "length",
                        format!(
                            "the range {}+{} ends past the {capacity} unpadded bytes of a {size} sector",
                            t.offset, t.length
                        ),
                    )),
                }
            }
        }
    }
}

/// The `oneof` case name of `kind` in `TaskAssignment.payload` and
/// `CompleteRequest.outcome`.
pub(crate) fn case_name(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::AddPiece => "add_piece",
        TaskKind::Pc1 => "pc1",
        TaskKind::Pc2 => "pc2",
        TaskKind::C1 => "c1",
        TaskKind::C2 => "c2",
        TaskKind::Finalize => "finalize",
        TaskKind::Fetch => "fetch",
        TaskKind::WindowPost => "window_post",
        TaskKind::WinningPost => "winning_post",
        TaskKind::Unseal => "unseal",
        TaskKind::UpdateEncode => "update_encode",
        TaskKind::UpdateProve => "update_prove",
    }
}

fn check_fills(pieces: &[PieceInfo], size: SectorSize) -> Result<(), ProtoError> {
    let total = pieces
        .iter()
        .map(|p| p.size.bytes())
        .fold(0u64, u64::saturating_add);
    if total != size.bytes() {
        return Err(ProtoError::invalid(
            "pieces",
            format!(
                "the pieces take {total} bytes; they must fill the {size} sector ({} bytes)",
                size.bytes()
            ),
        ));
    }
    Ok(())
}

fn check_blob(field: &str, bytes: &[u8]) -> Result<(), ProtoError> {
    if bytes.is_empty() {
        return Err(ProtoError::invalid(field, "empty"));
    }
    Ok(())
}

fn check_post_kind(proof: PostProof, want: PostKind) -> Result<(), ProtoError> {
    if proof.kind != want {
        return Err(ProtoError::invalid(
            "registered_post_proof",
            format!("{proof} is not a {want:?} PoSt kind"),
        ));
    }
    Ok(())
}

fn check_epoch(epoch: ChainEpoch) -> Result<(), ProtoError> {
    if epoch.0 < 0 {
        return Err(ProtoError::invalid(
            "challenge_epoch",
            format!("negative epoch {epoch}"),
        ));
    }
    Ok(())
}

fn check_post_sectors(sectors: &[PostSector]) -> Result<(), ProtoError> {
    if sectors.is_empty() {
        return Err(ProtoError::invalid("sectors", "no sector to prove"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, s) in sectors.iter().enumerate() {
        if !seen.insert(s.number) {
            return Err(ProtoError::invalid(
                "number",
                format!("sector {} is listed twice", s.number),
            )
            .at_index("sectors", i));
        }
    }
    Ok(())
}

/// The files of a sector on the worker's host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectorPaths {
    /// The unsealed (staged) data file.
    pub unsealed: HostPath,
    /// The sealed replica file.
    pub sealed: HostPath,
    /// The cache directory.
    pub cache: HostPath,
}

/// A piece AddPiece writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PieceToAdd {
    /// Zeros of this size.
    Filler(PaddedPieceSize),
    /// A deal's data.
    Deal(DealPieceSource),
}

impl PieceToAdd {
    /// The padded size it takes in the sector.
    pub fn size(&self) -> PaddedPieceSize {
        match self {
            PieceToAdd::Filler(s) => *s,
            PieceToAdd::Deal(d) => d.piece.size,
        }
    }
}

/// A deal's piece and where to read its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealPieceSource {
    /// The deal that stores it.
    pub deal: DealId,
    /// Its commitment and size from the deal proposal; the worker checks the
    /// CommP of what it wrote against it.
    pub piece: PieceInfo,
    /// Where its unpadded data is (the market's staging area).
    pub source: HttpUrl,
}

/// AddPiece: append pieces to the unsealed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPieceTask {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// The sector's files; AddPiece appends to `unsealed`.
    pub paths: SectorPaths,
    /// The sizes of the pieces already in the unsealed file, in order.
    pub existing: Vec<PaddedPieceSize>,
    /// The pieces to write after them, in order (at least one).
    pub adding: Vec<PieceToAdd>,
}

/// PreCommit1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pc1Task {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// Reads `unsealed`, writes `sealed` and `cache`.
    pub paths: SectorPaths,
    /// The sealing ticket.
    pub ticket: Ticket,
    /// The sector's pieces, in order, filling it exactly.
    pub pieces: Vec<PieceInfo>,
}

/// PreCommit2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pc2Task {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// The files as PC1 left them.
    pub paths: SectorPaths,
    /// PC1's output.
    pub pc1_output: Pc1Output,
}

/// Commit1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C1Task {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// The files after PC2.
    pub paths: SectorPaths,
    /// The sealing ticket used in PC1.
    pub ticket: Ticket,
    /// The interactive seed.
    pub seed: Seed,
    /// PC2's replica commitment.
    pub comm_r: CommR,
    /// PC2's data commitment.
    pub comm_d: CommD,
    /// The sector's pieces, as in PC1.
    pub pieces: Vec<PieceInfo>,
}

/// Commit2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C2Task {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// C1's output.
    pub c1_output: C1Output,
}

/// SnapDeals: encode new data into a proven committed-capacity sector. The
/// new replica and its cache go beside the sector key, as `update` and
/// `update-cache` in the directory of `paths.sealed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateEncodeTask {
    /// The CC sector's proof kind (the update proof kind follows from it).
    pub proof: SealProof,
    /// Reads `sealed` and `cache` (the sector key, left as they are) and
    /// `unsealed` (the new data).
    pub paths: SectorPaths,
    /// The new pieces, in order, filling the sector exactly.
    pub pieces: Vec<PieceInfo>,
}

/// SnapDeals: prove the update that [`UpdateEncodeTask`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateProveTask {
    /// The CC sector's proof kind.
    pub proof: SealProof,
    /// The sector key's files, with the update beside them.
    pub paths: SectorPaths,
    /// The CC sector's CommR, as on chain.
    pub comm_r_old: CommR,
    /// The new replica's CommR, from the encode.
    pub comm_r_new: CommR,
    /// The new data's CommD, from the encode.
    pub comm_d_new: CommD,
}

/// Finalize: move the sector to long-term storage and drop the layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizeTask {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// Where the files are.
    pub from: SectorPaths,
    /// Where they go; equal to `from` to finalize in place.
    pub to: SectorPaths,
    /// Keep an unsealed copy for retrieval.
    pub keep_unsealed: bool,
}

/// Fetch: copy sector files from another host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchTask {
    /// The files (at least one).
    pub files: Vec<FetchFile>,
}

/// One file (or cache directory) to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchFile {
    /// Which file.
    pub kind: FileKind,
    /// Where to download it from.
    pub source: HttpUrl,
    /// Where to put it.
    pub destination: HostPath,
}

/// A sealed sector a PoSt reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSector {
    /// Its number (of the task's miner).
    pub number: SectorNumber,
    /// Its CommR as on chain.
    pub comm_r: CommR,
    /// Its sealed file.
    pub sealed: HostPath,
    /// Its (finalized) cache directory.
    pub cache: HostPath,
}

/// WindowPoSt over a deadline's partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowPostTask {
    /// A Window PoSt kind.
    pub proof: PostProof,
    /// The challenge randomness.
    pub randomness: PostRandomness,
    /// The epoch the randomness was drawn at (not negative).
    pub challenge_epoch: ChainEpoch,
    /// The deadline's index, below [`WPOST_PERIOD_DEADLINES`].
    pub deadline: u64,
    /// The partitions proven (at least one).
    pub partitions: Vec<u64>,
    /// The sectors to prove (at least one, no number twice).
    pub sectors: Vec<PostSector>,
}

/// WinningPoSt for a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WinningPostTask {
    /// A Winning PoSt kind.
    pub proof: PostProof,
    /// The challenge randomness.
    pub randomness: PostRandomness,
    /// The epoch of the block being mined (not negative).
    pub challenge_epoch: ChainEpoch,
    /// The challenged sectors (at least one, no number twice).
    pub sectors: Vec<PostSector>,
}

/// Unseal a range of the sector back into the unsealed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsealTask {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// Reads `sealed` and `cache`, writes `unsealed`.
    pub paths: SectorPaths,
    /// The data commitment.
    pub comm_d: CommD,
    /// The sealing ticket.
    pub ticket: Ticket,
    /// Start of the range, unpadded bytes from the sector's start.
    pub offset: u64,
    /// Length of the range in unpadded bytes (at least 1; the range lies in
    /// the sector).
    pub length: u64,
}

macro_rules! blob {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(pub Vec<u8>);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({} bytes)", stringify!($name), self.0.len())
            }
        }
    };
}

blob!(
    /// PC1's output in ferrite-proofs' encoding (what ferrite-sealing keeps
    /// as its `Pc1Output`): opaque here, never empty on the wire.
    Pc1Output
);

blob!(
    /// C1's output in ferrite-proofs' encoding: opaque here, never empty on
    /// the wire. Megabytes for 32 GiB sectors (see [`crate::MAX_MESSAGE_BYTES`]).
    C1Output
);
