//! The worker tasks, run in this process through ferrite-proofs' [`Workers`]
//! bridge (off the async runtime, with per-stage caps), on the files of a
//! sector directory `<path>/s-t0<miner>-<n>/{unsealed,sealed,cache}`.
//!
//! Where that directory is comes from the [`SectorStorage`]: one fixed
//! directory, or the storage paths attached to a ferrite-cluster
//! [`StorageRegistry`]. With a registry, a task that writes files first
//! reserves the bytes it needs ([`space::task_bytes`]) when it starts (after
//! its stage's slot is free), on the path that holds the sector, or for a new
//! sector on the seal path the registry picks; it releases the reservation
//! when it ends, whether it succeeded or failed. A path without the room
//! fails the task with [`TaskError::Space`] before anything is written. A
//! task that fails after it began writing removes what it wrote: AddPiece
//! cuts the staged file back to the recorded pieces, PC1 removes the sealed
//! file and the cache directory, C1 its temporary file.
//!
//! Every task can run again after a crash: AddPiece first cuts the staged
//! file back to the pieces already recorded, PC1 recreates its outputs, C1
//! replaces its output file atomically, and clearing a cache twice is a no-op.
//! C1's output is kept as a CBOR file in the cache directory, because C2 reads
//! it from there (it is megabytes at 32 GiB, too big for the sector record).
//! A reservation that a crash left behind is released by
//! [`Pipeline::with_storage`](crate::Pipeline::with_storage) at the next start.
//!
//! (The cluster's scheduler will run these on remote workers; this module is
//! the in-process worker.)

use std::fs::{self, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use ferrite_cluster::{
    ClusterError, PathId, PathKind, Reservation, StorageRegistry, TaskKind, space,
};
use ferrite_proofs::seal::{self, C1Input, C2Input, Pc1Input, Pc2Input, Pc2Output};
use ferrite_proofs::{ProofsError, Stage, Workers};
use ferrite_types::{PieceInfo, SealProof, SectorId, SectorSize, UnpaddedPieceSize};
use tracing::{info, warn};

use crate::{Challenge, Pc1Output, PieceToAdd, PoRepProof, Sealed, SectorPiece};

/// The name of C1's output in the cache directory.
const C1_OUTPUT: &str = "c1-output.cbor";

/// Where a sector's files live while it is sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectorFiles {
    /// The sector's directory, `<seal_dir>/s-t0<miner>-<n>`.
    pub dir: PathBuf,
    /// The staged (unsealed) data.
    pub unsealed: PathBuf,
    /// The sealed replica.
    pub sealed: PathBuf,
    /// The cache directory: layers, trees, `p_aux`, `t_aux`, C1's output.
    pub cache: PathBuf,
}

impl SectorFiles {
    /// The files of `id` under `seal_dir`, named as Lotus names them.
    pub fn new(seal_dir: &Path, id: SectorId) -> Self {
        let dir = seal_dir.join(format!("s-t0{}-{}", id.miner.0, id.number.0));
        Self {
            unsealed: dir.join("unsealed"),
            sealed: dir.join("sealed"),
            cache: dir.join("cache"),
            dir,
        }
    }

    /// C1's output, which C2 reads.
    pub fn c1_output(&self) -> PathBuf {
        self.cache.join(C1_OUTPUT)
    }
}

/// Why a task failed. The driver records it as the failure's reason.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The task's space could not be reserved (a full path is
    /// [`ClusterError::NoSpace`]); nothing was written.
    #[error("reserve {bytes} bytes for {purpose} of sector {sector}: {source}")]
    Space {
        /// The sector.
        sector: SectorId,
        /// The task that needed the space.
        purpose: TaskKind,
        /// Bytes asked for.
        bytes: u64,
        /// What the registry said.
        source: ClusterError,
    },
    /// The storage paths could not be read to find the sector's files.
    #[error("find the files of sector {sector}: {source}")]
    Locate {
        /// The sector.
        sector: SectorId,
        /// What the registry said.
        source: ClusterError,
    },
    /// The sector's directory is on none of the attached storage paths (a
    /// path that was detached, or files removed by hand).
    #[error("the files of sector {0} are on no attached storage path")]
    NotFound(SectorId),
    /// The proof work or its file I/O failed.
    #[error(transparent)]
    Proofs(#[from] ProofsError),
}

impl TaskError {
    /// Whether the task was refused for want of space.
    pub fn is_no_space(&self) -> bool {
        matches!(
            self,
            TaskError::Space {
                source: ClusterError::NoSpace { .. },
                ..
            }
        )
    }
}

/// Where sector files live. Its methods do blocking file-system and
/// database I/O: async callers use `spawn_blocking`.
#[derive(Debug, Clone)]
pub enum SectorStorage {
    /// Every sector under one directory, without reservations (tests, and
    /// tools that seal outside a node).
    Dir(PathBuf),
    /// The storage paths attached to the registry: a new sector goes to the
    /// seal path the registry picks, and stays on it while it is sealed.
    Paths(Arc<StorageRegistry>),
}

/// A sector's files and the storage path that holds them.
struct Located {
    files: SectorFiles,
    /// `None` for [`SectorStorage::Dir`].
    path: Option<PathId>,
}

/// Space held while a task writes; released when dropped, so a task that
/// fails or panics gives it back too.
struct Held {
    registry: Arc<StorageRegistry>,
    reservation: Reservation,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Err(e) = self.registry.release(self.reservation.id) {
            warn!(
                reservation = %self.reservation.id,
                "release the space of {} for {}: {e:#}",
                self.reservation.sector,
                self.reservation.purpose
            );
        }
    }
}

/// Where a writing task puts its files, and the space it holds there.
struct Placed {
    files: SectorFiles,
    _held: Option<Held>,
}

impl SectorStorage {
    /// The files of sector `id`, if its directory exists: in the directory,
    /// or on the first attached path (of any kind) that has it.
    pub fn locate(&self, id: SectorId) -> Result<Option<SectorFiles>, ClusterError> {
        Ok(self.find(id)?.map(|l| l.files))
    }

    fn find(&self, id: SectorId) -> Result<Option<Located>, ClusterError> {
        match self {
            SectorStorage::Dir(dir) => {
                let files = SectorFiles::new(dir, id);
                Ok(files.dir.is_dir().then_some(Located { files, path: None }))
            }
            SectorStorage::Paths(registry) => Ok(registry.paths()?.into_iter().find_map(|p| {
                let files = SectorFiles::new(&p.path, id);
                files.dir.is_dir().then_some(Located {
                    files,
                    path: Some(p.id),
                })
            })),
        }
    }

    /// The files of sector `id` for a task that only reads or fills files
    /// that exist: in the directory (whether it exists or not), or where an
    /// attached path has them.
    fn existing(&self, id: SectorId) -> Result<SectorFiles, TaskError> {
        match self {
            SectorStorage::Dir(dir) => Ok(SectorFiles::new(dir, id)),
            SectorStorage::Paths(_) => self
                .find(id)
                .map_err(|source| TaskError::Locate { sector: id, source })?
                .map(|l| l.files)
                .ok_or(TaskError::NotFound(id)),
        }
    }

    /// Reserves the space a `purpose` task on a sector of `size` writes
    /// ([`space::task_bytes`]): on the path holding the sector, or for a
    /// sector with no files yet on the seal path the registry picks.
    fn place(
        &self,
        id: SectorId,
        purpose: TaskKind,
        size: SectorSize,
    ) -> Result<Placed, TaskError> {
        let registry = match self {
            SectorStorage::Dir(dir) => {
                return Ok(Placed {
                    files: SectorFiles::new(dir, id),
                    _held: None,
                });
            }
            SectorStorage::Paths(registry) => registry,
        };
        let bytes = space::task_bytes(purpose, size);
        let found = self
            .find(id)
            .map_err(|source| TaskError::Locate { sector: id, source })?;
        if bytes == 0 {
            // PC2, C1 and C2 fill the files PC1 made room for.
            let files = found.map(|l| l.files).ok_or(TaskError::NotFound(id))?;
            return Ok(Placed { files, _held: None });
        }
        let space_error = |source| TaskError::Space {
            sector: id,
            purpose,
            bytes,
            source,
        };
        let reservation = match found.and_then(|l| l.path) {
            Some(path) => registry.reserve_on(path, bytes, id, purpose),
            None => registry.reserve(PathKind::Seal, bytes, id, purpose),
        }
        .map_err(space_error)?;
        let held = Held {
            registry: Arc::clone(registry),
            reservation,
        };
        let path = registry
            .path(held.reservation.path)
            .map_err(|source| TaskError::Locate { sector: id, source })?
            .ok_or(TaskError::NotFound(id))?;
        Ok(Placed {
            files: SectorFiles::new(&path.path, id),
            _held: Some(held),
        })
    }

    /// Deletes the sector's directory wherever it is.
    fn remove(&self, id: SectorId) -> Result<(), TaskError> {
        let dirs: Vec<PathBuf> = match self {
            SectorStorage::Dir(dir) => vec![SectorFiles::new(dir, id).dir],
            SectorStorage::Paths(registry) => registry
                .paths()
                .map_err(|source| TaskError::Locate { sector: id, source })?
                .into_iter()
                .map(|p| SectorFiles::new(&p.path, id).dir)
                .collect(),
        };
        for dir in dirs {
            match fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(internal(&format!("remove {}", dir.display()), e).into()),
            }
        }
        Ok(())
    }
}

/// Runs sealing tasks for the sectors of one [`SectorStorage`].
#[derive(Debug, Clone)]
pub struct Tasks {
    workers: Workers,
    storage: SectorStorage,
}

fn internal(what: &str, e: impl std::fmt::Display) -> ProofsError {
    ProofsError::Proof(anyhow::anyhow!("{what}: {e}"))
}

impl Tasks {
    /// Tasks that run on `workers`, with sector files in `storage`.
    pub fn new(workers: Workers, storage: SectorStorage) -> Self {
        Self { workers, storage }
    }

    /// Where the sector files are.
    pub fn storage(&self) -> &SectorStorage {
        &self.storage
    }

    /// The proof workers the tasks run on.
    pub fn workers(&self) -> &Workers {
        &self.workers
    }

    /// Runs `job` in a `stage` slot, off the runtime. (Workers' jobs fail
    /// with a `ProofsError`; storage errors travel inside.)
    async fn run<T: Send + 'static>(
        &self,
        stage: Stage,
        job: impl FnOnce(SectorStorage) -> Result<T, TaskError> + Send + 'static,
    ) -> Result<T, TaskError> {
        let storage = self.storage.clone();
        self.workers.run(stage, move || Ok(job(storage))).await?
    }

    /// AddPiece: writes `adding` after the `existing` pieces; returns the
    /// commitment of each piece written. Only fillers (zeros) are written
    /// here; deal data needs the market's staging area.
    pub async fn add_pieces(
        &self,
        id: SectorId,
        proof: SealProof,
        existing: &[SectorPiece],
        adding: &[PieceToAdd],
    ) -> Result<Vec<PieceInfo>, TaskError> {
        let mut sizes: Vec<UnpaddedPieceSize> =
            existing.iter().map(|p| p.info().size.unpadded()).collect();
        let used: u64 = existing.iter().map(|p| p.info().size.bytes()).sum();
        let adding = adding.to_vec();
        self.run(Stage::AddPiece, move |storage| {
            let placed = storage.place(id, TaskKind::AddPiece, proof.sector_size())?;
            let files = &placed.files;
            let write = || -> Result<Vec<PieceInfo>, ProofsError> {
                fs::create_dir_all(&files.dir)
                    .with_context(|| format!("create {}", files.dir.display()))?;
                // A replay after a crash finds the pieces of the interrupted
                // run, or part of them, after the recorded ones: drop them.
                truncate_staged(&files.unsealed, used)?;
                let mut written = Vec::with_capacity(adding.len());
                for piece in adding {
                    let size = match piece {
                        PieceToAdd::Filler(size) => size.unpadded(),
                        PieceToAdd::Deal(d) => {
                            return Err(ProofsError::InvalidInput(format!(
                                "deal {}: writing deal data is not wired to the market's staging area yet",
                                d.deal
                            )));
                        }
                    };
                    let out = seal::add_piece(
                        &seal::AddPieceInput {
                            proof,
                            staged_path: files.unsealed.clone(),
                            size,
                            existing: sizes.clone(),
                        },
                        std::io::repeat(0).take(size.bytes()),
                    )?;
                    sizes.push(size);
                    written.push(out.piece);
                }
                Ok(written)
            };
            let result = write();
            if result.is_err() {
                discard_added_pieces(files, used);
            }
            Ok(result?)
        })
        .await
    }

    /// PC1 with `ticket`.
    pub async fn pc1(
        &self,
        id: SectorId,
        proof: SealProof,
        pieces: &[SectorPiece],
        ticket: ferrite_types::Ticket,
    ) -> Result<Pc1Output, TaskError> {
        let pieces: Vec<PieceInfo> = pieces.iter().map(SectorPiece::info).collect();
        self.run(Stage::Pc1, move |storage| {
            let placed = storage.place(id, TaskKind::Pc1, proof.sector_size())?;
            let files = &placed.files;
            let input = Pc1Input {
                proof,
                sector: id,
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
                Ok(bytes) => Ok(Pc1Output(bytes)),
                Err(e) => {
                    discard_pc1_outputs(files);
                    Err(e.into())
                }
            }
        })
        .await
    }

    /// PC2 on PC1's output.
    pub async fn pc2(
        &self,
        id: SectorId,
        proof: SealProof,
        pc1: &Pc1Output,
    ) -> Result<Pc2Output, TaskError> {
        let pc1 = ferrite_store::codec::decode::<seal::Pc1Output>("pc1-output", &pc1.0)
            .map_err(|e| ProofsError::InvalidInput(format!("decode PC1 output: {e}")))?;
        self.run(Stage::Pc2, move |storage| {
            let placed = storage.place(id, TaskKind::Pc2, proof.sector_size())?;
            Ok(seal::pc2(Pc2Input {
                pc1,
                cache_dir: placed.files.cache.clone(),
                sealed_path: placed.files.sealed.clone(),
            })?)
        })
        .await
    }

    /// C1; its output goes to [`SectorFiles::c1_output`].
    pub async fn c1(
        &self,
        id: SectorId,
        proof: SealProof,
        pieces: &[SectorPiece],
        sealed: &Sealed,
        challenge: &Challenge,
    ) -> Result<(), TaskError> {
        let pieces: Vec<PieceInfo> = pieces.iter().map(SectorPiece::info).collect();
        let (ticket, seed) = (sealed.ticket.ticket, challenge.seed);
        let commitments = Pc2Output {
            comm_r: sealed.comm_r,
            comm_d: sealed.comm_d,
        };
        self.run(Stage::C1, move |storage| {
            let placed = storage.place(id, TaskKind::C1, proof.sector_size())?;
            let files = &placed.files;
            let input = C1Input {
                proof,
                sector: id,
                cache_dir: files.cache.clone(),
                sealed_path: files.sealed.clone(),
                ticket,
                seed,
                commitments,
                pieces,
            };
            let out = seal::c1(&input)?;
            let bytes = ferrite_store::codec::encode("c1-output", &out)
                .map_err(|e| internal("encode C1 output", e))?;
            // Written aside, then renamed: C2 never reads half a file.
            let path = files.c1_output();
            let tmp = path.with_extension("tmp");
            let written = fs::write(&tmp, &bytes)
                .with_context(|| format!("write {}", tmp.display()))
                .and_then(|()| {
                    fs::rename(&tmp, &path).with_context(|| format!("rename {}", path.display()))
                });
            if let Err(e) = written {
                let _ = fs::remove_file(&tmp);
                return Err(ProofsError::from(e).into());
            }
            Ok(())
        })
        .await
    }

    /// C2 on the C1 output in the cache directory.
    pub async fn c2(&self, id: SectorId, proof: SealProof) -> Result<PoRepProof, TaskError> {
        self.run(Stage::C2, move |storage| {
            let placed = storage.place(id, TaskKind::C2, proof.sector_size())?;
            let path = placed.files.c1_output();
            let bytes = fs::read(&path)
                .with_context(|| format!("read {}", path.display()))
                .map_err(ProofsError::from)?;
            let c1 = ferrite_store::codec::decode::<seal::C1Output>("c1-output", &bytes).map_err(
                |e| ProofsError::InvalidInput(format!("decode {}: {e}", path.display())),
            )?;
            Ok(PoRepProof(seal::c2(C2Input { c1, sector: id })?.0))
        })
        .await
    }

    /// Checks `proof` as the chain will.
    pub async fn verify(
        &self,
        id: SectorId,
        seal_proof: SealProof,
        sealed: &Sealed,
        challenge: &Challenge,
        proof: &PoRepProof,
    ) -> Result<bool, TaskError> {
        let input = seal::VerifySealInput {
            proof: seal_proof,
            sector: id,
            commitments: Pc2Output {
                comm_r: sealed.comm_r,
                comm_d: sealed.comm_d,
            },
            ticket: sealed.ticket.ticket,
            seed: challenge.seed,
            proof_bytes: seal::SealProofBytes(proof.0.clone()),
        };
        Ok(self
            .workers
            .run(Stage::Verify, move || seal::verify_seal(&input))
            .await?)
    }

    /// Finalize: drops the layers and trees that proving does not need, and
    /// C1's output. The sector stays where it was sealed, so nothing is
    /// reserved: the task only frees space. (Moving it to a store path is the
    /// cluster's storage work, still to come; that move will reserve
    /// [`space::task_bytes`] of Finalize on a store path.)
    pub async fn finalize(&self, id: SectorId) -> Result<(), TaskError> {
        self.run(Stage::Verify, move |storage| {
            let files = storage.existing(id)?;
            seal::clear_cache(&files.cache)?;
            remove_if_present(&files.c1_output())?;
            Ok(())
        })
        .await
    }

    /// Deletes every file of the sector, on every path.
    pub async fn remove(&self, id: SectorId) -> Result<(), TaskError> {
        self.run(Stage::Verify, move |storage| storage.remove(id))
            .await
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

fn remove_if_present(path: &Path) -> Result<(), ProofsError> {
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
    fn sector_files_are_named_as_lotus_names_them() {
        let f = SectorFiles::new(
            Path::new("/seal"),
            SectorId::new(ActorId(1000), SectorNumber(7)),
        );
        assert_eq!(f.dir, Path::new("/seal/s-t01000-7"));
        assert_eq!(f.cache, Path::new("/seal/s-t01000-7/cache"));
        assert_eq!(
            f.c1_output(),
            Path::new("/seal/s-t01000-7/cache/c1-output.cbor")
        );
    }

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
}
