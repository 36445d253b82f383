//! The resident prover: C2, Window PoSt and Winning PoSt with the Groth16
//! parameters decoded once per process and kept in memory.
//!
//! filecoin-proofs hands bellperson memory-mapped parameters, which decode
//! every curve point they use again for each proof. Here each proof kind's
//! `.params` file is read into bellperson's in-memory `Parameters` by the
//! first C2 of that kind (or at start, `[proofs.resident] preload`), and every
//! later C2 in the process proves from the same decoded points. The Groth16
//! work is split in two stages ([`groth16`]), so that C2s in flight form a
//! [`pipeline`]: each synthesizes on the CPU, then waits its turn to prove.
//!
//! ```text
//!  C1 output ─► check replica id ─► circuits (one per partition)
//!               (cheap; a mismatched sector is refused before the SNARK)
//!      ─► synthesize (CPU) ─► wait for a proving turn ─► FFTs, multiexps (GPU or CPU)
//!           │ beside it, a kind's first C2 decodes the      ▲
//!           └─ resident Parameters (once per kind) ─────────┘
//!  proof bytes ◄─ verify_seal (a proof that does not verify is an error)
//! ```
//!
//! The circuit is built as filecoin-proofs' `seal_commit_phase2` builds it
//! (same public inputs, partitions and batching), so the proof bytes are the
//! ones the chain's miner actor verifies. Parameters that would pass
//! `[proofs.resident] max_mib` are not loaded: that kind is proven on the
//! library's mapped path, and the log says so once.
//!
//! Window and Winning PoSt go the same way: their parameters are loaded by
//! the first PoSt of each kind, the circuits are built as filecoin-proofs'
//! `generate_window_post` and `generate_winning_post` build them, and every
//! proof passes `verify_window_post` or `verify_winning_post` before it is
//! returned.
//!
//! - [`resident`]: the parameter sets in memory and their accounting.
//! - [`groth16`]: our Groth16 driver in two stages, synthesis and proving,
//!   over bellperson's domain, multiexp and GPU kernels.
//! - [`pipeline`]: the proving turns C2s wait for, synthesized, in order.
//! - [`porep`]: the C2 circuit and proof over a resident parameter set.
//! - [`post`]: the PoSt circuits and proofs over a resident parameter set,
//!   proven by bellperson's own batch prover at its GPU priority (PoSt takes
//!   no turn: its deadlines do not wait behind C2s).

mod groth16;
pub mod pipeline;
mod porep;
mod post;
mod resident;

use std::time::{Duration, Instant};

use ferrite_types::{SealProof, SectorId, SectorSize};
use tracing::{info, warn};

use crate::guard::guarded;
use crate::post::{ChainSector, PostInput, PostProofBytes, VerifyPostInput};
use crate::seal::{C1Output, C2Input, SealProofBytes};
use crate::{ProofsError, ResidentConfig};
pub use resident::ResidentStats;
use resident::{Kind, Slot};

/// filecoin-proofs proves at most this many partitions in one bellperson batch.
const MAX_BATCH: usize = 10;

/// Where a proof's time went, stage by stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stages {
    /// Circuit synthesis (witness and constraint evaluation), on the CPU.
    pub synthesis: Duration,
    /// Waiting, synthesized, for a proving turn ([`pipeline`]).
    pub queued: Duration,
    /// FFTs and multiexps (on the GPU where there is one).
    pub proving: Duration,
}

/// Resident parameters, or `None` where the kind is proven on the mapped
/// path; called once, on its own thread, while the first batch synthesizes.
type LoadParams<'a> = Box<dyn FnOnce() -> Result<Option<Params>, ProofsError> + Send + 'a>;
type Params = std::sync::Arc<bellperson::groth16::Parameters<blstrs::Bls12>>;

/// Proves `circuits` (one per partition) with `params` in bellperson's own
/// batch prover, batches of at most [`MAX_BATCH`] as filecoin-proofs does,
/// and writes the proofs in partition order. PoSt goes this way: with
/// `priority`, bellperson holds its GPU priority lock for the whole proof,
/// so that C2 kernels give the card up to it.
fn prove_in_library<C>(
    mut circuits: Vec<C>,
    params: &bellperson::groth16::Parameters<blstrs::Bls12>,
    priority: bool,
) -> anyhow::Result<Vec<u8>>
where
    C: bellperson::Circuit<blstrs::Scalar> + Send,
{
    use bellperson::groth16::{create_random_proof_batch, create_random_proof_batch_in_priority};
    let mut out = Vec::new();
    while !circuits.is_empty() {
        let batch: Vec<C> = circuits.drain(..MAX_BATCH.min(circuits.len())).collect();
        let proofs = if priority {
            create_random_proof_batch_in_priority(batch, params, &mut rand_core::OsRng)?
        } else {
            create_random_proof_batch(batch, params, &mut rand_core::OsRng)?
        };
        for proof in proofs {
            proof.write(&mut out)?;
        }
    }
    Ok(out)
}

/// Proves `circuits` (one per partition) in Groth16 batches of at most
/// [`MAX_BATCH`], as filecoin-proofs does, through the two stages of
/// [`groth16`], and writes the proofs in partition order; `None` if `load`
/// finds the kind on the mapped path. `load` runs beside the first batch's
/// synthesis, so a kind's first proof decodes its parameters while its
/// circuits are built. Each batch is synthesized first, then waits for a
/// proving turn from `turns` (C2's [`pipeline`]).
fn prove_circuits<C>(
    mut circuits: Vec<C>,
    load: LoadParams<'_>,
    turns: &pipeline::Turns,
) -> anyhow::Result<Option<(Vec<u8>, Stages)>>
where
    C: bellperson::Circuit<blstrs::Scalar> + Send,
{
    let mut out = Vec::new();
    let mut stages = Stages::default();
    let mut load = Some(load);
    let mut params: Option<Params> = None;
    while !circuits.is_empty() {
        let batch: Vec<C> = circuits.drain(..MAX_BATCH.min(circuits.len())).collect();
        let started = Instant::now();
        let witnesses = match load.take() {
            Some(load) => {
                let (witnesses, loaded) = std::thread::scope(|s| {
                    let loading = std::thread::Builder::new()
                        .name("params-load".to_string())
                        .spawn_scoped(s, load);
                    let witnesses = groth16::synthesize(batch);
                    // The wait for a load that outlasts synthesis is the
                    // load's, not synthesis's.
                    stages.synthesis += started.elapsed();
                    let loaded = match loading {
                        Ok(handle) => handle.join().map_err(|_| {
                            anyhow::anyhow!("loading the Groth16 parameters panicked")
                        }),
                        Err(e) => Err(anyhow::anyhow!("start the parameter load: {e}")),
                    };
                    (witnesses, loaded)
                });
                match loaded?? {
                    Some(p) => params = Some(p),
                    None => return Ok(None),
                }
                witnesses?
            }
            None => {
                let witnesses = groth16::synthesize(batch)?;
                stages.synthesis += started.elapsed();
                witnesses
            }
        };
        let params = params
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("no Groth16 parameters after the first batch"))?;
        let started = Instant::now();
        let turn = turns.take(witnesses.iter().map(groth16::Witness::bytes).sum());
        stages.queued += started.elapsed();
        let started = Instant::now();
        let proofs = groth16::prove(witnesses, params, &mut rand_core::OsRng)?;
        drop(turn);
        stages.proving += started.elapsed();
        for proof in proofs {
            proof.write(&mut out)?;
        }
    }
    Ok(Some((out, stages)))
}

/// How one C2 went through the resident prover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C2Report {
    /// The proof, verified.
    pub proof: SealProofBytes,
    /// Whether the parameters were resident (false: the mapped path).
    pub resident: bool,
    /// Time spent loading parameters for this call (zero once resident).
    /// On the resident path the load runs beside synthesis, so it adds to
    /// the C2's time only where it outlasts synthesis.
    pub load: Duration,
    /// Synthesis, the wait for a proving turn, and the FFTs and multiexps.
    /// On the mapped path the library's whole call counts as `proving`.
    pub stages: Stages,
    /// The `verify_seal` check.
    pub verify: Duration,
}

/// The SNARK of `input` through the resident prover, checked with
/// `verify_seal` before it is returned.
pub fn c2(input: C2Input) -> Result<SealProofBytes, ProofsError> {
    c2_report(input).map(|r| r.proof)
}

/// [`c2`], with where the time went.
pub fn c2_report(input: C2Input) -> Result<C2Report, ProofsError> {
    let registered = input.c1.0.registered_proof;
    let size = SectorSize::from_bytes(u64::from(registered.sector_size()))
        .map_err(|e| ProofsError::InvalidInput(e.to_string()))?;
    let kind = SealProof::new(size);
    if crate::registered::seal(kind) != registered {
        // Not the kind Ferrite seals (an older or non-interactive PoRep):
        // the library's own path knows it.
        return mapped(input, Duration::ZERO);
    }
    porep::check_replica_id(&input)?;
    let cfg = config();
    let kind = Kind::Seal(kind);
    if !resident::may_hold(kind, &cfg)? {
        return mapped(input, Duration::ZERO);
    }
    let mut load = Duration::ZERO;
    let proven = porep::prove(
        &input,
        Box::new(|| {
            let started = Instant::now();
            let slot = resident::slot(kind, &cfg);
            load = started.elapsed();
            Ok(match slot? {
                Slot::Resident(params) => Some(params),
                Slot::Mapped => None,
            })
        }),
        pipeline::turns(),
    )?;
    match proven {
        Some((proof, stages)) => {
            info!(
                sector = %input.sector.number,
                synthesis_ms = stages.synthesis.as_millis(),
                queued_ms = stages.queued.as_millis(),
                proving_ms = stages.proving.as_millis(),
                "C2 proven"
            );
            let started = Instant::now();
            check_seal_proof(&input.c1, input.sector, &proof)?;
            Ok(C2Report {
                proof,
                resident: true,
                load,
                stages,
                verify: started.elapsed(),
            })
        }
        // Another kind's load took the room meanwhile: the library's path.
        None => mapped(input, load),
    }
}

/// The library's own C2 (memory-mapped parameters), which verifies its
/// proof itself; the fallback when parameters cannot be resident.
fn mapped(input: C2Input, load: Duration) -> Result<C2Report, ProofsError> {
    let started = Instant::now();
    let proof = crate::seal::c2_mapped(input)?;
    Ok(C2Report {
        proof,
        resident: false,
        load,
        stages: Stages {
            proving: started.elapsed(),
            ..Stages::default()
        },
        verify: Duration::ZERO,
    })
}

/// Checks `proof` against the C1 output it was made from, as the chain
/// does: an error unless `verify_seal` accepts it.
pub fn check_seal_proof(
    c1: &C1Output,
    sector: SectorId,
    proof: &SealProofBytes,
) -> Result<(), ProofsError> {
    let c1 = &c1.0;
    let size = SectorSize::from_bytes(u64::from(c1.registered_proof.sector_size()))
        .map_err(|e| ProofsError::InvalidInput(e.to_string()))?;
    crate::params::require_params(&[c1.registered_proof.cache_verifying_key_path()], size)?;
    let ok = crate::guard::guarded(
        "verify seal proof",
        || vec![sector.number.0],
        || {
            filecoin_proofs_api::seal::verify_seal(
                c1.registered_proof,
                c1.comm_r,
                c1.comm_d,
                crate::seal::prover(sector),
                crate::seal::sector_id(sector),
                c1.ticket,
                c1.seed,
                &proof.0,
            )
        },
    )?
    .map_err(|e| ProofsError::Proof(e.context("verify seal proof")))?;
    if ok {
        Ok(())
    } else {
        Err(ProofsError::Proof(anyhow::anyhow!(
            "the C2 proof of sector {} does not verify against its C1 output",
            sector.number
        )))
    }
}

/// How one PoSt went through the resident prover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostReport {
    /// The proofs, verified.
    pub proofs: Vec<PostProofBytes>,
    /// Whether the parameters were resident (false: the mapped path).
    pub resident: bool,
    /// Time spent loading parameters for this call (zero once resident).
    pub load: Duration,
    /// The vanilla proofs, circuit synthesis and the Groth16 prover.
    pub prove: Duration,
    /// The `verify_window_post` or `verify_winning_post` check.
    pub verify: Duration,
}

/// A Window or Winning PoSt of `input` through the resident prover, checked
/// by the verifier of its kind before it is returned. `mapped` is the
/// library's own path, for parameters that cannot be resident. Blocking.
pub(crate) fn post_report(
    input: &PostInput,
    mapped: impl FnOnce() -> Result<Vec<PostProofBytes>, ProofsError>,
) -> Result<PostReport, ProofsError> {
    let started = Instant::now();
    let slot = resident::slot(Kind::Post(input.proof), &config())?;
    let load = started.elapsed();
    let started = Instant::now();
    let (proofs, resident) = match slot {
        Slot::Resident(params) => {
            let replicas: Vec<post::Replica> = input
                .sectors
                .iter()
                .map(|s| post::Replica {
                    number: s.number.0,
                    comm_r: s.comm_r.0,
                    cache_dir: s.cache_dir.clone(),
                    sealed_path: s.sealed_path.clone(),
                })
                .collect();
            let config = crate::registered::post(input.proof).as_v1_config();
            let bytes = guarded(
                "generate post",
                || input.sectors.iter().map(|s| s.number.0).collect(),
                || {
                    post::prove(
                        &config,
                        input.randomness.as_bytes(),
                        *ferrite_types::ProverId::from(input.miner).as_bytes(),
                        &replicas,
                        &params,
                    )
                },
            )?
            .map_err(|e| {
                ProofsError::Proof(e.context(format!("{} (resident parameters)", input.proof)))
            })?;
            let proofs = vec![PostProofBytes {
                proof: input.proof,
                bytes,
            }];
            (proofs, true)
        }
        Slot::Mapped => (mapped()?, false),
    };
    let prove = started.elapsed();
    let started = Instant::now();
    check_post_proofs(input, &proofs)?;
    Ok(PostReport {
        proofs,
        resident,
        load,
        prove,
        verify: started.elapsed(),
    })
}

/// Checks PoSt `proofs` against the input they were made from, as the
/// chain does: an error unless the verifier of their kind accepts them.
pub fn check_post_proofs(input: &PostInput, proofs: &[PostProofBytes]) -> Result<(), ProofsError> {
    let verify = VerifyPostInput {
        miner: input.miner,
        randomness: input.randomness,
        sectors: input
            .sectors
            .iter()
            .map(|s| ChainSector {
                number: s.number,
                comm_r: s.comm_r,
            })
            .collect(),
        proofs: proofs.to_vec(),
    };
    let ok = match input.proof.kind {
        ferrite_types::PostKind::Window => crate::post::verify_window_post(&verify)?,
        ferrite_types::PostKind::Winning => crate::post::verify_winning_post(&verify)?,
    };
    if ok {
        Ok(())
    } else {
        Err(ProofsError::Proof(anyhow::anyhow!(
            "the {} of sectors {:?} does not verify",
            input.proof,
            input.sectors.iter().map(|s| s.number.0).collect::<Vec<_>>()
        )))
    }
}

/// Loads the PoRep parameters of `sizes` now, each within the cap, so that
/// the first C2 does not wait for them. Blocking.
pub fn preload(sizes: &[SectorSize]) -> Result<(), ProofsError> {
    let cfg = config();
    for &size in sizes {
        match resident::slot(Kind::Seal(SealProof::new(size)), &cfg)? {
            Slot::Resident(_) => info!(%size, "PoRep parameters preloaded"),
            Slot::Mapped => warn!(%size, "PoRep parameters not preloaded: over the cap"),
        }
    }
    Ok(())
}

/// What is resident now, and how often parameters were loaded.
pub fn stats() -> ResidentStats {
    resident::stats()
}

fn config() -> ResidentConfig {
    crate::settings::applied()
        .map(|c| c.resident.clone())
        .unwrap_or_default()
}
