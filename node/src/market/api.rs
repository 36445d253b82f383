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
/// `Ferrite.DealsAsk []`: the storage ask in force.
pub const ASK: &str = "Ferrite.DealsAsk";
/// `Ferrite.DealsAskSet [{Price, VerifiedPrice, MinPieceSize, MaxPieceSize}]`:
/// changes the ask (the fields given; attoFIL per GiB per epoch, bytes) and
/// stores it, in place of `[market.ask]`, from now on.
pub const ASK_SET: &str = "Ferrite.DealsAskSet";

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

fn ask_json(market: &Market) -> Value {
    let (a, stored) = market.ask_in_force();
    json!({
        "Miner": market.miner.to_string(),
        "Price": a.price_per_gib_epoch.atto().to_string(),
        "VerifiedPrice": a.verified_price_per_gib_epoch.atto().to_string(),
        "MinPieceSize": a.min_piece_size.bytes(),
        "MaxPieceSize": a.max_piece_size.bytes(),
        "SealingLeadEpochs": market.lead_epochs,
        "Source": if stored { "ferrite deals ask set" } else { "[market.ask]" },
    })
}

/// Applies the fields of an `ASK_SET` request to `ask`: prices as attoFIL
/// strings, sizes as padded byte counts (a power of two, at most a sector).
fn apply_ask_change(
    ask: &mut ferrite_market::checks::Ask,
    change: &Value,
    sector: ferrite_types::SectorSize,
) -> Result<(), (i64, String)> {
    let bad = |msg: String| (-32602, msg);
    let fields = change
        .as_object()
        .ok_or_else(|| bad("the ask change is not an object".to_string()))?;
    for (name, value) in fields {
        match name.as_str() {
            "Price" | "VerifiedPrice" => {
                let text = value
                    .as_str()
                    .ok_or_else(|| bad(format!("{name} is not a string")))?;
                let atto: fvm_shared::bigint::BigInt = text
                    .parse()
                    .map_err(|e| bad(format!("{name} {text:?}: {e}")))?;
                let amount = fvm_shared::econ::TokenAmount::from_atto(atto);
                if name == "Price" {
                    ask.price_per_gib_epoch = amount;
                } else {
                    ask.verified_price_per_gib_epoch = amount;
                }
            }
            "MinPieceSize" | "MaxPieceSize" => {
                let bytes = value
                    .as_u64()
                    .ok_or_else(|| bad(format!("{name} is not a byte count")))?;
                let size = ferrite_types::PaddedPieceSize::new(bytes)
                    .map_err(|e| bad(format!("{name} {bytes}: {e}")))?;
                if bytes > sector.bytes() {
                    return Err(bad(format!(
                        "{name} {bytes} is larger than the {sector} sector"
                    )));
                }
                if name == "MinPieceSize" {
                    ask.min_piece_size = size;
                } else {
                    ask.max_piece_size = size;
                }
            }
            other => return Err(bad(format!("unknown ask field {other:?}"))),
        }
    }
    Ok(())
}

fn internal(e: impl std::fmt::Display) -> (i64, String) {
    (1, e.to_string())
}

#[async_trait::async_trait]
impl RpcExtension for MarketApi {
    fn permission(&self, method: &str) -> Option<Permission> {
        Some(match method {
            LIST | STATUS | ASK => Permission::Read,
            IMPORT_DATA | ASK_SET => Permission::Admin,
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
            ASK => Ok(ask_json(market)),
            ASK_SET => {
                let change: Value = arg(&params, 0, "ask fields")?;
                let (mut ask, _) = market.ask_in_force();
                apply_ask_change(&mut ask, &change, market.sector_size)?;
                market
                    .set_ask(ask)
                    .map_err(|e| (-32602, format!("{e:#}")))?;
                Ok(ask_json(market))
            }
            _ => Err((-32601, format!("method '{method}' not found"))),
        }
    }
}
