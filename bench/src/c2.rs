//! C2 throughput: N sectors' C2s in flight at once through Ferrite's tasks
//! against the raw library's `seal_commit_phase2` one proof after another.
//!
//! Setup, untimed: N sectors sealed up to C1 on each side (through the
//! tasks for Ferrite, on filecoin-proofs-api for the raw side). Timed: on
//! the Ferrite side, the N `Tasks::c2` calls started together, so the
//! bridge's C2 cap and the prover's pipeline decide how they overlap (the
//! suite runs them with a cap of N: each synthesizes, then waits its turn
//! to prove); on the raw side,
//! N `seal_commit_phase2` calls in a row. Every proof is verified, untimed.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use ferrite_proofs::{Stage, Workers};
use ferrite_sealing::tasks::{SectorStorage, Tasks};
use ferrite_types::{SealProof, SectorId, SectorSize};
use tokio::runtime::Runtime;

use crate::seal::{self, CommittedSector, SealedSector, raw_c2, raw_to_c1, sector};

/// The wall times of one run of each side.
#[derive(Debug, Clone, Copy)]
pub struct C2Throughput {
    /// Sectors per side.
    pub sectors: usize,
    /// How many C2s the bridge lets run at once.
    pub cap: usize,
    /// Ferrite's N C2s in flight together.
    pub ferrite: Duration,
    /// The raw library's N C2s one after another.
    pub raw: Duration,
    /// When Ferrite's timed part began and ended, in seconds since the Unix
    /// epoch (to pick the GPU's samples of that part out of nvidia-smi's).
    pub ferrite_span: (f64, f64),
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl C2Throughput {
    /// Proofs per hour: (ferrite, raw).
    pub fn per_hour(&self) -> (f64, f64) {
        let n = self.sectors as f64;
        (
            n * 3600.0 / self.ferrite.as_secs_f64(),
            n * 3600.0 / self.raw.as_secs_f64(),
        )
    }
}

/// One run of `sectors` C2s on each side (raw first).
pub fn measure(
    rt: &Runtime,
    workers: &Workers,
    size: SectorSize,
    sectors: usize,
    work: &Path,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<C2Throughput> {
    anyhow::ensure!(sectors > 0, "C2 throughput needs at least one sector");
    let ids: Vec<SectorId> = (1..=u64::try_from(sectors)?).map(sector).collect();

    let mut raw_sectors = Vec::with_capacity(sectors);
    for (i, &id) in ids.iter().enumerate() {
        progress(format!(
            "C2 throughput: raw sector {}/{sectors} to C1",
            i + 1
        ));
        raw_sectors.push((id, raw_to_c1(size, id, &work.join(format!("raw-{i}")))?));
    }
    progress(format!(
        "C2 throughput: raw, {sectors} C2s one after another"
    ));
    let mut raw = Duration::ZERO;
    for (id, r) in raw_sectors {
        raw += raw_c2(size, id, r)?.0;
    }

    let tasks = Tasks::new(workers.clone(), SectorStorage::Dir(work.join("ferrite")));
    let mut committed: Vec<(SectorId, CommittedSector)> = Vec::with_capacity(sectors);
    for (i, &id) in ids.iter().enumerate() {
        progress(format!(
            "C2 throughput: ferrite sector {}/{sectors} to C1",
            i + 1
        ));
        committed.push((
            id,
            rt.block_on(seal::seal_to_c1(&tasks, id, size, &mut Vec::new()))?,
        ));
    }
    progress(format!("C2 throughput: ferrite, {sectors} C2s in flight"));
    let proof = SealProof::new(size);
    // Read while nothing runs: the free slots are the cap.
    let cap = workers.available(Stage::C2);
    let from = unix_now();
    let start = Instant::now();
    let proofs = rt.block_on(async {
        let handles: Vec<_> = ids
            .iter()
            .map(|&id| {
                let tasks = tasks.clone();
                tokio::spawn(async move { tasks.c2(id, proof).await })
            })
            .collect();
        let mut proofs = Vec::with_capacity(handles.len());
        for h in handles {
            proofs.push(h.await.context("join a C2 task")?.context("C2")?);
        }
        anyhow::Ok(proofs)
    })?;
    let ferrite = start.elapsed();
    let ferrite_span = (from, unix_now());
    rt.block_on(async {
        for ((id, c), proof) in committed.into_iter().zip(proofs) {
            let s = SealedSector {
                pieces: c.pieces,
                sealed: c.sealed,
                challenge: c.challenge,
                proof,
            };
            seal::verify_and_finalize(&tasks, id, size, &s, &mut Vec::new()).await?;
            tasks
                .remove(id)
                .await
                .with_context(|| format!("remove {id}"))?;
        }
        anyhow::Ok(())
    })?;
    Ok(C2Throughput {
        sectors,
        cap,
        ferrite,
        raw,
        ferrite_span,
    })
}
