//! `ferrite status`: one screen on the running node, from its API:
//! `Ferrite.NodeStatus` (chain, miner, power, balances, proof parameters),
//! the sectors by state, the workers and their tasks, the next deadlines
//! and the deals.
//! A part the node does not run (no market on a remote chain, say) is left
//! out rather than failing the rest.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::cli::GlobalArgs;

pub fn run(global: &GlobalArgs) -> anyhow::Result<()> {
    let client = super::chain::client(global)?;
    super::runtime()?.block_on(async move {
        let call = |method: &'static str| {
            let client = client.clone();
            async move { client.request_full::<Value>(method, json!([])).await }
        };
        let node = call(crate::status_api::NODE_STATUS).await?;
        println!(
            "chain:    {} via {}, height {} (node up {}s)",
            node["Network"].as_str().unwrap_or("?"),
            node["Mode"].as_str().unwrap_or("?"),
            node["Height"],
            node["UptimeSecs"]
        );
        let m = &node["Miner"];
        if m.is_object() {
            println!(
                "miner:    {} ({} B sectors), owner {}, worker {}",
                m["Address"].as_str().unwrap_or("?"),
                m["SectorSize"],
                m["Owner"].as_str().unwrap_or("?"),
                m["Worker"].as_str().unwrap_or("?")
            );
            println!(
                "power:    {} B raw, {} B quality-adjusted, of {} B on the network",
                m["RawPower"].as_str().unwrap_or("?"),
                m["QualityAdjPower"].as_str().unwrap_or("?"),
                m["NetworkRawPower"].as_str().unwrap_or("?")
            );
            println!(
                "balances: miner {} FIL, worker {} FIL",
                m["MinerBalanceFIL"].as_str().unwrap_or("?"),
                m["WorkerBalanceFIL"].as_str().unwrap_or("?")
            );
        } else {
            println!("miner:    none");
        }
        if node["Params"].is_object() {
            println!("params:   {}", crate::params::describe(&node["Params"]));
        }
        if let Ok(Value::Array(sectors)) = call(crate::sealing_api::LIST).await {
            let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
            let mut failed = 0;
            for s in &sectors {
                *by_state
                    .entry(s["State"].as_str().unwrap_or("?").to_string())
                    .or_default() += 1;
                failed += usize::from(s.get("Error").is_some());
            }
            let states: Vec<String> = by_state.iter().map(|(s, n)| format!("{s} {n}")).collect();
            println!(
                "sectors:  {} ({}){}",
                sectors.len(),
                if states.is_empty() {
                    "none".to_string()
                } else {
                    states.join(", ")
                },
                if failed > 0 {
                    format!(", {failed} with an error")
                } else {
                    String::new()
                }
            );
        }
        if let Ok(w) = call(crate::cluster::WORKERS_LIST).await {
            let workers = w["Workers"].as_array().cloned().unwrap_or_default();
            let jobs = w["Jobs"].as_array().cloned().unwrap_or_default();
            let running = jobs.iter().filter(|j| j["State"] == "running").count();
            println!(
                "workers:  {} ({}), tasks: {running} running, {} queued",
                workers.len(),
                workers
                    .iter()
                    .map(|w| w["ID"].as_str().unwrap_or("?").to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                jobs.len() - running
            );
        }
        if let Ok(p) = call(crate::proving_api::INFO).await {
            let next = p["NextWithSectors"]
                .as_array()
                .and_then(|n| n.first())
                .map(|d| {
                    format!(
                        "next deadline with sectors: {} (challenge at {})",
                        d["Index"], d["Challenge"]
                    )
                })
                .unwrap_or_else(|| "no deadline has sectors".to_string());
            println!(
                "proving:  {} live, {} faulty; {next}",
                p["Sectors"]["Live"], p["Sectors"]["Faulty"]
            );
        }
        match call(crate::market::api::LIST).await {
            Ok(Value::Array(deals)) => {
                let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
                for d in &deals {
                    *by_state
                        .entry(d["State"].as_str().unwrap_or("?").to_string())
                        .or_default() += 1;
                }
                let states: Vec<String> =
                    by_state.iter().map(|(s, n)| format!("{s} {n}")).collect();
                println!(
                    "deals:    {}{}",
                    deals.len(),
                    if states.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", states.join(", "))
                    }
                );
            }
            _ => println!("deals:    the market is not running"),
        }
        Ok(())
    })
}
