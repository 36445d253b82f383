//! The miner messages proving sends, with builtin-actors v18's parameters
//! built from the v18 types: SubmitWindowedPoSt, DeclareFaults and
//! DeclareFaultsRecovered.

use ferrite_chain::api::BitField;
use fil_actor_miner_state::v18 as miner;
use fvm_ipld_encoding::RawBytes;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use fvm_shared::randomness::Randomness;
use fvm_shared::sector::{PoStProof, RegisteredPoStProof};

use crate::ProvingError;
use crate::plan::PartitionProof;

/// SubmitWindowedPoSt's method number.
pub const SUBMIT_WINDOWED_POST: u64 = miner::Method::SubmitWindowedPoSt as u64;
/// DeclareFaults' method number.
pub const DECLARE_FAULTS: u64 = miner::Method::DeclareFaults as u64;
/// DeclareFaultsRecovered's method number.
pub const DECLARE_FAULTS_RECOVERED: u64 = miner::Method::DeclareFaultsRecovered as u64;

/// A message from `from` to `miner` (gas is estimated by the chain).
pub fn message<P: serde::Serialize>(
    from: Address,
    miner: Address,
    method: u64,
    params: &P,
) -> Result<Message, ProvingError> {
    let params = RawBytes::serialize(params)
        .map_err(|e| ProvingError::Internal(format!("encode parameters: {e}")))?;
    Ok(Message {
        version: 0,
        from,
        to: miner,
        sequence: 0,
        value: TokenAmount::default(),
        method_num: method,
        params,
        gas_limit: 0,
        gas_fee_cap: TokenAmount::default(),
        gas_premium: TokenAmount::default(),
    })
}

/// SubmitWindowedPoSt for `partitions` of `deadline`.
pub fn submit_post_params(
    deadline: u64,
    partitions: &[PartitionProof],
    proof: RegisteredPoStProof,
    proof_bytes: Vec<u8>,
    chain_commit_epoch: ChainEpoch,
    chain_commit_rand: [u8; 32],
) -> miner::SubmitWindowedPoStParams {
    miner::SubmitWindowedPoStParams {
        deadline,
        partitions: partitions
            .iter()
            .map(|p| miner::PoStPartition {
                index: p.index,
                skipped: p.skipped.clone(),
            })
            .collect(),
        proofs: vec![PoStProof {
            post_proof: proof,
            proof_bytes,
        }],
        chain_commit_epoch,
        chain_commit_rand: Randomness(chain_commit_rand.to_vec()),
    }
}

/// DeclareFaults for `(partition, sectors)` pairs of `deadline`.
pub fn faults_params(deadline: u64, parts: &[(u64, BitField)]) -> miner::DeclareFaultsParams {
    miner::DeclareFaultsParams {
        faults: parts
            .iter()
            .map(|(partition, sectors)| miner::FaultDeclaration {
                deadline,
                partition: *partition,
                sectors: sectors.clone(),
            })
            .collect(),
    }
}

/// DeclareFaultsRecovered for `(partition, sectors)` pairs of `deadline`.
pub fn recoveries_params(
    deadline: u64,
    parts: &[(u64, BitField)],
) -> miner::DeclareFaultsRecoveredParams {
    miner::DeclareFaultsRecoveredParams {
        recoveries: parts
            .iter()
            .map(|(partition, sectors)| miner::RecoveryDeclaration {
                deadline,
                partition: *partition,
                sectors: sectors.clone(),
            })
            .collect(),
    }
}
