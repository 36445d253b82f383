//! The worker tasks, run in this process through ferrite-proofs' [`Workers`]
//! bridge (off the async runtime, with per-stage caps), on the files of a
//! sector directory `<seal_dir>/s-t0<miner>-<n>/{unsealed,sealed,cache}`.
//!
//! Every task can run again after a crash: AddPiece first cuts the staged
//! file back to the pieces already recorded, PC1 recreates its outputs, C1
//! replaces its output file atomically, and clearing a cache twice is a no-op.
//! C1's output is kept as a CBOR file in the cache directory, because C2 reads
//! it from there (it is megabytes at 32 GiB, too big for the sector record).
//!
//! (The cluster's scheduler will run these on remote workers; this module is
//! the in-process worker.)

use std::fs::{self, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ferrite_proofs::seal::{self, C1Input, C2Input, Pc1Input, Pc2Input, Pc2Output};
use ferrite_proofs::{ProofsError, Stage, Workers};
use ferrite_types::{PieceInfo, SealProof, SectorId, UnpaddedPieceSize};

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

/// Runs sealing tasks for the sectors under one seal directory.
#[derive(Debug, Clone)]
pub struct Tasks {
    workers: Workers,
    seal_dir: PathBuf,
}

fn internal(what: &str, e: impl std::fmt::Display) -> ProofsError {
    ProofsError::Proof(anyhow::anyhow!("{what}: {e}"))
}

impl Tasks {
    /// Tasks that run on `workers`, with sector files under `seal_dir`.
    pub fn new(workers: Workers, seal_dir: PathBuf) -> Self {
        Self { workers, seal_dir }
    }

    /// The files of sector `id`.
    pub fn files(&self, id: SectorId) -> SectorFiles {
        SectorFiles::new(&self.seal_dir, id)
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
    ) -> Result<Vec<PieceInfo>, ProofsError> {
        let files = self.files(id);
        let mut sizes: Vec<UnpaddedPieceSize> =
            existing.iter().map(|p| p.info().size.unpadded()).collect();
        let used: u64 = existing.iter().map(|p| p.info().size.bytes()).sum();
        let adding = adding.to_vec();
        self.workers
            .run(Stage::AddPiece, move || {
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
    ) -> Result<Pc1Output, ProofsError> {
        let files = self.files(id);
        let input = Pc1Input {
            proof,
            sector: id,
            staged_path: files.unsealed,
            sealed_path: files.sealed,
            cache_dir: files.cache,
            ticket,
            pieces: pieces.iter().map(SectorPiece::info).collect(),
        };
        self.workers
            .run(Stage::Pc1, move || {
                let out = seal::pc1(&input)?;
                let bytes = ferrite_store::codec::encode("pc1-output", &out)
                    .map_err(|e| internal("encode PC1 output", e))?;
                Ok(Pc1Output(bytes))
            })
            .await
    }

    /// PC2 on PC1's output.
    pub async fn pc2(&self, id: SectorId, pc1: &Pc1Output) -> Result<Pc2Output, ProofsError> {
        let files = self.files(id);
        let pc1 = ferrite_store::codec::decode::<seal::Pc1Output>("pc1-output", &pc1.0)
            .map_err(|e| ProofsError::InvalidInput(format!("decode PC1 output: {e}")))?;
        self.workers
            .run(Stage::Pc2, move || {
                seal::pc2(Pc2Input {
                    pc1,
                    cache_dir: files.cache,
                    sealed_path: files.sealed,
                })
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
    ) -> Result<(), ProofsError> {
        let files = self.files(id);
        let input = C1Input {
            proof,
            sector: id,
            cache_dir: files.cache.clone(),
            sealed_path: files.sealed.clone(),
            ticket: sealed.ticket.ticket,
            seed: challenge.seed,
            commitments: Pc2Output {
                comm_r: sealed.comm_r,
                comm_d: sealed.comm_d,
            },
            pieces: pieces.iter().map(SectorPiece::info).collect(),
        };
        self.workers
            .run(Stage::C1, move || {
                let out = seal::c1(&input)?;
                let bytes = ferrite_store::codec::encode("c1-output", &out)
                    .map_err(|e| internal("encode C1 output", e))?;
                // Written aside, then renamed: C2 never reads half a file.
                let path = files.c1_output();
                let tmp = path.with_extension("tmp");
                fs::write(&tmp, &bytes).with_context(|| format!("write {}", tmp.display()))?;
                fs::rename(&tmp, &path).with_context(|| format!("rename {}", path.display()))?;
                Ok(())
            })
            .await
    }

    /// C2 on the C1 output in the cache directory.
    pub async fn c2(&self, id: SectorId) -> Result<PoRepProof, ProofsError> {
        let path = self.files(id).c1_output();
        self.workers
            .run(Stage::C2, move || {
                let bytes = fs::read(&path).with_context(|| format!("read {}", path.display()))?;
                let c1 = ferrite_store::codec::decode::<seal::C1Output>("c1-output", &bytes)
                    .map_err(|e| {
                        ProofsError::InvalidInput(format!("decode {}: {e}", path.display()))
                    })?;
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
    ) -> Result<bool, ProofsError> {
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
        self.workers
            .run(Stage::Verify, move || seal::verify_seal(&input))
            .await
    }

    /// Finalize: drops the layers and trees that proving does not need, and
    /// C1's output. The sector stays in the seal directory (moving it to a
    /// store path is the cluster's storage work, still to come).
    pub async fn finalize(&self, id: SectorId) -> Result<(), ProofsError> {
        let files = self.files(id);
        self.workers
            .run(Stage::Verify, move || {
                seal::clear_cache(&files.cache)?;
                remove_if_present(&files.c1_output())?;
                Ok(())
            })
            .await
    }

    /// Deletes every file of the sector.
    pub async fn remove(&self, id: SectorId) -> Result<(), ProofsError> {
        let dir = self.files(id).dir;
        self.workers
            .run(Stage::Verify, move || match fs::remove_dir_all(&dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(internal(&format!("remove {}", dir.display()), e)),
            })
            .await
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
}
