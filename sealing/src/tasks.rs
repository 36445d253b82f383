//! The sealing tasks as the pipeline sees them: each finds or places the
//! sector's files in a [`SectorStorage`] and hands a [`Job`] naming them to
//! an [`Executor`] (in this process, or the cluster's workers over gRPC); the
//! work itself is in [`crate::job`]. Files live in a sector directory
//! `<path>/s-t0<miner>-<n>/{unsealed,sealed,cache}`.
//!
//! Where that directory is comes from the [`SectorStorage`]: one fixed
//! directory, or the storage paths attached to a ferrite-cluster
//! [`StorageRegistry`]. With a registry, a task that writes files first
//! reserves the bytes it needs ([`space::task_bytes`]) on the path that holds
//! the sector, or for a new sector on the seal path the registry picks, and
//! releases the reservation when it ends, whether it succeeded or failed. A
//! path without the room fails the task with [`TaskError::Space`] before
//! anything is written. Finalize reserves on a store path and moves the
//! sector there.
//!
//! C1's output is kept as a CBOR file in the cache directory, where C2's
//! input is read from (it is megabytes at 32 GiB, too big for the sector
//! record). A reservation that a crash left behind is released by
//! [`Pipeline::with_storage`](crate::Pipeline::with_storage) at the next start.
//! Storage paths are shared: a worker on another host mounts a path at the
//! location the node has it (as with NFS), and runs only the tasks whose
//! sector is on a path it mounts.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use ferrite_cluster::{
    ClusterError, PathId, PathKind, Reservation, StorageRegistry, TaskKind, space,
};
use ferrite_proofs::seal::{self, Pc2Output};
use ferrite_proofs::{ProofsError, Stage, Workers};
use ferrite_types::{PaddedPieceSize, PieceInfo, SealProof, SectorId, SectorSize};
use tracing::{info, warn};

use crate::job::{Executor, Job, JobOutput, JobPiece, LocalExecutor, internal};
use crate::{Challenge, Pc1Output, PieceToAdd, PoRepProof, Sealed, SectorPiece};

mod update;

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

    /// SnapDeals: the updated replica, beside the sector key
    /// ([`SectorFiles::sealed`]) until the update is final on chain.
    pub fn update(&self) -> PathBuf {
        self.dir.join("update")
    }

    /// SnapDeals: the updated replica's cache.
    pub fn update_cache(&self) -> PathBuf {
        self.dir.join("update-cache")
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
    /// The worker that ran the task reported a failure, or answered wrongly.
    #[error("worker: {0}")]
    Worker(String),
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

/// Where Finalize moves a sector from and to, and the space it holds there.
type Destination = (SectorFiles, SectorFiles, Option<Held>);

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

    /// Where Finalize takes sector `id`: from the path holding it to a
    /// store path (see [`Tasks::finalize`]). A replay after a crash in the
    /// middle of a move finds the sector on both paths and finishes the move.
    fn destination(&self, id: SectorId, proof: SealProof) -> Result<Destination, TaskError> {
        let registry = match self {
            SectorStorage::Dir(dir) => {
                let files = SectorFiles::new(dir, id);
                return Ok((files.clone(), files, None));
            }
            SectorStorage::Paths(registry) => registry,
        };
        let locate = |source| TaskError::Locate { sector: id, source };
        let holders: Vec<(SectorFiles, PathKind)> = registry
            .paths()
            .map_err(locate)?
            .into_iter()
            .map(|p| (SectorFiles::new(&p.path, id), p.kind))
            .filter(|(files, _)| files.dir.is_dir())
            .collect();
        let stored = holders.iter().find(|(_, k)| k.serves(PathKind::Store));
        let sealing = holders.iter().find(|(_, k)| !k.serves(PathKind::Store));
        match (sealing, stored) {
            (None, None) => Err(TaskError::NotFound(id)),
            (None, Some((files, _))) => Ok((files.clone(), files.clone(), None)),
            (Some((from, _)), Some((to, _))) => Ok((from.clone(), to.clone(), None)),
            (Some((from, _)), None) => {
                let bytes = space::task_bytes(TaskKind::Finalize, proof.sector_size());
                match registry.reserve(PathKind::Store, bytes, id, TaskKind::Finalize) {
                    Ok(reservation) => {
                        let held = Held {
                            registry: Arc::clone(registry),
                            reservation,
                        };
                        let path = registry
                            .path(held.reservation.path)
                            .map_err(locate)?
                            .ok_or(TaskError::NotFound(id))?;
                        Ok((from.clone(), SectorFiles::new(&path.path, id), Some(held)))
                    }
                    Err(ClusterError::NoPathOfKind(_)) => {
                        info!("no store path is attached: sector {id} is finalized in place");
                        Ok((from.clone(), from.clone(), None))
                    }
                    Err(source) => Err(TaskError::Space {
                        sector: id,
                        purpose: TaskKind::Finalize,
                        bytes,
                        source,
                    }),
                }
            }
        }
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

/// Runs sealing tasks for the sectors of one [`SectorStorage`]: finds or
/// places the sector's files (reserving their space), names them in a
/// [`Job`], and hands it to the [`Executor`].
#[derive(Debug, Clone)]
pub struct Tasks {
    workers: Workers,
    storage: SectorStorage,
    executor: Arc<dyn Executor>,
}

/// The output of a job that is not the job's kind: an executor bug or a
/// worker that answered the wrong task.
fn wrong_output(wanted: TaskKind, got: &JobOutput) -> TaskError {
    TaskError::Worker(format!(
        "a {wanted} task returned the output of a {} task",
        got.kind()
    ))
}

impl Tasks {
    /// Tasks that run in this process on `workers`, with sector files in
    /// `storage`.
    pub fn new(workers: Workers, storage: SectorStorage) -> Self {
        let executor = Arc::new(LocalExecutor::new(workers.clone()));
        Self {
            workers,
            storage,
            executor,
        }
    }

    /// The same tasks, run by `executor` (the cluster's workers). Local work
    /// (verifying a proof, removing a sector) stays on `workers`.
    pub fn with_executor(mut self, executor: Arc<dyn Executor>) -> Self {
        self.executor = executor;
        self
    }

    /// The same tasks, with sector files in `storage`.
    pub fn with_storage(mut self, storage: SectorStorage) -> Self {
        self.storage = storage;
        self
    }

    /// Where the sector files are.
    pub fn storage(&self) -> &SectorStorage {
        &self.storage
    }

    /// The proof workers the local work runs on.
    pub fn workers(&self) -> &Workers {
        &self.workers
    }

    /// Places a `kind` job's files (reserving its space, off the runtime),
    /// builds the job, runs it, and releases the space when it ends.
    async fn place_and_run(
        &self,
        id: SectorId,
        kind: TaskKind,
        size: SectorSize,
        job: impl FnOnce(SectorFiles) -> Job,
    ) -> Result<JobOutput, TaskError> {
        let storage = self.storage.clone();
        let placed = tokio::task::spawn_blocking(move || storage.place(id, kind, size))
            .await
            .map_err(|e| TaskError::Proofs(internal("place the sector's files", e)))??;
        let job = job(placed.files.clone());
        let out = self.executor.run(id, job).await;
        drop(placed);
        out
    }

    /// AddPiece: writes `adding` after the `existing` pieces; returns the
    /// commitment of each piece written. Deal pieces are read from their
    /// [`PieceData`](crate::PieceData); fillers are zeros.
    pub async fn add_pieces(
        &self,
        id: SectorId,
        proof: SealProof,
        existing: &[SectorPiece],
        adding: &[PieceToAdd],
    ) -> Result<Vec<PieceInfo>, TaskError> {
        let existing: Vec<PaddedPieceSize> = existing.iter().map(|p| p.info().size).collect();
        let pieces: Vec<JobPiece> = adding
            .iter()
            .map(|piece| match piece {
                PieceToAdd::Filler(size) => JobPiece::Zeros(*size),
                PieceToAdd::Deal(d) => match &d.data {
                    crate::PieceData::File(path) => JobPiece::Deal {
                        deal: d.deal,
                        piece: d.piece,
                        path: path.clone(),
                    },
                },
            })
            .collect();
        let out = self
            .place_and_run(id, TaskKind::AddPiece, proof.sector_size(), |files| {
                Job::AddPiece {
                    proof,
                    files,
                    existing,
                    adding: pieces,
                }
            })
            .await?;
        match out {
            JobOutput::AddPiece(pieces) => Ok(pieces),
            other => Err(wrong_output(TaskKind::AddPiece, &other)),
        }
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
        let out = self
            .place_and_run(id, TaskKind::Pc1, proof.sector_size(), |files| Job::Pc1 {
                proof,
                sector: id,
                files,
                ticket,
                pieces,
            })
            .await?;
        match out {
            JobOutput::Pc1(out) => Ok(out),
            other => Err(wrong_output(TaskKind::Pc1, &other)),
        }
    }

    /// PC2 on PC1's output.
    pub async fn pc2(
        &self,
        id: SectorId,
        proof: SealProof,
        pc1: &Pc1Output,
    ) -> Result<Pc2Output, TaskError> {
        let pc1 = pc1.clone();
        let out = self
            .place_and_run(id, TaskKind::Pc2, proof.sector_size(), |files| Job::Pc2 {
                proof,
                files,
                pc1,
            })
            .await?;
        match out {
            JobOutput::Pc2 { comm_r, comm_d } => Ok(Pc2Output { comm_r, comm_d }),
            other => Err(wrong_output(TaskKind::Pc2, &other)),
        }
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
        let (comm_r, comm_d) = (sealed.comm_r, sealed.comm_d);
        let out = self
            .place_and_run(id, TaskKind::C1, proof.sector_size(), |files| Job::C1 {
                proof,
                sector: id,
                files,
                ticket,
                seed,
                comm_r,
                comm_d,
                pieces,
            })
            .await?;
        match out {
            JobOutput::C1(_) => Ok(()),
            other => Err(wrong_output(TaskKind::C1, &other)),
        }
    }

    /// C2 on the C1 output in the cache directory.
    pub async fn c2(&self, id: SectorId, proof: SealProof) -> Result<PoRepProof, TaskError> {
        let storage = self.storage.clone();
        let c1 = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, TaskError> {
            let placed = storage.place(id, TaskKind::C2, proof.sector_size())?;
            let path = placed.files.c1_output();
            Ok(fs::read(&path)
                .with_context(|| format!("read {}", path.display()))
                .map_err(ProofsError::from)?)
        })
        .await
        .map_err(|e| TaskError::Proofs(internal("read C1's output", e)))??;
        match self
            .executor
            .run(
                id,
                Job::C2 {
                    proof,
                    sector: id,
                    c1,
                },
            )
            .await?
        {
            JobOutput::C2(proof) => Ok(proof),
            other => Err(wrong_output(TaskKind::C2, &other)),
        }
    }

    /// Checks `proof` as the chain will (always here, whoever made it).
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
    /// C1's output, and moves the sector to long-term storage: a store path
    /// with room, where [`space::task_bytes`] of Finalize is reserved. A
    /// sector already on a path that stores, or a node with no store path,
    /// finalizes in place. Store paths that are all full fail the task
    /// ([`TaskError::Space`]) and it is retried.
    pub async fn finalize(&self, id: SectorId, proof: SealProof) -> Result<(), TaskError> {
        let storage = self.storage.clone();
        let (from, to, held) = tokio::task::spawn_blocking(move || storage.destination(id, proof))
            .await
            .map_err(|e| TaskError::Proofs(internal("choose the store path", e)))??;
        let out = self
            .executor
            .run(id, Job::Finalize { proof, from, to })
            .await;
        drop(held);
        match out? {
            JobOutput::Finalized => Ok(()),
            other => Err(wrong_output(TaskKind::Finalize, &other)),
        }
    }

    /// Deletes every file of the sector, on every path.
    pub async fn remove(&self, id: SectorId) -> Result<(), TaskError> {
        let storage = self.storage.clone();
        self.workers
            .run(Stage::Verify, move || Ok(storage.remove(id)))
            .await?
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
}
