//! Logging through tracing, as text or JSON lines, to stderr.

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, NodeConfig};

/// Installs the global subscriber.
pub fn init(cfg: &NodeConfig) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&cfg.log_level)
        .with_context(|| format!("parse log level {:?}", cfg.log_level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match cfg.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("install logger: {e}"))
}
