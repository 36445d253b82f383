//! The node's sealing service: the sealing pipeline of the node's miner,
//! run in process, and its operator methods on the JSON-RPC API
//! (`Ferrite.Sectors*`), which `ferrite sectors ...` calls.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use ferrite_chain::api::Chain;
use ferrite_chain::auth::Permission;
use ferrite_chain::rpc::server::RpcExtension;
use ferrite_proofs::{ProofsConfig, Workers};
use ferrite_sealing::chain::{ChainSteps, ChainStepsConfig};
use ferrite_sealing::{Event, Pipeline, RetryPolicy, SealingError, SectorRecord};
use ferrite_store::{RocksDb, RocksOptions, Store};
use ferrite_types::{ActorId, SectorNumber};
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use serde_json::{Value, json};

/// `Ferrite.SectorsPledge [count]`: seal `count` committed-capacity sectors.
pub const PLEDGE: &str = "Ferrite.SectorsPledge";
/// `Ferrite.SectorsList []`: every sector and its state.
pub const LIST: &str = "Ferrite.SectorsList";
/// `Ferrite.SectorsStatus [number]`: one sector, with its history.
pub const STATUS: &str = "Ferrite.SectorsStatus";
/// `Ferrite.SectorsRemove [number]`: remove a sector.
pub const REMOVE: &str = "Ferrite.SectorsRemove";
/// `Ferrite.SectorsRestart [number]`: retry a failed sector now.
pub const RESTART: &str = "Ferrite.SectorsRestart";

/// The precommit challenge delay of builtin-actors v18's policy on
/// `network`: 150 epochs on mainnet and calibnet, 10 where the actors are
/// built with `short-precommit` (devnets, the embedded chain).
pub fn pre_commit_challenge_delay(network: &str) -> i64 {
    match network {
        "mainnet" | "calibrationnet" => 150,
        _ => 10,
    }
}

/// A sector's lifetime above the minimum, counted from the latest possible
/// activation.
const SECTOR_LIFETIME: i64 = 540 * 2880;

/// Builds the pipeline of `miner`, sending its messages from `worker` over
/// `chain` (named `network`), with its records in `<home>/sealing/db` and
/// sector files under `<home>/sealing/sectors`; the node puts them on its
/// storage paths instead with `Pipeline::with_storage` (see `storage_api`).
pub fn pipeline(
    home: &Path,
    chain: Arc<dyn Chain>,
    network: &str,
    miner: Address,
    worker: Address,
    proofs: &ProofsConfig,
) -> anyhow::Result<Pipeline> {
    let dir = home.join("sealing");
    let db = RocksDb::open(
        &dir.join("db"),
        &ferrite_sealing::records::TABLES,
        RocksOptions::default(),
    )
    .context("open the sealing database")?;
    let store = Store::new(db).context("open the sealing store")?;
    let steps = Arc::new(ChainSteps::new(
        chain,
        ChainStepsConfig {
            miner,
            sender: worker,
            pre_commit_challenge_delay: pre_commit_challenge_delay(network),
            ticket_lookback: 1,
            sector_lifetime: SECTOR_LIFETIME,
            // The miner's available balance (its block rewards) pays.
            precommit_value: TokenAmount::default(),
            provecommit_value: TokenAmount::default(),
        },
    ));
    let workers = Workers::new(&proofs.limits)?;
    let id = ActorId(miner.id().context("the miner must be an ID address")?);
    Ok(Pipeline::new(
        store,
        steps,
        workers,
        dir.join("sectors"),
        id,
        RetryPolicy::default(),
    )?)
}

/// The `Ferrite.Sectors*` methods over a pipeline.
pub struct SealingApi {
    pipeline: Arc<Pipeline>,
}

impl SealingApi {
    /// The methods of `pipeline`.
    pub fn new(pipeline: Arc<Pipeline>) -> Self {
        Self { pipeline }
    }
}

fn sector_json(r: &SectorRecord, with_history: bool) -> Value {
    let since = r.since_secs().unwrap_or_default();
    let mut v = json!({
        "Number": r.id.number.0,
        "State": r.state.name(),
        "Since": since,
        "OnChain": r.state.is_on_chain(),
    });
    if let Some(f) = r.state.failure() {
        v["Error"] = json!(f.1.reason);
    }
    if let Some(sealed) = r.state.sealed() {
        v["CommR"] = json!(sealed.comm_r.to_cid().to_string());
        v["CommD"] = json!(sealed.comm_d.to_cid().to_string());
    }
    if let Some(base) = r.state.base() {
        let deals: Vec<u64> = base
            .pieces
            .iter()
            .filter_map(|p| match p {
                ferrite_sealing::SectorPiece::Deal(d) => Some(d.deal.0),
                ferrite_sealing::SectorPiece::Filler(_) => None,
            })
            .collect();
        v["Deals"] = json!(deals);
    }
    if with_history {
        v["History"] = r
            .history
            .iter()
            .map(|e| json!({"At": e.at_secs, "Event": e.event, "State": e.state}))
            .collect();
    }
    v
}

pub(crate) fn arg<T: serde::de::DeserializeOwned>(
    params: &[Value],
    i: usize,
    what: &str,
) -> Result<T, (i64, String)> {
    let v = params.get(i).cloned().unwrap_or(Value::Null);
    serde_json::from_value(v).map_err(|e| (-32602, format!("bad {what}: {e}")))
}

fn api_err(e: SealingError) -> (i64, String) {
    let code = match e {
        SealingError::UnknownSector(_) => 3,
        _ => 1,
    };
    (code, e.to_string())
}

#[async_trait::async_trait]
impl RpcExtension for SealingApi {
    fn permission(&self, method: &str) -> Option<Permission> {
        Some(match method {
            LIST | STATUS => Permission::Read,
            PLEDGE | RESTART => Permission::Write,
            REMOVE => Permission::Admin,
            _ => return None,
        })
    }

    async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, (i64, String)> {
        match method {
            PLEDGE => {
                let count: Option<u64> = arg(&params, 0, "count")?;
                let count = count.unwrap_or(1);
                if !(1..=1000).contains(&count) {
                    return Err((-32602, format!("count {count} is not 1 to 1000")));
                }
                let mut numbers = Vec::new();
                for _ in 0..count {
                    numbers.push(self.pipeline.pledge().await.map_err(api_err)?.0);
                }
                Ok(json!(numbers))
            }
            LIST => {
                let all = self.pipeline.sectors().await.map_err(api_err)?;
                Ok(all.iter().map(|r| sector_json(r, false)).collect())
            }
            STATUS => {
                let n: u64 = arg(&params, 0, "sector number")?;
                let r = self.pipeline.record(SectorNumber(n)).map_err(api_err)?;
                Ok(sector_json(&r, true))
            }
            REMOVE | RESTART => {
                let n: u64 = arg(&params, 0, "sector number")?;
                let event = if method == REMOVE {
                    Event::Remove
                } else {
                    Event::Restart
                };
                let r = self
                    .pipeline
                    .command(SectorNumber(n), event)
                    .map_err(api_err)?;
                Ok(sector_json(&r, false))
            }
            _ => Err((-32601, format!("method '{method}' not found"))),
        }
    }
}

/// `ferrite_sealing_sectors{state}`: the pipeline's sectors by state, read
/// from the records every 5 s until `stop`. Every state is exported, at 0
/// when no sector is in it.
pub async fn export_sector_states(
    pipeline: Arc<Pipeline>,
    registry: &prometheus::Registry,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let gauge = prometheus::IntGaugeVec::new(
        prometheus::Opts::new("ferrite_sealing_sectors", "The node's sectors by state"),
        &["state"],
    )?;
    registry.register(Box::new(gauge.clone()))?;
    Ok(tokio::spawn(async move {
        loop {
            match pipeline.sectors().await {
                Ok(records) => {
                    let mut counts: std::collections::BTreeMap<&'static str, i64> =
                        Default::default();
                    for r in &records {
                        *counts.entry(r.state.name()).or_default() += 1;
                    }
                    for state in ferrite_sealing::SectorState::NAMES {
                        gauge
                            .with_label_values(&[state])
                            .set(counts.get(state).copied().unwrap_or(0));
                    }
                }
                Err(e) => tracing::warn!("read the sector records for the metrics: {e:#}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                _ = stop.changed() => return,
            }
        }
    }))
}
