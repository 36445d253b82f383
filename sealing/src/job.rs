//! A worker's side of a sealing task: a [`Job`] names every file it touches
//! in full, and [`execute`] does the work, blocking, on those files. The same
//! function runs in the node's process ([`LocalExecutor`]) and in
//! `ferrite worker` on another host, which receives the job over gRPC.
//!
//! Every job can run again after a crash or on another worker:
//! - AddPiece first cuts the staged file back to the pieces already in it;
//! - PC1 recreates its outputs, and removes them if it fails;
//! - PC2 and C2 only read their inputs and rewrite their outputs;
//! - C1 writes its output file aside and renames it into place, so C2 never
//!   reads half of one;
//! - Finalize clears the cache (a no-op the second time), then moves each
//!   file that is still at its source: a file already at its destination is
//!   left alone, and a cross-device copy goes to a temporary name first.
//!
//! Where the job runs is an [`Executor`]'s business: the node hands a job to
//! its executor and awaits the [`JobOutput`].

use std::fs::{self, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use async_trait::async_trait;
use ferrite_cluster::TaskKind;
use ferrite_proofs::seal::{self, C1Input, C2Input, Pc1Input, Pc2Input, Pc2Output};
use ferrite_proofs::update::{self, EncodeInput, Encoded};
use ferrite_proofs::{ProofsError, Stage, Workers};
use ferrite_types::{
    CommD, CommR, DealId, PaddedPieceSize, PieceInfo, SealProof, SectorId, Seed, Ticket,
    UnpaddedPieceSize,
};
use tracing::{info, warn};

use crate::tasks::{SectorFiles, TaskError};
use crate::{Pc1Output, PoRepProof};

/// One sealing task's work, with every file named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Writes the `adding` pieces (deal data or zero fillers) after the
    /// `existing` pieces of the unsealed file.
    AddPiece {
        /// The sector's proof kind.
        proof: SealProof,
        /// The sector's files.
        files: SectorFiles,
        /// The pieces already in the unsealed file, in order.
        existing: Vec<PaddedPieceSize>,
        /// The pieces to write after them, in order.
        adding: Vec<JobPiece>,
    },
    /// PC1 over the unsealed file.
    Pc1 {
        /// The sector's proof kind.
        proof: SealProof,
        /// The sector.
        sector: SectorId,
        /// The sector's files.
        files: SectorFiles,
        /// The sealing ticket.
        ticket: Ticket,
        /// The sector's pieces, filling it exactly.
        pieces: Vec<PieceInfo>,
    },
    /// PC2 on PC1's output.
    Pc2 {
        /// The sector's proof kind.
        proof: SealProof,
        /// The sector's files, as PC1 left them.
        files: SectorFiles,
        /// PC1's output.
        pc1: Pc1Output,
    },
    /// C1; its output is written to [`SectorFiles::c1_output`] and returned.
    C1 {
        /// The sector's proof kind.
        proof: SealProof,
        /// The sector.
        sector: SectorId,
        /// The sector's files after PC2.
        files: SectorFiles,
        /// The ticket PC1 used.
        ticket: Ticket,
        /// The interactive seed.
        seed: Seed,
        /// PC2's CommR.
        comm_r: CommR,
        /// PC2's CommD.
        comm_d: CommD,
        /// The sector's pieces, as in PC1.
        pieces: Vec<PieceInfo>,
    },
    /// C2 over C1's output; needs no sector file.
    C2 {
        /// The sector's proof kind.
        proof: SealProof,
        /// The sector.
        sector: SectorId,
        /// C1's output (ferrite-proofs' encoding).
        c1: Vec<u8>,
    },
    /// SnapDeals: encodes the staged pieces ([`SectorFiles::unsealed`]) into
    /// a proven committed-capacity sector, whose replica and cache are the
    /// sector key ([`SectorFiles::sealed`], [`SectorFiles::cache`], left as
    /// they are), writing the new replica and its cache
    /// ([`SectorFiles::update`], [`SectorFiles::update_cache`]).
    UpdateEncode {
        /// The sector's proof kind.
        proof: SealProof,
        /// The sector's files.
        files: SectorFiles,
        /// The new pieces, filling the sector exactly.
        pieces: Vec<PieceInfo>,
    },
    /// SnapDeals: proves the update that [`Job::UpdateEncode`] wrote (vanilla
    /// partition proofs, then the SNARK).
    UpdateProve {
        /// The sector's proof kind.
        proof: SealProof,
        /// The sector's files, with the update written.
        files: SectorFiles,
        /// The CC sector's CommR, on chain.
        comm_r_old: CommR,
        /// The new replica's CommR.
        comm_r_new: CommR,
        /// The new data's CommD.
        comm_d_new: CommD,
    },
    /// Recreates the sector's unsealed copy ([`SectorFiles::unsealed`]) from
    /// its sealed replica and cache, for retrieval: the whole sector,
    /// Fr32-padded as AddPiece wrote it. A copy already there is replaced.
    Unseal {
        /// The sector's proof kind.
        proof: SealProof,
        /// The sector.
        sector: SectorId,
        /// The sector's files, as finalize left them.
        files: SectorFiles,
        /// The sector's CommD.
        comm_d: CommD,
        /// The sealing ticket.
        ticket: Ticket,
    },
    /// Drops the layers and trees proving does not need and C1's output, then
    /// moves what is left from `from` to `to` (a store path; equal to `from`
    /// to finalize in place).
    Finalize {
        /// The sector's proof kind.
        proof: SealProof,
        /// Where the sector's files are.
        from: SectorFiles,
        /// Where they go.
        to: SectorFiles,
    },
}

impl Job {
    /// The sector's proof kind.
    pub fn proof(&self) -> SealProof {
        match self {
            Job::AddPiece { proof, .. }
            | Job::Pc1 { proof, .. }
            | Job::Pc2 { proof, .. }
            | Job::C1 { proof, .. }
            | Job::C2 { proof, .. }
            | Job::UpdateEncode { proof, .. }
            | Job::UpdateProve { proof, .. }
            | Job::Unseal { proof, .. }
            | Job::Finalize { proof, .. } => *proof,
        }
    }

    /// The scheduler's kind for this job.
    pub fn kind(&self) -> TaskKind {
        match self {
            Job::AddPiece { .. } => TaskKind::AddPiece,
            Job::Pc1 { .. } => TaskKind::Pc1,
            Job::Pc2 { .. } => TaskKind::Pc2,
            Job::C1 { .. } => TaskKind::C1,
            Job::C2 { .. } => TaskKind::C2,
            Job::UpdateEncode { .. } => TaskKind::UpdateEncode,
            Job::UpdateProve { .. } => TaskKind::UpdateProve,
            Job::Unseal { .. } => TaskKind::Unseal,
            Job::Finalize { .. } => TaskKind::Finalize,
        }
    }

    /// The proofs slot it runs in (per-stage caps of the `Workers` bridge).
    pub fn stage(&self) -> Stage {
        match self {
            Job::AddPiece { .. } => Stage::AddPiece,
            Job::Pc1 { .. } => Stage::Pc1,
            Job::Pc2 { .. } => Stage::Pc2,
            Job::C1 { .. } => Stage::C1,
            Job::C2 { .. } => Stage::C2,
            // Encoding is tree building over the sector, as PC2 is; the
            // update's SNARK is C2's kind of work.
            Job::UpdateEncode { .. } => Stage::Pc2,
            Job::UpdateProve { .. } => Stage::C2,
            Job::Unseal { .. } => Stage::Unseal,
            // Finalize is file work, light enough for the verify slot.
            Job::Finalize { .. } => Stage::Verify,
        }
    }
}

/// A piece an AddPiece [`Job`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobPiece {
    /// Zeros of this padded size.
    Zeros(PaddedPieceSize),
    /// A deal's payload, read from a file on the host that runs the job and
    /// zero-filled up to the piece's unpadded size (as Boost and Curio pad a
    /// payload shorter than its piece).
    Deal {
        /// The deal, for errors and logs.
        deal: DealId,
        /// The piece the deal names; the caller checks the CommP written
        /// against it.
        piece: PieceInfo,
        /// The payload's file.
        path: PathBuf,
    },
}

impl JobPiece {
    /// The padded size the piece takes in the sector.
    pub fn size(&self) -> PaddedPieceSize {
        match self {
            JobPiece::Zeros(s) => *s,
            JobPiece::Deal { piece, .. } => piece.size,
        }
    }
}

/// What a [`Job`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutput {
    /// The commitments of the pieces written, in order.
    AddPiece(Vec<PieceInfo>),
    /// PC1's output.
    Pc1(Pc1Output),
    /// PC2's commitments.
    Pc2 {
        /// CommR.
        comm_r: CommR,
        /// CommD.
        comm_d: CommD,
    },
    /// C1's output (also in [`SectorFiles::c1_output`]).
    C1(Vec<u8>),
    /// The PoRep proof.
    C2(PoRepProof),
    /// The updated sector's commitments.
    UpdateEncoded {
        /// The new replica's CommR.
        comm_r_new: CommR,
        /// The new data's CommD.
        comm_d_new: CommD,
    },
    /// The update proof, as ProveReplicaUpdates3 carries it.
    UpdateProof(Vec<u8>),
    /// The unsealed copy is back.
    Unsealed,
    /// Finalize is done.
    Finalized,
}

impl JobOutput {
    /// The kind of job that produces this output.
    pub fn kind(&self) -> TaskKind {
        match self {
            JobOutput::AddPiece(_) => TaskKind::AddPiece,
            JobOutput::Pc1(_) => TaskKind::Pc1,
            JobOutput::Pc2 { .. } => TaskKind::Pc2,
            JobOutput::C1(_) => TaskKind::C1,
            JobOutput::C2(_) => TaskKind::C2,
            JobOutput::UpdateEncoded { .. } => TaskKind::UpdateEncode,
            JobOutput::UpdateProof(_) => TaskKind::UpdateProve,
            JobOutput::Unsealed => TaskKind::Unseal,
            JobOutput::Finalized => TaskKind::Finalize,
        }
    }
}

/// Runs jobs somewhere: in this process, or on the cluster's workers.
#[async_trait]
pub trait Executor: std::fmt::Debug + Send + Sync {
    /// Runs `job` on `sector` and returns its output. The output's kind is
    /// the job's.
    async fn run(&self, sector: SectorId, job: Job) -> Result<JobOutput, TaskError>;
}

/// Runs jobs in this process, through ferrite-proofs' [`Workers`] bridge
/// (off the async runtime, in the job's stage slot).
#[derive(Debug, Clone)]
pub struct LocalExecutor {
    workers: Workers,
}

impl LocalExecutor {
    /// An executor on `workers`.
    pub fn new(workers: Workers) -> Self {
        Self { workers }
    }
}

#[async_trait]
impl Executor for LocalExecutor {
    async fn run(&self, _sector: SectorId, job: Job) -> Result<JobOutput, TaskError> {
        let stage = job.stage();
        Ok(self.workers.run(stage, move || execute(job)).await?)
    }
}

/// A proof-side failure with what was being done.
pub(crate) fn internal(what: &str, e: impl std::fmt::Display) -> ProofsError {
    ProofsError::Proof(anyhow::anyhow!("{what}: {e}"))
}

/// Does `job`'s work on its files. Blocking: CPU-bound for minutes at
/// production sizes, so run it off the async runtime.
pub fn execute(job: Job) -> Result<JobOutput, ProofsError> {
    match job {
        Job::AddPiece {
            proof,
            files,
            existing,
            adding,
        } => add_pieces(proof, &files, &existing, &adding).map(JobOutput::AddPiece),
        Job::Pc1 {
            proof,
            sector,
            files,
            ticket,
            pieces,
        } => {
            let input = Pc1Input {
                proof,
                sector,
                staged_path: files.unsealed.clone(),
                sealed_path: files.sealed.clone(),
                cache_dir: files.cache.clone(),
                ticket,
                pieces,
            };
            let result = seal::pc1(&input).and_then(|out| {
                ferrite_store::codec::encode("pc1-output", &out)
                    .map_err(|e| internal("encode PC1 output", e))
            });
            match result {
                Ok(bytes) => Ok(JobOutput::Pc1(Pc1Output(bytes))),
                Err(e) => {
                    discard_pc1_outputs(&files);
                    Err(e)
                }
            }
        }
        Job::Pc2 { files, pc1, .. } => {
            let pc1 = ferrite_store::codec::decode::<seal::Pc1Output>("pc1-output", &pc1.0)
                .map_err(|e| ProofsError::InvalidInput(format!("decode PC1 output: {e}")))?;
            let out = seal::pc2(Pc2Input {
                pc1,
                cache_dir: files.cache.clone(),
                sealed_path: files.sealed.clone(),
            })?;
            Ok(JobOutput::Pc2 {
                comm_r: out.comm_r,
                comm_d: out.comm_d,
            })
        }
        Job::C1 {
            proof,
            sector,
            files,
            ticket,
            seed,
            comm_r,
            comm_d,
            pieces,
        } => {
            let input = C1Input {
                proof,
                sector,
                cache_dir: files.cache.clone(),
                sealed_path: files.sealed.clone(),
                ticket,
                seed,
                commitments: Pc2Output { comm_r, comm_d },
                pieces,
            };
            let out = seal::c1(&input)?;
            let bytes = ferrite_store::codec::encode("c1-output", &out)
                .map_err(|e| internal("encode C1 output", e))?;
            write_atomically(&files.c1_output(), &bytes)?;
            Ok(JobOutput::C1(bytes))
        }
        Job::C2 { sector, c1, .. } => {
            let c1 = ferrite_store::codec::decode::<seal::C1Output>("c1-output", &c1)
                .map_err(|e| ProofsError::InvalidInput(format!("decode C1 output: {e}")))?;
            Ok(JobOutput::C2(PoRepProof(
                seal::c2(C2Input { c1, sector })?.0,
            )))
        }
        Job::UpdateEncode {
            proof,
            files,
            pieces,
        } => {
            let out = update::encode(&EncodeInput {
                proof,
                sector_key_path: files.sealed.clone(),
                sector_key_cache: files.cache.clone(),
                staged_path: files.unsealed.clone(),
                pieces,
                new_replica_path: files.update(),
                new_cache: files.update_cache(),
            })?;
            Ok(JobOutput::UpdateEncoded {
                comm_r_new: out.comm_r_new,
                comm_d_new: out.comm_d_new,
            })
        }
        Job::UpdateProve {
            proof,
            files,
            comm_r_old,
            comm_r_new,
            comm_d_new,
        } => {
            let out = update::prove(&update::ProveInput {
                proof,
                comm_r_old,
                encoded: Encoded {
                    comm_r_new,
                    comm_d_new,
                },
                sector_key_path: files.sealed.clone(),
                sector_key_cache: files.cache.clone(),
                new_replica_path: files.update(),
                new_cache: files.update_cache(),
            })?;
            Ok(JobOutput::UpdateProof(out.0))
        }
        Job::Unseal {
            proof,
            sector,
            files,
            comm_d,
            ticket,
        } => {
            let input = seal::UnsealInput {
                proof,
                sector,
                cache_dir: files.cache.clone(),
                sealed_path: files.sealed.clone(),
                comm_d,
                ticket,
                offset: 0,
                len: 0,
            };
            seal::unseal_sector(&input, &files.unsealed)?;
            Ok(JobOutput::Unsealed)
        }
        Job::Finalize { from, to, .. } => {
            seal::clear_cache(&from.cache)?;
            remove_if_present(&from.c1_output())?;
            if from.dir != to.dir {
                move_sector(&from, &to)?;
            }
            Ok(JobOutput::Finalized)
        }
    }
}

/// The bytes AddPiece reads for `piece`: zeros, or a deal's payload from its
/// file, zero-filled to the piece's unpadded size. A payload larger than the
/// piece is refused before anything is written.
fn piece_source(piece: &JobPiece) -> Result<Box<dyn Read>, ProofsError> {
    let size = piece.size().unpadded().bytes();
    match piece {
        JobPiece::Zeros(_) => Ok(Box::new(std::io::repeat(0).take(size))),
        JobPiece::Deal { deal, path, .. } => {
            let file = fs::File::open(path)
                .with_context(|| format!("open the data of deal {deal} at {}", path.display()))?;
            let len = file
                .metadata()
                .with_context(|| format!("stat {}", path.display()))?
                .len();
            if len > size {
                return Err(ProofsError::InvalidInput(format!(
                    "deal {deal}: its data at {} has {len} bytes, more than the piece's {size} unpadded bytes",
                    path.display()
                )));
            }
            let payload = std::io::BufReader::with_capacity(1 << 20, file).take(len);
            Ok(Box::new(payload.chain(std::io::repeat(0).take(size - len))))
        }
    }
}

fn add_pieces(
    proof: SealProof,
    files: &SectorFiles,
    existing: &[PaddedPieceSize],
    adding: &[JobPiece],
) -> Result<Vec<PieceInfo>, ProofsError> {
    let mut sizes: Vec<UnpaddedPieceSize> = existing.iter().map(|p| p.unpadded()).collect();
    let used: u64 = existing.iter().map(|p| p.bytes()).sum();
    let write = |sizes: &mut Vec<UnpaddedPieceSize>| -> Result<Vec<PieceInfo>, ProofsError> {
        fs::create_dir_all(&files.dir)
            .with_context(|| format!("create {}", files.dir.display()))?;
        // A replay after a crash finds the pieces of the interrupted run, or
        // part of them, after the recorded ones: drop them.
        truncate_staged(&files.unsealed, used)?;
        let mut written = Vec::with_capacity(adding.len());
        for piece in adding {
            let size = piece.size().unpadded();
            let out = seal::add_piece(
                &seal::AddPieceInput {
                    proof,
                    staged_path: files.unsealed.clone(),
                    size,
                    existing: sizes.clone(),
                },
                piece_source(piece)?,
            )?;
            sizes.push(size);
            written.push(out.piece);
        }
        Ok(written)
    };
    let result = write(&mut sizes);
    if result.is_err() {
        discard_added_pieces(files, used);
    }
    result
}

/// Writes `bytes` to a temporary name beside `path`, then renames it.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ProofsError> {
    let tmp = path.with_extension("tmp");
    let written = fs::write(&tmp, bytes)
        .with_context(|| format!("write {}", tmp.display()))
        .and_then(|()| {
            fs::rename(&tmp, path).with_context(|| format!("rename {}", path.display()))
        });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e.into());
    }
    Ok(())
}

/// Moves the sealed file, the cache directory and the unsealed file (those
/// present) from `from` to `to`, then removes `from`'s directory if that
/// leaves it empty. A rename when both are on one file system; otherwise a
/// copy to a temporary name, a sync, a rename, and the source removed.
fn move_sector(from: &SectorFiles, to: &SectorFiles) -> Result<(), ProofsError> {
    fs::create_dir_all(&to.dir).with_context(|| format!("create {}", to.dir.display()))?;
    for (src, dst) in [
        (&from.sealed, &to.sealed),
        (&from.cache, &to.cache),
        (&from.unsealed, &to.unsealed),
    ] {
        if !src.exists() {
            // Moved by an earlier run, or never made (no unsealed copy).
            continue;
        }
        if dst.exists() {
            // A copy that an interrupted run finished but did not clean up.
            remove_any(dst)?;
        }
        match fs::rename(src, dst) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
                let tmp = dst.with_extension("moving");
                if tmp.exists() {
                    remove_any(&tmp)?;
                }
                copy_any(src, &tmp)?;
                fs::rename(&tmp, dst).with_context(|| format!("rename {}", dst.display()))?;
                remove_any(src)?;
            }
            Err(e) => {
                return Err(internal(
                    &format!("move {} to {}", src.display(), dst.display()),
                    e,
                ));
            }
        }
    }
    // Fails, harmlessly, when something else is still in the directory.
    let _ = fs::remove_dir(&from.dir);
    info!("moved {} to {}", from.dir.display(), to.dir.display());
    Ok(())
}

fn copy_any(src: &Path, dst: &Path) -> Result<(), ProofsError> {
    if src.is_dir() {
        fs::create_dir_all(dst).with_context(|| format!("create {}", dst.display()))?;
        for entry in fs::read_dir(src).with_context(|| format!("list {}", src.display()))? {
            let entry = entry.with_context(|| format!("list {}", src.display()))?;
            copy_any(&entry.path(), &dst.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(src, dst)
            .with_context(|| format!("copy {} to {}", src.display(), dst.display()))?;
        let file = fs::File::open(dst).with_context(|| format!("open {}", dst.display()))?;
        file.sync_all()
            .with_context(|| format!("sync {}", dst.display()))?;
        Ok(())
    }
}

pub(crate) fn remove_any(path: &Path) -> Result<(), ProofsError> {
    let removed = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match removed {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(internal(&format!("remove {}", path.display()), e)),
    }
}

/// After a failed AddPiece: cuts the staged file back to the `used` bytes of
/// the recorded pieces, or removes it (and the sector's directory, if that
/// leaves it empty) when there were none. Best effort: a replay truncates too.
fn discard_added_pieces(files: &SectorFiles, used: u64) {
    let cleaned = if used == 0 {
        remove_if_present(&files.unsealed).map(|()| {
            // Fails, harmlessly, when the directory holds anything else.
            let _ = fs::remove_dir(&files.dir);
        })
    } else {
        truncate_staged(&files.unsealed, used)
    };
    match cleaned {
        Ok(()) => info!(
            "removed what the failed AddPiece wrote to {}",
            files.unsealed.display()
        ),
        Err(e) => warn!(
            "remove what the failed AddPiece wrote to {}: {e:#}",
            files.unsealed.display()
        ),
    }
}

/// After a failed PC1: removes its outputs, the sealed file and the cache
/// directory (PC1 creates both; a retry creates them again).
fn discard_pc1_outputs(files: &SectorFiles) {
    let removed =
        remove_if_present(&files.sealed).and_then(|()| match fs::remove_dir_all(&files.cache) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(internal(&format!("remove {}", files.cache.display()), e)),
        });
    if let Err(e) = removed {
        warn!(
            "remove what the failed PC1 wrote in {}: {e:#}",
            files.dir.display()
        );
    }
}

/// Cuts the staged file to `len` bytes (the pieces already recorded).
fn truncate_staged(path: &Path, len: u64) -> Result<(), ProofsError> {
    let file = match OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && len == 0 => return Ok(()),
        Err(e) => return Err(internal(&format!("open {}", path.display()), e)),
    };
    let have = file
        .metadata()
        .with_context(|| format!("stat {}", path.display()))?
        .len();
    if have < len {
        return Err(ProofsError::InvalidInput(format!(
            "staged file {} has {have} bytes, but the recorded pieces take {len}",
            path.display()
        )));
    }
    if have > len {
        file.set_len(len)
            .with_context(|| format!("truncate {}", path.display()))?;
        file.sync_all()
            .with_context(|| format!("sync {}", path.display()))?;
    }
    Ok(())
}

pub(crate) fn remove_if_present(path: &Path) -> Result<(), ProofsError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(internal(&format!("remove {}", path.display()), e)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use ferrite_types::{ActorId, SectorNumber};

    use super::*;

    #[test]
    fn a_replayed_add_piece_drops_what_the_interrupted_run_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unsealed");
        truncate_staged(&path, 0).unwrap();
        fs::write(&path, [1u8; 300]).unwrap();
        truncate_staged(&path, 256).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), 256);
        assert!(truncate_staged(&path, 512).is_err());
    }

    #[test]
    fn a_failed_add_piece_leaves_only_the_recorded_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let files = SectorFiles::new(dir.path(), SectorId::new(ActorId(1000), SectorNumber(1)));
        fs::create_dir_all(&files.dir).unwrap();
        fs::write(&files.unsealed, [1u8; 300]).unwrap();
        discard_added_pieces(&files, 256);
        assert_eq!(fs::metadata(&files.unsealed).unwrap().len(), 256);
        // No recorded pieces: the file and the then empty directory go.
        discard_added_pieces(&files, 0);
        assert!(!files.unsealed.exists() && !files.dir.exists());
        // Nothing written at all: nothing to do.
        discard_added_pieces(&files, 0);
    }

    #[test]
    fn a_failed_pc1_leaves_no_sealed_file_or_cache() {
        let dir = tempfile::tempdir().unwrap();
        let files = SectorFiles::new(dir.path(), SectorId::new(ActorId(1000), SectorNumber(2)));
        fs::create_dir_all(&files.cache).unwrap();
        fs::write(&files.unsealed, [0u8; 2048]).unwrap();
        fs::write(&files.sealed, [0u8; 1000]).unwrap();
        fs::write(files.cache.join("sc-02-data-layer-1.dat"), [0u8; 10]).unwrap();
        discard_pc1_outputs(&files);
        assert!(!files.sealed.exists() && !files.cache.exists());
        assert!(files.unsealed.exists(), "AddPiece's output stays");
        discard_pc1_outputs(&files);
    }

    #[test]
    fn a_sector_moves_once_and_a_replay_finds_it_moved() {
        let dir = tempfile::tempdir().unwrap();
        let id = SectorId::new(ActorId(1000), SectorNumber(3));
        let from = SectorFiles::new(&dir.path().join("seal"), id);
        let to = SectorFiles::new(&dir.path().join("store"), id);
        fs::create_dir_all(&from.cache).unwrap();
        fs::write(&from.sealed, [7u8; 2048]).unwrap();
        fs::write(from.cache.join("p_aux"), [1u8; 64]).unwrap();
        move_sector(&from, &to).unwrap();
        assert!(!from.dir.exists(), "the source directory is gone");
        assert_eq!(fs::read(&to.sealed).unwrap(), vec![7u8; 2048]);
        assert_eq!(fs::read(to.cache.join("p_aux")).unwrap(), vec![1u8; 64]);
        assert!(!to.unsealed.exists(), "no unsealed copy was there to move");
        // A crash after the move: the replay finds nothing left to move.
        move_sector(&from, &to).unwrap();
        assert_eq!(fs::read(&to.sealed).unwrap(), vec![7u8; 2048]);
    }

    #[test]
    fn a_copy_replaces_a_partial_destination() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("f"), [3u8; 10]).unwrap();
        let dst = dir.path().join("b");
        copy_any(&src, &dst).unwrap();
        assert_eq!(fs::read(dst.join("f")).unwrap(), vec![3u8; 10]);
    }
}
