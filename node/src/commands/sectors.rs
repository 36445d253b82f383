//! `ferrite sectors ...`: the running node's sealing pipeline, through its
//! JSON-RPC API (`Ferrite.Sectors*`).

use serde_json::{Value, json};

use crate::cli::{GlobalArgs, SectorsCommand};
use crate::sealing_api::{LIST, PLEDGE, REMOVE, RESTART, STATUS};

pub fn run(cmd: SectorsCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let client = super::chain::client(global)?;
    super::runtime()?.block_on(async move {
        match cmd {
            SectorsCommand::Pledge { count } => {
                let numbers: Vec<u64> = client.request_full(PLEDGE, json!([count])).await?;
                for n in numbers {
                    println!("sector {n}: pledged; follow it with `ferrite sectors status {n}`");
                }
            }
            SectorsCommand::List => {
                let all: Vec<Value> = client.request_full(LIST, json!([])).await?;
                if all.is_empty() {
                    println!("no sectors");
                }
                println!("{:>8}  {:<20} {:>10}", "sector", "state", "for");
                let now = now_secs();
                for s in all {
                    println!(
                        "{:>8}  {:<20} {:>10}{}",
                        s["Number"],
                        s["State"].as_str().unwrap_or("?"),
                        ago(now, s["Since"].as_u64().unwrap_or(now)),
                        s["Error"]
                            .as_str()
                            .map(|e| format!("  error: {e}"))
                            .unwrap_or_default()
                    );
                }
            }
            SectorsCommand::Status { number, log } => {
                let s: Value = client.request_full(STATUS, json!([number])).await?;
                println!("sector:   {}", s["Number"]);
                println!("state:    {}", s["State"].as_str().unwrap_or("?"));
                println!("on chain: {}", s["OnChain"]);
                if let Some(e) = s["Error"].as_str() {
                    println!("error:    {e}");
                }
                if log {
                    println!("history:");
                    for e in s["History"].as_array().into_iter().flatten() {
                        println!(
                            "  {}  {:<22} -> {}",
                            e["At"],
                            e["Event"].as_str().unwrap_or("?"),
                            e["State"].as_str().unwrap_or("?")
                        );
                    }
                }
            }
            SectorsCommand::Remove {
                number,
                really_do_it,
            } => {
                let s: Value = client.request_full(STATUS, json!([number])).await?;
                anyhow::ensure!(
                    !s["OnChain"].as_bool().unwrap_or(true) || really_do_it,
                    "sector {number} is on chain: removing it loses its pledge and power; \
                     add --really-do-it"
                );
                let s: Value = client.request_full(REMOVE, json!([number])).await?;
                println!("sector {number}: {}", s["State"].as_str().unwrap_or("?"));
            }
            SectorsCommand::Restart { number } => {
                let s: Value = client.request_full(RESTART, json!([number])).await?;
                println!("sector {number}: {}", s["State"].as_str().unwrap_or("?"));
            }
        }
        Ok(())
    })
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// `125` seconds as `2m05s`.
fn ago(now: u64, since: u64) -> String {
    let s = now.saturating_sub(since);
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
