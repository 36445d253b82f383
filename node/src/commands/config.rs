//! `ferrite config default|show`.

use crate::cli::ConfigCommand;
use crate::config::{Config, DEFAULT_TOML};

pub fn run(cmd: ConfigCommand, cfg: &Config) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Default => print!("{DEFAULT_TOML}"),
        ConfigCommand::Show => print!("{}", toml::to_string_pretty(cfg)?),
    }
    Ok(())
}
