//! The block producer: one block every block time, until cancelled.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use crate::devnet::Devnet;
use crate::metrics::Metrics;

/// Produces a block every `block_time` and publishes each new head height on
/// `heads`. Block production (message execution) runs off the async runtime.
pub async fn run(
    devnet: Arc<Devnet>,
    block_time: Duration,
    heads: Arc<watch::Sender<i64>>,
    metrics: Metrics,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(block_time);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let d = devnet.clone();
        let timer = metrics.block_seconds.start_timer();
        match tokio::task::spawn_blocking(move || d.produce_block()).await {
            Ok(Ok(ts)) => {
                timer.observe_duration();
                info!(height = ts.height(), "new block");
                metrics.blocks_produced.inc();
                metrics.head_height.set(ts.height());
                metrics
                    .mpool_pending
                    .set(i64::try_from(devnet.pending_count()).unwrap_or(i64::MAX));
                heads.send_replace(ts.height());
            }
            Ok(Err(e)) => warn!("block production failed: {e:#}"),
            Err(e) => warn!("block production task failed: {e}"),
        }
    }
}
