//! Logging through tracing, as text or JSON lines, to stderr.
//!
//! filecoin-proofs, storage-proofs and bellperson log through the `log`
//! crate; installing the subscriber also installs tracing-subscriber's
//! `tracing-log` bridge (`LogTracer`), so their records are tracing events
//! under their module paths and the same filter applies to them.

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
/// libraries it does not mention. At a `debug` or `trace` default level
/// bellperson is left alone: its own timings of each proof (`synthesis
/// time`, `prover time`, every multiexp and FFT step) then reach the log.
pub fn filter_directives(level: &str) -> String {
    let verbose = level
        .split(',')
        .map(str::trim)
        .any(|d| matches!(d.to_ascii_lowercase().as_str(), "debug" | "trace"));
    let mut directives = level.to_string();
    for lib in QUIET_PROOF_LIBRARIES {
        let shown = level.contains(lib) || (verbose && lib == "bellperson");
        if !shown {
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
        // At debug, bellperson's proof timings come through; the others stay quiet.
        let d = filter_directives("debug");
        assert!(!d.contains("bellperson"), "{d}");
        assert!(d.contains("filecoin_proofs=warn"), "{d}");
        assert!(!filter_directives("trace,ferrite_chain=info").contains("bellperson"));
        assert!(filter_directives("info,ferrite_sealing=trace").contains("bellperson=warn"));
    }

    /// bellperson's `log` records, at its `info`, are tracing events that
    /// the debug filter lets through (the bridge the subscriber installs).
    #[test]
    fn bellperson_log_records_reach_tracing_at_debug() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::try_new(filter_directives("debug")).unwrap())
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _ = tracing_log::LogTracer::init();
        tracing::subscriber::with_default(subscriber, || {
            log::info!(target: "bellperson::groth16::prover::native", "synthesis time: 1.5s");
            log::info!(target: "filecoin_proofs::caches", "checking cache_path");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("synthesis time: 1.5s"), "{text}");
        assert!(!text.contains("checking cache_path"), "{text}");
    }
}
