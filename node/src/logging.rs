//! Logging through tracing, as text or JSON lines, to stderr.

use std::io::IsTerminal;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, NodeConfig};

/// The proof libraries log every parameter lookup at `info`; keep them at
/// `warn` unless the configured filter names them.
const QUIET_PROOF_LIBRARIES: [&str; 5] = [
    "storage_proofs_core",
    "storage_proofs_porep",
    "storage_proofs_post",
    "filecoin_proofs",
    "bellperson",
];

/// The effective filter: the configured one, plus `warn` for the proof
/// libraries it does not mention.
pub fn filter_directives(level: &str) -> String {
    let mut directives = level.to_string();
    for lib in QUIET_PROOF_LIBRARIES {
        if !level.contains(lib) {
            directives.push_str(&format!(",{lib}=warn"));
        }
    }
    directives
}

/// Installs the global subscriber.
pub fn init(cfg: &NodeConfig) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter_directives(&cfg.log_level))
        .with_context(|| format!("parse log level {:?}", cfg.log_level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match cfg.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("install logger: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_libraries_are_quiet_unless_named() {
        let d = filter_directives("info");
        assert!(d.starts_with("info,"));
        assert!(d.contains("storage_proofs_core=warn"));
        let d = filter_directives("info,storage_proofs_core=debug");
        assert!(!d.contains("storage_proofs_core=warn"), "{d}");
        assert!(d.contains("bellperson=warn"));
        assert!(EnvFilter::try_new(filter_directives("debug")).is_ok());
    }
}
