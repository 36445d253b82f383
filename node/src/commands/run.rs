//! `ferrite run`: the node on a Filecoin network, through a Lotus or Forest
//! node (`[chain]`, or `FULLNODE_API_INFO` as Lotus's tools take it), under
//! the same services as `ferrite devnet` (`crate::services`), until SIGTERM
//! or SIGINT.
//!
//! At start it says what it found: the chain node's version, network and
//! whether its head is in sync. The node's messages are signed with the
//! keys of its keystore (`[chain] signer = "local"`) or by the chain node's
//! wallet (`"node"`, through `MpoolPushMessage`); either way it checks at
//! start that the signer holds the miner's worker key.

use std::time::Duration;

use anyhow::Context;
use ferrite_chain::api::Chain;
use ferrite_chain::rpc::client::LotusClient;
use fvm_shared::address::Address;
use tracing::{info, warn};

use crate::cli::{GlobalArgs, RunArgs};
use crate::config::Config;
use crate::params::ParamsGate;
use crate::services::{NodeChain, NodeSpec, RemoteChain};

pub fn run(args: RunArgs, global: &GlobalArgs, cfg: &Config) -> anyhow::Result<()> {
    let mut cfg = cfg.clone();
    if let Some(l) = args.listen {
        cfg.node.api_listen = l;
    }
    if let Some(l) = args.grpc_listen {
        cfg.cluster.grpc_listen = l;
    }
    if args.no_worker {
        cfg.cluster.local_worker = false;
    }
    if let Some(l) = args.market_listen {
        cfg.market.listen = vec![l];
    }
    if let Some(l) = args.retrieval_listen {
        cfg.retrieval.listen = l;
    }
    if let Some(a) = &args.actor {
        cfg.chain.miner = a.clone();
    }
    cfg.validate()?;
    crate::config::log_effective(&cfg);
    let home = global.home();
    std::fs::create_dir_all(&home).with_context(|| format!("create {}", home.display()))?;
    let api_info = std::env::var("FULLNODE_API_INFO").ok();
    let endpoint = crate::remote::endpoint(&cfg.chain, api_info.as_deref())?;
    let grace = Duration::from_secs(cfg.node.shutdown_grace_secs);
    let mut pass = args.passphrase;
    let client = crate::remote::client(&endpoint, &cfg.chain, &home, &mut pass)?;
    let rt = super::runtime()?;
    let result = rt.block_on(async move {
        let facts = crate::remote::check(&client)
            .await
            .with_context(|| format!("reach the chain node at {}", endpoint.url))?;
        println!("chain node {}: {facts}", endpoint.url);
        info!(url = %endpoint.url, "chain node: {facts}");
        if !facts.synced() {
            warn!("the chain node is not in sync: sealing and proving follow its head as it is");
        }
        let miner = miner_of(&cfg, &home)?;
        let (worker, size) = worker_that_signs(&client, &miner).await?;
        // Production sizes are only ever fetched: the gate says which
        // command, and opens once the files are there.
        let params = match size {
            Some(size) => {
                let gate = ParamsGate::start(&cfg.proofs.parameter_cache, size)?;
                println!("proof parameters: {}", gate.describe());
                Some(gate)
            }
            None => None,
        };
        let spec = NodeSpec {
            home,
            api_listen: cfg.node.api_listen.clone(),
            miner: Some((miner, worker)),
            cfg: cfg.clone(),
            params,
        };
        let chain = NodeChain::Remote(RemoteChain {
            client,
            network: facts.network,
            poll: Duration::from_millis(cfg.chain.head_poll_ms.max(100)),
        });
        crate::services::run(spec, chain).await
    });
    // Proof tasks past the grace period are not waited for: they run again
    // after the restart.
    rt.shutdown_timeout(grace);
    result
}

/// The miner `[chain] miner` (or `--actor`) names, or the one `ferrite
/// init` wrote to `<home>/miner`.
fn miner_of(cfg: &Config, home: &std::path::Path) -> anyhow::Result<Address> {
    if !cfg.chain.miner.is_empty() {
        return ferrite_types::address::parse(&cfg.chain.miner).context("[chain] miner");
    }
    let file = home.join("miner");
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "no miner: set [chain] miner, or run `ferrite init` first ({} is missing)",
            file.display()
        )
    })?;
    ferrite_types::address::parse(text.trim())
        .with_context(|| format!("{} holds no address", file.display()))
}

/// The miner's worker, once the signer is known to hold its key, and its
/// sector size if Ferrite knows it.
async fn worker_that_signs(
    client: &LotusClient,
    miner: &Address,
) -> anyhow::Result<(Address, Option<ferrite_types::SectorSize>)> {
    let info = client
        .miner_info(miner)
        .await
        .with_context(|| format!("read miner {miner} on the chain node"))?;
    crate::remote::ensure_can_sign(client, &info.worker, "worker").await?;
    let size = ferrite_types::SectorSize::from_bytes(info.sector_size).ok();
    println!(
        "storage miner {miner}: worker {}, {} sectors, messages signed {}",
        info.worker,
        size.map(|s| s.to_string())
            .unwrap_or_else(|| format!("{}-byte", info.sector_size)),
        if client.signs_locally() {
            "with the node's keystore"
        } else {
            "by the chain node's wallet"
        }
    );
    Ok((info.worker, size))
}
