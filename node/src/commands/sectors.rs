//! `ferrite sectors ...`: the running node's sealing pipeline, through its
//! JSON-RPC API (`Ferrite.Sectors*`).

use ferrite_chain::rpc::client::LotusClient;
use serde_json::{Value, json};

use crate::cli::{GlobalArgs, SectorsCommand};
use crate::sealing_api::{LIST, PLEDGE, REMOVE, RESTART, STATUS};

pub fn run(cmd: SectorsCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let client = super::chain::client(global)?;
    super::runtime()?.block_on(async move {
        match cmd {
            SectorsCommand::Pledge { count, wait } => {
                let numbers: Vec<u64> = client.request_full(PLEDGE, json!([count])).await?;
                for n in &numbers {
                    println!("sector {n}: pledged; follow it with `ferrite sectors status {n}`");
                }
                // On a fresh machine the devnet is still generating them.
                if let Ok(node) = client
                    .request_full::<Value>(crate::status_api::NODE_STATUS, json!([]))
                    .await
                    && node["Params"].is_object()
                    && node["Params"]["State"] != "ready"
                {
                    println!(
                        "note: proof parameters: {}",
                        crate::params::describe(&node["Params"])
                    );
                }
                if wait {
                    follow(&client, &numbers).await?;
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
                if let Some(r) = s["CommR"].as_str() {
                    println!("CommR:    {r}");
                }
                if let Some(d) = s["CommD"].as_str() {
                    println!("CommD:    {d}");
                }
                if let Some(deals) = s["Deals"].as_array().filter(|d| !d.is_empty()) {
                    let ids: Vec<String> = deals.iter().map(|d| d.to_string()).collect();
                    println!("deals:    {}", ids.join(", "));
                }
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

pub(super) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// `125` seconds as `2m05s`.
pub(super) fn ago(now: u64, since: u64) -> String {
    let s = now.saturating_sub(since);
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// A progress line per sector (its state and last error) until every one
/// is Proving.
async fn follow(client: &LotusClient, numbers: &[u64]) -> anyhow::Result<()> {
    let bars = indicatif::MultiProgress::new();
    let mut open: Vec<(u64, indicatif::ProgressBar)> = numbers
        .iter()
        .map(|n| (*n, bars.add(super::spinner(format!("sector {n}")))))
        .collect();
    while !open.is_empty() {
        let mut still = Vec::with_capacity(open.len());
        for (n, bar) in open {
            let s: Value = client.request_full(STATUS, json!([n])).await?;
            let state = s["State"].as_str().unwrap_or("?").to_string();
            match s["Error"].as_str() {
                Some(e) => bar.set_message(format!("{state}  (error: {e})")),
                None => bar.set_message(state.clone()),
            }
            if state == "Proving" {
                bar.finish_with_message("Proving");
                println!("sector {n}: Proving");
            } else {
                still.push((n, bar));
            }
        }
        open = still;
        if !open.is_empty() {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    }
    Ok(())
}
