//! `ferrite proving ...`: the running node's WindowPoSt prover and its
//! miner's deadlines, through the JSON-RPC API (`Ferrite.Proving*`).

use serde_json::{Value, json};

use crate::cli::{GlobalArgs, ProvingCommand};
use crate::proving_api::{CHECK, DEADLINE, DEADLINES, FAULTS, INFO};

pub fn run(cmd: ProvingCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let client = super::chain::client(global)?;
    super::runtime()?.block_on(async move {
        match cmd {
            ProvingCommand::Info { json: as_json } => {
                let i: Value = client.request_full(INFO, json!([])).await?;
                if as_json {
                    println!("{}", serde_json::to_string_pretty(&i)?);
                } else {
                    print_info(&i);
                }
            }
            ProvingCommand::Deadlines => {
                let all: Vec<Value> = client.request_full(DEADLINES, json!([])).await?;
                println!(
                    "{:>3}  {:>9} {:>9}  {:>10} {:>6} {:>6} {:>6} {:>10}",
                    "dl", "opens", "closes", "partitions", "posted", "live", "faulty", "recovering"
                );
                for d in all {
                    let s = &d["Sectors"];
                    println!(
                        "{:>3}  {:>9} {:>9}  {:>10} {:>6} {:>6} {:>6} {:>10}",
                        d["Index"],
                        d["Window"]["Open"],
                        d["Window"]["Close"],
                        d["Partitions"],
                        d["Posted"],
                        s["Live"],
                        s["Faulty"],
                        s["Recovering"]
                    );
                }
            }
            ProvingCommand::Deadline { index } => {
                let d: Value = client.request_full(DEADLINE, json!([index])).await?;
                let w = &d["Window"];
                println!(
                    "deadline {}: opens {}, closes {}, challenge at {}, fault cutoff {}",
                    d["Index"], w["Open"], w["Close"], w["Challenge"], w["FaultCutoff"]
                );
                let parts = d["Partitions"].as_array().cloned().unwrap_or_default();
                if parts.is_empty() {
                    println!("no partitions");
                }
                for p in parts {
                    println!(
                        "partition {}: posted {}  sectors {}  active {}  faulty {}  recovering {}",
                        p["Index"],
                        p["Posted"],
                        p["All"],
                        p["Active"],
                        p["Faulty"],
                        p["Recovering"]
                    );
                }
            }
            ProvingCommand::Faults => {
                let all: Vec<Value> = client.request_full(FAULTS, json!([])).await?;
                if all.is_empty() {
                    println!("no faulty sectors");
                    return Ok(());
                }
                println!(
                    "{:>8} {:>3} {:>9} {:>10} {:>13} {:>14}",
                    "sector", "dl", "partition", "recovering", "faulty since", "terminated by"
                );
                for f in all {
                    println!(
                        "{:>8} {:>3} {:>9} {:>10} {:>13} {:>14}",
                        f["Sector"],
                        f["Deadline"],
                        f["Partition"],
                        f["Recovering"],
                        f["FaultySince"],
                        f["TerminatedBy"]
                    );
                }
            }
            ProvingCommand::Check { deadline } => {
                let c: Value = client.request_full(CHECK, json!([deadline])).await?;
                let bad = c["Bad"].as_array().cloned().unwrap_or_default();
                println!(
                    "deadline {}: {} sectors checked at epoch {}, {} bad",
                    c["Deadline"],
                    c["Checked"],
                    c["Epoch"],
                    bad.len()
                );
                for b in &bad {
                    println!("  sector {}: {}", b[0], b[1].as_str().unwrap_or("?"));
                }
                anyhow::ensure!(bad.is_empty(), "{} sectors failed the check", bad.len());
            }
        }
        Ok(())
    })
}

fn print_info(i: &Value) {
    let c = &i["Current"];
    println!("miner:           {}", i["Miner"].as_str().unwrap_or("?"));
    println!("epoch:           {}", i["Epoch"]);
    println!("period start:    {}", i["PeriodStart"]);
    println!(
        "deadline:        {} (opens {}, closes {}, challenge {}, fault cutoff {})",
        c["Index"], c["Open"], c["Close"], c["Challenge"], c["FaultCutoff"]
    );
    let s = &i["Sectors"];
    println!(
        "sectors:         {} live, {} active, {} faulty, {} recovering",
        s["Live"], s["Active"], s["Faulty"], s["Recovering"]
    );
    println!(
        "power:           {} bytes raw, {} quality-adjusted (network: {})",
        i["RawPower"].as_str().unwrap_or("?"),
        i["QualityAdjustedPower"].as_str().unwrap_or("?"),
        i["NetworkRawPower"].as_str().unwrap_or("?")
    );
    println!("next deadlines with sectors:");
    for d in i["NextWithSectors"].as_array().into_iter().flatten() {
        println!(
            "  {:>3}: opens {}, closes {}",
            d["Index"], d["Open"], d["Close"]
        );
    }
    let posts = i["RecentPosts"].as_array().cloned().unwrap_or_default();
    if !posts.is_empty() {
        println!("recent window posts:");
        for p in posts {
            println!(
                "  deadline {:>2}: {} sectors, landed {} ({} epochs before close), exit {}, proof {:.2}s",
                p["Deadline"],
                p["Sectors"],
                p["Landed"],
                p["Margin"],
                p["ExitCode"],
                p["ProveSeconds"].as_f64().unwrap_or_default()
            );
        }
    }
}
