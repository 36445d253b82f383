//! `ferrite deals ...`: the running node's market, through its JSON-RPC API
//! (`Ferrite.Deals*`).

use serde_json::{Value, json};

use super::sectors::{ago, now_secs};
use crate::cli::{DealsCommand, GlobalArgs};
use crate::market::api::{ASK, IMPORT_DATA, LIST, STATUS};

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("?")
}

pub fn run(cmd: DealsCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let client = super::chain::client(global)?;
    super::runtime()?.block_on(async move {
        match cmd {
            DealsCommand::List => {
                let all: Vec<Value> = client.request_full(LIST, json!([])).await?;
                if all.is_empty() {
                    println!("no deals");
                    return Ok(());
                }
                println!(
                    "{:<36}  {:<15} {:>9} {:>8}  {:<10} piece",
                    "deal", "state", "for", "deal id", "client"
                );
                let now = now_secs();
                for d in all {
                    println!(
                        "{:<36}  {:<15} {:>9} {:>8}  {:<10} {}{}",
                        text(&d["UUID"]),
                        text(&d["State"]),
                        ago(now, d["Since"].as_u64().unwrap_or(now)),
                        d["DealID"]
                            .as_u64()
                            .map(|i| i.to_string())
                            .unwrap_or_default(),
                        text(&d["Client"]),
                        text(&d["PieceCID"]),
                        d["Error"]
                            .as_str()
                            .map(|e| format!("  error: {e}"))
                            .unwrap_or_default()
                    );
                }
            }
            DealsCommand::Status { uuid, log } => {
                let d: Value = client.request_full(STATUS, json!([uuid])).await?;
                print_deal(&d);
                if log {
                    println!("history:");
                    for e in d["History"].as_array().into_iter().flatten() {
                        println!(
                            "  {}  {:<20} -> {}",
                            e["At"],
                            text(&e["Event"]),
                            text(&e["State"])
                        );
                    }
                }
            }
            DealsCommand::ImportData { uuid, file } => {
                let file = std::fs::canonicalize(&file)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                let bar = super::spinner(format!("import {}", file.display()));
                bar.set_message("copying and computing CommP on the node");
                let d = client
                    .request_full::<Value>(IMPORT_DATA, json!([uuid, file]))
                    .await;
                bar.finish_and_clear();
                let d: Value = d?;
                println!("deal {}: {}", text(&d["UUID"]), text(&d["State"]));
            }
            DealsCommand::Ask => {
                let a: Value = client.request_full(ASK, json!([])).await?;
                println!("miner:              {}", text(&a["Miner"]));
                println!(
                    "price:              {} attoFIL/GiB/epoch",
                    text(&a["Price"])
                );
                println!(
                    "verified price:     {} attoFIL/GiB/epoch",
                    text(&a["VerifiedPrice"])
                );
                println!(
                    "piece sizes:        {} to {} bytes",
                    a["MinPieceSize"], a["MaxPieceSize"]
                );
                println!(
                    "start at least:     {} epochs after the head",
                    a["SealingLeadEpochs"]
                );
            }
        }
        Ok(())
    })
}

fn print_deal(d: &Value) {
    println!("deal:        {}", text(&d["UUID"]));
    println!("state:       {}", text(&d["State"]));
    println!("client:      {}", text(&d["Client"]));
    println!(
        "piece:       {} ({} bytes)",
        text(&d["PieceCID"]),
        d["PieceSize"]
    );
    println!("epochs:      {} to {}", d["StartEpoch"], d["EndEpoch"]);
    println!("offline:     {}", d["Offline"]);
    match d["TransferSize"].as_u64() {
        Some(total) if total > 0 => {
            println!("received:    {} of {total} bytes", d["BytesReceived"])
        }
        _ => println!("received:    {} bytes", d["BytesReceived"]),
    }
    if let Some(id) = d["DealID"].as_u64() {
        println!("deal id:     {id}");
    }
    if let Some(c) = d["PublishCID"].as_str() {
        println!("published:   {c}");
    }
    if let Some(s) = d["Sealing"].as_str().filter(|s| !s.is_empty()) {
        println!("sealing:     {s}");
    }
    if let Some(e) = d["Error"].as_str() {
        println!("error:       {e}");
    }
}
