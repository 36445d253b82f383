//! The PoRep C2 circuit over resident parameters, built as filecoin-proofs'
//! `seal_commit_phase2` builds it: the same public inputs, one circuit per
//! partition, Groth16 batches of at most ten, proofs written in partition
//! order. Dispatch on the sector's tree shape happens here, once.

use anyhow::{Context, ensure};
use blstrs::Scalar as Fr;
use filecoin_hashers::Domain;
use filecoin_proofs::constants::{DefaultPieceDomain, DefaultPieceHasher};
use filecoin_proofs::parameters::setup_params;
use filecoin_proofs::types::VanillaSealProof;
use filecoin_proofs::{as_safe_commitment, with_shape};
use storage_proofs_core::compound_proof::{self, CompoundProof};
use storage_proofs_core::merkle::MerkleTreeTrait;
use storage_proofs_porep::stacked::{self, StackedCompound, StackedDrg, generate_replica_id};

use super::pipeline::Turns;
use super::{LoadParams, Stages};
use crate::ProofsError;
use crate::guard::guarded;
use crate::seal::{C2Input, SealProofBytes, prover};

/// Refuses a C1 output whose replica id is not the one `input.sector` and
/// the C1 output's ticket and CommD give: a C2 for the wrong sector (or a
/// corrupted C1 output) fails here, before tens of seconds of SNARK.
pub(super) fn check_replica_id(input: &C2Input) -> Result<(), ProofsError> {
    let c1 = &input.c1.0;
    let porep_id = c1.registered_proof.as_v1_config().porep_id;
    let expected: Fr = generate_replica_id::<filecoin_proofs::constants::DefaultTreeHasher, _>(
        &prover(input.sector),
        input.sector.number.0,
        &c1.ticket,
        c1.comm_d,
        &porep_id,
    )
    .into();
    let got: Fr = c1.replica_id.into();
    if expected == got {
        Ok(())
    } else {
        Err(ProofsError::InvalidInput(format!(
            "the C1 output's replica id is not sector {} of miner {}'s (another sector's C1 output, or a corrupted one)",
            input.sector.number, input.sector.miner
        )))
    }
}

/// The seal proof of `input` (not yet verified), with the parameters `load`
/// gives (loaded while the circuits synthesize), its proving stage taken in
/// turn from `turns`; and where its time went. `None` when `load` finds the
/// kind on the mapped path.
pub(super) fn prove(
    input: &C2Input,
    load: LoadParams<'_>,
    turns: &Turns,
) -> Result<Option<(SealProofBytes, Stages)>, ProofsError> {
    let size = u64::from(input.c1.0.registered_proof.sector_size());
    let proven = guarded(
        "commit phase 2",
        || vec![input.sector.number.0],
        || with_shape!(size, prove_shape, input, load, turns),
    )?
    .context("commit phase 2 (resident parameters)")?;
    Ok(proven.map(|(proof, stages)| (SealProofBytes(proof), stages)))
}

fn prove_shape<Tree: 'static + MerkleTreeTrait>(
    input: &C2Input,
    load: LoadParams<'_>,
    turns: &Turns,
) -> anyhow::Result<Option<(Vec<u8>, Stages)>> {
    let c1 = input.c1.0.clone();
    let config = c1.registered_proof.as_v1_config();
    ensure!(c1.comm_d != [0; 32], "Invalid all zero commitment (comm_d)");
    ensure!(c1.comm_r != [0; 32], "Invalid all zero commitment (comm_r)");
    ensure!(c1.seed != [0; 32], "Invalid porep challenge seed");
    let vanilla: Vec<Vec<VanillaSealProof<Tree>>> = c1.vanilla_proofs.try_into()?;
    ensure!(
        !vanilla.is_empty() && vanilla.iter().all(|p| !p.is_empty()),
        "C1 output contains no vanilla proofs"
    );
    let replica_id: Fr = c1.replica_id.into();
    let public_inputs = stacked::PublicInputs {
        replica_id: replica_id.into(),
        tau: Some(stacked::Tau {
            comm_d: DefaultPieceDomain::try_from_bytes(&c1.comm_d)?,
            comm_r: as_safe_commitment(&c1.comm_r, "comm_r")?,
        }),
        k: None,
        seed: Some(c1.seed),
    };
    let public_params = <StackedCompound<Tree, DefaultPieceHasher> as CompoundProof<
        StackedDrg<'_, Tree, DefaultPieceHasher>,
        _,
    >>::setup(&compound_proof::SetupParams {
        vanilla_params: setup_params(&config)?,
        partitions: Some(usize::from(config.partitions)),
        priority: false,
    })?;
    let circuits = vanilla
        .iter()
        .enumerate()
        .map(|(k, partition)| {
            StackedCompound::<Tree, DefaultPieceHasher>::circuit(
                &public_inputs,
                (), // the stacked circuit has no component private inputs
                partition,
                &public_params.vanilla_params,
                Some(k),
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    super::prove_circuits(circuits, load, turns)
}
