//! `ferrite`: the one binary of the suite. Parse the flags, load the config,
//! set up logging and the proofs, run the command.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod cluster;
mod commands;
mod config;
mod follow;
mod jobs;
mod logging;
mod market;
mod metrics;
mod mining;
mod params;
mod proving_api;
mod remote;
mod replicas;
mod retrieval;
mod sealing_api;
mod services;
mod staging;
mod status_api;
mod storage_api;
mod worker;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, with the causes; the details went to the log.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<()> {
    let cfg = config::load(&cli.global)?;
    logging::init(&cfg.node)?;
    // Before any thread starts: the proof library reads its settings once.
    ferrite_proofs::init(&cfg.proofs)?;
    commands::run(cli.command, &cli.global, cfg)
}
