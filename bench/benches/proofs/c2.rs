//! `--c2`: C2 alone, the resident prover against filecoin-proofs-api's
//! `seal_commit_phase2`, in one process.
//!
//! One sector is sealed up to C1 (through ferrite-proofs). The parameter file
//! is read once first so both sides start from a warm page cache. Then the
//! raw library's first C2, the resident prover's first C2 (which decodes the
//! parameters), and `--rounds` more of each, interleaved. Each C2 is split
//! into bellperson's own `synthesis time` and `prover time` (read from its
//! log records) and the rest: for the resident prover, the parameter load
//! it reports and the `verify_seal` check; for the library, its parameter
//! lookup, circuit setup and its own verify.

use std::time::{Duration, Instant};

use ferrite_bench::prover_log::{self, ProverTimes};
use ferrite_bench::{Args, median};
use ferrite_proofs::prover;
use ferrite_proofs::seal::{self, AddPieceInput, C1Input, C2Input, Pc1Input, Pc2Input};
use ferrite_types::{ActorId, PaddedPieceSize, SealProof, SectorId, SectorNumber, Seed, Ticket};

#[derive(Clone, Copy)]
struct Run {
    total: Duration,
    load: Option<Duration>,
    times: ProverTimes,
}

impl Run {
    fn rest(&self) -> Duration {
        self.total
            .saturating_sub(self.times.synthesis + self.times.proving)
    }
}

pub fn bench(args: &Args) -> anyhow::Result<()> {
    prover_log::install()?;
    args.require_seal_params()?;
    let work = tempfile::tempdir()?;
    let input = c1(args, work.path())?;
    warm_page_cache(args)?;

    let raw = |first: bool| -> anyhow::Result<Run> {
        eprintln!(
            "raw filecoin-proofs-api C2{}",
            if first { " (first)" } else { "" }
        );
        prover_log::take();
        let t = Instant::now();
        seal::c2_mapped(input.clone())?;
        Ok(Run {
            total: t.elapsed(),
            load: None,
            times: prover_log::take(),
        })
    };
    let resident = |first: bool| -> anyhow::Result<Run> {
        eprintln!("resident prover C2{}", if first { " (first)" } else { "" });
        let t = Instant::now();
        let report = prover::c2_report(input.clone())?;
        anyhow::ensure!(report.resident, "the parameters did not become resident");
        // The resident prover's own split (its Groth16 stages are ours, not
        // bellperson's batch call, so bellperson logs no times for it).
        Ok(Run {
            total: t.elapsed(),
            load: Some(report.load),
            times: ProverTimes {
                synthesis: report.stages.synthesis,
                proving: report.stages.queued + report.stages.proving,
            },
        })
    };
    let raw_first = raw(true)?;
    let resident_first = resident(true)?;
    let (mut raw_later, mut resident_later) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        // Alternate which side goes first.
        if round % 2 == 0 {
            raw_later.push(raw(false)?);
            resident_later.push(resident(false)?);
        } else {
            resident_later.push(resident(false)?);
            raw_later.push(raw(false)?);
        }
    }

    println!(
        "\nC2, {} sector, first call and median of {} later calls, seconds\n",
        args.size, args.rounds
    );
    println!(
        "| C2 | total | synthesis | proving | rest | of which parameter load |\n|---|---:|---:|---:|---:|---:|"
    );
    row("raw `seal_commit_phase2`, first", &[raw_first]);
    row("resident, first", &[resident_first]);
    row("raw `seal_commit_phase2`, later", &raw_later);
    row("resident, later", &resident_later);
    let f = resident_first.total.as_secs_f64() / raw_first.total.as_secs_f64();
    let later = median_of(&resident_later, |r| r.total) / median_of(&raw_later, |r| r.total);
    println!("\nresident / raw: first C2 {f:.3}, later C2s {later:.3}");
    println!("resident parameters: {:?}", prover::stats());
    Ok(())
}

fn median_of(runs: &[Run], f: impl Fn(&Run) -> Duration) -> f64 {
    median(&runs.iter().map(f).collect::<Vec<_>>())
}

fn row(name: &str, runs: &[Run]) {
    let load = if runs.iter().all(|r| r.load.is_some()) {
        format!("{:.3}", median_of(runs, |r| r.load.unwrap_or_default()))
    } else {
        "(inside)".to_string()
    };
    println!(
        "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {load} |",
        median_of(runs, |r| r.total),
        median_of(runs, |r| r.times.synthesis),
        median_of(runs, |r| r.times.proving),
        median_of(runs, Run::rest),
    );
}

/// A sector of `--size` sealed up to C1, as the C2 input.
fn c1(args: &Args, dir: &std::path::Path) -> anyhow::Result<C2Input> {
    let proof = SealProof::new(args.size);
    let sector = SectorId::new(ActorId(1000), SectorNumber(1));
    let (ticket, seed) = (Ticket([7u8; 32]), Seed([8u8; 32]));
    let unpadded = PaddedPieceSize::from(args.size).unpadded();
    let data: Vec<u8> = (0..unpadded.bytes())
        .map(|i| (i * 31 % 253) as u8)
        .collect();
    let piece = seal::add_piece(
        &AddPieceInput {
            proof,
            staged_path: dir.join("staged"),
            size: unpadded,
            existing: vec![],
        },
        &data[..],
    )?
    .piece;
    let pc1 = seal::pc1(&Pc1Input {
        proof,
        sector,
        staged_path: dir.join("staged"),
        sealed_path: dir.join("sealed"),
        cache_dir: dir.join("cache"),
        ticket,
        pieces: vec![piece],
    })?;
    let commitments = seal::pc2(Pc2Input {
        pc1,
        cache_dir: dir.join("cache"),
        sealed_path: dir.join("sealed"),
    })?;
    let c1 = seal::c1(&C1Input {
        proof,
        sector,
        cache_dir: dir.join("cache"),
        sealed_path: dir.join("sealed"),
        ticket,
        seed,
        commitments,
        pieces: vec![piece],
    })?;
    Ok(C2Input { c1, sector })
}

/// Reads the PoRep parameter file once, so neither side pays the disk.
fn warm_page_cache(args: &Args) -> anyhow::Result<()> {
    ferrite_bench::seal::read_parameter_file(args.size)
}
