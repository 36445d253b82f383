//! Unsealed sector CIDs (CommD). A pre-commit may leave its CommD out
//! (`CompactCommD(None)`), meaning a sector of zeros; its full CID is the
//! root of a binary SHA-256 (truncated to 254 bits) Merkle tree over the
//! sector's 32-byte zero leaves, computed here level by level (the same
//! values v18 keeps in a table).

use cid::Cid;
use ferrite_actor_rt::{self as rt, ActorError, ActorResult};
use ferrite_actor_types::miner::CompactCommD;
use fvm_shared::commcid::{
    FIL_COMMITMENT_UNSEALED, SHA2_256_TRUNC254_PADDED, data_commitment_v1_to_cid,
};
use fvm_shared::crypto::hash::SupportedHashes;
use fvm_shared::sector::RegisteredSealProof;

/// Whether `c` has the prefix of an unsealed sector CID.
pub fn is_unsealed_sector(c: &Cid) -> bool {
    c.version() == cid::Version::V1
        && c.codec() == FIL_COMMITMENT_UNSEALED
        && c.hash().code() == SHA2_256_TRUNC254_PADDED
        && c.hash().size() == 32
}

/// The full CommD of `commd` for a sector of `proof`'s size.
pub fn commd_cid(commd: &CompactCommD, proof: RegisteredSealProof) -> ActorResult<Cid> {
    match commd.0 {
        Some(c) => Ok(c),
        None => zero_commd(proof),
    }
}

/// The CommD of a sector of zeros.
fn zero_commd(proof: RegisteredSealProof) -> ActorResult<Cid> {
    let size = proof
        .sector_size()
        .map_err(|e| ActorError::illegal_argument(format!("unknown seal proof {proof:?}: {e}")))?;
    let leaves = (size as u64) / 32;
    if leaves == 0 || !leaves.is_power_of_two() {
        return Err(ActorError::illegal_argument(format!(
            "unexpected sector size {}",
            size as u64
        )));
    }
    let mut node = [0u8; 32];
    for _ in 0..leaves.trailing_zeros() {
        let mut pair = [0u8; 64];
        pair[..32].copy_from_slice(&node);
        pair[32..].copy_from_slice(&node);
        let digest = rt::sdk::crypto::hash_owned(SupportedHashes::Sha2_256, &pair);
        if digest.len() != 32 {
            return Err(ActorError::assertion_failed(
                "sha256 digest of unexpected length",
            ));
        }
        node.copy_from_slice(&digest);
        // Truncated to 254 bits, a valid field element.
        node[31] &= 0x3f;
    }
    data_commitment_v1_to_cid(&node)
        .map_err(|e| ActorError::assertion_failed(format!("zero CommD CID: {e}")))
}
