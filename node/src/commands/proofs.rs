//! `ferrite proofs selftest`.

use anyhow::Context;
use ferrite_proofs::selftest;

use crate::cli::{GlobalArgs, ProofsCommand};

pub fn run(cmd: ProofsCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    match cmd {
        ProofsCommand::Selftest { size, workdir } => {
            let workdir = workdir.unwrap_or_else(|| global.home().join("selftest"));
            println!("proofs self-test: {size} sector in {}", workdir.display());
            let bar = super::spinner(format!("selftest {size}"));
            let times = selftest::run(size, &workdir, &mut |t| {
                bar.set_message(format!("{} done", t.phase));
                bar.suspend(|| println!("  {:<24} {:>10.3} s", t.phase, t.elapsed.as_secs_f64()));
            })
            .context("proofs self-test")?;
            bar.finish_and_clear();
            let total: f64 = times.iter().map(|t| t.elapsed.as_secs_f64()).sum();
            std::fs::remove_dir_all(&workdir)
                .with_context(|| format!("remove {}", workdir.display()))?;
            println!(
                "self-test passed: {} phases, {total:.1} s of proof work",
                times.len()
            );
            Ok(())
        }
    }
}
