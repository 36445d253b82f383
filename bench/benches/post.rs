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
//! The measuring code is `ferrite_bench::post` (shared with `ferrite bench`,
//! which also times Winning PoSt). Parameters must exist (`ferrite params
//! generate`).

use ferrite_bench::post::{self, Partition};
use ferrite_bench::{Args, median};

fn main() -> anyhow::Result<()> {
    let args = Args::parse(10)?;
    let workers = args.init_proofs()?;
    let rt = tokio::runtime::Runtime::new()?;
    let work = tempfile::tempdir()?;
    eprintln!("sealing one partition of {} sectors", args.size);
    let mut part = Partition::seal(args.size, work.path())?;
    let runs = post::window(&rt, &workers, &mut part, args.rounds, &mut |l| {
        eprintln!("{l}")
    })?;
    let raw = median(&runs.raw);
    println!(
        "\nWindow PoSt, one partition of {} {} sectors, {} rounds, median seconds\n",
        part.sectors.len(),
        args.size,
        args.rounds
    );
    println!("| path | seconds | ratio to raw |\n|---|---:|---:|");
    println!("| raw filecoin-proofs-api generate_window_post | {raw:.4} | 1.000 |");
    for (times, name) in [
        (
            &runs.proof,
            "ferrite_proofs::post::generate_window_post (Workers)",
        ),
        (
            &runs.step,
            "ferrite prover step (check + proof + local verify)",
        ),
    ] {
        let m = median(times);
        println!("| {name} | {m:.4} | {:.3} |", m / raw);
    }
    Ok(())
}
