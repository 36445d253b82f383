//! `ferrite retrieval ...`: the running node's retrieval server, through its
//! JSON-RPC API (`Ferrite.Retrieval*`).

use ferrite_retrieval::metrics::Stats;
use serde_json::json;

use crate::cli::{GlobalArgs, RetrievalCommand};
use crate::retrieval::STATS;

pub fn run(cmd: RetrievalCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let client = super::chain::client(global)?;
    super::runtime()?.block_on(async move {
        match cmd {
            RetrievalCommand::Stats => {
                let s: Stats = client.request_full(STATS, json!([])).await?;
                println!("requests (by endpoint and status):");
                if s.requests.is_empty() {
                    println!("  none yet");
                }
                for (endpoint, by_status) in &s.requests {
                    let line: Vec<String> = by_status
                        .iter()
                        .map(|(st, n)| format!("{st}: {n}"))
                        .collect();
                    println!("  {endpoint:<6} {}", line.join(", "));
                }
                println!("bytes sent:");
                for (endpoint, n) in &s.bytes {
                    println!("  {endpoint:<6} {} ({n} bytes)", super::storage::human(*n));
                }
                for (endpoint, secs) in &s.mean_ttfb_secs {
                    println!("mean time to first byte ({endpoint}): {:.3} s", secs);
                }
                println!("transfers now: {}", s.transfers);
                println!(
                    "unseals: {} done, {} failed",
                    s.unseals_ok, s.unseals_failed
                );
                anyhow::Ok(())
            }
        }
    })
}
