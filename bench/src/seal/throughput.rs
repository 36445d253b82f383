//! N sectors sealed at once (AddPiece→PC1→PC2→C1→C2 of each in its own
//! tokio task, all started together, so the bridge's stage caps decide what
//! runs) against the same N sealed one after another, with the CPU
//! utilisation of each run. Every proof is verified afterwards, untimed.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use ferrite_proofs::Workers;
use ferrite_sealing::tasks::{SectorStorage, Tasks};
use ferrite_types::{SectorId, SectorSize};
use tokio::runtime::Runtime;

use super::{SealedSector, seal_through_tasks, sector, verify_and_finalize};
use crate::cpu::{CpuMeter, Utilisation};

/// One timed run of N sectors.
#[derive(Debug, Clone)]
pub struct Run {
    /// From the first start to the last C2's end.
    pub wall: Duration,
    /// CPU use over the run.
    pub cpu: Utilisation,
    /// Each sector's time from its start to the end of its C2.
    pub latencies: Vec<Duration>,
}

/// The runs of [`measure`], by round.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    /// All sectors started together.
    pub at_once: Vec<Run>,
    /// One sector after another.
    pub one_by_one: Vec<Run>,
}

/// `rounds` rounds of `sectors` sectors at once and one after another; the
/// order alternates by round.
pub fn measure(
    rt: &Runtime,
    workers: &Workers,
    size: SectorSize,
    sectors: usize,
    rounds: usize,
    work: &Path,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<Runs> {
    let ids: Vec<SectorId> = (1..=u64::try_from(sectors)?).map(sector).collect();
    let mut runs = Runs::default();
    for round in 0..rounds {
        let concurrent_first = round % 2 == 0;
        for concurrent in [concurrent_first, !concurrent_first] {
            progress(format!(
                "round {}/{rounds}: {sectors} sectors {}",
                round + 1,
                if concurrent {
                    "at once"
                } else {
                    "one after another"
                }
            ));
            let dir = work.join(if concurrent { "at-once" } else { "one-by-one" });
            let tasks = Tasks::new(workers.clone(), SectorStorage::Dir(dir));
            let meter = CpuMeter::start()?;
            let start = Instant::now();
            let sealed = rt.block_on(seal_many(&tasks, &ids, size, concurrent))?;
            let wall = start.elapsed();
            let cpu = meter.finish()?;
            rt.block_on(check_and_remove(&tasks, size, &sealed))?;
            let run = Run {
                wall,
                cpu,
                latencies: sealed.into_iter().map(|(_, _, d)| d).collect(),
            };
            if concurrent {
                runs.at_once.push(run);
            } else {
                runs.one_by_one.push(run);
            }
        }
    }
    Ok(runs)
}

/// Seals `ids` through `tasks`, all at once or one after another; returns
/// each sector with its time from its start to the end of its C2.
async fn seal_many(
    tasks: &Tasks,
    ids: &[SectorId],
    size: SectorSize,
    concurrent: bool,
) -> anyhow::Result<Vec<(SectorId, SealedSector, Duration)>> {
    let mut sealed = Vec::with_capacity(ids.len());
    if concurrent {
        let handles: Vec<_> = ids
            .iter()
            .map(|&id| {
                let tasks = tasks.clone();
                tokio::spawn(async move {
                    let t = Instant::now();
                    let s = seal_through_tasks(&tasks, id, size, &mut Vec::new()).await?;
                    anyhow::Ok((id, s, t.elapsed()))
                })
            })
            .collect();
        for h in handles {
            sealed.push(h.await.context("join a sealing task")??);
        }
    } else {
        for &id in ids {
            let t = Instant::now();
            let s = seal_through_tasks(tasks, id, size, &mut Vec::new()).await?;
            sealed.push((id, s, t.elapsed()));
        }
    }
    Ok(sealed)
}

/// Verifies every sealed sector's proof, finalizes and removes it.
async fn check_and_remove(
    tasks: &Tasks,
    size: SectorSize,
    sealed: &[(SectorId, SealedSector, Duration)],
) -> anyhow::Result<()> {
    for (id, s, _) in sealed {
        verify_and_finalize(tasks, *id, size, s, &mut Vec::new()).await?;
        tasks
            .remove(*id)
            .await
            .with_context(|| format!("remove {id}"))?;
    }
    Ok(())
}
