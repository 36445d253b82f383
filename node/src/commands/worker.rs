//! `ferrite worker`: a sealing worker on this host, serving a node over gRPC
//! until Ctrl-C.

use std::collections::BTreeSet;

use anyhow::Context;
use ferrite_cluster::{TaskKind, WorkerId, WorkerInfo, read_marker};
use ferrite_proofs::Workers;
use ferrite_proto::BearerToken;
use tokio::sync::watch;
use tracing::info;

use crate::cli::WorkerArgs;
use crate::config::Config;
use crate::worker::{RUNNABLE, WorkerSpec, host_cores, host_memory, hostname};

pub fn run(args: WorkerArgs, cfg: &Config) -> anyhow::Result<()> {
    let token = match (&args.token_file, &args.token) {
        (Some(file), _) => std::fs::read_to_string(file)
            .with_context(|| format!("read the worker token from {}", file.display()))?
            .trim()
            .to_string(),
        (None, Some(t)) => t.trim().to_string(),
        (None, None) => anyhow::bail!(
            "give the node's worker token: --token-file FILE (the node's <home>/worker-token) or FERRITE_WORKER_TOKEN"
        ),
    };
    let token = BearerToken::new(token).context("the worker token")?;
    let kinds: BTreeSet<TaskKind> = args.tasks.iter().copied().collect();
    if let Some(k) = kinds.iter().find(|k| !RUNNABLE.contains(k)) {
        anyhow::bail!(
            "--tasks {}: a worker runs only {}",
            k.name(),
            RUNNABLE.map(|k| k.name()).join(",")
        );
    }
    let mut paths = Vec::new();
    for dir in &args.storage {
        let marker = read_marker(dir)?;
        paths.push(marker.id);
    }
    let (gpus, gpu_devices) = crate::worker::gpu_slots(&cfg.proofs);
    let info = WorkerInfo {
        id: WorkerId(args.id.clone().unwrap_or_else(hostname)),
        hostname: hostname(),
        cores: args.cores.unwrap_or_else(host_cores),
        memory: match args.memory {
            Some(m) => m.0,
            None => host_memory().context("read this host's memory; give --memory")?,
        },
        gpus: args.gpus.unwrap_or(gpus),
        gpu_devices,
        max_running: crate::worker::max_running(&kinds, &cfg.proofs.limits),
        kinds,
        paths,
    };
    let spec = WorkerSpec {
        node: args.node.clone(),
        token,
        info,
        workers: Workers::new(&cfg.proofs.limits)?,
    };
    super::runtime()?.block_on(async move {
        let (stop_tx, stop) = watch::channel(false);
        info!(worker = %spec.info.id, node = %spec.node, kinds = ?spec.info.kinds, paths = ?spec.info.paths, "worker starting");
        println!(
            "worker {} serving {} (tasks: {})",
            spec.info.id,
            spec.node,
            spec.info
                .kinds
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(",")
        );
        let worker = tokio::spawn(crate::worker::run(spec, stop));
        let signal = crate::services::shutdown_signal().await?;
        info!("{signal}: stopping");
        let _ = stop_tx.send(true);
        let _ = worker.await;
        Ok(())
    })
}
