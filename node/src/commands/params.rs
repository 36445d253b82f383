//! `ferrite params generate|fetch`.

use anyhow::Context;
use ferrite_proofs::params::fetch::{self, FetchEvent, Manifest};
use ferrite_proofs::params::generate::{self, Step, TEST_ONLY_WARNING};

use crate::cli::ParamsCommand;
use crate::config::Config;

pub fn run(cmd: ParamsCommand, cfg: &Config) -> anyhow::Result<()> {
    let dir = &cfg.proofs.parameter_cache;
    match cmd {
        ParamsCommand::Generate { sizes } => {
            // Refuse production sizes before doing any work.
            let circuits = sizes
                .iter()
                .map(|s| generate::circuits(*s))
                .collect::<Result<Vec<_>, _>>()?;
            println!("WARNING: {TEST_ONLY_WARNING}");
            println!("writing to {}", dir.display());
            for circuit in circuits.into_iter().flatten() {
                let bar = super::spinner(circuit.label());
                let done = generate::generate_circuit(circuit, dir, &mut |step| {
                    bar.set_message(match step {
                        Step::Generating => "generating (minutes for PoRep)",
                        Step::WritingParams => "writing .params",
                        Step::WritingKeys => "writing .vk and .meta",
                    });
                })
                .with_context(|| format!("generate {} parameters", circuit.label()))?;
                bar.finish_and_clear();
                let what = if done.created {
                    "generated"
                } else {
                    "already present"
                };
                println!(
                    "  {:<24} {what} ({:.1} s)",
                    circuit.label(),
                    done.elapsed.as_secs_f64()
                );
            }
            println!("parameters ready in {}", dir.display());
            Ok(())
        }
        ParamsCommand::Fetch {
            sizes,
            base_url,
            manifest,
        } => fetch_sizes(cfg, &sizes, base_url, manifest),
    }
}

/// Downloads the official files of `sizes` into the parameter cache, with
/// a progress bar per file, checking each digest (`params fetch`; `ferrite
/// init` too).
pub fn fetch_sizes(
    cfg: &Config,
    sizes: &[ferrite_types::SectorSize],
    base_url: Option<String>,
    manifest: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let dir = &cfg.proofs.parameter_cache;
    let manifest = match manifest {
        Some(path) => Manifest::parse(
            &std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?,
        )?,
        None => Manifest::official()?,
    };
    let entries = manifest.select(sizes);
    let base = base_url.unwrap_or_else(|| cfg.proofs.param_base_url.clone());
    println!(
        "fetching {} files from {base} into {}",
        entries.len(),
        dir.display()
    );
    let client = reqwest::Client::builder()
        .user_agent(concat!("ferrite/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut on_event = |ev: FetchEvent| match ev {
        FetchEvent::Present { name } => println!("  {name}: present, digest ok"),
        FetchEvent::Started { name, from, total } => {
            let b = super::byte_bar(short(&name), total);
            b.set_position(from);
            bar = Some(b);
        }
        FetchEvent::Progress { bytes, .. } => {
            if let Some(b) = &bar {
                b.set_position(bytes);
            }
        }
        FetchEvent::Verified { name } => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            println!("  {name}: downloaded, digest ok");
        }
    };
    super::runtime()?.block_on(fetch::fetch(&client, &base, dir, &entries, &mut on_event))?;
    println!("parameters ready in {}", dir.display());
    Ok(())
}

fn short(name: &str) -> String {
    name.chars().take(24).collect()
}
