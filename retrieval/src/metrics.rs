//! The retrieval server's Prometheus metrics. Every series that a dashboard
//! or alert reads exists from the start (at zero), so a quiet server still
//! shows them.

use std::collections::BTreeMap;

use prometheus::core::Collector;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};
use serde::{Deserialize, Serialize};

/// The endpoints, as the `endpoint` label names them.
pub const ENDPOINTS: [&str; 4] = ["piece", "ipfs", "ipni", "other"];

/// What `ferrite retrieval stats` shows: the metrics' totals since start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Answers by endpoint, then by status (only those seen).
    pub requests: BTreeMap<String, BTreeMap<String, u64>>,
    /// Body bytes sent, by endpoint.
    pub bytes: BTreeMap<String, u64>,
    /// Mean time to first byte in seconds, by endpoint (answered ones only).
    pub mean_ttfb_secs: BTreeMap<String, f64>,
    /// Bodies being sent now.
    pub transfers: i64,
    /// Unseals done for retrievals.
    pub unseals_ok: u64,
    /// Unseals that failed.
    pub unseals_failed: u64,
}

/// The statuses every endpoint's counter starts with.
const STATUSES: [&str; 8] = ["200", "206", "400", "404", "416", "429", "500", "503"];

/// The retrieval metrics.
#[derive(Debug, Clone)]
pub struct RetrievalMetrics {
    /// `ferrite_retrieval_requests_total{endpoint, status}`.
    pub requests: IntCounterVec,
    /// `ferrite_retrieval_bytes_served_total{endpoint}`: body bytes sent.
    pub bytes: IntCounterVec,
    /// `ferrite_retrieval_time_to_first_byte_seconds{endpoint}`.
    pub ttfb: HistogramVec,
    /// `ferrite_retrieval_transfers`: bodies being sent now.
    pub transfers: IntGauge,
    /// `ferrite_retrieval_unseals_total{result}`: unseals started on demand
    /// and how they ended (`ok`, `failed`).
    pub unseals: IntCounterVec,
    /// `ferrite_retrieval_unseal_seconds`: how long each took.
    pub unseal_seconds: HistogramVec,
    /// `ferrite_retrieval_piece_cache_total{result}`: the unpadded-piece
    /// cache's lookups (`hit`, `miss`) and changes (`filled`, `failed`,
    /// `evicted`).
    pub cache: IntCounterVec,
    /// `ferrite_retrieval_piece_cache_bytes`: what the cached pieces take.
    pub cache_bytes: IntGauge,
}

impl RetrievalMetrics {
    /// The metrics, registered in `r`.
    pub fn register(r: &Registry) -> prometheus::Result<Self> {
        let m = Self::unregistered()?;
        r.register(Box::new(m.requests.clone()))?;
        r.register(Box::new(m.bytes.clone()))?;
        r.register(Box::new(m.ttfb.clone()))?;
        r.register(Box::new(m.transfers.clone()))?;
        r.register(Box::new(m.unseals.clone()))?;
        r.register(Box::new(m.unseal_seconds.clone()))?;
        r.register(Box::new(m.cache.clone()))?;
        r.register(Box::new(m.cache_bytes.clone()))?;
        Ok(m)
    }

    /// The totals since start.
    pub fn stats(&self) -> Stats {
        let mut requests = BTreeMap::new();
        let mut bytes = BTreeMap::new();
        let mut mean_ttfb_secs = BTreeMap::new();
        for family in self.requests.collect() {
            for m in family.get_metric() {
                let label = |name: &str| {
                    m.get_label()
                        .iter()
                        .find(|l| l.name() == name)
                        .map(|l| l.value().to_string())
                        .unwrap_or_default()
                };
                let n = m.get_counter().get_value() as u64;
                if n > 0 {
                    requests
                        .entry(label("endpoint"))
                        .or_insert_with(BTreeMap::new)
                        .insert(label("status"), n);
                }
            }
        }
        for e in ENDPOINTS {
            bytes.insert(e.to_string(), self.bytes.with_label_values(&[e]).get());
            let h = self.ttfb.with_label_values(&[e]);
            if h.get_sample_count() > 0 {
                mean_ttfb_secs.insert(
                    e.to_string(),
                    h.get_sample_sum() / h.get_sample_count() as f64,
                );
            }
        }
        Stats {
            requests,
            bytes,
            mean_ttfb_secs,
            transfers: self.transfers.get(),
            unseals_ok: self.unseals.with_label_values(&["ok"]).get(),
            unseals_failed: self.unseals.with_label_values(&["failed"]).get(),
        }
    }

    /// The metrics, in no registry (for tests).
    pub fn unregistered() -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new(
                "ferrite_retrieval_requests_total",
                "Retrieval requests answered, by endpoint and HTTP status",
            ),
            &["endpoint", "status"],
        )?;
        let bytes = IntCounterVec::new(
            Opts::new(
                "ferrite_retrieval_bytes_served_total",
                "Body bytes sent to retrieval clients",
            ),
            &["endpoint"],
        )?;
        let ttfb = HistogramVec::new(
            HistogramOpts::new(
                "ferrite_retrieval_time_to_first_byte_seconds",
                "From a request's arrival to its first body byte (or its answer, for errors)",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0,
            ]),
            &["endpoint"],
        )?;
        let transfers = IntGauge::new(
            "ferrite_retrieval_transfers",
            "Retrieval bodies being sent now",
        )?;
        let unseals = IntCounterVec::new(
            Opts::new(
                "ferrite_retrieval_unseals_total",
                "Unseals started for retrievals, by result",
            ),
            &["result"],
        )?;
        let unseal_seconds = HistogramVec::new(
            HistogramOpts::new(
                "ferrite_retrieval_unseal_seconds",
                "How long an unseal for a retrieval took",
            )
            .buckets(vec![1.0, 10.0, 60.0, 300.0, 1800.0, 3600.0, 7200.0]),
            &["result"],
        )?;
        let cache = IntCounterVec::new(
            Opts::new(
                "ferrite_retrieval_piece_cache_total",
                "Unpadded-piece cache lookups and changes, by result",
            ),
            &["result"],
        )?;
        let cache_bytes = IntGauge::new(
            "ferrite_retrieval_piece_cache_bytes",
            "Bytes the unpadded-piece cache holds",
        )?;
        for r in ["hit", "miss", "filled", "failed", "evicted"] {
            cache.with_label_values(&[r]);
        }
        for e in ENDPOINTS {
            bytes.with_label_values(&[e]);
            ttfb.with_label_values(&[e]);
            for s in STATUSES {
                requests.with_label_values(&[e, s]);
            }
        }
        for r in ["ok", "failed"] {
            unseals.with_label_values(&[r]);
            unseal_seconds.with_label_values(&[r]);
        }
        Ok(Self {
            requests,
            bytes,
            ttfb,
            transfers,
            unseals,
            unseal_seconds,
            cache,
            cache_bytes,
        })
    }
}
