//! Sealing through Ferrite's task layer against filecoin-proofs-api called
//! directly, and the throughput of several sectors sealed at once.
//!
//! cargo bench --workspace --profile dev --bench seal -- \
//!     [--mode phases|throughput] [--size 2KiB|8MiB] [--rounds N] [--sectors N] \
//!     [--parameter-cache DIR] [--parent-cache DIR]
//!
//! Every sector is a committed-capacity sector of miner f01000 (one zero
//! filler piece of the whole sector) with a fixed ticket and seed. The Ferrite
//! side is `ferrite_sealing::tasks::Tasks` on a `SectorStorage::Dir`, running
//! on the `Workers` bridge of `Args::init_proofs` (the default stage caps), as
//! the sealing driver calls it. Before anything is timed, one sector is sealed
//! through the tasks, so that loading the Groth16 parameters and building the
//! parent cache count in no figure.
//!
//! - `phases` (the default; `--rounds`, default 3): each round seals one
//!   sector through the tasks (AddPiece, PC1, PC2, C1, C2, verify, finalize)
//!   and the same sector with the same calls on filecoin-proofs-api by hand,
//!   alternating which side goes first. It prints the medians per phase and
//!   of the per-round totals, and the ratio Ferrite/raw (the goal is under
//!   5 % overhead). Both sides must compute the same CommP, CommR and CommD.
//! - `throughput` (`--sectors N`, default 4; `--rounds`, default 1): N sectors
//!   sealed at once (AddPiece→PC1→PC2→C1→C2 of each in its own tokio task,
//!   all started together, so the bridge's stage caps decide what runs), and
//!   the same N sealed one after another; the order alternates by round. It
//!   prints the wall time, sectors per hour, the speedup, and the CPU
//!   utilisation as a share of all cores: the host's from `/proc/stat` over
//!   the run and per whole second (mean, lowest), and this process's. Every
//!   proof is verified afterwards, untimed.
//!
//! Parameters must exist (`ferrite params generate --sizes 2KiB`); the bench
//! checks for them before it seals anything. The measuring code is
//! `ferrite_bench::seal` (shared with `ferrite bench`); this program prints it.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use ferrite_bench::cpu;
use ferrite_bench::seal::{self, PHASES, throughput};
use ferrite_bench::{Args, median};
use ferrite_proofs::{Stage, Workers};

#[derive(Debug, Clone, Copy)]
enum Mode {
    Phases,
    Throughput { sectors: usize },
}

impl Mode {
    /// `--mode` and `--sectors`; the rest is [`Args`]'.
    fn parse() -> anyhow::Result<Self> {
        let mut mode = String::from("phases");
        let mut sectors: usize = 4;
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            match a.as_str() {
                "--mode" => mode = it.next().context("--mode needs a value")?,
                "--sectors" => {
                    let v = it.next().context("--sectors needs a value")?;
                    sectors = v.parse().with_context(|| format!("--sectors {v}"))?;
                }
                _ => {}
            }
        }
        match mode.as_str() {
            "phases" => Ok(Mode::Phases),
            "throughput" => {
                ensure!(sectors > 0, "--sectors must be at least 1");
                Ok(Mode::Throughput { sectors })
            }
            other => bail!("--mode is phases or throughput, not {other}"),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let mode = Mode::parse()?;
    let args = Args::parse(match mode {
        Mode::Phases => 3,
        Mode::Throughput { .. } => 1,
    })?;
    ensure!(
        args.size.is_test_size(),
        "the bench seals 2KiB or 8MiB sectors, not {}",
        args.size
    );
    let workers = args.init_proofs()?;
    args.require_seal_params()?;
    let rt = tokio::runtime::Runtime::new().context("start the tokio runtime")?;
    let work = tempfile::tempdir().context("create the work directory")?;

    eprintln!("warm-up: one {} sector through the tasks", args.size);
    seal::warm_up(&rt, &workers, args.size, work.path())?;
    let mut progress = |line: String| eprintln!("{line}");
    match mode {
        Mode::Phases => {
            let runs = seal::phases(
                &rt,
                &workers,
                args.size,
                args.rounds,
                work.path(),
                &mut progress,
            )?;
            print_phases(&args, &runs);
            Ok(())
        }
        Mode::Throughput { sectors } => {
            print_throughput(&args, &rt, &workers, work.path(), sectors, &mut progress)
        }
    }
}

fn print_phases(args: &Args, runs: &seal::PhaseRuns) {
    println!(
        "\nseal phases, {} sector (CC), {} rounds, median seconds (ferrite tasks / raw filecoin-proofs-api)\n",
        args.size, args.rounds
    );
    println!(
        "| phase | ferrite (s) | raw (s) | ferrite − raw (ms) | ratio | overhead |\n|---|---:|---:|---:|---:|---:|"
    );
    for (i, phase) in PHASES.iter().enumerate() {
        let (f, r) = runs.phase(i);
        row(phase, f, r);
    }
    let (f, r) = runs.total();
    row("**total** (median of round totals)", f, r);
    let overhead = (f / r - 1.0) * 100.0;
    println!(
        "\ngoal, total overhead under 5 %: {} ({overhead:+.1} %)",
        if overhead < 5.0 { "met" } else { "not met" }
    );
}

fn row(name: &str, f: f64, r: f64) {
    let ratio = if r > 0.0 { f / r } else { f64::NAN };
    println!(
        "| {name} | {f:.4} | {r:.4} | {:+.2} | {ratio:.3} | {:+.1} % |",
        (f - r) * 1e3,
        (ratio - 1.0) * 100.0
    );
}

fn print_throughput(
    args: &Args,
    rt: &tokio::runtime::Runtime,
    workers: &Workers,
    work: &Path,
    sectors: usize,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<()> {
    let caps: Vec<String> = [
        Stage::AddPiece,
        Stage::Pc1,
        Stage::Pc2,
        Stage::C1,
        Stage::C2,
    ]
    .iter()
    .map(|&s| format!("{s} {}", workers.available(s)))
    .collect();
    let cores = cpu::cores()?;
    let runs = throughput::measure(rt, workers, args.size, sectors, args.rounds, work, progress)?;

    println!(
        "\nseal throughput, {sectors} × {} sectors (CC, AddPiece to C2) through the tasks, {} round(s), {cores} cores\nstage caps: {}\n",
        args.size,
        args.rounds,
        caps.join(", ")
    );
    println!(
        "| run | round | wall (s) | sectors/hour | mean sector latency (s) | host CPU over run | host CPU per second: mean | min | this process |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let pct = |x: f64| {
        if x.is_nan() {
            "–".to_string()
        } else {
            format!("{:.1} %", x * 100.0)
        }
    };
    for (name, runs) in [
        ("at once", &runs.at_once),
        ("one after another", &runs.one_by_one),
    ] {
        for (i, r) in runs.iter().enumerate() {
            let wall = r.wall.as_secs_f64();
            let lat: f64 = r.latencies.iter().map(Duration::as_secs_f64).sum::<f64>()
                / r.latencies.len().max(1) as f64;
            println!(
                "| {name} | {} | {wall:.2} | {:.0} | {lat:.2} | {} | {} | {} | {} |",
                i + 1,
                sectors as f64 * 3600.0 / wall,
                pct(r.cpu.overall),
                pct(r.cpu.per_second_mean),
                pct(r.cpu.per_second_min),
                pct(r.cpu.process),
            );
        }
    }
    let walls =
        |runs: &[throughput::Run]| -> Vec<Duration> { runs.iter().map(|r| r.wall).collect() };
    let (c, s) = (
        median(&walls(&runs.at_once)),
        median(&walls(&runs.one_by_one)),
    );
    println!(
        "\nspeedup at once over one after another (median wall): {:.2}× ({:.0} vs {:.0} sectors/hour)",
        s / c,
        sectors as f64 * 3600.0 / c,
        sectors as f64 * 3600.0 / s
    );
    println!(
        "CPU figures are busy time over all time of all {cores} cores; the host's include any other load on the machine."
    );
    Ok(())
}
