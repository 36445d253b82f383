//! `ferrite deals ...`: the running node's market, through its JSON-RPC API
//! (`Ferrite.Deals*`).

use serde_json::{Value, json};

use super::sectors::{ago, now_secs};
use crate::cli::{AskCommand, DealsCommand, GlobalArgs};
use crate::market::api::{ASK, ASK_SET, IMPORT_DATA, LIST, STATUS};

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
            DealsCommand::Ask { command } => {
                let a: Value = match command {
                    None | Some(AskCommand::Get) => client.request_full(ASK, json!([])).await?,
                    Some(AskCommand::Set {
                        price,
                        verified_price,
                        min_piece_size,
                        max_piece_size,
                    }) => {
                        let mut change = serde_json::Map::new();
                        if let Some(p) = price {
                            change.insert("Price".into(), json!(p));
                        }
                        if let Some(p) = verified_price {
                            change.insert("VerifiedPrice".into(), json!(p));
                        }
                        if let Some(s) = min_piece_size {
                            change.insert("MinPieceSize".into(), json!(parse_size(&s)?));
                        }
                        if let Some(s) = max_piece_size {
                            change.insert("MaxPieceSize".into(), json!(parse_size(&s)?));
                        }
                        anyhow::ensure!(
                            !change.is_empty(),
                            "nothing to set: give --price, --verified-price, --min-piece-size or --max-piece-size"
                        );
                        client.request_full(ASK_SET, json!([change])).await?
                    }
                };
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
                println!("set by:             {}", text(&a["Source"]));
            }
        }
        Ok(())
    })
}

/// A padded size in bytes, as a number ("1048576") or with a binary unit
/// ("256B", "8KiB", "1MiB", "32GiB").
fn parse_size(text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| anyhow::anyhow!("{text:?} is not a size (e.g. 1048576 or 1MiB)"))?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        "TiB" => 40,
        other => anyhow::bail!("unknown size unit {other:?} in {text:?} (B, KiB, MiB, GiB, TiB)"),
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| anyhow::anyhow!("{text:?} is too large"))
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

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_or_without_a_unit() {
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("256B").unwrap(), 256);
        assert_eq!(parse_size("8KiB").unwrap(), 8 << 10);
        assert_eq!(parse_size("32GiB").unwrap(), 32 << 30);
        assert!(parse_size("1MB").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }
}
