//! `ferrite config default|show|check`.

use anyhow::Context;

use crate::cli::ConfigCommand;
use crate::config::{Config, DEFAULT_TOML};

pub fn run(cmd: ConfigCommand, cfg: &Config) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Default => print!("{DEFAULT_TOML}"),
        ConfigCommand::Show => print!("{}", toml::to_string_pretty(cfg)?),
        ConfigCommand::Check { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("read {}", file.display()))?;
            let parsed: Config =
                toml::from_str(&text).with_context(|| format!("{}", file.display()))?;
            parsed
                .validate()
                .with_context(|| format!("{}", file.display()))?;
            let sections = text
                .lines()
                .filter(|l| l.trim_start().starts_with('['))
                .count();
            println!(
                "{}: ok ({sections} sections; keys it does not set keep their defaults)",
                file.display()
            );
        }
    }
    Ok(())
}
