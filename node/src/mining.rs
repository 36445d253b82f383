//! The mining loop of `ferrite run`: the node's miner wins blocks on its
//! remote chain node, as lotus-miner does on a Lotus node.
//!
//! ```text
//!  new head h (the head follower) ─► MinerGetBaseInfo(miner, h+1, key)
//!   ─► eligible? ─► ticket VRF + election VRF (WalletSign, worker key)
//!   ─► win check ─► WinningPoSt over the challenged sectors (replicas
//!      checked readable first; off the runtime) ─► MpoolSelect
//!   ─► MinerCreateBlock ─► SyncSubmitBlock
//! ```
//!
//! The time from the new head to the submitted block is logged and exported
//! (`ferrite_mining_block_seconds`), with counters of blocks won, submitted
//! and failed. A round that fails (a WinningPoSt that cannot be made, a
//! block refused) costs that round only.
//!
//! The win check is the devnet's election rule (`ferrite_chain::winning`):
//! an eligible miner wins with a win count of 1. Filecoin's own draw (a
//! Poisson win count from the VRF and the miner's share of the power) is not
//! computed here yet, so the loop mines only when the chain node is a
//! Ferrite devnet (its `Version` says `+devnet`), and says so otherwise.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use ferrite_chain::block::{ElectionProof, Ticket};
use ferrite_chain::devnet::BlockTemplate;
use ferrite_chain::rpc::client::LotusClient;
use ferrite_chain::winning::{self, WinningPostRequest};
use ferrite_proofs::post::ChainSector;
use ferrite_proving::Replicas;
use ferrite_types::{ActorId, CommR, PostKind, PostProof, SectorNumber, SectorSize};
use fvm_shared::address::Address;
use prometheus::{Histogram, HistogramOpts, IntCounter, Registry};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// The mining loop's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// `ferrite_mining_block_seconds`: from a new head to the submitted block.
    pub block_seconds: Histogram,
    /// `ferrite_mining_blocks_won_total`: rounds the miner was elected in.
    pub won: IntCounter,
    /// `ferrite_mining_blocks_submitted_total`: blocks the chain node took.
    pub submitted: IntCounter,
    /// `ferrite_mining_blocks_failed_total`: rounds that failed (a
    /// WinningPoSt not made, a block refused, the node unreachable).
    pub failed: IntCounter,
}

impl Metrics {
    /// Creates the metrics and registers them on `r`.
    pub fn register(r: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            block_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "ferrite_mining_block_seconds",
                    "Time from a new head to the submitted block on it",
                )
                .buckets(vec![0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0]),
            )?,
            won: IntCounter::new(
                "ferrite_mining_blocks_won_total",
                "Rounds in which the miner was elected",
            )?,
            submitted: IntCounter::new(
                "ferrite_mining_blocks_submitted_total",
                "Blocks the chain node accepted",
            )?,
            failed: IntCounter::new(
                "ferrite_mining_blocks_failed_total",
                "Mining rounds that failed",
            )?,
        };
        r.register(Box::new(m.block_seconds.clone()))?;
        r.register(Box::new(m.won.clone()))?;
        r.register(Box::new(m.submitted.clone()))?;
        r.register(Box::new(m.failed.clone()))?;
        Ok(m)
    }
}

/// What the loop mines with.
#[derive(Clone)]
pub struct Miner {
    /// The chain node.
    pub client: LotusClient,
    /// The miner (an ID address).
    pub miner: Address,
    /// Where the miner's replicas are.
    pub replicas: Arc<dyn Replicas>,
}

impl std::fmt::Debug for Miner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Miner")
            .field("client", &self.client.url())
            .field("miner", &self.miner)
            .finish_non_exhaustive()
    }
}

/// Registers the metrics on `registry` and starts the loop: one round per
/// new head on `heads`, until `stop`.
pub fn start(
    miner: Miner,
    registry: &Registry,
    heads: watch::Receiver<i64>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let metrics = Metrics::register(registry).context("register the mining metrics")?;
    Ok(tokio::spawn(run(miner, metrics, heads, stop)))
}

/// How a round ended, short of an error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Round {
    /// The miner cannot win on this base (no power, or not eligible).
    NotEligible,
    /// The block at this height was submitted and taken.
    Submitted(i64),
}

async fn run(
    miner: Miner,
    metrics: Metrics,
    mut heads: watch::Receiver<i64>,
    mut stop: watch::Receiver<bool>,
) {
    // Whether the chain node is a Ferrite devnet; asked until it answers.
    let mut devnet: Option<bool> = None;
    loop {
        tokio::select! {
            changed = heads.changed() => if changed.is_err() { return },
            _ = stop.changed() => return,
        }
        heads.borrow_and_update();
        let seen = Instant::now();
        if devnet.is_none() {
            devnet = match devnet_rule(&miner.client).await {
                Ok(true) => Some(true),
                Ok(false) => {
                    info!(
                        "the chain node is not a Ferrite devnet: not mining (Filecoin's win \
                         count draw is not implemented yet)"
                    );
                    return;
                }
                Err(e) => {
                    debug!("ask the chain node its version: {e:#}");
                    None
                }
            };
            if devnet.is_none() {
                continue;
            }
        }
        let round = tokio::select! {
            r = mine_one(&miner, &metrics) => r,
            _ = stop.changed() => return,
        };
        match round {
            Ok(Round::NotEligible) => {}
            Ok(Round::Submitted(height)) => {
                let took = seen.elapsed();
                metrics.submitted.inc();
                metrics.block_seconds.observe(took.as_secs_f64());
                info!(
                    height,
                    "mined block {height} submitted {:.2} s after its parent arrived",
                    took.as_secs_f64()
                );
            }
            Err(e) => {
                metrics.failed.inc();
                warn!("mining round failed: {e:#}");
            }
        }
    }
}

/// Whether the chain node elects by the devnet's rule (a Ferrite devnet).
async fn devnet_rule(client: &LotusClient) -> anyhow::Result<bool> {
    let v: Value = client.request("Version", json!([])).await?;
    Ok(v["Version"]
        .as_str()
        .is_some_and(|v| v.starts_with("ferrite/") && v.ends_with("+devnet")))
}

/// One round on the current head: see the module docs.
async fn mine_one(m: &Miner, metrics: &Metrics) -> anyhow::Result<Round> {
    let (key, parent) = m.client.head_block().await.context("read the head")?;
    let height = parent.height + 1;
    let Some(base) = m
        .client
        .mining_base(&m.miner, height, &key)
        .await
        .context("MinerGetBaseInfo")?
    else {
        return Ok(Round::NotEligible);
    };
    if !base.eligible {
        return Ok(Round::NotEligible);
    }
    let beacon = base
        .beacon_entries
        .last()
        .unwrap_or(&base.prev_beacon)
        .data
        .clone();
    let parent_ticket = parent
        .ticket
        .as_ref()
        .map(|t| t.vrf_proof.clone())
        .unwrap_or_default();
    let ticket_seed = winning::ticket_seed(&m.miner, height, &beacon, &parent_ticket)?;
    let ticket = m
        .client
        .sign_bytes(&base.worker_key, &ticket_seed)
        .await
        .context("sign the ticket")?;
    let (election_seed, post_seed) = winning::mining_seeds(&m.miner, height, &beacon)?;
    let vrf = m
        .client
        .sign_bytes(&base.worker_key, &election_seed)
        .await
        .context("sign the election VRF")?;
    // The win check, by the devnet's rule: eligible wins, once.
    let win_count = winning::WIN_COUNT;
    metrics.won.inc();
    let size = SectorSize::from_bytes(base.sector_size)
        .map_err(|e| anyhow::anyhow!("sector size {}: {e}", base.sector_size))?;
    let request = WinningPostRequest {
        miner: ActorId(m.miner.id().context("the miner is not an ID address")?),
        epoch: height,
        randomness: post_seed,
        proof: PostProof {
            kind: PostKind::Winning,
            size,
        },
        sectors: base
            .sectors
            .iter()
            .map(|s| {
                Ok(ChainSector {
                    number: SectorNumber(s.number),
                    comm_r: CommR::from_cid(&s.sealed_cid)
                        .map_err(|e| anyhow::anyhow!("sector {}'s CommR: {e}", s.number))?,
                })
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let replicas = m.replicas.clone();
    let started = Instant::now();
    let win_post_proof = tokio::task::spawn_blocking(move || {
        ferrite_proving::winning::prove(replicas.as_ref(), &request)
    })
    .await
    .context("the WinningPoSt task")?
    .with_context(|| format!("the WinningPoSt of block {height}"))?;
    debug!(
        height,
        "WinningPoSt made in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let messages = m
        .client
        .select_messages(&key)
        .await
        .context("MpoolSelect")?;
    let template = BlockTemplate {
        miner: m.miner,
        parents: key,
        ticket: Ticket {
            vrf_proof: ticket.bytes,
        },
        election_proof: Some(ElectionProof {
            win_count,
            vrf_proof: vrf.bytes,
        }),
        beacon_values: base.beacon_entries.clone(),
        messages,
        epoch: height,
        timestamp: timestamp(parent.timestamp),
        win_post_proof,
    };
    let block = m
        .client
        .create_block(&template)
        .await
        .context("MinerCreateBlock")?;
    m.client
        .submit_block(&block)
        .await
        .with_context(|| format!("SyncSubmitBlock of block {height}"))?;
    Ok(Round::Submitted(height))
}

/// A block's timestamp: now, and after its parent's. (Lotus's miner stamps
/// parent + block delay and sleeps until then; the devnet's blocks can
/// come faster than one a second, so its timestamps run ahead of the clock.)
fn timestamp(parent: u64) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    now.max(parent + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_stamped_after_its_parent() {
        let now = timestamp(0);
        assert!(now > 1_700_000_000);
        assert_eq!(timestamp(now + 100), now + 101);
    }
}
