//! The market's operator methods on the node's JSON-RPC API
//! (`Ferrite.Deals*`), which `ferrite deals ...` calls.

use std::path::PathBuf;
use std::sync::Arc;

use ferrite_chain::auth::Permission;
use ferrite_chain::rpc::server::RpcExtension;
use ferrite_market::deal::DealUuid;
use ferrite_market::records::DealRecord;
use serde_json::{Value, json};

use super::Market;
use crate::sealing_api::arg;

/// `Ferrite.DealsList []`: every deal and its state.
pub const LIST: &str = "Ferrite.DealsList";
/// `Ferrite.DealsStatus [uuid]`: one deal, with its history.
pub const STATUS: &str = "Ferrite.DealsStatus";
/// `Ferrite.DealsImportData [uuid, path]`: an offline deal's data, from a
/// file on the node's host.
pub const IMPORT_DATA: &str = "Ferrite.DealsImportData";
/// `Ferrite.DealsAsk []`: the storage ask.
pub const ASK: &str = "Ferrite.DealsAsk";

/// The `Ferrite.Deals*` methods over the market service.
#[derive(Debug)]
pub struct MarketApi(pub Arc<Market>);

/// A deal as the API shows it.
pub fn deal_json(r: &DealRecord, with_history: bool) -> Value {
    let p = &r.proposal.proposal;
    let mut v = json!({
        "UUID": r.uuid.to_string(),
        "State": r.state.name(),
        "Since": r.since_secs().unwrap_or_default(),
        "Offline": r.is_offline,
        "Client": p.client.to_string(),
        "PieceCID": p.piece_cid.to_string(),
        "PieceSize": p.piece_size.0,
        "StartEpoch": p.start_epoch,
        "EndEpoch": p.end_epoch,
        "ProposalCID": r.proposal_cid.to_string(),
        "BytesReceived": r.state.bytes_received(),
        "TransferSize": r.transfer.size,
        "Sealing": r.state.sealing_status(),
    });
    if let Some(id) = r.state.deal_id() {
        v["DealID"] = json!(id.0);
    }
    if let Some(m) = r.state.publish_message() {
        v["PublishCID"] = json!(m.to_string());
    }
    if let Some(e) = r.state.failure_reason() {
        v["Error"] = json!(e);
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

fn uuid_arg(params: &[Value]) -> Result<DealUuid, (i64, String)> {
    let text: String = arg(params, 0, "deal UUID")?;
    text.parse()
        .map_err(|e| (-32602, format!("bad deal UUID {text:?}: {e}")))
}

fn internal(e: impl std::fmt::Display) -> (i64, String) {
    (1, e.to_string())
}

#[async_trait::async_trait]
impl RpcExtension for MarketApi {
    fn permission(&self, method: &str) -> Option<Permission> {
        Some(match method {
            LIST | STATUS | ASK => Permission::Read,
            IMPORT_DATA => Permission::Admin,
            _ => return None,
        })
    }

    async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, (i64, String)> {
        let market = &self.0;
        match method {
            LIST => {
                let deals = market.deals().clone();
                let all = tokio::task::spawn_blocking(move || deals.all())
                    .await
                    .map_err(internal)?
                    .map_err(internal)?;
                Ok(all.iter().map(|r| deal_json(r, false)).collect())
            }
            STATUS => {
                let uuid = uuid_arg(&params)?;
                match market.deals().get(&uuid).map_err(internal)? {
                    Some(r) => Ok(deal_json(&r, true)),
                    None => Err((3, format!("deal {uuid} not found"))),
                }
            }
            IMPORT_DATA => {
                let uuid = uuid_arg(&params)?;
                let path: PathBuf = arg(&params, 1, "file path")?;
                if !path.is_absolute() {
                    return Err((
                        -32602,
                        format!("{} is not an absolute path", path.display()),
                    ));
                }
                let r = market
                    .import_data(uuid, path)
                    .await
                    .map_err(|e| (1, format!("{e:#}")))?;
                Ok(deal_json(&r, false))
            }
            ASK => {
                let a = &market.cfg.ask;
                Ok(json!({
                    "Miner": market.miner.to_string(),
                    "Price": a.price_per_gib_epoch.atto().to_string(),
                    "VerifiedPrice": a.verified_price_per_gib_epoch.atto().to_string(),
                    "MinPieceSize": a.min_piece_size.bytes(),
                    "MaxPieceSize": a.max_piece_size.bytes(),
                    "SealingLeadEpochs": market.lead_epochs,
                }))
            }
            _ => Err((-32601, format!("method '{method}' not found"))),
        }
    }
}
