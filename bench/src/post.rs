//! Window and Winning PoSt through Ferrite's prover and through
//! filecoin-proofs-api directly, in the same run.
//!
//! Setup (untimed, [`Partition::seal`]): one Window PoSt partition's worth of
//! sectors (2 at 2 KiB, as the proof type fixes) sealed with PC1 and PC2 on
//! the raw library and finalized (only what a PoSt reads stays). Then, each
//! round, in alternating order:
//! - raw: `filecoin_proofs_api::post::generate_window_post` over the
//!   partition (`generate_winning_post` over the first sector);
//! - ferrite, proof: `ferrite_proofs::post::generate_window_post`
//!   (`generate_winning_post`) through the `Workers` bridge's PoSt slot;
//! - ferrite, prover step (Window PoSt only): what
//!   `ferrite_proving::WindowPoster` does per partition: the fault check
//!   (`check_provable`), the proof, and the local verification.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use ferrite_proofs::post::{ChainSector, PostInput, ProvingSector, VerifyPostInput};
use ferrite_proofs::{Stage, Workers};
use ferrite_types::{
    ActorId, CommR, PostKind, PostRandomness, ProverId, SealProof, SectorNumber, SectorSize,
};
use filecoin_proofs_api::{
    PrivateReplicaInfo, RegisteredPoStProof, RegisteredSealProof, SectorId, UnpaddedBytesAmount,
    post, seal,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use tokio::runtime::Runtime;

const MINER: ActorId = ActorId(1000);

/// A partition of sealed, finalized sectors: what a PoSt needs.
#[derive(Debug)]
pub struct Partition {
    size: SectorSize,
    /// The sectors, numbered from 1.
    pub sectors: Vec<ProvingSector>,
    rng: ChaCha20Rng,
}

/// The library's proof types of `size`: (seal, winning, window).
pub fn registered(
    size: SectorSize,
) -> anyhow::Result<(
    RegisteredSealProof,
    RegisteredPoStProof,
    RegisteredPoStProof,
)> {
    Ok(match size {
        SectorSize::S2KiB => (
            RegisteredSealProof::StackedDrg2KiBV1_1,
            RegisteredPoStProof::StackedDrgWinning2KiBV1,
            RegisteredPoStProof::StackedDrgWindow2KiBV1_2,
        ),
        SectorSize::S8MiB => (
            RegisteredSealProof::StackedDrg8MiBV1_1,
            RegisteredPoStProof::StackedDrgWinning8MiBV1,
            RegisteredPoStProof::StackedDrgWindow8MiBV1_2,
        ),
        other => bail!("the bench runs 2KiB or 8MiB sectors, not {other}"),
    })
}

impl Partition {
    /// Seals one Window PoSt partition of random-data sectors of `size`
    /// into `dir`.
    pub fn seal(size: SectorSize, dir: &Path) -> anyhow::Result<Self> {
        let (sp, _, window) = registered(size)?;
        let mut rng = ChaCha20Rng::from_entropy();
        let sectors = (1..=window.sector_count() as u64)
            .map(|n| seal_sector(sp, size, dir, n, &mut rng))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { size, sectors, rng })
    }

    fn randomness(&mut self) -> PostRandomness {
        let mut r = [0u8; 32];
        self.rng.fill_bytes(&mut r);
        PostRandomness::new(r)
    }

    fn raw_replicas(
        &self,
        proof: RegisteredPoStProof,
        n: usize,
    ) -> BTreeMap<SectorId, PrivateReplicaInfo> {
        self.sectors
            .iter()
            .take(n)
            .map(|s| {
                (
                    SectorId::from(s.number.0),
                    PrivateReplicaInfo::new(
                        proof,
                        s.comm_r.0,
                        s.cache_dir.clone(),
                        s.sealed_path.clone(),
                    ),
                )
            })
            .collect()
    }
}

/// The times of each path, one entry per round.
#[derive(Debug, Clone, Default)]
pub struct PostRuns {
    /// filecoin-proofs-api directly.
    pub raw: Vec<Duration>,
    /// ferrite-proofs' proof through the bridge.
    pub proof: Vec<Duration>,
    /// The Window PoSt prover step (check, proof, verify); empty for
    /// Winning PoSt.
    pub step: Vec<Duration>,
}

/// `rounds` Window PoSts of the whole partition on each path.
pub fn window(
    rt: &Runtime,
    workers: &Workers,
    part: &mut Partition,
    rounds: usize,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<PostRuns> {
    let (_, _, raw_proof) = registered(part.size)?;
    let raw_replicas = part.raw_replicas(raw_proof, part.sectors.len());
    let chain: Vec<ChainSector> = part
        .sectors
        .iter()
        .map(|s| ChainSector {
            number: s.number,
            comm_r: s.comm_r,
        })
        .collect();
    let post_proof = SealProof::new(part.size).window_post();
    let mut runs = PostRuns::default();
    for round in 0..rounds {
        progress(format!("WindowPoSt: round {}/{rounds}", round + 1));
        let randomness = part.randomness();
        let raw = || raw_post(PostKind::Window, randomness, &raw_replicas);
        let input = PostInput {
            proof: post_proof,
            miner: MINER,
            randomness,
            sectors: part.sectors.clone(),
        };
        let step = || -> anyhow::Result<Duration> {
            let (input, chain) = (input.clone(), chain.clone());
            let t = Instant::now();
            let ok = rt.block_on(workers.run(Stage::Post, move || {
                let bad = ferrite_proofs::post::check_provable(
                    input.proof,
                    input.miner,
                    input.randomness,
                    &input.sectors,
                )?;
                if !bad.is_empty() {
                    return Err(ferrite_proofs::ProofsError::InvalidInput(format!(
                        "sectors failed the check: {bad:?}"
                    )));
                }
                let proofs = ferrite_proofs::post::generate_window_post(&input)?;
                ferrite_proofs::post::verify_window_post(&VerifyPostInput {
                    miner: input.miner,
                    randomness: input.randomness,
                    sectors: chain,
                    proofs,
                })
            }))?;
            let d = t.elapsed();
            ensure!(ok, "the Window PoSt did not verify");
            Ok(d)
        };
        // Alternate the order, so caches favour no side.
        if round % 2 == 0 {
            runs.raw.push(raw()?);
            runs.proof.push(ferrite_proof(rt, workers, &input)?);
            runs.step.push(step()?);
        } else {
            runs.step.push(step()?);
            runs.proof.push(ferrite_proof(rt, workers, &input)?);
            runs.raw.push(raw()?);
        }
    }
    Ok(runs)
}

/// `rounds` Winning PoSts of the partition's first sector on each path.
pub fn winning(
    rt: &Runtime,
    workers: &Workers,
    part: &mut Partition,
    rounds: usize,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<PostRuns> {
    let (_, raw_proof, _) = registered(part.size)?;
    let raw_replicas = part.raw_replicas(raw_proof, 1);
    let post_proof = SealProof::new(part.size).winning_post();
    let mut runs = PostRuns::default();
    for round in 0..rounds {
        progress(format!("WinningPoSt: round {}/{rounds}", round + 1));
        let randomness = part.randomness();
        let raw = || raw_post(PostKind::Winning, randomness, &raw_replicas);
        let input = PostInput {
            proof: post_proof,
            miner: MINER,
            randomness,
            sectors: part.sectors.iter().take(1).cloned().collect(),
        };
        if round % 2 == 0 {
            runs.raw.push(raw()?);
            runs.proof.push(ferrite_proof(rt, workers, &input)?);
        } else {
            runs.proof.push(ferrite_proof(rt, workers, &input)?);
            runs.raw.push(raw()?);
        }
    }
    Ok(runs)
}

/// One PoSt of `kind` on filecoin-proofs-api over `replicas`.
fn raw_post(
    kind: PostKind,
    randomness: PostRandomness,
    replicas: &BTreeMap<SectorId, PrivateReplicaInfo>,
) -> anyhow::Result<Duration> {
    let (r, prover) = (randomness.as_bytes(), *ProverId::from(MINER).as_bytes());
    let t = Instant::now();
    let proofs = match kind {
        PostKind::Winning => post::generate_winning_post(r, replicas, prover)?,
        PostKind::Window => post::generate_window_post(r, replicas, prover)?,
    };
    let d = t.elapsed();
    ensure!(
        proofs.len() == 1,
        "the raw {kind:?} PoSt made {} proofs",
        proofs.len()
    );
    Ok(d)
}

/// One PoSt of `input` through ferrite-proofs on the bridge's PoSt slot.
fn ferrite_proof(rt: &Runtime, workers: &Workers, input: &PostInput) -> anyhow::Result<Duration> {
    let input = input.clone();
    let winning = input.proof.kind == PostKind::Winning;
    let t = Instant::now();
    let proofs = rt.block_on(workers.run(Stage::Post, move || {
        if winning {
            ferrite_proofs::post::generate_winning_post(&input)
        } else {
            ferrite_proofs::post::generate_window_post(&input)
        }
    }))?;
    let d = t.elapsed();
    ensure!(
        proofs.len() == 1,
        "Ferrite's PoSt made {} proofs",
        proofs.len()
    );
    Ok(d)
}

/// A sealed, finalized sector of random data.
fn seal_sector(
    sp: RegisteredSealProof,
    size: SectorSize,
    dir: &Path,
    number: u64,
    rng: &mut ChaCha20Rng,
) -> anyhow::Result<ProvingSector> {
    let cache = dir.join(format!("cache-{number}"));
    let staged = dir.join(format!("unsealed-{number}"));
    let sealed = dir.join(format!("sealed-{number}"));
    fs::create_dir_all(&cache)?;
    let n = size.bytes() - size.bytes() / 128;
    let mut data = vec![0u8; usize::try_from(n)?];
    rng.fill_bytes(&mut data);
    let mut staged_file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&staged)?;
    let (piece, _) = seal::add_piece(sp, &data[..], &mut staged_file, UnpaddedBytesAmount(n), &[])?;
    File::create(&sealed)?;
    let mut ticket = [0u8; 32];
    rng.fill_bytes(&mut ticket);
    let p1 = seal::seal_pre_commit_phase1(
        sp,
        &cache,
        &staged,
        &sealed,
        *ProverId::from(MINER).as_bytes(),
        SectorId::from(number),
        ticket,
        &[piece],
    )?;
    let p2 = seal::seal_pre_commit_phase2(p1, &cache, &sealed)?;
    seal::clear_cache(&cache)?;
    Ok(ProvingSector {
        number: SectorNumber(number),
        comm_r: CommR(p2.comm_r),
        cache_dir: cache,
        sealed_path: sealed,
    })
}
