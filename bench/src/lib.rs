//! Benchmarks of Ferrite against the raw libraries it wraps.
//!
//! Each benchmark runs the same work through Ferrite and through the library
//! directly, in the same process and the same run, interleaved round by
//! round, and reports the ratio of the medians. The benchmarks live in
//! `benches/` (run with `cargo bench --workspace --profile dev --bench NAME`,
//! which reuses the test build); this crate holds what they share: the
//! command line and the median.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use ferrite_proofs::{ProofsConfig, Workers};
use ferrite_types::SectorSize;

/// A benchmark's command line: `[--size 2KiB|8MiB] [--rounds N]
/// [--parameter-cache DIR]`.
#[derive(Debug, Clone)]
pub struct Args {
    /// The sector size.
    pub size: SectorSize,
    /// Rounds per side.
    pub rounds: usize,
    /// Where the Groth16 parameters are.
    pub parameter_cache: PathBuf,
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
                _ => {}
            }
        }
        anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
        Ok(args)
    }
}

impl Args {
    /// Initialises ferrite-proofs with the parameter cache, and returns the
    /// worker bridge the Ferrite side runs on.
    pub fn init_proofs(&self) -> anyhow::Result<Workers> {
        let cfg = ProofsConfig {
            parameter_cache: self.parameter_cache.clone(),
            ..ProofsConfig::default()
        };
        ferrite_proofs::init(&cfg)?;
        Ok(Workers::new(&cfg.limits)?)
    }
}

/// The median of `v` in seconds (`v` must not be empty).
pub fn median(v: &[Duration]) -> f64 {
    let mut s: Vec<f64> = v.iter().map(Duration::as_secs_f64).collect();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}
