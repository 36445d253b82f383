//! CommP: ferrite-proofs' streaming hasher against filecoin-proofs'
//! `generate_piece_commitment`, on the same data, in the same run, on one
//! core and on all, next to the machine's physical limit.
//!
//! cargo bench --locked --workspace --profile dev --bench commp -- [--rounds N] [--max 1GiB]
//!
//! The inputs are full 8 MiB and 1 GiB pieces (payloads of 127/128 of
//! that, deterministic random bytes, in memory), so the zero fill that
//! Ferrite gets for free plays no part. Throughput is in MB/s (10^6 bytes)
//! of padded piece bytes, the tree's leaves. Both sides are held to a
//! thread count by running them inside a rayon pool of that size
//! (`CommpPool::install`): filecoin-proofs reads and fr32-pads the leaves
//! on one thread, then hashes each tree layer with rayon's `par_iter`.
//!
//! The physical limit: `openssl speed -evp sha256` on one core, divided by
//! 4, since each 32-byte leaf costs one 64-byte parent, i.e. two
//! compression blocks (the tree has as many parents as leaves).
//!
//! Measured with the command above (2-core Intel Xeon with SHA-NI, a
//! shared build machine; openssl 3.0 sha256 1919 MB/s, so the limit is
//! 480 MB/s), MB/s of padded piece bytes:
//!
//! | piece | side | 1 core | all (2) cores |
//! |---|---|---:|---:|
//! | 8 MiB | ferrite | 402 (84 % of the limit) | 773 |
//! | 8 MiB | filecoin-proofs | 44 | 70 |
//! | 8 MiB | ratio | 9.15x | 11.01x |
//! | 1 GiB | ferrite | 414 (86 % of the limit) | 784 |
//! | 1 GiB | filecoin-proofs | 37 | 69 |
//! | 1 GiB | ratio | 11.13x | 11.42x |
//!
//! (A quieter 8 MiB run, `--max 8MiB --rounds 9`: 436 MB/s on one core,
//! 91 % of the limit, and 818 MB/s on two.)
//!
//! The goals: ours at least 2x filecoin-proofs, and one core at 80 % of the
//! limit or more. The measuring code is `ferrite_bench::commp` (shared with
//! `ferrite bench`).

use anyhow::Context;
use ferrite_bench::commp::{self, Side};
use ferrite_proofs::commp::CommpPool;
use ferrite_types::PaddedPieceSize;

/// Bench's own flags: `--rounds N` (per side, for the 8 MiB piece; the
/// 1 GiB piece gets a third of that, at least 1) and `--max SIZE` (the
/// largest piece, 1GiB by default).
struct Flags {
    rounds: usize,
    max: u64,
}

fn parse_flags() -> anyhow::Result<Flags> {
    let mut f = Flags {
        rounds: 5,
        max: 1 << 30,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rounds" => f.rounds = it.next().context("--rounds needs a value")?.parse()?,
            "--max" => {
                let v = it.next().context("--max needs a value")?;
                f.max = match v.as_str() {
                    "8MiB" => 8 << 20,
                    "1GiB" => 1 << 30,
                    other => anyhow::bail!("--max is 8MiB or 1GiB, not {other}"),
                }
            }
            _ => {}
        }
    }
    anyhow::ensure!(f.rounds > 0, "--rounds must be at least 1");
    Ok(f)
}

fn main() -> anyhow::Result<()> {
    let flags = parse_flags()?;
    eprintln!("measuring SHA-256 with openssl speed (3 s)");
    let limit = commp::sha256_limit();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let one = CommpPool::new(1)?;
    let all = CommpPool::new(cores)?;
    let names = [
        "ferrite, 1 core",
        "filecoin-proofs, 1 core",
        "ferrite, all cores",
        "filecoin-proofs, all cores",
    ];
    let sides = [
        (Side::Ferrite, &one),
        (Side::FilecoinProofs, &one),
        (Side::Ferrite, &all),
        (Side::FilecoinProofs, &all),
    ];
    let mut rows = Vec::new();
    for piece in [8u64 << 20, 1 << 30] {
        if piece > flags.max {
            continue;
        }
        let size = PaddedPieceSize::new(piece)?;
        let rounds = if piece > 64 << 20 {
            flags.rounds.div_ceil(3)
        } else {
            flags.rounds
        };
        eprintln!("{} MiB piece: generating the payload", piece >> 20);
        let payload = commp::payload(size)?;
        let times = commp::measure(&sides, &payload, size, rounds, &mut |l| eprintln!("{l}"))?;
        let mbps: Vec<f64> = times
            .iter()
            .map(|t| commp::mb_per_second(size, t))
            .collect();
        rows.push((piece, rounds, mbps));
    }
    println!("\nCommP, {cores} cores, median of the rounds, MB/s of padded piece bytes\n");
    match &limit {
        Ok(l) => println!(
            "physical limit: openssl sha256 on one core {:.0} MB/s / 4 = {:.0} MB/s\n",
            l * 4.0 / 1e6,
            l / 1e6
        ),
        Err(e) => println!("physical limit unknown: {e:#}\n"),
    }
    println!("| piece | rounds | side | MB/s | ferrite / filecoin-proofs | of the 1-core limit |");
    println!("|---|---:|---|---:|---:|---:|");
    for (piece, rounds, mbps) in rows {
        for (i, name) in names.iter().enumerate() {
            // Rows come in pairs: ferrite, then filecoin-proofs on the same cores.
            let vs = if i % 2 == 0 {
                format!("{:.2}x", mbps[i] / mbps[i + 1])
            } else {
                String::new()
            };
            let of_limit = match (&limit, i) {
                (Ok(l), 0) => format!("{:.0} %", 100.0 * mbps[0] * 1e6 / l),
                (Ok(l), 2) => format!(
                    "{:.0} % ({:.2} cores' worth)",
                    100.0 * mbps[2] * 1e6 / l,
                    mbps[2] * 1e6 / l
                ),
                _ => String::new(),
            };
            println!(
                "| {} MiB | {rounds} | {name} | {:.0} | {vs} | {of_limit} |",
                piece >> 20,
                mbps[i]
            );
        }
    }
    Ok(())
}
