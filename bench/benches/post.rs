//! Window PoSt per partition: through Ferrite's prover and through
//! filecoin-proofs-api directly, in the same run, with the ratios.
//!
//! cargo bench --workspace --profile dev --bench post -- \
//!     [--size 2KiB|8MiB] [--rounds N] [--parameter-cache DIR]
//!
//! Setup (not timed): one partition's worth of sectors (2 for 2 KiB, as the
//! Window PoSt proof type fixes) sealed with PC1 and PC2 on the raw library
//! and finalized (only what a PoSt reads stays). Then, each round, in
//! alternating order:
//! - raw: `filecoin_proofs_api::post::generate_window_post` over the partition;
//! - ferrite, proof: `ferrite_proofs::post::generate_window_post` through the
//!   `Workers` bridge (the PoSt slot the prover uses);
//! - ferrite, prover step: what `ferrite_proving::WindowPoster` does per
//!   partition: the fault check (`check_provable`: vanilla proofs of every
//!   sector's challenged leaves), the proof, and the local verification
//!   before the proof is sent.
//!
//! Parameters must exist (`ferrite params generate`).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::ensure;
use ferrite_bench::{Args, median};
use ferrite_proofs::Stage;
use ferrite_proofs::post::{ChainSector, PostInput, ProvingSector, VerifyPostInput};
use ferrite_types::{ActorId, CommR, PostRandomness, SealProof, SectorNumber, SectorSize};
use filecoin_proofs_api::{
    PrivateReplicaInfo, RegisteredPoStProof, RegisteredSealProof, SectorId, UnpaddedBytesAmount,
    post, seal,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

const MINER: u64 = 1000;

/// A sealed, finalized sector: what a PoSt needs.
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
    let mut prover = [0u8; 32];
    prover[..2].copy_from_slice(&[0xe8, 0x07]); // f01000
    let p1 = seal::seal_pre_commit_phase1(
        sp,
        &cache,
        &staged,
        &sealed,
        prover,
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

fn main() -> anyhow::Result<()> {
    let args = Args::parse(10)?;
    let workers = args.init_proofs()?;
    let rt = tokio::runtime::Runtime::new()?;
    let seal_proof = SealProof::new(args.size);
    let post_proof = seal_proof.window_post();
    let (sp, raw_post) = match args.size {
        SectorSize::S2KiB => (
            RegisteredSealProof::StackedDrg2KiBV1_1,
            RegisteredPoStProof::StackedDrgWindow2KiBV1_2,
        ),
        SectorSize::S8MiB => (
            RegisteredSealProof::StackedDrg8MiBV1_1,
            RegisteredPoStProof::StackedDrgWindow8MiBV1_2,
        ),
        other => anyhow::bail!("the bench runs 2KiB or 8MiB sectors, not {other}"),
    };
    let per_partition = raw_post.sector_count();

    let work = tempfile::tempdir()?;
    let mut rng = ChaCha20Rng::from_entropy();
    eprintln!("sealing {per_partition} sectors (one partition)");
    let sectors: Vec<ProvingSector> = (1..=per_partition as u64)
        .map(|n| seal_sector(sp, args.size, work.path(), n, &mut rng))
        .collect::<anyhow::Result<_>>()?;
    let chain: Vec<ChainSector> = sectors
        .iter()
        .map(|s| ChainSector {
            number: s.number,
            comm_r: s.comm_r,
        })
        .collect();
    let mut prover_id = [0u8; 32];
    prover_id[..2].copy_from_slice(&[0xe8, 0x07]);
    let raw_replicas: BTreeMap<SectorId, PrivateReplicaInfo> = sectors
        .iter()
        .map(|s| {
            (
                SectorId::from(s.number.0),
                PrivateReplicaInfo::new(
                    raw_post,
                    s.comm_r.0,
                    s.cache_dir.clone(),
                    s.sealed_path.clone(),
                ),
            )
        })
        .collect();

    let mut times: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    for round in 0..args.rounds {
        let mut r = [0u8; 32];
        rng.fill_bytes(&mut r);
        let randomness = PostRandomness::new(r);
        let raw = || -> anyhow::Result<Duration> {
            let t = Instant::now();
            let proofs =
                post::generate_window_post(randomness.as_bytes(), &raw_replicas, prover_id)?;
            let d = t.elapsed();
            ensure!(proofs.len() == 1);
            Ok(d)
        };
        let input = PostInput {
            proof: post_proof,
            miner: ActorId(MINER),
            randomness,
            sectors: sectors.clone(),
        };
        let proof_only = || -> anyhow::Result<Duration> {
            let input = input.clone();
            let t = Instant::now();
            let proofs = rt.block_on(workers.run(Stage::Post, move || {
                ferrite_proofs::post::generate_window_post(&input)
            }))?;
            let d = t.elapsed();
            ensure!(proofs.len() == 1);
            Ok(d)
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
            ensure!(ok, "the proof did not verify");
            Ok(d)
        };
        // Alternate the order, so caches favour no side.
        if round % 2 == 0 {
            times.entry("raw").or_default().push(raw()?);
            times.entry("proof").or_default().push(proof_only()?);
            times.entry("step").or_default().push(step()?);
        } else {
            times.entry("step").or_default().push(step()?);
            times.entry("proof").or_default().push(proof_only()?);
            times.entry("raw").or_default().push(raw()?);
        }
    }
    let raw = median(&times["raw"]);
    println!(
        "\nWindow PoSt, one partition of {per_partition} {} sectors, {} rounds, median seconds\n",
        args.size, args.rounds
    );
    println!("| path | seconds | ratio to raw |\n|---|---:|---:|");
    println!("| raw filecoin-proofs-api generate_window_post | {raw:.4} | 1.000 |");
    for (key, name) in [
        (
            "proof",
            "ferrite_proofs::post::generate_window_post (Workers)",
        ),
        ("step", "ferrite prover step (check + proof + local verify)"),
    ] {
        let m = median(&times[key]);
        println!("| {name} | {m:.4} | {:.3} |", m / raw);
    }
    Ok(())
}
