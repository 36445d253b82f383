//! `ferrite bench`: the benchmark suite of ferrite-bench, with a progress
//! line, a Markdown table on stdout and, with `--json`, the same report as
//! JSON.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ferrite_bench::report::{Machine, Report, now_rfc3339};
use ferrite_bench::suite::{self, Group, Plan};
use ferrite_proofs::Workers;
use ferrite_types::SectorSize;

use crate::config::Config;

/// `ferrite bench`.
#[derive(Debug, Args)]
#[command(
    about = "Benchmark Ferrite against the raw libraries, in one run: every sealing phase, \
             WinningPoSt and WindowPoSt, C2 throughput, CommP, the devnet and its EVM",
    long_about = "Benchmark Ferrite against the raw libraries, in one run, and print a table: \
        each row is one phase through Ferrite and through the raw library (filecoin-proofs-api, \
        filecoin-proofs) with their ratio, ferrite / raw.\n\n\
        Groups (--only): seal (AddPiece, PC1, PC2, C1, C2, verify, finalize through the sealing \
        tasks), post (WinningPoSt, WindowPoSt), c2 (N C2s in flight against the library one \
        after another), commp (CommP against filecoin-proofs), devnet (empty epochs per second \
        and FIL transfers per second through the pool and blocks of an in-process devnet; no \
        raw side), evm (ERC-20 transfers per second through the pool and blocks, and gas per \
        transfer, on Ferrite's EVM actor against the official v18 one given with \
        --reference-bundle). The seal, post and c2 rows run where [proofs.gpu] puts the proofs: \
        on the GPU (device gpu) in a GPU build on a host with a card, else on the CPU; \
        FERRITE_PROOFS__GPU__MODE=off gives a GPU host's CPU rows. The other groups are CPU \
        work.\n\n\
        The seal, post and c2 groups need the sector size's parameters \
        (`ferrite params generate --sizes 2KiB`); a missing file is an error before anything runs. \
        Real proofs take every core: run it on an otherwise idle host."
)]
pub struct BenchArgs {
    /// Sector size of the seal, post and c2 groups: 2KiB or 8MiB
    #[arg(long, default_value = "2KiB")]
    size: SectorSize,
    /// C2s in flight in the c2 group [default: 2 with --quick, else 4]
    #[arg(long, value_name = "N")]
    sectors: Option<usize>,
    /// Rounds of the seal, post and commp groups [default: 1, 3, 3 with --quick; else 3, 10, 5]
    #[arg(long, value_name = "N")]
    rounds: Option<usize>,
    /// Fewer rounds, to fit in about 10 minutes on 2 cores at 2 KiB (--help says what it skips)
    #[arg(long, long_help = format!("Fit in about 10 minutes on 2 cores at 2 KiB, with {}", Plan::QUICK))]
    quick: bool,
    /// Run only these groups, comma-separated: seal, post, c2, commp, devnet, evm
    #[arg(long, value_delimiter = ',', value_name = "GROUPS")]
    only: Vec<String>,
    /// Also write the report as JSON to FILE, to compare runs
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// The official builtin-actors v18 bundle (CAR): the evm group runs the same transfers on
    /// its EVM actor as the raw side [default: $FERRITE_REFERENCE_BUNDLE]
    #[arg(long, value_name = "FILE", env = "FERRITE_REFERENCE_BUNDLE")]
    reference_bundle: Option<PathBuf>,
    /// Where the temporary sector files go [default: the system's temp directory]
    #[arg(long, value_name = "DIR")]
    workdir: Option<PathBuf>,
}

pub fn run(args: BenchArgs, cfg: &Config) -> anyhow::Result<()> {
    let groups = if args.only.is_empty() {
        Group::ALL.to_vec()
    } else {
        let picked: Vec<Group> = args
            .only
            .iter()
            .map(|s| s.trim().parse())
            .collect::<anyhow::Result<_>>()?;
        Group::ALL
            .into_iter()
            .filter(|g| picked.contains(g))
            .collect()
    };
    let plan = Plan {
        size: args.size,
        sectors: args.sectors,
        rounds: args.rounds,
        quick: args.quick,
        groups,
        parameter_cache: cfg.proofs.parameter_cache.clone(),
        reference_bundle: args.reference_bundle,
    };
    // Bad flags and missing parameters fail before any work or output file.
    plan.check()?;
    if let Some(parent) = args.json.as_ref().and_then(|p| p.parent())
        && !parent.as_os_str().is_empty()
        && !parent.is_dir()
    {
        anyhow::bail!("--json: {} is not a directory", parent.display());
    }
    let work = args.workdir.unwrap_or_else(std::env::temp_dir);
    let workers = Workers::new(&cfg.proofs.limits)?;
    let rt = super::runtime()?;
    let names: Vec<&str> = plan.groups.iter().map(|g| g.name()).collect();
    println!(
        "ferrite bench{}: {} ({} sectors)",
        if plan.quick { " --quick" } else { "" },
        names.join(", "),
        plan.size
    );
    let bar = super::spinner("bench".to_string());
    let outcome = suite::run(&plan, &rt, &workers, &work, &mut |step| {
        bar.suspend(|| eprintln!("  {step}"));
        bar.set_message(step);
    });
    bar.finish_and_clear();
    let outcome = outcome?;
    let report = Report {
        date: now_rfc3339(),
        commit: env!("FERRITE_BUILD_COMMIT").to_string(),
        machine: Machine::this(),
        sector_size: plan.size.to_string(),
        quick: plan.quick,
        rows: outcome.rows,
        notes: outcome.notes,
    };
    println!("\n{}", report.to_table());
    if let Some(path) = &args.json {
        std::fs::write(path, report.to_json()?)
            .with_context(|| format!("write {}", path.display()))?;
        println!("report written to {}", path.display());
    }
    Ok(())
}
