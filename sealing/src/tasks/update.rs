//! SnapDeals' tasks: the encode and the update proof go to the executor like
//! the sealing tasks; the update proof is verified here before it is sent;
//! the clean-up after the update lands runs in this process, as removal does.
//!
//! The update's files sit beside the sector key in the sector's directory
//! ([`SectorFiles::update`], [`SectorFiles::update_cache`]), on the path
//! that holds the sector: the sector keeps proving its old replica until the
//! update is on chain, and the PoSt provers pick whichever replica has the
//! CommR the chain holds.

use ferrite_cluster::TaskKind;
use ferrite_proofs::seal;
use ferrite_proofs::update::{self, Encoded, UpdateProofBytes, VerifyInput};
use ferrite_proofs::{ProofsError, Stage};
use ferrite_types::{CommR, PieceInfo, SealProof, SectorId};

use super::{TaskError, Tasks, wrong_output};
use crate::job::{Job, JobOutput, internal, remove_any};
use crate::{SectorPiece, Update, UpdateProof};

impl Tasks {
    /// Encodes the sector's new pieces (AddPiece wrote them to its unsealed
    /// file) into its replica, writing the update's replica and cache.
    pub async fn update_encode(
        &self,
        id: SectorId,
        proof: SealProof,
        pieces: &[SectorPiece],
    ) -> Result<Update, TaskError> {
        let pieces: Vec<PieceInfo> = pieces.iter().map(SectorPiece::info).collect();
        let out = self
            .place_and_run(id, TaskKind::UpdateEncode, proof.sector_size(), |files| {
                Job::UpdateEncode {
                    proof,
                    files,
                    pieces,
                }
            })
            .await?;
        match out {
            JobOutput::UpdateEncoded {
                comm_r_new,
                comm_d_new,
            } => Ok(Update {
                comm_r: comm_r_new,
                comm_d: comm_d_new,
            }),
            other => Err(wrong_output(TaskKind::UpdateEncode, &other)),
        }
    }

    /// Proves the update of a sector whose CommR on chain is `comm_r_old`.
    pub async fn update_prove(
        &self,
        id: SectorId,
        proof: SealProof,
        comm_r_old: CommR,
        update: &Update,
    ) -> Result<UpdateProof, TaskError> {
        let (comm_r_new, comm_d_new) = (update.comm_r, update.comm_d);
        let out = self
            .place_and_run(id, TaskKind::UpdateProve, proof.sector_size(), |files| {
                Job::UpdateProve {
                    proof,
                    files,
                    comm_r_old,
                    comm_r_new,
                    comm_d_new,
                }
            })
            .await?;
        match out {
            JobOutput::UpdateProof(bytes) => Ok(UpdateProof(bytes)),
            other => Err(wrong_output(TaskKind::UpdateProve, &other)),
        }
    }

    /// Checks an update proof as the chain will.
    pub async fn verify_update(
        &self,
        proof: SealProof,
        comm_r_old: CommR,
        update: &Update,
        bytes: &UpdateProof,
    ) -> Result<bool, TaskError> {
        let input = VerifyInput {
            proof,
            comm_r_old,
            encoded: Encoded {
                comm_r_new: update.comm_r,
                comm_d_new: update.comm_d,
            },
            proof_bytes: UpdateProofBytes(bytes.0.clone()),
        };
        Ok(self
            .workers
            .run(Stage::Verify, move || update::verify(&input))
            .await?)
    }

    /// Once the update is on chain: drops the update cache's data tree
    /// (proving needs only tree-r-last and the aux files), then the sector
    /// key, the old replica and its cache, which nothing proves any more
    /// (the unsealed copy stays for retrievals). Idempotent.
    pub async fn finalize_update(&self, id: SectorId) -> Result<(), TaskError> {
        let storage = self.storage.clone();
        self.workers
            .run(Stage::Verify, move || {
                let files = storage
                    .locate(id)
                    .map_err(|source| internal("find the sector's files", source))?
                    .ok_or_else(|| {
                        ProofsError::InvalidInput(format!(
                            "the files of sector {id} are on no attached storage path"
                        ))
                    })?;
                let update = files.update();
                if !update.is_file() {
                    return Err(ProofsError::InvalidInput(format!(
                        "sector {id} has no updated replica at {}",
                        update.display()
                    )));
                }
                seal::clear_cache(&files.update_cache())?;
                remove_any(&files.sealed)?;
                remove_any(&files.cache)?;
                Ok(())
            })
            .await
            .map_err(TaskError::from)
    }
}
