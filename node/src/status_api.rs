//! `Ferrite.NodeStatus`: the node's chain, miner, power, balances and proof
//! parameters in one call, for `ferrite status` (which adds sectors,
//! workers, deadlines and deals from their own methods).

use std::sync::Arc;

use ferrite_chain::api::Chain;
use ferrite_chain::auth::Permission;
use ferrite_chain::rpc::server::RpcExtension;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use serde_json::{Value, json};
use tokio::sync::watch;

/// `Ferrite.NodeStatus []`.
pub const NODE_STATUS: &str = "Ferrite.NodeStatus";

/// The method over the node's chain.
pub struct StatusApi {
    /// The chain the node works on.
    pub chain: Arc<dyn Chain>,
    /// `embedded devnet` or the remote node's URL.
    pub mode: String,
    /// The network's name.
    pub network: String,
    /// The miner and its worker, if the node runs one.
    pub miner: Option<(Address, Address)>,
    /// The head height the node follows.
    pub heads: watch::Receiver<i64>,
    /// When the node started.
    pub started: std::time::Instant,
    /// The miner's proof parameters, if the node seals.
    pub params: Option<crate::params::ParamsGate>,
}

/// `t` in FIL, with at most four decimals.
pub fn fil(t: &TokenAmount) -> String {
    let atto = t.atto().to_string();
    let (whole, frac) = if atto.len() > 18 {
        atto.split_at(atto.len() - 18)
    } else {
        ("0", atto.as_str())
    };
    let frac = format!("{frac:0>18}");
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{}", &frac[..frac.len().min(4)])
    }
}

#[async_trait::async_trait]
impl RpcExtension for StatusApi {
    fn permission(&self, method: &str) -> Option<Permission> {
        (method == NODE_STATUS).then_some(Permission::Read)
    }

    async fn call(&self, _method: &str, _params: Vec<Value>) -> Result<Value, (i64, String)> {
        let err = |e: ferrite_chain::ChainError| (1, e.to_string());
        let mut v = json!({
            "Mode": self.mode,
            "Network": self.network,
            "Height": *self.heads.borrow(),
            "UptimeSecs": self.started.elapsed().as_secs(),
        });
        if let Some(p) = &self.params {
            v["Params"] = p.to_json();
        }
        if let Some((miner, worker)) = self.miner {
            let power = self.chain.miner_power(&miner).await.map_err(err)?;
            let info = self.chain.miner_info(&miner).await.map_err(err)?;
            let miner_balance = self.chain.balance(&miner).await.map_err(err)?;
            let worker_balance = self.chain.balance(&worker).await.map_err(err)?;
            v["Miner"] = json!({
                "Address": miner.to_string(),
                "Worker": worker.to_string(),
                "Owner": info.owner.to_string(),
                "SectorSize": info.sector_size,
                "RawPower": power.raw.to_string(),
                "QualityAdjPower": power.quality_adjusted.to_string(),
                "NetworkRawPower": power.total_raw.to_string(),
                "MinerBalanceFIL": fil(&miner_balance),
                "WorkerBalanceFIL": fil(&worker_balance),
            });
        }
        Ok(v)
    }
}
