//! One module per subcommand area; each exports `run`.

mod auth;
pub(crate) mod bench;
mod chain;
mod client;
mod config;
mod deals;
mod devnet;
mod init;
pub(crate) mod params;
mod piece;
mod proofs;
mod proving;
mod retrieval;
mod retrieve;
mod run;
mod sectors;
mod status;
mod storage;
pub(crate) mod wallet;
mod worker;
mod workers;

pub use storage::ByteSize;

use crate::cli::{Command, GlobalArgs};
use crate::config::Config;

/// Runs one command to completion.
pub fn run(cmd: Command, global: &GlobalArgs, cfg: Config) -> anyhow::Result<()> {
    match cmd {
        Command::Devnet(a) => devnet::run(a, global, &cfg),
        Command::Bench(a) => bench::run(a, &cfg),
        Command::Run(a) => run::run(a, global, &cfg),
        Command::Init(a) => init::run(a, global, &cfg),
        Command::Status => status::run(global),
        Command::Worker(a) => worker::run(a, &cfg),
        Command::Workers(c) => workers::run(c, global),
        Command::Chain(c) => chain::run(c, global),
        Command::Sectors(c) => sectors::run(c, global),
        Command::Deals(c) => deals::run(c, global),
        Command::Retrieval(c) => retrieval::run(c, global),
        Command::Proving(c) => proving::run(c, global),
        Command::Storage(c) => storage::run(c, global),
        Command::Auth(c) => auth::run(c, global),
        Command::Params(c) => params::run(c, &cfg),
        Command::Piece(c) => piece::run(c),
        Command::Proofs(c) => proofs::run(c, global),
        Command::Config(c) => config::run(c, &cfg),
        Command::Client(c) => client::run(c, global),
        Command::Wallet(a) => wallet::run(a, global),
    }
}

/// A multi-threaded runtime for commands that do network I/O. Built after
/// `ferrite_proofs::init`, which must run before any thread exists.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// A spinner line for a long step, on stderr (hidden when stderr is not a terminal).
fn spinner(prefix: String) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner().with_prefix(prefix);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {prefix:<24} {msg} [{elapsed_precise}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// A byte-count bar on stderr.
fn byte_bar(prefix: String, total: Option<u64>) -> indicatif::ProgressBar {
    let bar = match total {
        Some(t) => indicatif::ProgressBar::new(t),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_prefix(prefix);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix:<24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}
