//! The node's proving service: the WindowPoSt loop of the node's miner, run
//! in process, and its operator methods on the JSON-RPC API
//! (`Ferrite.Proving*`), which `ferrite proving ...` calls.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferrite_chain::api::Chain;
use ferrite_chain::auth::Permission;
use ferrite_chain::rpc::server::RpcExtension;
use ferrite_proofs::{ProofsConfig, Workers};
use ferrite_proving::{ProverConfig, ProvingError, ProvingMetrics, Replicas, WindowPoster};
use fvm_shared::address::Address;
use serde_json::Value;

/// `Ferrite.ProvingInfo []`: the current deadline, power, sector counts and
/// the latest submissions.
pub const INFO: &str = "Ferrite.ProvingInfo";
/// `Ferrite.ProvingDeadlines []`: every deadline with its counts.
pub const DEADLINES: &str = "Ferrite.ProvingDeadlines";
/// `Ferrite.ProvingDeadline [index]`: one deadline's partitions.
pub const DEADLINE: &str = "Ferrite.ProvingDeadline";
/// `Ferrite.ProvingFaults []`: faulty sectors and when they are terminated.
pub const FAULTS: &str = "Ferrite.ProvingFaults";
/// `Ferrite.ProvingCheck [index]`: runs the fault check of a deadline now.
pub const CHECK: &str = "Ferrite.ProvingCheck";

/// The WindowPoSt prover of `miner` on `chain`, sending from `worker` (its
/// key must be in the chain's wallet), proving the replicas `replicas` finds.
pub fn prover(
    chain: Arc<dyn Chain>,
    replicas: Arc<dyn Replicas>,
    miner: Address,
    worker: Address,
    proofs: &ProofsConfig,
    registry: &prometheus::Registry,
) -> anyhow::Result<Arc<WindowPoster>> {
    // Its own PoSt and check slots: sealing's tasks never take them.
    let workers = Workers::new(&proofs.limits)?;
    let metrics = ProvingMetrics::register(registry).context("register proving metrics")?;
    Ok(Arc::new(
        WindowPoster::new(
            chain,
            replicas,
            workers,
            ProverConfig {
                miner,
                sender: worker,
                poll_interval: Duration::from_millis(250),
                // One node, no reorgs: prove as soon as the challenge is drawn.
                challenge_confidence: 0,
                // builtin-actors' limit for 2 KiB partitions is far higher; one
                // proof over 10 partitions stays well inside a block.
                partitions_per_message: 10,
            },
        )?
        .with_metrics(metrics),
    ))
}

/// The `Ferrite.Proving*` methods over a prover.
pub struct ProvingApi {
    prover: Arc<WindowPoster>,
}

impl ProvingApi {
    /// The methods of `prover`.
    pub fn new(prover: Arc<WindowPoster>) -> Self {
        Self { prover }
    }
}

fn api_err(e: ProvingError) -> (i64, String) {
    let code = match e {
        ProvingError::InvalidInput(_) => -32602,
        _ => 1,
    };
    (code, e.to_string())
}

fn json<T: serde::Serialize>(v: T) -> Result<Value, (i64, String)> {
    serde_json::to_value(v).map_err(|e| (1, format!("encode the answer: {e}")))
}

fn deadline_arg(params: &[Value]) -> Result<u64, (i64, String)> {
    let v = params.first().cloned().unwrap_or(Value::Null);
    serde_json::from_value(v).map_err(|e| (-32602, format!("bad deadline index: {e}")))
}

#[async_trait::async_trait]
impl RpcExtension for ProvingApi {
    fn permission(&self, method: &str) -> Option<Permission> {
        Some(match method {
            INFO | DEADLINES | DEADLINE | FAULTS => Permission::Read,
            CHECK => Permission::Write,
            _ => return None,
        })
    }

    async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, (i64, String)> {
        match method {
            INFO => json(self.prover.info().await.map_err(api_err)?),
            DEADLINES => json(self.prover.deadline_lines().await.map_err(api_err)?),
            DEADLINE => {
                let i = deadline_arg(&params)?;
                json(self.prover.deadline_detail(i).await.map_err(api_err)?)
            }
            FAULTS => json(self.prover.faults().await.map_err(api_err)?),
            CHECK => {
                let i = deadline_arg(&params)?;
                json(self.prover.check_deadline(i).await.map_err(api_err)?)
            }
            _ => Err((-32601, format!("method '{method}' not found"))),
        }
    }
}

/// Several extensions as one: each method goes to the one that claims it.
pub struct Extensions(pub Vec<Arc<dyn RpcExtension>>);

#[async_trait::async_trait]
impl RpcExtension for Extensions {
    fn permission(&self, method: &str) -> Option<Permission> {
        self.0.iter().find_map(|e| e.permission(method))
    }

    async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, (i64, String)> {
        match self.0.iter().find(|e| e.permission(method).is_some()) {
            Some(e) => e.call(method, params).await,
            None => Err((-32601, format!("method '{method}' not found"))),
        }
    }
}
