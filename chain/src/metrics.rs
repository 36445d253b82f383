//! The chain's Prometheus metrics, registered on a registry the node passes in
//! (STYLE R9). Labels take bounded values only: RPC method names come from
//! the server's fixed method table, and `result` is `ok` or `error`.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// The chain's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// `ferrite_chain_head_height`: the head's epoch.
    pub head_height: IntGauge,
    /// `ferrite_chain_blocks_produced_total`: blocks this node produced.
    pub blocks_produced: IntCounter,
    /// `ferrite_chain_block_production_seconds`: selecting, executing and persisting a block.
    pub block_seconds: Histogram,
    /// `ferrite_chain_mpool_pending_messages`: messages waiting for a block.
    pub mpool_pending: IntGauge,
    /// `ferrite_chain_rpc_requests_total{method,result}`: JSON-RPC calls.
    pub rpc_requests: IntCounterVec,
}

impl Metrics {
    /// Creates the metrics and registers them on `r`.
    pub fn register(r: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            head_height: IntGauge::new("ferrite_chain_head_height", "The head tipset's epoch")?,
            blocks_produced: IntCounter::new(
                "ferrite_chain_blocks_produced_total",
                "Blocks this node produced",
            )?,
            block_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "ferrite_chain_block_production_seconds",
                    "Time to select, execute and persist a block",
                )
                .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0]),
            )?,
            mpool_pending: IntGauge::new(
                "ferrite_chain_mpool_pending_messages",
                "Messages in the pool waiting for a block",
            )?,
            rpc_requests: IntCounterVec::new(
                Opts::new("ferrite_chain_rpc_requests_total", "JSON-RPC requests"),
                &["method", "result"],
            )?,
        };
        r.register(Box::new(m.head_height.clone()))?;
        r.register(Box::new(m.blocks_produced.clone()))?;
        r.register(Box::new(m.block_seconds.clone()))?;
        r.register(Box::new(m.mpool_pending.clone()))?;
        r.register(Box::new(m.rpc_requests.clone()))?;
        Ok(m)
    }
}

/// The text exposition of everything in `r`, as `/metrics` serves it.
pub fn encode(r: &Registry) -> String {
    let mut out = String::new();
    // Encoding into a String cannot fail for well-formed families.
    let _ = prometheus::TextEncoder::new().encode_utf8(&r.gather(), &mut out);
    out
}
