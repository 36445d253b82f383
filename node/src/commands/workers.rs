//! `ferrite workers list|jobs`: the running node's workers and tasks,
//! through its JSON-RPC API (`Ferrite.WorkersList`).

use serde_json::{Value, json};

use crate::cli::{GlobalArgs, WorkersCommand};
use crate::cluster::WORKERS_LIST;

pub fn run(cmd: WorkersCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let client = super::chain::client(global)?;
    super::runtime()?.block_on(async move {
        let snapshot: Value = client.request_full(WORKERS_LIST, json!([])).await?;
        match cmd {
            WorkersCommand::List => {
                let workers = snapshot["Workers"].as_array().cloned().unwrap_or_default();
                if workers.is_empty() {
                    println!("no worker is connected; start one with `ferrite worker --node URL`");
                }
                for w in workers {
                    let list = |v: &Value| {
                        v.as_array()
                            .map(|a| {
                                a.iter()
                                    .map(|x| {
                                        x.as_str().map_or_else(|| x.to_string(), str::to_string)
                                    })
                                    .collect::<Vec<_>>()
                                    .join(",")
                            })
                            .unwrap_or_default()
                    };
                    println!(
                        "{}{}  host {}  cores {}  memory {} GiB  gpus {}",
                        w["ID"].as_str().unwrap_or("?"),
                        if w["Local"].as_bool().unwrap_or(false) {
                            " (in the node)"
                        } else {
                            ""
                        },
                        w["Host"].as_str().unwrap_or("?"),
                        w["Cores"],
                        w["Memory"].as_u64().unwrap_or(0) >> 30,
                        w["Gpus"],
                    );
                    for card in w["GpuDevices"].as_array().into_iter().flatten() {
                        println!(
                            "  gpu: {} ({} GiB)",
                            card["Model"].as_str().unwrap_or("?"),
                            card["Memory"].as_u64().unwrap_or(0) >> 30
                        );
                    }
                    println!("  tasks: {}", list(&w["Kinds"]));
                    if let Some(limits) = w["MaxRunning"].as_object().filter(|m| !m.is_empty()) {
                        let at_once: Vec<String> =
                            limits.iter().map(|(k, n)| format!("{k} {n}")).collect();
                        println!("  at once: {}", at_once.join(", "));
                    }
                    println!("  storage paths: {}", list(&w["Paths"]));
                    println!("  running: {}", list(&w["Running"]));
                }
            }
            WorkersCommand::Jobs => {
                let jobs = snapshot["Jobs"].as_array().cloned().unwrap_or_default();
                println!(
                    "{:>6}  {:<9} {:<14} {:<8} {:<16} for",
                    "task", "kind", "sector", "state", "worker"
                );
                for j in jobs {
                    let secs = j["Secs"]
                        .as_u64()
                        .map(|s| format!("{s}s"))
                        .unwrap_or_default();
                    println!(
                        "{:>6}  {:<9} {:<14} {:<8} {:<16} {}",
                        j["Task"],
                        j["Kind"].as_str().unwrap_or("?"),
                        j["Sector"].as_str().unwrap_or("?"),
                        j["State"].as_str().unwrap_or("?"),
                        j["Worker"].as_str().unwrap_or("-"),
                        secs,
                    );
                }
            }
        }
        Ok(())
    })
}
