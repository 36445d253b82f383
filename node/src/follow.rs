//! How `ferrite run` follows a remote chain's head: `Filecoin.ChainNotify`
//! over a websocket, as lotus-miner does, and `ChainHead` every `poll` while
//! the subscription cannot be made (a node without websockets, or one that
//! is down). It publishes the height for the services, says when the node
//! is lost and found again, and warns of every reverted tipset.
//!
//! What a revert means downstream: the WindowPoSt loop reads which
//! partitions are posted at every head, so a proof whose message left the
//! chain is made again while its window is open. The sealing pipeline reads
//! the precommit before it draws the seed and before it sends the
//! prove-commit: a precommit that left the chain is waited for until it lands
//! again, and one that landed at another epoch sends the sector back to the
//! seed wait (its seed changed), so C1 and C2 are done again.

use std::sync::Arc;
use std::time::Duration;

use ferrite_chain::api::{Chain, Head};
use ferrite_chain::metrics::Metrics;
use ferrite_chain::rpc::client::LotusClient;
use ferrite_chain::rpc::notify::{self, HeadChange};
use tokio::sync::watch;
use tracing::{info, warn};

/// What the follower knows.
struct Follower {
    heads: Arc<watch::Sender<i64>>,
    metrics: Metrics,
    lost: bool,
}

impl Follower {
    fn found(&mut self, how: &str, height: i64) {
        if self.lost {
            info!(height, "the chain node answers again ({how})");
            self.lost = false;
        }
    }

    fn lose(&mut self, why: impl std::fmt::Display, poll: Duration) {
        if !self.lost {
            warn!("lost the chain node: {why}; trying again every {poll:?}");
            self.lost = true;
        }
    }

    fn publish(&self, head: &Head) {
        self.metrics.head_height.set(head.height);
        self.heads.send_if_modified(|h| {
            let changed = *h != head.height;
            *h = head.height;
            changed
        });
    }

    fn apply(&self, change: &HeadChange) {
        match change {
            HeadChange::Current(h) | HeadChange::Apply(h) => self.publish(h),
            HeadChange::Revert(h) => {
                warn!(
                    height = h.height,
                    tipset = ?h.key,
                    "the chain reverted a tipset"
                );
                self.publish(&Head {
                    height: h.height - 1,
                    key: Vec::new(),
                });
            }
        }
    }
}

/// Follows the head of `client`'s node until `stop`.
pub async fn follow_head(
    client: LotusClient,
    poll: Duration,
    heads: Arc<watch::Sender<i64>>,
    metrics: Metrics,
    mut stop: watch::Receiver<bool>,
) {
    let mut f = Follower {
        heads,
        metrics,
        lost: false,
    };
    let mut said_polling = false;
    loop {
        match notify::subscribe(client.url(), client.token()).await {
            Ok(mut sub) => {
                info!("following the chain node's head through ChainNotify");
                said_polling = false;
                loop {
                    tokio::select! {
                        next = sub.next() => match next {
                            Ok(Some(changes)) => {
                                if let Some(h) = changes.last() {
                                    let (HeadChange::Current(h) | HeadChange::Apply(h) | HeadChange::Revert(h)) = h;
                                    f.found("ChainNotify", h.height);
                                }
                                for c in &changes {
                                    f.apply(c);
                                }
                            }
                            Ok(None) => {
                                f.lose("it closed the ChainNotify channel", poll);
                                break;
                            }
                            Err(e) => {
                                f.lose(e, poll);
                                break;
                            }
                        },
                        _ = stop.changed() => return,
                    }
                }
            }
            Err(e) => {
                // No subscription: read the head directly this time.
                match client.head().await {
                    Ok(head) => {
                        if !said_polling {
                            warn!("ChainNotify: {e}; reading the head every {poll:?} instead");
                            said_polling = true;
                        }
                        f.found("ChainHead", head.height);
                        f.publish(&head);
                    }
                    Err(e) => f.lose(e, poll),
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => return,
        }
    }
}
