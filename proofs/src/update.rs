//! SnapDeals: the empty-sector-update phases, which put deal data into a
//! committed-capacity sector that is already sealed and proven, without
//! sealing it again (ReplicaUpdate, then `ProveReplicaUpdates3` on chain).
//!
//! ```text
//!  CC sector (sealed = sector key, cache)   staged data (AddPiece'd pieces)
//!                  └──────────── encode ───────────┘
//!                                 ▼
//!        new replica + new cache (comm_r_new, comm_d_new)
//!                                 ▼
//!         prove (vanilla partition proofs, then the SNARK) ─► verify
//! ```
//!
//! The sector key is the old sealed file: a finalized CC sector's cache
//! (`p_aux`, `t_aux`, `tree_r_last`) is enough to encode and prove. Like the
//! seal phases, these are synchronous and CPU bound: async code runs them
//! through [`crate::Workers::run`].

use std::path::PathBuf;

use anyhow::Context;
use ferrite_types::{CommD, CommR, PieceInfo, SealProof};
use filecoin_proofs_api::update as fupdate;
use serde::{Deserialize, Serialize};

use crate::guard::guarded;
use crate::params::require_params;
use crate::seal::to_api_piece;
use crate::{ProofsError, registered};

/// Encodes staged data into a CC sector's replica.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncodeInput {
    /// The sector's proof kind (its update proof follows from it).
    pub proof: SealProof,
    /// The CC sector's sealed file: the sector key. Left as it is.
    pub sector_key_path: PathBuf,
    /// The CC sector's cache (finalized is enough).
    pub sector_key_cache: PathBuf,
    /// The staged data: the new pieces, filling the sector, as AddPiece
    /// writes them.
    pub staged_path: PathBuf,
    /// The new pieces, in order, filling the sector exactly.
    pub pieces: Vec<PieceInfo>,
    /// The new replica to write.
    pub new_replica_path: PathBuf,
    /// The new replica's cache directory (created if missing).
    pub new_cache: PathBuf,
}

/// The updated sector's commitments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encoded {
    /// The new replica's CommR.
    pub comm_r_new: CommR,
    /// The new data's CommD (the unsealed CID of the update).
    pub comm_d_new: CommD,
}

/// Proves an update: the old and new replicas and commitments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProveInput {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// The CC sector's CommR (its sealed CID on chain).
    pub comm_r_old: CommR,
    /// What [`encode`] returned.
    pub encoded: Encoded,
    /// The sector key (the CC sector's sealed file) and its cache.
    pub sector_key_path: PathBuf,
    /// The sector key's cache.
    pub sector_key_cache: PathBuf,
    /// The new replica and its cache.
    pub new_replica_path: PathBuf,
    /// The new replica's cache.
    pub new_cache: PathBuf,
}

/// An update proof, as ProveReplicaUpdates3 carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateProofBytes(pub Vec<u8>);

/// Checks an update proof against the commitments on chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyInput {
    /// The sector's proof kind.
    pub proof: SealProof,
    /// The CC sector's CommR.
    pub comm_r_old: CommR,
    /// The new commitments.
    pub encoded: Encoded,
    /// The proof.
    pub proof_bytes: UpdateProofBytes,
}

/// The update circuit's `.params` and `.vk` files. Not the registered
/// update proof's `cache_params_path`: filecoin-proofs-api answers that
/// with the PoRep circuit's files.
fn param_files(proof: SealProof) -> [PathBuf; 2] {
    use storage_proofs_core::parameter_cache as cache;
    let id = crate::params::generate::update_circuit_id(proof);
    [
        cache::parameter_cache_params_path(&id),
        cache::parameter_cache_verifying_key_path(&id),
    ]
}

/// Encodes `input.staged_path` into the CC sector's replica, writing the
/// new replica and cache. Needs no Groth16 parameters.
pub fn encode(input: &EncodeInput) -> Result<Encoded, ProofsError> {
    let padded: u64 = input.pieces.iter().map(|p| p.size.bytes()).sum();
    if padded != input.proof.sector_size().bytes() {
        return Err(ProofsError::InvalidInput(format!(
            "pieces cover {padded} bytes, the sector has {}",
            input.proof.sector_size().bytes()
        )));
    }
    std::fs::create_dir_all(&input.new_cache)
        .with_context(|| format!("create cache dir {}", input.new_cache.display()))?;
    // The library writes the new replica into an existing file of the
    // sector key's size.
    let replica = std::fs::File::create(&input.new_replica_path)
        .with_context(|| format!("create new replica {}", input.new_replica_path.display()))?;
    replica
        .set_len(input.proof.sector_size().bytes())
        .with_context(|| format!("size new replica {}", input.new_replica_path.display()))?;
    drop(replica);
    let pieces: Vec<_> = input.pieces.iter().map(to_api_piece).collect();
    let out = guarded("encode the update", Vec::new, || {
        fupdate::empty_sector_update_encode_into(
            registered::update(input.proof),
            &input.new_replica_path,
            &input.new_cache,
            &input.sector_key_path,
            &input.sector_key_cache,
            &input.staged_path,
            &pieces,
        )
    })?
    .context("encode the update")?;
    Ok(Encoded {
        comm_r_new: CommR(out.comm_r_new),
        comm_d_new: CommD(out.comm_d_new),
    })
}

/// Proves the update (vanilla partition proofs, then the SNARK). Needs the
/// update circuit's Groth16 parameters.
pub fn prove(input: &ProveInput) -> Result<UpdateProofBytes, ProofsError> {
    let proof = registered::update(input.proof);
    let [params, vk] = param_files(input.proof);
    require_params(&[Ok(params), Ok(vk)], input.proof.sector_size())?;
    let out = guarded("prove the update", Vec::new, || {
        fupdate::generate_empty_sector_update_proof(
            proof,
            input.comm_r_old.0,
            input.encoded.comm_r_new.0,
            input.encoded.comm_d_new.0,
            &input.sector_key_path,
            &input.sector_key_cache,
            &input.new_replica_path,
            &input.new_cache,
        )
    })?
    .context("prove the update")?;
    Ok(UpdateProofBytes(out.0))
}

/// Checks an update proof. Needs the update circuit's verifying key.
pub fn verify(input: &VerifyInput) -> Result<bool, ProofsError> {
    let proof = registered::update(input.proof);
    let [_, vk] = param_files(input.proof);
    require_params(&[Ok(vk)], input.proof.sector_size())?;
    Ok(guarded("verify the update", Vec::new, || {
        fupdate::verify_empty_sector_update_proof(
            proof,
            &input.proof_bytes.0,
            input.comm_r_old.0,
            input.encoded.comm_r_new.0,
            input.encoded.comm_d_new.0,
        )
    })?
    .context("verify the update proof")?)
}
