//! Proofs of Spacetime: Winning PoSt (block production) and Window PoSt
//! (deadlines), over finalized sealed replicas.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use ferrite_types::{
    ActorId, CommR, PostKind, PostProof, PostRandomness, ProverId, SectorNumber, SectorSize,
};
use filecoin_proofs_api::{self as api, PrivateReplicaInfo, PublicReplicaInfo, post as fpost};
use serde::{Deserialize, Serialize};

use crate::guard::{guarded, panic_message};
use crate::params::require_params;
use crate::prover::PostReport;
use crate::{ProofsError, registered};

/// The PoSt's own rayon pool. filecoin-proofs runs vanilla proofs and
/// circuit synthesis on rayon; on the global pool a PoSt's jobs queue behind
/// those of a running C2 (minutes) and can miss their deadline. Here they
/// run on threads of their own, which the OS schedules beside C2's. (The
/// Groth16 multiexp and FFT run on bellperson's own pool, which stays
/// shared.)
fn post_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("post-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Runs `f` on the PoSt pool (or in place, if it could not be built).
fn on_post_pool<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    match post_pool() {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

/// A sealed sector, as a PoSt prover reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvingSector {
    /// The sector's number.
    pub number: SectorNumber,
    /// Its replica commitment, as on chain.
    pub comm_r: CommR,
    /// Its cache directory (finalized is enough).
    pub cache_dir: PathBuf,
    /// Its sealed file.
    pub sealed_path: PathBuf,
}

/// A sector as a PoSt verifier sees it: only what is on chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainSector {
    /// The sector's number.
    pub number: SectorNumber,
    /// Its replica commitment.
    pub comm_r: CommR,
}

/// Generates a PoSt over `sectors`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostInput {
    /// Winning or Window, and the sector size.
    pub proof: PostProof,
    /// The miner proving.
    pub miner: ActorId,
    /// The challenge randomness.
    pub randomness: PostRandomness,
    /// The sectors to prove: for Winning PoSt the challenged ones, for Window
    /// PoSt every non-faulty sector of the partitions.
    pub sectors: Vec<ProvingSector>,
}

/// Checks a PoSt against on-chain sector data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyPostInput {
    /// The miner that proved.
    pub miner: ActorId,
    /// The challenge randomness.
    pub randomness: PostRandomness,
    /// The proven sectors.
    pub sectors: Vec<ChainSector>,
    /// The proofs, with their kinds.
    pub proofs: Vec<PostProofBytes>,
}

/// One PoSt proof, as a block or SubmitWindowedPoSt carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostProofBytes {
    /// Its kind.
    pub proof: PostProof,
    /// The SNARK bytes.
    pub bytes: Vec<u8>,
}

/// Which of `sector_count` sectors a Winning PoSt with `randomness` challenges
/// (indices into the miner's sorted sector set).
pub fn winning_post_challenge(
    proof: PostProof,
    miner: ActorId,
    randomness: PostRandomness,
    sector_count: u64,
) -> Result<Vec<u64>, ProofsError> {
    expect_kind(proof, PostKind::Winning)?;
    Ok(guarded("draw winning post challenge", Vec::new, || {
        fpost::generate_winning_post_sector_challenge(
            registered::post(proof),
            randomness.as_bytes(),
            sector_count,
            *ProverId::from(miner).as_bytes(),
        )
    })?
    .context("draw winning post challenge")?)
}

/// Generates a Winning PoSt through the resident prover (the library's
/// mapped path when its parameters cannot be resident), verified before it
/// is returned. Needs the proof's parameters.
pub fn generate_winning_post(input: &PostInput) -> Result<Vec<PostProofBytes>, ProofsError> {
    generate_winning_post_report(input).map(|r| r.proofs)
}

/// [`generate_winning_post`], with where the time went.
pub fn generate_winning_post_report(input: &PostInput) -> Result<PostReport, ProofsError> {
    generate_report(input, PostKind::Winning, fpost::generate_winning_post)
}

/// Checks a Winning PoSt.
pub fn verify_winning_post(input: &VerifyPostInput) -> Result<bool, ProofsError> {
    let [only] = input.proofs.as_slice() else {
        return Err(ProofsError::InvalidInput(format!(
            "a winning post has exactly one proof, got {}",
            input.proofs.len()
        )));
    };
    expect_kind(only.proof, PostKind::Winning)?;
    let replicas = public_replicas(only.proof, input)?;
    Ok(guarded(
        "verify winning post",
        || input.sectors.iter().map(|s| s.number.0).collect(),
        || {
            fpost::verify_winning_post(
                input.randomness.as_bytes(),
                &only.bytes,
                &replicas,
                *ProverId::from(input.miner).as_bytes(),
            )
        },
    )?
    .context("verify winning post")?)
}

/// Generates a Window PoSt over every sector of `input` through the
/// resident prover (the library's mapped path when its parameters cannot be
/// resident), verified before it is returned. Needs the proof's parameters.
pub fn generate_window_post(input: &PostInput) -> Result<Vec<PostProofBytes>, ProofsError> {
    generate_window_post_report(input).map(|r| r.proofs)
}

/// [`generate_window_post`], with where the time went.
pub fn generate_window_post_report(input: &PostInput) -> Result<PostReport, ProofsError> {
    generate_report(input, PostKind::Window, fpost::generate_window_post)
}

/// The library's PoSt generator, `generate_window_post` or
/// `generate_winning_post` (the mapped path).
type LibraryPost = fn(
    &[u8; 32],
    &BTreeMap<api::SectorId, PrivateReplicaInfo>,
    [u8; 32],
) -> anyhow::Result<Vec<(api::RegisteredPoStProof, Vec<u8>)>>;

/// A PoSt of `kind` through the resident prover, on the PoSt pool, with
/// `library` as the mapped path.
fn generate_report(
    input: &PostInput,
    kind: PostKind,
    library: LibraryPost,
) -> Result<PostReport, ProofsError> {
    expect_kind(input.proof, kind)?;
    let replicas = private_replicas(input)?;
    let what = match kind {
        PostKind::Window => "generate window post",
        PostKind::Winning => "generate winning post",
    };
    on_post_pool(|| {
        crate::prover::post_report(input, || {
            let out = guarded(
                what,
                || numbers(&input.sectors),
                || {
                    library(
                        input.randomness.as_bytes(),
                        &replicas,
                        *ProverId::from(input.miner).as_bytes(),
                    )
                },
            )?
            .context(what)?;
            proofs_back(out)
        })
    })
}

/// Checks a Window PoSt.
pub fn verify_window_post(input: &VerifyPostInput) -> Result<bool, ProofsError> {
    let Some(first) = input.proofs.first() else {
        return Err(ProofsError::InvalidInput(
            "no window post proof".to_string(),
        ));
    };
    for p in &input.proofs {
        expect_kind(p.proof, PostKind::Window)?;
    }
    let replicas = public_replicas(first.proof, input)?;
    let proofs: Vec<(api::RegisteredPoStProof, &[u8])> = input
        .proofs
        .iter()
        .map(|p| (registered::post(p.proof), p.bytes.as_slice()))
        .collect();
    Ok(guarded(
        "verify window post",
        || input.sectors.iter().map(|s| s.number.0).collect(),
        || {
            fpost::verify_window_post(
                input.randomness.as_bytes(),
                &proofs,
                &replicas,
                *ProverId::from(input.miner).as_bytes(),
            )
        },
    )?
    .context("verify window post")?)
}

/// Whether each sector can be proven: Lotus's `CheckProvable`. For each
/// sector it draws the Window PoSt challenges for `randomness` and builds the
/// vanilla proof, which reads the challenged leaves from the sealed file and
/// checks their Merkle paths against the cached tree's root; a missing,
/// truncated or corrupted replica fails. Returns the sectors that failed,
/// with the reason. Needs no Groth16 parameters. `proof` is the PoSt the
/// sectors are about to be proven with: Window PoSt for deadlines, Winning
/// PoSt before a block (its challenges, for the block's randomness).
pub fn check_provable(
    proof: PostProof,
    miner: ActorId,
    randomness: PostRandomness,
    sectors: &[ProvingSector],
) -> Result<Vec<(SectorNumber, String)>, ProofsError> {
    if sectors.is_empty() {
        return Ok(Vec::new());
    }
    let p = registered::post(proof);
    let prover = *ProverId::from(miner).as_bytes();
    let ids: Vec<api::SectorId> = sectors
        .iter()
        .map(|s| api::SectorId::from(s.number.0))
        .collect();
    let challenges = guarded(
        "draw fault-check challenges",
        || numbers(sectors),
        || fpost::generate_fallback_sector_challenges(p, randomness.as_bytes(), &ids, prover),
    )?
    .context("draw fault-check challenges")?;
    let mut bad = Vec::new();
    for s in sectors {
        let id = api::SectorId::from(s.number.0);
        let outcome = match challenges.get(&id) {
            None => Err("no challenges drawn".to_string()),
            Some(ch) => check_one(p, id, s, ch),
        };
        if let Err(why) = outcome {
            bad.push((s.number, why));
        }
    }
    Ok(bad)
}

fn check_one(
    p: api::RegisteredPoStProof,
    id: api::SectorId,
    s: &ProvingSector,
    challenges: &[u64],
) -> Result<(), String> {
    let expected = u64::from(p.sector_size());
    match std::fs::metadata(&s.sealed_path) {
        Ok(m) if m.len() == expected => {}
        Ok(m) => {
            return Err(format!(
                "sealed file {} has {} bytes, expected {expected}",
                s.sealed_path.display(),
                m.len()
            ));
        }
        Err(e) => return Err(format!("sealed file {}: {e}", s.sealed_path.display())),
    }
    let replica =
        PrivateReplicaInfo::new(p, s.comm_r.0, s.cache_dir.clone(), s.sealed_path.clone());
    // The library panics on some unreadable trees; a panic is a failed check.
    let proof = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        on_post_pool(|| fpost::generate_single_vanilla_proof(p, id, &replica, challenges))
    }));
    match proof {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(p) => Err(format!(
            "the vanilla proof panicked: {}",
            panic_message(p.as_ref())
        )),
    }
}

/// The numbers of `sectors`, for errors.
fn numbers(sectors: &[ProvingSector]) -> Vec<u64> {
    sectors.iter().map(|s| s.number.0).collect()
}

fn expect_kind(proof: PostProof, kind: PostKind) -> Result<(), ProofsError> {
    if proof.kind == kind {
        Ok(())
    } else {
        Err(ProofsError::InvalidInput(format!(
            "expected a {kind:?} PoSt proof kind, got {proof}"
        )))
    }
}

fn require_post_params(proof: PostProof, vk_only: bool) -> Result<(), ProofsError> {
    let p = registered::post(proof);
    let size: SectorSize = proof.size;
    if vk_only {
        require_params(&[p.cache_verifying_key_path()], size)
    } else {
        require_params(&[p.cache_params_path(), p.cache_verifying_key_path()], size)
    }
}

fn private_replicas(
    input: &PostInput,
) -> Result<BTreeMap<api::SectorId, PrivateReplicaInfo>, ProofsError> {
    if input.sectors.is_empty() {
        return Err(ProofsError::InvalidInput("no sectors to prove".to_string()));
    }
    require_post_params(input.proof, false)?;
    let p = registered::post(input.proof);
    Ok(input
        .sectors
        .iter()
        .map(|s| {
            (
                api::SectorId::from(s.number.0),
                PrivateReplicaInfo::new(p, s.comm_r.0, s.cache_dir.clone(), s.sealed_path.clone()),
            )
        })
        .collect())
}

fn public_replicas(
    proof: PostProof,
    input: &VerifyPostInput,
) -> Result<BTreeMap<api::SectorId, PublicReplicaInfo>, ProofsError> {
    require_post_params(proof, true)?;
    let p = registered::post(proof);
    Ok(input
        .sectors
        .iter()
        .map(|s| {
            (
                api::SectorId::from(s.number.0),
                PublicReplicaInfo::new(p, s.comm_r.0),
            )
        })
        .collect())
}

fn proofs_back(
    out: Vec<(api::RegisteredPoStProof, Vec<u8>)>,
) -> Result<Vec<PostProofBytes>, ProofsError> {
    out.into_iter()
        .map(|(p, bytes)| {
            let proof = registered::post_back(p).ok_or_else(|| {
                ProofsError::Proof(anyhow::anyhow!("library returned proof kind {p:?}"))
            })?;
            Ok(PostProofBytes { proof, bytes })
        })
        .collect()
}
