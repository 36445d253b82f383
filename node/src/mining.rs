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
//! The time to make a block (from the start of its round to the block ready
//! to submit) is logged and exported (`ferrite_mining_block_seconds`), with
//! counters of blocks won, submitted, lost to the draw and failed. A round
//! that fails (a WinningPoSt that cannot be made, a block refused) costs
//! that round only.
//!
//! The election rule comes from the chain node's `Version`:
//! - a Ferrite devnet (`+devnet`) elects by its own rule
//!   (`ferrite_chain::winning`): an eligible miner wins with a win count of 1;
//! - any other node runs a Filecoin network: the win count is Filecoin's
//!   Poisson draw over the election VRF and the miner's share of the power
//!   at the election's lookback, as `MinerGetBaseInfo` gives it
//!   (`ferrite_chain::election`). A block is stamped with its epoch's time
//!   and submitted then; an epoch the draw loses is followed by the next on
//!   the same base (a null round), tried 10 s into its epoch unless a new
//!   head comes first, as lotus-miner does.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use cid::Cid;
use ferrite_chain::block::BlockHeader;
use ferrite_chain::block::{ElectionProof, Ticket};
use ferrite_chain::devnet::BlockTemplate;
use ferrite_chain::election;
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
    /// `ferrite_mining_block_seconds`: from the start of a round (a new
    /// head, or a null round's turn) to its block ready to submit.
    pub block_seconds: Histogram,
    /// `ferrite_mining_blocks_won_total`: rounds the miner was elected in.
    pub won: IntCounter,
    /// `ferrite_mining_blocks_submitted_total`: blocks the chain node took.
    pub submitted: IntCounter,
    /// `ferrite_mining_rounds_lost_total`: eligible rounds whose election
    /// draw won no block (Filecoin's rule).
    pub lost: IntCounter,
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
                    "Time to make a block, from the start of its round (a new head or a null round's turn) to the block ready to submit",
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
            lost: IntCounter::new(
                "ferrite_mining_rounds_lost_total",
                "Eligible mining rounds whose election draw won no block",
            )?,
            failed: IntCounter::new(
                "ferrite_mining_blocks_failed_total",
                "Mining rounds that failed",
            )?,
        };
        r.register(Box::new(m.block_seconds.clone()))?;
        r.register(Box::new(m.won.clone()))?;
        r.register(Box::new(m.submitted.clone()))?;
        r.register(Box::new(m.lost.clone()))?;
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

/// The election rule the chain node applies, from its `Version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// A Ferrite devnet (`ferrite/…+devnet`): an eligible miner wins one
    /// block, stamped now (the devnet's blocks can come faster than one a
    /// second).
    Devnet,
    /// Filecoin's: the win count is the Poisson draw of
    /// [`ferrite_chain::election`]; the block at `n` epochs past its base is
    /// stamped `base + n × block_delay` and submitted at that time, and an
    /// epoch lost to the draw is tried again as a null round one epoch later
    /// on the same base, as lotus-miner does.
    Filecoin {
        /// The network's block delay in seconds.
        block_delay: u64,
    },
}

/// How long after an epoch starts the next one is tried on the same base
/// when no new head came (Lotus's propagation delay on mainnet).
const PROPAGATION_DELAY_SECS: u64 = 10;

impl Rule {
    /// The height and timestamp of the block `null_rounds + 1` epochs past
    /// `base` (whose timestamp is `base_ts`).
    fn slot(self, base_height: i64, base_ts: u64, null_rounds: u64, now: u64) -> (i64, u64) {
        let height =
            base_height + 1 + i64::try_from(null_rounds).unwrap_or(i64::MAX - base_height - 1);
        match self {
            Rule::Devnet => (height, now.max(base_ts + 1)),
            Rule::Filecoin { block_delay } => (height, base_ts + block_delay * (null_rounds + 1)),
        }
    }

    /// When to try the next null round after `null_rounds` epochs were lost
    /// on the base stamped `base_ts`, or `None` under the devnet's rule
    /// (which wins every epoch it is eligible for).
    fn retry_at(self, base_ts: u64, null_rounds: u64) -> Option<u64> {
        match self {
            Rule::Devnet => None,
            Rule::Filecoin { block_delay } => {
                Some(base_ts + block_delay * null_rounds + PROPAGATION_DELAY_SECS)
            }
        }
    }
}

/// How a round ended, short of an error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Round {
    /// The miner cannot win on this base (no power, or not eligible).
    NotEligible,
    /// The election draw won nothing at this height.
    Lost(i64),
    /// The block at this height was submitted and taken; it was ready to
    /// submit at that instant (Filecoin's rule then waits for its time).
    Submitted(i64, Instant),
}

/// The tipset a round mines on.
struct Base {
    key: Vec<Cid>,
    /// Its first block (the smallest ticket; every block of a tipset has the
    /// same height and timestamp).
    first: BlockHeader,
}

async fn run(
    miner: Miner,
    metrics: Metrics,
    mut heads: watch::Receiver<i64>,
    mut stop: watch::Receiver<bool>,
) {
    let mut rule: Option<Rule> = None;
    loop {
        tokio::select! {
            changed = heads.changed() => if changed.is_err() { return },
            _ = stop.changed() => return,
        }
        heads.borrow_and_update();
        if rule.is_none() {
            rule = match election_rule(&miner.client).await {
                Ok(r) => {
                    info!("mining by {}", r.describe());
                    Some(r)
                }
                Err(e) => {
                    debug!("ask the chain node its version: {e:#}");
                    continue;
                }
            };
        }
        let Some(rule) = rule else { continue };
        let base = match miner.client.head_block().await {
            Ok((key, first)) => Base { key, first },
            Err(e) => {
                metrics.failed.inc();
                warn!("mining round failed: read the head: {e:#}");
                continue;
            }
        };
        // Epochs of this base lost to the draw so far (null rounds).
        let mut null_rounds = 0;
        loop {
            let started = Instant::now();
            let round = tokio::select! {
                r = mine_one(&miner, &metrics, rule, &base, null_rounds) => r,
                _ = stop.changed() => return,
            };
            match round {
                Ok(Round::NotEligible) => {
                    debug!(
                        height = base.first.height + 1,
                        "not eligible on the head at {}", base.first.height
                    );
                    break;
                }
                Ok(Round::Submitted(height, ready)) => {
                    let took = ready.duration_since(started);
                    metrics.submitted.inc();
                    metrics.block_seconds.observe(took.as_secs_f64());
                    info!(
                        height,
                        "mined block {height}: made in {:.2} s from the start of its round, submitted",
                        took.as_secs_f64()
                    );
                    break;
                }
                Ok(Round::Lost(height)) => {
                    metrics.lost.inc();
                    debug!(height, "not elected at {height}");
                }
                Err(e) => {
                    metrics.failed.inc();
                    warn!("mining round failed: {e:#}");
                    break;
                }
            }
            // Lost: the next epoch on the same base, unless a new head
            // comes first (then the outer loop mines on it).
            null_rounds += 1;
            let Some(at) = rule.retry_at(base.first.timestamp, null_rounds) else {
                break;
            };
            let wait = Duration::from_secs(at.saturating_sub(unix_now()));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = heads.changed() => {
                    // Seen by the outer loop's next `changed`: mark it unseen.
                    heads.mark_changed();
                    break;
                }
                _ = stop.changed() => return,
            }
        }
    }
}

impl Rule {
    fn describe(self) -> String {
        match self {
            Rule::Devnet => "the devnet's election rule (an eligible miner wins once)".to_string(),
            Rule::Filecoin { block_delay } => format!(
                "Filecoin's election (Poisson win count, {block_delay} s epochs, null rounds \
                 tried {PROPAGATION_DELAY_SECS} s into their epoch)"
            ),
        }
    }
}

/// The chain node's election rule, from its `Version` (a Ferrite devnet's
/// ends in `+devnet`; anything else is a Filecoin network, whose block
/// delay `Version` gives).
async fn election_rule(client: &LotusClient) -> anyhow::Result<Rule> {
    let v: Value = client.request("Version", json!([])).await?;
    rule_of(&v)
}

fn rule_of(v: &Value) -> anyhow::Result<Rule> {
    let version = v["Version"].as_str().unwrap_or_default();
    if version.starts_with("ferrite/") && version.ends_with("+devnet") {
        return Ok(Rule::Devnet);
    }
    match v["BlockDelay"].as_u64() {
        Some(block_delay) if block_delay > 0 => Ok(Rule::Filecoin { block_delay }),
        _ => anyhow::bail!(
            "the chain node ({version:?}) gives no block delay in its Version: {}",
            v["BlockDelay"]
        ),
    }
}

/// One round on `base`, `null_rounds` epochs past its first: see the module
/// docs.
async fn mine_one(
    m: &Miner,
    metrics: &Metrics,
    rule: Rule,
    base: &Base,
    null_rounds: u64,
) -> anyhow::Result<Round> {
    let parent = &base.first;
    let (height, timestamp) = rule.slot(parent.height, parent.timestamp, null_rounds, unix_now());
    let Some(info) = m
        .client
        .mining_base(&m.miner, height, &base.key)
        .await
        .context("MinerGetBaseInfo")?
    else {
        return Ok(Round::NotEligible);
    };
    if !info.eligible {
        return Ok(Round::NotEligible);
    }
    let beacon = info
        .beacon_entries
        .last()
        .unwrap_or(&info.prev_beacon)
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
        .sign_bytes(&info.worker_key, &ticket_seed)
        .await
        .context("sign the ticket")?;
    let (election_seed, post_seed) = winning::mining_seeds(&m.miner, height, &beacon)?;
    let vrf = m
        .client
        .sign_bytes(&info.worker_key, &election_seed)
        .await
        .context("sign the election VRF")?;
    let win_count = match rule {
        Rule::Devnet => winning::WIN_COUNT,
        Rule::Filecoin { .. } => {
            let wins = election::win_count(&vrf.bytes, &info.miner_power, &info.network_power);
            if wins == 0 {
                return Ok(Round::Lost(height));
            }
            i64::try_from(wins).context("win count")?
        }
    };
    metrics.won.inc();
    let size = SectorSize::from_bytes(info.sector_size)
        .map_err(|e| anyhow::anyhow!("sector size {}: {e}", info.sector_size))?;
    let request = WinningPostRequest {
        miner: ActorId(m.miner.id().context("the miner is not an ID address")?),
        epoch: height,
        randomness: post_seed,
        proof: PostProof {
            kind: PostKind::Winning,
            size,
        },
        sectors: info
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
        win_count,
        "WinningPoSt made in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let messages = m
        .client
        .select_messages(&base.key)
        .await
        .context("MpoolSelect")?;
    let template = BlockTemplate {
        miner: m.miner,
        parents: base.key.clone(),
        ticket: Ticket {
            vrf_proof: ticket.bytes,
        },
        election_proof: Some(ElectionProof {
            win_count,
            vrf_proof: vrf.bytes,
        }),
        beacon_values: info.beacon_entries.clone(),
        messages,
        epoch: height,
        timestamp,
        win_post_proof,
    };
    let block = m
        .client
        .create_block(&template)
        .await
        .context("MinerCreateBlock")?;
    let ready = Instant::now();
    // Filecoin's nodes refuse a block from the future: submit it at its
    // time. (A devnet's timestamps run ahead of the clock when its blocks
    // come faster than one a second, and it takes them.)
    if let Rule::Filecoin { .. } = rule {
        let early = timestamp.saturating_sub(unix_now());
        if early > 0 {
            tokio::time::sleep(Duration::from_secs(early)).await;
        }
    }
    m.client
        .submit_block(&block)
        .await
        .with_context(|| format!("SyncSubmitBlock of block {height}"))?;
    Ok(Round::Submitted(height, ready))
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_devnet_block_is_stamped_now_and_after_its_parent() {
        let rule = Rule::Devnet;
        assert_eq!(rule.slot(9, 100, 0, 500), (10, 500));
        assert_eq!(rule.slot(9, 600, 0, 500), (10, 601));
        assert_eq!(rule.retry_at(100, 1), None);
    }

    #[test]
    fn a_filecoin_block_is_stamped_on_its_epoch_and_null_rounds_follow() {
        let rule = Rule::Filecoin { block_delay: 30 };
        // The next epoch, whatever the clock says.
        assert_eq!(rule.slot(100, 3000, 0, 1), (101, 3030));
        // Lost at 101: tried again at 102 once its epoch is 10 s old.
        assert_eq!(rule.retry_at(3000, 1), Some(3040));
        assert_eq!(rule.slot(100, 3000, 1, 3040), (102, 3060));
        assert_eq!(rule.retry_at(3000, 2), Some(3070));
        assert_eq!(rule.slot(100, 3000, 2, 3070), (103, 3090));
    }

    #[test]
    fn the_rule_comes_from_the_chain_node_version() {
        let devnet = json!({"Version": "ferrite/0.1.0+devnet", "BlockDelay": 1});
        assert_eq!(rule_of(&devnet).unwrap(), Rule::Devnet);
        let lotus =
            json!({"Version": "1.32.1+mainnet+git.1", "APIVersion": 67840, "BlockDelay": 30});
        assert_eq!(rule_of(&lotus).unwrap(), Rule::Filecoin { block_delay: 30 });
        let broken = json!({"Version": "1.32.1+mainnet", "BlockDelay": 0});
        let e = rule_of(&broken).unwrap_err().to_string();
        assert!(e.contains("no block delay"), "{e}");
    }
}
