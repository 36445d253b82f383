//! The prover's Prometheus metrics, registered on a registry the node passes
//! in (STYLE R9). Label values are fixed: `result` is `ok` or `failed`,
//! `kind` is `faults` or `recoveries`, `task` is `prove` or `declare`.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// The prover's metrics.
#[derive(Debug, Clone)]
pub struct ProvingMetrics {
    /// `ferrite_wdpost_proofs_total{result}`: SubmitWindowedPoSt messages
    /// executed, accepted (`ok`) or not (`failed`, which includes proofs that
    /// did not verify locally and messages that did not land in time).
    pub proofs: IntCounterVec,
    /// `ferrite_wdpost_margin_epochs`: epochs left in the window when the
    /// latest PoSt landed.
    pub margin: IntGauge,
    /// `ferrite_wdpost_prove_seconds`: generating (and locally verifying)
    /// one message's proof.
    pub prove_seconds: Histogram,
    /// `ferrite_wdpost_check_failures_total`: sectors that failed a fault check.
    pub check_failures: IntCounter,
    /// `ferrite_proving_declarations_total{kind}`: DeclareFaults and
    /// DeclareFaultsRecovered messages that landed.
    pub declarations: IntCounterVec,
    /// `ferrite_proving_faulty_sectors`: sectors faulty on chain, over the
    /// deadlines the prover has visited.
    pub faulty_sectors: IntGauge,
    /// `ferrite_wdpost_task_failures_total{task}`: the loop's tasks (a
    /// deadline's proof and submission, a window's declarations) that
    /// failed; each is started again at the next head.
    pub task_failures: IntCounterVec,
}

impl ProvingMetrics {
    /// Creates the metrics and registers them on `r`.
    pub fn register(r: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            proofs: IntCounterVec::new(
                Opts::new(
                    "ferrite_wdpost_proofs_total",
                    "Window PoSt submissions by result",
                ),
                &["result"],
            )?,
            margin: IntGauge::new(
                "ferrite_wdpost_margin_epochs",
                "Epochs left in the deadline when the latest Window PoSt landed",
            )?,
            prove_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "ferrite_wdpost_prove_seconds",
                    "Time to generate and verify one Window PoSt message's proof",
                )
                .buckets(vec![0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0]),
            )?,
            check_failures: IntCounter::new(
                "ferrite_wdpost_check_failures_total",
                "Sectors that failed a fault check",
            )?,
            declarations: IntCounterVec::new(
                Opts::new(
                    "ferrite_proving_declarations_total",
                    "Fault and recovery declarations that landed",
                ),
                &["kind"],
            )?,
            faulty_sectors: IntGauge::new(
                "ferrite_proving_faulty_sectors",
                "Sectors faulty on chain in the deadlines the prover has visited",
            )?,
            task_failures: IntCounterVec::new(
                Opts::new(
                    "ferrite_wdpost_task_failures_total",
                    "Window PoSt loop tasks that failed and are retried at the next head",
                ),
                &["task"],
            )?,
        };
        // Exported at zero from the start, so dashboards and alerts see them.
        for result in ["ok", "failed"] {
            m.proofs.with_label_values(&[result]);
        }
        for kind in ["faults", "recoveries"] {
            m.declarations.with_label_values(&[kind]);
        }
        for task in ["prove", "declare"] {
            m.task_failures.with_label_values(&[task]);
        }
        r.register(Box::new(m.proofs.clone()))?;
        r.register(Box::new(m.margin.clone()))?;
        r.register(Box::new(m.prove_seconds.clone()))?;
        r.register(Box::new(m.check_failures.clone()))?;
        r.register(Box::new(m.declarations.clone()))?;
        r.register(Box::new(m.faulty_sectors.clone()))?;
        r.register(Box::new(m.task_failures.clone()))?;
        Ok(m)
    }
}
