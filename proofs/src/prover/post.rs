//! Window and Winning PoSt over resident parameters, built as
//! filecoin-proofs' `generate_window_post` and `generate_winning_post` build
//! them: the same vanilla proofs (checked before the SNARK), public inputs,
//! partitions and Groth16 batches, so the bytes are the ones the chain's
//! miner actor and block validation verify. Dispatch on the sectors' tree
//! shape happens here, once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Params;
use anyhow::{Context, ensure};
use filecoin_hashers::Hasher;
use filecoin_proofs::parameters::{window_post_setup_params, winning_post_setup_params};
use filecoin_proofs::{PoStConfig, PoStType, PrivateReplicaInfo, as_safe_commitment, with_shape};
use storage_proofs_core::compound_proof::{self, CompoundProof};
use storage_proofs_core::merkle::MerkleTreeTrait;
use storage_proofs_core::proof::ProofScheme;
use storage_proofs_core::sector::SectorId;
use storage_proofs_post::fallback::{
    self, FallbackPoSt, FallbackPoStCompound, PrivateSector, PublicSector,
};

/// One sealed sector, as the prover reads it.
pub(crate) struct Replica {
    /// Its number.
    pub number: u64,
    /// Its CommR.
    pub comm_r: [u8; 32],
    /// Its (finalized) cache directory.
    pub cache_dir: PathBuf,
    /// Its sealed file.
    pub sealed_path: PathBuf,
}

/// The PoSt of `config`'s kind over `replicas`, proven with `params` (not yet
/// verified): one Groth16 proof per partition, in partition order.
pub(super) fn prove(
    config: &PoStConfig,
    randomness: &[u8; 32],
    prover_id: [u8; 32],
    replicas: &[Replica],
    params: &Params,
) -> anyhow::Result<Vec<u8>> {
    let size = u64::from(config.sector_size);
    with_shape!(
        size,
        prove_shape,
        config,
        randomness,
        prover_id,
        replicas,
        params
    )
}

fn prove_shape<Tree: 'static + MerkleTreeTrait>(
    config: &PoStConfig,
    randomness: &[u8; 32],
    prover_id: [u8; 32],
    replicas: &[Replica],
    params: &Params,
) -> anyhow::Result<Vec<u8>> {
    type Domain<T> = <<T as MerkleTreeTrait>::Hasher as Hasher>::Domain;
    let randomness: Domain<Tree> = as_safe_commitment(randomness, "randomness")?;
    let prover_id: Domain<Tree> = as_safe_commitment(&prover_id, "prover_id")?;
    // Sorted by sector number, one entry per sector, as the library's
    // callers hand them over (a map for Window PoSt; Winning PoSt's
    // challenged sectors come sorted).
    let mut sorted = BTreeMap::new();
    for r in replicas {
        let info =
            PrivateReplicaInfo::<Tree>::new(r.sealed_path.clone(), r.comm_r, r.cache_dir.clone())
                .with_context(|| format!("sector {}'s replica", r.number))?;
        sorted.insert(SectorId::from(r.number), info);
    }
    ensure!(!sorted.is_empty(), "no replicas to prove");
    let (vanilla_params, partitions, rounds) = match config.typ {
        PoStType::Window => {
            // filecoin-proofs' get_partitions_for_window_post: one partition
            // per `sector_count` sectors, `None` for a single one.
            let partitions = sorted.len().div_ceil(config.sector_count);
            (
                window_post_setup_params(config),
                (partitions > 1).then_some(partitions),
                1,
            )
        }
        PoStType::Winning => {
            ensure!(
                sorted.len() == config.sector_count,
                "a Winning PoSt proves {} sectors, not {}",
                config.sector_count,
                sorted.len()
            );
            let vanilla_params = winning_post_setup_params(config)?;
            // Each challenged sector stands `sector_count` times in the
            // circuit, as the library lays it out.
            let rounds = vanilla_params.sector_count;
            (vanilla_params, None, rounds)
        }
    };
    let pub_params = FallbackPoStCompound::<Tree>::setup(&compound_proof::SetupParams {
        vanilla_params,
        partitions,
        priority: config.priority,
    })?;
    let trees = sorted
        .iter()
        .map(|(id, replica)| {
            replica
                .merkle_tree(config.sector_size)
                .with_context(|| format!("sector {id:?}'s Merkle tree"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut pub_sectors = Vec::with_capacity(rounds * sorted.len());
    let mut priv_sectors = Vec::with_capacity(rounds * sorted.len());
    for _ in 0..rounds {
        for ((id, replica), tree) in sorted.iter().zip(&trees) {
            pub_sectors.push(PublicSector {
                id: *id,
                comm_r: replica.safe_comm_r()?,
            });
            priv_sectors.push(PrivateSector {
                tree,
                comm_c: replica.safe_comm_c(),
                comm_r_last: replica.safe_comm_r_last(),
            });
        }
    }
    let pub_inputs = fallback::PublicInputs {
        randomness,
        prover_id,
        sectors: pub_sectors,
        k: None,
    };
    let priv_inputs = fallback::PrivateInputs::<Tree> {
        sectors: &priv_sectors,
    };
    let partition_count = FallbackPoStCompound::<Tree>::partition_count(&pub_params);
    let vanilla = FallbackPoSt::<Tree>::prove_all_partitions(
        &pub_params.vanilla_params,
        &pub_inputs,
        &priv_inputs,
        partition_count,
    )?;
    ensure!(
        FallbackPoSt::<Tree>::verify_all_partitions(
            &pub_params.vanilla_params,
            &pub_inputs,
            &vanilla
        )?,
        "the vanilla PoSt proofs do not verify (a damaged replica or cache)"
    );
    let circuits = vanilla
        .iter()
        .enumerate()
        .map(|(k, proof)| {
            FallbackPoStCompound::<Tree>::circuit(
                &pub_inputs,
                Default::default(),
                proof,
                &pub_params.vanilla_params,
                Some(k),
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // PoSt takes no pipeline turn (its deadline does not wait behind C2s),
    // and bellperson's own prover holds the GPU priority lock for it.
    super::prove_in_library(circuits, params, config.priority)
}
