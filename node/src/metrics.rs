//! The node process's own metrics, beside each crate's (STYLE R9): the
//! process (`process_*`: resident and virtual memory, open and maximum file
//! descriptors, CPU seconds, start time, threads) and
//! `ferrite_build_info{version,commit,features}`, which is always 1; and the
//! proofs' resident memory and GPUs (`ferrite_proofs_*`), read at each scrape.

use anyhow::Context;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, IntGaugeVec, Opts, Registry};

/// The crate version, as `ferrite --version` prints it.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// `git rev-parse --short HEAD` at build time, or `unknown` outside a checkout.
const COMMIT: &str = env!("FERRITE_BUILD_COMMIT");
/// The cargo features the binary was built with, comma-separated.
const FEATURES: &str = env!("FERRITE_BUILD_FEATURES");

/// Registers the process and build metrics on `registry`.
pub fn register_process(registry: &Registry) -> anyhow::Result<()> {
    // The collector reads /proc/self at each scrape; other systems go without.
    #[cfg(target_os = "linux")]
    registry
        .register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .context("register the process metrics")?;
    let info = IntGaugeVec::new(
        Opts::new(
            "ferrite_build_info",
            "The version, git commit and cargo features of the running binary (always 1)",
        ),
        &["version", "commit", "features"],
    )?;
    info.with_label_values(&[VERSION, COMMIT, FEATURES]).set(1);
    registry
        .register(Box::new(info))
        .context("register ferrite_build_info")?;
    registry
        .register(Box::new(ProofsCollector::new()?))
        .context("register the proofs metrics")?;
    Ok(())
}

/// `ferrite_proofs_*`: what ferrite-proofs holds, read when scraped.
struct ProofsCollector {
    resident_bytes: IntGauge,
    resident_sets: IntGauge,
    gpus: IntGauge,
    c2_proving: IntGauge,
    c2_waiting: IntGauge,
    c2_waiting_bytes: IntGauge,
}

impl ProofsCollector {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            resident_bytes: IntGauge::new(
                "ferrite_proofs_resident_bytes",
                "Memory the resident prover's decoded Groth16 parameters take ([proofs.resident] max_mib caps it)",
            )?,
            resident_sets: IntGauge::new(
                "ferrite_proofs_resident_sets",
                "Proof kinds whose Groth16 parameters are resident",
            )?,
            gpus: IntGauge::new(
                "ferrite_proofs_gpus",
                "GPUs this process proves on (0: the CPU; [proofs.gpu])",
            )?,
            c2_proving: IntGauge::new(
                "ferrite_proofs_c2_proving",
                "C2s running their FFTs and multiexps now ([proofs.limits] c2_proving caps it)",
            )?,
            c2_waiting: IntGauge::new(
                "ferrite_proofs_c2_waiting",
                "C2s synthesized and waiting for a proving turn (the C2 pipeline)",
            )?,
            c2_waiting_bytes: IntGauge::new(
                "ferrite_proofs_c2_waiting_bytes",
                "Memory the synthesized circuits of waiting C2s hold",
            )?,
        })
    }
}

impl ProofsCollector {
    fn gauges(&self) -> [&IntGauge; 6] {
        [
            &self.resident_bytes,
            &self.resident_sets,
            &self.gpus,
            &self.c2_proving,
            &self.c2_waiting,
            &self.c2_waiting_bytes,
        ]
    }
}

impl Collector for ProofsCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.gauges().into_iter().flat_map(|g| g.desc()).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let stats = ferrite_proofs::prover::stats();
        let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.resident_bytes.set(int(stats.bytes));
        self.resident_sets.set(int(stats.sets as u64));
        self.gpus
            .set(int(ferrite_proofs::gpu::in_use().len() as u64));
        let pipeline = ferrite_proofs::prover::pipeline::stats();
        self.c2_proving.set(int(pipeline.proving as u64));
        self.c2_waiting.set(int(pipeline.waiting as u64));
        self.c2_waiting_bytes.set(int(pipeline.waiting_bytes));
        self.gauges()
            .into_iter()
            .flat_map(|g| g.collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_info_and_process_metrics_are_registered() {
        let r = Registry::new();
        register_process(&r).unwrap();
        let names: Vec<String> = r.gather().iter().map(|f| f.name().to_string()).collect();
        assert!(names.iter().any(|n| n == "ferrite_build_info"), "{names:?}");
        for n in [
            "ferrite_proofs_resident_bytes",
            "ferrite_proofs_resident_sets",
            "ferrite_proofs_gpus",
            "ferrite_proofs_c2_proving",
            "ferrite_proofs_c2_waiting",
            "ferrite_proofs_c2_waiting_bytes",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} missing: {names:?}");
        }
        #[cfg(target_os = "linux")]
        for n in [
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_cpu_seconds_total",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} missing: {names:?}");
        }
        assert!(!COMMIT.is_empty() && !FEATURES.is_empty());
    }
}
