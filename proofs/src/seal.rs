//! The sealing phases: AddPiece, PC1, PC2, C1, C2, verify, finalize, unseal.
//!
//! Each phase is a synchronous, CPU-bound function with a serde input and
//! output, so the sealing driver can persist every output before acting on it
//! and a worker on another host can run any phase. Run them from async code
//! through [`crate::Workers::run`].

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use ferrite_types::{
    CommD, CommP, CommR, PieceInfo, ProverId, SealProof, SectorId, Seed, Ticket, UnpaddedPieceSize,
};
use filecoin_proofs_api::{self as api, UnpaddedByteIndex, UnpaddedBytesAmount, seal as fseal};
use serde::{Deserialize, Serialize};

use crate::guard::guarded;
use crate::params::require_params;
use crate::{ProofsError, registered};

/// Adds one piece to a sector's staged (unsealed) file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddPieceInput {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// The staged file; created if missing, appended to otherwise.
    pub staged_path: PathBuf,
    /// The piece's unpadded size; exactly this many bytes are read from the source.
    pub size: UnpaddedPieceSize,
    /// The unpadded sizes of the pieces already in the staged file, in order.
    pub existing: Vec<UnpaddedPieceSize>,
}

/// What [`add_piece`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddPieceOutput {
    /// The piece's commitment and padded size.
    pub piece: PieceInfo,
    /// Unpadded bytes written, alignment padding included.
    pub written: u64,
}

/// PreCommit phase 1: SDR labelling of the staged data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pc1Input {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// The sector.
    pub sector: SectorId,
    /// The staged file with all pieces, covering the whole sector.
    pub staged_path: PathBuf,
    /// The sealed file to write (created if missing).
    pub sealed_path: PathBuf,
    /// The cache directory for layers and trees (created if missing).
    pub cache_dir: PathBuf,
    /// The sealing ticket from the chain.
    pub ticket: Ticket,
    /// The sector's pieces, in order, filling it exactly.
    pub pieces: Vec<PieceInfo>,
}

/// PC1's output: the labelling metadata PC2 needs. Opaque outside this crate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pc1Output(fseal::SealPreCommitPhase1Output);

impl Pc1Output {
    /// The sector's data commitment, known after PC1.
    pub fn comm_d(&self) -> CommD {
        CommD(self.0.comm_d)
    }
}

/// PreCommit phase 2: the column and replica trees.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pc2Input {
    /// PC1's output.
    pub pc1: Pc1Output,
    /// The cache directory PC1 used.
    pub cache_dir: PathBuf,
    /// The sealed file PC1 wrote.
    pub sealed_path: PathBuf,
}

/// PC2's output: the commitments that go on chain in the precommit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pc2Output {
    /// The sealed replica's commitment.
    pub comm_r: CommR,
    /// The data commitment.
    pub comm_d: CommD,
}

/// Commit phase 1: the vanilla proofs for the seed's challenges.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct C1Input {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// The sector.
    pub sector: SectorId,
    /// The cache directory after PC2.
    pub cache_dir: PathBuf,
    /// The sealed file.
    pub sealed_path: PathBuf,
    /// The sealing ticket used in PC1.
    pub ticket: Ticket,
    /// The interactive seed drawn after the precommit landed.
    pub seed: Seed,
    /// PC2's commitments.
    pub commitments: Pc2Output,
    /// The sector's pieces, as in PC1.
    pub pieces: Vec<PieceInfo>,
}

/// C1's output: the vanilla proofs C2 turns into a SNARK. Opaque outside this crate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct C1Output(pub(crate) fseal::SealCommitPhase1Output);

/// Commit phase 2: the Groth16 SNARK over C1's vanilla proofs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct C2Input {
    /// C1's output.
    pub c1: C1Output,
    /// The sector.
    pub sector: SectorId,
}

/// A seal proof, as ProveCommit sends it on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealProofBytes(pub Vec<u8>);

/// Checks a seal proof, as the chain does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifySealInput {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// The sector.
    pub sector: SectorId,
    /// The commitments from the precommit.
    pub commitments: Pc2Output,
    /// The sealing ticket.
    pub ticket: Ticket,
    /// The interactive seed.
    pub seed: Seed,
    /// The proof to check.
    pub proof_bytes: SealProofBytes,
}

/// Reads a range of a sector's original data back out of its sealed replica.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnsealInput {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// The sector.
    pub sector: SectorId,
    /// The cache directory (finalized is enough: it keeps `p_aux` and `t_aux`).
    pub cache_dir: PathBuf,
    /// The sealed file.
    pub sealed_path: PathBuf,
    /// The data commitment.
    pub comm_d: CommD,
    /// The sealing ticket.
    pub ticket: Ticket,
    /// Offset in unpadded bytes from the start of the sector.
    pub offset: u64,
    /// How many unpadded bytes to unseal.
    pub len: u64,
}

pub(crate) fn to_api_piece(p: &PieceInfo) -> api::PieceInfo {
    api::PieceInfo {
        commitment: p.comm_p.0,
        size: UnpaddedBytesAmount(p.size.unpadded().bytes()),
    }
}

fn from_api_piece(p: &api::PieceInfo) -> Result<PieceInfo, ProofsError> {
    let size = UnpaddedPieceSize::new(p.size.0)
        .map_err(|e| ProofsError::Proof(anyhow::anyhow!("library returned a bad piece: {e}")))?;
    Ok(PieceInfo {
        comm_p: CommP(p.commitment),
        size: size.padded(),
    })
}

pub(crate) fn sector_id(s: SectorId) -> api::SectorId {
    api::SectorId::from(s.number.0)
}

pub(crate) fn prover(s: SectorId) -> [u8; 32] {
    *ProverId::from(s.miner).as_bytes()
}

/// The piece commitment of `size` unpadded bytes read from `source`.
pub fn generate_piece_commitment(
    proof: SealProof,
    source: impl Read,
    size: UnpaddedPieceSize,
) -> Result<PieceInfo, ProofsError> {
    let info = guarded("compute piece commitment", Vec::new, || {
        fseal::generate_piece_commitment(
            registered::seal(proof),
            source,
            UnpaddedBytesAmount(size.bytes()),
        )
    })?
    .context("compute piece commitment")?;
    from_api_piece(&info)
}

/// Appends a piece read from `source` to the staged file.
pub fn add_piece(input: &AddPieceInput, source: impl Read) -> Result<AddPieceOutput, ProofsError> {
    let sector_bytes = input.proof.sector_size().bytes();
    let used: u64 = input.existing.iter().map(|s| s.padded().bytes()).sum();
    if used + input.size.padded().bytes() > sector_bytes {
        return Err(ProofsError::InvalidInput(format!(
            "piece of {} padded bytes does not fit: {used} of {sector_bytes} bytes already used",
            input.size.padded()
        )));
    }
    let mut staged = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&input.staged_path)
        .with_context(|| format!("open staged file {}", input.staged_path.display()))?;
    staged.seek(SeekFrom::End(0)).context("seek staged file")?;
    let existing: Vec<UnpaddedBytesAmount> = input
        .existing
        .iter()
        .map(|s| UnpaddedBytesAmount(s.bytes()))
        .collect();
    let (info, written) = guarded("add piece", Vec::new, || {
        fseal::add_piece(
            registered::seal(input.proof),
            source,
            &mut staged,
            UnpaddedBytesAmount(input.size.bytes()),
            &existing,
        )
    })?
    .context("add piece")?;
    staged.sync_all().context("sync staged file")?;
    Ok(AddPieceOutput {
        piece: from_api_piece(&info)?,
        written: written.0,
    })
}

/// PreCommit phase 1.
pub fn pc1(input: &Pc1Input) -> Result<Pc1Output, ProofsError> {
    let padded: u64 = input.pieces.iter().map(|p| p.size.bytes()).sum();
    if padded != input.proof.sector_size().bytes() {
        return Err(ProofsError::InvalidInput(format!(
            "pieces cover {padded} bytes, the sector has {}",
            input.proof.sector_size().bytes()
        )));
    }
    let staged_len = fs::metadata(&input.staged_path)
        .with_context(|| format!("stat staged file {}", input.staged_path.display()))?
        .len();
    if staged_len != padded {
        return Err(ProofsError::InvalidInput(format!(
            "staged file {} has {staged_len} bytes, expected {padded}",
            input.staged_path.display()
        )));
    }
    fs::create_dir_all(&input.cache_dir)
        .with_context(|| format!("create cache dir {}", input.cache_dir.display()))?;
    // The library seals in place into an existing file.
    File::create(&input.sealed_path)
        .with_context(|| format!("create sealed file {}", input.sealed_path.display()))?;
    let pieces: Vec<api::PieceInfo> = input.pieces.iter().map(to_api_piece).collect();
    let out = guarded(
        "precommit phase 1",
        || vec![input.sector.number.0],
        || {
            fseal::seal_pre_commit_phase1(
                registered::seal(input.proof),
                &input.cache_dir,
                &input.staged_path,
                &input.sealed_path,
                prover(input.sector),
                sector_id(input.sector),
                input.ticket.0,
                &pieces,
            )
        },
    )?
    .context("precommit phase 1")?;
    Ok(Pc1Output(out))
}

/// PreCommit phase 2.
pub fn pc2(input: Pc2Input) -> Result<Pc2Output, ProofsError> {
    let out = guarded("precommit phase 2", Vec::new, || {
        fseal::seal_pre_commit_phase2(input.pc1.0, &input.cache_dir, &input.sealed_path)
    })?
    .context("precommit phase 2")?;
    Ok(Pc2Output {
        comm_r: CommR(out.comm_r),
        comm_d: CommD(out.comm_d),
    })
}

/// Commit phase 1.
pub fn c1(input: &C1Input) -> Result<C1Output, ProofsError> {
    let pre = fseal::SealPreCommitPhase2Output {
        registered_proof: registered::seal(input.proof),
        comm_r: input.commitments.comm_r.0,
        comm_d: input.commitments.comm_d.0,
    };
    let pieces: Vec<api::PieceInfo> = input.pieces.iter().map(to_api_piece).collect();
    let out = guarded(
        "commit phase 1",
        || vec![input.sector.number.0],
        || {
            fseal::seal_commit_phase1(
                input.cache_dir.as_path(),
                input.sealed_path.as_path(),
                prover(input.sector),
                sector_id(input.sector),
                input.ticket.0,
                input.seed.0,
                pre,
                &pieces,
            )
        },
    )?
    .context("commit phase 1")?;
    Ok(C1Output(out))
}

/// Commit phase 2: the SNARK. Needs the proof's Groth16 parameters. Runs
/// through the resident prover ([`crate::prover`]): the parameters are
/// decoded once per process, and the proof is checked with `verify_seal`
/// before it is returned.
pub fn c2(input: C2Input) -> Result<SealProofBytes, ProofsError> {
    crate::prover::c2(input)
}

/// Commit phase 2 through filecoin-proofs-api's `seal_commit_phase2` (the
/// memory-mapped parameters, decoded again for every proof; the library
/// verifies its proof itself). The resident prover's fallback, and the
/// baseline it is measured against.
pub fn c2_mapped(input: C2Input) -> Result<SealProofBytes, ProofsError> {
    let proof = input.c1.0.registered_proof;
    require_seal_params(proof)?;
    let out = guarded(
        "commit phase 2",
        || vec![input.sector.number.0],
        || fseal::seal_commit_phase2(input.c1.0, prover(input.sector), sector_id(input.sector)),
    )?
    .context("commit phase 2")?;
    Ok(SealProofBytes(out.proof))
}

/// Checks a seal proof. Needs the proof's verifying key.
pub fn verify_seal(input: &VerifySealInput) -> Result<bool, ProofsError> {
    let proof = registered::seal(input.proof);
    require_params(
        &[proof.cache_verifying_key_path()],
        input.proof.sector_size(),
    )?;
    Ok(guarded(
        "verify seal proof",
        || vec![input.sector.number.0],
        || {
            fseal::verify_seal(
                proof,
                input.commitments.comm_r.0,
                input.commitments.comm_d.0,
                prover(input.sector),
                sector_id(input.sector),
                input.ticket.0,
                input.seed.0,
                &input.proof_bytes.0,
            )
        },
    )?
    .context("verify seal proof")?)
}

/// Finalize: drops the layers and trees that proving does not need.
pub fn clear_cache(cache_dir: &Path) -> Result<(), ProofsError> {
    Ok(guarded("clear sector cache", Vec::new, || {
        fseal::clear_cache(cache_dir)
    })?
    .context("clear sector cache")?)
}

/// Unseals `input.len` bytes at `input.offset` into `out`; returns the bytes written.
pub fn unseal_range(input: &UnsealInput, out: impl Write) -> Result<u64, ProofsError> {
    let sealed = File::open(&input.sealed_path)
        .with_context(|| format!("open sealed file {}", input.sealed_path.display()))?;
    let n = guarded(
        "unseal range",
        || vec![input.sector.number.0],
        || {
            fseal::unseal_range(
                registered::seal(input.proof),
                input.cache_dir.as_path(),
                sealed,
                out,
                prover(input.sector),
                sector_id(input.sector),
                input.comm_d.0,
                input.ticket.0,
                UnpaddedByteIndex(input.offset),
                UnpaddedBytesAmount(input.len),
            )
        },
    )?
    .context("unseal range")?;
    Ok(n.0)
}

/// Recreates a sector's whole unsealed copy at `staged_path`, Fr32-padded
/// as AddPiece wrote it, from its sealed replica: the original bytes are
/// unsealed into a scratch file beside it, padded into a second one, which
/// is synced and renamed into place, so `staged_path` is either absent or
/// whole. `input.offset` and `input.len` are ignored: the whole sector is
/// unsealed. Returns the padded bytes written (the sector size).
pub fn unseal_sector(input: &UnsealInput, staged_path: &Path) -> Result<u64, ProofsError> {
    let sector_bytes = input.proof.sector_size().bytes();
    let unpadded = sector_bytes / 128 * 127;
    let raw = staged_path.with_extension("unseal-raw.tmp");
    let padded = staged_path.with_extension("unseal.tmp");
    let result = (|| {
        let out = File::create(&raw).with_context(|| format!("create {}", raw.display()))?;
        let whole = UnsealInput {
            offset: 0,
            len: unpadded,
            ..input.clone()
        };
        let n = unseal_range(&whole, std::io::BufWriter::with_capacity(1 << 20, out))?;
        if n != unpadded {
            return Err(ProofsError::Proof(anyhow::anyhow!(
                "unsealed {n} bytes of sector {}, expected {unpadded}",
                input.sector.number
            )));
        }
        let source = File::open(&raw).with_context(|| format!("open {}", raw.display()))?;
        let mut reader = fr32::Fr32Reader::new(std::io::BufReader::with_capacity(1 << 20, source));
        let mut dest =
            File::create(&padded).with_context(|| format!("create {}", padded.display()))?;
        let written = std::io::copy(&mut reader, &mut dest)
            .with_context(|| format!("pad into {}", padded.display()))?;
        if written != sector_bytes {
            return Err(ProofsError::Proof(anyhow::anyhow!(
                "padded {written} bytes for sector {}, expected {sector_bytes}",
                input.sector.number
            )));
        }
        dest.sync_all()
            .with_context(|| format!("sync {}", padded.display()))?;
        fs::rename(&padded, staged_path)
            .with_context(|| format!("rename into {}", staged_path.display()))?;
        Ok(written)
    })();
    let _ = fs::remove_file(&raw);
    if result.is_err() {
        let _ = fs::remove_file(&padded);
    }
    result
}

fn require_seal_params(proof: api::RegisteredSealProof) -> Result<(), ProofsError> {
    let size = ferrite_types::SectorSize::from_bytes(u64::from(proof.sector_size()))
        .map_err(|e| ProofsError::InvalidInput(e.to_string()))?;
    require_params(
        &[proof.cache_params_path(), proof.cache_verifying_key_path()],
        size,
    )
}
