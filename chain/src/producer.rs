//! The block producer: one block every block time, until cancelled.
//!
//! When the block miner is elected and mines remotely (no prover registered
//! here: see [`crate::winning`]), the producer waits up to
//! [`Devnet::remote_block_wait`] for the miner's block (`SyncSubmitBlock`
//! moves the head), and produces the block itself, without a winner, only
//! if none came: the chain never stalls.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use crate::devnet::{Devnet, NextBlock};
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
        let next = match tokio::task::spawn_blocking(move || d.next_block()).await {
            Ok(Ok(next)) => next,
            Ok(Err(e)) => {
                warn!("cannot tell whose the next block is, producing it: {e:#}");
                NextBlock::Produce
            }
            Err(e) => {
                warn!("block production task failed: {e}");
                continue;
            }
        };
        let d = devnet.clone();
        let produce = match next {
            NextBlock::Produce => None,
            NextBlock::AwaitSubmitted { height, miner } => {
                let wait = devnet.remote_block_wait();
                tokio::select! {
                    came = await_head(heads.subscribe(), height, wait) => {
                        if came {
                            info!(height, %miner, "the block miner's block came in");
                            continue;
                        }
                    }
                    _ = stop.changed() => return,
                }
                Some(height)
            }
        };
        let timer = metrics.block_seconds.start_timer();
        let made = tokio::task::spawn_blocking(move || match produce {
            Some(height) => d.produce_block_at(height),
            None => d.produce_block().map(Some),
        })
        .await;
        match made {
            Ok(Ok(Some(ts))) => {
                timer.observe_duration();
                info!(height = ts.height(), "new block");
                metrics.blocks_produced.inc();
                metrics.head_height.set(ts.height());
                metrics
                    .mpool_pending
                    .set(i64::try_from(devnet.pending_count()).unwrap_or(i64::MAX));
                heads.send_replace(ts.height());
            }
            // The miner's block came in just after the wait.
            Ok(Ok(None)) => {}
            Ok(Err(e)) => warn!("block production failed: {e:#}"),
            Err(e) => warn!("block production task failed: {e}"),
        }
    }
}

/// Whether the head reaches `height` within `wait` (a submitted block);
/// `false` once the wait is over or the heads' sender is gone.
pub async fn await_head(mut heads: watch::Receiver<i64>, height: i64, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if *heads.borrow_and_update() >= height {
            return true;
        }
        match tokio::time::timeout_at(deadline, heads.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_producer_takes_a_block_that_comes_in_time_and_no_later() {
        let heads = Arc::new(watch::Sender::new(10i64));
        // Already there: no wait at all.
        assert!(await_head(heads.subscribe(), 10, Duration::ZERO).await);
        // The block comes after 3 s of a 5 s wait.
        let rx = heads.subscribe();
        let sender = heads.clone();
        let late = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            sender.send_replace(11);
        });
        let started = tokio::time::Instant::now();
        assert!(await_head(rx, 11, Duration::from_secs(5)).await);
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        late.await.unwrap();
        // None comes for height 12: the wait ends at its deadline.
        let started = tokio::time::Instant::now();
        assert!(!await_head(heads.subscribe(), 12, Duration::from_secs(5)).await);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        // A head that moves, but not far enough, does not end the wait.
        let rx = heads.subscribe();
        let sender = heads.clone();
        tokio::spawn(async move {
            sender.send_replace(11);
        });
        assert!(!await_head(rx, 12, Duration::from_secs(1)).await);
    }
}
