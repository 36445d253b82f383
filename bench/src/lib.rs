//! Benchmarks of Ferrite against the raw libraries it wraps.
//!
//! Each benchmark runs the same work through Ferrite and through the library
//! directly, in the same process and the same run, interleaved round by
//! round, and reports the ratio of the medians. The measurements live here,
//! one module per domain: [`seal`] (every sealing phase through the tasks,
//! and [`seal::throughput`]), [`post`] (Winning and Window PoSt), [`c2`]
//! (C2s in flight), [`commp`], [`devnet`] and [`erc20`] (Ferrite's EVM actor
//! against the official one). Two front ends use them: the
//! `harness = false` programs in `benches/` (`cargo bench --workspace
//! --profile dev --bench NAME`, which reuses the test build, with their own
//! tables) and `ferrite bench`, which runs the [`suite`] and prints a
//! [`report::Report`]:
//!
//! ```text
//! suite::Plan ─► suite::run ─► seal / post / c2 / commp / devnet / erc20 ─► Vec<report::Row> ─► table, JSON
//! ```
//!
//! Also here: the cargo benches' command line ([`Args`]), the parameter
//! check, the median, the CPU meter ([`cpu`]) and bellperson's own timings
//! ([`prover_log`]).

pub mod c2;
pub mod commp;
pub mod cpu;
pub mod devnet;
pub mod erc20;
pub mod post;
pub mod prover_log;
pub mod report;
pub mod seal;
pub mod suite;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use ferrite_proofs::params::{self, generate::ParamCircuit};
use ferrite_proofs::{ProofsConfig, Workers};
use ferrite_types::{PostKind, SealProof, SectorSize};

/// A benchmark's command line: `[--size 2KiB|8MiB] [--rounds N]
/// [--parameter-cache DIR] [--parent-cache DIR]`. Other arguments are left
/// to the benchmark.
#[derive(Debug, Clone)]
pub struct Args {
    /// The sector size.
    pub size: SectorSize,
    /// Rounds per side.
    pub rounds: usize,
    /// Where the Groth16 parameters are. Default:
    /// `$FERRITE_PROOFS__PARAMETER_CACHE`, else ferrite-proofs' default.
    pub parameter_cache: PathBuf,
    /// Where the SDR parent cache is. Default:
    /// `$FERRITE_PROOFS__PARENT_CACHE`, else (`None`) ferrite-proofs' default.
    pub parent_cache: Option<PathBuf>,
}

impl Args {
    /// Parses the process's arguments, with `rounds` by default; cargo's own
    /// (`--bench`, filters) are ignored.
    pub fn parse(rounds: usize) -> anyhow::Result<Self> {
        let mut args = Args {
            size: SectorSize::S2KiB,
            rounds,
            parameter_cache: std::env::var_os("FERRITE_PROOFS__PARAMETER_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/var/tmp/filecoin-proof-parameters")),
            parent_cache: std::env::var_os("FERRITE_PROOFS__PARENT_CACHE").map(PathBuf::from),
        };
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            match a.as_str() {
                "--size" => args.size = it.next().context("--size needs a value")?.parse()?,
                "--rounds" => args.rounds = it.next().context("--rounds needs a value")?.parse()?,
                "--parameter-cache" => {
                    args.parameter_cache =
                        it.next().context("--parameter-cache needs a value")?.into()
                }
                "--parent-cache" => {
                    args.parent_cache =
                        Some(it.next().context("--parent-cache needs a value")?.into())
                }
                _ => {}
            }
        }
        anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
        Ok(args)
    }
}

impl Args {
    /// Initialises ferrite-proofs with the parameter and parent caches, and
    /// returns the worker bridge (default stage limits) the Ferrite side runs on.
    pub fn init_proofs(&self) -> anyhow::Result<Workers> {
        let mut cfg = ProofsConfig {
            parameter_cache: self.parameter_cache.clone(),
            ..ProofsConfig::default()
        };
        if let Some(p) = &self.parent_cache {
            cfg.parent_cache = p.clone();
        }
        ferrite_proofs::init(&cfg)?;
        Ok(Workers::new(&cfg.limits)?)
    }

    /// Fails, naming the missing file and the command that makes it, unless
    /// the PoRep parameters of `--size` (C2's `.params`, verify's `.vk`) are
    /// in the parameter cache. Checked before any work, so a missing file
    /// does not surface only after PC1 and PC2. Call it after
    /// [`Args::init_proofs`]: naming the files reads the library's settings.
    pub fn require_seal_params(&self) -> anyhow::Result<()> {
        require_params(
            &self.parameter_cache,
            ParamCircuit::PoRep(SealProof::new(self.size)),
            self.size,
        )
    }
}

/// Fails, naming the missing file and the command that makes it, unless the
/// `.params` and `.vk` files of `circuit` (for sectors of `size`) are in
/// `cache`. Call it after `ferrite_proofs::init`: naming the files reads the
/// library's settings.
pub fn require_params(cache: &Path, circuit: ParamCircuit, size: SectorSize) -> anyhow::Result<()> {
    let names = params::generate::file_names(circuit)
        .with_context(|| format!("name the {size} {} parameter files", circuit_name(circuit)))?;
    for name in names.iter().take(2) {
        let path = cache.join(name);
        anyhow::ensure!(
            path.is_file(),
            "no {size} {} parameters: {} is missing; create them with `{}` \
             (with --parameter-cache or $FERRITE_PROOFS__PARAMETER_CACHE pointing there)",
            circuit_name(circuit),
            path.display(),
            params::command_for(size)
        );
    }
    Ok(())
}

fn circuit_name(circuit: ParamCircuit) -> &'static str {
    match circuit {
        ParamCircuit::PoRep(_) => "PoRep",
        ParamCircuit::Post(p) if p.kind == PostKind::Winning => "WinningPoSt",
        ParamCircuit::Post(_) => "WindowPoSt",
        ParamCircuit::Update(_) => "SnapDeals",
    }
}

/// The median of `v` in seconds (`v` must not be empty).
pub fn median(v: &[Duration]) -> f64 {
    let mut s: Vec<f64> = v.iter().map(Duration::as_secs_f64).collect();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}
